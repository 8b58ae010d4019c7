/* SQLite store: open, migrate, transactions, a statement cache, metadata. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "log.h"
#include "store/db.h"
#include "store/schema.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

/* How long to wait for another process's write transaction before giving up. */
#define STORE_BUSY_TIMEOUT_MS 5000

struct stmt_cache_entry {
	const char *sql; /* the caller's string literal: compared by address, then by text */
	sqlite3_stmt *stmt;
};

/* A quick check running on its own read-only connection while the writer works. */
struct store_checker {
	pthread_t thread;
	sqlite3 *db;
	json_t *problems;
	int code;     /* SQLITE_DONE when the check ran to its end, else what stopped it */
	char *errmsg; /* SQLite's message for CODE */
	double seconds;
};

struct tt_store {
	sqlite3 *db;
	char *path;
	bool readonly;
	bool checked;	 /* quick_check passed before this store's first write */
	bool check_owed; /* the open write transaction commits only after a check passes */
	struct store_checker *checker; /* started by tt_store_check_start(), NULL otherwise */
	struct stmt_cache_entry *cache;
	size_t n_cache, alloc_cache;
};

sqlite3 *tt_store_db(struct tt_store *s)
{
	return s->db;
}

const char *tt_store_path(struct tt_store *s)
{
	return s->path;
}

/*
 * The errno behind an I/O error, 0 when there is none to trust. After a short write SQLite
 * retries the rest and keeps no errno; the C library's errno then still says why, and an
 * errno that only a write gives cannot be stale from an unrelated call.
 */
static int store_system_errno(struct tt_store *s, int code)
{
	int e = sqlite3_system_errno(s->db), c_errno = errno;

	if (code != SQLITE_IOERR && code != SQLITE_FULL && code != SQLITE_CANTOPEN)
		return 0;
	if (e > 0)
		return e;
	if ((code == SQLITE_FULL || sqlite3_extended_errcode(s->db) == SQLITE_IOERR_WRITE) &&
	    (c_errno == ENOSPC || c_errno == EFBIG || c_errno == EDQUOT))
		return c_errno;
	return 0;
}

/*
 * SQLite's message for an I/O error ("disk I/O error") drops the reason. errno keeps it when
 * SQLite kept it; otherwise the extended code at least says which operation failed.
 */
static const char *store_io_cause(struct tt_store *s, int code)
{
	static const struct {
		int code;
		const char *what;
	} ops[] = {
		{ SQLITE_IOERR_READ, "reading failed" },
		{ SQLITE_IOERR_SHORT_READ, "the file is shorter than its header says" },
		{ SQLITE_IOERR_WRITE, "writing failed" },
		{ SQLITE_IOERR_FSYNC, "fsync failed" },
		{ SQLITE_IOERR_TRUNCATE, "truncating failed" },
		{ SQLITE_IOERR_FSTAT, "fstat failed" },
		{ SQLITE_IOERR_LOCK, "locking failed" },
		{ SQLITE_IOERR_SHMOPEN, "the -shm file could not be opened" },
		{ SQLITE_IOERR_SHMSIZE, "the -shm file could not be grown" },
		{ SQLITE_IOERR_SHMMAP, "the -shm file could not be mapped" },
	};
	int e = store_system_errno(s, code), ext = sqlite3_extended_errcode(s->db);

	if (code != SQLITE_IOERR && code != SQLITE_FULL && code != SQLITE_CANTOPEN)
		return NULL;
	if (e > 0)
		return strerror(e);
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (ops[i].code == ext)
			return ops[i].what;
	return NULL;
}

