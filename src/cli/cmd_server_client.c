/*
 * tuxtape patch | review | publish | withdraw: the review workflow on a tuxtape-server, and
 * tuxtape exposure: the fleet's nodes still exposed to a CVE, through the library's API
 * client. These commands only parse and print.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cve/query.h"
#include "fileio.h"
#include "log.h"
#include "server/client.h"
#include "strbuf.h"

#define PATCH_FILE_MAX (1024 * 1024)

enum { OPT_SERVER = 0x100, OPT_TOKEN_FILE, OPT_CA };

#define SERVER_OPTIONS                                                                             \
	{"server", required_argument, NULL, OPT_SERVER},                                           \
		{"token-file", required_argument, NULL, OPT_TOKEN_FILE},                           \
	{                                                                                          \
		"ca", required_argument, NULL, OPT_CA                                              \
	}

#define SERVER_HELP                                                                                \
	"  --server URL       the server (default $TUXTAPE_SERVER)\n"                              \
	"  --token-file FILE  the bearer token (default $TUXTAPE_TOKEN)\n"                         \
	"  --ca FILE          the CA that signed the server's certificate (default $TUXTAPE_CA)\n"

struct conn {
	const char *server, *token_file, *ca;
};

/* Takes one of the shared options; true when C was one. */
static bool conn_option(struct conn *k, int c)
{
	switch (c) {
	case OPT_SERVER:
		k->server = optarg;
		return true;
	case OPT_TOKEN_FILE:
		k->token_file = optarg;
		return true;
	case OPT_CA:
		k->ca = optarg;
		return true;
	}
	return false;
}

static int conn_open(struct cli *cli, struct conn *k, struct srv_client **ret)
{
	_cleanup_free_ char *token = NULL;
	const char *env = getenv("TUXTAPE_TOKEN");
	struct srv_client_opts o = {};
	int r;

	o.url = k->server ? k->server : getenv("TUXTAPE_SERVER");
	o.ca_file = k->ca ? k->ca : getenv("TUXTAPE_CA");
	if (!o.url)
		return cli_usage_error(cli, "--server URL (or $TUXTAPE_SERVER) is required");
	if (k->token_file) {
		if (srv_client_token_read(k->token_file, &token) < 0)
			return EXIT_ERROR;
		o.token = token;
	} else {
		o.token = env;
	}
	r = srv_client_new(&o, ret);
	return r < 0 ? EXIT_ERROR : EXIT_OK;
}

static bool id_valid(const char *s)
{
	return *s && strlen(s) <= 18 && strspn(s, "0123456789") == strlen(s);
}

static void print_patch(const json_t *p)
{
	const json_t *ap = json_object_get(p, "approvals");
	json_t *v;
	size_t i;

	printf("patch %lld  %s  %s  revision %lld  approvals %lld/%lld\n",
	       (long long)json_integer_value(json_object_get(p, "id")),
	       json_string_value(json_object_get(p, "cve")),
	       json_string_value(json_object_get(p, "state")),
	       (long long)json_integer_value(json_object_get(p, "revision")),
	       (long long)json_integer_value(json_object_get(ap, "count")),
	       (long long)json_integer_value(json_object_get(ap, "needed")));
	json_array_foreach(json_object_get(p, "jobs"), i, v)
		printf("  job %lld  %s  rev %lld  %s  build %s  boot %s\n",
		       (long long)json_integer_value(json_object_get(v, "id")),
		       json_string_value(json_object_get(v, "kernel")),
		       (long long)json_integer_value(json_object_get(v, "rev")),
		       json_string_value(json_object_get(v, "state")),
		       json_string_value(json_object_get(v, "build")) ?: "-",
		       json_string_value(json_object_get(v, "boot")) ?: "-");
	json_array_foreach(json_object_get(p, "reviews"), i, v)
		printf("  review rev %lld  %s  %s%s%s\n",
		       (long long)json_integer_value(json_object_get(v, "rev")),
		       json_string_value(json_object_get(v, "reviewer")),
		       json_string_value(json_object_get(v, "verdict")),
		       json_string_value(json_object_get(v, "comment")) ? ": " : "",
		       json_string_value(json_object_get(v, "comment")) ?: "");
	json_array_foreach(json_object_get(p, "publications"), i, v)
		printf("  published on %s%s\n", json_string_value(json_object_get(v, "channel")),
		       json_is_null(json_object_get(v, "withdrawn_at")) ? "" : " (withdrawn)");
}

