/*
 * The server's own database (tokens, audit log, fleet nodes, later the review workflow): kept
 * apart from the CVE database, with its own ordered migrations, behind functions that say
 * what they do so that the HTTP layer holds no SQL.
 */
#pragma once

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct srv_state;

/*
 * Opens (creating it and its directory) the state database at PATH in WAL mode and applies
 * the migrations it lacks, under BEGIN IMMEDIATE so that concurrent first opens agree. A
 * newer schema than this build knows is -EPROTO, a file that is not SQLite -EBADMSG.
 */
int srv_state_open(const char *path, struct srv_state **ret);
void srv_state_free(struct srv_state *st);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct srv_state *, srv_state_free);
#define _cleanup_state_ _cleanup_(srv_state_freep)

const char *srv_state_path(struct srv_state *st);
/* How many migrations this build knows (the schema version it writes). */
int srv_state_schema_version(void);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK; a change and its audit record commit together. */
int srv_state_begin(struct srv_state *st);
int srv_state_commit(struct srv_state *st);
int srv_state_rollback(struct srv_state *st);

/* Prepares SQL once per connection (compared by address, the callers pass literals). */
int srv_state_prepare(struct srv_state *st, const char *sql, sqlite3_stmt **ret);
/* Logs the connection's last error with CONTEXT; returns -EIO (-EEXIST for a constraint). */
int srv_state_error(struct srv_state *st, const char *context);

/* The rowid of this connection's last INSERT. */
int64_t srv_state_last_insert_id(struct srv_state *st);

/* Unix time T as an RFC 3339 UTC string (seconds). */
void srv_time_iso(int64_t t, char ret[static 32]);