int tt_store_error(struct tt_store *s, const char *context)
{
	int code = sqlite3_errcode(s->db), e = store_system_errno(s, code);
	const char *msg = sqlite3_errmsg(s->db), *cause;

	if (code == SQLITE_CORRUPT) {
		log_error("'%s' is damaged (%s, while %s): " TT_STORE_REMEDY, s->path, msg,
			  context);
		return -EBADMSG;
	}
	if (code == SQLITE_NOTADB) {
		log_error("'%s' is not a usable tuxtape database (%s)", s->path, msg);
		return -EBADMSG;
	}
	if (code == SQLITE_BUSY) {
		log_error("'%s' is locked by another tuxtape process (%s)", s->path, context);
		return -EBUSY;
	}
	if (code == SQLITE_FULL || e == ENOSPC || e == EFBIG || e == EDQUOT) {
		log_error("cannot write '%s' (%s): %s", s->path, context,
			  e ? strerror(e) : "disk full");
		return e == EFBIG || e == EDQUOT ? -e : -ENOSPC;
	}
	cause = store_io_cause(s, code);
	if (cause)
		log_error("database '%s': %s: %s (%s)", s->path, context, msg, cause);
	else
		log_error("database '%s': %s: %s", s->path, context, msg);
	return e ? -e : -EIO;
}

static int store_ops_error(void *s, const char *context)
{
	return tt_store_error(s, context);
}
static int store_ops_begin(void *s)
{
	return tt_store_begin(s);
}
static int store_ops_commit(void *s)
{
	return tt_store_commit(s);
}
static int store_ops_rollback(void *s)
{
	return tt_store_rollback(s);
}

/* The shared open and migrate code (db.h) reports and locks through the store's own calls. */
#define STORE_OPS(s)                                                                              \
	(&(const struct tt_db_ops){ .userdata = (s),                                             \
				    .error = store_ops_error,                                    \
				    .begin = store_ops_begin,                                    \
				    .commit = store_ops_commit,                                  \
				    .rollback = store_ops_rollback })

/* Runs SQL; an error names CONTEXT, or the start of the SQL (a migration is kilobytes). */
static int store_exec(struct tt_store *s, const char *sql, const char *context)
{
	return tt_db_exec(s->db, sql, context, STORE_OPS(s));
}

int tt_store_exec(struct tt_store *s, const char *sql)
{
	return store_exec(s, sql, NULL);
}

static int store_check_before_write(struct tt_store *s);

/* A write outside tt_store_begin() (autocommit) gets the same check as a transaction. */
static int store_check_autocommit_write(struct tt_store *s, sqlite3_stmt *st)
{
	if (s->checked || sqlite3_stmt_readonly(st) || !sqlite3_get_autocommit(s->db))
		return 0;
	return store_check_before_write(s);
}

int tt_store_prepare(struct tt_store *s, const char *sql, sqlite3_stmt **ret)
{
	sqlite3_stmt *st;
	size_t i;
	int r;

	for (i = 0; i < s->n_cache; i++) {
		if (s->cache[i].sql == sql || streq(s->cache[i].sql, sql)) {
			sqlite3_reset(s->cache[i].stmt);
			sqlite3_clear_bindings(s->cache[i].stmt);
			r = store_check_autocommit_write(s, s->cache[i].stmt);
			if (r < 0)
				return r;
			*ret = s->cache[i].stmt;
			return 0;
		}
	}
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return tt_store_error(s, "prepare");
	r = store_check_autocommit_write(s, st);
	if (r < 0) {
		sqlite3_finalize(st);
		return r;
	}
	if (s->n_cache == s->alloc_cache) {
		size_t n = s->alloc_cache ? s->alloc_cache * 2 : 32;
		struct stmt_cache_entry *c = realloc(s->cache, n * sizeof(*c));

		if (!c) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		s->cache = c;
		s->alloc_cache = n;
	}
	s->cache[s->n_cache].sql = sql;
	s->cache[s->n_cache].stmt = st;
	s->n_cache++;
	*ret = st;
	return 0;
}

/* A row of a check may hold several lines, and names the schema ("*** in database main"). */
static int store_check_add(json_t *problems, const char *row)
{
	while (*row) {
		size_t n = strcspn(row, "\n");

		if (n && !startswith(row, "*** in database ") &&
		    json_array_append_new(problems, json_stringn(row, n)) < 0)
			return -ENOMEM;
		row += n;
		row += *row == '\n';
	}
	return 0;
}

/*
 * Runs the check on DB, adding each problem to PROBLEMS. SQLITE_DONE when the check ran, a
 * damaged page that stops it included (that is a finding); -ENOMEM; else the SQLite code
 * that kept it from running.
 */
