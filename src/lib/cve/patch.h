/*
 * The raw fix of a CVE for one inventory kernel, as mail-style patches (git format-patch
 * layout) read with libgit2 from a local clone of the stable tree.
 */
#pragma once

#include <stddef.h>

struct tt_store;
struct strbuf;

struct cve_patch_report {
	char **commits; /* the fix commits written, in order */
	size_t n_commits;
	char *source;   /* "the 6.1 stable branch" or "mainline" */
};

void cve_patch_report_release(struct cve_patch_report *r);

/*
 * Appends to OUT the fix commits of CVE_ID for kernel KERNEL: the ones the records name on the
 * kernel's own stable branch, else the mainline fix commits; several are written oldest first
 * as [PATCH n/m]. Errors (logged): -ENOENT no such CVE or kernel, or a commit missing from
 * LINUX_REPO (named in the message); -ENODATA the records name no fix commit; -EIO not a git
 * repository.
 */
int cve_patch_write(struct tt_store *s, const char *cve_id, const char *kernel,
		    const char *linux_repo, struct strbuf *out, struct cve_patch_report *ret);

/*
 * Whether inventory kernel KERNEL needs a fix for CVE_ID, by its stored verdict: 1 when it is
 * affected, its verdict unknown or not computed; 0 when it is fixed, not affected or does not
 * compile the code, with *RET_WHY set ("kernel 'K' is fixed for CVE-...: REASON", to free).
 * A fix for a kernel that does not need it is an answer nobody asked for: callers refuse
 * unless told otherwise. -errno on a database error (logged).
 */
int cve_patch_needed(struct tt_store *s, const char *cve_id, const char *kernel, char **ret_why);
