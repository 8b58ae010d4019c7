/* Fleet nodes in the server's state database: heartbeats, status events, queries. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "server/auth.h"
#include "server/exposure.h"
#include "server/node.h"
#include "server/state.h"
#include "banned.h"

/* Caps on what one agent can make the server store. */
#define NODE_STRING_MAX 256
#define NODE_DETAIL_MAX 4096
#define NODE_PATCHES_MAX 256
#define NODE_EVENTS_SHOWN 100

static const char *const node_states[_SRV_NODE_STATE_MAX] = {
	[SRV_NODE_OK] = "ok",
	[SRV_NODE_ERROR] = "error",
	[SRV_NODE_STALE] = "stale",
};

/* The status events an agent reports (issue 11's list); "ok" clears an error. */
static const char *const node_events[] = {
	"ok", "load-failure", "transition-stalled", "kernel-log", "unclean-reboot", "error",
};

const char *srv_node_state_to_string(enum srv_node_state s)
{
	return (unsigned)s < _SRV_NODE_STATE_MAX ? node_states[s] : NULL;
}

static bool string_ok(const char *s, size_t max)
{
	return !s || strnlen(s, max + 1) <= max;
}

static int body_error(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -EINVAL;
}

static bool sha256_hex_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (n == 64 || !((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

/*
 * One element of a heartbeat's "patches": a name (a livepatch the agent did not load, known
 * by name only) or {"name", "sha256"} (one it loaded: the digest of its module).
 */
static int heartbeat_patch_check(json_t *p, size_t i, char *err, size_t errlen)
{
	const char *name = NULL, *sha = NULL;
	json_error_t e;

	if (json_is_string(p))
		name = json_string_value(p);
	else if (!json_is_object(p))
		goto bad;
	else if (json_unpack_ex(p, &e, JSON_STRICT, "{s:s s:s}", "name", &name, "sha256", &sha) <
		 0) {
		snprintf(err, errlen, "patches[%zu]: %s", i, e.text);
		return -EINVAL;
	}
	if (!*name || !string_ok(name, NODE_STRING_MAX))
		goto bad;
	if (sha && !sha256_hex_ok(sha)) {
		snprintf(err, errlen, "patches[%zu].sha256: 64 lowercase hexadecimal digits", i);
		return -EINVAL;
	}
	return 0;
bad:
	snprintf(err, errlen, "patches[%zu]: a name (1-256 characters) or {\"name\", \"sha256\"}",
		 i);
	return -EINVAL;
}

int srv_heartbeat_from_json(json_t *body, struct srv_heartbeat *ret, char *err, size_t errlen)
{
	struct srv_heartbeat hb = {.uptime = -1};
	json_error_t e;
	json_t *p;
	size_t i;

	if (json_unpack_ex(body, &e, JSON_STRICT, "{s:s s?s s?o s?I}", "kernel", &hb.kernel,
			   "effective_version", &hb.effective_version, "patches", &hb.patches,
			   "uptime", &hb.uptime) < 0)
		return body_error(err, errlen, e.text);
	if (!string_ok(hb.kernel, NODE_STRING_MAX) || !*hb.kernel ||
	    !string_ok(hb.effective_version, NODE_STRING_MAX))
		return body_error(err, errlen, "kernel and effective_version: 1-256 characters");
	if (hb.patches) {
		if (!json_is_array(hb.patches) || json_array_size(hb.patches) > NODE_PATCHES_MAX)
			return body_error(err, errlen,
					  "patches: an array of at most 256 names or "
					  "{\"name\", \"sha256\"} objects");
		json_array_foreach(hb.patches, i, p)
		{
			int r = heartbeat_patch_check(p, i, err, errlen);

			if (r < 0)
				return r;
		}
	}
	if (hb.uptime < -1)
		return body_error(err, errlen, "uptime: seconds, not negative");
	*ret = hb;
	return 0;
}

int srv_node_status_from_json(json_t *body, struct srv_node_status *ret, char *err, size_t errlen)
{
	struct srv_node_status ns = {};
	json_error_t e;
	bool known = false;

	if (json_unpack_ex(body, &e, JSON_STRICT, "{s:s s?s s?s}", "event", &ns.event, "patch",
			   &ns.patch, "detail", &ns.detail) < 0)
		return body_error(err, errlen, e.text);
	for (size_t i = 0; i < ARRAY_SIZE(node_events); i++)
		known |= streq(ns.event, node_events[i]);
	if (!known)
		return body_error(err, errlen,
				  "event: ok, load-failure, transition-stalled, kernel-log, "
				  "unclean-reboot or error");
	if (!string_ok(ns.patch, NODE_STRING_MAX) || !string_ok(ns.detail, NODE_DETAIL_MAX))
		return body_error(err, errlen, "patch: at most 256, detail: 4096 characters");
	*ret = ns;
	return 0;
}

int srv_node_heartbeat(struct srv_state *st, const struct srv_actor *by,
		       const struct srv_heartbeat *hb, json_t **ret)
{
	_cleanup_free_ char *patches = NULL;
	struct srv_stmt *s;
	int64_t n = 0;
	char state[8] = "";
	int r;

	if (hb->patches) {
		patches = json_dumps(hb->patches, JSON_COMPACT);
		if (!patches)
			return -ENOMEM;
	}
	r = srv_state_begin(st);
	if (r < 0)
		return r;
	r = srv_state_prepare(
		st,
		"INSERT INTO node(name, state, kernel, effective_version, patches, uptime, remote, "
		"first_seen, last_seen, heartbeats) VALUES (?1, 'ok', ?2, ?3, ?4, ?5, ?6, ?7, ?7, "
		"1) "
		"ON CONFLICT(name) DO UPDATE SET kernel = excluded.kernel, "
		"effective_version = excluded.effective_version, patches = excluded.patches, "
		"uptime = excluded.uptime, remote = excluded.remote, last_seen = "
		"excluded.last_seen, "
		"heartbeats = node.heartbeats + 1 RETURNING heartbeats, state",
		&s);
	if (r < 0)
		goto rollback;
	srv_bind_text(s, 1, by->name);
	srv_bind_text(s, 2, hb->kernel);
	srv_bind_text(s, 3, hb->effective_version);
	srv_bind_text(s, 4, patches);
	if (hb->uptime >= 0)
		srv_bind_int64(s, 5, hb->uptime);
	srv_bind_text(s, 6, by->remote);
	srv_bind_int64(s, 7, (int64_t)time(NULL));
	r = srv_step(s);
	if (r == SRV_ROW) {
		n = srv_column_int64(s, 0);
		snprintf(state, sizeof(state), "%s", srv_column_text(s, 1));
		r = srv_step(s);
	}
	srv_reset(s);
	if (r != SRV_DONE || n == 0) {
		r = srv_state_error(st, "recording a heartbeat");
		goto rollback;
	}
	if (n == 1) {
		json_t *d = json_pack("{s:s}", "kernel", hb->kernel);

		r = d ? srv_audit_append(st, by, "node.register", by->name, d) : -ENOMEM;
		json_decref(d);
		if (r < 0)
			goto rollback;
	}
	r = srv_state_commit(st);
	if (r < 0)
		return r;
	if (ret)
		*ret = json_pack("{s:s s:s s:I}", "node", by->name, "state", state, "heartbeats",
				 (json_int_t)n);
	return 0;
rollback:
	srv_state_rollback(st);
	return r;
}

int srv_node_report(struct srv_state *st, const struct srv_actor *by,
		    const struct srv_node_status *ns, json_t **ret)
{
	const char *new_state = streq(ns->event, "ok") ? "ok" : "error";
	char old_state[8] = "";
	struct srv_stmt *s;
	int64_t now = time(NULL), id;
	int r;

	r = srv_state_begin(st);
	if (r < 0)
		return r;
	/* A node may report trouble before its first heartbeat went through. */
	r = srv_state_prepare(st,
			      "INSERT INTO node(name, state, remote, first_seen, last_seen) "
			      "VALUES (?1, 'ok', ?2, ?3, ?3) ON CONFLICT(name) DO NOTHING",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_text(s, 1, by->name);
	srv_bind_text(s, 2, by->remote);
	srv_bind_int64(s, 3, now);
	r = srv_exec(st, s, "recording a status");
	if (r < 0)
		goto rollback;
	r = srv_state_prepare(st, "SELECT state FROM node WHERE name = ?1", &s);
	if (r < 0)
		goto rollback;
	srv_bind_text(s, 1, by->name);
	if (srv_step(s) == SRV_ROW)
		snprintf(old_state, sizeof(old_state), "%s", srv_column_text(s, 0));
	srv_reset(s);
	r = srv_state_prepare(st,
			      "INSERT INTO node_event(node, at, event, patch, detail) "
			      "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_text(s, 1, by->name);
	srv_bind_int64(s, 2, now);
	srv_bind_text(s, 3, ns->event);
	srv_bind_text(s, 4, ns->patch);
	srv_bind_text(s, 5, ns->detail);
	r = srv_exec_insert(st, s, "recording a status", &id);
	if (r < 0)
		goto rollback;
	r = srv_state_prepare(st,
			      "UPDATE node SET state = ?2, last_event_id = ?3, remote = ?4 "
			      "WHERE name = ?1",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_text(s, 1, by->name);
	srv_bind_text(s, 2, new_state);
	srv_bind_int64(s, 3, id);
	srv_bind_text(s, 4, by->remote);
	r = srv_exec(st, s, "recording a status");
	if (r < 0)
		goto rollback;
	if (!streq(old_state, new_state)) {
		json_t *d = json_pack("{s:s s:s s:s s:I}", "from", old_state, "to", new_state,
				      "event", ns->event, "event_id", (json_int_t)id);

		r = d ? srv_audit_append(st, by, "node.state", by->name, d) : -ENOMEM;
		json_decref(d);
		if (r < 0)
			goto rollback;
	}
	r = srv_state_commit(st);
	if (r < 0)
		return r;
	if (ret)
		*ret = json_pack("{s:s s:s s:I}", "node", by->name, "state", new_state, "event_id",
				 (json_int_t)id);
	return 0;
rollback:
	srv_state_rollback(st);
	return r;
}

#define NODE_COLUMNS                                                                               \
	"name, CASE WHEN last_seen < ?1 THEN 'stale' ELSE state END, kernel, effective_version, "  \
	"patches, uptime, remote, first_seen, last_seen, heartbeats"

static json_t *node_row(struct srv_stmt *s)
{
	const char *patches = srv_column_text(s, 4);
	char first[32], last[32];
	json_t *p = patches ? json_loads(patches, 0, NULL) : NULL;

	srv_time_iso(srv_column_int64(s, 7), first);
	srv_time_iso(srv_column_int64(s, 8), last);
	return json_pack("{s:o s:o s:o s:o s:o s:o s:o s:s s:s s:o}", "name", srv_column_json(s, 0),
			 "state", srv_column_json(s, 1), "kernel", srv_column_json(s, 2),
			 "effective_version", srv_column_json(s, 3), "patches",
			 p ? p : json_array(), "uptime", srv_column_json(s, 5), "remote",
			 srv_column_json(s, 6), "first_seen", first, "last_seen", last,
			 "heartbeats", srv_column_json(s, 9));
}

/* Adds "patched_cves" to node O: the CVEs this server vouches its loaded patches fix. */
static int node_vouch(struct srv_state *st, json_t *o)
{
	json_t *cves = NULL;
	int r = srv_patched_cves(st, json_object_get(o, "patches"), &cves);

	if (r < 0)
		return r;
	return json_object_set_new(o, "patched_cves", cves) < 0 ? -ENOMEM : 0;
}

int srv_node_list_reported(struct srv_state *st, int64_t stale_after, json_t **ret)
{
	struct srv_stmt *s;
	json_t *arr;
	int r;

	r = srv_state_prepare(st, "SELECT " NODE_COLUMNS " FROM node ORDER BY name", &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, (int64_t)time(NULL) - stale_after);
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	while ((r = srv_step(s)) == SRV_ROW)
		if (json_array_append_new(arr, node_row(s)) < 0) {
			srv_reset(s);
			json_decref(arr);
			return -ENOMEM;
		}
	srv_reset(s);
	if (r != SRV_DONE) {
		json_decref(arr);
		return srv_state_error(st, "listing nodes");
	}
	*ret = arr;
	return 0;
}

int srv_node_list(struct srv_state *st, int64_t stale_after, json_t **ret)
{
	json_t *arr = NULL, *o;
	size_t i;
	int r;

	r = srv_node_list_reported(st, stale_after, &arr);
	if (r < 0)
		return r;
	/* After the listing's statement is done: the vouching runs queries of its own. */
	json_array_foreach(arr, i, o)
	{
		r = node_vouch(st, o);
		if (r < 0) {
			json_decref(arr);
			return r;
		}
	}
	*ret = arr;
	return 0;
}

int srv_node_show(struct srv_state *st, const char *name, int64_t stale_after, json_t **ret)
{
	struct srv_stmt *s;
	json_t *o, *events;
	int r;

	r = srv_state_prepare(st, "SELECT " NODE_COLUMNS " FROM node WHERE name = ?2", &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, (int64_t)time(NULL) - stale_after);
	srv_bind_text(s, 2, name);
	r = srv_step(s);
	if (r != SRV_ROW) {
		srv_reset(s);
		return r == SRV_DONE ? -ENOENT : srv_state_error(st, "reading a node");
	}
	o = node_row(s);
	srv_reset(s);
	events = json_array();
	if (!o || !events || json_object_set_new(o, "events", events) < 0) {
		json_decref(o);
		return -ENOMEM;
	}
	r = node_vouch(st, o);
	if (r < 0) {
		json_decref(o);
		return r;
	}
	r = srv_state_prepare(st,
			      "SELECT id, at, event, patch, detail FROM node_event WHERE node = ?1 "
			      "ORDER BY id DESC LIMIT ?2",
			      &s);
	if (r < 0) {
		json_decref(o);
		return r;
	}
	srv_bind_text(s, 1, name);
	srv_bind_int(s, 2, NODE_EVENTS_SHOWN);
	while ((r = srv_step(s)) == SRV_ROW) {
		char at[32];

		srv_time_iso(srv_column_int64(s, 1), at);
		json_array_append_new(
			events, json_pack("{s:o s:s s:o s:o s:o}", "id", srv_column_json(s, 0),
					  "at", at, "event", srv_column_json(s, 2), "patch",
					  srv_column_json(s, 3), "detail", srv_column_json(s, 4)));
	}
	srv_reset(s);
	if (r != SRV_DONE) {
		json_decref(o);
		return srv_state_error(st, "reading a node's events");
	}
	*ret = o;
	return 0;
}

int srv_node_count(struct srv_state *st, int64_t stale_after,
		   unsigned long ret[_SRV_NODE_STATE_MAX])
{
	struct srv_stmt *s;
	int r;

	r = srv_state_prepare(st,
			      "SELECT CASE WHEN last_seen < ?1 THEN 'stale' ELSE state END AS st, "
			      "count(*) FROM node GROUP BY st",
			      &s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, (int64_t)time(NULL) - stale_after);
	memset(ret, 0, sizeof(unsigned long) * _SRV_NODE_STATE_MAX);
	while ((r = srv_step(s)) == SRV_ROW) {
		const char *name = srv_column_text(s, 0);

		for (unsigned i = 0; i < _SRV_NODE_STATE_MAX; i++)
			if (streq(name, node_states[i]))
				ret[i] = (unsigned long)srv_column_int64(s, 1);
	}
	srv_reset(s);
	return r == SRV_DONE ? 0 : srv_state_error(st, "counting nodes");
}
