/* tuxtape livepatch build: from source patches to a loadable livepatch module. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "fileio.h"
#include "fleet/buildtarget.h"
#include "livepatch/build.h"
#include "log.h"
#include "strbuf.h"

int cmd_livepatch_build(struct cli *cli, int argc, char **argv);

static const char build_options[] =
	"  --patch FILE           a unified diff against the source (-p1); repeatable,\n"
	"                         applied in order\n"
	"  --kernel NAME          a kernel of the inventory: its recorded source, config,\n"
	"                         kbuild directory and symbol table (see 'kernel add'),\n"
	"                         each checked again; the four options below override one\n"
	"  --source DIR           the kernel source the target was built from, or\n"
	"  --source-tarball FILE  the same as a tarball (e.g. linux-source-6.1.tar.xz)\n"
	"  --config FILE          the target's .config (e.g. /boot/config-$KVER)\n"
	"  --symbols FILE         the target's full symbol table (System.map or\n"
	"                         /proc/kallsyms read as root)\n"
	"  --vmlinux FILE         a debug vmlinux, to tell same-named statics apart\n"
	"  --kbuild DIR           the target's kbuild directory, with Module.symvers\n"
	"                         (e.g. /lib/modules/$KVER/build)\n"
	"  --name NAME            module name (default: OUT's base name, else from the\n"
	"                         first patch's name)\n"
	"  --no-replace           no atomic replace of earlier livepatches\n"
	"  -o, --output OUT.ko    where to write the module (default: NAME.ko)\n"
	"  --workdir DIR          keep the objects here (default: a temporary directory,\n"
	"                         removed afterwards)\n"
	"  -j, --jobs N           parallel compiles (default: the number of CPUs)\n"
	"  --allow-fuzz           let hunks apply with fuzz (default: exactly, offsets\n"
	"                         allowed and reported); recorded in the report\n"
	"  --modules-dir PATH     where the target's modules are (a directory or a .ko);\n"
	"                         repeatable (default: /lib/modules/RELEASE)\n"
	"  --cve ID               a CVE the patches fix, recorded in the report;\n"
	"                         repeatable\n"
	"  --max-units N          compile up to N translation units (default 64) when a\n"
	"                         changed header reaches many\n"
	"  --accept-config NAME   accept this option differing between --config and\n"
	"                         the kbuild's .config; repeatable\n"
	"\nThe source is prepared once per (source, config) in $XDG_CACHE_HOME/tuxtape/trees.\n"
	"\nThe files the patches touch are those patch(1) names; each must be pristine\n"
	"in the prepared tree, which is verified pristine again afterwards.\n"
	"\nExit status: 0 module written, 1 error (the patches do not apply, a compile\n"
	"failed, the config is not the target's, ...), 2 change refused as unsafe,\n"
	"3 no functional change (every changed file built with this config compiled to\n"
	"identical code).\n";

/* A module name from a file name: [a-z0-9_], at most 55 characters. */
static char *module_name_from(const char *path, const char *prefix)
{
	const char *b = strrchr(path, '/');
	struct strbuf sb = STRBUF_INIT;
	size_t n;

	b = b ? b + 1 : path;
	n = strcspn(b, ".");
	if (strbuf_adds(&sb, prefix) < 0)
		return NULL;
	for (size_t i = 0; i < n && sb.len < 55; i++) {
		char c = b[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			c = '_';
		strbuf_addch(&sb, c);
	}
	return strbuf_detach(&sb);
}

static bool valid_module_name(const char *s)
{
	if (!*s || strlen(s) > 55)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

struct build_args {
	const char **patches;
	size_t npatches;
	const char **accept; /* NULL-terminated */
	size_t naccept;
	bool allow_fuzz;
	unsigned max_units;
	const char **cves; /* NULL-terminated */
	size_t ncves;
	const char **mods;
	size_t nmods;
	const char *source, *tarball, *config, *symbols, *vmlinux, *kbuild, *out, *workdir;
	const char *kernel;
	char *name;
	bool replace;
	unsigned jobs;
};

/* Appends S to the NULL-terminated list *V of *N strings; -1 (logged) when out of memory. */
static int push_arg(const char ***v, size_t *n, const char *s)
{
	const char **nv = realloc(*v, (*n + 2) * sizeof(*nv));

	if (!nv)
		return log_error_errno(-ENOMEM, "out of memory"), -1;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

static int parse_argv(struct cli *cli, int argc, char **argv, struct build_args *a)
{
	static const struct option opts[] = {
		CLI_HELP_OPTION,
		{"patch", required_argument, NULL, 'p'},
		{"source", required_argument, NULL, 'S'},
		{"source-tarball", required_argument, NULL, 'T'},
		{"config", required_argument, NULL, 'c'},
		{"symbols", required_argument, NULL, 's'},
		{"vmlinux", required_argument, NULL, 'V'},
		{"kbuild", required_argument, NULL, 'k'},
		{"name", required_argument, NULL, 'n'},
		{"no-replace", no_argument, NULL, 'R'},
		{"output", required_argument, NULL, 'o'},
		{"workdir", required_argument, NULL, 'w'},
		{"jobs", required_argument, NULL, 'j'},
		{"json", no_argument, NULL, 'J'},
		{"allow-fuzz", no_argument, NULL, 'F'},
		{"accept-config", required_argument, NULL, 'A'},
		{"max-units", required_argument, NULL, 'U'},
		{"cve", required_argument, NULL, 'C'},
		{"modules-dir", required_argument, NULL, 'M'},
		{"kernel", required_argument, NULL, 'K'},
		{},
	};
	int c;

	a->replace = true;
	while ((c = getopt_long(argc, argv, "ho:j:", opts, NULL)) >= 0)
		switch (c) {
		case 'h':
			return cli_help(cli, build_options) == EXIT_OK ? 1 : -1;
		case 'p':
			if (push_arg(&a->patches, &a->npatches, optarg) < 0)
				return -1;
			break;
		case 'S':
			a->source = optarg;
			break;
		case 'K':
			a->kernel = optarg;
			break;
		case 'T':
			a->tarball = optarg;
			break;
		case 'c':
			a->config = optarg;
			break;
		case 's':
			a->symbols = optarg;
			break;
		case 'V':
			a->vmlinux = optarg;
			break;
		case 'k':
			a->kbuild = optarg;
			break;
		case 'n':
			free(a->name);
			a->name = strdup(optarg);
			break;
		case 'R':
			a->replace = false;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'w':
			a->workdir = optarg;
			break;
		case 'j': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || v == 0 || v > 256)
				return cli_usage_error(cli, "--jobs: '%s' is not a count", optarg),
				       -1;
			a->jobs = (unsigned)v;
			break;
		}
		case 'J':
			cli->json = true;
			break;
		case 'F':
			a->allow_fuzz = true;
			break;
		case 'C':
			if (!startswith(optarg, "CVE-"))
				return cli_usage_error(cli, "--cve: '%s' is not a CVE id", optarg),
				       -1;
			if (push_arg(&a->cves, &a->ncves, optarg) < 0)
				return -1;
			break;
		case 'M':
			if (push_arg(&a->mods, &a->nmods, optarg) < 0)
				return -1;
			break;
		case 'U': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || v == 0 || v > 100000)
				return cli_usage_error(cli, "--max-units: '%s' is not a count",
						       optarg),
				       -1;
			a->max_units = (unsigned)v;
			break;
		}
		case 'A':
			if (push_arg(&a->accept, &a->naccept, optarg) < 0)
				return -1;
			break;
		default:
			return -1;
		}
	if (optind != argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]), -1;
	if (a->npatches == 0)
		return cli_usage_error(cli, "need at least one --patch"), -1;
	/* With --kernel, what is missing is the library's to find, or to name. */
	if (a->source && a->tarball)
		return cli_usage_error(cli, "--source and --source-tarball exclude each other"),
		       -1;
	if (!a->kernel && !a->source && !a->tarball)
		return cli_usage_error(cli, "need --kernel NAME, or one of --source and "
					    "--source-tarball"),
		       -1;
	if (!a->kernel && (!a->config || !a->symbols || !a->kbuild))
		return cli_usage_error(cli, "--config, --symbols and --kbuild are required "
					    "without --kernel NAME"),
		       -1;
	if (!a->name) {
		a->name = a->out ? module_name_from(a->out, "")
				 : module_name_from(a->patches[0], "lp_");
		if (!a->name)
			return log_error_errno(-ENOMEM, "out of memory"), -1;
	}
	if (!valid_module_name(a->name))
		return cli_usage_error(cli, "'%s' is not a module name ([a-z0-9_], at most 55)",
				       a->name),
		       -1;
	return 0;
}

