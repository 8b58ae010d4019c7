/*
 * Unit tests for the klp module generator: symbol positions (vmlinux and a module's two
 * kallsyms views), exports and their owners, finding a module, and a module build whose
 * klp relocations go to the patched module's object (needs a kernel's kbuild: skipped
 * without /lib/modules/RELEASE/build/Module.symvers). LP_FIXTURES holds tt_fixmod.ko.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <unistd.h>

#include "fileio.h"
#include "livepatch/diff.h"
#include "livepatch/elf.h"
#include "livepatch/klp.h"
#include "log.h"
#include "strbuf.h"

static const char *fixtures;

static void test_sympos(void **state)
{
	static const char map[] = "ffffffff81000000 T _text\n"
				  "ffffffff81001000 t helper\n" /* a.c */
				  "ffffffff81001100 T a_api\n"
				  "ffffffff81001200 t a_other\n"
				  "ffffffff81002000 t helper\n" /* b.c */
				  "ffffffff81002100 T b_api\n"
				  "ffffffff81003000 d state\n"
				  "ffffffff81003100 D b_data\n"
				  "ffffffff81004000 d state\n"
				  "ffffffff81005000 t unique_static\n"
				  "ffffffffc0000000 t helper\t[some_module]\n";
	_cleanup_(lp_symtab_freep) struct lp_symtab *st = NULL;
	const char *a_anchors[] = {"a_api", "a_other", "helper"};
	const char *b_anchors[] = {"b_api", "helper", "state", "b_data"};
	long pos = -1;

	assert_int_equal(lp_symtab_parse(map, sizeof(map) - 1, &st), 0);
	assert_int_equal(lp_symtab_count(st, "helper"), 2); /* module lines do not count */
	assert_int_equal(lp_symtab_sympos(st, "unique_static", true, "x.c", NULL, 0, &pos), 0);
	assert_int_equal(pos, 0);
	assert_int_equal(lp_symtab_sympos(st, "helper", true, "a.c", a_anchors, 3, &pos), 0);
	assert_int_equal(pos, 1);
	assert_int_equal(lp_symtab_sympos(st, "helper", true, "b.c", b_anchors, 4, &pos), 0);
	assert_int_equal(pos, 2);
	/* no anchors near any candidate: refused */
	assert_int_equal(lp_symtab_sympos(st, "helper", true, "c.c", NULL, 0, &pos), -ENOTUNIQ);
	assert_int_equal(lp_symtab_sympos(st, "nothere", true, "c.c", NULL, 0, &pos), -ENOENT);
	/* b_data is b.c's only data anchor: the 'state' next to it is b.c's */
	assert_int_equal(lp_symtab_sympos(st, "state", false, "b.c", b_anchors, 4, &pos), 0);
	assert_int_equal(pos, 1);
}

/*
 * A module's symbols are section offsets, the section index in the top bits: a file's span
 * in .text says where its static is, whatever its .text.unlikely symbols say (x.c and y.c
 * each have a helper.part.0; x.c also has a cold part in another section).
 */
static void test_sympos_sections(void **state)
{
	static const char map[] = "0000020000020000 t x_first\n"
				  "0000020000022530 t helper.part.0\n" /* x.c */
				  "0000020000023000 t x_last\n"
				  "0000020000040000 t y_first\n"
				  "000002000004d7f0 t helper.part.0\n" /* y.c */
				  "0000020000050000 t y_last\n"
				  "0000040000000200 t x_first.cold\n"
				  "00000400000004db t y_first.cold\n";
	_cleanup_(lp_symtab_freep) struct lp_symtab *st = NULL;
	const char *x_anchors[] = {"x_first", "x_last", "x_first.cold", "helper.part.0"};
	const char *y_anchors[] = {"y_first", "y_last", "y_first.cold", "helper.part.0"};
	const char *cold_only[] = {"x_first.cold"};
	long pos = -1;

	assert_int_equal(lp_symtab_parse(map, sizeof(map) - 1, &st), 0);
	assert_int_equal(lp_symtab_sympos(st, "helper.part.0", true, "x.c", x_anchors, 4, &pos), 0);
	assert_int_equal(pos, 1);
	assert_int_equal(lp_symtab_sympos(st, "helper.part.0", true, "y.c", y_anchors, 4, &pos), 0);
	assert_int_equal(pos, 2);
	/* anchors only in another section tell nothing: refused */
	assert_int_equal(lp_symtab_sympos(st, "helper.part.0", true, "x.c", cold_only, 1, &pos),
			 -ENOTUNIQ);
}

