/*
 * The review workflow and the builders' job queue in the server's state database: a patch
 * for a CVE and kernels, its revisions (each kept), build jobs leased by builders, reviews
 * under the two-person rule, and publications into the archive by channel.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct srv_state;
struct srv_actor;

enum srv_patch_state {
	SRV_PATCH_DRAFT,
	SRV_PATCH_SUBMITTED, /* jobs queued or running */
	SRV_PATCH_BUILT,     /* every job built (and boot-tested) its module */
	SRV_PATCH_FAILED,    /* a job failed: a new revision, then submit again */
	SRV_PATCH_APPROVED,  /* built, with enough approvals of the current revision */
	SRV_PATCH_REJECTED,
	SRV_PATCH_PUBLISHED,
	SRV_PATCH_WITHDRAWN,
	_SRV_PATCH_STATE_MAX,
};

enum srv_job_state {
	SRV_JOB_QUEUED,
	SRV_JOB_RUNNING,
	SRV_JOB_DONE,
	SRV_JOB_FAILED,
	SRV_JOB_CANCELLED,
	_SRV_JOB_STATE_MAX,
};

static inline void srv_json_unrefp(json_t **p)
{
	json_decref(*p);
}

const char *srv_patch_state_to_string(enum srv_patch_state s);
const char *srv_job_state_to_string(enum srv_job_state s);

/* What the workflow's rules depend on (from srv_config). */
struct srv_wf_config {
	unsigned approvals;	  /* approvals a revision needs (>= 1) */
	bool allow_untested;	  /* publish a module whose boot test was skipped */
	const char *artifact_dir; /* modules, reports, logs: DIR/jobs/ID/ */
	unsigned lease_seconds;	  /* a builder's lease on a job */
};

/* Caps on what one request may make the server keep. */
#define SRV_PATCH_TEXT_MAX (1024 * 1024)
#define SRV_PATCH_KERNELS_MAX 32
#define SRV_COMMENT_MAX 8192
#define SRV_JOB_LOG_MAX (2 * 1024 * 1024)
#define SRV_JOB_MAX_ATTEMPTS 3

/*
 * A new patch for CVE and KERNELS (a JSON array of 1-32 kernel releases) with TEXT as its
 * revision 1, by BY. *RET: the patch as srv_patch_show() gives it.
 */
int srv_patch_create(struct srv_state *st, const struct srv_actor *by, const char *cve,
		     const char *title, json_t *kernels, const char *text, const char *note,
		     json_t **ret);
/* A new revision (the patch goes back to draft; its queued jobs are cancelled). */
int srv_patch_revise(struct srv_state *st, const struct srv_actor *by, int64_t id, const char *text,
		     const char *note, json_t **ret);
/* Queues one build job per kernel for the current revision; -EALREADY in a wrong state. */
int srv_patch_submit(struct srv_state *st, const struct srv_actor *by, int64_t id,
		     const struct srv_wf_config *wf, json_t **ret);
/* The patch, its revisions, reviews, approvals, jobs and publications; -ENOENT. */
int srv_patch_show(struct srv_state *st, int64_t id, const struct srv_wf_config *wf, json_t **ret);
/* Patches, newest first; STATE (may be NULL) filters. */
int srv_patch_list(struct srv_state *st, const char *state, json_t **ret);
/* Revision REV's text (0: the current one). */
int srv_patch_text(struct srv_state *st, int64_t id, int rev, char **ret);

/*
 * A review of the current revision: VERDICT "comment", "approve" or "reject". The author of
 * the revision cannot approve it (-EPERM); one approval per reviewer (-EEXIST); approving or
 * rejecting needs a submitted, built or approved patch (-EALREADY).
 */
int srv_review_add(struct srv_state *st, const struct srv_actor *by, int64_t id,
		   const char *verdict, const char *comment, const struct srv_wf_config *wf,
		   json_t **ret);

/*
 * What publishing patch ID would put in the archive: -EALREADY unless it is approved (or
 * published to another channel), every job of the current revision built its module and its
 * boot test passed (or was skipped, with allow_untested). *RET = {"rev", "cve", "sha256",
 * "approved_by", "modules": [{"job", "kernel", "path"}]}.
 */
int srv_patch_publish_plan(struct srv_state *st, int64_t id, const char *channel,
			   const struct srv_wf_config *wf, json_t **ret);
/*
 * Records a publication done (TARGETS: the archive's target paths), audited, and drops the
 * archive change INTENT (0: none) in the same transaction; RECOVERED notes in the audit record
 * that the change was completed when the server restarted.
 */