static int store_check_run(sqlite3 *db, bool full, json_t *problems)
{
	sqlite3_stmt *st = NULL;
	int r;

	/* Not through the statement cache: a check runs once, and may fail to prepare. */
	r = sqlite3_prepare_v2(db, full ? "PRAGMA integrity_check" : "PRAGMA quick_check", -1, &st,
			       NULL);
	if (r == SQLITE_OK) {
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			const char *row = (const char *)sqlite3_column_text(st, 0);

			if (row && streq(row, "ok"))
				continue;
			if (store_check_add(problems, row ? row : "?") < 0) {
				sqlite3_finalize(st);
				return -ENOMEM;
			}
		}
	}
	sqlite3_finalize(st);
	if (r == SQLITE_DONE)
		return r;
	r = sqlite3_errcode(db);
	/* A schema or page so broken that the check itself stops is a finding too. */
	if (r != SQLITE_CORRUPT && r != SQLITE_NOTADB)
		return r;
	if (store_check_add(problems, sqlite3_errmsg(db)) < 0)
		return -ENOMEM;
	return SQLITE_DONE;
}

int tt_store_check(struct tt_store *s, bool full, json_t **ret)
{
	_cleanup_(json_decrefp) json_t *problems = json_array();
	int r;

	if (!problems)
		return -ENOMEM;
	r = store_check_run(s->db, full, problems);
	if (r == -ENOMEM)
		return r;
	if (r != SQLITE_DONE)
		return tt_store_error(s, full ? "integrity_check" : "quick_check");
	*ret = TAKE_PTR(problems);
	return 0;
}

static double store_elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The one refusal of a damaged file, whichever check found it. */
static int store_refuse_damaged(struct tt_store *s, json_t *problems)
{
	size_t n = json_array_size(problems);

	log_error("'%s' is damaged (%s%s): " TT_STORE_REMEDY, s->path,
		  json_string_value(json_array_get(problems, 0)),
		  n > 1 ? "; 'tuxtape db check' lists the rest" : "");
	return -EBADMSG;
}

/*
 * The first write transaction of a store checks the pages first (quick_check: every b-tree
 * page and record, not the index-to-table cross check): writing into a damaged b-tree can
 * spread the damage, and a sync over one would report success. Once per store, because a
 * check reads the whole file (figures in bench/README.md).
 */
static int store_check_before_write(struct tt_store *s)
{
	_cleanup_(json_decrefp) json_t *problems = NULL;
	struct timespec t0;
	int r;

	if (s->checked)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = tt_store_check(s, false, &problems);
	if (r < 0)
		return r;
	log_debug("quick_check of '%s': %.3f s", s->path, store_elapsed(&t0));
	if (json_array_size(problems))
		return store_refuse_damaged(s, problems);
	s->checked = true;
	return 0;
}

static void *store_checker_thread(void *arg)
{
	struct store_checker *k = arg;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	k->code = store_check_run(k->db, false, k->problems);
	if (k->code != SQLITE_DONE && k->code != -ENOMEM)
		k->errmsg = strdup(sqlite3_errmsg(k->db));
	k->seconds = store_elapsed(&t0);
	return NULL;
}

/* Stops a check whose answer is no longer wanted, and frees it. */
static void store_checker_stop(struct store_checker *k)
{
	if (!k)
		return;
	sqlite3_interrupt(k->db);
	pthread_join(k->thread, NULL);
	sqlite3_close(k->db);
	json_decref(k->problems);
	free(k->errmsg);
	free(k);
}

int tt_store_begin_concurrent_check(struct tt_store *s)
{
	int r;

	r = store_exec(s, "BEGIN IMMEDIATE", "starting a write transaction");
	if (r < 0)
		return r;
	s->check_owed = !s->checked;
	return 0;
}

