/* libFuzzer target for the enrichment parsers: the first byte picks KEV JSON, EPSS CSV, NVD
 * JSON or gunzip; the rest is the input, not NUL-terminated (the parsers take a length). */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/epss.h"
#include "enrich/kev.h"
#include "enrich/nvd.h"
#include "enrich/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;
	int r;

	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0: {
		struct tt_kev_list l = {};

		r = tt_kev_parse(buf, len, "fuzz", &l);
		if (r == 0)
			for (size_t i = 0; i < l.n; i++)
				if (!tt_cve_id_valid(l.v[i].cve_id, strlen(l.v[i].cve_id)))
					abort();
		if (r < 0 && (r != -EBADMSG && r != -ENOMEM))
			abort();
		tt_kev_list_release(&l);
		break;
	}
	case 1: {
		struct tt_epss_list l = {};

		r = tt_epss_parse(buf, len, "fuzz", &l);
		for (size_t i = 0; r == 0 && i < l.n; i++) {
			const struct tt_epss_entry *e = &l.v[i];

			/* Probabilities within [0, 1], the percentile possibly absent. */
			if (!(e->epss >= 0 && e->epss <= 1) ||
			    !(isnan(e->percentile) || (e->percentile >= 0 && e->percentile <= 1)))
				abort();
			if (!tt_cve_id_valid(e->cve_id, strlen(e->cve_id)))
				abort();
		}
		tt_epss_list_release(&l);
		break;
	}
	case 2: {
		struct tt_nvd_page p = {};

		r = tt_nvd_parse(buf, len, "fuzz", &p);
		for (size_t i = 0; r == 0 && i < p.n; i++) {
			if (p.v[i].n_m > 3 || (p.v[i].bad && p.v[i].n_m))
				abort();
			for (size_t j = 0; j < p.v[i].n_m; j++)
				if (!p.v[i].m[j].vector ||
				    !(p.v[i].m[j].base_score >= 0 && p.v[i].m[j].base_score <= 10))
					abort();
		}
		tt_nvd_page_release(&p);
		break;
	}
	default: {
		char *out = NULL;
		size_t outlen = 0;

		r = tt_gunzip(buf, len, 1 << 20, &out, &outlen);
		if (r == 0 && (outlen > (1 << 20) || out[outlen] != '\0'))
			abort();
		free(out);
		break;
	}
	}
	return 0;
}
