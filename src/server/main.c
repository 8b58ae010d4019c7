/* tuxtape-server: reads its command line, then serves (lib/server) or manages tokens. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "paths.h"
#include "server/auth.h"
#include "server/server.h"
#include "server/state.h"
#include "strbuf.h"

enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 64,
};

struct ctx {
	const char *db_path, *state_path;
	char *db_alloc, *state_alloc;
	bool json;
	int verbose;
};

struct cmd {
	const char *name;
	int (*fn)(struct ctx *x, int argc, char **argv);
	const char *args;
	const char *help;
};

static void log_to_stderr(enum tt_log_level level, const char *msg, void *userdata)
{
	const int *verbose = userdata;

	/* A request's error goes back to its client; print it only when asked to. */
	if (srv_log_capture(level, msg) && *verbose < 1)
		return;
	fprintf(stderr, "tuxtape-server: %s%s\n", level == TT_LOG_WARN ? "warning: " : "", msg);
}

static int usage_error(const char *fmt, ...) _printf_(1, 2);
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tuxtape-server: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'tuxtape-server --help')\n");
	return EXIT_USAGE;
}

static int print_json(json_t *j)
{
	if (!j)
		return EXIT_ERROR;
	json_dumpf(j, stdout, SRV_JSON_FLAGS);
	fputc('\n', stdout);
	json_decref(j);
	return EXIT_OK;
}

/* --db, else $TUXTAPE_DB or the XDG default; --state, else server.db beside it. */
static int resolve_paths(struct ctx *x)
{
	if (!x->db_path) {
		if (tt_path_default_db(&x->db_alloc) < 0)
			return -ENOMEM;
		x->db_path = x->db_alloc;
	}
	if (!x->state_path) {
		const char *slash = strrchr(x->db_path, '/');

		x->state_alloc = slash ? strdup_printf("%.*s/server.db", (int)(slash - x->db_path),
						       x->db_path)
				       : strdup("server.db");
		if (!x->state_alloc)
			return -ENOMEM;
		x->state_path = x->state_alloc;
	}
	return 0;
}

static void local_actor(struct srv_actor *a, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw)
		snprintf(buf, len, "local:%s", pw->pw_name);
	else
		snprintf(buf, len, "local:uid=%u", (unsigned)getuid());
	*a = (struct srv_actor){buf, NULL, 0, "local"};
}

static int open_state(struct ctx *x, struct srv_state **ret)
{
	if (resolve_paths(x) < 0)
		return -ENOMEM;
	return srv_state_open(x->state_path, ret);
}

