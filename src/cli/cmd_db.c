/* tuxtape db: the database file itself (its integrity). */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "store/store.h"

static int cmd_db_check(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'Q' },
		CLI_HELP_OPTION,
		{},
	};
	_cleanup_free_ char *path = NULL;
	_cleanup_store_ struct tt_store *s = NULL;
	json_t *problems = NULL, *p;
	bool quick = false;
	const char *pragma;
	size_t i, n;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'Q':
			quick = true;
			break;
		case 'h':
			return cli_help(
				cli,
				"  --quick          PRAGMA quick_check (what a writer runs before its\n"
				"                   first commit) instead of the full PRAGMA integrity_check\n"
				"\nPrints 'ok', or one line per problem SQLite found. Never writes to the\n"
				"database. Exit status: 0 ok, 1 damaged (or the check could not run).\n");
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	pragma = quick ? "quick_check" : "integrity_check";

	if (cli_db_path(cli, &path) < 0)
		return EXIT_ERROR;
	if (access(path, F_OK) < 0) {
		log_error("no database at '%s'", path);
		return EXIT_ERROR;
	}
	/* Read-only: a damaged file must not be migrated, or written at all, by its check. */
	r = tt_store_open(path, TT_STORE_READONLY, &s);
	if (r < 0)
		return EXIT_ERROR;
	r = tt_store_check(s, !quick, &problems);
	if (r < 0)
		return EXIT_ERROR;
	n = json_array_size(problems);
	if (cli->json) {
		/* The report is the output: no {"error": ...} after it, so nothing is logged. */
		cli_print_json(json_pack("{s:s s:s s:b s:o}", "database", path, "check", pragma,
					 "ok", n == 0, "problems", problems));
		return n ? EXIT_ERROR : EXIT_OK;
	}
	if (n == 0) {
		json_decref(problems);
		printf("ok\n");
		return EXIT_OK;
	}
	json_array_foreach(problems, i, p)
		printf("%s\n", json_string_value(p));
	json_decref(problems);
	log_error("'%s' is damaged: PRAGMA %s found %zu problem%s; restore it from a backup, or "
		  "move it away and run 'tuxtape cve sync' to rebuild it (kernels must then be "
		  "added again)",
		  path, pragma, n, n == 1 ? "" : "s");
	return EXIT_ERROR;
}

const struct cmd cmd_db_table[] = {
	{ "check", cmd_db_check, NULL, "[--quick]",
	  "check the database file with SQLite's integrity check (exit 1 when damaged)" },
	{},
};
