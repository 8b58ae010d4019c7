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
#include "log.h"

static const char *fixtures;
static char outdir[] = "/tmp/test-lp-diff-XXXXXX";

/*
 * Diffs fixture NAME, against the symbol table SYMTAB (kallsyms lines) unless NULL. OUT, unless
 * NULL, gets the object written; none is left behind when the result is not LP_DIFF_WRITTEN.
 */
static int run_symtab(const char *name, const char *symtab, struct lp_diff_report **rep,
		      struct lp_elf **out)
{
	_cleanup_(lp_symtab_freep) struct lp_symtab *st = NULL;
	_cleanup_free_ char *o = NULL, *p = NULL, *d = NULL;
	int r;

	if (symtab)
		assert_int_equal(lp_symtab_parse(symtab, strlen(symtab), &st), 0);
	assert_true(asprintf(&o, "%s/%s.orig.o", fixtures, name) > 0);
	assert_true(asprintf(&p, "%s/%s.patched.o", fixtures, name) > 0);
	assert_true(asprintf(&d, "%s/%s.diff.o", outdir, name) > 0);
	unlink(d);
	r = lp_diff(o, p, st, d, rep);
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

static int run(const char *name, struct lp_diff_report **rep, struct lp_elf **out)
{
	return run_symtab(name, NULL, rep, out);
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
					     "data", "init", "size", "suffix", "crossa",
					     "crossb", "rodata" };

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

/* Changes the differ refuses as unsafe to patch live, each refusal naming what it is about. */
static void test_unsafe(void **state)
{
	static const struct {
		const char *fixture;
		const char *refusal;
	} cases[] = {
		{ "data", "'limits'" },		   /* initialised data changed */
		{ "init", "'setup_thing'" },	   /* __init code changed */
		{ "size", "'ring' changed size" }, /* a data object's size changed */
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;

		print_message("%s\n", cases[i].fixture);
		assert_int_equal(run(cases[i].fixture, &rep, NULL), LP_DIFF_UNSAFE);
		assert_true(has_text(rep->refusals, rep->nrefusals, cases[i].refusal));
	}
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

/* A new global helper carried from the file that defines it, for another file's call. */
static void test_cross(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *ra = NULL, *rb = NULL;
	_cleanup_(lp_elf_freep) struct lp_elf *a = NULL, *b = NULL;
	struct lp_sym *s;

	/* nothing in crossa.c calls it: carried all the same, global */
	assert_int_equal(run("crossa", &ra, &a), LP_DIFF_WRITTEN);
	assert_true(has_func(ra, "tt_cross_clamp", LP_FUNC_NEW));
	s = defined(a, "tt_cross_clamp");
	assert_non_null(s);
	assert_int_equal(s->bind, STB_GLOBAL);
	assert_null(defined(a, "cross_keep"));
	assert_int_equal(run("crossb", &rb, &b), LP_DIFF_WRITTEN);
	assert_true(has_func(rb, "cross_use", LP_FUNC_CHANGED));
	s = lp_elf_find_sym(b, "tt_cross_clamp");
	assert_non_null(s);
	assert_null(s->sec);
}

/* rodata.c against symbol tables naming its statics uniquely (0x812...) or twice. */
static int run_syms(const char *dups, struct lp_diff_report **rep, struct lp_elf **out)
{
	static const char *const names[] = {"rd_table", "rd_inc",  "rd_count",	  "n.0",
					    "rd_cb",	"rd_ops", "rd_apply",	  "rd_report",
					    "rd_stateful", "rd_ops_user", "__func__.1"};
	char buf[4096];
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char want[64];
		bool dup;

		snprintf(want, sizeof(want), " %s ", names[i]);
		dup = strstr(dups, want) != NULL;
		if (!dup)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
						"ffffffff812%05zx t %s\n", i * 16, names[i]);
		else {
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
						"ffffffff81000000 t %s\nffffffff81400000 t %s\n",
						names[i], names[i]);
		}
	}
	assert_true(len < sizeof(buf));
	return run_symtab("rodata", buf, rep, out);
}

