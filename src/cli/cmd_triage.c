/* tuxtape triage: record, list and clear decisions about a CVE for one kernel. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "applicability/triage.h"
#include "cli.h"
#include "cve/query.h"
#include "log.h"
#include "store/store.h"

static int cmd_triage_set(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"kernel", required_argument, NULL, 'k'},
		{"state", required_argument, NULL, 's'},
		{"note", required_argument, NULL, 'n'},
		{"expires", required_argument, NULL, 'e'},
		{"by", required_argument, NULL, 'b'},
		CLI_HELP_OPTION,
		{},
	};
	struct triage_entry e = {};
	struct tt_store *s;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			e.kernel = optarg;
			break;
		case 's':
			e.state = optarg;
			break;
		case 'n':
			e.note = optarg;
			break;
		case 'e':
			e.expires = optarg;
			break;
		case 'b':
			e.who = optarg;
			break;
		case 'h':
			return cli_help(
				cli,
				"  --kernel NAME    the inventory kernel the decision is for\n"
				"  --state S        accepted (the risk is accepted),\n"
				"                   not-applicable, or will-patch\n"
				"  --note TEXT      why\n"
				"  --expires DATE   YYYY-MM-DD: after it the CVE is untriaged "
				"again\n"
				"  --by NAME        who decided (default: $USER)\n"
				"\nA triaged CVE is left out of 'cve list --kernel' (counted on\n"
				"stderr; --triaged shows it) and of 'tuxtape check'.\n");
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "expected one CVE id");
	if (!e.kernel || !e.state)
		return cli_usage_error(cli, "--kernel and --state are required");
	if (!triage_state_canonical(e.state))
		return cli_usage_error(
			cli, "--state: '%s' is not accepted, not-applicable or will-patch",
			e.state);
	e.cve_id = argv[optind];
	if (!e.who)
		e.who = getenv("USER");
	if (cli_store(cli, true, &s) < 0 || triage_set(s, &e) < 0)
		return EXIT_ERROR;
	if (cli->json) {
		char id[32];

		cve_id_normalise(e.cve_id, id, sizeof(id));
		return cli_print_json(json_pack("{s:i s:s s:s s:s s:s* s:s* s:s*}",
						"schema_version", TT_JSON_SCHEMA_VERSION, "id", id,
						"kernel", e.kernel, "state",
						triage_state_canonical(e.state), "note", e.note,
						"who", e.who, "expires", e.expires));
	}
	if (!cli->quiet)
		fprintf(stderr, "triaged %s for kernel '%s': %s%s%s\n", argv[optind], e.kernel,
			triage_state_canonical(e.state), e.expires ? " until " : "",
			e.expires ? e.expires : "");
	return EXIT_OK;
}

static int cmd_triage_clear(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"kernel", required_argument, NULL, 'k'},
		CLI_HELP_OPTION,
		{},
	};
	const char *kernel = NULL;
	struct tt_store *s;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'k')
			kernel = optarg;
		else if (c == 'h')
			return cli_help(cli,
					"  --kernel NAME    the kernel the decision was for\n");
		else
			return EXIT_USAGE;
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "expected one CVE id");
	if (!kernel)
		return cli_usage_error(cli, "--kernel is required");
	if (cli_store(cli, true, &s) < 0)
		return EXIT_ERROR;
	r = triage_clear(s, argv[optind], kernel);
	if (r < 0)
		return EXIT_ERROR;
	if (cli->json)
		return cli_print_json(json_pack("{s:i s:s s:s s:b}", "schema_version",
						TT_JSON_SCHEMA_VERSION, "id", argv[optind],
						"kernel", kernel, "cleared", 1));
	if (!cli->quiet)
		fprintf(stderr, "cleared the triage of %s for kernel '%s'\n", argv[optind], kernel);
	return EXIT_OK;
}

static int cmd_triage_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"kernel", required_argument, NULL, 'k'},
		{"expired", no_argument, NULL, 'x'},
		{"format", required_argument, NULL, 'O'},
		CLI_HELP_OPTION,
		{},
	};
	const char *kernel = NULL;
	bool expired = false, csv = false;
	struct tt_store *s;
	json_t *arr, *e;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'k')
			kernel = optarg;
		else if (c == 'x')
			expired = true;
		else if (c == 'O' && (streq(optarg, "csv") || streq(optarg, "json") ||
				      streq(optarg, "text"))) {
			csv = streq(optarg, "csv");
			cli->json |= streq(optarg, "json");
		} else if (c == 'O')
			return cli_usage_error(cli, "--format: '%s' is not text, json or csv", optarg);
		else if (c == 'h')
			return cli_help(cli,
					"  --kernel NAME    only this kernel's decisions\n"
					"  --expired        also decisions past their expiry\n"
					"  --format F       text (default), json (as --json) or csv\n");
		else
			return EXIT_USAGE;
	}
	if (argc > optind)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (cli_store(cli, true, &s) < 0 || triage_list(s, kernel, expired, &arr) < 0)
		return EXIT_ERROR;
	if (csv) {
		static const char *const cols[] = {"id",      "kernel", "state",   "note",  "who",
						   "expires", "at",     "expired", "status"};

		return cli_print_csv(arr, cols, ARRAY_SIZE(cols));
	}
	if (cli->json)
		return cli_print_json(json_pack("{s:i s:o}", "schema_version",
						TT_JSON_SCHEMA_VERSION, "decisions", arr));
	if (json_array_size(arr) == 0)
		fprintf(stderr, "no triage decisions\n");
	else
		printf("%-16s %-16s %-14s %-12s %-10s %-13s %s\n", "ID", "KERNEL", "STATE", "WHO",
		       "EXPIRES", "VERDICT", "NOTE");
	json_array_foreach(arr, i, e)
	{
#define S(k)                                                                                       \
	(json_string_value(json_object_get(e, k)) ? json_string_value(json_object_get(e, k)) : "-")
		printf("%-16s %-16s %-14s %-12s %-10s %-13s %s%s\n", S("id"), S("kernel"),
		       S("state"), S("who"), S("expires"), S("status"),
		       json_is_true(json_object_get(e, "expired")) ? "(expired) " : "",
		       json_string_value(json_object_get(e, "note")) ? S("note") : "");
#undef S
	}
	json_decref(arr);
	return EXIT_OK;
}

const struct cmd cmd_triage_table[] = {
	{"set", cmd_triage_set, NULL,
	 "ID --kernel NAME --state accepted|not-applicable|will-patch [--note TEXT] "
	 "[--expires DATE] [--by NAME]",
	 "record a decision about a CVE for one kernel"},
	{"list", cmd_triage_list, NULL, "[--kernel NAME] [--expired]", "the decisions recorded"},
	{"clear", cmd_triage_clear, NULL, "ID --kernel NAME", "remove a decision"},
	{},
};
