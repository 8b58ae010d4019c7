/*
 * What a livepatch build needs of a kernel of the inventory: its source, config, kbuild
 * directory and symbol table, as recorded (each checked again before it is used) or as given.
 */
#pragma once

#include <stdbool.h>

struct tt_store;

/* The SHA-256 of a symbol table, as 64 hex digits and a NUL. */
#define KERNEL_SYMBOLS_SHA256_LEN 65

/*
 * DIR is a kbuild directory for RELEASE: a directory whose include/generated/utsrelease.h
 * says RELEASE. Otherwise a logged error naming DIR and FIELD (the option or recorded field
 * it came from), followed by HINT (what to do; may be NULL): -ENOENT it or the file is
 * missing, -EMEDIUMTYPE it is another release's.
 */
int kernel_kbuild_check(const char *dir, const char *release, const char *field, const char *hint);

/*
 * PATH is a kernel's full symbol table (System.map, or /proc/kallsyms as root saw it): at
 * least KERNEL_SYMBOLS_MIN lines of "ADDRESS TYPE NAME". Debian's /boot/System.map-* is a
 * one-line placeholder and is refused as such. Its SHA-256 into RET_SHA256. Errors are
 * logged naming PATH and FIELD: -ENOENT, -EINVAL not a symbol table.
 */
#define KERNEL_SYMBOLS_MIN 1000
int kernel_symbols_check(const char *path, const char *field,
			 char ret_sha256[static KERNEL_SYMBOLS_SHA256_LEN]);

/* Paths given on the command line; each overrides the recorded value (NULL: recorded). */
struct kernel_build_given {
	const char *source_dir, *source_tarball; /* at most one */
	const char *config, *kbuild, *symbols;
};

/* What to hand lp_build() (livepatch/build.h). */
struct kernel_build_target {
	char *name, *release;
	char *source_dir, *source_tarball; /* exactly one set */
	char *config;			   /* the given file, or the stored config written out */
	char *kbuild;
	char *symbols; /* the given file, or a private copy of the recorded one, verified */
	char *tmpdir;  /* holds the files written; removed by kernel_build_target_release() */
	/* where each value came from: "recorded" or "given" */
	const char *source_from, *config_from, *kbuild_from, *symbols_from;
};

/*
 * Resolves kernel NAME's build inputs. A value given wins; a recorded one is checked first:
 * the source must still be a directory of the version recorded or a tarball of the SHA-256
 * recorded, the kbuild directory must exist and be the
 * kernel's release (a given one too), the symbol file's SHA-256 must be the one recorded (its
 * verified bytes are what the build reads). The stored config is written to a private file.
 * Errors are logged naming the kernel, the field and what to pass or run: -ENOENT no such
 * kernel or a recorded path is gone, -ENODATA nothing recorded and nothing given,
 * -EMEDIUMTYPE another release's kbuild, -ESTALE the symbol file or the source changed since
 * recorded.
 */
int kernel_build_target_resolve(struct tt_store *s, const char *name,
				const struct kernel_build_given *given,
				struct kernel_build_target *ret);
void kernel_build_target_release(struct kernel_build_target *t);

/*
 * Where the installed kernel RELEASE keeps its build inputs below ROOT (NULL: /):
 * ROOT/lib/modules/RELEASE/build when kernel_kbuild_check() would take it, and a symbol
 * table: ROOT/boot/System.map-RELEASE when it is a real one, else a kallsyms dump of that
 * kernel in CACHE_DIR/kallsyms/RELEASE-<first 16 hex digits of the SHA-256 of
 * ROOT/boot/vmlinuz-RELEASE> (CACHE_DIR NULL: tt_path_cache_dir()). When RELEASE is the
 * RUNNING kernel and there is no such dump yet, ROOT/proc/kallsyms is saved there (vmlinux's
 * lines; only when its addresses are not hidden). Each *RET is NULL when none was found.
 */
int kernel_build_find_installed(const char *root, const char *release, const char *cache_dir,
				bool running, char **ret_kbuild, char **ret_symbols);
