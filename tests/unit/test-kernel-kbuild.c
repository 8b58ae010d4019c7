/*
 * Unit tests for the compiled-file set: static Kbuild evaluation of a small synthetic tree
 * laid out like a kernel's, and the build-directory reader on a synthetic thin archive.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "kernel/fileset.h"
#include "log.h"
#include "strbuf.h"

static char dir[] = "/tmp/tt-kbuild-XXXXXX";
static char msgs[8192];

static void capture(enum tt_log_level level, const char *msg, void *userdata)
{
	size_t n = strlen(msgs);

	if (level <= TT_LOG_WARN)
		snprintf(msgs + n, sizeof(msgs) - n, "%s\n", msg);
}

static void put(const char *name, const char *text)
{
	char *p = strdup_printf("%s/%s", dir, name), *slash;

	assert_non_null(p);
	slash = strrchr(p, '/');
	*slash = '\0';
	assert_int_equal(mkdir_p(p, 0755), 0);
	*slash = '/';
	assert_int_equal(write_file_atomic(p, text, strlen(text), 0644), 0);
	free(p);
}

static void make_tree(void)
{
	put("tree/Makefile", "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\n"
			     "core-y :=\ndrivers-y :=\n"
			     "include $(srctree)/arch/$(SRCARCH)/Makefile\n"
			     "export ARCH_DRIVERS := $(drivers-y)\n"
			     "all:\n\t$(MAKE) $(build)=.\n");
	put("tree/Kbuild", "obj-y += init/ kernel/ drivers/ arch/$(SRCARCH)/ $(ARCH_DRIVERS)\n"
			   "obj-y += lib/\n");
	put("tree/scripts/Makefile.build", "# not read: its logic is built into tuxtape\n");
	put("tree/scripts/Kbuild.include", "cc-option = $(shell $(CC) $(1) -c -x c /dev/null)\n");
	put("tree/arch/x86/Makefile", "ifeq ($(CONFIG_X86_32),y)\nBITS := 32\nelse\nBITS := 64\n"
				      "endif\nexport BITS\n"
				      "drivers-$(CONFIG_PCI) += arch/x86/pci/\n");
	put("tree/arch/x86/Kbuild", "obj-y += kernel/\n");
	put("tree/arch/x86/kernel/Makefile", "obj-y += head_$(BITS).o setup.o\n"
					     "obj-$(CONFIG_FOO) += foo.o\n");
	put("tree/arch/x86/kernel/head_64.S", "");
	put("tree/arch/x86/kernel/setup.c", "");
	put("tree/arch/x86/kernel/foo.c", "");
	put("tree/arch/x86/pci/Makefile", "obj-y += pci.o\n");
	put("tree/arch/x86/pci/pci.c", "");
	put("tree/init/Makefile", "obj-y := main.o\n");
	put("tree/init/main.c", "");
	put("tree/kernel/Makefile", "obj-y += sched/\nobj-$(CONFIG_MODS) += mods/\n"
				    "obj-$(CONFIG_BPF) += relo_core.o\n"
				    "$(obj)/relo_core.o: $(srctree)/tools/lib/relo_core.c FORCE\n"
				    "\t$(call if_changed_rule,cc_o_c)\n");
	put("tree/tools/lib/relo_core.c", "");
	put("tree/kernel/sched/Makefile", "obj-y += core.o\nifdef CONFIG_SMP\nobj-y += smp.o\n"
					  "else\nobj-y += up.o\nendif\n");
	put("tree/kernel/sched/core.c", "");
	put("tree/kernel/sched/smp.c", "");
	put("tree/kernel/sched/up.c", "");
	put("tree/kernel/mods/Makefile", "obj-m += never.o\n");
	put("tree/kernel/mods/never.c", "");
	put("tree/lib/Makefile", "lib-y += string.o\nobj-y += string.o sort.o\nlib-y += ctype.o\n"
				 "lib-$(CONFIG_M) += libm.o\n");
	put("tree/lib/string.c", "");
	put("tree/lib/sort.c", "");
	put("tree/lib/ctype.c", "");
	put("tree/lib/libm.c", "");
	put("tree/drivers/Makefile", "obj-$(CONFIG_NETDRV) += net/\nobj-$(CONFIG_WEIRD) += weird/\n"
				     "obj-y += both/\n");
	put("tree/drivers/net/Makefile",
	    "obj-$(CONFIG_NETDRV) += netdrv.o\n"
	    "netdrv-y := main.o\n"
	    "netdrv-$(CONFIG_NETDRV_EXTRA) += extra.o\n"
	    "netdrv-$(CONFIG_NETDRV_NOPE) += nope.o\n"
	    "obj-$(CONFIG_GEN) += tbl.o\n"
	    "$(obj)/tbl.c: $(src)/gen.sh\n\t$(call cmd,gen)\n"
	    "obj-$(CONFIG_NETDRV) += $(patsubst %,%.o,$(subst $(quote),,$(CONFIG_FW_NAME)))\n");
	put("tree/drivers/net/main.c", "");
	put("tree/drivers/net/extra.c", "");
	put("tree/drivers/net/nope.c", "");
	put("tree/drivers/net/fw1.c", "");
	put("tree/drivers/weird/Makefile", "obj-y += $(shell ls *.c | sed s/c$$/o/)\n");
	put("tree/drivers/weird/a.c", "");
	put("tree/drivers/weird/b.S", "");
	put("tree/drivers/weird/notes.txt", "");
	put("tree/drivers/both/Makefile", "obj-m += dual.o\nobj-y += dual.o\n");
	put("tree/drivers/both/dual.c", "");
	put("config",
	    "CONFIG_PCI=y\nCONFIG_SMP=y\nCONFIG_NETDRV=m\nCONFIG_NETDRV_EXTRA=y\n"
	    "CONFIG_WEIRD=y\nCONFIG_GEN=m\nCONFIG_BPF=y\nCONFIG_M=y\n"
	    "CONFIG_FW_NAME=\"fw1\"\n# CONFIG_MODS is not set\n# CONFIG_FOO is not set\n");
}

static char *path(const char *rel)
{
	char *p = strdup_printf("%s/%s", dir, rel);

	assert_non_null(p);
	return p;
}

static void expect_file(struct kernel_fileset *fs, const char *p, const char *kind, bool gen)
{
	const struct kernel_file *f = kernel_fileset_find(fs, p);

	if (!f)
		fail_msg("'%s' missing from the set", p);
	assert_string_equal(kernel_file_kind_str(f->kind), kind);
	assert_int_equal(f->generated, gen);
}

static void test_static(void **state)
{
	char *tree = path("tree"), *cfg = path("config");
	struct kernel_fileset *fs = NULL;
	static const char *const want[] = {
		"arch/x86/kernel/head_64.S",
		"arch/x86/kernel/setup.c",
		"arch/x86/pci/pci.c",
		"drivers/both/dual.c",
		"drivers/net/extra.c",
		"drivers/net/fw1.c",
		"drivers/net/main.c",
		"drivers/net/tbl.c",
		"drivers/weird/a.c",
		"drivers/weird/b.S",
		"init/main.c",
		"kernel/sched/core.c",
		"kernel/sched/smp.c",
		"lib/ctype.c",
		"lib/libm.c",
		"lib/sort.c",
		"lib/string.c",
		"tools/lib/relo_core.c",
	};

	msgs[0] = '\0';
	assert_int_equal(kernel_files_static(tree, cfg, NULL, &fs), 0);
	for (size_t i = 0; i < kernel_fileset_size(fs); i++)
		print_message("  %s %s\n", kernel_fileset_get(fs, i)->path,
			      kernel_fileset_get(fs, i)->how);
	assert_int_equal(kernel_fileset_size(fs), sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(kernel_fileset_get(fs, i)->path, want[i]);
	expect_file(fs, "drivers/net/main.c", "module", false);
	expect_file(fs, "drivers/net/extra.c", "module", false);
	expect_file(fs, "drivers/net/tbl.c", "module", true);
	expect_file(fs, "drivers/both/dual.c", "builtin", false);
	expect_file(fs, "lib/ctype.c", "builtin", false);
	expect_file(fs, "drivers/weird/a.c", "builtin", false);
	assert_non_null(strstr(kernel_fileset_find(fs, "drivers/weird/b.S")->how, "conservative"));
	assert_string_equal(kernel_fileset_find(fs, "drivers/net/extra.c")->how,
			    "obj-m in drivers/net/Makefile:1 (CONFIG_NETDRV=m); part of netdrv.o "
			    "at line 3 (CONFIG_NETDRV_EXTRA=y)");
	assert_string_equal(kernel_fileset_find(fs, "kernel/sched/smp.c")->how,
			    "obj-y in kernel/sched/Makefile:3");
	/* the $(shell) is reported with its place */
	assert_non_null(strstr(msgs, "drivers/weird/Makefile:1"));
	assert_int_equal(kernel_fileset_stats(fs)->conservative, 1);
	assert_int_equal(kernel_fileset_stats(fs)->warnings, 1);

	json_t *j = kernel_fileset_to_json(fs);

	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "files")), kernel_fileset_size(fs));
	json_decref(j);
	kernel_fileset_free(fs);
	free(tree);
	free(cfg);
}

