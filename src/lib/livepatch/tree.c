/*
 * Prepared kernel trees in the cache and per-patch compiles of the changed translation units.
 * See tree.h for the contract; the comments here say why things are done the way they are.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "filehash.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "paths.h"
#include "patchset.h"
#include "spawn.h"
#include "strbuf.h"
#include "tree.h"
#include "tree-internal.h"
#include "pristine.h"
#include "kernel/kconfig.h"
#include "banned.h"

/* Bump when the layout or the preparation of cached trees changes. */
#define TREE_FORMAT "tuxtape-tree-3"
#define CONFIG_MAX_SIZE (16u << 20)
#define SOURCE_FILE_MAX (8u << 20) /* larger sources are not scanned for #include */
#define KCFLAGS "KCFLAGS=-ffunction-sections -fdata-sections"

double lp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void lp_tree_free(struct lp_tree *t)
{
	if (!t)
		return;
	free(t->path);
	free(t->key);
	free(t->release);
	free(t->cc);
	free(t->log);
	free(t->compile_env);
	free(t->wide_dir);
	free(t->wide_make_var);
	free(t);
}

/* ---- small file helpers ---- */

static bool ends_with_str(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && streq(s + a - b, suffix);
}

bool lp_path_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* Copies SRC to DST (through DST.tmp and rename), keeping SRC's mode and times. */
int lp_copy_file(const char *src, const char *dst)
{
	_cleanup_close_ int in = -1, out = -1;
	_cleanup_free_ char *tmp = NULL;
	struct timespec times[2];
	struct stat st;
	char buf[65536];
	ssize_t n;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0)
		return negative_errno();
	tmp = strdup_printf("%s.tt-tmp", dst);
	if (!tmp)
		return -ENOMEM;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
	if (out < 0)
		return negative_errno();
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0) {
				if (errno == EINTR)
					continue;
				goto fail;
			}
			off += w;
		}
	}
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	if (futimens(out, times) < 0)
		goto fail;
	if (rename(tmp, dst) < 0)
		goto fail;
	return 0;
fail:;
	int r = negative_errno();

	unlink(tmp);
	return r;
}

/* Copies SRC to DIR/REL, creating DIR/REL's directories. */
int lp_copy_into(const char *src, const char *dir, const char *rel)
{
	_cleanup_free_ char *dst = path_join(dir, rel);
	char *slash;
	int r;

	if (!dst)
		return -ENOMEM;
	slash = strrchr(dst, '/');
	*slash = '\0';
	r = mkdir_p(dst, 0755);
	*slash = '/';
	if (r < 0)
		return r;
	return lp_copy_file(src, dst);
}

/* ---- the cache key ---- */

static int hash_dir(crypto_hash_sha256_state *h, const char *dir)
{
	char *const roots[] = {(char *)dir, NULL};
	FTS *fts;
	FTSENT *e;
	int r = 0;

	fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	if (!fts)
		return negative_errno();
	while ((e = fts_read(fts))) {
		if (e->fts_info == FTS_D && e->fts_level > 0 && streq(e->fts_name, ".git")) {
			fts_set(fts, e, FTS_SKIP);
			continue;
		}
		if (e->fts_info == FTS_F || e->fts_info == FTS_SL) {
			char meta[96];
			int n = snprintf(meta, sizeof(meta), "\n%lld %lld.%09ld\n",
					 (long long)e->fts_statp->st_size,
					 (long long)e->fts_statp->st_mtim.tv_sec,
					 e->fts_statp->st_mtim.tv_nsec);

			crypto_hash_sha256_update(h, (const unsigned char *)e->fts_path,
						  strlen(e->fts_path));
			crypto_hash_sha256_update(h, (const unsigned char *)meta, (size_t)n);
		} else if (e->fts_info == FTS_ERR || e->fts_info == FTS_DNR) {
			r = -e->fts_errno;
			break;
		}
	}
	fts_close(fts);
	return r;
}

static void hash_str(crypto_hash_sha256_state *h, const char *label, const char *s)
{
	crypto_hash_sha256_update(h, (const unsigned char *)label, strlen(label) + 1);
	crypto_hash_sha256_update(h, (const unsigned char *)strempty(s), strlen(strempty(s)) + 1);
}

/* ---- facts about the target ---- */

