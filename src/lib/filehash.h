/* SHA-256 of files, and a memo of it for large inputs that are hashed again and again. */
#pragma once

/* Streams PATH through SHA-256 into STATE (a crypto_hash_sha256_state *). */
int tt_file_sha256_update(void *state, const char *path);

/*
 * The SHA-256 of PATH as 64 hex digits, remembered in MEMO_DIR/.sum-* under the file's real
 * path, size, inode and mtime, so that a 140 MB kernel tarball is hashed once, not on every
 * warm run. The memo is only an optimisation: failing to write it is not an error.
 */
int tt_file_sha256_memo(const char *path, const char *memo_dir, char ret[static 65]);
