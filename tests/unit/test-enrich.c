/* Unit tests for enrichment: KEV/EPSS/NVD parsers on good and bad fixtures, storing, gunzip
 * caps and the rate limiter on a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "enrich/epss.h"
#include "enrich/kev.h"
#include "enrich/nvd.h"
#include "enrich/ratelimit.h"
#include "enrich/source.h"
#include "fileio.h"
#include "log.h"
#include "store/store.h"
#include "strbuf.h"

static char dir[] = "/tmp/tt-enrich-XXXXXX";
static char *fixtures;
static struct strbuf logged = STRBUF_INIT;

static void capture_log(enum tt_log_level level, const char *msg, void *userdata)
{
	strbuf_addf(&logged, "%d %s\n", (int)level, msg);
}

/* Fixtures live in tests/fixtures/enrich, found from this file's path (meson runs tests in
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
		fixtures = strdup_printf("%s/../fixtures/enrich", slash ? d : ".");
	}
	tt_log_set(capture_log, NULL, TT_LOG_DEBUG);
	return mkdtemp(dir) && fixtures ? 0 : -1;
}

static int teardown(void **state)
{
	free(fixtures);
	strbuf_release(&logged);
	return rm_rf(dir);
}

static char *load(const char *name, size_t *len)
{
	_cleanup_free_ char *p = path_join(fixtures, name);
	char *buf = NULL;

	assert_int_equal(read_file_capped(p, 1 << 24, &buf, len), 0);
	return buf;
}

static struct tt_store *new_store(const char *name)
{
	_cleanup_free_ char *p = path_join(dir, name);
	struct tt_store *s = NULL;

	assert_int_equal(tt_store_open(p, 0, &s), 0);
	assert_int_equal(
		tt_store_exec(
			s,
			"INSERT INTO cve(id, state, path) VALUES"
			" ('CVE-2024-1086', 'published', 'cve/published/2024/CVE-2024-1086.json'),"
			" ('CVE-2024-53104', 'published', "
			"'cve/published/2024/CVE-2024-53104.json'),"
			" ('CVE-2024-50264', 'published', "
			"'cve/published/2024/CVE-2024-50264.json'),"
			" ('CVE-2024-36971', 'published', "
			"'cve/published/2024/CVE-2024-36971.json'),"
			" ('CVE-2023-52434', 'published', "
			"'cve/published/2023/CVE-2023-52434.json'),"
			" ('CVE-2023-0266', 'rejected', 'cve/rejected/2023/CVE-2023-0266.json');"
			"INSERT INTO cve_cvss(cve_id, source, version, vector, base_score) VALUES"
			" ('CVE-2024-36971', 'cna', '3.1',"
			"  'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8);"),
		0);
	return s;
}

static long long count(struct tt_store *s, const char *sql)
{
	sqlite3_stmt *st;
	long long n;

	assert_int_equal(sqlite3_prepare_v2(tt_store_db(s), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void assert_logged(const char *needle)
{
	if (!strstr(strbuf_str(&logged), needle))
		fail_msg("log lacks '%s':\n%s", needle, strbuf_str(&logged));
	strbuf_reset(&logged);
}

static void test_cve_id(void **state)
{
	assert_true(tt_cve_id_valid("CVE-2024-1086", 13));
	assert_true(tt_cve_id_valid("CVE-2024-123456", 15));
	assert_false(tt_cve_id_valid("CVE-24-1086", 11));
	assert_false(tt_cve_id_valid("CVE-2024-108", 12));
	assert_false(tt_cve_id_valid("CVE-2024-10a6", 13));
	assert_false(tt_cve_id_valid("cve-2024-1086", 13));
}

static void test_kev_good(void **state)
{
	struct tt_kev_list l = {};
	size_t len;
	_cleanup_free_ char *buf = load("kev.json", &len);

	assert_int_equal(tt_kev_parse(buf, len, "kev.json", &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.catalog_version, "2025.02.05");
	assert_string_equal(l.v[1].cve_id, "CVE-2024-1086");
	assert_string_equal(l.v[1].vendor_project, "Linux");
	assert_string_equal(l.v[1].date_added, "2024-05-30");
	assert_string_equal(l.v[1].due_date, "2024-06-20");
	assert_string_equal(l.v[1].known_ransomware, "Known");
	tt_kev_list_release(&l);
}

static void test_kev_bad(void **state)
{
	static const struct {
		const char *file, *msg;
	} cases[] = {
		{"kev-bad-type.json",
		 "'kev-bad-type.json': vulnerabilities[2].dueDate: expected a string"},
		{"kev-bad-id.json", "vulnerabilities[1].cveID: 'CVE-24-1086' is not a CVE id"},
		{"kev-malformed.json", "'kev-malformed.json': line "},
	};
	struct tt_kev_list l = {};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len;
		_cleanup_free_ char *buf = load(cases[i].file, &len);

		strbuf_reset(&logged);
		assert_int_equal(tt_kev_parse(buf, len, cases[i].file, &l), -EBADMSG);
		assert_null(l.v);
		assert_logged(cases[i].msg);
	}
	assert_int_equal(tt_kev_parse("[]", 2, "x", &l), -EBADMSG);
	assert_logged("'x': expected a JSON object");
	assert_int_equal(tt_kev_parse("{\"vulnerabilities\":{}}", 22, "x", &l), -EBADMSG);
	assert_logged("'x': vulnerabilities: expected an array");
	assert_int_equal(tt_kev_parse("{\"vulnerabilities\":[{}]}", 24, "x", &l), -EBADMSG);
	assert_logged("vulnerabilities[0].cveID: missing");
}

static void test_kev_store_replaces(void **state)
{
	_cleanup_store_ struct tt_store *s = new_store("kev.db");
	struct tt_enrich_stats st = {};
	_cleanup_free_ char *good = path_join(fixtures, "kev.json");
	_cleanup_free_ char *bad = path_join(fixtures, "kev-bad-type.json");

	assert_int_equal(tt_store_exec(s, "INSERT INTO kev(cve_id) VALUES ('CVE-2023-0266')"), 0);
	assert_int_equal(tt_enrich_kev(s, good, &(struct tt_http_opts){}, &st), 0);
	assert_int_equal(st.parsed, 4);
	assert_int_equal(st.stored, 3); /* log4j is not a kernel CVE in the database */
	assert_int_equal(st.not_in_db, 1);
	assert_int_equal(count(s, "SELECT count(*) FROM kev"), 3);
	assert_int_equal(count(s, "SELECT count(*) FROM kev WHERE cve_id = 'CVE-2023-0266'"), 0);
	assert_int_equal(count(s, "SELECT count(*) FROM kev WHERE cve_id = 'CVE-2024-1086' AND"
				  " known_ransomware = 'Known' AND due_date = '2024-06-20'"),
			 1);
	/* A bad file leaves the table as it was. */
	st = (struct tt_enrich_stats){};
	assert_int_equal(tt_enrich_kev(s, bad, &(struct tt_http_opts){}, &st), -EBADMSG);
	assert_int_equal(st.stored, 0);
	assert_int_equal(count(s, "SELECT count(*) FROM kev"), 3);
	strbuf_reset(&logged);
}

