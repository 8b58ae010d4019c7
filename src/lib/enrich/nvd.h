/* NVD's CVE API 2.0 / JSON 2.0 feed: parsing pages, storing NVD's CVSS, fetching resumably. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "enrich/enrich.h"
#include "enrich/http.h"

struct tt_store;

#define TT_NVD_URL "https://services.nvd.nist.gov/rest/json/cves/2.0"
/* NVD's sourceIdentifier of the kernel.org CNA: what bulk passes ask for. */
#define TT_NVD_KERNEL_SOURCE "416baaa9-dc9f-4396-8d5f-8c081fb06d67"
#define TT_NVD_PAGE_MAX ((size_t)64 << 20)
/* A yearly feed is a few hundred MB of JSON; jansson holds it as a tree several times that. */
#define TT_NVD_FEED_MAX ((size_t)1 << 30)

struct tt_nvd_metric {
	const char *version; /* "4.0", "3.1", "3.0" (static) */
	char *vector;
	double base_score;
	char *severity; /* may be NULL */
	char *source;	/* who scored it: "nvd@nist.gov", a CNA's or ADP's id */
	char *type;	/* "Primary" / "Secondary"; may be NULL */
};

struct tt_nvd_cve {
	char *id;
	char *vuln_status; /* "Analyzed", "Awaiting Analysis", ...; may be NULL */
	char *published;   /* NVD's publication date, "2024-02-21T16:15:09.000"; may be NULL */
	struct tt_nvd_metric m[3];
	size_t n_m;
	bool bad; /* the record was malformed (warned about); store nothing but the state */
};

struct tt_nvd_page {
	struct tt_nvd_cve *v;
	size_t n;
	long total_results, start_index, results_per_page; /* -1 when absent (feeds) */
	size_t skipped; /* records without a usable id, left out (warned about) */
};

/*
 * Parses one API response or feed file (BUF need not be NUL-terminated). Bad JSON or a bad
 * top-level shape is -EBADMSG (logged naming ORIGIN and the line or field); a bad record is
 * warned about and marked (or, without a usable id, left out): NVD rows are per-CVE upserts,
 * so one odd record must not hold back the rest.
 */
int tt_nvd_parse(const char *buf, size_t len, const char *origin, struct tt_nvd_page *ret);
void tt_nvd_page_release(struct tt_nvd_page *p);

/*
 * Stores what the page says about CVEs that are published in the database and that the CNA
 * did not score: their 'nvd' cve_cvss rows are replaced and nvd_state records the answer
 * ('scored', 'unscored' or 'error'), stamped FETCHED_AT. The caller holds the transaction.
 */
int tt_nvd_store_page(struct tt_store *s, const struct tt_nvd_page *p, const char *fetched_at,
		      struct tt_enrich_stats *stats);

/* Imports a local NVD JSON 2.0 feed file (.json or .json.gz) in one transaction. */
int tt_nvd_import_feed(struct tt_store *s, const char *path, struct tt_enrich_stats *stats);

struct tt_nvd_opts {
	const char *url;	/* NULL: TT_NVD_URL */
	const char *api_key;	/* NULL: none (and the lower rate limit) */
	const char *source_id;	/* NULL: TT_NVD_KERNEL_SOURCE */
	unsigned per_cve_max;	/* at most this many due CVEs are asked one by one; 0: 20 */
	bool force_bulk;	/* a bulk pass even when few CVEs are due */
	unsigned page_size;	/* resultsPerPage of bulk passes; 0: 2000 (NVD's maximum) */
	unsigned max_age_h;	/* re-ask CVEs NVD had not scored after this; 0: 24 */
	unsigned window_max;	/* requests per window; 0: 5 without a key, 50 with one */
	uint64_t window_ms;	/* 0: 30000 */
	unsigned max_retries;	/* 0: 5 */
	unsigned retry_base_ms; /* 0: 6000 */
	long timeout_s;		/* one request, and the stall limit; 0: 600 and 60 */
	/* Clock and sleep for rate limiting and back-off; NULL: real ones. */
	uint64_t (*now_ms)(void *userdata);
	void (*sleep_ms)(uint64_t ms, void *userdata);
	void *userdata;
};

/*
 * Asks NVD about the due CVEs — published, not scored by the CNA, never asked or asked more
 * than max_age_h ago without a score — one by one when few, else in bulk passes over the
 * kernel CNA's records (incremental by lastModified after a first full pass). Every CVE or
 * page is committed as it arrives and a bulk pass records where it is, so an interrupted run
 * continues where it stopped. STATS is added to as work is committed, also on failure.
 */
int tt_nvd_fetch(struct tt_store *s, const struct tt_nvd_opts *o, struct tt_enrich_stats *stats);

/* "YYYY-MM-DDTHH:MM:SSZ" for T (UTC) into BUF of at least 21 bytes. */
void tt_iso_time(time_t t, char buf[static 21]);
