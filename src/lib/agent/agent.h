/*
 * The fleet agent's policy: poll the signed archive, pick the newest cumulative livepatch
 * for the running kernel, verify and load it, follow its transition, watch the kernel log,
 * revert what misbehaves, and refuse what crashed the node (docs/agent.md).
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>

#include "agent/config.h"
#include "agent/kernel.h"
#include "agent/report.h"
#include "tuf/fetch.h"

/* What the agent does to the world; tests replace it. NULL members: the real thing. */
struct agent_ops {
	int (*load)(void *userdata, int fd, const char *name); /* finit_module(2) */
	int (*unload)(void *userdata, const char *name);       /* delete_module(2) */
	void (*sleep_ms)(void *userdata, unsigned ms);
	uint64_t (*now_ms)(void *userdata); /* a monotonic clock */
	void *userdata;
	tuf_fetch_fn fetch; /* NULL: HTTP */
	void *fetch_userdata;
	time_t now; /* the wall clock (TUF expiry, records); 0: time(2) */
	agent_post_fn post; /* reports to the server; NULL: HTTPS (agent_http_post) */
	void *post_userdata;
};

struct agent;

enum agent_open_flags {
	/* Only reads: no boot check, no state written (status, uname, vex). */
	AGENT_READ_ONLY = 1 << 0,
};

/*
 * Identifies the kernel and reads the state. Unless AGENT_READ_ONLY, a new boot is judged
 * first: a load that was under way, or that an unclean restart followed within the crash
 * window, or that a pstore record names, is blocked until agent_clear().
 */
int agent_new(const struct agent_config *cfg, const struct agent_ops *ops, unsigned flags,
	      struct agent **ret);
void agent_free(struct agent *a);

/*
 * One poll: refresh the archive's metadata, choose the newest patch for this kernel that
 * is not blocked, and when it is not the one loaded: verify it (hashes, kernel release,
 * vermagic, build ID when the archive gives one), record the intent, load it, follow its
 * transition (signal, then revert on timeout), watch the kernel log for settle_s.
 * *RET_REPORT (may be NULL): {"result", "target"?, "reason"?}. 0 or -errno; a refused or
 * reverted patch is a result, not an error. With a server configured, reports to it after
 * (agent_report()); a server that cannot be reached is not an error of the check.
 */
int agent_check(struct agent *a, json_t **ret_report);

/*
 * With server_url set: POSTs a heartbeat (kernel, effective version, enabled patches, uptime),
 * then the status events queued in the state (a patch blocked: load-failure, kernel-log,
 * transition-stalled, unclean-reboot; a failed poll: error; "ok" once polls go well again).
 * Events the server could not take stay queued (at most 32) for the next call. 0 when the
 * server took everything, 1 when nothing is configured, or -errno of the first failure.
 */
int agent_report(struct agent *a);

/* Disables livepatch NAME (NULL: the one the agent loaded), unloads it, blocks it. */
int agent_revert(struct agent *a, const char *name, const char *reason);

/* Unblocks the patches whose livepatch name, target path or SHA-256 is WHAT (NULL: all). */
int agent_clear(struct agent *a, const char *what, unsigned *ret_n);

/* The kernel, loaded patches and their transition, CVEs fixed, last check, errors. */
int agent_status(struct agent *a, json_t **ret);

/* The effective kernel release: the release, and the livepatch loaded (like kcare-uname). */
int agent_uname(struct agent *a, char **ret);

/* An OpenVEX document: each CVE a loaded patch fixes is "fixed" for this kernel. */
int agent_vex(struct agent *a, json_t **ret);

/*
 * The daemon: polls every interval (plus jitter), watches /dev/kmsg between polls, until
 * *STOP is set; then records a clean stop.
 */
int agent_run(struct agent *a, volatile sig_atomic_t *stop);

/*
 * The checks that keep a module off the wrong kernel, on the bytes that will be loaded (FD,
 * left at offset 0): the TUF length and hashes in INFO, .modinfo livepatch=Y, a vermagic
 * equal to the signed one and naming KERN's release, the signed livepatch name, the signed
 * build ID when INFO's custom metadata gives one. -EBADMSG with WHY saying which failed.
 */
struct strbuf;
int agent_module_verify(const struct agent_kernel *kern, int fd, const char *target,
			const json_t *info, struct strbuf *why);

/* Records that the agent stopped cleanly in this boot (the crash-loop guard reads it). */
int agent_record_clean_stop(struct agent *a);
