/* FIRST's EPSS scores CSV: parsing and replacing the epss table. */
#pragma once

#include <stddef.h>

#include "enrich/enrich.h"

struct tt_store;
struct tt_http_opts;

struct tt_epss_entry {
	char *cve_id;
	double epss, percentile;
};

struct tt_epss_list {
	struct tt_epss_entry *v;
	size_t n;
	char *model_version; /* from the "#model_version:...,score_date:..." line; NULL if absent */
	char *score_date;    /* its date part, "YYYY-MM-DD" */
};

/* The daily file is ~10 MB uncompressed today; the cap leaves room for decades of CVEs. */
#define TT_EPSS_MAX_SIZE ((size_t)256 << 20)

/*
 * Parses an EPSS CSV (BUF need not be NUL-terminated). A bad row refuses the whole file with
 * -EBADMSG, logged as "'ORIGIN': line N: ..." — the table is replaced whole, so a skipped row
 * would silently drop that CVE's score.
 */
int tt_epss_parse(const char *buf, size_t len, const char *origin, struct tt_epss_list *ret);
void tt_epss_list_release(struct tt_epss_list *l);

/* Replaces the epss table, in one transaction, with the entries whose CVE is in the cve table. */
int tt_epss_store(struct tt_store *s, const struct tt_epss_list *l, struct tt_enrich_stats *stats);

/* Loads SRC (file or URL, gzip or not), parses and stores it; as tt_enrich_kev(). */
int tt_enrich_epss(struct tt_store *s, const char *src, const struct tt_http_opts *http,
		   struct tt_enrich_stats *stats);