static char logged[1024];

static void capture_log(enum tt_log_level level, const char *msg, void *userdata)
{
	snprintf(logged, sizeof(logged), "%s", msg);
}

/* A bad line is refused naming the line and what is wrong with it, not skipped. */
static void expect_bad_line(const char *text, const char *msg)
{
	struct lp_symtab *st = NULL;

	logged[0] = '\0';
	assert_int_equal(lp_symtab_parse(text, strlen(text), &st), -EBADMSG);
	assert_null(st);
	if (!strstr(logged, msg))
		fail_msg("\"%s\": logged \"%s\", want \"%s\"", text, logged, msg);
}

static void test_garbage(void **state)
{
	struct lp_symtab *st = NULL;

	tt_log_set(capture_log, NULL, TT_LOG_ERR);
	assert_int_equal(lp_symtab_parse("", 0, &st), -EBADMSG);
	assert_int_equal(lp_symtab_parse("zz\nffff\n1 T\n", 12, &st), -EBADMSG);
	assert_null(st);
	expect_bad_line("", "'<symbols>': no symbols");
	expect_bad_line("zz\n", "'<symbols>':1: no hexadecimal address");
	expect_bad_line("ffff T a\n\nffff T\n", "'<symbols>':3: no symbol name");
	expect_bad_line("ffff T a\r\nffff T b c\n", "'<symbols>':2: text after the symbol name");
	expect_bad_line("ffff T a\nffff\n", "'<symbols>':2: no symbol type");
	expect_bad_line("ffff Tt a\n", "'<symbols>':1: the symbol type is more than one letter");
	expect_bad_line("ffff T a\x01b\n", "'<symbols>':1: a control or non-ASCII byte");
	expect_bad_line("11112222333344445 T a\n", "'<symbols>':1: the address has more than 16");
	/* blank lines, CRLF and [module] lines are fine; module symbols do not count */
	{
		static const char ok[] = "ffff T a\r\n\nfff0 t b\t[mod]\n";

		assert_int_equal(lp_symtab_parse(ok, sizeof(ok) - 1, &st), 0);
	}
	assert_int_equal(lp_symtab_count(st, "a"), 1);
	assert_int_equal(lp_symtab_count(st, "b"), 0);
	lp_symtab_free(st);
	tt_log_set(NULL, NULL, TT_LOG_WARN);
}

static char *fixture(const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", fixtures, name) > 0);
	return p;
}

/*
 * tt_fixmod.ko = tgt.c + other.c: both define statics helper, counter; dup is init-only in
 * tgt.c and core in other.c; tail the other way round; other.c has a .modinfo symbol.
 */
static void check_module_positions(struct lp_symtab *st)
{
	const char *tgt[] = {"tgt_first", "tgt_read", "tgt_last", "tgt_state", "helper"};
	const char *other[] = {"mod_api", "mod_exported", "helper"};
	long pos = -1;

	assert_int_equal(lp_symtab_sympos(st, "helper", true, "tgt.c", tgt, 5, &pos), 0);
	assert_int_equal(pos, 1);
	assert_int_equal(lp_symtab_sympos(st, "helper", true, "other.c", other, 3, &pos), 0);
	assert_int_equal(pos, 2);
	assert_int_equal(lp_symtab_sympos(st, "counter", false, "tgt.c", tgt, 5, &pos), 0);
	assert_int_equal(pos, 1);
	/* the init-only dup of tgt.c comes first while the module loads, not once it runs */
	assert_int_equal(lp_symtab_sympos(st, "dup", true, "other.c", other, 3, &pos), -EDOM);
	/* tail is unique among core symbols, but not while loading: 1, not 0 */
	assert_int_equal(lp_symtab_sympos(st, "tail", true, "tgt.c", tgt, 5, &pos), 0);
	assert_int_equal(pos, 1);
	/* .modinfo is not kept; STT_FILE names are absolute symbols */
	assert_int_equal(lp_symtab_sympos(st, "license", false, "other.c", other, 3, &pos),
			 -ENOENT);
	assert_int_equal(lp_symtab_sympos(st, "tgt.c", false, NULL, NULL, 0, &pos), -ENOENT);
	assert_int_equal(lp_symtab_sympos_global(st, "mod_api", &pos), 0);
	assert_int_equal(pos, 0);
	assert_int_equal(lp_symtab_sympos_global(st, "helper", &pos), -ENOENT);
}

