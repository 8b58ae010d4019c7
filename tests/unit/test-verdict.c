/* Unit tests for the applicability version logic and verdicts, on real CVE records. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "applicability/verdict.h"
#include "cve/record.h"
#include "fileio.h"
#include "kernel/fileset.h"
#include "macro.h"
#include "strbuf.h"

static char *fixtures;

/* tests/fixtures/verdicts, found from this file's path unless $TT_FIXTURES says otherwise. */
static int setup(void **state)
{
	const char *env = getenv("TT_VERDICT_FIXTURES");
	_cleanup_free_ char *d = strdup(__FILE__);
	char *slash = strrchr(d, '/');

	(void)state;
	if (env) {
		fixtures = strdup(env);
	} else {
		if (slash)
			*slash = '\0';
		fixtures = strdup_printf("%s/../fixtures/verdicts", slash ? d : ".");
	}
	return fixtures ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(fixtures);
	return 0;
}

static void load(struct cve_record *rec, const char *id)
{
	static const char *const exts[] = { ".json", ".dyad" };

	memset(rec, 0, sizeof(*rec));
	rec->id = strdup(id);
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
		_cleanup_free_ char *name = strdup_printf("%s%s", id, exts[i]);
		_cleanup_free_ char *p = path_join(fixtures, name), *buf = NULL, *err = NULL;
		size_t len;
		int r;

		assert_int_equal(read_file_capped(p, CVE_RECORD_MAX_FILE, &buf, &len), 0);
		r = i == 0 ? cve_record_parse_json(rec, name, buf, len, &err)
			   : cve_record_parse_dyad(rec, name, buf, len, &err);
		if (r != 0)
			fail_msg("%s: %s", name, err ? err : "?");
	}
}

/* The compiled set of a test: a NULL-terminated list, every file built in. */
static unsigned compiled(void *userdata, const char *path)
{
	for (const char *const *p = userdata; p && *p; p++)
		if (streq(*p, path))
			return KERNEL_FILE_BUILTIN;
	return 0;
}

static const char *const none[] = { NULL };

/*
 * Checks the verdict of ID on kernel VERSION (a release string) with the compiled files
 * BUILT, and that the reason contains WANT_REASON. With RANGES, only the records' affected
 * ranges are used (as for a record without a .dyad file).
 */
static void check_full(const char *id, const char *version, const char *const *built,
		       enum verdict_status want, const char *want_reason, bool ranges)
{
	struct cve_record rec;
	struct verdict_cve vc;
	struct verdict_kernel k = { .compiled = compiled, .userdata = (void *)built };
	enum verdict_status st = _VERDICT_MAX;
	_cleanup_strbuf_ struct strbuf reason = STRBUF_INIT;

	load(&rec, id);
	assert_int_equal(kernel_version_parse(version, NULL, NULL, &k.version, NULL), 0);
	vc = (struct verdict_cve){ .dyads = rec.dyads, .n_dyads = ranges ? 0 : rec.n_dyads,
				   .ranges = rec.ranges, .n_ranges = rec.n_ranges,
				   .files = rec.files, .n_files = rec.n_files };
	assert_int_equal(verdict_compute(&vc, &k, &st, &reason), 0);
	if (st != want || !strstr(strbuf_str(&reason), want_reason))
		fail_msg("%s on %s%s: got %s '%s', want %s '...%s...'", id, version,
			 ranges ? " (ranges)" : "", verdict_status_to_string(st), strbuf_str(&reason),
			 verdict_status_to_string(want), want_reason);
	cve_record_release(&rec);
}

static void check(const char *id, const char *version, const char *const *built,
		  enum verdict_status want, const char *want_reason)
{
	check_full(id, version, built, want, want_reason, false);
}

static const char *const rbtree[] = { "net/netfilter/nft_set_rbtree.c", NULL };

