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

/* The stored verdict of CVE_ID for the inventory kernel KERNEL; -ENOENT when there is none. */
int verdict_lookup(struct tt_store *s, const char *cve_id, const char *kernel,
		   enum verdict_status *ret_status, char **ret_reason);
