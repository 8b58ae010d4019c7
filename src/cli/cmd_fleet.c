/* tuxtape fleet: views across every kernel of the inventory. */
#include <getopt.h>
#include <stdio.h>

#include "applicability/refresh.h"
#include "cli.h"
#include "store/store.h"

static int cmd_fleet_summary(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_HELP_OPTION, {} };
	struct tt_store *s;
	json_t *arr, *o;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(cli, NULL);
		return EXIT_USAGE;
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (cli_store(cli, true, &s) < 0 || verdicts_query_summary(s, &arr) < 0)
		return EXIT_ERROR;
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

const struct cmd cmd_fleet_table[] = {
	{ "summary", cmd_fleet_summary, NULL, "", "verdict counts per kernel and status" },
	{},
};