int srv_patch_publish_record(struct srv_state *st, const struct srv_actor *by, int64_t id, int rev,
			     const char *channel, json_t *targets, int64_t intent, bool recovered,
			     json_t **ret);
/* The active publications of ID ([{"id","channel","targets"}]), of CHANNEL only if given. */
int srv_patch_publications(struct srv_state *st, int64_t id, const char *channel, json_t **ret);
/* Marks publications withdrawn; the patch is withdrawn once none is left. Audited; INTENT and
 * RECOVERED as for srv_patch_publish_record(). */
int srv_patch_withdraw_record(struct srv_state *st, const struct srv_actor *by, int64_t id,
			      json_t *publications, const char *reason, int64_t intent,
			      bool recovered, json_t **ret);

/*
 * An archive change in flight. Publishing and withdrawing change the archive's files and then
 * the state database: the intent is committed first, and dropped with the record, so that a
 * server killed between the two finds it on its next start and completes the change (whole,
 * audited as its caller's) instead of leaving an archive and a record that disagree.
 * ACTION is "publish" (BODY: the publish plan and "channel") or "withdraw" (BODY:
 * {"publications", "reason"}).
 */
int srv_archive_intent_begin(struct srv_state *st, const struct srv_actor *by, const char *action,
			     int64_t patch, json_t *body, int64_t *ret_id);
/* Drops intent ID: its change failed before the archive was touched for good. */
int srv_archive_intent_drop(struct srv_state *st, int64_t id);
/* Every intent, oldest first: [{"id", "action", "patch", "body", "actor": {"name", "role",
 * "token_id", "remote", "person"}}]. */
int srv_archive_intent_list(struct srv_state *st, json_t **ret);

/* ---- builders and jobs ---- */

/* Records builder BY->name and the kernel releases it builds for. */
int srv_builder_register(struct srv_state *st, const struct srv_actor *by, json_t *kernels,
			 bool boot_test, json_t **ret);
/*
 * Leases the oldest job for one of KERNELS that is queued, or running under a lapsed lease
 * (its builder died), to BY for LEASE_SECONDS; *RET = NULL when there is none, else the job
 * with what a builder needs: "patches" (texts), and for an ad hoc job "config", "symbols".
 */
int srv_job_lease(struct srv_state *st, const struct srv_actor *by, json_t *kernels,
		  const struct srv_wf_config *wf, json_t **ret);
/* Extends BY's lease; -ESTALE when the job is no longer BY's. */
int srv_job_renew(struct srv_state *st, const struct srv_actor *by, int64_t id,
		  const struct srv_wf_config *wf, json_t **ret);

struct srv_job_result {
	const char *build;	 /* written, unsafe, nochange, error */
	const char *boot;	 /* passed, failed, skipped; NULL: skipped */
	const char *error;	 /* why it failed, may be NULL */
	const char *module_name; /* NAME.ko */
	const void *module;	 /* its bytes, with build "written" */
	size_t module_len;
	json_t *report; /* lp_build's report, may be NULL */
	const char *log, *boot_log;
};
/* Keeps the artifacts and ends BY's job; moves the patch on. -ESTALE: not BY's lease. */
int srv_job_finish(struct srv_state *st, const struct srv_actor *by, int64_t id,
		   const struct srv_job_result *res, const struct srv_wf_config *wf, json_t **ret);
int srv_job_show(struct srv_state *st, int64_t id, json_t **ret);
int srv_job_list(struct srv_state *st, const char *state, json_t **ret);
/* The path of job ID's artifact WHAT ("module", "report", "log", "boot-log"); -ENOENT. */
int srv_job_artifact(struct srv_state *st, int64_t id, const char *what,
		     const struct srv_wf_config *wf, char **ret_path);
/*
 * elivepatch's build service: a job for KERNEL (any release, inventory or not) with its
 * CONFIG text, SYMBOLS text (may be NULL: the builder's own) and PATCHES (array of texts).
 */
int srv_job_adhoc(struct srv_state *st, const struct srv_actor *by, const char *kernel,
		  const char *config, const char *symbols, json_t *patches,
		  const struct srv_wf_config *wf, json_t **ret);

/* Patches and jobs by state, for the metrics. */
int srv_workflow_count(struct srv_state *st, unsigned long patches[_SRV_PATCH_STATE_MAX],
		       unsigned long jobs[_SRV_JOB_STATE_MAX]);

/* Shapes the handlers check before calling: a kernel release, a channel name. */
bool srv_release_valid(const char *s);
bool srv_channel_valid(const char *s);
