/* tuxtape kernel add/list/show/rm/files/import-running: the fleet's kernel inventory. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "applicability/verdict.h"
#include "cli.h"
#include "fileio.h"
#include "fleet/inventory.h"
#include "log.h"
#include "store/store.h"

static const char add_options[] =
	"  --release VERSION      the kernel's release as uname -r prints it (6.8, 6.1.192,\n"
	"                         6.10-rc3, 6.1.0-56-amd64, 6.8.0-52-generic)\n"
	"  --config FILE          its .config\n"
	"  --source DIR           its source tree (static Kbuild evaluation), or\n"
	"  --source-tarball FILE  a tarball of it, extracted once into the cache\n"
	"  --build-dir DIR        a finished build's object tree (exact)\n"
	"  --debuginfo DIR        vmlinux with DWARF or a directory like /usr/lib/debug (exact)\n"
	"  --proc-version STRING|FILE       /proc/version, to map a Debian release\n"
	"  --version-signature STRING|FILE  /proc/version_signature, to map an Ubuntu release\n"
	"  --arch SRCARCH         arch directory (default: from the config)\n"
	"  --replace              replace a kernel of the same name\n"
	"  --allow-source-mismatch  take a source tree of another branch than the release's\n"
	"  --changelog FILE       the kernel package's changelog(.gz): CVEs it names as fixed\n"
	"                         up to the kernel's package version become 'fixed' (default:\n"
	"                         /usr/share/doc/linux-image-RELEASE/changelog.gz if installed)\n"
	"  --no-changelog         do not read one\n"
	"  --kbuild DIR           its kbuild directory (/lib/modules/RELEASE/build), for\n"
	"                         'livepatch build --kernel NAME'; must be RELEASE's\n"
	"  --symbols FILE         its full symbol table (a System.map, or /proc/kallsyms\n"
	"                         read as root): its path and SHA-256 are recorded, and a\n"
	"                         build refuses the file once it has changed\n"
	"\nThe most exact file set available wins: debuginfo, then build dir, then static.\n"
	"Verdicts for every CVE in the database are computed before the command returns.\n";

/* A value given as text or as the name of a file holding it. */
static int string_or_file(const char *arg, char **ret)
{
	char *buf = NULL;
	size_t len = 0;

	if (access(arg, R_OK) == 0 && read_file_capped(arg, 64 * 1024, &buf, &len) == 0) {
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
			buf[--len] = '\0';
		*ret = buf;
		return 0;
	}
	*ret = strdup(arg);
	return *ret ? 0 : -ENOMEM;
}

enum {
	OPT_RELEASE = 256,
	OPT_CONFIG,
	OPT_SOURCE,
	OPT_TARBALL,
	OPT_BUILD,
	OPT_DEBUG,
	OPT_PROC,
	OPT_SIG,
	OPT_ARCH,
	OPT_REPLACE,
	OPT_ROOT,
	OPT_MISMATCH,
	OPT_CHANGELOG,
	OPT_NO_CHANGELOG,
	OPT_KBUILD,
	OPT_SYMBOLS,
};

static const struct option add_long[] = {
	{ "release", required_argument, NULL, OPT_RELEASE },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "source-tarball", required_argument, NULL, OPT_TARBALL },
	{ "build-dir", required_argument, NULL, OPT_BUILD },
	{ "debuginfo", required_argument, NULL, OPT_DEBUG },
	{ "proc-version", required_argument, NULL, OPT_PROC },
	{ "version-signature", required_argument, NULL, OPT_SIG },
	{ "arch", required_argument, NULL, OPT_ARCH },
	{ "replace", no_argument, NULL, OPT_REPLACE },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "allow-source-mismatch", no_argument, NULL, OPT_MISMATCH },
	{ "changelog", required_argument, NULL, OPT_CHANGELOG },
	{ "no-changelog", no_argument, NULL, OPT_NO_CHANGELOG },
	{ "kbuild", required_argument, NULL, OPT_KBUILD },
	{ "symbols", required_argument, NULL, OPT_SYMBOLS },
	CLI_HELP_OPTION,
	{},
};