/*
 * The compiler the config was made with: CONFIG_CC_VERSION_TEXT starts with its command name
 * ("gcc-12 (Debian ...)"). Using the same one keeps the config stable through olddefconfig.
 */
static char *config_cc(const char *config_text)
{
	const char *p = strstr(config_text, "\nCONFIG_CC_VERSION_TEXT=\"");
	_cleanup_free_ char *name = NULL, *probe = NULL;
	size_t n;

	if (!p)
		return strdup("gcc");
	p += strlen("\nCONFIG_CC_VERSION_TEXT=\"");
	n = strcspn(p, " \"\n");
	if (n == 0 || n > 64)
		return strdup("gcc");
	name = strndup(p, n);
	if (!name)
		return NULL;
	for (char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("-_.+", *c))
			return strdup("gcc");
	/* Only if it is installed: a config from another distribution must still work. */
	probe = strdup_printf("command -v %s >/dev/null", name);
	if (probe) {
		const char *argv[] = {"sh", "-c", probe, NULL};

		if (lp_spawn(argv, NULL, NULL, NULL, NULL) == 0)
			return TAKE_PTR(name);
	}
	return strdup("gcc");
}

/* The target's KERNELRELEASE, from KBUILD/include/generated/utsrelease.h. */
static int kbuild_release(const char *kbuild, char **ret)
{
	_cleanup_free_ char *path = path_join(kbuild, "include/generated/utsrelease.h");
	_cleanup_free_ char *buf = NULL;
	const char *p;
	size_t n;
	int r;

	if (!path)
		return -ENOMEM;
	r = read_file_capped(path, 4096, &buf, NULL);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
	p = strstr(buf, "UTS_RELEASE \"");
	if (!p)
		return log_error_errno(-EBADMSG, "'%s' has no UTS_RELEASE", path);
	p += strlen("UTS_RELEASE \"");
	n = strcspn(p, "\"\n");
	if (n == 0 || n > 64)
		return log_error_errno(-EBADMSG, "'%s': odd UTS_RELEASE", path);
	*ret = strndup(p, n);
	return *ret ? 0 : -ENOMEM;
}

/*
 * What to tell the user about a tool that failed: the end of its log or, when the log is empty
 * (a full disk cannot even hold the error message), that and the free space where it worked.
 */
char *lp_failure_output(const char *log, const char *dir)
{
	char *tail = lp_log_tail(log, 25);
	struct statvfs sv;

	if (tail && *tail)
		return tail;
	free(tail);
	if (statvfs(dir, &sv) == 0)
		return strdup_printf("(the tool printed nothing to '%s'; %llu MiB free in '%s')",
				     log, (unsigned long long)sv.f_bavail * sv.f_frsize >> 20, dir);
	return strdup_printf("(the tool printed nothing to '%s')", log);
}

/* ---- running make in the tree ---- */

int lp_tree_make(struct lp_tree *t, const char *const *targets, bool parallel, const char *log)
{
	return lp_tree_make_watch(t, targets, parallel, log, NULL, NULL);
}

int lp_tree_make_watch(struct lp_tree *t, const char *const *targets, bool parallel,
		       const char *log, void (*tick)(void *userdata), void *userdata)
{
	const char *argv[64];
	_cleanup_free_ char *cc = strdup_printf("CC=%s", t->cc);
	_cleanup_free_ char *rel =
		t->release ? strdup_printf("KERNELRELEASE=%s", t->release) : NULL;
	_cleanup_free_ char *jobs = strdup_printf("-j%u", parallel ? t->jobs : 1);
	size_t n = 0;
	int r;

	if (!cc || !jobs || (t->release && !rel))
		return -ENOMEM;
	argv[n++] = "make";
	argv[n++] = "-C";
	argv[n++] = t->path;
	argv[n++] = jobs;
	argv[n++] = cc;
	if (rel)
		argv[n++] = rel;
	argv[n++] = KCFLAGS;
	if (t->wide_make_var)
		argv[n++] = t->wide_make_var;
	for (size_t i = 0; targets[i]; i++) {
		if (n >= ARRAY_SIZE(argv) - 1)
			return -E2BIG;
		argv[n++] = targets[i];
	}
	argv[n] = NULL;
	if (!log)
		log = t->log;
	{
		const char *env[] = {t->compile_env, NULL};

		r = lp_spawn_watch(argv, NULL, t->compile_env ? env : NULL, log, NULL, tick,
				   userdata);
	}
	if (r == -ENOEXEC) {
		_cleanup_free_ char *why = lp_failure_output(log, t->path);

		log_error("make %s failed in '%s' (log: %s):\n%s", targets[0], t->path, log,
			  strempty(why));
	}
	return r;
}

