/* tuxtape-agent tuf-client: the TUF client behind the conformance suite's CLI (CLIENT-CLI.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "tuf/client.h"

#define MAX_TARGET_NAMES 256

static const char help[] =
	"usage: tuxtape-agent tuf-client --metadata-dir DIR init ROOT\n"
	"       tuxtape-agent tuf-client --metadata-dir DIR --metadata-url URL refresh\n"
	"       tuxtape-agent tuf-client --metadata-dir DIR --metadata-url URL\n"
	"           --target-name PATH [--target-name PATH]... --target-base-url URL\n"
	"           --target-dir DIR download\n"
	"\n"
	"  init      trust ROOT (a root.json) as the first root; no network\n"
	"  refresh   update the trusted metadata in DIR from the repository\n"
	"  download  refresh, then fetch and verify each target in order into --target-dir\n"
	"Exit status: 0 success, 1 failure, 64 usage.\n";

struct args {
	const char *metadata_dir, *metadata_url, *target_base_url, *target_dir;
	const char *target_names[MAX_TARGET_NAMES];
	size_t n_targets;
};

static int parse_argv(int argc, char **argv, struct args *a)
{
	enum { ARG_MDIR = 0x100, ARG_MURL, ARG_TNAME, ARG_TURL, ARG_TDIR };
	static const struct option opts[] = {
		{"metadata-dir", required_argument, NULL, ARG_MDIR},
		{"metadata-url", required_argument, NULL, ARG_MURL},
		{"target-name", required_argument, NULL, ARG_TNAME},
		{"target-base-url", required_argument, NULL, ARG_TURL},
		{"target-dir", required_argument, NULL, ARG_TDIR},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (c) {
		case ARG_MDIR:
			a->metadata_dir = optarg;
			break;
		case ARG_MURL:
			a->metadata_url = optarg;
			break;
		case ARG_TNAME:
			if (a->n_targets == MAX_TARGET_NAMES) {
				fprintf(stderr, "tuxtape-agent: at most %d --target-name\n",
					MAX_TARGET_NAMES);
				return AGENT_EXIT_USAGE;
			}
			a->target_names[a->n_targets++] = optarg;
			break;
		case ARG_TURL:
			a->target_base_url = optarg;
			break;
		case ARG_TDIR:
			a->target_dir = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return AGENT_EXIT_OK;
		default:
			fputs(help, stderr);
			return AGENT_EXIT_USAGE;
		}
	}
	return -1;
}

static int usage_error(const char *what)
{
	fprintf(stderr, "tuxtape-agent tuf-client: %s\n%s", what, help);
	return AGENT_EXIT_USAGE;
}

static int do_download(struct tuf_client *c, const struct args *a)
{
	for (size_t i = 0; i < a->n_targets; i++) {
		json_t *info = NULL;
		int r;

		r = tuf_client_find_target(c, a->target_names[i], &info);
		if (r == -ENOENT)
			log_error("'%s': no trusted targets role lists it", a->target_names[i]);
		if (r < 0)
			return r;
		r = tuf_client_download_target(c, a->target_names[i], info, a->target_base_url,
					       a->target_dir, NULL);
		json_decref(info);
		if (r < 0)
			return r;
	}
	return 0;
}

int cmd_tuf_client(struct agent_cli *ag, int argc, char **argv)
{
	struct tuf_client_opts o = {};
	struct tuf_client *c = NULL;
	struct args a = {};
	const char *verb;
	int r;

	r = parse_argv(argc, argv, &a);
	if (r >= 0)
		return r;
	if (optind >= argc)
		return usage_error("expected init, refresh or download");
	verb = argv[optind];
	if (!a.metadata_dir)
		return usage_error("--metadata-dir is required");
	if (streq(verb, "init")) {
		if (argc - optind != 2)
			return usage_error("init takes one argument, the trusted root file");
		r = tuf_client_init(a.metadata_dir, argv[optind + 1]);
		return r < 0 ? AGENT_EXIT_ERROR : AGENT_EXIT_OK;
	}
	if (argc - optind != 1)
		return usage_error("unexpected argument");
	if (!streq(verb, "refresh") && !streq(verb, "download"))
		return usage_error("expected init, refresh or download");
	if (!a.metadata_url)
		return usage_error("--metadata-url is required");
	if (streq(verb, "download") && (!a.n_targets || !a.target_base_url || !a.target_dir))
		return usage_error("download needs --target-name, --target-base-url and "
				   "--target-dir");
	o.metadata_dir = a.metadata_dir;
	o.metadata_url = a.metadata_url;
	r = tuf_client_new(&o, &c);
	if (r == 0)
		r = tuf_client_refresh(c);
	if (r == 0 && streq(verb, "download"))
		r = do_download(c, &a);
	tuf_client_free(c);
	if (r < 0) {
		log_error("%s failed: %s", verb, strerror(-r));
		return AGENT_EXIT_ERROR;
	}
	return AGENT_EXIT_OK;
}
