/*
 * The dashboard's server backend: tuxtape-server's JSON API (docs: `tuxtape-server routes`)
 * over libcurl, with the bearer token. What the server does not serve yet (raw patches,
 * revisions, reviews, syncs) answers -EOPNOTSUPP and the screen says so.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "source.h"
#include "strbuf.h"
#include "banned.h"

#define SERVER_BODY_MAX (128 * 1024 * 1024) /* the full CVE list is ~5 MB */

struct server_source {
	struct dash_source base;
	CURL *curl;
};

static size_t body_write(char *data, size_t size, size_t n, void *userdata)
{
	struct strbuf *sb = userdata;

	return strbuf_add(sb, data, size * n) < 0 ? 0 : size * n;
}

/* Appends VALUE to SB %-encoded for a query string. */
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

static int server_get(struct dash_source *s, const char *path, json_t **ret)
{
	struct server_source *ss = (struct server_source *)s;
	_cleanup_(strbuf_releasep) struct strbuf body = STRBUF_INIT;
	_cleanup_(strbuf_releasep) struct strbuf url = STRBUF_INIT;
	_cleanup_(strbuf_releasep) struct strbuf auth = STRBUF_INIT;
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	json_error_t je;
	long status = 0;
	json_t *v;
	CURLcode c;

	strbuf_init(&body, SERVER_BODY_MAX);
	if (strbuf_addf(&url, "%s%s", s->cfg->server_url, path) < 0)
		return -ENOMEM;
	if (s->cfg->token && strbuf_addf(&auth, "Authorization: Bearer %s", s->cfg->token) < 0)
		return -ENOMEM;
	if (s->cfg->token)
		hdrs = curl_slist_append(hdrs, strbuf_str(&auth));
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_reset(ss->curl);
	curl_easy_setopt(ss->curl, CURLOPT_URL, strbuf_str(&url));
	curl_easy_setopt(ss->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(ss->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(ss->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(ss->curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(ss->curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(ss->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)SERVER_BODY_MAX);
	curl_easy_setopt(ss->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(ss->curl, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(ss->curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(ss->curl, CURLOPT_ERRORBUFFER, errbuf);
	if (s->cfg->cacert)
		curl_easy_setopt(ss->curl, CURLOPT_CAINFO, s->cfg->cacert);
	c = curl_easy_perform(ss->curl);
	curl_slist_free_all(hdrs);
	if (c != CURLE_OK)
		return log_error_errno(-EIO, "cannot read '%s': %s", strbuf_str(&url),
				       *errbuf ? errbuf : curl_easy_strerror(c));
	curl_easy_getinfo(ss->curl, CURLINFO_RESPONSE_CODE, &status);
	v = json_loadb(body.buf ? body.buf : "", body.len, 0, &je);
	if (status < 200 || status > 299) {
		json_t *e = v ? json_object_get(v, "error") : NULL;
		const char *msg = json_is_string(e) ? json_string_value(e) : "";
		int r = status == 404 ? -ENOENT
			: status == 401 || status == 403 ? -EACCES
			: status == 501 ? -EOPNOTSUPP
			: -EIO;

		log_error("'%s': HTTP %ld%s%s", strbuf_str(&url), status, *msg ? ": " : "", msg);
		json_decref(v);
		return r;
	}
	if (!v)
		return log_error_errno(-EBADMSG, "'%s': not JSON: %s", strbuf_str(&url), je.text);
	*ret = v;
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

/* Not served yet (issue 11 has no patch routes); the screen says so. */
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

	curl_easy_cleanup(ss->curl);
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
	.sync = server_sync,
	.free = server_free,
};

int dash_source_server_open(const struct dash_source_config *cfg, struct dash_source **ret)
{
	struct server_source *ss = calloc(1, sizeof(*ss));

	if (!ss)
		return -ENOMEM;
	ss->curl = curl_easy_init();
	if (!ss->curl) {
		free(ss);
		return log_error_errno(-ENOMEM, "cannot start libcurl");
	}
	ss->base.ops = &server_ops;
	ss->base.cfg = cfg;
	*ret = &ss->base;
	return 0;
}
