/* tuxtape cve: sync the kernel CNA's records, enrich them, query them. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applicability/verdict.h"
#include "cli.h"
#include "cve/query.h"
#include "cve/sync.h"
#include "log.h"
#include "store/store.h"
#include "applicability/changes.h"
#include "applicability/refresh.h"
#include "kernel/version.h"

/* Each command parses its options with getopt_long; this prefix makes "--help" uniform. */
#define FOR_EACH_OPTION(c, argc, argv, shortopts, longopts)                                        \
	while (((c) = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)

/* Up to this many ids per list in the text report; --json has them all. */
#define CHANGES_SHOWN 20

static void print_id_list(const char *label, json_t *arr, const char *extra)
{
	size_t i, n = json_array_size(arr);
	json_t *e;

	if (n == 0)
		return;
	printf("  %s (%zu):", label, n);
	json_array_foreach(arr, i, e) {
		const char *x = extra ? json_string_value(json_object_get(e, extra)) : NULL;

		if (i == CHANGES_SHOWN) {
			printf(" ... (--json lists all)");
			break;
		}
		printf(" %s%s%s%s", json_string_value(json_object_get(e, "id")), x ? " (" : "",
		       x ? x : "", x ? ")" : "");
	}
	printf("\n");
}

/* The per-kernel part of the sync report, on stdout: it is the answer, not progress. */
static void print_changes(json_t *kernels)
{
	size_t i;
	json_t *k;

	json_array_foreach(kernels, i, k) {
		const char *name = json_string_value(json_object_get(k, "kernel"));
		json_int_t aff = json_integer_value(json_object_get(k, "affected"));
		json_int_t unt = json_integer_value(json_object_get(k, "untriaged"));

		if (json_is_true(json_object_get(k, "baseline"))) {
			printf("kernel %s: first report: %lld affected, %lld untriaged\n", name,
			       (long long)aff, (long long)unt);
			continue;
		}
		if (!json_array_size(json_object_get(k, "newly_affected")) &&
		    !json_array_size(json_object_get(k, "newly_fixed")) &&
		    !json_array_size(json_object_get(k, "newly_kev"))) {
			printf("kernel %s: no change (%lld affected, %lld untriaged)\n", name,
			       (long long)aff, (long long)unt);
			continue;
		}
		printf("kernel %s: %lld affected, %lld untriaged\n", name, (long long)aff,
		       (long long)unt);
		print_id_list("newly affected", json_object_get(k, "newly_affected"), "severity");
		print_id_list("newly fixed", json_object_get(k, "newly_fixed"), "status");
		print_id_list("newly known exploited", json_object_get(k, "newly_kev"), NULL);
	}
}

static int cmd_cve_sync(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "rev", required_argument, NULL, 'R' },
		{ "mirror", required_argument, NULL, 'm' },
		{ "offline", no_argument, NULL, 'o' },
		{ "full", no_argument, NULL, 'f' },
		CLI_HELP_OPTION,
		{},
	};
	struct cve_sync_opts o = {};
	struct cve_sync_report rep;
	json_t *changes;
	struct tt_store *s;
	int c, r;

	FOR_EACH_OPTION(c, argc, argv, "h", opts)
	{
		switch (c) {
		case 'r':
			o.repo = optarg;
			break;
		case 'R':
			o.rev = optarg;
			break;
		case 'm':
			o.mirror_dir = optarg;
			break;
		case 'o':
			o.offline = true;
			break;
		case 'f':
			o.full = true;
			break;
		case 'h':
			return cli_help(
				cli,
				"  --repo URL|PATH  the vulns repository (default: the one synced last,\n"
				"                   else " CVE_SYNC_DEFAULT_URL ")\n"
				"  --rev REV        bring the database to this commit, branch or tag\n"
				"                   (default: the fetched default branch); older works too\n"
				"  --mirror DIR     where the bare mirror lives (default: vulns.git beside\n"
				"                   the database)\n"
				"  --offline        do not fetch; use the mirror as it is\n"
				"  --full           re-read every record instead of the changed ones\n"
				"\nExit status: 0 done, 1 failed (database unchanged), 4 done but some\n"
				"records were skipped (warnings name the file and field).\n");
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);

	r = cli_store(cli, false, &s);
	if (r < 0)
		return EXIT_ERROR;
	r = cve_sync(s, &o, &rep);
	if (r < 0)
		return EXIT_ERROR;
	/* What changed for each kernel since the last report (KEV entries from enrich too). */
	r = verdicts_changes(s, rep.to, true, &changes);
	if (r < 0)
		return EXIT_ERROR;

	if (cli->json) {
		json_t *j = json_pack(
			"{s:i s:s s:s s:b s:b s:I s:I s:I s:I s:I s:I s:I s:I s:I s:f s:f s:o}",
			"schema_version", TT_JSON_SCHEMA_VERSION, "from", rep.from, "to", rep.to,
			"full", rep.full, "up_to_date", rep.up_to_date, "considered",
			(json_int_t)rep.total, "added", (json_int_t)rep.added, "updated",
			(json_int_t)rep.updated, "removed_count", (json_int_t)rep.removed, "skipped",
			(json_int_t)rep.skipped, "published_count", (json_int_t)rep.published, "rejected",
			(json_int_t)rep.rejected, "cvss_checked", (json_int_t)rep.cvss_checked,
			"cvss_mismatch", (json_int_t)rep.cvss_mismatch, "fetch_seconds",
			rep.fetch_seconds, "sync_seconds", rep.sync_seconds, "kernels", changes);

		cli_print_json(j);
	} else if (!cli->quiet) {
		if (rep.up_to_date)
			fprintf(stderr, "up to date at %.12s: %lu published, %lu rejected\n", rep.to,
				rep.published, rep.rejected);
		else
			fprintf(stderr,
				"synced %s%.12s -> %.12s%s: %lu added, %lu updated, %lu removed, "
				"%lu skipped; %lu published, %lu rejected (%.2fs)\n",
				rep.from[0] ? "" : "(empty)", rep.from, rep.to,
				rep.full ? " (full)" : "", rep.added, rep.updated, rep.removed,
				rep.skipped, rep.published, rep.rejected,
				rep.fetch_seconds + rep.sync_seconds);
		if (rep.cvss_mismatch)
			fprintf(stderr, "%lu CVSS base scores differ from tuxtape's calculation\n",
				rep.cvss_mismatch);
		print_changes(changes);
		json_decref(changes);
	} else {
		json_decref(changes);
	}
	return rep.skipped ? EXIT_PARTIAL : EXIT_OK;
}

