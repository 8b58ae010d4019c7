/* TUF public keys and signatures: ed25519 through libsodium, ECDSA and RSA through libcrypto. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "fileio.h"
#include "log.h"
#include "tuf/canonical.h"
#include "tuf/keys.h"
#include "banned.h"

enum key_kind {
	KEY_ED25519,
	KEY_ECDSA,
	KEY_RSA_PSS,
	KEY_RSA_PKCS1,
};

struct tuf_key {
	enum key_kind kind;
	char *scheme;
	const EVP_MD *md;
	EVP_PKEY *pkey;
	unsigned char ed25519[crypto_sign_PUBLICKEYBYTES];
};

#define MAX_SIG_BYTES 1024 /* RSA-8192 is 1024 bytes; DER ECDSA far less */
#define MAX_PEM_LEN 16384

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_result;

static void sodium_init_once(void)
{
	sodium_result = sodium_init();
}

static int crypto_ready(void)
{
	pthread_once(&sodium_once, sodium_init_once);
	return sodium_result < 0 ? -EIO : 0;
}

static int hex_decode(const char *hex, unsigned char *bin, size_t max, size_t *ret_len)
{
	size_t len = strlen(hex);

	if (len == 0 || len % 2 || len / 2 > max)
		return -EINVAL;
	if (sodium_hex2bin(bin, max, hex, len, NULL, ret_len, NULL) != 0 || *ret_len != len / 2)
		return -EINVAL;
	return 0;
}

static int key_scheme(const char *type, const char *scheme, enum key_kind *kind, const EVP_MD **md,
		      int *curve)
{
	*md = NULL;
	*curve = 0;
	if (streq(type, "ed25519") && streq(scheme, "ed25519")) {
		*kind = KEY_ED25519;
		return 0;
	}
	if (streq(type, "ecdsa") || streq(type, "ecdsa-sha2-nistp256") ||
	    streq(type, "ecdsa-sha2-nistp384")) {
		*kind = KEY_ECDSA;
		if (streq(scheme, "ecdsa-sha2-nistp256")) {
			*md = EVP_sha256();
			*curve = NID_X9_62_prime256v1;
		} else if (streq(scheme, "ecdsa-sha2-nistp384")) {
			*md = EVP_sha384();
			*curve = NID_secp384r1;
		} else {
			return -EOPNOTSUPP;
		}
		/* A legacy keytype naming a curve must name the scheme's. */
		if (!streq(type, "ecdsa") && !streq(type, scheme))
			return -EOPNOTSUPP;
		return 0;
	}
	if (streq(type, "rsa")) {
		static const struct {
			const char *name;
			enum key_kind kind;
			const EVP_MD *(*md)(void);
		} rsa[] = {
			{"rsassa-pss-sha256", KEY_RSA_PSS, EVP_sha256},
			{"rsassa-pss-sha384", KEY_RSA_PSS, EVP_sha384},
			{"rsassa-pss-sha512", KEY_RSA_PSS, EVP_sha512},
			{"rsa-pkcs1v15-sha256", KEY_RSA_PKCS1, EVP_sha256},
			{"rsa-pkcs1v15-sha384", KEY_RSA_PKCS1, EVP_sha384},
			{"rsa-pkcs1v15-sha512", KEY_RSA_PKCS1, EVP_sha512},
		};
		for (size_t i = 0; i < ARRAY_SIZE(rsa); i++)
			if (streq(scheme, rsa[i].name)) {
				*kind = rsa[i].kind;
				*md = rsa[i].md();
				return 0;
			}
	}
	return -EOPNOTSUPP;
}

static int pem_load(const char *pem, enum key_kind kind, int curve, EVP_PKEY **ret)
{
	EVP_PKEY *pkey;
	BIO *bio;
	size_t len = strlen(pem);

	if (len > MAX_PEM_LEN)
		return -EOPNOTSUPP;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return -ENOMEM;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!pkey)
		return -EOPNOTSUPP;
	if (kind == KEY_ECDSA) {
		char group[64] = "";
		size_t glen = 0;

		if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
		    !EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) ||
		    OBJ_sn2nid(group) != curve) {
			EVP_PKEY_free(pkey);
			return -EOPNOTSUPP;
		}
	} else if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pkey);
		return -EOPNOTSUPP;
	}
	*ret = pkey;
	return 0;
}

