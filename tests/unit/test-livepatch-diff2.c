/*
 * Unit tests for the differ's pairing of objects named by __COUNTER__ (dynamic-debug
 * descriptors), on ORIG.o/PATCHED.o pairs built from tests/livepatch/fixtures/dd*.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "livepatch/diff.h"
#include "livepatch/elf.h"
#include "log.h"

static const char *fixtures;
static char outdir[] = "/tmp/test-lp-diff2-XXXXXX";

static int run(const char *name, struct lp_diff_report **rep, struct lp_elf **out)
{
	_cleanup_free_ char *o = NULL, *p = NULL, *d = NULL;
	int r;

	assert_true(asprintf(&o, "%s/%s.orig.o", fixtures, name) > 0);
	assert_true(asprintf(&p, "%s/%s.patched.o", fixtures, name) > 0);
	assert_true(asprintf(&d, "%s/%s.diff.o", outdir, name) > 0);
	unlink(d);
	r = lp_diff(o, p, NULL, d, rep);
	assert_true(r >= 0);
	if (out) {
		*out = NULL;
		if (r == LP_DIFF_WRITTEN)
			assert_int_equal(lp_elf_read(d, out), 0);
	}
	return r;
}

static size_t nchanged(const struct lp_diff_report *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nfuncs; i++)
		n += r->funcs[i].kind == LP_FUNC_CHANGED;
	return n;
}

static bool has_func(const struct lp_diff_report *r, const char *name)
{
	for (size_t i = 0; i < r->nfuncs; i++)
		if (streq(r->funcs[i].name, name) && r->funcs[i].kind == LP_FUNC_CHANGED)
			return true;
	return false;
}

/* How many symbols of E are named PREFIX followed by anything. */
static size_t count_syms(const struct lp_elf *e, const char *prefix)
{
	size_t n = 0;

	for (size_t i = 0; i < e->nsyms; i++)
		if (e->syms[i]->sec && startswith(e->syms[i]->name, prefix))
			n++;
	return n;
}

/* The fixtures really renumber: otherwise these tests would pass on names alone. */
static void assert_renumbered(const char *name, const char *orig_sym)
{
	_cleanup_free_ char *o = NULL, *p = NULL;
	_cleanup_(lp_elf_freep) struct lp_elf *eo = NULL, *ep = NULL;

	assert_true(asprintf(&o, "%s/%s.orig.o", fixtures, name) > 0);
	assert_true(asprintf(&p, "%s/%s.patched.o", fixtures, name) > 0);
	assert_int_equal(lp_elf_read(o, &eo), 0);
	assert_int_equal(lp_elf_read(p, &ep), 0);
	assert_non_null(lp_elf_find_sym(eo, orig_sym));
	assert_null(lp_elf_find_sym(ep, orig_sym));
}

/* An added #include renumbers every descriptor and moves each a line down: no change. */
static void test_include_added(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;

	assert_renumbered("ddinclude", "__UNIQUE_ID_ddebug0.6");
	assert_int_equal(run("ddinclude", &rep, NULL), LP_DIFF_NOCHANGE);
	assert_int_equal(nchanged(rep), 0);
	assert_int_equal(rep->nrefusals, 0);
}

/* A pr_debug() added to the first function: only it changes, with both its descriptors. */
static void test_pr_debug_added(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
	_cleanup_(lp_elf_freep) struct lp_elf *out = NULL;
	uint64_t dd_bytes = 0;

	assert_renumbered("ddadd", "__UNIQUE_ID_ddebug3.3");
	assert_int_equal(run("ddadd", &rep, &out), LP_DIFF_WRITTEN);
	assert_int_equal(nchanged(rep), 1);
	assert_true(has_func(rep, "first"));
	assert_non_null(out);
	/* the carried function's descriptors are copied, the others' are left alone */
	for (size_t i = 0; i < out->nsecs; i++)
		if (streq(out->secs[i]->name, "__dyndbg"))
			dd_bytes += out->secs[i]->size;
	assert_int_equal(dd_bytes, 2 * 56);
	assert_int_equal(count_syms(out, "__UNIQUE_ID_ddebug"), 2);
	assert_null(lp_elf_find_sym(out, "second"));
	assert_null(lp_elf_find_sym(out, "third"));
}

/* Two descriptors alike but for their line cannot be told apart: their function changes. */
static void test_ambiguous_stays_changed(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;

	assert_renumbered("ddtwin", "__UNIQUE_ID_ddebug0.4");
	assert_int_equal(run("ddtwin", &rep, NULL), LP_DIFF_WRITTEN);
	assert_int_equal(nchanged(rep), 1);
	assert_true(has_func(rep, "twice"));
}

/*
 * A descriptor whose number stays but whose content changes (its flags) while the code does
 * not: paired by name it would be "no change", and the running kernel's descriptor would keep
 * the old flags.
 */
static void test_content_changed(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;

	assert_int_equal(run("ddflags", &rep, NULL), LP_DIFF_WRITTEN);
	assert_int_equal(nchanged(rep), 1);
	assert_true(has_func(rep, "loud"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_include_added),
		cmocka_unit_test(test_pr_debug_added),
		cmocka_unit_test(test_ambiguous_stays_changed),
		cmocka_unit_test(test_content_changed),
	};
	int r;

	fixtures = getenv("LP_FIXTURES");
	if (!fixtures) {
		fprintf(stderr, "LP_FIXTURES is not set: run through meson test\n");
		return 77;
	}
	if (!mkdtemp(outdir))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	rm_rf(outdir);
	return r;
}
