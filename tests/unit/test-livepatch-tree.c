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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "livepatch/patchset.h"
#include "livepatch/pristine.h"
#include "log.h"
#include "livepatch/tree.h"
#include "livepatch/tree-internal.h"
#include "livepatch/workdir.h"
#include "strbuf.h"

static char root[] = "/tmp/tt-lp-tree-XXXXXX";
static struct strbuf logged = STRBUF_INIT; /* what the library logged, for the assertions */

static void capture(enum tt_log_level level, const char *msg, void *userdata)
{
	strbuf_addf(&logged, "%s\n", msg);
	if (getenv("TT_TEST_VERBOSE"))
		fprintf(stderr, "log: %s\n", msg);
}

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
 * $(CC) $(KCFLAGS) and writes a kbuild-like .cmd file; the Kbuild files are real enough for
 * the static Kbuild evaluation (kernel/fileset.h) to say what is built, and into what.
 */
static int setup(void **state)
{
	assert_non_null(mkdtemp(root));
	put("src/Makefile",
	    "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\n"
	    "olddefconfig:\n\tgrep -q DEFAULTED .config || echo CONFIG_DEFAULTED=y >> .config\n"
	    "\tmkdir -p include/config && cp .config include/config/auto.conf\n"
	    "modules_prepare:\n\ttouch prepared\n"
	    "%.o: %.c\n"
	    "\t$(CC) $(KCFLAGS) -Werror=implicit-function-declaration -c -o $@ $<\n"
	    "\techo \"cmd_$@ := $(CC) $(KCFLAGS) -Werror=implicit-function-declaration "
	    "-DKBUILD_MODNAME='\\\"$(notdir $*)\\\"' -c -o "
	    "$@ $<\" > $(dir $@).$(notdir $@).cmd\n");
	put("src/scripts/Makefile.build", "# not read\n");
	put("src/Kbuild", "obj-y += drv/ drv2/ drv3/\n");
	put("src/drv3/Makefile", "obj-y += p.o q.o r.o\n");
	put("src/drv3/three.h", "#define THREE 3\n");
	put("src/drv3/p.c", "#include \"three.h\"\nint p_value(void) { return THREE; }\n");
	put("src/drv3/q.c", "#include \"three.h\"\nint q_value(void) { return THREE; }\n");
	put("src/drv3/r.c", "#include \"three.h\"\nint r_value(void) { return THREE; }\n");
	put("src/drv2/Makefile", "obj-y += x.o y.o\n");
	put("src/drv2/x.c", "int x_value(void)\n{\n\treturn 5;\n}\n");
	put("src/drv2/y.c", "#include \"x.c\"\nint y_value(void)\n{\n\treturn x_value();\n}\n");
	put("src/include/linux/kconfig.h", "#include \"kconfig-extra.h\"\n");
	put("src/include/linux/kconfig-extra.h", "#define KX 1\n");
	put("src/arch/x86/Makefile", "BITS := 64\n");
	put("src/drv/Makefile", "obj-y += a.o b.o\nobj-$(CONFIG_M) += m.o\n");
	put("src/drv/a.c", "int a_value(void)\n{\n\treturn 1;\n}\n");
	put("src/drv/b.c", "#include \"common.h\"\nint b_value(void)\n{\n\treturn COMMON;\n}\n");
	put("src/drv/c.c", "#include \"common.h\"\nint c_value(void)\n{\n\treturn COMMON;\n}\n");
	put("src/drv/m.c", "int m_value(void)\n{\n\treturn 3;\n}\n");
	put("src/drv/common.h", "#define COMMON 2\n");
	put("config", "CONFIG_CC_VERSION_TEXT=\"gcc (test)\"\nCONFIG_X=y\nCONFIG_M=m\n");
	put("a.patch", "--- a/drv/a.c\n+++ b/drv/a.c\n@@ -1,4 +1,4 @@\n int a_value(void)\n"
		       " {\n-\treturn 1;\n+\treturn 11;\n }\n");
	put("h.patch", "--- a/drv/common.h\n+++ b/drv/common.h\n@@ -1 +1 @@\n"
		       "-#define COMMON 2\n+#define COMMON 22\n");
	put("m.patch", "--- a/drv/m.c\n+++ b/drv/m.c\n@@ -1,4 +1,4 @@\n int m_value(void)\n"
		       " {\n-\treturn 3;\n+\treturn 33;\n }\n");
	put("bad.patch", "--- a/drv/a.c\n+++ b/drv/a.c\n@@ -1,4 +1,4 @@\n int a_value(void)\n"
			 " {\n-\treturn 7;\n+\treturn 8;\n }\n");
	put("kbuild.patch", "--- a/drv/Makefile\n+++ b/drv/Makefile\n@@ -1,2 +1,2 @@\n"
			    "-obj-y += a.o b.o\n+obj-y += a.o b.o c.o\n obj-$(CONFIG_M) += m.o\n");
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
	/* A preparation killed half-way left its directory: the next use removes it. */
	{
		_cleanup_free_ char *rel =
			strdup_printf("cache/trees/%s.1.99999/linux/big", t1->key);
		_cleanup_free_ char *dir =
			strdup_printf("%s/cache/trees/%s.1.99999", root, t1->key);
		_cleanup_(lp_tree_freep) struct lp_tree *t3 = NULL;

		put(rel, "1.4 GB of kernel source");
		t3 = prepare(true);
		assert_int_equal(access(dir, F_OK), -1);
		assert_int_equal(access(t3->path, F_OK), 0);
	}
}

