/* Unit tests for the parsers of a CVE record's files: real records from the vulns data, every
 * class of bad JSON with the exact error, the .dyad/.sha1/.cvss parsers; and, when
 * $TUXTAPE_VULNS_DIR names a vulns checkout, every record in it checked against jansson. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <glob.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cve/record.h"
#include "fileio.h"
#include "macro.h"
#include "strbuf.h"

static char *fixtures;

/* Fixtures live in tests/fixtures/records, found from this file's path (meson runs tests in
 * the build directory, which __FILE__ is relative to) unless $TT_FIXTURES says otherwise. */
static int setup(void **state)
{
	const char *env = getenv("TT_FIXTURES");

	if (env) {
		fixtures = strdup(env);
	} else {
		_cleanup_free_ char *d = strdup(__FILE__);
		char *slash = strrchr(d, '/');

		if (slash)
			*slash = '\0';
		fixtures = strdup_printf("%s/../fixtures/records", slash ? d : ".");
	}
	return fixtures ? 0 : -1;
}

static int teardown(void **state)
{
	free(fixtures);
	return 0;
}

static char *load(const char *name, size_t *len)
{
	_cleanup_free_ char *p = path_join(fixtures, name);
	char *buf = NULL;

	assert_int_equal(read_file_capped(p, CVE_RECORD_MAX_FILE, &buf, len), 0);
	return buf;
}

static void parse_fixture(struct cve_record *rec, const char *name)
{
	_cleanup_free_ char *buf = NULL, *err = NULL;
	size_t len;
	int r;

	buf = load(name, &len);
	r = cve_record_parse_json(rec, name, buf, len, &err);
	if (r != 0)
		fail_msg("%s: %d %s", name, r, err ? err : "");
}

