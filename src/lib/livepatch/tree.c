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
#include "banned.h"

/* Bump when the layout or the preparation of cached trees changes. */
#define TREE_FORMAT "tuxtape-tree-2"
#define CONFIG_MAX_SIZE (16u << 20)
#define SOURCE_FILE_MAX (8u << 20) /* larger sources are not scanned for #include */
#define KCFLAGS "KCFLAGS=-ffunction-sections -fdata-sections"

/*
 * Asks kbuild itself which objects a directory builds with this config: Makefile.build reads
 * the directory's Kbuild file and computes its lists, and this rule prints them.
 */
static const char query_mk[] =
	"# Written by tuxtape: prints what a kbuild directory builds with this config.\n"
	"tuxtape-query:\n"
	"\t@printf 'Y %s\\n' '$(real-obj-y)'; printf 'M %s\\n' '$(real-obj-m)';"
	" printf 'L %s\\n' '$(lib-y)'\n";

static double now_seconds(void)
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
	free(t);
}

/* ---- small file helpers ---- */

static bool path_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* Copies SRC to DST (through DST.tmp and rename), keeping SRC's mode and times. */
static int copy_file(const char *src, const char *dst)
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
static int copy_into(const char *src, const char *dir, const char *rel)
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
	return copy_file(src, dst);
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

/* ---- running make in the tree ---- */

static int tree_make(struct lp_tree *t, const char *const *targets, bool parallel)
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
	for (size_t i = 0; targets[i]; i++) {
		if (n >= ARRAY_SIZE(argv) - 1)
			return -E2BIG;
		argv[n++] = targets[i];
	}
	argv[n] = NULL;
	r = lp_spawn(argv, NULL, NULL, t->log, NULL);
	if (r == -ENOEXEC) {
		_cleanup_free_ char *tail = lp_log_tail(t->log, 25);

		log_error("make %s failed in '%s' (log: %s):\n%s", targets[0], t->path, t->log,
			  strempty(tail));
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
		_cleanup_free_ char *tail = lp_log_tail(log, 10);

		return log_error_errno(r == -ENOEXEC ? -EBADMSG : r, "cannot extract '%s':\n%s",
				       tarball, strempty(tail));
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

static int prepare_in(struct lp_tree *t, const struct lp_tree_opts *o, const char *work)
{
	_cleanup_free_ char *dot_config = NULL, *q = NULL;
	const char *cfg_targets[] = {"olddefconfig", NULL};
	const char *prep_targets[] = {"modules_prepare", NULL};
	int r;

	log_info("preparing kernel tree %s in '%s'", t->key, work);
	if (o->source_tarball)
		r = extract_tarball(o->source_tarball, work, t->log);
	else
		r = copy_source_dir(o->source_dir, work, t->log);
	if (r < 0)
		return r;
	dot_config = path_join(t->path, ".config");
	if (!dot_config)
		return -ENOMEM;
	r = copy_file(o->config, dot_config);
	if (r < 0)
		return log_error_errno(r, "cannot copy '%s': %s", o->config, strerror(-r));
	r = tree_make(t, cfg_targets, false);
	if (r < 0)
		return r;
	r = tree_make(t, prep_targets, true);
	if (r < 0)
		return r;
	q = path_join(t->path, ".tuxtape-query.mk");
	if (!q)
		return -ENOMEM;
	return write_file_atomic(q, query_mk, strlen(query_mk), 0644);
}

int lp_tree_prepare(const struct lp_tree_opts *o, struct lp_tree **ret)
{
	_cleanup_(lp_tree_freep) struct lp_tree *t = NULL;
	_cleanup_free_ char *config_text = NULL, *cache = NULL, *trees = NULL, *link = NULL;
	_cleanup_free_ char *work = NULL, *work_name = NULL, *tmplink = NULL, *stamp = NULL;
	_cleanup_free_ char *lockpath = NULL;
	_cleanup_close_ int lock = -1;
	char real[PATH_MAX];
	double t0 = now_seconds();
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
	 * their own; the lock dies with its process.
	 */
	lockpath = strdup_printf("%s.lock", link);
	if (!lockpath)
		return -ENOMEM;
	lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0)
		return log_error_errno(negative_errno(), "cannot open '%s': %m", lockpath);
	if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
		log_info("waiting for another tuxtape preparing the same tree");
		if (flock(lock, LOCK_EX) < 0)
			return negative_errno();
	}
	if (realpath(link, real)) {
		t->path = path_join(real, "linux");
		t->log = path_join(real, "build.log");
		if (!t->path || !t->log)
			return -ENOMEM;
		t->cached = true;
		log_info("using prepared kernel tree '%s'", real);
		t->prepare_seconds = now_seconds() - t0;
		*ret = TAKE_PTR(t);
		return 0;
	}

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
	if (path_exists(link)) {
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
	t->prepare_seconds = now_seconds() - t0;
	log_info("prepared kernel tree in %.1f s", t->prepare_seconds);
	*ret = TAKE_PTR(t);
	return 0;
}

/* ---- which objects the config builds ---- */

enum obj_state { OBJ_NOT_BUILT, OBJ_BUILTIN, OBJ_MODULE };