/* Before 6.1 there was no obj-y in the top-level Kbuild: core-y & co. named the directories. */
static void test_static_old_layout(void **state)
{
	char *tree = path("old"), *cfg = path("config");
	struct kernel_fileset *fs = NULL;

	put("old/Makefile", "VERSION = 5\nPATCHLEVEL = 10\ncore-y := init/\ndrivers-y := drivers/\n"
			    "libs-y := lib/\ninclude $(srctree)/arch/$(SRCARCH)/Makefile\n"
			    "core-y += kernel/\nvmlinux-dirs := $(patsubst %/,%,$(core-y))\n");
	put("old/Kbuild", "bounds-file := include/generated/bounds.h\n");
	put("old/scripts/Makefile.build", "");
	put("old/arch/x86/Makefile", "core-y += arch/x86/\n");
	put("old/arch/x86/Kbuild", "obj-y += a.o\n");
	put("old/arch/x86/a.c", "");
	put("old/init/Makefile", "obj-y := main.o\n");
	put("old/init/main.c", "");
	put("old/kernel/Makefile", "obj-y := fork.o\ninclude ../../../etc/passwd\n");
	put("old/kernel/fork.c", "");
	put("old/drivers/Makefile", "obj-$(CONFIG_NETDRV) += d.o\nobj-y += ../../outside/\n");
	put("outside/Makefile", "obj-y += secret.o\n");
	put("outside/secret.c", "");
	put("old/drivers/d.c", "");
	put("old/lib/Makefile", "lib-y := l.o\n");
	put("old/lib/l.c", "");
	msgs[0] = '\0';
	assert_int_equal(kernel_files_static(tree, cfg, NULL, &fs), 0);
	assert_int_equal(kernel_fileset_size(fs), 5);
	assert_non_null(strstr(msgs, "'../outside' is outside the source tree"));
	/* an include reaching outside the tree is not read: the directory counts wholesale */
	assert_non_null(strstr(msgs, "kernel/Makefile:2: missing include not evaluated"));
	expect_file(fs, "arch/x86/a.c", "builtin", false);
	expect_file(fs, "init/main.c", "builtin", false);
	expect_file(fs, "kernel/fork.c", "builtin", false);
	expect_file(fs, "drivers/d.c", "module", false);
	expect_file(fs, "lib/l.c", "builtin", false);
	kernel_fileset_free(fs);
	free(tree);
	free(cfg);
}

