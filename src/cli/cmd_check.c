/*
 * tuxtape check: one exit status for cron and monitoring, like `kcarectl --check`: are there
 * affected CVEs nobody has triaged, at or above a threshold?
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cve/query.h"
#include "log.h"
#include "store/store.h"

/* The ids printed per kernel in text; --json has them all. */
#define CHECK_SHOWN 10

static int kernel_names(struct tt_store *s, const char *only, json_t **ret)
{
	sqlite3_stmt *st;
	json_t *arr = json_array();
	int r;

	if (!arr)
		return -ENOMEM;
	r = tt_store_prepare(s,
			     "SELECT name FROM kernel WHERE ?1 IS NULL OR name = ?1 "
			     "ORDER BY name",
			     &st);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	sqlite3_bind_text(st, 1, only, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, json_string((const char *)sqlite3_column_text(st, 0)));
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		json_decref(arr);
		return tt_store_error(s, "listing kernels");
	}
	*ret = arr;
	return 0;
}

int cmd_check(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"min-score", required_argument, NULL, 's'},
		{"kev", no_argument, NULL, 'k'},
		{"kernel", required_argument, NULL, 'K'},
		{"scored-only", no_argument, NULL, 'S'},
		CLI_HELP_OPTION,
		{},
	};
	struct cve_list_filter f = {
		.include_unscored = true, .untriaged_only = true, .status = "affected"};
	const char *only = NULL;
	json_t *names = NULL, *out, *name;
	unsigned long total = 0;
	struct tt_store *s;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (cli_parse_double(cli, "--min-score", optarg, &f.min_score))
				return EXIT_USAGE;
			if (f.min_score < 0 || f.min_score > 10)
				return cli_usage_error(
					cli, "--min-score: %s is not between 0 and 10", optarg);
			f.has_min_score = true;
			break;
		case 'k':
			f.kev_only = true;
			break;
		case 'K':
			only = optarg;
			break;
		case 'S':
			f.include_unscored = false;
			break;
		case 'h':
			return cli_help(
				cli,
				"  --min-score X    only CVEs whose best CVSS base score is at\n"
				"                   least X; an unscored CVE cannot be judged and\n"
				"                   counts, unless --scored-only\n"
				"  --kev            only known-exploited CVEs (CISA KEV)\n"
				"  --kernel NAME    only this kernel (default: every kernel)\n"
				"  --scored-only    leave unscored CVEs out of --min-score\n"
				"\nExit status: 0 no untriaged affected CVE at or above the\n"
				"threshold, 5 there are some (listed), 1 error, 64 usage.\n");
		default:
			return EXIT_USAGE;
		}
	}
	if (argc > optind)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (cli_store(cli, true, &s) < 0 || kernel_names(s, only, &names) < 0)
		return EXIT_ERROR;
	if (only && json_array_size(names) == 0) {
		json_decref(names);
		log_error("no kernel '%s' in the inventory", only);
		return EXIT_ERROR;
	}
	out = json_array();
	json_array_foreach(names, i, name)
	{
		struct cve_list_omitted om = {};
		unsigned long unscored = 0;
		json_t *arr, *ids, *e;
		size_t j;

		f.kernel = json_string_value(name);
		if (cve_query_list_counted(s, &f, &arr, &om) < 0) {
			json_decref(out);
			json_decref(names);
			return EXIT_ERROR;
		}
		ids = json_array();
		json_array_foreach(arr, j, e)
		{
			json_array_append(ids, json_object_get(e, "id"));
			unscored +=
				f.has_min_score && json_is_null(json_object_get(e, "base_score"));
		}
		total += json_array_size(arr);
		json_array_append_new(
			out, json_pack("{s:s s:I s:I s:I s:I s:o}", "kernel", f.kernel, "findings",
				       (json_int_t)json_array_size(arr), "unscored",
				       (json_int_t)unscored, "triaged_count", (json_int_t)om.triaged,
				       "unscored_left_out", (json_int_t)om.unscored, "ids", ids));
		json_decref(arr);
	}
	json_decref(names);
	if (cli->json) {
		cli_print_json(json_pack("{s:i s:{s:o s:b s:b} s:b s:I s:o}", "schema_version",
					 TT_JSON_SCHEMA_VERSION, "threshold", "min_score",
					 f.has_min_score ? json_real(f.min_score) : json_null(),
					 "kev", f.kev_only, "scored_only", !f.include_unscored,
					 "ok", total == 0, "findings", (json_int_t)total, "kernels",
					 out));
	} else {
		json_t *k;

		json_array_foreach(out, i, k)
		{
			json_t *ids = json_object_get(k, "ids"), *id;
			size_t j;

			if (json_array_size(ids) == 0)
				continue;
			printf("%s: %lld untriaged affected CVEs",
			       json_string_value(json_object_get(k, "kernel")),
			       (long long)json_array_size(ids));
			if (json_integer_value(json_object_get(k, "unscored")))
				printf(" (%lld unscored)", (long long)json_integer_value(
								   json_object_get(k, "unscored")));
			printf(":");
			json_array_foreach(ids, j, id)
			{
				if (j == CHECK_SHOWN) {
					printf(" ...");
					break;
				}
				printf(" %s", json_string_value(id));
			}
			printf("\n");
		}
		if (!cli->quiet && total == 0)
			fprintf(stderr,
				"ok: no untriaged affected CVE at or above the threshold\n");
		json_decref(out);
	}
	return total ? EXIT_FINDINGS : EXIT_OK;
}
