/*
 * Reading CVEs back out of the database as JSON values: the one serialiser behind
 * `tuxtape cve list/show/stats --json`, their plain-text output and any future API.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct tt_store;

struct cve_list_filter {
	const char *state;     /* "published" (NULL), "rejected" or "all" */
	bool has_min_score;
	double min_score;      /* best available base score >= this */
	const char *since;     /* published on or after this date (YYYY-MM-DD) */
	const char *file_glob; /* some program file matches (SQLite GLOB: *, ?, [..]) */
	bool kev_only;
	size_t limit;          /* 0: all */
	const char *kernel;    /* only CVEs with a verdict for this inventory kernel; adds
				* "status" and "reason" to each element */
	const char *status;    /* with kernel: only this verdict status */
};

/*
 * Priority orders CVEs by real risk: known-exploited first, then the CVSS base score (the
 * CNA's, else NVD's; the newest CVSS version of a source first), then EPSS:
 * priority = 1000 * kev + 10 * base_score + epss, so 1000-1101 means exploited.
 */
#define CVE_PRIORITY_SQL                                                                           \
	"(CASE WHEN k.cve_id IS NOT NULL THEN 1000 ELSE 0 END + "                                  \
	"10 * COALESCE(sc.base_score, 0) + COALESCE(e.epss, 0))"

/* An array of {id, state, priority, base_score, severity, kev, epss, published, title}
 * (+ status, reason with a kernel); -ENOENT (logged) for a kernel not in the inventory. */
int cve_query_list(struct tt_store *s, const struct cve_list_filter *f, json_t **ret);
/* One CVE in full, with "verdicts": [{kernel, status, reason}]; -ENOENT when the database
 * has no such CVE. */
int cve_query_show(struct tt_store *s, const char *id, json_t **ret);
/* Counts by state, severity, year; the sync state. */
int cve_query_stats(struct tt_store *s, json_t **ret);
