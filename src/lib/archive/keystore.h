/* The archive's private keys: one file per key, ROLE.KEYID.key, mode 0600, in a 0700 folder. */
#pragma once

#include <stddef.h>
#include <jansson.h>

#include "strbuf.h"
#include "tuf/keys.h"

/* A new ed25519 key for ROLE, saved in DIR (created 0700) as ROLE.KEYID.key with mode 0600. */
int ar_key_create(const char *dir, const char *role, struct tuf_signer *ret);
/* Loads ROLE's key KEYID from DIR; -ENOENT (logged, naming the file) when it is not there. */
int ar_key_load(const char *dir, const char *role, const char *keyid, struct tuf_signer *ret);
/* Moves ROLE.KEYID.key into DIR/retired/ once a rotation replaced it. */
int ar_key_retire(const char *dir, const char *role, const char *keyid);

/*
 * The metadata file for SIGNED: {"signatures": [...], "signed": SIGNED} in canonical JSON,
 * one signature per key of KEYS (N of them), appended to OUT.
 */
int ar_sign(json_t *signed_body, struct tuf_signer *const *keys, size_t n, struct strbuf *out);
