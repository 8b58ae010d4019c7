/* A kernel's livepatch build inputs: recorded in the inventory, checked again, or given. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sodium.h>

#include "fileio.h"
#include "filehash.h"
#include "fleet/buildtarget.h"
#include "fleet/inventory.h"
#include "log.h"
#include "macro.h"
#include "paths.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

/* A full kernel's symbol table is tens of megabytes at most; kallsyms with modules ~20 MB. */
#define SYMBOLS_MAX (256u << 20)

/* UTS_RELEASE of DIR/include/generated/utsrelease.h into *RET; -ENOENT / -EINVAL, not logged. */
static int kbuild_release(const char *dir, char **ret)
{
	_cleanup_free_ char *p = path_join(dir, "include/generated/utsrelease.h"), *buf = NULL;
	const char *q;
	size_t n;
	int r;

	if (!p)
		return -ENOMEM;
	r = read_file_capped(p, 4096, &buf, NULL);
	if (r < 0)
		return r;
	q = strstr(buf, "UTS_RELEASE \"");
	if (!q)
		return -EINVAL;
	q += strlen("UTS_RELEASE \"");
	n = strcspn(q, "\"\n");
	if (q[n] != '"' || n == 0)
		return -EINVAL;
	*ret = strndup(q, n);
	return *ret ? 0 : -ENOMEM;
}

int kernel_kbuild_check(const char *dir, const char *release, const char *field, const char *hint)
{
	_cleanup_free_ char *rel = NULL;
	struct stat st;
	int r;

	if (stat(dir, &st) < 0)
		return log_error_errno(negative_errno(), "%s '%s': %m%s", field, dir,
				       strempty(hint));
	if (!S_ISDIR(st.st_mode))
		return log_error_errno(-ENOTDIR, "%s '%s' is not a directory%s", field, dir,
				       strempty(hint));
	r = kbuild_release(dir, &rel);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return log_error_errno(r == -EINVAL ? -EINVAL : -ENOENT,
				       "%s '%s' is not a kbuild directory: "
				       "include/generated/utsrelease.h %s%s",
				       field, dir,
				       r == -EINVAL ? "names no UTS_RELEASE" : "is missing",
				       strempty(hint));
	if (!streq(rel, release))
		return log_error_errno(-EMEDIUMTYPE,
				       "%s '%s' is the kbuild directory of release %s, not %s%s",
				       field, dir, rel, release, strempty(hint));
	return 0;
}