static void test_module_positions(void **state)
{
	_cleanup_free_ char *ko = fixture("tt_fixmod.ko"), *found = NULL;
	_cleanup_free_ char *buf = NULL;
	struct lp_symtab *st = NULL;
	const char *paths[2];
	long pos;
	size_t len;

	assert_int_equal(lp_symtab_load_module(ko, true, &st), 0);
	check_module_positions(st);
	lp_symtab_free(st);
	/* without CONFIG_KALLSYMS_ALL a module's data symbols leave kallsyms after init */
	assert_int_equal(lp_symtab_load_module(ko, false, &st), 0);
	assert_int_equal(lp_symtab_sympos(st, "counter", false, "tgt.c", NULL, 0, &pos), -ENOENT);
	lp_symtab_free(st);

	/* by name in a directory (no modules.dep: walked), or the file itself */
	paths[0] = fixtures;
	assert_int_equal(lp_module_find(paths, 1, "tt_fixmod", &found), 0);
	assert_string_equal(found, ko);
	free(found);
	found = NULL;
	paths[0] = ko;
	assert_int_equal(lp_module_find(paths, 1, "tt_fixmod", &found), 0);
	assert_int_equal(lp_module_find(paths, 1, "other_mod", &found), -ENOENT);

	/* compressed: read through xz -dc, same positions */
	if (system("command -v xz >/dev/null") == 0) {
		char dir[] = "/tmp/test-lp-klp-XXXXXX", *cmd = NULL, *xz = NULL;

		assert_non_null(mkdtemp(dir));
		assert_true(asprintf(&cmd, "xz -c '%s' > '%s/tt-fixmod.ko.xz'", ko, dir) > 0);
		assert_int_equal(system(cmd), 0);
		paths[0] = dir;
		assert_int_equal(lp_module_find(paths, 1, "tt_fixmod", &xz), 0);
		assert_int_equal(lp_symtab_load_module(xz, true, &st), 0);
		check_module_positions(st);
		lp_symtab_free(st);
		free(xz);
		free(cmd);
		assert_int_equal(rm_rf(dir), 0);
	}

	/* malformed: refused, never read past the end */
	assert_int_equal(read_file_capped(ko, 1u << 20, &buf, &len), 0);
	tt_log_set(NULL, NULL, TT_LOG_ERR);
	for (size_t cut = 0; cut < len; cut += len / 97 + 1) {
		int r = lp_symtab_parse_module(buf, cut, "cut", true, &st);

		if (r == 0)
			lp_symtab_free(st);
		else
			assert_int_equal(r, -EBADMSG);
	}
	tt_log_set(NULL, NULL, TT_LOG_WARN);
}

static void test_export_owners(void **state)
{
	static const char symvers[] = "0x1\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n"
				      "0x2\tbar\tarch/x86/kvm/kvm-intel\tEXPORT_SYMBOL_GPL\t\n"
				      "0x3\tbaz\tarch/x86/kvm/kvm\tEXPORT_SYMBOL_GPL\tKVM\n"
				      "0x4\tqux\tarch/x86/kvm/kvm-intel\tEXPORT_SYMBOL\t\n";
	char path[] = "/tmp/test-lp-symvers-XXXXXX";
	struct lp_exports *ex = NULL;
	const char *owner = "x";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, symvers, sizeof(symvers) - 1), (ssize_t)sizeof(symvers) - 1);
	close(fd);
	assert_int_equal(lp_exports_load(path, &ex), 0);
	unlink(path);
	assert_int_equal(lp_exports_owner(ex, "foo", &owner), 0);
	assert_null(owner);
	assert_int_equal(lp_exports_owner(ex, "bar", &owner), 0);
	assert_string_equal(owner, "kvm_intel");
	assert_int_equal(lp_exports_owner(ex, "baz", &owner), 0);
	assert_string_equal(owner, "kvm");
	assert_int_equal(lp_exports_owner(ex, "qux", &owner), 0);
	assert_string_equal(owner, "kvm_intel");
	assert_int_equal(lp_exports_owner(ex, "none", &owner), -ENOENT);
	assert_true(lp_exports_has(ex, "bar"));
	lp_exports_free(ex);
}

