/* tuxtape kernel: the inventory of fleet kernels, and the developer's compiled-file evaluator. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "kernel/fileset.h"
#include "log.h"

static const char eval_options[] =
	"  --source DIR       kernel source tree (with --config: static Kbuild evaluation)\n"
	"  --config FILE      the kernel's .config\n"
	"  --arch SRCARCH     arch directory (default x86)\n"
	"  --build-dir DIR    a finished build's object tree: exact list from its .cmd files\n"
	"  --debuginfo PATH   vmlinux with DWARF, or a directory such as /usr/lib/debug\n"
	"  --suffix SUF       only files ending in SUF (repeatable), e.g. --suffix .c\n"
	"  --diff             with two methods, list the files they disagree on\n";

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void print_set(const struct kernel_fileset *fs, const char *const *suffixes)
{
	for (size_t i = 0; i < kernel_fileset_size(fs); i++) {
		const struct kernel_file *f = kernel_fileset_get(fs, i);

		if (!kernel_path_has_suffix(f->path, suffixes))
			continue;
		printf("%s\t%s\t%s\t%s\n", f->path, kernel_file_kind_str(f->kind),
		       f->generated ? "generated" : "tree", f->how);
	}
}

static json_t *diff_json(const struct kernel_fileset *a, const struct kernel_fileset *b,
			 const char *const *suffixes)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < kernel_fileset_size(a); i++) {
		const struct kernel_file *f = kernel_fileset_get(a, i);

		if (kernel_path_has_suffix(f->path, suffixes) && !kernel_fileset_find(b, f->path))
			json_array_append_new(arr, json_string(f->path));
	}
	return arr;
}

static void print_diff(const struct kernel_fileset *a, const struct kernel_fileset *b,
		       const char *const *suffixes, char mark)
{
	for (size_t i = 0; i < kernel_fileset_size(a); i++) {
		const struct kernel_file *f = kernel_fileset_get(a, i);

		if (kernel_path_has_suffix(f->path, suffixes) && !kernel_fileset_find(b, f->path))
			printf("%c %s\t%s\t%s\n", mark, f->path, kernel_file_kind_str(f->kind),
			       f->how);
	}
}

static int cmd_kernel_eval(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_HELP_OPTION,
		{"source", required_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'},
		{"arch", required_argument, NULL, 'a'},
		{"build-dir", required_argument, NULL, 'b'},
		{"debuginfo", required_argument, NULL, 'd'},
		{"suffix", required_argument, NULL, 'x'},
		{"diff", no_argument, NULL, 'D'},
		{},
	};
	const char *source = NULL, *config = NULL, *arch = NULL, *builddir = NULL, *debug = NULL;
	const char *suffixes[9] = {};
	size_t nsuffix = 0;
	bool diff = false;
	struct kernel_fileset *st = NULL, *bd = NULL, *di = NULL, *main_set, *ref;
	double t_static = 0;
	int c, r = 0;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			return cli_help(cli, eval_options);
		case 's':
			source = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'a':
			arch = optarg;
			break;
		case 'b':
			builddir = optarg;
			break;
		case 'd':
			debug = optarg;
			break;
		case 'x':
			if (nsuffix + 1 >= sizeof(suffixes) / sizeof(suffixes[0]))
				return cli_usage_error(cli, "too many --suffix options");
			suffixes[nsuffix++] = optarg;
			break;
		case 'D':
			diff = true;
			break;
		default:
			return cli_usage_error(cli, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (!!source != !!config && !builddir && !debug)
		return cli_usage_error(cli, "--source and --config go together");
	if (!config && !builddir && !debug)
		return cli_usage_error(cli,
				       "give --source and --config, --build-dir or --debuginfo");

	if (config) {
		double t0 = now();

		if (!source)
			return cli_usage_error(cli, "--config needs --source");
		r = kernel_files_static(source, config, arch, &st);
		t_static = now() - t0;
	}
	if (r >= 0 && builddir)
		r = kernel_files_from_builddir(builddir, source, &bd);
	if (r >= 0 && debug)
		r = kernel_files_from_debuginfo(debug, source, &di);
	if (r < 0)
		goto out;

	const char *const *sfx = nsuffix ? suffixes : NULL;

	main_set = st ? st : bd ? bd : di;
	ref = main_set == st ? (bd ? bd : di) : main_set == bd ? di : NULL;
	if (cli->json) {
		json_t *j = kernel_fileset_to_json(main_set);

		if (j && st)
			json_object_set_new(j, "eval_seconds", json_real(t_static));
		if (j && ref) {
			struct kernel_fileset_diff d;

			kernel_fileset_compare(main_set, ref, sfx, &d);
			json_object_set_new(
				j, "compare",
				json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:o, s:o}",
					  "reference", kernel_fileset_method(ref), "got",
					  (json_int_t)d.got, "want", (json_int_t)d.want, "common",
					  (json_int_t)d.common, "same_kind",
					  (json_int_t)d.same_kind, "precision", d.precision,
					  "recall", d.recall, "extra",
					  diff_json(main_set, ref, sfx), "missing",
					  diff_json(ref, main_set, sfx)));
		}
		r = cli_print_json(j);
		goto out;
	}
	if (ref) {
		struct kernel_fileset_diff d;

		kernel_fileset_compare(main_set, ref, sfx, &d);
		if (diff) {
			print_diff(main_set, ref, sfx, '+');
			print_diff(ref, main_set, sfx, '-');
		}
		printf("%s vs %s: %zu files vs %zu, %zu in common\n",
		       kernel_fileset_method(main_set), kernel_fileset_method(ref), d.got, d.want,
		       d.common);
		printf("precision %.4f%%\nrecall %.4f%%\n", 100.0 * d.precision, 100.0 * d.recall);
		printf("same builtin/module kind: %zu of %zu\n", d.same_kind, d.common);
	} else {
		print_set(main_set, sfx);
	}
	if (st && !cli->quiet) {
		const struct kernel_fileset_stats *s = kernel_fileset_stats(st);

		fprintf(stderr,
			"static evaluation: %.3f s, %u directories, %zu files, %u warnings, "
			"%u directories counted wholesale\n",
			t_static, s->dirs, kernel_fileset_size(st), s->warnings, s->conservative);
	}
	r = EXIT_OK;
out:
	kernel_fileset_free(st);
	kernel_fileset_free(bd);
	kernel_fileset_free(di);
	return cli_exit(r);
}

const struct cmd cmd_kernel_table[] = {
	{"add", cmd_kernel_add, NULL,
	 "NAME --release VERSION --config FILE [--source DIR | --source-tarball FILE] "
	 "[--build-dir DIR] [--debuginfo DIR] [--kbuild DIR] [--symbols FILE]",
	 "add a kernel to the inventory and compute its verdicts"},
	{"list", cmd_kernel_list, NULL, "", "list the inventory's kernels"},
	{"show", cmd_kernel_show, NULL, "NAME",
	 "show a kernel: version mapping, file set, verdicts"},
	{"rm", cmd_kernel_rm, NULL, "NAME", "remove a kernel and its verdicts"},
	{"set-build", cmd_kernel_set_build, NULL, "NAME [--kbuild DIR] [--symbols FILE]",
	 "record a kernel's kbuild directory and symbol table, for livepatch builds"},
	{"files", cmd_kernel_files, NULL, "NAME", "list the source files a kernel compiles"},
	{"import-running", cmd_kernel_import_running, NULL,
	 "[NAME] [--source DIR | --source-tarball FILE] [--build-dir DIR] [--debuginfo DIR]",
	 "add the kernel this machine runs"},
	{"eval", cmd_kernel_eval, NULL,
	 "--source DIR --config FILE [--build-dir DIR] [--debuginfo PATH] [--json]",
	 "list the source files a kernel compiles (developer tool)"},
	{},
};
