/* tuxtape archive: the signed patch archive (a TUF repository of livepatch modules). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive/archive.h"
#include "cli.h"
#include "log.h"

#define MAX_LIST 256 /* --cve, --patch: more is a mistake on the command line */

static int only_dir(struct cli *cli, int argc, char **argv, const char *options,
		    const char **ret_dir)
{
	static const struct option opts[] = {CLI_HELP_OPTION, {}};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		return c == 'h' ? cli_help(cli, options) : EXIT_USAGE;
	if (argc - optind > 1)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind + 1]);
	if (argc - optind != 1)
		return cli_usage_error(cli, "expected the archive folder");
	*ret_dir = argv[optind];
	return -1;
}

static int done(struct cli *cli, int r, const char *what, const char *dir)
{
	if (r < 0)
		return EXIT_ERROR;
	if (cli->json)
		return cli_print_json(json_pack("{s:s s:s}", "done", what, "archive", dir));
	if (!cli->quiet)
		fprintf(stderr, "%s '%s'\n", what, dir);
	return EXIT_OK;
}

static int parse_days(struct cli *cli, const char *arg, unsigned days[5])
{
	static const char *const names[] = {"root", "targets", "kernels", "snapshot", "timestamp"};
	const char *eq = strchr(arg, '=');
	char *end;
	long d;

	if (!eq)
		return cli_usage_error(cli, "--expires '%s': expected ROLE=DAYS", arg);
	errno = 0;
	d = strtol(eq + 1, &end, 10);
	if (errno || end == eq + 1 || *end || d < 1 || d > 3650)
		return cli_usage_error(cli, "--expires '%s': DAYS must be 1 to 3650", arg);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == (size_t)(eq - arg) &&
		    !strncmp(arg, names[i], (size_t)(eq - arg))) {
			days[i] = (unsigned)d;
			return 0;
		}
	return cli_usage_error(cli,
			       "--expires '%s': ROLE is one of root, targets, kernels, "
			       "snapshot, timestamp",
			       arg);
}

static int parse_count(struct cli *cli, const char *opt, const char *s, unsigned *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 16)
		return cli_usage_error(cli, "%s '%s': expected 1 to 16", opt, s);
	*ret = (unsigned)v;
	return 0;
}

static int cmd_archive_init(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"root-key-dir", required_argument, NULL, 'R'},
		{"root-keys", required_argument, NULL, 'n'},
		{"root-threshold", required_argument, NULL, 't'},
		{"expires", required_argument, NULL, 'e'},
		CLI_HELP_OPTION,
		{},
	};
	struct ar_init_opts o = {};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'R':
			o.root_key_dir = optarg;
			break;
		case 'n':
			if (parse_count(cli, "--root-keys", optarg, &o.root_keys))
				return EXIT_USAGE;
			break;
		case 't':
			if (parse_count(cli, "--root-threshold", optarg, &o.root_threshold))
				return EXIT_USAGE;
			break;
		case 'e':
			if (parse_days(cli, optarg, o.expires_days))
				return EXIT_USAGE;
			break;
		case 'h':
			return cli_help(cli, "  --root-key-dir DIR  write the root keys there, not "
					     "in DIR/keys (then\n"
					     "                   give it to rotate-key; keep it "
					     "offline otherwise)\n"
					     "  --root-keys N    how many root keys (default 1)\n"
					     "  --root-threshold N  how many of them must sign a "
					     "root (default 1)\n"
					     "  --expires ROLE=DAYS  a role's signature lifetime: "
					     "root (365), targets\n"
					     "                   (90), kernels (90), snapshot (7), "
					     "timestamp (1)\n"
					     "\nCreates DIR: keys/ (online private keys, mode "
					     "0600), public/ (serve this\n"
					     "folder: metadata/ and targets/), a first root, "
					     "targets, snapshot and\n"
					     "timestamp. DIR must not exist or be empty.\n");
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "expected the archive folder");
	if (o.root_threshold > (o.root_keys ? o.root_keys : 1))
		return cli_usage_error(cli, "--root-threshold %u is more than the %u root key%s",
				       o.root_threshold, o.root_keys ? o.root_keys : 1,
				       o.root_keys > 1 ? "s" : "");
	return done(cli, ar_init(argv[optind], &o, time(NULL)), "created", argv[optind]);
}

