/*
 * The archive's folder. Everything clients read lives under public/ and is only ever added to,
 * except timestamp.json: with consistent snapshots each version of a role is a new file, so a
 * commit writes blobs, roles, snapshot and root first and the timestamp last, and a crash at
 * any point leaves clients seeing the previous state.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/archive.h"
#include "archive/keystore.h"
#include "archive/repo.h"
#include "fileio.h"
#include "log.h"
#include "strbuf.h"
#include "tuf/canonical.h"
#include "banned.h"

const char *const ar_role_names[AR_ROLE_KINDS] = {
	[AR_ROOT] = "root",	    [AR_TARGETS] = "targets",	  [AR_KERNELS] = "kernels",
	[AR_SNAPSHOT] = "snapshot", [AR_TIMESTAMP] = "timestamp",
};

/* Default lifetimes: root is signed offline, rarely; the timestamp by cron, daily. */
static const unsigned default_days[AR_ROLE_KINDS] = {365, 90, 90, 7, 1};

enum ar_role_kind ar_role_kind(const char *role)
{
	for (int k = 0; k < AR_ROLE_KINDS; k++)
		if (k != AR_KERNELS && streq(role, ar_role_names[k]))
			return (enum ar_role_kind)k;
	return AR_KERNELS;
}

void ar_time_format(time_t t, char buf[static 21])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int ar_time_parse(const char *s, time_t *ret)
{
	struct tm tm = {};
	const char *end;

	if (!s)
		return -EBADMSG;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -EBADMSG;
	*ret = timegm(&tm);
	return 0;
}

int ar_body_expires(const json_t *body, time_t *ret)
{
	return ar_time_parse(json_string_value(json_object_get(body, "expires")), ret);
}

static int repo_paths(struct ar_repo *repo, const char *dir)
{
	repo->dir = strdup(dir);
	repo->meta = strdup_printf("%s/public/metadata", dir);
	repo->targets = strdup_printf("%s/public/targets", dir);
	repo->keys = strdup_printf("%s/keys", dir);
	repo->stage = strdup_printf("%s/staging", dir);
	repo->lock_fd = -1;
	if (!repo->dir || !repo->meta || !repo->targets || !repo->keys || !repo->stage)
		return -ENOMEM;
	return 0;
}

void ar_repo_free(struct ar_repo *repo)
{
	if (!repo)
		return;
	for (size_t i = 0; i < repo->signers.n; i++) {
		tuf_signer_release(repo->signers.keys[i]);
		free(repo->signers.keys[i]);
	}
	free(repo->signers.keys);
	json_decref(repo->root);
	json_decref(repo->snapshot);
	json_decref(repo->timestamp);
	json_decref(repo->expiries);
	if (repo->lock_fd >= 0)
		close(repo->lock_fd);
	free(repo->dir);
	free(repo->meta);
	free(repo->targets);
	free(repo->keys);
	free(repo->stage);
	free(repo);
}

int ar_meta_read(struct ar_repo *repo, const char *name, json_t **ret)
{
	_cleanup_free_ char *path = path_join(repo->meta, name);
	_cleanup_free_ char *buf = NULL;
	json_t *doc, *body;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	r = read_file_capped(path, AR_META_MAX, &buf, &len);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
	r = tuf_json_parse(buf, len, AR_META_MAX, path, &doc);
	if (r < 0)
		return log_error_errno(r, "'%s' is not valid metadata JSON", path);
	body = json_object_get(doc, "signed");
	if (!json_is_object(body) || !json_is_integer(json_object_get(body, "version"))) {
		json_decref(doc);
		return log_error_errno(-EBADMSG, "'%s': no \"signed\" object with a version", path);
	}
	*ret = json_incref(body);
	json_decref(doc);
	return 0;
}

static json_t *read_config(const char *dir, unsigned days[AR_ROLE_KINDS])
{
	_cleanup_free_ char *path = path_join(dir, "archive.json");
	_cleanup_free_ char *buf = NULL;
	json_t *cfg, *exp;
	size_t len;
	int r;

	if (!path)
		return NULL;
	r = read_file_capped(path, 1 << 20, &buf, &len);
	if (r == -ENOENT) {
		log_error("'%s' is not a tuxtape archive (no archive.json): run 'tuxtape archive "
			  "init' first",
			  dir);
		return NULL;
	}
	if (r < 0 || tuf_json_parse(buf, len, 1 << 20, path, &cfg) < 0) {
		log_error("cannot read '%s'", path);
		return NULL;
	}
	exp = json_object_get(cfg, "expires_days");
	for (int k = 0; k < AR_ROLE_KINDS; k++) {
		json_int_t d = json_integer_value(json_object_get(exp, ar_role_names[k]));

		days[k] = d > 0 && d < 100000 ? (unsigned)d : default_days[k];
	}
	return cfg;
}

