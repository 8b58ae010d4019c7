/* HTTP GET through libcurl with a body cap, timeouts and bounded retries. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "enrich/http.h"
#include "enrich/ratelimit.h"
#include "log.h"
#include "strbuf.h"
#include "banned.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool tt_is_url(const char *s)
{
	return startswith(s, "http://") || startswith(s, "https://");
}

struct sink {
	struct strbuf sb;
	bool toobig;
};

static size_t sink_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sink *k = userdata;
	size_t n = size * nmemb;

	if (strbuf_add(&k->sb, data, n) < 0) {
		k->toobig = k->sb.len + n > k->sb.max;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	return n;
}

static bool status_retryable(const struct tt_http_opts *o, long status)
{
	return status == 429 || status == 503 || status == 502 || status == 504 ||
	       (status == 403 && o->retry_403);
}

static bool curl_retryable(CURLcode c)
{
	return c == CURLE_OPERATION_TIMEDOUT || c == CURLE_PARTIAL_FILE || c == CURLE_RECV_ERROR ||
	       c == CURLE_SEND_ERROR || c == CURLE_GOT_NOTHING;
}

static int curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_FILESIZE_EXCEEDED:
		return -EFBIG;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	default:
		return -EIO;
	}
}

DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, curl_easy_cleanup);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all);

/* One attempt. Returns 0 with *status set (any HTTP status), or a negative errno. */
static int http_attempt(CURL *h, const char *url, const struct tt_http_opts *o, struct sink *k,
			struct curl_slist *hdrs, long *status, uint64_t *retry_after_s,
			CURLcode *cc)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_off_t ra = -1;
	CURLcode c;

	curl_easy_reset(h);
	strbuf_reset(&k->sb);
	k->toobig = false;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "tuxtape/" TUXTAPE_VERSION);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* whatever curl can decode */
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
			 o->connect_timeout_s ? o->connect_timeout_s : 30L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout_s ? o->timeout_s : 900L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
			 o->low_speed_time_s ? o->low_speed_time_s : 60L);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_size);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, k);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (hdrs)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

	c = curl_easy_perform(h);
	*cc = c;
	if (c == CURLE_WRITE_ERROR && k->toobig)
		c = CURLE_FILESIZE_EXCEEDED;
	if (c == CURLE_FILESIZE_EXCEEDED) {
		log_error("'%s': response larger than the %zu-byte limit", url, o->max_size);
		*cc = c;
		return -EFBIG;
	}
	if (c != CURLE_OK) {
		if (!curl_retryable(c))
			log_error("'%s': %s", url, errbuf[0] ? errbuf : curl_easy_strerror(c));
		else
			log_debug("'%s': %s", url, errbuf[0] ? errbuf : curl_easy_strerror(c));
		return curl_errno(c);
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
		*retry_after_s = (uint64_t)ra;
	return 0;
}

int tt_http_get(const char *url, const struct tt_http_opts *o, struct tt_http_response *ret,
		unsigned *n_attempts)
{
	_cleanup_(curl_easy_cleanupp) CURL *h = NULL;
	_cleanup_(curl_slist_free_allp) struct curl_slist *hdrs = NULL;
	void (*sleep)(uint64_t, void *) = o->sleep_ms ? o->sleep_ms : tt_sleep_ms;
	uint64_t base = o->retry_base_ms ? o->retry_base_ms : 2000;
	uint64_t cap = o->retry_max_ms ? o->retry_max_ms : 120000;
	struct sink k = {};
	unsigned attempt;
	long status = 0;
	int r = -EIO;

	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return log_error_errno(-EIO, "cannot initialise libcurl");
	if (!tt_is_url(url))
		return log_error_errno(-EINVAL, "'%s' is not an http(s) URL", url);
	h = curl_easy_init();
	if (!h)
		return log_error_errno(-ENOMEM, "cannot initialise libcurl");
	for (const char *const *p = o->headers; p && *p; p++) {
		struct curl_slist *n = curl_slist_append(hdrs, *p);

		if (!n)
			return -ENOMEM;
		hdrs = n;
	}
	strbuf_init(&k.sb, o->max_size);

	for (attempt = 1;; attempt++) {
		uint64_t retry_after = 0, wait;
		CURLcode cc = CURLE_OK;
		bool retry;

		if (o->before_attempt)
			o->before_attempt(o->userdata);
		status = 0;
		r = http_attempt(h, url, o, &k, hdrs, &status, &retry_after, &cc);
		if (r == 0 && status >= 200 && status < 300)
			break;
		retry = r == 0 ? status_retryable(o, status) : curl_retryable(cc);
		if (!retry || attempt > o->max_retries) {
			if (r == 0) {
				log_error("'%s': HTTP %ld%s", url, status,
					  retry ? " (gave up after retrying)" : "");
				r = -EPROTO;
			} else if (retry) {
				log_error("'%s': %s (gave up after %u attempts)", url,
					  curl_easy_strerror(cc), attempt);
			}
			strbuf_release(&k.sb);
			if (n_attempts)
				*n_attempts = attempt;
			return r;
		}
		wait = base << MIN(attempt - 1, 16u);
		if (retry_after)
			wait = MAX(wait, retry_after * 1000);
		wait = MIN(wait, cap);
		if (r == 0)
			log_warn("'%s': HTTP %ld, retrying in %.1f s (%u/%u)", url, status,
				 (double)wait / 1000, attempt, o->max_retries);
		else
			log_warn("'%s': %s, retrying in %.1f s (%u/%u)", url,
				 curl_easy_strerror(cc), (double)wait / 1000, attempt,
				 o->max_retries);
		sleep(wait, o->userdata);
	}

	if (!k.sb.buf && strbuf_add(&k.sb, "", 0) < 0) {
		strbuf_release(&k.sb);
		return -ENOMEM;
	}
	ret->len = k.sb.len;
	ret->body = strbuf_detach(&k.sb);
	ret->status = status;
	ret->attempts = attempt;
	if (n_attempts)
		*n_attempts = attempt;
	return 0;
}

void tt_http_response_release(struct tt_http_response *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