/* ---- preparing ---- */

/* Extracts TARBALL into DIR/linux: the tarball's single top directory becomes "linux". */
static int extract_tarball(const char *tarball, const char *dir, const char *log)
{
	_cleanup_free_ char *x = path_join(dir, "x"), *linux = path_join(dir, "linux");
	_cleanup_free_ char *top = NULL;
	const char *argv[] = {"tar", "-xf", tarball, "-C", x, "--no-same-owner", "--wildcards",
			      /*
			       * Never needed to prepare or compile; Documentation/Kconfig is. Other
			       * architectures stay: Kconfig files source some of their files.
			       */
			      "--exclude=*/Documentation/[!K]*", "--exclude=*/tools/testing", NULL};
	DIR *d;
	struct dirent *de;
	int r, nentries = 0;

	if (!x || !linux)
		return -ENOMEM;
	r = mkdir_p(x, 0755);
	if (r < 0)
		return r;
	r = lp_spawn(argv, NULL, NULL, log, NULL);
	if (r < 0) {
		_cleanup_free_ char *why = lp_failure_output(log, dir);

		return log_error_errno(r == -ENOEXEC ? -EBADMSG : r, "cannot extract '%s':\n%s",
				       tarball, strempty(why));
	}
	d = opendir(x);
	if (!d)
		return negative_errno();
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		nentries++;
		free(top);
		top = strdup(de->d_name);
	}
	closedir(d);
	if (nentries == 1 && top) {
		_cleanup_free_ char *inner = path_join(x, top);

		if (!inner)
			return -ENOMEM;
		if (rename(inner, linux) < 0)
			return negative_errno();
		rmdir(x);
	} else if (rename(x, linux) < 0) {
		return negative_errno();
	}
	return 0;
}

static int copy_source_dir(const char *src, const char *dir, const char *log)
{
	_cleanup_free_ char *linux = path_join(dir, "linux");
	const char *argv[] = {
		"sh", "-c", "tar -C \"$1\" --exclude=./.git -cf - . | tar -C \"$2\" -xf -",
		"sh", src,  linux,
		NULL};
	int r;

	if (!linux)
		return -ENOMEM;
	r = mkdir_p(linux, 0755);
	if (r < 0)
		return r;
	r = lp_spawn(argv, NULL, NULL, log, NULL);
	if (r < 0)
		return log_error_errno(r == -ENOEXEC ? -EIO : r, "cannot copy '%s' (log: %s)", src,
				       log);
	return 0;
}

static int tree_key(const struct lp_tree_opts *o, const char *trees, const char *config_text,
		    const char *release, const char *cc, char **ret)
{
	crypto_hash_sha256_state h;
	unsigned char digest[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];
	int r;

	crypto_hash_sha256_init(&h);
	hash_str(&h, "format", TREE_FORMAT);
	hash_str(&h, "config", config_text);
	hash_str(&h, "release", release);
	hash_str(&h, "cc", cc);
	if (o->source_tarball) {
		char sum[crypto_hash_sha256_BYTES * 2 + 1];

		r = tt_file_sha256_memo(o->source_tarball, trees, sum);
		if (r < 0)
			return log_error_errno(r, "cannot read '%s': %s", o->source_tarball,
					       strerror(-r));
		hash_str(&h, "tarball", sum);
	} else {
		char real[PATH_MAX];

		if (!realpath(o->source_dir, real))
			return log_error_errno(negative_errno(), "cannot use source '%s': %m",
					       o->source_dir);
		hash_str(&h, "dir", real);
		r = hash_dir(&h, real);
		if (r < 0)
			return log_error_errno(r, "cannot scan '%s': %s", real, strerror(-r));
	}
	crypto_hash_sha256_final(&h, digest);
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	hex[32] = '\0'; /* 128 bits name a cache entry well enough */
	*ret = strdup(hex);
	return *ret ? 0 : -ENOMEM;
}

