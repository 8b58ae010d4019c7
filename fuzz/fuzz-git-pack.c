/*
 * The direct pack reader on arbitrary pack contents: the input becomes the body of a pack
 * (after a valid 12-byte header) whose version-2 index lists one object at offset 12. Entry
 * headers, OFS/REF delta chains pointing anywhere, deflate streams and delta programs all
 * come from the fuzzer. tt_pack_read() must answer 1 or 0 (never crash, never read outside
 * the mapping), and read the same bytes again from its base cache.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "git/pack.h"
#include "macro.h"
#include "strbuf.h"

static char *objects, *idx_path, *pack_path;

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int setup(void)
{
	static char dir[] = "/tmp/tt-fuzz-pack-XXXXXX";
	_cleanup_free_ char *packdir = NULL;

	if (!mkdtemp(dir))
		return -errno;
	objects = strdup_printf("%s/objects", dir);
	packdir = strdup_printf("%s/objects/pack", dir);
	idx_path = strdup_printf("%s/pack-fuzz.idx", packdir);
	pack_path = strdup_printf("%s/pack-fuzz.pack", packdir);
	if (!objects || !packdir || !idx_path || !pack_path)
		return -ENOMEM;
	return mkdir_p(packdir, 0755);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	/* header, fanout, one name, one CRC, one offset, two checksums */
	uint8_t idx[8 + 1024 + 20 + 4 + 4 + 40] = { 0xff, 't', 'O', 'c', 0, 0, 0, 2 };
	unsigned char oid[TT_PACK_OID_LEN];
	_cleanup_free_ uint8_t *pack = malloc(12 + size + 20);
	struct tt_packs *packs = NULL;
	struct tt_pack_cursor *c = NULL;
	enum tt_pack_type type;
	const char *out;
	size_t len, len2;
	_cleanup_free_ char *copy = NULL;
	int r;

	if (!ready) {
		if (setup() < 0)
			abort();
		ready = true;
	}
	if (!pack)
		return 0;
	memset(oid, 0xab, sizeof(oid));
	for (int b = 0; b < 256; b++)
		put32(idx + 8 + 4 * b, b >= 0xab ? 1 : 0);
	memcpy(idx + 8 + 1024, oid, sizeof(oid));
	put32(idx + 8 + 1024 + 20 + 4, 12);
	memcpy(pack, "PACK", 4);
	put32(pack + 4, 2);
	put32(pack + 8, 1);
	memcpy(pack + 12, data, size);
	memset(pack + 12 + size, 0, 20);
	if (write_file_atomic(idx_path, idx, sizeof(idx), 0644) < 0 ||
	    write_file_atomic(pack_path, pack, 12 + size + 20, 0644) < 0)
		abort();

	if (tt_packs_open(objects, &packs) < 0 || tt_pack_cursor_new(&c) < 0)
		abort();
	r = tt_pack_read(packs, c, oid, &type, &out, &len);
	if (r != 0 && r != 1)
		abort();
	if (r == 1) {
		if (type < TT_PACK_COMMIT || type > TT_PACK_TAG)
			abort();
		copy = malloc(len ? len : 1);
		if (!copy)
			abort();
		memcpy(copy, out, len);
		/* A second read (bases now cached) gives the same bytes. */
		if (tt_pack_read(packs, c, oid, &type, &out, &len2) != 1 || len2 != len ||
		    memcmp(copy, out, len) != 0)
			abort();
	}
	tt_pack_cursor_free(c);
	tt_packs_free(packs);
	return 0;
}
