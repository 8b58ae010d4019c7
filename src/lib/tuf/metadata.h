/* TUF metadata (specification 1.0.x): the four role types parsed strictly, signature thresholds. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tuf/keys.h"

enum tuf_role_type {
	TUF_ROOT,
	TUF_TIMESTAMP,
	TUF_SNAPSHOT,
	TUF_TARGETS,
	_TUF_ROLE_TYPE_MAX,
};

const char *tuf_role_type_name(enum tuf_role_type t);

/* A "keys" object: key ID -> key. KEY is NULL for a key of an unsupported type. */
struct tuf_keyring {
	char **ids;
	struct tuf_key **keys;
	size_t n;
};

/* Who may sign a role: key IDs (unique) and how many of them must. */
struct tuf_role_keys {
	char **keyids;
	size_t n;
	unsigned threshold;
};

/* A METAFILES entry of timestamp or snapshot: the version, and length and hashes if given. */
struct tuf_metafile {
	const char *name; /* "snapshot.json", "targets.json", "ROLE.json" */
	int64_t version;
	int64_t length; /* -1: not given */
	json_t *hashes; /* NULL: not given; else a non-empty object of hex strings */
};

struct tuf_delegation {
	const char *name;
	struct tuf_role_keys keys;
	bool terminating;
	json_t *paths;		    /* array of glob patterns, or NULL */
	json_t *path_hash_prefixes; /* array of hex prefixes, or NULL */
};

struct tuf_metadata {
	enum tuf_role_type type;
	json_t *json;	    /* the whole document */
	json_t *signed_;    /* its "signed" object */
	json_t *signatures; /* keyid -> sig (hex), unique key IDs */
	char *canonical;    /* canonical bytes of "signed": what the signatures sign */
	size_t canonical_len;
	int64_t version;
	time_t expires;

	/* root */
	bool consistent_snapshot;
	struct tuf_keyring keys;
	struct tuf_role_keys roles[_TUF_ROLE_TYPE_MAX];

	/* timestamp ("snapshot.json" only), snapshot */
	struct tuf_metafile *meta;
	size_t n_meta;

	/* targets */
	json_t *targets; /* targetpath -> {length, hashes, custom?}, each checked */
	bool has_delegations;
	struct tuf_keyring delegation_keys;
	struct tuf_delegation *delegations;
	size_t n_delegations;
};

/*
 * Parses one metadata document of type TYPE from untrusted bytes (at most MAX): every field
 * the specification requires, of the right type (unknown fields are kept and signed over).
 * -EFBIG over the cap, -EBADMSG malformed or of another type (logged at debug level with
 * WHAT), -ENOMEM.
 */
int tuf_metadata_parse(const void *data, size_t len, size_t max, enum tuf_role_type type,
		       const char *what, struct tuf_metadata **ret);
void tuf_metadata_free(struct tuf_metadata *md);

/*
 * 0 when at least ROLE->threshold distinct keys of ROLE (looked up in KEYS) have a valid
 * signature on MD; -EPERM otherwise.
 */
int tuf_metadata_verify(const struct tuf_metadata *md, const struct tuf_keyring *keys,
			const struct tuf_role_keys *role);

static inline bool tuf_metadata_expired(const struct tuf_metadata *md, time_t now)
{
	return now >= md->expires;
}

/* The METAFILES entry NAME of a timestamp or snapshot, or NULL. */
const struct tuf_metafile *tuf_metadata_meta(const struct tuf_metadata *md, const char *name);

/*
 * Checks DATA against a length and a "hashes" object (either may be absent: -1 / NULL):
 * 0, or -EBADMSG on a mismatch or an unsupported hash algorithm.
 */
int tuf_check_length_hashes(const void *data, size_t len, int64_t length, const json_t *hashes);

/* Whether delegation D is trusted for TARGET_PATH (its paths or path_hash_prefixes). */
bool tuf_delegation_matches(const struct tuf_delegation *d, const char *target_path);

/* Parses "YYYY-MM-DDTHH:MM:SSZ" into seconds since the epoch (UTC). */
int tuf_parse_time(const char *s, time_t *ret);
