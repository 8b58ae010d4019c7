/* tuxtape-agent status, uname, check, daemon, revert, clear, vex: parse, call, print. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "agent/agent.h"
#include "agent/config.h"
#include "log.h"

struct cmd_ctx {
	struct agent_config cfg;
	struct agent *ag;
};

static void ctx_release(struct cmd_ctx *c)
{
	agent_free(c->ag);
	agent_config_release(&c->cfg);
}

/* --help only; every command takes at most MAX_ARGS operands. */
static int parse_argv(int argc, char **argv, const char *synopsis, int max_args)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {}};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		if (c == 'h') {
			printf("usage: tuxtape-agent %s %s\n", argv[0], synopsis);
			return AGENT_EXIT_OK;
		}
		fprintf(stderr, "usage: tuxtape-agent %s %s\n", argv[0], synopsis);
		return AGENT_EXIT_USAGE;
	}
	if (argc - optind > max_args) {
		fprintf(stderr, "tuxtape-agent %s: unexpected argument '%s'\nusage: tuxtape-agent "
				"%s %s\n",
			argv[0], argv[optind + max_args], argv[0], synopsis);
		return AGENT_EXIT_USAGE;
	}
	return -1;
}

static int fail(const struct agent_cli *a, int r)
{
	if (a->json)
		printf("{\"error\": \"%s\"}\n", strerror(-r));
	return AGENT_EXIT_ERROR;
}

static int ctx_open(const struct agent_cli *a, unsigned flags, struct cmd_ctx *c)
{
	const char *path = a->config;
	int r;

	/* The default file is optional (the defaults then apply); a named one is not. */
	if (!path && access(AGENT_CONFIG_DEFAULT_PATH, F_OK) == 0)
		path = AGENT_CONFIG_DEFAULT_PATH;
	r = agent_config_load(path, &c->cfg);
	if (r < 0)
		return r;
	return agent_new(&c->cfg, NULL, flags, &c->ag);
}

static void print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s)
		puts(s);
	free(s);
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void print_status(json_t *st)
{
	json_t *k = json_object_get(st, "kernel"), *p, *v;
	size_t i, j;

	printf("kernel:     %s\n", jstr(k, "release"));
	printf("effective:  %s\n", strempty(jstr(st, "effective_release")));
	printf("build ID:   %s\n", jstr(k, "build_id") ? jstr(k, "build_id") : "unknown");
	printf("last check: %s (%s)\n", jstr(st, "last_check") ? jstr(st, "last_check") : "never",
	       strempty(jstr(st, "last_check_result")));
	if (!json_array_size(json_object_get(st, "patches")))
		printf("patches:    none loaded\n");
	json_array_foreach(json_object_get(st, "patches"), i, p) {
		printf("patch:      %s%s, %s%s\n", jstr(p, "name"),
		       json_is_true(json_object_get(p, "managed")) ? "" : " (not the agent's)",
		       json_is_true(json_object_get(p, "enabled")) ? "enabled" : "disabled",
		       json_is_true(json_object_get(p, "transition")) ? ", in transition" : "");
		if (jstr(p, "target"))
			printf("  target:   %s\n", jstr(p, "target"));
		json_array_foreach(json_object_get(p, "cves"), j, v)
			printf("  fixes:    %s\n", json_string_value(v));
	}
	json_array_foreach(json_object_get(st, "blocked"), i, p)
		printf("blocked:    %s (%s): %s\n", strempty(jstr(p, "livepatch")),
		       strempty(jstr(p, "target")), strempty(jstr(p, "reason")));
	v = json_object_get(st, "errors");
	for (i = json_array_size(v) > 5 ? json_array_size(v) - 5 : 0; i < json_array_size(v); i++)
		printf("error:      %s %s\n", strempty(jstr(json_array_get(v, i), "at")),
		       strempty(jstr(json_array_get(v, i), "message")));
}

int cmd_status(struct agent_cli *a, int argc, char **argv)
{
	struct cmd_ctx c = {};
	json_t *st = NULL;
	int r;

	for (int i = 1; i < argc; i++)
		if (streq(argv[i], "--json")) {
			a->json = true;
			memmove(argv + i, argv + i + 1, (size_t)(argc - i - 1) * sizeof(*argv));
			argc--;
		}
	r = parse_argv(argc, argv, "[--json]", 0);
	if (r >= 0)
		return r;
	r = ctx_open(a, AGENT_READ_ONLY, &c);
	if (r == 0)
		r = agent_status(c.ag, &st);
	ctx_release(&c);
	if (r < 0)
		return fail(a, r);
	if (a->json)
		print_json(st);
	else
		print_status(st);
	json_decref(st);
	return AGENT_EXIT_OK;
}