static void test_epss_good(void **state)
{
	struct tt_epss_list l = {};
	size_t len;
	_cleanup_free_ char *buf = load("epss.csv", &len);

	assert_int_equal(tt_epss_parse(buf, len, "epss.csv", &l), 0);
	assert_int_equal(l.n, 7);
	assert_string_equal(l.model_version, "v2025.03.14");
	assert_string_equal(l.score_date, "2025-05-01");
	assert_string_equal(l.v[2].cve_id, "CVE-2024-1086");
	assert_float_equal(l.v[2].epss, 0.84719, 1e-9);
	assert_float_equal(l.v[2].percentile, 0.99287, 1e-9);
	tt_epss_list_release(&l);

	/* CRLF, no metadata line, columns in another order, no percentile column. */
	assert_int_equal(
		tt_epss_parse("percentile,cve,epss\r\n0.5,CVE-2024-1086,0.25\r\n", 45, "x", &l), 0);
	assert_int_equal(l.n, 1);
	assert_float_equal(l.v[0].epss, 0.25, 1e-12);
	assert_null(l.model_version);
	tt_epss_list_release(&l);
	assert_int_equal(tt_epss_parse("cve,epss\nCVE-2024-1086,1e-3\n", 28, "x", &l), 0);
	assert_true(isnan(l.v[0].percentile));
	assert_float_equal(l.v[0].epss, 0.001, 1e-12);
	tt_epss_list_release(&l);
}

