/* The TUF client workflow: the root chain, timestamp, snapshot, targets and delegations. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "log.h"
#include "strbuf.h"
#include "tuf/client.h"
#include "tuf/metadata.h"
#include "banned.h"

#define ROOT_MAX (512u * 1000)
#define TIMESTAMP_MAX (16u * 1024)
#define SNAPSHOT_MAX (2u * 1000 * 1000)
#define TARGETS_MAX (5u * 1000 * 1000)
#define DELEGATION_STACK_MAX 1024
#define TUF_TARGET_MAX (1ll << 32) /* 4 GiB: far above any module */

/* A targets role verified in this run, and the delegator whose keys verified it. */
struct loaded_role {
	char *name;
	char *delegator;
	struct tuf_metadata *md;
};

struct tuf_client {
	char *metadata_dir;
	char *metadata_url; /* ends with '/' */
	struct tuf_client_opts o;
	struct tuf_http *http;
	struct tuf_metadata *root, *timestamp, *snapshot;
	struct loaded_role *roles;
	size_t n_roles;
	bool refreshed;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_metadata *, tuf_metadata_free);
#define _cleanup_md_ _cleanup_(tuf_metadata_freep)

char *tuf_quote(const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	struct strbuf sb = STRBUF_INIT;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		int r;

		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("_.-~", *p)) {
			r = strbuf_addch(&sb, (char)*p);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};

			r = strbuf_add(&sb, e, 3);
		}
		if (r < 0) {
			strbuf_release(&sb);
			return NULL;
		}
	}
	return strbuf_detach(&sb);
}

static char *role_file(const struct tuf_client *c, const char *role)
{
	_cleanup_free_ char *q = tuf_quote(role);

	return q ? strdup_printf("%s/%s.json", c->metadata_dir, q) : NULL;
}

int tuf_client_init(const char *metadata_dir, const char *root_path)
{
	_cleanup_free_ char *buf = NULL, *dst = NULL;
	size_t len;
	int r;

	r = read_file_capped(root_path, ROOT_MAX, &buf, &len);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", root_path, strerror(-r));
	r = mkdir_p(metadata_dir, 0755);
	if (r < 0)
		return log_error_errno(r, "cannot make '%s': %s", metadata_dir, strerror(-r));
	dst = path_join(metadata_dir, "root.json");
	if (!dst)
		return -ENOMEM;
	r = write_file_atomic(dst, buf, len, 0644);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %s", dst, strerror(-r));
	return 0;
}

static int local_read(const struct tuf_client *c, const char *role, size_t max, char **ret_buf,
		      size_t *ret_len)
{
	_cleanup_free_ char *path = role_file(c, role);

	if (!path)
		return -ENOMEM;
	return read_file_capped(path, max, ret_buf, ret_len);
}

static int persist(const struct tuf_client *c, const char *role, const char *buf, size_t len)
{
	_cleanup_free_ char *path = role_file(c, role);
	int r;

	if (!path)
		return -ENOMEM;
	r = write_file_atomic(path, buf, len, 0644);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %s", path, strerror(-r));
	return 0;
}

/* Fetches [VERSION.]ROLE.json from the repository; VERSION 0: unversioned. */
static int fetch_meta(struct tuf_client *c, const char *role, int64_t version, size_t max,
		      char **ret_buf, size_t *ret_len)
{
	_cleanup_free_ char *q = tuf_quote(role), *url = NULL;
	int r;

	if (!q)
		return -ENOMEM;
	if (version > 0)
		url = strdup_printf("%s%lld.%s.json", c->metadata_url, (long long)version, q);
	else
		url = strdup_printf("%s%s.json", c->metadata_url, q);
	if (!url)
		return -ENOMEM;
	r = c->o.fetch(c->o.fetch_userdata, url, max, ret_buf, ret_len);
	if (r == -EFBIG)
		log_error("'%s': more than the %zu bytes allowed", url, max);
	else if (r == -ENOENT && version > 0 && streq(role, "root"))
		; /* the end of the root chain */
	else if (r == -ENOENT)
		log_error("'%s': not found on the repository (HTTP 403 or 404)", url);
	else if (r < 0)
		log_error("cannot download '%s': %s", url, strerror(-r));
	return r;
}

