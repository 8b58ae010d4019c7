/* Kernel changes through the API: a pending record first, the audit record after. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "fleet/inventory.h"
#include "log.h"
#include "server/auth.h"
#include "server/kernel_change.h"
#include "server/state.h"
#include "store/store.h"
#include "banned.h"

/* The inventory's keys a change is judged by, and the names they have here. */
static const struct {
	const char *key, *from;
} snapshot_keys[] = {
	{"release", "release"},		  {"config", "config_origin"},
	{"proc_version", "proc_version"}, {"version_signature", "version_signature"},
	{"added_at", "added_at"},	  {"updated_at", "updated_at"},
};

int srv_kernel_snapshot(struct tt_store *cve, const char *name, json_t **ret)
{
	_cleanup_(json_decrefp) json_t *k = NULL, *o = NULL;
	int64_t id;
	int r;

	/* The id first: it says "none" without logging an error a request would answer with. */
	r = kernel_inventory_id(cve, name, &id);
	if (r == -ENOENT) {
		*ret = json_null();
		return 0;
	}
	if (r < 0)
		return r;
	r = kernel_inventory_show(cve, name, &k);
	if (r < 0)
		return r;
	o = json_object();
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(snapshot_keys); i++) {
		json_t *v = json_object_get(k, snapshot_keys[i].from);

		if (json_object_set_new(o, snapshot_keys[i].key, v ? json_incref(v) : json_null()) <
		    0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(o);
	return 0;
}

static int intent_insert(struct srv_state *st, const struct srv_actor *by, const char *action,
			 const char *name, const char *body, int64_t *ret_id)
{
	struct srv_stmt *s;
	int r;

	r = srv_state_prepare(
		st,
		"INSERT INTO kernel_intent(action, kernel, body, actor, role, token_id, "
		"remote, person, started_at) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
		&s);
	if (r < 0)
		return r;
	srv_bind_text(s, 1, action);
	srv_bind_text(s, 2, name);
	srv_bind_text(s, 3, body);
	srv_bind_actor(s, 4, by);
	srv_bind_int64(s, 9, (int64_t)time(NULL));
	return srv_exec_insert(st, s, "recording a kernel change", ret_id);
}

int srv_kernel_change_begin(struct tt_store *cve, struct srv_state *st, const struct srv_actor *by,
			    const char *action, const char *name, json_t *want, bool replace,
			    int64_t *ret_id)
{
	_cleanup_(json_decrefp) json_t *before = NULL, *body = NULL;
	_cleanup_free_ char *text = NULL;
	int r;

	r = srv_kernel_snapshot(cve, name, &before);
	if (r < 0)
		return r;
	body = json_pack("{s:O s:O s:b}", "before", before, "want", want ? want : json_null(),
			 "replace", replace);
	text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (!text)
		return -ENOMEM;
	return intent_insert(st, by, action, name, text, ret_id);
}

static int intent_delete(struct srv_state *st, int64_t id)
{
	struct srv_stmt *s;
	int r;

	r = srv_state_prepare(st, "DELETE FROM kernel_intent WHERE id = ?1", &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, id);
	return srv_exec(st, s, "dropping a kernel change's record");
}

int srv_kernel_change_end(struct srv_state *st, int64_t id, bool done, const struct srv_actor *by,
			  const char *audit_action, const char *name, json_t *detail)
{
	int r;

	if (!done)
		return intent_delete(st, id);
	r = srv_state_begin(st);
	if (r < 0)
		return r;
	r = intent_delete(st, id);
	if (r == 0)
		r = srv_audit_append(st, by, audit_action, name, detail);
	if (r < 0) {
		srv_state_rollback(st);
		return r;
	}
	return srv_state_commit(st);
}

const char *srv_kernel_outcome_to_string(enum srv_kernel_outcome o)
{
	switch (o) {
	case SRV_KERNEL_APPLIED:
		return "applied";
	case SRV_KERNEL_NOT_APPLIED:
		return "not applied";
	default:
		return "unknown";
	}
}

/* Whether snapshot K has every value an add asked for (WANT's keys). */
static bool snapshot_is(json_t *k, json_t *want)
{
	const char *key;
	json_t *v;

	if (!json_is_object(want) || !json_object_size(want))
		return false;
	json_object_foreach(want, key, v)
	{
		json_t *have = json_object_get(k, key);

		if (!have || !json_equal(have, v))
			return false;
	}
	return true;
}

enum srv_kernel_outcome srv_kernel_outcome(const char *action, json_t *before, json_t *want,
					   json_t *now, const char **ret_why)
{
	bool had = json_is_object(before), has = json_is_object(now);
	bool unchanged = had && has && json_equal(before, now);

	if (streq(action, "remove")) {
		if (!has && had)
			return *ret_why = "the kernel is no longer in the CVE database",
			       SRV_KERNEL_APPLIED;
		if (!has)
			return *ret_why = "there was no such kernel to remove",
			       SRV_KERNEL_NOT_APPLIED;
		if (unchanged)
			return *ret_why = "the kernel is in the CVE database as it was before",
			       SRV_KERNEL_NOT_APPLIED;
		return *ret_why = "a kernel of that name is in the CVE database, but not the one "
				  "there before: changed since by another writer?",
		       SRV_KERNEL_UNKNOWN;
	}
	if (!has && !had)
		return *ret_why = "no kernel of that name is in the CVE database",
		       SRV_KERNEL_NOT_APPLIED;
	if (!has)
		return *ret_why = "the kernel to be replaced is gone and no replacement is there: "
				  "removed since by another writer?",
		       SRV_KERNEL_UNKNOWN;
	if (unchanged && snapshot_is(before, want))
		/* A replace keeps added_at and stamps updated_at to the second. */
		return *ret_why = "the kernel has the release and config asked for, but so had "
				  "the one it was to replace, with the same timestamps: a replace "
				  "by the same within the same second cannot be told from none",
		       SRV_KERNEL_UNKNOWN;
	if (unchanged)
		return *ret_why = "the kernel is in the CVE database as it was before",
		       SRV_KERNEL_NOT_APPLIED;
	if (snapshot_is(now, want))
		return *ret_why = had ? "the kernel has the release and config asked for, and is "
					"not the one it replaced"
				      : "the kernel is in the CVE database with the release and "
					"config asked for",
		       SRV_KERNEL_APPLIED;
	return *ret_why = "the kernel there is neither the one before nor the one asked for: "
			  "changed since by another writer?",
	       SRV_KERNEL_UNKNOWN;
}

struct kernel_intent {
	int64_t id;
	char *action, *kernel, *body, *actor, *role, *remote, *person;
	int64_t token_id, started_at;
};

static void kernel_intent_release(struct kernel_intent *k)
{
	free(k->action);
	free(k->kernel);
	free(k->body);
	free(k->actor);
	free(k->role);
	free(k->remote);
	free(k->person);
}

static char *column_strdup(struct srv_stmt *s, int i)
{
	const char *t = srv_column_text(s, i);

	return t ? strdup(t) : NULL;
}

/* The oldest pending record: 1 with it in *RET, 0 when there is none. */
static int intent_first(struct srv_state *st, struct kernel_intent *ret)
{
	struct srv_stmt *s;
	int r;

	r = srv_state_prepare(st,
			      "SELECT id, action, kernel, body, actor, role, token_id, remote, "
			      "person, started_at "
			      "FROM kernel_intent ORDER BY id LIMIT 1",
			      &s);
	if (r < 0)
		return r;
	r = srv_step(s);
	if (r != SRV_ROW) {
		srv_reset(s);
		return r == SRV_DONE ? 0 : srv_state_error(st, "reading kernel changes");
	}
	*ret = (struct kernel_intent){
		.id = srv_column_int64(s, 0),
		.action = column_strdup(s, 1),
		.kernel = column_strdup(s, 2),
		.body = column_strdup(s, 3),
		.actor = column_strdup(s, 4),
		.role = column_strdup(s, 5),
		.token_id = srv_column_int64(s, 6),
		.remote = column_strdup(s, 7),
		.person = column_strdup(s, 8),
		.started_at = srv_column_int64(s, 9),
	};
	srv_reset(s);
	if (!ret->action || !ret->kernel || !ret->body || !ret->actor) {
		kernel_intent_release(ret);
		return -ENOMEM;
	}
	return 1;
}

static int intent_complete(struct tt_store *cve, struct srv_state *st, struct kernel_intent *k)
{
	_cleanup_(json_decrefp) json_t *body = NULL, *now = NULL, *detail = NULL;
	json_t *before, *want;
	struct srv_actor by = {
		.name = k->actor,
		.role = k->role,
		.token_id = k->token_id,
		.remote = k->remote ? k->remote : "local",
		.person = k->person,
	};
	enum srv_kernel_outcome o;
	const char *why, *action;
	char asked[32];
	int r;

	body = json_loads(k->body, 0, NULL);
	before = json_object_get(body, "before");
	want = json_object_get(body, "want");
	if (!json_is_object(body) || !before || !want ||
	    (!streq(k->action, "add") && !streq(k->action, "remove")))
		return log_error_errno(-EBADMSG,
				       "the record of kernel change %lld ('%s') is unreadable",
				       (long long)k->id, k->kernel);
	r = srv_kernel_snapshot(cve, k->kernel, &now);
	if (r < 0)
		return r;
	o = srv_kernel_outcome(k->action, before, want, now, &why);
	action = streq(k->action, "remove") ? "kernel.remove"
		 : json_is_object(before)   ? "kernel.replace"
					    : "kernel.add";
	/* The record is written now; when the change was asked for is in its detail. */
	srv_time_iso(k->started_at, asked);
	detail = json_pack("{s:s s:s s:b s:s s:O s:O s:O}", "outcome",
			   srv_kernel_outcome_to_string(o), "reason", why, "completed_at_restart",
			   true, "requested_at", asked, "requested", want, "before", before,
			   "found", now);
	if (!detail)
		return -ENOMEM;
	r = srv_kernel_change_end(st, k->id, true, &by, action, k->kernel, detail);
	if (r < 0)
		return r;
	log_info("recorded the %s of kernel '%s' that the server's last run left unrecorded: %s",
		 k->action, k->kernel, srv_kernel_outcome_to_string(o));
	return 0;
}

int srv_kernel_recover(const char *db_path, const char *state_path)
{
	_cleanup_state_ struct srv_state *st = NULL;
	_cleanup_store_ struct tt_store *cve = NULL;
	struct kernel_intent k;
	int r;

	r = srv_state_open(state_path, &st);
	if (r < 0)
		return r;
	r = intent_first(st, &k);
	if (r <= 0)
		return r;
	r = tt_store_open(db_path, 0, &cve);
	if (r < 0) {
		kernel_intent_release(&k);
		return r;
	}
	for (;;) {
		r = intent_complete(cve, st, &k);
		if (r < 0)
			log_error("cannot record the %s of kernel '%s' that the server's last run "
				  "left unrecorded; the audit log lacks it until it is",
				  k.action, k.kernel);
		kernel_intent_release(&k);
		if (r < 0)
			return r;
		r = intent_first(st, &k);
		if (r <= 0)
			return r;
	}
}
