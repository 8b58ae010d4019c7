/* tuxtape livepatch diff / module: the ELF differ and the klp module generator. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "livepatch/diff.h"
#include "livepatch/klp.h"
#include "log.h"

int cmd_livepatch_diff(struct cli *cli, int argc, char **argv);
int cmd_livepatch_module(struct cli *cli, int argc, char **argv);

static const char diff_options[] =
	"  -o, --output OUT.o   write the diff object here (default: compare only)\n"
	"  --symbols FILE       the target kernel's System.map or /proc/kallsyms: resolves\n"
	"                       the positions of static symbols now (ambiguity is refused)\n"
	"  --vmlinux FILE       a debug vmlinux, to tie same-named statics to their file\n"
	"  --object MODULE      the objects are of a file built into MODULE (default:\n"
	"                       vmlinux); recorded for `livepatch module`\n"
	"  --modules-dir PATH   with --object: a directory holding MODULE's .ko (or the file\n"
	"                       itself), to resolve its statics' positions now (repeatable)\n"
	"\nBoth objects are one source file compiled with the kernel's flags plus\n"
	"-ffunction-sections -fdata-sections (and objtool's annotations).\n"
	"\nExit status: 0 diff written (or found, without -o), 1 error, 2 change refused as\n"
	"unsafe, 3 no functional change.\n";

static int load_symbols(const char *symbols, const char *vmlinux, struct lp_symtab **ret)
{
	int r;

	*ret = NULL;
	if (!symbols) {
		if (vmlinux)
			return log_error_errno(-EINVAL, "--vmlinux needs --symbols"), -EINVAL;
		return 0;
	}
	/* the library names the file (and the line) in its message; out of memory it does not */
	r = lp_symtab_load(symbols, ret);
	if (r == -ENOMEM)
		return log_error_errno(r, "cannot read symbols '%s': %s", symbols, strerror(-r));
	if (r < 0)
		return r;
	if (vmlinux) {
		r = lp_symtab_add_vmlinux(*ret, vmlinux);
		if (r < 0)
			return log_error_errno(r, "cannot read vmlinux '%s': %s", vmlinux,
					       strerror(-r));
	}
	return 0;
}