static void print_list_plain(json_t *arr)
{
	size_t i;
	json_t *o;

	if (json_array_size(arr) == 0) {
		fprintf(stderr, "no CVEs match\n");
		return;
	}
	if (json_object_get(json_array_get(arr, 0), "status")) {
		printf("%-16s %8s %5s %-13s %s\n", "ID", "PRIORITY", "CVSS", "STATUS", "REASON");
		json_array_foreach(arr, i, o) {
			json_t *score = json_object_get(o, "base_score");
			char sc[8] = "-";

			if (json_is_number(score))
				snprintf(sc, sizeof(sc), "%.1f", json_number_value(score));
			printf("%-16s %8.2f %5s %-13s %s\n", json_string_value(json_object_get(o, "id")),
			       json_number_value(json_object_get(o, "priority")), sc,
			       strempty(json_string_value(json_object_get(o, "status"))),
			       strempty(json_string_value(json_object_get(o, "reason"))));
		}
		return;
	}
	printf("%-16s %8s %5s %-4s %s\n", "ID", "PRIORITY", "CVSS", "KEV", "TITLE");
	json_array_foreach(arr, i, o) {
		json_t *score = json_object_get(o, "base_score");
		char sc[8] = "-";

		if (json_is_number(score))
			snprintf(sc, sizeof(sc), "%.1f", json_number_value(score));
		printf("%-16s %8.2f %5s %-4s %s\n", json_string_value(json_object_get(o, "id")),
		       json_number_value(json_object_get(o, "priority")), sc,
		       json_is_true(json_object_get(o, "kev")) ? "yes" : "",
		       strempty(json_string_value(json_object_get(o, "title"))));
	}
}