static void test_compile_changed_c(void **state)
{
	_cleanup_(lp_tree_freep) struct lp_tree *t = prepare(true);
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = patches("a.patch");
	_cleanup_(lp_tu_set_freep) struct lp_tu_set *s = NULL;
	_cleanup_free_ char *out = path_join(root, "out-a"), *src = NULL, *orig = NULL;
	_cleanup_free_ char *patched = NULL;
	struct stat st1, st2;

	assert_int_equal(lp_tree_compile(t, ps, NULL, out, &s), 0);
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

	assert_int_equal(lp_tree_compile(t, ps, NULL, out, &s), 0);
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

	assert_int_equal(lp_tree_compile(t, ps, NULL, out, &s), 0);
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

		assert_int_equal(lp_tree_compile(t, ps, NULL, out, &s), -EBADMSG);
		src = get(t->path, "drv/a.c");
		assert_non_null(strstr(src, "return 1;"));
	}
	{
		_cleanup_(lp_patchset_freep) struct lp_patchset *ps = patches("kbuild.patch");

		assert_int_equal(lp_tree_compile(t, ps, NULL, out, &s), -EOPNOTSUPP);
	}
	{
		_cleanup_(lp_patchset_freep) struct lp_patchset *ps = patches("doc.patch");

		assert_int_equal(lp_tree_compile(t, ps, NULL, out, &s), 0);
		assert_int_equal(s->ntus, 0);
		assert_int_equal(s->nskipped, 1);
		lp_tu_set_free(s);
	}
}

/* A journal left by a crash is undone before the next compile, and objects are removed. */
static void test_crash_recovery(void **state)
{
	_cleanup_(lp_tree_freep) struct lp_tree *t = prepare(true);
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = patches("doc.patch");
	_cleanup_(lp_tu_set_freep) struct lp_tu_set *s = NULL;
	_cleanup_free_ char *work = strdup(t->path), *out = path_join(root, "out-c");
	_cleanup_free_ char *jfiles = NULL, *a = NULL, *list = NULL, *text = NULL;
	char digest[LP_DIGEST_HEX];

	*strrchr(work, '/') = '\0';
	jfiles = strdup_printf("%s/journal/files/drv", work);
	assert_int_equal(mkdir_p(jfiles, 0755), 0);
	a = strdup_printf("%s/journal/files/drv/a.c", work);
	assert_int_equal(write_file_atomic(a, "int a_value(void)\n{\n\treturn 1;\n}\n", 33, 0644),
			 0);
	assert_int_equal(lp_file_digest(a, digest), 0);
	list = strdup_printf("%s/journal/list", work);
	text = strdup_printf("B %s drv/a.c\nC drv/new.c\nO drv/a.o\n", digest);
	assert_int_equal(write_file_atomic(list, text, strlen(text), 0644), 0);
	{
		_cleanup_free_ char *p = path_join(t->path, "drv/a.c"),
				    *n = path_join(t->path, "drv/new.c"),
				    *o = path_join(t->path, "drv/a.o");

		assert_int_equal(write_file_atomic(p, "patched\n", 8, 0644), 0);
		assert_int_equal(write_file_atomic(n, "new\n", 4, 0644), 0);
		assert_int_equal(write_file_atomic(o, "stale object\n", 13, 0644), 0);
		assert_int_equal(lp_tree_compile(t, ps, NULL, out, &s), 0);
		assert_int_equal(access(n, F_OK), -1);
		assert_int_equal(access(o, F_OK), -1);
	}
	{
		_cleanup_free_ char *src = get(t->path, "drv/a.c");

		assert_non_null(strstr(src, "return 1;"));
	}
}

