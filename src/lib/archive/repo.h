/* The archive's folder: paths, the lock, published and staged metadata, and the one commit. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "tuf/keys.h"

#define AR_SPEC_VERSION "1.0.31"
/* The cap on one metadata file the archive reads back (its own, but still a file). */
#define AR_META_MAX (64u << 20)

enum ar_role_kind { AR_ROOT, AR_TARGETS, AR_KERNELS, AR_SNAPSHOT, AR_TIMESTAMP, AR_ROLE_KINDS };

struct ar_signer_cache {
	struct tuf_signer **keys; /* each loaded once, wiped on free */
	size_t n;
};

struct ar_repo {
	char *dir;
	char *meta;    /* DIR/public/metadata: published, served */
	char *targets; /* DIR/public/targets */
	char *keys;    /* DIR/keys: online private keys, 0700 */
	char *stage;   /* DIR/staging: roles edited since the last publish, their new blobs */
	int lock_fd;
	time_t now;
	unsigned expires_days[AR_ROLE_KINDS];

	json_t *root; /* the "signed" part of the newest N.root.json */
	unsigned root_version;
	json_t *snapshot; /* the "signed" part of the current snapshot */
	json_t *timestamp;
	struct ar_signer_cache signers;
	/* role -> "expires" of targets and each kernel's role, kept in DIR/index.json so that a
	 * publish need not read a thousand roles to find the few near expiry; NULL until loaded */
	json_t *expiries;
};

/* What one commit writes: roles' next versions, maybe a new root; then snapshot and timestamp. */
struct ar_plan {
	json_t *roles;	  /* role name -> "signed" body (version and expiry are set on writing) */
	json_t *new_root; /* the next root's body, or NULL */
	struct tuf_signer *const *root_signers; /* who signs the new root (old and new root keys) */
	size_t n_root_signers;
	bool clear_staging; /* the staged roles are in ROLES: remove them once committed */
};

extern const char *const ar_role_names[AR_ROLE_KINDS];

/* Opens the archive at DIR under its lock (EXCLUSIVE for writers) and reads what is published. */
int ar_repo_open(const char *dir, bool exclusive, time_t now, struct ar_repo **ret);
/* The same for a folder being made by ar_init(): nothing published yet. */
int ar_repo_new(const char *dir, time_t now, const unsigned days[AR_ROLE_KINDS],
		struct ar_repo **ret);
void ar_repo_free(struct ar_repo *repo);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ar_repo *, ar_repo_free);
#define _cleanup_ar_repo_ _cleanup_(ar_repo_freep)

/* The published version of ROLE (from the snapshot; for "timestamp" and "root" their own). */
unsigned ar_role_version(struct ar_repo *repo, const char *role);
/* ROLE's body: staged if it is, else published; -ENOENT when neither. *RET is a new ref. */
int ar_role_load(struct ar_repo *repo, const char *role, bool *ret_staged, json_t **ret);
/* Reads the "signed" part of published metadata file NAME (e.g. "3.targets.json"). */
int ar_meta_read(struct ar_repo *repo, const char *name, json_t **ret);
/* Saves BODY as ROLE's staged body. */
int ar_role_stage(struct ar_repo *repo, const char *role, json_t *body);
/* Role names staged since the last publish, as a JSON array (sorted). */
int ar_staged_roles(struct ar_repo *repo, json_t **ret);

/* Writes PLAN: blobs, roles, root, snapshot, then the timestamp. */
int ar_repo_commit(struct ar_repo *repo, struct ar_plan *plan);
/* Writes only a new timestamp for the current snapshot. */
int ar_repo_write_timestamp(struct ar_repo *repo);
/*
 * The private keys of ROLE among KEYIDS, from KEYDIR, loaded once per repo: at least THRESHOLD
 * of them or an error naming the folder. *RET is a new array of borrowed keys.
 */
int ar_repo_signers(struct ar_repo *repo, const char *keydir, const char *role,
		    const json_t *keyids, unsigned threshold, struct tuf_signer ***ret,
		    size_t *ret_n);

/* Loads repo->expiries: from DIR/index.json when it matches the snapshot, else from the roles. */
int ar_repo_load_expiries(struct ar_repo *repo);
int ar_repo_save_expiries(struct ar_repo *repo);

enum ar_role_kind ar_role_kind(const char *role);
void ar_time_format(time_t t, char buf[static 21]);
int ar_time_parse(const char *s, time_t *ret);
/* The "expires" of BODY as a time; -EBADMSG when missing or malformed. */
int ar_body_expires(const json_t *body, time_t *ret);