static bool meta_exists(struct ar_repo *repo, unsigned version, const char *role)
{
	_cleanup_free_ char *p = strdup_printf("%s/%u.%s.json", repo->meta, version, role);

	return p && access(p, F_OK) == 0;
}

static int load_published(struct ar_repo *repo)
{
	_cleanup_free_ char *name = NULL;
	unsigned v;
	int r;

	for (v = 1; meta_exists(repo, v + 1, "root"); v++)
		;
	name = strdup_printf("%u.root.json", v);
	if (!name)
		return -ENOMEM;
	r = ar_meta_read(repo, name, &repo->root);
	if (r < 0)
		return r;
	repo->root_version = v;
	r = ar_meta_read(repo, "timestamp.json", &repo->timestamp);
	if (r < 0)
		return r;
	v = (unsigned)json_integer_value(json_object_get(
		json_object_get(json_object_get(repo->timestamp, "meta"), "snapshot.json"),
		"version"));
	free(name);
	name = strdup_printf("%u.snapshot.json", v);
	if (!name)
		return -ENOMEM;
	return ar_meta_read(repo, name, &repo->snapshot);
}

static int repo_lock(struct ar_repo *repo, bool exclusive)
{
	_cleanup_free_ char *path = path_join(repo->dir, ".lock");

	if (!path)
		return -ENOMEM;
	repo->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (repo->lock_fd < 0)
		return log_error_errno(negative_errno(), "cannot open lock '%s': %s", path,
				       strerror(errno));
	if (flock(repo->lock_fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
		return log_error_errno(negative_errno(), "cannot lock '%s': %s", path,
				       strerror(errno));
	return 0;
}

int ar_repo_open(const char *dir, bool exclusive, time_t now, struct ar_repo **ret)
{
	_cleanup_ar_repo_ struct ar_repo *repo = calloc(1, sizeof(*repo));
	json_t *cfg;
	int r;

	if (!repo)
		return -ENOMEM;
	r = repo_paths(repo, dir);
	if (r < 0)
		return r;
	repo->now = now;
	cfg = read_config(dir, repo->expires_days);
	if (!cfg)
		return -ENOENT;
	json_decref(cfg);
	r = repo_lock(repo, exclusive);
	if (r < 0)
		return r;
	r = load_published(repo);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(repo);
	return 0;
}

int ar_repo_new(const char *dir, time_t now, const unsigned days[AR_ROLE_KINDS],
		struct ar_repo **ret)
{
	_cleanup_ar_repo_ struct ar_repo *repo = calloc(1, sizeof(*repo));
	int r;

	if (!repo)
		return -ENOMEM;
	r = repo_paths(repo, dir);
	if (r < 0)
		return r;
	repo->now = now;
	for (int k = 0; k < AR_ROLE_KINDS; k++)
		repo->expires_days[k] = days && days[k] ? days[k] : default_days[k];
	*ret = TAKE_PTR(repo);
	return 0;
}

unsigned ar_role_version(struct ar_repo *repo, const char *role)
{
	_cleanup_free_ char *name = NULL;
	json_t *m;

	if (streq(role, "root"))
		return repo->root_version;
	if (streq(role, "timestamp"))
		return (unsigned)json_integer_value(json_object_get(repo->timestamp, "version"));
	if (streq(role, "snapshot"))
		return (unsigned)json_integer_value(json_object_get(repo->snapshot, "version"));
	name = strdup_printf("%s.json", role);
	m = name ? json_object_get(json_object_get(repo->snapshot, "meta"), name) : NULL;
	return (unsigned)json_integer_value(json_object_get(m, "version"));
}

static char *staged_path(struct ar_repo *repo, const char *role)
{
	return strdup_printf("%s/roles/%s.json", repo->stage, role);
}

int ar_role_load(struct ar_repo *repo, const char *role, bool *ret_staged, json_t **ret)
{
	_cleanup_free_ char *path = staged_path(repo, role);
	_cleanup_free_ char *buf = NULL, *name = NULL;
	size_t len;
	unsigned v;
	int r;

	if (!path)
		return -ENOMEM;
	r = read_file_capped(path, AR_META_MAX, &buf, &len);
	if (r == 0) {
		r = tuf_json_parse(buf, len, AR_META_MAX, path, ret);
		if (r < 0)
			return log_error_errno(r, "staged role '%s' is damaged", path);
		if (ret_staged)
			*ret_staged = true;
		return 0;
	}
	if (r != -ENOENT)
		return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
	v = ar_role_version(repo, role);
	if (v == 0)
		return -ENOENT;
	name = strdup_printf("%u.%s.json", v, role);
	if (!name)
		return -ENOMEM;
	r = ar_meta_read(repo, name, ret);
	if (r == 0 && ret_staged)
		*ret_staged = false;
	return r;
}

int ar_role_stage(struct ar_repo *repo, const char *role, json_t *body)
{
	_cleanup_free_ char *path = staged_path(repo, role);
	_cleanup_free_ char *dir = strdup_printf("%s/roles", repo->stage);
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	int r;

	if (!path || !dir)
		return -ENOMEM;
	r = mkdir_p(dir, 0755);
	if (r >= 0)
		r = tuf_canonical_append(&sb, body);
	if (r >= 0)
		r = write_file_atomic(path, sb.buf, sb.len, 0644);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %s", path, strerror(-r));
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
		      json_string_value(*(json_t *const *)b));
}

int ar_staged_roles(struct ar_repo *repo, json_t **ret)
{
	_cleanup_free_ char *dir = strdup_printf("%s/roles", repo->stage);
	json_t *a = json_array(), **v;
	struct dirent *de;
	DIR *d;
	size_t n;

	if (!dir || !a)
		return json_decref(a), -ENOMEM;
	d = opendir(dir);
	if (d) {
		while ((de = readdir(d))) {
			size_t len = strlen(de->d_name);

			if (len > 5 && de->d_name[0] != '.' && streq(de->d_name + len - 5, ".json"))
				json_array_append_new(a, json_stringn(de->d_name, len - 5));
		}
		closedir(d);
	}
	/* A stable order keeps commits and status output reproducible. */
	n = json_array_size(a);
	v = malloc(sizeof(*v) * (n ? n : 1));
	if (!v)
		return json_decref(a), -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(a, i));
	qsort(v, n, sizeof(*v), cmp_str);
	json_array_clear(a);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, v[i]);
	free(v);
	*ret = a;
	return 0;
}