struct dirq {
	char *dir;
	char *y, *m, *l; /* " word word " so a word is found as " word " */
};

struct query_cache {
	struct lp_tree *t;
	struct dirq *q;
	size_t n;
};

static void query_cache_release(struct query_cache *qc)
{
	for (size_t i = 0; i < qc->n; i++) {
		free(qc->q[i].dir);
		free(qc->q[i].y);
		free(qc->q[i].m);
		free(qc->q[i].l);
	}
	free(qc->q);
	qc->q = NULL;
	qc->n = 0;
}

static char *padded_line(const char *buf, const char *tag)
{
	_cleanup_free_ char *needle = strdup_printf("\n%s ", tag);
	const char *p, *eol;

	if (!needle)
		return NULL;
	p = startswith(buf, needle + 1) ? buf - 1 : strstr(buf, needle);
	if (!p)
		return strdup(" ");
	p += strlen(needle);
	eol = strchrnul(p, '\n');
	return strdup_printf(" %.*s ", (int)(eol - p), p);
}

static int query_dir(struct query_cache *qc, const char *dir, const struct dirq **ret)
{
	struct lp_tree *t = qc->t;
	_cleanup_free_ char *out = NULL, *objarg = NULL, *cc = NULL, *buf = NULL;
	struct dirq *q, *nq;
	int r;

	for (size_t i = 0; i < qc->n; i++)
		if (streq(qc->q[i].dir, dir)) {
			*ret = &qc->q[i];
			return 0;
		}
	out = strdup_printf("%s.query", t->log);
	objarg = strdup_printf("obj=%s", dir);
	cc = strdup_printf("CC=%s", t->cc);
	if (!out || !objarg || !cc)
		return -ENOMEM;
	const char *argv[] = {"make",
			      "-s",
			      "-C",
			      t->path,
			      "-f",
			      "scripts/Makefile.build",
			      "-f",
			      ".tuxtape-query.mk",
			      objarg,
			      "srctree=.",
			      cc,
			      "need-builtin=1",
			      "need-modorder=1",
			      "tuxtape-query",
			      NULL};
	unlink(out);
	r = lp_spawn(argv, NULL, NULL, out, NULL);
	if (r < 0 && r != -ENOEXEC)
		return r;
	if (read_file_capped(out, 4u << 20, &buf, NULL) < 0 || r == -ENOEXEC) {
		/* Not a kbuild directory (or it failed): it builds nothing we can tell. */
		free(buf);
		buf = strdup("");
		if (!buf)
			return -ENOMEM;
	}
	nq = realloc(qc->q, (qc->n + 1) * sizeof(*nq));
	if (!nq)
		return -ENOMEM;
	qc->q = nq;
	q = &qc->q[qc->n];
	*q = (struct dirq){.dir = strdup(dir),
			   .y = padded_line(buf, "Y"),
			   .m = padded_line(buf, "M"),
			   .l = padded_line(buf, "L")};
	if (!q->dir || !q->y || !q->m || !q->l) {
		free(q->dir);
		free(q->y);
		free(q->m);
		free(q->l);
		return -ENOMEM;
	}
	qc->n++;
	*ret = q;
	return 0;
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p++)
		if (p > list && p[-1] == ' ' && p[n] == ' ')
			return true;
	return false;
}

/*
 * Whether the config builds SRC ("a/b/c.c") into vmlinux, into a module, or not at all: each
 * directory on the way must be descended into (its built-in.a or modules.order listed by the
 * parent) and the object listed by its own directory.
 */
static int obj_state(struct query_cache *qc, const char *src, enum obj_state *ret)
{
	_cleanup_free_ char *path = strdup(src), *obj = NULL;
	bool y_ok = true, m_ok = true;
	const struct dirq *q;
	char *slash, *dir_end;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	len = strlen(path);
	if (len < 3 || !streq(path + len - 2, ".c")) {
		*ret = OBJ_NOT_BUILT;
		return 0;
	}
	obj = strdup(path);
	if (!obj)
		return -ENOMEM;
	obj[len - 1] = 'o';
	dir_end = strrchr(path, '/');
	if (!dir_end) {
		*ret = OBJ_NOT_BUILT;
		return 0;
	}
	/* Top-level directories (and arch/x86) are descended into by the top Makefile. */
	slash = strchr(path, '/');
	if (startswith(path, "arch/") && slash)
		slash = strchr(slash + 1, '/');
	while (slash && slash < dir_end) {
		char *next = strchr(slash + 1, '/');
		_cleanup_free_ char *child_y = NULL, *child_m = NULL;

		*slash = '\0';
		r = query_dir(qc, path, &q);
		*slash = '/';
		if (r < 0)
			return r;
		*next = '\0';
		child_y = strdup_printf("%s/built-in.a", path);
		child_m = strdup_printf("%s/modules.order", path);
		*next = '/';
		if (!child_y || !child_m)
			return -ENOMEM;
		y_ok = y_ok && has_word(q->y, child_y);
		m_ok = m_ok && has_word(q->m, child_m);
		slash = next;
	}
	*dir_end = '\0';
	r = query_dir(qc, path, &q);
	if (r < 0)
		return r;
	if (y_ok &&
	    (has_word(q->y, obj) || has_word(q->l, obj) || has_word(q->l, strrchr(obj, '/') + 1)))
		*ret = OBJ_BUILTIN;
	else if (m_ok && has_word(q->m, obj))
		*ret = OBJ_MODULE;
	else
		*ret = OBJ_NOT_BUILT;
	return 0;
}