/* Runs PATCH_TEXT through lp_tree_compile(); the tree must be pristine afterwards. */
static int compile_text(const char *name, const char *patch_text, bool allow_fuzz,
			struct lp_tu_set **ret)
{
	_cleanup_(lp_tree_freep) struct lp_tree *t = prepare(true);
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = lp_patchset_new();
	_cleanup_free_ char *p = path_join(root, name), *out = path_join(root, "out-t");
	_cleanup_free_ char *a = NULL, *b = NULL, *h = NULL, *mk = NULL;
	struct lp_compile_opts o = {.allow_fuzz = allow_fuzz};
	int r;

	put(name, patch_text);
	strbuf_reset(&logged);
	assert_int_equal(lp_patchset_add_file(ps, p), 0);
	r = lp_tree_compile(t, ps, &o, out, ret);
	a = get(t->path, "drv/a.c");
	b = get(t->path, "drv/b.c");
	h = get(t->path, "drv/common.h");
	mk = get(t->path, "drv/Makefile");
	assert_string_equal(a, "int a_value(void)\n{\n\treturn 1;\n}\n");
	assert_non_null(b);
	assert_string_equal(h, "#define COMMON 2\n");
	assert_string_equal(mk, "obj-y += a.o b.o\nobj-$(CONFIG_M) += m.o\n");
	assert_null(get(t->path, "drv/a2.c"));
	assert_null(get(t->path, "drv/new.h"));
	assert_null(get(t->path, "../journal/list"));
	assert_null(get(t->path, "../BROKEN"));
	return r;
}

#define A_HUNK "@@ -1,4 +1,4 @@\n int a_value(void)\n {\n-\treturn 1;\n+\treturn 11;\n }\n"
#define BAD_HUNK(body) "@@ -1,4 +1,4 @@\n int a_value(void)\n {\n-\treturn 1;\n+" body "\n }\n"

/* A patch that does not compile is an error, never "no change"; also beside a good file. */
static void test_compile_errors(void **state)
{
	/* The added lines of drv/a.c's hunk, each "+..." */
	static const char *const bodies[] = {
		"+\treturn 11 +;\n",
		"+\treturn undeclared_function();\n",
		"+\treturn undeclared_variable;\n",
		"+#include \"does-not-exist.h\"\n+\treturn 1;\n",
		"+#error broken\n+\treturn 1;\n",
	};
	struct lp_tu_set *s = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		int added = 0;
		_cleanup_free_ char *text = NULL, *mixed = NULL;

		for (const char *c = bodies[i]; *c; c++)
			added += *c == '\n';
		text = strdup_printf("--- a/drv/a.c\n+++ b/drv/a.c\n@@ -1,4 +1,%d @@\n"
				     " int a_value(void)\n {\n-\treturn 1;\n%s }\n",
				     3 + added, bodies[i]);
		assert_int_equal(compile_text("err.patch", text, false, &s), -ENOEXEC);
		assert_null(s);
		/* The compiler's message, with the file, reaches the user. */
		assert_non_null(strstr(strbuf_str(&logged), "drv/a.c"));
		assert_non_null(strstr(strbuf_str(&logged), "error"));

		mixed = strdup_printf("--- a/drv/m.c\n+++ b/drv/m.c\n@@ -1,4 +1,4 @@\n"
				      " int m_value(void)\n {\n-\treturn 3;\n+\treturn 33;\n }\n%s",
				      text);
		assert_int_equal(compile_text("mixed.patch", mixed, false, &s), -ENOEXEC);
		assert_null(s);
	}
}

