/*
 * The fleet as its agents report it: the latest heartbeat per node (kernel, effective
 * version, loaded patches, uptime), its state, and the history of its status events.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct srv_state;
struct srv_actor;

enum srv_node_state {
	SRV_NODE_OK,
	SRV_NODE_ERROR,
	SRV_NODE_STALE, /* not stored: no heartbeat for the stale interval */
	_SRV_NODE_STATE_MAX,
};

const char *srv_node_state_to_string(enum srv_node_state s);

/* What a heartbeat carries; strings point into the parsed JSON. */
struct srv_heartbeat {
	const char *kernel;	       /* uname -r, required */
	const char *effective_version; /* the upstream version with the patches applied */
	/* Enabled livepatches, may be NULL: a name, or {"name", "sha256"} for one whose module
	 * the agent loaded (the SHA-256 of the .ko, 64 lowercase hex digits). */
	json_t *patches;
	json_int_t uptime;	       /* seconds, -1 unknown */
};

/* What a status report carries. */
struct srv_node_status {
	const char *event; /* "ok" or one of the errors (srv_node_event_valid) */
	const char *patch; /* the patch concerned, may be NULL */
	const char *detail;
};

/*
 * Strict readers of the request bodies: unknown fields, wrong types, oversized strings or
 * arrays are -EINVAL with a one-line reason in ERR.
 */
int srv_heartbeat_from_json(json_t *body, struct srv_heartbeat *ret, char *err, size_t errlen);
int srv_node_status_from_json(json_t *body, struct srv_node_status *ret, char *err, size_t errlen);

/*
 * Records node BY->name's heartbeat; its first heartbeat registers the node (audited).
 * RET (may be NULL) gets {"node","state","heartbeats"}.
 */
int srv_node_heartbeat(struct srv_state *st, const struct srv_actor *by,
		       const struct srv_heartbeat *hb, json_t **ret);
/* Appends a status event for node BY->name and moves its state; a change of state is audited. */
int srv_node_report(struct srv_state *st, const struct srv_actor *by,
		    const struct srv_node_status *ns, json_t **ret);
/*
 * Every node by name; STALE_AFTER seconds without a heartbeat make a node "stale". Each has
 * "patched_cves": the CVEs this server vouches its loaded patches fix (srv_patched_cves()).
 */
int srv_node_list(struct srv_state *st, int64_t stale_after, json_t **ret);
/* The same without "patched_cves": what the nodes reported, for a caller that judges them. */
int srv_node_list_reported(struct srv_state *st, int64_t stale_after, json_t **ret);
/* One node with its last 100 events and its "patched_cves"; -ENOENT when unknown. */
int srv_node_show(struct srv_state *st, const char *name, int64_t stale_after, json_t **ret);
/* Nodes per state, for the metrics. */
int srv_node_count(struct srv_state *st, int64_t stale_after,
		   unsigned long ret[_SRV_NODE_STATE_MAX]);
