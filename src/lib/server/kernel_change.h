/*
 * A kernel added, replaced or removed through the API: the change is in the CVE database and
 * its audit record in the state database, two commits. A pending record is committed first
 * and becomes the audit record after; one that a server killed in between left behind is
 * completed at the next start from what the CVE database then holds, and says so.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct tt_store;
struct srv_state;
struct srv_actor;

/*
 * What the CVE database holds of kernel NAME, as a change is judged by: JSON null when there
 * is none, else {"release", "config" (where its config was read), "proc_version",
 * "version_signature", "added_at", "updated_at"}.
 */
int srv_kernel_snapshot(struct tt_store *cve, const char *name, json_t **ret);

/*
 * Commits the pending record of ACTION ("add" or "remove") on kernel NAME by BY, with what
 * the CVE database holds of it now; WANT (borrowed, NULL for a removal) is what an add asks
 * for: {"release", "config", "proc_version", "version_signature"}, compared with the
 * snapshot's keys of the same names. *RET_ID names the record for srv_kernel_change_end().
 */
int srv_kernel_change_begin(struct tt_store *cve, struct srv_state *st, const struct srv_actor *by,
			    const char *action, const char *name, json_t *want, bool replace,
			    int64_t *ret_id);

/*
 * After the change: when it was made (DONE), the pending record ID becomes the audit record
 * AUDIT_ACTION with DETAIL (borrowed, may be NULL) in one transaction; when it failed, the
 * pending record is dropped. A failure leaves the pending record, completed at the next start.
 */
int srv_kernel_change_end(struct srv_state *st, int64_t id, bool done, const struct srv_actor *by,
			  const char *audit_action, const char *name, json_t *detail);

enum srv_kernel_outcome {
	SRV_KERNEL_APPLIED,
	SRV_KERNEL_NOT_APPLIED,
	SRV_KERNEL_UNKNOWN, /* cannot be told from what the database holds */
};
const char *srv_kernel_outcome_to_string(enum srv_kernel_outcome o);

/*
 * Judges a change that a server ended during: ACTION and the BEFORE and WANT it recorded
 * against NOW (srv_kernel_snapshot()'s). Never "applied" when the database cannot tell; *RET_WHY
 * says what was found.
 */
enum srv_kernel_outcome srv_kernel_outcome(const char *action, json_t *before, json_t *want,
					   json_t *now, const char **ret_why);

/*
 * Completes every pending record in the state database at STATE_PATH from the CVE database at
 * DB_PATH: each becomes an audit record (the original caller's, detail "outcome",
 * "completed_at_restart": true). Called before the server listens.
 */
int srv_kernel_recover(const char *db_path, const char *state_path);
