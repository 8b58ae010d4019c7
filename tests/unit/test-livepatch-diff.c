/*
 * Unit tests for the ELF differ, on ORIG.o/PATCHED.o pairs the test suite builds from
 * the C files in tests/livepatch/fixtures (LP_FIXTURES names the directory they were built in).
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
#include "livepatch/klp.h"

static const char *fixtures;
static char outdir[] = "/tmp/test-lp-diff-XXXXXX";

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
	if (r != LP_DIFF_WRITTEN)
		assert_int_equal(access(d, F_OK), -1);
	return r;
}

static bool has_func(const struct lp_diff_report *r, const char *name, enum lp_func_kind kind)
{
	for (size_t i = 0; i < r->nfuncs; i++)
		if (streq(r->funcs[i].name, name) && r->funcs[i].kind == kind)
			return true;
	return false;
}

static bool has_text(char *const *v, size_t n, const char *needle)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(v[i], needle))
			return true;
	return false;
}

static struct lp_sym *defined(struct lp_elf *e, const char *name)
{
	struct lp_sym *s = lp_elf_find_sym(e, name);

	return s && s->sec ? s : NULL;
}

/* ORC must be regenerated for what is carried: one .orc_unwind entry per IP. */
static void check_orc(struct lp_elf *e)
{
	struct lp_sec *ip = lp_elf_find_sec(e, ".orc_unwind_ip");
	struct lp_sec *orc = lp_elf_find_sec(e, ".orc_unwind");

	if (!ip)
		return; /* fixtures built without objtool */
	assert_non_null(orc);
	assert_int_equal(orc->size / 6, ip->size / 4);
	assert_non_null(ip->rela);
	assert_int_equal(ip->rela->nrelas, ip->size / 4);
	for (size_t i = 0; i < ip->rela->nrelas; i++)
		assert_non_null(ip->rela->relas[i].sym->sec); /* only carried functions */
}

static void test_nochange(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;

	/* WARN_ON's __bug_table lines moved; the code did not */
	assert_int_equal(run("nochange", &rep, NULL), LP_DIFF_NOCHANGE);
	assert_int_equal(rep->nfuncs, 0);
}

static void test_self(void **state)
{
	static const char *const names[] = { "nochange", "changed", "newhelper", "string",
					     "data", "init", "size", "suffix" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
		_cleanup_free_ char *o = NULL;

		assert_true(asprintf(&o, "%s/%s.orig.o", fixtures, names[i]) > 0);
		assert_int_equal(lp_diff(o, o, NULL, NULL, &rep), LP_DIFF_NOCHANGE);
	}
}

static void test_changed(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
	_cleanup_(lp_elf_freep) struct lp_elf *e = NULL;
	struct lp_sec *meta;

	assert_int_equal(run("changed", &rep, &e), LP_DIFF_WRITTEN);
	assert_true(has_func(rep, "compute", LP_FUNC_CHANGED));
	assert_true(has_func(rep, "count_up", LP_FUNC_CHANGED));
	assert_non_null(defined(e, "compute"));
	assert_non_null(defined(e, "count_up"));
	/* file-scope static and static local: referenced in the running kernel, not copied */
	assert_null(defined(e, "counter"));
	assert_null(defined(e, "calls.0"));
	meta = lp_elf_find_sec(e, ".tuxtape.lp");
	assert_non_null(meta);
	assert_non_null(memmem(meta->data, meta->size, " counter object", 15));
	assert_non_null(memmem(meta->data, meta->size, " calls.0 object", 15));
	assert_non_null(lp_elf_find_sec(e, "__mcount_loc"));
	check_orc(e);
}

static void test_newhelper(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
	_cleanup_(lp_elf_freep) struct lp_elf *e = NULL;

	assert_int_equal(run("newhelper", &rep, &e), LP_DIFF_WRITTEN);
	assert_true(has_func(rep, "copy_len", LP_FUNC_CHANGED));
	assert_true(has_func(rep, "clamp_len", LP_FUNC_NEW));
	assert_false(has_func(rep, "other", LP_FUNC_CHANGED));
	assert_non_null(defined(e, "clamp_len"));
	assert_null(defined(e, "other"));
	check_orc(e);
}

static void test_string(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
	_cleanup_(lp_elf_freep) struct lp_elf *e = NULL;
	bool found = false;

	assert_int_equal(run("string", &rep, &e), LP_DIFF_WRITTEN);
	assert_int_equal(rep->nfuncs, 1);
	assert_true(has_func(rep, "greet", LP_FUNC_CHANGED));
	assert_true(has_text(rep->included, rep->nincluded, "hello, patched world"));
	/* farewell's string is not carried */
	for (size_t i = 0; i < e->nsecs; i++) {
		struct lp_sec *s = e->secs[i];

		if (!startswith(s->name, ".rodata") || !strstr(s->name, ".str") || !s->data)
			continue;
		assert_null(memmem(s->data, s->size, "goodbye", 7));
		if (memmem(s->data, s->size, "hello, patched world %d\n", 25))
			found = true;
	}
	assert_true(found);
}

