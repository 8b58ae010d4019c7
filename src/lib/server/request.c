/*
 * What the server reads of a request before a handler runs: the path's segments, the query
 * parameters a route knows, the token of an Authorization header and the JSON body. Apart
 * from http.c so that each can be fed bytes without a listening server (fuzz/).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server/route.h"
#include "banned.h"

int srv_path_split(const char *url, char *buf, size_t bufsize, char **segs, size_t *ret_n_segs)
{
	char *p;

	if (strlen(url) >= bufsize || url[0] != '/')
		return -EINVAL;
	memcpy(buf, url, strlen(url) + 1);
	p = buf + 1;
	*ret_n_segs = 0;
	if (!*p)
		return 0;
	for (;;) {
		char *slash = strchr(p, '/');

		if (*ret_n_segs == SRV_MAX_SEGMENTS)
			return -E2BIG;
		if (slash)
			*slash = '\0';
		/* Empty, "." and ".." segments name nothing here. */
		if (!*p || streq(p, ".") || streq(p, ".."))
			return -EINVAL;
		segs[(*ret_n_segs)++] = p;
		if (!slash)
			return 0;
		p = slash + 1;
	}
}

bool srv_query_known(const struct srv_route *rt, const char *key)
{
	for (const struct srv_query_param *q = rt->query; q && q->name; q++)
		if (streq(q->name, key))
			return true;
	return false;
}

const char *srv_bearer_token(const char *header, const char **ret_msg)
{
	if (!header) {
		*ret_msg = "a bearer token is needed (Authorization: Bearer TOKEN)";
		return NULL;
	}
	if (strncasecmp(header, "Bearer ", 7) != 0) {
		*ret_msg = "only bearer tokens are accepted";
		return NULL;
	}
	header += 7;
	while (*header == ' ')
		header++;
	return header;
}

unsigned srv_body_parse(const struct srv_route *rt, const char *content_type, const char *body,
			size_t len, json_t **ret_body, char *err, size_t errlen)
{
	json_error_t e;
	json_t *j;

	*ret_body = NULL;
	if (!rt->body_schema) {
		if (len) {
			snprintf(err, errlen, "this endpoint takes no body");
			return 400;
		}
		return 0;
	}
	if (!content_type || strncasecmp(content_type, "application/json", 16) != 0) {
		snprintf(err, errlen, "the body must be application/json");
		return 415;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (!j || !json_is_object(j)) {
		snprintf(err, errlen, "the body is not a JSON object: %s", e.text);
		json_decref(j);
		return 400;
	}
	*ret_body = j;
	return 0;
}
