/*
 * The ELF differ: compares an original and a patched object of one translation unit and
 * writes an object holding only the changed and new functions with what they need.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct lp_symtab;

/* Positive results of lp_diff(); negative values are -errno. */
enum {
	LP_DIFF_WRITTEN = 0,
	LP_DIFF_UNSAFE = 2,   /* refused: see report->refusals; nothing written */
	LP_DIFF_NOCHANGE = 3, /* no functional change; nothing written */
};

enum lp_func_kind {
	LP_FUNC_CHANGED,
	LP_FUNC_NEW,
};

struct lp_diff_func {
	char *name;	 /* in the patched object */
	char *orig_name; /* in the original object (and kallsyms); NULL when new */
	enum lp_func_kind kind;
	long sympos; /* kallsyms position of orig_name, -1 when unknown */
};

struct lp_diff_report {
	char *file;   /* the objects' STT_FILE name */
	char *object; /* the module patched, NULL: vmlinux */
	struct lp_diff_func *funcs;
	size_t nfuncs;
	char **included; /* "data x", "string \"...\"", "section .rodata.cst16", "func helper" */
	size_t nincluded;
	char **special; /* "__bug_table: 2 entries" */
	size_t nspecial;
	char **refusals; /* each names the function or variable */
	size_t nrefusals;
	char **warnings;
	size_t nwarnings;
	char **callbacks; /* "pre_patch fn": the author's callbacks for this object */
	size_t ncallbacks;
};

/*
 * Compares ORIG_O and PATCHED_O (ELF x86_64 relocatable objects of the same source file,
 * built with -ffunction-sections -fdata-sections) and writes OUT_O: the changed and new
 * functions, the new data, strings and read-only pieces they use, their entries of the
 * kernel's special sections (.return_sites, __mcount_loc, __bug_table, __ex_table,
 * .altinstructions + .altinstr_replacement, .retpoline_sites, .call_sites, __jump_table,
 * .static_call_sites, .orc_unwind + .orc_unwind_ip) and a ".tuxtape.lp" section that tells
 * lp_module_build() which undefined symbols were static in the original object.
 * SYMS (may be NULL) resolves kallsyms positions now, so ambiguity is refused early.
 * Returns LP_DIFF_WRITTEN, LP_DIFF_UNSAFE, LP_DIFF_NOCHANGE or -errno (-EBADMSG, -EINVAL:
 * malformed input). *RET_REPORT is set for every non-negative result.
 */
int lp_diff(const char *orig_o, const char *patched_o, const struct lp_symtab *syms,
	    const char *out_o, struct lp_diff_report **ret_report);
/*
 * lp_diff() for a translation unit of OBJECT: NULL or "vmlinux", or the name of the module
 * the unit is built into ('-' may be written for '_'; lp_module_name_ok() after that, else
 * -EINVAL). The name is recorded in ".tuxtape.lp" (an "object" line) for lp_module_build(),
 * which makes a klp_object of it. SYMS are OBJECT's symbols: lp_symtab_load() for vmlinux,
 * lp_symtab_load_module() for a module (may be NULL: positions are then resolved by
 * lp_module_build() only; for a module they always are, against the .ko it is given).
 */
int lp_diff_object(const char *orig_o, const char *patched_o, const char *object,
		   const struct lp_symtab *syms, const char *out_o,
		   struct lp_diff_report **ret_report);
/* The same on objects in memory; OUT_O may be NULL to only compare (used by the fuzzer). */
int lp_diff_mem(const void *orig, size_t orig_len, const void *patched, size_t patched_len,
		const struct lp_symtab *syms, const char *out_o,
		struct lp_diff_report **ret_report);

void lp_diff_report_free(struct lp_diff_report *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lp_diff_report *, lp_diff_report_free);
/* {"file", "object" ("vmlinux" or the module), "result", "functions": [{"name","orig_name",
 *  "kind","sympos"}], "included", "special", "refusals", "warnings"}; RESULT is one of the
 *  LP_DIFF_* values. */
json_t *lp_diff_report_to_json(const struct lp_diff_report *r, int result);

/* The name of a symbol with compiler suffixes (.isra.N, .constprop.N, .part.N, .llvm.N,
 * .lto_priv.N) removed; ".cold" is kept. With STATIC_LOCAL, a trailing ".N" goes too. */
char *lp_canonical_name(const char *name, bool static_local);
