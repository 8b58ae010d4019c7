/* Unit tests for the static make evaluator behind the Kbuild evaluation. */
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
#include "kernel/kmake.h"
#include "log.h"
#include "strbuf.h"

static char dir[] = "/tmp/tt-kmake-XXXXXX";

static void put(const char *name, const char *text)
{
	char *p = strdup_printf("%s/%s", dir, name);

	assert_non_null(p);
	assert_int_equal(write_file_atomic(p, text, strlen(text), 0644), 0);
	free(p);
}

/* Evaluates TEXT as a makefile, then checks $(EXPR) expansions. */
static struct kmake *eval(const char *text)
{
	struct kmake *km = NULL;

	put("t.mk", text);
	assert_int_equal(kmake_new(dir, &km), 0);
	assert_int_equal(kmake_push_scope(km), 0);
	assert_int_equal(kmake_eval_file(km, "t.mk", false), 0);
	return km;
}

static void expect(struct kmake *km, const char *expr, const char *want)
{
	char *got = NULL;

	assert_int_equal(kmake_expand(km, expr, &got, NULL), 0);
	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", expr, got, want);
	free(got);
}

static void test_assignments(void **state)
{
	struct kmake *km = eval("a = $(b)\n"
				"b = one\n"
				"c := $(b)\n"
				"b = two\n"
				"l := x\n"
				"l += y\n"
				"r = p\n"
				"r += $(b)\n"
				"q ?= first\n"
				"q ?= second\n"
				"obj-$(CONFIG_FOO) += foo.o  # a comment\n"
				"obj-$(CONFIG_BAR) += bar.o\n"
				"multi := a \\\n     b \\\n\tc\n"
				"export EXP := e\n"
				"override CMD := changed\n"
				"CMD2 := changed\n"
				"hash := x\\#y\n"
				"empty :=\n");

	expect(km, "$(a)", "two");
	expect(km, "$(c)", "one");
	expect(km, "$(l)", "x y");
	expect(km, "$(r)", "p two");
	expect(km, "$(q)", "first");
	expect(km, "$(strip $(obj-))", "foo.o bar.o");
	expect(km, "$(multi)", "a b c");
	expect(km, "${EXP}", "e");
	expect(km, "$(hash)", "x#y");
	expect(km, "$(empty)|$(undefined)|$$", "||$");
	kmake_free(km);
}

static void test_cmdline_and_scopes(void **state)
{
	struct kmake *km = NULL;

	put("t.mk", "CMD := file\nVAR += more\nexport NEW := n\nLOCAL := l\n");
	assert_int_equal(kmake_new(dir, &km), 0);
	assert_int_equal(kmake_set(km, "CMD", "cmdline", KMAKE_ORIGIN_CMDLINE, false), 0);
	assert_int_equal(kmake_set(km, "VAR", "base", KMAKE_ORIGIN_FILE, false), 0);
	assert_int_equal(kmake_push_scope(km), 0);
	assert_int_equal(kmake_eval_file(km, "t.mk", false), 0);
	expect(km, "$(CMD)", "cmdline");
	expect(km, "$(VAR)", "base more");
	expect(km, "$(origin CMD) $(origin VAR) $(origin nope) $(flavor LOCAL)",
	       "command line file undefined simple");
	assert_int_equal(kmake_export_down(km), 0);
	kmake_pop_scope(km);
	expect(km, "$(VAR)", "base");
	expect(km, "$(NEW)|$(LOCAL)", "n|");
	kmake_free(km);
}

