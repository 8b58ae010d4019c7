/* Unit tests for TUF canonical JSON (securesystemslib's vectors), key IDs and signatures. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tuf/canonical.h"
#include "tuf/keys.h"

/* Output of securesystemslib 1.4 encode_canonical() for the same value. */
static void test_canonical_vector(void **state)
{
	const char *in = "{\"b\":[1,-2,true,false,null],\"a\":\"q\\\"u\\\\o\\nt\\u00e9\\u0001\","
			 "\"\\u00e9\":{},\"B\":[]}";
	const char *want = "{\"B\":[],\"a\":\"q\\\"u\\\\o\nt\xc3\xa9\x01\",\"b\":[1,-2,true,"
			   "false,null],\"\xc3\xa9\":{}}";
	json_t *v = NULL;
	char *out = NULL;
	size_t len;

	assert_int_equal(tuf_json_parse(in, strlen(in), 0, "vector", &v), 0);
	assert_int_equal(tuf_canonical_dump(v, 0, &out, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
	free(out);
	assert_int_equal(tuf_canonical_dump(v, 10, &out, &len), -E2BIG);
	json_decref(v);
}

static void test_canonical_refuses_reals(void **state)
{
	json_t *v = json_pack("{s:f}", "x", 1.5);
	char *out = NULL;
	size_t len;

	assert_int_equal(tuf_canonical_dump(v, 0, &out, &len), -EINVAL);
	assert_null(out);
	json_decref(v);
}

static void test_parse_strict(void **state)
{
	static const char *bad[] = {
		"{\"a\":1,\"a\":2}",   /* duplicate key */
		"{\"a\":1} x",	       /* trailing bytes */
		"{\"a\":1.0}",	       /* a real number */
		"{\"a\":\"\\u0000\"}", /* NUL in a string */
		"{\"a\":",	       /* truncated */
	};
	char deep[200];
	json_t *v = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(tuf_json_parse(bad[i], strlen(bad[i]), 0, "bad", &v), -EBADMSG);
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_int_equal(tuf_json_parse(deep, sizeof(deep), 0, "deep", &v), -EBADMSG);
	assert_int_equal(tuf_json_parse("{}", 2, 1, "big", &v), -EFBIG);
	assert_null(v);
}

/* Key ID of RFC 8032 test 1's public key, as securesystemslib computes it. */
static void test_key_id(void **state)
{
	static const unsigned char pk[32] = {
		0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
		0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
		0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
	};
	json_t *k = tuf_key_ed25519_json(pk);
	char id[TUF_KEYID_HEX_LEN + 1];

	assert_int_equal(tuf_key_id(k, id), 0);
	assert_string_equal(id, "74c181c7ad8a0855d4b55e44d2ba87aabdddb196832571f15f92fece332e4916");
	json_decref(k);
}

/* RFC 8032 section 7.1, test 2: one-byte message 0x72. */
static void test_ed25519_rfc8032(void **state)
{
	const char *pub = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
	const char *sig = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
			  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";
	json_t *o = json_pack("{s:s,s:s,s:{s:s}}", "keytype", "ed25519", "scheme", "ed25519",
			      "keyval", "public", pub);
	struct tuf_key *k = NULL;
	char bad[129];

	assert_int_equal(tuf_key_from_json(o, &k), 0);
	assert_int_equal(tuf_key_verify(k, sig, "\x72", 1), 0);
	assert_int_equal(tuf_key_verify(k, sig, "\x73", 1), -EBADMSG);
	memcpy(bad, sig, sizeof(bad));
	bad[0] = '0';
	assert_int_equal(tuf_key_verify(k, bad, "\x72", 1), -EBADMSG);
	assert_int_equal(tuf_key_verify(k, "zz", "\x72", 1), -EBADMSG);
	assert_int_equal(tuf_key_verify(k, "", "\x72", 1), -EBADMSG);
	tuf_key_free(k);
	json_decref(o);
}

/* A key and signature of b"tuxtape" made by securesystemslib's CryptoSigner. */
static void test_ecdsa(void **state)
{
	const char *pem = "-----BEGIN PUBLIC KEY-----\n"
			  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9ESJctjEj+A7tYrIpyP2gG3OgBri\n"
			  "OTRDJ0J9BESMoFwn/xVo3jIaSWZT+aWFM/sYVqgXhI4BMZGDjlxQ/Y7fHw==\n"
			  "-----END PUBLIC KEY-----\n";
	const char *sig = "3045022100e269a3f10c20786f7839262040535ca2946e7bd6f828391ecd1319769a"
			  "e727f50220756f972dc4f21241b3a87c29a4397a873813f6e94d849baa5d0128d30b"
			  "b37915";
	json_t *o = json_pack("{s:s,s:s,s:{s:s}}", "keytype", "ecdsa", "scheme",
			      "ecdsa-sha2-nistp256", "keyval", "public", pem);
	struct tuf_key *k = NULL;

	assert_int_equal(tuf_key_from_json(o, &k), 0);
	assert_int_equal(tuf_key_verify(k, sig, "tuxtape", 7), 0);
	assert_int_equal(tuf_key_verify(k, sig, "tuxtapf", 7), -EBADMSG);
	tuf_key_free(k);
	/* The same key under a scheme of another curve is refused as unsupported. */
	json_object_set_new(o, "scheme", json_string("ecdsa-sha2-nistp384"));
	assert_int_equal(tuf_key_from_json(o, &k), -EOPNOTSUPP);
	json_object_set_new(o, "keytype", json_string("dsa"));
	assert_int_equal(tuf_key_from_json(o, &k), -EOPNOTSUPP);
	json_decref(o);
	assert_int_equal(tuf_key_from_json(json_null(), &k), -EINVAL);
}

/* An RSA-3072 PSS key and signature of b"tuxtape" made by securesystemslib. */
static void test_rsa_pss(void **state)
{
	const char *pem = "-----BEGIN PUBLIC KEY-----\n"
			  "MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEA0N/FgmtN1ip6z+clQZxI\n"
			  "JNB9ZWW+GIU4QJK10JCKBBgnt3HQ0+M3mTx6gnDyuRqgP3x/XtO6TxG2T5COWeXP\n"
			  "hizgF8E4wwr7RHyl+A5pQQqZKSOyqiGnRtvFwjk6ZEcIa6WKr6Sm0LCiJnO22huD\n"
			  "JUN7Q6aaXZq1QEF78PDk11HtQ7O93h/KqAprqi+7Wb5d5k8pJJus7f6MMbTgUSuc\n"
			  "QxQw0fZCtmEhQVjNEvLcEwscVh9JhgmzOTDZWog5YyadzoGSSyk7czIrAJsx18/p\n"
			  "w2aW+m1iacpuAHCOrqYg9ite8L+n1L1F3LxXS7dqhoAnNqH27gUYtAFDOLGLrX/J\n"
			  "x3AhUAFr4DXPDwZ0Z/bitv/K7s3RxheAUnn4tIzWEmp9Ngwm+CdJUwQj9MMtwwJw\n"
			  "r541VsWwewXeScUUramEgnmUaLEAu9vRKlt9eF/xSG0IaTXAaA3M7Qwc5Q57wrY7\n"
			  "6i6Ye1lHKfaatZzzrxj9RXOJ/jNpwZkravJnNJv7GFKTAgMBAAE=\n"
			  "-----END PUBLIC KEY-----\n";
	const char *sig = "291c566cd15250d8277ec3b363b083d1ad4b8c747952e60370328e2948656aa1"
			  "285cbd649215fba967e94971584a81bbd69dd38463052bf9c36e1836be0e22fa"
			  "5e329c123e3e015fab9b5f4a1245201d59440f93425d5593048470359883c803"
			  "9b47f601347b8141447f16f97dc10441d5f15a5c9fe4ab2ceb11fafe51b972ac"
			  "f160350fefee173b0e85683ed7c76b621287fc5b464cc13712211e4c11b3aa0f"
			  "7451ade3d89290194941907c236adaae553558847c1085ec5409b28a7d55bc3f"
			  "1bfad90086e0e57af763f202444ac89163fe5150e27467268a8f58b3fcb3010b"
			  "483705618c33048eb3505a0c9935b1c6036a9d48d8dbe6854dcff8f542a58c41"
			  "4b6b5f4152366e56193f26099243d823c49d7b122b69d5a26c752aed8a09eafb"
			  "097ba62f678a1c7bad4bd697580cfff90e5d3824b26fc7ace74e9461729e63f9"
			  "6f01fea9c1ddca7864847eedf1f1d105095d90f1f9b68208dea47a73af746619"
			  "9428742cd9be7095a3ce26320ec9c6bff6d15d1c0b8dd3c3340a302fccf73522";
	json_t *o = json_pack("{s:s,s:s,s:{s:s}}", "keytype", "rsa", "scheme", "rsassa-pss-sha256",
			      "keyval", "public", pem);
	struct tuf_key *k = NULL;

	assert_int_equal(tuf_key_from_json(o, &k), 0);
	assert_int_equal(tuf_key_verify(k, sig, "tuxtape", 7), 0);
	assert_int_equal(tuf_key_verify(k, sig, "tuxtapf", 7), -EBADMSG);
	tuf_key_free(k);
	/* The same signature is not a PKCS#1 v1.5 one. */
	json_object_set_new(o, "scheme", json_string("rsa-pkcs1v15-sha256"));
	assert_int_equal(tuf_key_from_json(o, &k), 0);
	assert_int_equal(tuf_key_verify(k, sig, "tuxtape", 7), -EBADMSG);
	tuf_key_free(k);
	json_decref(o);
}

static void test_sign_roundtrip(void **state)
{
	struct tuf_signer s, s2;
	struct tuf_key *k = NULL;
	json_t *md = json_pack("{s:{s:s,s:i}}", "signed", "_type", "timestamp", "version", 3);
	json_t *pub;
	char *msg;
	size_t len;
	const char *sig;
	char path[] = "/tmp/tt-tuf-key-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(tuf_signer_generate(&s), 0);
	assert_int_equal(tuf_sign_metadata(md, &s), 0);
	assert_int_equal(tuf_sign_metadata(md, &s), 0); /* replaces, does not add */
	assert_int_equal(json_array_size(json_object_get(md, "signatures")), 1);
	pub = tuf_signer_public_json(&s);
	assert_int_equal(tuf_key_from_json(pub, &k), 0);
	assert_int_equal(tuf_canonical_dump(json_object_get(md, "signed"), 0, &msg, &len), 0);
	sig = json_string_value(
		json_object_get(json_array_get(json_object_get(md, "signatures"), 0), "sig"));
	assert_int_equal(tuf_key_verify(k, sig, msg, len), 0);
	assert_int_equal(tuf_signer_save(&s, path), 0);
	assert_int_equal(tuf_signer_load(path, &s2), 0);
	assert_memory_equal(s.sk, s2.sk, sizeof(s.sk));
	assert_string_equal(s.id, s2.id);
	unlink(path);
	free(msg);
	tuf_key_free(k);
	json_decref(pub);
	json_decref(md);
	tuf_signer_release(&s);
	tuf_signer_release(&s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_vector),
		cmocka_unit_test(test_canonical_refuses_reals),
		cmocka_unit_test(test_parse_strict),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_ed25519_rfc8032),
		cmocka_unit_test(test_ecdsa),
		cmocka_unit_test(test_rsa_pss),
		cmocka_unit_test(test_sign_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