static int cmd_archive_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"kernel", required_argument, NULL, 'k'},
		{"cve", required_argument, NULL, 'c'},
		{"patch", required_argument, NULL, 'p'},
		{"patch-sha256", required_argument, NULL, 's'},
		{"approved-by", required_argument, NULL, 'a'},
		{"report", required_argument, NULL, 'r'},
		CLI_HELP_OPTION,
		{},
	};
	const char *cves[MAX_LIST], *patches[MAX_LIST];
	char hashes[MAX_LIST][65];
	struct ar_target_opts o = {.cves = cves, .patch_sha256 = patches};
	_cleanup_(json_decrefp) json_t *report = NULL;
	json_t *targets, *t;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o.kernel = optarg;
			break;
		case 'c':
			if (o.n_cves >= MAX_LIST)
				return cli_usage_error(cli, "more than %d --cve", MAX_LIST);
			cves[o.n_cves++] = optarg;
			break;
		case 'p':
		case 's':
			if (o.n_patches >= MAX_LIST)
				return cli_usage_error(cli, "more than %d patches", MAX_LIST);
			if (c == 'p') {
				if (ar_file_sha256(optarg, hashes[o.n_patches]) < 0)
					return EXIT_ERROR;
				patches[o.n_patches] = hashes[o.n_patches];
			} else {
				patches[o.n_patches] = optarg;
			}
			o.n_patches++;
			break;
		case 'a':
			o.approved_by = optarg;
			break;
		case 'r':
			if (report)
				return cli_usage_error(cli, "--report given twice");
			if (ar_build_report_read(optarg, &report) < 0)
				return EXIT_ERROR;
			json_array_foreach(json_object_get(report, "cves"), i, t)
			{
				if (o.n_cves >= MAX_LIST)
					return cli_usage_error(cli, "more than %d CVEs", MAX_LIST);
				cves[o.n_cves++] = json_string_value(t);
			}
			json_array_foreach(json_object_get(report, "patches_sha256"), i, t)
			{
				if (o.n_patches >= MAX_LIST)
					return cli_usage_error(cli, "more than %d patches",
							       MAX_LIST);
				patches[o.n_patches++] = json_string_value(t);
			}
			break;
		case 'h':
			return cli_help(cli,
					"  --kernel RELEASE the kernel release it is for (its "
					"vermagic must say so)\n"
					"  --cve ID         a CVE it fixes (repeat)\n"
					"  --patch FILE     a source patch it was built from: its "
					"SHA-256 is\n"
					"                   recorded (repeat)\n"
					"  --patch-sha256 HEX  the same, given as a digest\n"
					"  --approved-by WHO   who approved it for release\n"
					"  --report FILE    take the CVEs and patches' SHA-256 "
					"from the JSON report\n"
					"                   of 'tuxtape --json livepatch build'\n"
					"\nStages each FILE.ko as target RELEASE/FILE.ko "
					"(replacing one of that\n"
					"name); 'tuxtape archive publish' makes it visible. Each "
					"FILE must be a\n"
					"livepatch module (livepatch=Y in .modinfo) whose vermagic "
					"names RELEASE;\n"
					"one bad FILE and none is staged.\n");
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 2)
		return cli_usage_error(cli, "expected the archive folder and a .ko file");
	if (!o.kernel)
		return cli_usage_error(cli, "--kernel RELEASE is required");
	if (ar_add(argv[optind], (const char *const *)argv + optind + 1,
		   (size_t)(argc - optind - 1), &o, time(NULL), &targets) < 0)
		return EXIT_ERROR;
	if (cli->json)
		return cli_print_json(json_pack("{s:s s:o}", "done", "staged", "targets", targets));
	json_array_foreach(targets, i, t) printf("%s\n", json_string_value(t));
	json_decref(targets);
	return EXIT_OK;
}

static int cmd_archive_remove(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {CLI_HELP_OPTION, {}};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		return c == 'h' ? cli_help(cli, "\nStages the removal of TARGET (RELEASE/NAME.ko); "
						"'publish' makes it visible.\n")
				: EXIT_USAGE;
	if (argc - optind != 2)
		return cli_usage_error(cli, "expected the archive folder and a target");
	if (ar_remove(argv[optind], argv[optind + 1]) < 0)
		return EXIT_ERROR;
	if (cli->json)
		return cli_print_json(
			json_pack("{s:s s:s}", "done", "staged", "removed", argv[optind + 1]));
	return EXIT_OK;
}

static int cmd_archive_publish(struct cli *cli, int argc, char **argv)
{
	const char *dir;
	int r;

	r = only_dir(cli, argc, argv,
		     "\nSigns what add and remove staged, renews online-signed roles past half\n"
		     "their lifetime, and writes a new snapshot and timestamp.\n",
		     &dir);
	if (r >= 0)
		return r;
	return done(cli, ar_publish(dir, time(NULL)), "published", dir);
}