/* ---- who includes a file ---- */

struct inc_file {
	char *path;  /* relative to the tree */
	char **incs; /* '"' or '<' followed by the name */
	size_t n;
};

struct inc_graph {
	struct inc_file *files;
	size_t n, alloc;
};

static void inc_graph_release(struct inc_graph *g)
{
	for (size_t i = 0; i < g->n; i++) {
		for (size_t j = 0; j < g->files[i].n; j++)
			free(g->files[i].incs[j]);
		free(g->files[i].incs);
		free(g->files[i].path);
	}
	free(g->files);
	g->files = NULL;
	g->n = g->alloc = 0;
}

static int scan_includes(const char *buf, struct inc_file *f)
{
	for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *s = p, *e;
		char **ni;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '#')
			continue;
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!startswith(s, "include"))
			continue;
		s += strlen("include");
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '"' && *s != '<')
			continue;
		e = strchr(s + 1, *s == '"' ? '"' : '>');
		if (!e || e - s > 200 || memchr(s, '\n', (size_t)(e - s)))
			continue;
		ni = realloc(f->incs, (f->n + 1) * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		f->incs = ni;
		f->incs[f->n] = strndup(s, (size_t)(e - s));
		if (!f->incs[f->n])
			return -ENOMEM;
		f->n++;
	}
	return 0;
}

static bool scan_skip_dir(const FTSENT *e, const char *rel)
{
	if (e->fts_level == 0)
		return false;
	if (e->fts_name[0] == '.')
		return true;
	if (e->fts_level == 1)
		return streq(rel, "Documentation") || streq(rel, "tools") ||
		       streq(rel, "scripts") || streq(rel, "LICENSES");
	if (e->fts_level == 2 && startswith(rel, "arch/"))
		return !streq(rel, "arch/x86");
	return false;
}

static int inc_graph_build(const char *tree, struct inc_graph *g)
{
	char *const roots[] = {(char *)tree, NULL};
	size_t prefix = strlen(tree) + 1;
	FTS *fts;
	FTSENT *e;
	int r = 0;

	fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	if (!fts)
		return negative_errno();
	while ((e = fts_read(fts))) {
		size_t len = e->fts_namelen;
		const char *rel = e->fts_pathlen > prefix ? e->fts_path + prefix : "";
		_cleanup_free_ char *buf = NULL;
		struct inc_file f = {0};

		if (e->fts_info == FTS_D && scan_skip_dir(e, rel)) {
			fts_set(fts, e, FTS_SKIP);
			continue;
		}
		if (e->fts_info != FTS_F || len < 3 || e->fts_name[len - 2] != '.' ||
		    (e->fts_name[len - 1] != 'c' && e->fts_name[len - 1] != 'h'))
			continue;
		if (read_file_capped(e->fts_path, SOURCE_FILE_MAX, &buf, NULL) < 0)
			continue;
		r = scan_includes(buf, &f);
		if (r < 0 || f.n == 0) {
			for (size_t i = 0; i < f.n; i++)
				free(f.incs[i]);
			free(f.incs);
			if (r < 0)
				break;
			continue;
		}
		if (g->n == g->alloc) {
			size_t na = g->alloc ? g->alloc * 2 : 4096;
			struct inc_file *nf = realloc(g->files, na * sizeof(*nf));

			if (!nf) {
				r = -ENOMEM;
				break;
			}
			g->files = nf;
			g->alloc = na;
		}
		f.path = strdup(rel);
		if (!f.path) {
			r = -ENOMEM;
			break;
		}
		g->files[g->n++] = f;
	}
	fts_close(fts);
	return r;
}

