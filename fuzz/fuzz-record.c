/*
 * libFuzzer target for the parsers of a CVE record's files. The first byte picks the parser
 * (CVE JSON, .dyad, .sha1, .cvss, or the bare JSON scanner checked against jansson); the rest
 * is the file.
 */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cve/record.h"
#include "json/jscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "cve/published/2024/CVE-2024-1000.json"

static void check_error(int r, const char *err)
{
	if (r == -ENOMEM)
		return;
	/* every failure is a message that names the file */
	if (r != -EBADMSG || !err || strncmp(err, NAME, strlen(NAME)) != 0)
		abort();
}

static void check_record(const struct cve_record *rec)
{
	if (!rec->id || !cve_id_valid(rec->id, NULL))
		abort();
	if (rec->affected_json) {
		/* the minified span is still JSON */
		json_t *j = json_loads(rec->affected_json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

		if (!json_is_array(j))
			abort();
		json_decref(j);
	}
	for (size_t i = 0; i < rec->n_ranges; i++) {
		const struct cve_range *rg = &rec->ranges[i];

		if (!rg->version || rg->entry < 0 || (size_t)rg->entry >= rec->n_entries ||
		    rg->product != rec->entries[rg->entry].product)
			abort();
	}
	for (size_t i = 0; i < rec->n_cvss; i++)
		if (!rec->cvss[i].vector ||
		    (rec->cvss[i].has_base_score &&
		     !(rec->cvss[i].base_score >= 0 && rec->cvss[i].base_score <= 10)))
			abort();
}

/* The scanner accepts exactly what jansson accepts, but for its depth cap and jansson's
 * limits: numbers a double or long long cannot hold, \u0000 in keys. */
static void differential(const char *buf, size_t len)
{
	struct jscan s;
	json_error_t jerr;
	json_t *j;
	int r;

	jscan_init(&s, buf, len);
	r = jscan_skip(&s);
	if (r == 0)
		r = jscan_finish(&s);
	j = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (r == 0 && !j && !strstr(jerr.text, "too big") && !strstr(jerr.text, "overflow") &&
	    !strstr(jerr.text, "NUL byte in object key"))
		abort();
	/* jansson takes a NUL byte for the end of input; no raw NUL is valid JSON */
	if (r < 0 && j && s.error != JSCAN_EDEPTH && !memchr(buf, '\0', len))
		abort();
	if (r == 0 && memchr(buf, '\0', len))
		abort();
	if (r < 0 && (s.error == JSCAN_OK || !s.msg[0]))
		abort();
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cve_record rec = { 0 };
	const char *buf = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;
	char *err = NULL;
	int r;

	if (size == 0)
		return 0;
	switch (data[0] % 8) {
	case 0:
	case 1:
	case 2:
		/* as sync calls it, with the id from the file name, or without */
		if (data[0] & 0x80)
			rec.id = strdup("CVE-2024-1000");
		r = cve_record_parse_json(&rec, NAME, buf, len, &err);
		if (r == 0)
			check_record(&rec);
		else
			check_error(r, err);
		break;
	case 3:
		r = cve_record_parse_dyad(&rec, NAME, buf, len, &err);
		if (r < 0)
			check_error(r, err);
		break;
	case 4:
		r = cve_record_parse_commits(&rec.fix_commits, &rec.n_fix_commits, NAME, buf, len,
					     &err);
		if (r < 0)
			check_error(r, err);
		break;
	case 5: {
		/* a .cvss file merged into a record that has a 3.1 vector */
		static const char json[] =
			"{\"cveMetadata\":{\"cveId\":\"CVE-2024-1000\"},\"containers\":{\"cna\":"
			"{\"metrics\":[{\"cvssV3_1\":{\"vectorString\":\"CVSS:3.1/AV:N\"}}]}}}";

		if (cve_record_parse_json(&rec, NAME, json, sizeof(json) - 1, &err) != 0)
			abort();
		r = cve_record_parse_cvss(&rec, NAME, buf, len, &err);
		if (r < 0)
			check_error(r, err);
		break;
	}
	default:
		differential(buf, len);
	}
	free(err);
	cve_record_release(&rec);
	return 0;
}
