/*
 * libFuzzer target for the sections an author's patch declares through <tuxtape/livepatch.h>
 * and kpatch-macros.h: .tuxtape.cb.{pre,post}_{patch,unpatch} (callbacks),
 * .tuxtape.ignore.functions, .tuxtape.ignore.sections and .tuxtape.force (markers), read by
 * the differ; and the "callback" lines of .tuxtape.lp the differ writes for the module
 * builder, read by lp_module_meta_read().
 *
 * Input: a little-endian u32 N, then N bytes of the original object and the rest the
 * patched one (seeds: ORIG.o/PATCHED.o pairs using every marker). An N past the end makes
 * the rest both objects. The patched object's own .tuxtape.lp is read too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

#include "fileio.h"
#include "livepatch/diff.h"
#include "livepatch/klp-internal.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[] = {"pre_patch ", "post_patch ", "pre_unpatch ",
				    "post_unpatch "};

static char out[64];

static void teardown(void)
{
	unlink(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lp_diff_report *rep = NULL;
	const uint8_t *orig, *patched;
	size_t orig_len, patched_len, n;
	uint32_t len;
	int r;

	if (!out[0]) {
		int fd;

		tt_log_set(NULL, NULL, TT_LOG_ERR); /* NULL drops them: still formatted */
		snprintf(out, sizeof(out), "/tmp/fuzz-lp-markers-XXXXXX");
		fd = mkstemp(out);
		if (fd < 0)
			abort();
		close(fd);
		atexit(teardown);
	}
	if (size < 4 || size > (2u << 20))
		return 0;
	memcpy(&len, data, 4);
	data += 4;
	size -= 4;
	if (len <= size) {
		orig = data;
		orig_len = len;
		patched = data + len;
		patched_len = size - len;
	} else {
		orig = patched = data;
		orig_len = patched_len = size;
	}

	r = lp_module_meta_read(patched, patched_len, "fuzz", &n);
	if (r < 0 && r != -EBADMSG && r != -EINVAL && r != -EOPNOTSUPP)
		abort();

	unlink(out);
	r = lp_diff_mem(orig, orig_len, patched, patched_len, NULL, out, &rep);
	if (r < 0) {
		/* refused: nothing written */
		if (access(out, F_OK) == 0)
			abort();
		return 0;
	}
	/* Every callback reported has a known kind and a name. */
	for (size_t i = 0; i < rep->ncallbacks; i++) {
		bool known = false;

		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			known |= strncmp(rep->callbacks[i], kinds[k], strlen(kinds[k])) == 0 &&
				 rep->callbacks[i][strlen(kinds[k])];
		if (!known)
			abort();
	}
	if (r == LP_DIFF_WRITTEN) {
		/* What the differ writes, the module builder reads, callbacks and all. */
		_cleanup_free_ char *buf = NULL;
		size_t blen;

		if (read_file_capped(out, 64u << 20, &buf, &blen) < 0)
			abort();
		if (lp_module_meta_read(buf, blen, out, &n) < 0 || n != rep->ncallbacks)
			abort();
	} else if (access(out, F_OK) == 0) {
		abort(); /* unsafe or no change: nothing written */
	}
	lp_diff_report_free(rep);
	return 0;
}