/* Header shapes patch(1) accepts: either applied and compiled, or refused; never missed. */
static void test_header_shapes(void **state)
{
	struct lp_tu_set *s = NULL;
	static const char *const applied[] = {
		/* a space, not a tab, before the date */
		"--- a/drv/a.c 2024-01-01 00:00:00.000000000 +0000\n"
		"+++ b/drv/a.c 2024-01-01 00:00:00.000000000 +0000\n" A_HUNK,
		/* a junk line between the headers */
		"--- a/drv/a.c\nsome junk\n+++ b/drv/a.c\n" A_HUNK,
		/* git's form */
		"diff --git a/drv/a.c b/drv/a.c\nindex 1111111..2222222 100644\n"
		"--- a/drv/a.c\n+++ b/drv/a.c\n" A_HUNK,
	};
	static const char *const refused[] = {
		/* a hunk-less git rename */
		"diff --git a/drv/a.c b/drv/a2.c\nsimilarity index 100%\nrename from drv/a.c\n"
		"rename to drv/a2.c\n",
		/* a mode change */
		"diff --git a/drv/a.c b/drv/a.c\nold mode 100644\nnew mode 100755\n",
		/* a binary hunk */
		"diff --git a/drv/a.c b/drv/a.c\nindex 1111111..2222222 100644\n"
		"GIT binary patch\nliteral 0\nHcmV?d00001\n\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(applied); i++) {
		assert_int_equal(compile_text("shape.patch", applied[i], false, &s), 0);
		assert_int_equal(s->ntus, 1);
		assert_string_equal(s->tus[0].source, "drv/a.c");
		assert_int_equal(s->nfiles, 1);
		lp_tu_set_free(s);
		s = NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		int r = compile_text("shape.patch", refused[i], false, &s);

		assert_true(r == -EOPNOTSUPP || r == -EBADMSG);
		assert_null(s);
	}
	/* A new header with no hunks: nothing includes it, nothing compiles, tree clean. */
	assert_int_equal(
		compile_text("newh.patch",
			     "diff --git a/drv/new.h b/drv/new.h\nnew file mode 100644\n"
			     "--- /dev/null\n+++ b/drv/new.h\n@@ -0,0 +1 @@\n+#define N 1\n",
			     false, &s),
		0);
	assert_int_equal(s->ntus, 0);
	lp_tu_set_free(s);
	s = NULL;
	/* A new .c file is refused. */
	assert_int_equal(compile_text("newc.patch",
				      "--- /dev/null\n+++ b/drv/a2.c\n@@ -0,0 +1 @@\n+int x;\n",
				      false, &s),
			 -EOPNOTSUPP);
}

