/*
 * The API's routes and their handlers: every endpoint, the roles that may call it and the
 * library call behind it. The OpenAPI document and the tests' role matrix read this table.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sodium.h>

#include "applicability/refresh.h"
#include "applicability/verdict.h"
#include "archive/archive.h"
#include "cve/query.h"
#include "fileio.h"
#include "fleet/inventory.h"
#include "log.h"
#include "server/cache.h"
#include "server/exposure.h"
#include "server/kernel_change.h"
#include "server/node.h"
#include "server/route.h"
#include "server/state.h"
#include "store/store.h"
#include "banned.h"

/* Who may call what: people read, an admin changes the inventory and reads the audit log,
 * agents and builders reach only their own endpoints. */
#define R(x) SRV_ROLE_BIT(SRV_ROLE_##x)
#define ROLES_READ (R(VIEWER) | R(AUTHOR) | R(REVIEWER) | R(PUBLISHER) | R(ADMIN))
#define ROLES_ALL ((1u << _SRV_ROLE_MAX) - 1)

#define LIST_DEFAULT_LIMIT 100
#define AUDIT_DEFAULT_LIMIT 100
#define AUDIT_MAX_LIMIT 1000
#define KERNEL_CONFIG_MAX (2 * 1024 * 1024)

unsigned srv_error(json_t **ret_body, unsigned status, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	*ret_body = json_pack("{s:s}", "error", strbuf_str(&sb));
	/* A message quoting the request (a query value, a path segment) may not be UTF-8, which
	 * a JSON string cannot hold: its non-ASCII bytes are shown as '?'. */
	if (!*ret_body && sb.len) {
		for (size_t i = 0; i < sb.len; i++)
			if ((unsigned char)sb.buf[i] >= 0x80)
				sb.buf[i] = '?';
		*ret_body = json_pack("{s:s}", "error", strbuf_str(&sb));
	}
	strbuf_release(&sb);
	return status;
}

unsigned srv_error_errno(json_t **ret_body, int r, const char *context)
{
	const char *msg = srv_captured_error();
	unsigned status;

	switch (r) {
	case -ENOENT:
		status = 404;
		break;
	case -EINVAL:
	case -ENODATA:
		status = 400;
		break;
	case -EEXIST:
		status = 409;
		break;
	case -EBUSY:
		status = 503;
		break;
	case -EPERM:
		status = 403;
		break;
	case -EALREADY:
	case -ESTALE:
		status = 409;
		break;
	default:
		status = 500;
	}
	if (msg)
		return srv_error(ret_body, status, "%s", msg);
	return srv_error(ret_body, status, "%s: %s", context, strerror(-r));
}

/* ---- query parameters ---- */

static int q_count(struct srv_request *rq, const char *name, unsigned long max, unsigned long *ret,
		   json_t **body, unsigned *status)
{
	const char *v = rq->query(rq, name);
	char *end;
	unsigned long n;

	if (!v)
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || n > max) {
		*status = srv_error(body, 400, "%s: '%s' is not a count up to %lu", name, v, max);
		return -EINVAL;
	}
	*ret = n;
	return 1;
}

static int q_bool(struct srv_request *rq, const char *name, bool *ret, json_t **body,
		  unsigned *status)
{
	const char *v = rq->query(rq, name);

	if (!v)
		return 0;
	if (streq(v, "true") || streq(v, "1") || !*v)
		*ret = true;
	else if (streq(v, "false") || streq(v, "0"))
		*ret = false;
	else {
		*status = srv_error(body, 400, "%s: '%s' is not true or false", name, v);
		return -EINVAL;
	}
	return 1;
}

static bool srv_cve_id_valid(const char *id)
{
	size_t n = strlen(id);

	return n >= 13 && n <= 24 && startswith(id, "CVE-") && id[8] == '-' &&
	       strspn(id + 4, "0123456789") == 4 && strspn(id + 9, "0123456789") == n - 9;
}

