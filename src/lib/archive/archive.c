/*
 * The archive's operations: init, add, remove, publish, timestamp, rotate-key, status. Each
 * checks everything it was given before it writes anything.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/archive.h"
#include "archive/keystore.h"
#include "archive/modinfo.h"
#include "archive/repo.h"
#include "fileio.h"
#include "filehash.h"
#include "log.h"
#include "strbuf.h"
#include "tuf/canonical.h"
#include "banned.h"

/*
 * A release names a delegated role, so it is a file name ("N.RELEASE.json") and a URL path
 * segment that clients do not percent-encode: letters, digits, '.', '_' and '-' only.
 */
bool ar_release_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	for (int k = 0; k < AR_ROLE_KINDS; k++)
		if (streq(s, ar_role_names[k]))
			return false;
	return true;
}

bool ar_cve_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 13 || n > 20 || strncmp(s, "CVE-", 4) != 0)
		return false;
	for (i = 4; i < 8; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	if (s[8] != '-')
		return false;
	for (i = 9; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool ar_sha256_valid(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

static bool file_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 4 || n > 128 || s[0] == '.' || !streq(s + n - 3, ".ko"))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

int ar_file_sha256(const char *path, char ret[static 65])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];
	int r;

	crypto_hash_sha256_init(&st);
	r = tt_file_sha256_update(&st, path);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(ret, 65, h, sizeof(h));
	return 0;
}

int ar_build_report_read(const char *path, json_t **ret)
{
	_cleanup_free_ char *buf = NULL;
	json_t *rep, *out, *cves, *shas, *e;
	json_error_t err;
	size_t len, i;
	int r;

	r = read_file_capped(path, 16u << 20, &buf, &len);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
	rep = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(rep)) {
		json_decref(rep);
		return log_error_errno(-EBADMSG,
				       "'%s' is not a livepatch build report (JSON, line "
				       "%d: %s)",
				       path, err.line, err.text);
	}
	cves = json_array();
	shas = json_array();
	out = json_pack("{s:o s:o}", "cves", cves, "patches_sha256", shas);
	if (!out) {
		json_decref(rep);
		return -ENOMEM;
	}
	r = 0;
	if (!json_is_array(json_object_get(rep, "cves")) ||
	    !json_is_array(json_object_get(rep, "patches")))
		r = log_error_errno(-EBADMSG,
				    "'%s': a livepatch build report has \"cves\" and "
				    "\"patches\" arrays",
				    path);
	json_array_foreach(json_object_get(rep, "cves"), i, e)
	{
		if (r < 0)
			break;
		if (!json_is_string(e) || !ar_cve_valid(json_string_value(e)))
			r = log_error_errno(-EBADMSG, "'%s': cves[%zu] is not a CVE id", path, i);
		else
			json_array_append(cves, e);
	}
	json_array_foreach(json_object_get(rep, "patches"), i, e)
	{
		const char *h = json_string_value(json_object_get(e, "sha256"));

		if (r < 0)
			break;
		if (!h || !ar_sha256_valid(h))
			r = log_error_errno(-EBADMSG, "'%s': patches[%zu].sha256 is not a SHA-256",
					    path, i);
		else
			json_array_append_new(shas, json_string(h));
	}
	json_decref(rep);
	if (r < 0) {
		json_decref(out);
		return r;
	}
	*ret = out;
	return 0;
}

static const char *const top_roles[] = {"targets", "snapshot", "timestamp"};

/* ---- init ---- */

static int dir_is_empty(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int empty = 1;

	if (!d)
		return errno == ENOENT ? 1 : negative_errno();
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

static int write_config(const char *dir, const unsigned days[AR_ROLE_KINDS])
{
	_cleanup_free_ char *path = path_join(dir, "archive.json");
	_cleanup_free_ char *text = NULL;
	json_t *cfg, *exp = json_object();
	int r;

	if (!path || !exp)
		return json_decref(exp), -ENOMEM;
	for (int k = 0; k < AR_ROLE_KINDS; k++)
		json_object_set_new(exp, ar_role_names[k], json_integer(days[k]));
	cfg = json_pack("{s:i s:s s:b s:o}", "format", 1, "spec_version", AR_SPEC_VERSION,
			"consistent_snapshot", 1, "expires_days", exp);
	if (!cfg)
		return -ENOMEM;
	text = json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(cfg);
	if (!text)
		return -ENOMEM;
	r = write_file_atomic(path, text, strlen(text), 0644);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %s", path, strerror(-r));
	return 0;
}

static int make_dirs(const char *dir)
{
	static const struct {
		const char *sub;
		int mode;
	} dirs[] = {{"keys", 0700},
		    {"public/metadata", 0755},
		    {"public/targets", 0755},
		    {"staging", 0755}};

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *p = path_join(dir, dirs[i].sub);
		int r = p ? mkdir_p(p, dirs[i].mode) : -ENOMEM;

		if (r < 0)
			return log_error_errno(r, "cannot create '%s': %s", p ? p : dirs[i].sub,
					       strerror(-r));
	}
	return 0;
}

