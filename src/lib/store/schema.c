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
	"  read_commit TEXT NOT NULL," /* vulns commit the record was read at */
	"  data_version TEXT,"
	"  affected_json TEXT);"       /* the CNA 'affected' array, verbatim (compact) */
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
	"  PRIMARY KEY (cve_id, path));"
	"CREATE INDEX cve_file_path ON cve_file(path);"
	"CREATE TABLE cve_affected ("
	"  cve_id TEXT NOT NULL REFERENCES cve(id) ON DELETE CASCADE,"
	"  entry INTEGER NOT NULL,"    /* index in the 'affected' array */
	"  seq INTEGER NOT NULL,"      /* index in its 'versions' array */
	"  product TEXT, vendor TEXT, repo TEXT, default_status TEXT,"
	"  version TEXT, less_than TEXT, less_than_or_equal TEXT,"
	"  status TEXT, version_type TEXT,"
	"  PRIMARY KEY (cve_id, entry, seq));"
	"CREATE TABLE cve_dyad ("
	"  cve_id TEXT NOT NULL REFERENCES cve(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  introduced_version TEXT NOT NULL, introduced_commit TEXT NOT NULL,"
	"  fixed_version TEXT NOT NULL, fixed_commit TEXT NOT NULL,"
	"  PRIMARY KEY (cve_id, seq));"
	"CREATE TABLE cve_commit ("
	"  cve_id TEXT NOT NULL REFERENCES cve(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('fix', 'vulnerable')),"
	"  seq INTEGER NOT NULL,"
	"  sha TEXT NOT NULL,"
	"  PRIMARY KEY (cve_id, kind, seq));"
	"CREATE TABLE cve_reference ("
	"  cve_id TEXT NOT NULL REFERENCES cve(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL, url TEXT NOT NULL,"
	"  PRIMARY KEY (cve_id, seq));"
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
};

const size_t tt_schema_n_migrations = ARRAY_SIZE(tt_schema_migrations);