int tuf_client_new(const struct tuf_client_opts *opts, struct tuf_client **ret)
{
	_cleanup_free_ char *buf = NULL;
	struct tuf_client *c;
	size_t len;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->o = *opts;
	c->o.root_max = c->o.root_max ? c->o.root_max : ROOT_MAX;
	c->o.timestamp_max = c->o.timestamp_max ? c->o.timestamp_max : TIMESTAMP_MAX;
	c->o.snapshot_max = c->o.snapshot_max ? c->o.snapshot_max : SNAPSHOT_MAX;
	c->o.targets_max = c->o.targets_max ? c->o.targets_max : TARGETS_MAX;
	c->o.max_root_rotations = c->o.max_root_rotations ? c->o.max_root_rotations : 32;
	c->o.max_delegations = c->o.max_delegations ? c->o.max_delegations : 32;
	c->o.max_delegation_depth = c->o.max_delegation_depth ? c->o.max_delegation_depth : 8;
	c->o.now = c->o.now ? c->o.now : time(NULL);
	c->metadata_dir = strdup(opts->metadata_dir);
	if (opts->metadata_url) {
		size_t n = strlen(opts->metadata_url);

		c->metadata_url = strdup_printf("%s%s", opts->metadata_url,
						n && opts->metadata_url[n - 1] == '/' ? "" : "/");
	}
	r = -ENOMEM;
	if (!c->metadata_dir || (opts->metadata_url && !c->metadata_url))
		goto fail;
	if (!c->o.fetch) {
		r = tuf_http_new(&opts->http, &c->http);
		if (r < 0)
			goto fail;
		c->o.fetch = tuf_http_fetch;
		c->o.fetch_userdata = c->http;
	}
	r = local_read(c, "root", c->o.root_max, &buf, &len);
	if (r < 0) {
		log_error("cannot read the trusted root in '%s': %s", c->metadata_dir,
			  strerror(-r));
		goto fail;
	}
	r = tuf_metadata_parse(buf, len, c->o.root_max, TUF_ROOT, "root.json", &c->root);
	if (r < 0) {
		log_error("'%s/root.json': not valid root metadata", c->metadata_dir);
		goto fail;
	}
	r = tuf_metadata_verify(c->root, &c->root->keys, &c->root->roles[TUF_ROOT]);
	if (r < 0) {
		log_error("'%s/root.json': not signed by its own root keys", c->metadata_dir);
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	tuf_client_free(c);
	return r;
}

void tuf_client_free(struct tuf_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_roles; i++) {
		free(c->roles[i].name);
		free(c->roles[i].delegator);
		tuf_metadata_free(c->roles[i].md);
	}
	free(c->roles);
	tuf_metadata_free(c->root);
	tuf_metadata_free(c->timestamp);
	tuf_metadata_free(c->snapshot);
	tuf_http_free(c->http);
	free(c->metadata_dir);
	free(c->metadata_url);
	free(c);
}