static int init_in(const char *tmp, const struct ar_init_opts *o, const char *root_dir, time_t now,
		   unsigned nroot, unsigned threshold)
{
	_cleanup_ar_repo_ struct ar_repo *repo = NULL;
	_cleanup_free_ struct tuf_signer **root_keys = NULL;
	struct tuf_signer online[4];
	json_t *keys = json_object(), *roles = json_object(), *rootids = json_array();
	json_t *root = NULL, *targets = NULL;
	struct ar_plan plan = {};
	unsigned made = 0;
	int r;

	if (!keys || !roles || !rootids) {
		r = -ENOMEM;
		goto out;
	}
	r = ar_repo_new(tmp, now, o->expires_days, &repo);
	if (r < 0)
		goto out;
	r = make_dirs(tmp);
	if (r < 0)
		goto out;
	r = write_config(tmp, repo->expires_days);
	if (r < 0)
		goto out;
	root_keys = calloc(nroot, sizeof(*root_keys));
	if (!root_keys) {
		r = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < nroot; i++) {
		root_keys[i] = calloc(1, sizeof(**root_keys));
		if (!root_keys[i]) {
			r = -ENOMEM;
			goto out;
		}
		r = ar_key_create(root_dir ? root_dir : repo->keys, "root", root_keys[i]);
		if (r < 0)
			goto out;
		json_object_set_new(keys, root_keys[i]->id, tuf_signer_public_json(root_keys[i]));
		json_array_append_new(rootids, json_string(root_keys[i]->id));
	}
	json_object_set_new(roles, "root",
			    json_pack("{s:O s:i}", "keyids", rootids, "threshold", (int)threshold));
	for (made = 0; made < 4; made++) {
		const char *role = made < 3 ? top_roles[made] : AR_ROLE_KERNELS;

		r = ar_key_create(repo->keys, role, &online[made]);
		if (r < 0)
			goto out;
		if (made < 3) {
			json_object_set_new(keys, online[made].id,
					    tuf_signer_public_json(&online[made]));
			json_object_set_new(roles, role,
					    json_pack("{s:[s] s:i}", "keyids", online[made].id,
						      "threshold", 1));
		}
	}
	root = json_pack("{s:s s:b s:O s:O}", "_type", "root", "consistent_snapshot", 1, "keys",
			 keys, "roles", roles);
	targets = json_pack("{s:s s:{} s:{s:{s:o} s:[]}}", "_type", "targets", "targets",
			    "delegations", "keys", online[3].id, tuf_signer_public_json(&online[3]),
			    "roles");
	plan.roles = json_pack("{s:O}", "targets", targets);
	if (!root || !targets || !plan.roles) {
		r = -ENOMEM;
		goto out;
	}
	plan.new_root = root;
	plan.root_signers = root_keys;
	plan.n_root_signers = nroot;
	repo->expiries = json_object();
	r = ar_repo_commit(repo, &plan);
out:
	while (made > 0)
		tuf_signer_release(&online[--made]);
	if (root_keys)
		for (unsigned i = 0; i < nroot; i++) {
			if (root_keys[i])
				tuf_signer_release(root_keys[i]);
			free(root_keys[i]);
		}
	json_decref(plan.roles);
	json_decref(root);
	json_decref(targets);
	json_decref(keys);
	json_decref(roles);
	json_decref(rootids);
	return r;
}

int ar_init(const char *dir, const struct ar_init_opts *o, time_t now)
{
	_cleanup_free_ char *tmp = strdup_printf("%s.init.XXXXXX", dir);
	_cleanup_free_ char *root_abs = NULL;
	unsigned nroot = o->root_keys ? o->root_keys : 1;
	unsigned threshold = o->root_threshold ? o->root_threshold : 1;
	int r;

	if (!tmp)
		return -ENOMEM;
	if (nroot > 16 || threshold > nroot)
		return log_error_errno(-EINVAL,
				       "root threshold %u with %u root key%s: the threshold "
				       "must be at most the number of keys (at most 16)",
				       threshold, nroot, nroot == 1 ? "" : "s");
	r = dir_is_empty(dir);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", dir, strerror(-r));
	if (r == 0)
		return log_error_errno(-EEXIST, "'%s' already exists and is not empty", dir);
	if (o->root_key_dir) {
		r = mkdir_p(o->root_key_dir, 0700);
		if (r < 0)
			return log_error_errno(r, "cannot create '%s': %s", o->root_key_dir,
					       strerror(-r));
		root_abs = realpath(o->root_key_dir, NULL);
		if (!root_abs)
			return -ENOMEM;
	}
	if (!mkdtemp(tmp))
		return log_error_errno(negative_errno(), "cannot create '%s': %s", tmp,
				       strerror(errno));
	/* mkdtemp's 0700 would hide public/ from the web server; keys/ keeps its own 0700. */
	chmod(tmp, 0755);
	r = init_in(tmp, o, root_abs, now, nroot, threshold);
	if (r >= 0) {
		rmdir(dir); /* an empty folder given as DIR */
		if (rename(tmp, dir) < 0)
			r = log_error_errno(negative_errno(), "cannot rename '%s' to '%s': %s", tmp,
					    dir, strerror(errno));
	}
	if (r < 0)
		rm_rf(tmp);
	return r;
}