static int cmd_cve_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "min-score", required_argument, NULL, 's' },
		{ "since", required_argument, NULL, 'S' },
		{ "file", required_argument, NULL, 'f' },
		{ "kev", no_argument, NULL, 'k' },
		{ "state", required_argument, NULL, 't' },
		{ "limit", required_argument, NULL, 'n' },
		{ "kernel", required_argument, NULL, 'K' },
		{ "status", required_argument, NULL, 'T' },
		{ "unscored", no_argument, NULL, 'u' },
		{ "undated", no_argument, NULL, 'd' },
		{ "severity", required_argument, NULL, 'V' },
		{ "fix-commit", required_argument, NULL, 'F' },
		{ "untriaged", no_argument, NULL, 'U' },
		{ "triaged", no_argument, NULL, 'A' },
		{ "format", required_argument, NULL, 'O' },
		CLI_HELP_OPTION,
		{},
	};
	struct cve_list_filter f = {};
	struct cve_list_omitted om = {};
	_cleanup_free_ char *sev = NULL, *fix = NULL;
	bool show_triaged = false, csv = false;
	struct tt_store *s;
	json_t *arr;
	int c, r;

	FOR_EACH_OPTION(c, argc, argv, "hn:", opts)
	{
		switch (c) {
		case 's':
			if (cli_parse_double(cli, "--min-score", optarg, &f.min_score))
				return EXIT_USAGE;
			if (f.min_score < 0 || f.min_score > 10)
				return cli_usage_error(cli, "--min-score: %s is outside 0-10", optarg);
			f.has_min_score = true;
			break;
		case 'S':
			if (strlen(optarg) < 4 || strspn(optarg, "0123456789-") != strlen(optarg))
				return cli_usage_error(cli, "--since: '%s' is not a date (YYYY-MM-DD)",
						       optarg);
			f.since = optarg;
			break;
		case 'f':
			f.file_glob = optarg;
			break;
		case 'k':
			f.kev_only = true;
			break;
		case 't':
			if (!streq(optarg, "published") && !streq(optarg, "rejected") &&
			    !streq(optarg, "all"))
				return cli_usage_error(
					cli, "--state: '%s' is not published, rejected or all", optarg);
			f.state = optarg;
			break;
		case 'n': {
			char *end;
			long n = strtol(optarg, &end, 10);

			if (*end || n < 0)
				return cli_usage_error(cli, "--limit: '%s' is not a count", optarg);
			f.limit = (size_t)n;
			break;
		}
		case 'K':
			f.kernel = optarg;
			break;
		case 'T': {
			enum verdict_status vs;

			if (verdict_status_from_string(optarg, &vs) < 0)
				return cli_usage_error(cli,
						       "--status: '%s' is not affected, not-compiled, "
						       "fixed, not-affected or unknown",
						       optarg);
			f.status = optarg;
			break;
		}
		case 'u':
			f.include_unscored = true;
			break;
		case 'd':
			f.include_undated = true;
			break;
		case 'V': {
			static const char *const levels[] = { "critical", "high", "medium", "low",
							      "none" };

			free(sev);
			sev = strdup(optarg);
			if (!sev)
				return EXIT_ERROR;
			for (char *p = sev; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			for (const char *p = sev; *p;) {
				size_t n = strcspn(p, ","), k;

				for (k = 0; k < ARRAY_SIZE(levels); k++)
					if (strlen(levels[k]) == n && strncmp(p, levels[k], n) == 0)
						break;
				if (k == ARRAY_SIZE(levels))
					return cli_usage_error(cli,
							       "--severity: '%s' is not a list of "
							       "critical, high, medium, low, none",
							       optarg);
				p += n + (p[n] == ',');
			}
			f.severities = sev;
			break;
		}
		case 'F':
			free(fix);
			fix = strdup(optarg);
			if (!fix)
				return EXIT_ERROR;
			for (char *p = fix; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			if (strlen(fix) < 7 || strlen(fix) > 40 ||
			    strspn(fix, "0123456789abcdef") != strlen(fix))
				return cli_usage_error(cli,
						       "--fix-commit: '%s' is not a commit id (7 to 40 "
						       "hex digits)",
						       optarg);
			f.fix_commit = fix;
			break;
		case 'U':
			f.untriaged_only = true;
			break;
		case 'A':
			show_triaged = true;
			break;
		case 'O':
			if (streq(optarg, "csv"))
				csv = true;
			else if (streq(optarg, "json"))
				cli->json = true;
			else if (!streq(optarg, "text"))
				return cli_usage_error(cli, "--format: '%s' is not text, json or csv",
						       optarg);
			break;
		case 'h':
			return cli_help(cli,
					"  --min-score X    best CVSS base score at least X\n"
					"  --since DATE     published on or after DATE (the vulns commit that\n"
					"                   first added the record, else NVD's date)\n"
					"  --file GLOB      a program file of the fix matches GLOB\n"
					"                   (e.g. 'net/ipv4/*')\n"
					"  --kev            only CVEs in CISA's Known Exploited catalogue\n"
					"  --state S        published (default), rejected or all\n"
					"  -n, --limit N    at most N CVEs\n"
					"  --kernel NAME    with the verdict for this inventory kernel\n"
					"  --status S       with --kernel: only affected, not-compiled,\n"
					"                   fixed, not-affected or unknown\n"
					"  --triaged        with --kernel: keep CVEs triaged for it (left\n"
					"                   out by default, and counted on stderr)\n"
					"  --severity L,..  CVSS severity among critical, high, medium, low\n"
					"  --fix-commit ID  CVEs a fix commit (full or 7+ digits) fixes\n"
					"  --unscored       keep CVEs without a score under --min-score or\n"
					"                   --severity (shown with CVSS '-')\n"
					"  --undated        keep CVEs without a date under --since\n"
					"  --format F       text (default), json (as --json) or csv\n"
					"\nA CVE a filter cannot judge (no score, no date) is left out and\n"
					"counted on stderr, naming the option that shows it.\n"
					"\nSorted by priority: known-exploited first, then CVSS, then "
					"EPSS\n(priority = 1000*kev + 10*base_score + epss).\n");
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (f.status && !f.kernel)
		return cli_usage_error(cli, "--status needs --kernel");
	if ((f.untriaged_only || show_triaged) && !f.kernel)
		return cli_usage_error(cli, "--triaged needs --kernel");
	/* A decision taken is not news: triaged findings stay out unless asked for. */
	f.untriaged_only = f.kernel && !show_triaged;
	r = cli_store(cli, true, &s);
	if (r < 0)
		return EXIT_ERROR;
	r = cve_query_list_counted(s, &f, &arr, &om);
	if (r < 0)
		return EXIT_ERROR;
	/* Never a silently short answer: say what was left out and what shows it (stderr). */
	if (om.unscored && om.unscored_kev)
		log_warn("%lu CVE%s without a CVSS score left out, %lu of them known exploited "
			 "(--unscored shows them)",
			 om.unscored, om.unscored == 1 ? "" : "s", om.unscored_kev);
	else if (om.unscored)
		log_warn("%lu CVE%s without a CVSS score left out (--unscored shows them)",
			 om.unscored, om.unscored == 1 ? "" : "s");
	if (om.undated)
		log_warn("%lu CVE%s without a publication date left out (--undated shows them)",
			 om.undated, om.undated == 1 ? "" : "s");
	if (om.triaged && !cli->quiet)
		fprintf(stderr, "%lu triaged CVE%s left out (--triaged shows them)\n",
			om.triaged, om.triaged == 1 ? "" : "s");
	if (csv) {
		static const char *const cols[] = { "id",	   "priority", "base_score",
						    "severity",	   "kev",      "epss",
						    "published",   "date_source", "title",
						    "kernel",	   "status",   "reason",
						    "triage.state" };

		return cli_print_csv(arr, cols, f.kernel ? ARRAY_SIZE(cols) : 9);
	}
	if (cli->json)
		return cli_print_json(arr);
	print_list_plain(arr);
	json_decref(arr);
	return EXIT_OK;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void print_show_plain(json_t *o)
{
	json_t *v, *e;
	size_t i;

	printf("%s (%s)\n", jstr(o, "id"), jstr(o, "state"));
	printf("title:      %s\n", strempty(jstr(o, "title")));
	{
		static const char *const sources[][2] = {
			{ "record", "the record's own date" },
			{ "vulns-history", "the vulns commit that first added the record" },
			{ "nvd", "NVD's publication date" },
			{ "first-seen", "first seen by tuxtape: no better source" },
		};
		const char *src = strempty(jstr(o, "date_source"));

		for (size_t k = 0; k < ARRAY_SIZE(sources); k++)
			if (streq(src, sources[k][0]))
				src = sources[k][1];
		printf("published:  %s (%s%s%.12s)\n", strempty(jstr(o, "published")), src,
		       jstr(o, "published_commit") ? ", " : "",
		       strempty(jstr(o, "published_commit")));
	}
	printf("priority:   %.2f\n", json_number_value(json_object_get(o, "priority")));
	if ((v = json_object_get(o, "kev_entry")) && json_is_object(v))
		printf("kev:        known exploited, added %s\n", strempty(jstr(v, "date_added")));
	if (json_is_number(v = json_object_get(o, "epss")))
		printf("epss:       %.5f (percentile %.5f)\n", json_number_value(v),
		       json_number_value(json_object_get(o, "epss_percentile")));
	json_array_foreach(json_object_get(o, "cvss"), i, e) {
		json_t *bs = json_object_get(e, "base_score"), *cs = json_object_get(e, "computed_score");

		printf("cvss %s:   %s  %s (%s", jstr(e, "version"), jstr(e, "vector"),
		       jstr(e, "severity") ? jstr(e, "severity") : "-", jstr(e, "source"));
		if (json_is_number(bs))
			printf(", stated %.1f", json_number_value(bs));
		if (json_is_number(cs))
			printf(", computed %.1f", json_number_value(cs));
		printf(")\n");
	}
	printf("files:     ");
	json_array_foreach(json_object_get(o, "program_files"), i, e)
		printf(" %s", json_string_value(e));
	printf("\n");
	json_array_foreach(json_object_get(o, "dyad"), i, e)
		printf("dyad:       %s:%.12s -> %s:%.12s\n", jstr(e, "introduced_version"),
		       jstr(e, "introduced_commit"), jstr(e, "fixed_version"), jstr(e, "fixed_commit"));
	json_array_foreach(json_object_get(o, "fix_commits"), i, e)
		printf("fix:        %s\n", json_string_value(e));
	if ((v = json_object_get(o, "verdicts")) && json_array_size(v)) {
		json_array_foreach(v, i, e) {
			json_t *t = json_object_get(e, "triage");

			printf("kernel:     %-16s %-13s %s\n", jstr(e, "kernel"), jstr(e, "status"),
			       strempty(jstr(e, "reason")));
			if (json_is_object(t))
				printf("            triaged %s by %s%s%s%s%s\n", jstr(t, "state"),
				       jstr(t, "who") ? jstr(t, "who") : "-",
				       jstr(t, "expires") ? " until " : "", strempty(jstr(t, "expires")),
				       jstr(t, "note") ? ": " : "", strempty(jstr(t, "note")));
		}
	}
	printf("\n%s\n", strempty(jstr(o, "description")));
}

static int cmd_cve_show(struct cli *cli, int argc, char **argv)
{
	char id[32];
	struct tt_store *s;
	json_t *o;
	int r;

	if ((r = cli_parse_no_options(cli, argc, argv, 1, "one CVE id")) >= 0)
		return r;
	r = cli_store(cli, true, &s);
	if (r < 0)
		return EXIT_ERROR;
	if (cve_id_normalise(argv[optind], id, sizeof(id)) < 0)
		return cli_usage_error(cli, "'%s' is not a CVE id (CVE-YYYY-NNNN)", argv[optind]);
	r = cve_query_show(s, id, &o);
	if (r == -ENOENT) {
		_cleanup_free_ char *commit = NULL;

		tt_store_meta_get(s, "vulns_commit", &commit);
		if (!commit)
			log_error("no CVE '%s': the database is empty (run 'tuxtape cve sync')", id);
		else
			log_error("no CVE '%s' in the kernel CNA's records (vulns %.12s): tuxtape knows "
				  "only CVEs the Linux kernel CNA assigned or took over; another "
				  "CNA's id is not a kernel record",
				  id, commit);
		return EXIT_ERROR;
	}
	if (r < 0)
		return EXIT_ERROR;
	if (cli->json)
		return cli_print_json(o);
	print_show_plain(o);
	json_decref(o);
	return EXIT_OK;
}

/* Which CVEs affect a version, or are fixed in it, without registering a kernel. */
static int cmd_cve_version(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fixed", no_argument, NULL, 'f' },
		{ "fixed-in", no_argument, NULL, 'i' },
		{ "unknown", no_argument, NULL, 'u' },
		{ "all", no_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'O' },
		CLI_HELP_OPTION,
		{},
	};
	enum version_query what = VERSION_QUERY_VULNERABLE;
	struct kernel_version v;
	const char *label = "vulnerable in";
	char vs[32];
	struct tt_store *s;
	bool csv = false;
	json_t *arr, *e;
	size_t i;
	int c;

	FOR_EACH_OPTION(c, argc, argv, "h", opts)
	{
		switch (c) {
		case 'f':
			what = VERSION_QUERY_FIXED;
			label = "fixed in";
			break;
		case 'i':
			what = VERSION_QUERY_FIXED_IN;
			label = "fixed by the step to";
			break;
		case 'u':
			what = VERSION_QUERY_UNKNOWN;
			label = "undecided by the records for";
			break;
		case 'a':
			what = VERSION_QUERY_ALL;
			label = "judged for";
			break;
		case 'O':
			if (streq(optarg, "csv"))
				csv = true;
			else if (streq(optarg, "json"))
				cli->json = true;
			else if (!streq(optarg, "text"))
				return cli_usage_error(cli, "--format: '%s' is not text, json or csv",
						       optarg);
			break;
		case 'h':
			return cli_help(cli,
					"  (default)        CVEs whose records make VERSION vulnerable\n"
					"  --fixed          CVEs VERSION carries the fix of\n"
					"  --fixed-in       CVEs fixed in VERSION but not in the release\n"
					"                   before it on its branch (what the step fixes)\n"
					"  --unknown        CVEs whose records do not say\n"
					"  --all            every CVE with its version state\n"
					"  --format F       text (default), json (as --json) or csv\n"
					"\nThe version logic alone, as the CNA's strak: no kernel is\n"
					"registered and compiled files are not considered, so 'vulnerable'\n"
					"is an upper bound; 'kernel add' gives a kernel's own verdicts.\n");
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "expected one VERSION (e.g. 6.1.150)");
	if (kernel_version_parse(argv[optind], NULL, NULL, &v, NULL) < 0)
		return EXIT_USAGE;
	kernel_version_format(&v, vs, sizeof(vs));
	if (cli_store(cli, true, &s) < 0 || verdicts_for_version(s, &v, what, &arr) < 0)
		return EXIT_ERROR;
	if (csv) {
		static const char *const cols[] = { "id", "version_state", "reason" };

		return cli_print_csv(arr, cols, ARRAY_SIZE(cols));
	}
	if (cli->json)
		return cli_print_json(json_pack("{s:i s:s s:s s:o}", "schema_version",
						TT_JSON_SCHEMA_VERSION, "version", vs, "question",
						what == VERSION_QUERY_VULNERABLE ? "vulnerable"
						: what == VERSION_QUERY_FIXED	 ? "fixed"
						: what == VERSION_QUERY_FIXED_IN ? "fixed-in"
						: what == VERSION_QUERY_UNKNOWN	 ? "unknown"
										 : "all",
						"cves", arr));
	json_array_foreach(arr, i, e)
		printf("%-16s %-13s %s\n", json_string_value(json_object_get(e, "id")),
		       json_string_value(json_object_get(e, "version_state")),
		       json_string_value(json_object_get(e, "reason")));
	if (!cli->quiet)
		fprintf(stderr, "%zu CVEs %s %s (version logic only: compiled files not considered)\n",
			json_array_size(arr), label, vs);
	json_decref(arr);
	return EXIT_OK;
}

static void print_counts(const char *label, json_t *o)
{
	const char *k;
	json_t *v;

	printf("%s", label);
	json_object_foreach(o, k, v)
		printf(" %s=%lld", k, (long long)json_integer_value(v));
	printf("\n");
}

static int cmd_cve_stats(struct cli *cli, int argc, char **argv)
{
	struct tt_store *s;
	json_t *o;
	int r;

	if ((r = cli_parse_no_options(cli, argc, argv, 0, NULL)) >= 0)
		return r;
	r = cli_store(cli, true, &s);
	if (r < 0)
		return EXIT_ERROR;
	r = cve_query_stats(s, &o);
	if (r < 0)
		return EXIT_ERROR;
	if (cli->json)
		return cli_print_json(o);
	printf("vulns commit:   %s\n", strempty(jstr(o, "vulns_commit")));
	printf("vulns url:      %s\n", strempty(jstr(o, "vulns_url")));
	printf("synced at:      %s\n", strempty(jstr(o, "synced_at")));
	print_counts("records:       ", json_object_get(o, "by_state"));
	print_counts("severity:      ", json_object_get(o, "by_severity"));
	printf("cvss vectors:   %lld (%lld differ from tuxtape's own calculation)\n",
	       (long long)json_integer_value(json_object_get(o, "cvss_vectors")),
	       (long long)json_integer_value(json_object_get(o, "cvss_mismatches")));
	printf("nvd scored:     %lld\n", (long long)json_integer_value(json_object_get(o, "nvd_scored")));
	printf("kev:            %lld\n", (long long)json_integer_value(json_object_get(o, "kev_count")));
	printf("epss:           %lld\n", (long long)json_integer_value(json_object_get(o, "epss_count")));
	printf("skipped:        %lld\n",
	       (long long)json_integer_value(json_object_get(o, "skipped_records")));
	print_counts("by year:       ", json_object_get(o, "by_year"));
	json_decref(o);
	return EXIT_OK;
}

const struct cmd cmd_cve_table[] = {
	{ "sync", cmd_cve_sync, NULL, "[--repo URL|PATH] [--rev REV] [--offline] [--full]",
	  "clone or fetch the kernel CNA's vulns repository and update the database" },
	{ "enrich", cmd_cve_enrich, NULL, "[--nvd] [--kev FILE|URL] [--epss FILE|URL] ...", "add NVD scores, CISA KEV and FIRST EPSS data" },
	{ "list", cmd_cve_list, NULL,
	  "[--min-score X] [--since DATE] [--file GLOB] [--kev] [--state S] [-n N] "
	  "[--kernel NAME [--status S]]",
	  "list CVEs by priority" },
	{ "show", cmd_cve_show, NULL, "ID", "show one CVE in full" },
	{ "version", cmd_cve_version, NULL, "VERSION [--fixed|--fixed-in|--unknown|--all]",
	  "which CVEs affect a version, or are fixed in it, without a registered kernel" },
	{ "stats", cmd_cve_stats, NULL, "", "counts and the sync state" },
	{ "patch", cmd_cve_patch, NULL, "ID --kernel NAME --linux-repo PATH [-o FILE]",
	  "write a CVE's fix for one kernel as format-patch mail" },
	{},
};
