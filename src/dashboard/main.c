/* tuxtape-dashboard: reads its command line, picks a data source and runs the screen. */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "log.h"
#include "paths.h"
#include "source.h"
#include "ui.h"
#include "banned.h"

#define TOKEN_FILE_MAX 4096

enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 64,
};

static const char usage[] =
	"usage: tuxtape-dashboard [--db PATH | --server URL] [OPTIONS]\n"
	"\n"
	"A terminal dashboard for triage: CVEs by priority with their verdict per kernel, the\n"
	"kernels, the fleet, raw fixes and exposure over time. Press ? inside for the keys.\n"
	"\n"
	"  --db PATH          a local database (default $TUXTAPE_DB, else\n"
	"                     $XDG_DATA_HOME/tuxtape/tuxtape.db, as tuxtape)\n"
	"  --server URL       a tuxtape-server (https://host:port); the token comes from\n"
	"                     $TUXTAPE_TOKEN, else --token-file\n"
	"  --token-file FILE  a file holding the bearer token\n"
	"  --cacert FILE      CA certificates for the server's TLS certificate\n"
	"  --refresh SECONDS  fetch the fleet's nodes again this often on Fleet (default\n"
	"                     5; 0 never)\n"
	"  --linux-repo PATH  a clone of the stable tree for raw fixes (default\n"
	"                     $TUXTAPE_LINUX_REPO)\n"
	"  --bench-keys KEYS  replay KEYS after loading, time each redraw, then exit\n"
	"                     (j, k, ..., <down> <up> <pgdn> <pgup> <home> <end> <enter>\n"
	"                     <tab> <esc> <left> <right> <resize>)\n"
	"  --bench-out FILE   where --bench-keys writes its figures\n"
	"  -h, --help         this help\n"
	"  --version          print the version\n"
	"\n"
	"Exit status: 0 done, 1 error (no database, no terminal, ...), 64 usage.\n";

static void log_stderr(enum tt_log_level level, const char *msg, void *userdata)
{
	fprintf(stderr, "tuxtape-dashboard: %s%s\n", level == TT_LOG_WARN ? "warning: " : "", msg);
}

static int usage_error(const char *fmt, ...) _printf_(1, 2);
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "tuxtape-dashboard: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'tuxtape-dashboard --help'.\n");
	return EXIT_USAGE;
}

/* The token's first line, without blanks around it. */
static int token_read(const char *path, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	char *s, *e;
	int r;

	r = read_file_capped(path, TOKEN_FILE_MAX, &buf, &len);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
	s = buf + strspn(buf, " \t\r\n");
	e = s + strcspn(s, "\r\n");
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = 0;
	if (!*s)
		return log_error_errno(-EINVAL, "'%s' holds no token", path);
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

int main(int argc, char **argv)
{
	enum { OPT_DB = 256, OPT_SERVER, OPT_TOKEN_FILE, OPT_CACERT, OPT_LINUX, OPT_BENCH,
	       OPT_BENCH_OUT, OPT_VERSION, OPT_REFRESH };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "refresh", required_argument, NULL, OPT_REFRESH },
		{ "linux-repo", required_argument, NULL, OPT_LINUX },
		{ "bench-keys", required_argument, NULL, OPT_BENCH },
		{ "bench-out", required_argument, NULL, OPT_BENCH_OUT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{},
	};
	struct dash_source_config cfg = {};
	_cleanup_free_ char *db = NULL, *token = NULL, *url = NULL;
	const char *token_file = NULL, *bench_keys = NULL, *bench_out = NULL;
	unsigned refresh = 5;
	int c, r;

	setlocale(LC_ALL, "");
	tt_log_set(log_stderr, NULL, TT_LOG_WARN);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DB:
			free(db);
			db = strdup(optarg);
			break;
		case OPT_SERVER:
			free(url);
			url = strdup(optarg);
			break;
		case OPT_TOKEN_FILE:
			token_file = optarg;
			break;
		case OPT_CACERT:
			cfg.cacert = optarg;
			break;
		case OPT_REFRESH: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (!*optarg || *end || v > 86400)
				return usage_error("--refresh: '%s' is not 0-86400 seconds", optarg);
			refresh = (unsigned)v;
			break;
		}
		case OPT_LINUX:
			cfg.linux_repo = optarg;
			break;
		case OPT_BENCH:
			bench_keys = optarg;
			break;
		case OPT_BENCH_OUT:
			bench_out = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return EXIT_OK;
		case OPT_VERSION:
			printf("tuxtape-dashboard %s\n", TUXTAPE_VERSION);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (db && url)
		return usage_error("%s", "--db and --server exclude each other");
	if (url) {
		size_t n = strlen(url);

		if (!startswith(url, "https://"))
			return usage_error("--server: '%s' is not an https:// URL", url);
		while (n && url[n - 1] == '/')
			url[--n] = 0;
		if (getenv("TUXTAPE_TOKEN") && *getenv("TUXTAPE_TOKEN"))
			token = strdup(getenv("TUXTAPE_TOKEN"));
		else if (token_file && token_read(token_file, &token) < 0)
			return EXIT_ERROR;
		if (!token)
			return usage_error("%s", "--server needs a token: $TUXTAPE_TOKEN or --token-file");
		cfg.server_url = url;
		cfg.token = token;
	} else {
		if (!db && tt_path_default_db(&db) < 0)
			return usage_error("%s", "no database path: give --db");
		cfg.db_path = db;
	}
	if (!cfg.linux_repo && getenv("TUXTAPE_LINUX_REPO") && *getenv("TUXTAPE_LINUX_REPO"))
		cfg.linux_repo = getenv("TUXTAPE_LINUX_REPO");
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "tuxtape-dashboard: needs a terminal (stdin and stdout)\n");
		return EXIT_ERROR;
	}
	/* A source that cannot open says so before the screen takes over. */
	{
		_cleanup_source_ struct dash_source *probe = NULL;

		if (dash_source_open(&cfg, &probe) < 0)
			return EXIT_ERROR;
	}
	job_log_init();
	r = ui_run(&cfg, refresh, bench_keys, bench_out);
	tt_log_set(log_stderr, NULL, TT_LOG_WARN);
	if (r < 0) {
		fprintf(stderr, "tuxtape-dashboard: %s\n", strerror(-r));
		return EXIT_ERROR;
	}
	return EXIT_OK;
}