/* ---- add, remove ---- */

static json_t *string_array(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0)
			return json_decref(a), NULL;
	return a;
}

static json_t *new_kernel_role(void)
{
	return json_pack("{s:s s:{}}", "_type", "targets", "targets");
}

/* Adds RELEASE's delegation to TARGETS (signed by the "kernels" key it lists). */
static int delegate_release(json_t *targets, const char *release)
{
	json_t *d = json_object_get(targets, "delegations"), *keys, *roles, *e;
	const char *kid = NULL;
	void *it;

	keys = json_object_get(d, "keys");
	roles = json_object_get(d, "roles");
	it = json_object_iter(keys);
	if (it)
		kid = json_object_iter_key(it);
	if (!kid || !json_is_array(roles))
		return log_error_errno(-EBADMSG, "targets has no delegation key: the archive is "
						 "damaged");
	e = json_pack("{s:s s:[s] s:i s:b s:[s+]}", "name", release, "keyids", kid, "threshold", 1,
		      "terminating", 1, "paths", release, "/*");
	if (!e || json_array_append_new(roles, e) < 0)
		return -ENOMEM;
	return 0;
}

static char *staged_blob(struct ar_repo *repo, const char *release, const char *sha,
			 const char *file)
{
	return strdup_printf("%s/targets/%s/%s.%s", repo->stage, release, sha, file);
}

static int check_opts(const struct ar_target_opts *o)
{
	if (!o->kernel || !ar_release_valid(o->kernel))
		return log_error_errno(-EINVAL,
				       "--kernel '%s' is not a kernel release (letters, "
				       "digits, '.', '_', '-'; at most 64)",
				       strempty(o->kernel));
	for (size_t i = 0; i < o->n_cves; i++)
		if (!ar_cve_valid(o->cves[i]))
			return log_error_errno(
				-EINVAL, "--cve '%s' is not a CVE id (CVE-YYYY-NNNN)", o->cves[i]);
	for (size_t i = 0; i < o->n_patches; i++)
		if (!ar_sha256_valid(o->patch_sha256[i]))
			return log_error_errno(-EINVAL,
					       "--patch-sha256 '%s' is not 64 lowercase hex "
					       "digits",
					       o->patch_sha256[i]);
	if (o->approved_by && (strlen(o->approved_by) == 0 || strlen(o->approved_by) > 256))
		return log_error_errno(-EINVAL, "--approved-by must be 1 to 256 characters");
	return 0;
}

/* Reads and checks KO: a livepatch module built for O->kernel. */
static int read_module(const char *ko, const struct ar_target_opts *o, char **ret_buf,
		       size_t *ret_len, struct ar_modinfo *ret_mi)
{
	_cleanup_free_ char *buf = NULL, *copy = NULL, *rel = NULL;
	struct ar_modinfo mi = {};
	size_t len;
	int r;

	r = read_file_capped(ko, AR_KO_MAX, &buf, &len);
	if (r == -EFBIG)
		return log_error_errno(r, "'%s' is larger than %u MiB: not a livepatch module", ko,
				       AR_KO_MAX >> 20);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", ko, strerror(-r));
	/* libelf may change the image it parses: hash and publish the bytes as read. */
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	r = ar_modinfo_parse(ko, copy, len, &mi);
	if (r < 0)
		return r;
	if (!mi.livepatch)
		r = log_error_errno(-EINVAL,
				    "'%s' is not a livepatch module: .modinfo has no "
				    "livepatch=Y",
				    ko);
	else if (!mi.vermagic || !*mi.vermagic)
		r = log_error_errno(-EINVAL,
				    "'%s' has no vermagic in .modinfo: cannot tell which "
				    "kernel it is for",
				    ko);
	else if (!mi.name || !*mi.name)
		r = log_error_errno(-EINVAL, "'%s' has no name in .modinfo", ko);
	if (r < 0)
		goto fail;
	rel = ar_vermagic_release(mi.vermagic);
	if (!rel) {
		r = -ENOMEM;
		goto fail;
	}
	if (!streq(rel, o->kernel)) {
		r = log_error_errno(-EINVAL,
				    "'%s' is built for kernel '%s' (vermagic '%s'), not "
				    "--kernel '%s'",
				    ko, rel, mi.vermagic, o->kernel);
		goto fail;
	}
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	*ret_mi = mi;
	return 0;
fail:
	ar_modinfo_release(&mi);
	return r;
}

struct module {
	const char *path;
	char *base_copy; /* basename() may write into it */
	const char *base;
	char *buf;
	size_t len;
	char sha[65];
	struct ar_modinfo mi;
};