/*
 * Options whose difference between the prepared and the target config never changes code:
 * the build-ID salt and the path of the module signing key.
 */
static const char *const config_harmless[] = {"CONFIG_BUILD_SALT", "CONFIG_MODULE_SIG_KEY"};

static bool config_ignored(const char *name, const char *const *accept)
{
	for (size_t i = 0; i < ARRAY_SIZE(config_harmless); i++)
		if (streq(name, config_harmless[i]))
			return true;
	for (; accept && *accept; accept++)
		if (streq(name, *accept) ||
		    (startswith(name, "CONFIG_") && streq(name + strlen("CONFIG_"), *accept)))
			return true;
	return false;
}

static int config_note(struct strbuf *sb, size_t *n, const char *name, const char *ours,
		       const char *theirs)
{
	if (++*n > 20)
		return 0;
	return strbuf_addf(sb, "\n  %s: %s here, %s in the target", name, ours ? ours : "unset",
			   theirs ? theirs : "unset");
}

static int config_refuse(const struct lp_tree_opts *o, const char *theirs_path, const char *when,
			 size_t ndiff, const struct strbuf *sb)
{
	return log_error_errno(-EPROTO,
			       "the config '%s' is not the target's: %s%zu option%s differ%s from "
			       "'%s':%s%s\n"
			       "Use the target's own config (e.g. /boot/config-RELEASE); an option "
			       "known to be harmless can be accepted with --accept-config NAME",
			       o->config, when, ndiff, ndiff == 1 ? "" : "s", ndiff == 1 ? "s" : "",
			       theirs_path, strbuf_str(sb), ndiff > 20 ? "\n  ..." : "");
}

/* The options a config text sets, or says "is not set" of ("n"), sorted by name. */
struct cfg_line {
	char *name, *value;
};

static int cmp_cfg_line(const void *a, const void *b)
{
	return strcmp(((const struct cfg_line *)a)->name, ((const struct cfg_line *)b)->name);
}

static void cfg_lines_free(struct cfg_line *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

static int cfg_lines(const char *path, struct cfg_line **ret, size_t *ret_n)
{
	_cleanup_free_ char *buf = NULL;
	struct cfg_line *v = NULL;
	size_t n = 0, alloc = 0;
	int r;

	r = read_file_capped(path, CONFIG_MAX_SIZE, &buf, NULL);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
	for (char *line = buf, *next; line && *line; line = next) {
		char *name = NULL, *value = NULL, *eq;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (startswith(line, "CONFIG_") && (eq = strchr(line, '='))) {
			*eq = '\0';
			name = line;
			value = eq + 1;
		} else if (startswith(line, "# CONFIG_") && ends_with_str(line, " is not set")) {
			name = line + 2;
			name[strlen(name) - strlen(" is not set")] = '\0';
			value = (char *)"n";
		}
		if (!name)
			continue;
		if (n == alloc) {
			size_t na = alloc ? alloc * 2 : 8192;
			struct cfg_line *nv = reallocarray(v, na, sizeof(*nv));

			if (!nv) {
				cfg_lines_free(v, n);
				return -ENOMEM;
			}
			v = nv;
			alloc = na;
		}
		v[n].name = strdup(name);
		v[n].value = strdup(value);
		if (!v[n].name || !v[n].value) {
			cfg_lines_free(v, n + 1);
			return -ENOMEM;
		}
		n++;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_cfg_line);
	*ret = v;
	*ret_n = n;
	return 0;
}

/*
 * Before any work: options both configs state (set, or "is not set") with different values.
 * Such a config is not the target's, so this refuses in milliseconds what the exact check
 * after olddefconfig would refuse only after extracting the source.
 */
static int config_precheck(const struct lp_tree_opts *o)
{
	_cleanup_free_ char *theirs_path = path_join(o->kbuild, ".config");
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	struct cfg_line *a = NULL, *b = NULL;
	size_t na = 0, nb = 0, i = 0, j = 0, ndiff = 0;
	int r;

	if (!theirs_path)
		return -ENOMEM;
	if (access(theirs_path, R_OK) < 0)
		return log_error_errno(-EPROTO,
				       "cannot check the config against the target: '%s' is "
				       "missing (%m); the target's kbuild directory has it "
				       "(e.g. /lib/modules/RELEASE/build from linux-headers)",
				       theirs_path);
	r = cfg_lines(o->config, &a, &na);
	if (r >= 0)
		r = cfg_lines(theirs_path, &b, &nb);
	while (r >= 0 && i < na && j < nb) {
		int c = strcmp(a[i].name, b[j].name);

		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			if (!streq(a[i].value, b[j].value) &&
			    !config_ignored(a[i].name, o->config_accept))
				r = config_note(&sb, &ndiff, a[i].name, a[i].value, b[j].value);
			i++, j++;
		}
	}
	if (r >= 0 && ndiff > 0)
		r = config_refuse(o, theirs_path, "", ndiff, &sb);
	cfg_lines_free(a, na);
	cfg_lines_free(b, nb);
	return r < 0 ? r : 0;
}

