/*
 * libFuzzer target for what tuxtape-server reads of a request: the first byte picks the
 * path and route match, the query parameters of a GET endpoint (through its handler), the
 * Authorization header, or the JSON body of a POST endpoint (through its handler, which
 * reads it strictly: workflow, reviews, builders, leases, the builder's result upload with
 * its base64 module, build requests, heartbeats and status events, kernels). The query and
 * body inputs name their endpoint by its path pattern on their first line.
 *
 * The handlers run as http.c runs them, on real SQLite databases in a temporary directory;
 * a POST gets a fresh in-memory state database each time so that one input replays alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"
#include "server/auth.h"
#include "server/cache.h"
#include "server/route.h"
#include "server/state.h"
#include "store/store.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define URL_MAX 2048 /* as http.c */

enum { MODE_PATH, MODE_QUERY, MODE_AUTH, MODE_BODY, _MODE_MAX };

static struct {
	bool ready;
	char dir[64];
	struct srv_ctx ctx;
	struct srv_worker w; /* the CVE database, a state database holding TOKEN */
	char *token;
	const char *query_names[16];
	const char *query_values[16];
	size_t n_query;
} F;

static void teardown(void)
{
	srv_state_free(F.w.state);
	tt_store_free(F.w.cve);
	srv_cache_free(F.w.cves);
	free(F.token);
	rm_rf(F.dir);
}

