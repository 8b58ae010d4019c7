/*
 * Unit tests for the compiles with static-branch sites 5 bytes wide (src/lib/livepatch/
 * compile.c): the header made from the tree's own asm/jump_label.h, and its refusal of any
 * other form; the replayed command lines; what make's NOSTDINC_FLAGS holds; and, on a fake
 * kernel tree whose make and recorded commands use NOSTDINC_FLAGS as kbuild does, that both
 * sides are compiled with the widened header or both without it.
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

#include "fileio.h"
#include "livepatch/patchset.h"
#include "livepatch/tree-internal.h"
#include "livepatch/tree.h"
#include "log.h"
#include "macro.h"
#include "strbuf.h"

static struct strbuf logged = STRBUF_INIT; /* what the library logged */

static void capture(enum tt_log_level level, const char *msg, void *userdata)
{
	strbuf_addf(&logged, "%s\n", msg);
	if (getenv("TT_TEST_VERBOSE"))
		fprintf(stderr, "log: %s\n", msg);
}

/* The shape of x86's header with CONFIG_HAVE_JUMP_LABEL_HACK: two jumps to l_yes. */
static const char header[] =
	"#ifndef _ASM_X86_JUMP_LABEL_H\n"
	"#define _ASM_X86_JUMP_LABEL_H\n"
	"static __always_inline bool arch_static_branch(struct static_key *key, bool branch)\n"
	"{\n\tasm goto(\"1:\" \"jmp %l[l_yes] # objtool NOPs this \\n\\t\" JUMP_TABLE_ENTRY\n"
	"\t\t: : \"i\" (key), \"i\" (2 | branch) : : l_yes);\n"
	"\treturn false;\nl_yes:\n\treturn true;\n}\n"
	"static __always_inline bool arch_static_branch_jump(struct static_key *key, bool b)\n"
	"{\n\tasm goto(\"1:\" \"jmp %l[l_yes]\\n\\t\" JUMP_TABLE_ENTRY\n"
	"\t\t: : \"i\" (key), \"i\" (b) : : l_yes);\n"
	"\treturn false;\nl_yes:\n\treturn true;\n}\n"
	"#endif\n";

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static void test_header(void **state)
{
	_cleanup_free_ char *wide = NULL;

	assert_int_equal(lp_jump_label_wide(header, strlen(header), &wide), 0);
	assert_int_equal(count(wide, "jmp.d32 %l[l_yes]"), 2);
	assert_int_equal(count(wide, "jmp %l[l_yes]"), 0);
	assert_int_equal(strlen(wide), strlen(header) + 2 * strlen(".d32"));
	/* everything else is the tree's text, byte for byte */
	for (char *p; (p = strstr(wide, "jmp.d32 "));)
		memmove(p + 3, p + 7, strlen(p + 7) + 1);
	assert_string_equal(wide, header);
}

/* Any other header is not the one this code knows how to widen: not forced. */
static void test_header_refused(void **state)
{
	_cleanup_free_ char *three = NULL, *one = NULL, *nul = NULL;
	char *out = (char *)"untouched";
	const char *jmp = strstr(header, "jmp %l[l_yes]\\n");

	assert_non_null(jmp);
	/* a third jump (another kernel's header) */
	assert_true(asprintf(&three, "%s/* jmp %%l[l_yes] */\n", header) > 0);
	assert_int_equal(lp_jump_label_wide(three, strlen(three), &out), -EPROTO);
	/* one jump only: the header ends before arch_static_branch_jump() */
	one = strndup(header, (size_t)(jmp - header));
	assert_int_equal(count(one, "jmp %l[l_yes]"), 1);
	assert_int_equal(lp_jump_label_wide(one, strlen(one), &out), -EPROTO);
	/* none: a header that widens them already */
	free(one);
	one = NULL;
	assert_int_equal(lp_jump_label_wide("jmp.d32 %l[l_yes]\njmp.d32 %l[l_yes]\n", 36, &out),
			 -EPROTO);
	assert_int_equal(lp_jump_label_wide("", 0, &out), -EPROTO);
	/* a NUL byte: not a text the compiler would read as the file reads */
	nul = malloc(sizeof(header));
	assert_non_null(nul);
	memcpy(nul, header, sizeof(header));
	nul[5] = '\0';
	assert_int_equal(lp_jump_label_wide(nul, sizeof(header) - 1, &out), -EPROTO);
	assert_string_equal(out, "untouched");
}

