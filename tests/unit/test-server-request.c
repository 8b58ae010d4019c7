/*
 * What tuxtape-server reads of a request before and in its handlers (request.c, the route
 * table), without a listening server; and inputs fuzz/fuzz-server-request found, replayed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"
#include "server/route.h"
#include "server/state.h"
#include "store/store.h"
#include "strbuf.h"

static const struct srv_route *route(const char *method, const char *path)
{
	for (size_t i = 0; i < srv_n_routes; i++)
		if (streq(srv_routes[i].method, method) && streq(srv_routes[i].path, path))
			return &srv_routes[i];
	fail_msg("no route %s %s", method, path);
	return NULL;
}

static void test_path_split(void **state)
{
	char buf[64], *segs[SRV_MAX_SEGMENTS];
	size_t n = 99;

	assert_int_equal(srv_path_split("/v1/jobs/3/log", buf, sizeof(buf), segs, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(segs[0], "v1");
	assert_string_equal(segs[3], "log");
	assert_int_equal(srv_path_split("/", buf, sizeof(buf), segs, &n), 0);
	assert_int_equal(n, 0);
	/* refusals */
	assert_int_equal(srv_path_split("v1/jobs", buf, sizeof(buf), segs, &n), -EINVAL);
	assert_int_equal(srv_path_split("/v1//jobs", buf, sizeof(buf), segs, &n), -EINVAL);
	assert_int_equal(srv_path_split("/v1/jobs/", buf, sizeof(buf), segs, &n), -EINVAL);
	assert_int_equal(srv_path_split("/v1/../cves", buf, sizeof(buf), segs, &n), -EINVAL);
	assert_int_equal(srv_path_split("/v1/./cves", buf, sizeof(buf), segs, &n), -EINVAL);
	assert_int_equal(srv_path_split("/a/b/c/d/e/f/g/h/i", buf, sizeof(buf), segs, &n), -E2BIG);
	assert_int_equal(srv_path_split("/0123456789012345678901234567890123456789012345678901234"
					"567890123",
					buf, sizeof(buf), segs, &n),
			 -EINVAL);
}

static void test_route_match(void **state)
{
	char buf[64], *segs[SRV_MAX_SEGMENTS];
	const char *params[SRV_MAX_PARAMS] = {};
	size_t n;
	bool matched;

	assert_int_equal(srv_path_split("/v1/jobs/7/boot-log", buf, sizeof(buf), segs, &n), 0);
	assert_ptr_equal(srv_route_match("GET", segs, n, params, &matched),
			 route("GET", "/v1/jobs/{id}/{what}"));
	assert_true(matched);
	assert_string_equal(params[0], "7");
	assert_string_equal(params[1], "boot-log");
	/* a path some route has, with another method: 405 */
	assert_null(srv_route_match("PUT", segs, n, params, &matched));
	assert_true(matched);
	/* no such path: 404 */
	assert_int_equal(srv_path_split("/v1/nothing", buf, sizeof(buf), segs, &n), 0);
	assert_null(srv_route_match("GET", segs, n, params, &matched));
	assert_false(matched);
}

static void test_query_known(void **state)
{
	assert_true(srv_query_known(route("GET", "/v1/cves"), "min_score"));
	assert_true(srv_query_known(route("GET", "/v1/audit"), "after"));
	assert_false(srv_query_known(route("GET", "/v1/audit"), "min_score"));
	assert_false(srv_query_known(route("GET", "/v1/kernels"), "limit")); /* takes none */
}

static void test_bearer_token(void **state)
{
	const char *msg = NULL;

	assert_string_equal(srv_bearer_token("Bearer tt_abc", &msg), "tt_abc");
	assert_string_equal(srv_bearer_token("bearer    tt_abc", &msg), "tt_abc");
	assert_null(srv_bearer_token(NULL, &msg));
	assert_non_null(strstr(msg, "a bearer token is needed"));
	assert_null(srv_bearer_token("Basic dXNlcjpwYXNz", &msg));
	assert_string_equal(msg, "only bearer tokens are accepted");
	assert_null(srv_bearer_token("Bearer", &msg));
}

