/*
 * What the agent tells a tuxtape-server (docs/server.md's agent routes): a heartbeat each poll
 * (POST /v1/fleet/heartbeat) and status events (POST /v1/fleet/status) over HTTPS with the
 * agent's bearer token.
 */
#pragma once

#include <stddef.h>
#include <jansson.h>

struct agent_config;

/*
 * The heartbeat body the server's schema accepts, from a status document (agent_status()):
 * "patches" lists the enabled livepatches, {"name", "sha256"} for one the agent loaded (the
 * SHA-256 of its module), the name alone for one loaded by other means.
 */
json_t *agent_heartbeat_from_status(const json_t *status, long long uptime_s);

/* The server's event for a blocked patch's reason (load-failure, kernel-log, ...); NULL: none. */
const char *agent_event_for_reason(const char *reason);

/*
 * POSTs BODY (JSON) to the server's PATH ("/v1/fleet/heartbeat"). 0 on a 2xx answer;
 * -EACCES 401/403; -EINVAL another 4xx (the body will never be accepted); -EPROTO 5xx or
 * another status; -ETIMEDOUT, -ECONNREFUSED, -EIO transfer errors (TLS included).
 */
typedef int (*agent_post_fn)(void *userdata, const struct agent_config *cfg, const char *path,
			     const char *body);

/* The real POST: libcurl, the configured CA or pinned key, client certificate and token. */
int agent_http_post(void *userdata, const struct agent_config *cfg, const char *path,
		    const char *body);
