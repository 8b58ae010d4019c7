/*
 * Schema migrations. Never edit a released entry: append a new one. Each runs inside the
 * transaction that also bumps PRAGMA user_version.
 */
#include "store/schema.h"
#include "macro.h"

const char *const tt_schema_migrations[] = {
	/* 1: CVE feed */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL);"
	"CREATE TABLE cve ("
	"  id TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL CHECK (state IN ('published', 'rejected')),"
	"  title TEXT,"
	"  description TEXT,"
	"  published TEXT,"            /* date the record gives, else first-seen commit date */
	"  date_source TEXT,"          /* 'record' or 'first-seen' */
	"  path TEXT NOT NULL,"        /* the .json in the vulns repository */
	"  data_version TEXT,"
	"  affected_json TEXT);"       /* the CNA 'affected' array, verbatim (compact) */
	/*
	 * When each record was read, and a content hash per part (the cve row itself and each
	 * child table), so that a record read again rewrites only what changed: most updates
	 * add a CVSS metric and nothing else. Kept apart from cve so that moving read_commit
	 * does not rewrite the large cve rows.
	 */
	"CREATE TABLE cve_read ("
	"  cve_id TEXT PRIMARY KEY REFERENCES cve(id) ON DELETE CASCADE,"
	"  read_commit TEXT NOT NULL,"  /* vulns commit the record was read at */
	"  h_main INTEGER, h_cvss INTEGER, h_files INTEGER, h_affected INTEGER,"
	"  h_dyad INTEGER, h_commits INTEGER, h_refs INTEGER) WITHOUT ROWID;"
	"CREATE INDEX cve_state ON cve(state);"
	"CREATE TABLE cve_cvss ("
	"  cve_id TEXT NOT NULL REFERENCES cve(id) ON DELETE CASCADE,"
	"  source TEXT NOT NULL,"      /* 'cna' or 'nvd' */
	"  version TEXT NOT NULL,"     /* '3.1', '4.0', '3.0' */
	"  vector TEXT NOT NULL,"
	"  base_score REAL,"           /* as the record states it */
	"  computed_score REAL,"       /* tuxtape's own calculation from the vector */
	"  severity TEXT,"
	"  rationale TEXT,"
	"  PRIMARY KEY (cve_id, source, version));"
	"CREATE TABLE cve_file ("
	"  cve_id TEXT NOT NULL REFERENCES cve(id) ON DELETE CASCADE,"
	"  path TEXT NOT NULL,"
	"  PRIMARY KEY (cve_id, path)) WITHOUT ROWID;"
	"CREATE INDEX cve_file_path ON cve_file(path);"
	"CREATE TABLE cve_affected ("
	"  cve_id TEXT NOT NULL REFERENCES cve(id) ON DELETE CASCADE,"
	"  entry INTEGER NOT NULL,"    /* index in the 'affected' array */
	"  seq INTEGER NOT NULL,"      /* index in its 'versions' array */
	"  product TEXT, vendor TEXT, repo TEXT, default_status TEXT,"
	"  version TEXT, less_than TEXT, less_than_or_equal TEXT,"
	"  status TEXT, version_type TEXT,"
	"  PRIMARY KEY (cve_id, entry, seq)) WITHOUT ROWID;"
	"CREATE TABLE cve_dyad ("
	"  cve_id TEXT NOT NULL REFERENCES cve(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  introduced_version TEXT NOT NULL, introduced_commit TEXT NOT NULL,"
	"  fixed_version TEXT NOT NULL, fixed_commit TEXT NOT NULL,"
	"  PRIMARY KEY (cve_id, seq)) WITHOUT ROWID;"
	"CREATE TABLE cve_commit ("
	"  cve_id TEXT NOT NULL REFERENCES cve(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('fix', 'vulnerable')),"
	"  seq INTEGER NOT NULL,"
	"  sha TEXT NOT NULL,"
	"  PRIMARY KEY (cve_id, kind, seq)) WITHOUT ROWID;"
	"CREATE TABLE cve_reference ("
	"  cve_id TEXT NOT NULL REFERENCES cve(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL, url TEXT NOT NULL,"
	"  PRIMARY KEY (cve_id, seq)) WITHOUT ROWID;"
	"CREATE TABLE sync_skipped ("  /* bad records, retried by every sync until they parse */
	"  cve_id TEXT PRIMARY KEY,"
	"  path TEXT NOT NULL,"
	"  error TEXT NOT NULL);"
	"CREATE TABLE kev ("
	"  cve_id TEXT PRIMARY KEY,"
	"  date_added TEXT, due_date TEXT, vendor_project TEXT, product TEXT, name TEXT,"
	"  known_ransomware TEXT);"
	"CREATE TABLE epss ("
	"  cve_id TEXT PRIMARY KEY,"
	"  epss REAL NOT NULL, percentile REAL, date TEXT);"
	"CREATE TABLE nvd_state ("     /* which CVEs NVD was asked about, for resumable runs */
	"  cve_id TEXT PRIMARY KEY,"
	"  fetched_at TEXT NOT NULL,"
	"  status TEXT NOT NULL);",
	/* 2: kernel inventory, compiled files, verdicts */
	"CREATE TABLE kernel ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  release TEXT NOT NULL,"       /* as uname -r says it */
	"  version TEXT NOT NULL,"       /* the upstream version it maps to, e.g. 6.1.192 */
	"  v_major INTEGER NOT NULL, v_minor INTEGER NOT NULL,"
	"  v_patch INTEGER NOT NULL, v_rc INTEGER NOT NULL,"
	"  mapping TEXT NOT NULL,"       /* the rule that mapped release to version */
	"  proc_version TEXT, version_signature TEXT,"
	"  arch TEXT NOT NULL,"
	"  config_path TEXT, config TEXT NOT NULL," /* the .config, verbatim */
	"  source TEXT, build_dir TEXT, debuginfo TEXT,"
	"  files_method TEXT NOT NULL,"  /* 'debuginfo', 'builddir' or 'static' */
	"  files_count INTEGER NOT NULL,"
	"  added_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
	"CREATE TABLE kernel_file ("
	"  kernel_id INTEGER NOT NULL REFERENCES kernel(id) ON DELETE CASCADE,"
	"  path TEXT NOT NULL,"
	"  kind INTEGER NOT NULL,"       /* KERNEL_FILE_BUILTIN 1 | KERNEL_FILE_MODULE 2 */
	"  generated INTEGER NOT NULL,"
	"  how TEXT,"
	"  PRIMARY KEY (kernel_id, path)) WITHOUT ROWID;"
	/*
	 * No foreign keys here: checking two per row was a fifth of filling 146,260 verdicts.
	 * Removing a kernel deletes its verdicts explicitly; a full refresh (every sync) drops
	 * the verdicts of CVEs that are gone.
	 */
	"CREATE TABLE verdict ("
	"  cve_id TEXT NOT NULL,"
	"  kernel_id INTEGER NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('affected', 'not-compiled', 'fixed', "
	"    'not-affected', 'unknown')),"
	"  reason TEXT NOT NULL,"
	"  PRIMARY KEY (cve_id, kernel_id)) WITHOUT ROWID;",
	/*
	 * 3: the same verdict table with its CHECK spelled as ORs. SQLite 3.40 evaluates an IN
	 * list of five through an ephemeral table opened and closed for every row inserted: that
	 * was a third of filling 146,260 verdicts.
	 */
	"CREATE TABLE verdict_new ("
	"  cve_id TEXT NOT NULL,"
	"  kernel_id INTEGER NOT NULL,"
	"  status TEXT NOT NULL CHECK (status = 'affected' OR status = 'not-compiled' OR "
	"    status = 'fixed' OR status = 'not-affected' OR status = 'unknown'),"
	"  reason TEXT NOT NULL,"
	"  PRIMARY KEY (cve_id, kernel_id)) WITHOUT ROWID;"
	"INSERT INTO verdict_new SELECT cve_id, kernel_id, status, reason FROM verdict;"
	"DROP TABLE verdict;"
	"ALTER TABLE verdict_new RENAME TO verdict;",
	/*
	 * 4: publication dates from the vulns history, where a kernel's config came from, the
	 * fixes a distribution's changelog names, and triage. The records carry no dates; the
	 * commit that first added a record's .json is its publication.
	 */
	"CREATE TABLE cve_history ("
	"  cve_id TEXT PRIMARY KEY,"
	"  first_commit TEXT NOT NULL,"  /* the first commit (oldest first) adding its .json */
	"  first_date TEXT NOT NULL) WITHOUT ROWID;" /* that commit's date, YYYY-MM-DD */
	"ALTER TABLE nvd_state ADD COLUMN published TEXT;" /* NVD's date: the second source */
	"ALTER TABLE kernel ADD COLUMN config_origin TEXT;" /* where the stored config was read */
	"ALTER TABLE kernel ADD COLUMN source_version TEXT;" /* the source tree's Makefile version */
	"ALTER TABLE kernel ADD COLUMN distro TEXT;"         /* e.g. 'debian' */
	"ALTER TABLE kernel ADD COLUMN distro_version TEXT;" /* e.g. '6.1.192-3' */
	"ALTER TABLE kernel ADD COLUMN changelog TEXT;"      /* the changelog file read */
	"CREATE TABLE kernel_distro_fix ("
	"  kernel_id INTEGER NOT NULL REFERENCES kernel(id) ON DELETE CASCADE,"
	"  cve_id TEXT NOT NULL,"
	"  version TEXT NOT NULL,"       /* the distribution version whose changelog names it */
	"  PRIMARY KEY (kernel_id, cve_id)) WITHOUT ROWID;"
	"CREATE TABLE triage ("
	"  cve_id TEXT NOT NULL,"
	"  kernel TEXT NOT NULL,"        /* by name: a decision survives 'kernel add --replace' */
	"  state TEXT NOT NULL CHECK (state IN ('accepted-risk', 'not-applicable', "
	"    'will-patch')),"
	"  note TEXT, who TEXT,"
	"  expires TEXT,"                /* YYYY-MM-DD; past it the finding is untriaged again */
	"  at TEXT NOT NULL,"
	"  PRIMARY KEY (cve_id, kernel)) WITHOUT ROWID;",
	/*
	 * 5: what each kernel's last sync report saw, so the next one says what changed:
	 * the CVEs affected then and whether each was known exploited. A kernel without a
	 * report_kernel row has not been reported yet (its first report is a baseline).
	 */
	"CREATE TABLE report_kernel ("
	"  kernel TEXT PRIMARY KEY,"     /* by name, as triage */
	"  at TEXT NOT NULL, vulns_commit TEXT) WITHOUT ROWID;"
	"CREATE TABLE report_seen ("
	"  kernel TEXT NOT NULL,"
	"  cve_id TEXT NOT NULL,"
	"  kev INTEGER NOT NULL,"
	"  PRIMARY KEY (kernel, cve_id)) WITHOUT ROWID;",
	/*
	 * 6: the structured verdict: a reason code, the dyad pair or range that decided, and the
	 * livepatch estimate (applicability/verdict.h names them). Rows stored before get the
	 * code their status and reason imply and 'not-estimated'; the next refresh (every sync,
	 * kernel add, fleet refresh) writes the rest.
	 */
	"ALTER TABLE verdict ADD COLUMN code TEXT;"
	"ALTER TABLE verdict ADD COLUMN livepatch TEXT;"
	"ALTER TABLE verdict ADD COLUMN introduced_version TEXT;"
	"ALTER TABLE verdict ADD COLUMN introduced_commit TEXT;"
	"ALTER TABLE verdict ADD COLUMN fixed_version TEXT;"
	"ALTER TABLE verdict ADD COLUMN fixed_commit TEXT;"
	"UPDATE verdict SET livepatch = CASE status WHEN 'affected' THEN 'not-estimated' "
	"  WHEN 'unknown' THEN 'unknown-verdict' ELSE 'not-needed' END,"
	"  code = CASE status WHEN 'affected' THEN 'affected' "
	"  WHEN 'not-compiled' THEN 'not-compiled' "
	"  WHEN 'not-affected' THEN 'version-not-affected' "
	"  WHEN 'fixed' THEN CASE WHEN reason LIKE '%(the package changelog names it)%' "
	"    THEN 'fixed-by-distribution' ELSE 'fixed-by-version' END "
	"  ELSE CASE WHEN reason LIKE '%not one%' THEN 'unknown-version-data' "
	"    WHEN reason LIKE '%neither dyad pairs nor version ranges%' THEN 'unknown-no-versions' "
	"    WHEN reason LIKE '%names no program files%' THEN 'unknown-no-files' "
	"    WHEN reason LIKE '%touches only headers%' THEN 'unknown-headers-only' "
	"    ELSE 'unknown-no-source' END END;",
	/*
	 * 7: what a livepatch build for the kernel needs besides its source and stored config:
	 * its kbuild directory (a path, checked against the release at build time) and its
	 * symbol table (a path and the SHA-256 of the file recorded, so a file that changed
	 * since is refused rather than used).
	 */
	"ALTER TABLE kernel ADD COLUMN kbuild TEXT;"
	"ALTER TABLE kernel ADD COLUMN symbols TEXT;"
	"ALTER TABLE kernel ADD COLUMN symbols_sha256 TEXT;",
	/*
	 * 8: the SHA-256 of a kernel's source tarball, so that a build for it refuses a tarball
	 * replaced since (a newer linux-source package) instead of building from other source.
	 */
	"ALTER TABLE kernel ADD COLUMN source_sha256 TEXT;",
};

const size_t tt_schema_n_migrations = ARRAY_SIZE(tt_schema_migrations);