/*
 * The prepared tree's .config after olddefconfig must be the target's own: an option that
 * differs can change a structure's layout, and a module built against another layout
 * corrupts memory on the real kernel.
 */
static int config_check(struct lp_tree *t, const struct lp_tree_opts *o)
{
	_cleanup_free_ char *ours_path = path_join(t->path, ".config");
	_cleanup_free_ char *theirs_path = path_join(o->kbuild, ".config");
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	struct kconfig *ours = NULL, *theirs = NULL;
	size_t i = 0, j = 0, nours, ntheirs, ndiff = 0;
	int r;

	if (!ours_path || !theirs_path)
		return -ENOMEM;
	r = kconfig_load(ours_path, &ours);
	if (r >= 0)
		r = kconfig_load(theirs_path, &theirs);
	if (r < 0)
		goto out;
	nours = kconfig_count(ours);
	ntheirs = kconfig_count(theirs);
	while (r >= 0 && (i < nours || j < ntheirs)) {
		const char *na = NULL, *va = NULL, *nb = NULL, *vb = NULL;
		int c;

		if (i < nours)
			kconfig_entry(ours, i, &na, &va);
		if (j < ntheirs)
			kconfig_entry(theirs, j, &nb, &vb);
		c = !na ? 1 : !nb ? -1 : strcmp(na, nb);
		if (c < 0) {
			if (!config_ignored(na, o->config_accept))
				r = config_note(&sb, &ndiff, na, va, NULL);
			i++;
		} else if (c > 0) {
			if (!config_ignored(nb, o->config_accept))
				r = config_note(&sb, &ndiff, nb, NULL, vb);
			j++;
		} else {
			if (!streq(va, vb) && !config_ignored(na, o->config_accept))
				r = config_note(&sb, &ndiff, na, va, vb);
			i++, j++;
		}
	}
	if (r >= 0 && ndiff > 0)
		r = config_refuse(o, theirs_path, "after olddefconfig ", ndiff, &sb);
out:
	kconfig_free(ours);
	kconfig_free(theirs);
	return r < 0 ? r : 0;
}

static int prepare_in(struct lp_tree *t, const struct lp_tree_opts *o, const char *work)
{
	_cleanup_free_ char *dot_config = NULL, *manifest = NULL;
	const char *cfg_targets[] = {"olddefconfig", NULL};
	const char *prep_targets[] = {"modules_prepare", NULL};
	int r;

	log_info("preparing kernel tree %s in '%s'", t->key, work);
	tt_progress(o->source_tarball ? "preparing the tree: extracting"
				      : "preparing the tree: copying",
		    0, 4);
	if (o->source_tarball)
		r = extract_tarball(o->source_tarball, work, t->log);
	else
		r = copy_source_dir(o->source_dir, work, t->log);
	if (r < 0)
		return r;
	/* The pristine source, before anything is generated in it: what every build checks. */
	log_info("hashing the pristine source");
	tt_progress("preparing the tree: hashing the source", 1, 4);
	manifest = path_join(work, "pristine.manifest");
	if (!manifest)
		return -ENOMEM;
	r = lp_manifest_write(t->path, manifest);
	if (r < 0)
		return r;
	dot_config = path_join(t->path, ".config");
	if (!dot_config)
		return -ENOMEM;
	r = lp_copy_file(o->config, dot_config);
	if (r < 0)
		return log_error_errno(r, "cannot copy '%s': %s", o->config, strerror(-r));
	tt_progress("preparing the tree: make olddefconfig", 2, 4);
	r = lp_tree_make(t, cfg_targets, false, NULL);
	if (r < 0)
		return r;
	/* Before the long modules_prepare: a config that is not the target's is refused. */
	if (o->kbuild) {
		r = config_check(t, o);
		if (r < 0)
			return r;
	}
	tt_progress("preparing the tree: make modules_prepare", 3, 4);
	r = lp_tree_make(t, prep_targets, true, NULL);
	if (r >= 0)
		tt_progress("preparing the tree: done", 4, 4);
	if (r < 0)
		return r;
	return 0;
}