static void print_added(struct cli *cli, const struct kernel_add_opts *o,
			const struct kernel_add_report *rep)
{
	if (cli->json) {
		json_t *j = json_pack("{s:s s:s s:s s:s s:s s:I s:I s:b s:f s:f}", "name", o->name,
				      "release", o->release, "version", rep->version, "mapping",
				      rep->mapping, "files_method", rep->method, "file_count",
				      (json_int_t)rep->n_files, "verdicts_computed",
				      (json_int_t)rep->verdicts, "replaced", rep->replaced,
				      "files_seconds", rep->files_seconds, "verdict_seconds",
				      rep->verdict_seconds);

		json_object_set_new(j, "source_version", rep->source_version[0]
								 ? json_string(rep->source_version)
								 : json_null());
		json_object_set_new(j, "changelog",
				    rep->changelog ? json_string(rep->changelog) : json_null());
		json_object_set_new(j, "distro_version", rep->changelog
								 ? json_string(rep->distro_version)
								 : json_null());
		json_object_set_new(j, "distro_fixes", json_integer((json_int_t)rep->distro_fixes));
		json_object_set_new(j, "distro_fixes_taken_back",
				    json_integer((json_int_t)rep->distro_taken_back));
		cli_print_json(j);
		return;
	}
	if (cli->quiet)
		return;
	fprintf(stderr,
		"%s kernel '%s': %s is %s (%s); %zu compiled files (%s%s%s, %.2fs); %lu verdicts "
		"(%.2fs)\n",
		rep->replaced ? "replaced" : "added", o->name, o->release, rep->version, rep->mapping,
		rep->n_files, rep->method, rep->source_version[0] ? ", source " : "",
		rep->source_version, rep->files_seconds, rep->verdicts, rep->verdict_seconds);
	if (rep->changelog)
		fprintf(stderr,
			"%lu CVEs named as fixed by '%s' up to %s (%lu more taken back by a later "
			"revert or drop: not counted)\n",
			rep->distro_fixes, rep->changelog, rep->distro_version,
			rep->distro_taken_back);
}

/* Shared by add and import-running; ROOT_OUT set for import-running's --root. */
static int parse_add(struct cli *cli, int argc, char **argv, struct kernel_add_opts *o,
		     char **proc, char **sig, const char **root, bool running)
{
	int c;

	while ((c = getopt_long(argc, argv, "h", add_long, NULL)) != -1) {
		switch (c) {
		case OPT_RELEASE:
			if (running)
				return cli_usage_error(cli, "--release: the running kernel's is read");
			o->release = optarg;
			break;
		case OPT_CONFIG:
			o->config = optarg;
			break;
		case OPT_SOURCE:
			o->source_dir = optarg;
			break;
		case OPT_TARBALL:
			o->source_tarball = optarg;
			break;
		case OPT_BUILD:
			o->build_dir = optarg;
			break;
		case OPT_DEBUG:
			o->debuginfo = optarg;
			break;
		case OPT_PROC:
		case OPT_SIG: {
			char **dst = c == OPT_PROC ? proc : sig;

			free(*dst);
			if (string_or_file(optarg, dst) < 0)
				return EXIT_ERROR;
			break;
		}
		case OPT_ARCH:
			o->arch = optarg;
			break;
		case OPT_REPLACE:
			o->replace = true;
			break;
		case OPT_MISMATCH:
			o->allow_source_mismatch = true;
			break;
		case OPT_CHANGELOG:
			o->changelog = optarg;
			break;
		case OPT_NO_CHANGELOG:
			o->no_changelog = true;
			break;
		case OPT_KBUILD:
			o->kbuild = optarg;
			break;
		case OPT_SYMBOLS:
			o->symbols = optarg;
			break;
		case OPT_ROOT:
			if (!running)
				return cli_usage_error(cli, "--root is for import-running");
			*root = optarg;
			break;
		case 'h':
			return cli_help(
				cli, running ? "  --source DIR, --source-tarball FILE, --build-dir DIR,\n"
					       "  --debuginfo DIR, --config FILE, --arch, --replace,\n"
					       "  --allow-source-mismatch, --changelog FILE, --no-changelog,\n"
					       "  --kbuild DIR, --symbols FILE\n"
					       "                         as for 'kernel add' (--config,\n"
					       "                         --kbuild, --symbols: instead of\n"
					       "                         those found)\n"
					       "  --root DIR             read proc/, boot/ and lib/ below DIR\n"
					       "\nReads uname -r, /proc/version, /proc/version_signature and\n"
					       "/proc/config.gz, else /boot/config-$(uname -r). Records\n"
					       "/lib/modules/RELEASE/build as the kbuild directory when it\n"
					       "exists, and as the symbol table /boot/System.map-RELEASE when\n"
					       "it is a real one (Debian's is a placeholder), else a kallsyms\n"
					       "dump of that image in $XDG_CACHE_HOME/tuxtape/kallsyms/\n"
					       "RELEASE-<first 16 hex digits of the image's SHA-256>, saved\n"
					       "there from /proc/kallsyms when there is none (as root).\n"
					     : add_options);
		default:
			return EXIT_USAGE;
		}
	}
	if (o->source_dir && o->source_tarball)
		return cli_usage_error(cli, "--source and --source-tarball exclude each other");
	if (!o->source_dir && !o->source_tarball && !o->build_dir && !o->debuginfo)
		return cli_usage_error(
			cli, "give --source, --source-tarball, --build-dir or --debuginfo");
	return -1; /* go on */
}