static void setup(void)
{
	struct srv_actor local = {"fuzz", NULL, 0, "local", NULL};
	char path[128];

	tt_log_set(NULL, NULL, TT_LOG_ERR); /* NULL drops them: still formatted */
	snprintf(F.dir, sizeof(F.dir), "/tmp/fuzz-server-XXXXXX");
	if (!mkdtemp(F.dir))
		abort();
	snprintf(path, sizeof(path), "%s/cve.db", F.dir);
	if (tt_store_open(path, 0, &F.w.cve) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/state.db", F.dir);
	if (srv_state_open(path, &F.w.state) < 0)
		abort();
	if (srv_token_create(F.w.state, "fuzz-builder", NULL, SRV_ROLE_BUILDER, &local,
			     &F.token) < 0)
		abort();
	F.ctx.cfg.db_path = "cve.db";
	F.ctx.cfg.node_stale_after = 300;
	F.ctx.cfg.cache_entries = 4;
	F.ctx.wf = (struct srv_wf_config){.approvals = 2, .lease_seconds = 120};
	F.ctx.wf.artifact_dir = F.dir;
	F.ready = true;
	atexit(teardown);
}

static const char *query_get(struct srv_request *rq, const char *name)
{
	for (size_t i = 0; i < F.n_query; i++)
		if (strcmp(F.query_names[i], name) == 0)
			return F.query_values[i];
	return NULL;
}

/* NUL-terminated copy of the input's bytes (the HTTP layer hands strings over). */
static char *text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A handler's answer is a status with a JSON body, an error one naming the error, or text. */
static void check_answer(const struct srv_route *rt, unsigned status, json_t *out,
			 struct srv_request *rq)
{
	if (status < 200 || status > 599)
		abort();
	if (rq->content_type && !out)
		return;
	if (!out)
		abort();
	if (status >= 400 && !json_is_string(json_object_get(out, "error")))
		abort();
	if (status < 400 && !json_is_object(out) && !json_is_array(out))
		abort();
	(void)rt;
}

static void run_handler(const struct srv_route *rt, const char **params, json_t *body,
			struct srv_worker *w)
{
	struct srv_principal who = {.token_id = 1, .role = SRV_ROLE_ADMIN};
	struct strbuf out_text = STRBUF_INIT;
	struct srv_request rq = {
		.route = rt,
		.query = query_get,
		.body = body,
		.who = &who,
		.ctx = &F.ctx,
		.w = w,
		.text = &out_text,
	};
	json_t *out = NULL;
	unsigned status;

	snprintf(who.name, sizeof(who.name), "fuzz-builder");
	snprintf(who.person, sizeof(who.person), "fuzz");
	memcpy(rq.params, params, sizeof(rq.params));
	rq.actor = (struct srv_actor){who.name, srv_role_to_string(who.role), who.token_id,
				      "127.0.0.1:1", who.person};
	status = rt->handler(&rq, &out);
	check_answer(rt, status, out, &rq);
	json_decref(out);
	strbuf_release(&out_text);
}

/*
 * The route an input names: its first line is a route's path pattern ("/v1/jobs/{id}"),
 * so that seeds stay on their endpoint when routes are added; any other line picks one by
 * its bytes. *DATA and *SIZE move past the line.
 */
static const struct srv_route *pick_route(const struct srv_route **routes, size_t n,
					  const uint8_t **data, size_t *size)
{
	const uint8_t *nl = memchr(*data, '\n', *size);
	size_t len = nl ? (size_t)(nl - *data) : *size;
	unsigned h = 0;

	for (size_t i = 0; i < n; i++)
		if (strlen(routes[i]->path) == len && memcmp(routes[i]->path, *data, len) == 0)
			h = (unsigned)i + 1;
	if (!h)
		for (size_t i = 0; i < len; i++)
			h = h * 31 + (*data)[i];
	*data += nl ? len + 1 : len;
	*size -= nl ? len + 1 : len;
	return routes[(h ? h - 1 : 0) % n];
}

/* "METHOD\nURL": split and matched as on_headers() does, and the Allow list of a 405. */
static void fuzz_path(const uint8_t *data, size_t size)
{
	char *in = text(data, size), *url = strchr(in, '\n'), path[URL_MAX], *segs[SRV_MAX_SEGMENTS];
	const char *method = "GET", *params[SRV_MAX_PARAMS] = {};
	const struct srv_route *rt;
	size_t n_segs = 0;
	bool matched;

	if (url) {
		*url++ = '\0';
		method = in;
	} else {
		url = in;
	}
	if (srv_path_split(url, path, sizeof(path), segs, &n_segs) < 0)
		goto out;
	if (n_segs > SRV_MAX_SEGMENTS)
		abort();
	/* The segments joined again are the URL, and none names a directory. */
	{
		struct strbuf sb = STRBUF_INIT;

		for (size_t i = 0; i < n_segs; i++) {
			if (!*segs[i] || strchr(segs[i], '/') || !strcmp(segs[i], ".") ||
			    !strcmp(segs[i], ".."))
				abort();
			strbuf_addf(&sb, "/%s", segs[i]);
		}
		if (strcmp(n_segs ? strbuf_str(&sb) : "/", url) != 0)
			abort();
		strbuf_release(&sb);
	}
	rt = srv_route_match(method, segs, n_segs, params, &matched);
	if (rt) {
		const char *p = rt->path + 1;
		size_t k = 0, np = 0;

		if (!matched || strcmp(rt->method, method) != 0)
			abort();
		/* Every literal segment of the route's path is the request's, in order. */
		while (*p) {
			const char *end = strchrnul(p, '/');

			if (k >= n_segs)
				abort();
			if (*p == '{') {
				if (np >= SRV_MAX_PARAMS || params[np++] != segs[k])
					abort();
			} else if (strlen(segs[k]) != (size_t)(end - p) ||
				   memcmp(segs[k], p, (size_t)(end - p)) != 0) {
				abort();
			}
			k++;
			p = *end ? end + 1 : end;
		}
		if (k != n_segs)
			abort();
	} else if (matched) {
		/* 405: some other method has this path. */
		bool any = false;

		for (size_t i = 0; i < srv_n_routes; i++) {
			bool m;

			any |= srv_route_match(srv_routes[i].method, segs, n_segs, params, &m) ==
			       &srv_routes[i];
		}
		if (!any)
			abort();
	}
out:
	free(in);
}

/* "ROUTE\nPARAM0\nPARAM1\nK=V&K=V...": a GET endpoint's parameters, as the handler reads
 * them after http.c refused unknown names. */
static void fuzz_query(const uint8_t *data, size_t size)
{
	const struct srv_route *gets[64], *rt;
	const char *params[SRV_MAX_PARAMS] = {};
	char *in, *p, *q;
	size_t n = 0;

	for (size_t i = 0; i < srv_n_routes && n < 64; i++)
		if (!strcmp(srv_routes[i].method, "GET"))
			gets[n++] = &srv_routes[i];
	if (!n)
		return;
	rt = pick_route(gets, n, &data, &size);
	in = text(data, size);
	p = in;
	for (unsigned k = 0; k < 2; k++) {
		q = strchr(p, '\n');
		if (!q)
			break;
		*q = '\0';
		params[k] = p;
		p = q + 1;
	}
	/* As on_headers(): a {param} longer than 128 bytes is a 404 before any handler. */
	for (unsigned k = 0; k < SRV_MAX_PARAMS; k++)
		if (params[k] && strlen(params[k]) > 128)
			goto out;
	if (!params[0])
		params[0] = "1";
	if (!params[1])
		params[1] = "log";
	F.n_query = 0;
	for (char *kv = p; kv && *kv && F.n_query < 16;) {
		char *amp = strchr(kv, '&'), *eq;

		if (amp)
			*amp = '\0';
		eq = strchr(kv, '=');
		if (eq)
			*eq = '\0';
		if (!srv_query_known(rt, kv))
			goto out; /* a 400 in http.c */
		/* libmicrohttpd gives a name without '=' no value: the handler sees none. */
		F.query_names[F.n_query] = kv;
		F.query_values[F.n_query++] = eq ? eq + 1 : NULL;
		kv = amp ? amp + 1 : NULL;
	}
	run_handler(rt, params, NULL, &F.w);
out:
	F.n_query = 0;
	free(in);
}

/* The Authorization header; "%t" in it stands for the one valid token. */
static void fuzz_auth(const uint8_t *data, size_t size)
{
	struct strbuf sb = STRBUF_INIT;
	struct srv_principal who;
	const char *msg = NULL, *tok, *t;
	char *in = text(data, size);
	int r;

	t = strstr(in, "%t");
	if (t) {
		strbuf_add(&sb, in, (size_t)(t - in));
		strbuf_adds(&sb, F.token);
		strbuf_adds(&sb, t + 2);
	} else {
		strbuf_adds(&sb, in);
	}
	tok = srv_bearer_token(strbuf_str(&sb), &msg);
	if (!tok) {
		if (!msg)
			abort();
		goto out;
	}
	r = srv_token_lookup(F.w.state, tok, &who);
	/* Only the token itself opens the door. */
	if ((r == 0) != (strcmp(tok, F.token) == 0))
		abort();
	if (r == 0 && (strcmp(who.name, "fuzz-builder") != 0 || who.role != SRV_ROLE_BUILDER))
		abort();
	if (r < 0 && r != -ENOENT)
		abort();
out:
	strbuf_release(&sb);
	free(in);
}

/* "ROUTE\n" TYPE-BYTE then the body of a POST endpoint, parsed as dispatch() does and read
 * by its handler against an empty state database. */
static void fuzz_body(const uint8_t *data, size_t size)
{
	static const char *const types[] = {"application/json", "application/json; charset=utf-8",
					    "text/plain", NULL};
	const struct srv_route *posts[64], *rt;
	const char *params[SRV_MAX_PARAMS] = {"1", NULL};
	struct srv_worker w = {.cve = F.w.cve};
	json_t *body = NULL;
	char err[256] = "";
	unsigned status;
	size_t n = 0;

	for (size_t i = 0; i < srv_n_routes && n < 64; i++)
		if (strcmp(srv_routes[i].method, "GET") != 0)
			posts[n++] = &srv_routes[i];
	if (!n)
		return;
	rt = pick_route(posts, n, &data, &size);
	if (size < 1)
		return;
	status = srv_body_parse(rt, types[data[0] % 4], (const char *)data + 1, size - 1, &body,
				err, sizeof(err));
	if (status) {
		if ((status != 400 && status != 415) || body || !err[0])
			abort();
		return;
	}
	if (rt->body_schema && !json_is_object(body))
		abort();
	if (!rt->body_schema && body)
		abort();
	/* DELETE /v1/kernels/{name} would remove from the shared CVE database: no body to read. */
	if (!rt->body_schema) {
		json_decref(body);
		return;
	}
	if (srv_state_open(":memory:", &w.state) < 0)
		abort();
	run_handler(rt, params, body, &w);
	srv_state_free(w.state);
	json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (256u << 10))
		return 0;
	if (!F.ready)
		setup();
	switch (data[0] % _MODE_MAX) {
	case MODE_PATH:
		fuzz_path(data + 1, size - 1);
		break;
	case MODE_QUERY:
		fuzz_query(data + 1, size - 1);
		break;
	case MODE_AUTH:
		fuzz_auth(data + 1, size - 1);
		break;
	case MODE_BODY:
		fuzz_body(data + 1, size - 1);
		break;
	}
	return 0;
}