static void modules_free(struct module *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		free(m[i].base_copy);
		free(m[i].buf);
		ar_modinfo_release(&m[i].mi);
	}
	free(m);
}

static bool delegated(json_t *targets, const char *release)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(targets, "delegations"), "roles"), i,
			   e) if (streq_ptr(json_string_value(json_object_get(e, "name")),
					    release)) return true;
	return false;
}

/* Reads and checks every module before anything is written. */
static int modules_read(const char *const *kos, size_t n, const struct ar_target_opts *o,
			struct module *m)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	int r;

	for (size_t i = 0; i < n; i++) {
		m[i].path = kos[i];
		m[i].base_copy = strdup(kos[i]);
		if (!m[i].base_copy)
			return -ENOMEM;
		m[i].base = basename(m[i].base_copy);
		if (!file_name_valid(m[i].base))
			return log_error_errno(-EINVAL,
					       "'%s': a target's file name must end in .ko "
					       "and hold only letters, digits, '.', '_', '-'",
					       kos[i]);
		for (size_t j = 0; j < i; j++)
			if (streq(m[j].base, m[i].base))
				return log_error_errno(-EINVAL,
						       "'%s' and '%s' would both be target "
						       "'%s/%s'",
						       kos[j], kos[i], o->kernel, m[i].base);
		r = read_module(kos[i], o, &m[i].buf, &m[i].len, &m[i].mi);
		if (r < 0)
			return r;
		crypto_hash_sha256(h, (const unsigned char *)m[i].buf, m[i].len);
		sodium_bin2hex(m[i].sha, sizeof(m[i].sha), h, sizeof(h));
	}
	return 0;
}

static json_t *target_entry(const struct module *m, const struct ar_target_opts *o,
			    const char *when)
{
	json_t *e = json_pack("{s:I s:{s:s} s:{s:s s:s s:s s:o s:o s:s}}", "length",
			      (json_int_t)m->len, "hashes", "sha256", m->sha, "custom", "kernel",
			      o->kernel, "vermagic", m->mi.vermagic, "livepatch", m->mi.name,
			      "cves", string_array(o->cves, o->n_cves), "patches_sha256",
			      string_array(o->patch_sha256, o->n_patches), "added", when);

	if (e && o->approved_by)
		json_object_set_new(json_object_get(e, "custom"), "approved_by",
				    json_string(o->approved_by));
	return e;
}

int ar_add(const char *dir, const char *const *kos, size_t n, const struct ar_target_opts *o,
	   time_t now, json_t **ret_targets)
{
	_cleanup_ar_repo_ struct ar_repo *repo = NULL;
	_cleanup_free_ char *blob_dir = NULL;
	struct module *m = NULL;
	char when[21];
	json_t *role = NULL, *targets = NULL, *added = NULL;
	bool new_release = false;
	int r;

	if (n == 0 || n > 4096)
		return log_error_errno(-EINVAL, "give 1 to 4096 modules");
	r = check_opts(o);
	if (r < 0)
		return r;
	m = calloc(n, sizeof(*m));
	if (!m)
		return -ENOMEM;
	r = modules_read(kos, n, o, m);
	if (r < 0)
		goto out;
	r = ar_repo_open(dir, true, now, &repo);
	if (r < 0)
		goto out;
	ar_time_format(now, when);

	r = ar_role_load(repo, o->kernel, NULL, &role);
	if (r == -ENOENT) {
		role = new_kernel_role();
		r = role ? 0 : -ENOMEM;
	}
	if (r < 0)
		goto out;
	/* Delegated unless it is: also mends a role staged by an add that died before its
	 * delegation was. */
	r = ar_role_load(repo, "targets", NULL, &targets);
	if (r < 0)
		goto out;
	if (!delegated(targets, o->kernel)) {
		new_release = true;
		r = delegate_release(targets, o->kernel);
		if (r < 0)
			goto out;
	}
	added = json_array();
	blob_dir = strdup_printf("%s/targets/%s", repo->stage, o->kernel);
	if (!added || !blob_dir) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = strdup_printf("%s/%s", o->kernel, m[i].base);
		json_t *entry = target_entry(&m[i], o, when), *old;

		if (!path || !entry) {
			json_decref(entry);
			r = -ENOMEM;
			goto out;
		}
		/* A replaced target's staged blob would be published for nothing. */
		old = json_object_get(json_object_get(role, "targets"), path);
		if (old) {
			const char *osha = json_string_value(
				json_object_get(json_object_get(old, "hashes"), "sha256"));
			_cleanup_free_ char *ob =
				osha ? staged_blob(repo, o->kernel, osha, m[i].base) : NULL;

			if (ob && !streq(osha, m[i].sha))
				unlink(ob);
		}
		json_object_set_new(json_object_get(role, "targets"), path, entry);
		json_array_append_new(added, json_string(path));
	}

	r = mkdir_p(blob_dir, 0755);
	if (r < 0) {
		log_error_errno(r, "cannot create '%s': %s", blob_dir, strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *blob = staged_blob(repo, o->kernel, m[i].sha, m[i].base);

		r = blob ? write_file_atomic(blob, m[i].buf, m[i].len, 0644) : -ENOMEM;
		if (r < 0) {
			log_error_errno(r, "cannot write '%s': %s", blob ? blob : blob_dir,
					strerror(-r));
			goto out;
		}
	}
	/* The role before the delegation: a crash between leaves a role that the next add
	 * delegates; the other way round, a delegation to nothing signed. */
	r = ar_role_stage(repo, o->kernel, role);
	if (r >= 0 && new_release)
		r = ar_role_stage(repo, "targets", targets);
	if (r < 0)
		goto out;
	log_info("staged %zu module%s for %s%s: run 'tuxtape archive publish' to publish", n,
		 n == 1 ? "" : "s", o->kernel, new_release ? " (a new kernel)" : "");
	if (ret_targets)
		*ret_targets = TAKE_PTR(added);
out:
	modules_free(m, n);
	json_decref(added);
	json_decref(role);
	json_decref(targets);
	return r;
}

