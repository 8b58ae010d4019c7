/* tuxtape fleet: views across every kernel of the inventory. */
#include <stdio.h>

#include "applicability/refresh.h"
#include "cli.h"
#include "store/store.h"

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
		return cli_print_json(json_pack("{s:I s:I s:I s:I s:o s:f}", "kernels",
						(json_int_t)rep.kernels, "cves", (json_int_t)rep.cves,
						"verdicts", (json_int_t)rep.verdicts, "changed",
						(json_int_t)rep.changed, "counts", counts,
						"seconds", rep.seconds));
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