/* Resolves "a/b/../c.h" and "./" into a clean relative path; NULL if it climbs out. */
static char *normalize_rel(const char *dir, const char *name)
{
	_cleanup_free_ char *joined = dir[0] ? strdup_printf("%s/%s", dir, name) : strdup(name);
	char *out, *w;

	if (!joined)
		return NULL;
	out = malloc(strlen(joined) + 1);
	if (!out)
		return NULL;
	w = out;
	for (char *seg = joined, *next; seg; seg = next) {
		next = strchr(seg, '/');
		if (next)
			*next++ = '\0';
		if (!*seg || streq(seg, "."))
			continue;
		if (streq(seg, "..")) {
			if (w == out) {
				free(out);
				return NULL;
			}
			while (w > out && w[-1] != '/')
				w--;
			if (w > out)
				w--;
			continue;
		}
		if (w > out)
			*w++ = '/';
		size_t n = strlen(seg);
		memcpy(w, seg, n);
		w += n;
	}
	*w = '\0';
	return out;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *in_sorted(char **set, size_t n, const char *s)
{
	char **hit = n ? bsearch(&s, set, n, sizeof(*set), cmp_str) : NULL;

	return hit ? *hit : NULL;
}

/* The file of SET (sorted) that directive INC of the file at FPATH names, or NULL. */
static const char *include_hits(int tree_fd, const char *fpath, const char *inc, char **set,
				size_t nset)
{
	static const char *const global_dirs[] = {"include", "arch/x86/include", "include/uapi",
						  "arch/x86/include/uapi"};
	const char *name = inc + 1;

	if (inc[0] == '"') {
		_cleanup_free_ char *dir = strdup(fpath);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		_cleanup_free_ char *local = NULL;

		if (!dir)
			return NULL;
		if (slash)
			*slash = '\0';
		else
			dir[0] = '\0';
		local = normalize_rel(dir, name);
		if (local && faccessat(tree_fd, local, F_OK, 0) == 0)
			return in_sorted(set, nset, local);
	}
	for (size_t i = 0; i < ARRAY_SIZE(global_dirs); i++) {
		_cleanup_free_ char *cand = normalize_rel(global_dirs[i], name);
		const char *hit = cand ? in_sorted(set, nset, cand) : NULL;

		if (hit)
			return hit;
	}
	return NULL;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/*
 * The .c files including any file of START (directly or through other headers or included .c
 * files), as "path\twhy" strings. More than MAX: -E2BIG.
 */
static int find_includers(struct lp_tree *t, struct query_cache *qc, char **start, size_t nstart,
			  size_t max, char ***ret, size_t *ret_n)
{
	struct inc_graph g = {0};
	char **frontier = NULL, **seen = NULL, **found = NULL;
	size_t nfrontier = 0, nseen = 0, nfound = 0;
	_cleanup_close_ int tree_fd = -1;
	int r = 0, depth;

	log_info("scanning the tree for files including %s%s", start[0],
		 nstart > 1 ? " and others" : "");
	r = inc_graph_build(t->path, &g);
	if (r < 0)
		goto out;
	tree_fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tree_fd < 0) {
		r = negative_errno();
		goto out;
	}
	for (size_t i = 0; i < nstart; i++) {
		char **nf = realloc(frontier, (nfrontier + 1) * sizeof(*nf));

		if (!nf || !(nf[nfrontier] = strdup(start[i]))) {
			frontier = nf ? nf : frontier;
			r = -ENOMEM;
			goto out;
		}
		frontier = nf;
		nfrontier++;
	}
	for (depth = 0; nfrontier > 0 && depth < 16; depth++) {
		char **next = NULL;
		size_t nnext = 0;

		qsort(frontier, nfrontier, sizeof(*frontier), cmp_str);
		for (size_t i = 0; i < g.n && r == 0; i++) {
			struct inc_file *f = &g.files[i];
			const char *hit = NULL;

			for (size_t j = 0; j < f->n && !hit; j++) {
				/* Cheap filter first: a frontier file has the basename. */
				bool maybe = false;

				for (size_t k = 0; k < nfrontier && !maybe; k++)
					maybe = streq(base_name(f->incs[j] + 1),
						      base_name(frontier[k]));
				if (maybe)
					hit = include_hits(tree_fd, f->path, f->incs[j], frontier,
							   nfrontier);
			}
			if (!hit)
				continue;
			/* Already handled (include cycles, diamonds)? */
			bool dup = false;

			for (size_t k = 0; k < nseen && !dup; k++)
				dup = streq(seen[k], f->path);
			if (dup)
				continue;
			char **ns = realloc(seen, (nseen + 1) * sizeof(*ns));

			if (!ns || !(ns[nseen] = strdup(f->path))) {
				seen = ns ? ns : seen;
				r = -ENOMEM;
				break;
			}
			seen = ns;
			nseen++;

			enum obj_state st = OBJ_NOT_BUILT;
			size_t plen = strlen(f->path);

			if (streq(f->path + plen - 2, ".c")) {
				r = obj_state(qc, f->path, &st);
				if (r < 0)
					break;
			}
			if (st != OBJ_NOT_BUILT) {
				char **nfo = realloc(found, (nfound + 1) * sizeof(*nfo));

				if (!nfo || !(nfo[nfound] = strdup_printf("%s\tincludes %s",
									  f->path, hit))) {
					found = nfo ? nfo : found;
					r = -ENOMEM;
					break;
				}
				found = nfo;
				if (++nfound > max) {
					r = log_error_errno(
						-E2BIG,
						"more than %zu translation units built with this "
						"config include the changed files (%s, ...); "
						"refusing to compile them all",
						max, start[0]);
					break;
				}
			} else {
				char **nn = realloc(next, (nnext + 1) * sizeof(*nn));

				if (!nn || !(nn[nnext] = strdup(f->path))) {
					next = nn ? nn : next;
					r = -ENOMEM;
					break;
				}
				next = nn;
				nnext++;
			}
		}
		for (size_t i = 0; i < nfrontier; i++)
			free(frontier[i]);
		free(frontier);
		frontier = next;
		nfrontier = nnext;
		if (r < 0)
			break;
	}
out:
	for (size_t i = 0; i < nfrontier; i++)
		free(frontier[i]);
	free(frontier);
	for (size_t i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	inc_graph_release(&g);
	if (r < 0) {
		for (size_t i = 0; i < nfound; i++)
			free(found[i]);
		free(found);
		return r;
	}
	*ret = found;
	*ret_n = nfound;
	return 0;
}

/* ---- the journal: undoing a patch application, also after a crash ---- */

/*
 * WORK/journal/list has one line per action to undo: "B path" (restore the backup from
 * journal/files/path), "C path" (remove: the patch created it), "O path" (restore from
 * journal/files/path: an object or .cmd file of the original build).
 */
static int journal_restore(const char *work, const char *tree)
{
	_cleanup_free_ char *jdir = path_join(work, "journal");
	_cleanup_free_ char *list = jdir ? path_join(jdir, "list") : NULL;
	_cleanup_free_ char *buf = NULL;
	int r, ret = 0;

	if (!list)
		return -ENOMEM;
	r = read_file_capped(list, 16u << 20, &buf, NULL);
	if (r == -ENOENT) {
		rm_rf(jdir); /* a journal never completed: nothing was touched yet */
		return 0;
	}
	if (r < 0)
		return r;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strlen(line) < 3)
			continue;
		_cleanup_free_ char *dst = path_join(tree, line + 2);
		_cleanup_free_ char *bak = NULL;

		if (!dst)
			return -ENOMEM;
		if (line[0] == 'C') {
			if (unlink(dst) < 0 && errno != ENOENT)
				ret = log_error_errno(negative_errno(), "cannot remove '%s': %m",
						      dst);
			continue;
		}
		bak = strdup_printf("%s/files/%s", jdir, line + 2);
		if (!bak)
			return -ENOMEM;
		if (rename(bak, dst) < 0 && errno != ENOENT)
			ret = log_error_errno(negative_errno(), "cannot restore '%s': %m", dst);
	}
	if (ret == 0)
		rm_rf(jdir);
	else
		log_error("the kernel tree '%s' may be left patched; remove its cache entry", tree);
	return ret;
}