/* Loads LEN bytes of Module.symvers text; returns lp_exports_load()'s answer. */
static int exports_from(const char *text, size_t len, struct lp_exports **ret)
{
	char path[] = "/tmp/test-lp-symvers-XXXXXX";
	int fd = mkstemp(path), r;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	r = lp_exports_load(path, ret);
	unlink(path);
	return r;
}

/*
 * fuzz-livepatch-modsyms found: a MODULE field a NUL byte cuts short (or an empty one, or a
 * path ending in '/') gave the export to a module named "", which the module builder would
 * then look for. Refused, naming the line.
 */
static void test_export_no_module(void **state)
{
	static const char crash[] = "0x12345678\tinit_module\t\000\000vm\000\000\000\000\000\000linux"
				    "\tEXPORT_SYMBOL\t\n0x00000000\thelper\tdrive2s/xtset-/ed\tEXPORT_"
				    "SYMBOL_GPL\tTT_NS\n5x00000001\ten\tdrivers/x/tSYMBOL\n";
	static const char empty[] = "0x1\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n0x2\tbar\t\tEXPORT_SYMBOL\n";
	static const char dir[] = "0x1\tfoo\tdrivers/x/\tEXPORT_SYMBOL\t\n";
	static const char last[] = "0x1\tfoo\tvmlinux\n0x2\tbar\t"; /* the field ends the file */
	struct lp_exports *ex = NULL;

	tt_log_set(NULL, NULL, TT_LOG_ERR);
	assert_int_equal(exports_from(crash, sizeof(crash) - 1, &ex), -EBADMSG);
	assert_int_equal(exports_from(empty, sizeof(empty) - 1, &ex), -EBADMSG);
	assert_int_equal(exports_from(dir, sizeof(dir) - 1, &ex), -EBADMSG);
	assert_int_equal(exports_from(last, sizeof(last) - 1, &ex), -EBADMSG);
	assert_null(ex);
	tt_log_set(NULL, NULL, TT_LOG_WARN);
	/* a module name with a path and no export type is still one */
	assert_int_equal(exports_from("0x1\tfoo\tfs/ext4/ext4\n", 21, &ex), 0);
	lp_exports_free(ex);
}

/*
 * The livepatch module as the kernel reads it (libelf: lp_elf keeps one relocation section
 * per section, a .ko has .rela.X and .klp.rela.OBJ.X): symbols and section flags by name.
 */
struct ko_view {
	char **names;
	unsigned *shndx;
	size_t n;
	char **secs;
	uint64_t *flags;
	char **rela_syms; /* per section: the symbols its relocations use, "a b c " */
	size_t nsecs;
};

