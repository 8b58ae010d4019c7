/* A strict, allocation-free JSON pull scanner; see jscan.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/jscan.h"
#include "macro.h"
#include "banned.h"

/* Bytes that a string may hold as they are: printable ASCII but the quote and backslash. */
static const uint8_t str_plain[256] = {
	[0x20 ... 0x21] = 1, /* '"' is 0x22 */
	[0x23 ... 0x5b] = 1, /* '\\' is 0x5c */
	[0x5d ... 0x7f] = 1,
};

static const uint8_t json_ws[256] = {
	[' '] = 1,
	['\t'] = 1,
	['\n'] = 1,
	['\r'] = 1,
};

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static inline const char *skip_ws(const char *p, const char *end)
{
	while (p < end && json_ws[(uint8_t)*p]) {
		uint64_t v;

		p++;
		/* pretty-printed records indent with runs of spaces */
		while (end - p >= 8 && (memcpy(&v, p, 8), v == ONES * ' '))
			p += 8;
	}
	return p;
}

static int fail_at(struct jscan *s, const char *pos, enum jscan_error e, const char *fmt, ...)
	_printf_(4, 5) __attribute__((cold, noinline));
static int fail_at(struct jscan *s, const char *pos, enum jscan_error e, const char *fmt, ...)
{
	va_list ap;

	if (s->error)
		return -EBADMSG;
	s->error = e;
	s->error_pos = pos;
	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* "unexpected 'x'" for the byte at POS, in words a reader can match to the file. */
static int fail_unexpected(struct jscan *s, const char *pos, const char *what)
	__attribute__((cold, noinline));
static int fail_unexpected(struct jscan *s, const char *pos, const char *what)
{
	const char *sep = what ? ", " : "";

	what = what ? what : "";
	if (pos >= s->end)
		return fail_at(s, pos, JSCAN_ESYNTAX, "unexpected end of input%s%s", sep, what);
	if (*pos > 0x20 && *pos < 0x7f)
		return fail_at(s, pos, JSCAN_ESYNTAX, "unexpected '%c'%s%s", *pos, sep, what);
	return fail_at(s, pos, JSCAN_ESYNTAX, "unexpected byte 0x%02x%s%s", (uint8_t)*pos, sep,
		       what);
}

int jscan_fail(struct jscan *s, enum jscan_error e, const char *msg)
{
	return fail_at(s, s->p, e, "%s", msg);
}

void jscan_init(struct jscan *s, const char *buf, size_t len)
{
	s->buf = buf;
	s->end = buf + len;
	s->p = skip_ws(buf, s->end);
	s->reject_nul = false;
	s->depth = 0;
	s->error = JSCAN_OK;
	s->error_pos = NULL;
	s->msg[0] = '\0';
}

int jscan_peek(struct jscan *s)
{
	if (_unlikely_(s->error))
		return -EBADMSG;
	if (_unlikely_(s->p >= s->end))
		return fail_unexpected(s, s->p, NULL);
	switch (*s->p) {
	case '{':
		return JSCAN_OBJECT;
	case '[':
		return JSCAN_ARRAY;
	case '"':
		return JSCAN_STRING;
	case '-':
	case '0' ... '9':
		return JSCAN_NUMBER;
	case 't':
		return JSCAN_TRUE;
	case 'f':
		return JSCAN_FALSE;
	case 'n':
		return JSCAN_NULL;
	default:
		return fail_unexpected(s, s->p, NULL);
	}
}

static int push_level(struct jscan *s, char open, bool is_array)
{
	struct jscan_level *l;

	if (_unlikely_(s->error))
		return -EBADMSG;
	if (_unlikely_(s->p >= s->end || *s->p != open))
		return fail_unexpected(s, s->p, is_array ? "expected '['" : "expected '{'");
	if (_unlikely_(s->depth >= JSCAN_MAX_DEPTH))
		return fail_at(s, s->p, JSCAN_EDEPTH, "nested deeper than %d levels",
			       JSCAN_MAX_DEPTH);
	l = &s->path[s->depth++];
	l->key = NULL;
	l->key_len = 0;
	l->index = 0;
	l->is_array = is_array;
	l->first = true;
	s->p++;
	return 0;
}

int jscan_object_begin(struct jscan *s)
{
	return push_level(s, '{', false);
}

int jscan_array_begin(struct jscan *s)
{
	return push_level(s, '[', true);
}

int jscan_object_next(struct jscan *s, struct jscan_str *key)
{
	struct jscan_level *l;
	const char *p;
	int r;

	if (_unlikely_(s->error))
		return -EBADMSG;
	l = &s->path[s->depth - 1];
	p = skip_ws(s->p, s->end);
	if (p < s->end && *p == '}') {
		s->depth--;
		s->p = p + 1;
		return 0;
	}
	if (l->first) {
		l->first = false;
	} else {
		if (_unlikely_(p >= s->end || *p != ','))
			return fail_unexpected(s, p, "expected ',' or '}'");
		p = skip_ws(p + 1, s->end);
	}
	l->key = NULL;
	s->p = p;
	if (_unlikely_(p >= s->end || *p != '"'))
		return fail_unexpected(s, p, "expected a key");
	r = jscan_string(s, key);
	if (r < 0)
		return r;
	l->key = key->ptr;
	l->key_len = key->len > UINT32_MAX ? UINT32_MAX : (uint32_t)key->len;
	p = skip_ws(s->p, s->end);
	if (_unlikely_(p >= s->end || *p != ':'))
		return fail_unexpected(s, p, "expected ':'");
	s->p = skip_ws(p + 1, s->end);
	return 1;
}

int jscan_array_next(struct jscan *s)
{
	struct jscan_level *l;
	const char *p;

	if (_unlikely_(s->error))
		return -EBADMSG;
	l = &s->path[s->depth - 1];
	p = skip_ws(s->p, s->end);
	if (p < s->end && *p == ']') {
		s->depth--;
		s->p = p + 1;
		return 0;
	}
	if (l->first) {
		l->first = false;
	} else {
		if (_unlikely_(p >= s->end || *p != ','))
			return fail_unexpected(s, p, "expected ',' or ']'");
		p = skip_ws(p + 1, s->end);
		l->index++;
	}
	s->p = p;
	return 1;
}

/* Length of the UTF-8 sequence at P (a byte >= 0x80), 0 if it is not one (RFC 3629). */
static size_t utf8_seq(const uint8_t *p, const uint8_t *end)
{
	size_t avail = (size_t)(end - p);
	uint8_t c = p[0];

	if (c >= 0xc2 && c <= 0xdf)
		return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		uint8_t lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		return avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		uint8_t lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		return avail >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
				       (p[3] & 0xc0) == 0x80
			       ? 4
			       : 0;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The code unit of "\uXXXX" at P (pointing at the backslash), -1 if malformed or cut. */
static long hex4(const char *p, const char *end)
{
	long v = 0;

	if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	for (int i = 2; i < 6; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* Validates the escape at P (a backslash); returns the byte after it or NULL on error. */
static const char *scan_escape(struct jscan *s, const char *p, bool *nul)
{
	long u, lo;

	if (p + 1 >= s->end) {
		fail_unexpected(s, p + 1, "in an escape");
		return NULL;
	}
	switch (p[1]) {
	case '"':
	case '\\':
	case '/':
	case 'b':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		return p + 2;
	case 'u':
		break;
	default:
		fail_at(s, p, JSCAN_ESYNTAX, "invalid escape '\\%c'",
			p[1] > 0x20 && p[1] < 0x7f ? p[1] : '?');
		return NULL;
	}
	u = hex4(p, s->end);
	if (u < 0) {
		fail_at(s, p, JSCAN_ESYNTAX, "invalid \\u escape");
		return NULL;
	}
	if (u == 0) {
		if (s->reject_nul) {
			fail_at(s, p, JSCAN_ENUL, "\\u0000 in a string");
			return NULL;
		}
		*nul = true;
	}
	if (u >= 0xdc00 && u <= 0xdfff) {
		fail_at(s, p, JSCAN_ESYNTAX, "lone surrogate '\\u%04lX'", u);
		return NULL;
	}
	if (u >= 0xd800 && u <= 0xdbff) {
		lo = hex4(p + 6, s->end);
		if (lo < 0xdc00 || lo > 0xdfff) {
			fail_at(s, p, JSCAN_ESYNTAX, "lone surrogate '\\u%04lX'", u);
			return NULL;
		}
		return p + 12;
	}
	return p + 6;
}

/* Whether none of 8 bytes ends the fast path: quote, backslash, control or non-ASCII. */
static inline bool plain8(const char *p)
{
	uint64_t v, q, b;

	memcpy(&v, p, 8);
	q = v ^ (ONES * '"');
	b = v ^ (ONES * '\\');
	return !((v | ((v - ONES * 0x20) & ~v) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS);
}

int jscan_string(struct jscan *s, struct jscan_str *ret)
{
	const char *p = s->p, *end = s->end, *start;
	bool escaped = false, nul = false;

	if (_unlikely_(s->error))
		return -EBADMSG;
	if (_unlikely_(p >= end || *p != '"'))
		return fail_unexpected(s, p, "expected a string");
	start = ++p;
	for (;;) {
		uint8_t c;

		while (end - p >= 8 && plain8(p))
			p += 8;
		while (p < end && str_plain[(uint8_t)*p])
			p++;
		if (_unlikely_(p >= end))
			return fail_at(s, p, JSCAN_ESYNTAX, "unterminated string");
		c = (uint8_t)*p;
		if (c == '"')
			break;
		if (c == '\\') {
			escaped = true;
			p = scan_escape(s, p, &nul);
			if (!p)
				return -EBADMSG;
		} else if (c < 0x20) {
			return fail_at(s, p, JSCAN_ESYNTAX, "control character 0x%02x in a string",
				       c);
		} else {
			size_t n = utf8_seq((const uint8_t *)p, (const uint8_t *)end);

			if (!n)
				return fail_at(s, p, JSCAN_EUTF8, "invalid UTF-8");
			p += n;
		}
	}
	ret->ptr = start;
	ret->len = (size_t)(p - start);
	ret->escaped = escaped;
	ret->has_nul = nul;
	s->p = p + 1;
	return 0;
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The end of the number at P, NULL if there is none (RFC 8259 section 6). */
static const char *scan_number(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return NULL;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (p < end && is_digit(*p))
			p++;
	else
		return NULL;
	if (p < end && *p == '.') {
		if (++p >= end || !is_digit(*p))
			return NULL;
		while (p < end && is_digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !is_digit(*p))
			return NULL;
		while (p < end && is_digit(*p))
			p++;
	}
	return p;
}

static int number_span(struct jscan *s, const char **ret_end)
{
	const char *e;

	if (_unlikely_(s->error))
		return -EBADMSG;
	e = scan_number(s->p, s->end);
	if (_unlikely_(!e))
		return fail_at(s, s->p, JSCAN_ESYNTAX, "invalid number");
	*ret_end = e;
	return 0;
}

int jscan_number(struct jscan *s, double *ret)
{
	/* strtod() needs a terminated copy; JSON numbers in records are short. The programs do
	 * not call setlocale(), so the decimal point is '.'. */
	char tmp[128], *ep;
	const char *e;
	double v;
	size_t n;
	int r;

	r = number_span(s, &e);
	if (r < 0)
		return r;
	n = (size_t)(e - s->p);
	if (n >= sizeof(tmp))
		return fail_at(s, s->p, JSCAN_ESYNTAX, "number longer than %zu characters",
			       sizeof(tmp) - 1);
	memcpy(tmp, s->p, n);
	tmp[n] = '\0';
	errno = 0;
	v = strtod(tmp, &ep);
	if (ep != tmp + n || (errno == ERANGE && (v > 1 || v < -1)))
		return fail_at(s, s->p, JSCAN_ESYNTAX, "number out of range");
	*ret = v;
	s->p = e;
	return 0;
}

static int literal(struct jscan *s, const char *word, size_t n)
{
	if (_unlikely_(s->error))
		return -EBADMSG;
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return fail_at(s, s->p, JSCAN_ESYNTAX, "invalid literal (expected '%s')", word);
	s->p += n;
	return 0;
}

int jscan_bool(struct jscan *s, bool *ret)
{
	int t = jscan_peek(s), r;

	if (t < 0)
		return t;
	if (t != JSCAN_TRUE && t != JSCAN_FALSE)
		return fail_unexpected(s, s->p, "expected true or false");
	r = t == JSCAN_TRUE ? literal(s, "true", 4) : literal(s, "false", 5);
	if (r == 0)
		*ret = t == JSCAN_TRUE;
	return r;
}

int jscan_null(struct jscan *s)
{
	int t = jscan_peek(s), r;

	if (t != JSCAN_NULL)
		return t < 0 ? t : 0;
	r = literal(s, "null", 4);
	return r < 0 ? r : 1;
}

int jscan_skip(struct jscan *s)
{
	struct jscan_str str;
	const char *e;
	int t = jscan_peek(s), r;

	switch (t) {
	case JSCAN_OBJECT:
		r = jscan_object_begin(s);
		while (r >= 0 && (r = jscan_object_next(s, &str)) > 0)
			r = jscan_skip(s);
		return r;
	case JSCAN_ARRAY:
		r = jscan_array_begin(s);
		while (r >= 0 && (r = jscan_array_next(s)) > 0)
			r = jscan_skip(s);
		return r;
	case JSCAN_STRING:
		return jscan_string(s, &str);
	case JSCAN_NUMBER:
		r = number_span(s, &e);
		if (r == 0)
			s->p = e;
		return r;
	case JSCAN_TRUE:
		return literal(s, "true", 4);
	case JSCAN_FALSE:
		return literal(s, "false", 5);
	case JSCAN_NULL:
		return literal(s, "null", 4);
	default:
		return t;
	}
}

int jscan_skip_span(struct jscan *s, const char **ret_ptr, size_t *ret_len)
{
	const char *start;
	int r;

	r = jscan_peek(s);
	if (r < 0)
		return r;
	start = s->p;
	r = jscan_skip(s);
	if (r < 0)
		return r;
	*ret_ptr = start;
	*ret_len = (size_t)(s->p - start);
	return 0;
}

int jscan_finish(struct jscan *s)
{
	if (_unlikely_(s->error))
		return -EBADMSG;
	s->p = skip_ws(s->p, s->end);
	if (s->p < s->end)
		return fail_unexpected(s, s->p, "expected the end of input");
	return 0;
}

static void put_utf8(char **o, uint32_t cp)
{
	char *q = *o;

	if (cp < 0x80) {
		*q++ = (char)cp;
	} else if (cp < 0x800) {
		*q++ = (char)(0xc0 | cp >> 6);
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*q++ = (char)(0xe0 | cp >> 12);
		*q++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*q++ = (char)(0xf0 | cp >> 18);
		*q++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*q++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = q;
}

long jscan_str_unescape(const struct jscan_str *str, char *dst)
{
	const char *p = str->ptr, *e = str->ptr + str->len;
	char *o = dst;

	/* Each escape is longer than what it stands for, so DST never needs more than len. */
	while (p < e) {
		const char *bs = memchr(p, '\\', (size_t)(e - p));
		long u, lo;

		if (!bs) {
			memcpy(o, p, (size_t)(e - p));
			o += e - p;
			break;
		}
		memcpy(o, p, (size_t)(bs - p));
		o += bs - p;
		if (e - bs < 2)
			return -EILSEQ;
		p = bs + 2;
		switch (bs[1]) {
		case '"':
		case '\\':
		case '/':
			*o++ = bs[1];
			continue;
		case 'b':
			*o++ = '\b';
			continue;
		case 'f':
			*o++ = '\f';
			continue;
		case 'n':
			*o++ = '\n';
			continue;
		case 'r':
			*o++ = '\r';
			continue;
		case 't':
			*o++ = '\t';
			continue;
		case 'u':
			break;
		default:
			return -EILSEQ;
		}
		u = hex4(bs, e);
		if (u <= 0 || (u >= 0xdc00 && u <= 0xdfff))
			return -EILSEQ;
		p = bs + 6;
		if (u >= 0xd800 && u <= 0xdbff) {
			lo = hex4(p, e);
			if (lo < 0xdc00 || lo > 0xdfff)
				return -EILSEQ;
			u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		}
		put_utf8(&o, (uint32_t)u);
	}
	*o = '\0';
	return o - dst;
}

int jscan_str_dup(const struct jscan_str *str, char **ret)
{
	char *d;
	long n;

	if (str->has_nul)
		return -EILSEQ;
	d = malloc(str->len + 1);
	if (!d)
		return -ENOMEM;
	if (!str->escaped) {
		memcpy(d, str->ptr, str->len);
		d[str->len] = '\0';
	} else if ((n = jscan_str_unescape(str, d)) < 0) {
		free(d);
		return (int)n;
	}
	*ret = d;
	return 0;
}

bool jscan_str_eq(const struct jscan_str *str, const char *lit)
{
	size_t n = strlen(lit);
	const char *p = str->ptr, *e = str->ptr + str->len;

	if (!str->escaped)
		return str->len == n && memcmp(str->ptr, lit, n) == 0;
	/* Unescape piecewise: up to the next escape, then the escape itself. */
	while (p < e) {
		const char *bs = memchr(p, '\\', (size_t)(e - p));
		struct jscan_str one;
		char tmp[8];
		long m;

		if (!bs)
			bs = e;
		if ((size_t)(bs - p) > n || memcmp(p, lit, (size_t)(bs - p)) != 0)
			return false;
		lit += bs - p;
		n -= (size_t)(bs - p);
		if (bs == e)
			break;
		if (e - bs < 2)
			return false;
		one.ptr = bs;
		one.len = bs[1] != 'u' ? 2 : (hex4(bs, e) & 0xfc00) == 0xd800 ? 12 : 6;
		if (one.len > (size_t)(e - bs))
			return false;
		m = jscan_str_unescape(&one, tmp);
		if (m < 0 || (size_t)m > n || memcmp(tmp, lit, (size_t)m) != 0)
			return false;
		lit += m;
		n -= (size_t)m;
		p = bs + one.len;
	}
	return n == 0;
}

int jscan_path(const struct jscan *s, struct strbuf *sb)
{
	size_t start = sb->len;
	int r = 0;

	for (int i = 0; i < s->depth && r >= 0; i++) {
		const struct jscan_level *l = &s->path[i];

		if (l->is_array) {
			if (!l->first)
				r = strbuf_addf(sb, "[%u]", l->index);
		} else if (l->key) {
			/* Keys are untrusted: a long one is cut. */
			int n = (int)MIN(l->key_len, 100u);

			r = strbuf_addf(sb, "%s%.*s%s", sb->len > start ? "." : "", n, l->key,
					l->key_len > 100 ? "..." : "");
		}
	}
	return r;
}

void jscan_error_location(const struct jscan *s, int *ret_line, int *ret_column)
{
	const char *pos = s->error_pos ? s->error_pos : s->p;
	int line = 1, col = 1;

	if (pos > s->end)
		pos = s->end;
	for (const char *p = s->buf; p < pos; p++) {
		if (*p == '\n') {
			line++;
			col = 1;
		} else if (((uint8_t)*p & 0xc0) != 0x80) {
			col++;
		}
	}
	*ret_line = line;
	*ret_column = col;
}

size_t jscan_minify(const char *src, size_t len, char *dst)
{
	const char *p = src, *end = src + len;
	char *o = dst;

	while (p < end) {
		char c = *p;

		if (json_ws[(uint8_t)c]) {
			p++;
			continue;
		}
		if (c != '"') {
			*o++ = c;
			p++;
			continue;
		}
		/* A string: copy through its closing quote, which no backslash precedes. */
		for (const char *q = p + 1;;) {
			const char *dq = memchr(q, '"', (size_t)(end - q)), *b;
			size_t n_bs = 0;

			if (!dq)
				dq = end - 1;
			for (b = dq; b > p + 1 && b[-1] == '\\'; b--)
				n_bs++;
			if (n_bs % 2 == 0 || dq == end - 1) {
				memcpy(o, p, (size_t)(dq - p + 1));
				o += dq - p + 1;
				p = dq + 1;
				break;
			}
			q = dq + 1;
		}
	}
	*o = '\0';
	return (size_t)(o - dst);
}
