/*
 * Reading CVEs back out of the database as JSON values: the one serialiser behind
 * `tuxtape cve list/show/stats --json`, their plain-text output and any future API.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct tt_store;

/*
 * The version of every JSON document's shape (tuxtape(1), JSON OUTPUT): raised when a key
 * changes type or meaning or goes away, not when one is added.
 */
#define TT_JSON_SCHEMA_VERSION 2

struct cve_list_filter {
	const char *state;     /* "published" (NULL), "rejected" or "all" */
	bool has_min_score;
	double min_score;      /* best available base score >= this */
	const char *since;     /* published on or after this date (YYYY-MM-DD) */
	const char *file_glob; /* some program file matches (SQLite GLOB: *, ?, [..]) */
	bool kev_only;
	size_t limit;          /* 0: all */
	const char *kernel;    /* only CVEs with a verdict for this inventory kernel; adds
				* "kernel", "status", "reason" and "triage" to each element */
	const char *status;    /* with kernel: only this verdict status */
	/*
	 * A score, severity or date filter cannot judge a CVE without a score or a date: such
	 * CVEs are left out and counted (struct cve_list_omitted), unless these keep them.
	 */
	bool include_unscored;
	bool include_undated;
	const char *severities; /* comma-separated, lower case: "critical,high" */
	const char *fix_commit; /* a fix commit id, full or a prefix of at least 7 digits */
	bool untriaged_only;    /* with kernel: leave out CVEs triaged (and not expired) */
};

/* What a filter could not judge and left out, so that no answer is silently short. */
struct cve_list_omitted {
	unsigned long unscored, unscored_kev; /* no score, with a score or severity filter */
	unsigned long undated;                /* no date, with --since */
	unsigned long triaged;                /* with untriaged_only */
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
/* The same, and what the filters left out for want of a score or a date (RET_OMITTED). */
int cve_query_list_counted(struct tt_store *s, const struct cve_list_filter *f, json_t **ret,
			   struct cve_list_omitted *ret_omitted);
/*
 * The canonical spelling of a CVE id ("cve-2024-1234" -> "CVE-2024-1234") into OUT; -EINVAL
 * for something that is not one.
 */
int cve_id_normalise(const char *in, char *out, size_t size);
/* One CVE in full, with "verdicts": [{kernel, status, reason}]; -ENOENT when the database
 * has no such CVE. */
int cve_query_show(struct tt_store *s, const char *id, json_t **ret);
/* Counts by state, severity, year; the sync state. */
int cve_query_stats(struct tt_store *s, json_t **ret);
