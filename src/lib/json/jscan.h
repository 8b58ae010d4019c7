/*
 * jscan: a strict (RFC 8259), allocation-free pull scanner over a JSON byte buffer. The caller
 * walks the document with object/array iterators and typed readers; the scanner keeps a path
 * of keys and indices so that an error can name where it happened, formatted only then.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* Nesting deeper than this is rejected (the CVE records nest about 8 deep). */
#define JSCAN_MAX_DEPTH 64

enum jscan_type {
	JSCAN_OBJECT = 1,
	JSCAN_ARRAY,
	JSCAN_STRING,
	JSCAN_NUMBER,
	JSCAN_TRUE,
	JSCAN_FALSE,
	JSCAN_NULL,
};

enum jscan_error {
	JSCAN_OK = 0,
	JSCAN_ESYNTAX, /* malformed JSON: see msg and the position */
	JSCAN_EUTF8,   /* bytes of a string that are not UTF-8 */
	JSCAN_EDEPTH,  /* nested deeper than JSCAN_MAX_DEPTH */
	JSCAN_ENUL,    /* \u0000 in a string while reject_nul is set */
};

/* A string as it appears in the buffer, between its quotes. */
struct jscan_str {
	const char *ptr;
	size_t len;
	bool escaped; /* has backslash escapes: unescape before use */
	bool has_nul; /* one of them is \u0000, which a C string cannot hold */
};

struct jscan_level {
	const char *key; /* raw key span of the current member, NULL while none (objects) */
	uint32_t key_len;
	uint32_t index; /* current element (arrays) */
	bool is_array;
	bool first; /* no member/element read yet */
};

struct jscan {
	const char *buf, *p, *end;
	bool reject_nul; /* set after jscan_init(): \u0000 anywhere is an error (JSCAN_ENUL) */
	int depth;	 /* levels in use in path[] */
	struct jscan_level path[JSCAN_MAX_DEPTH];

	enum jscan_error error;
	const char *error_pos; /* the offending byte */
	char msg[96];	       /* what was wrong, in words */
};

void jscan_init(struct jscan *s, const char *buf, size_t len);

/*
 * All readers return 0 (or 1 / the type where said) on success and -EBADMSG on malformed
 * input, with s->error and the position set; the scanner then stays failed.
 */

/* The type of the next value, or -EBADMSG if no value starts there. */
int jscan_peek(struct jscan *s);

/* Enter an object, then call jscan_object_next until it returns 0 (the closing brace was
 * read). After it returns 1 with *key, the caller reads or skips exactly one value. */
int jscan_object_begin(struct jscan *s);
int jscan_object_next(struct jscan *s, struct jscan_str *key);

/* Likewise for arrays; the index of the current element is jscan_index(s). */
int jscan_array_begin(struct jscan *s);
int jscan_array_next(struct jscan *s);
static inline uint32_t jscan_index(const struct jscan *s)
{
	return s->path[s->depth - 1].index;
}

/* Reads a string value (validated: escapes, UTF-8, no control characters). */
int jscan_string(struct jscan *s, struct jscan_str *ret);
/* Reads a number value; a number that is not finite as a double is an error. */
int jscan_number(struct jscan *s, double *ret);
/* Reads true or false. */
int jscan_bool(struct jscan *s, bool *ret);
/* Consumes a null if the next value is one: 1 if it was, 0 if not. */
int jscan_null(struct jscan *s);
/* Skips the next value, validating it whole. */
int jscan_skip(struct jscan *s);
/* Skips the next value and reports its bytes (without surrounding whitespace). */
int jscan_skip_span(struct jscan *s, const char **ret_ptr, size_t *ret_len);
/* Position of the next unread byte; after jscan_peek, the start of the next value. */
static inline const char *jscan_pos(const struct jscan *s)
{
	return s->p;
}
/* After the top-level value: only whitespace may follow. */
int jscan_finish(struct jscan *s);

/* Marks an error found by the caller at the current value (e.g. a wrong type). */
int jscan_fail(struct jscan *s, enum jscan_error e, const char *msg);

/* Whether the string equals LIT once unescaped. */
bool jscan_str_eq(const struct jscan_str *str, const char *lit);
/*
 * Unescapes STR into a new NUL-terminated string. -EILSEQ if it contains \u0000 (a C string
 * cannot hold it), -ENOMEM.
 */
int jscan_str_dup(const struct jscan_str *str, char **ret);
/* Unescapes into DST, which has room for str->len + 1 bytes; returns the length written or
 * -EILSEQ for \u0000. */
long jscan_str_unescape(const struct jscan_str *str, char *dst);

/* Appends the path of the error (or of the current value, if none), e.g. "a.b[3].c". */
int jscan_path(const struct jscan *s, struct strbuf *sb);
/* 1-based line and column (in characters) of the error position. */
void jscan_error_location(const struct jscan *s, int *ret_line, int *ret_column);
/* Copies SRC (valid JSON) into DST (room for LEN + 1 bytes) without insignificant whitespace;
 * returns the length written. */
size_t jscan_minify(const char *src, size_t len, char *dst);
