/* tuxtape cache: what the cache directory holds (prepared trees, sources), and cleaning it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "cli.h"
#include "log.h"

static void print_entry(const json_t *e)
{
	json_int_t bytes = json_integer_value(json_object_get(e, "bytes"));
	time_t used = (time_t)json_integer_value(json_object_get(e, "last_used"));
	const char *src = json_string_value(json_object_get(e, "source"));
	const char *rel = json_string_value(json_object_get(e, "release"));
	char when[32];
	struct tm tm;

	if (!localtime_r(&used, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm))
		snprintf(when, sizeof(when), "?");
	printf("%-8s %8.1f MiB  %s%s  %s", json_string_value(json_object_get(e, "kind")),
	       (double)bytes / (1 << 20), when,
	       json_is_true(json_object_get(e, "in_use")) ? "  in use" : "",
	       json_string_value(json_object_get(e, "path")));
	if (src || rel)
		printf("\n         (%s%s%s)", src ? src : "", rel && *rel ? ", " : "",
		       rel ? rel : "");
	putchar('\n');
}

static int cmd_cache_list(struct cli *cli, int argc, char **argv)
{
	json_t *list = NULL;
	double total = 0;
	int r;

	/* Prepared trees (livepatch build), extracted sources (kernel add), leftovers. */
	r = cli_parse_no_options(cli, argc, argv, 0, NULL);
	if (r >= 0)
		return r;
	if (tt_cache_list(NULL, &list) < 0)
		return EXIT_ERROR;
	if (cli->json)
		return cli_print_json(list);
	for (size_t i = 0; i < json_array_size(list); i++) {
		print_entry(json_array_get(list, i));
		total += (double)json_integer_value(
			json_object_get(json_array_get(list, i), "bytes"));
	}
	printf("%zu entr%s, %.1f MiB\n", json_array_size(list),
	       json_array_size(list) == 1 ? "y" : "ies", total / (1 << 20));
	json_decref(list);
	return EXIT_OK;
}

static int cmd_cache_clean(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"older-than", required_argument, NULL, 'o'},
		{"dry-run", no_argument, NULL, 'n'},
		CLI_HELP_OPTION,
		{},
	};
	struct tt_cache_clean_opts o = {0};
	unsigned long long bytes = 0;
	json_t *gone = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "hn", opts, NULL)) != -1) {
		switch (c) {
		case 'o': {
			char *end;
			double days = strtod(optarg, &end);

			if (end == optarg || *end || days < 0 || days > 36500)
				return cli_usage_error(
					cli, "--older-than: '%s' is not a number of days", optarg);
			o.older_than = (time_t)(days * 86400);
			break;
		}
		case 'n':
			o.dry_run = true;
			break;
		case 'h':
			return cli_help(
				cli,
				"  --older-than DAYS  only entries not used for DAYS (may be "
				"fractional)\n"
				"  -n, --dry-run      say what would be removed\n"
				"\nRemoves cache entries that no run is using: a prepared tree "
				"only "
				"while\nholding its locks, a source not touched for ten minutes, "
				"leftovers of\nkilled runs. The next build or kernel add prepares "
				"what it needs again.\n");
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (tt_cache_clean(&o, &gone, &bytes) < 0)
		return EXIT_ERROR;
	if (cli->json)
		return cli_print_json(json_pack("{s:o, s:I, s:b}", "entries", gone, "bytes",
						(json_int_t)bytes, "dry_run", o.dry_run));
	for (size_t i = 0; i < json_array_size(gone); i++)
		print_entry(json_array_get(gone, i));
	printf("%s %zu entr%s, %.1f MiB\n", o.dry_run ? "would remove" : "removed",
	       json_array_size(gone), json_array_size(gone) == 1 ? "y" : "ies",
	       (double)bytes / (1 << 20));
	json_decref(gone);
	return EXIT_OK;
}

const struct cmd cmd_cache_table[] = {
	{"list", cmd_cache_list, NULL, "", "prepared trees, sources and leftovers in the cache"},
	{"clean", cmd_cache_clean, NULL, "[--older-than DAYS] [--dry-run]",
	 "remove what no run is using"},
	{},
};