static void test_published_record(void **state)
{
	struct cve_record rec = {0};
	_cleanup_free_ char *buf = NULL, *err = NULL;
	size_t len;

	rec.id = strdup("CVE-2024-14040");
	parse_fixture(&rec, "CVE-2024-14040.json");
	assert_string_equal(rec.id, "CVE-2024-14040");
	assert_string_equal(rec.title, "net: nexthop: Increase weight to u16");
	assert_string_equal(rec.data_version, "5.1.1");
	assert_null(rec.published);
	assert_true(startswith(rec.description, "In the Linux kernel, the following vulnerability "
						"has been resolved:\n\nnet: nexthop: "));

	assert_int_equal(rec.n_entries, 2);
	assert_string_equal(rec.entries[0].default_status, "unaffected");
	assert_string_equal(rec.entries[1].default_status, "affected");
	assert_string_equal(rec.entries[1].repo,
			    "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git");
	assert_int_equal(rec.n_ranges, 4);
	assert_string_equal(rec.ranges[0].version, "283a72a5599e80750699d2021830a294ed9ab3f3");
	assert_string_equal(rec.ranges[0].less_than, "b72a6a7ab9573e06d5c2fcb92eaa28614a735bfd");
	assert_string_equal(rec.ranges[0].version_type, "git");
	assert_int_equal(rec.ranges[0].entry, 0);
	assert_ptr_equal(rec.ranges[0].default_status, rec.entries[0].default_status);
	assert_int_equal(rec.ranges[3].entry, 1);
	assert_int_equal(rec.ranges[3].seq, 2);
	assert_string_equal(rec.ranges[3].version, "6.12");
	assert_string_equal(rec.ranges[3].less_than_or_equal, "*");
	assert_null(rec.ranges[3].less_than);
	assert_string_equal(rec.ranges[3].version_type, "original_commit_for_fix");
	assert_string_equal(rec.ranges[3].product, "Linux");
	assert_null(rec.ranges[1].version_type);

	/* The same three files in both entries, kept once. */
	assert_int_equal(rec.n_files, 3);
	assert_string_equal(rec.files[0], "include/net/nexthop.h");
	assert_string_equal(rec.files[2], "net/ipv4/nexthop.c");

	assert_int_equal(rec.n_cvss, 1);
	assert_string_equal(rec.cvss[0].version, "3.1");
	assert_string_equal(rec.cvss[0].vector, "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H");
	assert_true(rec.cvss[0].has_base_score);
	assert_true(rec.cvss[0].base_score == 7.8);
	assert_string_equal(rec.cvss[0].severity, "HIGH");
	assert_null(rec.cvss[0].rationale);

	assert_int_equal(rec.n_references, 1);
	assert_string_equal(
		rec.references[0],
		"https://git.kernel.org/stable/c/b72a6a7ab9573e06d5c2fcb92eaa28614a735bfd");

	/* Compact, and the same JSON as the record's affected array. */
	assert_non_null(rec.affected_json);
	assert_null(strchr(rec.affected_json, '\n'));
	assert_true(startswith(rec.affected_json, "[{\"product\":\"Linux\",\"vendor\":\"Linux\","));
	{
		json_t *root, *a, *b;

		buf = load("CVE-2024-14040.json", &len);
		root = json_loadb(buf, len, 0, NULL);
		a = json_object_get(json_object_get(json_object_get(root, "containers"), "cna"),
				    "affected");
		b = json_loads(rec.affected_json, JSON_REJECT_DUPLICATES, NULL);
		assert_non_null(a);
		assert_non_null(b);
		assert_true(json_equal(a, b));
		json_decref(root);
		json_decref(b);
	}

	/* The other files of the record. */
	free(buf);
	buf = load("CVE-2024-14040.dyad", &len);
	assert_int_equal(cve_record_parse_dyad(&rec, "x.dyad", buf, len, &err), 0);
	assert_int_equal(rec.n_dyads, 1);
	assert_string_equal(rec.dyads[0].introduced_version, "5.13");
	assert_string_equal(rec.dyads[0].introduced_commit,
			    "283a72a5599e80750699d2021830a294ed9ab3f3");
	assert_string_equal(rec.dyads[0].fixed_version, "6.12");
	assert_string_equal(rec.dyads[0].fixed_commit, "b72a6a7ab9573e06d5c2fcb92eaa28614a735bfd");
	free(buf);
	buf = load("CVE-2024-14040.sha1", &len);
	assert_int_equal(cve_record_parse_commits(&rec.fix_commits, &rec.n_fix_commits, "x.sha1",
						  buf, len, &err),
			 0);
	assert_int_equal(rec.n_fix_commits, 1);
	assert_string_equal(rec.fix_commits[0], "b72a6a7ab9573e06d5c2fcb92eaa28614a735bfd");
	free(buf);
	buf = load("CVE-2024-14040.vulnerable", &len);
	assert_int_equal(cve_record_parse_commits(&rec.vulnerable_commits,
						  &rec.n_vulnerable_commits, "x.vulnerable", buf,
						  len, &err),
			 0);
	assert_int_equal(rec.n_vulnerable_commits, 1);
	assert_string_equal(rec.vulnerable_commits[0], "283a72a5599e80750699d2021830a294ed9ab3f3");
	free(buf);
	buf = load("CVE-2024-14040.cvss", &len);
	assert_int_equal(cve_record_parse_cvss(&rec, "x.cvss", buf, len, &err), 0);
	assert_int_equal(rec.n_cvss, 1);
	assert_true(startswith(rec.cvss[0].rationale, "AV:L - The vulnerable arithmetic"));
	assert_true(rec.cvss[0].rationale[strlen(rec.cvss[0].rationale) - 1] == '.');
	cve_record_release(&rec);
}

/* A 5.0 record spells the id cveID; no id preset, so the parser takes the record's. */
static void test_rejected_50_record(void **state)
{
	struct cve_record rec = {0};

	parse_fixture(&rec, "CVE-2024-26609.json");
	assert_string_equal(rec.id, "CVE-2024-26609");
	assert_string_equal(rec.data_version, "5.0");
	assert_string_equal(rec.title,
			    "netfilter: nf_tables: reject QUEUE/DROP verdict parameters");
	assert_true(startswith(rec.description, "In the Linux kernel"));
	assert_non_null(strstr(rec.description, "\"queue\" rules in nftables\nwill"));
	assert_int_equal(rec.n_entries, 2);
	assert_int_equal(rec.n_ranges, 18);
	assert_int_equal(rec.n_files, 0);
	assert_int_equal(rec.n_cvss, 0);
	assert_int_equal(rec.n_references, 8);
	cve_record_release(&rec);
}