static void test_stable_branch_fix(void **state)
{
	(void)state;
	/* 6.1.43 -> 6.1.78 on the 6.1 branch */
	check("CVE-2024-26581", "6.1.192", rbtree, VERDICT_FIXED, "fixed in 6.1.78 on the 6.1 branch");
	check("CVE-2024-26581", "6.1.78", rbtree, VERDICT_FIXED, "fixed in 6.1.78");
	check("CVE-2024-26581", "6.1.77", rbtree, VERDICT_AFFECTED,
	      "6.1.77 is below 6.1.78, the fix on the 6.1 branch; vulnerable since 6.1.43");
	check("CVE-2024-26581", "6.6.17", rbtree, VERDICT_FIXED, "fixed in 6.6.17 on the 6.6 branch");
	check("CVE-2024-26581", "6.6.16", rbtree, VERDICT_AFFECTED, "vulnerable since 6.5");
	/* the same by the records' ranges: "6.1.78 <= v <= 6.1.*" is unaffected */
	check_full("CVE-2024-26581", "6.1.192", rbtree, VERDICT_FIXED, "fixed in 6.1.78", true);
	check_full("CVE-2024-26581", "6.1.77", rbtree, VERDICT_AFFECTED,
		   "6.1.43 <= v < 6.1.78", true);
}

static void test_no_fix_on_branch(void **state)
{
	(void)state;
	/* introduced in mainline 6.5, fixed in 6.8, 6.7.5 and 6.6.17: 6.5.y never got it */
	check("CVE-2024-26581", "6.5.13", rbtree, VERDICT_AFFECTED,
	      "vulnerable since 6.5; no fix on the 6.5 branch (mainline fix: 6.8)");
	check_full("CVE-2024-26581", "6.5.13", rbtree, VERDICT_AFFECTED, "default since 6.5", true);
	/* the 6.4 branch got the bug by a backport in 6.4.8 and never the fix (6.4.8:...:0:0) */
	check("CVE-2024-26581", "6.4.16", rbtree, VERDICT_AFFECTED,
	      "introduced in 6.4.8 by a stable backport; the 6.4 branch has no fix");
	check_full("CVE-2024-26581", "6.4.16", rbtree, VERDICT_AFFECTED, "6.4.8 <= v < 6.5", true);
	/* one bug introduced twice: fixed in 6.7 does not cover the one 6.9 brought */
	check("CVE-2024-53204", "6.10.5", none, VERDICT_NOT_COMPILED,
	      "vulnerable since 6.9; no fix on the 6.10 branch (mainline fix: 6.13)");
	check("CVE-2024-53204", "6.8.2", none, VERDICT_FIXED, "fixed in 6.7 (mainline)");
	/* a backport's fix on the kernel's branch decides, as the records' ranges say */
	check("CVE-2024-35974", "6.1.192", none, VERDICT_FIXED, "fixed in 6.1.17 on the 6.1 branch");
	check_full("CVE-2024-35974", "6.1.192", none, VERDICT_FIXED, "fixed in 6.1.17", true);
}

static void test_backport_introduced(void **state)
{
	(void)state;
	/* the 6.1 branch only got the bug with the 6.1.43 backport */
	check("CVE-2024-26581", "6.1.40", rbtree, VERDICT_NOT_AFFECTED,
	      "introduced on the 6.1 branch in 6.1.43, after 6.1.40");
	check("CVE-2024-26581", "6.1.43", rbtree, VERDICT_AFFECTED, "vulnerable since 6.1.43");
	check_full("CVE-2024-26581", "6.1.40", rbtree, VERDICT_NOT_AFFECTED, "0 <= v < 6.5", true);
	/* 5.4: introduced by 5.4.53, never fixed there */
	check("CVE-2020-36776", "5.4.60", (const char *const[]){ "drivers/thermal/cpufreq_cooling.c", NULL },
	      VERDICT_AFFECTED, "introduced in 5.4.53 by a stable backport; the 5.4 branch has no fix");
	check("CVE-2020-36776", "5.4.50", none, VERDICT_NOT_AFFECTED, "");
	/* a branch the backports did not touch and older than mainline's 5.8 */
	check("CVE-2020-36776", "5.3.18", none, VERDICT_NOT_AFFECTED, "");
}