int ar_remove(const char *dir, const char *target)
{
	_cleanup_ar_repo_ struct ar_repo *repo = NULL;
	_cleanup_free_ char *release = NULL;
	const char *slash = strchr(target, '/');
	json_t *role = NULL, *entry;
	int r;

	if (!slash || slash == target || strchr(slash + 1, '/') || !file_name_valid(slash + 1))
		return log_error_errno(-EINVAL, "'%s' is not a target path (RELEASE/NAME.ko)",
				       target);
	release = strndup(target, (size_t)(slash - target));
	if (!release)
		return -ENOMEM;
	if (!ar_release_valid(release))
		return log_error_errno(-EINVAL, "'%s': '%s' is not a kernel release", target,
				       release);
	r = ar_repo_open(dir, true, 0, &repo);
	if (r < 0)
		return r;
	r = ar_role_load(repo, release, NULL, &role);
	if (r == -ENOENT)
		return log_error_errno(-ENOENT, "no kernel '%s' in the archive '%s'", release, dir);
	if (r < 0)
		return r;
	entry = json_object_get(json_object_get(role, "targets"), target);
	if (!entry) {
		json_decref(role);
		return log_error_errno(-ENOENT, "no target '%s' in kernel '%s'", target, release);
	}
	{
		const char *sha = json_string_value(
			json_object_get(json_object_get(entry, "hashes"), "sha256"));
		_cleanup_free_ char *blob = sha ? staged_blob(repo, release, sha, slash + 1) : NULL;

		if (blob)
			unlink(blob); /* staged but never published: nothing refers to it */
	}
	json_object_del(json_object_get(role, "targets"), target);
	r = ar_role_stage(repo, release, role);
	json_decref(role);
	if (r >= 0)
		log_info("staged the removal of '%s': run 'tuxtape archive publish'", target);
	return r;
}

/* ---- publish, timestamp ---- */

static int check_root(struct ar_repo *repo)
{
	time_t t = 0;
	char when[21];

	if (ar_body_expires(repo->root, &t) < 0)
		return log_error_errno(-EBADMSG, "'%s/%u.root.json': no valid \"expires\"",
				       repo->meta, repo->root_version);
	if (t <= repo->now) {
		ar_time_format(t, when);
		return log_error_errno(-EKEYEXPIRED,
				       "root ('%s/%u.root.json') expired at %s: "
				       "renew it with 'tuxtape archive rotate-key "
				       "--role root' and the root keys",
				       repo->meta, repo->root_version, when);
	}
	/* Root is signed offline: say so while there is time to fetch the keys. */
	if (t - repo->now < 30 * 86400) {
		ar_time_format(t, when);
		log_warn("root expires at %s: renew it with 'tuxtape archive rotate-key --role "
			 "root' and the root keys",
			 when);
	}
	return 0;
}

/* Adds to ROLES (unless there) each online-signed role past half its lifetime. */
static int add_renewals(struct ar_repo *repo, json_t *roles)
{
	const char *name;
	json_t *exp;
	int r;

	r = ar_repo_load_expiries(repo);
	if (r < 0)
		return r;
	json_object_foreach(repo->expiries, name, exp)
	{
		enum ar_role_kind k = ar_role_kind(name);
		time_t t;
		json_t *body;

		if (json_object_get(roles, name))
			continue;
		if (ar_time_parse(json_string_value(exp), &t) == 0 &&
		    t - repo->now > (time_t)repo->expires_days[k] * 86400 / 2)
			continue;
		r = ar_role_load(repo, name, NULL, &body);
		if (r < 0)
			return r;
		log_info("renewing '%s' (expires %s)", name, json_string_value(exp));
		json_object_set_new(roles, name, body);
	}
	return 0;
}

