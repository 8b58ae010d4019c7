/* Unit tests for the klp module generator: symbol positions, exports, module build. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "livepatch/klp.h"

static void test_sympos(void **state)
{
	static const char map[] =
		"ffffffff81000000 T _text\n"
		"ffffffff81001000 t helper\n"   /* a.c */
		"ffffffff81001100 T a_api\n"
		"ffffffff81001200 t a_other\n"
		"ffffffff81002000 t helper\n"   /* b.c */
		"ffffffff81002100 T b_api\n"
		"ffffffff81003000 d state\n"
		"ffffffff81003100 D b_data\n"
		"ffffffff81004000 d state\n"
		"ffffffff81005000 t unique_static\n"
		"ffffffffc0000000 t helper\t[some_module]\n";
	_cleanup_(lp_symtab_freep) struct lp_symtab *st = NULL;
	const char *a_anchors[] = { "a_api", "a_other", "helper" };
	const char *b_anchors[] = { "b_api", "helper", "state", "b_data" };
	long pos = -1;

	assert_int_equal(lp_symtab_parse(map, sizeof(map) - 1, &st), 0);
	assert_int_equal(lp_symtab_count(st, "helper"), 2); /* module lines do not count */
	assert_int_equal(lp_symtab_sympos(st, "unique_static", true, "x.c", NULL, 0, &pos), 0);
	assert_int_equal(pos, 0);
	assert_int_equal(lp_symtab_sympos(st, "helper", true, "a.c", a_anchors, 3, &pos), 0);
	assert_int_equal(pos, 1);
	assert_int_equal(lp_symtab_sympos(st, "helper", true, "b.c", b_anchors, 4, &pos), 0);
	assert_int_equal(pos, 2);
	/* no anchors near any candidate: refused */
	assert_int_equal(lp_symtab_sympos(st, "helper", true, "c.c", NULL, 0, &pos), -ENOTUNIQ);
	assert_int_equal(lp_symtab_sympos(st, "nothere", true, "c.c", NULL, 0, &pos), -ENOENT);
	/* b_data is b.c's only data anchor: the 'state' next to it is b.c's */
	assert_int_equal(lp_symtab_sympos(st, "state", false, "b.c", b_anchors, 4, &pos), 0);
	assert_int_equal(pos, 1);
}

static void test_garbage(void **state)
{
	struct lp_symtab *st = NULL;

	assert_int_equal(lp_symtab_parse("", 0, &st), -EBADMSG);
	assert_int_equal(lp_symtab_parse("zz\nffff\n1 T\n", 12, &st), -EBADMSG);
	assert_null(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sympos),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
