/*
 * One CVE record of the kernel CNA's vulns repository, parsed from its files: the CVE JSON 5
 * record (.json), the vulnerable:fixed pairs (.dyad), the fix and introducing commits (.sha1,
 * .vulnerable) and the CNA's CVSS rationale (.cvss).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum cve_state {
	CVE_PUBLISHED,
	CVE_REJECTED,
};

struct cve_cvss {
	char *version;   /* "3.1", "4.0", "3.0" */
	char *vector;
	double base_score;
	bool has_base_score;
	char *severity;
	char *rationale; /* from the .cvss file, NULL if none */
	double computed_score; /* tuxtape's own calculation, when has_computed */
	bool has_computed;
};

/* One element of affected[].versions[], with its entry's fields repeated. */
struct cve_range {
	int entry, seq;
	const char *product, *vendor, *repo, *default_status; /* point into ranges' owner strings */
	char *version, *less_than, *less_than_or_equal, *status, *version_type;
};

struct cve_affected_entry {
	char *product, *vendor, *repo, *default_status;
};

struct cve_dyad {
	char *introduced_version, *introduced_commit, *fixed_version, *fixed_commit;
};

struct cve_record {
	char *id;
	enum cve_state state;
	char *title;
	char *description;
	char *published; /* datePublished if the record has one */
	char *data_version;
	char *affected_json; /* the affected array, compact */

	struct cve_affected_entry *entries;
	size_t n_entries;
	struct cve_range *ranges;
	size_t n_ranges;
	char **files;
	size_t n_files;
	struct cve_cvss *cvss;
	size_t n_cvss;
	struct cve_dyad *dyads;
	size_t n_dyads;
	char **fix_commits;
	size_t n_fix_commits;
	char **vulnerable_commits;
	size_t n_vulnerable_commits;
	char **references;
	size_t n_references;
};

/* Largest record file tuxtape reads; the biggest real one is well under 1 MiB. */
#define CVE_RECORD_MAX_FILE (16u << 20)

void cve_record_release(struct cve_record *rec);

/*
 * Each parser fills REC from one file's bytes. NAME is the file's path, used in the error: on
 * failure they return -EBADMSG (or -ENOMEM) and set *ret_error to an allocated one-line message
 * naming the file and the field or line, e.g. "cve/published/2024/CVE-2024-1.json: field
 * 'containers.cna.affected[0].versions': expected an array".
 */
int cve_record_parse_json(struct cve_record *rec, const char *name, const char *buf, size_t len,
			  char **ret_error);
int cve_record_parse_dyad(struct cve_record *rec, const char *name, const char *buf, size_t len,
			  char **ret_error);
/* .sha1 and .vulnerable: one commit id per line. */
int cve_record_parse_commits(char ***list, size_t *n, const char *name, const char *buf,
			     size_t len, char **ret_error);
/* .cvss: "ORGID VECTOR" lines, a blank line, then the rationale; merged into rec->cvss. */
int cve_record_parse_cvss(struct cve_record *rec, const char *name, const char *buf, size_t len,
			  char **ret_error);

const char *cve_state_to_string(enum cve_state s);
/* "CVE-2024-26581" -> true; also writes the year into *ret_year when non-NULL. */
bool cve_id_valid(const char *id, int *ret_year);
