/*
 * libFuzzer target: the static make evaluator on arbitrary makefile text (kernel trees come
 * from outside: a vendor tree's Kbuild files are untrusted input).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kernel/kmake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kmake *km = NULL;
	char *out = NULL;

	if (size > 65536 || kmake_new("/nonexistent-tuxtape-fuzz", &km) < 0)
		return 0;
	kmake_set(km, "CONFIG_A", "y", KMAKE_ORIGIN_FILE, false);
	if (kmake_push_scope(km) == 0 &&
	    kmake_eval_buffer(km, "fuzz.mk", (const char *)data, size) >= 0 &&
	    kmake_expand(km, "$(obj-y) $(obj-m) $(lib-y)", &out, NULL) == 0)
		free(out);
	kmake_free(km);
	return 0;
}
