/* tuxtape: entry point, global options and git-style dispatch through command tables. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "cli.h"
#include "cve/query.h"
#include "log.h"
#include "paths.h"
#include "store/store.h"
#include "strbuf.h"

const struct cmd cli_top_table[] = {
	{ "cve", NULL, cmd_cve_table, "COMMAND", "the CVE database: sync, enrich, query" },
	{ "kernel", NULL, cmd_kernel_table, "COMMAND", "the fleet's kernels and their compiled files" },
	{ "fleet", NULL, cmd_fleet_table, "COMMAND", "applicability across all kernels" },
	{ "triage", NULL, cmd_triage_table, "COMMAND", "decisions about a CVE for a kernel" },
	{ "check", cmd_check, NULL, "[--min-score X] [--kev] [--kernel NAME]",
	  "exit 5 when untriaged affected CVEs reach the threshold (cron, monitoring)" },
	{ "livepatch", NULL, cmd_livepatch_table, "COMMAND", "build livepatch modules from fixes" },
	{ "db", NULL, cmd_db_table, "COMMAND", "the database file: integrity check" },
	{ "archive", NULL, cmd_archive_table, "COMMAND", "the signed patch archive (TUF)" },
	{ "cache", NULL, cmd_cache_table, "COMMAND", "prepared kernel trees and sources: list, clean" },
	{ "patch", NULL, cmd_patch_table, "COMMAND", "patches under review on a tuxtape-server" },
	{ "review", NULL, cmd_review_table, "COMMAND", "comment on, approve or reject a patch" },
	{ "publish", cmd_publish, NULL, "ID --channel NAME",
	  "release an approved, tested patch into a channel's archive" },
	{ "withdraw", cmd_withdraw, NULL, "ID [--channel NAME]",
	  "take a published patch out of the archive" },
	{ "exposure", cmd_exposure, NULL, "CVE-ID [--only EXPOSURE]",
	  "the fleet's nodes an affected kernel leaves exposed to a CVE (server)" },
	{ "completion", cmd_completion, NULL, "bash", "print a bash completion script" },
	{},
};

static const char global_options[] =
	"  --db PATH        database file (default $TUXTAPE_DB, else\n"
	"                   $XDG_DATA_HOME/tuxtape/tuxtape.db)\n"
	"  --json           machine-readable output on stdout, errors as {\"error\": ...}\n"
	"  -v, --verbose    more messages on stderr (twice: debug)\n"
	"  -q, --quiet      only errors; no progress\n"
	"  -h, --help       this help; every command has its own\n"
	"  --version        print the version\n";

/* Keeps the last error so --json mode can report it on stdout. */
static char *last_error;
static bool json_mode;

static void log_to_stderr(enum tt_log_level level, const char *msg, void *userdata)
{
	(void)userdata;
	if (level <= TT_LOG_ERR) {
		if (json_mode) {
			free(last_error);
			last_error = strdup(msg);
		} else {
			fprintf(stderr, "tuxtape: %s\n", msg);
		}
		return;
	}
	if (level == TT_LOG_WARN)
		fprintf(stderr, "tuxtape: warning: %s\n", msg);
	else
		fprintf(stderr, "tuxtape: %s\n", msg);
}

struct progress_state {
	struct timespec start;
	char what[64];
	bool drawn;
};

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void progress_to_stderr(const char *what, unsigned long done, unsigned long total,
			       void *userdata)
{
	struct progress_state *ps = userdata;
	double t, rate;

	if (strncmp(ps->what, what, sizeof(ps->what) - 1) != 0) {
		snprintf(ps->what, sizeof(ps->what), "%s", what);
		clock_gettime(CLOCK_MONOTONIC, &ps->start);
	}
	t = since(&ps->start);
	/* A rate from the first few milliseconds says nothing: wait a quarter second. */
	rate = t >= 0.25 ? (double)done / t : 0;
	if (rate == 0)
		fprintf(stderr, "\r%s: %lu/%lu            ", what, done, total);
	else if (total && done < total)
		fprintf(stderr, "\r%s: %lu/%lu, %.0f/s, ETA %.0fs   ", what, done, total, rate,
			(double)(total - done) / rate);
	else
		fprintf(stderr, "\r%s: %lu/%lu, %.0f/s            ", what, done, total, rate);
	ps->drawn = true;
	if (total && done >= total) {
		fputc('\n', stderr);
		ps->drawn = false;
	}
}

int cli_db_path(struct cli *cli, char **ret)
{
	char *path = NULL;

	if (cli->db_path)
		path = strdup(cli->db_path);
	else if (tt_path_default_db(&path) < 0)
		path = NULL;
	if (!path)
		return log_error_errno(-ENOMEM, "out of memory");
	*ret = path;
	return 0;
}

int cli_store(struct cli *cli, bool readonly, struct tt_store **ret)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (!cli->store) {
		r = cli_db_path(cli, &path);
		if (r < 0)
			return r;
		if (readonly && access(path, F_OK) < 0) {
			log_error("no database at '%s': run 'tuxtape cve sync' first", path);
			return -ENOENT;
		}
		r = tt_store_open(path, 0, &cli->store);
		if (r < 0)
			return r;
	}
	*ret = cli->store;
	return 0;
}

int cli_help(struct cli *cli, const char *options)
{
	const struct cmd *c = cli->cmd;

	printf("usage: %s%s%s\n\n%s\n", cli->cmd_path, c->args ? " " : "", strempty(c->args),
	       strempty(c->help));
	if (options && *options)
		printf("\noptions:\n%s", options);
	printf("\nglobal options:\n%s", global_options);
	return EXIT_OK;
}

