/* Reading a file or URL with a size cap, and gunzip with a cap against decompression bombs. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "enrich/http.h"
#include "enrich/source.h"
#include "fileio.h"
#include "log.h"
#include "strbuf.h"
#include "banned.h"

int tt_gunzip(const void *in, size_t len, size_t max, char **ret_buf, size_t *ret_len)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	z_stream z = {};
	int zr, r;

	strbuf_init(&sb, max);
	/* 16 + MAX_WBITS: gzip wrapper only. */
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)(uintptr_t)in;
	for (;;) {
		size_t chunk = MIN((size_t)1 << 20, len - (size_t)(z.next_in - (const Bytef *)in));
		size_t room;

		z.avail_in = (uInt)chunk;
		if (sb.len >= max) {
			/* Full: any further output means the data is over the cap. */
			char c;

			z.next_out = (Bytef *)&c;
			z.avail_out = 1;
			zr = inflate(&z, Z_NO_FLUSH);
			if (z.avail_out == 0) {
				r = -EFBIG;
				goto out;
			}
		} else {
			r = strbuf_grow(&sb, MIN((size_t)1 << 20, max - sb.len));
			if (r < 0)
				goto out;
			room = MIN(sb.alloc - sb.len - 1, max - sb.len);
			z.next_out = (Bytef *)sb.buf + sb.len;
			z.avail_out = (uInt)MIN(room, (size_t)UINT32_MAX);
			zr = inflate(&z, Z_NO_FLUSH);
			sb.len = (size_t)((char *)z.next_out - sb.buf);
			sb.buf[sb.len] = '\0';
		}
		if (zr == Z_STREAM_END) {
			size_t used = (size_t)(z.next_in - (const Bytef *)in);

			/* Concatenated members are valid gzip; trailing zero padding is tolerated.
			 */
			if (used < len && ((const unsigned char *)in)[used] == 0x1f) {
				if (inflateReset(&z) != Z_OK) {
					r = -EBADMSG;
					goto out;
				}
				continue;
			}
			break;
		}
		if (zr == Z_BUF_ERROR && z.avail_in == 0 &&
		    (size_t)(z.next_in - (const Bytef *)in) >= len) {
			r = -EBADMSG; /* input ended before the stream did: truncated */
			goto out;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			r = zr == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
			goto out;
		}
	}
	if (!sb.buf && strbuf_add(&sb, "", 0) < 0) {
		r = -ENOMEM;
		goto out;
	}
	*ret_len = sb.len;
	*ret_buf = strbuf_detach(&sb);
	r = 0;
out:
	inflateEnd(&z);
	return r;
}

static bool is_gzip(const char *buf, size_t len)
{
	return len >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b;
}

int tt_source_load(const char *src, size_t max, const struct tt_http_opts *http, char **ret_buf,
		   size_t *ret_len, unsigned *ret_requests)
{
	_cleanup_free_ char *raw = NULL;
	size_t len = 0;
	int r;

	if (tt_is_url(src)) {
		struct tt_http_opts o = *http;
		struct tt_http_response resp = {};
		unsigned attempts = 0;

		o.max_size = max;
		r = tt_http_get(src, &o, &resp, &attempts);
		if (ret_requests)
			*ret_requests += attempts;
		if (r < 0)
			return r;
		raw = resp.body;
		len = resp.len;
	} else {
		r = read_file_capped(src, max, &raw, &len);
		if (r == -EFBIG)
			return log_error_errno(r, "'%s': larger than the %zu-byte limit", src, max);
		if (r < 0)
			return log_error_errno(r, "cannot read '%s': %s", src, strerror(-r));
	}
	if (is_gzip(raw, len)) {
		char *out = NULL;
		size_t outlen = 0;

		r = tt_gunzip(raw, len, max, &out, &outlen);
		if (r == -EFBIG)
			return log_error_errno(
				r, "'%s': decompresses to more than the %zu-byte limit", src, max);
		if (r < 0)
			return log_error_errno(r, "'%s': corrupt gzip data", src);
		free(raw);
		raw = out;
		len = outlen;
	}
	*ret_len = len;
	*ret_buf = TAKE_PTR(raw);
	return 0;
}
