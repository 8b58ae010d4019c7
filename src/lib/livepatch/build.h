/*
 * From source patches to a livepatch module, as one call: prepare the tree, compile the changed
 * units patched and original, diff them, link the module. The policy (what is refused, what
 * "no functional change" means) lives here, so the command, the builder and the server share
 * it; lp_build_report_to_json() is the report's one serialiser.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

enum lp_build_result {
	LP_BUILD_WRITTEN = 0,  /* the module was written */
	LP_BUILD_UNSAFE = 2,   /* a change was refused as unsafe (report.refusals say why) */
	LP_BUILD_NOCHANGE = 3, /* nothing this config builds changes its code */
};

struct lp_build_opts {
	const char *const *patches; /* applied in order, as patch -p1 */
	size_t npatches;
	const char *source_dir;	    /* the kernel source, or: */
	const char *source_tarball; /* the same as a tarball */
	const char *config;	    /* the target's .config */
	const char *symbols;	    /* the target's full symbol table (kallsyms or System.map) */
	const char *vmlinux;	    /* optional debug vmlinux */
	const char *kbuild;	    /* the target's kbuild directory */
	const char *name;	    /* the module's name */
	const char *kernel;	    /* the inventory's kernel it is for, or NULL (the report) */
	const char *kernel_release; /* that kernel's release, or NULL (the report) */
	const char *out_ko;	    /* where to write it */
	const char *workdir;	    /* keep objects here; NULL: a temporary directory, removed */
	const char *cache_dir;	    /* NULL: the default cache */
	const char *const *config_accept; /* options allowed to differ (NULL-terminated) */
	const char *const *cves;	  /* the CVEs the patches fix, recorded (NULL-terminated) */
	/* Where the target's modules are (directories or .ko files); none: /lib/modules/REL. */
	const char *const *module_paths;
	size_t nmodule_paths;
	unsigned jobs;	    /* 0: the number of CPUs */
	unsigned max_units; /* more units are refused; 0: LP_TREE_MAX_TUS */
	bool replace;	    /* atomic replace of earlier livepatches */
	bool allow_fuzz;    /* hunks may apply with fuzz */
	/*
	 * The patch authors' headers (tuxtape/livepatch.h, kpatch-macros.h), searched by every
	 * compile; NULL: $TUXTAPE_LIVEPATCH_INCLUDE, else the installed ones, else the source
	 * tree's.
	 */
	const char *author_include;
};

struct lp_build_report {
	enum lp_build_result result;
	char *name;
	char *kernel, *kernel_release; /* as given (lp_build_opts), or NULL */
	char *module; /* the .ko written (LP_BUILD_WRITTEN) */
	char *tree;   /* the prepared tree used */
	bool tree_cached, allow_fuzz, fuzz;
	size_t nrelocs, nklp_syms;
	double t_prepare, t_compile, t_diff, t_module, t_total;
	/* JSON arrays of strings (units: of objects); never NULL in a report */
	json_t *units;	   /* per translation unit: the differ's report, source, why */
	json_t *functions; /* functions patched */
	json_t *refusals;  /* why a change is unsafe, each naming the function or file */
	json_t *warnings;
	json_t *files;	   /* every file the patches touch, as patch(1) named them */
	json_t *identical; /* units compiled and found to have identical code */
	json_t *not_built; /* changed files this config does not compile, and why */
	json_t *notes;	   /* hunks applied at an offset (or with fuzz) */
	json_t *config_accepted;
	json_t *cves;	 /* as given */
	json_t *patches; /* [{"path", "sha256"}] of the source patches, in order */
	/* [{"name", "ko", "function_count", "klp_relocations"}]: vmlinux and the modules patched */
	json_t *objects;
};

/*
 * Runs the whole build. Returns an lp_build_result (>= 0) with *RET_REPORT set, or -errno with
 * the reason logged: -EBADMSG the patches do not apply, -EOPNOTSUPP a change that cannot be
 * livepatched this way, -EPROTO the config is not the target's, -ENOEXEC a compile or the
 * module link failed, -EUCLEAN the cached tree was not pristine (the next run prepares it
 * anew), -E2BIG too many units, other -errno.
 */
int lp_build(const struct lp_build_opts *opts, struct lp_build_report **ret_report);
void lp_build_report_free(struct lp_build_report *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lp_build_report *, lp_build_report_free);

/* {"result", "name", "module", "functions", "units", ...}; see tuxtape(1). */
json_t *lp_build_report_to_json(const struct lp_build_report *r);
/* "written", "unsafe" or "nochange". */
const char *lp_build_result_str(enum lp_build_result r);