static int cmd_archive_timestamp(struct cli *cli, int argc, char **argv)
{
	const char *dir;
	int r;

	r = only_dir(cli, argc, argv,
		     "\nRe-signs the timestamp alone (a new version and expiry) for the current\n"
		     "snapshot: the cron job. Refuses when the snapshot has expired.\n",
		     &dir);
	if (r >= 0)
		return r;
	return done(cli, ar_timestamp(dir, time(NULL)), "re-signed the timestamp of", dir);
}

static int cmd_archive_rotate_key(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"role", required_argument, NULL, 'r'},
		{"root-key-dir", required_argument, NULL, 'R'},
		CLI_HELP_OPTION,
		{},
	};
	const char *role = NULL, *root_dir = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			role = optarg;
			break;
		case 'R':
			root_dir = optarg;
			break;
		case 'h':
			return cli_help(
				cli,
				"  --role ROLE      root, targets, snapshot, timestamp or kernels "
				"(the key\n"
				"                   of every kernel's delegated role)\n"
				"  --root-key-dir DIR  where the root keys are (default DIR/keys)\n"
				"\nMakes a new key for ROLE and publishes (with whatever is "
				"staged). All but\n"
				"kernels write root N+1, signed by the current root keys and, for "
				"root, the\n"
				"new ones; a client walks from root N to N+1. Rotating root also "
				"renews it.\n"
				"Replaced keys move to keys/retired/.\n");
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "expected the archive folder");
	if (!role)
		return cli_usage_error(cli, "--role ROLE is required");
	return done(cli, ar_rotate_key(argv[optind], role, root_dir, time(NULL)), "rotated",
		    argv[optind]);
}

static int cmd_archive_status(struct cli *cli, int argc, char **argv)
{
	const char *dir;
	json_t *st, *e, *t;
	size_t i, j;
	int r;

	r = only_dir(cli, argc, argv,
		     "\nEach role's version, expiry and key IDs; each kernel's targets; what is\n"
		     "staged. With --json, one JSON document.\n",
		     &dir);
	if (r >= 0)
		return r;
	if (ar_status(dir, time(NULL), &st) < 0)
		return EXIT_ERROR;
	if (cli->json)
		return cli_print_json(st);
	printf("%-28s %8s  %-20s\n", "ROLE", "VERSION", "EXPIRES");
	json_array_foreach(json_object_get(st, "roles"), i, e)
		printf("%-28s %8lld  %-20s%s\n", json_string_value(json_object_get(e, "role")),
		       (long long)json_integer_value(json_object_get(e, "metadata_version")),
		       json_string_value(json_object_get(e, "expires")),
		       json_is_true(json_object_get(e, "expired")) ? "  EXPIRED" : "");
	json_array_foreach(json_object_get(st, "kernels"), i, e)
	{
		printf("%-28s %8lld  %-20s%s\n", json_string_value(json_object_get(e, "kernel")),
		       (long long)json_integer_value(json_object_get(e, "metadata_version")),
		       json_string_value(json_object_get(e, "expires")),
		       json_is_true(json_object_get(e, "expired")) ? "  EXPIRED" : "");
		json_array_foreach(json_object_get(e, "targets"), j, t) printf(
			"  %s  %lld bytes\n", json_string_value(json_object_get(t, "target")),
			(long long)json_integer_value(json_object_get(t, "length")));
	}
	if (json_array_size(json_object_get(st, "staged")) > 0) {
		printf("staged, not published:");
		json_array_foreach(json_object_get(st, "staged"), i, e)
			printf(" %s", json_string_value(e));
		printf("\n");
	}
	json_decref(st);
	return EXIT_OK;
}

const struct cmd cmd_archive_table[] = {
	{"init", cmd_archive_init, NULL,
	 "DIR [--root-key-dir KEYDIR] [--root-keys N] [--root-threshold N] [--expires ROLE=DAYS]",
	 "create a signed archive: keys, a first root, an empty published repository"},
	{"add", cmd_archive_add, NULL,
	 "DIR FILE.ko... --kernel RELEASE [--cve ID]... [--patch FILE]... [--report FILE]\n"
	 "       [--approved-by WHO]",
	 "stage livepatch modules for a kernel release"},
	{"remove", cmd_archive_remove, NULL, "DIR RELEASE/NAME.ko", "stage a target's removal"},
	{"publish", cmd_archive_publish, NULL, "DIR",
	 "sign what is staged: new roles, snapshot and timestamp"},
	{"rotate-key", cmd_archive_rotate_key, NULL, "DIR --role ROLE [--root-key-dir KEYDIR]",
	 "replace a role's key (root: N+1.root.json signed by old and new keys)"},
	{"status", cmd_archive_status, NULL, "DIR",
	 "versions, expiries, kernels and targets, what is staged"},
	{"timestamp", cmd_archive_timestamp, NULL, "DIR", "re-sign the timestamp only (for cron)"},
	{},
};
