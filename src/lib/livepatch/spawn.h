/*
 * Running the external tools the livepatch build drives (tar, make, patch) with their output
 * captured in a log file, since the library never prints.
 */
#pragma once

#include <stddef.h>

/*
 * Runs ARGV (searched in $PATH) in directory CWD (NULL: the current one) with stdin from
 * /dev/null and stdout+stderr appended to LOG_PATH (NULL: discarded). ENV (may be NULL) is a
 * NULL-terminated list of "NAME=VALUE" added to the environment.
 * Returns 0 when the program exited 0, -ENOEXEC when it exited otherwise or died (*RET_STATUS,
 * optional, gets the raw wait status), or -errno when it could not be started.
 */
int lp_spawn(const char *const *argv, const char *cwd, const char *const *env, const char *log_path,
	     int *ret_status);

/* The same, calling TICK(USERDATA) about five times a second while the program runs. */
int lp_spawn_watch(const char *const *argv, const char *cwd, const char *const *env,
		   const char *log_path, int *ret_status, void (*tick)(void *userdata),
		   void *userdata);

/* The last MAX_LINES lines of the file at PATH (at most 8 KiB of it); NULL if unreadable. */
char *lp_log_tail(const char *path, unsigned max_lines);
