/*
 * The HTTPS side of tuxtape-server: libmicrohttpd with GnuTLS, a pool of worker threads each
 * with its own database connections, limits on connections, headers, bodies and time, bearer
 * tokens (and client certificates for machine roles), dispatch through the route table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "fileio.h"
#include "log.h"
#include "server/cache.h"
#include "server/auth.h"
#include "server/kernel_change.h"
#include "server/route.h"
#include "server/server.h"
#include "server/state.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

#define PEM_MAX (1024 * 1024)
#define URL_MAX 2048
#define CAPTURE_MAX 1024
/* The least body a request refused at its headers may send to be read and dropped (below). */
#define DISCARD_MIN ((size_t)16 * 1024 * 1024)

struct srv {
	struct srv_ctx ctx;
	struct MHD_Daemon *daemon;
	char *cert, *key, *trust;
	pthread_key_t worker_key;
	bool have_key;
	unsigned port;
};

/* One request, from its headers to the end of its response. */
struct http_req {
	struct timespec start;
	int route; /* index in srv_routes, -1 none */
	const struct srv_route *rt;
	char path[URL_MAX];
	char *segs[SRV_MAX_SEGMENTS];
	size_t n_segs;
	const char *params[SRV_MAX_PARAMS];
	struct srv_principal who;
	bool authenticated;
	bool responded;
	bool too_big;
	unsigned status;
	/* A refusal decided at the headers, answered once the body is read and dropped. */
	unsigned refused;
	const char *refused_msg; /* static text; NULL with 405: the Allow answer */
	size_t dropped;
	struct strbuf body;
	char remote[64];
	/* "METHOD /whole/path" for the debug log (path is split in place); NULL below debug. */
	char *what;
};

/* ---- log capture: a library message logged during a request becomes its error ---- */

static __thread bool capture_on;
static __thread char capture_msg[CAPTURE_MAX];

bool srv_log_capture(enum tt_log_level level, const char *msg)
{
	if (!capture_on)
		return false;
	if (level <= TT_LOG_ERR && !capture_msg[0])
		snprintf(capture_msg, sizeof(capture_msg), "%s", msg);
	return level <= TT_LOG_WARN;
}

const char *srv_captured_error(void)
{
	return capture_msg[0] ? capture_msg : NULL;
}

/* ---- per-thread connections ---- */

static void worker_free(void *p)
{
	struct srv_worker *w = p;

	if (!w)
		return;
	srv_cache_free(w->cves);
	tt_store_free(w->cve);
	srv_state_free(w->state);
	free(w);
}

int srv_worker_get(struct srv_ctx *ctx, struct srv_worker **ret)
{
	struct srv_worker *w = pthread_getspecific(ctx->srv->worker_key);
	int r;

	if (w) {
		*ret = w;
		return 0;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	r = tt_store_open(ctx->cfg.db_path, 0, &w->cve);
	if (r == 0)
		r = srv_state_open(ctx->cfg.state_path, &w->state);
	if (r == 0 && pthread_setspecific(ctx->srv->worker_key, w) != 0)
		r = -ENOMEM;
	if (r < 0) {
		worker_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

/* ---- responses ---- */

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static enum MHD_Result queue(struct MHD_Connection *c, struct http_req *rq, unsigned status,
			     char *buf, size_t len, const char *type, const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"tuxtape\"");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	rq->responded = true;
	rq->status = status;
	return ret;
}

/* Sends J (stolen) as the CLI prints it: two-space indent, ordered keys, a final newline. */
static enum MHD_Result queue_json(struct MHD_Connection *c, struct http_req *rq, unsigned status,
				  json_t *j, const char *allow)
{
	char *s = j ? json_dumps(j, SRV_JSON_FLAGS) : NULL;
	size_t len;
	char *buf;

	json_decref(j);
	if (!s) {
		s = strdup("{\"error\": \"out of memory\"}");
		status = 503;
		if (!s)
			return MHD_NO;
	}
	len = strlen(s);
	buf = realloc(s, len + 2);
	if (!buf) {
		free(s);
		return MHD_NO;
	}
	buf[len++] = '\n';
	buf[len] = '\0';
	return queue(c, rq, status, buf, len, "application/json", allow);
}

static enum MHD_Result queue_error(struct MHD_Connection *c, struct http_req *rq, unsigned status,
				   const char *msg)
{
	return queue_json(c, rq, status, json_pack("{s:s}", "error", msg), NULL);
}

/* ---- the request's pieces ---- */

static void remote_address(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		} else if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			port = ntohs(in6->sin6_port);
		}
	}
	snprintf(buf, len, "%s:%u", host, port);
}

