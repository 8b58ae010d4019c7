/*
 * The server state's schema. Migrations are appended, never edited: a deployed server.db
 * replays only the ones it lacks. Migration 2 is the review workflow (patch, revision,
 * review, publication) and the builders' job queue (docs/server.md, "The review workflow").
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

	/* 2: the review workflow and the builders' job queue. */
	"CREATE TABLE patch ("
	"  id INTEGER PRIMARY KEY,"
	"  cve TEXT NOT NULL,"
	"  title TEXT,"
	"  kernels TEXT NOT NULL," /* JSON array of kernel releases (uname -r) */
	"  state TEXT NOT NULL CHECK (state IN ('draft', 'submitted', 'built', 'failed',"
	"                                       'approved', 'rejected', 'published',"
	"                                       'withdrawn')),"
	"  author TEXT NOT NULL,"
	"  revision INTEGER NOT NULL," /* the current one */
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	");"
	"CREATE INDEX patch_state ON patch(state);"
	/* Every revision is kept; only a new one changes the patch. */
	"CREATE TABLE patch_revision ("
	"  patch INTEGER NOT NULL REFERENCES patch(id),"
	"  rev INTEGER NOT NULL,"
	"  author TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  sha256 TEXT NOT NULL," /* of the source patch text */
	"  body TEXT NOT NULL,"
	"  note TEXT,"
	"  PRIMARY KEY (patch, rev)"
	") WITHOUT ROWID;"
	"CREATE TRIGGER patch_revision_no_update BEFORE UPDATE ON patch_revision"
	"  BEGIN SELECT RAISE(ABORT, 'a revision is kept as it was'); END;"
	"CREATE TABLE review ("
	"  id INTEGER PRIMARY KEY,"
	"  patch INTEGER NOT NULL,"
	"  rev INTEGER NOT NULL,"
	"  reviewer TEXT NOT NULL,"
	"  verdict TEXT NOT NULL CHECK (verdict IN ('comment', 'approve', 'reject')),"
	"  comment TEXT,"
	"  at INTEGER NOT NULL,"
	"  FOREIGN KEY (patch, rev) REFERENCES patch_revision(patch, rev)"
	");"
	"CREATE INDEX review_patch ON review(patch, rev);"
	/* One approval per reviewer and revision. */
	"CREATE UNIQUE INDEX review_one_approval ON review(patch, rev, reviewer)"
	"  WHERE verdict = 'approve';"
	/* The two-person rule, in the database too: the library checks first and says why. */
	"CREATE TRIGGER review_not_by_author BEFORE INSERT ON review WHEN NEW.verdict = 'approve'"
	"  AND NEW.reviewer = (SELECT author FROM patch_revision"
	"                      WHERE patch = NEW.patch AND rev = NEW.rev)"
	"  BEGIN SELECT RAISE(ABORT, 'the author of a revision cannot approve it'); END;"
	"CREATE TABLE job ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind IN ('build', 'adhoc')),"
	"  patch INTEGER," /* NULL for an ad hoc build (POST /v1/builds) */
	"  rev INTEGER,"
	"  kernel TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed',"
	"                                       'cancelled')),"
	"  requested_by TEXT NOT NULL,"
	"  input TEXT," /* ad hoc: JSON {"config", "symbols", "patches"} as artifact paths */
	"  lease_owner TEXT,"
	"  lease_expires INTEGER,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  started_at INTEGER,"
	"  finished_at INTEGER,"
	"  build TEXT," /* written, unsafe, nochange, error */
	"  boot TEXT CHECK (boot IN ('passed', 'failed', 'skipped')),"
	"  module_name TEXT,"
	"  module_sha256 TEXT,"
	"  error TEXT,"
	"  FOREIGN KEY (patch, rev) REFERENCES patch_revision(patch, rev)"
	");"
	"CREATE INDEX job_queue ON job(state, id);"
	"CREATE INDEX job_patch ON job(patch, rev);"
	"CREATE TABLE builder ("
	"  name TEXT PRIMARY KEY," /* the builder token's name */
	"  kernels TEXT NOT NULL," /* JSON array of the releases it builds for */
	"  boot_test INTEGER NOT NULL,"
	"  registered_at INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE publication ("
	"  id INTEGER PRIMARY KEY,"
	"  patch INTEGER NOT NULL REFERENCES patch(id),"
	"  rev INTEGER NOT NULL,"
	"  channel TEXT NOT NULL,"
	"  targets TEXT NOT NULL," /* JSON array of archive target paths */
	"  published_at INTEGER NOT NULL,"
	"  published_by TEXT NOT NULL,"
	"  withdrawn_at INTEGER,"
	"  withdrawn_by TEXT"
	");",
	/*
	 * 3: a token belongs to a person (NULL: the person is the token's name), and the
	 * two-person rule compares persons: one person holding an author and a reviewer token
	 * under two names is still one person, and approves once.
	 */
	"ALTER TABLE token ADD COLUMN person TEXT;"
	"ALTER TABLE patch_revision ADD COLUMN author_person TEXT;"
	"ALTER TABLE review ADD COLUMN reviewer_person TEXT;"
	"DROP TRIGGER review_not_by_author;"
	"CREATE TRIGGER review_not_by_author BEFORE INSERT ON review WHEN NEW.verdict = 'approve'"
	"  AND coalesce(NEW.reviewer_person, NEW.reviewer) ="
	"      (SELECT coalesce(author_person, author) FROM patch_revision"
	"       WHERE patch = NEW.patch AND rev = NEW.rev)"
	"  BEGIN SELECT RAISE(ABORT, 'the author of a revision cannot approve it'); END;"
	"CREATE UNIQUE INDEX review_one_approval_per_person"
	"  ON review(patch, rev, coalesce(reviewer_person, reviewer)) WHERE verdict = 'approve';",
	/*
	 * 4: a rejected or withdrawn patch's unfinished jobs, and an older revision's, are
	 * cancelled (rejecting and withdrawing did not cancel them before).
	 */
	"UPDATE job SET state = 'cancelled', lease_owner = NULL,"
	"  finished_at = coalesce(finished_at, CAST(strftime('%s', 'now') AS INTEGER))"
	"  WHERE state IN ('queued', 'running') AND patch IS NOT NULL AND NOT EXISTS"
	"  (SELECT 1 FROM patch WHERE patch.id = job.patch AND patch.revision = job.rev"
	"   AND patch.state IN ('submitted', 'built', 'failed', 'approved'));",
	/*
	 * 5: an archive change (publish, withdraw) in flight, committed before the archive's
	 * files change and dropped with the record of the change: a server killed between the
	 * two completes it on its next start (workflow.h).
	 */
	"CREATE TABLE IF NOT EXISTS archive_intent ("
	"  id INTEGER PRIMARY KEY,"
	"  action TEXT NOT NULL CHECK (action IN ('publish', 'withdraw')),"
	"  patch INTEGER NOT NULL REFERENCES patch(id),"
	"  body TEXT NOT NULL," /* JSON: what to redo */
	"  actor TEXT NOT NULL, role TEXT, token_id INTEGER, remote TEXT, person TEXT,"
	"  started_at INTEGER NOT NULL"
	");",
	/*
	 * 6: a kernel added, replaced or removed through the API changes the CVE database, whose
	 * commit cannot include this one: the pending record is committed first and turned into
	 * the audit record after; one left by a server that ended between the two is completed
	 * at the next start from what the CVE database holds then (kernel_change.h).
	 */
	"CREATE TABLE IF NOT EXISTS kernel_intent ("
	"  id INTEGER PRIMARY KEY,"
	"  action TEXT NOT NULL CHECK (action IN ('add', 'remove')),"
	"  kernel TEXT NOT NULL,"
	"  body TEXT NOT NULL," /* JSON: {"before", "want", "replace"} */
	"  actor TEXT NOT NULL, role TEXT, token_id INTEGER, remote TEXT, person TEXT,"
	"  started_at INTEGER NOT NULL"
	");",
	/*
	 * 7: exposure looks up, for each livepatch an affected node reports, the jobs that
	 * wrote a module of that name and whether their revision's publications are withdrawn;
	 * without these, each lookup read every job and every publication (exposure.c).
	 */
	"CREATE INDEX IF NOT EXISTS job_module ON job(module_name);"
	"CREATE INDEX IF NOT EXISTS publication_patch ON publication(patch, rev);",
};

const size_t srv_schema_n_migrations =
	sizeof(srv_schema_migrations) / sizeof(srv_schema_migrations[0]);