#define ID "CVE-2024-1000"

/* A small record whose cna object has the members CNA. */
static char *record(const char *cna)
{
	char *s = strdup_printf("{\"dataVersion\": \"5.1\",\n"
				"\"cveMetadata\": {\"cveId\": \"" ID "\"},\n"
				"\"containers\": {\"cna\": {%s}}}\n",
				cna);

	assert_non_null(s);
	return s;
}

static int parse(const char *json, size_t len, struct cve_record *rec, char **err)
{
	rec->id = strdup(ID);
	return cve_record_parse_json(rec, "t.json", json, len, err);
}

static void expect_error_len(const char *json, size_t len, const char *want)
{
	struct cve_record rec = {0};
	_cleanup_free_ char *err = NULL;
	int r = parse(json, len, &rec, &err);

	if (r != -EBADMSG || !err || strcmp(err, want) != 0)
		fail_msg("%s\n  got %d '%s'\n  want '%s'", json, r, err ? err : "(none)", want);
	cve_record_release(&rec);
}

static void expect_error(const char *json, const char *want)
{
	expect_error_len(json, strlen(json), want);
}

static void expect_cna_error(const char *cna, const char *want)
{
	_cleanup_free_ char *json = record(cna);

	expect_error(json, want);
}

static void test_malformed(void **state)
{
	expect_error("", "t.json: invalid JSON at line 1, column 1: unexpected end of input");
	expect_error("{\"cveMetadata\": {\"cveId\": \"" ID "\",}}",
		     "t.json: invalid JSON at line 1, column 43: unexpected '}', expected a key");
	expect_error("{\n  \"a\": [1, 2,]\n}",
		     "t.json: invalid JSON at line 2, column 14: unexpected ']'");
	expect_error("{\"a\" 1}", "t.json: invalid JSON at line 1, column 6: unexpected '1', "
				  "expected ':'");
	expect_error("{\"a\": tru}", "t.json: invalid JSON at line 1, column 7: invalid literal "
				     "(expected 'true')");
	expect_error("{\"a\": 01}", "t.json: invalid JSON at line 1, column 8: unexpected '1', "
				    "expected ',' or '}'");
	expect_error("{\"a\": -}", "t.json: invalid JSON at line 1, column 7: invalid number");
	expect_error("{\"a\": 1.}", "t.json: invalid JSON at line 1, column 7: invalid number");
	expect_error("{\"a\": \"x",
		     "t.json: invalid JSON at line 1, column 9: unterminated string");
	expect_error(
		"{\"a\": \"x\ny\"}",
		"t.json: invalid JSON at line 1, column 9: control character 0x0a in a string");
	expect_error("{\"a\": \"\\x\"}",
		     "t.json: invalid JSON at line 1, column 8: invalid escape '\\x'");
	expect_error("{\"a\": \"\\u12G4\"}",
		     "t.json: invalid JSON at line 1, column 8: invalid \\u escape");
	/* Columns count characters, not bytes. */
	expect_error("{\"é\": 1 2}", "t.json: invalid JSON at line 1, column 9: unexpected '2', "
				     "expected ',' or '}'");
	expect_error("[1, 2]", "t.json: not a CVE record (top level is not an object)");
}

static void test_trailing_garbage(void **state)
{
	_cleanup_free_ char *json = record("\"title\": \"t\""), *more = NULL;

	more = strdup_printf("%s  x", json);
	expect_error(more, "t.json: invalid JSON at line 4, column 3: unexpected 'x', expected the "
			   "end of input");
	free(more);
	more = strdup_printf("%s{}", json);
	expect_error(more, "t.json: invalid JSON at line 4, column 1: unexpected '{', expected the "
			   "end of input");
	/* A NUL after the document is garbage too. */
	expect_error_len("{}\0", 3,
			 "t.json: invalid JSON at line 1, column 3: unexpected byte "
			 "0x00, expected the end of input");
}