/* Prints the answer J (stolen): as JSON, or through PLAIN. */
static int answer(struct cli *cli, json_t *j, void (*plain)(const json_t *))
{
	if (cli->json)
		return cli_print_json(j);
	if (plain && !cli->quiet)
		plain(j);
	json_decref(j);
	return EXIT_OK;
}

static int call(struct cli *cli, struct conn *k, const char *method, const char *path, json_t *body,
		void (*plain)(const json_t *))
{
	struct srv_client *c = NULL;
	json_t *j = NULL;
	int r;

	r = conn_open(cli, k, &c);
	if (r != EXIT_OK) {
		json_decref(body);
		return r;
	}
	r = srv_client_call(c, method, path, body, &j);
	srv_client_free(c);
	json_decref(body);
	if (r < 0)
		return EXIT_ERROR;
	return answer(cli, j, plain);
}

static int read_patch(const char *path, char **ret)
{
	int r = read_file_capped(path, PATCH_FILE_MAX, ret, NULL);

	if (r < 0)
		log_error("cannot read '%s': %s", path, strerror(-r));
	return r;
}

static int cmd_patch_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		SERVER_OPTIONS,
		{"cve", required_argument, NULL, 'c'},
		{"kernel", required_argument, NULL, 'k'},
		{"patch", required_argument, NULL, 'p'},
		{"fix-kernel", required_argument, NULL, 'f'},
		{"title", required_argument, NULL, 't'},
		{"note", required_argument, NULL, 'n'},
		{"force", no_argument, NULL, 'F'},
		CLI_HELP_OPTION,
		{},
	};
	const char *cve = NULL, *file = NULL, *fix = NULL, *title = NULL, *note = NULL;
	_cleanup_free_ char *text = NULL;
	struct conn k = {};
	json_t *kernels = json_array(), *body;
	bool force = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (conn_option(&k, c))
			continue;
		switch (c) {
		case 'c':
			cve = optarg;
			break;
		case 'k':
			json_array_append_new(kernels, json_string(optarg));
			break;
		case 'p':
			file = optarg;
			break;
		case 'f':
			fix = optarg;
			break;
		case 't':
			title = optarg;
			break;
		case 'n':
			note = optarg;
			break;
		case 'F':
			force = true;
			break;
		case 'h':
			json_decref(kernels);
			return cli_help(
				cli,
				"  --cve ID           the CVE the patch fixes\n"
				"  --kernel RELEASE   a target kernel (uname -r); repeatable\n"
				"  --patch FILE       the diff, or:\n"
				"  --fix-kernel NAME  start from the CVE's raw fix for this\n"
				"                     inventory kernel (the server's cve patch)\n"
				"  --force            with --fix-kernel: even for a kernel whose verdict\n"
				"                     says it needs no fix (refused otherwise)\n"
				"  --title TEXT, --note TEXT\n" SERVER_HELP);
		default:
			json_decref(kernels);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || !cve || !json_array_size(kernels) || !file == !fix) {
		json_decref(kernels);
		return cli_usage_error(cli, "--cve, --kernel and one of --patch or --fix-kernel");
	}
	if (file && read_patch(file, &text) < 0) {
		json_decref(kernels);
		return EXIT_ERROR;
	}
	body = json_pack("{s:s s:o s:s* s:s* s:s* s:s*}", "cve", cve, "kernels", kernels, "patch",
			 text, "fix_kernel", fix, "title", title, "note", note);
	if (body && force)
		json_object_set_new(body, "force", json_true());
	return call(cli, &k, "POST", "/v1/patches", body, print_patch);
}

