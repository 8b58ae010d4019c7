/* Unit tests for the SQLite store: creation, migration, metadata, refusing foreign files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "store/store.h"
#include "strbuf.h"

static char dir[] = "/tmp/tt-store-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	return rm_rf(dir);
}

static void test_create_and_meta(void **state)
{
	_cleanup_free_ char *path = path_join(dir, "sub/dir/t.db");
	struct tt_store *s = NULL;
	char *v = (char *)1;

	assert_int_equal(tt_store_open(path, 0, &s), 0);
	assert_int_equal(tt_store_meta_get(s, "nothing", &v), 0);
	assert_null(v);
	assert_int_equal(tt_store_meta_set(s, "k", "v1"), 0);
	assert_int_equal(tt_store_meta_set(s, "k", "v2"), 0);
	tt_store_free(s);

	/* Reopening keeps the data and does not migrate again. */
	assert_int_equal(tt_store_open(path, 0, &s), 0);
	assert_int_equal(tt_store_meta_get(s, "k", &v), 0);
	assert_string_equal(v, "v2");
	free(v);
	tt_store_free(s);
}

static void test_not_a_database(void **state)
{
	_cleanup_free_ char *path = path_join(dir, "garbage.db");
	struct tt_store *s = NULL;
	char junk[4096];

	memset(junk, 'x', sizeof(junk));
	assert_int_equal(write_file_atomic(path, junk, sizeof(junk), 0644), 0);
	assert_int_equal(tt_store_open(path, 0, &s), -EBADMSG);
	assert_null(s);
}

static void test_newer_schema_refused(void **state)
{
	_cleanup_free_ char *path = path_join(dir, "newer.db");
	struct tt_store *s = NULL;

	assert_int_equal(tt_store_open(path, 0, &s), 0);
	assert_int_equal(tt_store_exec(s, "PRAGMA user_version = 999"), 0);
	tt_store_free(s);
	s = NULL;
	assert_int_equal(tt_store_open(path, 0, &s), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_meta),
		cmocka_unit_test(test_not_a_database),
		cmocka_unit_test(test_newer_schema_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
