/*
 * What changed for each inventory kernel since its last report: CVEs newly affected, no
 * longer affected (fixed, or found not to apply), and affected ones newly known exploited.
 * `tuxtape cve sync` ends with it; the daily loop reads it.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct tt_store;

/*
 * Compares each kernel's affected verdicts and the KEV catalogue with what its last report
 * saw (tables report_kernel, report_seen) and returns a JSON array, one element per kernel:
 *   {"kernel", "baseline", "affected", "untriaged",
 *    "newly_affected": [{"id", "base_score", "severity", "kev", "triaged"}],
 *    "newly_fixed": [{"id", "status"}],   status: fixed, not-affected, not-compiled,
 *                                          unknown, or "gone" (no longer published)
 *    "newly_kev": [{"id", "date_added"}]}
 * A kernel reported for the first time is a baseline: its lists are empty. With UPDATE the
 * comparison becomes the new reference (written only when something differs, in its own
 * transaction), so a change is reported once; a run that fails before that reports it again.
 */
int verdicts_changes(struct tt_store *s, const char *vulns_commit, bool update, json_t **ret);
