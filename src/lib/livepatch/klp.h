/*
 * Livepatch module generation: the kernel's symbol table (kallsyms positions), exported
 * symbols (Module.symvers) and building a klp module from lp_diff() outputs with kbuild.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* ---- the target kernel's symbols ---- */

struct lp_symtab;

/*
 * Loads a symbol table in System.map or /proc/kallsyms format ("ADDR TYPE NAME [MODULE]");
 * lines with a [module] are ignored: positions are counted among vmlinux symbols in file
 * order, which is kallsyms' index order (the order klp_find_object_symbol() counts in).
 */
int lp_symtab_load(const char *path, struct lp_symtab **ret);
int lp_symtab_parse(const char *buf, size_t len, struct lp_symtab **ret);
/*
 * Adds the STT_FILE ordering of a debug vmlinux's .symtab, so a local symbol can be tied
 * to its source file exactly.
 */
int lp_symtab_add_vmlinux(struct lp_symtab *st, const char *vmlinux);
void lp_symtab_free(struct lp_symtab *st);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lp_symtab *, lp_symtab_free);

/* How many vmlinux symbols are called NAME. */
size_t lp_symtab_count(const struct lp_symtab *st, const char *name);

/*
 * The livepatch position (0 when unique, else 1-based in kallsyms order) of the symbol
 * NAME that belongs to the source file FILE (its STT_FILE name). ANCHORS are other symbols
 * of the same object; IS_TEXT tells whether NAME is a function. With a debug vmlinux the
 * file decides; without, the candidate lying among the anchors' addresses does.
 * -ENOENT: no such symbol; -ENOTUNIQ: ambiguous.
 */
int lp_symtab_sympos(const struct lp_symtab *st, const char *name, bool is_text, const char *file,
		     const char *const *anchors, size_t nanchors, long *ret_pos);

/*
 * The livepatch position of the global (non-static) symbol NAME: for a name that statics
 * elsewhere share. -ENOENT: no global of that name; -ENOTUNIQ: several.
 */
int lp_symtab_sympos_global(const struct lp_symtab *st, const char *name, long *ret_pos);

/*
 * lp_symtab_sympos() and lp_symtab_sympos_global() return -EDOM for a module's symbol that
 * no single position reaches both while the module is being loaded (its whole symtab
 * counts) and once it runs (only its core symbols count).
 */

/* ---- a target module's symbols ---- */

/*
 * Reads the symbols of the kernel module PATH as that module's kallsyms holds them, in
 * its symtab order (the order klp_find_object_symbol() counts in for a module object):
 * undefined and unnamed symbols are left out; symbols of .init* sections, of sections the
 * loader does not keep (.modinfo, __versions, unallocated ones) and absolute ones count only
 * while the module is being loaded. KALLSYMS_ALL is the target's CONFIG_KALLSYMS_ALL (data
 * symbols are kept too). PATH may be compressed: .ko.xz, .ko.zst and .ko.gz are read through
 * `xz`/`zstd`/`gzip -dc`. A module with no symbol table is -EBADMSG. Positions from the
 * result: lp_symtab_sympos(), lp_symtab_sympos_global(). Failures but -ENOMEM are logged.
 */
int lp_symtab_load_module(const char *path, bool kallsyms_all, struct lp_symtab **ret);
/* The same on a .ko in memory; NAME (may be NULL) names it in messages. Used by the fuzzer. */
int lp_symtab_parse_module(const void *buf, size_t len, const char *name, bool kallsyms_all,
			   struct lp_symtab **ret);
/*
 * The file of module MODNAME ('-' written '_'): PATHS are searched in order; a file matches
 * when its name is MODNAME's (kvm-intel.ko.xz for kvm_intel), a directory through its
 * modules.dep when it has one, else by walking it. -ENOENT: nowhere; -ENOTUNIQ: a
 * directory holds several (logged). *RET_PATH is allocated.
 */
int lp_module_find(const char *const *paths, size_t npaths, const char *modname, char **ret_path);

/* ---- exported symbols ---- */

struct lp_exports;
/* Loads Module.symvers ("CRC NAME MODULE EXPORT_TYPE [NS]"). */
int lp_exports_load(const char *path, struct lp_exports **ret);
bool lp_exports_has(const struct lp_exports *ex, const char *name);
/*
 * Who exports NAME: *RET_MODULE is NULL for vmlinux, else the module's name ('-' as '_',
 * owned by EX). -ENOENT: not exported.
 */
int lp_exports_owner(const struct lp_exports *ex, const char *name, const char **ret_module);
void lp_exports_free(struct lp_exports *ex);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lp_exports *, lp_exports_free);

/* ---- the module ---- */

/*
 * A name a livepatch can give a patched module (the OBJECT of .klp.sym.OBJECT.*): 1 to 55
 * bytes of [A-Za-z0-9_] ('-' in a module's file name is '_' in its name).
 */
bool lp_module_name_ok(const char *name);

