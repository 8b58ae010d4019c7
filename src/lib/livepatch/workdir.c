/* Locked temporary work directories, and removing the ones killed runs left. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "strbuf.h"
#include "workdir.h"
#include "banned.h"

#define LOCK_NAME ".tuxtape-lock"

static const char *tmp_parent(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

/* Removes PARENT/PREFIX* directories whose lock file exists and is not held. */
static void remove_stale(const char *parent, const char *prefix)
{
	size_t plen = strlen(prefix);
	DIR *d = opendir(parent);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		_cleanup_free_ char *dir = NULL, *lock = NULL;
		_cleanup_close_ int fd = -1;

		if (strncmp(de->d_name, prefix, plen) != 0 || strlen(de->d_name) != plen + 6)
			continue;
		dir = path_join(parent, de->d_name);
		lock = dir ? path_join(dir, LOCK_NAME) : NULL;
		if (!lock)
			break;
		/* No lock file: being created right now, or not ours. */
		fd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue;
		log_info("removing '%s', left by a run that did not finish", dir);
		rm_rf(dir);
	}
	closedir(d);
}

int lp_workdir_new(const char *prefix, char **ret_path, int *ret_lock)
{
	_cleanup_free_ char *dir = NULL, *lock = NULL;
	int fd;

	remove_stale(tmp_parent(), prefix);
	dir = strdup_printf("%s/%sXXXXXX", tmp_parent(), prefix);
	if (!dir)
		return -ENOMEM;
	if (!mkdtemp(dir))
		return log_error_errno(negative_errno(), "cannot create a directory in '%s': %m",
				       tmp_parent());
	lock = path_join(dir, LOCK_NAME);
	if (!lock) {
		rm_rf(dir);
		return -ENOMEM;
	}
	/* Not close-on-exec: the tools run in the directory hold the lock too. */
	fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		int r = negative_errno();

		if (fd >= 0)
			close(fd);
		rm_rf(dir);
		return log_error_errno(r, "cannot lock '%s': %s", lock, strerror(-r));
	}
	*ret_path = TAKE_PTR(dir);
	*ret_lock = fd;
	return 0;
}