/*
 * Left by runs that were killed: preparations that never published (KEY.TIME.PID directories
 * that the link does not name), temporary links, and a tree marked broken. Called with the
 * key's lock held, so no preparation of KEY is running.
 */
static void remove_stale(const char *trees, const char *key, const char *keep)
{
	size_t klen = strlen(key);
	DIR *d = opendir(trees);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		_cleanup_free_ char *p = NULL;

		if (strncmp(de->d_name, key, klen) != 0 || de->d_name[klen] != '.' ||
		    streq(de->d_name + klen, ".lock") || (keep && streq(de->d_name, keep)))
			continue;
		p = path_join(trees, de->d_name);
		if (!p)
			break;
		log_info("removing '%s', left by a run that did not finish", p);
		if (startswith(de->d_name + klen, ".link-"))
			unlink(p);
		else
			rm_rf(p);
	}
	closedir(d);
}

/*
 * A tree found not to match its pristine source is marked BROKEN and never built on again:
 * unpublish it (under its own lock, so no build is using it) so it is prepared anew.
 */
static int unpublish_broken(const char *link, const char *real)
{
	_cleanup_free_ char *mark = path_join(real, "BROKEN"), *lockpath = path_join(real, "lock");
	_cleanup_free_ char *why = NULL;
	_cleanup_close_ int lock = -1;

	if (!mark || !lockpath)
		return -ENOMEM;
	if (read_file_capped(mark, 4096, &why, NULL) < 0)
		return 0;
	log_warn("the cached kernel tree '%s' was found damaged (%s); preparing it again", real,
		 strempty(why));
	lock = open(lockpath, O_RDWR | O_CREAT, 0644);
	if (lock >= 0)
		(void)flock(lock, LOCK_EX);
	if (unlink(link) < 0 && errno != ENOENT)
		return log_error_errno(negative_errno(), "cannot remove '%s': %m", link);
	rm_rf(real);
	return 1;
}

