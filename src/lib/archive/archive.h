/*
 * The signed patch archive: a TUF 1.0 repository of livepatch modules, written as static files
 * (docs/archive.md). One delegated targets role per kernel release, so a node fetches only its
 * own kernel's metadata.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <jansson.h>

/* The top-level roles, and the key that signs every per-kernel delegated role. */
#define AR_ROLE_KERNELS "kernels"

struct ar_init_opts {
	const char *root_key_dir; /* NULL: DIR/keys (online); else where root keys are written */
	unsigned root_keys;	  /* 0: 1 */
	unsigned root_threshold;  /* 0: 1; at most root_keys */
	/* Days each role's signature lasts: root, targets, kernels, snapshot, timestamp (0:
	 * default) */
	unsigned expires_days[5];
};

/* Creates the archive at DIR (which must not exist, or be empty): keys, 1.root.json and a first
 * empty, published repository. */
int ar_init(const char *dir, const struct ar_init_opts *o, time_t now);

struct ar_target_opts {
	const char *kernel;	 /* release; must be the one the .ko's vermagic names */
	const char *const *cves; /* CVE ids it fixes */
	size_t n_cves;
	const char *const *patch_sha256; /* SHA-256 of the source patches (64 hex digits) */
	size_t n_patches;
	const char *approved_by; /* who approved it; NULL: not recorded */
};

/*
 * Stages the N livepatch modules KOS, each as target "RELEASE/BASENAME" (replacing one of that
 * path) in the kernel's delegated role, with O's metadata; visible to clients after
 * ar_publish(). Every module is checked first: on any error nothing is changed.
 * RET_TARGETS (may be NULL) gets the target paths as a JSON array.
 */
int ar_add(const char *dir, const char *const *kos, size_t n, const struct ar_target_opts *o,
	   time_t now, json_t **ret_targets);
/* Stages the removal of target TARGET ("RELEASE/NAME.ko"). */
int ar_remove(const char *dir, const char *target);
/*
 * Signs what is staged and renews online roles near their expiry; writes the new roles, a new
 * snapshot and the timestamp (the last file written, so clients see all or nothing).
 */
int ar_publish(const char *dir, time_t now);
/* Re-signs the timestamp only (a new version, a new expiry): the cron job. */
int ar_timestamp(const char *dir, time_t now);
/*
 * Replaces ROLE's key ("root", "targets", "snapshot", "timestamp" or "kernels") with a new one
 * and publishes. Every rotation but "kernels" writes root N+1, signed by the old root keys and,
 * for "root", the new ones too. ROOT_KEY_DIR: NULL for DIR/keys.
 */
int ar_rotate_key(const char *dir, const char *role, const char *root_key_dir, time_t now);
/* The archive's state as JSON: each role's version, expiry and keys; kernels and targets;
 * what is staged. */
int ar_status(const char *dir, time_t now, json_t **ret);

/*
 * Reads the CVEs and source patches' SHA-256 out of a `tuxtape livepatch build --json` report:
 * *RET = {"cves": [...], "patches_sha256": [...]} (a new reference), each entry checked.
 */
int ar_build_report_read(const char *path, json_t **ret);

/* The SHA-256 of file PATH (a source patch) as 64 hex digits. */
int ar_file_sha256(const char *path, char ret[static 65]);

/* Shape checks shared with the command line. */
bool ar_release_valid(const char *release);
bool ar_cve_valid(const char *id);
bool ar_sha256_valid(const char *hex);