int ar_repo_signers(struct ar_repo *repo, const char *keydir, const char *role,
		    const json_t *keyids, unsigned threshold, struct tuf_signer ***ret,
		    size_t *ret_n)
{
	struct tuf_signer **out;
	size_t n = 0, i, j;
	json_t *id;

	out = calloc(json_array_size(keyids) + 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	json_array_foreach(keyids, i, id)
	{
		const char *kid = json_string_value(id);
		struct tuf_signer *s = NULL, **grown;
		_cleanup_free_ char *path = NULL;

		if (!kid)
			continue;
		for (j = 0; j < repo->signers.n; j++)
			if (streq(repo->signers.keys[j]->id, kid))
				s = repo->signers.keys[j];
		if (!s) {
			path = strdup_printf("%s/%s.%s.key", keydir, role, kid);
			if (!path || access(path, F_OK) < 0)
				continue;
			s = calloc(1, sizeof(*s));
			grown = realloc(repo->signers.keys, (repo->signers.n + 1) * sizeof(*grown));
			if (!s || !grown) {
				free(s);
				free(out);
				return -ENOMEM;
			}
			repo->signers.keys = grown;
			if (ar_key_load(keydir, role, kid, s) < 0) {
				free(s);
				free(out);
				return -EBADMSG;
			}
			repo->signers.keys[repo->signers.n++] = s;
		}
		out[n++] = s;
	}
	if (n < threshold || n == 0) {
		free(out);
		return log_error_errno(-ENOKEY, "%s needs %u key%s, found %zu in '%s'%s", role,
				       threshold, threshold == 1 ? "" : "s", n, keydir,
				       streq(role, "root") ? " (give --root-key-dir)" : "");
	}
	*ret = out;
	*ret_n = n;
	return 0;
}

/* The keys that sign top-level ROLE per ROOT_BODY, or delegated ROLE per DELEGATIONS. */
static int role_signers(struct ar_repo *repo, const char *role, json_t *root_body,
			json_t *delegated, struct tuf_signer ***ret, size_t *ret_n)
{
	json_t *entry;
	const char *keyrole = role;

	if (ar_role_kind(role) == AR_KERNELS) {
		entry = json_object_get(delegated, role);
		keyrole = AR_ROLE_KERNELS;
		if (!entry)
			return log_error_errno(-ENOENT, "role '%s' is not delegated by targets",
					       role);
	} else {
		entry = json_object_get(json_object_get(root_body, "roles"), role);
	}
	return ar_repo_signers(repo, repo->keys, keyrole, json_object_get(entry, "keyids"),
			       (unsigned)json_integer_value(json_object_get(entry, "threshold")),
			       ret, ret_n);
}

int ar_repo_load_expiries(struct ar_repo *repo)
{
	_cleanup_free_ char *path = path_join(repo->dir, "index.json");
	_cleanup_free_ char *buf = NULL;
	unsigned snap = ar_role_version(repo, "snapshot");
	json_t *idx = NULL, *exp, *m;
	const char *key;
	size_t len;

	if (!path)
		return -ENOMEM;
	if (read_file_capped(path, AR_META_MAX, &buf, &len) == 0 &&
	    tuf_json_parse(buf, len, AR_META_MAX, path, &idx) == 0 &&
	    json_integer_value(json_object_get(idx, "snapshot")) == snap &&
	    json_is_object(json_object_get(idx, "expires"))) {
		repo->expiries = json_incref(json_object_get(idx, "expires"));
		json_decref(idx);
		return 0;
	}
	json_decref(idx);
	/* Missing or stale (a crash after a commit, or a copy): read every role once. */
	exp = json_object();
	if (!exp)
		return -ENOMEM;
	json_object_foreach(json_object_get(repo->snapshot, "meta"), key, m)
	{
		_cleanup_free_ char *file = NULL, *role = NULL;
		json_t *body;
		size_t kl = strlen(key);
		int r;

		if (kl <= 5)
			continue;
		role = strndup(key, kl - 5);
		file = strdup_printf(
			"%u.%s", (unsigned)json_integer_value(json_object_get(m, "version")), key);
		if (!role || !file) {
			json_decref(exp);
			return -ENOMEM;
		}
		r = ar_meta_read(repo, file, &body);
		if (r < 0) {
			json_decref(exp);
			return r;
		}
		json_object_set(exp, role, json_object_get(body, "expires"));
		json_decref(body);
	}
	repo->expiries = exp;
	return 0;
}

int ar_repo_save_expiries(struct ar_repo *repo)
{
	_cleanup_free_ char *path = path_join(repo->dir, "index.json");
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	json_t *idx;
	int r;

	if (!path)
		return -ENOMEM;
	idx = json_pack("{s:I s:O}", "snapshot", (json_int_t)ar_role_version(repo, "snapshot"),
			"expires", repo->expiries);
	if (!idx)
		return -ENOMEM;
	r = tuf_canonical_append(&sb, idx);
	json_decref(idx);
	if (r >= 0)
		r = write_file_atomic(path, sb.buf, sb.len, 0644);
	if (r < 0)
		log_warn_errno(r, "cannot write '%s' (the next publish rebuilds it): %s", path,
			       strerror(-r));
	return 0;
}

struct written {
	size_t length;
	char sha256[65];
};

static int write_meta(struct ar_repo *repo, const char *file, json_t *body, unsigned version,
		      time_t expires, struct tuf_signer *const *keys, size_t n, struct written *w)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	_cleanup_free_ char *path = path_join(repo->meta, file);
	char when[21];
	int r;

	if (!path)
		return -ENOMEM;
	ar_time_format(expires, when);
	if (json_object_set_new(body, "version", json_integer(version)) < 0 ||
	    json_object_set_new(body, "expires", json_string(when)) < 0 ||
	    json_object_set_new(body, "spec_version", json_string(AR_SPEC_VERSION)) < 0)
		return -ENOMEM;
	r = ar_sign(body, keys, n, &sb);
	if (r < 0)
		return log_error_errno(r, "cannot sign '%s': %s", file, strerror(-r));
	r = write_file_atomic(path, sb.buf, sb.len, 0644);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %s", path, strerror(-r));
	if (w) {
		unsigned char h[crypto_hash_sha256_BYTES];

		crypto_hash_sha256(h, (const unsigned char *)sb.buf, sb.len);
		sodium_bin2hex(w->sha256, sizeof(w->sha256), h, sizeof(h));
		w->length = sb.len;
	}
	return 0;
}

