/* The TUF client's HTTP fetcher: libcurl, one handle reused, a cap on every body. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "strbuf.h"
#include "tuf/fetch.h"
#include "banned.h"

struct tuf_http {
	CURL *h;
	struct tuf_http_opts o;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int tuf_http_new(const struct tuf_http_opts *opts, struct tuf_http **ret)
{
	struct tuf_http *h;

	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return log_error_errno(-EIO, "cannot initialise libcurl");
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (opts)
		h->o = *opts;
	h->h = curl_easy_init();
	if (!h->h) {
		free(h);
		return -ENOMEM;
	}
	*ret = h;
	return 0;
}

void tuf_http_free(struct tuf_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->h);
	free(h);
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
		k->toobig = true;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	return n;
}

static void sink_release(struct sink *k)
{
	strbuf_release(&k->sb);
}

int tuf_http_fetch(void *userdata, const char *url, size_t max, char **ret_buf, size_t *ret_len)
{
	struct tuf_http *h = userdata;
	char errbuf[CURL_ERROR_SIZE] = "";
	_cleanup_(sink_release) struct sink k = {};
	long status = 0;
	CURLcode c;

	strbuf_init(&k.sb, max ? max : 1);
	curl_easy_reset(h->h);
	curl_easy_setopt(h->h, CURLOPT_URL, url);
	curl_easy_setopt(h->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h->h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->h, CURLOPT_USERAGENT, "tuxtape-agent/" TUXTAPE_VERSION);
	curl_easy_setopt(h->h, CURLOPT_CONNECTTIMEOUT,
			 h->o.connect_timeout_s ? h->o.connect_timeout_s : 10L);
	curl_easy_setopt(h->h, CURLOPT_TIMEOUT, h->o.timeout_s ? h->o.timeout_s : 300L);
	curl_easy_setopt(h->h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h->h, CURLOPT_LOW_SPEED_TIME,
			 h->o.low_speed_time_s ? h->o.low_speed_time_s : 30L);
	/* A stated Content-Length over the cap stops before the body; the sink stops the rest. */
	curl_easy_setopt(h->h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	curl_easy_setopt(h->h, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(h->h, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(h->h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h->h, CURLOPT_FAILONERROR, 0L);

	c = curl_easy_perform(h->h);
	curl_easy_getinfo(h->h, CURLINFO_RESPONSE_CODE, &status);
	if (c == CURLE_OK && (status == 403 || status == 404)) {
		log_debug("'%s': HTTP %ld", url, status);
		return -ENOENT;
	}
	if ((c == CURLE_WRITE_ERROR && k.toobig) || c == CURLE_FILESIZE_EXCEEDED) {
		log_debug("'%s': response over the %zu-byte limit", url, max);
		return -EFBIG;
	}
	if (c != CURLE_OK) {
		log_debug("'%s': %s", url, errbuf[0] ? errbuf : curl_easy_strerror(c));
		switch (c) {
		case CURLE_OPERATION_TIMEDOUT:
			return -ETIMEDOUT;
		case CURLE_COULDNT_CONNECT:
			return -ECONNREFUSED;
		case CURLE_OUT_OF_MEMORY:
			return -ENOMEM;
		default:
			return -EIO;
		}
	}
	if (status < 200 || status > 299) {
		log_debug("'%s': HTTP %ld", url, status);
		return -EPROTO;
	}
	if (!k.sb.buf && strbuf_add(&k.sb, "", 0) < 0)
		return -ENOMEM;
	*ret_len = k.sb.len;
	*ret_buf = strbuf_detach(&k.sb);
	return 0;
}