/* Parses the shared options, MORE (letters handled by FN), and one patch id. */
static int parse_id_cmd(struct cli *cli, int argc, char **argv, const struct option *opts,
			struct conn *k, const char *help, bool (*fn)(int c, void *ud), void *ud,
			const char **ret_id)
{
	int c;

	while ((c = getopt_long(argc, argv, "hm:", opts, NULL)) != -1) {
		if (conn_option(k, c))
			continue;
		if (c == 'h') {
			cli_help(cli, help);
			return EXIT_OK;
		}
		if (!fn || !fn(c, ud))
			return EXIT_USAGE;
	}
	if (optind + 1 != argc || !id_valid(argv[optind]))
		return cli_usage_error(cli, "expected one patch id (a number)");
	*ret_id = argv[optind];
	return -1;
}

struct edit_args {
	const char *file, *note, *message, *channel, *reason, *state;
	long rev;
	bool diff;
};

static bool edit_opt(int c, void *ud)
{
	struct edit_args *a = ud;

	switch (c) {
	case 'p':
		a->file = optarg;
		return true;
	case 'n':
		a->note = optarg;
		return true;
	case 'm':
		a->message = optarg;
		return true;
	case 'c':
		a->channel = optarg;
		return true;
	case 'r':
		a->reason = optarg;
		return true;
	case 'd':
		a->diff = true;
		return true;
	case 'R':
		a->rev = strtol(optarg, NULL, 10);
		return a->rev > 0;
	}
	return false;
}

static int cmd_patch_edit(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		SERVER_OPTIONS,
		{"patch", required_argument, NULL, 'p'},
		{"note", required_argument, NULL, 'n'},
		CLI_HELP_OPTION,
		{},
	};
	_cleanup_free_ char *text = NULL, *path = NULL;
	struct edit_args a = {};
	struct conn k = {};
	const char *id;
	int r;

	r = parse_id_cmd(cli, argc, argv, opts, &k,
			 "  --patch FILE       the new revision's diff\n"
			 "  --note TEXT        what changed\n" SERVER_HELP,
			 edit_opt, &a, &id);
	if (r >= 0)
		return r;
	if (!a.file)
		return cli_usage_error(cli, "--patch FILE is required");
	if (read_patch(a.file, &text) < 0)
		return EXIT_ERROR;
	path = strdup_printf("/v1/patches/%s/revisions", id);
	return call(cli, &k, "POST", path, json_pack("{s:s s:s*}", "patch", text, "note", a.note),
		    print_patch);
}

static int cmd_patch_submit(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {SERVER_OPTIONS, CLI_HELP_OPTION, {}};
	_cleanup_free_ char *path = NULL;
	struct conn k = {};
	const char *id;
	int r;

	r = parse_id_cmd(cli, argc, argv, opts, &k, SERVER_HELP, NULL, NULL, &id);
	if (r >= 0)
		return r;
	path = strdup_printf("/v1/patches/%s/submit", id);
	return call(cli, &k, "POST", path, json_object(), print_patch);
}

static int cmd_patch_show(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		SERVER_OPTIONS,
		{"diff", no_argument, NULL, 'd'},
		{"rev", required_argument, NULL, 'R'},
		CLI_HELP_OPTION,
		{},
	};
	_cleanup_free_ char *path = NULL;
	struct edit_args a = {};
	struct conn k = {};
	const char *id;
	int r;

	r = parse_id_cmd(
		cli, argc, argv, opts, &k,
		"  --diff             print the revision's diff instead\n"
		"  --rev N            that revision (default: the current one)\n" SERVER_HELP,
		edit_opt, &a, &id);
	if (r >= 0)
		return r;
	if (a.diff) {
		struct srv_client *c = NULL;
		struct strbuf out = STRBUF_INIT;

		path = a.rev ? strdup_printf("/v1/patches/%s/patch?rev=%ld", id, a.rev)
			     : strdup_printf("/v1/patches/%s/patch", id);
		r = conn_open(cli, &k, &c);
		if (r != EXIT_OK)
			return r;
		r = srv_client_get_raw(c, path, &out);
		srv_client_free(c);
		if (r == 0)
			fwrite(strbuf_str(&out), 1, out.len, stdout);
		strbuf_release(&out);
		return r < 0 ? EXIT_ERROR : EXIT_OK;
	}
	path = strdup_printf("/v1/patches/%s", id);
	return call(cli, &k, "GET", path, NULL, print_patch);
}

