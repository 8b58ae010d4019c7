/*
 * Prepared kernel trees, cached per (source, config), and compiling the translation units a
 * patch changes, original and patched, with the kernel's own flags plus function and data
 * sections, for the differ.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct lp_patchset;

/* More translation units than this (a widely included header changed) are refused, unless
 * lp_compile_opts.max_units says otherwise. */
#define LP_TREE_MAX_TUS 64

struct lp_tree_opts {
	const char *source_dir;	    /* a kernel source tree, copied; or: */
	const char *source_tarball; /* a tarball of one (any compression tar reads) */
	const char *config;	    /* the .config the target kernel was built with */
	const char *kbuild;	    /* optional: the target's kbuild dir, for its release */
	const char *cache_dir;	    /* NULL: tt_path_cache_dir() */
	unsigned jobs;		    /* make -j; 0: the number of CPUs */
	/*
	 * Options allowed to differ between the prepared config (after olddefconfig) and
	 * KBUILD/.config, "CONFIG_X" or "X"; NULL-terminated, may be NULL.
	 */
	const char *const *config_accept;
};

struct lp_tree {
	char *path;    /* the prepared tree (a real path, never moved after preparing) */
	char *key;     /* hex digest naming the cache entry */
	char *release; /* KERNELRELEASE given to make, or NULL */
	char *cc;      /* the compiler named by CONFIG_CC_VERSION_TEXT */
	char *log;     /* where the tools' output of the last operation went */
	unsigned jobs;
	bool cached;	   /* found ready in the cache */
	char *compile_env; /* "CPATH=DIR": the patch author's headers, while compiling */
	/*
	 * While compiling with static branches 5 bytes wide (see lp_tree_compile()): the
	 * directory holding the 5-byte asm/jump_label.h, put before the tree's include paths in
	 * replayed commands, and make's "NOSTDINC_FLAGS=-IDIR ..." for the others. NULL: the
	 * kernel's own header.
	 */
	char *wide_dir;
	char *wide_make_var;
	double prepare_seconds; /* time lp_tree_prepare() took */
};

/*
 * Finds the prepared tree for OPTS in the cache or prepares it: extracts or copies the source,
 * records the digest of every file (the pristine manifest), runs `make olddefconfig` and
 * `make modules_prepare` (never a kernel build) in a directory of its own and publishes it
 * with an atomic rename of a symlink, so concurrent or interrupted runs never see half a tree.
 * Work left by killed runs is removed; a tree marked broken is prepared anew. With a kbuild
 * directory, the prepared .config must equal KBUILD/.config (but for CONFIG_BUILD_SALT,
 * CONFIG_MODULE_SIG_KEY and OPTS->config_accept). Returns 0 or -errno (-ENOEXEC: a tool
 * failed, the log is named in the message; -EPROTO: the config is not the target's, the
 * options are named).
 */
int lp_tree_prepare(const struct lp_tree_opts *opts, struct lp_tree **ret);
void lp_tree_free(struct lp_tree *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lp_tree *, lp_tree_free);

struct lp_compile_opts {
	bool allow_fuzz;    /* hunks may apply with fuzz (patch's default); else exactly (-F0) */
	unsigned max_units; /* more translation units are refused; 0: LP_TREE_MAX_TUS */
	/*
	 * A directory searched after the kernel's own include paths by every compile (gcc's
	 * CPATH, which kbuild neither records nor compares, so no object is rebuilt for it):
	 * tuxtape's headers for patch authors (tuxtape/livepatch.h, kpatch-macros.h). NULL:
	 * none.
	 */
	const char *author_include;
};

struct lp_tu {
	char *source;	   /* "fs/proc/cmdline.c", relative to the tree */
	char *orig_obj;	   /* OUTDIR/orig/fs/proc/cmdline.o */
	char *patched_obj; /* OUTDIR/patched/fs/proc/cmdline.o */
	char *module;	   /* NULL: built into vmlinux; else the module's name ("" if unknown) */
	bool builtin_too;  /* a module's file that vmlinux also links */
	char *why;	   /* "changed", or "includes include/linux/x.h" */
	char *how;	   /* why the config builds it, from the static Kbuild evaluation */
};

struct lp_tu_set {
	struct lp_tu *tus;
	size_t ntus;
	char **skipped; /* sources not built with this config, or files that build nothing */
	size_t nskipped;
	char **headers; /* changed headers */
	size_t nheaders;
	char **files; /* every file the patches touch, as patch(1) named them */
	size_t nfiles;
	char **notes; /* hunks patch(1) applied at an offset (or with fuzz, when allowed) */
	size_t nnotes;
	bool fuzz;	    /* some hunk needed fuzz (only with allow_fuzz) */
	bool wide_branches; /* both sides compiled with 5-byte static-branch sites */
	double compile_seconds;
};

void lp_tu_set_free(struct lp_tu_set *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lp_tu_set *, lp_tu_set_free);
json_t *lp_tu_set_to_json(const struct lp_tu_set *s);

/*
 * Compiles the translation units PS changes in TREE, after and before applying its patches
 * (in order, as patch -p1), and copies the objects under OUTDIR/patched and OUTDIR/orig.
 *
 * The files touched are those patch(1) itself names (a dry run first, then the real run);
 * each must match the pristine manifest before it is touched, is backed up in a journal with
 * its digest, and is verified pristine again after the tree is restored (also after a crash,
 * at the next use). Which files the config builds, into vmlinux or a module, comes from the
 * static Kbuild evaluation (kernel/fileset.h). Every object is removed before it is compiled
 * and must exist afterwards; a failed compile is an error with the compiler's message.
 * A changed header brings in the .c files including it (directly or through other headers)
 * that this config builds.
 *
 * Both sides are compiled with every static-branch site 5 bytes wide (an asm/jump_label.h made
 * from the tree's own, whose `jmp %l[l_yes]` become `jmp.d32`, found before the tree's include
 * paths), so that a site on a module's key can jump to a thunk (klp.c). When that header
 * cannot be made (not exactly the two expected jumps, on either side), both sides are compiled
 * as the kernel compiles them, with a warning logged; S->wide_branches says which.
 *
 * Returns 0 (possibly with no translation unit: nothing this config builds changed), or
 * -errno: -EBADMSG the patches do not apply (exactly, unless allowed; the message quotes
 * patch(1)), -EOPNOTSUPP a change that cannot be livepatched this way (build files, assembly,
 * new, deleted or renamed sources, mode changes, binary hunks; named in the message), -E2BIG
 * more than LP_TREE_MAX_TUS units, -ENOEXEC a compile failed, -EUCLEAN the tree does not match
 * its pristine source (it is marked broken and prepared anew by the next lp_tree_prepare()).
 */
int lp_tree_compile(struct lp_tree *tree, const struct lp_patchset *ps,
		    const struct lp_compile_opts *opts, const char *outdir, struct lp_tu_set **ret);
