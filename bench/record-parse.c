/*
 * Times cve_record_parse_json() over every cve/STATE/YEAR/ID.json of a vulns checkout, read
 * into memory first, and prints MB/s; with --jansson, json_loadb() alone on the same bytes,
 * for reference. Times are CPU seconds, best of 5. Built and run by bench/parse.sh.
 */
#include <glob.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cve/record.h"
#include "fileio.h"

static double now(void)
{
	struct timespec t;

	/* CPU time of this (single-threaded) process: the same as wall time on an idle machine,
	 * and much less disturbed by other load than wall time. */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	bool jansson = argc > 2 && strcmp(argv[2], "--jansson") == 0;
	char pattern[4096];
	size_t total = 0, *lens;
	char **bufs;
	double best = 1e9;
	glob_t g;

	if (argc < 2) {
		fprintf(stderr, "usage: %s VULNS_DIR [--jansson]\n", argv[0]);
		return 2;
	}
	snprintf(pattern, sizeof(pattern), "%s/cve/*/*/*.json", argv[1]);
	if (glob(pattern, 0, NULL, &g) != 0) {
		fprintf(stderr, "no records under %s\n", argv[1]);
		return 1;
	}
	bufs = calloc(g.gl_pathc, sizeof(*bufs));
	lens = calloc(g.gl_pathc, sizeof(*lens));
	for (size_t i = 0; i < g.gl_pathc; i++) {
		if (read_file_capped(g.gl_pathv[i], CVE_RECORD_MAX_FILE, &bufs[i], &lens[i]) < 0) {
			fprintf(stderr, "cannot read %s\n", g.gl_pathv[i]);
			return 1;
		}
		total += lens[i];
	}
	for (int pass = 0; pass < 5; pass++) {
		double t0 = now(), dt;

		for (size_t i = 0; i < g.gl_pathc; i++) {
			struct cve_record rec = { 0 };
			char *err = NULL;

			if (jansson) {
				json_t *j =
					json_loadb(bufs[i], lens[i], JSON_REJECT_DUPLICATES, NULL);

				if (!j)
					return 1;
				json_decref(j);
				continue;
			}
			if (cve_record_parse_json(&rec, g.gl_pathv[i], bufs[i], lens[i], &err) <
			    0) {
				fprintf(stderr, "%s\n", err ? err : g.gl_pathv[i]);
				return 1;
			}
			cve_record_release(&rec);
		}
		dt = now() - t0;
		best = dt < best ? dt : best;
	}
	printf("%-28s %zu files, %.1f MB: %.3f s CPU, %.0f MB/s\n",
	       jansson ? "json_loadb() alone" : "cve_record_parse_json()", g.gl_pathc,
	       (double)total / 1e6, best, (double)total / 1e6 / best);
	return 0;
}