static void test_static_errors(void **state)
{
	char *tree = path("tree"), *cfg = path("config"), *notree = path("notree"),
	     *badcfg = path("tree/init/main.c");
	struct kernel_fileset *fs = NULL;

	put("notree/Makefile", "all:\n\techo hello\n");
	msgs[0] = '\0';
	assert_int_equal(kernel_files_static(notree, cfg, NULL, &fs), -EINVAL);
	assert_non_null(strstr(msgs, "is not a kernel source tree"));
	assert_null(fs);
	msgs[0] = '\0';
	assert_int_equal(kernel_files_static(tree, cfg, "sparc", &fs), -EINVAL);
	assert_non_null(strstr(msgs, "arch/sparc"));
	put("tree/init/main.c", "int main(void) { return 0; }\n");
	msgs[0] = '\0';
	assert_int_equal(kernel_files_static(tree, badcfg, NULL, &fs), -EINVAL);
	assert_non_null(strstr(msgs, "main.c' line 1"));
	assert_int_equal(kernel_files_static(tree, "/nonexistent/config", NULL, &fs), -ENOENT);
	assert_null(fs);
	free(tree);
	free(cfg);
	free(notree);
	free(badcfg);
}

/* A thin archive as GNU ar T writes it: member names in the // table, no member data. */
static void put_thin_archive(const char *name, const char *const *members, size_t n)
{
	struct strbuf sb = STRBUF_INIT, names = STRBUF_INIT;
	size_t *offs = calloc(n, sizeof(*offs));

	assert_non_null(offs);
	for (size_t i = 0; i < n; i++) {
		offs[i] = names.len;
		strbuf_addf(&names, "%s/\n", members[i]);
	}
	strbuf_adds(&sb, "!<thin>\n");
	strbuf_addf(&sb, "%-16s%-12s%-6s%-6s%-8s%-10zu`\n", "//", "", "", "", "", names.len);
	strbuf_add(&sb, names.buf, names.len);
	if (names.len & 1)
		strbuf_addch(&sb, '\n');
	for (size_t i = 0; i < n; i++) {
		char nm[17];

		snprintf(nm, sizeof(nm), "/%zu", offs[i]);
		strbuf_addf(&sb, "%-16s%-12s%-6s%-6s%-8s%-10d`\n", nm, "0", "0", "0", "644", 1234);
	}
	put(name, sb.buf);
	strbuf_release(&sb);
	strbuf_release(&names);
	free(offs);
}