static void test_cmd_line(void **state)
{
	static const char dir[] = "/c/trees/K.1.2/jump-wide";
	static const char plain[] =
		"gcc-12 -Wp,-MMD,fs/proc/.version.o.d -nostdinc -I./arch/x86/include "
		"-I./include -c -o fs/proc/version.o fs/proc/version.c; ./tools/objtool/objtool "
		"--orc fs/proc/version.o";
	static const char forced[] =
		"gcc-12 -Wp,-MMD,fs/proc/.version.o.d -I/c/trees/K.1.2/jump-wide -nostdinc "
		"-I./arch/x86/include -I./include -c -o fs/proc/version.o fs/proc/version.c; "
		"./tools/objtool/objtool --orc fs/proc/version.o";
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

	/* forced: before the first -I; as make records it through NOSTDINC_FLAGS, but for place */
	a = lp_cmd_line_wide(plain, dir, true);
	assert_non_null(a);
	assert_non_null(strstr(a, " -I/c/trees/K.1.2/jump-wide -I./arch/x86/include "));
	assert_int_equal(count(a, "jump-wide"), 1);
	/* what a forced make recorded is replayed plain when this build does not force ... */
	b = lp_cmd_line_wide(forced, dir, false);
	assert_non_null(b);
	assert_int_equal(count(b, "jump-wide"), 0);
	assert_non_null(strstr(b, " -nostdinc -I./arch/x86/include "));
	/* ... and forced once, not twice, when it does */
	c = lp_cmd_line_wide(forced, dir, true);
	assert_non_null(c);
	assert_int_equal(count(c, "jump-wide"), 1);
	assert_true(strstr(c, "jump-wide") < strstr(c, "-I./arch/x86/include"));
	/* another directory that only begins with the same name is left alone */
	d = lp_cmd_line_wide("gcc -I/c/trees/K.1.2/jump-wide2 -I./include -c x.c", dir, false);
	assert_string_equal(d, "gcc -I/c/trees/K.1.2/jump-wide2 -I./include -c x.c");
	/* no -I in the compiler's part of the command: nowhere to put it, make is used */
	assert_null(lp_cmd_line_wide("gcc -c x.c; objtool -I x.o", dir, true));
	assert_null(lp_cmd_line_wide("gcc -c x.c", dir, true));
	e = lp_cmd_line_wide("gcc -c x.c", dir, false);
	assert_string_equal(e, "gcc -c x.c");
}

static void put(const char *root, const char *rel, const char *text)
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

static void test_nostdinc(void **state)
{
	static const char known[] = "NOSTDINC_FLAGS :=\nX := 1\n"
				    "ifdef Y\nendif\nNOSTDINC_FLAGS += -nostdinc\n"
				    "c_flags = $(NOSTDINC_FLAGS) $(LINUXINCLUDE)\n";
	char root[] = "/tmp/tt-lp-jw-XXXXXX";

	assert_non_null(mkdtemp(root));
	/* no Makefile */
	assert_null(lp_tree_nostdinc(root));
	put(root, "Makefile", known);
	put(root, "scripts/Makefile.lib", "c_flags = -Wp,-MMD,$(depfile) $(NOSTDINC_FLAGS)\n");
	assert_string_equal(lp_tree_nostdinc(root), "-nostdinc");
	/* another value added elsewhere would be lost from make's command line: not forced */
	put(root, "arch/x86/Makefile", "NOSTDINC_FLAGS += -isystem /x\n");
	assert_null(lp_tree_nostdinc(root));
	put(root, "arch/x86/Makefile", "BITS := 64\n");
	assert_string_equal(lp_tree_nostdinc(root), "-nostdinc");
	/* the older form (-isystem of the compiler's own headers) */
	put(root, "Makefile",
	    "NOSTDINC_FLAGS :=\nNOSTDINC_FLAGS += -nostdinc -isystem $(shell $(CC) "
	    "-print-file-name=include)\n");
	assert_null(lp_tree_nostdinc(root));
	/* assigned twice */
	put(root, "Makefile",
	    "NOSTDINC_FLAGS :=\nNOSTDINC_FLAGS += -nostdinc\nNOSTDINC_FLAGS :=\n");
	assert_null(lp_tree_nostdinc(root));
	/* a name that only begins alike, and a bare mention, are not assignments */
	put(root, "Makefile",
	    "NOSTDINC_FLAGS :=\nNOSTDINC_FLAGS_EXTRA := -x\nNOSTDINC_FLAGS\n"
	    "NOSTDINC_FLAGS += -nostdinc\n");
	assert_string_equal(lp_tree_nostdinc(root), "-nostdinc");
	/* "::=" and "!=" assign too */
	put(root, "Makefile",
	    "NOSTDINC_FLAGS :=\nNOSTDINC_FLAGS += -nostdinc\nNOSTDINC_FLAGS ::= x\n");
	assert_null(lp_tree_nostdinc(root));
	put(root, "Makefile",
	    "NOSTDINC_FLAGS :=\nNOSTDINC_FLAGS += -nostdinc\nNOSTDINC_FLAGS != x\n");
	assert_null(lp_tree_nostdinc(root));
	/* never emptied first (an environment value would stay in) */
	put(root, "Makefile", "NOSTDINC_FLAGS += -nostdinc\n");
	assert_null(lp_tree_nostdinc(root));
	assert_int_equal(rm_rf(root), 0);
}

