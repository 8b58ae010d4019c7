/* fork+exec of build tools with their output sent to a log file. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "spawn.h"
#include "banned.h"

#define LOG_TAIL_BYTES 8192

int lp_spawn(const char *const *argv, const char *cwd, const char *const *env, const char *log_path,
	     int *ret_status)
{
	return lp_spawn_watch(argv, cwd, env, log_path, ret_status, NULL, NULL);
}

int lp_spawn_watch(const char *const *argv, const char *cwd, const char *const *env,
		   const char *log_path, int *ret_status, void (*tick)(void *userdata),
		   void *userdata)
{
	int out = -1, status = 0, errpipe[2];
	ssize_t n;
	pid_t pid;
	int child_errno = 0;

	if (!argv || !argv[0])
		return -EINVAL;
	out = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		   0644);
	if (out < 0)
		return log_error_errno(negative_errno(), "cannot open log '%s': %m",
				       log_path ? log_path : "/dev/null");
	/* A close-on-exec pipe tells the parent why exec failed (nothing arrives on success). */
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		int r = negative_errno();

		close(out);
		return r;
	}

	pid = fork();
	if (pid < 0) {
		int r = negative_errno();

		close(out);
		close(errpipe[0]);
		close(errpipe[1]);
		return r;
	}
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int e;

		if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			goto fail;
		if (cwd && chdir(cwd) < 0)
			goto fail;
		for (size_t i = 0; env && env[i]; i++)
			if (putenv((char *)env[i]) < 0)
				goto fail;
		execvp(argv[0], (char *const *)argv);
	fail:
		e = errno;
		if (write(errpipe[1], &e, sizeof(e)) < 0) {
			/* nothing more can be reported */
		}
		_exit(127);
	}

	close(out);
	close(errpipe[1]);
	do
		n = read(errpipe[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(errpipe[0]);

	for (;;) {
		pid_t w = waitpid(pid, &status, tick ? WNOHANG : 0);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return negative_errno();
		if (w == 0) {
			tick(userdata);
			usleep(200 * 1000);
		}
	}
	if (ret_status)
		*ret_status = status;
	if (n == (ssize_t)sizeof(child_errno) && child_errno > 0)
		return log_error_errno(-child_errno, "cannot run '%s': %s", argv[0],
				       strerror(child_errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -ENOEXEC;
	return 0;
}

char *lp_log_tail(const char *path, unsigned max_lines)
{
	_cleanup_close_ int fd = -1;
	char *buf, *p;
	struct stat st;
	off_t start;
	ssize_t n;
	unsigned lines = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	start = st.st_size > LOG_TAIL_BYTES ? st.st_size - LOG_TAIL_BYTES : 0;
	buf = malloc(LOG_TAIL_BYTES + 1);
	if (!buf)
		return NULL;
	n = pread(fd, buf, LOG_TAIL_BYTES, start);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	for (p = buf + n; p > buf; p--)
		if (p[-1] == '\n' && ++lines >= max_lines)
			break;
	memmove(buf, p, strlen(p) + 1);
	return buf;
}