static void print_list(const json_t *arr)
{
	json_t *p;
	size_t i;

	json_array_foreach(arr, i, p)
		printf("%-6lld %-16s %-10s rev %-3lld %s\n",
		       (long long)json_integer_value(json_object_get(p, "id")),
		       json_string_value(json_object_get(p, "cve")),
		       json_string_value(json_object_get(p, "state")),
		       (long long)json_integer_value(json_object_get(p, "revision")),
		       json_string_value(json_object_get(p, "author")));
}

static int cmd_patch_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		SERVER_OPTIONS,
		{"state", required_argument, NULL, 's'},
		CLI_HELP_OPTION,
		{},
	};
	_cleanup_free_ char *path = NULL;
	const char *state = NULL;
	struct conn k = {};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (conn_option(&k, c))
			continue;
		if (c == 's') {
			if (strspn(optarg, "abcdefghijklmnopqrstuvwxyz") != strlen(optarg))
				return cli_usage_error(cli, "--state: a state name");
			state = optarg;
		} else if (c == 'h') {
			return cli_help(
				cli,
				"  --state STATE      only patches in this state\n" SERVER_HELP);
		} else {
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error(cli, "unexpected argument");
	path = state ? strdup_printf("/v1/patches?state=%s", state) : strdup("/v1/patches");
	return call(cli, &k, "GET", path, NULL, print_list);
}

static int review(struct cli *cli, int argc, char **argv, const char *verdict)
{
	static const struct option opts[] = {
		SERVER_OPTIONS,
		{"message", required_argument, NULL, 'm'},
		CLI_HELP_OPTION,
		{},
	};
	_cleanup_free_ char *path = NULL;
	struct edit_args a = {};
	struct conn k = {};
	const char *id;
	int r;

	r = parse_id_cmd(cli, argc, argv, opts, &k,
			 "  -m, --message TEXT the comment (needed but for approve)\n" SERVER_HELP,
			 edit_opt, &a, &id);
	if (r >= 0)
		return r;
	path = strdup_printf("/v1/patches/%s/reviews", id);
	return call(cli, &k, "POST", path,
		    json_pack("{s:s s:s*}", "verdict", verdict, "comment", a.message), print_patch);
}

static int cmd_review_comment(struct cli *cli, int argc, char **argv)
{
	return review(cli, argc, argv, "comment");
}

static int cmd_review_approve(struct cli *cli, int argc, char **argv)
{
	return review(cli, argc, argv, "approve");
}

static int cmd_review_reject(struct cli *cli, int argc, char **argv)
{
	return review(cli, argc, argv, "reject");
}

int cmd_publish(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		SERVER_OPTIONS,
		{"channel", required_argument, NULL, 'c'},
		CLI_HELP_OPTION,
		{},
	};
	_cleanup_free_ char *path = NULL;
	struct edit_args a = {};
	struct conn k = {};
	const char *id;
	int r;

	r = parse_id_cmd(cli, argc, argv, opts, &k,
			 "  --channel NAME     the archive to release into (canary, stable, "
			 "...)\n" SERVER_HELP,
			 edit_opt, &a, &id);
	if (r >= 0)
		return r;
	if (!a.channel)
		return cli_usage_error(cli, "--channel NAME is required");
	path = strdup_printf("/v1/patches/%s/publish", id);
	return call(cli, &k, "POST", path, json_pack("{s:s}", "channel", a.channel), print_patch);
}

