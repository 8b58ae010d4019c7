/*
 * The handlers of the review workflow, the builders' endpoints and the build service: each
 * reads its request strictly and calls workflow.c (and the archive library to publish).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "archive/archive.h"
#include "cve/patch.h"
#include "fileio.h"
#include "log.h"
#include "server/route.h"
#include "server/state.h"
#include "server/workflow.h"
#include "strbuf.h"
#include "banned.h"

/* ar_add and ar_publish stage and sign files: one publisher at a time in this process. */
static pthread_mutex_t archive_lock = PTHREAD_MUTEX_INITIALIZER;

static bool parse_id(const char *s, int64_t *ret)
{
	char *end;
	long long v;

	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return false;
	v = strtoll(s, &end, 10);
	if (v <= 0)
		return false;
	*ret = v;
	return true;
}

#define ID_OR_404(rq, ret, id)                                                                     \
	do {                                                                                       \
		if (!parse_id((rq)->params[0], &(id)))                                             \
			return srv_error(ret, 404, "no such object '%s'", (rq)->params[0]);        \
	} while (0)

static unsigned wf_error(json_t **ret, int r, const char *context)
{
	switch (r) {
	case -EPERM:
		return srv_error(ret, 403, "%s", srv_captured_error() ?: "not allowed");
	case -EALREADY:
	case -ESTALE:
		return srv_error(ret, 409, "%s", srv_captured_error() ?: "conflict");
	default:
		return srv_error_errno(ret, r, context);
	}
}

static const char *state_query(struct srv_request *rq, const char *const *names, unsigned n,
			       json_t **ret, unsigned *status)
{
	const char *v = rq->query(rq, "state");

	if (!v)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		if (streq(v, names[i]))
			return v;
	*status = srv_error(ret, 400, "state: '%.32s' is not a known state", v);
	return NULL;
}

unsigned srv_h_patch_list(struct srv_request *rq, json_t **ret)
{
	const char *names[_SRV_PATCH_STATE_MAX];
	unsigned status = 0;
	const char *state;
	int r;

	for (unsigned i = 0; i < _SRV_PATCH_STATE_MAX; i++)
		names[i] = srv_patch_state_to_string(i);
	state = state_query(rq, names, _SRV_PATCH_STATE_MAX, ret, &status);
	if (status)
		return status;
	r = srv_patch_list(rq->w->state, state, ret);
	return r < 0 ? wf_error(ret, r, "listing patches") : 200;
}

static bool cve_valid(const char *id)
{
	size_t n = strlen(id);

	return n >= 13 && n <= 24 && startswith(id, "CVE-") && id[8] == '-' &&
	       strspn(id + 4, "0123456789") == 4 && strspn(id + 9, "0123456789") == n - 9;
}

unsigned srv_h_patch_create(struct srv_request *rq, json_t **ret)
{
	const char *cve, *title = NULL, *text = NULL, *note = NULL, *fix_kernel = NULL;
	struct strbuf fix = STRBUF_INIT;
	json_t *kernels;
	json_error_t e;
	int force = 0;
	int r;

	if (json_unpack_ex(rq->body, &e, JSON_STRICT, "{s:s s:o s?s s?s s?s s?s s?b}", "cve", &cve,
			   "kernels", &kernels, "title", &title, "patch", &text, "note", &note,
			   "fix_kernel", &fix_kernel, "force", &force) < 0)
		return srv_error(ret, 400, "%s", e.text);
	if (!cve_valid(cve))
		return srv_error(ret, 400, "cve: '%.32s' is not a CVE id", cve);
	if (!text == !fix_kernel)
		return srv_error(ret, 400,
				 "either patch (its text) or fix_kernel (an inventory "
				 "kernel whose raw fix to start from)");
	if (fix_kernel) {
		struct cve_patch_report rep = {};

		_cleanup_free_ char *why = NULL;

		if (!rq->ctx->cfg.linux_repo)
			return srv_error(ret, 501,
					 "this server has no stable-tree clone to take "
					 "fixes from (tuxtape-server --linux-repo)");
		/* as tuxtape cve patch: not for a kernel that does not need the fix, unless forced */
		r = cve_patch_needed(rq->w->cve, cve, fix_kernel, &why);
		if (r < 0)
			return srv_error_errno(ret, r, "reading the verdict");
		if (r == 0 && !force)
			return srv_error(ret, 409, "%s (\"force\": true makes the patch anyway)", why);
		strbuf_init(&fix, SRV_PATCH_TEXT_MAX);
		r = cve_patch_write(rq->w->cve, cve, fix_kernel, rq->ctx->cfg.linux_repo, &fix,
				    &rep);
		cve_patch_report_release(&rep);
		if (r < 0) {
			strbuf_release(&fix);
			return srv_error_errno(ret, r, "taking the raw fix");
		}
		text = strbuf_str(&fix);
		if (!note)
			note = "the raw fix (tuxtape cve patch)";
	}
	r = srv_patch_create(rq->w->state, &rq->actor, cve, title, kernels, text, note, ret);
	strbuf_release(&fix);
	if (r < 0)
		return wf_error(ret, r, "creating the patch");
	if (*ret)
		json_object_set_new(*ret, "approvals_needed", json_integer(rq->ctx->wf.approvals));
	return 201;
}

