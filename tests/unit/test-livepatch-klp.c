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
#include "log.h"

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

static char logged[1024];

static void capture_log(enum tt_log_level level, const char *msg, void *userdata)
{
	snprintf(logged, sizeof(logged), "%s", msg);
}

/* A bad line is refused naming the line and what is wrong with it, not skipped. */
static void expect_bad_line(const char *text, const char *msg)
{
	struct lp_symtab *st = NULL;

	logged[0] = '\0';
	assert_int_equal(lp_symtab_parse(text, strlen(text), &st), -EBADMSG);
	assert_null(st);
	if (!strstr(logged, msg))
		fail_msg("\"%s\": logged \"%s\", want \"%s\"", text, logged, msg);
}

static void test_garbage(void **state)
{
	struct lp_symtab *st = NULL;

	tt_log_set(capture_log, NULL, TT_LOG_ERR);
	assert_int_equal(lp_symtab_parse("", 0, &st), -EBADMSG);
	assert_int_equal(lp_symtab_parse("zz\nffff\n1 T\n", 12, &st), -EBADMSG);
	assert_null(st);
	expect_bad_line("", "'<symbols>': no symbols");
	expect_bad_line("zz\n", "'<symbols>':1: no hexadecimal address");
	expect_bad_line("ffff T a\n\nffff T\n", "'<symbols>':3: no symbol name");
	expect_bad_line("ffff T a\r\nffff T b c\n", "'<symbols>':2: text after the symbol name");
	expect_bad_line("ffff T a\nffff\n", "'<symbols>':2: no symbol type");
	expect_bad_line("ffff Tt a\n", "'<symbols>':1: the symbol type is more than one letter");
	expect_bad_line("ffff T a\x01b\n", "'<symbols>':1: a control or non-ASCII byte");
	expect_bad_line("11112222333344445 T a\n", "'<symbols>':1: the address has more than 16");
	/* blank lines, CRLF and [module] lines are fine; module symbols do not count */
	{
		static const char ok[] = "ffff T a\r\n\nfff0 t b\t[mod]\n";

		assert_int_equal(lp_symtab_parse(ok, sizeof(ok) - 1, &st), 0);
	}
	assert_int_equal(lp_symtab_count(st, "a"), 1);
	assert_int_equal(lp_symtab_count(st, "b"), 0);
	lp_symtab_free(st);
	tt_log_set(NULL, NULL, TT_LOG_WARN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sympos),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
