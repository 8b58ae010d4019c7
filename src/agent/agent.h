/* tuxtape-agent: the command table and what every subcommand shares. */
#pragma once

#include <stdbool.h>

#include "macro.h"

/* Exit statuses (the TUF conformance contract wants 0 and 1); see tuxtape-agent(8). */
enum {
	AGENT_EXIT_OK = 0,
	AGENT_EXIT_ERROR = 1,
	AGENT_EXIT_REVERTED = 2, /* check: a patch was refused or reverted */
	AGENT_EXIT_USAGE = 64,
};

struct agent_cli {
	int verbose;
	bool json;
	const char *config; /* NULL: the default path, if it exists */
	bool config_given;
};

struct agent_cmd {
	const char *name;
	int (*fn)(struct agent_cli *a, int argc, char **argv);
	const char *args; /* synopsis */
	const char *help; /* one line */
};

int cmd_tuf_client(struct agent_cli *a, int argc, char **argv);
int cmd_status(struct agent_cli *a, int argc, char **argv);
int cmd_uname(struct agent_cli *a, int argc, char **argv);
int cmd_check(struct agent_cli *a, int argc, char **argv);
int cmd_daemon(struct agent_cli *a, int argc, char **argv);
int cmd_revert(struct agent_cli *a, int argc, char **argv);
int cmd_clear(struct agent_cli *a, int argc, char **argv);
int cmd_vex(struct agent_cli *a, int argc, char **argv);
