/* libFuzzer target for the archive's .modinfo reader: arbitrary bytes as a .ko image. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "archive/modinfo.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ar_modinfo mi = {};
	char *buf, *rel;
	int r;

	tt_log_set(NULL, NULL, TT_LOG_ERR);
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	r = ar_modinfo_parse("fuzz.ko", buf, size, &mi);
	if (r == 0) {
		if (mi.vermagic) {
			rel = ar_vermagic_release(mi.vermagic);
			if (!rel || strlen(rel) > strlen(mi.vermagic))
				abort();
			free(rel);
		}
		ar_modinfo_release(&mi);
	} else if (r != -ENOEXEC && r != -ENODATA && r != -EBADMSG && r != -ENOMEM && r != -EIO) {
		abort();
	}
	free(buf);
	return 0;
}