/* With --tls-client-ca, a machine role's token counts only with a verified certificate whose
 * common name is the token's name: a stolen agent token alone is not enough. */
static int check_client_cert(struct MHD_Connection *c, const char *name)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t session = ci ? (gnutls_session_t)ci->tls_session : NULL;
	const gnutls_datum_t *certs;
	unsigned status = 0, n = 0;
	gnutls_x509_crt_t crt;
	char cn[128];
	size_t cn_len = sizeof(cn);
	int r;

	if (!session || gnutls_certificate_verify_peers2(session, &status) < 0 || status)
		return -EACCES;
	certs = gnutls_certificate_get_peers(session, &n);
	if (!certs || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return -EACCES;
	r = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
	if (r == 0)
		r = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn,
						  &cn_len);
	gnutls_x509_crt_deinit(crt);
	if (r < 0 || !streq(cn, name))
		return -EACCES;
	return 0;
}

/* Returns 0, or the status of the refusal with its message in *MSG. */
static unsigned authenticate(struct srv *s, struct MHD_Connection *c, struct http_req *rq,
			     const char **msg)
{
	const char *h = srv_bearer_token(
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
		msg);
	struct srv_worker *w;
	int r;

	if (!h)
		return 401;
	r = srv_worker_get(&s->ctx, &w);
	if (r < 0) {
		*msg = "the server cannot open its databases";
		return 503;
	}
	r = srv_token_lookup(w->state, h, &rq->who);
	if (r == -EKEYREVOKED) {
		*msg = "this token was revoked";
		return 401;
	}
	if (r < 0) {
		*msg = r == -ENOENT ? "unknown token" : "the token could not be checked";
		return r == -ENOENT ? 401 : 503;
	}
	if (s->ctx.cfg.tls_client_ca &&
	    (rq->who.role == SRV_ROLE_AGENT || rq->who.role == SRV_ROLE_BUILDER) &&
	    check_client_cert(c, rq->who.name) < 0) {
		*msg = "this token needs a client certificate issued to its name";
		return 401;
	}
	rq->authenticated = true;
	if (!(rq->rt->roles & SRV_ROLE_BIT(rq->who.role))) {
		*msg = "this token's role may not call this endpoint";
		return 403;
	}
	return 0;
}

struct query_check {
	const struct srv_route *rt;
	const char *bad;
	unsigned n;
};

static enum MHD_Result query_known(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct query_check *qc = cls;

	qc->n++;
	if (srv_query_known(qc->rt, key))
		return MHD_YES;
	qc->bad = key;
	return MHD_NO;
}

static const char *query_get(struct srv_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result dispatch(struct srv *s, struct MHD_Connection *c, struct http_req *rq)
{
	struct srv_request req = {
		.route = rq->rt,
		.query = query_get,
		.conn = c,
		.who = rq->authenticated ? &rq->who : NULL,
		.ctx = &s->ctx,
	};
	struct query_check qc = {.rt = rq->rt};
	struct strbuf text = STRBUF_INIT;
	json_t *out = NULL;
	unsigned status;
	char err[256];
	int r;

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_known, &qc);
	if (qc.bad) {
		_cleanup_free_ char *m = strdup_printf("unknown query parameter '%.64s'", qc.bad);

		return queue_error(c, rq, 400, m ? m : "unknown query parameter");
	}
	status = srv_body_parse(
		rq->rt,
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
		strbuf_str(&rq->body), rq->body.len, &req.body, err, sizeof(err));
	if (status)
		return queue_error(c, rq, status, err);
	memcpy(req.params, rq->params, sizeof(req.params));
	if (req.who)
		req.actor = (struct srv_actor){req.who->name, srv_role_to_string(req.who->role),
					       req.who->token_id, rq->remote, req.who->person};
	else
		req.actor = (struct srv_actor){"anonymous", NULL, 0, rq->remote};
	req.text = &text;
	strbuf_init(&text, 0);

	r = srv_worker_get(&s->ctx, &req.w);
	if (r < 0) {
		json_decref(req.body);
		return queue_error(c, rq, 503, "the server cannot open its databases");
	}
	capture_on = true;
	capture_msg[0] = '\0';
	status = rq->rt->handler(&req, &out);
	capture_on = false;
	/* After the write: this worker's next GET /v1/cves stamps with the new count. */
	if (rq->rt->writes_cve)
		atomic_fetch_add(&s->ctx.cve_writes, 1);
	json_decref(req.body);
	if (req.content_type && !out) {
		size_t len = text.len;

		return queue(c, rq, status, strbuf_detach(&text), len, req.content_type, NULL);
	}
	strbuf_release(&text);
	return queue_json(c, rq, status, out, NULL);
}