unsigned srv_h_patch_show(struct srv_request *rq, json_t **ret)
{
	int64_t id;
	int r;

	ID_OR_404(rq, ret, id);
	r = srv_patch_show(rq->w->state, id, &rq->ctx->wf, ret);
	return r < 0 ? wf_error(ret, r, "reading the patch") : 200;
}

unsigned srv_h_patch_text(struct srv_request *rq, json_t **ret)
{
	_cleanup_free_ char *text = NULL;
	const char *v = rq->query(rq, "rev");
	int64_t id, rev = 0;
	int r;

	ID_OR_404(rq, ret, id);
	if (v && (!parse_id(v, &rev) || rev > 1000000))
		return srv_error(ret, 400, "rev: a revision number");
	r = srv_patch_text(rq->w->state, id, (int)rev, &text);
	if (r < 0)
		return wf_error(ret, r, "reading the revision");
	strbuf_adds(rq->text, text);
	rq->content_type = "text/x-diff; charset=utf-8";
	return 200;
}

unsigned srv_h_patch_revise(struct srv_request *rq, json_t **ret)
{
	const char *text, *note = NULL;
	json_error_t e;
	int64_t id;
	int r;

	ID_OR_404(rq, ret, id);
	if (json_unpack_ex(rq->body, &e, JSON_STRICT, "{s:s s?s}", "patch", &text, "note", &note) <
	    0)
		return srv_error(ret, 400, "%s", e.text);
	r = srv_patch_revise(rq->w->state, &rq->actor, id, text, note, ret);
	return r < 0 ? wf_error(ret, r, "revising the patch") : 201;
}

unsigned srv_h_patch_submit(struct srv_request *rq, json_t **ret)
{
	json_error_t e;
	int64_t id;
	int r;

	ID_OR_404(rq, ret, id);
	if (json_unpack_ex(rq->body, &e, JSON_STRICT, "{}") < 0)
		return srv_error(ret, 400, "%s", e.text);
	r = srv_patch_submit(rq->w->state, &rq->actor, id, &rq->ctx->wf, ret);
	return r < 0 ? wf_error(ret, r, "submitting the patch") : 200;
}

unsigned srv_h_review(struct srv_request *rq, json_t **ret)
{
	const char *verdict, *comment = NULL;
	json_error_t e;
	int64_t id;
	int r;

	ID_OR_404(rq, ret, id);
	if (json_unpack_ex(rq->body, &e, JSON_STRICT, "{s:s s?s}", "verdict", &verdict, "comment",
			   &comment) < 0)
		return srv_error(ret, 400, "%s", e.text);
	r = srv_review_add(rq->w->state, &rq->actor, id, verdict, comment, &rq->ctx->wf, ret);
	return r < 0 ? wf_error(ret, r, "recording the review") : 201;
}

