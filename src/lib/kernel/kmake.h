/*
 * A static evaluator for the subset of GNU make that Kbuild files use: variables, conditionals,
 * include, define, and the text functions. It never runs a recipe or $(shell ...): those are
 * reported as "taint" so the caller can fall back to a conservative answer. Internal to
 * src/lib/kernel.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct kmake;

enum kmake_origin {
	KMAKE_ORIGIN_FILE,
	KMAKE_ORIGIN_CMDLINE, /* survives assignments without "override", passed to sub-makes */
	KMAKE_ORIGIN_ENV,
	KMAKE_ORIGIN_DEFAULT,
	KMAKE_ORIGIN_OVERRIDE,
};

/* Where an expansion could not be evaluated statically, for the caller's warning. */
struct kmake_taint {
	bool set;
	char what[48];	 /* "$(shell ...)", "missing include", ... */
	char where[256]; /* "path:line" */
};

/*
 * Called for each rule while evaluating, with its expanded targets and prerequisites (for a
 * static pattern rule "t: %.o: %.c", the target pattern stands for the targets). HAS_RECIPE:
 * the rule has commands (then its first prerequisite is what make calls $<).
 */
typedef void (*kmake_rule_fn)(const char *targets, const char *prereqs, bool has_recipe,
			      void *userdata);

/* ROOT is the directory make would run in (the kernel tree); relative paths are resolved there. */
int kmake_new(const char *root, struct kmake **ret);
void kmake_free(struct kmake *km);

/* Scopes: writes go to the innermost scope, reads fall through to outer ones. */
int kmake_push_scope(struct kmake *km);
void kmake_pop_scope(struct kmake *km);

/* Defines NAME as a simply expanded variable in the innermost scope. */
int kmake_set(struct kmake *km, const char *name, const char *value, enum kmake_origin origin,
	      bool exported);
/* The raw value of NAME (NULL if undefined); valid until the variable changes. */
const char *kmake_raw(struct kmake *km, const char *name);

/*
 * Evaluates the makefile at PATH (relative to the root, or absolute). MISSING_OK: a missing
 * file is not an error (like -include). Unknown constructs are logged and recorded as taint.
 */
int kmake_eval_file(struct kmake *km, const char *path, bool missing_ok);

/* Evaluates TEXT (LEN bytes, need not be NUL-terminated) as a makefile named NAME. */
int kmake_eval_buffer(struct kmake *km, const char *name, const char *text, size_t len);

/*
 * The line of the (already read) makefile PATH that assigns WORD to a variable, as written:
 * *RET_LINE and *RET_LHS (the text left of the operator, unexpanded, valid while KM lives).
 * Returns false when no line lists WORD literally (e.g. it was computed).
 */
bool kmake_find_assignment(struct kmake *km, const char *path, const char *word, unsigned *ret_line,
			   const char **ret_lhs, size_t *ret_lhs_len);

/* Expands TEXT; *RET_TAINT (optional) tells if anything could not be evaluated. */
int kmake_expand(struct kmake *km, const char *text, char **ret, struct kmake_taint *ret_taint);

/* Taint collected since the last reset: a tainted conditional or include in evaluated files. */
void kmake_taint_reset(struct kmake *km);
const struct kmake_taint *kmake_taint(struct kmake *km);

/* Copies every exported or command-line variable of the innermost scope into the scope below. */
int kmake_export_down(struct kmake *km);

/* Receives the rules found while evaluating (used to find generated and renamed sources). */
void kmake_set_rule_fn(struct kmake *km, kmake_rule_fn fn, void *userdata);

/*
 * Predicate telling which variable names hold object lists; an assignment to one inside a
 * conditional whose condition could not be evaluated taints the evaluation.
 */
bool kmake_is_objlist_name(const char *name);

/* Lexically normalised path: "./a/../b//c" -> "b/c", "" -> "."; NULL on allocation failure. */
char *kmake_path_normalize(const char *path);

/* Splits TEXT into whitespace-separated words; *RET is a NULL-terminated array to free(). */
int kmake_words(const char *text, char ***ret, size_t *ret_n);
/* make's pattern match: PATTERN with at most one '%' against WORD; *STEM set on a match. */
bool kmake_pattern_match(const char *pattern, const char *word, const char **ret_stem,
			 size_t *ret_stem_len);
