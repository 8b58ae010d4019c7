/* The server's state database: open, migrate, transactions, a statement cache. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "log.h"
#include "server/schema.h"
#include "server/state.h"
#include "store/store.h"
#include "store/db.h"
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

/* A struct srv_stmt is SQLite's statement under a name the server's logic can hold. */
static sqlite3_stmt *S(struct srv_stmt *s)
{
	return (sqlite3_stmt *)s;
}

void srv_bind_int64(struct srv_stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(S(s), i, (sqlite3_int64)v);
}

void srv_bind_int(struct srv_stmt *s, int i, int v)
{
	sqlite3_bind_int(S(s), i, v);
}

void srv_bind_text(struct srv_stmt *s, int i, const char *text)
{
	sqlite3_bind_text(S(s), i, text, -1, SQLITE_STATIC);
}

void srv_bind_blob(struct srv_stmt *s, int i, const void *p, size_t n)
{
	sqlite3_bind_blob64(S(s), i, p, n, SQLITE_STATIC);
}

void srv_bind_null(struct srv_stmt *s, int i)
{
	sqlite3_bind_null(S(s), i);
}

int srv_step(struct srv_stmt *s)
{
	switch (sqlite3_step(S(s))) {
	case SQLITE_ROW:
		return SRV_ROW;
	case SQLITE_DONE:
		return SRV_DONE;
	case SQLITE_CONSTRAINT:
		return SRV_CONSTRAINT;
	default:
		return SRV_ERROR;
	}
}

int srv_step_insert(struct srv_stmt *s, int64_t *ret_id)
{
	int r = srv_step(s);

	if (r == SRV_ROW) {
		*ret_id = srv_column_int64(s, 0);
		while ((r = srv_step(s)) == SRV_ROW)
			;
	}
	srv_reset(s);
	return r;
}

int srv_exec(struct srv_state *st, struct srv_stmt *s, const char *context)
{
	int r = srv_step(s);

	srv_reset(s);
	return r == SRV_DONE ? 0 : srv_state_error(st, context);
}

int srv_exec_insert(struct srv_state *st, struct srv_stmt *s, const char *context, int64_t *ret_id)
{
	return srv_step_insert(s, ret_id) == SRV_DONE ? 0 : srv_state_error(st, context);
}

void srv_reset(struct srv_stmt *s)
{
	sqlite3_reset(S(s));
}

bool srv_column_is_null(struct srv_stmt *s, int i)
{
	return sqlite3_column_type(S(s), i) == SQLITE_NULL;
}

int64_t srv_column_int64(struct srv_stmt *s, int i)
{
	return sqlite3_column_int64(S(s), i);
}

int srv_column_int(struct srv_stmt *s, int i)
{
	return sqlite3_column_int(S(s), i);
}

const char *srv_column_text(struct srv_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(S(s), i);
}

json_t *srv_column_json(struct srv_stmt *s, int i)
{
	return tt_store_column_json(S(s), i);
}

const char *srv_state_path(struct srv_state *st)
{
	return st->path;
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

static int state_ops_error(void *st, const char *context)
{
	return srv_state_error(st, context);
}
static int state_ops_begin(void *st)
{
	return srv_state_begin(st);
}
static int state_ops_commit(void *st)
{
	return srv_state_commit(st);
}
static int state_ops_rollback(void *st)
{
	return srv_state_rollback(st);
}

/* The open and migrate code shared with the CVE store (store/db.h), through this file's lock. */
#define STATE_OPS(st)                                                                             \
	(&(const struct tt_db_ops){ .userdata = (st),                                            \
				    .error = state_ops_error,                                    \
				    .begin = state_ops_begin,                                    \
				    .commit = state_ops_commit,                                  \
				    .rollback = state_ops_rollback })

static int state_exec(struct srv_state *st, const char *sql, const char *context)
{
	return tt_db_exec(st->db, sql, context, STATE_OPS(st));
}

int srv_state_prepare(struct srv_state *st, const char *sql, struct srv_stmt **ret)
{
	sqlite3_stmt *stmt;

	for (size_t i = 0; i < st->n_cache; i++)
		if (st->cache[i].sql == sql) {
			sqlite3_reset(st->cache[i].stmt);
			sqlite3_clear_bindings(st->cache[i].stmt);
			*ret = (struct srv_stmt *)st->cache[i].stmt;
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
	*ret = (struct srv_stmt *)stmt;
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

static int state_migrate(struct srv_state *st)
{
	const struct tt_db_schema schema = {
		.migrations = srv_schema_migrations,
		.n_migrations = srv_schema_n_migrations,
		.what = "server schema",
		.program = "tuxtape-server",
	};
	int r = tt_db_migrate(st->db, st->path, &schema, STATE_OPS(st));

	return r < 0 ? r : 0;
}

int srv_state_open(const char *path, struct srv_state **ret)
{
	struct srv_state *st;
	int r;

	r = tt_db_mkdir_parent(path, 0700);
	if (r < 0)
		return r;
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
	r = tt_db_set_wal(st->db, STATE_BUSY_TIMEOUT_MS, STATE_OPS(st));
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
