/* tuxtape livepatch build: from source patches to a loadable livepatch module. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "fileio.h"
#include "livepatch/diff.h"
#include "livepatch/klp.h"
#include "livepatch/patchset.h"
#include "livepatch/tree.h"
#include "livepatch/workdir.h"
#include "log.h"
#include "strbuf.h"

int cmd_livepatch_build(struct cli *cli, int argc, char **argv);

static const char build_options[] =
	"  --patch FILE           a unified diff against the source (-p1); repeatable,\n"
	"                         applied in order\n"
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
	"  --accept-config NAME   accept this option differing between --config and\n"
	"                         the kbuild's .config; repeatable\n"
	"\nThe source is prepared once per (source, config) in $XDG_CACHE_HOME/tuxtape/trees.\n"
	"\nThe files the patches touch are those patch(1) names; each must be pristine\n"
	"in the prepared tree, which is verified pristine again afterwards.\n"
	"\nExit status: 0 module written, 1 error (the patches do not apply, a compile\n"
	"failed, the config is not the target's, ...), 2 change refused as unsafe,\n"
	"3 no functional change (every changed file built with this config compiled to\n"
	"identical code).\n";

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
	const char *source, *tarball, *config, *symbols, *vmlinux, *kbuild, *out, *workdir;
	char *name;
	bool replace;
	unsigned jobs;
};

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
		{},
	};
	int c;

	a->replace = true;
	while ((c = getopt_long(argc, argv, "ho:j:", opts, NULL)) >= 0)
		switch (c) {
		case 'h':
			return cli_help(cli, build_options) == EXIT_OK ? 1 : -1;
		case 'p': {
			const char **np = realloc(a->patches, (a->npatches + 1) * sizeof(*np));

			if (!np)
				return log_error_errno(-ENOMEM, "out of memory"), -1;
			a->patches = np;
			a->patches[a->npatches++] = optarg;
			break;
		}
		case 'S':
			a->source = optarg;
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
		case 'A': {
			const char **na = realloc(a->accept, (a->naccept + 2) * sizeof(*na));

			if (!na)
				return log_error_errno(-ENOMEM, "out of memory"), -1;
			a->accept = na;
			a->accept[a->naccept++] = optarg;
			a->accept[a->naccept] = NULL;
			break;
		}
		default:
			return -1;
		}
	if (optind != argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]), -1;
	if (a->npatches == 0)
		return cli_usage_error(cli, "need at least one --patch"), -1;
	if (!!a->source == !!a->tarball)
		return cli_usage_error(cli, "need exactly one of --source and --source-tarball"),
		       -1;
	if (!a->config || !a->symbols || !a->kbuild)
		return cli_usage_error(cli, "--config, --symbols and --kbuild are required"), -1;
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

/* What the run found, for the JSON and the plain report. */
struct build_result {
	json_t *units;	   /* per translation unit: source, result, functions */
	json_t *functions; /* names of functions patched */
	json_t *refusals;
	json_t *warnings;
	json_t *files;	   /* every file the patches touch (patch(1)'s list) */
	json_t *identical; /* units compiled and found to have no functional change */
	json_t *skipped;   /* changed files not built with this config, and why */
	json_t *notes;	   /* hunks applied at an offset or with fuzz */
	bool fuzz;
	const char *tree; /* the prepared tree used */
	size_t nrelocs, nklp_syms;
	double t_prepare, t_compile, t_diff, t_module, t_total;
	bool tree_cached;
};

static json_t *result_json(const struct build_args *a, const struct build_result *res,
			   const char *status, const char *ko)
{
	json_t *accepted = json_array();

	for (size_t i = 0; accepted && i < a->naccept; i++)
		json_array_append_new(accepted, json_string(a->accept[i]));
	return json_pack("{s:s, s:s, s:s?, s:O, s:O, s:I, s:I, s:O, s:O, s:b,"
			 " s:{s:f, s:f, s:f, s:f, s:f}, s:O, s:O, s:O, s:O, s:b, s:b, s:o}",
			 "result", status, "name", a->name, "module", ko, "functions",
			 res->functions, "units", res->units, "relocations",
			 (json_int_t)res->nrelocs, "klp_symbols", (json_int_t)res->nklp_syms,
			 "refusals", res->refusals, "warnings", res->warnings, "tree_cached",
			 res->tree_cached, "seconds", "prepare", res->t_prepare, "compile",
			 res->t_compile, "diff", res->t_diff, "module", res->t_module, "total",
			 res->t_total, "files", res->files, "identical", res->identical,
			 "not_built", res->skipped, "patch_notes", res->notes, "fuzz_allowed",
			 a->allow_fuzz, "fuzz", res->fuzz, "config_accepted", accepted);
}