static void test_epss_bad(void **state)
{
	static const struct {
		const char *file, *msg;
	} cases[] = {
		{"epss-bad-number.csv",
		 "'epss-bad-number.csv': line 7: epss: '0.0O211' is not a number in [0, 1]"},
		{"epss-bad-row.csv", "'epss-bad-row.csv': line 8: expected 3 fields, found 2"},
		{"epss-out-of-range.csv", "line 2: epss: '1.5' is not a number in [0, 1]"},
		{"epss-bad-header.csv", "line 1: expected a 'cve,epss,percentile' header"},
	};
	struct tt_epss_list l = {};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len;
		_cleanup_free_ char *buf = load(cases[i].file, &len);

		strbuf_reset(&logged);
		assert_int_equal(tt_epss_parse(buf, len, cases[i].file, &l), -EBADMSG);
		assert_null(l.v);
		assert_logged(cases[i].msg);
	}
	assert_int_equal(tt_epss_parse("", 0, "empty", &l), -EBADMSG);
	assert_logged("'empty': no 'cve,epss,percentile' header line");
	assert_int_equal(tt_epss_parse("cve,epss\nCVE-2024-1086,nan\n", 27, "x", &l), -EBADMSG);
	assert_int_equal(tt_epss_parse("cve,epss\nCVE-2024-1086,0x1p-2\n", 30, "x", &l), -EBADMSG);
	assert_int_equal(tt_epss_parse("cve,epss\nCVE-2024-1086,\n", 24, "x", &l), -EBADMSG);
	assert_int_equal(tt_epss_parse("cve,epss\nlog4shell,0.9\n", 23, "x", &l), -EBADMSG);
	assert_logged("cve: 'log4shell' is not a CVE id");
	strbuf_reset(&logged);
}

static char *gzip_bytes(const char *data, size_t len, size_t *ret_len)
{
	z_stream z = {};
	size_t cap = len + 1024;
	char *out = malloc(cap);

	assert_non_null(out);
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
			 Z_OK);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*ret_len = cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

static void test_epss_gzip_store(void **state)
{
	_cleanup_store_ struct tt_store *s = new_store("epss.db");
	struct tt_enrich_stats st = {};
	size_t len, zlen;
	_cleanup_free_ char *buf = load("epss.csv", &len);
	_cleanup_free_ char *z = gzip_bytes(buf, len, &zlen);
	_cleanup_free_ char *zpath = path_join(dir, "epss.csv.gz");
	_cleanup_free_ char *bad = path_join(fixtures, "epss-bad-row.csv");

	assert_int_equal(write_file_atomic(zpath, z, zlen, 0644), 0);
	assert_int_equal(tt_enrich_epss(s, zpath, &(struct tt_http_opts){}, &st), 0);
	assert_int_equal(st.parsed, 7);
	assert_int_equal(st.stored, 5); /* not log4j, not 2024-26581 (not in this database) */
	assert_int_equal(st.not_in_db, 2);
	assert_int_equal(count(s, "SELECT count(*) FROM epss WHERE date = '2025-05-01'"), 5);
	assert_int_equal(count(s, "SELECT count(*) FROM epss WHERE cve_id = 'CVE-2024-1086' AND"
				  " epss = 0.84719 AND percentile = 0.99287"),
			 1);
	assert_int_equal(tt_enrich_epss(s, bad, &(struct tt_http_opts){}, &st), -EBADMSG);
	assert_int_equal(count(s, "SELECT count(*) FROM epss"), 5);
	strbuf_reset(&logged);

	/* A truncated gzip stream is refused, not half-read. */
	assert_int_equal(write_file_atomic(zpath, z, zlen - 9, 0644), 0);
	assert_int_equal(tt_enrich_epss(s, zpath, &(struct tt_http_opts){}, &st), -EBADMSG);
	assert_logged("corrupt gzip data");
	assert_int_equal(count(s, "SELECT count(*) FROM epss"), 5);
}

