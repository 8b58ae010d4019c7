/*
 * Inside the klp module generator: building an lp_symtab entry by entry (a module's
 * symbol table is read from its .ko, not from a text file).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lp_symtab;

struct lp_symtab *lp_symtab_new(void);
/*
 * Appends a symbol in kallsyms order. TYPE is its nm letter (uppercase: global);
 * LOADING_ONLY marks a module's symbol that its kallsyms holds only while the module is
 * being loaded (init sections, sections not loaded, absolute symbols): it counts for
 * positions then, and is never a candidate. -E2BIG: too many names.
 */
int lp_symtab_append(struct lp_symtab *st, const char *name, size_t nlen, uint64_t addr, char type,
		     bool loading_only);
/* Indexes the names; call once after the last lp_symtab_append(). */
int lp_symtab_seal(struct lp_symtab *st);

/*
 * Reads the ".tuxtape.lp" section of diff object OBJ (LEN bytes, named PATH in messages) as
 * lp_module_build() reads each of its parts, and forgets it: 0 with the callbacks it names
 * in *RET_NCALLBACKS (may be NULL), or -EBADMSG (or lp_elf_parse()'s -EINVAL, -EOPNOTSUPP)
 * with a message naming PATH. For the fuzzer.
 */
int lp_module_meta_read(const void *obj, size_t len, const char *path, size_t *ret_ncallbacks);