static time_t expiry(struct ar_repo *repo, enum ar_role_kind k)
{
	return repo->now + (time_t)repo->expires_days[k] * 86400;
}

/* Moves DIR/staging/targets/RELEASE/FILE to DIR/public/targets/RELEASE/FILE. */
static int move_staged_blobs(struct ar_repo *repo)
{
	_cleanup_free_ char *top = path_join(repo->stage, "targets");
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (!top)
		return -ENOMEM;
	d = opendir(top);
	if (!d)
		return errno == ENOENT ? 0
				       : log_error_errno(negative_errno(), "cannot read '%s': %s",
							 top, strerror(errno));
	while (r >= 0 && (de = readdir(d))) {
		_cleanup_free_ char *from_dir = NULL, *to_dir = NULL;
		struct dirent *fe;
		DIR *sub;

		if (de->d_name[0] == '.')
			continue;
		from_dir = path_join(top, de->d_name);
		to_dir = path_join(repo->targets, de->d_name);
		if (!from_dir || !to_dir) {
			r = -ENOMEM;
			break;
		}
		r = mkdir_p(to_dir, 0755);
		if (r < 0) {
			log_error_errno(r, "cannot create '%s': %s", to_dir, strerror(-r));
			break;
		}
		sub = opendir(from_dir);
		if (!sub)
			continue;
		while ((fe = readdir(sub))) {
			_cleanup_free_ char *from = NULL, *to = NULL;

			if (fe->d_name[0] == '.' || strstr(fe->d_name, ".tmp."))
				continue;
			from = path_join(from_dir, fe->d_name);
			to = path_join(to_dir, fe->d_name);
			if (!from || !to) {
				r = -ENOMEM;
				break;
			}
			if (rename(from, to) < 0) {
				r = log_error_errno(negative_errno(),
						    "cannot move '%s' to '%s': %s", from, to,
						    strerror(errno));
				break;
			}
		}
		closedir(sub);
	}
	closedir(d);
	return r;
}

