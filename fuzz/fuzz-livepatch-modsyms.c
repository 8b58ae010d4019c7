/*
 * libFuzzer target for a target module's symbol table (lp_symtab_parse_module()): an input
 * starting with ELF's magic is a .ko; whatever the reader accepts is then asked for
 * positions, so the two kallsyms views and the name index see hostile bytes too.
 * Any other input is one of the symbol files the module builder reads beside it, picked by
 * its first byte: 0 System.map or /proc/kallsyms text (lp_symtab_parse(), also what
 * POST /v1/builds takes as "symbols"), 1 Module.symvers (lp_exports_load()), 2 modules.dep
 * (lp_module_find() in a directory holding it).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "livepatch/klp.h"
#include "log.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"init_module", "cleanup_module", "__this_module",
				    "enabled",	   "helper",	     ""};
static char dir[64];

static void teardown(void)
{
	rm_rf(dir);
}

static void query(const struct lp_symtab *st)
{
	long pos;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)lp_symtab_sympos(st, names[i], i % 2, "fuzz.c", names, 5, &pos);
		(void)lp_symtab_sympos_global(st, names[i], &pos);
		(void)lp_symtab_count(st, names[i]);
	}
}

static void module(const uint8_t *data, size_t size)
{
	struct lp_symtab *st = NULL;

	for (int all = 0; all < 2; all++) {
		if (lp_symtab_parse_module(data, size, "fuzz", all, &st) < 0)
			continue;
		query(st);
		lp_symtab_free(st);
		st = NULL;
	}
}

static void kallsyms(const char *buf, size_t len)
{
	struct lp_symtab *st = NULL;

	if (lp_symtab_parse(buf, len, &st) < 0)
		return;
	query(st);
	lp_symtab_free(st);
}

static void symvers(const char *buf, size_t len)
{
	_cleanup_free_ char *path = strdup_printf("%s/Module.symvers", dir);
	struct lp_exports *ex = NULL;
	const char *owner;

	if (!path || write_file_atomic(path, buf, len, 0644) < 0)
		abort();
	if (lp_exports_load(path, &ex) < 0)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (lp_exports_owner(ex, names[i], &owner) == 0 && owner && !*owner)
			abort(); /* a module is named */
		(void)lp_exports_has(ex, names[i]);
	}
	lp_exports_free(ex);
}

static void modules_dep(const char *buf, size_t len)
{
	_cleanup_free_ char *path = strdup_printf("%s/modules.dep", dir);
	const char *const paths[] = {dir};
	char *found = NULL;
	int r;

	if (!path || write_file_atomic(path, buf, len, 0644) < 0)
		abort();
	/* The directory holds modules.dep and one module, tt_seed.ko. */
	r = lp_module_find(paths, 1, "tt_seed", &found);
	if (r == 0) {
		if (access(found, R_OK) < 0)
			abort();
		free(found);
	} else if (r != -ENOENT && r != -ENOTUNIQ && r != -ENOMEM) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		_cleanup_free_ char *ko = NULL;

		tt_log_set(NULL, NULL, TT_LOG_ERR); /* NULL drops them: still formatted */
		snprintf(dir, sizeof(dir), "/tmp/fuzz-modsyms-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		atexit(teardown);
		ko = strdup_printf("%s/tt_seed.ko", dir);
		if (!ko || write_file_atomic(ko, "\x7f" "ELF", 4, 0644) < 0)
			abort();
	}
	if (size > (4u << 20))
		return 0;
	if (size >= 4 && memcmp(data, "\x7f" "ELF", 4) == 0) {
		module(data, size);
		return 0;
	}
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		kallsyms((const char *)data + 1, size - 1);
		break;
	case 1:
		symvers((const char *)data + 1, size - 1);
		break;
	default:
		modules_dep((const char *)data + 1, size - 1);
		break;
	}
	return 0;
}
