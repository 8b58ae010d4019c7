/*
 * What the prepared kernel tree's sources were when they came out of the tarball: a manifest
 * of every regular file's BLAKE2b digest, written once when the tree is prepared and checked
 * whenever a build touches a file, so a tree left patched (by a crash, a bug, a hand) is
 * noticed instead of built on.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

#define LP_DIGEST_HEX 33 /* 16 bytes as hex, and the NUL */

struct lp_manifest;

/* Hashes every regular file under TREE (skipping .git) into OUT, written atomically. */
int lp_manifest_write(const char *tree, const char *out);
/* Loads a manifest written by lp_manifest_write(). -EBADMSG: a malformed line (logged). */
int lp_manifest_load(const char *path, struct lp_manifest **ret);
void lp_manifest_free(struct lp_manifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lp_manifest *, lp_manifest_free);
size_t lp_manifest_size(const struct lp_manifest *m);

/* The pristine digest of REL (relative to the tree), or NULL: not a file of the source. */
const char *lp_manifest_digest(const struct lp_manifest *m, const char *rel);

/* The digest of the file at PATH as hex. -ENOENT when it does not exist. */
int lp_file_digest(const char *path, char ret_hex[LP_DIGEST_HEX]);

/*
 * Whether TREE/REL is as in the pristine source: 0 when it is (or when it is absent and not a
 * file of the source), -EUCLEAN when it differs, exists but should not, or is missing (the
 * message names the file and says what is wrong), other -errno when it cannot be read.
 */
int lp_manifest_check(const struct lp_manifest *m, const char *tree, const char *rel);
