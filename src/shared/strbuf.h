/* A growable byte buffer with an optional size cap, for text built from untrusted input. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include "macro.h"

struct strbuf {
	char *buf;    /* always NUL-terminated once anything was added */
	size_t len;
	size_t alloc;
	size_t max;   /* 0 = no cap; otherwise appends past it fail with -E2BIG */
};

#define STRBUF_INIT { NULL, 0, 0, 0 }

void strbuf_init(struct strbuf *sb, size_t max);
void strbuf_release(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
int strbuf_grow(struct strbuf *sb, size_t extra);
int strbuf_add(struct strbuf *sb, const void *data, size_t len);
int strbuf_adds(struct strbuf *sb, const char *s);
int strbuf_addch(struct strbuf *sb, char c);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...) _printf_(2, 3);
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap) _printf_(2, 0);
/* Returns the buffer ("" if empty) and leaves sb empty; the caller frees it. */
char *strbuf_detach(struct strbuf *sb);
const char *strbuf_str(const struct strbuf *sb);

static inline void strbuf_releasep(struct strbuf *sb)
{
	strbuf_release(sb);
}
#define _cleanup_strbuf_ _cleanup_(strbuf_releasep)

/* Allocating printf; returns NULL on allocation failure. */
char *strdup_printf(const char *fmt, ...) _printf_(1, 2);
/*
 * Appends S to the array *V of *N strings, taking it (freed on failure); S may be NULL, the
 * result of a failed strdup, which is -ENOMEM. Returns 0 or -ENOMEM.
 */
int strv_append(char ***v, size_t *n, char *s);
