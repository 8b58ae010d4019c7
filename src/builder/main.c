/* tuxtape-builder: reads its command line and runs the library's builder loop (lib/server). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "server/builder.h"
#include "server/client.h"
#include "strbuf.h"

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 64 };

#define MAX_KERNELS 32
#define LOG_MAX (1024 * 1024)

static volatile sig_atomic_t stop;
static struct strbuf job_log;

static void on_signal(int sig)
{
	stop = 1;
}

static void log_cb(enum tt_log_level level, const char *msg, void *userdata)
{
	fprintf(stderr, "tuxtape-builder: %s%s\n", level == TT_LOG_WARN ? "warning: " : "", msg);
	strbuf_addf(&job_log, "%s\n", msg);
}

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: tuxtape-builder --server URL --kernel RELEASE... [OPTIONS]\n\n"
		   "Takes build jobs from tuxtape-server: builds each with the library's\n"
		   "livepatch build, boot-tests the module in qemu when --boot-test is given,\n"
		   "and uploads the module, the report and the logs.\n\n"
		   "options:\n"
		   "  --server URL            the server (default $TUXTAPE_SERVER)\n"
		   "  --token-file FILE       the builder token (default $TUXTAPE_TOKEN)\n"
		   "  --ca FILE               the CA of the server's certificate\n"
		   "  --kernel RELEASE        a kernel release it builds for (repeatable)\n"
		   "  --source-tarball FILE   the kernel source (linux-source-*.tar.xz)\n"
		   "  --symbols FILE          the target's kallsyms\n"
		   "  --config-dir DIR        where config-RELEASE files are (/boot)\n"
		   "  --work DIR              per-job directories (/tmp)\n"
		   "  --boot-test SCRIPT      boot-test each module in qemu on its kernel with\n"
		   "                          this harness (qemu-run.sh); 'auto': the installed\n"
		   "                          " TUXTAPE_BOOT_TEST "\n"
		   "  --poll S                idle wait between leases (5)\n"
		   "  --max-jobs N            stop after N jobs\n"
		   "  --exit-when-idle        stop when no job is queued\n"
		   "  -v, --verbose           say what it does\n");
	return status;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"token-file", required_argument, NULL, 't'},
		{"ca", required_argument, NULL, 'c'},
		{"kernel", required_argument, NULL, 'k'},
		{"source-tarball", required_argument, NULL, 'T'},
		{"symbols", required_argument, NULL, 'S'},
		{"config-dir", required_argument, NULL, 'C'},
		{"work", required_argument, NULL, 'w'},
		{"boot-test", required_argument, NULL, 'b'},
		{"poll", required_argument, NULL, 'p'},
		{"max-jobs", required_argument, NULL, 'm'},
		{"exit-when-idle", no_argument, NULL, 'i'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{},
	};
	const char *kernels[MAX_KERNELS + 1] = {}, *token_file = NULL;
	_cleanup_free_ char *token = NULL, *boot_test = NULL;
	struct srv_client_opts co = {.url = getenv("TUXTAPE_SERVER"),
				     .ca_file = getenv("TUXTAPE_CA")};
	struct srv_builder_opts o = {.client = &co,
				     .kernels = kernels,
				     .work_dir = "/tmp",
				     .log = &job_log,
				     .stop = &stop};
	size_t nk = 0;
	int c, verbose = 0, r;

	strbuf_init(&job_log, LOG_MAX);
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			co.url = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'c':
			co.ca_file = optarg;
			break;
		case 'k':
			if (nk == MAX_KERNELS)
				return usage(stderr, EXIT_USAGE);
			kernels[nk++] = optarg;
			break;
		case 'T':
			o.source_tarball = optarg;
			break;
		case 'S':
			o.symbols = optarg;
			break;
		case 'C':
			o.config_dir = optarg;
			break;
		case 'w':
			o.work_dir = optarg;
			break;
		case 'b':
			/* Jobs run elsewhere: the harness must not depend on our cwd. */
			boot_test =
				realpath(streq(optarg, "auto") ? TUXTAPE_BOOT_TEST : optarg, NULL);
			if (!boot_test) {
				fprintf(stderr, "tuxtape-builder: cannot find boot test '%s': %s\n",
					streq(optarg, "auto") ? TUXTAPE_BOOT_TEST : optarg,
					strerror(errno));
				return EXIT_USAGE;
			}
			o.boot_test = boot_test;
			break;
		case 'p':
			o.poll_seconds = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			o.max_jobs = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'i':
			o.exit_when_idle = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			return usage(stdout, EXIT_OK);
		case 'V':
			printf("tuxtape-builder %s\n", TUXTAPE_VERSION);
			return EXIT_OK;
		default:
			return usage(stderr, EXIT_USAGE);
		}
	}
	if (optind != argc || !co.url || !nk || !o.source_tarball) {
		fprintf(stderr, "tuxtape-builder: --server, --kernel and --source-tarball are "
				"required (see 'tuxtape-builder --help')\n");
		return EXIT_USAGE;
	}
	tt_log_set(log_cb, NULL, verbose ? TT_LOG_INFO : TT_LOG_WARN);
	if (token_file) {
		if (srv_client_token_read(token_file, &token) < 0)
			return EXIT_ERROR;
		co.token = token;
	} else {
		co.token = getenv("TUXTAPE_TOKEN");
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	r = srv_builder_run(&o);
	strbuf_release(&job_log);
	return r < 0 ? EXIT_ERROR : EXIT_OK;
}
