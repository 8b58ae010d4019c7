/*
 * Does a CVE apply to a kernel? A pure function of the CVE's records (dyad pairs, else the
 * affected ranges, and the fix's program files) and the kernel (its upstream version and the
 * set of files its configuration compiles): no database, no source tree.
 *
 *   struct verdict_cve cve = { .dyads = rec.dyads, .n_dyads = rec.n_dyads,
 *                              .ranges = rec.ranges, .n_ranges = rec.n_ranges,
 *                              .files = rec.files, .n_files = rec.n_files };
 *   struct verdict_kernel k = { .version = v, .compiled = lookup, .userdata = set };
 *   enum verdict_status st;
 *   r = verdict_compute(&cve, &k, &st, &reason_strbuf);
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cve/record.h"
#include "kernel/version.h"

struct strbuf;

enum verdict_status {
	VERDICT_AFFECTED,     /* vulnerable version and a source file of the fix is compiled */
	VERDICT_NOT_COMPILED, /* vulnerable version, but none of the fix's sources is built */
	VERDICT_FIXED,        /* the version carries the fix */
	VERDICT_NOT_AFFECTED, /* the vulnerable code arrived after this version */
	VERDICT_UNKNOWN,      /* the records do not say enough; the reason says what is missing */
	_VERDICT_MAX,
};

const char *verdict_status_to_string(enum verdict_status s);
/* -EINVAL for anything but the five names above. */
int verdict_status_from_string(const char *s, enum verdict_status *ret);

/*
 * A version as the records write it: "6.1.43", "6.5", "2.6.32.70", "6.10-rc3", or "0" (since
 * the start of history as an introduction; never as a fix).
 */
struct verdict_version {
	unsigned n[4];
	unsigned len; /* numbers written; 0 for "0" */
	unsigned rc;
};

int verdict_version_parse(const char *s, struct verdict_version *ret);
void verdict_version_from_kernel(const struct kernel_version *k, struct verdict_version *ret);
/* <0, 0, >0; missing numbers are 0, an rc orders before its release, "0" before everything. */
int verdict_version_compare(const struct verdict_version *a, const struct verdict_version *b);
/* Both on the same stable branch: 6.1.x with 6.1.y, 2.6.32.x with 2.6.32.y. */
bool verdict_version_same_branch(const struct verdict_version *a, const struct verdict_version *b);
/* A mainline release ("6.5", "6.5.0", "2.6.32"), not a stable update nor an rc. */
bool verdict_version_is_mainline(const struct verdict_version *v);

/* What the version alone says. */
enum verdict_vstate {
	VERDICT_V_VULNERABLE,
	VERDICT_V_FIXED,
	VERDICT_V_NOT_AFFECTED,
	VERDICT_V_UNKNOWN,
};

/* A dyad line parsed; "0" as the fix means none. */
struct verdict_pair {
	struct verdict_version iv, fv;
	bool has_fix;
	unsigned group; /* pairs of one introducing commit share it: one bug, several branches */
};

/* Parses N dyads into OUT (N elements); -EBADMSG with the reason appended to ERR. */
int verdict_pairs_parse(const struct cve_dyad *dyads, size_t n, struct verdict_pair *out,
			struct strbuf *err);

struct verdict_cve {
	const struct cve_dyad *dyads; /* preferred: introduced:fixed pairs per branch */
	size_t n_dyads;
	const struct verdict_pair *pairs; /* optional: the dyads parsed once for many kernels */
	const struct cve_range *ranges; /* used when there are no dyads; git ranges are ignored */
	size_t n_ranges;
	char *const *files; /* the fix's program files */
	size_t n_files;
};

struct verdict_kernel {
	struct kernel_version version;
	/* KERNEL_FILE_* kind bits when PATH is compiled, 0 when it is not. */
	unsigned (*compiled)(void *userdata, const char *path);
	void *userdata;
};

/*
 * The version logic alone. A fix on the kernel's own stable branch at or below its version
 * means fixed; a branch that never got the fix is vulnerable from the introducing version on
 * (a bug introduced by a stable backport counts from that backport); a fix in a mainline
 * release before the kernel's branch means fixed; -rc versions order before their release.
 * Appends the reason to REASON. Returns 0, -EBADMSG for a version the records garble (the
 * reason names it), or -ENOMEM.
 */
int verdict_version_state(const struct verdict_cve *cve, const struct kernel_version *kv,
			  enum verdict_vstate *ret, struct strbuf *reason);

/* The version logic, then the fix's source files against what the kernel compiles. */
int verdict_compute(const struct verdict_cve *cve, const struct verdict_kernel *k,
		    enum verdict_status *ret, struct strbuf *reason);