static enum MHD_Result allow_header(struct MHD_Connection *c, struct http_req *rq)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *j;
	enum MHD_Result ret;

	/* Every method some route has for this path. */
	for (size_t i = 0; i < srv_n_routes; i++) {
		const char *params[SRV_MAX_PARAMS];
		bool matched;
		const struct srv_route *rt = srv_route_match(srv_routes[i].method, rq->segs,
							     rq->n_segs, params, &matched);

		if (rt == &srv_routes[i])
			strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", rt->method);
	}
	j = json_pack("{s:s}", "error", "method not allowed");
	ret = queue_json(c, rq, 405, j, strbuf_str(&sb));
	strbuf_release(&sb);
	return ret;
}

/* Bytes of body a refused request may send before the connection is dropped. */
static size_t discard_max(const struct srv *s)
{
	return s->ctx.cfg.max_body > DISCARD_MIN / 2 ? 2 * s->ctx.cfg.max_body : DISCARD_MIN;
}

/*
 * A refusal known from the headers alone (no such path, a body too large, no token, a role
 * that may not call the route).  Answered now, libmicrohttpd stops reading and closes the
 * connection with the body still arriving; the client's TCP stack then meets a reset and may
 * drop the answer before the client reads it (curl fails with "connection reset" instead of
 * showing the 413).  So when a body is on its way and the client is not waiting for a
 * "100 Continue", the body is read and dropped (at most discard_max() bytes, within the
 * request timeout) and the answer follows it.  A body declared larger than that is answered
 * at once: such a client may see the reset, but the server does not read it.
 */
static enum MHD_Result refuse(struct srv *s, struct MHD_Connection *c, struct http_req *rq,
			      unsigned status, const char *msg)
{
	const char *cl =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	const char *expect =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
	unsigned long long len = cl ? strtoull(cl, NULL, 10) : 0;
	bool body = te || len > 0;

	if (body && !expect && len <= discard_max(s)) {
		rq->refused = status;
		rq->refused_msg = msg;
		return MHD_YES;
	}
	if (status == 405 && !msg)
		return allow_header(c, rq);
	return queue_error(c, rq, status, msg);
}

/*
 * "METHOD PATH" as the client sent them, for the log: at most URL_MAX bytes of the path, and
 * a byte that is not printable ASCII (a decoded %0a, say) shown as '?', so that one request
 * is one line of the log.
 */
static char *request_what(const char *method, const char *url)
{
	char *w = strdup_printf("%.16s %.*s", method ? method : "?", URL_MAX, url ? url : "");

	for (char *p = w; p && *p; p++)
		if (*p < ' ' || *p > '~')
			*p = '?';
	return w;
}