static void ko_view_read(const char *path, struct ko_view *v)
{
	int fd = open(path, O_RDONLY);
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx, symtab_link = 0;
	Elf_Data *symd = NULL;

	assert_true(fd >= 0);
	assert_true(elf_version(EV_CURRENT) != EV_NONE);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_int_equal(elf_getshdrstrndx(elf, &shstrndx), 0);
	memset(v, 0, sizeof(*v));
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		assert_non_null(gelf_getshdr(scn, &sh));
		if (sh.sh_type == SHT_SYMTAB) {
			symd = elf_getdata(scn, NULL);
			symtab_link = sh.sh_link;
		}
	}
	assert_non_null(symd);
	v->n = symd->d_size / sizeof(Elf64_Sym);
	v->names = calloc(v->n, sizeof(*v->names));
	v->shndx = calloc(v->n, sizeof(*v->shndx));
	for (size_t i = 0; i < v->n; i++) {
		GElf_Sym sym;

		assert_non_null(gelf_getsym(symd, (int)i, &sym));
		v->names[i] = strdup(strempty(elf_strptr(elf, symtab_link, sym.st_name)));
		v->shndx[i] = sym.st_shndx;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		struct strbuf sb = STRBUF_INIT;

		assert_non_null(gelf_getshdr(scn, &sh));
		v->secs = reallocarray(v->secs, v->nsecs + 1, sizeof(*v->secs));
		v->flags = reallocarray(v->flags, v->nsecs + 1, sizeof(*v->flags));
		v->rela_syms = reallocarray(v->rela_syms, v->nsecs + 1, sizeof(*v->rela_syms));
		v->secs[v->nsecs] = strdup(elf_strptr(elf, shstrndx, sh.sh_name));
		v->flags[v->nsecs] = sh.sh_flags;
		if (sh.sh_type == SHT_RELA) {
			Elf_Data *d = elf_getdata(scn, NULL);

			for (size_t k = 0; d && k < d->d_size / sizeof(Elf64_Rela); k++) {
				GElf_Rela ra;

				assert_non_null(gelf_getrela(d, (int)k, &ra));
				strbuf_addf(&sb, "%s ", v->names[GELF_R_SYM(ra.r_info)]);
			}
		}
		v->rela_syms[v->nsecs++] = sb.buf ? strbuf_detach(&sb) : strdup("");
	}
	elf_end(elf);
	close(fd);
}

static void ko_view_release(struct ko_view *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->names[i]);
	for (size_t i = 0; i < v->nsecs; i++) {
		free(v->secs[i]);
		free(v->rela_syms[i]);
	}
	free(v->names);
	free(v->shndx);
	free(v->secs);
	free(v->flags);
	free(v->rela_syms);
}

/* The section index of symbol NAME, or -1 when there is none. */
static long ko_sym(const struct ko_view *v, const char *name)
{
	for (size_t i = 1; i < v->n; i++)
		if (streq(v->names[i], name))
			return v->shndx[i];
	return -1;
}

static long ko_sec(const struct ko_view *v, const char *name)
{
	for (size_t i = 0; i < v->nsecs; i++)
		if (streq(v->secs[i], name))
			return (long)i;
	return -1;
}

static const char *find_kbuild(void)
{
	static char kb[512];
	glob_t g;

	if (glob("/lib/modules/*/build/Module.symvers", 0, NULL, &g) != 0)
		return NULL;
	snprintf(kb, sizeof(kb), "%.*s", (int)(strlen(g.gl_pathv[0]) - strlen("/Module.symvers")),
		 g.gl_pathv[0]);
	globfree(&g);
	return kb;
}

