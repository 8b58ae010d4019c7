/*
 * Temporary work directories that a killed run does not leave behind for good: each holds a
 * lock while in use, and creating one removes those of the same prefix whose lock is free.
 */
#pragma once

/*
 * Creates $TMPDIR (or /tmp) / PREFIX XXXXXX, locked through *RET_LOCK (close it, then remove
 * the directory, when done; the lock is inherited by the tools run in it, so it stays held
 * while a killed run's children still work there). Stale directories of PREFIX are removed
 * first. Returns 0 or -errno.
 */
int lp_workdir_new(const char *prefix, char **ret_path, int *ret_lock);
