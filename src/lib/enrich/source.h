/* Loading an enrichment source — a file or an http(s) URL, gzip-compressed or not — with a cap. */
#pragma once

#include <stddef.h>

struct tt_http_opts;

/*
 * Reads SRC whole into a NUL-terminated buffer of at most MAX bytes after decompression
 * (gzip is recognised by its magic bytes, whatever the name). A URL is fetched with HTTP
 * (its max_size is replaced by MAX). RET_REQUESTS (may be NULL) is increased by the requests
 * made. Errors are logged naming SRC.
 */
int tt_source_load(const char *src, size_t max, const struct tt_http_opts *http, char **ret_buf,
		   size_t *ret_len, unsigned *ret_requests);

/* Inflates the gzip stream IN (several members allowed) into at most MAX bytes: -EFBIG past it,
 * -EBADMSG for a corrupt or truncated stream. */
int tt_gunzip(const void *in, size_t len, size_t max, char **ret_buf, size_t *ret_len);
