/*
 * Prometheus metrics: requests by route and status, latency histograms by route (lock-free
 * counters the worker threads add to), and the fleet's nodes by state read at scrape time.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "server/node.h"
#include "server/route.h"
#include "server/workflow.h"
#include "banned.h"

#define METRICS_MAX_ROUTES 64

static const unsigned codes[] = {200, 201, 204, 400, 401, 403, 404, 405, 408,
				 409, 413, 415, 429, 431, 500, 501, 503};
#define N_CODES (ARRAY_SIZE(codes) + 1) /* the last slot: any other status */

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				 0.05,	 0.1,	0.25,	0.5,   1,    2.5};
#define N_BUCKETS (ARRAY_SIZE(buckets) + 1) /* +Inf */

struct route_metrics {
	uint64_t requests[N_CODES];
	uint64_t le[N_BUCKETS]; /* non-cumulative here, summed when rendered */
	uint64_t sum_us;
};

/* One slot per route, and one for requests that matched none. */
static struct route_metrics metrics[METRICS_MAX_ROUTES + 1];

_Static_assert(METRICS_MAX_ROUTES >= 32, "room for the route table");

void srv_metrics_observe(int route, unsigned status, double seconds)
{
	struct route_metrics *m;
	size_t c, b;

	if (route < 0 || (size_t)route >= srv_n_routes || route >= METRICS_MAX_ROUTES)
		route = METRICS_MAX_ROUTES;
	m = &metrics[route];
	for (c = 0; c < ARRAY_SIZE(codes) && codes[c] != status; c++)
		;
	for (b = 0; b < ARRAY_SIZE(buckets) && seconds > buckets[b]; b++)
		;
	__atomic_fetch_add(&m->requests[c], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->le[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->sum_us, (uint64_t)(seconds * 1e6), __ATOMIC_RELAXED);
}

static void route_label(struct strbuf *out, int i)
{
	if (i == METRICS_MAX_ROUTES)
		strbuf_adds(out, "route=\"unmatched\"");
	else
		strbuf_addf(out, "route=\"%s %s\"", srv_routes[i].method, srv_routes[i].path);
}

int srv_metrics_render(struct srv_request *rq, struct strbuf *out)
{
	unsigned long nodes[_SRV_NODE_STATE_MAX], patches[_SRV_PATCH_STATE_MAX],
		jobs[_SRV_JOB_STATE_MAX];
	int r;

	strbuf_adds(out, "# HELP tuxtape_http_requests_total HTTP requests by route and status.\n"
			 "# TYPE tuxtape_http_requests_total counter\n");
	for (int i = 0; i <= METRICS_MAX_ROUTES; i++) {
		if (i < METRICS_MAX_ROUTES && (size_t)i >= srv_n_routes)
			continue;
		for (size_t c = 0; c < N_CODES; c++) {
			uint64_t n = __atomic_load_n(&metrics[i].requests[c], __ATOMIC_RELAXED);

			if (!n)
				continue;
			strbuf_adds(out, "tuxtape_http_requests_total{");
			route_label(out, i);
			if (c < ARRAY_SIZE(codes))
				strbuf_addf(out, ",code=\"%u\"} %llu\n", codes[c],
					    (unsigned long long)n);
			else
				strbuf_addf(out, ",code=\"other\"} %llu\n", (unsigned long long)n);
		}
	}
	strbuf_adds(out, "# HELP tuxtape_http_request_duration_seconds Time from the request's "
			 "headers to its response, by route.\n"
			 "# TYPE tuxtape_http_request_duration_seconds histogram\n");
	for (int i = 0; i <= METRICS_MAX_ROUTES; i++) {
		uint64_t cum = 0;

		if (i < METRICS_MAX_ROUTES && (size_t)i >= srv_n_routes)
			continue;
		for (size_t b = 0; b < N_BUCKETS; b++) {
			cum += __atomic_load_n(&metrics[i].le[b], __ATOMIC_RELAXED);
			strbuf_adds(out, "tuxtape_http_request_duration_seconds_bucket{");
			route_label(out, i);
			if (b < ARRAY_SIZE(buckets))
				strbuf_addf(out, ",le=\"%g\"} %llu\n", buckets[b],
					    (unsigned long long)cum);
			else
				strbuf_addf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		}
		strbuf_adds(out, "tuxtape_http_request_duration_seconds_sum{");
		route_label(out, i);
		strbuf_addf(out, "} %.6f\n",
			    (double)__atomic_load_n(&metrics[i].sum_us, __ATOMIC_RELAXED) / 1e6);
		strbuf_adds(out, "tuxtape_http_request_duration_seconds_count{");
		route_label(out, i);
		strbuf_addf(out, "} %llu\n", (unsigned long long)cum);
	}
	r = srv_node_count(rq->w->state, rq->ctx->cfg.node_stale_after, nodes);
	if (r < 0)
		return r;
	strbuf_adds(out, "# HELP tuxtape_fleet_nodes Nodes by state (stale: no heartbeat lately).\n"
			 "# TYPE tuxtape_fleet_nodes gauge\n");
	for (unsigned k = 0; k < _SRV_NODE_STATE_MAX; k++)
		strbuf_addf(out, "tuxtape_fleet_nodes{state=\"%s\"} %lu\n",
			    srv_node_state_to_string(k), nodes[k]);
	r = srv_workflow_count(rq->w->state, patches, jobs);
	if (r < 0)
		return r;
	strbuf_addf(out, "# HELP tuxtape_build_queue_depth Build jobs waiting for a builder.\n"
			 "# TYPE tuxtape_build_queue_depth gauge\n"
			 "tuxtape_build_queue_depth %lu\n",
		    jobs[SRV_JOB_QUEUED]);
	strbuf_adds(out, "# HELP tuxtape_jobs Build jobs by state.\n# TYPE tuxtape_jobs gauge\n");
	for (unsigned k = 0; k < _SRV_JOB_STATE_MAX; k++)
		strbuf_addf(out, "tuxtape_jobs{state=\"%s\"} %lu\n", srv_job_state_to_string(k),
			    jobs[k]);
	strbuf_adds(out, "# HELP tuxtape_patches Patches by review state.\n"
			 "# TYPE tuxtape_patches gauge\n");
	for (unsigned k = 0; k < _SRV_PATCH_STATE_MAX; k++)
		strbuf_addf(out, "tuxtape_patches{state=\"%s\"} %lu\n",
			    srv_patch_state_to_string(k), patches[k]);
	return out->buf ? 0 : -ENOMEM;
}