static int staged_plan(struct ar_repo *repo, json_t *roles)
{
	_cleanup_(json_decrefp) json_t *names = NULL;
	json_t *n;
	size_t i;
	int r;

	r = ar_staged_roles(repo, &names);
	if (r < 0)
		return r;
	json_array_foreach(names, i, n)
	{
		json_t *body;

		r = ar_role_load(repo, json_string_value(n), NULL, &body);
		if (r < 0)
			return r;
		json_object_set_new(roles, json_string_value(n), body);
	}
	return 0;
}

int ar_publish(const char *dir, time_t now)
{
	_cleanup_ar_repo_ struct ar_repo *repo = NULL;
	struct ar_plan plan = {.clear_staging = true};
	int r;

	r = ar_repo_open(dir, true, now, &repo);
	if (r < 0)
		return r;
	r = check_root(repo);
	if (r < 0)
		return r;
	plan.roles = json_object();
	if (!plan.roles)
		return -ENOMEM;
	r = staged_plan(repo, plan.roles);
	if (r >= 0)
		r = add_renewals(repo, plan.roles);
	if (r >= 0)
		r = ar_repo_commit(repo, &plan);
	if (r >= 0)
		log_info("published snapshot %u (%zu role%s signed)",
			 ar_role_version(repo, "snapshot"), json_object_size(plan.roles),
			 json_object_size(plan.roles) == 1 ? "" : "s");
	json_decref(plan.roles);
	return r;
}

int ar_timestamp(const char *dir, time_t now)
{
	_cleanup_ar_repo_ struct ar_repo *repo = NULL;
	char when[21];
	time_t t = 0, ts_end;
	const char *name;
	json_t *exp;
	int r;

	r = ar_repo_open(dir, true, now, &repo);
	if (r < 0)
		return r;
	r = check_root(repo);
	if (r < 0)
		return r;
	if (ar_body_expires(repo->snapshot, &t) < 0 || t <= now) {
		ar_time_format(t, when);
		return log_error_errno(-EKEYEXPIRED,
				       "snapshot ('%s/%u.snapshot.json') expired at "
				       "%s: run 'tuxtape archive publish'",
				       repo->meta, ar_role_version(repo, "snapshot"), when);
	}
	ts_end = now + (time_t)repo->expires_days[AR_TIMESTAMP] * 86400;
	if (t < ts_end) {
		ar_time_format(t, when);
		log_warn("snapshot expires at %s, before this timestamp: run 'tuxtape archive "
			 "publish'",
			 when);
	}
	if (ar_repo_load_expiries(repo) >= 0)
		json_object_foreach(repo->expiries, name,
				    exp) if (ar_time_parse(json_string_value(exp), &t) == 0 &&
					     t < ts_end)
			log_warn("'%s' expires at %s, before this timestamp: run 'tuxtape "
				 "archive publish'",
				 name, json_string_value(exp));
	return ar_repo_write_timestamp(repo);
}

/* ---- rotate-key ---- */

/* Replaces OLD_IDS by NEW_IDS in ROOT: the role entry's keyids, and keys no role uses. */
static int root_swap_keys(json_t *root, const char *role, json_t *old_ids, json_t *new_keys)
{
	json_t *roles = json_object_get(root, "roles"), *keys = json_object_get(root, "keys");
	json_t *entry = json_object_get(roles, role), *ids = json_array(), *k, *id;
	const char *kid, *rn;
	size_t i;

	if (!entry || !ids)
		return json_decref(ids), -EBADMSG;
	json_object_foreach(new_keys, kid, k)
	{
		json_object_set(keys, kid, k);
		json_array_append_new(ids, json_string(kid));
	}
	json_object_set_new(entry, "keyids", ids);
	json_array_foreach(old_ids, i, id)
	{
		bool used = false;
		json_t *e, *x;
		size_t j;

		json_object_foreach(roles, rn, e) json_array_foreach(
			json_object_get(e, "keyids"), j, x) if (json_equal(x, id)) used = true;
		if (!used)
			json_object_del(keys, json_string_value(id));
	}
	return 0;
}

static int rotate_kernels(struct ar_repo *repo, struct ar_plan *plan, struct tuf_signer *nk,
			  json_t **ret_old)
{
	json_t *targets, *d, *e, *dkeys;
	size_t i;
	int r;

	r = ar_role_load(repo, "targets", NULL, &targets);
	if (r < 0)
		return r;
	d = json_object_get(targets, "delegations");
	dkeys = json_object();
	if (!dkeys)
		return json_decref(targets), -ENOMEM;
	*ret_old = json_array();
	{
		const char *kid;
		json_t *k;

		json_object_foreach(json_object_get(d, "keys"), kid, k)
			json_array_append_new(*ret_old, json_string(kid));
	}
	json_object_set_new(dkeys, nk->id, tuf_signer_public_json(nk));
	json_object_set_new(d, "keys", dkeys);
	json_object_set_new(plan->roles, "targets", targets);
	json_array_foreach(json_object_get(d, "roles"), i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));
		json_t *body;

		json_object_set_new(e, "keyids", json_pack("[s]", nk->id));
		json_object_set_new(e, "threshold", json_integer(1));
		if (!name)
			continue;
		r = ar_role_load(repo, name, NULL, &body);
		if (r == -ENOENT)
			body = new_kernel_role(), r = body ? 0 : -ENOMEM;
		if (r < 0)
			return r;
		json_object_set_new(plan->roles, name, body);
	}
	return 0;
}

