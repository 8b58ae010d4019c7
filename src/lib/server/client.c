/* tuxtape-server's API from the client side, over libcurl (HTTPS, bearer token, caps). */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"
#include "server/client.h"
#include "strbuf.h"
#include "banned.h"

#define TOKEN_MAX 512

struct srv_client {
	char *url, *auth, *ca;
	unsigned timeout;
	size_t max_answer;
	CURL *h; /* kept: one TLS connection across calls */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void srv_client_free(struct srv_client *c)
{
	if (!c)
		return;
	if (c->h)
		curl_easy_cleanup(c->h);
	if (c->auth) {
		explicit_bzero(c->auth, strlen(c->auth));
		free(c->auth);
	}
	free(c->url);
	free(c->ca);
	free(c);
}

int srv_client_token_read(const char *path, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t n;
	int r;

	r = read_file_capped(path, TOKEN_MAX, &buf, NULL);
	if (r < 0)
		return log_error_errno(r, "cannot read the token file '%s': %s", path,
				       strerror(-r));
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (!n)
		return log_error_errno(-EINVAL, "'%s': the token is empty", path);
	for (size_t i = 0; i < n; i++)
		if (buf[i] <= ' ' || buf[i] > '~')
			return log_error_errno(-EINVAL, "'%s': not a bearer token", path);
	*ret = TAKE_PTR(buf);
	return 0;
}

int srv_client_new(const struct srv_client_opts *o, struct srv_client **ret)
{
	struct srv_client *c;
	size_t n;

	if (!o->url || !startswith(o->url, "https://"))
		return log_error_errno(-EINVAL, "the server URL must start with https:// ('%s')",
				       o->url ? o->url : "");
	if (!o->token || !*o->token)
		return log_error_errno(-EINVAL, "no token (--token-file, or $TUXTAPE_TOKEN)");
	for (const char *p = o->token; *p; p++)
		if (*p <= ' ' || *p > '~')
			return log_error_errno(-EINVAL, "the token is not a bearer token");
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return log_error_errno(-EIO, "cannot initialise libcurl");
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->url = strdup(o->url);
	c->auth = strdup_printf("Authorization: Bearer %s", o->token);
	c->ca = o->ca_file ? strdup(o->ca_file) : NULL;
	c->timeout = o->timeout ? o->timeout : 60;
	c->max_answer = o->max_answer ? o->max_answer : 64 * 1024 * 1024;
	c->h = curl_easy_init();
	if (!c->url || !c->auth || (o->ca_file && !c->ca) || !c->h) {
		srv_client_free(c);
		return -ENOMEM;
	}
	n = strlen(c->url);
	while (n && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	*ret = c;
	return 0;
}

static size_t answer_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct strbuf *sb = userdata;
	size_t n = size * nmemb;

	return strbuf_add(sb, data, n) < 0 ? 0 : n;
}

static int status_errno(long status)
{
	switch (status) {
	case 400:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 409:
		return -EALREADY;
	case 413:
		return -E2BIG;
	default:
		return -EIO;
	}
}

/* One request; the answer's bytes in ANSWER, its status in *RET_STATUS. */
static int perform(struct srv_client *c, const char *method, const char *path, const char *body,
		   struct strbuf *answer, long *ret_status)
{
	_cleanup_free_ char *url = strdup_printf("%s%s", c->url, path);
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL, *h2;
	CURL *h = c->h;
	CURLcode cc;

	if (!url)
		return -ENOMEM;
	hdr = curl_slist_append(NULL, c->auth);
	h2 = hdr && body ? curl_slist_append(hdr, "Content-Type: application/json") : hdr;
	if (!h2) {
		curl_slist_free_all(hdr);
		return -ENOMEM;
	}
	hdr = h2;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	/* The token never goes out in clear, nor follows a redirect elsewhere. */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "tuxtape");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)c->timeout);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, answer_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, answer);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (c->ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca);
	cc = curl_easy_perform(h);
	curl_slist_free_all(hdr);
	*ret_status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, ret_status);
	if (cc == CURLE_WRITE_ERROR)
		return log_error_errno(-E2BIG, "%s %s: the answer is larger than %zu bytes", method,
				       path, c->max_answer);
	if (cc != CURLE_OK) {
		log_error("cannot reach '%s': %s", c->url,
			  errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
		       : cc == CURLE_COULDNT_CONNECT  ? -ECONNREFUSED
						      : -EIO;
	}
	return 0;
}

static int answer_error(const char *method, const char *path, long status, struct strbuf *answer)
{
	json_t *j = json_loadb(strbuf_str(answer), answer->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "error"));

	log_error("%s %s: %ld %s", method, path, status, msg ? msg : "(no error message)");
	json_decref(j);
	return status_errno(status);
}

int srv_client_call(struct srv_client *c, const char *method, const char *path, json_t *body,
		    json_t **ret)
{
	_cleanup_free_ char *text = NULL;
	struct strbuf answer;
	json_error_t e;
	json_t *j;
	long status;
	int r;

	if (body && !(text = json_dumps(body, JSON_COMPACT)))
		return -ENOMEM;
	strbuf_init(&answer, c->max_answer);
	r = perform(c, method, path, text, &answer, &status);
	if (r == 0 && (status < 200 || status > 299))
		r = answer_error(method, path, status, &answer);
	if (r < 0) {
		strbuf_release(&answer);
		return r;
	}
	j = json_loadb(strbuf_str(&answer), answer.len, 0, &e);
	strbuf_release(&answer);
	if (!j)
		return log_error_errno(-EBADMSG, "%s %s: the answer is not JSON: %s", method, path,
				       e.text);
	if (ret)
		*ret = j;
	else
		json_decref(j);
	return 0;
}

int srv_client_get_raw(struct srv_client *c, const char *path, struct strbuf *out)
{
	struct strbuf answer;
	long status;
	int r;

	strbuf_init(&answer, c->max_answer);
	r = perform(c, "GET", path, NULL, &answer, &status);
	if (r == 0 && (status < 200 || status > 299))
		r = answer_error("GET", path, status, &answer);
	if (r == 0)
		r = strbuf_add(out, answer.buf ? answer.buf : "", answer.len);
	strbuf_release(&answer);
	return r;
}
