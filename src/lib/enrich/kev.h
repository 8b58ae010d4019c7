/* CISA's Known Exploited Vulnerabilities catalogue: parsing and replacing the kev table. */
#pragma once

#include <stddef.h>

#include "enrich/enrich.h"

struct tt_store;
struct tt_http_opts;

struct tt_kev_entry {
	char *cve_id;
	char *vendor_project, *product, *name; /* vulnerabilityName */
	char *date_added, *due_date;
	char *known_ransomware; /* knownRansomwareCampaignUse: "Known" / "Unknown" */
};

struct tt_kev_list {
	struct tt_kev_entry *v;
	size_t n;
	char *catalog_version, *date_released; /* NULL when absent */
};

/* The catalogue is refused, not trimmed, when any entry is bad: the table is replaced whole. */
#define TT_KEV_MAX_SIZE ((size_t)64 << 20)

/*
 * Parses a KEV catalogue (BUF need not be NUL-terminated). Anything malformed — bad JSON, a
 * wrong type, a bad cveID — is -EBADMSG, logged as one line naming ORIGIN and the line or field.
 */
int tt_kev_parse(const char *buf, size_t len, const char *origin, struct tt_kev_list *ret);
void tt_kev_list_release(struct tt_kev_list *l);

/*
 * Replaces the kev table, in one transaction, with the entries whose CVE is in the cve table;
 * the others are counted in not_in_db.
 */
int tt_kev_store(struct tt_store *s, const struct tt_kev_list *l, struct tt_enrich_stats *stats);

/*
 * Loads SRC (file or URL), parses and stores it; on any error the table is left as it was.
 * STATS is added to: requests always, the other counts only once the table was replaced.
 */
int tt_enrich_kev(struct tt_store *s, const char *src, const struct tt_http_opts *http,
		  struct tt_enrich_stats *stats);