int tuf_key_from_json(const json_t *obj, struct tuf_key **ret)
{
	const char *type, *scheme, *pub;
	struct tuf_key *k;
	const EVP_MD *md;
	enum key_kind kind;
	json_t *keyval;
	int curve, r;
	size_t n;

	r = crypto_ready();
	if (r < 0)
		return r;
	type = json_string_value(json_object_get(obj, "keytype"));
	scheme = json_string_value(json_object_get(obj, "scheme"));
	keyval = json_object_get(obj, "keyval");
	pub = json_string_value(json_object_get(keyval, "public"));
	if (!json_is_object(obj) || !type || !scheme || !json_is_object(keyval))
		return -EINVAL;
	r = key_scheme(type, scheme, &kind, &md, &curve);
	if (r < 0)
		return r;
	if (!pub)
		return -EOPNOTSUPP;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->kind = kind;
	k->md = md;
	k->scheme = strdup(scheme);
	if (!k->scheme) {
		tuf_key_free(k);
		return -ENOMEM;
	}
	if (kind == KEY_ED25519) {
		if (strlen(pub) != 2 * sizeof(k->ed25519) ||
		    hex_decode(pub, k->ed25519, sizeof(k->ed25519), &n) < 0)
			r = -EOPNOTSUPP;
	} else {
		r = pem_load(pub, kind, curve, &k->pkey);
	}
	if (r < 0) {
		tuf_key_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

void tuf_key_free(struct tuf_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k->scheme);
	free(k);
}

const char *tuf_key_scheme(const struct tuf_key *k)
{
	return k->scheme;
}

static int evp_verify(const struct tuf_key *k, const unsigned char *sig, size_t siglen,
		      const void *msg, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok = 0;

	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestVerifyInit(ctx, &pctx, k->md, NULL, k->pkey) != 1)
		goto out;
	if (k->kind == KEY_RSA_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, k->md) != 1))
		goto out;
	if (k->kind == KEY_RSA_PKCS1 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
		goto out;
	ok = EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
out:
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EBADMSG;
}

int tuf_key_verify(const struct tuf_key *k, const char *sig_hex, const void *msg, size_t len)
{
	unsigned char sig[MAX_SIG_BYTES];
	size_t n;

	if (!k || !sig_hex || hex_decode(sig_hex, sig, sizeof(sig), &n) < 0)
		return -EBADMSG;
	if (k->kind == KEY_ED25519) {
		if (n != crypto_sign_BYTES)
			return -EBADMSG;
		return crypto_sign_verify_detached(sig, msg, len, k->ed25519) == 0 ? 0 : -EBADMSG;
	}
	return evp_verify(k, sig, n, msg, len);
}

int tuf_key_id(const json_t *obj, char ret_id[TUF_KEYID_HEX_LEN + 1])
{
	int r = crypto_ready();

	return r < 0 ? r : tuf_canonical_sha256_hex(obj, ret_id);
}

json_t *tuf_key_ed25519_json(const unsigned char pk[32])
{
	char hex[2 * 32 + 1];

	sodium_bin2hex(hex, sizeof(hex), pk, 32);
	return json_pack("{s:s, s:{s:s}, s:s}", "keytype", "ed25519", "keyval", "public", hex,
			 "scheme", "ed25519");
}

json_t *tuf_signer_public_json(const struct tuf_signer *s)
{
	return tuf_key_ed25519_json(s->pk);
}

static int signer_finish(struct tuf_signer *s)
{
	json_t *pub = tuf_signer_public_json(s);
	int r;

	if (!pub)
		return -ENOMEM;
	r = tuf_key_id(pub, s->id);
	json_decref(pub);
	return r;
}

int tuf_signer_from_seed(const unsigned char seed[32], struct tuf_signer *ret)
{
	struct tuf_signer s = {};
	int r = crypto_ready();

	if (r < 0)
		return r;
	if (crypto_sign_seed_keypair(s.pk, s.sk, seed) != 0)
		return -EIO;
	r = signer_finish(&s);
	if (r == 0)
		*ret = s;
	sodium_memzero(&s, sizeof(s));
	return r;
}

int tuf_signer_generate(struct tuf_signer *ret)
{
	unsigned char seed[crypto_sign_SEEDBYTES];
	int r = crypto_ready();

	if (r < 0)
		return r;
	randombytes_buf(seed, sizeof(seed));
	r = tuf_signer_from_seed(seed, ret);
	sodium_memzero(seed, sizeof(seed));
	return r;
}

void tuf_signer_release(struct tuf_signer *s)
{
	if (s)
		sodium_memzero(s, sizeof(*s));
}