/* Delegated role name -> its entry in BODY's delegations. */
static json_t *delegation_map(json_t *targets_body)
{
	json_t *map = json_object(), *e;
	size_t i;

	if (!map)
		return NULL;
	json_array_foreach(json_object_get(json_object_get(targets_body, "delegations"), "roles"),
			   i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));

		if (name)
			json_object_set(map, name, e);
	}
	return map;
}

static int write_timestamp(struct ar_repo *repo, unsigned snap_version, const struct written *w)
{
	_cleanup_free_ struct tuf_signer **keys = NULL;
	json_t *body, *snapmeta;
	size_t n;
	int r;

	r = role_signers(repo, "timestamp", repo->root, NULL, &keys, &n);
	if (r < 0)
		return r;
	if (w)
		snapmeta =
			json_pack("{s:I s:I s:{s:s}}", "version", (json_int_t)snap_version,
				  "length", (json_int_t)w->length, "hashes", "sha256", w->sha256);
	else
		snapmeta = json_deep_copy(
			json_object_get(json_object_get(repo->timestamp, "meta"), "snapshot.json"));
	body = json_pack("{s:s s:{s:o}}", "_type", "timestamp", "meta", "snapshot.json", snapmeta);
	if (!body)
		return -ENOMEM;
	r = write_meta(repo, "timestamp.json", body, ar_role_version(repo, "timestamp") + 1,
		       expiry(repo, AR_TIMESTAMP), keys, n, NULL);
	if (r >= 0) {
		json_decref(repo->timestamp);
		repo->timestamp = json_incref(body);
	}
	json_decref(body);
	return r;
}

int ar_repo_write_timestamp(struct ar_repo *repo)
{
	return write_timestamp(repo, 0, NULL);
}

static int clear_staging(struct ar_repo *repo)
{
	_cleanup_free_ char *roles = path_join(repo->stage, "roles");
	_cleanup_free_ char *targets = path_join(repo->stage, "targets");
	int r;

	if (!roles || !targets)
		return -ENOMEM;
	r = rm_rf(roles);
	if (r >= 0)
		r = rm_rf(targets);
	if (r < 0)
		log_warn_errno(r,
			       "cannot clear '%s' after publishing: the next publish signs it "
			       "again",
			       repo->stage);
	return 0;
}

