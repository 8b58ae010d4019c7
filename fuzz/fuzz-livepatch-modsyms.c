/*
 * libFuzzer target for a target module's symbol table (lp_symtab_parse_module()): the
 * input is a .ko; whatever the reader accepts is then asked for positions, so the two
 * kallsyms views and the name index see hostile bytes too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "livepatch/klp.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"init_module", "cleanup_module", "__this_module",
					    "enabled",	   "helper",	     ""};
	static bool quiet;
	struct lp_symtab *st = NULL;
	long pos;

	if (!quiet) {
		tt_log_set(NULL, NULL, TT_LOG_ERR); /* NULL drops them: still formatted */
		quiet = true;
	}
	if (size > (4u << 20))
		return 0;
	for (int all = 0; all < 2; all++) {
		if (lp_symtab_parse_module(data, size, "fuzz", all, &st) < 0)
			continue;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			(void)lp_symtab_sympos(st, names[i], i % 2, "fuzz.c", names, 5, &pos);
			(void)lp_symtab_sympos_global(st, names[i], &pos);
			(void)lp_symtab_count(st, names[i]);
		}
		lp_symtab_free(st);
		st = NULL;
	}
	return 0;
}