static void test_wrong_types(void **state)
{
	expect_error("{\"cveMetadata\": {\"cveId\": 5}}",
		     "t.json: field 'cveMetadata.cveId': expected a string");
	expect_error("{\"cveMetadata\": null}", "t.json: field 'cveMetadata': expected an object");
	expect_error("{\"cveMetadata\": {\"cveId\": \"" ID "\"}, \"containers\": []}",
		     "t.json: field 'containers': expected an object");
	expect_error("{\"dataVersion\": 5.1}", "t.json: field 'dataVersion': expected a string");
	expect_cna_error("\"affected\": [{\"versions\": {}}]",
			 "t.json: field 'containers.cna.affected[0].versions': expected an array");
	expect_cna_error("\"affected\": [{}, \"x\"]",
			 "t.json: field 'containers.cna.affected[1]': expected an object");
	expect_cna_error("\"affected\": [{\"programFiles\": [\"a\", 3]}]",
			 "t.json: field 'containers.cna.affected[0].programFiles[1]': expected a "
			 "string");
	expect_cna_error("\"affected\": [{\"versions\": [{\"version\": \"1\"}, {\"version\": \"2\","
			 " \"lessThan\": true}]}]",
			 "t.json: field 'containers.cna.affected[0].versions[1].lessThan': "
			 "expected a string");
	expect_cna_error("\"metrics\": [{\"cvssV3_1\": {\"vectorString\": \"CVSS:3.1/AV:N\", "
			 "\"baseScore\": \"7.8\"}}]",
			 "t.json: field 'containers.cna.metrics[0].cvssV3_1.baseScore': expected "
			 "a number");
	expect_cna_error("\"metrics\": [{\"cvssV4_0\": []}]",
			 "t.json: field 'containers.cna.metrics[0].cvssV4_0': expected an object");
	expect_cna_error("\"descriptions\": {}",
			 "t.json: field 'containers.cna.descriptions': expected an array");
	expect_cna_error("\"descriptions\": [{\"lang\": [\"en\"], \"value\": \"v\"}]",
			 "t.json: field 'containers.cna.descriptions[0].lang': expected a string");
	expect_cna_error("\"references\": [{\"url\": {}}]",
			 "t.json: field 'containers.cna.references[0].url': expected a string");
	expect_cna_error("\"title\": 1", "t.json: field 'containers.cna.title': expected a string");
}

static void test_missing(void **state)
{
	expect_cna_error("\"affected\": [{\"versions\": [{\"version\": \"1\"}]},"
			 " {\"versions\": [{\"version\": \"1\"}, {\"status\": \"affected\"}]}]",
			 "t.json: field 'containers.cna.affected[1].versions[1].version' is "
			 "missing");
	expect_cna_error("\"metrics\": [{\"cvssV3_1\": {\"baseScore\": 7.8}}]",
			 "t.json: field 'containers.cna.metrics[0].cvssV3_1.vectorString' is "
			 "missing");
	expect_error("{\"containers\": {\"cna\": {}}}", "t.json: field 'cveMetadata' is missing");
	expect_error("{\"cveMetadata\": {\"cveId\": null}}",
		     "t.json: field 'cveMetadata.cveId' is missing");
	expect_error("{\"cveMetadata\": {\"cveId\": \"" ID "\"}}",
		     "t.json: field 'containers' is missing");
	expect_error("{\"cveMetadata\": {\"cveId\": \"" ID "\"}, \"containers\": {\"adp\": []}}",
		     "t.json: field 'containers.cna' is missing");
}

static void test_bad_values(void **state)
{
	expect_error("{\"cveMetadata\": {\"cveId\": \"CVE-2024-9999\"}}",
		     "t.json: field 'cveMetadata.cveId': 'CVE-2024-9999' does not match the file "
		     "name");
	expect_error("{\"cveMetadata\": {\"cveId\": \"CVE-24-1\"}}",
		     "t.json: field 'cveMetadata.cveId': 'CVE-24-1' is not a CVE id");
	expect_cna_error("\"metrics\": [{\"cvssV3_1\": {\"vectorString\": \"CVSS:3.1/AV:N\", "
			 "\"baseScore\": 10.5}}]",
			 "t.json: field 'containers.cna.metrics[0].cvssV3_1.baseScore': 10.5 is "
			 "outside 0-10");
	expect_cna_error("\"metrics\": [{\"cvssV3_1\": {\"vectorString\": \"CVSS:3.1/AV:N\", "
			 "\"baseScore\": 1e999}}]",
			 "t.json: invalid JSON at line 3, column 96: number out of range");
	expect_cna_error("\"title\": \"a\\u0000b\"",
			 "t.json: field 'containers.cna.title': contains \\u0000");
	/* anywhere: affected_json must stay loadable by jansson */
	expect_cna_error("\"affected\": [{\"x\\u0000\": 1}]",
			 "t.json: field 'containers.cna.affected[0]': contains \\u0000");
}

