/*
 * Keeping the database in step with the kernel CNA's vulns repository: a bare mirror fetched
 * with libgit2, then only the records that changed between the last synced commit and the
 * target are read (a tree diff), all in one database transaction.
 */
#pragma once

#include <stdbool.h>

struct tt_store;

#define CVE_SYNC_DEFAULT_URL "https://git.kernel.org/pub/scm/linux/security/vulns.git"

struct cve_sync_opts {
	const char *repo;       /* URL or local path; NULL: the stored one, else the default */
	const char *rev;        /* NULL: the fetched default branch */
	const char *mirror_dir; /* NULL: "vulns.git" beside the database */
	bool offline;           /* do not fetch; use the mirror as it is */
	bool full;              /* re-read every record, not just the changed ones */
};

struct cve_sync_report {
	char from[41], to[41]; /* commits; from is "" on a first sync */
	bool full;             /* every record was read */
	bool up_to_date;       /* nothing to do */
	unsigned long total;   /* CVEs considered */
	unsigned long added, updated, removed, skipped, unchanged;
	unsigned long published, rejected;     /* in the database after the sync */
	unsigned long cvss_checked, cvss_mismatch;
	unsigned long history_commits;         /* vulns commits read for publication dates */
	double fetch_seconds, sync_seconds;
};

/*
 * Fetches (unless offline) and brings the database to the target commit. Bad records are
 * skipped with a warning naming the file and field, and counted in report->skipped; the rest
 * is committed. Returns 0 (check report->skipped), or -errno with nothing changed.
 */
int cve_sync(struct tt_store *s, const struct cve_sync_opts *opts, struct cve_sync_report *ret);