/* ---- compiling ---- */

void lp_tu_set_free(struct lp_tu_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ntus; i++) {
		free(s->tus[i].source);
		free(s->tus[i].orig_obj);
		free(s->tus[i].patched_obj);
		free(s->tus[i].module);
		free(s->tus[i].why);
	}
	free(s->tus);
	for (size_t i = 0; i < s->nskipped; i++)
		free(s->skipped[i]);
	free(s->skipped);
	for (size_t i = 0; i < s->nheaders; i++)
		free(s->headers[i]);
	free(s->headers);
	free(s);
}

json_t *lp_tu_set_to_json(const struct lp_tu_set *s)
{
	json_t *j = json_object(), *tus = json_array(), *sk = json_array(), *hd = json_array();

	if (!j || !tus || !sk || !hd) {
		json_decref(j);
		json_decref(tus);
		json_decref(sk);
		json_decref(hd);
		return NULL;
	}
	for (size_t i = 0; i < s->ntus; i++) {
		const struct lp_tu *u = &s->tus[i];

		json_array_append_new(tus,
				      json_pack("{s:s, s:s, s:s, s:s?, s:s}", "source", u->source,
						"orig", u->orig_obj, "patched", u->patched_obj,
						"module", u->module, "why", u->why));
	}
	for (size_t i = 0; i < s->nskipped; i++)
		json_array_append_new(sk, json_string(s->skipped[i]));
	for (size_t i = 0; i < s->nheaders; i++)
		json_array_append_new(hd, json_string(s->headers[i]));
	json_object_set_new(j, "units", tus);
	json_object_set_new(j, "skipped", sk);
	json_object_set_new(j, "headers", hd);
	json_object_set_new(j, "compile_seconds", json_real(s->compile_seconds));
	return j;
}

static int strv_push(char ***v, size_t *n, char *s)
{
	char **nv;

	if (!s)
		return -ENOMEM;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	*v = nv;
	(*v)[(*n)++] = s;
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && streq(s + a - b, suffix);
}

/* The module name kbuild compiled SRC's object for, from its .cmd file; NULL if none. */
static char *cmd_modname(const char *tree, const char *obj)
{
	_cleanup_free_ char *dir = strdup(obj), *cmd = NULL, *buf = NULL;
	char *slash = dir ? strrchr(dir, '/') : NULL;
	const char *p;

	if (!slash)
		return NULL;
	*slash = '\0';
	cmd = strdup_printf("%s/%s/.%s.cmd", tree, dir, slash + 1);
	if (!cmd || read_file_capped(cmd, 16u << 20, &buf, NULL) < 0)
		return NULL;
	p = strstr(buf, "-DKBUILD_MODNAME='\"");
	if (!p)
		return NULL;
	p += strlen("-DKBUILD_MODNAME='\"");
	return strndup(p, strcspn(p, "\"'"));
}

