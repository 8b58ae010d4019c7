/*
 * Triage: an operator's decision about a CVE for one kernel (accepted risk, not applicable,
 * will patch), with a note, who decided and an optional expiry after which the finding is
 * untriaged again. List commands hide triaged findings unless asked; `tuxtape check` counts
 * only untriaged ones.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct tt_store;

struct triage_entry {
	const char *cve_id;  /* any case: normalised */
	const char *kernel;  /* an inventory kernel's name */
	const char *state;   /* accepted-risk ("accepted"), not-applicable, will-patch */
	const char *note;    /* may be NULL */
	const char *who;     /* may be NULL */
	const char *expires; /* YYYY-MM-DD, not in the past; NULL: never */
};

/* The stored spelling of a state ("accepted" is "accepted-risk"), or NULL for another word. */
const char *triage_state_canonical(const char *state);

/*
 * Records (or replaces) a decision. -EINVAL (logged) for a bad state or date, -ENOENT
 * (logged) for a kernel not in the inventory or a CVE not in the database.
 */
int triage_set(struct tt_store *s, const struct triage_entry *e);
/* Removes the decision; -ENOENT when there was none. */
int triage_clear(struct tt_store *s, const char *cve_id, const char *kernel);
/*
 * [{"id", "kernel", "state", "note", "who", "expires", "at", "expired", "status"}], status
 * being the kernel's verdict (or null); KERNEL NULL: every kernel. Expired decisions only
 * with INCLUDE_EXPIRED.
 */
int triage_list(struct tt_store *s, const char *kernel, bool include_expired, json_t **ret);