/* The archive directory of CHANNEL: a --channel NAME=DIR, or --archive as "stable". */
static const char *channel_dir(struct srv_ctx *ctx, const char *channel)
{
	size_t n = strlen(channel);

	for (const char *const *c = ctx->cfg.channels; c && *c; c++)
		if (strncmp(*c, channel, n) == 0 && (*c)[n] == '=')
			return *c + n + 1;
	if (streq(channel, "stable"))
		return ctx->cfg.archive_dir;
	return NULL;
}

/*
 * Stages PLAN's modules (srv_patch_publish_plan's) into the archive DIR and publishes them;
 * TARGETS gets their target paths. On a failure it takes back what it staged, so that the
 * next publish of that archive does not release it unrecorded.
 */
static int archive_publish(const char *dir, const json_t *plan, json_t *targets)
{
	const char *cve = json_string_value(json_object_get(plan, "cve"));
	const char *sha = json_string_value(json_object_get(plan, "sha256"));
	_cleanup_free_ char *approved = NULL;
	struct strbuf sb = STRBUF_INIT;
	json_t *m, *t;
	size_t i;
	int r = 0;

	json_array_foreach(json_object_get(plan, "approved_by"), i, t)
		strbuf_addf(&sb, "%s%s", i ? "," : "", json_string_value(t));
	approved = strbuf_detach(&sb);
	if (!approved || !cve || !sha)
		return -ENOMEM;
	json_array_foreach(json_object_get(plan, "modules"), i, m)
	{
		const char *ko = json_string_value(json_object_get(m, "path"));
		struct ar_target_opts o = {
			.kernel = json_string_value(json_object_get(m, "kernel")),
			.cves = &cve,
			.n_cves = 1,
			.patch_sha256 = &sha,
			.n_patches = 1,
			.approved_by = approved,
		};

		t = NULL;
		r = ar_add(dir, &ko, 1, &o, time(NULL), &t);
		if (r < 0)
			break;
		json_array_extend(targets, t);
		json_decref(t);
	}
	if (r == 0)
		r = ar_publish(dir, time(NULL));
	if (r < 0) {
		json_array_foreach(targets, i, t)
		{
			(void)ar_remove(dir, json_string_value(t));
		}
	}
	return r;
}

/* Removes the targets of publications PUBS from their archives and publishes each. AGAIN:
 * completing an interrupted withdrawal, where a target may be gone already. */
static int archive_withdraw(struct srv_ctx *ctx, json_t *pubs, bool again)
{
	json_t *p, *t;
	size_t i, k;
	int r = 0;

	json_array_foreach(pubs, i, p)
	{
		const char *channel = json_string_value(json_object_get(p, "channel"));
		const char *dir = channel ? channel_dir(ctx, channel) : NULL;

		if (!dir)
			return log_error_errno(-ENOENT, "channel '%s' is no longer configured",
					       strempty(channel));
		json_array_foreach(json_object_get(p, "targets"), k, t)
		{
			r = ar_remove(dir, json_string_value(t));
			/* Its removal was staged or published before the server ended. */
			if (r == -ENOENT && again)
				r = 0;
			if (r < 0)
				break;
		}
		if (r == 0)
			r = ar_publish(dir, time(NULL));
		if (r < 0)
			return r;
	}
	return 0;
}