static void test_utf8(void **state)
{
	/* Latin-1 bytes where UTF-8 belongs. */
	expect_cna_error("\"descriptions\": [{\"lang\": \"en\", \"value\": \"caf\xe9\"}]",
			 "t.json: field 'containers.cna.descriptions[0].value': invalid UTF-8");
	/* Overlong '/', an encoded surrogate, beyond U+10FFFF, a cut sequence, a lone
	 * continuation byte. */
	expect_cna_error("\"title\": \"\xc0\xaf\"",
			 "t.json: field 'containers.cna.title': invalid UTF-8");
	expect_cna_error("\"title\": \"\xe0\x80\xaf\"",
			 "t.json: field 'containers.cna.title': invalid UTF-8");
	expect_cna_error("\"title\": \"\xed\xa0\x80\"",
			 "t.json: field 'containers.cna.title': invalid UTF-8");
	expect_cna_error("\"title\": \"\xf4\x90\x80\x80\"",
			 "t.json: field 'containers.cna.title': invalid UTF-8");
	expect_cna_error("\"title\": \"\xe2\x82\"",
			 "t.json: field 'containers.cna.title': invalid UTF-8");
	expect_cna_error("\"title\": \"\x80\"",
			 "t.json: field 'containers.cna.title': invalid UTF-8");
	/* In members we do not use, and in keys, too. */
	expect_cna_error("\"x_generator\": {\"engine\": [\"\xff\"]}",
			 "t.json: field 'containers.cna.x_generator.engine[0]': invalid UTF-8");
	expect_cna_error("\"x_\xff\": 1", "t.json: field 'containers.cna': invalid UTF-8");
	expect_error("{\"\xff\": 1}", "t.json: invalid JSON at line 1, column 3: invalid UTF-8");
	/* Surrogate escapes must pair. */
	expect_cna_error("\"title\": \"\\ud800\"",
			 "t.json: invalid JSON at line 3, column 34: lone surrogate '\\uD800'");
	expect_cna_error("\"title\": \"\\udc00\\ud800\"",
			 "t.json: invalid JSON at line 3, column 34: lone surrogate '\\uDC00'");
	expect_cna_error("\"title\": \"\\ud800\\u0041\"",
			 "t.json: invalid JSON at line 3, column 34: lone surrogate '\\uD800'");
}

static void test_duplicates(void **state)
{
	expect_cna_error("\"title\": \"a\", \"title\": \"b\"",
			 "t.json: field 'containers.cna.title': duplicate key");
	expect_cna_error(
		"\"affected\": [{\"versions\": [{\"version\": \"1\", \"version\": \"2\"}]}]",
		"t.json: field 'containers.cna.affected[0].versions[0].version': "
		"duplicate key");
	/* Spelt with an escape, it is the same key. */
	expect_error("{\"cveMetadata\": {\"cveId\": \"" ID "\", \"cve\\u0049d\": \"" ID "\"}}",
		     "t.json: field 'cveMetadata.cve\\u0049d': duplicate key");
}

static void test_deep_nesting(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_adds(&sb, "{\"x\": ");
	for (int i = 0; i < 70; i++)
		strbuf_addch(&sb, '[');
	for (int i = 0; i < 70; i++)
		strbuf_addch(&sb, ']');
	strbuf_addch(&sb, '}');
	expect_error(sb.buf, "t.json: invalid JSON at line 1, column 70: nested deeper than 64 "
			     "levels");
	strbuf_release(&sb);
}