int ar_rotate_key(const char *dir, const char *role, const char *root_key_dir, time_t now)
{
	_cleanup_ar_repo_ struct ar_repo *repo = NULL;
	_cleanup_free_ struct tuf_signer **old_root = NULL;
	_cleanup_free_ struct tuf_signer **signers = NULL;
	_cleanup_free_ char *rootdir_own = NULL;
	struct tuf_signer fresh[16];
	struct ar_plan plan = {.clear_staging = true};
	json_t *old_ids = NULL, *new_keys = NULL, *rootentry;
	const char *rootdir, *keyrole = role;
	unsigned nnew = 1, made = 0, old_threshold;
	size_t n_old = 0;
	int r;

	if (!streq(role, "root") && !streq(role, "targets") && !streq(role, "snapshot") &&
	    !streq(role, "timestamp") && !streq(role, AR_ROLE_KERNELS))
		return log_error_errno(-EINVAL,
				       "--role '%s': one of root, targets, snapshot, "
				       "timestamp, kernels",
				       role);
	r = ar_repo_open(dir, true, now, &repo);
	if (r < 0)
		return r;
	rootdir = root_key_dir ? root_key_dir : repo->keys;
	plan.roles = json_object();
	new_keys = json_object();
	if (!plan.roles || !new_keys) {
		r = -ENOMEM;
		goto out;
	}
	/* Whatever is staged goes out with the rotation, as a publish would. */
	r = staged_plan(repo, plan.roles);
	if (r < 0)
		goto out;

	rootentry = json_object_get(json_object_get(repo->root, "roles"), "root");
	old_threshold = (unsigned)json_integer_value(json_object_get(rootentry, "threshold"));
	if (!streq(role, AR_ROLE_KERNELS)) {
		/* Every other rotation changes root: the current root keys must sign it. */
		r = ar_repo_signers(repo, rootdir, "root", json_object_get(rootentry, "keyids"),
				    old_threshold, &old_root, &n_old);
		if (r < 0)
			goto out;
	}
	if (streq(role, "root"))
		nnew = (unsigned)json_array_size(json_object_get(rootentry, "keyids"));
	for (made = 0; made < nnew && made < ARRAY_SIZE(fresh); made++) {
		r = ar_key_create(streq(role, "root") ? rootdir : repo->keys, keyrole,
				  &fresh[made]);
		if (r < 0)
			goto out;
		json_object_set_new(new_keys, fresh[made].id, tuf_signer_public_json(&fresh[made]));
	}

	if (streq(role, AR_ROLE_KERNELS)) {
		r = rotate_kernels(repo, &plan, &fresh[0], &old_ids);
		if (r < 0)
			goto out;
		/* The new kernels key signs the roles: it is loaded from where it was saved. */
	} else {
		json_t *entry;

		plan.new_root = json_deep_copy(repo->root);
		entry = json_object_get(json_object_get(plan.new_root, "roles"), role);
		old_ids = json_deep_copy(json_object_get(entry, "keyids"));
		if (!plan.new_root || !old_ids) {
			r = -ENOMEM;
			goto out;
		}
		r = root_swap_keys(plan.new_root, role, old_ids, new_keys);
		if (r < 0)
			goto out;
		if (streq(role, "targets") && !json_object_get(plan.roles, "targets")) {
			json_t *body;

			r = ar_role_load(repo, "targets", NULL, &body);
			if (r < 0)
				goto out;
			json_object_set_new(plan.roles, "targets", body);
		}
		/* Signed by the old root keys and, for a root rotation, the new ones too. */
		signers = calloc(n_old + made, sizeof(*signers));
		if (!signers) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n_old; i++)
			signers[i] = old_root[i];
		if (streq(role, "root"))
			for (unsigned i = 0; i < made; i++)
				signers[n_old + i] = &fresh[i];
		plan.root_signers = signers;
		plan.n_root_signers = n_old + (streq(role, "root") ? made : 0);
	}
	r = ar_repo_load_expiries(repo);
	if (r >= 0)
		r = ar_repo_commit(repo, &plan);
	if (r < 0)
		goto out;
	/* Published: the replaced keys sign nothing any more. */
	{
		json_t *id;
		size_t i;

		json_array_foreach(old_ids, i, id) ar_key_retire(
			streq(role, "root") ? rootdir : repo->keys, keyrole, json_string_value(id));
	}
	log_info("rotated the %s key%s; root is at version %u", role, nnew == 1 ? "" : "s",
		 repo->root_version);