/* A patch of tgt.c, built into tt_fixmod: every reference into the module is a klp one. */
static void test_module_build(void **state)
{
	_cleanup_free_ char *ko = fixture("tt_fixmod.ko"), *o = fixture("mod-tgt.orig.o"),
			    *p = fixture("mod-tgt.patched.o");
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *drep = NULL;
	_cleanup_(lp_module_report_freep) struct lp_module_report *mrep = NULL;
	_cleanup_(lp_symtab_freep) struct lp_symtab *ms = NULL, *vm = NULL;
	struct ko_view v;
	char dir[] = "/tmp/test-lp-klp-XXXXXX";
	_cleanup_free_ char *diff = NULL, *outko = NULL;
	const char *kbuild = find_kbuild(), *paths[1] = {fixtures}, *objs[1];
	static const char *const klp_syms[] = {
		".klp.sym.tt_fixmod.helper,1",	     ".klp.sym.tt_fixmod.counter,1",
		".klp.sym.tt_fixmod.tail,1",	     ".klp.sym.tt_fixmod.mod_api,0",
		".klp.sym.tt_fixmod.mod_exported,0", ".klp.sym.tt_fixmod.__this_module,0",
	};
	long sec;
	int r;

	if (!kbuild)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_true(asprintf(&diff, "%s/tgt.diff.o", dir) > 0);
	assert_true(asprintf(&outko, "%s/tt_lp_fixmod.ko", dir) > 0);
	assert_int_equal(lp_symtab_load_module(ko, true, &ms), 0);
	assert_int_equal(lp_diff_object(o, p, "tt-fixmod", ms, diff, &drep), LP_DIFF_WRITTEN);
	assert_string_equal(drep->object, "tt_fixmod");
	assert_int_equal(lp_diff_object(o, p, "bad.name", ms, NULL, &drep), -EINVAL);

	assert_int_equal(lp_symtab_parse("ffffffff81000000 T _text\n", 25, &vm), 0);
	objs[0] = diff;
	{
		const struct lp_module_opts opts = {
			.syms = vm,
			.kbuild_dir = kbuild,
			.name = "tt_lp_fixmod",
			.replace = true,
			.module_paths = paths,
			.nmodule_paths = 1,
		};

		r = lp_module_build_opts(objs, 1, &opts, outko, &mrep);
	}
	if (r != LP_MODULE_BUILT && mrep) {
		for (size_t i = 0; i < mrep->nrefusals; i++)
			print_message("refusal: %s\n", mrep->refusals[i]);
		if (mrep->build_log)
			print_message("%s\n", mrep->build_log);
	}
	assert_int_equal(r, LP_MODULE_BUILT);
	assert_int_equal(mrep->nobjects, 1);
	assert_string_equal(mrep->objects[0].name, "tt_fixmod");
	assert_string_equal(mrep->objects[0].ko, ko);
	assert_int_equal(mrep->objects[0].nfuncs, 1); /* tgt_read */
	assert_int_equal(mrep->objects[0].nklp_syms, ARRAY_SIZE(klp_syms));

	ko_view_read(outko, &v);
	for (size_t i = 0; i < ARRAY_SIZE(klp_syms); i++)
		if (ko_sym(&v, klp_syms[i]) != SHN_LIVEPATCH)
			fail_msg("no livepatch symbol '%s' in the module", klp_syms[i]);
	/* a vmlinux export stays for the loader; nothing of the module is left undefined */
	assert_int_equal(ko_sym(&v, "_printk"), SHN_UNDEF);
	assert_int_equal(ko_sym(&v, "mod_api"), -1);
	assert_true(ko_sym(&v, "__this_module") > 0); /* the livepatch's own */
	sec = ko_sec(&v, ".klp.rela.tt_fixmod.text.tgt_read");
	assert_true(sec >= 0);
	assert_int_equal(v.flags[sec] & (SHF_RELA_LIVEPATCH | SHF_ALLOC),
			 SHF_RELA_LIVEPATCH | SHF_ALLOC);
	assert_non_null(strstr(v.rela_syms[sec], ".klp.sym.tt_fixmod.mod_api,0 "));
	for (size_t i = 0; i < v.nsecs; i++) {
		assert_false(startswith(v.secs[i], ".klp.rela.vmlinux."));
		/* ordinary relocation sections use no livepatch symbol */
		if (!startswith(v.secs[i], ".klp.rela."))
			assert_null(strstr(v.rela_syms[i], ".klp.sym."));
	}
	ko_view_release(&v);
	assert_int_equal(rm_rf(dir), 0);
}

/* A new global function of crossa.c called from crossb.c: resolved inside the module. */
/* The size of section INDEX (as ko_view numbers them: ELF index - 1) of PATH. */
static uint64_t sec_size(const char *path, size_t index)
{
	int fd = open(path, O_RDONLY);
	Elf *elf;
	Elf_Scn *scn;
	GElf_Shdr sh;

	assert_true(fd >= 0);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	scn = elf_getscn(elf, index + 1);
	assert_non_null(scn);
	assert_non_null(gelf_getshdr(scn, &sh));
	elf_end(elf);
	close(fd);
	return sh.sh_size;
}

