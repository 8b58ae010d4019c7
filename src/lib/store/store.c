/* SQLite store: open, migrate, transactions, a statement cache, metadata. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"
#include "store/schema.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

struct stmt_cache_entry {
	const char *sql; /* the caller's string literal: compared by address, then by text */
	sqlite3_stmt *stmt;
};

struct tt_store {
	sqlite3 *db;
	char *path;
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

int tt_store_error(struct tt_store *s, const char *context)
{
	int code = sqlite3_errcode(s->db);

	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) {
		log_error("'%s' is not a usable tuxtape database (%s)", s->path,
			  sqlite3_errmsg(s->db));
		return -EBADMSG;
	}
	if (code == SQLITE_BUSY) {
		log_error("'%s' is locked by another tuxtape process", s->path);
		return -EBUSY;
	}
	if (code == SQLITE_FULL) {
		log_error("'%s': disk full", s->path);
		return -ENOSPC;
	}
	log_error("database '%s': %s: %s", s->path, context, sqlite3_errmsg(s->db));
	return -EIO;
}

int tt_store_exec(struct tt_store *s, const char *sql)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return tt_store_error(s, sql);
	return 0;
}

int tt_store_prepare(struct tt_store *s, const char *sql, sqlite3_stmt **ret)
{
	sqlite3_stmt *st;
	size_t i;

	for (i = 0; i < s->n_cache; i++) {
		if (s->cache[i].sql == sql || streq(s->cache[i].sql, sql)) {
			sqlite3_reset(s->cache[i].stmt);
			sqlite3_clear_bindings(s->cache[i].stmt);
			*ret = s->cache[i].stmt;
			return 0;
		}
	}
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return tt_store_error(s, "prepare");
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

int tt_store_begin(struct tt_store *s)
{
	return tt_store_exec(s, "BEGIN IMMEDIATE");
}

int tt_store_commit(struct tt_store *s)
{
	return tt_store_exec(s, "COMMIT");
}

int tt_store_rollback(struct tt_store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return 0;
	return tt_store_exec(s, "ROLLBACK");
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
	sqlite3_stmt *st;
	int version, r;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return tt_store_error(s, "reading schema version");
	r = sqlite3_step(st);
	version = r == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (version < 0)
		return tt_store_error(s, "reading schema version");
	if ((size_t)version > tt_schema_n_migrations) {
		log_error("'%s' has schema version %d, newer than this tuxtape knows (%zu)",
			  s->path, version, tt_schema_n_migrations);
		return -EPROTO;
	}
	if ((size_t)version == tt_schema_n_migrations)
		return 0;

	r = tt_store_begin(s);
	if (r < 0)
		return r;
	for (size_t i = (size_t)version; i < tt_schema_n_migrations; i++) {
		r = tt_store_exec(s, tt_schema_migrations[i]);
		if (r < 0)
			goto fail;
	}
	{
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", tt_schema_n_migrations);
		r = tt_store_exec(s, sql);
		if (r < 0)
			goto fail;
	}
	r = tt_store_commit(s);
	if (r < 0)
		goto fail;
	return 0;
fail:
	tt_store_rollback(s);
	return r;
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
		_cleanup_free_ char *dir = strdup(path);
		char *slash = dir ? strrchr(dir, '/') : NULL;

		if (!dir) {
			r = -ENOMEM;
			goto fail;
		}
		if (slash && slash != dir) {
			*slash = '\0';
			r = mkdir_p(dir, 0755);
			if (r < 0) {
				log_error("cannot create directory '%s': %s", dir, strerror(-r));
				goto fail;
			}
		}
	}
	oflags = flags & TT_STORE_READONLY ? SQLITE_OPEN_READONLY
					   : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_error("cannot open database '%s': %s", path,
			  s->db ? sqlite3_errmsg(s->db) : "out of memory");
		r = -EIO;
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	sqlite3_extended_result_codes(s->db, 0);
	/* WAL keeps readers going during a sync; synchronous=NORMAL is still crash-safe in WAL. */
	if (!(flags & TT_STORE_READONLY)) {
		r = tt_store_exec(s, "PRAGMA journal_mode = WAL");
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
	for (size_t i = 0; i < s->n_cache; i++)
		sqlite3_finalize(s->cache[i].stmt);
	free(s->cache);
	if (s->db)
		sqlite3_close(s->db);
	free(s->path);
	free(s);
}