unsigned srv_h_publish(struct srv_request *rq, json_t **ret)
{
	_cleanup_(srv_json_unrefp) json_t *plan = NULL, *targets = NULL;
	const char *channel, *dir;
	json_error_t e;
	int64_t id, intent = 0;
	int r;

	ID_OR_404(rq, ret, id);
	if (json_unpack_ex(rq->body, &e, JSON_STRICT, "{s:s}", "channel", &channel) < 0)
		return srv_error(ret, 400, "%s", e.text);
	if (!srv_channel_valid(channel) || !(dir = channel_dir(rq->ctx, channel)))
		return srv_error(ret, 400, "channel: '%.32s' is not a channel of this server",
				 channel);
	targets = json_array();
	if (!targets)
		return srv_error(ret, 500, "out of memory");
	pthread_mutex_lock(&archive_lock);
	r = srv_patch_publish_plan(rq->w->state, id, channel, &rq->ctx->wf, &plan);
	if (r == 0 && json_object_set_new(plan, "channel", json_string(channel)) < 0)
		r = -ENOMEM;
	/* The intent first: a server killed from here on completes the publish when it starts. */
	if (r == 0)
		r = srv_archive_intent_begin(rq->w->state, &rq->actor, "publish", id, plan,
					     &intent);
	if (r == 0) {
		r = archive_publish(dir, plan, targets);
		if (r < 0)
			(void)srv_archive_intent_drop(rq->w->state, intent);
	}
	if (r == 0)
		r = srv_patch_publish_record(rq->w->state, &rq->actor, id,
					     (int)json_integer_value(json_object_get(plan, "rev")),
					     channel, targets, intent, false, ret);
	pthread_mutex_unlock(&archive_lock);
	return r < 0 ? wf_error(ret, r, "publishing") : 200;
}

unsigned srv_h_withdraw(struct srv_request *rq, json_t **ret)
{
	_cleanup_(srv_json_unrefp) json_t *pubs = NULL, *body = NULL;
	const char *channel = NULL, *reason = NULL;
	json_error_t e;
	int64_t id, intent = 0;
	int r;

	ID_OR_404(rq, ret, id);
	if (json_unpack_ex(rq->body, &e, JSON_STRICT, "{s?s s?s}", "channel", &channel, "reason",
			   &reason) < 0)
		return srv_error(ret, 400, "%s", e.text);
	if (reason && strlen(reason) > SRV_COMMENT_MAX)
		return srv_error(ret, 400, "reason: at most %d characters", SRV_COMMENT_MAX);
	if (channel && (!srv_channel_valid(channel) || !channel_dir(rq->ctx, channel)))
		return srv_error(ret, 400, "channel: '%.32s' is not a channel of this server",
				 channel);
	pthread_mutex_lock(&archive_lock);
	r = srv_patch_publications(rq->w->state, id, channel, &pubs);
	if (r == 0 && !json_array_size(pubs))
		r = log_error_errno(-EALREADY, "patch %lld is not published%s%s", (long long)id,
				    channel ? " on " : "", channel ? channel : "");
	if (r == 0 && !(body = json_pack("{s:O s:s*}", "publications", pubs, "reason", reason)))
		r = -ENOMEM;
	if (r == 0)
		r = srv_archive_intent_begin(rq->w->state, &rq->actor, "withdraw", id, body,
					     &intent);
	if (r == 0) {
		/* A failure here is answered (the archive may be changed part way, as the error
		 * says); only a server that ends before the record leaves the intent. */
		r = archive_withdraw(rq->ctx, pubs, false);
		if (r < 0)
			(void)srv_archive_intent_drop(rq->w->state, intent);
	}
	if (r == 0)
		r = srv_patch_withdraw_record(rq->w->state, &rq->actor, id, pubs, reason, intent,
					      false, ret);
	pthread_mutex_unlock(&archive_lock);
	return r < 0 ? wf_error(ret, r, "withdrawing") : 200;
}

/* Completes intent I (srv_archive_intent_list's) left by a server that ended before its
 * record. */