/*
 * A fake tree: its asm/jump_label.h holds the jumps as strings, which end up in the objects,
 * so an object says which header it was compiled with. "%.o" compiles as kbuild does (make's
 * NOSTDINC_FLAGS before the tree's -I) and records the command in a .cmd file.
 */
static void fake_tree(const char *root, const char *src, const char *jump_label_h)
{
	char rel[256];

#define PUT(f, text)                                                                               \
	do {                                                                                       \
		snprintf(rel, sizeof(rel), "%s/%s", src, f);                                       \
		put(root, rel, text);                                                              \
	} while (0)
	PUT("Makefile",
	    "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\n"
	    "NOSTDINC_FLAGS :=\nNOSTDINC_FLAGS += -nostdinc\n"
	    "olddefconfig:\n\tmkdir -p include/config && cp .config "
	    "include/config/auto.conf\n"
	    "modules_prepare:\n\ttouch prepared\n"
	    "%.o: %.c\n"
	    "\t$(CC) $(NOSTDINC_FLAGS) -I./arch/x86/include $(KCFLAGS) -c -o $@ $<\n"
	    "\techo \"cmd_$@ := $(CC) $(NOSTDINC_FLAGS) -I./arch/x86/include $(KCFLAGS) "
	    "-c -o $@ $<\" > $(dir $@).$(notdir $@).cmd\n");
	PUT("scripts/Makefile.build", "# not read\n");
	PUT("Kbuild", "obj-y += drv/\n");
	PUT("include/linux/kconfig.h", "#define KX 1\n");
	PUT("arch/x86/Makefile", "BITS := 64\n");
	PUT("arch/x86/include/asm/jump_label.h", jump_label_h);
	PUT("drv/Makefile", "obj-y += a.o\n");
	PUT("drv/a.c", "#include <asm/jump_label.h>\n"
		       "const char *a_jl(int i) { return i ? tt_jl_a : tt_jl_b; }\n"
		       "int a_value(void)\n{\n\treturn 1;\n}\n");
#undef PUT
}

static const char fake_jl[] = "static const char tt_jl_a[] = \"jmp %l[l_yes] # nop\";\n"
			      "static const char tt_jl_b[] = \"jmp %l[l_yes]\\n\";\n";

static bool obj_has(const char *obj, const char *what)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	assert_int_equal(read_file_capped(obj, 1u << 24, &buf, &len), 0);
	return memmem(buf, len, what, strlen(what)) != NULL;
}

static int compile_in(const char *root, const char *src, const char *patch, const char *text,
		      struct lp_tree **ret_t, struct lp_tu_set **ret)
{
	_cleanup_free_ char *s = path_join(root, src), *cfg = path_join(root, "config");
	_cleanup_free_ char *cache = path_join(root, "cache"), *p = path_join(root, patch);
	_cleanup_free_ char *out = path_join(root, "out");
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = lp_patchset_new();
	struct lp_tree_opts o = {.source_dir = s, .config = cfg, .cache_dir = cache, .jobs = 1};

	put(root, patch, text);
	assert_int_equal(lp_patchset_add_file(ps, p), 0);
	if (!*ret_t)
		assert_int_equal(lp_tree_prepare(&o, ret_t), 0);
	strbuf_reset(&logged);
	return lp_tree_compile(*ret_t, ps, NULL, out, ret);
}

