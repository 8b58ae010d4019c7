/*
 * The server's own database (tokens, audit log, fleet nodes, later the review workflow): kept
 * apart from the CVE database, with its own ordered migrations, behind functions that say
 * what they do so that the HTTP layer holds no SQL.
 */
#pragma once

#include <jansson.h>
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

/*
 * The statements of the server's logic. Only this file and state.c know the database engine:
 * the rest of src/lib/server prepares, binds, steps and reads columns through these, so that
 * a second backend (docs/server.md, "Storage") is a second state.c.
 */
struct srv_stmt;

/*
 * Prepares SQL once per connection (compared by address: the callers pass literals) and
 * returns it reset, its parameters unbound. Parameters are ?1, ?2, ... (1-based); columns
 * are 0-based.
 */
int srv_state_prepare(struct srv_state *st, const char *sql, struct srv_stmt **ret);
/* Logs the connection's last error with CONTEXT; returns -EIO (-EEXIST for a constraint). */
int srv_state_error(struct srv_state *st, const char *context);

/* TEXT and BLOB are not copied: they must stay valid until the statement's reset. */
void srv_bind_int64(struct srv_stmt *s, int i, int64_t v);
void srv_bind_int(struct srv_stmt *s, int i, int v);
void srv_bind_text(struct srv_stmt *s, int i, const char *text); /* NULL binds NULL */
void srv_bind_blob(struct srv_stmt *s, int i, const void *p, size_t n);
void srv_bind_null(struct srv_stmt *s, int i);

enum srv_step {
	SRV_ERROR = 1,	    /* srv_state_error() says which */
	SRV_CONSTRAINT = 2, /* a UNIQUE, CHECK, foreign key or trigger refused the change */
	SRV_ROW = 3,	    /* a row is there to read */
	SRV_DONE = 4,	    /* no more rows; a change is made */
};
int srv_step(struct srv_stmt *s);
/*
 * Runs an INSERT ... RETURNING id to its end and resets it: SRV_DONE with the new row's id in
 * *RET_ID (untouched when no row was inserted), else SRV_CONSTRAINT or SRV_ERROR.
 */
int srv_step_insert(struct srv_stmt *s, int64_t *ret_id);
/*
 * The two above for a statement that must succeed: 0, or CONTEXT's error logged and returned
 * (srv_state_error()). srv_exec() runs a statement with no rows to read to its end and resets it.
 */
int srv_exec(struct srv_state *st, struct srv_stmt *s, const char *context);
int srv_exec_insert(struct srv_state *st, struct srv_stmt *s, const char *context, int64_t *ret_id);
/* Ends the statement's run (reads, locks); its bindings stay until the next prepare. */
void srv_reset(struct srv_stmt *s);

bool srv_column_is_null(struct srv_stmt *s, int i);
int64_t srv_column_int64(struct srv_stmt *s, int i);
int srv_column_int(struct srv_stmt *s, int i);
/* NULL for a NULL column; valid until the next step or reset. */
const char *srv_column_text(struct srv_stmt *s, int i);
/* Column I as a JSON value of its type (a new reference; null for NULL). */
json_t *srv_column_json(struct srv_stmt *s, int i);

/* Unix time T as an RFC 3339 UTC string (seconds). */
void srv_time_iso(int64_t t, char ret[static 32]);