int cmd_uname(struct agent_cli *a, int argc, char **argv)
{
	_cleanup_free_ char *s = NULL;
	struct cmd_ctx c = {};
	int r;

	r = parse_argv(argc, argv, "", 0);
	if (r >= 0)
		return r;
	r = ctx_open(a, AGENT_READ_ONLY, &c);
	if (r == 0)
		r = agent_uname(c.ag, &s);
	ctx_release(&c);
	if (r < 0)
		return fail(a, r);
	puts(s);
	return AGENT_EXIT_OK;
}

int cmd_check(struct agent_cli *a, int argc, char **argv)
{
	struct cmd_ctx c = {};
	json_t *rep = NULL;
	const char *res;
	int r;

	r = parse_argv(argc, argv, "", 0);
	if (r >= 0)
		return r;
	r = ctx_open(a, 0, &c);
	if (r == 0)
		r = agent_check(c.ag, &rep);
	ctx_release(&c);
	if (r < 0) {
		json_decref(rep);
		return fail(a, r);
	}
	res = jstr(rep, "result");
	if (a->json)
		print_json(rep);
	else if (rep)
		printf("%s%s%s%s%s\n", res, jstr(rep, "target") ? " " : "",
		       strempty(jstr(rep, "target")), jstr(rep, "reason") ? ": " : "",
		       strempty(jstr(rep, "reason")));
	r = streq_ptr(res, "refused") || streq_ptr(res, "reverted") ? AGENT_EXIT_REVERTED
								     : AGENT_EXIT_OK;
	json_decref(rep);
	return r;
}

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	stop_requested = 1;
}

int cmd_daemon(struct agent_cli *a, int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_stop};
	struct cmd_ctx c = {};
	int r;

	r = parse_argv(argc, argv, "", 0);
	if (r >= 0)
		return r;
	/* No SA_RESTART: a stop interrupts the wait on the kernel log at once. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	r = ctx_open(a, 0, &c);
	if (r == 0) {
		log_info("polling '%s' every %us (+ up to %us)", strempty(c.cfg.archive_url),
			 c.cfg.interval_s, c.cfg.jitter_s);
		r = agent_run(c.ag, &stop_requested);
	}
	ctx_release(&c);
	return r < 0 ? AGENT_EXIT_ERROR : AGENT_EXIT_OK;
}

int cmd_revert(struct agent_cli *a, int argc, char **argv)
{
	struct cmd_ctx c = {};
	int r;

	r = parse_argv(argc, argv, "[NAME]", 1);
	if (r >= 0)
		return r;
	r = ctx_open(a, 0, &c);
	if (r == 0)
		r = agent_revert(c.ag, optind < argc ? argv[optind] : NULL,
				 "reverted by the operator");
	ctx_release(&c);
	return r < 0 ? fail(a, r) : AGENT_EXIT_OK;
}

int cmd_clear(struct agent_cli *a, int argc, char **argv)
{
	struct cmd_ctx c = {};
	unsigned n = 0;
	int r;

	r = parse_argv(argc, argv, "[NAME|TARGET|SHA256]", 1);
	if (r >= 0)
		return r;
	r = ctx_open(a, 0, &c);
	if (r == 0)
		r = agent_clear(c.ag, optind < argc ? argv[optind] : NULL, &n);
	ctx_release(&c);
	if (r < 0)
		return fail(a, r);
	if (a->json)
		printf("{\"cleared\": %u}\n", n);
	else
		printf("cleared %u blocked patch%s\n", n, n == 1 ? "" : "es");
	return AGENT_EXIT_OK;
}

int cmd_vex(struct agent_cli *a, int argc, char **argv)
{
	struct cmd_ctx c = {};
	json_t *doc = NULL;
	int r;

	r = parse_argv(argc, argv, "", 0);
	if (r >= 0)
		return r;
	r = ctx_open(a, AGENT_READ_ONLY, &c);
	if (r == 0)
		r = agent_vex(c.ag, &doc);
	ctx_release(&c);
	if (r < 0)
		return fail(a, r);
	print_json(doc);
	json_decref(doc);
	return AGENT_EXIT_OK;
}
