/*
 * A client of tuxtape-server's API for the `tuxtape` commands, the builders and the
 * dashboard: HTTPS only, a bearer token, timeouts and a cap on what an answer may hold.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>

struct strbuf;

struct srv_client_opts {
	const char *url;     /* https://HOST:PORT, without a trailing path */
	const char *token;   /* the bearer token */
	const char *ca_file; /* NULL: the system's CAs */
	unsigned timeout;    /* seconds for a whole request (0: 60) */
	size_t max_answer;   /* bytes (0: 64 MiB) */
};

struct srv_client;

int srv_client_new(const struct srv_client_opts *o, struct srv_client **ret);
void srv_client_free(struct srv_client *c);

/* The token in file PATH (its first line); printable ASCII, no spaces. */
int srv_client_token_read(const char *path, char **ret);

/*
 * Sends METHOD PATH (with BODY as JSON when not NULL). A 2xx answer's JSON goes to *RET (may
 * be NULL); any other is logged with the server's error and returned as -errno: 400 -EINVAL,
 * 401/403 -EACCES, 404 -ENOENT, 409 -EALREADY, 413 -E2BIG, others -EIO; transport errors
 * -ECONNREFUSED, -ETIMEDOUT, -EIO.
 */
int srv_client_call(struct srv_client *c, const char *method, const char *path, json_t *body,
		    json_t **ret);
/* GET PATH's raw bytes into OUT (a module, a log, a diff). */
int srv_client_get_raw(struct srv_client *c, const char *path, struct strbuf *out);
