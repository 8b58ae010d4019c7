/* Unit tests for the SQLite store: creation, migration, metadata, refusing foreign files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "store/schema.h"
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

static int count_rows(struct tt_store *s, const char *sql)
{
	sqlite3_stmt *st;
	int n = -1;

	assert_int_equal(sqlite3_prepare_v2(tt_store_db(s), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * A database left by a tuxtape with only migrations 1 and 2 keeps its verdicts through
 * migration 3, whose table still refuses an unknown status and no longer evaluates its CHECK
 * through an ephemeral table per row.
 */
static void test_migration_3_keeps_verdicts(void **state)
{
	_cleanup_free_ char *path = path_join(dir, "v2.db");
	struct tt_store *s = NULL;
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(sqlite3_exec(db, tt_schema_migrations[i], NULL, NULL, NULL),
				 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO verdict VALUES ('CVE-2024-1', 1, 'fixed', 'r');"
				      "PRAGMA user_version = 2;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(tt_store_open(path, 0, &s), 0);
	assert_int_equal(count_rows(s, "PRAGMA user_version"), (int)tt_schema_n_migrations);
	assert_int_equal(count_rows(s, "SELECT count(*) FROM verdict WHERE cve_id = 'CVE-2024-1' "
				       "AND status = 'fixed' AND reason = 'r'"),
			 1);
	assert_int_not_equal(tt_store_exec(s, "INSERT INTO verdict VALUES ('CVE-2024-2', 1, "
					      "'bogus', 'r')"),
			     0);
	assert_int_equal(tt_store_exec(s, "INSERT INTO verdict VALUES ('CVE-2024-2', 1, "
					  "'unknown', 'r')"),
			 0);
	{
		sqlite3_stmt *st;
		int ephemeral = 0;

		assert_int_equal(sqlite3_prepare_v2(tt_store_db(s),
						    "EXPLAIN INSERT INTO verdict VALUES "
						    "('a', 1, 'fixed', 'r')",
						    -1, &st, NULL),
				 SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW)
			ephemeral += streq((const char *)sqlite3_column_text(st, 1), "OpenEphemeral");
		sqlite3_finalize(st);
		assert_int_equal(ephemeral, 0);
	}
	tt_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_meta),
		cmocka_unit_test(test_not_a_database),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_migration_3_keeps_verdicts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
