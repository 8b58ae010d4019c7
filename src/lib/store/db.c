/* An SQLite file's directory, WAL and migrations, shared by the CVE store and server.db. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "store/db.h"
#include "banned.h"

int tt_db_mkdir_parent(const char *path, int mode)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	int r;

	if (!dir)
		return -ENOMEM;
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	r = mkdir_p(dir, mode);
	if (r < 0)
		return log_error_errno(r, "cannot create directory '%s': %s", dir, strerror(-r));
	return 0;
}

int tt_db_exec(sqlite3 *db, const char *sql, const char *context, const struct tt_db_ops *ops)
{
	char shortened[64];

	if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	/* A migration is kilobytes: its start is enough to name it. */
	if (!context) {
		size_t n = strlen(sql);

		snprintf(shortened, sizeof(shortened), "%.*s%s", n > 48 ? 45 : (int)n, sql,
			 n > 48 ? "..." : "");
		context = shortened;
	}
	return ops->error(ops->userdata, context);
}

int tt_db_set_wal(sqlite3 *db, int timeout_ms, const struct tt_db_ops *ops)
{
	for (int waited = 0;; waited += 10) {
		sqlite3_stmt *st;
		int r;

		if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
			return ops->error(ops->userdata, "switching to WAL");
		r = sqlite3_step(st);
		sqlite3_finalize(st);
		if (r == SQLITE_ROW)
			return 0;
		if (r != SQLITE_BUSY || waited >= timeout_ms)
			return ops->error(ops->userdata, "switching to WAL");
		sqlite3_sleep(10);
	}
}

static int db_read_version(sqlite3 *db, const char *path, const struct tt_db_schema *schema,
			   const struct tt_db_ops *ops, size_t *ret)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return ops->error(ops->userdata, "reading the schema version");
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (v < 0)
		return ops->error(ops->userdata, "reading the schema version");
	if ((size_t)v > schema->n_migrations) {
		log_error("'%s' has %s version %d, newer than this %s knows (%zu)", path,
			  schema->what, v, schema->program, schema->n_migrations);
		return -EPROTO;
	}
	*ret = (size_t)v;
	return 0;
}

int tt_db_migrate(sqlite3 *db, const char *path, const struct tt_db_schema *schema,
		  const struct tt_db_ops *ops)
{
	char sql[64];
	size_t v;
	int r;

	r = db_read_version(db, path, schema, ops, &v);
	if (r < 0 || v == schema->n_migrations)
		return r;
	r = ops->begin(ops->userdata);
	if (r < 0)
		return r;
	/* Again under the write lock: another process may have migrated meanwhile. */
	r = db_read_version(db, path, schema, ops, &v);
	for (size_t i = v; r == 0 && i < schema->n_migrations; i++) {
		char what[64];

		snprintf(what, sizeof(what), "%s migration %zu", schema->what, i + 1);
		r = tt_db_exec(db, schema->migrations[i], what, ops);
	}
	if (r == 0 && v < schema->n_migrations) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", schema->n_migrations);
		r = tt_db_exec(db, sql, "setting the schema version", ops);
	}
	if (r < 0) {
		ops->rollback(ops->userdata);
		return r;
	}
	r = ops->commit(ops->userdata);
	if (r < 0) {
		ops->rollback(ops->userdata);
		return r;
	}
	return 1;
}
