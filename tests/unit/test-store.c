/* Unit tests for the SQLite store: creation, migration, metadata, refusing foreign files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
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
				      "INSERT INTO verdict VALUES ('CVE-2024-3', 1, 'fixed', "
				      "'fixed in Debian 6.1.1-1 (the package changelog names it); x');"
				      "INSERT INTO verdict VALUES ('CVE-2024-4', 1, 'unknown', "
				      "'v; fix touches only headers: a.h');"
				      "INSERT INTO verdict VALUES ('CVE-2024-5', 1, 'affected', 'v');"
				      "PRAGMA user_version = 2;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(tt_store_open(path, 0, &s), 0);
	assert_int_equal(count_rows(s, "PRAGMA user_version"), (int)tt_schema_n_migrations);
	assert_int_equal(count_rows(s, "SELECT count(*) FROM verdict WHERE cve_id = 'CVE-2024-1' "
				       "AND status = 'fixed' AND reason = 'r'"),
			 1);
	/* migration 6 gives stored rows the code their status and reason imply */
	assert_int_equal(count_rows(s, "SELECT count(*) FROM verdict WHERE "
				       "(cve_id = 'CVE-2024-1' AND code = 'fixed-by-version' "
				       " AND livepatch = 'not-needed') OR "
				       "(cve_id = 'CVE-2024-3' AND code = 'fixed-by-distribution') OR "
				       "(cve_id = 'CVE-2024-4' AND code = 'unknown-headers-only' "
				       " AND livepatch = 'unknown-verdict') OR "
				       "(cve_id = 'CVE-2024-5' AND code = 'affected' "
				       " AND livepatch = 'not-estimated')"),
			 4);
	assert_int_not_equal(tt_store_exec(s, "INSERT INTO verdict(cve_id, kernel_id, status, "
					      "reason) VALUES ('CVE-2024-2', 1, 'bogus', 'r')"),
			     0);
	assert_int_equal(tt_store_exec(s, "INSERT INTO verdict(cve_id, kernel_id, status, reason) "
					  "VALUES ('CVE-2024-2', 1, 'unknown', 'r')"),
			 0);
	{
		sqlite3_stmt *st;
		int ephemeral = 0;

		assert_int_equal(sqlite3_prepare_v2(tt_store_db(s),
						    "EXPLAIN INSERT INTO verdict(cve_id, "
						    "kernel_id, status, reason) VALUES "
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

static void read_all(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	*ret = malloc((size_t)n);
	assert_non_null(*ret);
	assert_int_equal(fread(*ret, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*ret_len = (size_t)n;
}

/*
 * A table page whose cell pointers are overwritten: the full and the quick check both report
 * it, and the first write transaction refuses the file and leaves every byte of it as it was.
 */
static void test_damaged_database_refused(void **state)
{
	_cleanup_free_ char *path = path_join(dir, "damaged.db");
	_cleanup_free_ char *before = NULL, *after = NULL;
	struct tt_store *s = NULL;
	json_t *problems = NULL;
	size_t n_before, n_after;
	int root;

	assert_int_equal(tt_store_open(path, 0, &s), 0);
	assert_int_equal(tt_store_check(s, true, &problems), 0);
	assert_int_equal(json_array_size(problems), 0);
	json_decref(problems);
	assert_int_equal(tt_store_begin(s), 0);
	assert_int_equal(tt_store_exec(s, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
					  "FROM n WHERE i < 2000) INSERT INTO meta "
					  "SELECT 'key' || i, printf('%.200c', 'v') FROM n"),
			 0);
	assert_int_equal(tt_store_commit(s), 0);
	root = count_rows(s, "SELECT rootpage FROM sqlite_schema WHERE name = 'meta'");
	assert_true(root > 1);
	tt_store_free(s);
	s = NULL;

	/* meta's root is an interior page now: its cell pointers start at byte 12. */
	{
		FILE *f = fopen(path, "r+b");
		unsigned char junk[16];

		assert_non_null(f);
		memset(junk, 0xff, sizeof(junk));
		assert_int_equal(fseek(f, (long)(root - 1) * 4096 + 12, SEEK_SET), 0);
		assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
		fclose(f);
	}
	read_all(path, &before, &n_before);

	assert_int_equal(tt_store_open(path, TT_STORE_READONLY, &s), 0);
	assert_int_equal(tt_store_check(s, true, &problems), 0);
	assert_true(json_array_size(problems) > 0);
	json_decref(problems);
	assert_int_equal(tt_store_check(s, false, &problems), 0);
	assert_true(json_array_size(problems) > 0);
	json_decref(problems);
	tt_store_free(s);
	s = NULL;

	assert_int_equal(tt_store_open(path, 0, &s), 0);
	assert_int_equal(tt_store_begin(s), -EBADMSG);
	assert_int_equal(tt_store_meta_set(s, "k", "v"), -EBADMSG);
	tt_store_free(s);
	read_all(path, &after, &n_after);
	assert_int_equal(n_before, n_after);
	assert_memory_equal(before, after, n_before);
}

/* The library's error lines, for tests that read what a refusal says. */
static char logged[4096];

static void log_capture(enum tt_log_level level, const char *msg, void *userdata)
{
	size_t n = strlen(logged);

	if (level <= TT_LOG_ERR)
		snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
}

/*
 * A database with a table the writer below never touches, whose root (an interior page, the
 * table spanning many) has its cell pointers overwritten. Returns the file's bytes.
 */
static void make_damaged_aside(const char *path, char **ret, size_t *ret_len)
{
	struct tt_store *s = NULL;
	int root;

	assert_int_equal(tt_store_open(path, 0, &s), 0);
	assert_int_equal(tt_store_exec(s, "CREATE TABLE aside(v TEXT); "
					  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
					  "FROM n WHERE i < 2000) INSERT INTO aside "
					  "SELECT printf('%.200c', 'v') FROM n"),
			 0);
	root = count_rows(s, "SELECT rootpage FROM sqlite_schema WHERE name = 'aside'");
	assert_true(root > 1);
	tt_store_free(s);
	{
		FILE *f = fopen(path, "r+b");
		unsigned char junk[16];

		assert_non_null(f);
		memset(junk, 0xff, sizeof(junk));
		assert_int_equal(fseek(f, (long)(root - 1) * 4096 + 12, SEEK_SET), 0);
		assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
		fclose(f);
	}
	read_all(path, ret, ret_len);
}

/*
 * A write transaction whose quick check runs beside it on a second connection: the writes
 * themselves succeed (they do not touch the damaged table), and the commit finds the damage,
 * rolls back, says so naming the file, and leaves every byte as it was. Both with the check
 * started early and with it left to the commit.
 */
static void test_concurrent_check_refuses_commit(void **state)
{
	for (int started = 0; started < 2; started++) {
		_cleanup_free_ char *path = NULL, *wal = NULL, *before = NULL, *after = NULL;
		struct tt_store *s = NULL;
		size_t n_before, n_after;
		char name[32];

		snprintf(name, sizeof(name), "aside-%d.db", started);
		path = path_join(dir, name);
		wal = strdup_printf("%s-wal", path);
		make_damaged_aside(path, &before, &n_before);

		logged[0] = '\0';
		tt_log_set(log_capture, NULL, TT_LOG_ERR);
		assert_int_equal(tt_store_open(path, 0, &s), 0);
		assert_int_equal(tt_store_begin_concurrent_check(s), 0);
		if (started)
			assert_int_equal(tt_store_check_start(s), 0);
		assert_int_equal(tt_store_exec(s, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
						  "SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO "
						  "meta SELECT 'k' || i, printf('%.300c', 'w') FROM n"),
				 0);
		assert_int_equal(tt_store_commit(s), -EBADMSG);
		assert_true(sqlite3_get_autocommit(tt_store_db(s)));
		/* Nothing of it is visible, and the store stays refused. */
		assert_int_equal(count_rows(s, "SELECT count(*) FROM meta WHERE key LIKE 'k%'"), 0);
		assert_int_equal(tt_store_meta_set(s, "k", "v"), -EBADMSG);
		tt_store_free(s);
		tt_log_set(NULL, NULL, TT_LOG_ERR);

		assert_non_null(strstr(logged, path));
		assert_non_null(strstr(logged, "is damaged"));
		assert_non_null(strstr(logged, "restore it from a backup"));
		read_all(path, &after, &n_after);
		assert_int_equal(n_before, n_after);
		assert_memory_equal(before, after, n_before);
		assert_int_not_equal(access(wal, F_OK), 0);
	}
}

/*
 * On a sound file: the concurrent check lets the commit through; a rollback stops a running
 * check and leaves the next transaction owing one; a transaction that only reads and rolls
 * back never checks, so it does not refuse a damaged file it leaves alone.
 */
static void test_concurrent_check_sound_and_rollback(void **state)
{
	_cleanup_free_ char *path = path_join(dir, "sound.db"), *bad = path_join(dir, "ro.db");
	_cleanup_free_ char *before = NULL, *after = NULL;
	struct tt_store *s = NULL;
	size_t n_before, n_after;
	char *v = NULL;

	assert_int_equal(tt_store_open(path, 0, &s), 0);
	assert_int_equal(tt_store_begin_concurrent_check(s), 0);
	assert_int_equal(tt_store_check_start(s), 0);
	assert_int_equal(tt_store_meta_set(s, "a", "1"), 0);
	assert_int_equal(tt_store_rollback(s), 0);
	assert_int_equal(tt_store_begin_concurrent_check(s), 0);
	assert_int_equal(tt_store_check_start(s), 0);
	assert_int_equal(tt_store_meta_set(s, "a", "2"), 0);
	assert_int_equal(tt_store_commit(s), 0);
	tt_store_free(s);
	s = NULL;
	assert_int_equal(tt_store_open(path, 0, &s), 0);
	assert_int_equal(tt_store_meta_get(s, "a", &v), 0);
	assert_string_equal(v, "2");
	free(v);
	tt_store_free(s);
	s = NULL;

	make_damaged_aside(bad, &before, &n_before);
	assert_int_equal(tt_store_open(bad, 0, &s), 0);
	assert_int_equal(tt_store_begin_concurrent_check(s), 0);
	assert_int_equal(tt_store_meta_get(s, "a", &v), 0);
	assert_null(v);
	assert_int_equal(tt_store_rollback(s), 0);
	/* A later write is still refused: the rollback did not count as a check. */
	assert_int_equal(tt_store_begin_concurrent_check(s), 0);
	assert_int_equal(tt_store_meta_set(s, "a", "3"), 0);
	assert_int_equal(tt_store_commit(s), -EBADMSG);
	tt_store_free(s);
	read_all(bad, &after, &n_after);
	assert_int_equal(n_before, n_after);
	assert_memory_equal(before, after, n_before);
}

/*
 * Processes opening the same new database at once all get it, schema made once: the second
 * waits for the first's schema transaction instead of failing on "table meta already exists".
 */
static void test_concurrent_first_open(void **state)
{
	for (int round = 0; round < 10; round++) {
		_cleanup_free_ char *path = NULL;
		pid_t pids[4];
		int gate[2], failed = 0;
		char name[32];

		snprintf(name, sizeof(name), "race-%d.db", round);
		path = path_join(dir, name);
		assert_int_equal(pipe(gate), 0);
		for (size_t i = 0; i < ARRAY_SIZE(pids); i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0) {
				struct tt_store *s = NULL;
				char c;
				int r;

				close(gate[1]);
				/* Every child starts when the parent closes the gate. */
				(void)!read(gate[0], &c, 1);
				r = tt_store_open(path, 0, &s);
				if (r == 0)
					r = tt_store_meta_set(s, "opened", "yes");
				tt_store_free(s);
				_exit(r == 0 ? 0 : 1);
			}
		}
		close(gate[0]);
		close(gate[1]);
		for (size_t i = 0; i < ARRAY_SIZE(pids); i++) {
			int status;

			assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
			failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
		}
		assert_int_equal(failed, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_meta),
		cmocka_unit_test(test_not_a_database),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_migration_3_keeps_verdicts),
		cmocka_unit_test(test_damaged_database_refused),
		cmocka_unit_test(test_concurrent_check_refuses_commit),
		cmocka_unit_test(test_concurrent_check_sound_and_rollback),
		cmocka_unit_test(test_concurrent_first_open),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
