/* What an enrichment run from one source did, for the program's summary. */
#pragma once

#include <stddef.h>

struct tt_enrich_stats {
	size_t parsed;	   /* entries read from the source */
	size_t stored;	   /* rows written */
	size_t not_in_db;  /* well-formed entries for CVEs the database does not hold */
	size_t skipped;	   /* bad entries left out (each was warned about) */
	size_t unscored;   /* NVD: CVEs NVD knows but has not scored */
	size_t missing;	   /* NVD: CVEs NVD does not know (yet) */
	size_t pending;	   /* NVD: CVEs that were due to be asked about */
	unsigned requests; /* HTTP requests made, retries included */
};

/* A CVE identifier: "CVE-", four digits, "-", four to nineteen digits. */
int tt_cve_id_valid(const char *s, size_t len);