/* Adds SRC to the set, once. */
static int add_tu(struct lp_tu_set *s, const char *src, const char *why, bool module)
{
	struct lp_tu *nt;

	for (size_t i = 0; i < s->ntus; i++)
		if (streq(s->tus[i].source, src))
			return 0;
	nt = realloc(s->tus, (s->ntus + 1) * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	s->tus = nt;
	s->tus[s->ntus] = (struct lp_tu){.source = strdup(src), .why = strdup(why)};
	/* The module name is filled in after compiling; mark modules with an empty name. */
	s->tus[s->ntus].module = module ? strdup("") : NULL;
	if (!s->tus[s->ntus].source || !s->tus[s->ntus].why || (module && !s->tus[s->ntus].module))
		return -ENOMEM;
	s->ntus++;
	return 0;
}

/* Sorts the patch's files into translation units, headers to chase, refusals and ignorables. */
static int classify(struct query_cache *qc, const struct lp_patchset *ps, struct lp_tu_set *s,
		    char ***ret_chase, size_t *ret_nchase)
{
	char **chase = NULL;
	size_t nchase = 0;
	int r = 0;

	for (size_t i = 0; i < ps->nfiles && r == 0; i++) {
		const struct lp_patch_file *f = &ps->files[i];
		const char *p = f->path, *b = base_name(p);
		enum obj_state st;

		if (streq(b, "Makefile") || streq(b, "Kbuild") || startswith(b, "Kconfig") ||
		    startswith(b, "Makefile.")) {
			r = log_error_errno(-EOPNOTSUPP,
					    "'%s': changes to the build cannot be "
					    "livepatched",
					    p);
		} else if (ends_with(p, ".S") || ends_with(p, ".s") || ends_with(p, ".lds")) {
			r = log_error_errno(-EOPNOTSUPP,
					    "'%s': assembly and linker scripts "
					    "cannot be livepatched",
					    p);
		} else if (ends_with(p, ".c") || ends_with(p, ".h")) {
			if (f->renamed || f->deleted) {
				r = log_error_errno(-EOPNOTSUPP,
						    "'%s': a source file is %s; "
						    "that cannot be livepatched",
						    p, f->renamed ? "renamed" : "deleted");
			} else if (f->created && ends_with(p, ".c")) {
				r = log_error_errno(-EOPNOTSUPP,
						    "'%s': a new source file cannot "
						    "be livepatched (it needs a build change)",
						    p);
			} else if (f->created) {
				/* A new header is seen through the files that include it. */
				continue;
			} else if (ends_with(p, ".c") && (r = obj_state(qc, p, &st)) == 0 &&
				   st != OBJ_NOT_BUILT) {
				r = add_tu(s, p, "changed", st == OBJ_MODULE);
			} else if (r == 0) {
				if (ends_with(p, ".h"))
					r = strv_push(&s->headers, &s->nheaders, strdup(p));
				if (r == 0)
					r = strv_push(&chase, &nchase, strdup(p));
			}
		} else {
			log_info("'%s' is not source code; ignored", p);
			r = strv_push(&s->skipped, &s->nskipped,
				      strdup_printf("%s: not source code", p));
		}
	}
	if (r < 0) {
		for (size_t i = 0; i < nchase; i++)
			free(chase[i]);
		free(chase);
		return r;
	}
	*ret_chase = chase;
	*ret_nchase = nchase;
	return 0;
}

static int apply_patches(struct lp_tree *t, const struct lp_patchset *ps, const char *work)
{
	for (size_t i = 0; i < ps->npatches; i++) {
		_cleanup_free_ char *plog = path_join(work, "patch.log");
		char real[PATH_MAX];
		int r;

		if (!plog)
			return -ENOMEM;
		if (!realpath(ps->patches[i], real))
			return log_error_errno(negative_errno(), "cannot open patch '%s': %m",
					       ps->patches[i]);
		const char *argv[] = {"patch", "-p1", "-N", "-f",    "--no-backup-if-mismatch",
				      "-r",    "-",   "-d", t->path, "-i",
				      real,    NULL};
		unlink(plog);
		r = lp_spawn(argv, NULL, NULL, plog, NULL);
		_cleanup_free_ char *out = lp_log_tail(plog, 30);

		if (r == -ENOEXEC)
			return log_error_errno(-EBADMSG,
					       "patch '%s' does not apply to this "
					       "kernel source:\n%s",
					       ps->patches[i], strempty(out));
		if (r < 0)
			return r;
		if (out && strstr(out, "with fuzz"))
			log_warn("patch '%s' applied with fuzz:\n%s", ps->patches[i], out);
		else if (out && strstr(out, "offset"))
			log_info("patch '%s' applied with offsets", ps->patches[i]);
	}
	return 0;
}

/* Writes the journal (backups first, then the list, atomically) before touching the tree. */
static int journal_write(struct lp_tree *t, const char *work, const struct lp_patchset *ps,
			 const struct lp_tu_set *s)
{
	_cleanup_free_ char *jdir = path_join(work, "journal");
	_cleanup_free_ char *files = jdir ? path_join(jdir, "files") : NULL;
	_cleanup_free_ char *list = jdir ? path_join(jdir, "list") : NULL;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	int r;

	if (!list)
		return -ENOMEM;
	rm_rf(jdir);
	r = mkdir_p(files, 0755);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ps->nfiles; i++) {
		_cleanup_free_ char *src = path_join(t->path, ps->files[i].path);

		if (!src)
			return -ENOMEM;
		if (path_exists(src)) {
			r = copy_into(src, files, ps->files[i].path);
			if (r < 0)
				return log_error_errno(r, "cannot back up '%s': %s", src,
						       strerror(-r));
			r = strbuf_addf(&sb, "B %s\n", ps->files[i].path);
		} else {
			r = strbuf_addf(&sb, "C %s\n", ps->files[i].path);
		}
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < s->ntus; i++) {
		_cleanup_free_ char *obj = strdup(s->tus[i].source);
		_cleanup_free_ char *cmdrel = NULL;
		char *slash;

		if (!obj)
			return -ENOMEM;
		obj[strlen(obj) - 1] = 'o';
		slash = strrchr(obj, '/');
		*slash = '\0';
		cmdrel = strdup_printf("%s/.%s.cmd", obj, slash + 1);
		*slash = '/';
		if (!cmdrel)
			return -ENOMEM;
		const char *rels[] = {obj, cmdrel};

		for (size_t k = 0; k < ARRAY_SIZE(rels); k++) {
			_cleanup_free_ char *src = path_join(t->path, rels[k]);

			if (!src)
				return -ENOMEM;
			r = copy_into(src, files, rels[k]);
			if (r < 0)
				return log_error_errno(r, "cannot back up '%s': %s", src,
						       strerror(-r));
			r = strbuf_addf(&sb, "O %s\n", rels[k]);
			if (r < 0)
				return r;
		}
	}
	return write_file_atomic(list, strbuf_str(&sb), sb.len, 0644);
}