static void test_rc(void **state)
{
	(void)state;
	/* -rc versions order before their release */
	check("CVE-2024-26581", "6.8-rc3", rbtree, VERDICT_AFFECTED, "6.8-rc3 precedes 6.8");
	check("CVE-2024-26581", "6.8", rbtree, VERDICT_FIXED, "fixed in 6.8 on the 6.8 branch");
	check("CVE-2024-26581", "6.5-rc2", rbtree, VERDICT_NOT_AFFECTED,
	      "introduced in 6.5, after 6.5-rc2");
	check_full("CVE-2024-26581", "6.8-rc3", rbtree, VERDICT_AFFECTED, "", true);
}

static void test_original_commit_for_fix(void **state)
{
	(void)state;
	/* branches cut after the mainline fix (6.8) carry it */
	check("CVE-2024-26581", "6.9.1", rbtree, VERDICT_FIXED,
	      "fixed in 6.8 (mainline), before the 6.9 branch");
	check("CVE-2024-26581", "6.12.5", rbtree, VERDICT_FIXED, "fixed in 6.8 (mainline)");
	/* the records' "6.8 <= v <= *" original_commit_for_fix range says the same */
	check_full("CVE-2024-26581", "6.9.1", rbtree, VERDICT_FIXED,
		   "fixed in 6.8 (the record's original_commit_for_fix range", true);
}

static void test_unfixed(void **state)
{
	(void)state;
	/* 4.19 got the bug in 4.19.134 and no fix: unfixed there, whatever the version */
	check("CVE-2020-36776", "4.19.325", (const char *const[]){ "drivers/thermal/cpufreq_cooling.c", NULL },
	      VERDICT_AFFECTED, "introduced in 4.19.134 by a stable backport; the 4.19 branch has no fix");
	/* vulnerable since the start of git history (0:0), 5.15 never fixed */
	check("CVE-2022-49420", "5.15.50", (const char *const[]){ "net/ipv6/udp.c", NULL },
	      VERDICT_AFFECTED, "vulnerable since the start of git history");
	check_full("CVE-2022-49420", "5.15.50", (const char *const[]){ "net/ipv6/udp.c", NULL },
		   VERDICT_AFFECTED, "0 <= v < 5.18.3", true);
	check("CVE-2022-49420", "5.18.3", none, VERDICT_FIXED, "fixed in 5.18.3 on the 5.18 branch");
}

static void test_files(void **state)
{
	(void)state;
	check("CVE-2024-26581", "6.1.50", none, VERDICT_NOT_COMPILED,
	      "not built by this configuration: net/netfilter/nft_set_rbtree.c");
	check("CVE-2024-26581", "6.1.50", rbtree, VERDICT_AFFECTED,
	      "compiled: net/netfilter/nft_set_rbtree.c (builtin)");
	/* header-only fix: no include graph, so unknown with the reason */
	check("CVE-2026-68471", "6.1.192", none, VERDICT_UNKNOWN,
	      "fix touches only headers: include/linux/ieee80211-eht.h");
	/* the version logic still decides fixed / not-affected for headers */
	check("CVE-2026-68471", "5.15.100", none, VERDICT_NOT_AFFECTED, "introduced in 6.0");
}

