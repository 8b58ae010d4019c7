/* --format csv for the list commands: one header line, one row per element (RFC 4180). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* "triage.state": a key of a nested object; NULL when any step is missing. */
static json_t *column(json_t *o, const char *path)
{
	const char *dot = strchr(path, '.');
	char key[64];

	if (!dot)
		return json_object_get(o, path);
	snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
	return column(json_object_get(o, key), dot + 1);
}

static void field(FILE *f, json_t *v)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (strpbrk(s, ",\"\r\n")) {
			fputc('"', f);
			for (; *s; s++) {
				if (*s == '"')
					fputc('"', f);
				fputc(*s, f);
			}
			fputc('"', f);
		} else {
			fputs(s, f);
		}
	} else if (json_is_integer(v)) {
		fprintf(f, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		fprintf(f, "%.10g", json_real_value(v));
	} else if (json_is_boolean(v)) {
		fputs(json_is_true(v) ? "true" : "false", f);
	}
	/* null, missing: an empty field */
}

int cli_print_csv(json_t *arr, const char *const *cols, size_t n_cols)
{
	size_t i;
	json_t *o;

	for (size_t c = 0; c < n_cols; c++)
		printf("%s%s", c ? "," : "", cols[c]);
	printf("\r\n");
	json_array_foreach(arr, i, o)
	{
		for (size_t c = 0; c < n_cols; c++) {
			if (c)
				fputc(',', stdout);
			field(stdout, column(o, cols[c]));
		}
		printf("\r\n");
	}
	json_decref(arr);
	return EXIT_OK;
}

int cli_parse_format_only(struct cli *cli, int argc, char **argv, bool *ret_csv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'O'},
		CLI_HELP_OPTION,
		{},
	};
	int c;

	*ret_csv = false;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(
				cli,
				"  --format F       text (default), json (as --json) or csv\n");
		if (c != 'O')
			return EXIT_USAGE;
		if (streq(optarg, "csv"))
			*ret_csv = true;
		else if (streq(optarg, "json"))
			cli->json = true;
		else if (!streq(optarg, "text"))
			return cli_usage_error(cli, "--format: '%s' is not text, json or csv",
					       optarg);
	}
	if (argc > optind)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	return -1;
}