/*
 * The command kbuild compiled OBJ with, from its .cmd file, when it can be run by sh as it
 * stands (no make escapes in it); NULL otherwise.
 */
static char *cmd_line(const char *tree, const char *obj)
{
	_cleanup_free_ char *dir = strdup(obj), *cmd = NULL, *buf = NULL, *prefix = NULL;
	char *slash = dir ? strrchr(dir, '/') : NULL;
	const char *p, *eol;

	if (!slash)
		return NULL;
	*slash = '\0';
	cmd = strdup_printf("%s/%s/.%s.cmd", tree, dir, slash + 1);
	prefix = strdup_printf("cmd_%s := ", obj);
	if (!cmd || !prefix || read_file_capped(cmd, 16u << 20, &buf, NULL) < 0)
		return NULL;
	if (!startswith(buf, prefix))
		return NULL;
	p = buf + strlen(prefix);
	eol = strchrnul(p, '\n');
	if (memchr(p, '$', (size_t)(eol - p)) || memchr(p, '\\', (size_t)(eol - p)))
		return NULL;
	return strndup(p, (size_t)(eol - p));
}

/*
 * Recompiles OBJS by running the commands kbuild recorded for them (compiler, then objtool):
 * the same flags as make would use, without make's second of checking the whole prepare
 * chain. The original compile went through make, so the commands are current. Returns
 * -ENOENT when a command is not usable, so the caller can fall back to make.
 */
static int replay_all(struct lp_tree *t, const char *const *objs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *line = cmd_line(t->path, objs[i]);

		if (!line)
			return -ENOENT;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *line = cmd_line(t->path, objs[i]);
		_cleanup_free_ char *dep = strdup(objs[i]), *deppath = NULL;
		const char *argv[] = {"sh", "-c", line, NULL};
		char *slash;
		int r;

		if (!line || !dep)
			return -ENOMEM;
		r = lp_spawn(argv, t->path, NULL, t->log, NULL);
		slash = strrchr(dep, '/');
		*slash = '\0';
		/* gcc's dependency file, which make would have folded into the .cmd file. */
		deppath = strdup_printf("%s/%s/.%s.d", t->path, dep, slash + 1);
		if (deppath)
			unlink(deppath);
		if (r < 0) {
			_cleanup_free_ char *tail = lp_log_tail(t->log, 25);

			log_error("compiling '%s' failed (log: %s):\n%s", objs[i], t->log,
				  strempty(tail));
			return r == -ENOENT ? -ENOEXEC : r;
		}
	}
	return 0;
}