static void test_gunzip_cap(void **state)
{
	size_t n = 1 << 20, zlen, outlen = 0;
	_cleanup_free_ char *zeros = calloc(1, n);
	_cleanup_free_ char *z = gzip_bytes(zeros, n, &zlen);
	char *out = NULL;

	assert_true(zlen < 4096); /* a small bomb */
	assert_int_equal(tt_gunzip(z, zlen, n - 1, &out, &outlen), -EFBIG);
	assert_null(out);
	assert_int_equal(tt_gunzip(z, zlen, n, &out, &outlen), 0);
	assert_int_equal(outlen, n);
	free(out);
	assert_int_equal(tt_gunzip("\x1f\x8b", 2, 100, &out, &outlen), -EBADMSG);
}

static void test_nvd_parse(void **state)
{
	struct tt_nvd_page p = {};
	size_t len;
	_cleanup_free_ char *buf = load("nvd-feed.json", &len);

	assert_int_equal(tt_nvd_parse(buf, len, "nvd-feed.json", &p), 0);
	assert_int_equal(p.n, 5);
	assert_int_equal(p.skipped, 1); /* the record without an id */
	assert_int_equal(p.total_results, 6);
	/* NVD's own Primary metric wins over the CNA's Secondary one. */
	assert_string_equal(p.v[0].id, "CVE-2024-1086");
	assert_int_equal(p.v[0].n_m, 1);
	assert_string_equal(p.v[0].m[0].version, "3.1");
	assert_string_equal(p.v[0].m[0].source, "nvd@nist.gov");
	assert_string_equal(p.v[0].m[0].vector, "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H");
	assert_float_equal(p.v[0].m[0].base_score, 7.8, 1e-9);
	assert_string_equal(p.v[0].m[0].severity, "HIGH");
	/* A bad baseScore marks the record, and names it. */
	assert_string_equal(p.v[1].id, "CVE-2023-52434");
	assert_true(p.v[1].bad);
	assert_int_equal(p.v[1].n_m, 0);
	/* Only Secondary metrics: kept, v4.0 and v3.1. */
	assert_int_equal(p.v[2].n_m, 2);
	assert_string_equal(p.v[2].m[0].version, "4.0");
	assert_string_equal(p.v[2].m[1].version, "3.1");
	assert_string_equal(p.v[2].m[0].type, "Secondary");
	/* Awaiting analysis: no metrics. */
	assert_int_equal(p.v[3].n_m, 0);
	assert_false(p.v[3].bad);
	assert_string_equal(p.v[3].vuln_status, "Awaiting Analysis");
	tt_nvd_page_release(&p);
	assert_logged(
		"'nvd-feed.json': vulnerabilities[1].cve.metrics.cvssMetricV31: "
		"cvssData.baseScore: expected a number from 0 to 10; skipping CVE-2023-52434");
}

static void test_nvd_parse_bad(void **state)
{
	struct tt_nvd_page p = {};
	size_t len;
	_cleanup_free_ char *m = load("nvd-malformed.json", &len);
	_cleanup_free_ char *b = NULL;

	assert_int_equal(tt_nvd_parse(m, len, "nvd-malformed.json", &p), -EBADMSG);
	assert_logged("'nvd-malformed.json': line 1 column ");
	b = load("nvd-bad-shape.json", &len);
	assert_int_equal(tt_nvd_parse(b, len, "nvd-bad-shape.json", &p), -EBADMSG);
	assert_logged("'nvd-bad-shape.json': vulnerabilities: expected an array");
	assert_null(p.v);
}

