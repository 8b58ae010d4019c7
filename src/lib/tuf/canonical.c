/* TUF's canonical JSON serialiser and the strict parser every metadata byte goes through. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "log.h"
#include "tuf/canonical.h"
#include "banned.h"

static int canonical_string(struct strbuf *sb, const char *s, size_t len)
{
	size_t start = 0;
	int r;

	r = strbuf_addch(sb, '"');
	for (size_t i = 0; r == 0 && i < len; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		r = strbuf_add(sb, s + start, i - start);
		if (r == 0)
			r = strbuf_addch(sb, '\\');
		start = i;
	}
	if (r == 0)
		r = strbuf_add(sb, s + start, len - start);
	if (r == 0)
		r = strbuf_addch(sb, '"');
	return r;
}

struct okey {
	const char *key;
	size_t len;
	json_t *value;
};

static int okey_cmp(const void *a, const void *b)
{
	const struct okey *x = a, *y = b;
	int c = memcmp(x->key, y->key, MIN(x->len, y->len));

	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int canonical_value(struct strbuf *sb, const json_t *v, unsigned depth);

static int canonical_object(struct strbuf *sb, const json_t *v, unsigned depth)
{
	_cleanup_free_ struct okey *keys = NULL;
	size_t n = json_object_size(v), i = 0;
	const char *k;
	size_t klen;
	json_t *val;
	int r;

	if (n) {
		keys = calloc(n, sizeof(*keys));
		if (!keys)
			return -ENOMEM;
	}
	json_object_keylen_foreach((json_t *)v, k, klen, val)
	{
		if (i == n)
			return -EINVAL;
		keys[i++] = (struct okey){k, klen, val};
	}
	if (i > 1)
		qsort(keys, i, sizeof(*keys), okey_cmp);
	r = strbuf_addch(sb, '{');
	for (size_t j = 0; r == 0 && j < i; j++) {
		if (j)
			r = strbuf_addch(sb, ',');
		if (r == 0)
			r = canonical_string(sb, keys[j].key, keys[j].len);
		if (r == 0)
			r = strbuf_addch(sb, ':');
		if (r == 0)
			r = canonical_value(sb, keys[j].value, depth + 1);
	}
	if (r == 0)
		r = strbuf_addch(sb, '}');
	return r;
}

static int canonical_value(struct strbuf *sb, const json_t *v, unsigned depth)
{
	int r;

	if (!v || depth > 1024)
		return -EINVAL;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return canonical_object(sb, v, depth);
	case JSON_ARRAY:
		r = strbuf_addch(sb, '[');
		for (size_t i = 0; r == 0 && i < json_array_size(v); i++) {
			if (i)
				r = strbuf_addch(sb, ',');
			if (r == 0)
				r = canonical_value(sb, json_array_get(v, i), depth + 1);
		}
		return r ? r : strbuf_addch(sb, ']');
	case JSON_STRING:
		return canonical_string(sb, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return strbuf_addf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_TRUE:
		return strbuf_adds(sb, "true");
	case JSON_FALSE:
		return strbuf_adds(sb, "false");
	case JSON_NULL:
		return strbuf_adds(sb, "null");
	case JSON_REAL:
	default:
		return -EINVAL;
	}
}

int tuf_canonical_append(struct strbuf *sb, const json_t *v)
{
	return canonical_value(sb, v, 0);
}

int tuf_canonical_dump(const json_t *v, size_t max, char **ret_buf, size_t *ret_len)
{
	_cleanup_strbuf_ struct strbuf sb;
	int r;

	strbuf_init(&sb, max);
	r = tuf_canonical_append(&sb, v);
	if (r < 0)
		return r;
	if (!sb.buf && strbuf_add(&sb, "", 0) < 0)
		return -ENOMEM;
	*ret_len = sb.len;
	*ret_buf = strbuf_detach(&sb);
	return 0;
}

int tuf_canonical_sha256_hex(const json_t *v, char ret_hex[65])
{
	_cleanup_free_ char *buf = NULL;
	unsigned char md[crypto_hash_sha256_BYTES];
	size_t len;
	int r;

	r = tuf_canonical_dump(v, TUF_JSON_MAX_SIZE, &buf, &len);
	if (r < 0)
		return r;
	crypto_hash_sha256(md, (const unsigned char *)buf, len);
	sodium_bin2hex(ret_hex, 65, md, sizeof(md));
	return 0;
}

/* Depth, and no real numbers: jansson parses both, TUF wants neither. */
static int json_check(const json_t *v, unsigned depth)
{
	const char *k;
	json_t *val;

	if (depth > TUF_JSON_MAX_DEPTH)
		return -EBADMSG;
	switch (json_typeof(v)) {
	case JSON_REAL:
		return -EBADMSG;
	case JSON_ARRAY:
		for (size_t i = 0; i < json_array_size(v); i++)
			if (json_check(json_array_get(v, i), depth + 1) < 0)
				return -EBADMSG;
		return 0;
	case JSON_OBJECT:
		json_object_foreach((json_t *)v, k,
				    val) if (json_check(val, depth + 1) < 0) return -EBADMSG;
		return 0;
	default:
		return 0;
	}
}

int tuf_json_parse(const void *data, size_t len, size_t max, const char *what, json_t **ret)
{
	json_error_t err;
	json_t *v;

	if (!max)
		max = TUF_JSON_MAX_SIZE;
	if (len > max) {
		log_debug("'%s': %zu bytes, over the %zu-byte limit", what, len, max);
		return -EFBIG;
	}
	/* jansson refuses \u0000 without JSON_ALLOW_NUL, and its own depth limit is 2048. */
	v = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (!v) {
		log_debug("'%s': invalid JSON at line %d column %d: %s", what, err.line, err.column,
			  err.text);
		return -EBADMSG;
	}
	if (json_check(v, 0) < 0) {
		log_debug("'%s': JSON too deep or holding a real number", what);
		json_decref(v);
		return -EBADMSG;
	}
	*ret = v;
	return 0;
}