int ar_repo_commit(struct ar_repo *repo, struct ar_plan *plan)
{
	_cleanup_free_ struct tuf_signer **keys = NULL;
	json_t *root_body = plan->new_root ? plan->new_root : repo->root;
	json_t *targets_body = NULL, *delegated = NULL, *meta = NULL, *snap = NULL, *body;
	unsigned snap_version = ar_role_version(repo, "snapshot") + 1;
	struct written w;
	const char *name;
	size_t n;
	int r;

	/* The delegations that sign each kernel's role: the targets being written, else the
	 * published one. */
	targets_body = json_incref(json_object_get(plan->roles, "targets"));
	if (!targets_body && ar_role_version(repo, "targets") > 0) {
		_cleanup_free_ char *f =
			strdup_printf("%u.targets.json", ar_role_version(repo, "targets"));

		r = f ? ar_meta_read(repo, f, &targets_body) : -ENOMEM;
		if (r < 0)
			goto out;
	}
	delegated = delegation_map(targets_body);
	meta = repo->snapshot ? json_deep_copy(json_object_get(repo->snapshot, "meta"))
			      : json_object();
	if (!delegated || !meta) {
		r = -ENOMEM;
		goto out;
	}
	/* Every key first: a missing or unreadable key must stop the commit before it writes. */
	json_object_foreach(plan->roles, name, body)
	{
		free(TAKE_PTR(keys));
		r = role_signers(repo, name, root_body, delegated, &keys, &n);
		if (r < 0)
			goto out;
	}
	for (int i = 0; i < 2; i++) {
		free(TAKE_PTR(keys));
		r = role_signers(repo, i ? "timestamp" : "snapshot", root_body, NULL, &keys, &n);
		if (r < 0)
			goto out;
	}

	r = move_staged_blobs(repo);
	if (r < 0)
		goto out;

	json_object_foreach(plan->roles, name, body)
	{
		_cleanup_free_ char *file = NULL, *key = NULL;
		enum ar_role_kind k = ar_role_kind(name);
		unsigned v = ar_role_version(repo, name) + 1;

		free(TAKE_PTR(keys));
		r = role_signers(repo, name, root_body, delegated, &keys, &n);
		if (r < 0)
			goto out;
		file = strdup_printf("%u.%s.json", v, name);
		key = strdup_printf("%s.json", name);
		if (!file || !key) {
			r = -ENOMEM;
			goto out;
		}
		r = write_meta(repo, file, body, v, expiry(repo, k), keys, n, NULL);
		if (r < 0)
			goto out;
		json_object_set_new(meta, key, json_pack("{s:I}", "version", (json_int_t)v));
		if (repo->expiries)
			json_object_set(repo->expiries, name, json_object_get(body, "expires"));
	}

	free(TAKE_PTR(keys));
	r = role_signers(repo, "snapshot", root_body, NULL, &keys, &n);
	if (r < 0)
		goto out;
	snap = json_pack("{s:s s:O}", "_type", "snapshot", "meta", meta);
	if (!snap) {
		r = -ENOMEM;
		goto out;
	}
	{
		_cleanup_free_ char *file = strdup_printf("%u.snapshot.json", snap_version);

		r = file ? write_meta(repo, file, snap, snap_version, expiry(repo, AR_SNAPSHOT),
				      keys, n, &w)
			 : -ENOMEM;
		if (r < 0)
			goto out;
	}

	if (plan->new_root) {
		_cleanup_free_ char *file = strdup_printf("%u.root.json", repo->root_version + 1);

		r = file ? write_meta(repo, file, plan->new_root, repo->root_version + 1,
				      expiry(repo, AR_ROOT), plan->root_signers,
				      plan->n_root_signers, NULL)
			 : -ENOMEM;
		if (r < 0)
			goto out;
		json_decref(repo->root);
		repo->root = json_incref(plan->new_root);
		repo->root_version++;
	}

	json_decref(repo->snapshot);
	repo->snapshot = json_incref(snap);
	/* The one file clients see change: after it, the new state is published. */
	r = write_timestamp(repo, snap_version, &w);
	if (r < 0)
		goto out;
	if (repo->expiries)
		ar_repo_save_expiries(repo);
	if (plan->clear_staging)
		clear_staging(repo);
out:
	json_decref(snap);
	json_decref(meta);
	json_decref(delegated);
	json_decref(targets_body);
	return r;
}