static int cmd_token_create(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = {
		{"role", required_argument, NULL, 'r'},
		{"person", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	_cleanup_state_ struct srv_state *st = NULL;
	_cleanup_free_ char *token = NULL;
	const char *role_name = NULL, *person = NULL;
	struct srv_actor by;
	enum srv_role role;
	char who[96];
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			role_name = optarg;
			break;
		case 'p':
			person = optarg;
			break;
		case 'h':
			printf("usage: tuxtape-server token create --role ROLE [--person WHO] NAME\n\n"
			       "Prints a new bearer token once; only its SHA-256 is stored.\n"
			       "Roles: viewer author reviewer publisher builder agent admin.\n"
			       "An agent's token name is its node's name.\n"
			       "--person names who holds it (default: NAME); the two-person rule\n"
			       "compares persons, so give one person's tokens the same --person.\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (!role_name)
		return usage_error("token create: --role is required");
	if (srv_role_from_string(role_name, &role) < 0)
		return usage_error("token create: '%s' is not a role (viewer, author, reviewer, "
				   "publisher, builder, agent, admin)",
				   role_name);
	if (optind + 1 != argc)
		return usage_error("token create: expected one NAME");
	if (open_state(x, &st) < 0)
		return EXIT_ERROR;
	local_actor(&by, who, sizeof(who));
	if (srv_token_create(st, argv[optind], person, role, &by, &token) < 0)
		return EXIT_ERROR;
	if (x->json)
		return print_json(json_pack("{s:s s:s s:s s:s}", "name", argv[optind], "person",
					    person ? person : argv[optind], "role", role_name,
					    "token", token));
	printf("%s\n", token);
	fprintf(stderr, "token '%s' (%s) created: it is shown only now\n", argv[optind], role_name);
	return EXIT_OK;
}

static int cmd_token_list(struct ctx *x, int argc, char **argv)
{
	_cleanup_state_ struct srv_state *st = NULL;
	json_t *arr, *o;
	size_t i;

	if (argc > 1)
		return usage_error("token list: unexpected argument '%s'", argv[1]);
	if (open_state(x, &st) < 0 || srv_token_list(st, &arr) < 0)
		return EXIT_ERROR;
	if (x->json)
		return print_json(arr);
	printf("%-5s %-24s %-16s %-10s %-20s %s\n", "ID", "NAME", "PERSON", "ROLE", "CREATED",
	       "REVOKED");
	json_array_foreach(arr, i, o)
		printf("%-5lld %-24s %-16s %-10s %-20s %s\n",
		       (long long)json_integer_value(json_object_get(o, "id")),
		       json_string_value(json_object_get(o, "name")),
		       json_string_value(json_object_get(o, "person")),
		       json_string_value(json_object_get(o, "role")),
		       json_string_value(json_object_get(o, "created_at")),
		       strempty(json_string_value(json_object_get(o, "revoked_at"))));
	json_decref(arr);
	return EXIT_OK;
}

static int cmd_token_revoke(struct ctx *x, int argc, char **argv)
{
	_cleanup_state_ struct srv_state *st = NULL;
	struct srv_actor by;
	char who[96];

	if (argc != 2 || argv[1][0] == '-')
		return usage_error("token revoke: expected one NAME or #ID");
	if (open_state(x, &st) < 0)
		return EXIT_ERROR;
	local_actor(&by, who, sizeof(who));
	if (srv_token_revoke(st, argv[1], &by) < 0)
		return EXIT_ERROR;
	if (x->json)
		return print_json(json_pack("{s:s}", "revoked", argv[1]));
	fprintf(stderr, "token '%s' revoked\n", argv[1]);
	return EXIT_OK;
}

static const struct cmd token_cmds[] = {
	{"create", cmd_token_create, "--role ROLE [--person WHO] NAME",
	 "make a token (printed once)"},
	{"list", cmd_token_list, "", "every token, revoked ones too"},
	{"revoke", cmd_token_revoke, "NAME|#ID", "revoke a token at once"},
	{},
};

static int cmd_token(struct ctx *x, int argc, char **argv)
{
	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		printf("usage: tuxtape-server [--state PATH] token COMMAND\n\n");
		for (const struct cmd *c = token_cmds; c->name; c++)
			printf("  %-7s %-18s %s\n", c->name, c->args, c->help);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	for (const struct cmd *c = token_cmds; c->name; c++)
		if (streq(c->name, argv[1])) {
			optind = 1;
			return c->fn(x, argc - 1, argv + 1);
		}
	return usage_error("'%s' is not a token command", argv[1]);
}

static int cmd_routes(struct ctx *x, int argc, char **argv)
{
	json_t *arr, *o;
	size_t i;

	if (argc > 2 || (argc == 2 && !streq(argv[1], "--json")))
		return usage_error("routes: unexpected argument '%s'", argv[argc - 1]);
	if (argc == 2)
		x->json = true;
	if (srv_routes_json(&arr) < 0)
		return EXIT_ERROR;
	if (x->json)
		return print_json(arr);
	json_array_foreach(arr, i, o)
	{
		json_t *roles = json_object_get(o, "roles"), *r;
		size_t k;

		printf("%-7s %-30s", json_string_value(json_object_get(o, "method")),
		       json_string_value(json_object_get(o, "path")));
		if (json_is_true(json_object_get(o, "public")))
			printf(" (public)");
		json_array_foreach(roles, k, r) printf(" %s", json_string_value(r));
		printf("\n");
	}
	json_decref(arr);
	return EXIT_OK;
}

static int cmd_openapi(struct ctx *x, int argc, char **argv)
{
	json_t *doc;

	if (srv_openapi(&doc) < 0)
		return EXIT_ERROR;
	return print_json(doc);
}

static const struct cmd commands[] = {
	{"token", cmd_token, "create|list|revoke ...", "manage bearer tokens"},
	{"routes", cmd_routes, "", "every endpoint and the roles that may call it"},
	{"openapi", cmd_openapi, "", "print the OpenAPI document"},
	{},
};

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: tuxtape-server [OPTIONS]                 serve\n"
		   "       tuxtape-server [--db PATH] [--state PATH] COMMAND ...\n\n"
		   "commands:\n");
	for (const struct cmd *c = commands; c->name; c++)
		fprintf(f, "  %-8s %-24s %s\n", c->name, c->args, c->help);
	fprintf(f,
		"\noptions:\n"
		"  --listen ADDR:PORT      where to listen (127.0.0.1:8443; port 0 picks one)\n"
		"  --tls-cert FILE         PEM certificate chain\n"
		"  --tls-key FILE          PEM private key\n"
		"  --tls-client-ca FILE    ask for client certificates from this CA; agent and\n"
		"                          builder tokens then need one naming them (CN)\n"
		"  --db PATH               the CVE database (default: tuxtape's)\n"
		"  --state PATH            the server's database (default: server.db beside --db)\n"
		"  --archive DIR           the archive GET /v1/archive reports on\n"
		"  --kernel-source DIR     kernel tree POST /v1/kernels evaluates configs with\n"
		"  --kernel-source-tarball FILE   or a tarball of one\n"
		"  --threads N             worker threads (4)\n"
		"  --cache-entries N       GET /v1/cves answers kept per worker (64; 0: none)\n"
		"  --max-connections N     open connections at most (256)\n"
		"  --max-body BYTES        largest request body (4194304)\n"
		"  --max-header BYTES      about the largest request line and headers (16384)\n"
		"  --request-timeout S     idle time, and time for a whole body (30)\n"
		"  --stale-after S         a node without a heartbeat this long is stale (300)\n"
		"  --approvals N           approvals a patch revision needs (2)\n"
		"  --allow-untested        publish modules whose boot test was skipped\n"
		"  --artifacts DIR         built modules, reports, logs (artifacts/ beside --state)\n"
		"  --channel NAME=DIR      an archive to publish into by channel (repeatable;\n"
		"                          --archive is channel stable)\n"
		"  --lease S               a builder's lease on a job (120)\n"
		"  --linux-repo DIR        a stable-tree clone: patches from a CVE's raw fix\n"
		"  --json                  JSON output for the commands\n"
		"  -v, --verbose           more messages (twice: every request)\n"
		"  --version               print the version\n");
	return status;
}

static int parse_unsigned(const char *opt, const char *s, unsigned long max, unsigned long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoul(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || *ret == 0 || *ret > max)
		return usage_error("%s: '%s' is not a number in range", opt, s);
	return 0;
}

/*
 * TUXTAPE_SERVER_TEST_KERNEL_PAUSE=before:MS|after:MS, for tests/server/crash.sh only: a kernel
 * add or removal waits MS milliseconds before the CVE database changes or before its audit
 * record, so that the test can kill the server there. Unset, nothing waits; anything but
 * that form stops the server.
 */
#define TEST_KERNEL_PAUSE_ENV "TUXTAPE_SERVER_TEST_KERNEL_PAUSE"

static int test_kernel_pause(struct srv_config *cfg)
{
	const char *v = getenv(TEST_KERNEL_PAUSE_ENV), *ms;
	unsigned long n;
	char *end;

	if (!v)
		return 0;
	ms = strchr(v, ':');
	if (ms && (startswith(v, "before:") || startswith(v, "after:"))) {
		ms++;
		errno = 0;
		n = strtoul(ms, &end, 10);
		if (*ms && !*end && !errno && ms[0] != '-' && n > 0 && n <= 60000) {
			if (v[0] == 'b')
				cfg->test_kernel_pause_before_ms = (unsigned)n;
			else
				cfg->test_kernel_pause_after_ms = (unsigned)n;
			fprintf(stderr,
				"tuxtape-server: warning: %s is set: kernel changes wait %lu ms %s "
				"the CVE database changes (for tests only)\n",
				TEST_KERNEL_PAUSE_ENV, n, v[0] == 'b' ? "before" : "after");
			return 0;
		}
	}
	return usage_error("%s: '%s' is not before:MS or after:MS (1-60000; for tests only)",
			   TEST_KERNEL_PAUSE_ENV, v);
}

static int serve(struct ctx *x, struct srv_config *cfg)
{
	_cleanup_free_ char *config_dir = NULL;
	struct srv *s;
	sigset_t set;
	int sig;

	if (!cfg->listen || !cfg->tls_cert || !cfg->tls_key)
		return usage_error("--listen, --tls-cert and --tls-key are needed to serve");
	if (test_kernel_pause(cfg) != 0)
		return EXIT_USAGE;
	if (resolve_paths(x) < 0)
		return EXIT_ERROR;
	cfg->db_path = x->db_path;
	cfg->state_path = x->state_path;
	{
		const char *slash = strrchr(x->state_path, '/');

		config_dir = slash ? strdup_printf("%.*s/kernel-configs",
						   (int)(slash - x->state_path), x->state_path)
				   : strdup("kernel-configs");
		if (!config_dir)
			return EXIT_ERROR;
		cfg->config_dir = config_dir;
	}
	/* Block the signals before the worker threads exist, so only sigwait() sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (srv_start(cfg, &s) < 0)
		return EXIT_ERROR;
	fprintf(stderr, "tuxtape-server: listening on https://%s (port %u)\n", cfg->listen,
		srv_port(s));
	sigwait(&set, &sig);
	fprintf(stderr, "tuxtape-server: %s, stopping\n", strsignal(sig));
	srv_stop(s);
	return EXIT_OK;
}

enum {
	OPT_LISTEN = 256,
	OPT_CERT,
	OPT_KEY,
	OPT_CA,
	OPT_DB,
	OPT_STATE,
	OPT_ARCHIVE,
	OPT_SOURCE,
	OPT_TARBALL,
	OPT_THREADS,
	OPT_CACHE,
	OPT_MAXCONN,
	OPT_MAXBODY,
	OPT_MAXHDR,
	OPT_TIMEOUT,
	OPT_STALE,
	OPT_JSON,
	OPT_VERSION,
	OPT_APPROVALS,
	OPT_UNTESTED,
	OPT_ARTIFACTS,
	OPT_CHANNEL,
	OPT_LEASE,
	OPT_LINUX_REPO,
};

#define MAX_CHANNELS 16

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"tls-cert", required_argument, NULL, OPT_CERT},
		{"tls-key", required_argument, NULL, OPT_KEY},
		{"tls-client-ca", required_argument, NULL, OPT_CA},
		{"db", required_argument, NULL, OPT_DB},
		{"state", required_argument, NULL, OPT_STATE},
		{"archive", required_argument, NULL, OPT_ARCHIVE},
		{"kernel-source", required_argument, NULL, OPT_SOURCE},
		{"kernel-source-tarball", required_argument, NULL, OPT_TARBALL},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"cache-entries", required_argument, NULL, OPT_CACHE},
		{"max-connections", required_argument, NULL, OPT_MAXCONN},
		{"max-body", required_argument, NULL, OPT_MAXBODY},
		{"max-header", required_argument, NULL, OPT_MAXHDR},
		{"request-timeout", required_argument, NULL, OPT_TIMEOUT},
		{"stale-after", required_argument, NULL, OPT_STALE},
		{"approvals", required_argument, NULL, OPT_APPROVALS},
		{"allow-untested", no_argument, NULL, OPT_UNTESTED},
		{"artifacts", required_argument, NULL, OPT_ARTIFACTS},
		{"channel", required_argument, NULL, OPT_CHANNEL},
		{"lease", required_argument, NULL, OPT_LEASE},
		{"linux-repo", required_argument, NULL, OPT_LINUX_REPO},
		{"json", no_argument, NULL, OPT_JSON},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{},
	};
	static const char *channels[MAX_CHANNELS + 1];
	struct srv_config cfg = {.channels = channels};
	size_t n_channels = 0;
	struct ctx x = {};
	unsigned long n;
	int c, status;

	tt_log_set(log_to_stderr, &x.verbose, TT_LOG_WARN);
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			cfg.listen = optarg;
			break;
		case OPT_CERT:
			cfg.tls_cert = optarg;
			break;
		case OPT_KEY:
			cfg.tls_key = optarg;
			break;
		case OPT_CA:
			cfg.tls_client_ca = optarg;
			break;
		case OPT_DB:
			x.db_path = optarg;
			break;
		case OPT_STATE:
			x.state_path = optarg;
			break;
		case OPT_ARCHIVE:
			cfg.archive_dir = optarg;
			break;
		case OPT_SOURCE:
			cfg.kernel_source = optarg;
			break;
		case OPT_TARBALL:
			cfg.kernel_source_tarball = optarg;
			break;
		case OPT_CACHE:
			/* 0 turns the cache off; parse_unsigned() takes 1 and up. */
			if (streq(optarg, "0"))
				n = 0;
			else if (parse_unsigned("--cache-entries", optarg, 4096, &n))
				return EXIT_USAGE;
			cfg.cache_entries = n ? (unsigned)n : -1u;
			break;
		case OPT_THREADS:
			if (parse_unsigned("--threads", optarg, 64, &n))
				return EXIT_USAGE;
			cfg.threads = (unsigned)n;
			break;
		case OPT_MAXCONN:
			if (parse_unsigned("--max-connections", optarg, 65536, &n))
				return EXIT_USAGE;
			cfg.max_connections = (unsigned)n;
			break;
		case OPT_MAXBODY:
			if (parse_unsigned("--max-body", optarg, 1UL << 30, &n))
				return EXIT_USAGE;
			cfg.max_body = n;
			break;
		case OPT_MAXHDR:
			if (parse_unsigned("--max-header", optarg, 1UL << 20, &n))
				return EXIT_USAGE;
			cfg.max_header = n;
			break;
		case OPT_TIMEOUT:
			if (parse_unsigned("--request-timeout", optarg, 3600, &n))
				return EXIT_USAGE;
			cfg.request_timeout = (unsigned)n;
			break;
		case OPT_STALE:
			if (parse_unsigned("--stale-after", optarg, 86400 * 365, &n))
				return EXIT_USAGE;
			cfg.node_stale_after = (int64_t)n;
			break;
		case OPT_APPROVALS:
			if (parse_unsigned("--approvals", optarg, 16, &n) || !n)
				return usage_error("--approvals: 1-16");
			cfg.approvals = (unsigned)n;
			break;
		case OPT_UNTESTED:
			cfg.allow_untested = true;
			break;
		case OPT_ARTIFACTS:
			cfg.artifact_dir = optarg;
			break;
		case OPT_CHANNEL:
			if (!strchr(optarg, '=') || optarg[0] == '=' || n_channels == MAX_CHANNELS)
				return usage_error("--channel NAME=DIR (at most %d)", MAX_CHANNELS);
			channels[n_channels++] = optarg;
			break;
		case OPT_LEASE:
			if (parse_unsigned("--lease", optarg, 86400, &n) || n < 2)
				return usage_error("--lease: 2-86400 seconds");
			cfg.lease_seconds = (unsigned)n;
			break;
		case OPT_LINUX_REPO:
			cfg.linux_repo = optarg;
			break;
		case OPT_JSON:
			x.json = true;
			break;
		case 'v':
			x.verbose++;
			break;
		case 'h':
			return usage(stdout, EXIT_OK);
		case OPT_VERSION:
			printf("tuxtape-server %s\n", TUXTAPE_VERSION);
			return EXIT_OK;
		default:
			return usage(stderr, EXIT_USAGE);
		}
	}
	tt_log_set(log_to_stderr, &x.verbose,
		   x.verbose >= 2 ? TT_LOG_DEBUG
		   : x.verbose	  ? TT_LOG_INFO
				  : TT_LOG_WARN);
	if (optind < argc) {
		const struct cmd *cmd = NULL;

		for (const struct cmd *k = commands; k->name; k++)
			if (streq(k->name, argv[optind]))
				cmd = k;
		if (!cmd)
			return usage_error("'%s' is not a command", argv[optind]);
		status = cmd->fn(&x, argc - optind, argv + optind);
	} else {
		status = serve(&x, &cfg);
	}
	free(x.db_alloc);
	free(x.state_alloc);
	return status;
}