int lp_tree_prepare(const struct lp_tree_opts *o, struct lp_tree **ret)
{
	_cleanup_(lp_tree_freep) struct lp_tree *t = NULL;
	_cleanup_free_ char *config_text = NULL, *cache = NULL, *trees = NULL, *link = NULL;
	_cleanup_free_ char *work = NULL, *work_name = NULL, *tmplink = NULL, *stamp = NULL;
	_cleanup_free_ char *lockpath = NULL;
	_cleanup_close_ int lock = -1;
	char real[PATH_MAX];
	double t0 = lp_now();
	long ncpu;
	int r;

	if (!o || !o->config || !!o->source_dir == !!o->source_tarball)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	t->jobs = o->jobs ? o->jobs : (unsigned)(ncpu > 0 ? ncpu : 1);

	r = read_file_capped(o->config, CONFIG_MAX_SIZE, &config_text, NULL);
	if (r < 0)
		return log_error_errno(r, "cannot read config '%s': %s", o->config, strerror(-r));
	if (!strstr(config_text, "CONFIG_"))
		return log_error_errno(-EBADMSG, "'%s' is not a kernel config", o->config);
	t->cc = config_cc(config_text);
	if (!t->cc)
		return -ENOMEM;
	if (o->kbuild) {
		r = kbuild_release(o->kbuild, &t->release);
		if (r < 0)
			return r;
		r = config_precheck(o);
		if (r < 0)
			return r;
	}
	if (o->cache_dir) {
		cache = strdup(o->cache_dir);
		r = cache ? 0 : -ENOMEM;
	} else {
		r = tt_path_cache_dir(&cache);
	}
	if (r < 0)
		return r;
	trees = path_join(cache, "trees");
	if (!trees)
		return -ENOMEM;
	r = mkdir_p(trees, 0755);
	if (r < 0)
		return log_error_errno(r, "cannot create '%s': %s", trees, strerror(-r));
	r = tree_key(o, trees, config_text, t->release, t->cc, &t->key);
	if (r < 0)
		return r;
	link = path_join(trees, t->key);
	if (!link)
		return -ENOMEM;

	/*
	 * trees/KEY is a symlink to the directory holding the finished tree. Preparing is
	 * serialised per key, so parallel runs wait for one preparation instead of each doing
	 * their own. The lock is inherited by the tools run (not close-on-exec): a killed run's
	 * tar or make still holds it until it exits, so the next run never works beside it.
	 */
	lockpath = strdup_printf("%s.lock", link);
	if (!lockpath)
		return -ENOMEM;
	lock = open(lockpath, O_RDWR | O_CREAT, 0644);
	if (lock < 0)
		return log_error_errno(negative_errno(), "cannot open '%s': %m", lockpath);
	if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
		log_info("waiting for another tuxtape preparing the same tree");
		if (flock(lock, LOCK_EX) < 0)
			return negative_errno();
	}
	if (realpath(link, real)) {
		r = unpublish_broken(link, real);
		if (r < 0)
			return r;
	}
	if (realpath(link, real)) {
		remove_stale(trees, t->key, strrchr(real, '/') + 1);
		t->path = path_join(real, "linux");
		t->log = path_join(real, "build.log");
		if (!t->path || !t->log)
			return -ENOMEM;
		t->cached = true;
		log_info("using prepared kernel tree '%s'", real);
		if (o->kbuild) {
			r = config_check(t, o);
			if (r < 0)
				return r;
		}
		t->prepare_seconds = lp_now() - t0;
		*ret = TAKE_PTR(t);
		return 0;
	}
	remove_stale(trees, t->key, NULL);
	/*
	 * Prepare in a directory that keeps its name forever: kbuild and the tools' makefiles
	 * record absolute paths, and a renamed tree rebuilds objtool and friends on next use.
	 */
	work_name = strdup_printf("%s.%ld.%d", t->key, (long)time(NULL), (int)getpid());
	work = work_name ? path_join(trees, work_name) : NULL;
	if (!work)
		return -ENOMEM;
	r = mkdir_p(work, 0755);
	if (r < 0)
		return r;
	t->path = path_join(work, "linux");
	t->log = path_join(work, "build.log");
	stamp = path_join(work, "tree.info");
	if (!t->path || !t->log || !stamp)
		return -ENOMEM;
	r = prepare_in(t, o, work);
	if (r < 0) {
		log_error("preparing the kernel tree failed; its log is '%s'", t->log);
		/* Keep the log for the user, drop the bulk. */
		_cleanup_free_ char *linux = path_join(work, "linux"), *x = path_join(work, "x");

		if (linux)
			rm_rf(linux);
		if (x)
			rm_rf(x);
		return r;
	}
	{
		_cleanup_free_ char *info = strdup_printf(
			"format %s\nsource %s\nconfig %s\nrelease %s\ncc %s\n", TREE_FORMAT,
			o->source_tarball ? o->source_tarball : o->source_dir, o->config,
			strempty(t->release), t->cc);

		if (!info)
			return -ENOMEM;
		r = write_file_atomic(stamp, info, strlen(info), 0644);
		if (r < 0)
			return r;
	}
	/* Publish: create the symlink under a temporary name, then rename it into place. */
	tmplink = strdup_printf("%s.link-%d", link, (int)getpid());
	if (!tmplink)
		return -ENOMEM;
	unlink(tmplink);
	if (symlink(work_name, tmplink) < 0)
		return negative_errno();
	if (lp_path_exists(link)) {
		/* Someone else finished first: use theirs. */
		unlink(tmplink);
		rm_rf(work);
		free(t->path);
		free(t->log);
		if (!realpath(link, real))
			return negative_errno();
		t->path = path_join(real, "linux");
		t->log = path_join(real, "build.log");
		if (!t->path || !t->log)
			return -ENOMEM;
		t->cached = true;
	} else if (rename(tmplink, link) < 0) {
		r = negative_errno();
		unlink(tmplink);
		return r;
	}
	t->prepare_seconds = lp_now() - t0;
	log_info("prepared kernel tree in %.1f s", t->prepare_seconds);
	*ret = TAKE_PTR(t);
	return 0;
}
