/* libFuzzer target for TUF: canonical JSON and the metadata parser, on untrusted bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "tuf/canonical.h"
#include "tuf/metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Canonical output parses back to a value whose canonical form is the same bytes. */
static void canonical_roundtrip(const uint8_t *data, size_t size)
{
	json_t *v = NULL, *again = NULL;
	char *a = NULL, *b = NULL;
	size_t alen, blen;
	int r;

	r = tuf_json_parse(data, size, 1 << 20, "fuzz", &v);
	if (r < 0) {
		if (r != -EBADMSG && r != -EFBIG)
			abort();
		return;
	}
	if (tuf_canonical_dump(v, 0, &a, &alen) == 0) {
		/* Canonical JSON leaves control characters raw; JSON parsers refuse them. */
		if (tuf_json_parse(a, alen, 0, "fuzz", &again) == 0) {
			if (tuf_canonical_dump(again, 0, &b, &blen) != 0 || blen != alen ||
			    memcmp(a, b, alen) != 0)
				abort();
		}
	}
	free(a);
	free(b);
	json_decref(v);
	json_decref(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tuf_metadata *md = NULL;
	int r;

	if (size < 1)
		return 0;
	if (data[0] >= _TUF_ROLE_TYPE_MAX) {
		canonical_roundtrip(data + 1, size - 1);
		return 0;
	}
	r = tuf_metadata_parse(data + 1, size - 1, 1 << 20, data[0], "fuzz", &md);
	if (r < 0) {
		if (r != -EBADMSG && r != -EFBIG)
			abort();
		return 0;
	}
	/* Whatever parsed is safe to use as the client does. */
	(void)tuf_metadata_verify(md, &md->keys, &md->roles[TUF_ROOT]);
	for (size_t i = 0; i < md->n_delegations; i++)
		(void)tuf_delegation_matches(&md->delegations[i], "a/b.ko");
	for (size_t i = 0; i < md->n_meta; i++)
		(void)tuf_check_length_hashes("x", 1, md->meta[i].length, md->meta[i].hashes);
	if (md->canonical_len == 0)
		abort();
	tuf_metadata_free(md);
	return 0;
}