int tt_store_check_start(struct tt_store *s)
{
	struct store_checker *k;
	int r;

	if (!s->check_owed || s->checker)
		return 0;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->problems = json_array();
	if (!k->problems) {
		free(k);
		return -ENOMEM;
	}
	/*
	 * Its own read-only connection, opened while this one holds the write lock: no other
	 * process can commit until this one does, so the check reads the file exactly as this
	 * transaction found it (WAL readers never see the writer's uncommitted pages). It reads
	 * with pread through a small cache, not mmap: a second mapping of the whole file made
	 * every page it checked count again in the process's RSS (an incremental sync peaked at
	 * 318 MiB instead of 195; massif: the heap never passed 71 MiB).
	 */
	r = sqlite3_open_v2(s->path, &k->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (r == SQLITE_OK) {
		sqlite3_busy_timeout(k->db, STORE_BUSY_TIMEOUT_MS);
		r = sqlite3_exec(k->db, "PRAGMA mmap_size = 0; PRAGMA cache_size = -2048", NULL,
				 NULL, NULL);
	}
	if (r != SQLITE_OK) {
		log_error("database '%s': cannot open a connection to check it: %s", s->path,
			  k->db ? sqlite3_errmsg(k->db) : "out of memory");
		sqlite3_close(k->db);
		json_decref(k->problems);
		free(k);
		return -EIO;
	}
	r = pthread_create(&k->thread, NULL, store_checker_thread, k);
	if (r != 0) {
		sqlite3_close(k->db);
		json_decref(k->problems);
		free(k);
		return log_error_errno(-r, "database '%s': cannot start its check: %s", s->path,
				       strerror(r));
	}
	s->checker = k;
	return 0;
}

/* Waits for the transaction's check; 0 when the file was sound, else why not to commit. */
static int store_check_finish(struct tt_store *s)
{
	struct store_checker *k;
	struct timespec t0;
	int r;

	if (!s->check_owed)
		return 0;
	r = tt_store_check_start(s);
	if (r < 0)
		return r;
	k = s->checker;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_join(k->thread, NULL);
	log_debug("quick_check of '%s' beside the writer: %.3f s, the commit waited %.3f s",
		  s->path, k->seconds, store_elapsed(&t0));
	if (k->code == -ENOMEM)
		r = -ENOMEM;
	else if (k->code != SQLITE_DONE)
		r = log_error_errno(-EIO,
				    "database '%s': its quick check could not run (%s), "
				    "so nothing was written",
				    s->path, strempty(k->errmsg));
	else if (json_array_size(k->problems))
		r = store_refuse_damaged(s, k->problems);
	else
		r = 0;
	sqlite3_close(k->db);
	json_decref(k->problems);
	free(k->errmsg);
	free(k);
	s->checker = NULL;
	s->check_owed = false;
	s->checked = r == 0;
	return r;
}

int tt_store_begin(struct tt_store *s)
{
	int r;

	/*
	 * Before BEGIN: in a read transaction SQLite reads the pages through mmap, in a write
	 * transaction through the page cache, which made the check three times slower.
	 */
	r = store_check_before_write(s);
	if (r < 0)
		return r;
	return store_exec(s, "BEGIN IMMEDIATE", "starting a write transaction");
}

int tt_store_commit(struct tt_store *s)
{
	int r;

	r = store_check_finish(s);
	if (r < 0) {
		tt_store_rollback(s);
		return r;
	}
	return store_exec(s, "COMMIT", "committing");
}

int tt_store_rollback(struct tt_store *s)
{
	/* Nothing will be committed: the check's answer is not needed. */
	store_checker_stop(TAKE_PTR(s->checker));
	s->check_owed = false;
	if (sqlite3_get_autocommit(s->db))
		return 0;
	return store_exec(s, "ROLLBACK", "rolling back");
}

json_t *tt_store_column_json(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return json_null();
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(st, i));
	default:
		return json_string((const char *)sqlite3_column_text(st, i));
	}
}

