/*
 * Unit tests for the direct pack reader: every object of a repository the test builds (with
 * OFS_DELTA and REF_DELTA packs, chains, and a large file whose deltas copy 64 KiB runs) must
 * read back exactly as libgit2 reads it; damaged packs and indexes must never give wrong
 * bytes. All objects of the real vulns repository are compared too when its bundle is there.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <git2.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "git/pack.h"
#include "macro.h"
#include "strbuf.h"

static char dir[] = "/tmp/tt-pack-XXXXXX";

static void sh(const char *fmt, ...) _printf_(1, 2);
static void sh(const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL;
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	assert_int_equal(strbuf_vaddf(&sb, fmt, ap), 0);
	va_end(ap);
	cmd = strbuf_detach(&sb);
	assert_int_equal(system(cmd), 0);
}

/* A repository with twelve commits of forty similar files and one large file, repacked. */
static void make_repo(const char *path, bool ofs_delta)
{
	_cleanup_free_ char *work = strdup_printf("%s.work", path);
	_cleanup_free_ char *big = strdup_printf("%s/big.txt", work);

	sh("git init -q '%s' && git -C '%s' config user.email t@example.org && "
	   "git -C '%s' config user.name t",
	   work, work, work);
	for (int round = 0; round < 12; round++) {
		for (int f = 0; f < 40; f++) {
			_cleanup_free_ char *file = strdup_printf("%s/f%02d.json", work, f);
			struct strbuf sb = STRBUF_INIT;

			for (int line = 0; line < 300; line++)
				assert_int_equal(strbuf_addf(&sb, "{\"line\": %d, \"file\": %d, \"r\": %d}\n",
							     line, f, line % 37 == f ? round : 0),
						 0);
			assert_int_equal(write_file_atomic(file, sb.buf, sb.len, 0644), 0);
			strbuf_release(&sb);
		}
		{
			struct strbuf sb = STRBUF_INIT;

			for (int line = 0; line < 20000; line++)
				assert_int_equal(strbuf_addf(&sb, "%06d %s\n", line,
							     line == 10000 + round ? "changed" : "same"),
						 0);
			assert_int_equal(write_file_atomic(big, sb.buf, sb.len, 0644), 0);
			strbuf_release(&sb);
		}
		sh("git -C '%s' add -A && git -C '%s' commit -q -m 'round %d'", work, work, round);
	}
	sh("git clone -q --bare '%s' '%s' && git -C '%s' -c repack.useDeltaBaseOffset=%s "
	   "repack -q -a -d -f --depth=20 --window=50",
	   work, path, path, ofs_delta ? "true" : "false");
}

struct compare {
	git_odb *odb;
	const struct tt_packs *packs;
	struct tt_pack_cursor *cursor;
	size_t objects, direct;
};

static int compare_one(const git_oid *oid, void *payload)
{
	struct compare *c = payload;
	enum tt_pack_type type;
	const char *data;
	size_t len;
	git_odb_object *obj = NULL;
	int r;

	c->objects++;
	r = tt_pack_read(c->packs, c->cursor, oid->id, &type, &data, &len);
	assert_true(r == 0 || r == 1);
	if (r == 0)
		return 0;
	c->direct++;
	assert_int_equal(git_odb_read(&obj, c->odb, oid), 0);
	assert_int_equal((int)type, (int)git_odb_object_type(obj));
	assert_int_equal(len, git_odb_object_size(obj));
	assert_memory_equal(data, git_odb_object_data(obj), len);
	git_odb_object_free(obj);
	return 0;
}

/*
 * Compares every object of the bare repository at PATH, as libgit2 reads it, with what the
 * packs under PACKS_FROM (a repository, PATH itself or a damaged copy) give directly, PASSES
 * times (a second pass reads bases from the cursor's cache); returns how many were read
 * directly per pass.
 */
static size_t compare_all(const char *path, const char *packs_from, int passes,
			  size_t *ret_objects)
{
	_cleanup_free_ char *objects = strdup_printf("%s/objects", packs_from);
	struct compare c = {};
	git_repository *repo = NULL;
	struct tt_packs *packs = NULL;

	assert_int_equal(git_repository_open(&repo, path), 0);
	assert_int_equal(git_repository_odb(&c.odb, repo), 0);
	assert_int_equal(tt_packs_open(objects, &packs), 0);
	assert_int_equal(tt_pack_cursor_new(&c.cursor), 0);
	c.packs = packs;
	for (int pass = 0; pass < passes; pass++)
		assert_int_equal(git_odb_foreach(c.odb, compare_one, &c), 0);
	tt_pack_cursor_free(c.cursor);
	tt_packs_free(packs);
	git_odb_free(c.odb);
	git_repository_free(repo);
	if (ret_objects)
		*ret_objects = c.objects / passes;
	return c.direct / passes;
}

/* How many objects `git verify-pack` counts in delta chains of at least MIN links. */
static size_t deltas_in(const char *path, int min)
{
	_cleanup_free_ char *cmd = strdup_printf(
		"git verify-pack -s '%s'/objects/pack/pack-*.idx | "
		"awk '/^chain length/ && $4 + 0 >= %d { n += $(NF-1) } END { print n + 0 }'",
		path, min);
	FILE *f = popen(cmd, "r");
	unsigned long n = 0;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lu", &n), 1);
	pclose(f);
	return n;
}