/*
 * Why, as a stable lower-case identifier a scanner can switch on (tuxtape(1), JSON OUTPUT).
 * Never renamed; a new case gets a new code.
 */
enum verdict_code {
	VERDICT_CODE_AFFECTED,              /* vulnerable version, a fix source compiled */
	VERDICT_CODE_NOT_COMPILED,          /* vulnerable version, no fix source compiled */
	VERDICT_CODE_FIXED_BY_VERSION,      /* the records' versions say it carries the fix */
	VERDICT_CODE_FIXED_BY_DISTRIBUTION, /* the distribution's changelog names the fix */
	VERDICT_CODE_VERSION_NOT_AFFECTED,  /* the bug arrived later, or on other branches only */
	VERDICT_CODE_UNKNOWN_VERSION_DATA,  /* a version in the records is not one */
	VERDICT_CODE_UNKNOWN_NO_VERSIONS,   /* neither dyads nor version ranges */
	VERDICT_CODE_UNKNOWN_NO_FILES,      /* vulnerable version; the record names no files */
	VERDICT_CODE_UNKNOWN_HEADERS_ONLY,  /* vulnerable version; the fix touches headers only */
	VERDICT_CODE_UNKNOWN_NO_SOURCE,     /* vulnerable version; no C or assembly source */
	_VERDICT_CODE_MAX,
};

const char *verdict_code_to_string(enum verdict_code c);
int verdict_code_from_string(const char *s, enum verdict_code *ret);
/* The version alone says vulnerable (the funnel's second step): what the files decide next. */
bool verdict_code_version_vulnerable(enum verdict_code c);

/*
 * Could `tuxtape livepatch build` make a livepatch of the fix today? A static estimate from
 * the fix's file names and how this kernel builds them, never from the patch itself: a
 * true value can still be refused by the build (a struct changes layout, __init code, a
 * notrace function); a false one is conservative. Stable lower-case identifiers.
 */
enum verdict_livepatch {
	VERDICT_LP_C_SOURCES,        /* true: compiled C sources (and local headers) only */
	VERDICT_LP_NOT_NEEDED,       /* false: the verdict is not affected */
	VERDICT_LP_UNKNOWN,          /* false: the verdict is unknown */
	VERDICT_LP_BUILD_FILES,      /* false: Makefile, Kbuild, Kconfig */
	VERDICT_LP_ASSEMBLY,         /* false: .S, .s, linker scripts */
	VERDICT_LP_GLOBAL_HEADER,    /* false: a header of include/ may reach any unit */
	VERDICT_LP_TOO_MANY_UNITS,   /* false: a local header's directory builds more units
				      * than the build's default limit */
	VERDICT_LP_BUILTIN_AND_MODULE, /* false: a file linked into vmlinux and a module */
	VERDICT_LP_OTHER_FILES,      /* false: files that are neither C nor headers (Rust, ...) */
	VERDICT_LP_NOT_ESTIMATED,    /* false: stored before tuxtape estimated; a refresh does */
	_VERDICT_LP_MAX,
};

const char *verdict_livepatch_to_string(enum verdict_livepatch l);
int verdict_livepatch_from_string(const char *s, enum verdict_livepatch *ret);

/* The livepatch build compiles at most this many units for a changed header by default. */
#define VERDICT_LP_MAX_UNITS 64

/*
 * The structured verdict. The versions and commits are those of the dyad pair or range that
 * decided (for fixed-by-distribution: fixed_version is the package version); they point into
 * the verdict_cve given (or a string the caller owns) and are NULL when nothing decided.
 */
struct verdict_result {
	enum verdict_status status;
	enum verdict_code code;
	const char *introduced_version, *introduced_commit, *fixed_version, *fixed_commit;
	enum verdict_livepatch livepatch;
};

static inline bool verdict_result_livepatchable(const struct verdict_result *r)
{
	return r->livepatch == VERDICT_LP_C_SOURCES;
}

/*
 * Counts the compiled C units in directory DIR (no trailing '/'), for local headers; NULL in
 * verdict_kernel means unknown (a local header is then too many units).
 */
typedef size_t (*verdict_units_fn)(void *userdata, const char *dir);

/* verdict_compute with the code, the deciding versions and the livepatch estimate. */
int verdict_compute_result(const struct verdict_cve *cve, const struct verdict_kernel *k,
			   verdict_units_fn units, struct verdict_result *ret,
			   struct strbuf *reason);

/* The estimate alone, for a verdict of STATUS (only affected ones can be true). */
enum verdict_livepatch verdict_livepatch_estimate(const struct verdict_cve *cve,
						  const struct verdict_kernel *k,
						  verdict_units_fn units, enum verdict_status status);