/* One klp_object of the module: vmlinux or a module the patch changes. */
struct lp_module_object {
	char *name;	   /* "vmlinux" or the module's name ('-' as '_') */
	char *ko;	   /* the module file its symbols were read from; NULL for vmlinux */
	size_t nfuncs;	   /* its klp_func entries */
	size_t nklp_relas; /* relocations in its .klp.rela.NAME.* sections */
	size_t nklp_syms;  /* .klp.sym.* symbols those use (NAME's, or a module NAME uses) */
};

struct lp_module_report {
	char *ko;	   /* the module written */
	size_t nfuncs;	   /* klp_func entries */
	size_t nklp_relas; /* relocations turned into livepatch relocations */
	size_t nklp_syms;  /* .klp.sym.* symbols */
	char **refusals;   /* symbols that could not be resolved, each named */
	size_t nrefusals;
	char **warnings;
	size_t nwarnings;
	char *build_log;		  /* kbuild's output when it failed, else NULL */
	struct lp_module_object *objects; /* in the order of the klp_patch's objects */
	size_t nobjects;
};

enum {
	LP_MODULE_BUILT = 0,
	LP_MODULE_UNSAFE = 2, /* refused: see report->refusals */
};

/*
 * Builds the livepatch module NAME (a valid module name: [a-z0-9_]) from lp_diff() outputs
 * DIFF_OBJS: writes the klp_patch description as C, links it with the objects through
 * `make -C KBUILD_DIR M=...` (the kernel's own kbuild; KBUILD_DIR/Module.symvers tells what
 * is exported), then turns relocations against static or unexported symbols into
 * .klp.rela.vmlinux.* sections against .klp.sym.vmlinux.NAME,POS symbols. REPLACE sets
 * klp_patch.replace (atomic replace). Writes OUT_KO. SYMS is required.
 * Returns LP_MODULE_BUILT, LP_MODULE_UNSAFE or -errno (-ENOEXEC: kbuild failed, see
 * report->build_log). *RET_REPORT is set for every non-negative result and for -ENOEXEC.
 * Diff objects that patch a module are handled as by lp_module_build_opts() with no
 * module paths (/lib/modules/RELEASE).
 */
int lp_module_build(const char *const *diff_objs, size_t n, const struct lp_symtab *syms,
		    const char *kbuild_dir, const char *name, bool replace, const char *out_ko,
		    struct lp_module_report **ret_report);

struct lp_module_opts {
	const struct lp_symtab *syms; /* vmlinux's symbols (lp_symtab_load()); required */
	const char *kbuild_dir;	      /* the target's kbuild, with Module.symvers; required */
	const char *name;	      /* the livepatch module's name, [a-z0-9_]; required */
	bool replace;		      /* klp_patch.replace (atomic replace) */
	/*
	 * Where the .ko of each patched module is (lp_module_find()): directories or files;
	 * none: /lib/modules/RELEASE, RELEASE from KBUILD_DIR/include/generated/utsrelease.h.
	 */
	const char *const *module_paths;
	size_t nmodule_paths;
	/*
	 * Recorded in the module's .modinfo, one tuxtape_cve= and tuxtape_patch_sha256= line each
	 * (NULL-terminated lists, may be NULL): what the livepatch fixes and what it was built
	 * from. CVE IDs are [A-Za-z0-9-], digests 64 hex digits, else -EINVAL.
	 */
	const char *const *cves;
	const char *const *patch_sha256;
};

/*
 * lp_module_build() for diff objects of vmlinux and of modules (lp_diff_object() records
 * which object each patches): one klp_object per patched object, vmlinux's first, then the
 * modules in the order the diff objects name them.
 *
 * A module M's symbols come from its own .ko. Every reference of M's new code into M,
 * exported or not (__this_module included), becomes a .klp.sym.M.NAME,POS symbol, and
 * every reference to another module X's export (X is one M depends on, its .ko found the
 * same way) .klp.sym.X.NAME,POS, both used from .klp.rela.M.<section>, which the kernel
 * writes when M loads: the livepatch loads whether or not M (or X) is loaded, M is patched
 * when it loads, and the livepatch neither depends on nor pins any module. Exports of
 * vmlinux stay ordinary undefined symbols. Refused, named: a symbol of M that is not in
 * its .ko, a position that is not the same while M loads and once it runs, __jump_table
 * or .static_call_sites entries that use module symbols (the kernel sets them up when the
 * livepatch loads, before M's relocations are written).
 * Returns as lp_module_build(); the report lists the objects. -ENOENT (logged, no report):
 * a module's .ko is not in the paths.
 */
int lp_module_build_opts(const char *const *diff_objs, size_t n, const struct lp_module_opts *opts,
			 const char *out_ko, struct lp_module_report **ret_report);

void lp_module_report_free(struct lp_module_report *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lp_module_report *, lp_module_report_free);
/*
 * {"result": "built"|"unsafe"|"error", "ko", "function_count", "klp_relocations", "klp_symbols",
 *  "objects": [{"name", "ko", "function_count", "klp_relocations", "klp_symbols"}], "refusals",
 *  "warnings"[, "build_log"]}.
 */
json_t *lp_module_report_to_json(const struct lp_module_report *r, int result);
