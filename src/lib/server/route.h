/* The route table (one entry per method and path, with the roles that may call it) and what
 * a handler sees of a request. Internal to src/lib/server. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "server/auth.h"
#include "server/server.h"
#include "server/workflow.h"
#include "strbuf.h"

struct srv_request;
struct tt_store;
struct srv_state;
struct srv_cache;

#define SRV_MAX_SEGMENTS 8
#define SRV_MAX_PARAMS 4

enum srv_type {
	SRV_T_STRING,
	SRV_T_INTEGER,
	SRV_T_NUMBER,
	SRV_T_BOOLEAN,
};

struct srv_query_param {
	const char *name;
	enum srv_type type;
	const char *description;
};

typedef unsigned (*srv_handler_fn)(struct srv_request *rq, json_t **ret_body);

struct srv_route {
	const char *method;
	const char *path; /* "/v1/kernels/{name}/verdicts": {x} matches one segment */
	unsigned roles;	  /* SRV_ROLE_BIT()s; 0 with public: no token needed */
	bool public;
	srv_handler_fn handler;
	const char *operation_id;
	const char *summary;
	const struct srv_query_param *query; /* ended by a zeroed entry, may be NULL */
	const char *body_schema;	     /* JSON Schema text of the request body, or NULL */
	unsigned ok_status;		     /* 200 or 201 */
	const char *produces;		     /* NULL: application/json */
	bool writes_cve; /* changes the CVE database: cached answers die (cache.h) */
};

extern const struct srv_route srv_routes[];
extern const size_t srv_n_routes;

/* Finds the route for METHOD and PATH (split into segments); *RET_PATH_MATCHED tells 404
 * from 405. PARAMS get the {x} segments in order. */
const struct srv_route *srv_route_match(const char *method, char **segs, size_t n_segs,
					const char **params, bool *ret_path_matched);

/* request.c: what is read of a request before its handler runs. */

/* Copies URL ("/a/b") into BUF and splits it there into at most SRV_MAX_SEGMENTS segments:
 * -EINVAL for a URL not starting with '/', too long for BUF, or with an empty, "." or ".."
 * segment; -E2BIG for too many. */
int srv_path_split(const char *url, char *buf, size_t bufsize, char **segs, size_t *ret_n_segs);
/* Whether route RT takes query parameter KEY. */
bool srv_query_known(const struct srv_route *rt, const char *key);
/* The token of an Authorization header (NULL: none), or NULL with the refusal in *RET_MSG. */
const char *srv_bearer_token(const char *header, const char **ret_msg);
/* The request body of route RT: 0 with the object in *RET_BODY (NULL for a route without a
 * body), or the status of the refusal (400, 415) with its message in ERR. */
unsigned srv_body_parse(const struct srv_route *rt, const char *content_type, const char *body,
			size_t len, json_t **ret_body, char *err, size_t errlen);

/* The server as the handlers see it. */
struct srv_ctx {
	struct srv_config cfg;
	struct srv *srv;
	struct srv_wf_config wf;
	char *artifact_alloc;
	_Atomic uint64_t cve_writes; /* the server's own writes to the CVE database */
};

/* One worker thread's connections, opened on its first request. */
struct srv_worker {
	struct tt_store *cve;
	struct srv_state *state;
	struct srv_cache *cves; /* GET /v1/cves answers, NULL until the first */
};

struct srv_request {
	const struct srv_route *route;
	const char *params[SRV_MAX_PARAMS];
	const char *(*query)(struct srv_request *rq, const char *name);
	void *conn;			 /* the HTTP layer's connection */
	json_t *body;			 /* parsed request body, NULL without one */
	const struct srv_principal *who; /* NULL on a public route */
	struct srv_actor actor;
	struct srv_ctx *ctx;
	struct srv_worker *w;
	struct strbuf *text;	  /* a handler producing text writes here ... */
	const char *content_type; /* ... and names its type */
};

/* Sets *RET_BODY to {"error": MESSAGE} and returns STATUS. */
unsigned srv_error(json_t **ret_body, unsigned status, const char *fmt, ...) _printf_(3, 4);
/* Maps a library error to a status and a body, using the message the library logged. */
unsigned srv_error_errno(json_t **ret_body, int r, const char *context);

/* metrics.c */
void srv_metrics_observe(int route, unsigned status, double seconds);
int srv_metrics_render(struct srv_request *rq, struct strbuf *out);

/* http.c: the message the library logged while this thread handled the request, or NULL. */
const char *srv_captured_error(void);
/* http.c: opens the calling thread's database connections on first use. */
int srv_worker_get(struct srv_ctx *ctx, struct srv_worker **ret);

/* api_workflow.c: completes the archive changes (publish, withdraw) a server that ended
 * mid-change left as intents (workflow.h); called before the server listens. */
int srv_archive_recover(struct srv_ctx *ctx);

/* api_workflow.c: the review workflow, the builders and the build service. */
unsigned srv_h_patch_list(struct srv_request *rq, json_t **ret);
unsigned srv_h_patch_create(struct srv_request *rq, json_t **ret);
unsigned srv_h_patch_show(struct srv_request *rq, json_t **ret);
unsigned srv_h_patch_text(struct srv_request *rq, json_t **ret);
unsigned srv_h_patch_revise(struct srv_request *rq, json_t **ret);
unsigned srv_h_patch_submit(struct srv_request *rq, json_t **ret);
unsigned srv_h_review(struct srv_request *rq, json_t **ret);
unsigned srv_h_publish(struct srv_request *rq, json_t **ret);
unsigned srv_h_withdraw(struct srv_request *rq, json_t **ret);
unsigned srv_h_job_list(struct srv_request *rq, json_t **ret);
unsigned srv_h_job_show(struct srv_request *rq, json_t **ret);
unsigned srv_h_job_artifact(struct srv_request *rq, json_t **ret);
unsigned srv_h_builder_register(struct srv_request *rq, json_t **ret);
unsigned srv_h_job_lease(struct srv_request *rq, json_t **ret);
unsigned srv_h_job_renew(struct srv_request *rq, json_t **ret);
unsigned srv_h_job_result(struct srv_request *rq, json_t **ret);
unsigned srv_h_build_request(struct srv_request *rq, json_t **ret);
