/* Unit tests for reading the file headers of unified diffs (src/lib/livepatch/patchset.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/patchset.h"

static struct lp_patchset *parse(const char *text, int *ret)
{
	struct lp_patchset *ps = lp_patchset_new();

	assert_non_null(ps);
	*ret = lp_patchset_add_text(ps, "test.patch", text, strlen(text));
	return ps;
}

static void test_git_diff(void **state)
{
	static const char text[] = "From 1234 Mon Sep 17 00:00:00 2001\n"
				   "Subject: [PATCH] fix\n"
				   "---\n"
				   " fs/proc/cmdline.c | 1 +\n"
				   "diff --git a/fs/proc/cmdline.c b/fs/proc/cmdline.c\n"
				   "index 1..2 100644\n"
				   "--- a/fs/proc/cmdline.c\n"
				   "+++ b/fs/proc/cmdline.c\n"
				   "@@ -1,3 +1,4 @@\n"
				   " a\n"
				   "+b\n"
				   " c\n"
				   " d\n"
				   "diff --git a/include/linux/x.h b/include/linux/x.h\n"
				   "--- a/include/linux/x.h\n"
				   "+++ b/include/linux/x.h\n"
				   "@@ -1 +1 @@\n"
				   "-old\n"
				   "+new\n"
				   "-- \n"
				   "2.39.5\n";
	int r;
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = parse(text, &r);

	assert_int_equal(r, 0);
	assert_int_equal(ps->npatches, 1);
	assert_int_equal(ps->nfiles, 2);
	assert_string_equal(ps->files[0].path, "fs/proc/cmdline.c");
	assert_false(ps->files[0].created);
	assert_string_equal(ps->files[1].path, "include/linux/x.h");
}

/* Removed lines that start with "-- " and added ones with "++ " are hunk content. */
static void test_hunk_lines_that_look_like_headers(void **state)
{
	static const char text[] = "--- a/lib/x.c\t2024-01-01 00:00:00\n"
				   "+++ b/lib/x.c\t2024-01-02 00:00:00\n"
				   "@@ -1,2 +1,2 @@\n"
				   "--- not a header\n"
				   "+++ not a header either\n"
				   " ctx\n";
	int r;
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = parse(text, &r);

	assert_int_equal(r, 0);
	assert_int_equal(ps->nfiles, 1);
	assert_string_equal(ps->files[0].path, "lib/x.c");
}

static void test_created_deleted_renamed(void **state)
{
	static const char text[] = "--- /dev/null\n"
				   "+++ b/kernel/new.h\n"
				   "@@ -0,0 +1 @@\n"
				   "+x\n"
				   "--- a/kernel/gone.c\n"
				   "+++ /dev/null\n"
				   "@@ -1 +0,0 @@\n"
				   "-x\n"
				   "--- a/mm/old.c\n"
				   "+++ b/mm/new.c\n"
				   "@@ -1 +1 @@\n"
				   "-x\n"
				   "+y\n";
	int r;
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = parse(text, &r);

	assert_int_equal(r, 0);
	assert_int_equal(ps->nfiles, 4);
	assert_string_equal(ps->files[0].path, "kernel/new.h");
	assert_true(ps->files[0].created);
	assert_string_equal(ps->files[1].path, "kernel/gone.c");
	assert_true(ps->files[1].deleted);
	assert_string_equal(ps->files[2].path, "mm/new.c");
	assert_true(ps->files[2].renamed);
	assert_string_equal(ps->files[3].path, "mm/old.c");
	assert_true(ps->files[3].deleted);
}

static void test_refusals(void **state)
{
	static const char *const bad[] = {
		"no headers at all\n",
		"--- a/../etc/passwd\n+++ b/../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n",
		"--- a/x/../../y.c\n+++ b/x/../../y.c\n@@ -1 +1 @@\n-a\n+b\n",
		"--- /dev/null\n+++ /dev/null\n",
		"--- nocomponent\n+++ nocomponent\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r;
		_cleanup_(lp_patchset_freep) struct lp_patchset *ps = parse(bad[i], &r);

		assert_int_equal(r, -EBADMSG);
	}
}

/* Two patches touching the same file list it once. */
static void test_two_patches(void **state)
{
	static const char p1[] = "--- a/a.c\n+++ b/a.c\n@@ -1 +1 @@\n-a\n+b\n";
	static const char p2[] = "--- a/a.c\n+++ b/a.c\n@@ -1 +1 @@\n-b\n+c\n"
				 "--- a/b.c\n+++ b/b.c\n@@ -1 +1 @@\n-a\n+b\n";
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = lp_patchset_new();

	assert_int_equal(lp_patchset_add_text(ps, "1", p1, strlen(p1)), 0);
	assert_int_equal(lp_patchset_add_text(ps, "2", p2, strlen(p2)), 0);
	assert_int_equal(ps->npatches, 2);
	assert_int_equal(ps->nfiles, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_git_diff),
		cmocka_unit_test(test_hunk_lines_that_look_like_headers),
		cmocka_unit_test(test_created_deleted_renamed),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_two_patches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
