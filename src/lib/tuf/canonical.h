/* TUF's canonical JSON (OLPC form, as securesystemslib writes it) and strict, capped parsing. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "strbuf.h"

/* Default cap on one metadata document read from the network or a file. */
#define TUF_JSON_MAX_SIZE (16u << 20)
/* Deepest nesting tuf_json_parse() accepts (TUF metadata needs about 6). */
#define TUF_JSON_MAX_DEPTH 32

/*
 * Appends the canonical form of V to SB: object keys sorted by their UTF-8 bytes, no
 * whitespace, strings with only '"' and '\' escaped (every other byte verbatim), integers in
 * decimal. -EINVAL: V holds a real number (canonical JSON has none) or is not a value;
 * -E2BIG: SB's cap was reached; -ENOMEM.
 */
int tuf_canonical_append(struct strbuf *sb, const json_t *v);

/*
 * The canonical form of V in a new NUL-terminated buffer of at most MAX bytes (0: no cap).
 * Errors as tuf_canonical_append(); the outputs are untouched on failure.
 */
int tuf_canonical_dump(const json_t *v, size_t max, char **ret_buf, size_t *ret_len);

/* SHA-256 of the canonical form of V, as 64 lowercase hex digits and a NUL. */
int tuf_canonical_sha256_hex(const json_t *v, char ret_hex[65]);

/*
 * Parses untrusted JSON: at most MAX bytes (0: TUF_JSON_MAX_SIZE), one value and nothing
 * after it, no duplicate object keys, no NUL in strings, no real numbers, nesting at most
 * TUF_JSON_MAX_DEPTH. -EFBIG over the cap, -EBADMSG malformed (logged at debug level with
 * WHAT, e.g. the file name, and the position). *RET is a new reference.
 */
int tuf_json_parse(const void *data, size_t len, size_t max, const char *what, json_t **ret);
