/* The TUF client workflow (specification 1.0.x section 5): refresh, find a target, fetch it. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tuf/fetch.h"

struct tuf_client_opts {
	const char *metadata_dir; /* trusted metadata: ROLE.json, role names %-encoded */
	const char *metadata_url; /* the repository's metadata/ URL */
	/* Caps on each document when the referring metadata states no length; 0: default. */
	size_t root_max;	       /* 512 KB */
	size_t timestamp_max;	       /* 16 KB */
	size_t snapshot_max;	       /* 2 MB */
	size_t targets_max;	       /* 5 MB, each targets role */
	unsigned max_root_rotations;   /* new roots one refresh accepts; 0: 32 */
	unsigned max_delegations;      /* targets roles one search visits; 0: 32 */
	unsigned max_delegation_depth; /* delegation levels below "targets"; 0: 8 */
	struct tuf_http_opts http;
	/* NULL: HTTP through libcurl. Tests pass a fake repository. */
	tuf_fetch_fn fetch;
	void *fetch_userdata;
	time_t now; /* 0: time(2) when the client is made (faketime-friendly) */
};

struct tuf_client;

/* Writes ROOT_PATH's bytes as METADATA_DIR/root.json (made if missing): the trust anchor. */
int tuf_client_init(const char *metadata_dir, const char *root_path);

/*
 * Loads METADATA_DIR/root.json, which must be signed by its own threshold. -ENOENT none,
 * -EBADMSG malformed, -EPERM not signed by itself.
 */
int tuf_client_new(const struct tuf_client_opts *opts, struct tuf_client **ret);
void tuf_client_free(struct tuf_client *c);

/*
 * Refreshes the top-level metadata: root chain (each version signed by the previous and by
 * itself), timestamp, snapshot, targets, with rollback, freeze and mix-and-match checks.
 * Each accepted document is written to METADATA_DIR. 0, or a negative errno: -EKEYEXPIRED
 * expired metadata, -EPERM too few valid signatures, -ESTALE a rollback or version
 * mismatch, -EBADMSG malformed or wrong length/hashes, download errors as tuf_fetch_fn.
 */
int tuf_client_refresh(struct tuf_client *c);

/*
 * Finds TARGET_PATH in "targets" and its delegations (pre-order, depth first, terminating
 * delegations honoured, at most max_delegations roles and max_delegation_depth levels).
 * Refreshes first if not done. *RET_INFO: a new reference to the target's
 * {"length", "hashes", "custom"?}. -ENOENT when no trusted role lists it.
 */
int tuf_client_find_target(struct tuf_client *c, const char *target_path, json_t **ret_info);

/*
 * The targets whose path starts with PREFIX, among the roles the search for PROBE visits
 * (e.g. PREFIX "6.1.0-18-amd64/" and PROBE "6.1.0-18-amd64/x": one kernel's delegated role).
 * Each is then looked up as tuf_client_find_target() would, so the answer never trusts a
 * role for a path it is not delegated. *RET: a new object, target path -> info.
 */
int tuf_client_list_targets(struct tuf_client *c, const char *prefix, const char *probe,
			    json_t **ret);

/*
 * Makes sure TARGET_DIR holds TARGET_PATH's verified bytes, as a file named by the
 * %-encoded target path: kept if already there with the right length and hashes, else
 * downloaded from TARGETS_URL (with the hash prefix under consistent snapshots), at most
 * its stated length, checked, and written atomically. *RET_FILE (may be NULL): its path.
 */
int tuf_client_download_target(struct tuf_client *c, const char *target_path, const json_t *info,
			       const char *targets_url, const char *target_dir, char **ret_file);

/* "%"-encodes NAME as Python's urllib.parse.quote(NAME, safe=""); NULL on ENOMEM. */
char *tuf_quote(const char *name);