/* Reads and checks a symbol table; LOG false: the reason stays unsaid (a search). */
static int symbols_read(const char *path, const char *field, const char *hint, bool log,
			char **ret_buf, size_t *ret_len, char hex[static KERNEL_SYMBOLS_SHA256_LEN])
{
	_cleanup_free_ char *buf = NULL;
	unsigned char digest[crypto_hash_sha256_BYTES];
	size_t len, lines = 0, good = 0;
	int r;

	r = read_file_capped(path, SYMBOLS_MAX, &buf, &len);
	if (r < 0)
		return log ? log_error_errno(r, "%s '%s': %s%s", field, path, strerror(-r),
					     strempty(hint))
			   : r;
	/* "ffffffff81000000 T _stext": an address, a one-letter type, a name. */
	for (const char *p = buf; p < buf + len;) {
		const char *e = memchr(p, '\n', (size_t)(buf + len - p));
		size_t n = e ? (size_t)(e - p) : (size_t)(buf + len - p);
		size_t a = 0;

		while (a < n && ((p[a] >= '0' && p[a] <= '9') || (p[a] >= 'a' && p[a] <= 'f') ||
				 (p[a] >= 'A' && p[a] <= 'F')))
			a++;
		lines++;
		if (a >= 8 && a + 3 < n && p[a] == ' ' && p[a + 2] == ' ' && p[a + 3] != ' ')
			good++;
		p += n + 1;
	}
	if (good < KERNEL_SYMBOLS_MIN || good < lines / 2) {
		if (!log)
			return -EINVAL;
		if (memmem(buf, len, "The real System.map is in", 25))
			return log_error_errno(
				-EINVAL,
				"%s '%s' is Debian's placeholder, not a symbol table "
				"(the real one is in the linux-image-*-dbg package, or "
				"read /proc/kallsyms as root on the running kernel)%s",
				field, path, strempty(hint));
		return log_error_errno(
			-EINVAL,
			"%s '%s' is not a kernel's symbol table: %zu lines, %zu of "
			"them 'ADDRESS TYPE NAME' (a System.map or kallsyms has tens "
			"of thousands)%s",
			field, path, lines, good, strempty(hint));
	}
	crypto_hash_sha256(digest, (const unsigned char *)buf, len);
	sodium_bin2hex(hex, KERNEL_SYMBOLS_SHA256_LEN, digest, sizeof(digest));
	if (ret_buf)
		*ret_buf = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int kernel_symbols_check(const char *path, const char *field,
			 char ret_sha256[static KERNEL_SYMBOLS_SHA256_LEN])
{
	return symbols_read(path, field, NULL, true, NULL, NULL, ret_sha256);
}

void kernel_build_target_release(struct kernel_build_target *t)
{
	if (!t)
		return;
	if (t->tmpdir)
		rm_rf(t->tmpdir);
	free(t->tmpdir);
	free(t->name);
	free(t->release);
	free(t->source_dir);
	free(t->source_tarball);
	free(t->config);
	free(t->kbuild);
	free(t->symbols);
	*t = (struct kernel_build_target){};
}

static int dup_or_null(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

/* A private directory for the files the resolution writes. */
static int target_tmpdir(struct kernel_build_target *t)
{
	const char *base = getenv("TMPDIR");

	if (t->tmpdir)
		return 0;
	t->tmpdir = strdup_printf("%s/tuxtape-kernel.XXXXXX", base && *base ? base : "/tmp");
	if (!t->tmpdir)
		return -ENOMEM;
	if (!mkdtemp(t->tmpdir)) {
		int r = negative_errno();

		log_error_errno(r, "cannot create a directory like '%s': %m", t->tmpdir);
		free(t->tmpdir);
		t->tmpdir = NULL;
		return r;
	}
	return 0;
}

static int target_write(struct kernel_build_target *t, const char *file, const void *data,
			size_t len, char **ret_path)
{
	_cleanup_free_ char *p = NULL;
	int r = target_tmpdir(t);

	if (r < 0)
		return r;
	p = path_join(t->tmpdir, file);
	if (!p)
		return -ENOMEM;
	r = write_file_atomic(p, data, len, 0600);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %s", p, strerror(-r));
	*ret_path = TAKE_PTR(p);
	return 0;
}

static const char *column_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* A recorded source is the one recorded: a tarball by its SHA-256, a tree by its version. */
static int source_unchanged(const struct kernel_build_target *t, const char *recorded, bool tarball,
			    const char *sha, const char *version)
{
	char now[KERNEL_SYMBOLS_SHA256_LEN], v[32];
	unsigned sv[3];
	int r;

	if (tarball && !sha)
		return log_error_errno(
			-ENODATA,
			"kernel '%s': its source tarball '%s' was recorded without its SHA-256 "
			"(before tuxtape kept one), so whether it is still the kernel's source "
			"cannot be told: pass --source-tarball FILE with the kernel's own source, "
			"or record it again with 'tuxtape kernel add --replace %s ... "
			"--source-tarball FILE --kbuild DIR --symbols FILE'",
			t->name, recorded, t->name);
	if (!tarball && !version)
		return log_error_errno(
			-ENODATA,
			"kernel '%s': its source tree '%s' was recorded without a version, so "
			"whether it is still the kernel's source cannot be told: pass --source DIR",
			t->name, recorded);
	if (tarball) {
		r = kernel_source_tarball_sha256(recorded, NULL, now);
		if (r < 0)
			return r;
		if (!streq(now, sha))
			return log_error_errno(
				-ESTALE,
				"kernel '%s': its source tarball '%s' changed since it was "
				"recorded "
				"(source_sha256 %.16s..., now %.16s...): pass --source-tarball "
				"FILE "
				"with the kernel's own source, or record it again with 'tuxtape "
				"kernel add --replace %s ... --kbuild DIR --symbols FILE'",
				t->name, recorded, sha, now, t->name);
	} else {
		if (kernel_source_tree_version(recorded, sv) < 0)
			return log_error_errno(
				-ESTALE,
				"kernel '%s': its source tree '%s' has no readable version in its "
				"Makefile any more: pass --source DIR with the kernel's own source",
				t->name, recorded);
		snprintf(v, sizeof(v), "%u.%u.%u", sv[0], sv[1], sv[2]);
		if (!streq(v, version))
			return log_error_errno(
				-ESTALE,
				"kernel '%s': its source tree '%s' is now %s, it was %s when "
				"recorded (source_version): pass --source DIR with the kernel's "
				"own "
				"source",
				t->name, recorded, v, version);
	}
	return 0;
}

static int resolve_source(struct kernel_build_target *t, const char *recorded, const char *sha,
			  const char *version, const struct kernel_build_given *g)
{
	struct stat st;
	int r;

	if (g->source_dir || g->source_tarball) {
		t->source_from = "given";
		if (dup_or_null(g->source_dir, &t->source_dir) < 0 ||
		    dup_or_null(g->source_tarball, &t->source_tarball) < 0)
			return -ENOMEM;
		return 0;
	}
	t->source_from = "recorded";
	if (!recorded)
		return log_error_errno(-ENODATA,
				       "kernel '%s' has no source recorded: pass --source DIR or "
				       "--source-tarball FILE (or record one with 'tuxtape kernel "
				       "add --replace %s ... --source-tarball FILE')",
				       t->name, t->name);
	if (recorded[0] != '/')
		return log_error_errno(
			-ENODATA,
			"kernel '%s': its source '%s' was recorded as a relative path: "
			"pass --source DIR or --source-tarball FILE",
			t->name, recorded);
	if (stat(recorded, &st) < 0)
		return log_error_errno(-ENOENT,
				       "kernel '%s': its recorded source '%s' is gone (%m): pass "
				       "--source DIR or --source-tarball FILE",
				       t->name, recorded);
	if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
		r = source_unchanged(t, recorded, S_ISREG(st.st_mode), sha, version);
		if (r < 0)
			return r;
		return dup_or_null(recorded,
				   S_ISDIR(st.st_mode) ? &t->source_dir : &t->source_tarball);
	}
	return log_error_errno(-EINVAL,
			       "kernel '%s': its recorded source '%s' is neither a directory nor a "
			       "file: pass --source DIR or --source-tarball FILE",
			       t->name, recorded);
}

static int resolve_kbuild(struct kernel_build_target *t, const char *recorded,
			  const struct kernel_build_given *g)
{
	const char *dir = g->kbuild ? g->kbuild : recorded;
	_cleanup_free_ char *field = NULL, *hint = NULL;
	int r;

	t->kbuild_from = g->kbuild ? "given" : "recorded";
	if (!dir)
		return log_error_errno(
			-ENODATA,
			"kernel '%s' has no kbuild directory recorded: pass --kbuild "
			"DIR, or record it with 'tuxtape kernel set-build %s --kbuild "
			"DIR'",
			t->name, t->name);
	field = g->kbuild ? strdup_printf("kernel '%s': --kbuild", t->name)
			  : strdup_printf("kernel '%s': its recorded kbuild directory (kbuild)",
					  t->name);
	hint = g->kbuild ? strdup("")
			 : strdup_printf(": pass --kbuild DIR, or record the right one with "
					 "'tuxtape kernel set-build %s --kbuild DIR'",
					 t->name);
	if (!field || !hint)
		return -ENOMEM;
	r = kernel_kbuild_check(dir, t->release, field, hint);
	if (r < 0)
		return r;
	return dup_or_null(dir, &t->kbuild);
}

static int resolve_symbols(struct kernel_build_target *t, const char *recorded,
			   const char *recorded_sha, const struct kernel_build_given *g)
{
	_cleanup_free_ char *buf = NULL, *field = NULL, *hint = NULL;
	char hex[KERNEL_SYMBOLS_SHA256_LEN];
	size_t len;
	int r;

	if (g->symbols) {
		_cleanup_free_ char *gf = strdup_printf("kernel '%s': --symbols", t->name);

		t->symbols_from = "given";
		if (!gf)
			return -ENOMEM;
		r = kernel_symbols_check(g->symbols, gf, hex);
		if (r < 0)
			return r;
		return dup_or_null(g->symbols, &t->symbols);
	}
	t->symbols_from = "recorded";
	if (!recorded || !recorded_sha)
		return log_error_errno(-ENODATA,
				       "kernel '%s' has no symbol table recorded: pass --symbols "
				       "FILE, or record one with 'tuxtape kernel set-build %s "
				       "--symbols FILE'",
				       t->name, t->name);
	field = strdup_printf("kernel '%s': its recorded symbol table (symbols)", t->name);
	hint = strdup_printf(": pass --symbols FILE, or record it again with 'tuxtape kernel "
			     "set-build %s --symbols FILE'",
			     t->name);
	if (!field || !hint)
		return -ENOMEM;
	r = symbols_read(recorded, field, hint, true, &buf, &len, hex);
	if (r < 0)
		return r == -ENOMEM ? r : r == -EINVAL ? -ESTALE : -ENOENT;
	if (!streq(hex, recorded_sha))
		return log_error_errno(-ESTALE,
				       "kernel '%s': its symbol table '%s' changed since it was "
				       "recorded (symbols_sha256 %.16s..., now %.16s...): pass "
				       "--symbols FILE, or record it again with 'tuxtape kernel "
				       "set-build %s --symbols FILE'",
				       t->name, recorded, recorded_sha, hex, t->name);
	/* The bytes just verified are the bytes the build reads. */
	return target_write(t, "symbols", buf, len, &t->symbols);
}

int kernel_build_target_resolve(struct tt_store *s, const char *name,
				const struct kernel_build_given *given,
				struct kernel_build_target *ret)
{
	static const struct kernel_build_given none = {};
	struct kernel_build_target t = {};
	_cleanup_free_ char *source = NULL, *kbuild = NULL, *symbols = NULL, *sha = NULL,
			    *config = NULL, *source_sha = NULL, *source_version = NULL;
	sqlite3_stmt *st;
	int r;

	if (!given)
		given = &none;
	if (given->source_dir && given->source_tarball)
		return log_error_errno(-EINVAL, "give a source directory or a tarball, not both");
	r = tt_store_prepare(s,
			     "SELECT release, source, kbuild, symbols, symbols_sha256, config, "
			     "source_sha256, source_version FROM kernel WHERE name = ?1",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		if (dup_or_null(column_text(st, 0), &t.release) < 0 ||
		    dup_or_null(column_text(st, 1), &source) < 0 ||
		    dup_or_null(column_text(st, 2), &kbuild) < 0 ||
		    dup_or_null(column_text(st, 3), &symbols) < 0 ||
		    dup_or_null(column_text(st, 4), &sha) < 0 ||
		    dup_or_null(column_text(st, 5), &config) < 0 ||
		    dup_or_null(column_text(st, 6), &source_sha) < 0 ||
		    dup_or_null(column_text(st, 7), &source_version) < 0)
			r = -ENOMEM;
	}
	sqlite3_reset(st);
	if (r == SQLITE_DONE)
		return log_error_errno(
			-ENOENT,
			"no kernel '%s' in the inventory (see 'tuxtape kernel list'; "
			"'tuxtape kernel add' records one)",
			name);
	if (r != SQLITE_ROW) {
		kernel_build_target_release(&t);
		return r < 0 ? r : tt_store_error(s, "reading a kernel");
	}
	t.name = strdup(name);
	if (!t.name || !t.release) {
		r = -ENOMEM;
		goto fail;
	}
	r = resolve_source(&t, source, source_sha, source_version, given);
	if (r < 0)
		goto fail;
	if (given->config) {
		t.config_from = "given";
		r = dup_or_null(given->config, &t.config);
	} else {
		t.config_from = "recorded";
		r = target_write(&t, "config", config, strlen(strempty(config)), &t.config);
	}
	if (r < 0)
		goto fail;
	r = resolve_kbuild(&t, kbuild, given);
	if (r < 0)
		goto fail;
	r = resolve_symbols(&t, symbols, sha, given);
	if (r < 0)
		goto fail;
	*ret = t;
	return 0;
fail:
	kernel_build_target_release(&t);
	return r;
}

/*
 * The running kernel's /proc/kallsyms (PROC) saved to DUMP: vmlinux's lines only, so that
 * loading a module later does not make it another file. Refused (not logged) when the
 * addresses are hidden (kptr_restrict, not root: all zero) or it is not a symbol table.
 */
static int kallsyms_save(const char *proc, const char *dump)
{
	_cleanup_free_ char *buf = NULL, *dir = NULL;
	char hex[KERNEL_SYMBOLS_SHA256_LEN];
	struct strbuf sb = STRBUF_INIT;
	bool nonzero = false;
	size_t len;
	int r;

	r = read_file_capped(proc, SYMBOLS_MAX, &buf, &len);
	if (r < 0)
		return r;
	for (const char *p = buf; p < buf + len && r >= 0;) {
		const char *e = memchr(p, '\n', (size_t)(buf + len - p));
		size_t n = e ? (size_t)(e - p) : (size_t)(buf + len - p);

		if (!memchr(p, '[', n)) {
			size_t z = 0;

			while (z < n && p[z] == '0')
				z++;
			nonzero = nonzero || (z < n && p[z] != ' ');
			r = strbuf_add(&sb, p, n);
			if (r >= 0)
				r = strbuf_addch(&sb, '\n');
		}
		p += n + 1;
	}
	if (r < 0 || !nonzero) {
		strbuf_release(&sb);
		return r < 0 ? r : -EPERM;
	}
	dir = strdup(dump);
	if (!dir) {
		strbuf_release(&sb);
		return -ENOMEM;
	}
	*strrchr(dir, '/') = '\0';
	/* real addresses give away the kernel's KASLR offset: for root's eyes only */
	r = mkdir_p(dir, 0700);
	if (r >= 0)
		r = write_file_atomic(dump, sb.buf, sb.len, 0600);
	strbuf_release(&sb);
	if (r < 0)
		return r;
	r = symbols_read(dump, "", NULL, false, NULL, NULL, hex);
	if (r < 0)
		unlink(dump);
	return r;
}

/*
 * Whether the image at VMLINUZ is the one the running kernel booted from, as far as can be
 * told: it was not written after boot (its change time is before /proc/stat's btime). A
 * package or make install that replaced it under the same release would otherwise file the
 * running kernel's symbols under the new image's digest.
 */
static bool image_since_boot(const char *root, const char *vmlinuz)
{
	_cleanup_free_ char *stat_path = strdup_printf("%s/proc/stat", root ? root : "");
	_cleanup_free_ char *buf = NULL;
	unsigned long long btime = 0;
	const char *p;
	struct stat st;

	if (!stat_path || stat(vmlinuz, &st) < 0 ||
	    read_file_capped(stat_path, 1u << 20, &buf, NULL) < 0)
		return false;
	p = strstr(buf, "\nbtime ");
	if (!p || sscanf(p + 7, "%llu", &btime) != 1 || btime == 0)
		return false;
	return (unsigned long long)st.st_ctim.tv_sec < btime;
}

int kernel_build_find_installed(const char *root, const char *release, const char *cache_dir,
				bool running, char **ret_kbuild, char **ret_symbols)
{
	_cleanup_free_ char *kb = NULL, *map = NULL, *vmlinuz = NULL, *cache = NULL, *dump = NULL,
			    *proc = NULL;
	char hex[KERNEL_SYMBOLS_SHA256_LEN];
	struct stat st;
	int r;

	*ret_kbuild = *ret_symbols = NULL;
	kb = strdup_printf("%s/lib/modules/%s/build", root ? root : "", release);
	map = strdup_printf("%s/boot/System.map-%s", root ? root : "", release);
	vmlinuz = strdup_printf("%s/boot/vmlinuz-%s", root ? root : "", release);
	proc = strdup_printf("%s/proc/kallsyms", root ? root : "");
	if (!kb || !map || !vmlinuz || !proc)
		return -ENOMEM;
	/* Only one that would pass kernel_kbuild_check(): a broken one is simply not found. */
	if (stat(kb, &st) == 0 && S_ISDIR(st.st_mode)) {
		_cleanup_free_ char *rel = NULL;

		r = kbuild_release(kb, &rel);
		if (r == -ENOMEM)
			return r;
		if (r == 0 && streq(rel, release))
			*ret_kbuild = TAKE_PTR(kb);
	}
	if (symbols_read(map, "", NULL, false, NULL, NULL, hex) == 0) {
		*ret_symbols = TAKE_PTR(map);
		return 0;
	}
	/*
	 * A dump of the kernel booted, keyed by its image: tests/e2e/qemu-run.sh writes it, and
	 * so does this function for the running kernel from its /proc/kallsyms.
	 */
	if (access(vmlinuz, R_OK) < 0)
		return 0;
	if (cache_dir)
		cache = strdup(cache_dir);
	else if ((r = tt_path_cache_dir(&cache)) < 0)
		return r;
	if (!cache)
		return -ENOMEM;
	{
		crypto_hash_sha256_state h;
		unsigned char digest[crypto_hash_sha256_BYTES];
		char sum[crypto_hash_sha256_BYTES * 2 + 1];

		crypto_hash_sha256_init(&h);
		if (tt_file_sha256_update(&h, vmlinuz) < 0)
			return 0;
		crypto_hash_sha256_final(&h, digest);
		sodium_bin2hex(sum, sizeof(sum), digest, sizeof(digest));
		dump = strdup_printf("%s/kallsyms/%s-%.16s", cache, release, sum);
	}
	if (!dump)
		return -ENOMEM;
	if (symbols_read(dump, "", NULL, false, NULL, NULL, hex) == 0 ||
	    (running && image_since_boot(root, vmlinuz) && kallsyms_save(proc, dump) == 0))
		*ret_symbols = TAKE_PTR(dump);
	return 0;
}