static void test_rodata_copied(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
	_cleanup_(lp_elf_freep) struct lp_elf *e = NULL;

	/* every name unique: the kernel's own, but __func__ (a numbered static local) */
	assert_int_equal(run_syms("", &rep, &e), LP_DIFF_WRITTEN);
	assert_non_null(defined(e, "__func__.1"));
	assert_null(defined(e, "rd_table"));
	assert_null(defined(e, "rd_inc"));
	assert_null(defined(e, "rd_apply"));
	lp_diff_report_free(TAKE_PTR(rep));
	lp_elf_free(TAKE_PTR(e));

	/* ambiguous: the data-only table and the stateless functions are copied */
	assert_int_equal(run_syms(" rd_table rd_inc rd_apply ", &rep, &e), LP_DIFF_WRITTEN);
	for (size_t i = 0; i < rep->nrefusals; i++)
		print_message("refusal: %s\n", rep->refusals[i]);
	assert_non_null(defined(e, "rd_table"));
	assert_non_null(defined(e, "rd_inc"));
	assert_non_null(defined(e, "rd_apply"));
	assert_int_equal(defined(e, "rd_inc")->bind, STB_LOCAL);
	assert_true(has_text(rep->included, rep->nincluded, "copied function rd_inc"));
	assert_true(has_text(rep->warnings, rep->nwarnings, "'rd_inc' is ambiguous"));
	assert_null(defined(e, "rd_count")); /* unique: the kernel's */
	/* the copies' own entries: the copy is traced and unwound like any function */
	check_orc(e);
}

static void test_rodata_refused(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
	_cleanup_(lp_elf_freep) struct lp_elf *e = NULL;

	/* a static local counter: its state cannot be copied */
	assert_int_equal(run_syms(" rd_count ", &rep, &e), LP_DIFF_UNSAFE);
	assert_true(has_text(rep->refusals, rep->nrefusals, "'rd_count'"));
	assert_true(has_text(rep->refusals, rep->nrefusals, "'n.0' (state of its own)"));
	assert_true(has_text(rep->refusals, rep->nrefusals, "--vmlinux"));
	lp_diff_report_free(TAKE_PTR(rep));

	/* an ops table: a copy would have another address */
	assert_int_equal(run_syms(" rd_ops ", &rep, &e), LP_DIFF_UNSAFE);
	assert_true(has_text(rep->refusals, rep->nrefusals, "'rd_ops' is ambiguous"));
	lp_diff_report_free(TAKE_PTR(rep));

	/* a counter behind a stateless caller is found through it */
	assert_int_equal(run_syms(" rd_count n.0 ", &rep, &e), LP_DIFF_UNSAFE);
	assert_true(has_text(rep->refusals, rep->nrefusals, "'rd_count'"));
}

/* A static local of no bytes has no state: copied even when the kernel has many so named. */
static void test_zero_size_local(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
	_cleanup_(lp_elf_freep) struct lp_elf *e = NULL;
	static const char ambiguous_key[] = "ffffffff81200000 T zk_init\n"
					    "ffffffff82000000 b __key.1\n"
					    "ffffffff82000010 b __key.1\n"
					    "ffffffff82000020 b inits.0\n";
	static const char ambiguous_counter[] = "ffffffff81200000 T zk_init\n"
						"ffffffff82000000 b __key.1\n"
						"ffffffff82000020 b inits.0\n"
						"ffffffff82000030 b inits.0\n";

	assert_int_equal(run_symtab("zerokey", ambiguous_key, &rep, &e), LP_DIFF_WRITTEN);
	assert_true(has_func(rep, "zk_init", LP_FUNC_CHANGED));
	assert_non_null(defined(e, "__key.1"));
	assert_int_equal(defined(e, "__key.1")->size, 0);
	assert_null(defined(e, "inits.0")); /* the kernel's counter, shared */
	lp_diff_report_free(TAKE_PTR(rep));
	lp_elf_free(TAKE_PTR(e));

	/* the rule is for objects of no bytes: a counter the symbols cannot name is refused */
	assert_int_equal(run_symtab("zerokey", ambiguous_counter, &rep, &e), LP_DIFF_UNSAFE);
	assert_true(has_text(rep->refusals, rep->nrefusals, "'inits.0' is ambiguous"));
	assert_false(has_text(rep->refusals, rep->nrefusals, "__key"));
}

