/*
 * The server state's schema. Migrations are appended, never edited: a deployed server.db
 * replays only the ones it lacks. The review workflow (patch, revision, review) and the
 * builders' job queue are the next migrations (docs/server.md, "What comes next").
 */
#include "server/schema.h"
#include "banned.h"

const char *const srv_schema_migrations[] = {
	/* 1: tokens, the audit log, fleet nodes and their events. */
	"CREATE TABLE token ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  role TEXT NOT NULL CHECK (role IN ('viewer', 'author', 'reviewer', 'publisher',"
	"                                      'builder', 'agent', 'admin')),"
	/* SHA-256 of the whole token, hex: the token itself is never stored. */
	"  hash TEXT NOT NULL UNIQUE,"
	"  created_at INTEGER NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  revoked_at INTEGER,"
	"  revoked_by TEXT"
	");"
	/* A name is one identity at a time (an agent's token name is its node's name). */
	"CREATE UNIQUE INDEX token_active_name ON token(name) WHERE revoked_at IS NULL;"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL," /* unix seconds */
	"  actor TEXT NOT NULL," /* token name, or local:USER for the command line */
	"  role TEXT,"		 /* the actor's role, NULL for local */
	"  token_id INTEGER,"
	"  remote TEXT NOT NULL," /* address:port, or 'local' */
	"  action TEXT NOT NULL," /* e.g. token.create, kernel.add */
	"  object TEXT,"	  /* what it acted on */
	"  detail TEXT"		  /* JSON object, compact */
	");"
	/* Append-only: the database itself refuses to change history. */
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TABLE node ("
	"  name TEXT PRIMARY KEY," /* the agent token's name */
	"  state TEXT NOT NULL CHECK (state IN ('ok', 'error')),"
	"  kernel TEXT," /* uname -r */
	"  effective_version TEXT,"
	"  patches TEXT," /* JSON array of loaded patches, compact */
	"  uptime INTEGER,"
	"  remote TEXT,"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  heartbeats INTEGER NOT NULL DEFAULT 0,"
	"  last_event_id INTEGER"
	") WITHOUT ROWID;"
	"CREATE TABLE node_event ("
	"  id INTEGER PRIMARY KEY,"
	"  node TEXT NOT NULL REFERENCES node(name),"
	"  at INTEGER NOT NULL,"
	"  event TEXT NOT NULL,"
	"  patch TEXT,"
	"  detail TEXT"
	");"
	"CREATE INDEX node_event_node ON node_event(node, id);",
};

const size_t srv_schema_n_migrations =
	sizeof(srv_schema_migrations) / sizeof(srv_schema_migrations[0]);