/* Builds a livepatch of tt_fixmod from keys.c's PATCHED_O (see fixtures/module/keys.c). */
static int build_keys(const char *dir, const char *patched_o, struct lp_module_report **mrep,
		      char **ret_ko)
{
	_cleanup_free_ char *ko = fixture("tt_fixmod.ko"), *o = fixture("mod-keys.orig.o"),
			    *p = fixture(patched_o), *diff = NULL;
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *drep = NULL;
	_cleanup_(lp_symtab_freep) struct lp_symtab *ms = NULL, *vm = NULL;
	const char *paths[1] = {fixtures}, *objs[1];

	assert_true(asprintf(&diff, "%s/%s.diff.o", dir, patched_o) > 0);
	assert_true(asprintf(ret_ko, "%s/tt_lp_keys.ko", dir) > 0);
	assert_int_equal(lp_symtab_load_module(ko, true, &ms), 0);
	assert_int_equal(lp_diff_object(o, p, "tt_fixmod", ms, diff, &drep), LP_DIFF_WRITTEN);
	assert_int_equal(lp_symtab_parse("ffffffff81000000 T _text\n", 25, &vm), 0);
	objs[0] = diff;
	const struct lp_module_opts opts = {
		.syms = vm,
		.kbuild_dir = find_kbuild(),
		.name = "tt_lp_keys",
		.replace = true,
		.module_paths = paths,
		.nmodule_paths = 1,
	};
	return lp_module_build_opts(objs, 1, &opts, *ret_ko, mrep);
}

static bool has_msg(char *const *v, size_t n, const char *a, const char *b)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(v[i], a) && strstr(v[i], b))
			return true;
	return false;
}

/*
 * Table entries naming a module's key: a static call site and a tracepoint's jump label are
 * dropped (the call goes through the trampoline; the tracepoint stays off), with warnings;
 * another jump label goes through a thunk reading its key, or is refused when its site is
 * too short for the jump.
 */
static void test_module_keys(void **state)
{
	static const char *const tables[] = {".static_call_sites", "__jump_table"};
	_cleanup_(lp_module_report_freep) struct lp_module_report *mrep = NULL;
	_cleanup_free_ char *outko = NULL;
	char dir[] = "/tmp/test-lp-keys-XXXXXX";
	struct ko_view v;
	int r;

	if (!find_kbuild())
		skip();
	assert_non_null(mkdtemp(dir));
	r = build_keys(dir, "mod-keys.patched.o", &mrep, &outko);
	for (size_t i = 0; r != LP_MODULE_BUILT && i < mrep->nrefusals; i++)
		print_message("refusal: %s\n", mrep->refusals[i]);
	if (r != LP_MODULE_BUILT && mrep->build_log)
		print_message("%s\n", mrep->build_log);
	assert_int_equal(r, LP_MODULE_BUILT);
	assert_true(has_msg(mrep->warnings, mrep->nwarnings, "static call '__SCK__tt_call'",
			    "trampoline"));
	assert_true(
		has_msg(mrep->warnings, mrep->nwarnings, "tracepoint 'tt_event'", "does not fire"));
	ko_view_read(outko, &v);
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
		long sec = ko_sec(&v, tables[i]);

		assert_true(sec < 0 || sec_size(outko, (size_t)sec) == 0);
	}
	assert_true(ko_sec(&v, ".klp.rela.tt_fixmod.static_call_sites") < 0);
	assert_true(ko_sec(&v, ".klp.rela.tt_fixmod.__jump_table") < 0);
	/* the call itself still reaches the module's trampoline */
	assert_int_equal(ko_sym(&v, ".klp.sym.tt_fixmod.__SCT__tt_call,0"), SHN_LIVEPATCH);
	ko_view_release(&v);
	lp_module_report_free(TAKE_PTR(mrep));
	free(TAKE_PTR(outko));

	/* a static branch on a plain key: its site jumps to a thunk that reads the key */
	r = build_keys(dir, "mod-keys.branch.o", &mrep, &outko);
	for (size_t i = 0; r != LP_MODULE_BUILT && i < mrep->nrefusals; i++)
		print_message("refusal: %s\n", mrep->refusals[i]);
	assert_int_equal(r, LP_MODULE_BUILT);
	assert_true(has_msg(mrep->warnings, mrep->nwarnings, "static branch on 'tt_key'", "thunk"));
	ko_view_read(outko, &v);
	{
		long th = ko_sec(&v, ".text.tuxtape_jump_thunks");
		long kr = ko_sec(&v, ".klp.rela.tt_fixmod.text.tuxtape_jump_thunks");
		long jt = ko_sec(&v, "__jump_table");

		assert_true(th >= 0);
		assert_int_equal(sec_size(outko, (size_t)th), 18); /* one thunk */
		assert_true(kr >= 0); /* the key, read through a livepatch relocation */
		assert_non_null(strstr(v.rela_syms[kr], ".klp.sym.tt_fixmod.tt_key,0 "));
		assert_true(jt < 0 || sec_size(outko, (size_t)jt) == 0);
	}
	ko_view_release(&v);
	lp_module_report_free(TAKE_PTR(mrep));
	free(TAKE_PTR(outko));

	/*
	 * A 2-byte site cannot hold the jump to a thunk: refused, naming the site's size.
	 * `livepatch build` compiles both sides with 5-byte sites, so this is the guard for an
	 * object compiled otherwise (given to `livepatch diff` by hand, or built when the
	 * tree's jump_label.h could not be widened).
	 */
	r = build_keys(dir, "mod-keys.short.o", &mrep, &outko);
	assert_int_equal(r, LP_MODULE_UNSAFE);
	assert_true(has_msg(mrep->refusals, mrep->nrefusals, "tt_key", "static_key_enabled"));
	assert_true(has_msg(mrep->refusals, mrep->nrefusals, "'tt_key'", "its site is 2 bytes"));
	assert_false(has_msg(mrep->warnings, mrep->nwarnings, "tt_key", "thunk"));
	assert_int_equal(rm_rf(dir), 0);
}

