/* libFuzzer target: kernel .config parsing (untrusted: a fleet host sends its config). */
#include <stddef.h>
#include <stdint.h>

#include "kernel/kconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kconfig *kc = NULL;

	if (kconfig_parse("fuzz", (const char *)data, size, &kc) == 0) {
		for (size_t i = 0; i < kconfig_count(kc); i++) {
			const char *name, *value;

			kconfig_entry(kc, i, &name, &value);
			(void)kconfig_get(kc, name);
		}
		kconfig_free(kc);
	}
	return 0;
}
