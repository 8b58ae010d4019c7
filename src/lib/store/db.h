/*
 * What the CVE store and the server's state database share of an SQLite file: its directory,
 * WAL, and a schema brought up to date by ordered migrations (PRAGMA user_version, under BEGIN
 * IMMEDIATE, a newer schema refused). One copy, so that a second backend replaces one place.
 */
#pragma once

#include <sqlite3.h>
#include <stddef.h>

struct tt_db_schema {
	const char *const *migrations; /* index i brings version i to i + 1 */
	size_t n_migrations;
	const char *what;    /* "schema", "server schema": as messages name it */
	const char *program; /* "tuxtape", "tuxtape-server": named when the schema is newer */
};

/* How the caller's connection reports errors and takes its write lock. */
struct tt_db_ops {
	void *userdata;
	/* Logs the connection's last error with CONTEXT (naming the file); returns -errno. */
	int (*error)(void *userdata, const char *context);
	/* BEGIN IMMEDIATE, with whatever the caller holds around its write transactions. */
	int (*begin)(void *userdata);
	int (*commit)(void *userdata);
	int (*rollback)(void *userdata);
};

/* Creates the directory PATH is in (and its parents) with MODE; logs a failure. */
int tt_db_mkdir_parent(const char *path, int mode);

/* Runs SQL with no result rows; a failure is OPS->error with CONTEXT, or the SQL's start. */
int tt_db_exec(sqlite3 *db, const char *sql, const char *context, const struct tt_db_ops *ops);

/*
 * Switches DB to WAL. A second process opening the same new file makes SQLite answer BUSY at
 * once (no busy handler): tried again for up to TIMEOUT_MS. A file system without shared
 * memory keeps the old journal mode, which still works.
 */
int tt_db_set_wal(sqlite3 *db, int timeout_ms, const struct tt_db_ops *ops);

/*
 * Brings DB (the file PATH) to SCHEMA's last version: a newer one is -EPROTO, logged; the
 * missing migrations and the new user_version commit in one transaction, the version read
 * again under the write lock (another process may have migrated meanwhile). 1 when it
 * migrated, 0 when the schema was current.
 */
int tt_db_migrate(sqlite3 *db, const char *path, const struct tt_db_schema *schema,
		  const struct tt_db_ops *ops);
