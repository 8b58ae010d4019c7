/*
 * The set of source files compiled into a kernel (vmlinux or its modules), found three ways:
 *
 *   kernel_files_static()       evaluates the tree's Kbuild files against a .config, without
 *                               building anything (seconds). Constructs it cannot evaluate
 *                               (e.g. $(shell ...) deciding objects) are logged as warnings with
 *                               file:line and that directory's sources all count as compiled.
 *   kernel_files_from_builddir() reads a finished build: vmlinux.a / built-in.a thin archives,
 *                               modules.order and *.mod, and each object's .cmd file for its
 *                               source. Exact.
 *   kernel_files_from_debuginfo() lists DWARF compile units of vmlinux and modules (e.g. from
 *                               Debian's linux-image-*-dbg). Exact for what was linked.
 *
 * Paths are relative to the kernel tree's root, sorted; generated sources (not in the tree)
 * are flagged. All functions return 0 or a negative errno and log the reason.
 *
 *   struct kernel_fileset *fs = NULL;
 *   r = kernel_files_static("/usr/src/linux", "/boot/config-6.1.0-56-amd64", NULL, &fs);
 *   for (size_t i = 0; i < kernel_fileset_size(fs); i++) {
 *           const struct kernel_file *f = kernel_fileset_get(fs, i);
 *           ... f->path, f->kind & KERNEL_FILE_MODULE, f->generated, f->how ...
 *   }
 *   kernel_fileset_free(fs);
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct json_t json_t;

enum kernel_file_kind {
	KERNEL_FILE_BUILTIN = 1 << 0, /* linked into vmlinux */
	KERNEL_FILE_MODULE = 1 << 1,  /* part of at least one module */
};

struct kernel_file {
	char *path;	/* relative to the tree root, e.g. "drivers/net/loopback.c" */
	unsigned kind;	/* enum kernel_file_kind bits; both when shared */
	bool generated; /* produced during the build, not present in the source tree */
	char *how;	/* why it is in the set, e.g. "obj-m in drivers/net/Makefile" */
};

struct kernel_fileset;

/* Statistics of the last evaluation, for reports. */
struct kernel_fileset_stats {
	unsigned dirs;	       /* directories (Kbuild files) evaluated, or archives/units read */
	unsigned warnings;     /* constructs not understood */
	unsigned conservative; /* directories counted wholesale because of them */
};

/*
 * SRCTREE: kernel source tree. CONFIG_PATH: its .config. SRCARCH: the arch directory name
 * ("x86", "arm64"...; NULL means "x86"; "x86_64"/"i386" are accepted as for ARCH=).
 */
int kernel_files_static(const char *srctree, const char *config_path, const char *srcarch,
			struct kernel_fileset **ret);
/* BUILDDIR: the object tree of a finished build (O= or in-tree). SRCTREE (optional) is used to
 * tell generated sources from tree sources and to relativise absolute paths. */
int kernel_files_from_builddir(const char *builddir, const char *srctree,
			       struct kernel_fileset **ret);
/* DEBUGDIR: a vmlinux with DWARF, or a directory holding vmlinux* and *.ko files of ONE kernel
 * (e.g. /usr/lib/debug/lib/modules/6.1.0-56-amd64, whose vmlinux link is followed); "*.mod.c"
 * units (modpost glue) are left out. SRCTREE (optional) as above. */
int kernel_files_from_debuginfo(const char *debugdir, const char *srctree,
				struct kernel_fileset **ret);

size_t kernel_fileset_size(const struct kernel_fileset *fs);
const struct kernel_file *kernel_fileset_get(const struct kernel_fileset *fs, size_t i);
/* Binary search by path; NULL when absent. */
const struct kernel_file *kernel_fileset_find(const struct kernel_fileset *fs, const char *path);
const char *kernel_fileset_method(const struct kernel_fileset *fs); /* "static", ... */
const struct kernel_fileset_stats *kernel_fileset_stats(const struct kernel_fileset *fs);
void kernel_fileset_free(struct kernel_fileset *fs);

/* "builtin", "module" or "builtin+module". */
const char *kernel_file_kind_str(unsigned kind);

/* {"method":..., "files":[{"path","kind","generated","how"}...]}; NULL on allocation failure. */
json_t *kernel_fileset_to_json(const struct kernel_fileset *fs);

/*
 * Compares GOT against the reference WANT on the files whose path ends with one of SUFFIXES
 * (NULL-terminated; NULL = all): precision = common/|got|, recall = common/|want|.
 */
struct kernel_fileset_diff {
	size_t got, want, common;
	size_t same_kind; /* of the common files, those both call builtin, module or both */
	double precision, recall;
};
void kernel_fileset_compare(const struct kernel_fileset *got, const struct kernel_fileset *want,
			    const char *const *suffixes, struct kernel_fileset_diff *ret);
/* True when PATH ends with one of SUFFIXES (NULL = everything matches). */
bool kernel_path_has_suffix(const char *path, const char *const *suffixes);

/* For the evaluators: building a set. */
int kernel_fileset_new(const char *method, struct kernel_fileset **ret);
/* Adds or merges (kinds are OR-ed, the first HOW is kept). */
int kernel_fileset_add(struct kernel_fileset *fs, const char *path, unsigned kind, bool generated,
		       const char *how);
/* Sorts and merges duplicates; done by the kernel_files_* functions before returning. */
int kernel_fileset_finish(struct kernel_fileset *fs);
struct kernel_fileset_stats *kernel_fileset_stats_mut(struct kernel_fileset *fs);