#define A_PATCH                                                                                    \
	"--- a/drv/a.c\n+++ b/drv/a.c\n@@ -3,4 +3,4 @@\n int a_value(void)\n {\n-\treturn 1;\n"    \
	"+\treturn 11;\n }\n"

static void test_fake_tree(void **state)
{
	_cleanup_(lp_tree_freep) struct lp_tree *t = NULL, *t2 = NULL;
	_cleanup_(lp_tu_set_freep) struct lp_tu_set *s = NULL;
	_cleanup_free_ char *cmd = NULL, *tok = NULL, *three = NULL;
	char root[] = "/tmp/tt-lp-jwt-XXXXXX";

	assert_non_null(mkdtemp(root));
	put(root, "config", "CONFIG_CC_VERSION_TEXT=\"gcc (test)\"\nCONFIG_X=y\n");
	fake_tree(root, "src", fake_jl);

	/* The first compile goes through make, the second side replays its .cmd: both wide. */
	assert_int_equal(compile_in(root, "src", "a.patch", A_PATCH, &t, &s), 0);
	assert_int_equal(s->ntus, 1);
	assert_true(s->wide_branches);
	assert_true(obj_has(s->tus[0].orig_obj, "jmp.d32 %l[l_yes] # nop"));
	assert_true(obj_has(s->tus[0].patched_obj, "jmp.d32 %l[l_yes] # nop"));
	assert_false(obj_has(s->tus[0].orig_obj, "jmp %l[l_yes]"));
	assert_false(obj_has(s->tus[0].patched_obj, "jmp %l[l_yes]"));
	/* make got the -I before the tree's, and kept -nostdinc */
	cmd = strdup_printf("%s/drv/.a.o.cmd", t->path);
	tok = strdup_printf("-I%s -nostdinc -I./arch/x86/include", t->wide_dir);
	assert_true(obj_has(cmd, tok));
	/* the widened header lies beside the tree, not in it */
	assert_non_null(strstr(t->wide_dir, "/jump-wide"));
	assert_null(strstr(t->wide_dir, "/linux/"));
	lp_tu_set_free(TAKE_PTR(s));

	/*
	 * A patch that gives the header a third jump: the patched side's header cannot be
	 * widened, so neither side is, though the .cmd both replay was recorded wide.
	 */
	assert_int_equal(compile_in(root, "src", "jl.patch",
				    "--- a/arch/x86/include/asm/jump_label.h\n"
				    "+++ b/arch/x86/include/asm/jump_label.h\n"
				    "@@ -2 +2,2 @@\n"
				    " static const char tt_jl_b[] = \"jmp %l[l_yes]\\n\";\n"
				    "+static const char tt_jl_c[] = \"jmp %l[l_yes]\";\n",
				    &t, &s),
			 0);
	assert_int_equal(s->ntus, 1);
	assert_false(s->wide_branches);
	assert_non_null(strstr(strbuf_str(&logged), "compiled as the kernel compiles them"));
	assert_true(obj_has(s->tus[0].orig_obj, "jmp %l[l_yes] # nop"));
	assert_true(obj_has(s->tus[0].patched_obj, "jmp %l[l_yes] # nop"));
	assert_false(obj_has(s->tus[0].orig_obj, "jmp.d32"));
	assert_false(obj_has(s->tus[0].patched_obj, "jmp.d32"));
	lp_tu_set_free(TAKE_PTR(s));

	/* Another kernel's header (three jumps from the start): compiled as the kernel does. */
	three = strdup_printf("%s/* jmp %%l[l_yes] */\n", fake_jl);
	fake_tree(root, "src3", three);
	assert_int_equal(compile_in(root, "src3", "a.patch", A_PATCH, &t2, &s), 0);
	assert_false(s->wide_branches);
	assert_non_null(strstr(strbuf_str(&logged), "does not hold exactly the two"));
	assert_false(obj_has(s->tus[0].orig_obj, "jmp.d32"));
	assert_false(obj_has(s->tus[0].patched_obj, "jmp.d32"));
	assert_true(obj_has(s->tus[0].patched_obj, "jmp %l[l_yes] # nop"));
	assert_int_equal(rm_rf(root), 0);
}

int main(void)
{
	tt_log_set(capture, NULL, TT_LOG_DEBUG);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),	  cmocka_unit_test(test_header_refused),
		cmocka_unit_test(test_cmd_line),  cmocka_unit_test(test_nostdinc),
		cmocka_unit_test(test_fake_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