int tuf_signer_sign_hex(const struct tuf_signer *s, const void *msg, size_t len,
			char ret_sig[TUF_ED25519_SIG_HEX_LEN + 1])
{
	unsigned char sig[crypto_sign_BYTES];

	if (crypto_sign_detached(sig, NULL, msg, len, s->sk) != 0)
		return -EIO;
	sodium_bin2hex(ret_sig, TUF_ED25519_SIG_HEX_LEN + 1, sig, sizeof(sig));
	return 0;
}

int tuf_sign_metadata(json_t *md, const struct tuf_signer *s)
{
	_cleanup_free_ char *buf = NULL;
	char sig[TUF_ED25519_SIG_HEX_LEN + 1];
	json_t *sigs, *entry;
	size_t len, i;
	int r;

	r = tuf_canonical_dump(json_object_get(md, "signed"), TUF_JSON_MAX_SIZE, &buf, &len);
	if (r < 0)
		return r;
	r = tuf_signer_sign_hex(s, buf, len, sig);
	if (r < 0)
		return r;
	sigs = json_object_get(md, "signatures");
	if (!sigs) {
		sigs = json_array();
		if (!sigs || json_object_set_new(md, "signatures", sigs) < 0)
			return -ENOMEM;
	}
	if (!json_is_array(sigs))
		return -EINVAL;
	json_array_foreach(
		sigs, i,
		entry) if (streq_ptr(json_string_value(json_object_get(entry, "keyid")), s->id))
	{
		json_array_remove(sigs, i);
		break;
	}
	entry = json_pack("{s:s, s:s}", "keyid", s->id, "sig", sig);
	if (!entry || json_array_append_new(sigs, entry) < 0)
		return -ENOMEM;
	return 0;
}

int tuf_signer_save(const struct tuf_signer *s, const char *path)
{
	char pub[65], priv[65];
	_cleanup_free_ char *text = NULL;
	json_t *o;
	int r;

	sodium_bin2hex(pub, sizeof(pub), s->pk, 32);
	sodium_bin2hex(priv, sizeof(priv), s->sk, 32);
	o = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "keytype", "ed25519", "scheme", "ed25519",
		      "keyid", s->id, "keyval", "public", pub, "private", priv);
	sodium_memzero(priv, sizeof(priv));
	if (!o)
		return -ENOMEM;
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	r = write_file_atomic(path, text, strlen(text), 0600);
	sodium_memzero(text, strlen(text));
	if (r < 0)
		return log_error_errno(r, "cannot write key file '%s': %s", path, strerror(-r));
	return 0;
}

int tuf_signer_load(const char *path, struct tuf_signer *ret)
{
	_cleanup_free_ char *text = NULL;
	unsigned char seed[32];
	struct tuf_signer s;
	const char *priv, *pub, *id;
	json_t *o = NULL;
	size_t len, n;
	int r;

	r = read_file_capped(path, 64 * 1024, &text, &len);
	if (r < 0)
		return log_error_errno(r, "cannot read key file '%s': %s", path, strerror(-r));
	r = tuf_json_parse(text, len, 64 * 1024, path, &o);
	sodium_memzero(text, len);
	if (r < 0)
		return log_error_errno(-EBADMSG, "'%s': not a key file", path);
	priv = json_string_value(json_object_get(json_object_get(o, "keyval"), "private"));
	pub = json_string_value(json_object_get(json_object_get(o, "keyval"), "public"));
	id = json_string_value(json_object_get(o, "keyid"));
	if (!streq_ptr(json_string_value(json_object_get(o, "keytype")), "ed25519") || !priv ||
	    strlen(priv) != 64 || hex_decode(priv, seed, sizeof(seed), &n) < 0) {
		json_decref(o);
		return log_error_errno(-EBADMSG, "'%s': not an ed25519 private key", path);
	}
	r = tuf_signer_from_seed(seed, &s);
	sodium_memzero(seed, sizeof(seed));
	if (r == 0) {
		char pubhex[65];

		sodium_bin2hex(pubhex, sizeof(pubhex), s.pk, 32);
		if ((pub && !streq(pub, pubhex)) || (id && !streq(id, s.id)))
			r = log_error_errno(-EBADMSG,
					    "'%s': public key or key ID does not match "
					    "the private key",
					    path);
	}
	json_decref(o);
	if (r == 0)
		*ret = s;
	sodium_memzero(&s, sizeof(s));
	return r;
}