/* The first call of a request: its headers are in. */
static enum MHD_Result on_headers(struct srv *s, struct MHD_Connection *c, struct http_req *rq,
				  const char *url, const char *method)
{
	const char *cl, *msg = NULL;
	bool path_matched;
	unsigned status;

	remote_address(c, rq->remote, sizeof(rq->remote));
	if (srv_path_split(url, rq->path, sizeof(rq->path), rq->segs, &rq->n_segs) < 0)
		return refuse(s, c, rq, 404, "no such endpoint");
	rq->rt = srv_route_match(method, rq->segs, rq->n_segs, rq->params, &path_matched);
	if (!rq->rt) {
		if (path_matched)
			return refuse(s, c, rq, 405, NULL);
		return refuse(s, c, rq, 404, "no such endpoint");
	}
	rq->route = (int)(rq->rt - srv_routes);
	for (unsigned i = 0; i < SRV_MAX_PARAMS && rq->params[i]; i++)
		if (strlen(rq->params[i]) > 128)
			return refuse(s, c, rq, 404, "no such object");
	/* Refuse without keeping a byte of the body: its size, then who sends it. */
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > s->ctx.cfg.max_body)
		return refuse(s, c, rq, 413, "the body is larger than this server accepts");
	if (!rq->rt->public) {
		status = authenticate(s, c, rq, &msg);
		if (status)
			return refuse(s, c, rq, status, msg);
	}
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct srv *s = cls;
	struct http_req *rq = *con_cls;

	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &rq->start);
		rq->route = -1;
		strbuf_init(&rq->body, s->ctx.cfg.max_body);
		*con_cls = rq;
		if (tt_log_get_level() >= TT_LOG_DEBUG)
			rq->what = request_what(method, url);
		return on_headers(s, c, rq, url, method);
	}
	if (rq->responded) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* A slow sender gets the whole request timeout, not a new one per byte. */
		if (elapsed(&rq->start) > s->ctx.cfg.request_timeout)
			return MHD_NO;
		if (rq->refused || rq->too_big) {
			/* Dropped; past the bound the connection goes, unanswered. */
			rq->dropped += *upload_data_size;
			if (rq->dropped > discard_max(s))
				return MHD_NO;
		} else if (strbuf_add(&rq->body, upload_data, *upload_data_size) < 0) {
			rq->too_big = true;
			rq->dropped = rq->body.len + *upload_data_size;
			strbuf_release(&rq->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->refused) {
		if (rq->refused == 405 && !rq->refused_msg)
			return allow_header(c, rq);
		return queue_error(c, rq, rq->refused, rq->refused_msg);
	}
	if (rq->too_big)
		return queue_error(c, rq, 413, "the body is larger than this server accepts");
	return dispatch(s, c, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_req *rq = *con_cls;

	if (!rq)
		return;
	srv_metrics_observe(rq->route, rq->responded ? rq->status : 0, elapsed(&rq->start));
	if (tt_log_get_level() >= TT_LOG_DEBUG)
		log_debug("%s %s %u %.3f ms", rq->remote, rq->what ? rq->what : "?", rq->status,
			  elapsed(&rq->start) * 1e3);
	strbuf_release(&rq->body);
	free(rq->what);
	free(rq);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_init(&sb, 4096);
	strbuf_vaddf(&sb, fmt, ap);
	while (sb.len && sb.buf[sb.len - 1] == '\n')
		sb.buf[--sb.len] = '\0';
	log_debug("libmicrohttpd: %s", strbuf_str(&sb));
	strbuf_release(&sb);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss)
{
	_cleanup_free_ char *host = NULL;
	const char *colon = strrchr(listen, ':');
	unsigned long port;
	char *end;

	if (!colon || colon == listen)
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port > 65535)
		return -EINVAL;
	host = strndup(listen, (size_t)(colon - listen));
	if (!host)
		return -ENOMEM;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = '\0';
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : -EINVAL;
}

static int read_pem(const char *path, const char *what, char **ret)
{
	size_t len;
	int r = read_file_capped(path, PEM_MAX, ret, &len);

	if (r < 0)
		return log_error_errno(r, "cannot read %s '%s': %s", what, path, strerror(-r));
	if (!strstr(*ret, "-----BEGIN ")) {
		free(*ret);
		*ret = NULL;
		return log_error_errno(-EINVAL, "%s '%s' is not PEM", what, path);
	}
	return 0;
}

void srv_stop(struct srv *s)
{
	if (!s)
		return;
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	if (s->have_key)
		pthread_key_delete(s->worker_key);
	if (s->key) {
		explicit_bzero(s->key, strlen(s->key));
		free(s->key);
	}
	free(s->cert);
	free(s->trust);
	free(s->ctx.artifact_alloc);
	free(s);
}

unsigned srv_port(struct srv *s)
{
	return s->port;
}

