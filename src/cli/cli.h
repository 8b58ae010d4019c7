/* The tuxtape program: command tables, global options, output helpers shared by commands. */
#pragma once

#include <stdbool.h>
#include <jansson.h>

#include "macro.h"

struct tt_store;

/* Exit statuses; documented in tuxtape(1). */
enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,    /* the command failed; nothing was changed */
	EXIT_UNSAFE = 2,   /* livepatch: the change was refused as unsafe */
	EXIT_NOCHANGE = 3, /* livepatch: no functional change */
	EXIT_PARTIAL = 4,  /* done, but some input was skipped (warnings say which) */
	EXIT_FINDINGS = 5, /* check: untriaged affected CVEs at or above the threshold */
	EXIT_USAGE = 64,   /* bad command line */
};

struct cli {
	const char *db_path; /* NULL: default */
	bool json;
	int verbose;
	bool quiet;
	bool progress; /* stderr is a terminal and not --quiet */
	struct tt_store *store;
	char cmd_path[128];    /* "tuxtape cve sync", for usage lines */
	const struct cmd *cmd; /* the entry being run */
};

struct cmd {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const struct cmd *sub; /* a table of subcommands, ended by a zeroed entry */
	const char *args;      /* argument synopsis, e.g. "[--rev REV]" */
	const char *help;      /* one line */
};

/* The database path: --db, else $TUXTAPE_DB, else the XDG default. */
int cli_db_path(struct cli *cli, char **ret);
/* Opens the database once (creating it unless READONLY is asked); logs why on failure. */
int cli_store(struct cli *cli, bool readonly, struct tt_store **ret);

/*
 * Prints the usage of the running command: synopsis from its table entry, its help line and
 * OPTIONS (one "  --opt  text" per line, may be NULL). Returns EXIT_OK.
 */
int cli_help(struct cli *cli, const char *options);
/* Reports a command-line error and returns EXIT_USAGE. */
int cli_usage_error(struct cli *cli, const char *fmt, ...) _printf_(2, 3);
/* Prints J (stealing the reference) as the command's JSON output. */
int cli_print_json(json_t *j);
/* Maps a library return code to an exit status (errors were logged already). */
int cli_exit(int r);

/*
 * For commands whose only option is --help: parses argv and checks there are NARGS
 * arguments. Returns -1 to go on (optind at the first argument), else the exit status
 * (help printed, or a usage error: "expected WHAT", or with WHAT NULL "unexpected argument").
 */
int cli_parse_no_options(struct cli *cli, int argc, char **argv, int nargs, const char *what);

/* Parses a double / an unsigned, with an error naming OPT. */
int cli_parse_double(struct cli *cli, const char *opt, const char *s, double *ret);

int cmd_cve_enrich(struct cli *cli, int argc, char **argv);
int cmd_cve_patch(struct cli *cli, int argc, char **argv);
/* cmd_kernel_inventory.c */
int cmd_kernel_add(struct cli *cli, int argc, char **argv);
int cmd_kernel_import_running(struct cli *cli, int argc, char **argv);
int cmd_kernel_list(struct cli *cli, int argc, char **argv);
int cmd_kernel_show(struct cli *cli, int argc, char **argv);
int cmd_kernel_rm(struct cli *cli, int argc, char **argv);
int cmd_kernel_files(struct cli *cli, int argc, char **argv);
int cmd_kernel_set_build(struct cli *cli, int argc, char **argv);
/* main.c's table of top-level commands, which tuxtape completion walks. */
extern const struct cmd cli_top_table[];
int cmd_completion(struct cli *cli, int argc, char **argv);
extern const struct cmd cmd_cve_table[];
extern const struct cmd cmd_kernel_table[];
extern const struct cmd cmd_livepatch_table[];
extern const struct cmd cmd_fleet_table[];
extern const struct cmd cmd_db_table[];
extern const struct cmd cmd_triage_table[];
int cmd_check(struct cli *cli, int argc, char **argv);
/* csv.c: prints ARR's elements as CSV (COLS may name nested keys "a.b"), stealing ARR. */
int cli_print_csv(json_t *arr, const char *const *cols, size_t n_cols);
/* For list commands whose only option is --format text|json|csv: as cli_parse_no_options. */
int cli_parse_format_only(struct cli *cli, int argc, char **argv, bool *ret_csv);
extern const struct cmd cmd_cache_table[];
extern const struct cmd cmd_archive_table[];
/* cmd_server_client.c: the review workflow on a tuxtape-server */
extern const struct cmd cmd_patch_table[];
extern const struct cmd cmd_review_table[];
int cmd_publish(struct cli *cli, int argc, char **argv);
int cmd_withdraw(struct cli *cli, int argc, char **argv);
int cmd_exposure(struct cli *cli, int argc, char **argv);

/* Commands look up their own table entry to print their usage. */
#define CLI_HELP_OPTION {"help", no_argument, NULL, 'h'}