static int intent_complete(struct srv_ctx *ctx, struct srv_state *st, json_t *in)
{
	_cleanup_(srv_json_unrefp) json_t *targets = json_array();
	const json_t *a = json_object_get(in, "actor");
	const char *action = json_string_value(json_object_get(in, "action"));
	json_t *body = json_object_get(in, "body");
	int64_t id = json_integer_value(json_object_get(in, "id"));
	int64_t patch = json_integer_value(json_object_get(in, "patch"));
	struct srv_actor by = {
		.name = json_string_value(json_object_get(a, "name")),
		.role = json_string_value(json_object_get(a, "role")),
		.token_id = json_integer_value(json_object_get(a, "token_id")),
		.remote = json_string_value(json_object_get(a, "remote")),
		.person = json_string_value(json_object_get(a, "person")),
	};
	int r;

	if (!targets || !by.name || !action || !json_is_object(body))
		return log_error_errno(-EBADMSG, "archive change %lld is unreadable",
				       (long long)id);
	if (streq(action, "publish")) {
		const char *channel = json_string_value(json_object_get(body, "channel"));
		const char *dir = channel ? channel_dir(ctx, channel) : NULL;

		if (!dir)
			return log_error_errno(-ENOENT, "channel '%s' is no longer configured",
					       strempty(channel));
		r = archive_publish(dir, body, targets);
		if (r == 0)
			r = srv_patch_publish_record(
				st, &by, patch,
				(int)json_integer_value(json_object_get(body, "rev")), channel,
				targets, id, true, NULL);
	} else {
		json_t *pubs = json_object_get(body, "publications");

		r = archive_withdraw(ctx, pubs, true);
		if (r == 0)
			r = srv_patch_withdraw_record(
				st, &by, patch, pubs,
				json_string_value(json_object_get(body, "reason")), id, true, NULL);
	}
	return r;
}

int srv_archive_recover(struct srv_ctx *ctx)
{
	_cleanup_(srv_json_unrefp) json_t *intents = NULL;
	_cleanup_state_ struct srv_state *st = NULL;
	json_t *in;
	size_t i;
	int r;

	r = srv_state_open(ctx->cfg.state_path, &st);
	if (r == 0)
		r = srv_archive_intent_list(st, &intents);
	if (r < 0)
		return r;
	json_array_foreach(intents, i, in)
	{
		const char *action = json_string_value(json_object_get(in, "action"));
		long long patch = (long long)json_integer_value(json_object_get(in, "patch"));

		r = intent_complete(ctx, st, in);
		if (r < 0)
			return log_error_errno(r,
					       "cannot complete the %s of patch %lld that the "
					       "server's last run left half done; the archive "
					       "and the state database may disagree until it is",
					       strempty(action), patch);
		log_info("completed the %s of patch %lld that the server's last run left half done",
			 action, patch);
	}
	return 0;
}

/* ---- builders and jobs ---- */

unsigned srv_h_job_list(struct srv_request *rq, json_t **ret)
{
	const char *names[_SRV_JOB_STATE_MAX];
	unsigned status = 0;
	const char *state;
	int r;

	for (unsigned i = 0; i < _SRV_JOB_STATE_MAX; i++)
		names[i] = srv_job_state_to_string(i);
	state = state_query(rq, names, _SRV_JOB_STATE_MAX, ret, &status);
	if (status)
		return status;
	r = srv_job_list(rq->w->state, state, ret);
	return r < 0 ? wf_error(ret, r, "listing jobs") : 200;
}

unsigned srv_h_job_show(struct srv_request *rq, json_t **ret)
{
	int64_t id;
	int r;

	ID_OR_404(rq, ret, id);
	r = srv_job_show(rq->w->state, id, ret);
	return r < 0 ? wf_error(ret, r, "reading the job") : 200;
}

unsigned srv_h_job_artifact(struct srv_request *rq, json_t **ret)
{
	static const char *const whats[] = {"module", "report", "log", "boot-log"};
	_cleanup_free_ char *path = NULL, *buf = NULL;
	const char *what = rq->params[1];
	bool known = false;
	size_t len;
	int64_t id;
	int r;

	ID_OR_404(rq, ret, id);
	for (size_t i = 0; i < ARRAY_SIZE(whats); i++)
		known |= streq(what, whats[i]);
	if (!known)
		return srv_error(ret, 404, "a job has a module, report, log and boot-log");
	r = srv_job_artifact(rq->w->state, id, what, &rq->ctx->wf, &path);
	if (r < 0)
		return wf_error(ret, r, "reading the job");
	r = read_file_capped(path, 64 * 1024 * 1024, &buf, &len);
	if (r < 0)
		return srv_error(ret, 500, "cannot read the job's %s", what);
	strbuf_add(rq->text, buf, len);
	rq->content_type = streq(what, "module")   ? "application/octet-stream"
			   : streq(what, "report") ? "application/json"
						   : "text/plain; charset=utf-8";
	return 200;
}

