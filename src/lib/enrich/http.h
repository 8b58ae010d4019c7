/* A small libcurl wrapper for GET: a body size cap, timeouts, bounded retries with back-off. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tt_http_opts {
	size_t max_size;	    /* body cap in bytes; larger bodies fail with -EFBIG */
	long connect_timeout_s;	    /* 0: 30 */
	long timeout_s;		    /* the whole transfer; 0: 900 */
	long low_speed_time_s;	    /* abort below 1 byte/s for this long; 0: 60 */
	unsigned max_retries;	    /* retries after the first attempt */
	unsigned retry_base_ms;	    /* first back-off, doubled per retry; 0: 2000 */
	unsigned retry_max_ms;	    /* cap on one wait, Retry-After included; 0: 120000 */
	bool retry_403;		    /* NVD answers 403 when a client is over its rate limit */
	const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
	/* Called before every attempt (retries too), e.g. to take a rate-limit slot. */
	void (*before_attempt)(void *userdata);
	/* NULL: really sleep. Tests pass a fake to keep back-off instant. */
	void (*sleep_ms)(uint64_t ms, void *userdata);
	void *userdata;
};

struct tt_http_response {
	char *body; /* NUL-terminated */
	size_t len;
	long status;
	unsigned attempts; /* requests made, the successful one included */
};

/*
 * GETs URL. 2xx: fills *RET and returns 0. Errors (each logged naming the URL): -EFBIG body
 * over the cap, -ECONNREFUSED/-EHOSTUNREACH unreachable, -ETIMEDOUT, -EPROTO an HTTP error
 * status (after the retries for 429/503/502/504 and, if asked, 403), -EIO other transfer
 * errors. N_ATTEMPTS (may be NULL) gets the requests made, also on failure.
 */
int tt_http_get(const char *url, const struct tt_http_opts *opts, struct tt_http_response *ret,
		unsigned *n_attempts);
void tt_http_response_release(struct tt_http_response *r);

/* Whether S names an http:// or https:// URL rather than a file. */
bool tt_is_url(const char *s);
