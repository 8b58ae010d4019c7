/*
 * The dashboard's server backend: tuxtape-server's JSON API (docs: `tuxtape-server routes`)
 * through the library's API client (srv_client, the one `tuxtape patch` uses). The server has
 * no route for raw fixes outside a patch, nor for syncs: those answer -EOPNOTSUPP and the
 * screen says so.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server/client.h"
#include "source.h"
#include "strbuf.h"
#include "banned.h"

#define SERVER_BODY_MAX (128 * 1024 * 1024) /* the full CVE list is ~5 MB */
#define SERVER_TEXT_MAX (8 * 1024 * 1024)   /* a revision, a job's log */
#define SERVER_TIMEOUT 120

struct server_source {
	struct dash_source base;
	struct srv_client *client;
};

static struct srv_client *client_of(struct dash_source *s)
{
	return ((struct server_source *)s)->client;
}

/* Appends NAME=VALUE to SB %-encoded for a query string. */
static int url_add_param(struct strbuf *sb, const char *name, const char *value)
{
	char *e = curl_easy_escape(NULL, value, 0);
	int r;

	if (!e)
		return -ENOMEM;
	r = strbuf_addf(sb, "%c%s=%s", strchr(strbuf_str(sb), '?') ? '&' : '?', name, e);
	curl_free(e);
	return r;
}

static int server_call(struct dash_source *s, const char *method, const char *path, json_t *body,
		       json_t **ret)
{
	return srv_client_call(client_of(s), method, path, body, ret);
}

static int server_get(struct dash_source *s, const char *path, json_t **ret)
{
	json_t *v = NULL;
	int r = srv_client_call(client_of(s), "GET", path, NULL, &v);

	if (r < 0)
		return r;
	if (!v)
		return log_error_errno(-EBADMSG, "GET %s: an empty answer", path);
	*ret = v;
	return 0;
}

static int server_get_text(struct dash_source *s, const char *path, char **ret_text)
{
	struct strbuf sb = STRBUF_INIT;
	int r;

	strbuf_init(&sb, SERVER_TEXT_MAX);
	r = srv_client_get_raw(client_of(s), path, &sb);
	if (r < 0) {
		strbuf_release(&sb);
		return r;
	}
	if (strbuf_adds(&sb, "") < 0) { /* an empty answer is still a string */
		strbuf_release(&sb);
		return -ENOMEM;
	}
	*ret_text = strbuf_detach(&sb);
	return 0;
}

static int server_cve_list(struct dash_source *s, const struct cve_list_filter *f, json_t **ret)
{
	_cleanup_(strbuf_releasep) struct strbuf p = STRBUF_INIT;
	int r = strbuf_adds(&p, "/v1/cves");

	if (r >= 0)
		r = strbuf_addf(&p, "?limit=%zu", f->limit);
	if (r >= 0 && f->state)
		r = url_add_param(&p, "state", f->state);
	if (r >= 0 && f->file_glob)
		r = url_add_param(&p, "file", f->file_glob);
	if (r >= 0 && f->kernel)
		r = url_add_param(&p, "kernel", f->kernel);
	if (r >= 0 && f->status)
		r = url_add_param(&p, "status", f->status);
	if (r >= 0 && f->since)
		r = url_add_param(&p, "since", f->since);
	if (r >= 0 && f->kev_only)
		r = strbuf_adds(&p, "&kev=true");
	if (r >= 0 && f->has_min_score)
		r = strbuf_addf(&p, "&min_score=%.1f", f->min_score);
	if (r < 0)
		return r;
	return server_get(s, strbuf_str(&p), ret);
}

static int server_get_named(struct dash_source *s, const char *prefix, const char *name,
			    json_t **ret)
{
	char *e = curl_easy_escape(NULL, name, 0);
	_cleanup_free_ char *p = NULL;

	if (!e)
		return -ENOMEM;
	p = strdup_printf("%s/%s", prefix, e);
	curl_free(e);
	if (!p)
		return -ENOMEM;
	return server_get(s, p, ret);
}

static int server_cve_show(struct dash_source *s, const char *id, json_t **ret)
{
	return server_get_named(s, "/v1/cves", id, ret);
}

static int server_cve_stats(struct dash_source *s, json_t **ret)
{
	return server_get(s, "/v1/cves/stats", ret);
}

static int server_kernel_list(struct dash_source *s, json_t **ret)
{
	return server_get(s, "/v1/kernels", ret);
}

static int server_kernel_show(struct dash_source *s, const char *name, json_t **ret)
{
	return server_get_named(s, "/v1/kernels", name, ret);
}

static int server_node_list(struct dash_source *s, json_t **ret)
{
	return server_get(s, "/v1/fleet/nodes", ret);
}

static int server_node_show(struct dash_source *s, const char *name, json_t **ret)
{
	return server_get_named(s, "/v1/fleet/nodes", name, ret);
}

/* A raw fix comes with a patch on the server (POST /v1/patches with fix_kernel). */
static int server_patch(struct dash_source *s, const char *cve, const char *kernel,
			char **ret_text)
{
	return -EOPNOTSUPP;
}

/* The server syncs its own database; there is no route to ask it to. */
static int server_sync(struct dash_source *s, char **ret_summary)
{
	return -EOPNOTSUPP;
}

static void server_free(struct dash_source *s)
{
	struct server_source *ss = (struct server_source *)s;

	srv_client_free(ss->client);
	free(ss);
}

static const struct dash_source_ops server_ops = {
	.kind = "server",
	.cve_list = server_cve_list,
	.cve_show = server_cve_show,
	.cve_stats = server_cve_stats,
	.kernel_list = server_kernel_list,
	.kernel_show = server_kernel_show,
	.node_list = server_node_list,
	.node_show = server_node_show,
	.patch = server_patch,
	.call = server_call,
	.get_text = server_get_text,
	.sync = server_sync,
	.free = server_free,
};

int dash_source_server_open(const struct dash_source_config *cfg, struct dash_source **ret)
{
	struct srv_client_opts o = {
		.url = cfg->server_url,
		.token = cfg->token,
		.ca_file = cfg->cacert,
		.timeout = SERVER_TIMEOUT,
		.max_answer = SERVER_BODY_MAX,
	};
	struct server_source *ss = calloc(1, sizeof(*ss));
	int r;

	if (!ss)
		return -ENOMEM;
	r = srv_client_new(&o, &ss->client);
	if (r < 0) {
		free(ss);
		return r;
	}
	ss->base.ops = &server_ops;
	ss->base.cfg = cfg;
	*ret = &ss->base;
	return 0;
}