static void test_semantics(void **state)
{
	struct cve_record rec = {0};
	_cleanup_free_ char *err = NULL;
	/* Keys in any order and escaped; English wins over an earlier description; a metrics
	 * element gives 4.0 before 3.1 whatever its keys' order, and later ones lose. */
	static const char json[] =
		"{\"containers\": {\"adp\": [{\"x\": [1, -2.5e3, true, false, null, {}]}],"
		" \"cna\": {"
		"\"metrics\": [{\"cvssV3_1\": {\"vectorString\": \"CVSS:3.1/A\", \"baseScore\": 7},"
		" \"cvssV4_0\": {\"vectorString\": \"CVSS:4.0/B\", \"baseScore\": null},"
		" \"other\": {}},"
		" {\"cvssV3_1\": {\"vectorString\": \"CVSS:3.1/C\"},"
		"  \"cvssV3_0\": {\"vectorString\": \"CVSS:3.0/D\", \"baseSeverity\": \"LOW\"}}],"
		"\"descriptions\": [{\"lang\": \"de\", \"value\": \"Kernel\"},"
		" {\"value\": \"v\", \"lang\": \"en-US\"}, {\"lang\": \"en\", \"value\": "
		"\"late\"}],"
		"\"rejectedReasons\": [{\"lang\": \"en\", \"value\": \"unused\"}],"
		"\"t\\u0069tle\": \"a\\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00\","
		"\"references\": [{\"name\": \"n\"}, {\"url\": \"u1\"}, {\"url\": null}],"
		"\"affected\": [ {\"versions\": [ ], \"x\" : \"\\\" ]\"}, null ]"
		"}}, \"cveMetadata\": {\"datePublished\": \"2024-01-01T00:00:00\","
		" \"cveID\": \"CVE-2024-0000\", \"cveId\": \"" ID "\"}}";

	/* affected[1] is null, which is not an object */
	assert_int_equal(parse(json, sizeof(json) - 1, &rec, &err), -EBADMSG);
	assert_string_equal(err, "t.json: field 'containers.cna.affected[1]': expected an object");
	cve_record_release(&rec);
	free(err);
	err = NULL;

	{
		_cleanup_free_ char *fixed = strdup(json);
		char *p = strstr(fixed, ", null ]");

		memcpy(p, "       ", 7);
		assert_int_equal(parse(fixed, strlen(fixed), &rec, &err), 0);
	}
	assert_string_equal(rec.id, ID);
	assert_string_equal(rec.published, "2024-01-01T00:00:00");
	assert_null(rec.data_version);
	assert_string_equal(rec.title, "a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80");
	assert_string_equal(rec.description, "v");
	assert_int_equal(rec.n_cvss, 3);
	assert_string_equal(rec.cvss[0].version, "4.0");
	assert_false(rec.cvss[0].has_base_score);
	assert_string_equal(rec.cvss[1].version, "3.1");
	assert_string_equal(rec.cvss[1].vector, "CVSS:3.1/A");
	assert_true(rec.cvss[1].base_score == 7.0);
	assert_string_equal(rec.cvss[2].version, "3.0");
	assert_string_equal(rec.cvss[2].severity, "LOW");
	assert_int_equal(rec.n_references, 1);
	assert_string_equal(rec.references[0], "u1");
	assert_int_equal(rec.n_entries, 1);
	assert_null(rec.entries[0].product);
	/* Whitespace inside strings stays. */
	assert_string_equal(rec.affected_json, "[{\"versions\":[],\"x\":\"\\\" ]\"}]");
	cve_record_release(&rec);

	/* Only a non-English description: that one. None at all: the rejection reason. */
	{
		_cleanup_free_ char *a =
			record("\"descriptions\": [{\"lang\": \"de\", \"value\": "
			       "\"eins\"}, {\"lang\": \"fr\", \"value\": \"deux\"}]");
		_cleanup_free_ char *b =
			record("\"descriptions\": [{\"lang\": \"en\"}], "
			       "\"rejectedReasons\": [{\"lang\": \"en\", \"value\": "
			       "\"dup\"}]");

		assert_int_equal(parse(a, strlen(a), &rec, &err), 0);
		assert_string_equal(rec.description, "eins");
		assert_null(rec.affected_json);
		cve_record_release(&rec);
		assert_int_equal(parse(b, strlen(b), &rec, &err), 0);
		assert_string_equal(rec.description, "dup");
		cve_record_release(&rec);
	}
}

