/* tuxtape fleet: views across every kernel of the inventory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applicability/refresh.h"
#include "cli.h"
#include "store/store.h"

#define BAR_WIDTH 40 /* label 20 + bar 40 + count 10: within 80 columns */

/* UTF-8 blocks when the locale's charset says UTF-8 (LC_ALL, LC_CTYPE, LANG), else '#'. */
static bool utf8_terminal(void)
{
	const char *v = getenv("LC_ALL");

	if (!v || !*v)
		v = getenv("LC_CTYPE");
	if (!v || !*v)
		v = getenv("LANG");
	return v && (strstr(v, "UTF-8") || strstr(v, "utf8") || strstr(v, "UTF8") ||
		     strstr(v, "utf-8"));
}

/* One bar of N out of MAX, in eighths of a cell with UTF-8. */
static void print_bar(const char *label, long long n, long long max, bool utf8, bool color)
{
	static const char *const eighths[] = { "", "\u258f", "\u258e", "\u258d",
					       "\u258c", "\u258b", "\u258a", "\u2589" };
	long long units = max > 0 ? (n * BAR_WIDTH * 8 + max / 2) / max : 0;
	int cells = 0;

	printf("  %-20s ", label);
	if (color)
		fputs("\033[32m", stdout);
	for (; units >= 8; units -= 8, cells++)
		fputs(utf8 ? "\u2588" : "#", stdout);
	if (units > 0 && cells < BAR_WIDTH) {
		fputs(utf8 ? eighths[units] : (units >= 4 ? "#" : ""), stdout);
		cells += utf8 || units >= 4;
	}
	if (color)
		fputs("\033[0m", stdout);
	printf("%*s %8lld\n", BAR_WIDTH - cells, "", n);
}

static void print_funnel(json_t *o)
{
	static const struct {
		const char *key, *label;
	} steps[] = {
		{ "in_data", "in the data" },
		{ "vulnerable_version", "vulnerable version" },
		{ "compiled", "compiled in" },
		{ "livepatch_possible", "livepatchable (est.)" },
	};
	json_t *f = json_object_get(o, "funnel");
	const char *nc = getenv("NO_COLOR");
	bool utf8 = utf8_terminal(), color = isatty(STDOUT_FILENO) && !(nc && *nc);
	long long max = json_integer_value(json_object_get(f, "in_data"));

	printf("%s (%s)\n", json_string_value(json_object_get(o, "kernel")),
	       json_string_value(json_object_get(o, "version")));
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		print_bar(steps[i].label, json_integer_value(json_object_get(f, steps[i].key)), max,
			  utf8, color);
}

static int cmd_fleet_summary(struct cli *cli, int argc, char **argv)
{
	struct tt_store *s;
	json_t *arr, *o;
	size_t i;
	int r;

	bool csv;

	if ((r = cli_parse_format_only(cli, argc, argv, &csv)) >= 0)
		return r;
	if (cli_store(cli, true, &s) < 0 || verdicts_query_summary(s, &arr) < 0)
		return EXIT_ERROR;
	if (csv) {
		static const char *const cols[] = {
			"kernel",	     "release",		  "version",
			"counts.affected", "counts.not-compiled", "counts.fixed",
			"counts.not-affected", "counts.unknown",	  "total"};

		return cli_print_csv(arr, cols, ARRAY_SIZE(cols));
	}
	if (cli->json)
		return cli_print_json(arr);
	if (json_array_size(arr) == 0) {
		fprintf(stderr, "no kernels: add one with 'tuxtape kernel add'\n");
		json_decref(arr);
		return EXIT_OK;
	}
	printf("%-20s %-12s", "KERNEL", "VERSION");
	for (unsigned k = 0; k < _VERDICT_MAX; k++)
		printf(" %12s", verdict_status_to_string(k));
	printf(" %8s\n", "TOTAL");
	json_array_foreach(arr, i, o) {
		json_t *counts = json_object_get(o, "counts");

		printf("%-20s %-12s", json_string_value(json_object_get(o, "kernel")),
		       json_string_value(json_object_get(o, "version")));
		for (unsigned k = 0; k < _VERDICT_MAX; k++)
			printf(" %12lld", (long long)json_integer_value(
						  json_object_get(counts, verdict_status_to_string(k))));
		printf(" %8lld\n", (long long)json_integer_value(json_object_get(o, "total")));
	}
	json_array_foreach(arr, i, o) {
		putchar('\n');
		print_funnel(o);
	}
	json_decref(arr);
	return EXIT_OK;
}

static int cmd_fleet_refresh(struct cli *cli, int argc, char **argv)
{
	struct verdicts_report rep;
	struct tt_store *s;
	int r;

	if ((r = cli_parse_no_options(cli, argc, argv, 0, NULL)) >= 0)
		return r;
	if (cli_store(cli, true, &s) < 0 || verdicts_refresh(s, -1, &rep) < 0)
		return EXIT_ERROR;
	if (cli->json) {
		json_t *counts = json_object();

		for (unsigned k = 0; k < _VERDICT_MAX; k++)
			json_object_set_new(counts, verdict_status_to_string(k),
					    json_integer((json_int_t)rep.by_status[k]));
		return cli_print_json(json_pack("{s:I s:I s:I s:I s:o s:f}", "kernel_count",
						(json_int_t)rep.kernels, "cve_count", (json_int_t)rep.cves,
						"verdict_count", (json_int_t)rep.verdicts, "changed",
						(json_int_t)rep.changed, "counts", counts,
						"refresh_seconds", rep.seconds));
	}
	if (!cli->quiet)
		fprintf(stderr, "%lu verdicts (%lu kernels x %lu CVEs), %lu rows changed, in %.3f s\n",
			rep.verdicts, rep.kernels, rep.cves, rep.changed, rep.seconds);
	return EXIT_OK;
}

const struct cmd cmd_fleet_table[] = {
	{ "refresh", cmd_fleet_refresh, NULL, "",
	  "recompute every kernel's verdicts (sync and kernel add do it by themselves)" },
	{ "summary", cmd_fleet_summary, NULL, "", "verdict counts per kernel and status" },
	{},
};
