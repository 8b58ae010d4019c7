/* tuxtape-agent: the command table and what every subcommand shares. */
#pragma once

#include <stdbool.h>

#include "macro.h"

/* Exit statuses (the TUF conformance contract wants 0 and 1). */
enum {
	AGENT_EXIT_OK = 0,
	AGENT_EXIT_ERROR = 1,
	AGENT_EXIT_USAGE = 64,
};

struct agent {
	int verbose;
	const char *prog; /* "tuxtape-agent tuf-client", for messages */
};

struct agent_cmd {
	const char *name;
	int (*fn)(struct agent *a, int argc, char **argv);
	const char *args; /* synopsis */
	const char *help; /* one line */
};

int cmd_tuf_client(struct agent *a, int argc, char **argv);