static void test_functions(void **state)
{
	struct kmake *km = eval("objs := a.o b.o sub/c.o d.S\n"
				"f = $(1)-$(2)\n"
				"comma := ,\n"
				"empty :=\n"
				"space := $(empty) $(empty)\n"
				"pre-y := x\n"
				"n := pre\n");

	expect(km, "$(patsubst %.o,%.c,$(objs))", "a.c b.c sub/c.c d.S");
	expect(km, "$(objs:.o=.c)", "a.c b.c sub/c.c d.S");
	expect(km, "$(objs:%.o=$(n)/%.x)", "pre/a.x pre/b.x pre/sub/c.x d.S");
	expect(km, "$(subst .o,.obj,$(objs))", "a.obj b.obj sub/c.obj d.S");
	expect(km, "$(filter %.o,$(objs))", "a.o b.o sub/c.o");
	expect(km, "$(filter-out a.o %.S,$(objs))", "b.o sub/c.o");
	expect(km, "$(addprefix x/,$(objs))", "x/a.o x/b.o x/sub/c.o x/d.S");
	expect(km, "$(addsuffix .cmd,a b)", "a.cmd b.cmd");
	expect(km, "$(notdir $(objs))", "a.o b.o c.o d.S");
	expect(km, "$(dir sub/c.o c.o)", "sub/ ./");
	expect(km, "$(basename sub/c.o x.tar.gz)", "sub/c x.tar");
	expect(km, "$(suffix sub/c.o noext)", ".o");
	expect(km, "$(sort z a m a)", "a m z");
	expect(km, "$(strip   a   b  )", "a b");
	expect(km, "$(words $(objs)) $(word 2,$(objs)) $(firstword $(objs)) $(lastword $(objs))",
	       "4 b.o a.o d.S");
	expect(km, "$(wordlist 2,3,$(objs))", "b.o sub/c.o");
	expect(km, "$(findstring b.o,$(objs))|$(findstring zz,$(objs))", "b.o|");
	expect(km, "$(if $(objs),yes,no) $(if $(empty),yes,no) $(if ,x)", "yes no ");
	expect(km, "$(or $(empty),second,third) $(and a,b,c) [$(and a,,c)]", "second c []");
	expect(km, "$(foreach o,$(filter %.o,$(objs)),[$(o)])", "[a.o] [b.o] [sub/c.o]");
	expect(km, "$(call f,x,y) $(call f,a)", "x-y a-");
	expect(km, "$(subst $(space),$(comma),a b c)", "a,b,c");
	expect(km, "$($(n)-y)", "x");
	expect(km, "$(value f)", "$(1)-$(2)");
	expect(km, "$(join a b,1 2)", "a1 b2");
	kmake_free(km);
}

static void test_wildcard_and_include(void **state)
{
	struct kmake *km;

	put("inc.mk", "included := yes\nobj-y += from-include.o\n");
	put("w1.c", "");
	put("w2.c", "");
	km = eval("obj-y := first.o\ninclude $(CURDIR_X)inc.mk\n-include does-not-exist.mk\n"
		  "sinclude also-missing.mk\n");
	expect(km, "$(included) $(obj-y)", "yes first.o from-include.o");
	expect(km, "$(wildcard w*.c) $(wildcard none*.c)", "w1.c w2.c ");
	expect(km, "$(words $(MAKEFILE_LIST))", "2");
	assert_false(kmake_taint(km)->set);
	kmake_free(km);

	km = eval("include missing.mk\n");
	assert_true(kmake_taint(km)->set);
	assert_string_equal(kmake_taint(km)->what, "missing include");
	assert_string_equal(kmake_taint(km)->where, "t.mk:1");
	kmake_free(km);
}

static void test_conditionals(void **state)
{
	struct kmake *km = eval("CONFIG_A := y\n"
				"CONFIG_M := m\n"
				"ifeq ($(CONFIG_A),y)\n"
				"r1 := a-yes\n"
				"else\n"
				"r1 := a-no\n"
				"endif\n"
				"ifneq ($(CONFIG_B),y)\n"
				"  ifdef CONFIG_M\n"
				"r2 := nested\n"
				"  endif\n"
				"endif\n"
				"ifeq ($(CONFIG_B),y)\n"
				"r3 := b\n"
				"else ifeq ($(CONFIG_M),m)\n"
				"r3 := m\n"
				"else\n"
				"r3 := none\n"
				"endif\n"
				"ifeq \"$(CONFIG_A)\" \"y\"\n"
				"r4 := quoted\n"
				"endif\n"
				"ifndef CONFIG_B\n"
				"r5 := ndef\n"
				"endif\n"
				"ifdef CONFIG_B\n"
				"define skipped\n"
				"endif\n"
				"endef\n"
				"r6 := wrong\n"
				"endif\n"
				"ifeq ($(strip $(CONFIG_A) ),y)\n"
				"r7 := strip\n"
				"endif\n");

	expect(km, "$(r1) $(r2) $(r3) $(r4) $(r5) [$(r6)] $(r7)",
	       "a-yes nested m quoted ndef [] strip");
	kmake_free(km);
}

static void test_define_eval_and_rules(void **state)
{
	struct kmake *km = eval("define tmpl\n"
				"obj-$(2) += $(1).o\n"
				"$(1)-y := $(1)_main.o\n"
				"endef\n"
				"$(eval $(call tmpl,foo,y))\n"
				"$(foreach m,bar baz,$(eval $(call tmpl,$(m),m)))\n"
				"$(obj)/gen.c: $(src)/gen.sh FORCE\n"
				"\tobj-y += from-recipe.o\n"
				"\t$(call cmd,gen)\n"
				"\n"
				"# comment between recipe lines\n"
				"\techo still recipe\n"
				"after := rule\n"
				"\tobj-y += tab-indented-assignment.o\n");

	expect(km, "$(obj-y)", "foo.o tab-indented-assignment.o");
	expect(km, "$(obj-m) $(bar-y)", "bar.o baz.o bar_main.o");
	expect(km, "$(after)", "rule");
	kmake_free(km);
}