static void test_nvd_feed_store(void **state)
{
	_cleanup_store_ struct tt_store *s = new_store("nvd.db");
	struct tt_enrich_stats st = {};
	_cleanup_free_ char *feed = path_join(fixtures, "nvd-feed.json");
	_cleanup_free_ char *bad = path_join(fixtures, "nvd-malformed.json");

	assert_int_equal(tt_nvd_import_feed(s, feed, &st), 0);
	assert_int_equal(st.parsed, 5);
	assert_int_equal(st.stored, 3);	   /* 1086: 3.1; 53104: 4.0 + 3.1 */
	assert_int_equal(st.skipped, 2);   /* no id; bad score */
	assert_int_equal(st.unscored, 1);  /* 50264 */
	assert_int_equal(st.not_in_db, 1); /* 49999 */
	assert_int_equal(count(s, "SELECT count(*) FROM cve_cvss WHERE source = 'nvd'"), 3);
	assert_int_equal(
		count(s, "SELECT count(*) FROM cve_cvss WHERE source = 'nvd' AND"
			 " cve_id = 'CVE-2024-1086' AND version = '3.1' AND base_score = 7.8"
			 " AND severity = 'HIGH' AND rationale LIKE '%nvd@nist.gov (Primary)%'"),
		1);
	/* tuxtape's own calculation of every vector NVD gave. */
	assert_int_equal(count(s, "SELECT count(*) FROM cve_cvss WHERE source = 'nvd' AND"
				  " computed_score IS NULL"),
			 0);
	assert_int_equal(count(s, "SELECT count(*) FROM cve_cvss WHERE source = 'nvd' AND"
				  " cve_id = 'CVE-2024-1086' AND computed_score = 7.8"),
			 1);
	assert_int_equal(count(s, "SELECT count(*) FROM nvd_state WHERE status = 'scored'"), 2);
	assert_int_equal(count(s, "SELECT count(*) FROM nvd_state WHERE status = 'unscored'"), 1);
	assert_int_equal(count(s, "SELECT count(*) FROM nvd_state WHERE status = 'error' AND"
				  " cve_id = 'CVE-2023-52434'"),
			 1);
	/* The CNA-scored CVE was not touched. */
	assert_int_equal(count(s, "SELECT count(*) FROM cve_cvss WHERE cve_id = 'CVE-2024-36971'"),
			 1);
	/* Importing again replaces, it does not add. */
	assert_int_equal(tt_nvd_import_feed(s, feed, &st), 0);
	assert_int_equal(count(s, "SELECT count(*) FROM cve_cvss WHERE source = 'nvd'"), 3);
	assert_int_equal(tt_nvd_import_feed(s, bad, &st), -EBADMSG);
	assert_int_equal(count(s, "SELECT count(*) FROM cve_cvss WHERE source = 'nvd'"), 3);
	strbuf_reset(&logged);
}

/* A fake clock: sleeping advances it, nothing waits. */
struct fake_clock {
	uint64_t now, slept;
	unsigned sleeps;
};

static uint64_t fake_now(void *u)
{
	return ((struct fake_clock *)u)->now;
}

static void fake_sleep(uint64_t ms, void *u)
{
	struct fake_clock *c = u;

	c->now += ms;
	c->slept += ms;
	c->sleeps++;
}

static void test_ratelimit(void **state)
{
	struct fake_clock c = {.now = 1000000};
	struct tt_ratelimit rl;

	assert_int_equal(tt_ratelimit_init(&rl, 5, 30000), 0);
	rl.now_ms = fake_now;
	rl.sleep_ms = fake_sleep;
	rl.userdata = &c;
	/* Five go at once. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(tt_ratelimit_acquire(&rl), 0);
		c.now += 100;
	}
	/* The sixth waits until the first leaves the 30 s window. */
	assert_int_equal(tt_ratelimit_acquire(&rl), 30000 - 500);
	assert_int_equal(c.sleeps, 1);
	/* The seventh: the second request (at +100) leaves at +30100; now is +30000. */
	assert_int_equal(tt_ratelimit_acquire(&rl), 100);
	/* After a long pause nothing waits. */
	c.now += 60000;
	for (int i = 0; i < 5; i++)
		assert_int_equal(tt_ratelimit_acquire(&rl), 0);
	assert_int_equal(rl.slept_ms, 29600);
	/* In any 30 s, at most 5: 100 more requests span at least 19 windows. */
	{
		uint64_t t0 = c.now;

		for (int i = 0; i < 100; i++)
			tt_ratelimit_acquire(&rl);
		assert_true(c.now - t0 >= 19 * 30000);
	}
	tt_ratelimit_release(&rl);

	/* 0 = unlimited. */
	assert_int_equal(tt_ratelimit_init(&rl, 0, 30000), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(tt_ratelimit_acquire(&rl), 0);
	tt_ratelimit_release(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cve_id),		cmocka_unit_test(test_kev_good),
		cmocka_unit_test(test_kev_bad),		cmocka_unit_test(test_kev_store_replaces),
		cmocka_unit_test(test_epss_good),	cmocka_unit_test(test_epss_bad),
		cmocka_unit_test(test_epss_gzip_store), cmocka_unit_test(test_gunzip_cap),
		cmocka_unit_test(test_nvd_parse),	cmocka_unit_test(test_nvd_parse_bad),
		cmocka_unit_test(test_nvd_feed_store),	cmocka_unit_test(test_ratelimit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