static void print_report(const struct lp_build_report *r)
{
	for (size_t i = 0; i < json_array_size(r->warnings); i++)
		fprintf(stderr, "tuxtape: warning: %s\n",
			json_string_value(json_array_get(r->warnings, i)));
	for (size_t i = 0; i < json_array_size(r->refusals); i++)
		fprintf(stderr, "tuxtape: unsafe: %s\n",
			json_string_value(json_array_get(r->refusals, i)));
	for (size_t i = 0; i < json_array_size(r->notes); i++)
		fprintf(stderr, "tuxtape: patch: %s\n",
			json_string_value(json_array_get(r->notes, i)));
	if (r->result == LP_BUILD_NOCHANGE) {
		printf("no functional change\n");
		for (size_t i = 0; i < json_array_size(r->identical); i++)
			printf("  compiled, identical code: %s\n",
			       json_string_value(json_array_get(r->identical, i)));
		for (size_t i = 0; i < json_array_size(r->not_built); i++)
			printf("  not compiled: %s\n",
			       json_string_value(json_array_get(r->not_built, i)));
	}
	if (r->result != LP_BUILD_WRITTEN)
		return;
	printf("written: %s\n", r->module);
	printf("functions:");
	for (size_t i = 0; i < json_array_size(r->functions); i++)
		printf(" %s", json_string_value(json_array_get(r->functions, i)));
	printf("\nlivepatch relocations: %zu\n", r->nrelocs);
	printf("time: %.1f s (prepare %.1f%s, compile %.1f, diff %.1f, module %.1f)\n", r->t_total,
	       r->t_prepare, r->tree_cached ? " cached" : "", r->t_compile, r->t_diff, r->t_module);
}