int srv_start(const struct srv_config *cfg, struct srv **ret)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *di;
	struct tt_store *cve = NULL;
	struct srv_state *state = NULL;
	unsigned flags;
	struct srv *s;
	int r;

	if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
		return log_error_errno(-ENOTSUP, "this libmicrohttpd was built without TLS");
	r = parse_listen(cfg->listen, &ss);
	if (r < 0)
		return log_error_errno(r, "--listen: '%s' is not ADDRESS:PORT", cfg->listen);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ctx.cfg = *cfg;
	s->ctx.srv = s;
	if (!s->ctx.cfg.threads)
		s->ctx.cfg.threads = 4;
	if (!s->ctx.cfg.max_connections)
		s->ctx.cfg.max_connections = 256;
	if (!s->ctx.cfg.request_timeout)
		s->ctx.cfg.request_timeout = 30;
	if (!s->ctx.cfg.max_body)
		s->ctx.cfg.max_body = 4 * 1024 * 1024;
	if (!s->ctx.cfg.max_header)
		s->ctx.cfg.max_header = 16 * 1024;
	if (!s->ctx.cfg.node_stale_after)
		s->ctx.cfg.node_stale_after = 300;
	s->ctx.wf = (struct srv_wf_config){
		.approvals = cfg->approvals ? cfg->approvals : 2,
		.allow_untested = cfg->allow_untested,
		.artifact_dir = cfg->artifact_dir,
		.lease_seconds = cfg->lease_seconds ? cfg->lease_seconds : 120,
	};
	if (!cfg->artifact_dir) {
		const char *slash = strrchr(cfg->state_path, '/');

		s->ctx.artifact_alloc =
			slash ? strdup_printf("%.*s/artifacts", (int)(slash - cfg->state_path),
					      cfg->state_path)
			      : strdup("artifacts");
		if (!s->ctx.artifact_alloc) {
			free(s);
			return -ENOMEM;
		}
		s->ctx.wf.artifact_dir = s->ctx.artifact_alloc;
	}

	/* Open both databases here so that a bad path or schema stops the start, not a request. */
	r = tt_store_open(cfg->db_path, 0, &cve);
	tt_store_free(cve);
	if (r == 0)
		r = srv_state_open(cfg->state_path, &state);
	srv_state_free(state);
	if (r == 0)
		r = read_pem(cfg->tls_cert, "certificate", &s->cert);
	if (r == 0)
		r = read_pem(cfg->tls_key, "key", &s->key);
	if (r == 0 && cfg->tls_client_ca)
		r = read_pem(cfg->tls_client_ca, "client CA", &s->trust);
	/* A publish or withdrawal the last run left half done is completed before any request. */
	if (r == 0)
		r = srv_archive_recover(&s->ctx);
	/* So is a kernel change whose audit record the last run did not write. */
	if (r == 0)
		r = srv_kernel_recover(cfg->db_path, cfg->state_path);
	if (r < 0)
		goto fail;
	if (pthread_key_create(&s->worker_key, worker_free) != 0) {
		r = -ENOMEM;
		goto fail;
	}
	s->have_key = true;

	flags = MHD_USE_TLS | MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_HTTPS_MEM_CERT, s->cert,
		MHD_OPTION_HTTPS_MEM_KEY, s->key, MHD_OPTION_HTTPS_PRIORITIES,
		"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", MHD_OPTION_THREAD_POOL_SIZE,
		s->ctx.cfg.threads, MHD_OPTION_CONNECTION_LIMIT, s->ctx.cfg.max_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, s->ctx.cfg.request_timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		/* The pool holds the request line and headers plus the read and write buffers. */
		s->ctx.cfg.max_header + (size_t)4 * 1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
		s,
		/* Last: without a client CA this ends the list. */
		s->trust ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, s->trust, MHD_OPTION_END);
	if (!s->daemon) {
		r = log_error_errno(
			-EADDRNOTAVAIL,
			"cannot listen on '%s' with this certificate and key "
			"(in use, not an address of this machine, or a bad key; -vv says)",
			cfg->listen);
		goto fail;
	}
	di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : 0;
	*ret = s;
	return 0;
fail:
	srv_stop(s);
	return r;
}