static void expect_dyad_error(const char *text, const char *want)
{
	struct cve_record rec = {0};
	_cleanup_free_ char *err = NULL;
	int r = cve_record_parse_dyad(&rec, "t.dyad", text, strlen(text), &err);

	if (r != -EBADMSG || !err || strcmp(err, want) != 0)
		fail_msg("%s\n  got %d '%s'\n  want '%s'", text, r, err ? err : "(none)", want);
	cve_record_release(&rec);
}

static void test_dyad(void **state)
{
	static const char good[] = "# comment\n\n"
				   "0:0:6.1.76:0123456789ab\r\n"
				   "6.10-rc3:abcdef1:6.11:0\n";
	struct cve_record rec = {0};
	_cleanup_free_ char *err = NULL;

	assert_int_equal(cve_record_parse_dyad(&rec, "t.dyad", good, strlen(good), &err), 0);
	assert_int_equal(rec.n_dyads, 2);
	assert_string_equal(rec.dyads[0].introduced_version, "0");
	assert_string_equal(rec.dyads[0].fixed_commit, "0123456789ab");
	assert_string_equal(rec.dyads[1].introduced_version, "6.10-rc3");
	assert_string_equal(rec.dyads[1].fixed_commit, "0");
	cve_record_release(&rec);

	expect_dyad_error("# c\n5.13:283a72a5599e:6.12\n",
			  "t.dyad:2: expected 'version:commit:version:commit', got 3 fields");
	expect_dyad_error("5.13\n", "t.dyad:1: expected 'version:commit:version:commit', got 1 "
				    "field");
	expect_dyad_error("5.13:a:b:c:d\n",
			  "t.dyad:1: expected 'version:commit:version:commit', got 4 fields");
	expect_dyad_error("5.13:xyz:6.12:0\n", "t.dyad:1: field 2: 'xyz' is not a commit id");
	expect_dyad_error("v5.13:0:6.12:0\n", "t.dyad:1: field 1: 'v5.13' is not a kernel version");
	{
		static const char bin[] = "5.13:0\0:6.12:0\n";
		char *e = NULL;

		assert_int_equal(cve_record_parse_dyad(&rec, "t.dyad", bin, sizeof(bin) - 1, &e),
				 -EBADMSG);
		assert_string_equal(e, "t.dyad: binary data in a text file");
		free(e);
	}
}

static void test_commits(void **state)
{
	static const char good[] = "  0123456789abcdef0123456789abcdef01234567 \n# x\n\nabcdef1\n";
	char **list = NULL;
	size_t n = 0;
	_cleanup_free_ char *err = NULL;

	assert_int_equal(cve_record_parse_commits(&list, &n, "t.sha1", good, strlen(good), &err),
			 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0], "0123456789abcdef0123456789abcdef01234567");
	assert_string_equal(list[1], "abcdef1");
	assert_int_equal(cve_record_parse_commits(&list, &n, "t.sha1", "abc\n", 4, &err), -EBADMSG);
	assert_string_equal(err, "t.sha1:1: 'abc' is not a commit id");
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void test_cvss(void **state)
{
	static const char text[] = "org CVSS:3.1/AV:N/AC:L\n"
				   "org CVSS:4.0/AV:N/AT:N\n"
				   "\n"
				   "Why:\n  because.\n\n";
	struct cve_record rec = {0};
	_cleanup_free_ char *json = record("\"metrics\": [{\"cvssV3_1\": {\"vectorString\": "
					   "\"CVSS:3.1/AV:N/AC:L\", \"baseScore\": 9.8}}]");
	char *err = NULL;

	assert_int_equal(parse(json, strlen(json), &rec, &err), 0);
	assert_int_equal(cve_record_parse_cvss(&rec, "t.cvss", text, strlen(text), &err), 0);
	assert_int_equal(rec.n_cvss, 2);
	assert_string_equal(rec.cvss[0].rationale, "Why:\n  because.");
	assert_true(rec.cvss[0].has_base_score);
	assert_string_equal(rec.cvss[1].version, "4.0");
	assert_string_equal(rec.cvss[1].vector, "CVSS:4.0/AV:N/AT:N");
	assert_false(rec.cvss[1].has_base_score);
	assert_string_equal(rec.cvss[1].rationale, "Why:\n  because.");

	assert_int_equal(
		cve_record_parse_cvss(&rec, "t.cvss", "org CVSS:3.1/AV:L/AC:L\n", 23, &err),
		-EBADMSG);
	assert_string_equal(err, "t.cvss: vector 'CVSS:3.1/AV:L/AC:L' differs from the JSON "
				 "record's 'CVSS:3.1/AV:N/AC:L'");
	free(err);
	assert_int_equal(cve_record_parse_cvss(&rec, "t.cvss", "Why\n", 4, &err), -EBADMSG);
	assert_string_equal(err, "t.cvss:1: expected 'ORGID CVSS:x.y/...' vector line");
	free(err);
	assert_int_equal(cve_record_parse_cvss(&rec, "t.cvss", "\n\n", 2, &err), -EBADMSG);
	assert_string_equal(err, "t.cvss: no CVSS vector line");
	free(err);
	cve_record_release(&rec);
}