/* 5.3: each new root is signed by the trusted one and by itself, one version at a time. */
static int update_root(struct tuf_client *c)
{
	int64_t first = c->root->version + 1;

	for (int64_t v = first; v < first + (int64_t)c->o.max_root_rotations; v++) {
		_cleanup_free_ char *buf = NULL;
		_cleanup_md_ struct tuf_metadata *md = NULL;
		size_t len;
		int r;

		r = fetch_meta(c, "root", v, c->o.root_max, &buf, &len);
		if (r == -ENOENT)
			break;
		if (r < 0)
			return r;
		r = tuf_metadata_parse(buf, len, c->o.root_max, TUF_ROOT, "root.json", &md);
		if (r < 0)
			return log_error_errno(r, "root version %lld is malformed", (long long)v);
		if (tuf_metadata_verify(md, &c->root->keys, &c->root->roles[TUF_ROOT]) < 0)
			return log_error_errno(-EPERM,
					       "root version %lld is not signed by the "
					       "trusted root's keys",
					       (long long)v);
		if (md->version != v)
			return log_error_errno(-ESTALE, "'%lld.root.json' holds version %lld",
					       (long long)v, (long long)md->version);
		if (tuf_metadata_verify(md, &md->keys, &md->roles[TUF_ROOT]) < 0)
			return log_error_errno(-EPERM,
					       "root version %lld is not signed by its "
					       "own keys",
					       (long long)v);
		r = persist(c, "root", buf, len);
		if (r < 0)
			return r;
		tuf_metadata_free(c->root);
		c->root = TAKE_PTR(md);
		log_debug("trusted root is now version %lld", (long long)v);
		if (v == first + (int64_t)c->o.max_root_rotations - 1)
			log_warn("accepted %u new root versions, the limit for one refresh",
				 c->o.max_root_rotations);
	}
	if (tuf_metadata_expired(c->root, c->o.now))
		return log_error_errno(-EKEYEXPIRED, "root version %lld has expired",
				       (long long)c->root->version);
	return 0;
}

static int timestamp_accept(struct tuf_client *c, const char *buf, size_t len, bool local)
{
	_cleanup_md_ struct tuf_metadata *md = NULL;
	const struct tuf_metafile *old, *new;
	int r;

	r = tuf_metadata_parse(buf, len, c->o.timestamp_max, TUF_TIMESTAMP, "timestamp.json", &md);
	if (r < 0)
		return local ? r : log_error_errno(r, "timestamp is malformed");
	if (tuf_metadata_verify(md, &c->root->keys, &c->root->roles[TUF_TIMESTAMP]) < 0)
		return local ? -EPERM
			     : log_error_errno(-EPERM, "timestamp is not signed by its keys");
	if (c->timestamp) {
		if (md->version < c->timestamp->version)
			return log_error_errno(-ESTALE,
					       "timestamp version %lld is older than "
					       "the trusted %lld",
					       (long long)md->version,
					       (long long)c->timestamp->version);
		if (md->version == c->timestamp->version)
			return 1;
		old = tuf_metadata_meta(c->timestamp, "snapshot.json");
		new = tuf_metadata_meta(md, "snapshot.json");
		if (new->version < old->version)
			return log_error_errno(-ESTALE,
					       "timestamp names snapshot version %lld, "
					       "older than the trusted %lld",
					       (long long)new->version, (long long)old->version);
	}
	tuf_metadata_free(c->timestamp);
	c->timestamp = TAKE_PTR(md);
	if (tuf_metadata_expired(c->timestamp, c->o.now))
		return local ? 0 : log_error_errno(-EKEYEXPIRED, "timestamp has expired");
	return 0;
}

/* 5.4: the trusted timestamp (if still valid under this root) guards against rollback. */
static int update_timestamp(struct tuf_client *c)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	if (local_read(c, "timestamp", c->o.timestamp_max, &buf, &len) == 0 &&
	    timestamp_accept(c, buf, len, true) < 0)
		log_debug("the stored timestamp is not valid under the current root");
	free(TAKE_PTR(buf));
	r = fetch_meta(c, "timestamp", 0, c->o.timestamp_max, &buf, &len);
	if (r < 0)
		return r;
	r = timestamp_accept(c, buf, len, false);
	if (r == 1) /* the same version: keep the stored one */
		return 0;
	if (r < 0)
		return r;
	return persist(c, "timestamp", buf, len);
}

static int snapshot_final_check(const struct tuf_client *c, bool quiet)
{
	const struct tuf_metafile *mf = tuf_metadata_meta(c->timestamp, "snapshot.json");

	if (tuf_metadata_expired(c->snapshot, c->o.now))
		return quiet ? -EKEYEXPIRED : log_error_errno(-EKEYEXPIRED, "snapshot has expired");
	if (c->snapshot->version != mf->version)
		return quiet ? -ESTALE
			     : log_error_errno(-ESTALE,
					       "snapshot is version %lld, timestamp "
					       "names %lld",
					       (long long)c->snapshot->version,
					       (long long)mf->version);
	return 0;
}