static void test_data(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;

	assert_int_equal(run("data", &rep, NULL), LP_DIFF_UNSAFE);
	assert_true(has_text(rep->refusals, rep->nrefusals, "'limits'"));
}

static void test_init(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;

	assert_int_equal(run("init", &rep, NULL), LP_DIFF_UNSAFE);
	assert_true(has_text(rep->refusals, rep->nrefusals, "'setup_thing'"));
}

static void test_size(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;

	assert_int_equal(run("size", &rep, NULL), LP_DIFF_UNSAFE);
	assert_true(has_text(rep->refusals, rep->nrefusals, "'ring' changed size"));
}

static void test_suffix(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
	_cleanup_(lp_elf_freep) struct lp_elf *e = NULL;

	assert_int_equal(run("suffix", &rep, &e), LP_DIFF_WRITTEN);
	assert_true(has_func(rep, "entry", LP_FUNC_CHANGED));
	assert_int_equal(rep->nfuncs, 1);
	/* the cold part goes with its parent; .isra/.constprop callees are referenced */
	assert_non_null(defined(e, "entry.cold"));
	assert_null(defined(e, "sum_ab.isra.0"));
	assert_null(defined(e, "scale.constprop.0"));
	{
		bool ref = false;

		for (size_t i = 0; i < e->nsyms; i++)
			if (!e->syms[i]->sec && strstr(e->syms[i]->name, "_sum_ab.isra.0"))
				ref = true;
		assert_true(ref);
	}
	check_orc(e);
}

static void test_canonical(void **state)
{
	static const struct {
		const char *in;
		bool sl;
		const char *out;
	} cases[] = {
		{ "foo", false, "foo" },
		{ "foo.isra.0", false, "foo" },
		{ "foo.constprop.3.isra.0", false, "foo" },
		{ "foo.part.1", false, "foo" },
		{ "foo.cold", false, "foo.cold" },
		{ "foo.part.0.cold", false, "foo.cold" },
		{ "foo.llvm.1234567", false, "foo" },
		{ "calls.12", true, "calls" },
		{ "calls.12", false, "calls.12" },
		{ "__already_done.5", true, "__already_done" },
		{ ".", false, "." },
		{ "", false, "" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *c = lp_canonical_name(cases[i].in, cases[i].sl);

		assert_string_equal(c, cases[i].out);
	}
}

static void test_malformed(void **state)
{
	_cleanup_free_ char *buf = NULL, *path = NULL;
	struct lp_diff_report *rep = NULL;
	size_t len;
	int r;

	assert_true(asprintf(&path, "%s/changed.orig.o", fixtures) > 0);
	assert_int_equal(read_file_capped(path, 1 << 24, &buf, &len), 0);
	/* every truncation fails cleanly */
	for (size_t n = 0; n < len; n += 7) {
		r = lp_diff_mem(buf, len, buf, n, NULL, NULL, &rep);
		if (r >= 0)
			lp_diff_report_free(rep);
		rep = NULL;
	}
	/* single-byte corruptions in the headers and tables never crash */
	for (size_t i = 0; i < len; i += 3) {
		_cleanup_free_ char *copy = malloc(len);

		memcpy(copy, buf, len);
		copy[i] ^= 0x5a;
		r = lp_diff_mem(buf, len, copy, len, NULL, NULL, &rep);
		if (r >= 0)
			lp_diff_report_free(rep);
		rep = NULL;
	}
	assert_true(lp_diff_mem("junk", 4, "junk", 4, NULL, NULL, &rep) < 0);
	assert_null(rep);
}

static void test_json(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
	json_t *j;

	assert_int_equal(run("newhelper", &rep, NULL), LP_DIFF_WRITTEN);
	j = lp_diff_report_to_json(rep, LP_DIFF_WRITTEN);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "result")), "written");
	assert_int_equal(json_array_size(json_object_get(j, "functions")), 2);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical),  cmocka_unit_test(test_nochange),
		cmocka_unit_test(test_self),       cmocka_unit_test(test_changed),
		cmocka_unit_test(test_newhelper),  cmocka_unit_test(test_string),
		cmocka_unit_test(test_data),       cmocka_unit_test(test_init),
		cmocka_unit_test(test_size),       cmocka_unit_test(test_suffix),
		cmocka_unit_test(test_json),       cmocka_unit_test(test_malformed),
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