int cmd_livepatch_build(struct cli *cli, int argc, char **argv)
{
	struct build_args a = {0};
	struct kernel_build_target t = {};
	_cleanup_(lp_build_report_freep) struct lp_build_report *rep = NULL;
	_cleanup_free_ char *ko = NULL;
	int r, code;

	r = parse_argv(cli, argc, argv, &a);
	if (r != 0) {
		code = r > 0 ? EXIT_OK : EXIT_USAGE;
		goto out;
	}
	ko = a.out ? strdup(a.out) : strdup_printf("%s.ko", a.name);
	if (!ko) {
		code = EXIT_ERROR;
		goto out;
	}
	if (a.kernel) {
		struct tt_store *s;

		if (cli_store(cli, true, &s) < 0 ||
		    kernel_build_target_resolve(s, a.kernel,
						&(struct kernel_build_given){
							.source_dir = a.source,
							.source_tarball = a.tarball,
							.config = a.config,
							.kbuild = a.kbuild,
							.symbols = a.symbols,
						},
						&t) < 0) {
			code = EXIT_ERROR;
			goto out;
		}
		a.source = t.source_dir;
		a.tarball = t.source_tarball;
		a.config = t.config;
		a.kbuild = t.kbuild;
		a.symbols = t.symbols;
		if (!cli->json && !cli->quiet)
			fprintf(stderr,
				"kernel '%s' (%s): source %s (%s), config %s, kbuild %s (%s), "
				"symbols %s\n",
				t.name, t.release, a.source ? a.source : a.tarball, t.source_from,
				t.config_from, t.kbuild, t.kbuild_from, t.symbols_from);
	}
	struct lp_build_opts o = {.kernel = a.kernel,
				  .kernel_release = t.release,.patches = a.patches,
				  .npatches = a.npatches,
				  .source_dir = a.source,
				  .source_tarball = a.tarball,
				  .config = a.config,
				  .symbols = a.symbols,
				  .vmlinux = a.vmlinux,
				  .kbuild = a.kbuild,
				  .name = a.name,
				  .out_ko = ko,
				  .workdir = a.workdir,
				  .config_accept = a.accept,
				  .jobs = a.jobs,
				  .replace = a.replace,
				  .allow_fuzz = a.allow_fuzz,
				  .max_units = a.max_units,
				  .cves = a.cves,
				  .module_paths = a.mods,
				  .nmodule_paths = a.nmods};
	r = lp_build(&o, &rep);
	if (r < 0) {
		/* A change tuxtape cannot livepatch is a refusal, like an unsafe one. */
		code = r == -EOPNOTSUPP ? EXIT_UNSAFE : EXIT_ERROR;
		goto out;
	}
	code = r == LP_BUILD_WRITTEN ? EXIT_OK : r == LP_BUILD_UNSAFE ? EXIT_UNSAFE : EXIT_NOCHANGE;
	if (cli->json)
		cli_print_json(lp_build_report_to_json(rep));
	else
		print_report(rep);
out:
	kernel_build_target_release(&t);
	free(a.patches);
	free(a.accept);
	free(a.cves);
	free(a.mods);
	free(a.name);
	return code;
}
