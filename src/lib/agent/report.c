/* Heartbeats and status events for tuxtape-server: the bodies its schemas accept, and the POST. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/report.h"
#include "fileio.h"
#include "log.h"
#include "strbuf.h"
#include "banned.h"

#define TOKEN_MAX 4096
#define ANSWER_MAX (64u << 10)
/* The server's limits (docs/server.md): longer strings are cut, not refused. */
#define SERVER_STRING_MAX 256
#define SERVER_PATCHES_MAX 256

static json_t *string_capped(const char *s)
{
	return json_stringn(s, strnlen(s, SERVER_STRING_MAX));
}

/* 64 lowercase hex digits, as the server takes a module's digest. */
static bool sha256_hex(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == 64 && !s[n];
}

json_t *agent_heartbeat_from_status(const json_t *status, long long uptime_s)
{
	const char *release = json_string_value(
		json_object_get(json_object_get(status, "kernel"), "release"));
	const char *eff = json_string_value(json_object_get(status, "effective_release"));
	json_t *hb, *patches = json_array(), *p;
	size_t i;

	if (!release || !patches) {
		json_decref(patches);
		return NULL;
	}
	/*
	 * Enabled patches only: the effective kernel is what the node runs. One the agent
	 * loaded goes with the SHA-256 of its module (the archive's signed metadata gave it and
	 * the agent checked the file against it), so that the server can tell its own build from
	 * another module of the same name; one loaded by other means is a name only.
	 */
	json_array_foreach(json_object_get(status, "patches"), i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *sha = json_string_value(json_object_get(p, "sha256"));
		json_t *e;

		if (!name || !json_is_true(json_object_get(p, "enabled")) ||
		    json_array_size(patches) >= SERVER_PATCHES_MAX)
			continue;
		/* A name past the server's cap cannot be the module's: send it cut, unvouched. */
		if (sha && sha256_hex(sha) && strlen(name) <= SERVER_STRING_MAX)
			e = json_pack("{s:s, s:s}", "name", name, "sha256", sha);
		else
			e = string_capped(name);
		if (json_array_append_new(patches, e) < 0) {
			json_decref(patches);
			return NULL;
		}
	}
	hb = json_pack("{s:o, s:o, s:o}", "kernel", string_capped(release), "effective_version",
		       string_capped(eff ? eff : release), "patches", patches);
	if (hb && uptime_s >= 0)
		json_object_set_new(hb, "uptime", json_integer(uptime_s));
	return hb;
}

const char *agent_event_for_reason(const char *reason)
{
	if (!reason)
		return "error";
	if (startswith(reason, "kernel log:"))
		return "kernel-log";
	if (startswith(reason, "transition did not finish") ||
	    strstr(reason, "went away during its transition"))
		return "transition-stalled";
	if (startswith(reason, "the node restarted") || startswith(reason, "pstore record"))
		return "unclean-reboot";
	if (startswith(reason, "reverted by the operator"))
		return NULL;
	return "load-failure";
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct answer {
	size_t len;
};

/* The answer is read only for its status: its bytes are counted and dropped, up to a cap. */
static size_t answer_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct answer *an = userdata;
	size_t n = size * nmemb;

	an->len += n;
	return an->len > ANSWER_MAX ? 0 : n;
}

/* The token file's first line; a token is printable ASCII without spaces. */
static int token_read(const char *path, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t n;
	int r;

	r = read_file_capped(path, TOKEN_MAX, &buf, NULL);
	if (r < 0)
		return log_error_errno(r, "cannot read the server token '%s': %s", path,
				       strerror(-r));
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (!n)
		return log_error_errno(-EINVAL, "'%s': the server token is empty", path);
	for (size_t i = 0; i < n; i++)
		if (buf[i] <= ' ' || buf[i] > '~')
			return log_error_errno(-EINVAL, "'%s': the server token has a character "
						       "a bearer token cannot have",
					       path);
	*ret = TAKE_PTR(buf);
	return 0;
}

int agent_http_post(void *userdata, const struct agent_config *cfg, const char *path,
		    const char *body)
{
	_cleanup_free_ char *token = NULL, *url = NULL, *auth = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL, *h2;
	struct answer an = {};
	long status = 0;
	CURL *h;
	CURLcode c;
	int r;

	if (!cfg->server_url)
		return -EINVAL;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return log_error_errno(-EIO, "cannot initialise libcurl");
	if (cfg->server_token_file) {
		r = token_read(cfg->server_token_file, &token);
		if (r < 0)
			return r;
	}
	url = strdup_printf("%s%s", cfg->server_url, path);
	auth = token ? strdup_printf("Authorization: Bearer %s", token) : strdup("X-No-Token: 1");
	if (!url || !auth)
		return -ENOMEM;
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	h2 = hdr ? curl_slist_append(hdr, auth) : NULL;
	if (!h2) {
		curl_slist_free_all(hdr);
		return -ENOMEM;
	}
	hdr = h2;
	h = curl_easy_init();
	if (!h) {
		curl_slist_free_all(hdr);
		return -ENOMEM;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	/* The token never goes out in clear, nor follows a redirect elsewhere. */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "tuxtape-agent");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, answer_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &an);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (cfg->server_ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->server_ca);
	if (cfg->server_pinned_key) {
		curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, cfg->server_pinned_key);
		/* A pin without a CA is the trust itself (a self-signed server): the key must
		 * match, the chain and name are not checked. With a CA, both must hold. */
		if (!cfg->server_ca) {
			curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
		}
	}
	if (cfg->server_cert) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, cfg->server_cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY,
				 cfg->server_key ? cfg->server_key : cfg->server_cert);
	}
	c = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	if (c != CURLE_OK && !(c == CURLE_WRITE_ERROR && status)) {
		log_warn("cannot report to '%s': %s", url,
			 errbuf[0] ? errbuf : curl_easy_strerror(c));
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
	if (status >= 200 && status <= 299) {
		log_debug("'%s': HTTP %ld", url, status);
		return 0;
	}
	log_warn("'%s' answered HTTP %ld", url, status);
	if (status == 401 || status == 403)
		return -EACCES;
	return status >= 400 && status <= 499 ? -EINVAL : -EPROTO;
}
