/* CVSS v3.0, v3.1 and v4.0 vector parsing and base scoring, so a CVE sync can check the
 * score a CNA published against the vector it published. */
#pragma once

enum cvss_version {
	CVSS_V3_0 = 30,
	CVSS_V3_1 = 31,
	CVSS_V4_0 = 40,
};

struct cvss_score {
	enum cvss_version version;
	/* v3.x: the Base Score (temporal and environmental metrics are validated, not scored).
	 * v4.0: the CVSS-B, -BT, -BE or -BTE score, whichever the metrics present make it. */
	double base_score;
	/* "NONE", "LOW", "MEDIUM", "HIGH" or "CRITICAL"; static storage. */
	const char *severity;
};

/* Parses a vector string ("CVSS:3.1/AV:N/...", "CVSS:4.0/AV:N/AC:L/AT:N/...") and computes
 * its score.
 *
 * Every metric is validated: the prefix names a supported version, each mandatory base
 * metric is present, no metric appears twice, every metric and value is one the version
 * defines. Metrics may appear in any order. Nothing (no whitespace either) may follow the
 * last value. Vectors longer than CVSS_VECTOR_MAX bytes are refused.
 *
 * Returns 0 and fills *ret, or -EINVAL; then *ret is untouched and, if ret_error is not
 * NULL, *ret_error points to a message naming the offending metric or part, e.g.
 * "unknown value 'X' for metric 'AV'". The message lives in thread-local storage: the
 * caller does not free it, and it stays valid until this thread calls cvss_compute()
 * again. Untrusted bytes quoted in it are truncated and made printable. */
int cvss_compute(const char *vector, struct cvss_score *ret, const char **ret_error);

/* The qualitative rating of a score (the same scale for v3.x and v4.0): "NONE" for 0.0,
 * "LOW" 0.1-3.9, "MEDIUM" 4.0-6.9, "HIGH" 7.0-8.9, "CRITICAL" 9.0-10.0. The score is
 * taken to one decimal place first. NULL for an unknown version or a score outside
 * 0.0-10.0 (or NaN). */
const char *cvss_severity(enum cvss_version v, double score);

/* Longest vector accepted; a complete v4.0 vector with every optional metric is ~230 bytes. */
#define CVSS_VECTOR_MAX 512