struct rules {
	char seen[512];
};

static void on_rule(const char *targets, const char *prereqs, bool recipe, void *userdata)
{
	struct rules *r = userdata;
	size_t n = strlen(r->seen);

	snprintf(r->seen + n, sizeof(r->seen) - n, "[%s|%s|%d]", targets, prereqs, recipe);
}

static void test_rule_callback(void **state)
{
	struct kmake *km = NULL;
	struct rules rs = {};

	put("t.mk", "obj := d\n"
		    "$(obj)/tbl.c: $(obj)/gen.sh FORCE\n"
		    "\t$(call cmd,gen)\n"
		    "$(obj)/x.o: $(obj)/x-tables.c\n"
		    "$(addprefix $(obj)/,a.o b.o): $(obj)/%.o: $(obj)/%.bin ; cp $< $@\n"
		    "$(obj)/y.o: CFLAGS += -DX\n");
	assert_int_equal(kmake_new(dir, &km), 0);
	kmake_set_rule_fn(km, on_rule, &rs);
	assert_int_equal(kmake_eval_file(km, "t.mk", false), 0);
	assert_string_equal(rs.seen, "[d/tbl.c|d/gen.sh FORCE|1][d/x.o|d/x-tables.c|0]"
				     "[d/%.o|d/%.bin|1]");
	kmake_free(km);
}

static void test_shell_taints(void **state)
{
	struct kmake *km = eval("x := $(shell uname -m)\n"
				"y = $(shell echo hi)\n"
				"z := plain\n"
				"ifeq ($(shell echo y),y)\n"
				"obj-y += maybe.o\n"
				"endif\n");
	struct kmake_taint t;
	char *v = NULL;

	assert_int_equal(kmake_expand(km, "$(z)", &v, &t), 0);
	assert_false(t.set);
	free(v);
	assert_int_equal(kmake_expand(km, "$(x)", &v, &t), 0);
	assert_true(t.set);
	assert_string_equal(t.where, "t.mk:1");
	free(v);
	assert_int_equal(kmake_expand(km, "$(y)", &v, &t), 0);
	assert_true(t.set);
	assert_string_equal(v, "");
	assert_string_equal(t.where, "t.mk:2");
	free(v);
	/* an object list assigned under a condition that could not be evaluated */
	assert_true(kmake_taint(km)->set);
	assert_string_equal(kmake_taint(km)->where, "t.mk:4");
	kmake_free(km);

	/* a condition that could not be evaluated but only sets flags does not count */
	km = eval("ifeq ($(shell echo y),y)\nccflags-y += -DX\nendif\n");
	assert_false(kmake_taint(km)->set);
	kmake_free(km);
}

/* Hostile input: nested loops multiply; the evaluation stops and says so instead of hanging. */
static void test_budget(void **state)
{
	struct kmake *km = eval("w := a b c d e f g h i j k l m n o p q r s t u v w x y z\n"
				"obj-y := $(foreach a,$(w),$(foreach b,$(w),$(foreach c,$(w),"
				"$(foreach d,$(w),$(a)$(b)$(c)$(d).o))))\n");
	struct kmake_taint t;
	char *v = NULL;

	assert_int_equal(kmake_expand(km, "$(obj-y)", &v, &t), 0);
	assert_true(t.set);
	assert_string_equal(t.what, "too costly to evaluate");
	free(v);
	kmake_free(km);
}

static void test_helpers(void **state)
{
	char *n = kmake_path_normalize("./a/../b//c/./");
	const char *stem;
	size_t sl;

	assert_string_equal(n, "b/c");
	free(n);
	n = kmake_path_normalize("./");
	assert_string_equal(n, ".");
	free(n);
	assert_true(kmake_pattern_match("d/%.stub.o", "d/lib-x.stub.o", &stem, &sl));
	assert_int_equal(sl, 5);
	assert_false(kmake_pattern_match("%.c", "x.o", NULL, NULL));
	assert_true(kmake_is_objlist_name("obj-y"));
	assert_true(kmake_is_objlist_name("foo-objs"));
	assert_true(kmake_is_objlist_name("lib-m"));
	assert_false(kmake_is_objlist_name("ccflags-y"));
	assert_false(kmake_is_objlist_name("KBUILD_CFLAGS"));
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	return rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assignments),   cmocka_unit_test(test_cmdline_and_scopes),
		cmocka_unit_test(test_functions),     cmocka_unit_test(test_wildcard_and_include),
		cmocka_unit_test(test_conditionals),  cmocka_unit_test(test_define_eval_and_rules),
		cmocka_unit_test(test_rule_callback), cmocka_unit_test(test_shell_taints),
		cmocka_unit_test(test_budget),	      cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