static void test_body_parse(void **state)
{
	const struct srv_route *review = route("POST", "/v1/patches/{id}/reviews");
	const struct srv_route *del = route("DELETE", "/v1/kernels/{name}");
	const char ok[] = "{\"verdict\":\"approve\"}";
	const char dup[] = "{\"verdict\":\"approve\",\"verdict\":\"reject\"}";
	json_t *body = NULL;
	char err[256];

	assert_int_equal(srv_body_parse(review, "application/json; charset=utf-8", ok,
					sizeof(ok) - 1, &body, err, sizeof(err)),
			 0);
	assert_string_equal(json_string_value(json_object_get(body, "verdict")), "approve");
	json_decref(body);
	assert_int_equal(srv_body_parse(del, NULL, "", 0, &body, err, sizeof(err)), 0);
	assert_null(body);
	/* refusals */
	assert_int_equal(srv_body_parse(review, "text/plain", ok, sizeof(ok) - 1, &body, err,
					sizeof(err)),
			 415);
	assert_string_equal(err, "the body must be application/json");
	assert_int_equal(srv_body_parse(review, NULL, ok, sizeof(ok) - 1, &body, err, sizeof(err)),
			 415);
	assert_int_equal(srv_body_parse(review, "application/json", dup, sizeof(dup) - 1, &body,
					err, sizeof(err)),
			 400);
	assert_non_null(strstr(err, "the body is not a JSON object: "));
	assert_int_equal(srv_body_parse(review, "application/json", "[1]", 3, &body, err,
					sizeof(err)),
			 400);
	assert_null(body);
	assert_int_equal(srv_body_parse(review, "application/json", "", 0, &body, err, sizeof(err)),
			 400);
	assert_int_equal(srv_body_parse(del, NULL, "{}", 2, &body, err, sizeof(err)), 400);
	assert_string_equal(err, "this endpoint takes no body");
}

/* ---- handlers on real (in-memory) databases ---- */

static const char *q_name, *q_value;

static const char *query_one(struct srv_request *rq, const char *name)
{
	return q_name && streq(name, q_name) ? q_value : NULL;
}

/* Runs ROUTE's handler with PARAM0 and one query parameter; returns the status. */
static unsigned run(const struct srv_route *rt, const char *param0, const char *qname,
		    const char *qvalue, json_t **ret)
{
	struct srv_ctx ctx = {.cfg = {.node_stale_after = 300, .cache_entries = -1u}};
	struct srv_principal who = {.token_id = 1, .name = "t", .person = "t",
				    .role = SRV_ROLE_ADMIN};
	struct strbuf text = STRBUF_INIT;
	struct srv_worker w = {};
	struct srv_request rq = {.route = rt, .query = query_one, .who = &who, .ctx = &ctx,
				 .w = &w, .text = &text, .params = {param0}};
	unsigned status;

	ctx.wf = (struct srv_wf_config){.approvals = 2, .artifact_dir = "/nonexistent",
					.lease_seconds = 120};
	rq.actor = (struct srv_actor){"t", "admin", 1, "127.0.0.1:1", "t"};
	q_name = qname;
	q_value = qvalue;
	assert_int_equal(tt_store_open(":memory:", 0, &w.cve), 0);
	assert_int_equal(srv_state_open(":memory:", &w.state), 0);
	*ret = NULL;
	status = rt->handler(&rq, ret);
	srv_state_free(w.state);
	tt_store_free(w.cve);
	strbuf_release(&text);
	return status;
}

/*
 * fuzz-server-request found: a request quoting bytes that are not UTF-8 (libmicrohttpd
 * decodes %8e to the byte) in its error made srv_error() return no body, and http.c then
 * answered 503 "out of memory" instead of the 400 the handler meant. Input, mode 1 (query)
 * of GET /v1/jobs: "\001\021\n\nstate=qukev=e\216%d".
 */
static void test_error_not_utf8(void **state)
{
	json_t *out;

	assert_int_equal(run(route("GET", "/v1/jobs"), NULL, "state", "qukev=e\x8e%d", &out), 400);
	assert_non_null(out);
	assert_string_equal(json_string_value(json_object_get(out, "error")),
			    "state: 'qukev=e?%d' is not a known state");
	json_decref(out);
	/* a path segment: GET /v1/cves/%8e */
	assert_int_equal(run(route("GET", "/v1/cves/{id}"), "\x8e\xff", NULL, NULL, &out), 400);
	assert_non_null(out);
	assert_string_equal(json_string_value(json_object_get(out, "error")),
			    "'?\?' is not a CVE id (CVE-YYYY-NNNN)");
	json_decref(out);
	/* UTF-8 is kept as it is */
	assert_int_equal(run(route("GET", "/v1/jobs"), NULL, "state", "d\xc3\xa9j\xc3\xa0", &out),
			 400);
	assert_string_equal(json_string_value(json_object_get(out, "error")),
			    "state: 'd\xc3\xa9j\xc3\xa0' is not a known state");
	json_decref(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_split),   cmocka_unit_test(test_route_match),
		cmocka_unit_test(test_query_known),  cmocka_unit_test(test_bearer_token),
		cmocka_unit_test(test_body_parse),   cmocka_unit_test(test_error_not_utf8),
	};

	tt_log_set(NULL, NULL, TT_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