static int add_path(const char ***v, size_t *n, const char *path)
{
	const char **nv = reallocarray(*v, *n + 1, sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = path;
	*v = nv;
	return 0;
}

/* With --modules-dir, MODULE's own symbols, so its statics' positions are checked now. */
static int load_module_symbols(const char *object, const char *const *dirs, size_t ndirs,
			       struct lp_symtab **ret)
{
	_cleanup_free_ char *name = strdup(object), *ko = NULL;
	int r;

	*ret = NULL;
	if (!name)
		return log_error_errno(-ENOMEM, "out of memory");
	for (char *p = name; *p; p++)
		if (*p == '-')
			*p = '_';
	if (!lp_module_name_ok(name))
		return log_error_errno(-EINVAL, "'%s' is not a module name", object);
	if (!ndirs)
		return 0;
	r = lp_module_find(dirs, ndirs, name, &ko);
	if (r == -ENOENT)
		return log_error_errno(r, "no %s.ko in '%s'%s", name, dirs[0],
				       ndirs > 1 ? " and the other --modules-dir" : "");
	if (r < 0)
		return r == -ENOMEM ? log_error_errno(r, "out of memory") : r;
	/* Debian's kernels have CONFIG_KALLSYMS_ALL; `livepatch module` reads the kbuild's */
	r = lp_symtab_load_module(ko, true, ret);
	return r == -ENOMEM ? log_error_errno(r, "out of memory") : r;
}

static void print_list(const char *title, char *const *v, size_t n)
{
	if (!n)
		return;
	printf("%s:\n", title);
	for (size_t i = 0; i < n; i++)
		printf("  %s\n", v[i]);
}

int cmd_livepatch_diff(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_HELP_OPTION,
		{"output", required_argument, NULL, 'o'},
		{"symbols", required_argument, NULL, 's'},
		{"vmlinux", required_argument, NULL, 'V'},
		{"object", required_argument, NULL, 'O'},
		{"modules-dir", required_argument, NULL, 'M'},
		{"json", no_argument, NULL, 'j'},
		{},
	};
	_cleanup_(lp_diff_report_freep) struct lp_diff_report *rep = NULL;
	_cleanup_(lp_symtab_freep) struct lp_symtab *syms = NULL;
	_cleanup_free_ const char **mdirs = NULL;
	const char *out = NULL, *symbols = NULL, *vmlinux = NULL, *object = NULL;
	size_t nmdirs = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) >= 0)
		switch (c) {
		case 'h':
			return cli_help(cli, diff_options);
		case 'o':
			out = optarg;
			break;
		case 's':
			symbols = optarg;
			break;
		case 'V':
			vmlinux = optarg;
			break;
		case 'O':
			object = optarg;
			break;
		case 'M':
			if (add_path(&mdirs, &nmdirs, optarg) < 0)
				return log_error_errno(-ENOMEM, "out of memory"), EXIT_ERROR;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return EXIT_USAGE;
		}
	if (argc - optind != 2)
		return cli_usage_error(cli, "need ORIG.o and PATCHED.o");
	if (object && streq(object, "vmlinux"))
		object = NULL;
	if (nmdirs && !object)
		return cli_usage_error(cli, "--modules-dir needs --object MODULE");
	if (object) {
		r = load_module_symbols(object, mdirs, nmdirs, &syms);
		if (r < 0)
			return EXIT_ERROR;
	} else if (load_symbols(symbols, vmlinux, &syms) < 0) {
		return EXIT_ERROR;
	}
	r = lp_diff_object(argv[optind], argv[optind + 1], object, syms, out, &rep);
	if (r < 0)
		return EXIT_ERROR; /* lp_diff() logged it, naming the file and the section */
	if (cli->json) {
		cli_print_json(lp_diff_report_to_json(rep, r));
		return r == LP_DIFF_UNSAFE     ? EXIT_UNSAFE
		       : r == LP_DIFF_NOCHANGE ? EXIT_NOCHANGE
					       : 0;
	}
	for (size_t i = 0; i < rep->nwarnings; i++)
		log_warn("%s", rep->warnings[i]);
	if (r == LP_DIFF_UNSAFE) {
		for (size_t i = 0; i < rep->nrefusals; i++)
			fprintf(stderr, "tuxtape: unsafe: %s\n", rep->refusals[i]);
		return EXIT_UNSAFE;
	}
	if (r == LP_DIFF_NOCHANGE) {
		printf("no functional change\n");
		return EXIT_NOCHANGE;
	}
	if (rep->object)
		printf("object: %s\n", rep->object);
	printf("functions:\n");
	for (size_t i = 0; i < rep->nfuncs; i++) {
		const struct lp_diff_func *f = &rep->funcs[i];

		printf("  %s %s", f->kind == LP_FUNC_NEW ? "new" : "changed", f->name);
		if (f->orig_name && !streq(f->orig_name, f->name))
			printf(" (was %s)", f->orig_name);
		if (f->sympos >= 0)
			printf(" sympos %ld", f->sympos);
		putchar('\n');
	}
	print_list("included", rep->included, rep->nincluded);
	print_list("special sections", rep->special, rep->nspecial);
	if (out)
		printf("written: %s\n", out);
	return EXIT_OK;
}

static const char module_options[] =
	"  -o, --output OUT.ko  the module to write (required)\n"
	"  --name NAME          module name (default: OUT.ko's base name)\n"
	"  --symbols FILE       the target kernel's System.map or /proc/kallsyms (required)\n"
	"  --vmlinux FILE       a debug vmlinux, to tie same-named statics to their file\n"
	"  --kbuild DIR         the kernel's build directory, with Module.symvers\n"
	"                       (default /lib/modules/$(uname -r)/build)\n"
	"  --no-replace         no atomic replace of earlier livepatches\n"
	"  --modules-dir PATH   where the patched modules' .ko files are: a directory\n"
	"                       (searched) or a file; repeatable (default\n"
	"                       /lib/modules/RELEASE, RELEASE the kbuild's)\n"
	"\nExit status: 0 module written, 1 error, 2 a symbol cannot be resolved safely.\n";

