/* tuxtape-agent: entry point, global options, logging to stderr, the command table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "agent.h"
#include "log.h"

static const struct agent_cmd commands[] = {
	{"status", cmd_status, "[--json]",
	 "the kernel, patches loaded and their transition, CVEs fixed, last check, errors"},
	{"uname", cmd_uname, "", "the effective kernel release (the release and the livepatch)"},
	{"check", cmd_check, "", "poll the archive once; load the newest patch for this kernel"},
	{"daemon", cmd_daemon, "", "poll every interval and watch the kernel log until stopped"},
	{"revert", cmd_revert, "[NAME]", "disable and unload the agent's livepatch (or NAME)"},
	{"clear", cmd_clear, "[NAME|TARGET|SHA256]",
	 "let blocked patches (crashed, reverted, refused) be loaded again"},
	{"vex", cmd_vex, "", "an OpenVEX document for the CVEs the loaded patches fix"},
	{"tuf-client", cmd_tuf_client,
	 "--metadata-dir DIR [--metadata-url URL] ... init ROOT | refresh | download",
	 "the TUF client, with the conformance suite's command line"},
	{},
};

static void log_to_stderr(enum tt_log_level level, const char *msg, void *userdata)
{
	fprintf(stderr, "tuxtape-agent: %s%s\n", level == TT_LOG_WARN ? "warning: " : "", msg);
}

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: tuxtape-agent [-v] [--config FILE] [--json] COMMAND [ARGS...]\n\n"
		   "commands:\n");
	for (const struct agent_cmd *c = commands; c->name; c++)
		fprintf(f, "  %-12s %s\n      %s %s\n", c->name, c->help, c->name, c->args);
	fprintf(f, "\n  -c, --config FILE  the configuration (default /etc/tuxtape/agent.conf)\n"
		   "  --json             JSON on stdout (status, check, vex)\n"
		   "  -v, --verbose      more messages on stderr (twice: debug)\n"
		   "  --version          print the version\n"
		   "Exit status: 0 success, 1 error, 2 check refused or reverted a patch, "
		   "64 usage.\n");
	return status;
}

int main(int argc, char **argv)
{
	struct agent_cli a = {};
	const char *env = getenv("TUXTAPE_AGENT_DEBUG");
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (streq(argv[i], "-v") || streq(argv[i], "--verbose"))
			a.verbose++;
		else if (streq(argv[i], "--json"))
			a.json = true;
		else if ((streq(argv[i], "-c") || streq(argv[i], "--config")) && i + 1 < argc) {
			a.config = argv[++i];
			a.config_given = true;
		} else if (startswith(argv[i], "--config=")) {
			a.config = argv[i] + 9;
			a.config_given = true;
		} else if (streq(argv[i], "-h") || streq(argv[i], "--help"))
			return usage(stdout, AGENT_EXIT_OK);
		else if (streq(argv[i], "--version")) {
			printf("tuxtape-agent %s\n", TUXTAPE_VERSION);
			return AGENT_EXIT_OK;
		} else
			break;
	}
	if (env && *env)
		a.verbose = 2;
	tt_log_set(log_to_stderr, NULL,
		   a.verbose >= 2 ? TT_LOG_DEBUG
		   : a.verbose	  ? TT_LOG_INFO
				  : TT_LOG_WARN);
	if (i >= argc)
		return usage(stderr, AGENT_EXIT_USAGE);
	for (const struct agent_cmd *c = commands; c->name; c++)
		if (streq(c->name, argv[i]))
			return c->fn(&a, argc - i, argv + i);
	fprintf(stderr, "tuxtape-agent: '%s' is not a command\n", argv[i]);
	return usage(stderr, AGENT_EXIT_USAGE);
}