/* What lp_c_reduced() keeps: tokens, literals as written, the line structure of directives. */
static void test_c_reduced(void **state)
{
	static const struct {
		const char *a, *b;
		bool same;
	} cases[] = {
		{"#define X 2\n", "/* two */\n#define  X\t2 // the value\n\n", true},
		{"int f(void);\n", "int f(void); /* multi\n line */\n", true},
		{"#define X \\\n\t2\n", "#define X 2\n", true},
		{"#define X 2\n", "#define X\n2\n", false},	  /* X is empty, then a 2 */
		{"#define F(x) x\n", "#define F (x) x\n", false}, /* object-like */
		{"char *s = \"a  b\";\n", "char *s = \"a b\";\n", false},
		{"char *s = \"/* no */\";\n", "char *s = \"\";\n", false},
		{"char c = '\"'; int a;\n", "char c = '\"';  int a;\n", true},
		{"#define X 2\n", "#define X 3\n", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_free_ char *a = lp_c_reduced(cases[i].a, strlen(cases[i].a));
		_cleanup_free_ char *b = lp_c_reduced(cases[i].b, strlen(cases[i].b));

		assert_non_null(a);
		assert_non_null(b);
		if (streq(a, b) != cases[i].same)
			fail_msg("case %zu: \"%s\" vs \"%s\" reduced to \"%s\" and \"%s\"", i,
				 cases[i].a, cases[i].b, a, b);
	}
}

/* A header whose change is only comments and blank lines brings in no unit (noted). */
static void test_header_comment_only(void **state)
{
	struct lp_tu_set *s = NULL;

	assert_int_equal(compile_text("hc.patch",
				      "--- a/drv/common.h\n+++ b/drv/common.h\n@@ -1 +1,3 @@\n"
				      "-#define COMMON 2\n+/* the common value */\n+\n"
				      "+#define COMMON  2 // two\n",
				      false, &s),
			 0);
	assert_int_equal(s->ntus, 0);
	assert_int_equal(s->nheaders, 1);
	assert_int_equal(s->nnotes, 1);
	assert_non_null(strstr(s->notes[0], "drv/common.h: only comments and whitespace"));
	lp_tu_set_free(s);
	s = NULL;
	/* a token more is a change (if not a functional one): b.c compiles */
	assert_int_equal(compile_text("hn.patch",
				      "--- a/drv/common.h\n+++ b/drv/common.h\n@@ -1 +1 @@\n"
				      "-#define COMMON 2\n+#define COMMON (2) /* two */\n",
				      false, &s),
			 0);
	assert_int_equal(s->ntus, 1);
	lp_tu_set_free(s);
}

/* Fuzz is refused unless allowed, and then recorded. */
static void test_fuzz(void **state)
{
	static const char fuzzy[] =
		"--- a/drv/a.c\n+++ b/drv/a.c\n@@ -1,4 +1,4 @@\n"
		" int a_value(int changed)\n {\n-\treturn 1;\n+\treturn 11;\n }\n";
	struct lp_tu_set *s = NULL;

	assert_int_equal(compile_text("fuzz.patch", fuzzy, false, &s), -EBADMSG);
	assert_null(s);
	assert_int_equal(compile_text("fuzz.patch", fuzzy, true, &s), 0);
	assert_true(s->fuzz);
	assert_int_equal(s->nnotes, 1);
	assert_non_null(strstr(s->notes[0], "fuzz"));
	lp_tu_set_free(s);
}

/* A patch that does not apply is an error even when nothing it touches is built. */
static void test_unbuilt_not_applying(void **state)
{
	struct lp_tu_set *s = NULL;

	assert_int_equal(compile_text("c.patch",
				      "--- a/drv/c.c\n+++ b/drv/c.c\n@@ -1,2 +1,2 @@\n"
				      " #include \"common.h\"\n-int nowhere(void)\n+int x(void)\n",
				      false, &s),
			 -EBADMSG);
	assert_int_equal(
		compile_text("nofile.patch",
			     "--- a/drv/nofile.c\n+++ b/drv/nofile.c\n@@ -1 +1 @@\n-a\n+b\n", false,
			     &s),
		-EBADMSG);
	/* And one that applies to an unbuilt file says so. */
	assert_int_equal(
		compile_text("c2.patch",
			     "--- a/drv/c.c\n+++ b/drv/c.c\n@@ -1,3 +1,3 @@\n"
			     " #include \"common.h\"\n-int c_value(void)\n+int c_value2(void)\n"
			     " {\n",
			     false, &s),
		0);
	assert_int_equal(s->ntus, 0);
	assert_int_equal(s->nskipped, 1);
	assert_non_null(strstr(s->skipped[0], "not built with this config"));
	lp_tu_set_free(s);
}

/*
 * A stale object (e.g. written by a killed build's compiler) is never taken for current, and
 * a source changed behind tuxtape's back is never built on: the tree is prepared anew.
 */
static void test_poisoned_tree(void **state)
{
	_cleanup_free_ char *orig1 = NULL, *orig2 = NULL;
	struct lp_tu_set *s = NULL;

	{
		_cleanup_(lp_tree_freep) struct lp_tree *t = prepare(true);
		_cleanup_free_ char *o = path_join(t->path, "drv/a.o");

		assert_int_equal(compile_text("a1.patch", "--- a/drv/a.c\n+++ b/drv/a.c\n" A_HUNK,
					      false, &s),
				 0);
		orig1 = get("/", s->tus[0].orig_obj);
		lp_tu_set_free(s);
		s = NULL;
		/* Poison the object, newer than its source. */
		assert_int_equal(write_file_atomic(o, "PATCHED object\n", 15, 0644), 0);
		assert_int_equal(compile_text("a1.patch", "--- a/drv/a.c\n+++ b/drv/a.c\n" A_HUNK,
					      false, &s),
				 0);
		orig2 = get("/", s->tus[0].orig_obj);
		assert_non_null(orig2);
		assert_null(strstr(orig2, "PATCHED"));
		assert_string_equal(orig1, orig2);
		lp_tu_set_free(s);
		s = NULL;
	}
	{
		_cleanup_(lp_tree_freep) struct lp_tree *t = prepare(true);
		_cleanup_(lp_patchset_freep) struct lp_patchset *ps = lp_patchset_new();
		_cleanup_free_ char *src = path_join(t->path, "drv/a.c");
		_cleanup_free_ char *p = path_join(root, "a1.patch"), *out = path_join(root, "o");
		_cleanup_(lp_tree_freep) struct lp_tree *t2 = NULL;

		/* The same content patched, as a misparsed earlier patch would have left it. */
		assert_int_equal(write_file_atomic(src,
						   "int a_value(void)\n{\n\treturn 1; /* P */\n}\n",
						   42, 0644),
				 0);
		assert_int_equal(lp_patchset_add_file(ps, p), 0);
		assert_int_equal(lp_tree_compile(t, ps, NULL, out, &s), -EUCLEAN);
		assert_null(s);
		assert_non_null(strstr(strbuf_str(&logged), "drv/a.c"));
		/* The next prepare repairs: a fresh tree, which builds. */
		t2 = prepare(false);
		assert_int_equal(lp_tree_compile(t2, ps, NULL, out, &s), 0);
		assert_int_equal(s->ntus, 1);
		lp_tu_set_free(s);
	}
}

/* The prepared config must be the target's: explicit differences and olddefconfig's both. */
static void test_config_check(void **state)
{
	_cleanup_free_ char *src = path_join(root, "src"), *cache = path_join(root, "cache");
	_cleanup_free_ char *kb = path_join(root, "kbuild");
	static const char target[] = "CONFIG_CC_VERSION_TEXT=\"gcc (test)\"\nCONFIG_X=y\n"
				     "CONFIG_M=m\nCONFIG_DEFAULTED=y\nCONFIG_BUILD_SALT=\"x\"\n";
	struct lp_tree_opts o = {.source_dir = src, .cache_dir = cache, .kbuild = kb, .jobs = 1};
	const char *const accept_m[] = {"M", NULL};
	struct lp_tree *t = NULL;

	put("kbuild/include/generated/utsrelease.h", "#define UTS_RELEASE \"6.1.0-test\"\n");
	/* Without the target's .config nothing can be checked: refused. */
	o.config = "/nonexistent";
	put("cfg-ok", "CONFIG_CC_VERSION_TEXT=\"gcc (test)\"\nCONFIG_X=y\nCONFIG_M=m\n");
	{
		_cleanup_free_ char *c = path_join(root, "cfg-ok");

		o.config = c;
		strbuf_reset(&logged);
		assert_int_equal(lp_tree_prepare(&o, &t), -EPROTO);
		assert_non_null(strstr(strbuf_str(&logged), "kbuild/.config"));
		put("kbuild/.config", target);
		/* The right config: equal after olddefconfig, but for the build salt. */
		assert_int_equal(lp_tree_prepare(&o, &t), 0);
		lp_tree_free(t);
		t = NULL;
	}
	{
		/* One option turned off: refused before any work, the option named. */
		_cleanup_free_ char *c = path_join(root, "cfg-off");

		put("cfg-off",
		    "CONFIG_CC_VERSION_TEXT=\"gcc (test)\"\n# CONFIG_X is not set\nCONFIG_M=m\n");
		o.config = c;
		strbuf_reset(&logged);
		assert_int_equal(lp_tree_prepare(&o, &t), -EPROTO);
		assert_non_null(strstr(strbuf_str(&logged), "CONFIG_X: n here, y in the target"));
		assert_null(strstr(strbuf_str(&logged), "preparing"));
	}
	{
		/* Truncated: only olddefconfig's result shows it; refused, named, not published. */
		_cleanup_free_ char *c = path_join(root, "cfg-half");

		put("cfg-half", "CONFIG_CC_VERSION_TEXT=\"gcc (test)\"\nCONFIG_X=y\n");
		o.config = c;
		strbuf_reset(&logged);
		assert_int_equal(lp_tree_prepare(&o, &t), -EPROTO);
		assert_non_null(strstr(strbuf_str(&logged), "after olddefconfig 1 option differs"));
		assert_non_null(
			strstr(strbuf_str(&logged), "CONFIG_M: unset here, m in the target"));
		/* Accepted explicitly. */
		o.config_accept = accept_m;
		assert_int_equal(lp_tree_prepare(&o, &t), 0);
		assert_false(t->cached);
		lp_tree_free(t);
	}
}

/* Work directories of killed runs are removed by the next run; those in use are kept. */
static void test_stale_workdirs(void **state)
{
	_cleanup_free_ char *tmp = path_join(root, "tmp"), *stale = NULL, *busy = NULL;
	_cleanup_free_ char *mine = NULL;
	_cleanup_close_ int busy_lock = -1, my_lock = -1;
	char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;

	assert_int_equal(mkdir_p(tmp, 0755), 0);
	setenv("TMPDIR", tmp, 1);
	/* A run killed: its directory and an unheld lock. */
	stale = path_join(tmp, "tt-test-AAAAAA");
	put("tmp/tt-test-AAAAAA/.tuxtape-lock", "");
	put("tmp/tt-test-AAAAAA/big.o", "x");
	/* A run still going. */
	assert_int_equal(lp_workdir_new("tt-test-", &busy, &busy_lock), 0);
	assert_int_equal(access(stale, F_OK), -1);
	assert_int_equal(lp_workdir_new("tt-test-", &mine, &my_lock), 0);
	assert_int_equal(access(busy, F_OK), 0);
	assert_int_equal(access(mine, F_OK), 0);
	if (old)
		setenv("TMPDIR", old, 1);
	else
		unsetenv("TMPDIR");
	free(old);
}

/* A tool that failed without a word (a full disk holds no message) still gets a cause. */
static void test_failure_output(void **state)
{
	_cleanup_free_ char *log = path_join(root, "empty.log"), *why = NULL, *why2 = NULL;

	put("empty.log", "");
	why = lp_failure_output(log, root);
	assert_non_null(why);
	assert_non_null(strstr(why, "printed nothing"));
	assert_non_null(strstr(why, "MiB free"));
	put("empty.log", "tar: x: Cannot write: No space left on device\n");
	why2 = lp_failure_output(log, root);
	assert_string_equal(why2, "tar: x: Cannot write: No space left on device");
}

/* A built .c included by another built .c brings that one in; a forced include, everything. */
static void test_c_includes_c_and_forced(void **state)
{
	struct lp_tu_set *s = NULL;
	_cleanup_(lp_tree_freep) struct lp_tree *t = prepare(true);
	_cleanup_free_ char *x = NULL;

	assert_int_equal(compile_text("x.patch",
				      "--- a/drv2/x.c\n+++ b/drv2/x.c\n@@ -1,4 +1,4 @@\n"
				      " int x_value(void)\n {\n-\treturn 5;\n+\treturn 55;\n }\n",
				      false, &s),
			 0);
	assert_int_equal(s->ntus, 2);
	assert_string_equal(s->tus[0].source, "drv2/x.c");
	assert_string_equal(s->tus[1].source, "drv2/y.c");
	assert_string_equal(s->tus[1].why, "includes drv2/x.c");
	assert_int_equal(s->nskipped, 0);
	lp_tu_set_free(s);
	s = NULL;
	assert_int_equal(compile_text("kx.patch",
				      "--- a/include/linux/kconfig-extra.h\n"
				      "+++ b/include/linux/kconfig-extra.h\n"
				      "@@ -1 +1 @@\n-#define KX 1\n+#define KX 2\n",
				      false, &s),
			 -E2BIG);
	assert_non_null(strstr(strbuf_str(&logged), "every translation unit"));
	x = get(t->path, "include/linux/kconfig-extra.h");
	assert_string_equal(x, "#define KX 1\n");
}

/*
 * The include graph is cached from the pristine tree: a build whose patch removes an #include
 * must not teach the cache that the file never included it.
 */
static void test_includes_cache(void **state)
{
	struct lp_tu_set *s = NULL;
	_cleanup_(lp_tree_freep) struct lp_tree *t = prepare(true);
	_cleanup_free_ char *work = strdup(t->path), *cache = NULL;

	*strrchr(work, '/') = '\0';
	cache = path_join(work, "includes.cache");
	unlink(cache);
	assert_int_equal(
		compile_text("drop.patch",
			     "--- a/drv/b.c\n+++ b/drv/b.c\n@@ -1,5 +1,5 @@\n"
			     "-#include \"common.h\"\n+#define COMMON 3\n int b_value(void)\n"
			     " {\n \treturn COMMON;\n }\n",
			     false, &s),
		0);
	lp_tu_set_free(s);
	s = NULL;
	assert_int_equal(access(cache, F_OK), 0);
	assert_int_equal(compile_text("h2.patch",
				      "--- a/drv/common.h\n+++ b/drv/common.h\n@@ -1 +1 @@\n"
				      "-#define COMMON 2\n+#define COMMON 22\n",
				      false, &s),
			 0);
	assert_non_null(strstr(strbuf_str(&logged), "read the include graph"));
	assert_int_equal(s->ntus, 1);
	assert_string_equal(s->tus[0].source, "drv/b.c");
	lp_tu_set_free(s);
}

/* Past the unit limit only when allowed; many units compile through make, every one checked. */
static void test_max_units(void **state)
{
	static const char three[] = "--- a/drv3/three.h\n+++ b/drv3/three.h\n@@ -1 +1 @@\n"
				    "-#define THREE 3\n+#define THREE 33\n";
	_cleanup_(lp_tree_freep) struct lp_tree *t = prepare(true);
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = lp_patchset_new();
	_cleanup_free_ char *p = path_join(root, "three.patch"), *out = path_join(root, "o3");
	struct lp_compile_opts o = {.max_units = 2};
	struct lp_tu_set *s = NULL;

	put("three.patch", three);
	assert_int_equal(lp_patchset_add_file(ps, p), 0);
	strbuf_reset(&logged);
	assert_int_equal(lp_tree_compile(t, ps, &o, out, &s), -E2BIG);
	assert_non_null(strstr(strbuf_str(&logged), "--max-units"));
	o.max_units = 3;
	assert_int_equal(lp_tree_compile(t, ps, &o, out, &s), 0);
	assert_int_equal(s->ntus, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_non_null(s->tus[i].orig_obj);
		assert_non_null(s->tus[i].patched_obj);
	}
	lp_tu_set_free(s);
}

int main(void)
{
	tt_log_set(capture, NULL, TT_LOG_DEBUG);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prepare_once),
		cmocka_unit_test(test_compile_changed_c),
		cmocka_unit_test(test_header_brings_includers),
		cmocka_unit_test(test_c_reduced),
		cmocka_unit_test(test_header_comment_only),
		cmocka_unit_test(test_module_object),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_crash_recovery),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_header_shapes),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_unbuilt_not_applying),
		cmocka_unit_test(test_poisoned_tree),
		cmocka_unit_test(test_config_check),
		cmocka_unit_test(test_stale_workdirs),
		cmocka_unit_test(test_failure_output),
		cmocka_unit_test(test_c_includes_c_and_forced),
		cmocka_unit_test(test_includes_cache),
		cmocka_unit_test(test_max_units),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
