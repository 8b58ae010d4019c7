/*
 * A set of patch files (unified diffs, git or plain, applied with -p1), checked before anything
 * is applied: readable, not garbage, no path that is absolute or climbs out of the tree. The
 * files listed here are what the headers say, for messages only: the build takes the files a
 * patch touches from patch(1) itself (apply.h), which may read shapes this reader skips.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* Largest patch file read. */
#define LP_PATCH_MAX_SIZE (64u << 20)

struct lp_patch_file {
	char *path;   /* relative to the tree, after stripping one component */
	bool created; /* the old side is /dev/null */
	bool deleted; /* the new side is /dev/null */
	bool renamed; /* old and new names differ: not supported for livepatching */
};

struct lp_patchset {
	char **patches; /* the patch files, in order of application */
	size_t npatches;
	struct lp_patch_file *files; /* each path once, in first-seen order */
	size_t nfiles;
};

struct lp_patchset *lp_patchset_new(void);
void lp_patchset_free(struct lp_patchset *ps);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lp_patchset *, lp_patchset_free);

/*
 * Reads the patch file PATH and adds it and the files it touches. -EBADMSG: no file header
 * at all, or a path that is absolute or climbs out of the tree (logged with the line).
 */
int lp_patchset_add_file(struct lp_patchset *ps, const char *path);
/* The same on text in memory; NAME is used in messages and recorded as the patch's path. */
int lp_patchset_add_text(struct lp_patchset *ps, const char *name, const char *text, size_t len);
