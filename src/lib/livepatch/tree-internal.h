/* Helpers shared by the files of the prepared-tree code (tree.c, compile.c, includers.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct lp_tree;
struct kernel_fileset;

double lp_now(void);
bool lp_path_exists(const char *p);
/* Copies SRC to DST (through a temporary file and rename), keeping SRC's mode and times. */
int lp_copy_file(const char *src, const char *dst);
/* Copies SRC to DIR/REL, creating DIR/REL's directories. */
int lp_copy_into(const char *src, const char *dir, const char *rel);
/* Runs make in the tree with its CC, KERNELRELEASE and KCFLAGS; output to LOG (NULL: t->log). */
int lp_tree_make(struct lp_tree *t, const char *const *targets, bool parallel, const char *log);
/* The same, calling TICK(USERDATA) about five times a second meanwhile (progress). */
int lp_tree_make_watch(struct lp_tree *t, const char *const *targets, bool parallel,
		       const char *log, void (*tick)(void *userdata), void *userdata);
/* The end of LOG for an error message, or what to say when it is empty. */
char *lp_failure_output(const char *log, const char *dir);

/* Where the pristine tree's include graph is cached, and what differs from it now. */
struct lp_includes_cache {
	const char *path;	  /* the cache file; NULL: scan every time */
	const char *pristine_dir; /* pristine copies of the touched files (journal/files) */
	char **touched;		  /* files the patches changed or created, relative */
	bool *created;		  /* per touched file: no pristine copy */
	size_t ntouched;
};

/*
 * The .c files that FS says this config builds and that include any file of START (directly,
 * or through other headers or included .c files), as "path\twhy" strings. More than MAX:
 * -E2BIG. CACHE may be NULL.
 */
int lp_find_includers(const char *tree, const struct kernel_fileset *fs, char **start,
		      size_t nstart, size_t max, const struct lp_includes_cache *cache, char ***ret,
		      size_t *ret_n);

/*
 * C source reduced to its tokens and line structure (comments and blank runs gone): two texts
 * that reduce alike preprocess alike but for __LINE__. Allocated; NULL on ENOMEM.
 */
char *lp_c_reduced(const char *buf, size_t len);

/*
 * The text of an x86 asm/jump_label.h whose static-branch jumps are made 5 bytes wide: each of
 * the two `jmp %l[l_yes]` (arch_static_branch() with CONFIG_HAVE_JUMP_LABEL_HACK, which objtool
 * turns into a nop of the same size, and arch_static_branch_jump()) becomes `jmp.d32
 * %l[l_yes]`, which gas never shrinks to a 2-byte jmp. Returns 0, -EPROTO when BUF does not
 * hold exactly two of them (another kernel's header: not forced), -ENOMEM.
 */
int lp_jump_label_wide(const char *buf, size_t len, char **ret);
/*
 * What make's NOSTDINC_FLAGS holds in TREE ("-nostdinc") when its Makefiles assign it only as
 * Linux 5.16 onwards does; NULL otherwise (a value on make's command line replaces the
 * Makefile's, so it must be known to be extended).
 */
const char *lp_tree_nostdinc(const char *tree);
/*
 * LINE, a command kbuild recorded, with every "-IWIDE_DIR" removed and, when WIDE, one put
 * before its first -I (which must come before any `;`). Allocated; NULL: no such -I, or ENOMEM.
 */
char *lp_cmd_line_wide(const char *line, const char *wide_dir, bool wide);