int tt_store_data_version(struct tt_store *s, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int r;

	/* Prepared and finalized here, not cached: a cheap PRAGMA, and nothing is held between
	 * calls. */
	if (sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 0 : -EIO;
}

int tt_store_meta_get(struct tt_store *s, const char *key, char **ret)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(s, "SELECT value FROM meta WHERE key = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		char *v = strdup((const char *)sqlite3_column_text(st, 0));

		sqlite3_reset(st);
		if (!v)
			return -ENOMEM;
		*ret = v;
		return 0;
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return tt_store_error(s, "reading metadata");
	*ret = NULL;
	return 0;
}

int tt_store_meta_set(struct tt_store *s, const char *key, const char *value)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(s, "INSERT INTO meta(key, value) VALUES (?1, ?2) "
				"ON CONFLICT(key) DO UPDATE SET value = excluded.value",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return tt_store_error(s, "writing metadata");
	return 0;
}

int tt_store_schema_version(void)
{
	return (int)tt_schema_n_migrations;
}

static int store_migrate(struct tt_store *s)
{
	const struct tt_db_schema schema = {
		.migrations = tt_schema_migrations,
		.n_migrations = tt_schema_n_migrations,
		.what = "schema",
		.program = "tuxtape",
	};
	int r;

	r = tt_db_migrate(s->db, s->path, &schema, STORE_OPS(s));
	if (r <= 0)
		return r;
	/*
	 * Copy the new schema into the main file now: the WAL then holds no committed pages, so
	 * when the next transaction fails (a disk-full first sync) closing has nothing to copy
	 * and removes the WAL. PASSIVE never waits for readers; whatever it leaves, close does.
	 */
	sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return 0;
}

int tt_store_open(const char *path, unsigned flags, struct tt_store **ret)
{
	struct tt_store *s;
	int r, oflags;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return -ENOMEM;
	}
	if (!(flags & TT_STORE_READONLY)) {
		r = tt_db_mkdir_parent(path, 0755);
		if (r < 0)
			goto fail;
	}
	oflags = flags & TT_STORE_READONLY ? SQLITE_OPEN_READONLY
					   : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	s->readonly = flags & TT_STORE_READONLY;
	if (sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		int code = s->db ? sqlite3_errcode(s->db) : SQLITE_NOMEM;
		const char *cause = s->db ? store_io_cause(s, code) : NULL;
		int e = s->db ? store_system_errno(s, code) : 0;

		log_error("cannot open database '%s': %s%s%s", path,
			  s->db ? sqlite3_errmsg(s->db) : "out of memory", cause ? ": " : "",
			  strempty(cause));
		r = e ? -e : -EIO;
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(s->db, 0);
	/* WAL keeps readers going during a sync; synchronous=NORMAL is still crash-safe in WAL. */
	if (!(flags & TT_STORE_READONLY)) {
		r = tt_db_set_wal(s->db, STORE_BUSY_TIMEOUT_MS, STORE_OPS(s));
		if (r < 0)
			goto fail;
		r = tt_store_exec(s, "PRAGMA synchronous = NORMAL");
		if (r < 0)
			goto fail;
	}
	/* A sync touches most of a ~150 MB database: a larger page cache and memory-mapped
	 * reads keep it from re-reading pages through read(2) (measured: -30 % sync time). */
	r = tt_store_exec(s, "PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456");
	if (r < 0)
		goto fail;
	r = tt_store_exec(s, "PRAGMA foreign_keys = ON");
	if (r < 0)
		goto fail;
	if (!(flags & TT_STORE_READONLY)) {
		r = store_migrate(s);
		if (r < 0)
			goto fail;
	}
	*ret = s;
	return 0;
fail:
	tt_store_free(s);
	return r;
}

void tt_store_free(struct tt_store *s)
{
	if (!s)
		return;
	store_checker_stop(TAKE_PTR(s->checker));
	for (size_t i = 0; i < s->n_cache; i++)
		sqlite3_finalize(s->cache[i].stmt);
	free(s->cache);
	if (s->db && !s->readonly) {
		int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

		/*
		 * Committed pages the WAL could not hand over (a full disk) are not lost: the next
		 * open reads them. Say so rather than leave a WAL file unexplained.
		 */
		if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
			const char *cause = store_io_cause(s, sqlite3_errcode(s->db));

			log_warn("'%s-wal' could not be merged into '%s' (%s%s%s): it is kept, and "
				 "the next tuxtape run merges it",
				 s->path, s->path, sqlite3_errmsg(s->db), cause ? ": " : "",
				 strempty(cause));
		}
	}
	if (s->db && sqlite3_close(s->db) != SQLITE_OK)
		log_warn("closing '%s': %s", s->path, sqlite3_errmsg(s->db));
	free(s->path);
	free(s);
}