static json_t *jget(json_t *o, const char *a, const char *b)
{
	return json_object_get(b ? json_object_get(o, a) : o, b ? b : a);
}

static bool same_str(json_t *j, const char *s)
{
	return json_is_string(j) ? s && strcmp(json_string_value(j), s) == 0 : !s;
}

/*
 * Every record of a vulns checkout (cve/STATE/YEAR/ID.json) parses, and what the parser took
 * matches what jansson reads from the same bytes. Slow-ish, so only when asked for.
 */
static void test_all_records(void **state)
{
	const char *dir = getenv("TUXTAPE_VULNS_DIR");
	_cleanup_free_ char *pattern = NULL;
	size_t checked = 0;
	glob_t g;

	if (!dir)
		skip();
	pattern = strdup_printf("%s/cve/*/*/*.json", dir);
	assert_int_equal(glob(pattern, 0, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i], *base = strrchr(path, '/') + 1;
		_cleanup_free_ char *buf = NULL, *err = NULL;
		struct cve_record rec = {0};
		json_t *root, *cna, *a, *b;
		size_t len, n_ranges = 0;
		int r;

		assert_int_equal(read_file_capped(path, CVE_RECORD_MAX_FILE, &buf, &len), 0);
		rec.id = strndup(base, strlen(base) - strlen(".json"));
		r = cve_record_parse_json(&rec, path, buf, len, &err);
		if (r != 0)
			fail_msg("%s: %d %s", path, r, err ? err : "");
		root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
		assert_non_null(root);
		cna = jget(root, "containers", "cna");
		if (!same_str(json_object_get(cna, "title"), rec.title) ||
		    !same_str(jget(root, "cveMetadata", "datePublished"), rec.published) ||
		    !same_str(json_object_get(root, "dataVersion"), rec.data_version))
			fail_msg("%s: title, datePublished or dataVersion differ", path);
		a = json_object_get(cna, "affected");
		b = rec.affected_json ? json_loads(rec.affected_json, JSON_REJECT_DUPLICATES, NULL)
				      : NULL;
		if (!a != !b || (a && !json_equal(a, b)))
			fail_msg("%s: affected_json differs from the record's", path);
		for (size_t k = 0; k < json_array_size(a); k++)
			n_ranges +=
				json_array_size(json_object_get(json_array_get(a, k), "versions"));
		if (n_ranges != rec.n_ranges || json_array_size(a) != rec.n_entries)
			fail_msg("%s: %zu ranges in %zu entries, parsed %zu in %zu", path, n_ranges,
				 json_array_size(a), rec.n_ranges, rec.n_entries);
		json_decref(b);
		json_decref(root);
		cve_record_release(&rec);
		checked++;
	}
	globfree(&g);
	print_message("checked %zu records\n", checked);
	assert_true(checked > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published_record), cmocka_unit_test(test_rejected_50_record),
		cmocka_unit_test(test_malformed),	 cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_wrong_types),	 cmocka_unit_test(test_missing),
		cmocka_unit_test(test_bad_values),	 cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_duplicates),	 cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_semantics),	 cmocka_unit_test(test_dyad),
		cmocka_unit_test(test_commits),		 cmocka_unit_test(test_cvss),
		cmocka_unit_test(test_all_records),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