static int finish(struct cli *cli, const struct build_args *a, struct build_result *res, int code,
		  const char *status, const char *ko, double t0)
{
	res->t_total = now_seconds() - t0;
	if (cli->json) {
		json_t *j = result_json(a, res, status, ko);

		if (j && res->tree)
			json_object_set_new(j, "tree", json_string(res->tree));
		cli_print_json(j);
		return code;
	}
	for (size_t i = 0; i < json_array_size(res->warnings); i++)
		fprintf(stderr, "tuxtape: warning: %s\n",
			json_string_value(json_array_get(res->warnings, i)));
	for (size_t i = 0; i < json_array_size(res->refusals); i++)
		fprintf(stderr, "tuxtape: unsafe: %s\n",
			json_string_value(json_array_get(res->refusals, i)));
	for (size_t i = 0; i < json_array_size(res->notes); i++)
		fprintf(stderr, "tuxtape: patch: %s\n",
			json_string_value(json_array_get(res->notes, i)));
	if (code == EXIT_NOCHANGE) {
		printf("no functional change\n");
		for (size_t i = 0; i < json_array_size(res->identical); i++)
			printf("  compiled, identical code: %s\n",
			       json_string_value(json_array_get(res->identical, i)));
		for (size_t i = 0; i < json_array_size(res->skipped); i++)
			printf("  not compiled: %s\n",
			       json_string_value(json_array_get(res->skipped, i)));
	}
	if (code != EXIT_OK)
		return code;
	printf("written: %s\n", ko);
	printf("functions:");
	for (size_t i = 0; i < json_array_size(res->functions); i++)
		printf(" %s", json_string_value(json_array_get(res->functions, i)));
	printf("\nlivepatch relocations: %zu\n", res->nrelocs);
	printf("time: %.1f s (prepare %.1f%s, compile %.1f, diff %.1f, module %.1f)\n",
	       res->t_total, res->t_prepare, res->tree_cached ? " cached" : "", res->t_compile,
	       res->t_diff, res->t_module);
	return EXIT_OK;
}

/* Maps a library error to the exit status and, in JSON mode, the error object. */
static int fail(struct cli *cli, int r)
{
	(void)cli;
	return r == -EOPNOTSUPP ? EXIT_UNSAFE : EXIT_ERROR;
}