/* A loop bound just past a copied table follows the copy; the table is copied once. */
static void test_past_end(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
	_cleanup_(lp_elf_freep) struct lp_elf *e = NULL;
	struct lp_sym *table;
	size_t ncopies = 0, nbound = 0;

	assert_int_equal(run("bound", &rep, &e), LP_DIFF_WRITTEN);
	assert_true(has_func(rep, "bd_total", LP_FUNC_CHANGED));
	table = defined(e, "table.0");
	assert_non_null(table);
	for (size_t i = 0; i < e->nsecs; i++) {
		struct lp_sec *sec = e->secs[i];

		if (startswith(sec->name, ".rodata.table"))
			ncopies++;
		if (sec->type != SHT_RELA || !startswith(sec->base->name, ".text"))
			continue;
		for (size_t k = 0; k < sec->nrelas; k++) {
			struct lp_rela *r = &sec->relas[k];
			uint64_t at = (r->sym->type == STT_SECTION ? 0 : r->sym->value) +
				      (uint64_t)r->addend;

			if (r->sym->sec == table->sec && at == table->value + table->size)
				nbound++;
		}
	}
	assert_int_equal(ncopies, 1);
	assert_int_equal(nbound, 1);
}

/*
 * A moved line number that only says where the source is, is not a change; another number is.
 * Each fixture has one function of each kind.
 */