/* The filters of `tuxtape cve list`, with the same checks. Returns 0 or an error status. */
static unsigned cve_filter_from_query(struct srv_request *rq, struct cve_list_filter *f,
				      json_t **body)
{
	unsigned long limit = LIST_DEFAULT_LIMIT;
	unsigned status = 0;
	const char *v;

	if ((v = rq->query(rq, "min_score"))) {
		char *end;

		errno = 0;
		f->min_score = strtod(v, &end);
		if (!*v || *end || errno || !(f->min_score >= 0 && f->min_score <= 10))
			return srv_error(body, 400, "min_score: '%s' is not a score from 0 to 10",
					 v);
		f->has_min_score = true;
	}
	if ((v = rq->query(rq, "since"))) {
		if (strlen(v) < 4 || strlen(v) > 10 || strspn(v, "0123456789-") != strlen(v))
			return srv_error(body, 400, "since: '%s' is not a date (YYYY-MM-DD)", v);
		f->since = v;
	}
	if ((v = rq->query(rq, "file"))) {
		if (!*v || strlen(v) > 256)
			return srv_error(body, 400, "file: a glob of 1-256 characters");
		f->file_glob = v;
	}
	if (q_bool(rq, "kev", &f->kev_only, body, &status) < 0)
		return status;
	if ((v = rq->query(rq, "state"))) {
		if (!streq(v, "published") && !streq(v, "rejected") && !streq(v, "all"))
			return srv_error(body, 400, "state: '%s' is not published, rejected or all",
					 v);
		f->state = v;
	}
	if (q_count(rq, "limit", 1000000, &limit, body, &status) < 0)
		return status;
	f->limit = limit;
	if ((v = rq->query(rq, "status"))) {
		enum verdict_status vs;

		if (verdict_status_from_string(v, &vs) < 0)
			return srv_error(body, 400,
					 "status: '%s' is not affected, not-compiled, fixed, "
					 "not-affected or unknown",
					 v);
		f->status = v;
	}
	return 0;
}

/* ---- handlers ---- */

static unsigned h_openapi(struct srv_request *rq, json_t **ret)
{
	int r = srv_openapi(ret);

	return r < 0 ? srv_error_errno(ret, r, "generating the OpenAPI document") : 200;
}

static unsigned h_whoami(struct srv_request *rq, json_t **ret)
{
	*ret = json_pack("{s:s s:s s:s s:I s:s}", "name", rq->who->name, "person",
			 rq->who->person, "role", srv_role_to_string(rq->who->role), "token_id",
			 (json_int_t)rq->who->token_id, "remote", rq->actor.remote);
	return 200;
}

static unsigned h_metrics(struct srv_request *rq, json_t **ret)
{
	int r = srv_metrics_render(rq, rq->text);

	if (r < 0)
		return srv_error_errno(ret, r, "rendering metrics");
	rq->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return 200;
}

/*
 * The CVE database's version as this worker's connection sees it: PRAGMA data_version moves
 * when another connection commits (another worker, `tuxtape cve sync` in another process), and
 * the server's write count covers this connection's own commits, which it does not see.
 */
static int cve_list_stamp(struct srv_request *rq, struct srv_cache_stamp *ret)
{
	int64_t v;
	int r;

	r = tt_store_data_version(rq->w->cve, &v);
	if (r < 0)
		return r;
	ret->data_version = v;
	ret->writes = atomic_load(&rq->ctx->cve_writes);
	return 0;
}

static unsigned h_cve_list(struct srv_request *rq, json_t **ret)
{
	_cleanup_free_ char *text = NULL;
	struct cve_list_filter f = {};
	struct strbuf key = STRBUF_INIT;
	struct srv_cache_stamp stamp;
	const char *hit;
	unsigned status;
	size_t len;
	int r;

	status = cve_filter_from_query(rq, &f, ret);
	if (status)
		return status;
	if ((f.kernel = rq->query(rq, "kernel")) && !*f.kernel)
		return srv_error(ret, 400, "kernel: a kernel name");
	if (f.status && !f.kernel)
		return srv_error(ret, 400, "status needs kernel");
	if (rq->ctx->cfg.cache_entries == -1u)
		goto uncached;
	if (!rq->w->cves && srv_cache_new(rq->ctx->cfg.cache_entries, &rq->w->cves) < 0)
		goto uncached;
	if (cve_list_stamp(rq, &stamp) < 0)
		goto uncached;
	/* The key: every parameter the route takes, in the table's order, length-prefixed. */
	for (const struct srv_query_param *q = rq->route->query; q && q->name; q++) {
		const char *v = rq->query(rq, q->name);

		if (v)
			strbuf_addf(&key, "%s=%zu:%s&", q->name, strlen(v), v);
	}
	hit = srv_cache_get(rq->w->cves, strbuf_str(&key), &stamp, &len);
	if (hit) {
		strbuf_add(rq->text, hit, len);
		rq->content_type = "application/json";
		strbuf_release(&key);
		return 200;
	}
	r = cve_query_list(rq->w->cve, &f, ret);
	if (r < 0) {
		strbuf_release(&key);
		return srv_error_errno(ret, r, "listing CVEs");
	}
	/* Serialised once, as http.c would, and kept as the bytes sent. */
	text = json_dumps(*ret, SRV_JSON_FLAGS);
	if (text) {
		json_decref(*ret);
		*ret = NULL;
		strbuf_adds(rq->text, text);
		strbuf_adds(rq->text, "\n");
		rq->content_type = "application/json";
		srv_cache_put(rq->w->cves, strbuf_str(&key), &stamp, strbuf_str(rq->text),
			      rq->text->len);
	}
	strbuf_release(&key);
	return 200;
uncached:
	strbuf_release(&key);
	r = cve_query_list(rq->w->cve, &f, ret);
	return r < 0 ? srv_error_errno(ret, r, "listing CVEs") : 200;
}

