/*
 * The agent's state directory: state.json (written atomically, the file and the directory
 * fsync'd, so a SIGKILL or power cut at any point leaves the old or the new state), the TUF
 * metadata (tuf/) and the verified modules (modules/).
 */
#pragma once

#include <jansson.h>

#define AGENT_STATE_FILE "state.json"
#define AGENT_STATE_MAX (1u << 20)
#define AGENT_STATE_ERRORS_MAX 20

/*
 * Reads STATE_DIR/state.json into *RET (a new object; an empty state when there is none).
 * -EBADMSG when the file is not a JSON object (logged, naming it): the agent then stops
 * rather than forget what it knew.
 */
int agent_state_load(const char *state_dir, json_t **ret);
/* Writes STATE atomically and durably. */
int agent_state_save(const char *state_dir, const json_t *state);
/* Appends {"at", "message"} to state.errors, keeping the newest AGENT_STATE_ERRORS_MAX. */
int agent_state_add_error(json_t *state, long long now, const char *message);
/* "YYYY-MM-DDTHH:MM:SSZ" */
json_t *agent_json_time(long long t);
