/*
 * The review workflow (patch, revisions, reviews, publications) and the builders' job queue,
 * in the server's state database. Every change and its audit record commit together.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "archive/modinfo.h"
#include "fileio.h"
#include "log.h"
#include "server/auth.h"
#include "server/state.h"
#include "server/workflow.h"
#include "strbuf.h"
#include "banned.h"

static bool endswith(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && streq(s + n - m, suffix);
}

static const char *const patch_states[_SRV_PATCH_STATE_MAX] = {
	[SRV_PATCH_DRAFT] = "draft",	     [SRV_PATCH_SUBMITTED] = "submitted",
	[SRV_PATCH_BUILT] = "built",	     [SRV_PATCH_FAILED] = "failed",
	[SRV_PATCH_APPROVED] = "approved",   [SRV_PATCH_REJECTED] = "rejected",
	[SRV_PATCH_PUBLISHED] = "published", [SRV_PATCH_WITHDRAWN] = "withdrawn",
};

static const char *const job_states[_SRV_JOB_STATE_MAX] = {
	[SRV_JOB_QUEUED] = "queued", [SRV_JOB_RUNNING] = "running",	[SRV_JOB_DONE] = "done",
	[SRV_JOB_FAILED] = "failed", [SRV_JOB_CANCELLED] = "cancelled",
};

const char *srv_patch_state_to_string(enum srv_patch_state s)
{
	return (unsigned)s < _SRV_PATCH_STATE_MAX ? patch_states[s] : NULL;
}

const char *srv_job_state_to_string(enum srv_job_state s)
{
	return (unsigned)s < _SRV_JOB_STATE_MAX ? job_states[s] : NULL;
}

bool srv_release_valid(const char *s)
{
	size_t n = strlen(s);

	return n && n <= 128 && s[0] != '.' && s[0] != '-' &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+_-~") ==
		       n;
}

bool srv_channel_valid(const char *s)
{
	size_t n = strlen(s);

	return n && n <= 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n &&
	       s[0] != '-';
}

static void sha256_hex(const void *data, size_t len, char ret[static 65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(ret, 65, h, sizeof(h));
}

/* Steps a statement that returns no row. */
static int audit(struct srv_state *st, const struct srv_actor *by, const char *action, int64_t id,
		 json_t *detail)
{
	char object[32];
	int r;

	snprintf(object, sizeof(object), "%lld", (long long)id);
	r = srv_audit_append(st, by, action, object, detail);
	json_decref(detail);
	return r;
}

static void iso_or_null(json_t *o, const char *key, struct srv_stmt *s, int i)
{
	char t[32];

	if (srv_column_is_null(s, i)) {
		json_object_set_new(o, key, json_null());
		return;
	}
	srv_time_iso(srv_column_int64(s, i), t);
	json_object_set_new(o, key, json_string(t));
}

/* ---- patches ---- */

struct patch_row {
	int64_t id;
	enum srv_patch_state state;
	int rev;
	char author[SRV_NAME_MAX + 1];
	char cve[32];
};

