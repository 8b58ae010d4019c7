/* tuxtape cve enrich: NVD scores, CISA KEV and FIRST EPSS into the CVE database. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "enrich/epss.h"
#include "enrich/http.h"
#include "enrich/kev.h"
#include "enrich/nvd.h"
#include "log.h"
#include "store/store.h"

static const char enrich_options[] =
	"  --kev FILE|URL       CISA's Known Exploited Vulnerabilities JSON; replaces the\n"
	"                       kev table (entries for CVEs not in the database are ignored)\n"
	"  --epss FILE|URL      FIRST's EPSS CSV, plain or gzip; replaces the epss table\n"
	"                       (likewise only CVEs in the database)\n"
	"  --nvd                ask NVD's CVE API 2.0 for the CVSS of published CVEs the CNA\n"
	"                       did not score; resumable, rate-limited (5 requests per 30 s,\n"
	"                       50 with an API key)\n"
	"  --nvd-api-key KEY    NVD API key (default $NVD_API_KEY)\n"
	"  --nvd-url URL        API endpoint (default " TT_NVD_URL ")\n"
	"  --nvd-feed FILE      read a local NVD JSON 2.0 feed (.json or .json.gz) instead;\n"
	"                       may be given several times\n"
	"  --nvd-max-age HOURS  re-ask CVEs NVD had not scored after this long (default 24)\n"
	"  --nvd-bulk           page through all the kernel CNA's NVD records even when few\n"
	"                       CVEs are due (default: one request per CVE up to 20 due)\n"
	"  --nvd-page-size N    records per bulk page (default 2000, NVD's maximum)\n"
	"\nEach source is its own transaction: bad input leaves that source's data as it was\n"
	"and the other sources are still updated. A bad KEV entry or EPSS row refuses the\n"
	"whole file (the tables are replaced whole); a bad NVD record is skipped with a\n"
	"warning (NVD rows are per-CVE updates). NVD results are committed per CVE or page.\n"
	"\nExit status: 0 done, 1 a source failed (see the errors), 4 done but some NVD\n"
	"records were skipped.\n";

enum {
	OPT_KEV = 0x100,
	OPT_EPSS,
	OPT_NVD,
	OPT_NVD_KEY,
	OPT_NVD_URL,
	OPT_NVD_FEED,
	OPT_NVD_MAX_AGE,
	OPT_NVD_BULK,
	OPT_NVD_PAGE,
};

static int parse_uint(struct cli *cli, const char *opt, const char *s, unsigned min, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > UINT_MAX / 4)
		return cli_usage_error(cli, "%s: '%s' is not a number of at least %u", opt, s, min);
	*ret = (unsigned)v;
	return 0;
}

/*
 * Test hooks: the suite shrinks NVD's 30 s window (TUXTAPE_NVD_WINDOW_MS), the back-off
 * (TUXTAPE_HTTP_RETRY_MS) and the timeouts (TUXTAPE_HTTP_TIMEOUT_S) so nothing really waits.
 */
static unsigned env_ms(const char *name)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (!v || !*v)
		return 0;
	n = strtoul(v, &end, 10);
	return *end || n > 3600000 ? 0 : (unsigned)n;
}

static json_t *stats_json(const struct tt_enrich_stats *st, int r)
{
	json_t *o = json_pack("{s:b s:I s:I s:I s:I s:i}", "ok", r >= 0, "parsed",
			      (json_int_t)st->parsed, "stored", (json_int_t)st->stored, "not_in_db",
			      (json_int_t)st->not_in_db, "skipped", (json_int_t)st->skipped,
			      "requests", (int)st->requests);
	return o;
}

static void summary(struct cli *cli, const char *what, const char *src,
		    const struct tt_enrich_stats *st, int r)
{
	if (cli->json || cli->quiet)
		return;
	if (r < 0) {
		fprintf(stderr, "%s: failed (%s), left as it was\n", what, src);
		return;
	}
	fprintf(stderr, "%s: %zu stored from %zu entries, %zu not in the database", what,
		st->stored, st->parsed, st->not_in_db);
	if (st->skipped)
		fprintf(stderr, ", %zu skipped", st->skipped);
	if (st->requests)
		fprintf(stderr, ", %u requests", st->requests);
	fprintf(stderr, " (%s)\n", src);
}