int cmd_livepatch_build(struct cli *cli, int argc, char **argv)
{
	struct build_args a = {0};
	struct build_result res = {0};
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = NULL;
	_cleanup_(lp_symtab_freep) struct lp_symtab *syms = NULL;
	_cleanup_(lp_tree_freep) struct lp_tree *tree = NULL;
	_cleanup_(lp_tu_set_freep) struct lp_tu_set *set = NULL;
	_cleanup_(lp_module_report_freep) struct lp_module_report *mrep = NULL;
	_cleanup_free_ char *work = NULL, *ko = NULL;
	_cleanup_close_ int work_lock = -1;
	char **diff_objs = NULL;
	size_t ndiff = 0, nnochange = 0, nunsafe = 0;
	double t0 = now_seconds(), t;
	int r, code = EXIT_ERROR;

	r = parse_argv(cli, argc, argv, &a);
	if (r != 0) {
		code = r > 0 ? EXIT_OK : EXIT_USAGE;
		goto out_args;
	}
	res.units = json_array();
	res.functions = json_array();
	res.refusals = json_array();
	res.warnings = json_array();
	res.files = json_array();
	res.identical = json_array();
	res.skipped = json_array();
	res.notes = json_array();
	if (!res.units || !res.functions || !res.refusals || !res.warnings || !res.files ||
	    !res.identical || !res.skipped || !res.notes)
		goto out;

	ps = lp_patchset_new();
	if (!ps)
		goto out;
	for (size_t i = 0; i < a.npatches; i++)
		if (lp_patchset_add_file(ps, a.patches[i]) < 0)
			goto out;
	r = lp_symtab_load(a.symbols, &syms);
	if (r < 0) {
		log_error("cannot read symbols '%s': %s", a.symbols, strerror(-r));
		goto out;
	}
	if (a.vmlinux && (r = lp_symtab_add_vmlinux(syms, a.vmlinux)) < 0) {
		log_error("cannot read vmlinux '%s': %s", a.vmlinux, strerror(-r));
		goto out;
	}

	struct lp_tree_opts topts = {.source_dir = a.source,
				     .source_tarball = a.tarball,
				     .config = a.config,
				     .kbuild = a.kbuild,
				     .jobs = a.jobs,
				     .config_accept = a.accept};
	r = lp_tree_prepare(&topts, &tree);
	if (r < 0) {
		code = fail(cli, r);
		goto out;
	}
	res.t_prepare = tree->prepare_seconds;
	res.tree = tree->path;
	res.tree_cached = tree->cached;

	if (a.workdir) {
		work = strdup(a.workdir);
		if (!work || mkdir_p(work, 0755) < 0) {
			log_error("cannot create '%s'", a.workdir);
			goto out;
		}
	} else if (lp_workdir_new("tuxtape-lp.", &work, &work_lock) < 0) {
		goto out;
	}

	r = lp_tree_compile(tree, ps, &(struct lp_compile_opts){.allow_fuzz = a.allow_fuzz}, work,
			    &set);
	if (r < 0) {
		code = fail(cli, r);
		goto out;
	}
	res.t_compile = set->compile_seconds;
	for (size_t i = 0; i < set->nskipped; i++)
		json_array_append_new(res.skipped, json_string(set->skipped[i]));
	for (size_t i = 0; i < set->nfiles; i++)
		json_array_append_new(res.files, json_string(set->files[i]));
	for (size_t i = 0; i < set->nnotes; i++)
		json_array_append_new(res.notes, json_string(set->notes[i]));
	res.fuzz = set->fuzz;
	if (set->fuzz)
		json_array_append_new(res.warnings,
				      json_string("hunks applied with fuzz (--allow-fuzz): check "
						  "where they landed"));
	if (set->ntus == 0) {
		code = finish(cli, &a, &res, EXIT_NOCHANGE, "nochange", NULL, t0);
		goto out;
	}

	t = now_seconds();
	diff_objs = calloc(set->ntus, sizeof(*diff_objs));
	if (!diff_objs)
		goto out;
	for (size_t i = 0; i < set->ntus; i++) {
		const struct lp_tu *u = &set->tus[i];
		_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
		_cleanup_free_ char *out = NULL;
		json_t *uj, *fj;

		if (u->module) {
			json_array_append_new(
				res.refusals,
				json_sprintf("%s: built into module '%s'; only vmlinux can be "
					     "livepatched for now",
					     u->source, u->module));
			nunsafe++;
			continue;
		}
		out = strdup_printf("%s/diff/%s", work, u->source);
		if (!out)
			goto out;
		out[strlen(out) - 1] = 'o';
		{
			char *slash = strrchr(out, '/');

			*slash = '\0';
			r = mkdir_p(out, 0755);
			*slash = '/';
			if (r < 0)
				goto out;
		}
		r = lp_diff(u->orig_obj, u->patched_obj, syms, out, &rep);
		if (r < 0) {
			log_error("cannot diff the objects of '%s': %s", u->source, strerror(-r));
			goto out;
		}
		uj = lp_diff_report_to_json(rep, r);
		fj = json_object_get(uj, "functions");
		json_object_set_new(uj, "source", json_string(u->source));
		json_object_set_new(uj, "why", json_string(u->why));
		json_array_append_new(res.units, uj);
		for (size_t k = 0; k < rep->nwarnings; k++)
			json_array_append_new(res.warnings,
					      json_sprintf("%s: %s", u->source, rep->warnings[k]));
		if (r == LP_DIFF_UNSAFE) {
			for (size_t k = 0; k < rep->nrefusals; k++)
				json_array_append_new(
					res.refusals,
					json_sprintf("%s: %s", u->source, rep->refusals[k]));
			nunsafe++;
		} else if (r == LP_DIFF_NOCHANGE) {
			json_array_append_new(res.identical, json_string(u->source));
			nnochange++;
		} else {
			for (size_t k = 0; k < rep->nfuncs; k++)
				json_array_append_new(res.functions,
						      json_string(rep->funcs[k].name));
			diff_objs[ndiff++] = TAKE_PTR(out);
		}
		(void)fj;
	}
	res.t_diff = now_seconds() - t;
	if (nunsafe > 0) {
		code = finish(cli, &a, &res, EXIT_UNSAFE, "unsafe", NULL, t0);
		goto out;
	}
	if (ndiff == 0) {
		code = finish(cli, &a, &res, EXIT_NOCHANGE, "nochange", NULL, t0);
		goto out;
	}

	t = now_seconds();
	ko = a.out ? strdup(a.out) : strdup_printf("%s.ko", a.name);
	if (!ko)
		goto out;
	r = lp_module_build((const char *const *)diff_objs, ndiff, syms, a.kbuild, a.name,
			    a.replace, ko, &mrep);
	res.t_module = now_seconds() - t;
	if (r == -ENOEXEC && mrep && mrep->build_log && !cli->json)
		fprintf(stderr, "%s", mrep->build_log);
	if (r < 0) {
		log_error("cannot build module '%s': %s", ko, strerror(-r));
		goto out;
	}
	for (size_t k = 0; k < mrep->nwarnings; k++)
		json_array_append_new(res.warnings, json_string(mrep->warnings[k]));
	res.nrelocs = mrep->nklp_relas;
	res.nklp_syms = mrep->nklp_syms;
	if (r == LP_MODULE_UNSAFE) {
		for (size_t k = 0; k < mrep->nrefusals; k++)
			json_array_append_new(res.refusals, json_string(mrep->refusals[k]));
		code = finish(cli, &a, &res, EXIT_UNSAFE, "unsafe", NULL, t0);
		goto out;
	}
	code = finish(cli, &a, &res, EXIT_OK, "written", mrep->ko ? mrep->ko : ko, t0);
out:
	if (work && !a.workdir)
		rm_rf(work);
	for (size_t i = 0; i < ndiff; i++)
		free(diff_objs[i]);
	free(diff_objs);
	json_decref(res.units);
	json_decref(res.functions);
	json_decref(res.refusals);
	json_decref(res.warnings);
	json_decref(res.files);
	json_decref(res.identical);
	json_decref(res.skipped);
	json_decref(res.notes);
out_args:
	free(a.patches);
	free(a.accept);
	free(a.name);
	return code;
}
