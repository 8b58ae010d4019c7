/*
 * Keeping the stored verdicts (table verdict: one row per published CVE x inventory kernel)
 * in step with the CVE records and the kernel inventory, and reading them back.
 */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "applicability/verdict.h"

struct tt_store;

struct verdicts_report {
	unsigned long kernels, cves, verdicts;
	unsigned long changed; /* rows written or deleted: only what differs is written */
	unsigned long by_status[_VERDICT_MAX];
	double seconds;
};

/*
 * Recomputes every kernel's verdicts for every published CVE (KERNEL_ID < 0), or one kernel's.
 * Each kernel's compiled files are loaded once; the records are read in one ordered scan. Runs
 * inside the caller's transaction when one is open (so a sync and its verdicts commit
 * together), else in its own. RET may be NULL. Returns 0 or -errno with nothing changed.
 */
int verdicts_refresh(struct tt_store *s, int64_t kernel_id, struct verdicts_report *ret);

/* [{"kernel", "release", "version", "counts": {status: n...}, "total"}] over the inventory. */
int verdicts_query_summary(struct tt_store *s, json_t **ret);

enum version_query {
	VERSION_QUERY_VULNERABLE, /* the records' version ranges include V */
	VERSION_QUERY_FIXED,      /* V carries the fix */
	VERSION_QUERY_FIXED_IN,   /* V carries it and the release before V on its branch not */
	VERSION_QUERY_UNKNOWN,    /* the records do not say */
	VERSION_QUERY_ALL,
};

/*
 * A version-only question, no kernel registered (the CNA's strak): every published CVE's
 * state at version V by the records' version logic alone, compiled files not considered.
 * [{"id", "version_state": vulnerable|fixed|not-affected|unknown, "reason"}], sorted by id.
 */
int verdicts_for_version(struct tt_store *s, const struct kernel_version *v,
			 enum version_query what, json_t **ret);

/* The stored verdict of CVE_ID for the inventory kernel KERNEL; -ENOENT when there is none. */
int verdict_lookup(struct tt_store *s, const char *cve_id, const char *kernel,
		   enum verdict_status *ret_status, char **ret_reason);
