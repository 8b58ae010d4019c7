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

/* More translation units than this (a widely included header changed) are refused. */
#define LP_TREE_MAX_TUS 64

struct lp_tree_opts {
	const char *source_dir;	    /* a kernel source tree, copied; or: */
	const char *source_tarball; /* a tarball of one (any compression tar reads) */
	const char *config;	    /* the .config the target kernel was built with */
	const char *kbuild;	    /* optional: the target's kbuild dir, for its release */
	const char *cache_dir;	    /* NULL: tt_path_cache_dir() */
	unsigned jobs;		    /* make -j; 0: the number of CPUs */
};

struct lp_tree {
	char *path;    /* the prepared tree (a real path, never moved after preparing) */
	char *key;     /* hex digest naming the cache entry */
	char *release; /* KERNELRELEASE given to make, or NULL */
	char *cc;      /* the compiler named by CONFIG_CC_VERSION_TEXT */
	char *log;     /* where the tools' output of the last operation went */
	unsigned jobs;
	bool cached;		/* found ready in the cache */
	double prepare_seconds; /* time lp_tree_prepare() took */
};

/*
 * Finds the prepared tree for OPTS in the cache or prepares it: extracts or copies the source,
 * runs `make olddefconfig` and `make modules_prepare` (never a kernel build) in a directory of
 * its own and publishes it with an atomic rename of a symlink, so concurrent or interrupted
 * runs never see half a tree. Returns 0 or -errno (-ENOEXEC: a tool failed; the log is named
 * in the message).
 */
int lp_tree_prepare(const struct lp_tree_opts *opts, struct lp_tree **ret);
void lp_tree_free(struct lp_tree *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lp_tree *, lp_tree_free);

struct lp_tu {
	char *source;	   /* "fs/proc/cmdline.c", relative to the tree */
	char *orig_obj;	   /* OUTDIR/orig/fs/proc/cmdline.o */
	char *patched_obj; /* OUTDIR/patched/fs/proc/cmdline.o */
	char *module;	   /* NULL: built into vmlinux; else the module's name */
	char *why;	   /* "changed", or "includes include/linux/x.h" */
};

struct lp_tu_set {
	struct lp_tu *tus;
	size_t ntus;
	char **skipped; /* sources not built with this config, or files that build nothing */
	size_t nskipped;
	char **headers; /* changed headers */
	size_t nheaders;
	double compile_seconds;
};

void lp_tu_set_free(struct lp_tu_set *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lp_tu_set *, lp_tu_set_free);
json_t *lp_tu_set_to_json(const struct lp_tu_set *s);

/*
 * Compiles the translation units PS changes in TREE, before and after applying its patches
 * (in order, as patch -p1), and copies the objects under OUTDIR/orig and OUTDIR/patched. The
 * tree is locked meanwhile and restored afterwards, also after a crash (at the next use).
 * A changed header brings in the .c files including it (directly or through other headers)
 * that this config builds. Returns 0 (possibly with no translation unit: nothing to compile),
 * or -errno: -EBADMSG the patches do not apply (the message quotes patch(1)),
 * -EOPNOTSUPP a change that cannot be livepatched this way (build files, assembly, new or
 * deleted sources; named in the message), -E2BIG more than LP_TREE_MAX_TUS units,
 * -ENOEXEC a compile failed.
 */
int lp_tree_compile(struct lp_tree *tree, const struct lp_patchset *ps, const char *outdir,
		    struct lp_tu_set **ret);
