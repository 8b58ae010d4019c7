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
int lp_symtab_sympos(const struct lp_symtab *st, const char *name, bool is_text,
		     const char *file, const char *const *anchors, size_t nanchors,
		     long *ret_pos);

/* ---- exported symbols ---- */

struct lp_exports;
/* Loads Module.symvers ("CRC NAME MODULE EXPORT_TYPE [NS]"). */
int lp_exports_load(const char *path, struct lp_exports **ret);
bool lp_exports_has(const struct lp_exports *ex, const char *name);
void lp_exports_free(struct lp_exports *ex);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lp_exports *, lp_exports_free);

/* ---- the module ---- */

struct lp_module_report {
	char *ko;          /* the module written */
	size_t nfuncs;     /* klp_func entries */
	size_t nklp_relas; /* relocations turned into livepatch relocations */
	size_t nklp_syms;  /* .klp.sym.* symbols */
	char **refusals;   /* symbols that could not be resolved, each named */
	size_t nrefusals;
	char **warnings;
	size_t nwarnings;
	char *build_log;   /* kbuild's output when it failed, else NULL */
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
 */
int lp_module_build(const char *const *diff_objs, size_t n, const struct lp_symtab *syms,
		    const char *kbuild_dir, const char *name, bool replace, const char *out_ko,
		    struct lp_module_report **ret_report);

void lp_module_report_free(struct lp_module_report *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lp_module_report *, lp_module_report_free);
json_t *lp_module_report_to_json(const struct lp_module_report *r, int result);
