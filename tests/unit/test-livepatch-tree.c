/*
 * Unit tests for prepared trees and per-patch compiles (src/lib/livepatch/tree.c) on a tiny
 * fake kernel tree whose makefiles answer the same targets kbuild does, so they run in
 * milliseconds without the kernel packages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "livepatch/patchset.h"
#include "livepatch/tree.h"
#include "strbuf.h"

static char root[] = "/tmp/tt-lp-tree-XXXXXX";

static void put(const char *rel, const char *text)
{
	_cleanup_free_ char *p = path_join(root, rel);
	char *slash;

	assert_non_null(p);
	slash = strrchr(p, '/');
	*slash = '\0';
	assert_int_equal(mkdir_p(p, 0755), 0);
	*slash = '/';
	assert_int_equal(write_file_atomic(p, text, strlen(text), 0644), 0);
}

static char *get(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = path_join(dir, rel);
	char *buf = NULL;

	if (read_file_capped(p, 1 << 20, &buf, NULL) < 0)
		return NULL;
	return buf;
}

/*
 * The fake tree: "olddefconfig" and "modules_prepare" leave marks, "%.o" compiles with
 * $(CC) $(KCFLAGS) and writes a kbuild-like .cmd file; scripts/Makefile.build reads a
 * directory's Kbuild file, which sets real-obj-y / real-obj-m directly.
 */
static int setup(void **state)
{
	assert_non_null(mkdtemp(root));
	put("src/Makefile",
	    "olddefconfig:\n\tmkdir -p include/config && cp .config include/config/auto.conf\n"
	    "modules_prepare:\n\ttouch prepared\n"
	    "%.o: %.c\n"
	    "\t$(CC) $(KCFLAGS) -c -o $@ $<\n"
	    "\techo \"cmd_$@ := $(CC) $(KCFLAGS) -DKBUILD_MODNAME='\\\"$(notdir $*)\\\"' -c -o "
	    "$@ $<\" > $(dir $@).$(notdir $@).cmd\n");
	put("src/scripts/Makefile.build", "include $(obj)/Kbuild\n");
	put("src/drv/Kbuild", "real-obj-y := drv/a.o drv/b.o\nreal-obj-m := drv/m.o\n");
	put("src/drv/a.c", "int a_value(void)\n{\n\treturn 1;\n}\n");
	put("src/drv/b.c", "#include \"common.h\"\nint b_value(void)\n{\n\treturn COMMON;\n}\n");
	put("src/drv/c.c", "#include \"common.h\"\nint c_value(void)\n{\n\treturn COMMON;\n}\n");
	put("src/drv/m.c", "int m_value(void)\n{\n\treturn 3;\n}\n");
	put("src/drv/common.h", "#define COMMON 2\n");
	put("config", "CONFIG_CC_VERSION_TEXT=\"gcc (test)\"\nCONFIG_X=y\n");
	put("a.patch", "--- a/drv/a.c\n+++ b/drv/a.c\n@@ -1,4 +1,4 @@\n int a_value(void)\n"
		       " {\n-\treturn 1;\n+\treturn 11;\n }\n");
	put("h.patch", "--- a/drv/common.h\n+++ b/drv/common.h\n@@ -1 +1 @@\n"
		       "-#define COMMON 2\n+#define COMMON 22\n");
	put("m.patch", "--- a/drv/m.c\n+++ b/drv/m.c\n@@ -1,4 +1,4 @@\n int m_value(void)\n"
		       " {\n-\treturn 3;\n+\treturn 33;\n }\n");
	put("bad.patch", "--- a/drv/a.c\n+++ b/drv/a.c\n@@ -1,4 +1,4 @@\n int a_value(void)\n"
			 " {\n-\treturn 7;\n+\treturn 8;\n }\n");
	put("kbuild.patch", "--- a/drv/Kbuild\n+++ b/drv/Kbuild\n@@ -1 +1 @@\n-x\n+y\n");
	put("doc.patch", "--- a/README\n+++ b/README\n@@ -0,0 +1 @@\n+x\n");
	return 0;
}

static int teardown(void **state)
{
	rm_rf(root);
	return 0;
}

static struct lp_tree *prepare(bool expect_cached)
{
	_cleanup_free_ char *src = path_join(root, "src"), *cfg = path_join(root, "config");
	_cleanup_free_ char *cache = path_join(root, "cache");
	struct lp_tree_opts o = {.source_dir = src, .config = cfg, .cache_dir = cache, .jobs = 1};
	struct lp_tree *t = NULL;

	assert_int_equal(lp_tree_prepare(&o, &t), 0);
	assert_non_null(t);
	assert_int_equal(t->cached, expect_cached);
	return t;
}

static struct lp_patchset *patches(const char *name)
{
	_cleanup_free_ char *p = path_join(root, name);
	struct lp_patchset *ps = lp_patchset_new();

	assert_int_equal(lp_patchset_add_file(ps, p), 0);
	return ps;
}

static void test_prepare_once(void **state)
{
	_cleanup_(lp_tree_freep) struct lp_tree *t1 = NULL, *t2 = NULL;
	_cleanup_free_ char *mark = NULL, *conf = NULL;

	/* The first test prepares; every later prepare finds it cached. */
	t1 = prepare(false);
	mark = path_join(t1->path, "prepared");
	assert_int_equal(access(mark, F_OK), 0);
	conf = get(t1->path, "include/config/auto.conf");
	assert_non_null(conf);
	assert_non_null(strstr(conf, "CONFIG_X=y"));
	assert_string_equal(t1->cc, "gcc");
	t2 = prepare(true);
	assert_string_equal(t1->path, t2->path);
}