int cmd_cve_enrich(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"kev", required_argument, NULL, OPT_KEV},
		{"epss", required_argument, NULL, OPT_EPSS},
		{"nvd", no_argument, NULL, OPT_NVD},
		{"nvd-api-key", required_argument, NULL, OPT_NVD_KEY},
		{"nvd-url", required_argument, NULL, OPT_NVD_URL},
		{"nvd-feed", required_argument, NULL, OPT_NVD_FEED},
		{"nvd-max-age", required_argument, NULL, OPT_NVD_MAX_AGE},
		{"nvd-bulk", no_argument, NULL, OPT_NVD_BULK},
		{"nvd-page-size", required_argument, NULL, OPT_NVD_PAGE},
		CLI_HELP_OPTION,
		{},
	};
	_cleanup_free_ const char **feeds = NULL;
	const char *kev = NULL, *epss = NULL;
	struct tt_nvd_opts nvd = {};
	struct tt_http_opts http = {};
	bool want_nvd = false, failed = false, partial = false;
	struct tt_store *s;
	size_t n_feeds = 0;
	json_t *out;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_KEV:
			kev = optarg;
			break;
		case OPT_EPSS:
			epss = optarg;
			break;
		case OPT_NVD:
			want_nvd = true;
			break;
		case OPT_NVD_KEY:
			nvd.api_key = optarg;
			break;
		case OPT_NVD_URL:
			if (!tt_is_url(optarg))
				return cli_usage_error(cli, "--nvd-url: '%s' is not an http(s) URL",
						       optarg);
			nvd.url = optarg;
			break;
		case OPT_NVD_FEED: {
			const char **v = realloc(feeds, (n_feeds + 1) * sizeof(*v));

			if (!v)
				return log_error_errno(-ENOMEM, "out of memory"), EXIT_ERROR;
			feeds = v;
			feeds[n_feeds++] = optarg;
			break;
		}
		case OPT_NVD_MAX_AGE:
			if (parse_uint(cli, "--nvd-max-age", optarg, 1, &nvd.max_age_h))
				return EXIT_USAGE;
			break;
		case OPT_NVD_BULK:
			nvd.force_bulk = true;
			break;
		case OPT_NVD_PAGE:
			if (parse_uint(cli, "--nvd-page-size", optarg, 1, &nvd.page_size))
				return EXIT_USAGE;
			if (nvd.page_size > 2000)
				return cli_usage_error(cli,
						       "--nvd-page-size: NVD allows at most 2000");
			break;
		case 'h':
			return cli_help(cli, enrich_options);
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (!kev && !epss && !want_nvd && !n_feeds)
		return cli_usage_error(cli,
				       "nothing to do: give --kev, --epss, --nvd or --nvd-feed");
	if (!nvd.api_key) {
		const char *k = getenv("NVD_API_KEY");

		nvd.api_key = k && *k ? k : NULL;
	}
	nvd.window_ms = env_ms("TUXTAPE_NVD_WINDOW_MS");
	nvd.retry_base_ms = env_ms("TUXTAPE_HTTP_RETRY_MS");
	http.max_retries = 3;
	http.retry_base_ms = nvd.retry_base_ms;
	http.timeout_s = env_ms("TUXTAPE_HTTP_TIMEOUT_S");
	http.low_speed_time_s = http.timeout_s;
	nvd.timeout_s = http.timeout_s;

	r = cli_store(cli, false, &s);
	if (r < 0)
		return EXIT_ERROR;
	out = json_object();
	if (!out)
		return log_error_errno(-ENOMEM, "out of memory"), EXIT_ERROR;

	if (kev) {
		struct tt_enrich_stats st = {};

		r = tt_enrich_kev(s, kev, &http, &st);
		failed |= r < 0;
		summary(cli, "kev", kev, &st, r);
		json_object_set_new(out, "kev_import", stats_json(&st, r));
	}
	if (epss) {
		struct tt_enrich_stats st = {};

		r = tt_enrich_epss(s, epss, &http, &st);
		failed |= r < 0;
		summary(cli, "epss", epss, &st, r);
		json_object_set_new(out, "epss_import", stats_json(&st, r));
	}
	if (n_feeds) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n_feeds; i++) {
			struct tt_enrich_stats st = {};

			r = tt_nvd_import_feed(s, feeds[i], &st);
			failed |= r < 0;
			partial |= st.skipped > 0;
			summary(cli, "nvd feed", feeds[i], &st, r);
			json_array_append_new(arr, stats_json(&st, r));
		}
		json_object_set_new(out, "nvd_feed", arr);
	}
	if (want_nvd) {
		struct tt_enrich_stats st = {};
		json_t *j;

		r = tt_nvd_fetch(s, &nvd, &st);
		failed |= r < 0;
		partial |= st.skipped > 0;
		if (!cli->json && !cli->quiet)
			fprintf(stderr,
				"nvd: %s%zu CVEs due, %zu scores stored, %zu unscored by NVD, %zu "
				"not in "
				"NVD, %zu skipped, %u requests%s\n",
				r < 0 ? "stopped (run again to resume): " : "", st.pending,
				st.stored, st.unscored, st.missing, st.skipped, st.requests,
				nvd.api_key ? " (with API key)" : "");
		j = stats_json(&st, r);
		json_object_set_new(j, "due", json_integer((json_int_t)st.pending));
		json_object_set_new(j, "unscored", json_integer((json_int_t)st.unscored));
		json_object_set_new(j, "missing", json_integer((json_int_t)st.missing));
		json_object_set_new(out, "nvd", j);
	}

	if (cli->json && !failed)
		cli_print_json(out);
	else
		json_decref(out);
	return failed ? EXIT_ERROR : partial ? EXIT_PARTIAL : EXIT_OK;
}