static void test_line_only(void **state)
{
	static const struct {
		const char *fixture;
		const char *unchanged; /* only a source location's line moved */
		const char *changed;
	} cases[] = {
		/* a source location's line in a string; another number in a string */
		{ "lineonly", "lo_report", "lo_limit" },
		/* __LINE__ passed with __FILE__ to a warning; __LINE__ printed alone */
		{ "lineimm", "li_check", "li_count" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
		_cleanup_(lp_elf_freep) struct lp_elf *e = NULL;

		print_message("%s\n", cases[i].fixture);
		assert_int_equal(run(cases[i].fixture, &rep, &e), LP_DIFF_WRITTEN);
		assert_false(has_func(rep, cases[i].unchanged, LP_FUNC_CHANGED));
		assert_true(has_func(rep, cases[i].changed, LP_FUNC_CHANGED));
		assert_int_equal(rep->nfuncs, 1);
	}
}

/* An author's callback is carried with a global alias; an ignored function is not patched. */
static void test_callback(void **state)
{
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
	_cleanup_(lp_elf_freep) struct lp_elf *e = NULL;
	struct lp_sec *meta;

	assert_int_equal(run("callback", &rep, &e), LP_DIFF_WRITTEN);
	assert_int_equal(rep->ncallbacks, 1);
	assert_string_equal(rep->callbacks[0], "pre_patch cb_pre");
	assert_non_null(defined(e, "cb_pre"));
	assert_false(has_func(rep, "cb_changed", LP_FUNC_CHANGED));
	assert_true(has_text(rep->warnings, rep->nwarnings, "'cb_changed' changed but is ignored"));
	meta = lp_elf_find_sec(e, ".tuxtape.lp");
	assert_non_null(meta);
	assert_non_null(memmem(meta->data, meta->size, "callback pre_patch __tt_lp_cb_", 30));
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

/* ---- malformed objects: a fixture with one header field changed ---- */

static char logged[4096];

static void capture_log(enum tt_log_level level, const char *msg, void *userdata)
{
	size_t n = strlen(logged);

	snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
}

/* The section header of NAME in an object in memory (a fixture: well-formed). */
static Elf64_Shdr *shdr_of(char *buf, const char *name)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Shdr *sh = (Elf64_Shdr *)(buf + eh->e_shoff);
	const char *names = buf + sh[eh->e_shstrndx].sh_offset;

	for (size_t i = 1; i < eh->e_shnum; i++)
		if (streq(names + sh[i].sh_name, name))
			return &sh[i];
	return NULL;
}

enum field { F_TYPE, F_ALIGN, F_ENTSIZE, F_SIZE, F_LINK, F_INFO, F_RELA_SYM, F_SYM_NAME };

static void expect_refused(const char *fixture, const char *sec, enum field f, uint64_t v,
			   int want, const char *msg)
{
	_cleanup_free_ char *o = NULL, *p = NULL, *obuf = NULL, *pbuf = NULL, *d = NULL;
	struct lp_diff_report *rep = NULL;
	size_t olen, plen;
	Elf64_Shdr *sh;

	assert_true(asprintf(&o, "%s/%s.orig.o", fixtures, fixture) > 0);
	assert_true(asprintf(&p, "%s/%s.patched.o", fixtures, fixture) > 0);
	assert_true(asprintf(&d, "%s/refused.o", outdir) > 0);
	assert_int_equal(read_file_capped(o, 1 << 24, &obuf, &olen), 0);
	assert_int_equal(read_file_capped(p, 1 << 24, &pbuf, &plen), 0);
	sh = shdr_of(pbuf, sec);
	if (!sh) {
		print_message("skipped: %s has no %s (fixtures built without objtool?)\n", p, sec);
		return;
	}
	switch (f) {
	case F_TYPE: sh->sh_type = (uint32_t)v; break;
	case F_ALIGN: sh->sh_addralign = v; break;
	case F_ENTSIZE: sh->sh_entsize = v; break;
	case F_SIZE: sh->sh_size = v; break;
	case F_LINK: sh->sh_link = (uint32_t)v; break;
	case F_INFO: sh->sh_info = (uint32_t)v; break;
	case F_RELA_SYM: { /* the first relocation's symbol */
		Elf64_Rela *ra = (Elf64_Rela *)(pbuf + sh->sh_offset);

		ra->r_info = ELF64_R_INFO(v, ELF64_R_TYPE(ra->r_info));
		break;
	}
	case F_SYM_NAME: /* the first symbol's name offset */
		((Elf64_Sym *)(pbuf + sh->sh_offset))[1].st_name = (uint32_t)v;
		break;
	}
	logged[0] = '\0';
	unlink(d);
	assert_int_equal(lp_diff_mem(obuf, olen, pbuf, plen, NULL, d, &rep), want);
	assert_null(rep);
	assert_int_equal(access(d, F_OK), -1);
	if (!strstr(logged, msg))
		fail_msg("%s %s: logged \"%s\", want \"%s\"", fixture, sec, logged, msg);
	/* one line, naming the object */
	assert_non_null(strstr(logged, "'<patched>': "));
	assert_ptr_equal(strchr(logged, '\n'), logged + strlen(logged) - 1);
}

static void test_malformed_refused(void **state)
{
	tt_log_set(capture_log, NULL, TT_LOG_ERR);
	/* the fuzzer's crash: a table read by entry whose type says it has no contents */
	expect_refused("nochange", "__mcount_loc", F_TYPE, SHT_NULL, -EBADMSG,
		       "section '__mcount_loc' (7) has type SHT_NULL");
	expect_refused("nochange", "__bug_table", F_TYPE, SHT_NOTE, -EBADMSG,
		       "section '__bug_table' has type NOTE, expected PROGBITS");
	expect_refused("nochange", "__bug_table", F_ENTSIZE, 16, -EBADMSG,
		       "section '__bug_table' has entry size 16, expected 12");
	expect_refused("changed", ".return_sites", F_SIZE, 10, -EBADMSG,
		       "'.rela.return_sites' entry 2: offset 8 (4 bytes) is outside "
		       "'.return_sites' (10 bytes)");
	expect_refused("changed", ".orc_unwind", F_SIZE, 6 * 7, -EBADMSG,
		       "'.orc_unwind' (7 entries) and '.orc_unwind_ip' (8 entries) do not match");
	/* output layout: a 2^40 alignment made a 1 TiB file */
	expect_refused("changed", ".text.compute", F_ALIGN, 1ULL << 40, -EBADMSG,
		       "section '.text.compute': alignment 1099511627776 is above 4096");
	expect_refused("changed", ".text.compute", F_ALIGN, 24, -EBADMSG,
		       "section '.text.compute': alignment 24 is not a power of two");
	expect_refused("changed", ".text.compute", F_SIZE, 1ULL << 40, -EBADMSG,
		       "section '.text.compute': size 1099511627776 is above");
	expect_refused("changed", ".text.compute", F_LINK, 5000, -EBADMSG,
		       "section '.text.compute': sh_link 5000 is not a section index");
	/* links, symbols, relocations, strings */
	expect_refused("changed", ".rela.text.compute", F_INFO, 0, -EBADMSG,
		       "relocation section '.rela.text.compute': sh_info 0");
	expect_refused("changed", ".rela.text.compute", F_ENTSIZE, 16, -EBADMSG,
		       "section '.rela.text.compute': entry size 16, expected 24");
	expect_refused("changed", ".rela.text.compute", F_RELA_SYM, 9999, -EBADMSG,
		       "'.rela.text.compute' entry 0: symbol index 9999 is not a symbol");
	expect_refused("changed", ".symtab", F_LINK, 1, -EBADMSG,
		       "string table '.text' of '.symtab' has type PROGBITS, expected STRTAB");
	expect_refused("changed", ".symtab", F_INFO, 0, -EBADMSG,
		       "symbol table '.symtab': sh_info 0 (first global)");
	expect_refused("changed", ".symtab", F_SYM_NAME, 0x7fffffff, -EBADMSG,
		       "symbol 1: name offset 2147483647 is outside '.strtab'");
	expect_refused("changed", ".symtab", F_TYPE, SHT_REL, -EOPNOTSUPP,
		       "section '.symtab' has type REL");
	tt_log_set(NULL, NULL, TT_LOG_WARN);
}

/* The writer refuses a layout it would pad absurdly, and replaces a file only when done. */
static void test_write_refused(void **state)
{
	_cleanup_(lp_elf_freep) struct lp_elf *e = lp_elf_new();
	_cleanup_free_ char *path = NULL, *buf = NULL, *tmpl = NULL;
	struct lp_sec *s;
	size_t len;

	assert_true(asprintf(&path, "%s/written.o", outdir) > 0);
	assert_int_equal(write_file_atomic(path, "previous", 8, 0644), 0);
	s = lp_elf_add_sec(e, ".text.x", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 1ULL << 40);
	assert_non_null(s);
	assert_true(lp_sec_append(s, "\xc3", 1, 1) >= 0);
	assert_int_equal(lp_elf_write(e, path), -EINVAL);
	assert_int_equal(read_file_capped(path, 64, &buf, &len), 0);
	assert_string_equal(buf, "previous");
	s->align = 16;
	assert_int_equal(lp_elf_write(e, path), 0);
	{
		_cleanup_(lp_elf_freep) struct lp_elf *back = NULL;

		assert_int_equal(lp_elf_read(path, &back), 0);
		assert_non_null(lp_elf_find_sec(back, ".text.x"));
	}
	/* nothing but the output in the directory */
	assert_true(asprintf(&tmpl, "%s/written.o.tmp.", outdir) > 0);
	{
		int n = 0;
		_cleanup_free_ char *cmd = NULL;

		assert_true(asprintf(&cmd, "ls %s | grep -c tmp", outdir) > 0);
		FILE *f = popen(cmd, "r");

		assert_non_null(f);
		assert_int_equal(fscanf(f, "%d", &n), 1);
		pclose(f);
		assert_int_equal(n, 0);
	}
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
		cmocka_unit_test(test_unsafe),     cmocka_unit_test(test_suffix),
		cmocka_unit_test(test_json),       cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_malformed_refused), cmocka_unit_test(test_write_refused),
		cmocka_unit_test(test_cross),	   cmocka_unit_test(test_rodata_copied),
		cmocka_unit_test(test_rodata_refused), cmocka_unit_test(test_callback),
		cmocka_unit_test(test_zero_size_local),
		cmocka_unit_test(test_past_end),
		cmocka_unit_test(test_line_only),
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
