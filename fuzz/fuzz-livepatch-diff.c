/*
 * libFuzzer target for the ELF differ: the input is one object, diffed against a mutated
 * copy of itself (the last byte picks the mutation), and also parsed alone and written
 * back, so headers, tables, relocations and special sections all see hostile bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "livepatch/diff.h"
#include "livepatch/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lp_diff_report *rep = NULL;
	struct lp_elf *e = NULL;
	uint8_t *copy;
	int r;

	if (size < 2 || size > (1u << 20))
		return 0;
	/* parse and write back: the writer must cope with whatever the reader accepted */
	if (lp_elf_parse(data, size, "fuzz", &e) == 0) {
		char path[] = "/tmp/fuzz-lp-XXXXXX";
		int fd = mkstemp(path);

		if (fd >= 0) {
			close(fd);
			lp_elf_write(e, path);
			unlink(path);
		}
		lp_elf_free(e);
	}
	r = lp_diff_mem(data, size, data, size, NULL, NULL, &rep);
	if (r >= 0)
		lp_diff_report_free(rep);
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	/* flip the byte the last byte designates: orig and patched differ somewhere */
	copy[(size_t)data[size - 1] * 7919 % (size - 1)] ^= 0x41;
	rep = NULL;
	r = lp_diff_mem(data, size, copy, size, NULL, NULL, &rep);
	if (r >= 0)
		lp_diff_report_free(rep);
	free(copy);
	return 0;
}