static int patch_get(struct srv_state *st, int64_t id, struct patch_row *ret)
{
	struct srv_stmt *s;
	int r;

	r = srv_state_prepare(st, "SELECT state, revision, author, cve FROM patch WHERE id = ?1",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	r = srv_step(s);
	if (r != SRV_ROW) {
		srv_reset(s);
		if (r != SRV_DONE)
			return srv_state_error(st, "reading a patch");
		log_error("no patch %lld", (long long)id);
		return -ENOENT;
	}
	*ret = (struct patch_row){.id = id, .state = _SRV_PATCH_STATE_MAX};
	for (unsigned i = 0; i < _SRV_PATCH_STATE_MAX; i++)
		if (streq(srv_column_text(s, 0), patch_states[i]))
			ret->state = i;
	ret->rev = srv_column_int(s, 1);
	snprintf(ret->author, sizeof(ret->author), "%s", srv_column_text(s, 2));
	snprintf(ret->cve, sizeof(ret->cve), "%s", srv_column_text(s, 3));
	srv_reset(s);
	return 0;
}

static int patch_set_state(struct srv_state *st, int64_t id, enum srv_patch_state to)
{
	struct srv_stmt *s;
	int r;

	r = srv_state_prepare(st, "UPDATE patch SET state = ?2, updated_at = ?3 WHERE id = ?1", &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	srv_bind_text(s, 2, patch_states[to]);
	srv_bind_int64(s, 3, (int64_t)time(NULL));
	return srv_exec(st, s, "changing a patch's state");
}

static int revision_insert(struct srv_state *st, const struct srv_actor *by, int64_t id, int rev,
			   const char *text, const char *note, char sha[static 65])
{
	struct srv_stmt *s;
	int r;

	sha256_hex(text, strlen(text), sha);
	r = srv_state_prepare(st,
			      "INSERT INTO patch_revision(patch, rev, author, created_at, sha256, "
			      "body, note, author_person) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	srv_bind_int(s, 2, rev);
	srv_bind_text(s, 3, by->name);
	srv_bind_int64(s, 4, (int64_t)time(NULL));
	srv_bind_text(s, 5, sha);
	srv_bind_text(s, 6, text);
	srv_bind_text(s, 7, note);
	srv_bind_text(s, 8, srv_actor_person(by));
	return srv_exec(st, s, "recording a revision");
}

static int text_check(const char *text)
{
	if (!*text || strlen(text) > SRV_PATCH_TEXT_MAX || !strstr(text, "+++ ") ||
	    !strstr(text, "--- "))
		return log_error_errno(-EINVAL, "patch: a unified diff of at most %d bytes",
				       SRV_PATCH_TEXT_MAX);
	return 0;
}

int srv_patch_create(struct srv_state *st, const struct srv_actor *by, const char *cve,
		     const char *title, json_t *kernels, const char *text, const char *note,
		     json_t **ret)
{
	_cleanup_free_ char *kj = NULL;
	char sha[65];
	struct srv_stmt *s;
	json_t *k;
	size_t i;
	int64_t id, now = time(NULL);
	int r;

	if (!json_is_array(kernels) || !json_array_size(kernels) ||
	    json_array_size(kernels) > SRV_PATCH_KERNELS_MAX)
		return log_error_errno(-EINVAL, "kernels: an array of 1-%d kernel releases",
				       SRV_PATCH_KERNELS_MAX);
	json_array_foreach(kernels, i, k)
	{
		if (!json_is_string(k) || !srv_release_valid(json_string_value(k)))
			return log_error_errno(-EINVAL, "kernels: '%s' is not a kernel release",
					       json_is_string(k) ? json_string_value(k) : "?");
	}
	if (title && strlen(title) > 256)
		return log_error_errno(-EINVAL, "title: at most 256 characters");
	if (note && strlen(note) > SRV_COMMENT_MAX)
		return log_error_errno(-EINVAL, "note: at most %d characters", SRV_COMMENT_MAX);
	r = text_check(text);
	if (r < 0)
		return r;
	kj = json_dumps(kernels, JSON_COMPACT);
	if (!kj)
		return -ENOMEM;
	r = srv_state_begin(st);
	if (r < 0)
		return r;
	r = srv_state_prepare(st,
			      "INSERT INTO patch(cve, title, kernels, state, author, revision, "
			      "created_at, updated_at) VALUES (?1, ?2, ?3, 'draft', ?4, 1, ?5, ?5) "
			      "RETURNING id",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_text(s, 1, cve);
	srv_bind_text(s, 2, title);
	srv_bind_text(s, 3, kj);
	srv_bind_text(s, 4, by->name);
	srv_bind_int64(s, 5, now);
	r = srv_exec_insert(st, s, "creating a patch", &id);
	if (r < 0)
		goto rollback;
	r = revision_insert(st, by, id, 1, text, note, sha);
	if (r < 0)
		goto rollback;
	r = audit(st, by, "patch.create", id,
		  json_pack("{s:s s:O s:i s:s}", "cve", cve, "kernels", kernels, "revision", 1,
			    "sha256", sha));
	if (r < 0)
		goto rollback;
	r = srv_state_commit(st);
	if (r < 0)
		return r;
	return ret ? srv_patch_show(st, id, NULL, ret) : 0;
rollback:
	srv_state_rollback(st);
	return r;
}

/* Cancels the patch's jobs that have not finished: an older revision's, or a patch rejected or
 * withdrawn, whose modules no one will publish. */
static int jobs_cancel(struct srv_state *st, int64_t id)
{
	struct srv_stmt *s;
	int r;

	r = srv_state_prepare(st,
			      "UPDATE job SET state = 'cancelled', finished_at = ?2, lease_owner = "
			      "NULL WHERE patch = ?1 AND state IN ('queued', 'running')",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	srv_bind_int64(s, 2, (int64_t)time(NULL));
	return srv_exec(st, s, "cancelling jobs");
}

int srv_patch_revise(struct srv_state *st, const struct srv_actor *by, int64_t id, const char *text,
		     const char *note, json_t **ret)
{
	struct patch_row p;
	struct srv_stmt *s;
	char sha[65];
	int r;

	if (note && strlen(note) > SRV_COMMENT_MAX)
		return log_error_errno(-EINVAL, "note: at most %d characters", SRV_COMMENT_MAX);
	r = text_check(text);
	if (r < 0)
		return r;
	r = srv_state_begin(st);
	if (r < 0)
		return r;
	r = patch_get(st, id, &p);
	if (r < 0)
		goto rollback;
	if (p.state == SRV_PATCH_PUBLISHED) {
		r = log_error_errno(-EALREADY,
				    "patch %lld is published: withdraw it before a new revision",
				    (long long)id);
		goto rollback;
	}
	r = revision_insert(st, by, id, p.rev + 1, text, note, sha);
	if (r < 0)
		goto rollback;
	r = jobs_cancel(st, id);
	if (r < 0)
		goto rollback;
	r = srv_state_prepare(st,
			      "UPDATE patch SET revision = ?2, state = 'draft', updated_at = ?3 "
			      "WHERE id = ?1",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_int64(s, 1, id);
	srv_bind_int(s, 2, p.rev + 1);
	srv_bind_int64(s, 3, (int64_t)time(NULL));
	r = srv_exec(st, s, "revising a patch");
	if (r < 0)
		goto rollback;
	r = audit(st, by, "patch.revise", id,
		  json_pack("{s:i s:s s:s}", "revision", p.rev + 1, "sha256", sha, "from",
			    patch_states[p.state]));
	if (r < 0)
		goto rollback;
	r = srv_state_commit(st);
	if (r < 0)
		return r;
	return ret ? srv_patch_show(st, id, NULL, ret) : 0;
rollback:
	srv_state_rollback(st);
	return r;
}

int srv_patch_submit(struct srv_state *st, const struct srv_actor *by, int64_t id,
		     const struct srv_wf_config *wf, json_t **ret)
{
	_cleanup_(srv_json_unrefp) json_t *kernels = NULL;
	json_t *jobs, *k;
	struct patch_row p;
	struct srv_stmt *s;
	size_t i;
	int r;

	r = srv_state_begin(st);
	if (r < 0)
		return r;
	r = patch_get(st, id, &p);
	if (r < 0)
		goto rollback;
	if (p.state != SRV_PATCH_DRAFT) {
		r = log_error_errno(-EALREADY,
				    "patch %lld is %s: only a draft is submitted (a new revision "
				    "makes one)",
				    (long long)id, patch_states[p.state]);
		goto rollback;
	}
	r = srv_state_prepare(st, "SELECT kernels FROM patch WHERE id = ?1", &s);
	if (r < 0)
		goto rollback;
	srv_bind_int64(s, 1, id);
	if (srv_step(s) == SRV_ROW)
		kernels = json_loads(srv_column_text(s, 0), 0, NULL);
	srv_reset(s);
	jobs = json_array();
	if (!kernels || !jobs) {
		json_decref(jobs);
		r = -ENOMEM;
		goto rollback;
	}
	json_array_foreach(kernels, i, k)
	{
		int64_t job = 0;

		r = srv_state_prepare(st,
				      "INSERT INTO job(kind, patch, rev, kernel, state, "
				      "requested_by, created_at) VALUES ('build', ?1, ?2, ?3, "
				      "'queued', ?4, ?5) RETURNING id",
				      &s);
		if (r < 0)
			break;
		srv_bind_int64(s, 1, id);
		srv_bind_int(s, 2, p.rev);
		srv_bind_text(s, 3, json_string_value(k));
		srv_bind_text(s, 4, by->name);
		srv_bind_int64(s, 5, (int64_t)time(NULL));
		r = srv_exec_insert(st, s, "queueing a build job", &job);
		if (r < 0)
			break;
		json_array_append_new(jobs, json_integer(job));
	}
	if (r == 0)
		r = patch_set_state(st, id, SRV_PATCH_SUBMITTED);
	if (r == 0)
		r = audit(st, by, "patch.submit", id,
			  json_pack("{s:i s:O}", "revision", p.rev, "jobs", jobs));
	json_decref(jobs);
	if (r < 0)
		goto rollback;
	r = srv_state_commit(st);
	if (r < 0)
		return r;
	return ret ? srv_patch_show(st, id, wf, ret) : 0;
rollback:
	srv_state_rollback(st);
	return r;
}

#define PATCH_COLUMNS "id, cve, title, kernels, state, author, revision, created_at, updated_at"

static json_t *patch_json(struct srv_stmt *s)
{
	const char *k = srv_column_text(s, 3);
	json_t *kernels = k ? json_loads(k, 0, NULL) : NULL;
	json_t *o = json_pack("{s:o s:o s:o s:o s:o s:o s:o}", "id", srv_column_json(s, 0), "cve",
			      srv_column_json(s, 1), "title", srv_column_json(s, 2), "kernels",
			      kernels ? kernels : json_array(), "state", srv_column_json(s, 4),
			      "author", srv_column_json(s, 5), "revision", srv_column_json(s, 6));

	if (o) {
		iso_or_null(o, "created_at", s, 7);
		iso_or_null(o, "updated_at", s, 8);
	}
	return o;
}

static json_t *first_column_json(struct srv_stmt *s)
{
	return srv_column_json(s, 0);
}

/* Appends FN(row) to ARR for every row of S; CONTEXT names the query in an error. */
static int rows(struct srv_state *st, struct srv_stmt *s, json_t *(*fn)(struct srv_stmt *),
		json_t *arr, const char *context)
{
	int r;

	while ((r = srv_step(s)) == SRV_ROW)
		json_array_append_new(arr, fn(s));
	srv_reset(s);
	return r == SRV_DONE ? 0 : srv_state_error(st, context);
}

int srv_patch_list(struct srv_state *st, const char *state, json_t **ret)
{
	struct srv_stmt *s;
	json_t *arr;
	int r;

	r = srv_state_prepare(st,
			      "SELECT " PATCH_COLUMNS " FROM patch "
			      "WHERE CAST(?1 AS TEXT) IS NULL OR state = ?1 ORDER BY id DESC",
			      &s);
	if (r < 0)
		return r;
	srv_bind_text(s, 1, state);
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	r = rows(st, s, patch_json, arr, "listing patches");
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

#define JOB_COLUMNS                                                                                \
	"id, kind, patch, rev, kernel, state, requested_by, lease_owner, attempts, build, boot, "  \
	"module_name, module_sha256, error, lease_expires, created_at, started_at, finished_at"

static json_t *job_json(struct srv_stmt *s)
{
	static const char *const keys[] = {
		"id",	 "kind",	 "patch",	  "rev",      "kernel",
		"state", "requested_by", "lease_owner",	  "attempts", "build",
		"boot",	 "module_name",	 "module_sha256", "error",
	};
	static const char *const times[] = {"lease_expires", "created_at", "started_at",
					    "finished_at"};
	json_t *o = json_object();

	if (!o)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		json_object_set_new(o, keys[i], srv_column_json(s, (int)i));
	for (size_t i = 0; i < ARRAY_SIZE(times); i++)
		iso_or_null(o, times[i], s, (int)(ARRAY_SIZE(keys) + i));
	return o;
}

/* Appends to ARR the rows of statement S (already bound) through FN. */
static json_t *revision_json(struct srv_stmt *s)
{
	json_t *o = json_pack("{s:o s:o s:o s:o s:o}", "rev", srv_column_json(s, 0), "author",
			      srv_column_json(s, 1), "author_person", srv_column_json(s, 5),
			      "sha256", srv_column_json(s, 3), "note", srv_column_json(s, 4));

	if (o)
		iso_or_null(o, "created_at", s, 2);
	return o;
}

static json_t *review_json(struct srv_stmt *s)
{
	json_t *o = json_pack("{s:o s:o s:o s:o s:o s:o}", "id", srv_column_json(s, 0), "rev",
			      srv_column_json(s, 1), "reviewer", srv_column_json(s, 2),
			      "reviewer_person", srv_column_json(s, 6), "verdict",
			      srv_column_json(s, 3), "comment", srv_column_json(s, 4));

	if (o)
		iso_or_null(o, "at", s, 5);
	return o;
}

static json_t *publication_json(struct srv_stmt *s)
{
	const char *t = srv_column_text(s, 3);
	json_t *targets = t ? json_loads(t, 0, NULL) : NULL;
	json_t *o = json_pack("{s:o s:o s:o s:o s:o s:o}", "id", srv_column_json(s, 0), "rev",
			      srv_column_json(s, 1), "channel", srv_column_json(s, 2), "targets",
			      targets ? targets : json_array(), "published_by",
			      srv_column_json(s, 5), "withdrawn_by", srv_column_json(s, 7));

	if (o) {
		iso_or_null(o, "published_at", s, 4);
		iso_or_null(o, "withdrawn_at", s, 6);
	}
	return o;
}

/* The distinct approvers of revision REV. */
static int approvers(struct srv_state *st, int64_t id, int rev, json_t **ret)
{
	struct srv_stmt *s;
	json_t *arr = json_array();
	int r;

	if (!arr)
		return -ENOMEM;
	r = srv_state_prepare(st,
			      "SELECT DISTINCT coalesce(reviewer_person, reviewer) AS who FROM review "
			      "WHERE patch = ?1 AND rev = ?2 AND verdict = 'approve' ORDER BY who",
			      &s);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	srv_bind_int64(s, 1, id);
	srv_bind_int(s, 2, rev);
	r = rows(st, s, first_column_json, arr, "counting approvals");
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

int srv_patch_show(struct srv_state *st, int64_t id, const struct srv_wf_config *wf, json_t **ret)
{
	_cleanup_(srv_json_unrefp) json_t *o = NULL;
	json_t *arr, *by = NULL;
	struct srv_stmt *s;
	int rev, r;

	r = srv_state_prepare(st, "SELECT " PATCH_COLUMNS " FROM patch WHERE id = ?1", &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	r = srv_step(s);
	if (r != SRV_ROW) {
		srv_reset(s);
		if (r != SRV_DONE)
			return srv_state_error(st, "reading a patch");
		log_error("no patch %lld", (long long)id);
		return -ENOENT;
	}
	o = patch_json(s);
	rev = srv_column_int(s, 6);
	srv_reset(s);
	if (!o)
		return -ENOMEM;

	r = srv_state_prepare(st,
			      "SELECT rev, author, created_at, sha256, note, "
			      "coalesce(author_person, author) FROM patch_revision "
			      "WHERE patch = ?1 ORDER BY rev",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	json_object_set_new(o, "revisions", arr = json_array());
	r = rows(st, s, revision_json, arr, "reading revisions");
	if (r < 0)
		return r;

	r = approvers(st, id, rev, &by);
	if (r < 0)
		return r;
	json_object_set_new(o, "approvals",
			    json_pack("{s:i s:I s:i s:o}", "rev", rev, "count",
				      (json_int_t)json_array_size(by), "needed",
				      wf ? (int)wf->approvals : 2, "by", by));

	r = srv_state_prepare(st,
			      "SELECT id, rev, reviewer, verdict, comment, at, "
			      "coalesce(reviewer_person, reviewer) FROM review "
			      "WHERE patch = ?1 ORDER BY id",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	json_object_set_new(o, "reviews", arr = json_array());
	r = rows(st, s, review_json, arr, "reading reviews");
	if (r < 0)
		return r;

	r = srv_state_prepare(st, "SELECT " JOB_COLUMNS " FROM job WHERE patch = ?1 ORDER BY id",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	json_object_set_new(o, "jobs", arr = json_array());
	r = rows(st, s, job_json, arr, "reading jobs");
	if (r < 0)
		return r;

	r = srv_state_prepare(st,
			      "SELECT id, rev, channel, targets, published_at, published_by, "
			      "withdrawn_at, withdrawn_by FROM publication WHERE patch = ?1 "
			      "ORDER BY id",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	json_object_set_new(o, "publications", arr = json_array());
	r = rows(st, s, publication_json, arr, "reading publications");
	if (r < 0)
		return r;
	*ret = TAKE_PTR(o);
	return 0;
}

int srv_patch_text(struct srv_state *st, int64_t id, int rev, char **ret)
{
	struct srv_stmt *s;
	char *t;
	int r;

	r = srv_state_prepare(st,
			      "SELECT body FROM patch_revision WHERE patch = ?1 AND rev = "
			      "CASE WHEN ?2 > 0 THEN ?2 ELSE "
			      "(SELECT revision FROM patch WHERE id = ?1) END",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	srv_bind_int(s, 2, rev);
	r = srv_step(s);
	if (r != SRV_ROW) {
		srv_reset(s);
		if (r != SRV_DONE)
			return srv_state_error(st, "reading a revision");
		log_error("no revision %d of patch %lld", rev, (long long)id);
		return -ENOENT;
	}
	t = strdup(srv_column_text(s, 0));
	srv_reset(s);
	if (!t)
		return -ENOMEM;
	*ret = t;
	return 0;
}

/*
 * Moves a patch under review along what its current revision's jobs and approvals say:
 * submitted while a job is pending, failed when one failed, built, approved with enough
 * approvals. *RET_TO (may be NULL) gets the new state.
 */
static int patch_advance(struct srv_state *st, int64_t id, const struct srv_wf_config *wf,
			 enum srv_patch_state *ret_to)
{
	_cleanup_(srv_json_unrefp) json_t *by = NULL;
	struct patch_row p;
	enum srv_patch_state to;
	struct srv_stmt *s;
	int pending = 0, failed = 0, total = 0, r;

	r = patch_get(st, id, &p);
	if (r < 0)
		return r;
	if (ret_to)
		*ret_to = p.state;
	if (p.state != SRV_PATCH_SUBMITTED && p.state != SRV_PATCH_BUILT &&
	    p.state != SRV_PATCH_APPROVED && p.state != SRV_PATCH_FAILED)
		return 0;
	r = srv_state_prepare(
		st,
		"SELECT count(*), "
		"  coalesce(sum(CASE WHEN state IN ('queued', 'running') THEN 1 ELSE 0 END), 0), "
		"  coalesce(sum(CASE WHEN state = 'failed' OR (state = 'done' AND (build IS NULL "
		"      OR build <> 'written' OR boot = 'failed')) THEN 1 ELSE 0 END), 0) "
		"FROM job WHERE patch = ?1 AND rev = ?2 AND state != 'cancelled'",
		&s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	srv_bind_int(s, 2, p.rev);
	if (srv_step(s) == SRV_ROW) {
		total = srv_column_int(s, 0);
		pending = srv_column_int(s, 1);
		failed = srv_column_int(s, 2);
	}
	srv_reset(s);
	r = approvers(st, id, p.rev, &by);
	if (r < 0)
		return r;
	if (failed)
		to = SRV_PATCH_FAILED;
	else if (pending || !total)
		to = SRV_PATCH_SUBMITTED;
	else if (json_array_size(by) >= wf->approvals)
		to = SRV_PATCH_APPROVED;
	else
		to = SRV_PATCH_BUILT;
	if (ret_to)
		*ret_to = to;
	return to == p.state ? 0 : patch_set_state(st, id, to);
}

int srv_review_add(struct srv_state *st, const struct srv_actor *by, int64_t id,
		   const char *verdict, const char *comment, const struct srv_wf_config *wf,
		   json_t **ret)
{
	enum srv_patch_state to;
	struct patch_row p;
	struct srv_stmt *s;
	char rev_author[SRV_NAME_MAX + 1] = "";
	bool approve = streq(verdict, "approve"), reject = streq(verdict, "reject");
	int r;

	if (!approve && !reject && !streq(verdict, "comment"))
		return log_error_errno(-EINVAL, "verdict: comment, approve or reject");
	if (comment && strlen(comment) > SRV_COMMENT_MAX)
		return log_error_errno(-EINVAL, "comment: at most %d characters", SRV_COMMENT_MAX);
	if (!approve && (!comment || !*comment))
		return log_error_errno(-EINVAL, "a %s needs a comment", verdict);
	r = srv_state_begin(st);
	if (r < 0)
		return r;
	r = patch_get(st, id, &p);
	if (r < 0)
		goto rollback;
	if ((approve || reject) && p.state != SRV_PATCH_SUBMITTED && p.state != SRV_PATCH_BUILT &&
	    p.state != SRV_PATCH_APPROVED) {
		r = log_error_errno(-EALREADY, "patch %lld is %s: there is nothing to %s",
				    (long long)id, patch_states[p.state], verdict);
		goto rollback;
	}
	r = srv_state_prepare(st,
			      "SELECT coalesce(author_person, author) FROM patch_revision "
			      "WHERE patch = ?1 AND rev = ?2",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_int64(s, 1, id);
	srv_bind_int(s, 2, p.rev);
	if (srv_step(s) == SRV_ROW)
		snprintf(rev_author, sizeof(rev_author), "%s", srv_column_text(s, 0));
	srv_reset(s);
	/* Persons, not token names: one person may hold an author and a reviewer token. */
	if (approve && streq(rev_author, srv_actor_person(by))) {
		r = log_error_errno(-EPERM,
				    "'%s' wrote revision %d of patch %lld and cannot approve it "
				    "(two-person rule)",
				    srv_actor_person(by), p.rev, (long long)id);
		goto rollback;
	}
	r = srv_state_prepare(st,
			      "INSERT INTO review(patch, rev, reviewer, verdict, comment, at, "
			      "reviewer_person) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_int64(s, 1, id);
	srv_bind_int(s, 2, p.rev);
	srv_bind_text(s, 3, by->name);
	srv_bind_text(s, 4, verdict);
	srv_bind_text(s, 5, comment);
	srv_bind_int64(s, 6, (int64_t)time(NULL));
	srv_bind_text(s, 7, srv_actor_person(by));
	r = srv_step(s);
	srv_reset(s);
	if (r != SRV_DONE) {
		if (approve)
			r = log_error_errno(-EEXIST,
					    "'%s' approved revision %d of patch %lld already",
					    srv_actor_person(by), p.rev, (long long)id);
		else
			r = srv_state_error(st, "recording a review");
		goto rollback;
	}
	r = 0;
	to = p.state;
	if (reject) {
		to = SRV_PATCH_REJECTED;
		r = patch_set_state(st, id, to);
		if (r == 0)
			r = jobs_cancel(st, id);
	} else if (approve) {
		r = patch_advance(st, id, wf, &to);
	}
	if (r < 0)
		goto rollback;
	r = audit(st, by,
		  approve  ? "review.approve"
		  : reject ? "review.reject"
			   : "review.comment",
		  id,
		  json_pack("{s:i s:s s:s}", "revision", p.rev, "from", patch_states[p.state], "to",
			    patch_states[to]));
	if (r < 0)
		goto rollback;
	r = srv_state_commit(st);
	if (r < 0)
		return r;
	return ret ? srv_patch_show(st, id, wf, ret) : 0;
rollback:
	srv_state_rollback(st);
	return r;
}

/* ---- publishing ---- */

int srv_patch_publish_plan(struct srv_state *st, int64_t id, const char *channel,
			   const struct srv_wf_config *wf, json_t **ret)
{
	_cleanup_(srv_json_unrefp) json_t *plan = NULL, *by = NULL;
	json_t *mods;
	struct patch_row p;
	struct srv_stmt *s;
	char sha[65] = "";
	int r;

	r = patch_get(st, id, &p);
	if (r < 0)
		return r;
	if (p.state != SRV_PATCH_APPROVED && p.state != SRV_PATCH_PUBLISHED)
		return log_error_errno(-EALREADY,
				       "patch %lld is %s: only an approved patch is published",
				       (long long)id, patch_states[p.state]);
	r = srv_state_prepare(st,
			      "SELECT count(*) FROM publication WHERE patch = ?1 AND rev = ?2 AND "
			      "channel = ?3 AND withdrawn_at IS NULL",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	srv_bind_int(s, 2, p.rev);
	srv_bind_text(s, 3, channel);
	r = srv_step(s) == SRV_ROW ? srv_column_int(s, 0) : 0;
	srv_reset(s);
	if (r > 0)
		return log_error_errno(-EALREADY, "patch %lld is published on '%s' already",
				       (long long)id, channel);
	r = srv_state_prepare(st, "SELECT sha256 FROM patch_revision WHERE patch = ?1 AND rev = ?2",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	srv_bind_int(s, 2, p.rev);
	if (srv_step(s) == SRV_ROW)
		snprintf(sha, sizeof(sha), "%s", srv_column_text(s, 0));
	srv_reset(s);
	r = approvers(st, id, p.rev, &by);
	if (r < 0)
		return r;
	if (json_array_size(by) < wf->approvals)
		return log_error_errno(-EALREADY,
				       "revision %d of patch %lld has %zu of %u approvals", p.rev,
				       (long long)id, json_array_size(by), wf->approvals);
	mods = json_array();
	plan = json_pack("{s:i s:s s:s s:O s:o}", "rev", p.rev, "cve", p.cve, "sha256", sha,
			 "approved_by", by, "modules", mods);
	if (!plan)
		return -ENOMEM;
	r = srv_state_prepare(st,
			      "SELECT id, kernel, state, build, boot, module_name FROM job "
			      "WHERE patch = ?1 AND rev = ?2 AND state != 'cancelled' ORDER BY id",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	srv_bind_int(s, 2, p.rev);
	r = 0;
	while (r == 0 && srv_step(s) == SRV_ROW) {
		int64_t job = srv_column_int64(s, 0);
		const char *kernel = srv_column_text(s, 1);
		const char *state = srv_column_text(s, 2);
		const char *build = srv_column_text(s, 3);
		const char *boot = srv_column_text(s, 4);
		const char *name = srv_column_text(s, 5);
		_cleanup_free_ char *path = NULL;

		if (!streq(state, "done") || !build || !streq(build, "written") || !name)
			r = log_error_errno(-EALREADY, "job %lld (%s) did not build a module",
					    (long long)job, kernel);
		else if (!boot || streq(boot, "failed") ||
			 (streq(boot, "skipped") && !wf->allow_untested))
			r = log_error_errno(-EALREADY,
					    "job %lld (%s): the module's boot test %s (this server "
					    "publishes only tested modules)",
					    (long long)job, kernel, boot ? boot : "did not run");
		else if (!(path = strdup_printf("%s/jobs/%lld/%s", wf->artifact_dir, (long long)job,
						name)))
			r = -ENOMEM;
		else
			json_array_append_new(mods,
					      json_pack("{s:I s:s s:s}", "job", (json_int_t)job,
							"kernel", kernel, "path", path));
	}
	srv_reset(s);
	if (r < 0)
		return r;
	if (!json_array_size(mods))
		return log_error_errno(-EALREADY, "patch %lld has no module to publish",
				       (long long)id);
	*ret = TAKE_PTR(plan);
	return 0;
}

/* ---- archive changes in flight ---- */

int srv_archive_intent_begin(struct srv_state *st, const struct srv_actor *by, const char *action,
			     int64_t patch, json_t *body, int64_t *ret_id)
{
	_cleanup_free_ char *bj = json_dumps(body, JSON_COMPACT);
	struct srv_stmt *s;
	int r;

	if (!bj)
		return -ENOMEM;
	r = srv_state_prepare(
		st,
		"INSERT INTO archive_intent(action, patch, body, actor, role, token_id, "
		"remote, person, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
		"RETURNING id",
		&s);
	if (r < 0)
		return r;
	srv_bind_text(s, 1, action);
	srv_bind_int64(s, 2, patch);
	srv_bind_text(s, 3, bj);
	srv_bind_actor(s, 4, by);
	srv_bind_int64(s, 9, (int64_t)time(NULL));
	return srv_exec_insert(st, s, "recording an archive change", ret_id);
}

static int intent_delete(struct srv_state *st, int64_t id)
{
	struct srv_stmt *s;
	int r;

	r = srv_state_prepare(st, "DELETE FROM archive_intent WHERE id = ?1", &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	return srv_exec(st, s, "dropping an archive change");
}

int srv_archive_intent_drop(struct srv_state *st, int64_t id)
{
	return intent_delete(st, id);
}

static json_t *intent_json(struct srv_stmt *s)
{
	const char *body = srv_column_text(s, 3);

	return json_pack("{s:I s:o s:I s:o s:{s:o s:o s:o s:o s:o}}", "id",
			 (json_int_t)srv_column_int64(s, 0), "action", srv_column_json(s, 1),
			 "patch", (json_int_t)srv_column_int64(s, 2), "body",
			 body ? json_loads(body, 0, NULL) : json_null(), "actor", "name",
			 srv_column_json(s, 4), "role", srv_column_json(s, 5), "token_id",
			 srv_column_json(s, 6), "remote", srv_column_json(s, 7), "person",
			 srv_column_json(s, 8));
}

int srv_archive_intent_list(struct srv_state *st, json_t **ret)
{
	struct srv_stmt *s;
	json_t *arr;
	int r;

	r = srv_state_prepare(
		st,
		"SELECT id, action, patch, body, actor, role, token_id, remote, person "
		"FROM archive_intent ORDER BY id",
		&s);
	if (r < 0)
		return r;
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	r = rows(st, s, intent_json, arr, "reading archive changes");
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

int srv_patch_publish_record(struct srv_state *st, const struct srv_actor *by, int64_t id, int rev,
			     const char *channel, json_t *targets, int64_t intent, bool recovered,
			     json_t **ret)
{
	_cleanup_free_ char *tj = json_dumps(targets, JSON_COMPACT);
	struct srv_stmt *s;
	int r;

	if (!tj)
		return -ENOMEM;
	r = srv_state_begin(st);
	if (r < 0)
		return r;
	r = srv_state_prepare(st,
			      "INSERT INTO publication(patch, rev, channel, targets, published_at, "
			      "published_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_int64(s, 1, id);
	srv_bind_int(s, 2, rev);
	srv_bind_text(s, 3, channel);
	srv_bind_text(s, 4, tj);
	srv_bind_int64(s, 5, (int64_t)time(NULL));
	srv_bind_text(s, 6, by->name);
	r = srv_exec(st, s, "recording a publication");
	if (r == 0)
		r = patch_set_state(st, id, SRV_PATCH_PUBLISHED);
	if (r == 0 && intent)
		r = intent_delete(st, intent);
	if (r == 0)
		r = audit(st, by, "patch.publish", id,
			  json_pack("{s:i s:s s:O s:b}", "revision", rev, "channel", channel,
				    "targets", targets, "completed_at_restart", recovered));
	if (r < 0)
		goto rollback;
	r = srv_state_commit(st);
	if (r < 0)
		return r;
	return ret ? srv_patch_show(st, id, NULL, ret) : 0;
rollback:
	srv_state_rollback(st);
	return r;
}

int srv_patch_publications(struct srv_state *st, int64_t id, const char *channel, json_t **ret)
{
	struct srv_stmt *s;
	json_t *arr;
	int r;

	r = srv_state_prepare(st,
			      "SELECT id, rev, channel, targets, published_at, published_by, "
			      "withdrawn_at, withdrawn_by FROM publication WHERE patch = ?1 AND "
			      "withdrawn_at IS NULL AND (CAST(?2 AS TEXT) IS NULL OR channel = ?2) "
			      "ORDER BY id",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	srv_bind_text(s, 2, channel);
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	r = rows(st, s, publication_json, arr, "reading publications");
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

int srv_patch_withdraw_record(struct srv_state *st, const struct srv_actor *by, int64_t id,
			      json_t *publications, const char *reason, int64_t intent,
			      bool recovered, json_t **ret)
{
	struct srv_stmt *s;
	json_t *pub;
	size_t i;
	int left = 0, r;

	r = srv_state_begin(st);
	if (r < 0)
		return r;
	json_array_foreach(publications, i, pub)
	{
		r = srv_state_prepare(st,
				      "UPDATE publication SET withdrawn_at = ?2, withdrawn_by = ?3 "
				      "WHERE id = ?1",
				      &s);
		if (r < 0)
			goto rollback;
		srv_bind_int64(s, 1, json_integer_value(json_object_get(pub, "id")));
		srv_bind_int64(s, 2, (int64_t)time(NULL));
		srv_bind_text(s, 3, by->name);
		r = srv_exec(st, s, "withdrawing a publication");
		if (r < 0)
			goto rollback;
	}
	r = srv_state_prepare(st,
			      "SELECT count(*) FROM publication WHERE patch = ?1 AND withdrawn_at "
			      "IS NULL",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_int64(s, 1, id);
	if (srv_step(s) == SRV_ROW)
		left = srv_column_int(s, 0);
	srv_reset(s);
	if (!left) {
		r = patch_set_state(st, id, SRV_PATCH_WITHDRAWN);
		if (r == 0)
			r = jobs_cancel(st, id);
		if (r < 0)
			goto rollback;
	}
	if (intent) {
		r = intent_delete(st, intent);
		if (r < 0)
			goto rollback;
	}
	r = audit(st, by, "patch.withdraw", id,
		  json_pack("{s:O s:s* s:b}", "publications", publications, "reason", reason,
			    "completed_at_restart", recovered));
	if (r < 0)
		goto rollback;
	r = srv_state_commit(st);
	if (r < 0)
		return r;
	return ret ? srv_patch_show(st, id, NULL, ret) : 0;
rollback:
	srv_state_rollback(st);
	return r;
}

/* ---- builders and jobs ---- */

static int kernels_check(json_t *kernels)
{
	json_t *k;
	size_t i;

	if (!json_is_array(kernels) || json_array_size(kernels) > SRV_PATCH_KERNELS_MAX)
		return log_error_errno(-EINVAL, "kernels: an array of at most %d kernel releases",
				       SRV_PATCH_KERNELS_MAX);
	json_array_foreach(kernels, i, k)
	{
		if (!json_is_string(k) || !srv_release_valid(json_string_value(k)))
			return log_error_errno(-EINVAL, "kernels: an array of kernel releases");
	}
	return 0;
}

int srv_builder_register(struct srv_state *st, const struct srv_actor *by, json_t *kernels,
			 bool boot_test, json_t **ret)
{
	_cleanup_free_ char *kj = NULL;
	struct srv_stmt *s;
	int64_t now = time(NULL);
	int r;

	r = kernels_check(kernels);
	if (r < 0)
		return r;
	kj = json_dumps(kernels, JSON_COMPACT);
	if (!kj)
		return -ENOMEM;
	r = srv_state_begin(st);
	if (r < 0)
		return r;
	r = srv_state_prepare(st,
			      "INSERT INTO builder(name, kernels, boot_test, registered_at, "
			      "last_seen) VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(name) DO UPDATE "
			      "SET kernels = excluded.kernels, boot_test = excluded.boot_test, "
			      "registered_at = excluded.registered_at, last_seen = "
			      "excluded.last_seen",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_text(s, 1, by->name);
	srv_bind_text(s, 2, kj);
	srv_bind_int(s, 3, boot_test);
	srv_bind_int64(s, 4, now);
	r = srv_exec(st, s, "registering a builder");
	if (r == 0) {
		json_t *d = json_pack("{s:O s:b}", "kernels", kernels, "boot_test", boot_test);

		r = d ? srv_audit_append(st, by, "builder.register", by->name, d) : -ENOMEM;
		json_decref(d);
	}
	if (r < 0)
		goto rollback;
	r = srv_state_commit(st);
	if (r < 0)
		return r;
	if (ret)
		*ret = json_pack("{s:s s:O s:b}", "builder", by->name, "kernels", kernels,
				 "boot_test", boot_test);
	return 0;
rollback:
	srv_state_rollback(st);
	return r;
}

static int job_dir(const struct srv_wf_config *wf, int64_t id, char **ret)
{
	char *d = strdup_printf("%s/jobs/%lld", wf->artifact_dir, (long long)id);
	int r;

	if (!d)
		return -ENOMEM;
	r = mkdir_p(d, 0700);
	if (r < 0) {
		log_error("cannot create '%s': %s", d, strerror(-r));
		free(d);
		return r;
	}
	*ret = d;
	return 0;
}

/* Adds to the leased job J what its builder needs: the patch texts, an ad hoc config. */
static int lease_inputs(struct srv_state *st, json_t *j, const char *input)
{
	json_t *patches = json_array();
	int r = 0;

	if (!patches || json_object_set_new(j, "patches", patches) < 0)
		return -ENOMEM;
	if (!input) {
		_cleanup_free_ char *text = NULL;

		r = srv_patch_text(st, json_integer_value(json_object_get(j, "patch")),
				   (int)json_integer_value(json_object_get(j, "rev")), &text);
		if (r == 0)
			json_array_append_new(patches, json_string(text));
		return r;
	}
	/* An ad hoc job's inputs are files the server wrote under its artifact directory. */
	_cleanup_(srv_json_unrefp) json_t *in = json_loads(input, 0, NULL);
	json_t *p;
	size_t i;
	static const char *const keys[] = {"config", "symbols"};

	if (!in)
		return -EIO;
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		const char *path = json_string_value(json_object_get(in, keys[k]));
		_cleanup_free_ char *buf = NULL;

		if (!path)
			continue;
		r = read_file_capped(path, 64 * 1024 * 1024, &buf, NULL);
		if (r < 0)
			return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
		json_object_set_new(j, keys[k], json_string(buf));
	}
	json_array_foreach(json_object_get(in, "patches"), i, p)
	{
		_cleanup_free_ char *buf = NULL;

		r = read_file_capped(json_string_value(p), SRV_PATCH_TEXT_MAX + 1, &buf, NULL);
		if (r < 0)
			return log_error_errno(r, "cannot read '%s': %s", json_string_value(p),
					       strerror(-r));
		json_array_append_new(patches, json_string(buf));
	}
	return 0;
}

int srv_job_lease(struct srv_state *st, const struct srv_actor *by, json_t *kernels,
		  const struct srv_wf_config *wf, json_t **ret)
{
	_cleanup_free_ char *input = NULL, *prev_owner = NULL;
	_cleanup_(srv_json_unrefp) json_t *j = NULL;
	struct srv_stmt *s;
	int64_t now = time(NULL), id = 0;
	json_t *k;
	size_t i;
	int r;

	r = kernels_check(kernels);
	if (r < 0)
		return r;
	r = srv_state_begin(st);
	if (r < 0)
		return r;
	/* A job whose builders keep dying under it is given up. */
	r = srv_state_prepare(st,
			      "UPDATE job SET state = 'failed', finished_at = ?1, lease_owner = "
			      "NULL, error = 'its lease lapsed ' || attempts || ' times' "
			      "WHERE state = 'running' AND lease_expires < ?1 AND attempts >= ?2",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_int64(s, 1, now);
	srv_bind_int(s, 2, SRV_JOB_MAX_ATTEMPTS);
	r = srv_exec(st, s, "expiring jobs");
	if (r < 0)
		goto rollback;
	/*
	 * The one statement that hands out work: queued, or running under a lapsed lease, and for
	 * an ad hoc build or the current revision of a patch still on its way to being built (a
	 * rejected, withdrawn or superseded patch's jobs are cancelled with it; this holds for
	 * any missed). Run once per kernel the builder takes (at most SRV_PATCH_KERNELS_MAX),
	 * each run looking only below the oldest job found so far: the oldest job of them all.
	 */
	json_array_foreach(kernels, i, k)
	{
		r = srv_state_prepare(
			st,
			"SELECT id, lease_owner FROM job WHERE (state = 'queued' OR "
			"(state = 'running' AND lease_expires < ?1)) AND kernel = ?2 AND "
			"(?3 = 0 OR id < ?3) AND (job.patch IS NULL OR EXISTS "
			"(SELECT 1 FROM patch WHERE patch.id = job.patch AND "
			"patch.revision = job.rev AND patch.state IN ('submitted', 'built', "
			"'failed', 'approved'))) ORDER BY id LIMIT 1",
			&s);
		if (r < 0)
			goto rollback;
		srv_bind_int64(s, 1, now);
		srv_bind_text(s, 2, json_string_value(k));
		srv_bind_int64(s, 3, id);
		r = srv_step(s);
		if (r == SRV_ROW) {
			id = srv_column_int64(s, 0);
			free(prev_owner);
			prev_owner =
				srv_column_is_null(s, 1) ? NULL : strdup(srv_column_text(s, 1));
		}
		srv_reset(s);
		if (r != SRV_ROW && r != SRV_DONE) {
			r = srv_state_error(st, "leasing a job");
			goto rollback;
		}
	}
	r = 0;
	if (!id) {
		srv_state_rollback(st);
		*ret = NULL;
		return 0;
	}
	r = srv_state_prepare(st,
			      "UPDATE job SET state = 'running', lease_owner = ?2, lease_expires = "
			      "?3, attempts = attempts + 1, started_at = ?4 WHERE id = ?1 "
			      "RETURNING " JOB_COLUMNS ", input",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_int64(s, 1, id);
	srv_bind_text(s, 2, by->name);
	srv_bind_int64(s, 3, now + wf->lease_seconds);
	srv_bind_int64(s, 4, now);
	if (srv_step(s) == SRV_ROW) {
		j = job_json(s);
		if (!srv_column_is_null(s, 18))
			input = strdup(srv_column_text(s, 18));
		srv_step(s);
	}
	srv_reset(s);
	if (!j) {
		r = srv_state_error(st, "leasing a job");
		goto rollback;
	}
	r = audit(st, by, "job.lease", id,
		  json_pack("{s:s s:s* s:O}", "kernel",
			    json_string_value(json_object_get(j, "kernel")), "requeued_from",
			    prev_owner, "attempts", json_object_get(j, "attempts")));
	if (r < 0)
		goto rollback;
	r = srv_state_commit(st);
	if (r < 0)
		return r;
	r = lease_inputs(st, j, input);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(j);
	return 0;
rollback:
	srv_state_rollback(st);
	return r;
}

/* Checks that job ID is running under BY's lease. */
static int job_owned(struct srv_state *st, const struct srv_actor *by, int64_t id,
		     int64_t *ret_patch, char **ret_kernel)
{
	struct srv_stmt *s;
	int r;

	r = srv_state_prepare(st, "SELECT state, lease_owner, patch, kernel FROM job WHERE id = ?1",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	r = srv_step(s);
	if (r != SRV_ROW) {
		srv_reset(s);
		if (r != SRV_DONE)
			return srv_state_error(st, "reading a job");
		log_error("no job %lld", (long long)id);
		return -ENOENT;
	}
	r = 0;
	if (!streq(srv_column_text(s, 0), "running") || srv_column_is_null(s, 1) ||
	    !streq(srv_column_text(s, 1), by->name))
		r = -ESTALE;
	if (ret_patch)
		*ret_patch = srv_column_int64(s, 2);
	if (r == 0 && ret_kernel) {
		*ret_kernel = strdup(srv_column_text(s, 3));
		if (!*ret_kernel)
			r = -ENOMEM;
	}
	srv_reset(s);
	if (r < 0)
		log_error("job %lld is not leased to '%s' (its lease lapsed and it went to another "
			  "builder, or it was cancelled)",
			  (long long)id, by->name);
	return r;
}

int srv_job_renew(struct srv_state *st, const struct srv_actor *by, int64_t id,
		  const struct srv_wf_config *wf, json_t **ret)
{
	struct srv_stmt *s;
	int64_t until = (int64_t)time(NULL) + wf->lease_seconds;
	char t[32];
	int r;

	r = srv_state_begin(st);
	if (r < 0)
		return r;
	r = job_owned(st, by, id, NULL, NULL);
	if (r == 0)
		r = srv_state_prepare(st, "UPDATE job SET lease_expires = ?2 WHERE id = ?1", &s);
	if (r == 0) {
		srv_bind_int64(s, 1, id);
		srv_bind_int64(s, 2, until);
		r = srv_exec(st, s, "renewing a lease");
	}
	if (r < 0) {
		srv_state_rollback(st);
		return r;
	}
	r = srv_state_commit(st);
	if (r < 0)
		return r;
	srv_time_iso(until, t);
	if (ret)
		*ret = json_pack("{s:I s:s}", "id", (json_int_t)id, "lease_expires", t);
	return 0;
}

static bool module_name_valid(const char *n)
{
	size_t len = strlen(n);

	return len > 3 && len <= 64 && endswith(n, ".ko") && n[0] != '.' &&
	       strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
		       len &&
	       !strstr(n, "..");
}

/*
 * A written build's module must be what its job was for, checked with the archive's own
 * reader before a byte is stored (else publish would refuse it later): a relocatable ELF
 * object with a .modinfo whose name is the file's (NAME.ko), marked livepatch=Y, with a
 * vermagic naming the job's kernel release.
 */
static int job_module_check(int64_t id, const struct srv_job_result *res, const char *kernel)
{
	_cleanup_free_ char *what = NULL, *copy = NULL, *rel = NULL, *stem = NULL;
	struct ar_modinfo mi = {};
	int r;

	what = strdup_printf("module '%s' of job %lld", res->module_name, (long long)id);
	stem = strndup(res->module_name, strlen(res->module_name) - 3);
	if (!what || !stem)
		return -ENOMEM;
	if (res->module_len > AR_KO_MAX)
		return log_error_errno(-EINVAL, "%s is larger than %u MiB", what, AR_KO_MAX >> 20);
	/* libelf may change the image it reads: the stored bytes are the uploaded ones. */
	copy = malloc(res->module_len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, res->module, res->module_len);
	r = ar_modinfo_parse(what, copy, res->module_len, &mi);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return -EINVAL; /* the reader named what is wrong */
	r = -EINVAL;
	if (!mi.livepatch)
		log_error("%s is not a livepatch module: .modinfo has no livepatch=Y", what);
	else if (!mi.name || !streq(mi.name, stem))
		log_error("%s: .modinfo names the module '%s', not '%s'", what, strempty(mi.name),
			  stem);
	else if (!mi.vermagic || !(rel = ar_vermagic_release(mi.vermagic)))
		log_error("%s has no vermagic in .modinfo: cannot tell which kernel it is for",
			  what);
	else if (!streq(rel, kernel))
		log_error("%s is built for kernel '%s' (vermagic '%s'), not the job's '%s'", what,
			  rel, mi.vermagic, kernel);
	else
		r = 0;
	ar_modinfo_release(&mi);
	return r;
}

/* Removes what an earlier result left in job directory DIR without its record committing (a
 * server killed between the files and the record): a result's files are all its own. */
static int artifacts_clear(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0
				       : log_error_errno(-errno, "cannot read '%s': %s", dir,
							 strerror(errno));
	while (r == 0 && (de = readdir(d))) {
		if (!endswith(de->d_name, ".ko") && !streq(de->d_name, "report.json") &&
		    !streq(de->d_name, "build.log") && !streq(de->d_name, "boot.log"))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			r = log_error_errno(-errno, "cannot remove '%s/%s': %s", dir, de->d_name,
					    strerror(errno));
	}
	closedir(d);
	return r;
}

static int artifact_write(const char *dir, const char *name, const void *data, size_t len)
{
	_cleanup_free_ char *p = strdup_printf("%s/%s", dir, name);
	int r;

	if (!p)
		return -ENOMEM;
	r = write_file_atomic(p, data, len, 0644);
	if (r < 0)
		log_error("cannot write '%s': %s", p, strerror(-r));
	return r;
}

int srv_job_finish(struct srv_state *st, const struct srv_actor *by, int64_t id,
		   const struct srv_job_result *res, const struct srv_wf_config *wf, json_t **ret)
{
	static const char *const builds[] = {"written", "unsafe", "nochange", "error"};
	_cleanup_free_ char *dir = NULL, *report = NULL, *kernel = NULL;
	enum srv_patch_state to = _SRV_PATCH_STATE_MAX;
	const char *boot = res->boot ? res->boot : "skipped";
	bool written = streq(res->build, "written"), known = false, ok;
	char sha[65] = "";
	struct srv_stmt *s;
	int64_t patch = 0;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(builds); i++)
		known |= streq(res->build, builds[i]);
	if (!known)
		return log_error_errno(-EINVAL, "build: written, unsafe, nochange or error");
	if (!streq(boot, "passed") && !streq(boot, "failed") && !streq(boot, "skipped"))
		return log_error_errno(-EINVAL, "boot: passed, failed or skipped");
	if (written && (!res->module_name || !module_name_valid(res->module_name) || !res->module ||
			!res->module_len))
		return log_error_errno(-EINVAL, "a written build needs module_name (NAME.ko, no "
						"path) and the module");
	if ((res->log && strlen(res->log) > SRV_JOB_LOG_MAX) ||
	    (res->boot_log && strlen(res->boot_log) > SRV_JOB_LOG_MAX) ||
	    (res->error && strlen(res->error) > SRV_COMMENT_MAX))
		return log_error_errno(-EINVAL, "log and boot_log: at most %d bytes, error %d",
				       SRV_JOB_LOG_MAX, SRV_COMMENT_MAX);
	/* Refuse a stale builder before writing a byte. */
	r = job_owned(st, by, id, NULL, &kernel);
	if (r < 0)
		return r;
	if (written) {
		r = job_module_check(id, res, kernel);
		if (r < 0)
			return r;
	}
	r = job_dir(wf, id, &dir);
	if (r == 0)
		r = artifacts_clear(dir);
	if (r < 0)
		return r;
	if (written) {
		sha256_hex(res->module, res->module_len, sha);
		r = artifact_write(dir, res->module_name, res->module, res->module_len);
		if (r < 0)
			return r;
	}
	if (res->report) {
		report = json_dumps(res->report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (!report)
			return -ENOMEM;
		r = artifact_write(dir, "report.json", report, strlen(report));
		if (r < 0)
			return r;
	}
	if (res->log && (r = artifact_write(dir, "build.log", res->log, strlen(res->log))) < 0)
		return r;
	if (res->boot_log &&
	    (r = artifact_write(dir, "boot.log", res->boot_log, strlen(res->boot_log))) < 0)
		return r;

	ok = written && !streq(boot, "failed");
	r = srv_state_begin(st);
	if (r < 0)
		return r;
	r = job_owned(st, by, id, &patch, NULL);
	if (r < 0)
		goto rollback;
	r = srv_state_prepare(
		st,
		"UPDATE job SET state = ?2, finished_at = ?3, build = ?4, boot = ?5, "
		"module_name = ?6, module_sha256 = ?7, error = ?8, lease_owner = NULL, "
		"lease_expires = NULL WHERE id = ?1",
		&s);
	if (r < 0)
		goto rollback;
	srv_bind_int64(s, 1, id);
	srv_bind_text(s, 2, ok ? "done" : "failed");
	srv_bind_int64(s, 3, (int64_t)time(NULL));
	srv_bind_text(s, 4, res->build);
	srv_bind_text(s, 5, boot);
	srv_bind_text(s, 6, written ? res->module_name : NULL);
	srv_bind_text(s, 7, written ? sha : NULL);
	srv_bind_text(s, 8, res->error);
	r = srv_exec(st, s, "finishing a job");
	if (r < 0)
		goto rollback;
	if (patch) {
		r = patch_advance(st, patch, wf, &to);
		if (r < 0)
			goto rollback;
	}
	r = audit(st, by, "job.finish", id,
		  json_pack("{s:s s:s s:s s:s* s:s*}", "state", ok ? "done" : "failed", "build",
			    res->build, "boot", boot, "module_sha256", written ? sha : NULL,
			    "patch_state", to < _SRV_PATCH_STATE_MAX ? patch_states[to] : NULL));
	if (r < 0)
		goto rollback;
	r = srv_state_commit(st);
	if (r < 0)
		return r;
	return ret ? srv_job_show(st, id, ret) : 0;
rollback:
	srv_state_rollback(st);
	return r;
}

int srv_job_show(struct srv_state *st, int64_t id, json_t **ret)
{
	struct srv_stmt *s;
	json_t *j;
	int r;

	r = srv_state_prepare(st, "SELECT " JOB_COLUMNS " FROM job WHERE id = ?1", &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	r = srv_step(s);
	if (r != SRV_ROW) {
		srv_reset(s);
		if (r != SRV_DONE)
			return srv_state_error(st, "reading a job");
		log_error("no job %lld", (long long)id);
		return -ENOENT;
	}
	j = job_json(s);
	srv_reset(s);
	if (!j)
		return -ENOMEM;
	*ret = j;
	return 0;
}

int srv_job_list(struct srv_state *st, const char *state, json_t **ret)
{
	struct srv_stmt *s;
	json_t *arr;
	int r;

	r = srv_state_prepare(
		st,
		"SELECT " JOB_COLUMNS " FROM job "
		"WHERE CAST(?1 AS TEXT) IS NULL OR state = ?1 ORDER BY id DESC LIMIT 1000",
		&s);
	if (r < 0)
		return r;
	srv_bind_text(s, 1, state);
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	r = rows(st, s, job_json, arr, "listing jobs");
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

int srv_job_artifact(struct srv_state *st, int64_t id, const char *what,
		     const struct srv_wf_config *wf, char **ret_path)
{
	_cleanup_free_ char *name = NULL;
	struct srv_stmt *s;
	char *p;
	int r;

	bool recorded = false;

	r = srv_state_prepare(st, "SELECT module_name, build IS NOT NULL FROM job WHERE id = ?1",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	r = srv_step(s);
	if (r == SRV_ROW && !srv_column_is_null(s, 0))
		name = strdup(srv_column_text(s, 0));
	if (r == SRV_ROW)
		recorded = srv_column_int(s, 1);
	srv_reset(s);
	if (r != SRV_ROW) {
		log_error("no job %lld", (long long)id);
		return -ENOENT;
	}
	/* Files of a result whose record never committed (a server killed between) are not
	 * the job's: only a recorded result's are served. */
	if (!recorded) {
		log_error("job %lld has no result yet", (long long)id);
		return -ENOENT;
	}
	if (streq(what, "module")) {
		if (!name) {
			log_error("job %lld has no module", (long long)id);
			return -ENOENT;
		}
	} else {
		free(name);
		name = strdup(streq(what, "report") ? "report.json"
			      : streq(what, "log")  ? "build.log"
						    : "boot.log");
		if (!name)
			return -ENOMEM;
	}
	p = strdup_printf("%s/jobs/%lld/%s", wf->artifact_dir, (long long)id, name);
	if (!p)
		return -ENOMEM;
	if (access(p, R_OK) < 0) {
		log_error("job %lld has no %s", (long long)id, what);
		free(p);
		return -ENOENT;
	}
	*ret_path = p;
	return 0;
}

int srv_job_adhoc(struct srv_state *st, const struct srv_actor *by, const char *kernel,
		  const char *config, const char *symbols, json_t *patches,
		  const struct srv_wf_config *wf, json_t **ret)
{
	_cleanup_free_ char *dir = NULL, *ij = NULL;
	_cleanup_(srv_json_unrefp) json_t *in = NULL, *paths = NULL;
	struct srv_stmt *s;
	json_t *p;
	size_t i;
	int64_t id;
	int r;

	if (!srv_release_valid(kernel))
		return log_error_errno(-EINVAL, "kernel: '%s' is not a kernel release", kernel);
	if (!strstr(config, "CONFIG_"))
		return log_error_errno(-EINVAL, "config: the text of a kernel .config");
	if (!json_is_array(patches) || !json_array_size(patches) || json_array_size(patches) > 16)
		return log_error_errno(-EINVAL, "patches: an array of 1-16 patch texts");
	json_array_foreach(patches, i, p)
	{
		if (!json_is_string(p) || text_check(json_string_value(p)) < 0)
			return -EINVAL;
	}
	r = srv_state_begin(st);
	if (r < 0)
		return r;
	r = srv_state_prepare(st,
			      "INSERT INTO job(kind, kernel, state, requested_by, created_at) "
			      "VALUES ('adhoc', ?1, 'cancelled', ?2, ?3) RETURNING id",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_text(s, 1, kernel);
	srv_bind_text(s, 2, by->name);
	srv_bind_int64(s, 3, (int64_t)time(NULL));
	r = srv_exec_insert(st, s, "queueing a build", &id);
	if (r < 0)
		goto rollback;
	/* The inputs are written under the job's id, then the job is queued with them. */
	r = job_dir(wf, id, &dir);
	if (r < 0)
		goto rollback;
	paths = json_array();
	in = json_object();
	if (!paths || !in) {
		r = -ENOMEM;
		goto rollback;
	}
	r = artifact_write(dir, "input.config", config, strlen(config));
	if (r == 0 && symbols)
		r = artifact_write(dir, "input.symbols", symbols, strlen(symbols));
	json_array_foreach(patches, i, p)
	{
		char name[48];

		if (r < 0)
			break;
		snprintf(name, sizeof(name), "input-%02zu.patch", i);
		r = artifact_write(dir, name, json_string_value(p), strlen(json_string_value(p)));
		json_array_append_new(paths, json_sprintf("%s/%s", dir, name));
	}
	if (r < 0)
		goto rollback;
	json_object_set_new(in, "config", json_sprintf("%s/input.config", dir));
	if (symbols)
		json_object_set_new(in, "symbols", json_sprintf("%s/input.symbols", dir));
	json_object_set(in, "patches", paths);
	ij = json_dumps(in, JSON_COMPACT);
	if (!ij) {
		r = -ENOMEM;
		goto rollback;
	}
	r = srv_state_prepare(st, "UPDATE job SET state = 'queued', input = ?2 WHERE id = ?1", &s);
	if (r < 0)
		goto rollback;
	srv_bind_int64(s, 1, id);
	srv_bind_text(s, 2, ij);
	r = srv_exec(st, s, "queueing a build");
	if (r == 0)
		r = audit(st, by, "build.request", id,
			  json_pack("{s:s s:I s:b}", "kernel", kernel, "patches",
				    (json_int_t)json_array_size(patches), "symbols", !!symbols));
	if (r < 0)
		goto rollback;
	r = srv_state_commit(st);
	if (r < 0)
		return r;
	return ret ? srv_job_show(st, id, ret) : 0;
rollback:
	srv_state_rollback(st);
	if (dir)
		rm_rf(dir);
	return r;
}

int srv_workflow_count(struct srv_state *st, unsigned long patches[_SRV_PATCH_STATE_MAX],
		       unsigned long jobs[_SRV_JOB_STATE_MAX])
{
	static const struct {
		const char *sql;
		const char *const *names;
		unsigned n;
	} q[] = {
		{"SELECT state, count(*) FROM patch GROUP BY state", patch_states,
		 _SRV_PATCH_STATE_MAX},
		{"SELECT state, count(*) FROM job GROUP BY state", job_states, _SRV_JOB_STATE_MAX},
	};
	unsigned long *out[] = {patches, jobs};
	struct srv_stmt *s;
	int r;

	for (size_t k = 0; k < ARRAY_SIZE(q); k++) {
		memset(out[k], 0, sizeof(unsigned long) * q[k].n);
		r = srv_state_prepare(st, q[k].sql, &s);
		if (r < 0)
			return r;
		while ((r = srv_step(s)) == SRV_ROW) {
			const char *name = srv_column_text(s, 0);

			for (unsigned i = 0; i < q[k].n; i++)
				if (streq(name, q[k].names[i]))
					out[k][i] = (unsigned long)srv_column_int64(s, 1);
		}
		srv_reset(s);
		if (r != SRV_DONE)
			return srv_state_error(st, "counting patches and jobs");
	}
	return 0;
}
