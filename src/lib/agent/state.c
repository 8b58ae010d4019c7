/* The state file: one JSON document replaced atomically and durably. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/state.h"
#include "fileio.h"
#include "log.h"
#include "banned.h"

int agent_state_load(const char *state_dir, json_t **ret)
{
	_cleanup_free_ char *p = path_join(state_dir, AGENT_STATE_FILE), *buf = NULL;
	json_error_t e;
	size_t len;
	json_t *s;
	int r;

	if (!p)
		return -ENOMEM;
	r = read_file_capped(p, AGENT_STATE_MAX, &buf, &len);
	if (r == -ENOENT) {
		*ret = json_object();
		return *ret ? 0 : -ENOMEM;
	}
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", p, strerror(-r));
	s = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e);
	if (!s || !json_is_object(s)) {
		json_decref(s);
		return log_error_errno(-EBADMSG, "'%s' is damaged (%s); move it aside to start over",
				       p, s ? "not an object" : e.text);
	}
	*ret = s;
	return 0;
}

int agent_state_save(const char *state_dir, const json_t *state)
{
	_cleanup_free_ char *p = path_join(state_dir, AGENT_STATE_FILE);
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dfd = -1;
	int r;

	if (!p)
		return -ENOMEM;
	text = json_dumps(state, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	r = mkdir_p(state_dir, 0700);
	if (r < 0)
		return log_error_errno(r, "cannot make '%s': %s", state_dir, strerror(-r));
	r = write_file_atomic(p, text, strlen(text), 0600);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %s", p, strerror(-r));
	/* The rename itself must reach the disk before the agent acts on the new state. */
	dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		r = negative_errno();
		return log_error_errno(r, "cannot sync '%s': %s", state_dir, strerror(-r));
	}
	return 0;
}

json_t *agent_json_time(long long t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();
	return json_string(buf);
}

int agent_state_add_error(json_t *state, long long now, const char *message)
{
	json_t *errs = json_object_get(state, "errors");

	if (!json_is_array(errs)) {
		errs = json_array();
		if (!errs || json_object_set_new(state, "errors", errs) < 0)
			return -ENOMEM;
	}
	if (json_array_append_new(errs, json_pack("{s:o, s:I, s:s}", "at", agent_json_time(now),
						  "at_epoch", (json_int_t)now, "message",
						  message)) < 0)
		return -ENOMEM;
	while (json_array_size(errs) > AGENT_STATE_ERRORS_MAX)
		json_array_remove(errs, 0);
	return 0;
}