int cmd_kernel_add(struct cli *cli, int argc, char **argv)
{
	struct kernel_add_opts o = {};
	struct kernel_add_report rep;
	_cleanup_free_ char *proc = NULL, *sig = NULL;
	const char *root = NULL;
	struct tt_store *s;
	int r;

	r = parse_add(cli, argc, argv, &o, &proc, &sig, &root, false);
	if (r >= 0)
		return r;
	if (optind + 1 != argc)
		return cli_usage_error(cli, "expected one kernel NAME");
	if (!o.release || !o.config)
		return cli_usage_error(cli, "--release and --config are required");
	o.name = argv[optind];
	o.proc_version = proc;
	o.version_signature = sig;
	if (cli_store(cli, false, &s) < 0)
		return EXIT_ERROR;
	r = kernel_inventory_add(s, &o, &rep);
	if (r < 0)
		return EXIT_ERROR;
	print_added(cli, &o, &rep);
	kernel_add_report_release(&rep);
	return EXIT_OK;
}

int cmd_kernel_import_running(struct cli *cli, int argc, char **argv)
{
	struct kernel_add_opts o = {};
	struct kernel_add_report rep;
	struct kernel_running k = {};
	_cleanup_free_ char *proc = NULL, *sig = NULL;
	const char *root = NULL;
	struct tt_store *s;
	int r;

	r = parse_add(cli, argc, argv, &o, &proc, &sig, &root, true);
	if (r >= 0)
		return r;
	if (optind + 1 < argc)
		return cli_usage_error(cli, "expected at most one kernel NAME");
	r = kernel_running_read(root, &k);
	if (r < 0)
		return EXIT_ERROR;
	o.name = optind < argc ? argv[optind] : k.release;
	o.release = k.release;
	o.proc_version = proc ? proc : k.proc_version;
	o.version_signature = sig ? sig : k.version_signature;
	if (!o.config) {
		o.config = k.config_path;
		o.config_origin = k.config_origin;
	}
	if (!o.kbuild)
		o.kbuild = k.kbuild;
	if (!o.symbols)
		o.symbols = k.symbols;
	if (!cli->json && !cli->quiet && (!o.kbuild || !o.symbols))
		fprintf(stderr,
			"no %s found for %s: 'livepatch build --kernel' will need %s (or record it "
			"with 'tuxtape kernel set-build')\n",
			!o.kbuild && !o.symbols ? "kbuild directory or symbol table"
			: !o.kbuild		? "kbuild directory"
						: "symbol table",
			k.release,
			!o.kbuild && !o.symbols ? "--kbuild and --symbols"
			: !o.kbuild		? "--kbuild"
						: "--symbols");
	o.changelog_root = root;
	r = cli_store(cli, false, &s);
	if (r >= 0)
		r = kernel_inventory_add(s, &o, &rep);
	if (r >= 0) {
		o.config = NULL;
		print_added(cli, &o, &rep);
		kernel_add_report_release(&rep);
	}
	kernel_running_release(&k);
	return r < 0 ? EXIT_ERROR : EXIT_OK;
}