static void test_versions(void **state)
{
	struct verdict_version a, b;

	(void)state;
	assert_int_equal(verdict_version_parse("2.6.32.70", &a), 0);
	assert_int_equal(verdict_version_parse("2.6.32", &b), 0);
	assert_true(verdict_version_same_branch(&a, &b));
	assert_true(verdict_version_is_mainline(&b));
	assert_false(verdict_version_is_mainline(&a));
	assert_int_equal(verdict_version_parse("6.10-rc3", &a), 0);
	assert_int_equal(verdict_version_parse("6.10", &b), 0);
	assert_true(verdict_version_compare(&a, &b) < 0);
	assert_int_equal(verdict_version_parse("0", &a), 0);
	assert_true(verdict_version_compare(&a, &b) < 0);
	assert_int_equal(verdict_version_parse("6.1.*", &a), -EINVAL);
	assert_int_equal(verdict_version_parse("abc", &a), -EINVAL);
	assert_int_equal(verdict_version_parse("6", &a), -EINVAL);
}

static void test_garbled_dyad(void **state)
{
	struct cve_dyad d = { "6.x", "abc", "6.2", "def" };
	char *files[] = { "a.c" };
	struct verdict_cve vc = { .dyads = &d, .n_dyads = 1, .files = files, .n_files = 1 };
	struct verdict_kernel k = { .version = { 6, 1, 10, 0 }, .compiled = compiled, .userdata = NULL };
	enum verdict_status st;
	_cleanup_strbuf_ struct strbuf reason = STRBUF_INIT;

	(void)state;
	assert_int_equal(verdict_compute(&vc, &k, &st, &reason), 0);
	assert_int_equal(st, VERDICT_UNKNOWN);
	assert_non_null(strstr(strbuf_str(&reason), "dyad 1 has a version that is not one"));
}

/* ---- the structured verdict: codes, deciding versions, the livepatch estimate ---- */

static size_t units_few(void *userdata, const char *dir)
{
	(void)userdata;
	return streq(dir, "net/core") ? 3 : 0;
}

static size_t units_many(void *userdata, const char *dir)
{
	(void)userdata;
	(void)dir;
	return VERDICT_LP_MAX_UNITS + 1;
}

static unsigned compiled_both(void *userdata, const char *path)
{
	(void)userdata;
	(void)path;
	return KERNEL_FILE_BUILTIN | KERNEL_FILE_MODULE;
}

static void result(struct cve_dyad *d, size_t nd, char **files, size_t nf, unsigned patch,
		   unsigned (*fn)(void *, const char *), verdict_units_fn units,
		   struct verdict_result *ret)
{
	static const char *const dev[] = { "net/core/dev.c", NULL };
	struct verdict_cve vc = { .dyads = d, .n_dyads = nd, .files = files, .n_files = nf };
	struct verdict_kernel k = { .version = { 6, 1, patch, 0 }, .compiled = fn,
				    .userdata = (void *)dev };
	_cleanup_strbuf_ struct strbuf reason = STRBUF_INIT;

	assert_int_equal(verdict_compute_result(&vc, &k, units, ret, &reason), 0);
}