static int snapshot_accept(struct tuf_client *c, const char *buf, size_t len, bool local)
{
	const struct tuf_metafile *mf = tuf_metadata_meta(c->timestamp, "snapshot.json");
	_cleanup_md_ struct tuf_metadata *md = NULL;
	int r;

	if (!local && tuf_check_length_hashes(buf, len, mf->length, mf->hashes) < 0)
		return log_error_errno(-EBADMSG, "snapshot does not match the length or "
						 "hashes the timestamp gives");
	r = tuf_metadata_parse(buf, len, c->o.snapshot_max, TUF_SNAPSHOT, "snapshot.json", &md);
	if (r < 0)
		return local ? r : log_error_errno(r, "snapshot is malformed");
	if (tuf_metadata_verify(md, &c->root->keys, &c->root->roles[TUF_SNAPSHOT]) < 0)
		return local ? -EPERM
			     : log_error_errno(-EPERM, "snapshot is not signed by its keys");
	if (c->snapshot)
		for (size_t i = 0; i < c->snapshot->n_meta; i++) {
			const struct tuf_metafile *o = &c->snapshot->meta[i];
			const struct tuf_metafile *n = tuf_metadata_meta(md, o->name);

			if (!n)
				return log_error_errno(-ESTALE, "snapshot no longer lists '%s'",
						       o->name);
			if (n->version < o->version)
				return log_error_errno(-ESTALE,
						       "snapshot rolls '%s' back from "
						       "version %lld to %lld",
						       o->name, (long long)o->version,
						       (long long)n->version);
		}
	tuf_metadata_free(c->snapshot);
	c->snapshot = TAKE_PTR(md);
	return snapshot_final_check(c, local);
}

/* 5.5: a stored snapshot that is still final saves the download. */
static int update_snapshot(struct tuf_client *c)
{
	const struct tuf_metafile *mf;
	_cleanup_free_ char *buf = NULL;
	size_t len, max;
	int r;

	if (tuf_metadata_expired(c->timestamp, c->o.now))
		return log_error_errno(-EKEYEXPIRED, "timestamp has expired");
	if (local_read(c, "snapshot", c->o.snapshot_max, &buf, &len) == 0) {
		r = snapshot_accept(c, buf, len, true);
		if (r == 0)
			return 0;
	}
	free(TAKE_PTR(buf));
	mf = tuf_metadata_meta(c->timestamp, "snapshot.json");
	max = mf->length >= 0 ? (size_t)mf->length : c->o.snapshot_max;
	r = fetch_meta(c, "snapshot", c->root->consistent_snapshot ? mf->version : 0, max, &buf,
		       &len);
	if (r < 0)
		return r;
	r = snapshot_accept(c, buf, len, false);
	if (r < 0)
		return r;
	return persist(c, "snapshot", buf, len);
}

static struct loaded_role *loaded_find(struct tuf_client *c, const char *name)
{
	for (size_t i = 0; i < c->n_roles; i++)
		if (streq(c->roles[i].name, name))
			return &c->roles[i];
	return NULL;
}

