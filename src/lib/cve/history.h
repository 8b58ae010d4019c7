/*
 * Publication dates from the vulns repository's history: the records carry no dates, but
 * the commit that first added a record's .json is when the CNA published it.
 */
#pragma once

#include <git2.h>

struct tt_store;

/*
 * Brings table cve_history to TARGET's ancestry: every CVE id whose .json some ancestor of
 * TARGET added, with the oldest such commit and its date (in the committer's own time zone,
 * as `git log` shows it). The whole history is read once; later calls read only the commits
 * since the last (meta.history_commit), unless TARGET does not descend from it (a sync back
 * to an older commit), which reads the whole history again. Runs in the caller's transaction.
 * RET_COMMITS (may be NULL) is how many commits were read.
 */
int cve_history_update(struct tt_store *s, git_repository *repo, const git_oid *target,
		       unsigned long *ret_commits);

/*
 * SQL for a CVE's publication date and where it came from, over "cve c LEFT JOIN cve_history
 * h ON h.cve_id = c.id LEFT JOIN nvd_state ns ON ns.cve_id = c.id": the record's own date,
 * else the vulns history, else NVD's, else the date tuxtape first saw it.
 */
#define CVE_DATE_JOINS                                                                             \
	" LEFT JOIN cve_history h ON h.cve_id = c.id LEFT JOIN nvd_state ns ON ns.cve_id = c.id "
#define CVE_PUBLISHED_SQL                                                                          \
	"(CASE WHEN c.date_source = 'record' THEN c.published "                                   \
	"WHEN h.first_date IS NOT NULL THEN h.first_date "                                         \
	"WHEN ns.published IS NOT NULL THEN substr(ns.published, 1, 10) ELSE c.published END)"
#define CVE_DATE_SOURCE_SQL                                                                        \
	"(CASE WHEN c.date_source = 'record' THEN 'record' "                                      \
	"WHEN h.first_date IS NOT NULL THEN 'vulns-history' "                                      \
	"WHEN ns.published IS NOT NULL THEN 'nvd' ELSE 'first-seen' END)"