int cli_usage_error(struct cli *cli, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	log_error("%s (see '%s --help')", strbuf_str(&sb), cli->cmd_path);
	strbuf_release(&sb);
	return EXIT_USAGE;
}

int cli_print_json(json_t *j)
{
	if (!j)
		return log_error_errno(-ENOMEM, "out of memory"), EXIT_ERROR;
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	fputc('\n', stdout);
	json_decref(j);
	return EXIT_OK;
}

int cli_exit(int r)
{
	return r < 0 ? EXIT_ERROR : r;
}

int cli_parse_no_options(struct cli *cli, int argc, char **argv, int nargs, const char *what)
{
	static const struct option opts[] = { CLI_HELP_OPTION, {} };
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		return c == 'h' ? cli_help(cli, NULL) : EXIT_USAGE;
	if (argc - optind == nargs)
		return -1;
	if (!what && argc > optind)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	return cli_usage_error(cli, "expected %s", what ? what : "more arguments");
}

int cli_parse_double(struct cli *cli, const char *opt, const char *s, double *ret)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end)
		return cli_usage_error(cli, "%s: '%s' is not a number", opt, s);
	*ret = d;
	return 0;
}

static void print_table_help(const char *path, const struct cmd *table, FILE *f)
{
	fprintf(f, "usage: %s [global options] COMMAND [ARGS]\n\ncommands:\n", path);
	for (const struct cmd *c = table; c->name; c++)
		fprintf(f, "  %-12s %s\n", c->name, strempty(c->help));
	fprintf(f, "\nglobal options:\n%s", global_options);
	fprintf(f, "\nRun '%s COMMAND --help' for a command's options.\n", path);
}

static int dispatch(struct cli *cli, const struct cmd *table, int argc, char **argv)
{
	const struct cmd *c;
	size_t n;

	if (argc < 1 || streq(argv[0], "--help") || streq(argv[0], "-h") ||
	    streq(argv[0], "help")) {
		print_table_help(cli->cmd_path, table, argc < 1 ? stderr : stdout);
		return argc < 1 ? EXIT_USAGE : EXIT_OK;
	}
	for (c = table; c->name; c++)
		if (streq(c->name, argv[0]))
			break;
	if (!c->name)
		return cli_usage_error(cli, "'%s' is not a command", argv[0]);
	n = strlen(cli->cmd_path);
	snprintf(cli->cmd_path + n, sizeof(cli->cmd_path) - n, " %s", c->name);
	cli->cmd = c;
	if (c->sub)
		return dispatch(cli, c->sub, argc - 1, argv + 1);
	optind = 0; /* fresh getopt state for the command */
	return c->fn(cli, argc, argv);
}

/*
 * Global options may stand anywhere before a "--": they are taken out of argv so that each
 * command's own parser sees only its own options.
 */
static int take_global_options(struct cli *cli, int *argc, char **argv)
{
	int i, o = 1;

	for (i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (streq(a, "--")) {
			while (i < *argc)
				argv[o++] = argv[i++];
			break;
		}
		if (streq(a, "--json")) {
			cli->json = true;
		} else if (streq(a, "-v") || streq(a, "--verbose")) {
			cli->verbose++;
		} else if (streq(a, "-vv")) {
			cli->verbose += 2;
		} else if (streq(a, "-q") || streq(a, "--quiet")) {
			cli->quiet = true;
		} else if (streq(a, "--db")) {
			if (i + 1 >= *argc) {
				fprintf(stderr, "tuxtape: --db needs a path\n");
				return -EINVAL;
			}
			cli->db_path = argv[++i];
		} else if (startswith(a, "--db=")) {
			cli->db_path = a + 5;
		} else {
			argv[o++] = argv[i];
		}
	}
	argv[o] = NULL;
	*argc = o;
	return 0;
}

int main(int argc, char **argv)
{
	struct progress_state ps = {};
	struct cli cli = {};
	enum tt_log_level level;
	int r;

	if (take_global_options(&cli, &argc, argv) < 0)
		return EXIT_USAGE;
	if (argc >= 2 && streq(argv[1], "--version")) {
		/* The arrays (cve list, kernel list, fleet summary) carry no schema_version. */
		if (cli.json)
			return cli_print_json(json_pack("{s:s s:i}", "version", TUXTAPE_VERSION,
							 "schema_version", TT_JSON_SCHEMA_VERSION));
		printf("tuxtape %s\n", TUXTAPE_VERSION);
		return EXIT_OK;
	}
	json_mode = cli.json;
	level = cli.quiet ? TT_LOG_ERR : cli.verbose >= 2 ? TT_LOG_DEBUG
				   : cli.verbose ? TT_LOG_INFO : TT_LOG_WARN;
	tt_log_set(log_to_stderr, NULL, level);
	cli.progress = !cli.quiet && isatty(STDERR_FILENO);
	if (cli.progress)
		tt_progress_set(progress_to_stderr, &ps);
	snprintf(cli.cmd_path, sizeof(cli.cmd_path), "tuxtape");

	r = dispatch(&cli, cli_top_table, argc - 1, argv + 1);

	if (ps.drawn)
		fputc('\n', stderr);
	tt_store_free(cli.store);
	if (json_mode && r != EXIT_OK && r != EXIT_PARTIAL && last_error) {
		json_t *e = json_pack("{s:s}", "error", last_error);

		cli_print_json(e);
	}
	free(last_error);
	return r;
}
