/* The SQLite database behind tuxtape: opening, schema migrations, transactions, metadata. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sqlite3.h>
#include "macro.h"

struct tt_store;

enum {
	TT_STORE_READONLY = 1 << 0, /* never create or migrate */
};

/*
 * Opens (creating it and its directory unless READONLY) the database at PATH and brings its
 * schema up to date. A file that is not a tuxtape database is -EBADMSG, a newer schema than
 * this build knows is -EPROTO; both are logged naming the file.
 */
int tt_store_open(const char *path, unsigned flags, struct tt_store **ret);
void tt_store_free(struct tt_store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tt_store *, tt_store_free);
#define _cleanup_store_ _cleanup_(tt_store_freep)

sqlite3 *tt_store_db(struct tt_store *s);
const char *tt_store_path(struct tt_store *s);

/* What a damaged database's error message tells the user to do. */
#define TT_STORE_REMEDY                                                                          \
	"nothing was written; restore it from a backup, or move it away and run 'tuxtape cve "   \
	"sync' to rebuild it (kernels must then be added again)"

/*
 * Runs PRAGMA integrity_check (FULL) or PRAGMA quick_check. *RET gets the problems found, a
 * JSON array of strings, empty when the database is sound. Returns 0 whether or not there
 * were problems; -errno when the check could not run.
 */
int tt_store_check(struct tt_store *s, bool full, json_t **ret);

/*
 * BEGIN IMMEDIATE / COMMIT / ROLLBACK. A store's first BEGIN runs PRAGMA quick_check and
 * refuses a damaged database (-EBADMSG, logged with the file and what to do).
 */
int tt_store_begin(struct tt_store *s);
int tt_store_commit(struct tt_store *s);
int tt_store_rollback(struct tt_store *s);

/*
 * BEGIN IMMEDIATE for a long transaction that may write nothing: the quick check is owed, not
 * run. tt_store_check_start() runs it on a second, read-only connection in a thread while the
 * caller works; it sees the file as the transaction found it. tt_store_commit() waits for it
 * (running it then if it was not started) and, when the file is damaged, rolls back instead
 * of committing (-EBADMSG, logged as by tt_store_begin()). A rollback stops the check unread.
 */
int tt_store_begin_concurrent_check(struct tt_store *s);
int tt_store_check_start(struct tt_store *s);

/* Runs SQL with no result rows; logs the SQLite message on failure and returns -EIO. */
int tt_store_exec(struct tt_store *s, const char *sql);
/* Prepares SQL (cached for the store's life); logs and returns -EIO on failure. */
int tt_store_prepare(struct tt_store *s, const char *sql, sqlite3_stmt **ret);
/* Logs the database's last error with CONTEXT and returns -EIO. */
int tt_store_error(struct tt_store *s, const char *context);

/* Column I of the current row as a JSON value of the matching type (a new reference). */
json_t *tt_store_column_json(sqlite3_stmt *st, int i);

/*
 * A number that moves whenever another connection (another thread's, another process's)
 * commits to the database, not when this one does; for caches of answers.
 */
int tt_store_data_version(struct tt_store *s, int64_t *ret);

/* key/value metadata; a missing key gives *ret = NULL and returns 0. */
int tt_store_meta_get(struct tt_store *s, const char *key, char **ret);
int tt_store_meta_set(struct tt_store *s, const char *key, const char *value);

/* Schema version this build writes. */
int tt_store_schema_version(void);