static int targets_accept(struct tuf_client *c, const char *role, const struct tuf_keyring *keys,
			  const struct tuf_role_keys *rk, const struct tuf_metafile *mf,
			  const char *buf, size_t len, bool local, struct tuf_metadata **ret)
{
	_cleanup_md_ struct tuf_metadata *md = NULL;
	int r;

	if (tuf_check_length_hashes(buf, len, mf->length, mf->hashes) < 0)
		return local ? -EBADMSG
			     : log_error_errno(-EBADMSG,
					       "'%s' does not match the length or "
					       "hashes the snapshot gives",
					       role);
	r = tuf_metadata_parse(buf, len, c->o.targets_max, TUF_TARGETS, role, &md);
	if (r < 0)
		return local ? r : log_error_errno(r, "'%s' is malformed", role);
	if (tuf_metadata_verify(md, keys, rk) < 0)
		return local ? -EPERM
			     : log_error_errno(-EPERM,
					       "'%s' is not signed by its delegated "
					       "keys",
					       role);
	if (md->version != mf->version)
		return local ? -ESTALE
			     : log_error_errno(-ESTALE,
					       "'%s' is version %lld, snapshot names "
					       "%lld",
					       role, (long long)md->version,
					       (long long)mf->version);
	if (tuf_metadata_expired(md, c->o.now))
		return local ? -EKEYEXPIRED
			     : log_error_errno(-EKEYEXPIRED, "'%s' has expired", role);
	*ret = TAKE_PTR(md);
	return 0;
}

/*
 * 5.6 / 5.7: targets role ROLE as delegated by DELEGATOR with KEYS and RK. A role already
 * verified through another delegator is verified again against this one's keys, so a
 * role reached two ways never borrows the authority of the first path.
 */
static int load_targets(struct tuf_client *c, const char *role, const char *delegator,
			const struct tuf_keyring *keys, const struct tuf_role_keys *rk,
			struct tuf_metadata **ret)
{
	_cleanup_free_ char *buf = NULL, *meta_name = NULL;
	struct tuf_metadata *md = NULL;
	const struct tuf_metafile *mf;
	struct loaded_role *l, *n;
	size_t len, max;
	int r;

	l = loaded_find(c, role);
	if (l) {
		if (!streq(l->delegator, delegator) && tuf_metadata_verify(l->md, keys, rk) < 0)
			return log_error_errno(-EPERM,
					       "'%s' is not signed by the keys '%s' "
					       "delegates it to",
					       role, delegator);
		*ret = l->md;
		return 0;
	}
	r = snapshot_final_check(c, false);
	if (r < 0)
		return r;
	meta_name = strdup_printf("%s.json", role);
	if (!meta_name)
		return -ENOMEM;
	mf = tuf_metadata_meta(c->snapshot, meta_name);
	if (!mf)
		return log_error_errno(-ENOENT, "snapshot does not list '%s'", meta_name);
	max = mf->length >= 0 ? (size_t)mf->length : c->o.targets_max;
	if (local_read(c, role, max, &buf, &len) < 0 ||
	    targets_accept(c, role, keys, rk, mf, buf, len, true, &md) < 0) {
		free(TAKE_PTR(buf));
		r = fetch_meta(c, role, c->root->consistent_snapshot ? mf->version : 0, max, &buf,
			       &len);
		if (r < 0)
			return r;
		r = targets_accept(c, role, keys, rk, mf, buf, len, false, &md);
		if (r < 0)
			return r;
		r = persist(c, role, buf, len);
		if (r < 0) {
			tuf_metadata_free(md);
			return r;
		}
	}
	n = reallocarray(c->roles, c->n_roles + 1, sizeof(*c->roles));
	if (!n) {
		tuf_metadata_free(md);
		return -ENOMEM;
	}
	c->roles = n;
	l = &c->roles[c->n_roles];
	l->name = strdup(role);
	l->delegator = strdup(delegator);
	l->md = md;
	c->n_roles++;
	if (!l->name || !l->delegator)
		return -ENOMEM;
	*ret = md;
	return 0;
}

int tuf_client_refresh(struct tuf_client *c)
{
	struct tuf_metadata *targets;
	int r;

	if (!c->metadata_url)
		return log_error_errno(-EINVAL, "no metadata URL to refresh from");
	c->refreshed = true;
	r = update_root(c);
	if (r == 0)
		r = update_timestamp(c);
	if (r == 0)
		r = update_snapshot(c);
	if (r == 0)
		r = load_targets(c, "targets", "root", &c->root->keys, &c->root->roles[TUF_TARGETS],
				 &targets);
	return r;
}

