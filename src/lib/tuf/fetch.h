/* Downloads for the TUF client: every body capped, every transfer timed out (spec 1.5.2). */
#pragma once

#include <stddef.h>

/*
 * Fetches URL into a new buffer (NUL-terminated, for convenience) of at most MAX bytes.
 * 0; -ENOENT the server answered 403 or 404; -EPROTO another HTTP error; -EFBIG the body
 * is (or grows) over MAX: the transfer stops there, however much the server would send;
 * -ETIMEDOUT; -ECONNREFUSED; -EIO other transfer errors; -ENOMEM.
 */
typedef int (*tuf_fetch_fn)(void *userdata, const char *url, size_t max, char **ret_buf,
			    size_t *ret_len);

struct tuf_http_opts {
	long connect_timeout_s; /* 0: 10 */
	long timeout_s;		/* the whole transfer; 0: 300 */
	long low_speed_time_s;	/* abort below 1 KiB/s for this long (a slow drip); 0: 30 */
};

/* A libcurl fetcher that keeps its connection between requests. */
struct tuf_http;

int tuf_http_new(const struct tuf_http_opts *opts, struct tuf_http **ret);
void tuf_http_free(struct tuf_http *h);
/* A tuf_fetch_fn; USERDATA is a struct tuf_http. */
int tuf_http_fetch(void *userdata, const char *url, size_t max, char **ret_buf, size_t *ret_len);