unsigned srv_h_builder_register(struct srv_request *rq, json_t **ret)
{
	json_t *kernels;
	json_error_t e;
	int boot = 0, r;

	if (json_unpack_ex(rq->body, &e, JSON_STRICT, "{s:o s?b}", "kernels", &kernels, "boot_test",
			   &boot) < 0)
		return srv_error(ret, 400, "%s", e.text);
	r = srv_builder_register(rq->w->state, &rq->actor, kernels, boot, ret);
	return r < 0 ? wf_error(ret, r, "registering the builder") : 200;
}

unsigned srv_h_job_lease(struct srv_request *rq, json_t **ret)
{
	json_t *kernels, *job = NULL;
	json_error_t e;
	int r;

	if (json_unpack_ex(rq->body, &e, JSON_STRICT, "{s:o}", "kernels", &kernels) < 0)
		return srv_error(ret, 400, "%s", e.text);
	r = srv_job_lease(rq->w->state, &rq->actor, kernels, &rq->ctx->wf, &job);
	if (r < 0)
		return wf_error(ret, r, "leasing a job");
	*ret = json_pack("{s:o s:i}", "job", job ? job : json_null(), "lease_seconds",
			 (int)rq->ctx->wf.lease_seconds);
	return 200;
}

unsigned srv_h_job_renew(struct srv_request *rq, json_t **ret)
{
	json_error_t e;
	int64_t id;
	int r;

	ID_OR_404(rq, ret, id);
	if (json_unpack_ex(rq->body, &e, JSON_STRICT, "{}") < 0)
		return srv_error(ret, 400, "%s", e.text);
	r = srv_job_renew(rq->w->state, &rq->actor, id, &rq->ctx->wf, ret);
	return r < 0 ? wf_error(ret, r, "renewing the lease") : 200;
}

unsigned srv_h_job_result(struct srv_request *rq, json_t **ret)
{
	struct srv_job_result res = {};
	_cleanup_free_ unsigned char *ko = NULL;
	const char *b64 = NULL;
	json_error_t e;
	int64_t id;
	int r;

	ID_OR_404(rq, ret, id);
	if (json_unpack_ex(rq->body, &e, JSON_STRICT, "{s:s s?s s?s s?s s?s s?o s?s s?s}", "build",
			   &res.build, "boot", &res.boot, "error", &res.error, "module_name",
			   &res.module_name, "module", &b64, "report", &res.report, "log", &res.log,
			   "boot_log", &res.boot_log) < 0)
		return srv_error(ret, 400, "%s", e.text);
	if (res.report && !json_is_object(res.report))
		return srv_error(ret, 400, "report: lp_build's JSON report (an object)");
	if (b64) {
		size_t cap = strlen(b64) / 4 * 3 + 3;

		ko = malloc(cap);
		if (!ko)
			return srv_error(ret, 500, "out of memory");
		if (sodium_base642bin(ko, cap, b64, strlen(b64), NULL, &res.module_len, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0)
			return srv_error(ret, 400, "module: base64 of the .ko");
		res.module = ko;
	}
	r = srv_job_finish(rq->w->state, &rq->actor, id, &res, &rq->ctx->wf, ret);
	return r < 0 ? wf_error(ret, r, "recording the result") : 200;
}

unsigned srv_h_build_request(struct srv_request *rq, json_t **ret)
{
	const char *kernel, *config, *symbols = NULL;
	json_t *patches;
	json_error_t e;
	int r;

	if (json_unpack_ex(rq->body, &e, JSON_STRICT, "{s:s s:s s?s s:o}", "kernel", &kernel,
			   "config", &config, "symbols", &symbols, "patches", &patches) < 0)
		return srv_error(ret, 400, "%s", e.text);
	r = srv_job_adhoc(rq->w->state, &rq->actor, kernel, config, symbols, patches, &rq->ctx->wf,
			  ret);
	return r < 0 ? wf_error(ret, r, "queueing the build") : 201;
}
