/* The agent's configuration file: parsed strictly, each error names the file, line and key. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "fileio.h"
#include "log.h"
#include "banned.h"

#define CONFIG_MAX (64u << 10)

void agent_config_release(struct agent_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->archive_url);
	free(c->trusted_root);
	free(c->state_dir);
	free(c->sysroot);
	free(c->server_url);
	free(c->server_token_file);
	free(c->server_ca);
	free(c->server_pinned_key);
	free(c->server_cert);
	free(c->server_key);
	memset(c, 0, sizeof(*c));
}

static int set_str(char **field, const char *v)
{
	char *n = strdup(v);

	if (!n)
		return -ENOMEM;
	free(*field);
	*field = n;
	return 0;
}

static int parse_seconds(const char *v, unsigned *ret)
{
	char *end;
	unsigned long n;
	unsigned long mult = 1;

	if (!*v || *v == '-')
		return -EINVAL;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v)
		return -EINVAL;
	if (streq(end, "m"))
		mult = 60;
	else if (streq(end, "h"))
		mult = 3600;
	else if (*end && !streq(end, "s"))
		return -EINVAL;
	if (n > UINT_MAX / mult)
		return -EINVAL;
	*ret = (unsigned)(n * mult);
	return 0;
}

static char *strip(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int config_set(struct agent_config *c, const char *file, unsigned line, const char *key,
		      const char *v)
{
	static const struct {
		const char *key;
		size_t off;
	} strs[] = {
		{"archive_url", offsetof(struct agent_config, archive_url)},
		{"trusted_root", offsetof(struct agent_config, trusted_root)},
		{"state_dir", offsetof(struct agent_config, state_dir)},
		{"sysroot", offsetof(struct agent_config, sysroot)},
		{"server_url", offsetof(struct agent_config, server_url)},
		{"server_token_file", offsetof(struct agent_config, server_token_file)},
		{"server_ca", offsetof(struct agent_config, server_ca)},
		{"server_pinned_key", offsetof(struct agent_config, server_pinned_key)},
		{"server_cert", offsetof(struct agent_config, server_cert)},
		{"server_key", offsetof(struct agent_config, server_key)},
	};
	static const struct {
		const char *key;
		size_t off;
	} secs[] = {
		{"interval", offsetof(struct agent_config, interval_s)},
		{"jitter", offsetof(struct agent_config, jitter_s)},
		{"signal_after", offsetof(struct agent_config, signal_after_s)},
		{"transition_timeout", offsetof(struct agent_config, transition_timeout_s)},
		{"settle", offsetof(struct agent_config, settle_s)},
		{"crash_window", offsetof(struct agent_config, crash_window_s)},
	};

	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		if (!streq(key, strs[i].key))
			continue;
		if (!*v)
			return log_error_errno(-EINVAL, "'%s' line %u: '%s' is empty", file, line,
					       key);
		if (!streq(key, "archive_url") && !streq(key, "sysroot") &&
		    !streq(key, "server_url") &&
		    !(streq(key, "server_pinned_key") && startswith(v, "sha256//")) && v[0] != '/')
			return log_error_errno(-EINVAL,
					       "'%s' line %u: '%s' must be an absolute path", file,
					       line, key);
		if (streq(key, "archive_url") && !startswith(v, "http://") &&
		    !startswith(v, "https://"))
			return log_error_errno(-EINVAL,
					       "'%s' line %u: 'archive_url' must be an http:// or "
					       "https:// URL",
					       file, line);
		/* The token must not cross the network in clear. */
		if (streq(key, "server_url") && !startswith(v, "https://"))
			return log_error_errno(-EINVAL,
					       "'%s' line %u: 'server_url' must be an https:// URL",
					       file, line);
		return set_str((char **)((char *)c + strs[i].off), v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(secs); i++) {
		if (!streq(key, secs[i].key))
			continue;
		if (parse_seconds(v, (unsigned *)((char *)c + secs[i].off)) < 0)
			return log_error_errno(-EINVAL,
					       "'%s' line %u: '%s': '%s' is not a duration "
					       "(seconds, or N followed by s, m or h)",
					       file, line, key, v);
		if (streq(key, "interval") && c->interval_s == 0)
			return log_error_errno(-EINVAL, "'%s' line %u: 'interval' must not be 0",
					       file, line);
		return 0;
	}
	return log_error_errno(-EINVAL, "'%s' line %u: unknown key '%s'", file, line, key);
}

int agent_config_load(const char *path, struct agent_config *ret)
{
	struct agent_config c = {
		.interval_s = 3600,
		.jitter_s = 300,
		.signal_after_s = 15,
		.transition_timeout_s = 60,
		.settle_s = 5,
		.crash_window_s = 900,
	};
	_cleanup_free_ char *buf = NULL;
	char *line, *next;
	unsigned lineno = 0;
	int r;

	if (set_str(&c.state_dir, AGENT_STATE_DEFAULT_DIR) < 0 || set_str(&c.sysroot, "") < 0) {
		r = -ENOMEM;
		goto fail;
	}
	if (path) {
		r = set_str(&c.path, path);
		if (r < 0)
			goto fail;
		r = read_file_capped(path, CONFIG_MAX, &buf, NULL);
		if (r == -EFBIG)
			log_error("'%s': larger than %u KiB", path, CONFIG_MAX >> 10);
		else if (r < 0)
			log_error("cannot read '%s': %s", path, strerror(-r));
		if (r < 0)
			goto fail;
		for (line = buf; line; line = next) {
			char *eq, *key;

			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			lineno++;
			line = strip(line);
			if (!*line || *line == '#')
				continue;
			eq = strchr(line, '=');
			if (!eq) {
				r = log_error_errno(-EINVAL, "'%s' line %u: expected 'key = value'",
						    path, lineno);
				goto fail;
			}
			*eq = '\0';
			key = strip(line);
			r = config_set(&c, path, lineno, key, strip(eq + 1));
			if (r < 0)
				goto fail;
		}
	}
	if (streq(c.sysroot, "/"))
		c.sysroot[0] = '\0';
	if (c.transition_timeout_s < c.signal_after_s) {
		r = log_error_errno(-EINVAL,
				    "'%s': 'transition_timeout' (%us) is shorter than "
				    "'signal_after' (%us)",
				    strempty(path), c.transition_timeout_s, c.signal_after_s);
		goto fail;
	}
	if (c.server_url && !c.server_token_file) {
		r = log_error_errno(-EINVAL,
				    "'%s': 'server_url' is set but 'server_token_file' is not",
				    strempty(path));
		goto fail;
	}
	if (c.server_url) {
		/* "https://host/" and "https://host" name the same routes. */
		size_t n = strlen(c.server_url);

		while (n > 8 && c.server_url[n - 1] == '/')
			c.server_url[--n] = '\0';
	}
	*ret = c;
	return 0;
fail:
	agent_config_release(&c);
	return r;
}
