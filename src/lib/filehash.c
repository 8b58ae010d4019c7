/* File SHA-256 with a stat-keyed memo. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filehash.h"
#include "fileio.h"
#include "macro.h"
#include "strbuf.h"
#include "banned.h"

int tt_file_sha256_update(void *state, const char *path)
{
	crypto_hash_sha256_state *h = state;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ unsigned char *buf = malloc(1u << 20);
	ssize_t n;

	if (fd < 0)
		return negative_errno();
	if (!buf)
		return -ENOMEM;
	while ((n = read(fd, buf, 1u << 20)) > 0)
		crypto_hash_sha256_update(h, buf, (unsigned long long)n);
	return n < 0 ? negative_errno() : 0;
}

int tt_file_sha256_memo(const char *path, const char *memo_dir, char ret[static 65])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	char statkey[crypto_hash_sha256_BYTES * 2 + 1], real[PATH_MAX];
	_cleanup_free_ char *id = NULL, *memo = NULL, *buf = NULL;
	crypto_hash_sha256_state h;
	struct stat st;
	int r;

	if (!realpath(path, real) || stat(real, &st) < 0)
		return negative_errno();
	/*
	 * The change time is part of the key: a writer can put the modification time back
	 * (utimensat), but any write or utime moves ctime to now, so a rewritten file with the
	 * old size and mtime is hashed again rather than taken for the old one.
	 */
	id = strdup_printf("%s\n%lld\n%llu:%llu\n%lld.%09ld\n%lld.%09ld", real,
			   (long long)st.st_size, (unsigned long long)st.st_dev,
			   (unsigned long long)st.st_ino, (long long)st.st_mtim.tv_sec,
			   st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	if (!id)
		return -ENOMEM;
	crypto_hash_sha256(digest, (const unsigned char *)id, strlen(id));
	sodium_bin2hex(statkey, sizeof(statkey), digest, sizeof(digest));
	statkey[32] = '\0';
	memo = strdup_printf("%s/.sum-%s", memo_dir, statkey);
	if (!memo)
		return -ENOMEM;
	if (read_file_capped(memo, 128, &buf, NULL) == 0 && strlen(buf) == 64) {
		memcpy(ret, buf, 65);
		return 0;
	}
	crypto_hash_sha256_init(&h);
	r = tt_file_sha256_update(&h, real);
	if (r < 0)
		return r;
	crypto_hash_sha256_final(&h, digest);
	sodium_bin2hex(ret, 65, digest, sizeof(digest));
	(void)write_file_atomic(memo, ret, 64, 0644);
	return 0;
}