static void test_compile_changed_c(void **state)
{
	_cleanup_(lp_tree_freep) struct lp_tree *t = prepare(true);
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = patches("a.patch");
	_cleanup_(lp_tu_set_freep) struct lp_tu_set *s = NULL;
	_cleanup_free_ char *out = path_join(root, "out-a"), *src = NULL, *orig = NULL;
	_cleanup_free_ char *patched = NULL;
	struct stat st1, st2;

	assert_int_equal(lp_tree_compile(t, ps, out, &s), 0);
	assert_int_equal(s->ntus, 1);
	assert_string_equal(s->tus[0].source, "drv/a.c");
	assert_string_equal(s->tus[0].why, "changed");
	assert_null(s->tus[0].module);
	assert_int_equal(stat(s->tus[0].orig_obj, &st1), 0);
	assert_int_equal(stat(s->tus[0].patched_obj, &st2), 0);
	orig = get("/", s->tus[0].orig_obj);
	patched = get("/", s->tus[0].patched_obj);
	/* The tree is back as it was: source unpatched, no journal left. */
	src = get(t->path, "drv/a.c");
	assert_non_null(strstr(src, "return 1;"));
	assert_null(get(t->path, "../journal/list"));
}

static void test_header_brings_includers(void **state)
{
	_cleanup_(lp_tree_freep) struct lp_tree *t = prepare(true);
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = patches("h.patch");
	_cleanup_(lp_tu_set_freep) struct lp_tu_set *s = NULL;
	_cleanup_free_ char *out = path_join(root, "out-h"), *h = NULL;

	assert_int_equal(lp_tree_compile(t, ps, out, &s), 0);
	/* c.c includes the header too but is not built with this config. */
	assert_int_equal(s->ntus, 1);
	assert_string_equal(s->tus[0].source, "drv/b.c");
	assert_string_equal(s->tus[0].why, "includes drv/common.h");
	assert_int_equal(s->nheaders, 1);
	h = get(t->path, "drv/common.h");
	assert_string_equal(h, "#define COMMON 2\n");
}

static void test_module_object(void **state)
{
	_cleanup_(lp_tree_freep) struct lp_tree *t = prepare(true);
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = patches("m.patch");
	_cleanup_(lp_tu_set_freep) struct lp_tu_set *s = NULL;
	_cleanup_free_ char *out = path_join(root, "out-m");

	assert_int_equal(lp_tree_compile(t, ps, out, &s), 0);
	assert_int_equal(s->ntus, 1);
	assert_string_equal(s->tus[0].module, "m");
}

static void test_refusals(void **state)
{
	_cleanup_(lp_tree_freep) struct lp_tree *t = prepare(true);
	_cleanup_free_ char *out = path_join(root, "out-x"), *src = NULL;
	struct lp_tu_set *s = NULL;

	{
		_cleanup_(lp_patchset_freep) struct lp_patchset *ps = patches("bad.patch");

		assert_int_equal(lp_tree_compile(t, ps, out, &s), -EBADMSG);
		src = get(t->path, "drv/a.c");
		assert_non_null(strstr(src, "return 1;"));
	}
	{
		_cleanup_(lp_patchset_freep) struct lp_patchset *ps = patches("kbuild.patch");

		assert_int_equal(lp_tree_compile(t, ps, out, &s), -EOPNOTSUPP);
	}
	{
		_cleanup_(lp_patchset_freep) struct lp_patchset *ps = patches("doc.patch");

		assert_int_equal(lp_tree_compile(t, ps, out, &s), 0);
		assert_int_equal(s->ntus, 0);
		assert_int_equal(s->nskipped, 1);
		lp_tu_set_free(s);
	}
}

/* A journal left by a crash is undone before the next compile. */
static void test_crash_recovery(void **state)
{
	_cleanup_(lp_tree_freep) struct lp_tree *t = prepare(true);
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = patches("doc.patch");
	_cleanup_(lp_tu_set_freep) struct lp_tu_set *s = NULL;
	_cleanup_free_ char *work = strdup(t->path), *out = path_join(root, "out-c");
	_cleanup_free_ char *jfiles = NULL, *a = NULL, *stray = NULL;

	*strrchr(work, '/') = '\0';
	jfiles = strdup_printf("%s/journal/files/drv", work);
	assert_int_equal(mkdir_p(jfiles, 0755), 0);
	a = strdup_printf("%s/journal/files/drv/a.c", work);
	assert_int_equal(write_file_atomic(a, "int a_value(void)\n{\n\treturn 1;\n}\n", 33, 0644),
			 0);
	stray = strdup_printf("%s/journal/list", work);
	assert_int_equal(write_file_atomic(stray, "B drv/a.c\nC drv/new.c\n", 22, 0644), 0);
	put("src/../cache-dummy", ""); /* keep put() honest about directories */
	{
		_cleanup_free_ char *p = path_join(t->path, "drv/a.c"),
				    *n = path_join(t->path, "drv/new.c");

		assert_int_equal(write_file_atomic(p, "patched\n", 8, 0644), 0);
		assert_int_equal(write_file_atomic(n, "new\n", 4, 0644), 0);
		assert_int_equal(lp_tree_compile(t, ps, out, &s), 0);
		assert_int_equal(access(n, F_OK), -1);
	}
	{
		_cleanup_free_ char *src = get(t->path, "drv/a.c");

		assert_non_null(strstr(src, "return 1;"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prepare_once),
		cmocka_unit_test(test_compile_changed_c),
		cmocka_unit_test(test_header_brings_includers),
		cmocka_unit_test(test_module_object),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_crash_recovery),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
