/* Private key files of the archive (naming, permissions, retirement) and signing metadata. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "archive/keystore.h"
#include "fileio.h"
#include "log.h"
#include "tuf/canonical.h"
#include "banned.h"

static char *key_path(const char *dir, const char *role, const char *keyid)
{
	return strdup_printf("%s/%s.%s.key", dir, role, keyid);
}

int ar_key_create(const char *dir, const char *role, struct tuf_signer *ret)
{
	_cleanup_free_ char *path = NULL;
	struct tuf_signer s;
	int r;

	r = mkdir_p(dir, 0700);
	if (r < 0)
		return log_error_errno(r, "cannot create key folder '%s': %s", dir, strerror(-r));
	r = tuf_signer_generate(&s);
	if (r < 0)
		return log_error_errno(r, "cannot make a key: %s", strerror(-r));
	path = key_path(dir, role, s.id);
	if (!path) {
		tuf_signer_release(&s);
		return -ENOMEM;
	}
	r = tuf_signer_save(&s, path); /* logs its errors */
	if (r < 0) {
		tuf_signer_release(&s);
		return r;
	}
	*ret = s;
	return 0;
}

int ar_key_load(const char *dir, const char *role, const char *keyid, struct tuf_signer *ret)
{
	_cleanup_free_ char *path = key_path(dir, role, keyid);
	struct stat st;
	int r;

	if (!path)
		return -ENOMEM;
	if (stat(path, &st) < 0)
		return log_error_errno(negative_errno(), "no %s key '%s'%s", role, path,
				       streq(role, "root") ? " (give --root-key-dir)" : "");
	if (st.st_mode & 077)
		log_warn("key '%s' can be read by others (mode %04o): chmod 600 it", path,
			 (unsigned)(st.st_mode & 07777));
	r = tuf_signer_load(path, ret); /* logs its errors */
	if (r < 0)
		return r;
	if (!streq(ret->id, keyid)) {
		tuf_signer_release(ret);
		return log_error_errno(-EBADMSG,
				       "key '%s' has key ID %s, not the one its name says", path,
				       ret->id);
	}
	return 0;
}

int ar_key_retire(const char *dir, const char *role, const char *keyid)
{
	_cleanup_free_ char *from = key_path(dir, role, keyid);
	_cleanup_free_ char *rdir = path_join(dir, "retired");
	_cleanup_free_ char *to = NULL;
	int r;

	if (!from || !rdir)
		return -ENOMEM;
	to = key_path(rdir, role, keyid);
	if (!to)
		return -ENOMEM;
	r = mkdir_p(rdir, 0700);
	if (r < 0 || rename(from, to) < 0)
		return log_warn_errno(r < 0 ? r : negative_errno(),
				      "cannot move retired key '%s' "
				      "to '%s'",
				      from, rdir);
	return 0;
}

int ar_sign(json_t *signed_body, struct tuf_signer *const *keys, size_t n, struct strbuf *out)
{
	json_t *md = json_pack("{s:[] s:O}", "signatures", "signed", signed_body);
	int r = 0;

	if (!md)
		return -ENOMEM;
	for (size_t i = 0; i < n && r >= 0; i++)
		r = tuf_sign_metadata(md, keys[i]);
	if (r >= 0)
		r = tuf_canonical_append(out, md);
	json_decref(md);
	return r;
}
