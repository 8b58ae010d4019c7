/* The server's state database: open, migrate, transactions, a statement cache. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "log.h"
#include "server/schema.h"
#include "server/state.h"
#include "banned.h"

/* As long as the CVE store waits for another writer; heartbeats are short transactions. */
#define STATE_BUSY_TIMEOUT_MS 5000

struct state_stmt {
	const char *sql;
	sqlite3_stmt *stmt;
};

/*
 * Writers of this process take turns here rather than in SQLite's busy handler, which sleeps
 * 1-100 ms between tries: with four threads writing heartbeats that was the p99.
 */
static pthread_mutex_t state_write_lock = PTHREAD_MUTEX_INITIALIZER;

struct srv_state {
	sqlite3 *db;
	bool in_tx; /* holds state_write_lock */
	char *path;
	struct state_stmt *cache;
	size_t n_cache, alloc_cache;
};

const char *srv_state_path(struct srv_state *st)
{
	return st->path;
}

int64_t srv_state_last_insert_id(struct srv_state *st)
{
	return sqlite3_last_insert_rowid(st->db);
}

int srv_state_schema_version(void)
{
	return (int)srv_schema_n_migrations;
}

int srv_state_error(struct srv_state *st, const char *context)
{
	int code = sqlite3_errcode(st->db);

	log_error("%s: '%s': %s", context, st->path, sqlite3_errmsg(st->db));
	if (code == SQLITE_CONSTRAINT)
		return -EEXIST;
	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		return -EBADMSG;
	return -EIO;
}

static int state_exec(struct srv_state *st, const char *sql, const char *context)
{
	char *err = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &err) == SQLITE_OK)
		return 0;
	log_error("%s: '%s': %s", context, st->path, err ? err : sqlite3_errmsg(st->db));
	sqlite3_free(err);
	return sqlite3_errcode(st->db) == SQLITE_NOTADB ? -EBADMSG : -EIO;
}

int srv_state_prepare(struct srv_state *st, const char *sql, sqlite3_stmt **ret)
{
	sqlite3_stmt *stmt;

	for (size_t i = 0; i < st->n_cache; i++)
		if (st->cache[i].sql == sql) {
			sqlite3_reset(st->cache[i].stmt);
			sqlite3_clear_bindings(st->cache[i].stmt);
			*ret = st->cache[i].stmt;
			return 0;
		}
	if (st->n_cache == st->alloc_cache) {
		size_t n = st->alloc_cache ? st->alloc_cache * 2 : 16;
		struct state_stmt *c = realloc(st->cache, n * sizeof(*c));

		if (!c)
			return -ENOMEM;
		st->cache = c;
		st->alloc_cache = n;
	}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) !=
	    SQLITE_OK)
		return srv_state_error(st, "preparing a statement");
	st->cache[st->n_cache++] = (struct state_stmt){sql, stmt};
	*ret = stmt;
	return 0;
}

static void state_tx_end(struct srv_state *st)
{
	if (st->in_tx) {
		st->in_tx = false;
		pthread_mutex_unlock(&state_write_lock);
	}
}

int srv_state_begin(struct srv_state *st)
{
	int r;

	pthread_mutex_lock(&state_write_lock);
	st->in_tx = true;
	r = state_exec(st, "BEGIN IMMEDIATE", "starting a write transaction");
	if (r < 0)
		state_tx_end(st);
	return r;
}

int srv_state_commit(struct srv_state *st)
{
	int r = state_exec(st, "COMMIT", "committing");

	if (r < 0)
		return srv_state_rollback(st), r;
	state_tx_end(st);
	return 0;
}

int srv_state_rollback(struct srv_state *st)
{
	int r = 0;

	if (!sqlite3_get_autocommit(st->db))
		r = state_exec(st, "ROLLBACK", "rolling back");
	state_tx_end(st);
	return r;
}

static int state_version(struct srv_state *st, int *ret)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return srv_state_error(st, "reading the schema version");
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (v < 0)
		return srv_state_error(st, "reading the schema version");
	if ((size_t)v > srv_schema_n_migrations) {
		log_error("'%s' has server schema version %d, newer than this tuxtape-server "
			  "knows (%zu)",
			  st->path, v, srv_schema_n_migrations);
		return -EPROTO;
	}
	*ret = v;
	return 0;
}

static int state_migrate(struct srv_state *st)
{
	char sql[64];
	int v, r;

	r = state_version(st, &v);
	if (r < 0 || (size_t)v == srv_schema_n_migrations)
		return r;
	r = srv_state_begin(st);
	if (r < 0)
		return r;
	/* Again under the write lock: another process may have migrated meanwhile. */
	r = state_version(st, &v);
	for (size_t i = (size_t)v; r == 0 && i < srv_schema_n_migrations; i++) {
		char what[64];

		snprintf(what, sizeof(what), "server schema migration %zu", i + 1);
		r = state_exec(st, srv_schema_migrations[i], what);
	}
	if (r == 0) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", srv_schema_n_migrations);
		r = state_exec(st, sql, "setting the schema version");
	}
	if (r < 0) {
		srv_state_rollback(st);
		return r;
	}
	return srv_state_commit(st);
}

int srv_state_open(const char *path, struct srv_state **ret)
{
	_cleanup_free_ char *dir = NULL;
	struct srv_state *st;
	char *slash;
	int r;

	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		r = mkdir_p(dir, 0700);
		if (r < 0)
			return log_error_errno(r, "cannot create directory '%s': %s", dir,
					       strerror(-r));
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->path = strdup(path);
	if (!st->path) {
		free(st);
		return -ENOMEM;
	}
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		log_error("cannot open server database '%s': %s", path,
			  st->db ? sqlite3_errmsg(st->db) : "out of memory");
		srv_state_free(st);
		return -EIO;
	}
	sqlite3_busy_timeout(st->db, STATE_BUSY_TIMEOUT_MS);
	r = state_exec(st, "PRAGMA journal_mode = WAL", "switching to WAL");
	if (r == 0)
		r = state_exec(st, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON",
			       "setting pragmas");
	if (r == 0)
		r = state_migrate(st);
	if (r < 0) {
		srv_state_free(st);
		return r;
	}
	*ret = st;
	return 0;
}

void srv_state_free(struct srv_state *st)
{
	if (!st)
		return;
	state_tx_end(st);
	for (size_t i = 0; i < st->n_cache; i++)
		sqlite3_finalize(st->cache[i].stmt);
	free(st->cache);
	if (st->db)
		sqlite3_close(st->db);
	free(st->path);
	free(st);
}

void srv_time_iso(int64_t t, char ret[static 32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(ret, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(ret, 32, "%lld", (long long)t);
}