static unsigned h_cve_stats(struct srv_request *rq, json_t **ret)
{
	int r = cve_query_stats(rq->w->cve, ret);

	return r < 0 ? srv_error_errno(ret, r, "counting CVEs") : 200;
}

static unsigned h_cve_show(struct srv_request *rq, json_t **ret)
{
	const char *id = rq->params[0];
	int r;

	if (!srv_cve_id_valid(id))
		return srv_error(ret, 400, "'%s' is not a CVE id (CVE-YYYY-NNNN)", id);
	r = cve_query_show(rq->w->cve, id, ret);
	if (r == -ENOENT)
		return srv_error(ret, 404, "no CVE '%s' in the database", id);
	return r < 0 ? srv_error_errno(ret, r, "reading the CVE") : 200;
}

static unsigned h_cve_exposure(struct srv_request *rq, json_t **ret)
{
	enum srv_exposure only = _SRV_EXPOSURE_MAX;
	const char *id = rq->params[0], *q = rq->query(rq, "exposure");
	int r;

	if (!srv_cve_id_valid(id))
		return srv_error(ret, 400, "'%s' is not a CVE id (CVE-YYYY-NNNN)", id);
	if (q && srv_exposure_from_string(q, &only) < 0)
		return srv_error(ret, 400,
				 "exposure: '%.32s' is not exposed, patched, not-exposed or unknown",
				 q);
	r = srv_cve_exposure(rq->w->cve, rq->w->state, id, rq->ctx->cfg.node_stale_after, only,
			     ret);
	return r < 0 ? srv_error_errno(ret, r, "judging the fleet's exposure") : 200;
}

static unsigned h_kernel_list(struct srv_request *rq, json_t **ret)
{
	int r = kernel_inventory_list(rq->w->cve, ret);

	return r < 0 ? srv_error_errno(ret, r, "listing kernels") : 200;
}

static unsigned h_kernel_show(struct srv_request *rq, json_t **ret)
{
	int r = kernel_inventory_show(rq->w->cve, rq->params[0], ret);

	return r < 0 ? srv_error_errno(ret, r, "reading the kernel") : 200;
}

static unsigned h_kernel_verdicts(struct srv_request *rq, json_t **ret)
{
	struct cve_list_filter f = {};
	unsigned status;
	int r;

	status = cve_filter_from_query(rq, &f, ret);
	if (status)
		return status;
	f.kernel = rq->params[0];
	r = cve_query_list(rq->w->cve, &f, ret);
	return r < 0 ? srv_error_errno(ret, r, "listing verdicts") : 200;
}

/* Keeps a posted config under the server's config directory, named by its content. */
static int kernel_config_store(struct srv_ctx *ctx, const char *name, const char *config,
			       char **ret_path)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof(h) + 1];
	_cleanup_free_ char *path = NULL;
	int r;

	crypto_hash_sha256(h, (const unsigned char *)config, strlen(config));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	r = mkdir_p(ctx->cfg.config_dir, 0700);
	if (r < 0)
		return log_error_errno(r, "cannot create '%s': %s", ctx->cfg.config_dir,
				       strerror(-r));
	path = strdup_printf("%s/%s-%.16s.config", ctx->cfg.config_dir, name, hex);
	if (!path)
		return -ENOMEM;
	r = write_file_atomic(path, config, strlen(config), 0600);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %s", path, strerror(-r));
	*ret_path = TAKE_PTR(path);
	return 0;
}

