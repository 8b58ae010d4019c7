/*
 * The fleet's kernel inventory: each kernel's release, the upstream version it maps to, its
 * configuration and the source files it compiles, stored so that verdicts need no source
 * tree at query time.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tt_store;

struct kernel_add_opts {
	const char *name;
	const char *release;           /* uname -r */
	const char *proc_version;      /* contents of /proc/version, or NULL */
	const char *version_signature; /* contents of /proc/version_signature, or NULL */
	const char *config;            /* path of the .config */
	const char *arch;              /* SRCARCH; NULL: from the config's CONFIG_<ARCH> */
	const char *source_dir;        /* a kernel source tree, or: */
	const char *source_tarball;    /* a tarball of one, extracted once into the cache */
	const char *build_dir;         /* a finished build's object tree */
	const char *debuginfo;         /* vmlinux with DWARF or a directory like /usr/lib/debug */
	/*
	 * For livepatch builds (fleet/buildtarget.h), NULL: not recorded. The kbuild directory
	 * (/lib/modules/RELEASE/build) must be RELEASE's; the symbol table (a System.map or a
	 * kallsyms dump) is recorded as its path and SHA-256.
	 */
	const char *kbuild;
	const char *symbols;
	const char *cache_dir;         /* NULL: tt_path_cache_dir() */
	const char *config_origin;     /* what to record as the config's origin; NULL: config */
	const char *changelog;         /* a distribution package's changelog (.gz or plain);
					* NULL: /usr/share/doc/linux-image-RELEASE/changelog.gz
					* below changelog_root when it exists */
	const char *changelog_root;    /* NULL: / */
	bool no_changelog;             /* do not look for one */
	bool replace;                  /* replace a kernel of the same name */
	bool allow_source_mismatch;    /* take a source whose version is not the release's */
};

struct kernel_add_report {
	char version[32];
	char source_version[32];  /* the source tree's Makefile version, "" without a tree */
	char distro_version[64];  /* the distribution version the changelog was read up to */
	char *changelog;          /* the changelog read (owned), or NULL */
	unsigned long distro_fixes; /* CVEs its changelog names as fixed up to that version */
	unsigned long distro_taken_back; /* CVEs fixed once, then reverted or dropped: not fixed */
	const char *mapping; /* static string: how the release was mapped */
	char method[16];     /* "debuginfo", "builddir" or "static" */
	size_t n_files;
	unsigned long verdicts;
	double files_seconds, verdict_seconds;
	bool replaced;
};

/*
 * A source tree whose Makefile's VERSION.PATCHLEVEL differs from the release's is refused
 * (-EMEDIUMTYPE, naming both) unless allow_source_mismatch; another SUBLEVEL of the same
 * branch is a warning. Maps the version, reads the config, finds the compiled files (debuginfo, else build dir,
 * else static evaluation of the source) and stores the kernel, its files and its verdicts in
 * one transaction. Bad input (not a .config, not a kernel tree, not a version, a name taken)
 * is a logged one-line error and -EINVAL / -EEXIST with nothing stored.
 */
int kernel_inventory_add(struct tt_store *s, const struct kernel_add_opts *o,
			 struct kernel_add_report *ret);
void kernel_add_report_release(struct kernel_add_report *rep);
/*
 * Records (or replaces) kernel NAME's kbuild directory and symbol table, either may be NULL
 * (left as recorded), with the checks kernel_inventory_add() makes. -ENOENT no such kernel.
 */
int kernel_inventory_set_build(struct tt_store *s, const char *name, const char *kbuild,
			       const char *symbols);
/* -ENOENT (logged) when there is no such kernel. */
int kernel_inventory_remove(struct tt_store *s, const char *name);
int kernel_inventory_id(struct tt_store *s, const char *name, int64_t *ret);
/* [{"name","release","version","mapping","arch","files_method","file_count","added_at"}...] */
int kernel_inventory_list(struct tt_store *s, json_t **ret);
/* One kernel in full, with its verdict counts. */
int kernel_inventory_show(struct tt_store *s, const char *name, json_t **ret);
/* {"kernel", "method", "files": [{"path","kind","generated","how"}]} sorted by path. */
int kernel_inventory_files(struct tt_store *s, const char *name, json_t **ret);

/* VERSION.PATCHLEVEL.SUBLEVEL of a source tree's top-level Makefile; -ENOENT if absent. */
int kernel_source_tree_version(const char *dir, unsigned ret[3]);

/*
 * The SHA-256 of a source tarball as 64 hex digits, remembered beside the prepared trees
 * (CACHE_DIR NULL: tt_path_cache_dir()) as the livepatch build remembers it.
 */
int kernel_source_tarball_sha256(const char *tarball, const char *cache_dir, char ret[static 65]);

/*
 * Extracts TARBALL into CACHE_DIR (NULL: tt_path_cache_dir())/sources/<sha256>/ once and
 * returns the tree's path; later calls find it there.
 */
int kernel_source_from_tarball(const char *tarball, const char *cache_dir, char **ret_dir);

/* What the running system says about its kernel. */
struct kernel_running {
	char *release, *proc_version, *version_signature; /* the last two may be NULL */
	char *config_path;   /* /boot/config-RELEASE, or a temporary copy of /proc/config.gz */
	char *config_origin; /* where it was read: /proc/config.gz or /boot/config-RELEASE */
	bool config_is_temp; /* kernel_running_release() removes it */
	char *kbuild, *symbols; /* kernel_build_find_installed()'s, or NULL */
};

/*
 * Reads uname -r (or ROOT/proc/sys/kernel/osrelease when ROOT is given, for tests and
 * containers), ROOT/proc/version, ROOT/proc/version_signature and the config from
 * ROOT/proc/config.gz, else ROOT/boot/config-RELEASE; the kbuild directory and symbol table
 * as kernel_build_find_installed() finds them.
 */
int kernel_running_read(const char *root, struct kernel_running *ret);
void kernel_running_release(struct kernel_running *k);