static int compile_all(struct lp_tree *t, struct lp_tu_set *s, const char *outdir,
		       const char *which)
{
	_cleanup_free_ const char **targets = calloc(s->ntus + 1, sizeof(char *));
	_cleanup_free_ char *dest = path_join(outdir, which);
	char **objs = calloc(s->ntus, sizeof(char *));
	int r = 0;

	if (!targets || !dest || !objs) {
		free(objs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->ntus; i++) {
		objs[i] = strdup(s->tus[i].source);
		if (!objs[i]) {
			r = -ENOMEM;
			goto out;
		}
		objs[i][strlen(objs[i]) - 1] = 'o';
		targets[i] = objs[i];
	}
	log_info("compiling %zu %s translation unit%s", s->ntus, which, s->ntus == 1 ? "" : "s");
	r = -ENOENT;
	if (streq(which, "patched"))
		r = replay_all(t, (const char *const *)objs, s->ntus);
	if (r == -ENOENT)
		r = tree_make(t, targets, true);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < s->ntus; i++) {
		_cleanup_free_ char *src = path_join(t->path, objs[i]);
		char **slot = streq(which, "orig") ? &s->tus[i].orig_obj : &s->tus[i].patched_obj;

		if (!src) {
			r = -ENOMEM;
			goto out;
		}
		r = copy_into(src, dest, objs[i]);
		if (r < 0) {
			log_error("cannot copy '%s': %s", src, strerror(-r));
			goto out;
		}
		free(*slot);
		*slot = strdup_printf("%s/%s", dest, objs[i]);
		if (!*slot) {
			r = -ENOMEM;
			goto out;
		}
		if (s->tus[i].module && !s->tus[i].module[0]) {
			char *m = cmd_modname(t->path, objs[i]);

			if (m) {
				for (char *c = m; *c; c++)
					if (*c == '-')
						*c = '_';
				free(s->tus[i].module);
				s->tus[i].module = m;
			}
		}
	}
out:
	for (size_t i = 0; i < s->ntus; i++)
		free(objs[i]);
	free(objs);
	return r;
}

int lp_tree_compile(struct lp_tree *t, const struct lp_patchset *ps, const char *outdir,
		    struct lp_tu_set **ret)
{
	_cleanup_(lp_tu_set_freep) struct lp_tu_set *s = NULL;
	_cleanup_free_ char *work = NULL, *lockpath = NULL;
	_cleanup_close_ int lock = -1;
	struct query_cache qc = {.t = t};
	char **chase = NULL;
	size_t nchase = 0;
	double t0 = now_seconds();
	bool applied = false;
	int r, r2;

	if (!t || !ps || !outdir)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	work = strdup(t->path);
	if (!s || !work)
		return -ENOMEM;
	*strrchr(work, '/') = '\0';
	lockpath = path_join(work, "lock");
	if (!lockpath)
		return -ENOMEM;
	r = mkdir_p(outdir, 0755);
	if (r < 0)
		return log_error_errno(r, "cannot create '%s': %s", outdir, strerror(-r));

	/* One patch at a time per tree: the tree is patched in place. */
	lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0)
		return log_error_errno(negative_errno(), "cannot open '%s': %m", lockpath);
	if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
		log_info("waiting for another tuxtape using '%s'", t->path);
		if (flock(lock, LOCK_EX) < 0)
			return negative_errno();
	}
	r = journal_restore(work, t->path);
	if (r < 0)
		return r;

	r = classify(&qc, ps, s, &chase, &nchase);
	if (r < 0)
		goto out;
	if (nchase > 0) {
		char **found = NULL;
		size_t nfound = 0;

		r = find_includers(t, &qc, chase, nchase, LP_TREE_MAX_TUS, &found, &nfound);
		if (r < 0)
			goto out;
		for (size_t i = 0; i < nfound; i++) {
			char *tab = strchr(found[i], '\t');
			enum obj_state st = OBJ_BUILTIN;

			*tab = '\0';
			if (r == 0)
				r = obj_state(&qc, found[i], &st);
			if (r == 0) {
				log_warn("'%s' %s: compiling it", found[i], tab + 1);
				r = add_tu(s, found[i], tab + 1, st == OBJ_MODULE);
			}
			free(found[i]);
		}
		free(found);
		if (r < 0)
			goto out;
		for (size_t i = 0; i < nchase; i++) {
			if (!ends_with(chase[i], ".c"))
				continue;
			/* A .c that is no object of this config and that nothing built includes. */
			bool used = false;

			for (size_t k = 0; k < s->ntus && !used; k++)
				used = strstr(s->tus[k].why, chase[i]) != NULL;
			if (!used) {
				log_info("'%s' is not built with this config; ignored", chase[i]);
				r = strv_push(
					&s->skipped, &s->nskipped,
					strdup_printf("%s: not built with this config", chase[i]));
				if (r < 0)
					goto out;
			}
		}
	}
	if (s->ntus > LP_TREE_MAX_TUS) {
		r = log_error_errno(-E2BIG,
				    "the patches change %zu translation units (at most "
				    "%d are compiled)",
				    s->ntus, LP_TREE_MAX_TUS);
		goto out;
	}
	if (s->ntus == 0) {
		log_info("the patches change no translation unit built with this config");
		r = 0;
		goto out;
	}

	r = compile_all(t, s, outdir, "orig");
	if (r < 0)
		goto out;
	r = journal_write(t, work, ps, s);
	if (r < 0)
		goto out;
	applied = true;
	r = apply_patches(t, ps, work);
	if (r < 0)
		goto out;
	r = compile_all(t, s, outdir, "patched");
out:
	if (applied) {
		r2 = journal_restore(work, t->path);
		if (r2 < 0 && r >= 0)
			r = r2;
	}
	for (size_t i = 0; i < nchase; i++)
		free(chase[i]);
	free(chase);
	query_cache_release(&qc);
	if (r < 0)
		return r;
	s->compile_seconds = now_seconds() - t0;
	*ret = TAKE_PTR(s);
	return 0;
}