struct visit {
	const char *role;
	const char *delegator;
	const struct tuf_keyring *keys;
	const struct tuf_role_keys *rk;
	unsigned depth;
};

/* Called for each targets role the search for TARGET_PATH visits; > 0 stops the search. */
typedef int (*visit_fn)(const struct tuf_metadata *md, void *userdata);

/*
 * The search of 5.7.7: the roles trusted for TARGET_PATH, pre-order, depth first, with
 * terminating delegations honoured. 1 when VISIT stopped it, 0 when all were visited.
 */
static int search_targets(struct tuf_client *c, const char *target_path, visit_fn visit,
			  void *userdata)
{
	_cleanup_free_ struct visit *stack = NULL;
	struct visit seen[64];
	size_t n = 0, n_seen = 0;
	unsigned visited = 0;
	int r;

	if (!c->refreshed) {
		r = tuf_client_refresh(c);
		if (r < 0)
			return r;
	}
	stack = calloc(DELEGATION_STACK_MAX, sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	stack[n++] =
		(struct visit){"targets", "root", &c->root->keys, &c->root->roles[TUF_TARGETS], 0};
	while (n > 0) {
		struct visit v = stack[--n];
		struct tuf_metadata *md;
		size_t first;
		bool again = false;

		/* A role reached again through the same delegator (a cycle) is not reread. */
		for (size_t i = 0; i < n_seen; i++)
			again |= streq(seen[i].role, v.role) &&
				 streq(seen[i].delegator, v.delegator);
		if (again)
			continue;
		if (visited == c->o.max_delegations) {
			log_warn("'%s': searched %u targets roles, the limit, without finding it",
				 target_path, visited);
			break;
		}
		r = load_targets(c, v.role, v.delegator, v.keys, v.rk, &md);
		if (r < 0)
			return r;
		visited++;
		if (n_seen < ARRAY_SIZE(seen))
			seen[n_seen++] = v;
		r = visit(md, userdata);
		if (r != 0)
			return r;
		if (!md->has_delegations)
			continue;
		if (v.depth + 1 > c->o.max_delegation_depth) {
			log_warn("'%s': delegations below '%s' are deeper than %u levels; not "
				 "followed",
				 target_path, v.role, c->o.max_delegation_depth);
			continue;
		}
		/* Children are pushed in reverse so the first delegation is searched first. */
		first = n;
		for (size_t i = 0; i < md->n_delegations; i++) {
			const struct tuf_delegation *d = &md->delegations[i];

			if (!tuf_delegation_matches(d, target_path))
				continue;
			if (n == DELEGATION_STACK_MAX) {
				log_warn("too many pending delegations; '%s' not followed",
					 d->name);
				break;
			}
			stack[n++] = (struct visit){d->name, v.role, &md->delegation_keys, &d->keys,
						    v.depth + 1};
			if (d->terminating) {
				/* Nothing else may be searched: drop what was pending. */
				memmove(stack, stack + first, (n - first) * sizeof(*stack));
				n -= first;
				first = 0;
				break;
			}
		}
		for (size_t i = first, j = n; i + 1 < j; i++, j--) {
			struct visit t = stack[i];

			stack[i] = stack[j - 1];
			stack[j - 1] = t;
		}
	}
	return 0;
}

struct find_ctx {
	const char *path;
	json_t *info;
};

static int find_visit(const struct tuf_metadata *md, void *userdata)
{
	struct find_ctx *f = userdata;

	f->info = json_object_get(md->targets, f->path);
	return f->info ? 1 : 0;
}

int tuf_client_find_target(struct tuf_client *c, const char *target_path, json_t **ret_info)
{
	struct find_ctx f = {.path = target_path};
	int r;

	r = search_targets(c, target_path, find_visit, &f);
	if (r < 0)
		return r;
	if (!f.info)
		return -ENOENT;
	*ret_info = json_incref(f.info);
	return 0;
}

struct list_ctx {
	const char *prefix;
	json_t *names; /* object used as a set */
};

static int list_visit(const struct tuf_metadata *md, void *userdata)
{
	struct list_ctx *l = userdata;
	const char *path;
	json_t *v;

	json_object_foreach(md->targets, path, v)
		if (startswith(path, l->prefix) && json_object_set_new(l->names, path, json_null()))
			return -ENOMEM;
	return 0;
}

int tuf_client_list_targets(struct tuf_client *c, const char *prefix, const char *probe,
			    json_t **ret)
{
	json_t *out = json_object(), *v;
	struct list_ctx l = {.prefix = prefix, .names = json_object()};
	const char *path;
	int r = 0;

	if (!out || !l.names) {
		r = -ENOMEM;
		goto out;
	}
	r = search_targets(c, probe, list_visit, &l);
	if (r < 0)
		goto out;
	/* Each name is looked up again: a role lists it, but the answer is the search's. */
	json_object_foreach(l.names, path, v) {
		json_t *info = NULL;

		r = tuf_client_find_target(c, path, &info);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			goto out;
		if (json_object_set_new(out, path, info) < 0) {
			r = -ENOMEM;
			goto out;
		}
	}
	*ret = TAKE_PTR(out);
	r = 0;
out:
	json_decref(out);
	json_decref(l.names);
	return r;
}

static const char *first_hash(const json_t *hashes)
{
	void *it = json_object_iter((json_t *)hashes);

	return it ? json_string_value(json_object_iter_value(it)) : NULL;
}

int tuf_client_download_target(struct tuf_client *c, const char *target_path, const json_t *info,
			       const char *targets_url, const char *target_dir, char **ret_file)
{
	_cleanup_free_ char *q = tuf_quote(target_path), *file = NULL, *buf = NULL;
	_cleanup_free_ char *url = NULL;
	json_t *hashes = json_object_get(info, "hashes");
	int64_t length = json_integer_value(json_object_get(info, "length"));
	const char *slash = strrchr(target_path, '/');
	const char *sep = targets_url[0] && targets_url[strlen(targets_url) - 1] == '/' ? "" : "/";
	size_t len;
	int r;

	if (!q)
		return -ENOMEM;
	if (length < 0 || length > TUF_TARGET_MAX)
		return log_error_errno(-EFBIG, "'%s': a length of %lld is not allowed", target_path,
				       (long long)length);
	file = path_join(target_dir, q);
	if (!file)
		return -ENOMEM;
	if (read_file_capped(file, (size_t)length, &buf, &len) == 0 &&
	    tuf_check_length_hashes(buf, len, length, hashes) == 0) {
		log_debug("'%s' is already in '%s'", target_path, target_dir);
		goto done;
	}
	free(TAKE_PTR(buf));
	if (c->root->consistent_snapshot) {
		int dir_len = slash ? (int)(slash - target_path + 1) : 0;

		url = strdup_printf("%s%s%.*s%s.%s", targets_url, sep, dir_len, target_path,
				    strempty(first_hash(hashes)), target_path + dir_len);
	} else {
		url = strdup_printf("%s%s%s", targets_url, sep, target_path);
	}
	if (!url)
		return -ENOMEM;
	/* One byte more than stated, so a longer file is told from an exact one. */
	r = c->o.fetch(c->o.fetch_userdata, url, (size_t)length + 1, &buf, &len);
	if (r < 0)
		return log_error_errno(r, "cannot download '%s': %s", url,
				       r == -EFBIG ? "longer than its stated length"
						   : strerror(-r));
	if (tuf_check_length_hashes(buf, len, length, hashes) < 0)
		return log_error_errno(-EBADMSG, "'%s' does not match its length or hashes", url);
	r = mkdir_p(target_dir, 0755);
	if (r == 0)
		r = write_file_atomic(file, buf, len, 0644);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %s", file, strerror(-r));
done:
	if (ret_file)
		*ret_file = TAKE_PTR(file);
	return 0;
}
