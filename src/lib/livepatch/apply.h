/*
 * Applying patches with patch(1), and learning from patch(1) itself which files it touches:
 * the one tool that changes the tree is the one that says what it changed, so no second
 * parser can disagree with it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct lp_patch_touch {
	char *path;	    /* relative to the tree, as patch(1) named it */
	char *renamed_from; /* "(renamed from X)" or "(copied from X)": X; else NULL */
	bool copied;
};

struct lp_patch_run {
	struct lp_patch_touch *files; /* in patch(1)'s order, each once */
	size_t nfiles;
	char **notes; /* "Hunk #1 succeeded at 58 (offset 3 lines)." and the like, per patch */
	size_t nnotes;
	bool fuzz; /* some hunk applied only with fuzz (possible only when allowed) */
};

void lp_patch_run_release(struct lp_patch_run *r);

/*
 * Refuses, before anything is applied, what a patch asks of patch(1) beyond editing lines of
 * regular files: git mode changes, binary hunks, renames and copies, new files with a mode
 * other than 0644. Returns 0 or -EOPNOTSUPP (logged with NAME:LINE).
 */
int lp_patch_check_text(const char *name, const char *text, size_t len);

/*
 * Runs `patch -p1 -N -f` on TREE with the patch file PATCH; --dry-run when DRY_RUN. Hunks must
 * apply exactly (-F0) unless ALLOW_FUZZ. The output goes to LOG (overwritten) and is read back
 * for the files patch(1) names and the offsets and fuzz it reports, appended to *RUN.
 * Returns 0, -EBADMSG when the patch does not apply (the message quotes patch(1); *RUN still
 * lists the files patch(1) named, so the caller can tell a damaged tree from a wrong patch), or
 * -EOPNOTSUPP when patch(1) reports something tuxtape cannot account for (a symlink, a file
 * name it cannot read back).
 */
int lp_patch_apply(const char *tree, const char *patch, bool dry_run, bool allow_fuzz,
		   const char *log, struct lp_patch_run *run);