int cmd_withdraw(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		SERVER_OPTIONS,
		{"channel", required_argument, NULL, 'c'},
		{"reason", required_argument, NULL, 'r'},
		CLI_HELP_OPTION,
		{},
	};
	_cleanup_free_ char *path = NULL;
	struct edit_args a = {};
	struct conn k = {};
	const char *id;
	int r;

	r = parse_id_cmd(cli, argc, argv, opts, &k,
			 "  --channel NAME     only from this channel (default: every one)\n"
			 "  --reason TEXT      why, for the audit log\n" SERVER_HELP,
			 edit_opt, &a, &id);
	if (r >= 0)
		return r;
	path = strdup_printf("/v1/patches/%s/withdraw", id);
	return call(cli, &k, "POST", path,
		    json_pack("{s:s* s:s*}", "channel", a.channel, "reason", a.reason),
		    print_patch);
}

static void print_exposure(const json_t *j)
{
	const json_t *n = json_object_get(j, "exposure_counts");
	json_t *v;
	size_t i;

	printf("%s: %lld exposed, %lld patched, %lld not exposed, %lld unknown\n",
	       json_string_value(json_object_get(j, "cve")),
	       (long long)json_integer_value(json_object_get(n, "exposed")),
	       (long long)json_integer_value(json_object_get(n, "patched")),
	       (long long)json_integer_value(json_object_get(n, "not-exposed")),
	       (long long)json_integer_value(json_object_get(n, "unknown")));
	json_array_foreach(json_object_get(j, "nodes"), i, v)
		printf("%-24s %-24s %-11s %s%s\n", json_string_value(json_object_get(v, "node")),
		       json_string_value(json_object_get(v, "kernel")) ?: "-",
		       json_string_value(json_object_get(v, "exposure")),
		       json_string_value(json_object_get(v, "reason")),
		       streq_ptr(json_string_value(json_object_get(v, "node_state")), "stale")
			       ? " (stale: its last heartbeat is old)"
			       : "");
}

int cmd_exposure(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		SERVER_OPTIONS,
		{"only", required_argument, NULL, 'o'},
		CLI_HELP_OPTION,
		{},
	};
	static const char *const kinds[] = {"exposed", "patched", "not-exposed", "unknown"};
	_cleanup_free_ char *path = NULL;
	const char *only = NULL;
	struct conn k = {};
	char id[32];
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (conn_option(&k, c))
			continue;
		if (c == 'o') {
			only = optarg;
		} else if (c == 'h') {
			return cli_help(
				cli, "  --only EXPOSURE    only the nodes judged exposed, patched, "
				     "not-exposed or unknown\n" SERVER_HELP);
		} else {
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(cli, "expected one CVE id");
	if (cve_id_normalise(argv[optind], id, sizeof(id)) < 0)
		return cli_usage_error(cli, "'%s' is not a CVE id (CVE-YYYY-NNNN)", argv[optind]);
	if (only) {
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
			known |= streq(only, kinds[i]);
		if (!known)
			return cli_usage_error(cli,
					       "--only: exposed, patched, not-exposed or unknown");
	}
	path = only ? strdup_printf("/v1/cves/%s/exposure?exposure=%s", id, only)
		    : strdup_printf("/v1/cves/%s/exposure", id);
	return call(cli, &k, "GET", path, NULL, print_exposure);
}

const struct cmd cmd_patch_table[] = {
	{"create", cmd_patch_create, NULL,
	 "--cve ID --kernel RELEASE... --patch FILE|--fix-kernel NAME",
	 "a new patch under review on the server (revision 1)"},
	{"edit", cmd_patch_edit, NULL, "ID --patch FILE [--note TEXT]",
	 "a new revision; earlier ones are kept"},
	{"submit", cmd_patch_submit, NULL, "ID", "queue the build and boot test per kernel"},
	{"show", cmd_patch_show, NULL, "ID [--diff [--rev N]]",
	 "revisions, jobs, reviews, approvals, publications"},
	{"list", cmd_patch_list, NULL, "[--state STATE]", "patches on the server"},
	{},
};

const struct cmd cmd_review_table[] = {
	{"comment", cmd_review_comment, NULL, "ID -m TEXT", "comment on the current revision"},
	{"approve", cmd_review_approve, NULL, "ID [-m TEXT]",
	 "approve it (never a revision of one's own)"},
	{"reject", cmd_review_reject, NULL, "ID -m TEXT", "reject it"},
	{},
};
