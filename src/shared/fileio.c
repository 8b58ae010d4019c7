/* File helpers: capped reads, atomic writes, directory creation and removal. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ftw.h>

#include "fileio.h"
#include "macro.h"
#include "strbuf.h"

int read_file_capped(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	struct strbuf sb;
	struct stat st;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (S_ISREG(st.st_mode) && (size_t)st.st_size > max)
		return -EFBIG;
	strbuf_init(&sb, max);
	for (;;) {
		ssize_t n;
		int r = strbuf_grow(&sb, 65536);

		if (r < 0) {
			/* Allow exactly max bytes: grow may refuse the slack only. */
			r = strbuf_grow(&sb, max > sb.len ? max - sb.len : 0);
			if (r < 0 || sb.len >= max) {
				char c;

				if (read(fd, &c, 1) == 0)
					break;
				strbuf_release(&sb);
				return -EFBIG;
			}
		}
		n = read(fd, sb.buf + sb.len, sb.alloc - sb.len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			strbuf_release(&sb);
			return negative_errno();
		}
		if (n == 0)
			break;
		sb.len += (size_t)n;
		sb.buf[sb.len] = '\0';
	}
	if (ret_len)
		*ret_len = sb.len;
	*ret_buf = strbuf_detach(&sb);
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, int mode)
{
	_cleanup_free_ char *tmp = strdup_printf("%s.tmp.XXXXXX", path);
	const char *p = data;
	int fd;

	if (!tmp)
		return -ENOMEM;
	fd = mkstemp(tmp);
	if (fd < 0)
		return negative_errno();
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			int r;

			if (errno == EINTR)
				continue;
			r = negative_errno();
			close(fd);
			unlink(tmp);
			return r;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, (mode_t)mode) < 0 || fsync(fd) < 0) {
		int r = negative_errno();

		close(fd);
		unlink(tmp);
		return r;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int r = negative_errno();

		unlink(tmp);
		return r;
	}
	return 0;
}

int mkdir_p(const char *path, int mode)
{
	_cleanup_free_ char *p = strdup(path);
	char *s;

	if (!p)
		return -ENOMEM;
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
			return negative_errno();
		*s = '/';
	}
	if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

static int rm_one(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(fpath) < 0 ? -1 : 0;
	return unlink(fpath) < 0 ? -1 : 0;
}

int rm_rf(const char *path)
{
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 0 : negative_errno();
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0)
		return negative_errno();
	return 0;
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	return strdup_printf("%.*s/%s", (int)la, a, b);
}
