/* TUF keys: parsing public key objects, key IDs, verifying signatures; ed25519 signing. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define TUF_KEYID_HEX_LEN 64 /* a key ID: SHA-256, lowercase hex */
#define TUF_ED25519_SIG_HEX_LEN 128

/*
 * A public key from metadata. Verifies "ed25519"/"ed25519" (libsodium),
 * "ecdsa"/"ecdsa-sha2-nistp256" and "-nistp384" (DER signatures), "rsa"/"rsassa-pss-sha256"
 * and "rsa-pkcs1v15-sha256" (and -sha384/-sha512), the last two through OpenSSL's libcrypto.
 */
struct tuf_key;

/*
 * Parses a public key object {"keytype", "scheme", "keyval": {"public"}}. -EINVAL: not such
 * an object; -EOPNOTSUPP: a well-formed key of a type or scheme not supported, or whose
 * public value cannot be decoded (metadata listing it stays valid: the key just never
 * verifies anything).
 */
int tuf_key_from_json(const json_t *obj, struct tuf_key **ret);
void tuf_key_free(struct tuf_key *k);
const char *tuf_key_scheme(const struct tuf_key *k);

/* 0 when SIG_HEX is KEY's valid signature of MSG; -EBADMSG otherwise (also malformed hex). */
int tuf_key_verify(const struct tuf_key *k, const char *sig_hex, const void *msg, size_t len);

/* The key ID of a public key object: SHA-256 of its canonical JSON, in hex. */
int tuf_key_id(const json_t *obj, char ret_id[TUF_KEYID_HEX_LEN + 1]);

/* {"keytype":"ed25519","keyval":{"public":HEX},"scheme":"ed25519"}; NULL on ENOMEM. */
json_t *tuf_key_ed25519_json(const unsigned char pk[32]);

/* An ed25519 signing key, for the repository writer. Wiped by tuf_signer_release(). */
struct tuf_signer {
	unsigned char pk[32];
	unsigned char sk[64]; /* libsodium's form: seed then public key */
	char id[TUF_KEYID_HEX_LEN + 1];
};

int tuf_signer_generate(struct tuf_signer *ret);
int tuf_signer_from_seed(const unsigned char seed[32], struct tuf_signer *ret);
void tuf_signer_release(struct tuf_signer *s);
/* The signer's public key object (as in root's or a delegation's "keys"). */
json_t *tuf_signer_public_json(const struct tuf_signer *s);
int tuf_signer_sign_hex(const struct tuf_signer *s, const void *msg, size_t len,
			char ret_sig[TUF_ED25519_SIG_HEX_LEN + 1]);

/*
 * Signs the canonical form of MD["signed"] and puts {"keyid", "sig"} in MD["signatures"]
 * (created if absent), replacing an earlier signature by the same key ID.
 */
int tuf_sign_metadata(json_t *md, const struct tuf_signer *s);

/*
 * A private key file: {"keytype":"ed25519","scheme":"ed25519","keyid":ID,
 * "keyval":{"public":HEX,"private":HEX of the 32-byte seed}}, written atomically, mode 0600.
 * Loading checks that the public half and key ID match the seed (-EBADMSG otherwise).
 */
int tuf_signer_save(const struct tuf_signer *s, const char *path);
int tuf_signer_load(const char *path, struct tuf_signer *ret);
