/*
 * Unit tests for the compiles with static-branch sites 5 bytes wide (src/lib/livepatch/
 * compile.c): the header made from the tree's own asm/jump_label.h, and its refusal of any
 * other form; the replayed command lines; what make's NOSTDINC_FLAGS holds.
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
#include "livepatch/tree-internal.h"
#include "macro.h"

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
	/* never emptied first (an environment value would stay in) */
	put(root, "Makefile", "NOSTDINC_FLAGS += -nostdinc\n");
	assert_null(lp_tree_nostdinc(root));
	assert_int_equal(rm_rf(root), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_header_refused),
		cmocka_unit_test(test_cmd_line),
		cmocka_unit_test(test_nostdinc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