static void test_builddir(void **state)
{
	static const char *const members[] = {"init/main.o", "kernel/gen.o", "lib/lib.a"};
	static const char *const libm[] = {"ctype.o"};
	char *bd = path("build"), *src = path("src");
	struct kernel_fileset *fs = NULL;

	put("src/init/main.c", "");
	put("src/lib/ctype.c", "");
	put("src/drivers/net/main.c", "");
	put("src/drivers/net/extra.c", "");
	put_thin_archive("build/vmlinux.a", members, 3);
	put_thin_archive("build/lib/lib.a", libm, 1);
	put("build/init/.main.o.cmd",
	    "cmd_init/main.o := gcc -c -o init/main.o ../src/init/main.c\n"
	    "source_init/main.o := ../src/init/main.c\n"
	    "deps_init/main.o := \\\n  include/x.h\n");
	put("build/kernel/.gen.o.cmd",
	    "cmd_kernel/gen.o := gcc\nsource_kernel/gen.o := kernel/gen.c\n");
	put("build/kernel/.gen.c.cmd", "cmd_kernel/gen.c := sh gen.sh\n");
	put("build/lib/.ctype.o.cmd", "savedcmd_lib/ctype.o := gcc\n"
				      "source_lib/ctype.o := /nowhere/../"
				      "PLACEHOLDER\n");
	{
		/* an absolute source path inside the tree */
		char *cmd = strdup_printf(
			"cmd_lib/ctype.o := gcc\nsource_lib/ctype.o := %s/src/lib/ctype.c\n", dir);

		put("build/lib/.ctype.o.cmd", cmd);
		free(cmd);
	}
	put("build/modules.order", "drivers/net/netdrv.ko\n");
	put("build/drivers/net/netdrv.mod", "drivers/net/main.o\ndrivers/net/extra.o\n");
	put("build/drivers/net/.main.o.cmd",
	    "source_drivers/net/main.o := ../src/drivers/net/main.c\n");
	put("build/drivers/net/.extra.o.cmd",
	    "source_drivers/net/extra.o := ../src/drivers/net/extra.c\n");

	assert_int_equal(kernel_files_from_builddir(bd, src, &fs), 0);
	for (size_t i = 0; i < kernel_fileset_size(fs); i++)
		print_message("  %s %s\n", kernel_fileset_get(fs, i)->path,
			      kernel_fileset_get(fs, i)->how);
	assert_int_equal(kernel_fileset_size(fs), 5);
	expect_file(fs, "init/main.c", "builtin", false);
	expect_file(fs, "kernel/gen.c", "builtin", true);
	expect_file(fs, "lib/ctype.c", "builtin", false);
	expect_file(fs, "drivers/net/main.c", "module", false);
	expect_file(fs, "drivers/net/extra.c", "module", false);
	kernel_fileset_free(fs);

	msgs[0] = '\0';
	assert_int_equal(kernel_files_from_builddir(src, NULL, &fs), -EINVAL);
	assert_non_null(strstr(msgs, "not a kernel build directory"));
	free(bd);
	free(src);
}