out:
	if (r < 0 && made > 0) {
		/* Nothing refers to the new keys: take them back. */
		for (unsigned i = 0; i < made; i++) {
			_cleanup_free_ char *p = strdup_printf(
				"%s/%s.%s.key", streq(role, "root") ? rootdir : repo->keys, keyrole,
				fresh[i].id);

			if (p)
				unlink(p);
		}
	}
	while (made > 0)
		tuf_signer_release(&fresh[--made]);
	json_decref(plan.roles);
	json_decref(plan.new_root);
	json_decref(old_ids);
	json_decref(new_keys);
	return r;
}

/* ---- status ---- */

static json_t *role_status(const char *name, json_t *body, unsigned version, time_t now)
{
	time_t t = 0;
	bool ok = ar_body_expires(body, &t) == 0;

	/* metadata_version: "version" is a kernel's or a CVSS version, a string, elsewhere */
	return json_pack("{s:s s:I s:s? s:b}", "role", name, "metadata_version",
			 (json_int_t)version, "expires",
			 json_string_value(json_object_get(body, "expires")), "expired", !ok || t <= now);
}

int ar_status(const char *dir, time_t now, json_t **ret)
{
	_cleanup_ar_repo_ struct ar_repo *repo = NULL;
	json_t *out = NULL, *roles, *kernels, *staged = NULL, *targets = NULL, *e, *rs;
	const char *name;
	size_t i;
	int r;

	r = ar_repo_open(dir, false, now, &repo);
	if (r < 0)
		return r;
	r = ar_staged_roles(repo, &staged);
	if (r < 0)
		return r;
	/* What is published: a staged targets is listed under "staged" only. */
	{
		_cleanup_free_ char *f =
			strdup_printf("%u.targets.json", ar_role_version(repo, "targets"));

		r = f ? ar_meta_read(repo, f, &targets) : -ENOMEM;
		if (r < 0) {
			json_decref(staged);
			return r;
		}
	}
	roles = json_array();
	kernels = json_array();
	out = json_pack("{s:s s:s s:o s:o s:o}", "archive", dir, "public", repo->meta, "roles",
			roles, "kernels", kernels, "staged", staged);
	if (!out || !roles || !kernels) {
		r = -ENOMEM;
		goto out;
	}
	e = role_status("root", repo->root, repo->root_version, now);
	/* Named apart from the metadata's own keys where those mean something else in tuxtape's
	 * JSON (check's "threshold" is an object, cve sync's "added" a count). */
	json_object_set_new(e, "signature_threshold",
			    json_incref(json_object_get(
				    json_object_get(json_object_get(repo->root, "roles"), "root"),
				    "threshold")));
	json_array_append_new(roles, e);
	json_array_append_new(
		roles, role_status("targets", targets, ar_role_version(repo, "targets"), now));
	json_array_append_new(roles, role_status("snapshot", repo->snapshot,
						 ar_role_version(repo, "snapshot"), now));
	json_array_append_new(roles, role_status("timestamp", repo->timestamp,
						 ar_role_version(repo, "timestamp"), now));
	json_object_foreach(json_object_get(repo->root, "roles"), name, rs) json_array_foreach(
		roles, i, e) if (streq(json_string_value(json_object_get(e, "role")), name))
		json_object_set(e, "keyids", json_object_get(rs, "keyids"));

	json_array_foreach(json_object_get(json_object_get(targets, "delegations"), "roles"), i, e)
	{
		const char *rel = json_string_value(json_object_get(e, "name"));
		unsigned v = rel ? ar_role_version(repo, rel) : 0;
		_cleanup_free_ char *f = NULL;
		json_t *body = NULL, *k, *list, *t;
		const char *path;

		if (!rel || v == 0)
			continue; /* delegated, not yet published */
		f = strdup_printf("%u.%s.json", v, rel);
		r = f ? ar_meta_read(repo, f, &body) : -ENOMEM;
		if (r < 0)
			goto out;
		k = role_status(rel, body, v, now);
		list = json_array();
		json_object_foreach(json_object_get(body, "targets"), path, t)
		{
			json_t *c = json_object_get(t, "custom");

			json_array_append_new(
				list,
				json_pack("{s:s s:O? s:O? s:O? s:O? s:O? s:O? s:O?}", "target",
					  path, "length", json_object_get(t, "length"), "sha256",
					  json_object_get(json_object_get(t, "hashes"), "sha256"),
					  "livepatch", json_object_get(c, "livepatch"), "vermagic",
					  json_object_get(c, "vermagic"), "cves",
					  json_object_get(c, "cves"), "approved_by",
					  json_object_get(c, "approved_by"), "added_at",
					  json_object_get(c, "added")));
		}
		json_object_set_new(k, "targets", list);
		json_object_del(k, "role");
		json_object_set_new(k, "kernel", json_string(rel));
		json_array_append_new(kernels, k);
		json_decref(body);
	}
	*ret = TAKE_PTR(out);
	r = 0;
out:
	json_decref(out);
	json_decref(targets);
	return r;
}