/* Test-only: a window to kill the server in (srv_config.test_kernel_pause_*). */
static void kernel_test_pause(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (ms && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The audit record of a kernel change that reached the CVE database; a failure is logged (a
 * pending record is left, and the next start completes it). */
static void kernel_change_recorded(struct srv_request *rq, int64_t intent, const char *action,
				   const char *name, json_t *detail)
{
	kernel_test_pause(rq->ctx->cfg.test_kernel_pause_after_ms);
	if (srv_kernel_change_end(rq->w->state, intent, true, &rq->actor, action, name, detail) <
	    0)
		log_warn("kernel '%s' was changed but its audit record failed; the server's next "
			 "start writes it",
			 name);
}

static unsigned h_kernel_add(struct srv_request *rq, json_t **ret)
{
	struct kernel_add_opts o = {};
	struct kernel_add_report rep = {};
	_cleanup_free_ char *config_path = NULL, *config_real = NULL;
	_cleanup_(json_decrefp) json_t *want = NULL;
	const char *config;
	json_error_t e;
	int64_t intent;
	int replace = 0, r;

	if (json_unpack_ex(rq->body, &e, JSON_STRICT, "{s:s s:s s:s s?s s?s s?s s?b}", "name",
			   &o.name, "release", &o.release, "config", &config, "proc_version",
			   &o.proc_version, "version_signature", &o.version_signature, "arch",
			   &o.arch, "replace", &replace) < 0)
		return srv_error(ret, 400, "%s", e.text);
	if (!srv_name_valid(o.name))
		return srv_error(ret, 400, "name: 1-64 of A-Z a-z 0-9 . _ -");
	if (!*o.release || strlen(o.release) > 128 || strchr(o.release, '/'))
		return srv_error(ret, 400, "release: 1-128 characters, no '/'");
	if (strlen(config) > KERNEL_CONFIG_MAX || !strstr(config, "CONFIG_"))
		return srv_error(ret, 400, "config: the text of a kernel .config");
	if (o.arch && (strlen(o.arch) > 32 || strchr(o.arch, '/') || strstr(o.arch, "..")))
		return srv_error(ret, 400, "arch: an arch directory name");
	if (!rq->ctx->cfg.kernel_source && !rq->ctx->cfg.kernel_source_tarball)
		return srv_error(ret, 501,
				 "this server has no kernel source to evaluate configs with "
				 "(tuxtape-server --kernel-source)");
	o.source_dir = rq->ctx->cfg.kernel_source;
	o.source_tarball = rq->ctx->cfg.kernel_source_tarball;
	o.replace = replace;
	r = kernel_config_store(rq->ctx, o.name, config, &config_path);
	if (r < 0)
		return srv_error_errno(ret, r, "storing the config");
	o.config = config_path;
	/* What the inventory will hold if the add is made: where the config was read from. */
	config_real = realpath(config_path, NULL);
	if (!config_real)
		return srv_error(ret, 500, "cannot resolve '%s': %s", config_path, strerror(errno));
	want = json_pack("{s:s s:s s:s? s:s?}", "release", o.release, "config", config_real,
			 "proc_version", o.proc_version, "version_signature", o.version_signature);
	if (!want)
		return srv_error(ret, 500, "out of memory");
	/* Two databases: the pending record first, the change, then the audit record. */
	r = srv_kernel_change_begin(rq->w->cve, rq->w->state, &rq->actor, "add", o.name, want,
				    replace, &intent);
	if (r < 0)
		return srv_error_errno(ret, r, "recording the kernel change");
	kernel_test_pause(rq->ctx->cfg.test_kernel_pause_before_ms);
	r = kernel_inventory_add(rq->w->cve, &o, &rep);
	if (r < 0) {
		(void)srv_kernel_change_end(rq->w->state, intent, false, NULL, NULL, NULL, NULL);
		return srv_error_errno(ret, r, "adding the kernel");
	}
	/* The keys `tuxtape --json kernel add` also prints (not the distribution ones). */
	*ret = json_pack("{s:s s:s s:s s:s s:s s:I s:I s:b s:f s:f}", "name", o.name, "release",
			 o.release, "version", rep.version, "mapping", rep.mapping, "files_method",
			 rep.method, "file_count", (json_int_t)rep.n_files, "verdicts_computed",
			 (json_int_t)rep.verdicts, "replaced", rep.replaced, "files_seconds",
			 rep.files_seconds, "verdict_seconds", rep.verdict_seconds);
	kernel_change_recorded(rq, intent, rep.replaced ? "kernel.replace" : "kernel.add", o.name,
			       *ret);
	return 201;
}

static unsigned h_kernel_remove(struct srv_request *rq, json_t **ret)
{
	const char *name = rq->params[0];
	int64_t intent;
	int r;

	r = srv_kernel_change_begin(rq->w->cve, rq->w->state, &rq->actor, "remove", name, NULL,
				    false, &intent);
	if (r < 0)
		return srv_error_errno(ret, r, "recording the kernel change");
	kernel_test_pause(rq->ctx->cfg.test_kernel_pause_before_ms);
	r = kernel_inventory_remove(rq->w->cve, name);
	if (r < 0) {
		(void)srv_kernel_change_end(rq->w->state, intent, false, NULL, NULL, NULL, NULL);
		return srv_error_errno(ret, r, "removing the kernel");
	}
	kernel_change_recorded(rq, intent, "kernel.remove", name, NULL);
	*ret = json_pack("{s:s}", "removed", name);
	return 200;
}

static unsigned h_fleet_summary(struct srv_request *rq, json_t **ret)
{
	int r = verdicts_query_summary(rq->w->cve, ret);

	return r < 0 ? srv_error_errno(ret, r, "summarising verdicts") : 200;
}

static unsigned h_node_list(struct srv_request *rq, json_t **ret)
{
	int r = srv_node_list(rq->w->state, rq->ctx->cfg.node_stale_after, ret);

	return r < 0 ? srv_error_errno(ret, r, "listing nodes") : 200;
}

static unsigned h_node_show(struct srv_request *rq, json_t **ret)
{
	int r = srv_node_show(rq->w->state, rq->params[0], rq->ctx->cfg.node_stale_after, ret);

	if (r == -ENOENT)
		return srv_error(ret, 404, "no node '%s'", rq->params[0]);
	return r < 0 ? srv_error_errno(ret, r, "reading the node") : 200;
}

static unsigned h_heartbeat(struct srv_request *rq, json_t **ret)
{
	struct srv_heartbeat hb;
	char err[160];
	int r;

	if (srv_heartbeat_from_json(rq->body, &hb, err, sizeof(err)) < 0)
		return srv_error(ret, 400, "%s", err);
	r = srv_node_heartbeat(rq->w->state, &rq->actor, &hb, ret);
	return r < 0 ? srv_error_errno(ret, r, "recording the heartbeat") : 200;
}

static unsigned h_status(struct srv_request *rq, json_t **ret)
{
	struct srv_node_status ns;
	char err[160];
	int r;

	if (srv_node_status_from_json(rq->body, &ns, err, sizeof(err)) < 0)
		return srv_error(ret, 400, "%s", err);
	r = srv_node_report(rq->w->state, &rq->actor, &ns, ret);
	return r < 0 ? srv_error_errno(ret, r, "recording the status") : 200;
}

static unsigned h_archive(struct srv_request *rq, json_t **ret)
{
	int r;

	if (!rq->ctx->cfg.archive_dir)
		return srv_error(ret, 404, "this server has no archive (tuxtape-server --archive)");
	r = ar_status(rq->ctx->cfg.archive_dir, time(NULL), ret);
	return r < 0 ? srv_error_errno(ret, r, "reading the archive") : 200;
}

static unsigned h_audit(struct srv_request *rq, json_t **ret)
{
	unsigned long after = 0, limit = AUDIT_DEFAULT_LIMIT;
	unsigned status = 0;
	int r;

	if (q_count(rq, "after", (unsigned long)INT64_MAX, &after, ret, &status) < 0 ||
	    q_count(rq, "limit", AUDIT_MAX_LIMIT, &limit, ret, &status) < 0)
		return status;
	if (limit == 0)
		return srv_error(ret, 400, "limit: 1-%d", AUDIT_MAX_LIMIT);
	r = srv_audit_list(rq->w->state, (int64_t)after, (unsigned)limit, ret);
	return r < 0 ? srv_error_errno(ret, r, "reading the audit log") : 200;
}

/* ---- the table ---- */

#define CVE_FILTERS                                                                                \
	{"min_score", SRV_T_NUMBER, "best CVSS base score at least this (0-10)"},                  \
		{"since", SRV_T_STRING,                                                            \
		 "published (or first seen) on or after this date, YYYY-MM-DD"},                   \
		{"file", SRV_T_STRING,                                                             \
		 "a program file of the fix matches this glob (net/ipv4/*)"},                      \
		{"kev", SRV_T_BOOLEAN, "only CVEs in CISA's Known Exploited catalogue"},           \
		{"state", SRV_T_STRING, "published (default), rejected or all"},                   \
		{"limit", SRV_T_INTEGER, "at most this many (default 100; 0: all)"},               \
	{                                                                                          \
		"status", SRV_T_STRING,                                                            \
			"with a kernel: only affected, not-compiled, fixed, not-affected or "      \
			"unknown"                                                                  \
	}

static const struct srv_query_param q_cve_list[] = {
	CVE_FILTERS,
	{"kernel", SRV_T_STRING, "with the verdict for this inventory kernel"},
	{},
};
static const struct srv_query_param q_verdicts[] = {CVE_FILTERS, {}};
static const struct srv_query_param q_exposure[] = {
	{"exposure", SRV_T_STRING, "only the nodes judged so: exposed, patched, not-exposed, unknown"},
	{},
};
static const struct srv_query_param q_audit[] = {
	{"after", SRV_T_INTEGER, "records after this id (default 0)"},
	{"limit", SRV_T_INTEGER, "at most this many (1-1000, default 100)"},
	{},
};

static const char body_kernel_add[] =
	"{\"type\":\"object\",\"additionalProperties\":false,"
	"\"required\":[\"name\",\"release\",\"config\"],\"properties\":{"
	"\"name\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$\"},"
	"\"release\":{\"type\":\"string\",\"description\":\"uname -r\"},"
	"\"config\":{\"type\":\"string\",\"description\":\"the text of its .config\"},"
	"\"proc_version\":{\"type\":\"string\",\"description\":\"/proc/version (Debian)\"},"
	"\"version_signature\":{\"type\":\"string\",\"description\":\"/proc/version_signature "
	"(Ubuntu)\"},"
	"\"arch\":{\"type\":\"string\"},\"replace\":{\"type\":\"boolean\"}}}";
static const char body_heartbeat[] =
	"{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"kernel\"],"
	"\"properties\":{\"kernel\":{\"type\":\"string\",\"maxLength\":256},"
	"\"effective_version\":{\"type\":\"string\",\"maxLength\":256},"
	"\"patches\":{\"type\":\"array\",\"maxItems\":256,\"description\":\"the enabled "
	"livepatches: a name alone, or the name and the SHA-256 of the module the agent loaded "
	"(only that form can make a node patched: GET /v1/cves/{id}/exposure)\","
	"\"items\":{\"oneOf\":[{\"type\":\"string\",\"minLength\":1,\"maxLength\":256},"
	"{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"name\","
	"\"sha256\"],\"properties\":{\"name\":{\"type\":\"string\",\"minLength\":1,"
	"\"maxLength\":256},\"sha256\":{\"type\":\"string\",\"pattern\":"
	"\"^[0-9a-f]{64}$\"}}}]}},"
	"\"uptime\":{\"type\":\"integer\",\"minimum\":0}}}";
static const char body_status[] =
	"{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"event\"],"
	"\"properties\":{\"event\":{\"type\":\"string\",\"enum\":[\"ok\",\"load-failure\","
	"\"transition-stalled\",\"kernel-log\",\"unclean-reboot\",\"error\"]},"
	"\"patch\":{\"type\":\"string\",\"maxLength\":256},"
	"\"detail\":{\"type\":\"string\",\"maxLength\":4096}}}";

#define OBJ(req, props) "{\"type\":\"object\",\"additionalProperties\":false," req "\"properties\":{" props "}}"
#define STR(name) "\"" name "\":{\"type\":\"string\"}"
static const char body_patch_create[] = OBJ(
	"\"required\":[\"cve\",\"kernels\"],",
	STR("cve") ",\"kernels\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
	"\"description\":\"kernel releases (uname -r)\"}," STR("title") "," STR("note") ","
	"\"patch\":{\"type\":\"string\",\"description\":\"the unified diff; or:\"},"
	"\"fix_kernel\":{\"type\":\"string\",\"description\":\"an inventory kernel: start "
	"from the CVE's raw fix for it (tuxtape cve patch)\"},"
	"\"force\":{\"type\":\"boolean\",\"description\":\"with fix_kernel: even when that "
	"kernel's verdict says it needs no fix (409 otherwise)\"}");
static const char body_patch_revise[] = OBJ("\"required\":[\"patch\"],", STR("patch") "," STR("note"));
static const char body_empty[] = OBJ("", "");
static const char body_review[] = OBJ(
	"\"required\":[\"verdict\"],",
	"\"verdict\":{\"type\":\"string\",\"enum\":[\"comment\",\"approve\",\"reject\"]},"
	STR("comment"));
static const char body_publish[] = OBJ("\"required\":[\"channel\"],", STR("channel"));
static const char body_withdraw[] = OBJ("", STR("channel") "," STR("reason"));
static const char body_builder[] = OBJ(
	"\"required\":[\"kernels\"],",
	"\"kernels\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	"\"boot_test\":{\"type\":\"boolean\"}");
static const char body_lease[] = OBJ(
	"\"required\":[\"kernels\"],",
	"\"kernels\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}");
static const char body_result[] = OBJ(
	"\"required\":[\"build\"],",
	"\"build\":{\"type\":\"string\",\"enum\":[\"written\",\"unsafe\",\"nochange\","
	"\"error\"]},\"boot\":{\"type\":\"string\",\"enum\":[\"passed\",\"failed\","
	"\"skipped\"]}," STR("error") "," STR("module_name") ","
	"\"module\":{\"type\":\"string\",\"description\":\"base64 of the .ko\"},"
	"\"report\":{\"type\":\"object\"}," STR("log") "," STR("boot_log"));
static const char body_build[] = OBJ(
	"\"required\":[\"kernel\",\"config\",\"patches\"],",
	STR("kernel") "," STR("config") ","
	"\"symbols\":{\"type\":\"string\",\"description\":\"/proc/kallsyms or System.map; "
	"else the builder's own\"},"
	"\"patches\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}");
static const struct srv_query_param q_state[] = {
	{"state", SRV_T_STRING, "only those in this state"},
	{},
};
static const struct srv_query_param q_rev[] = {
	{"rev", SRV_T_INTEGER, "this revision (default: the current one)"},
	{},
};

/* Order matters only where a literal segment and a {param} could both match. */
const struct srv_route srv_routes[] = {
	{"GET", "/v1/openapi.json", 0, true, h_openapi, "getOpenAPI",
	 "This API's OpenAPI 3.0 document"},
	{"GET", "/v1/whoami", ROLES_ALL, false, h_whoami, "whoAmI",
	 "The caller's token name, person and role"},
	{"GET", "/metrics", R(VIEWER) | R(ADMIN), false, h_metrics, "getMetrics",
	 "Prometheus metrics", .produces = "text/plain"},
	{"GET", "/v1/cves", ROLES_READ, false, h_cve_list, "listCVEs",
	 "CVEs by priority, as `tuxtape --json cve list`", q_cve_list},
	{"GET", "/v1/cves/stats", ROLES_READ, false, h_cve_stats, "getCVEStats",
	 "Counts by state, severity and year; the sync state, as `tuxtape --json cve stats`"},
	{"GET", "/v1/cves/{id}", ROLES_READ, false, h_cve_show, "showCVE",
	 "One CVE with its verdicts, as `tuxtape --json cve show`"},
	{"GET", "/v1/cves/{id}/exposure", ROLES_READ, false, h_cve_exposure, "getCVEExposure",
	 "Every node judged for the CVE by its latest heartbeat: exposed (an affected kernel, no "
	 "livepatch for it loaded), patched (a loaded module whose name and SHA-256 are those a "
	 "job of this server wrote for the CVE, its revision published and not withdrawn), "
	 "not-exposed or unknown (never guessed)",
	 q_exposure},
	{"GET", "/v1/kernels", ROLES_READ, false, h_kernel_list, "listKernels",
	 "The kernel inventory, as `tuxtape --json kernel list`"},
	{"POST", "/v1/kernels", R(ADMIN), false, h_kernel_add, "addKernel",
	 "Adds a kernel by release and config (its files from the server's kernel source)",
	 .body_schema = body_kernel_add, .ok_status = 201, .writes_cve = true},
	{"GET", "/v1/kernels/{name}", ROLES_READ, false, h_kernel_show, "showKernel",
	 "One kernel with its verdict counts, as `tuxtape --json kernel show`"},
	{"DELETE", "/v1/kernels/{name}", R(ADMIN), false, h_kernel_remove, "removeKernel",
	 "Removes a kernel and its verdicts", .writes_cve = true},
	{"GET", "/v1/kernels/{name}/verdicts", ROLES_READ, false, h_kernel_verdicts,
	 "listKernelVerdicts",
	 "The kernel's CVEs with verdicts, as `tuxtape --json cve list --kernel`", q_verdicts},
	{"GET", "/v1/fleet/summary", ROLES_READ, false, h_fleet_summary, "getFleetSummary",
	 "Verdict counts per kernel, as `tuxtape --json fleet summary`"},
	{"GET", "/v1/fleet/nodes", ROLES_READ, false, h_node_list, "listNodes",
	 "Every node's latest heartbeat and state (ok, error, stale), and patched_cves: the CVEs "
	 "this server vouches a loaded patch fixes (as GET /v1/cves/{id}/exposure decides "
	 "patched)"},
	{"GET", "/v1/fleet/nodes/{name}", ROLES_READ, false, h_node_show, "showNode",
	 "One node with its patched_cves and its last 100 status events"},
	{"POST", "/v1/fleet/heartbeat", R(AGENT), false, h_heartbeat, "postHeartbeat",
	 "An agent's heartbeat: its kernel, effective version, loaded patches, uptime",
	 .body_schema = body_heartbeat},
	{"POST", "/v1/fleet/status", R(AGENT), false, h_status, "postStatus",
	 "An agent's status change or error; \"ok\" clears an error", .body_schema = body_status},
	{"GET", "/v1/archive", ROLES_READ, false, h_archive, "getArchiveStatus",
	 "The archive's roles, versions, expiries and targets, as `tuxtape --json archive status`"},
	{"GET", "/v1/audit", R(ADMIN), false, h_audit, "listAudit", "The audit log, oldest first",
	 q_audit},
	/* The review workflow: authors write, reviewers may revise but not approve their own
	 * revision, publishers release; builders reach only the job queue. */
	{"GET", "/v1/patches", ROLES_READ, false, srv_h_patch_list, "listPatches",
	 "Patches under the review workflow, newest first", q_state},
	{"POST", "/v1/patches", R(AUTHOR), false, srv_h_patch_create, "createPatch",
	 "A patch for a CVE and kernels, from a diff or the CVE's raw fix (revision 1)",
	 .body_schema = body_patch_create, .ok_status = 201},
	{"GET", "/v1/patches/{id}", ROLES_READ, false, srv_h_patch_show, "showPatch",
	 "A patch with its revisions, reviews, approvals, jobs and publications"},
	{"GET", "/v1/patches/{id}/patch", ROLES_READ, false, srv_h_patch_text, "getPatchText",
	 "A revision's diff", q_rev, .produces = "text/x-diff"},
	{"POST", "/v1/patches/{id}/revisions", R(AUTHOR) | R(REVIEWER), false, srv_h_patch_revise,
	 "revisePatch", "A new revision (kept with the earlier ones); the patch returns to draft",
	 .body_schema = body_patch_revise, .ok_status = 201},
	{"POST", "/v1/patches/{id}/submit", R(AUTHOR) | R(REVIEWER), false, srv_h_patch_submit,
	 "submitPatch", "Queues a build and boot-test job per kernel for the current revision",
	 .body_schema = body_empty},
	{"POST", "/v1/patches/{id}/reviews", R(REVIEWER), false, srv_h_review, "reviewPatch",
	 "Comments on, approves or rejects the current revision (never its own author)",
	 .body_schema = body_review, .ok_status = 201},
	{"POST", "/v1/patches/{id}/publish", R(PUBLISHER), false, srv_h_publish, "publishPatch",
	 "Releases an approved, tested patch's modules into a channel's archive",
	 .body_schema = body_publish},
	{"POST", "/v1/patches/{id}/withdraw", R(PUBLISHER), false, srv_h_withdraw,
	 "withdrawPatch", "Removes a patch's modules from the archive (one channel, or all)",
	 .body_schema = body_withdraw},
	{"POST", "/v1/builds", R(AUTHOR), false, srv_h_build_request, "requestBuild",
	 "elivepatch's service: a kernel release, its config (and symbols) and patches give a job "
	 "whose result is the module",
	 .body_schema = body_build, .ok_status = 201},
	{"GET", "/v1/jobs", ROLES_READ, false, srv_h_job_list, "listJobs",
	 "Build jobs, newest first (at most 1000)", q_state},
	{"POST", "/v1/jobs/lease", R(BUILDER), false, srv_h_job_lease, "leaseJob",
	 "A builder takes the oldest job for its kernels, or a job whose builder's lease lapsed",
	 .body_schema = body_lease},
	{"GET", "/v1/jobs/{id}", ROLES_READ, false, srv_h_job_show, "showJob", "One job"},
	{"POST", "/v1/jobs/{id}/renew", R(BUILDER), false, srv_h_job_renew, "renewLease",
	 "Extends the calling builder's lease on a job", .body_schema = body_empty},
	{"POST", "/v1/jobs/{id}/result", R(BUILDER), false, srv_h_job_result, "postJobResult",
	 "The module, report, build log and boot test of a leased job",
	 .body_schema = body_result},
	{"GET", "/v1/jobs/{id}/{what}", ROLES_READ, false, srv_h_job_artifact, "getJobArtifact",
	 "A job's module, report, log or boot-log", .produces = "application/octet-stream"},
	{"POST", "/v1/builders", R(BUILDER), false, srv_h_builder_register, "registerBuilder",
	 "A builder names the kernel releases it builds for and whether it boot-tests",
	 .body_schema = body_builder},
};

const size_t srv_n_routes = ARRAY_SIZE(srv_routes);

const struct srv_route *srv_route_match(const char *method, char **segs, size_t n_segs,
					const char **params, bool *ret_path_matched)
{
	*ret_path_matched = false;
	for (size_t i = 0; i < srv_n_routes; i++) {
		const char *p = srv_routes[i].path + 1;
		size_t k = 0, n_params = 0;
		bool ok = true;

		while (ok && *p) {
			const char *end = strchrnul(p, '/');
			size_t len = (size_t)(end - p);

			if (k >= n_segs)
				ok = false;
			else if (p[0] == '{')
				params[n_params++] = segs[k];
			else if (strlen(segs[k]) != len || memcmp(segs[k], p, len) != 0)
				ok = false;
			k++;
			p = *end ? end + 1 : end;
		}
		if (!ok || k != n_segs)
			continue;
		*ret_path_matched = true;
		if (streq(srv_routes[i].method, method))
			return &srv_routes[i];
	}
	return NULL;
}

int srv_routes_json(json_t **ret)
{
	json_t *arr = json_array();

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < srv_n_routes; i++) {
		const struct srv_route *rt = &srv_routes[i];
		json_t *roles = json_array();

		for (unsigned k = 0; k < _SRV_ROLE_MAX; k++)
			if (rt->roles & SRV_ROLE_BIT(k))
				json_array_append_new(roles, json_string(srv_role_to_string(k)));
		if (json_array_append_new(arr,
					  json_pack("{s:s s:s s:o s:b s:s}", "method", rt->method,
						    "path", rt->path, "roles", roles, "public",
						    rt->public, "summary", rt->summary)) < 0) {
			json_decref(arr);
			return -ENOMEM;
		}
	}
	*ret = arr;
	return 0;
}
