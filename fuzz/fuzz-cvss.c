/* libFuzzer target for the CVSS vector parser: arbitrary bytes as a NUL-terminated vector. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "cve/cvss.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cvss_score s;
	const char *err = NULL;
	char *vector;
	int r;

	vector = malloc(size + 1);
	if (!vector)
		return 0;
	memcpy(vector, data, size);
	vector[size] = '\0';

	r = cvss_compute(vector, &s, &err);
	if (r == 0) {
		/* A score is always a tenth in 0..10 and has a rating. */
		if (!(s.base_score >= 0.0 && s.base_score <= 10.0) || !s.severity)
			abort();
		if (s.version != CVSS_V3_0 && s.version != CVSS_V3_1 && s.version != CVSS_V4_0)
			abort();
	} else if (r != -EINVAL || !err || strlen(err) == 0) {
		abort();
	}

	free(vector);
	return 0;
}