int cmd_kernel_list(struct cli *cli, int argc, char **argv)
{
	struct tt_store *s;
	json_t *arr, *o;
	size_t i;
	int r;

	bool csv;

	if ((r = cli_parse_format_only(cli, argc, argv, &csv)) >= 0)
		return r;
	if (cli_store(cli, true, &s) < 0 || kernel_inventory_list(s, &arr) < 0)
		return EXIT_ERROR;
	if (csv) {
		static const char *const cols[] = {"name",	   "release",	     "version",
						   "mapping",	   "file_count",    "files_method",
						   "source_version", "distro",	     "distro_version",
						   "distro_fixes", "config_origin", "added_at"};

		return cli_print_csv(arr, cols, ARRAY_SIZE(cols));
	}
	if (cli->json)
		return cli_print_json(arr);
	if (json_array_size(arr) == 0)
		fprintf(stderr, "no kernels: add one with 'tuxtape kernel add'\n");
	else
		printf("%-20s %-24s %-12s %-10s %s\n", "NAME", "RELEASE", "VERSION", "FILES", "FROM");
	json_array_foreach(arr, i, o)
		printf("%-20s %-24s %-12s %-10lld %s\n", json_string_value(json_object_get(o, "name")),
		       json_string_value(json_object_get(o, "release")),
		       json_string_value(json_object_get(o, "version")),
		       (long long)json_integer_value(json_object_get(o, "file_count")),
		       json_string_value(json_object_get(o, "files_method")));
	json_decref(arr);
	return EXIT_OK;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "-";
}

int cmd_kernel_show(struct cli *cli, int argc, char **argv)
{
	static const char *const methods[][2] = {
		{ "debuginfo", "exact: the DWARF compile units of vmlinux and modules" },
		{ "builddir", "exact: the .cmd files of a finished build" },
		{ "static", "static evaluation of the Kbuild files against the .config" },
	};
	struct tt_store *s;
	json_t *o, *v;
	const char *k, *method;
	int r;

	if ((r = cli_parse_no_options(cli, argc, argv, 1, "one kernel NAME")) >= 0)
		return r;
	if (cli_store(cli, true, &s) < 0 || kernel_inventory_show(s, argv[optind], &o) < 0)
		return EXIT_ERROR;
	if (cli->json)
		return cli_print_json(o);
	method = jstr(o, "files_method");
	printf("name:       %s\n", jstr(o, "name"));
	printf("release:    %s\n", jstr(o, "release"));
	printf("version:    %s (mapping: %s)\n", jstr(o, "version"), jstr(o, "mapping"));
	printf("arch:       %s\n", jstr(o, "arch"));
	printf("config:     stored, %lld lines (read from %s)\n",
	       (long long)json_integer_value(json_object_get(o, "config_lines")),
	       jstr(o, "config_origin"));
	printf("source:     %s", jstr(o, "source"));
	if (json_is_string(json_object_get(o, "source_version")))
		printf(" (%s)", jstr(o, "source_version"));
	printf("\n");
	if (json_is_string(json_object_get(o, "changelog")))
		printf("distro:     %s %s: %lld CVEs fixed by its changelog (%s)\n",
		       jstr(o, "distro"), jstr(o, "distro_version"),
		       (long long)json_integer_value(json_object_get(o, "distro_fixes")),
		       jstr(o, "changelog"));
	if (json_is_string(json_object_get(o, "build_dir")))
		printf("build dir:  %s\n", jstr(o, "build_dir"));
	if (json_is_string(json_object_get(o, "debuginfo")))
		printf("debuginfo:  %s\n", jstr(o, "debuginfo"));
	printf("kbuild:     %s\n", json_is_string(json_object_get(o, "kbuild"))
					    ? jstr(o, "kbuild")
					    : "- (none recorded: 'kernel set-build NAME --kbuild DIR')");
	if (json_is_string(json_object_get(o, "symbols")))
		printf("symbols:    %s (sha256 %s)\n", jstr(o, "symbols"), jstr(o, "symbols_sha256"));
	else
		printf("symbols:    - (none recorded: 'kernel set-build NAME --symbols FILE')\n");
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
		if (streq(method, methods[i][0]))
			method = methods[i][1];
	printf("files:      %lld, from %s\n",
	       (long long)json_integer_value(json_object_get(o, "file_count")), method);
	printf("verdicts:  ");
	json_object_foreach(json_object_get(o, "verdict_counts"), k, v)
		printf(" %s=%lld", k, (long long)json_integer_value(v));
	printf("\nadded:      %s, updated %s\n", jstr(o, "added_at"), jstr(o, "updated_at"));
	json_decref(o);
	return EXIT_OK;
}