/* DWARF fixtures are compiled here from sources the test writes: a "vmlinux" and a module. */
static void test_debuginfo(void **state)
{
	char *src = path("dw"), *dbg = path("dw/debug"), *cmd;
	struct kernel_fileset *fs = NULL;
	int rc;

	put("dw/init/main.c", "int main(void) { return 0; }\n");
	put("dw/drivers/net/netdrv.c", "int netdrv_init(void) { return 1; }\n");
	put("dw/drivers/net/netdrv.mod.c", "int modinfo;\n");
	put("dw/debug/lib/modules/6.1.0-1-amd64/kernel/drivers/net/.keep", "");
	put("dw/debug/boot/.keep", "");
	cmd = strdup_printf(
		"cd %s && cc -g -O0 -nostdlib -Wl,-e,main -o debug/boot/vmlinux-6.1.0-1-amd64 "
		"init/main.c && cc -g -O0 -c drivers/net/netdrv.c -o netdrv.o && "
		"cc -g -O0 -c drivers/net/netdrv.mod.c -o netdrv.mod.o && "
		"ld -r -o debug/lib/modules/6.1.0-1-amd64/kernel/drivers/net/netdrv.ko "
		"netdrv.o netdrv.mod.o && ln -s ../../../boot/vmlinux-6.1.0-1-amd64 "
		"debug/lib/modules/6.1.0-1-amd64/vmlinux",
		src);
	assert_non_null(cmd);
	rc = system(cmd);
	free(cmd);
	if (rc != 0) {
		print_message("no C compiler to build DWARF fixtures: skipped\n");
		free(src);
		free(dbg);
		skip();
	}
	assert_int_equal(kernel_files_from_debuginfo(dbg, src, &fs), 0);
	for (size_t i = 0; i < kernel_fileset_size(fs); i++)
		print_message("  %s %s\n", kernel_fileset_get(fs, i)->path,
			      kernel_fileset_get(fs, i)->how);
	/* the .mod.c glue is not a tree source; the vmlinux link is read once */
	assert_int_equal(kernel_fileset_size(fs), 2);
	expect_file(fs, "drivers/net/netdrv.c", "module", false);
	expect_file(fs, "init/main.c", "builtin", false);
	kernel_fileset_free(fs);
	msgs[0] = '\0';
	assert_int_equal(kernel_files_from_debuginfo(src, NULL, &fs) < 0, 0);
	kernel_fileset_free(fs);
	fs = NULL;
	put("dw/empty/.keep", "");
	{
		char *empty = path("dw/empty");

		assert_int_equal(kernel_files_from_debuginfo(empty, NULL, &fs), -ENOENT);
		assert_non_null(strstr(msgs, "no vmlinux or *.ko"));
		free(empty);
	}
	free(src);
	free(dbg);
}

static void test_compare(void **state)
{
	struct kernel_fileset *a = NULL, *b = NULL;
	struct kernel_fileset_diff d;
	static const char *const c_only[] = {".c", NULL};

	assert_int_equal(kernel_fileset_new("a", &a), 0);
	assert_int_equal(kernel_fileset_new("b", &b), 0);
	kernel_fileset_add(a, "x.c", KERNEL_FILE_BUILTIN, false, "1");
	kernel_fileset_add(a, "y.c", KERNEL_FILE_MODULE, false, "2");
	kernel_fileset_add(a, "y.c", KERNEL_FILE_BUILTIN, false, "3");
	kernel_fileset_add(a, "z.S", KERNEL_FILE_BUILTIN, false, "4");
	kernel_fileset_add(b, "x.c", KERNEL_FILE_BUILTIN, false, "");
	kernel_fileset_add(b, "w.c", KERNEL_FILE_BUILTIN, false, "");
	kernel_fileset_finish(a);
	kernel_fileset_finish(b);
	assert_int_equal(kernel_fileset_size(a), 3);
	assert_string_equal(kernel_file_kind_str(kernel_fileset_find(a, "y.c")->kind),
			    "builtin+module");
	assert_string_equal(kernel_fileset_find(a, "y.c")->how, "3");
	kernel_fileset_compare(a, b, c_only, &d);
	assert_int_equal(d.got, 2);
	assert_int_equal(d.want, 2);
	assert_int_equal(d.common, 1);
	assert_true(d.precision > 0.49 && d.precision < 0.51);
	kernel_fileset_compare(a, b, NULL, &d);
	assert_int_equal(d.got, 3);
	kernel_fileset_free(a);
	kernel_fileset_free(b);
}

static int setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	tt_log_set(capture, NULL, TT_LOG_DEBUG);
	make_tree();
	return 0;
}

static int teardown(void **state)
{
	return rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static),	      cmocka_unit_test(test_static_old_layout),
		cmocka_unit_test(test_static_errors), cmocka_unit_test(test_builddir),
		cmocka_unit_test(test_debuginfo),     cmocka_unit_test(test_compare),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
