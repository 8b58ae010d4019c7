/* tuxtape cve patch: the raw fix of a CVE for one kernel, as format-patch mail. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cve/query.h"
#include "cve/patch.h"
#include "fileio.h"
#include "log.h"
#include "strbuf.h"

int cmd_cve_patch(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "linux-repo", required_argument, NULL, 'l' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		CLI_HELP_OPTION,
		{},
	};
	const char *kernel = NULL, *repo = NULL, *output = NULL;
	_cleanup_free_ char *why = NULL;
	bool force = false;
	char id[32];
	struct cve_patch_report rep = {};
	struct strbuf out = STRBUF_INIT;
	struct tt_store *s;
	int c, r;

	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			kernel = optarg;
			break;
		case 'l':
			repo = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			return cli_help(cli,
					"  --kernel NAME      the inventory kernel the fix is for\n"
					"  --linux-repo PATH  a local clone of the stable tree\n"
					"  -o, --output FILE  write there instead of stdout\n"
					"  --force            write it even when the kernel is not affected\n"
					"\nWrites the fix commits the records name on the kernel's own "
					"stable\nbranch, else the mainline fix, in git format-patch layout.\n"
					"A kernel whose verdict is fixed, not-affected or not-compiled is\n"
					"refused (exit 1) unless --force.\n");
		default:
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(cli, "expected one CVE id");
	if (!kernel || !repo)
		return cli_usage_error(cli, "--kernel and --linux-repo are required");
	if (cve_id_normalise(argv[optind], id, sizeof(id)) < 0)
		return cli_usage_error(cli, "'%s' is not a CVE id (CVE-YYYY-NNNN)", argv[optind]);
	if (cli_store(cli, true, &s) < 0)
		return EXIT_ERROR;
	/* A fix for a kernel that does not need it is an answer nobody asked for. */
	r = cve_patch_needed(s, id, kernel, &why);
	if (r < 0)
		return EXIT_ERROR;
	if (r == 0) {
		if (!force) {
			log_error("%s (--force writes the fix anyway)", why);
			return EXIT_ERROR;
		}
		log_info("%s; writing the fix as forced", why);
	}
	r = cve_patch_write(s, id, kernel, repo, &out, &rep);
	if (r < 0)
		goto out;
	if (output) {
		r = write_file_atomic(output, out.buf ? out.buf : "", out.len, 0644);
		if (r < 0) {
			log_error("cannot write '%s': %s", output, strerror(-r));
			goto out;
		}
	} else if (!cli->json) {
		fwrite(strbuf_str(&out), 1, out.len, stdout);
	}
	if (cli->json) {
		json_t *commits = json_array();

		for (size_t i = 0; i < rep.n_commits; i++)
			json_array_append_new(commits, json_string(rep.commits[i]));
		json_t *j = json_pack("{s:s s:s s:s s:o}", "cve", id, "kernel", kernel,
				      "source", rep.source, "commits", commits);
		if (!output && j)
			json_object_set_new(j, "patch", json_string(strbuf_str(&out)));
		else if (j)
			json_object_set_new(j, "output", json_string(output));
		cli_print_json(j);
	} else if (!cli->quiet) {
		fprintf(stderr, "%zu commit%s from %s%s%s\n", rep.n_commits,
			rep.n_commits == 1 ? "" : "s", rep.source, output ? " written to " : "",
			output ? output : "");
	}
out:
	cve_patch_report_release(&rep);
	strbuf_release(&out);
	return r < 0 ? EXIT_ERROR : EXIT_OK;
}