int cmd_kernel_rm(struct cli *cli, int argc, char **argv)
{
	struct tt_store *s;
	int r;

	if ((r = cli_parse_no_options(cli, argc, argv, 1, "one kernel NAME")) >= 0)
		return r;
	if (cli_store(cli, true, &s) < 0 || kernel_inventory_remove(s, argv[optind]) < 0)
		return EXIT_ERROR;
	if (cli->json)
		return cli_print_json(json_pack("{s:s}", "removed", argv[optind]));
	if (!cli->quiet)
		fprintf(stderr, "removed kernel '%s'\n", argv[optind]);
	return EXIT_OK;
}

static const char set_build_options[] =
	"  --kbuild DIR           the kernel's kbuild directory (/lib/modules/RELEASE/build);\n"
	"                         must be its release's\n"
	"  --symbols FILE         its full symbol table (System.map or kallsyms); its path\n"
	"                         and SHA-256 are recorded\n"
	"\nWhat 'livepatch build --kernel NAME' takes besides the source and config; a value\n"
	"not given stays as recorded.\n";

int cmd_kernel_set_build(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kbuild", required_argument, NULL, OPT_KBUILD },
		{ "symbols", required_argument, NULL, OPT_SYMBOLS },
		CLI_HELP_OPTION,
		{},
	};
	const char *kbuild = NULL, *symbols = NULL;
	struct tt_store *s;
	json_t *o;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case OPT_KBUILD:
			kbuild = optarg;
			break;
		case OPT_SYMBOLS:
			symbols = optarg;
			break;
		case 'h':
			return cli_help(cli, set_build_options);
		default:
			return EXIT_USAGE;
		}
	if (optind + 1 != argc)
		return cli_usage_error(cli, "expected one kernel NAME");
	if (!kbuild && !symbols)
		return cli_usage_error(cli, "give --kbuild DIR, --symbols FILE or both");
	if (cli_store(cli, false, &s) < 0 ||
	    kernel_inventory_set_build(s, argv[optind], kbuild, symbols) < 0 ||
	    kernel_inventory_show(s, argv[optind], &o) < 0)
		return EXIT_ERROR;
	if (cli->json) {
		json_t *j = json_pack("{s:s s:O s:O s:O}", "name", argv[optind], "kbuild",
				      json_object_get(o, "kbuild"), "symbols",
				      json_object_get(o, "symbols"), "symbols_sha256",
				      json_object_get(o, "symbols_sha256"));

		json_decref(o);
		return cli_print_json(j);
	}
	if (!cli->quiet)
		fprintf(stderr, "kernel '%s': kbuild %s, symbols %s\n", argv[optind],
			jstr(o, "kbuild"), jstr(o, "symbols"));
	json_decref(o);
	return EXIT_OK;
}

int cmd_kernel_files(struct cli *cli, int argc, char **argv)
{
	struct tt_store *s;
	json_t *o, *f;
	size_t i;
	int r;

	if ((r = cli_parse_no_options(cli, argc, argv, 1, "one kernel NAME")) >= 0)
		return r;
	if (cli_store(cli, true, &s) < 0 || kernel_inventory_files(s, argv[optind], &o) < 0)
		return EXIT_ERROR;
	if (cli->json)
		return cli_print_json(o);
	json_array_foreach(json_object_get(o, "files"), i, f)
		printf("%s\n", json_string_value(json_object_get(f, "path")));
	json_decref(o);
	return EXIT_OK;
}