static void test_codes(void **state)
{
	struct cve_dyad d[] = { { "5.10", "c1", "6.1.50", "c2" }, { "5.10", "c1", "6.2", "c3" } };
	struct cve_dyad bad = { "6.x", "abc", "6.2", "def" };
	char *dev[] = { "net/core/dev.c" }, *hdr[] = { "include/linux/skbuff.h" };
	struct verdict_result r;

	(void)state;
	result(d, 2, dev, 1, 40, compiled, NULL, &r);
	assert_int_equal(r.status, VERDICT_AFFECTED);
	assert_string_equal(verdict_code_to_string(r.code), "affected");
	assert_string_equal(r.introduced_version, "5.10");
	assert_string_equal(r.introduced_commit, "c1");
	assert_string_equal(r.fixed_version, "6.1.50");
	assert_string_equal(r.fixed_commit, "c2");
	assert_true(verdict_result_livepatchable(&r));

	result(d, 2, dev, 1, 60, compiled, NULL, &r);
	assert_int_equal(r.status, VERDICT_FIXED);
	assert_string_equal(verdict_code_to_string(r.code), "fixed-by-version");
	assert_string_equal(r.fixed_version, "6.1.50");
	assert_string_equal(verdict_livepatch_to_string(r.livepatch), "not-needed");
	assert_false(verdict_result_livepatchable(&r));

	d[0].introduced_version = d[1].introduced_version = "6.1.45";
	result(d, 2, dev, 1, 40, compiled, NULL, &r);
	assert_string_equal(verdict_code_to_string(r.code), "version-not-affected");
	d[0].introduced_version = d[1].introduced_version = "5.10";

	result(d, 2, hdr, 1, 40, compiled, NULL, &r);
	assert_string_equal(verdict_code_to_string(r.code), "unknown-headers-only");
	assert_true(verdict_code_version_vulnerable(r.code));
	assert_string_equal(verdict_livepatch_to_string(r.livepatch), "unknown-verdict");
	result(d, 2, NULL, 0, 40, compiled, NULL, &r);
	assert_string_equal(verdict_code_to_string(r.code), "unknown-no-files");
	result(&bad, 1, dev, 1, 40, compiled, NULL, &r);
	assert_string_equal(verdict_code_to_string(r.code), "unknown-version-data");
	assert_false(verdict_code_version_vulnerable(r.code));
	result(NULL, 0, dev, 1, 40, compiled, NULL, &r);
	assert_string_equal(verdict_code_to_string(r.code), "unknown-no-versions");
	result(d, 2, dev, 1, 40, compiled_both, NULL, &r);
	assert_string_equal(verdict_livepatch_to_string(r.livepatch), "builtin-and-module");

	for (unsigned i = 0; i < _VERDICT_CODE_MAX; i++) {
		enum verdict_code c;

		assert_int_equal(verdict_code_from_string(verdict_code_to_string(i), &c), 0);
		assert_int_equal(c, i);
	}
	assert_int_equal(verdict_code_from_string("Affected", &(enum verdict_code){ 0 }), -EINVAL);
}

static void test_livepatch_estimate(void **state)
{
	struct cve_dyad d[] = { { "5.10", "c1", "6.1.50", "c2" } };
	struct {
		char *files[3];
		size_t n;
		verdict_units_fn units;
		const char *want;
	} cases[] = {
		{ { "net/core/dev.c", "net/core/dev.h" }, 2, units_few, "c-sources" },
		{ { "net/core/dev.c", "net/core/dev.h" }, 2, units_many, "header-too-many-units" },
		{ { "net/core/dev.c", "net/core/dev.h" }, 2, NULL, "header-too-many-units" },
		{ { "net/core/dev.c", "include/linux/skbuff.h" }, 2, units_few, "global-header" },
		{ { "net/core/dev.c", "arch/x86/include/asm/x.h" }, 2, units_few, "global-header" },
		{ { "net/core/dev.c", "arch/x86/entry/entry_64.S" }, 2, units_few, "assembly" },
		{ { "net/core/dev.c", "net/core/Makefile" }, 2, units_few, "build-files" },
		{ { "net/core/dev.c", "net/Kconfig" }, 2, units_few, "build-files" },
		{ { "net/core/dev.c", "rust/kernel/lib.rs" }, 2, units_few, "other-files" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct verdict_result r;

		result(d, 1, cases[i].files, cases[i].n, 40, compiled, cases[i].units, &r);
		assert_int_equal(r.status, VERDICT_AFFECTED);
		if (!streq(verdict_livepatch_to_string(r.livepatch), cases[i].want))
			fail_msg("case %zu: got %s, want %s", i,
				 verdict_livepatch_to_string(r.livepatch), cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stable_branch_fix),
		cmocka_unit_test(test_no_fix_on_branch),
		cmocka_unit_test(test_backport_introduced),
		cmocka_unit_test(test_rc),
		cmocka_unit_test(test_original_commit_for_fix),
		cmocka_unit_test(test_unfixed),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_garbled_dyad),
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_livepatch_estimate),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