int cmd_livepatch_module(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_HELP_OPTION,
		{"output", required_argument, NULL, 'o'},
		{"name", required_argument, NULL, 'n'},
		{"symbols", required_argument, NULL, 's'},
		{"vmlinux", required_argument, NULL, 'V'},
		{"kbuild", required_argument, NULL, 'k'},
		{"no-replace", no_argument, NULL, 'R'},
		{"modules-dir", required_argument, NULL, 'M'},
		{"json", no_argument, NULL, 'j'},
		{},
	};
	_cleanup_(lp_module_report_freep) struct lp_module_report *rep = NULL;
	_cleanup_(lp_symtab_freep) struct lp_symtab *syms = NULL;
	_cleanup_free_ char *name = NULL, *kdir = NULL;
	_cleanup_free_ const char **mdirs = NULL;
	size_t nmdirs = 0;
	const char *out = NULL, *symbols = NULL, *vmlinux = NULL, *kbuild = NULL;
	bool replace = true;
	int c, r;

	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) >= 0)
		switch (c) {
		case 'h':
			return cli_help(cli, module_options);
		case 'o':
			out = optarg;
			break;
		case 'n':
			name = strdup(optarg);
			break;
		case 's':
			symbols = optarg;
			break;
		case 'V':
			vmlinux = optarg;
			break;
		case 'k':
			kbuild = optarg;
			break;
		case 'R':
			replace = false;
			break;
		case 'M':
			if (add_path(&mdirs, &nmdirs, optarg) < 0)
				return log_error_errno(-ENOMEM, "out of memory"), EXIT_ERROR;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return EXIT_USAGE;
		}
	if (argc - optind < 1)
		return cli_usage_error(cli, "need at least one diff object");
	if (!out || !symbols)
		return cli_usage_error(cli, "--output and --symbols are required");
	if (!name) {
		const char *b = strrchr(out, '/');
		size_t n;

		b = b ? b + 1 : out;
		n = strlen(b);
		if (n > 3 && streq(b + n - 3, ".ko"))
			n -= 3;
		name = strndup(b, n);
		for (char *p = name; p && *p; p++)
			if (*p == '-')
				*p = '_';
	}
	if (!name)
		return log_error_errno(-ENOMEM, "out of memory"), EXIT_ERROR;
	if (!kbuild) {
		struct utsname_buf {
			char r[256];
		} u = {};
		FILE *f = fopen("/proc/sys/kernel/osrelease", "re");

		if (f) {
			if (fgets(u.r, sizeof(u.r), f))
				u.r[strcspn(u.r, "\n")] = '\0';
			fclose(f);
		}
		if (asprintf(&kdir, "/lib/modules/%s/build", u.r) < 0)
			return EXIT_ERROR;
		kbuild = kdir;
	}
	if (load_symbols(symbols, vmlinux, &syms) < 0)
		return EXIT_ERROR;
	{
		const struct lp_module_opts o = {
			.syms = syms,
			.kbuild_dir = kbuild,
			.name = name,
			.replace = replace,
			.module_paths = mdirs,
			.nmodule_paths = nmdirs,
		};

		r = lp_module_build_opts((const char *const *)argv + optind,
					 (size_t)(argc - optind), &o, out, &rep);
	}
	if (r < 0 && !(r == -ENOEXEC && rep)) {
		log_error("cannot build module '%s': %s", out, strerror(-r));
		return EXIT_ERROR;
	}
	if (cli->json) {
		cli_print_json(lp_module_report_to_json(rep, r));
		return r < 0 ? EXIT_ERROR : r == LP_MODULE_UNSAFE ? EXIT_UNSAFE : 0;
	}
	for (size_t i = 0; i < rep->nwarnings; i++)
		log_warn("%s", rep->warnings[i]);
	if (r == -ENOEXEC) {
		fprintf(stderr, "%s", strempty(rep->build_log));
		log_error("kbuild failed for '%s'", out);
		return EXIT_ERROR;
	}
	if (r == LP_MODULE_UNSAFE) {
		for (size_t i = 0; i < rep->nrefusals; i++)
			fprintf(stderr, "tuxtape: unsafe: %s\n", rep->refusals[i]);
		return EXIT_UNSAFE;
	}
	printf("written: %s (%zu functions, %zu livepatch relocations, %zu livepatch symbols)\n",
	       rep->ko, rep->nfuncs, rep->nklp_relas, rep->nklp_syms);
	for (size_t i = 0; i < rep->nobjects; i++)
		printf("  object %s: %zu functions, %zu livepatch relocations%s%s\n",
		       rep->objects[i].name, rep->objects[i].nfuncs, rep->objects[i].nklp_relas,
		       rep->objects[i].ko ? ", symbols from " : "", strempty(rep->objects[i].ko));
	return EXIT_OK;
}