static void test_cross_build(void **state)
{
	_cleanup_free_ char *ao = fixture("crossa.orig.o"), *ap = fixture("crossa.patched.o"),
			    *bo = fixture("crossb.orig.o"), *bp = fixture("crossb.patched.o");
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *ra = NULL, *rb = NULL;
	_cleanup_(lp_module_report_freep) struct lp_module_report *mrep = NULL;
	_cleanup_(lp_symtab_freep) struct lp_symtab *vm = NULL;
	_cleanup_free_ char *da = NULL, *db = NULL, *outko = NULL;
	static const char syms[] = "ffffffff81000000 T _text\n"
				   "ffffffff81000010 T cross_keep\n"
				   "ffffffff81000020 T cross_use\n"
				   "ffffffff81000030 T exported_helper\n";
	char dir[] = "/tmp/test-lp-klp-XXXXXX";
	const char *kbuild = find_kbuild(), *objs[2];
	struct ko_view v;
	int r;

	if (!kbuild)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_true(asprintf(&da, "%s/crossa.diff.o", dir) > 0);
	assert_true(asprintf(&db, "%s/crossb.diff.o", dir) > 0);
	assert_true(asprintf(&outko, "%s/tt_lp_cross.ko", dir) > 0);
	assert_int_equal(lp_symtab_parse(syms, sizeof(syms) - 1, &vm), 0);
	assert_int_equal(lp_diff(ao, ap, vm, da, &ra), LP_DIFF_WRITTEN);
	assert_int_equal(lp_diff(bo, bp, vm, db, &rb), LP_DIFF_WRITTEN);
	objs[0] = da;
	objs[1] = db;
	r = lp_module_build(objs, 2, vm, kbuild, "tt_lp_cross", true, outko, &mrep);
	if (r != LP_MODULE_BUILT && mrep) {
		for (size_t i = 0; i < mrep->nrefusals; i++)
			print_message("refusal: %s\n", mrep->refusals[i]);
		if (mrep->build_log)
			print_message("%s\n", mrep->build_log);
	}
	assert_int_equal(r, LP_MODULE_BUILT);
	assert_int_equal(mrep->nfuncs, 1); /* cross_use; the helper is new */
	ko_view_read(outko, &v);
	assert_true(ko_sym(&v, "tt_cross_clamp") > 0); /* defined in the module */
	for (size_t i = 0; i < v.n; i++)
		assert_null(strstr(v.names[i], "tt_cross_clamp,"));
	ko_view_release(&v);
	assert_int_equal(rm_rf(dir), 0);
}

int main(void)
{
	fixtures = getenv("LP_FIXTURES");
	if (!fixtures)
		fixtures = "tests/livepatch/fixtures";
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sympos),		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_sympos_sections), cmocka_unit_test(test_module_positions),
		cmocka_unit_test(test_export_owners),	cmocka_unit_test(test_export_no_module),
		cmocka_unit_test(test_module_build),	cmocka_unit_test(test_cross_build),
		cmocka_unit_test(test_module_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
