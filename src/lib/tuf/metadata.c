/* Parsing TUF metadata strictly and counting valid signatures against a role's threshold. */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "log.h"
#include "tuf/canonical.h"
#include "tuf/metadata.h"
#include "banned.h"

static const char *const type_names[_TUF_ROLE_TYPE_MAX] = {
	[TUF_ROOT] = "root",
	[TUF_TIMESTAMP] = "timestamp",
	[TUF_SNAPSHOT] = "snapshot",
	[TUF_TARGETS] = "targets",
};

const char *tuf_role_type_name(enum tuf_role_type t)
{
	return t < _TUF_ROLE_TYPE_MAX ? type_names[t] : NULL;
}

#define bad(what, fmt, ...)                                                                        \
	({                                                                                         \
		log_debug("'%s': " fmt, what, ##__VA_ARGS__);                                      \
		-EBADMSG;                                                                          \
	})

int tuf_parse_time(const char *s, time_t *ret)
{
	struct tm tm = {};
	const char *end;
	time_t t;

	if (!s || strlen(s) != 20)
		return -EINVAL;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret = t;
	return 0;
}

static void keyring_release(struct tuf_keyring *kr)
{
	for (size_t i = 0; i < kr->n; i++)
		tuf_key_free(kr->keys[i]);
	free(kr->ids);
	free(kr->keys);
	*kr = (struct tuf_keyring){};
}

static int keyring_parse(const json_t *obj, const char *what, struct tuf_keyring *kr)
{
	const char *id;
	json_t *k;
	int r;

	if (!json_is_object(obj))
		return bad(what, "\"keys\" is not an object");
	kr->n = 0;
	kr->ids = calloc(json_object_size(obj) + 1, sizeof(*kr->ids));
	kr->keys = calloc(json_object_size(obj) + 1, sizeof(*kr->keys));
	if (!kr->ids || !kr->keys)
		return -ENOMEM;
	json_object_foreach((json_t *)obj, id, k)
	{
		struct tuf_key *key = NULL;

		r = tuf_key_from_json(k, &key);
		if (r == -EINVAL)
			return bad(what, "key '%s' is malformed", id);
		if (r == -ENOMEM || r == -EIO)
			return r;
		if (r < 0)
			log_debug("'%s': key '%s' is of an unsupported type or scheme", what, id);
		kr->ids[kr->n] = (char *)id;
		kr->keys[kr->n++] = key;
	}
	return 0;
}

static const struct tuf_key *keyring_find(const struct tuf_keyring *kr, const char *id)
{
	for (size_t i = 0; i < kr->n; i++)
		if (streq(kr->ids[i], id))
			return kr->keys[i];
	return NULL;
}

static void role_keys_release(struct tuf_role_keys *rk)
{
	free(rk->keyids);
	*rk = (struct tuf_role_keys){};
}

static int role_keys_parse(const json_t *obj, const char *what, struct tuf_role_keys *rk)
{
	json_t *ids = json_object_get(obj, "keyids");
	json_t *th = json_object_get(obj, "threshold");
	size_t i;

	if (!json_is_array(ids) || !json_is_integer(th))
		return bad(what, "a role lacks \"keyids\" or \"threshold\"");
	if (json_integer_value(th) < 1 || json_integer_value(th) > 1024)
		return bad(what, "a role's threshold is %lld", (long long)json_integer_value(th));
	rk->threshold = (unsigned)json_integer_value(th);
	rk->keyids = calloc(json_array_size(ids) + 1, sizeof(*rk->keyids));
	if (!rk->keyids)
		return -ENOMEM;
	for (i = 0; i < json_array_size(ids); i++) {
		const char *id = json_string_value(json_array_get(ids, i));

		if (!id)
			return bad(what, "a key ID is not a string");
		for (size_t j = 0; j < i; j++)
			if (streq(rk->keyids[j], id))
				return bad(what, "key ID '%s' is listed twice", id);
		rk->keyids[i] = (char *)id;
	}
	rk->n = i;
	return 0;
}

static int hashes_check_format(const json_t *h, const char *what)
{
	const char *alg;
	json_t *v;

	if (!json_is_object(h) || json_object_size(h) == 0)
		return bad(what, "\"hashes\" is not a non-empty object");
	json_object_foreach((json_t *)h, alg, v) if (!json_is_string(v)) return bad(
		what, "hash '%s' is not a string", alg);
	return 0;
}

static int length_parse(const json_t *obj, const char *what, bool required, int64_t *ret)
{
	json_t *l = json_object_get(obj, "length");

	*ret = -1;
	if (!l)
		return required ? bad(what, "\"length\" is missing") : 0;
	if (!json_is_integer(l) || json_integer_value(l) < 0)
		return bad(what, "\"length\" is not a non-negative integer");
	*ret = json_integer_value(l);
	return 0;
}

static int meta_parse(struct tuf_metadata *md, const char *what)
{
	json_t *meta = json_object_get(md->signed_, "meta");
	const char *name;
	json_t *v;
	int r;

	if (!json_is_object(meta))
		return bad(what, "\"meta\" is not an object");
	if (md->type == TUF_TIMESTAMP && !json_object_get(meta, "snapshot.json"))
		return bad(what, "\"meta\" has no \"snapshot.json\"");
	md->meta = calloc(json_object_size(meta) + 1, sizeof(*md->meta));
	if (!md->meta)
		return -ENOMEM;
	json_object_foreach(meta, name, v)
	{
		struct tuf_metafile *mf = &md->meta[md->n_meta];
		json_t *ver = json_object_get(v, "version");

		if (!json_is_object(v) || !json_is_integer(ver) || json_integer_value(ver) < 1)
			return bad(what, "\"meta\" entry '%s' lacks a positive version", name);
		mf->name = name;
		mf->version = json_integer_value(ver);
		r = length_parse(v, what, false, &mf->length);
		if (r < 0)
			return r;
		mf->hashes = json_object_get(v, "hashes");
		if (mf->hashes && (r = hashes_check_format(mf->hashes, what)) < 0)
			return r;
		md->n_meta++;
	}
	return 0;
}

static int root_parse(struct tuf_metadata *md, const char *what)
{
	json_t *cs = json_object_get(md->signed_, "consistent_snapshot");
	json_t *roles = json_object_get(md->signed_, "roles");
	int r;

	if (cs && !json_is_boolean(cs))
		return bad(what, "\"consistent_snapshot\" is not a boolean");
	md->consistent_snapshot = json_is_true(cs);
	r = keyring_parse(json_object_get(md->signed_, "keys"), what, &md->keys);
	if (r < 0)
		return r;
	if (!json_is_object(roles) || json_object_size(roles) != _TUF_ROLE_TYPE_MAX)
		return bad(what, "\"roles\" must name exactly the four top-level roles");
	for (int t = 0; t < _TUF_ROLE_TYPE_MAX; t++) {
		json_t *role = json_object_get(roles, type_names[t]);

		if (!json_is_object(role))
			return bad(what, "\"roles\" lacks '%s'", type_names[t]);
		r = role_keys_parse(role, what, &md->roles[t]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int delegations_parse(struct tuf_metadata *md, json_t *d, const char *what)
{
	json_t *roles = json_object_get(d, "roles");
	size_t i;
	int r;

	if (!json_is_object(d))
		return bad(what, "\"delegations\" is not an object");
	if (json_object_get(d, "succinct_roles"))
		return bad(what, "succinct_roles (TAP 15) are not supported");
	if (!json_is_array(roles))
		return bad(what, "\"delegations\" lacks \"roles\"");
	md->has_delegations = true;
	r = keyring_parse(json_object_get(d, "keys"), what, &md->delegation_keys);
	if (r < 0)
		return r;
	md->delegations = calloc(json_array_size(roles) + 1, sizeof(*md->delegations));
	if (!md->delegations)
		return -ENOMEM;
	for (i = 0; i < json_array_size(roles); i++) {
		json_t *o = json_array_get(roles, i);
		struct tuf_delegation *dl = &md->delegations[i];
		json_t *term = json_object_get(o, "terminating");
		const char *name = json_string_value(json_object_get(o, "name"));
		json_t *p;

		md->n_delegations = i + 1;
		if (!json_is_object(o) || !name || !*name || !json_is_boolean(term))
			return bad(what, "delegation %zu lacks a name or \"terminating\"", i);
		for (int t = 0; t < _TUF_ROLE_TYPE_MAX; t++)
			if (streq(name, type_names[t]))
				return bad(what, "a delegated role is named '%s'", name);
		for (size_t j = 0; j < i; j++)
			if (streq(md->delegations[j].name, name))
				return bad(what, "role '%s' is delegated twice", name);
		dl->name = name;
		dl->terminating = json_is_true(term);
		r = role_keys_parse(o, what, &dl->keys);
		if (r < 0)
			return r;
		dl->paths = json_object_get(o, "paths");
		dl->path_hash_prefixes = json_object_get(o, "path_hash_prefixes");
		if (!!dl->paths == !!dl->path_hash_prefixes)
			return bad(what,
				   "delegation '%s' needs exactly one of paths and "
				   "path_hash_prefixes",
				   name);
		p = dl->paths ? dl->paths : dl->path_hash_prefixes;
		if (!json_is_array(p))
			return bad(what, "delegation '%s': paths are not an array", name);
		for (size_t j = 0; j < json_array_size(p); j++)
			if (!json_is_string(json_array_get(p, j)))
				return bad(what, "delegation '%s': a path is not a string", name);
	}
	return 0;
}

static int targets_parse(struct tuf_metadata *md, const char *what)
{
	json_t *t = json_object_get(md->signed_, "targets");
	json_t *d = json_object_get(md->signed_, "delegations");
	const char *path;
	json_t *v;
	int r;

	if (!json_is_object(t))
		return bad(what, "\"targets\" is not an object");
	json_object_foreach(t, path, v)
	{
		int64_t len;

		if (!json_is_object(v))
			return bad(what, "target '%s' is not an object", path);
		r = length_parse(v, what, true, &len);
		if (r < 0)
			return r;
		r = hashes_check_format(json_object_get(v, "hashes"), what);
		if (r < 0)
			return r;
	}
	md->targets = t;
	return d ? delegations_parse(md, d, what) : 0;
}

static int spec_version_check(const char *v)
{
	int parts = 1;

	if (!v || !*v)
		return -EBADMSG;
	for (const char *p = v; *p; p++) {
		if (*p == '.') {
			if (p == v || p[1] == '\0' || p[-1] == '.')
				return -EBADMSG;
			parts++;
		} else if (*p < '0' || *p > '9') {
			return -EBADMSG;
		}
	}
	if (parts < 2 || parts > 3)
		return -EBADMSG;
	return strtol(v, NULL, 10) == 1 ? 0 : -EBADMSG;
}

static int signatures_parse(struct tuf_metadata *md, const char *what)
{
	json_t *sigs = json_object_get(md->json, "signatures");
	json_t *s;
	size_t i;

	if (!json_is_array(sigs))
		return bad(what, "\"signatures\" is not an array");
	md->signatures = json_object();
	if (!md->signatures)
		return -ENOMEM;
	json_array_foreach(sigs, i, s)
	{
		const char *id = json_string_value(json_object_get(s, "keyid"));
		json_t *sig = json_object_get(s, "sig");

		if (!json_is_object(s) || !id || !json_is_string(sig))
			return bad(what, "signature %zu lacks \"keyid\" or \"sig\"", i);
		if (json_object_get(md->signatures, id))
			return bad(what, "two signatures by key '%s'", id);
		if (json_object_set(md->signatures, id, sig) < 0)
			return -ENOMEM;
	}
	return 0;
}

int tuf_metadata_parse(const void *data, size_t len, size_t max, enum tuf_role_type type,
		       const char *what, struct tuf_metadata **ret)
{
	struct tuf_metadata *md;
	json_t *ver;
	const char *t;
	int r;

	md = calloc(1, sizeof(*md));
	if (!md)
		return -ENOMEM;
	md->type = type;
	r = tuf_json_parse(data, len, max, what, &md->json);
	if (r < 0)
		goto fail;
	r = -EBADMSG;
	md->signed_ = json_object_get(md->json, "signed");
	if (!json_is_object(md->json) || !json_is_object(md->signed_)) {
		bad(what, "not a metadata object");
		goto fail;
	}
	t = json_string_value(json_object_get(md->signed_, "_type"));
	if (!streq_ptr(t, type_names[type])) {
		bad(what, "\"_type\" is '%s', not '%s'", strempty(t), type_names[type]);
		goto fail;
	}
	if (spec_version_check(json_string_value(json_object_get(md->signed_, "spec_version")))) {
		bad(what, "unsupported or missing \"spec_version\"");
		goto fail;
	}
	ver = json_object_get(md->signed_, "version");
	if (!json_is_integer(ver) || json_integer_value(ver) < 1) {
		bad(what, "\"version\" is not a positive integer");
		goto fail;
	}
	md->version = json_integer_value(ver);
	if (tuf_parse_time(json_string_value(json_object_get(md->signed_, "expires")),
			   &md->expires) < 0) {
		bad(what, "\"expires\" is not YYYY-MM-DDTHH:MM:SSZ");
		goto fail;
	}
	r = signatures_parse(md, what);
	if (r < 0)
		goto fail;
	switch (type) {
	case TUF_ROOT:
		r = root_parse(md, what);
		break;
	case TUF_TIMESTAMP:
	case TUF_SNAPSHOT:
		r = meta_parse(md, what);
		break;
	case TUF_TARGETS:
		r = targets_parse(md, what);
		break;
	default:
		r = -EINVAL;
	}
	if (r < 0)
		goto fail;
	r = tuf_canonical_dump(md->signed_, 0, &md->canonical, &md->canonical_len);
	if (r < 0)
		goto fail;
	*ret = md;
	return 0;
fail:
	tuf_metadata_free(md);
	return r;
}

void tuf_metadata_free(struct tuf_metadata *md)
{
	if (!md)
		return;
	keyring_release(&md->keys);
	for (int t = 0; t < _TUF_ROLE_TYPE_MAX; t++)
		role_keys_release(&md->roles[t]);
	keyring_release(&md->delegation_keys);
	for (size_t i = 0; i < md->n_delegations; i++)
		role_keys_release(&md->delegations[i].keys);
	free(md->delegations);
	free(md->meta);
	free(md->canonical);
	json_decref(md->signatures);
	json_decref(md->json);
	free(md);
}

int tuf_metadata_verify(const struct tuf_metadata *md, const struct tuf_keyring *keys,
			const struct tuf_role_keys *role)
{
	unsigned good = 0;

	for (size_t i = 0; i < role->n && good < role->threshold; i++) {
		const struct tuf_key *k = keyring_find(keys, role->keyids[i]);
		const char *sig =
			json_string_value(json_object_get(md->signatures, role->keyids[i]));

		if (k && sig && tuf_key_verify(k, sig, md->canonical, md->canonical_len) == 0)
			good++;
	}
	return good >= role->threshold ? 0 : -EPERM;
}

const struct tuf_metafile *tuf_metadata_meta(const struct tuf_metadata *md, const char *name)
{
	for (size_t i = 0; i < md->n_meta; i++)
		if (streq(md->meta[i].name, name))
			return &md->meta[i];
	return NULL;
}

int tuf_check_length_hashes(const void *data, size_t len, int64_t length, const json_t *hashes)
{
	const char *alg;
	json_t *v;

	if (length >= 0 && (uint64_t)length != len)
		return -EBADMSG;
	json_object_foreach((json_t *)hashes, alg, v)
	{
		unsigned char md[EVP_MAX_MD_SIZE];
		char hex[2 * EVP_MAX_MD_SIZE + 1];
		const EVP_MD *type = NULL;
		unsigned n = 0;

		if (streq(alg, "sha256"))
			type = EVP_sha256();
		else if (streq(alg, "sha512"))
			type = EVP_sha512();
		else if (streq(alg, "sha384"))
			type = EVP_sha384();
		else if (streq(alg, "sha224"))
			type = EVP_sha224();
		if (!type || EVP_Digest(data, len, md, &n, type, NULL) != 1)
			return -EBADMSG;
		sodium_bin2hex(hex, sizeof(hex), md, n);
		if (strcasecmp(hex, strempty(json_string_value(v))) != 0)
			return -EBADMSG;
	}
	return 0;
}

static bool path_pattern_matches(const char *path, const char *pattern)
{
	/* Segment by segment, as many on each side: '*' never crosses a '/'. */
	for (;;) {
		const char *ps = strchrnul(path, '/'), *qs = strchrnul(pattern, '/');
		_cleanup_free_ char *seg = strndup(path, (size_t)(ps - path));
		_cleanup_free_ char *pat = strndup(pattern, (size_t)(qs - pattern));

		if (!seg || !pat || fnmatch(pat, seg, 0) != 0)
			return false;
		if (!*ps || !*qs)
			return !*ps && !*qs;
		path = ps + 1;
		pattern = qs + 1;
	}
}

bool tuf_delegation_matches(const struct tuf_delegation *d, const char *target_path)
{
	if (d->path_hash_prefixes) {
		unsigned char h[crypto_hash_sha256_BYTES];
		char hex[2 * sizeof(h) + 1];

		crypto_hash_sha256(h, (const unsigned char *)target_path, strlen(target_path));
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		for (size_t i = 0; i < json_array_size(d->path_hash_prefixes); i++)
			if (startswith(hex,
				       json_string_value(json_array_get(d->path_hash_prefixes, i))))
				return true;
		return false;
	}
	for (size_t i = 0; i < json_array_size(d->paths); i++)
		if (path_pattern_matches(target_path,
					 json_string_value(json_array_get(d->paths, i))))
			return true;
	return false;
}
