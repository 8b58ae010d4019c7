/* Unit tests for the capped string buffer and file helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "strbuf.h"

static void test_add_and_format(void **state)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	assert_int_equal(strbuf_adds(&sb, "abc"), 0);
	assert_int_equal(strbuf_addf(&sb, "-%d-%s", 42, "x"), 0);
	assert_string_equal(strbuf_str(&sb), "abc-42-x");
	assert_int_equal(sb.len, 8);
}

static void test_cap(void **state)
{
	_cleanup_strbuf_ struct strbuf sb;

	strbuf_init(&sb, 4);
	assert_int_equal(strbuf_adds(&sb, "abcd"), 0);
	assert_int_equal(strbuf_addch(&sb, 'e'), -E2BIG);
	assert_string_equal(strbuf_str(&sb), "abcd");
}

static void test_read_capped(void **state)
{
	char tmpl[] = "/tmp/tt-strbuf-XXXXXX";
	int fd = mkstemp(tmpl);
	char *buf = NULL;
	size_t len = 0;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	assert_int_equal(read_file_capped(tmpl, 5, &buf, &len), 0);
	assert_string_equal(buf, "hello");
	assert_int_equal(len, 5);
	free(buf);
	assert_int_equal(read_file_capped(tmpl, 4, &buf, &len), -EFBIG);
	assert_int_equal(read_file_capped("/nonexistent/x", 4, &buf, &len), -ENOENT);
	unlink(tmpl);
}

static void test_path_join(void **state)
{
	_cleanup_free_ char *p = path_join("/a/b//", "/c");

	assert_string_equal(p, "/a/b/c");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_format),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_read_capped),
		cmocka_unit_test(test_path_join),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