static void check_repo(bool ofs_delta)
{
	_cleanup_free_ char *path = strdup_printf("%s/%s.git", dir, ofs_delta ? "ofs" : "ref");
	size_t objects = 0, direct;

	make_repo(path, ofs_delta);
	assert_true(deltas_in(path, 1) >= 100);
	assert_true(deltas_in(path, 3) >= 20); /* intermediate links come from the cache */
	direct = compare_all(path, path, 2, &objects);
	/* commits, trees and blobs: all of them in the one pack */
	assert_true(objects >= 200);
	assert_int_equal(direct, objects);
}

static void test_ofs_delta(void **state)
{
	check_repo(true);
}

static void test_ref_delta(void **state)
{
	check_repo(false);
}

static void test_no_packs(void **state)
{
	_cleanup_free_ char *objects = strdup_printf("%s/empty/objects", dir);
	struct tt_packs *packs = NULL;
	struct tt_pack_cursor *c = NULL;
	unsigned char oid[TT_PACK_OID_LEN] = { 1, 2, 3 };
	enum tt_pack_type type;
	const char *data;
	size_t len;

	assert_int_equal(mkdir_p(objects, 0755), 0);
	assert_int_equal(tt_packs_open(objects, &packs), 0);
	assert_int_equal(tt_packs_count(packs), 0);
	assert_int_equal(tt_pack_cursor_new(&c), 0);
	assert_int_equal(tt_pack_read(packs, c, oid, &type, &data, &len), 0);
	assert_int_equal(tt_pack_read(NULL, c, oid, &type, &data, &len), 0);
	tt_pack_cursor_free(c);
	tt_packs_free(packs);
}

static void corrupt(const char *path, long offset, size_t n)
{
	int fd = open(path, O_WRONLY);
	char junk[64];

	assert_true(fd >= 0);
	assert_true(n <= sizeof(junk));
	memset(junk, 0x5a, n);
	assert_int_equal(pwrite(fd, junk, n, offset), (ssize_t)n);
	close(fd);
}

static char *only_file(const char *pattern)
{
	glob_t g = {};
	char *r;

	assert_int_equal(glob(pattern, 0, NULL, &g), 0);
	assert_int_equal(g.gl_pathc, 1);
	r = strdup(g.gl_pathv[0]);
	globfree(&g);
	return r;
}

/*
 * Damage anywhere in a pack must give "not here" (libgit2 then reports it), never other bytes:
 * every object read directly must equal what the intact repository held.
 */
static void test_damaged(void **state)
{
	_cleanup_free_ char *good = strdup_printf("%s/ofs.git", dir);
	_cleanup_free_ char *bad = strdup_printf("%s/damaged.git", dir);
	_cleanup_free_ char *pattern = strdup_printf("%s/objects/pack/pack-*.pack", bad);
	_cleanup_free_ char *pack = NULL, *idx = NULL;
	struct stat st;

	if (access(good, F_OK) != 0)
		make_repo(good, true);
	for (int step = 1; step < 24; step++) {
		size_t direct;
		long at;

		rm_rf(bad);
		sh("cp -r '%s' '%s'", good, bad);
		free(pack);
		pack = only_file(pattern);
		assert_int_equal(stat(pack, &st), 0);
		at = (long)(st.st_size * step / 24);
		corrupt(pack, at, 16);
		if (step == 23) {
			/* and a truncated index */
			free(idx);
			idx = strdup(pack);
			strcpy(idx + strlen(idx) - 4, "idx");
			assert_int_equal(truncate(idx, 600), 0);
		}
		/* Compare against the intact repository's objects. */
		direct = compare_all(good, bad, 1, NULL);
		if (step == 23)
			assert_int_equal(direct, 0);
	}
}

/*
 * Every object of a real repository: $TT_GIT_REPO, or a clone of the vulns bundle from
 * $TUXTAPE_SHARED or ../shared beside the source tree when there is one.
 */
static void test_real_repository(void **state)
{
	const char *path = getenv("TT_GIT_REPO");
	_cleanup_free_ char *gitdir = NULL, *src = strdup(__FILE__), *bundle = NULL;
	_cleanup_free_ char *clone = strdup_printf("%s/vulns", dir);
	size_t objects = 0, direct;

	if (!path) {
		const char *shared = getenv("TUXTAPE_SHARED");
		char *slash = strrchr(src, '/');

		if (slash)
			*slash = '\0';
		bundle = shared ? strdup_printf("%s/data/vulns-cve-data.bundle", shared)
				: strdup_printf("%s/../../../shared/data/vulns-cve-data.bundle",
						slash ? src : ".");
		if (access(bundle, R_OK) != 0) {
			skip();
			return;
		}
		sh("git clone -q --bare '%s' '%s'", bundle, clone);
		path = clone;
	}
	gitdir = strdup_printf("%s/.git", path);
	path = access(gitdir, F_OK) == 0 ? gitdir : path;
	direct = compare_all(path, path, 1, &objects);
	print_message("%zu objects, %zu read directly\n", objects, direct);
	assert_true(objects > 0);
	assert_int_equal(direct, objects);
}

static int setup(void **state)
{
	git_libgit2_init();
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	git_libgit2_shutdown();
	return rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ofs_delta),
		cmocka_unit_test(test_ref_delta),
		cmocka_unit_test(test_no_packs),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_real_repository),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
