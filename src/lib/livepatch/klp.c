/*
 * Livepatch module generation: writes the klp_patch description for lp_diff() outputs,
 * links it with the kernel's kbuild, then turns references to static and unexported
 * kernel symbols into livepatch relocations (.klp.rela.vmlinux.* / .klp.sym.vmlinux.*).
 *
 * Relocations are converted after kbuild has linked the module: the linker and modpost
 * do not know SHN_LIVEPATCH symbols, and an undefined symbol with a unique name is what
 * they handle best. modpost runs with KBUILD_MODPOST_WARN=1 so that the (expected)
 * unresolved non-exported symbols are warnings; every one of them is converted afterwards
 * or the build is refused.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "livepatch/diff.h"
#include "livepatch/elf.h"
#include "livepatch/klp.h"
#include "livepatch/workdir.h"
#include "log.h"
#include "strbuf.h"

#define LOCAL_PREFIX "__tt_lp_local_"
#define BUILD_LOG_MAX (4u << 20)

struct meta_local {
	char *mangled, *orig;
	bool func;
	long pos;
	size_t part; /* which diff object */
};

struct meta_func {
	char *alias, *orig;
	size_t part;
};

struct part {
	char *file;
	char **anchors;
	size_t nanchors;
};

struct build {
	const struct lp_symtab *syms;
	struct lp_exports *exports;
	struct part *parts;
	size_t nparts;
	struct meta_local *locals;
	size_t nlocals;
	struct meta_func *funcs;
	size_t nfuncs;
	struct lp_module_report *rep;
	int err;
};

static int vadd(char ***v, size_t *n, const char *fmt, ...) _printf_(3, 4);
static int vadd(char ***v, size_t *n, const char *fmt, ...)
{
	va_list ap;
	char *s, **nv;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (k < 0)
		return -ENOMEM;
	nv = reallocarray(*v, *n + 1, sizeof(*nv));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

#define NOMEM(b, r)                                                                                \
	do {                                                                                       \
		int _r = (r);                                                                      \
		if (_r < 0 && !(b)->err)                                                           \
			(b)->err = _r;                                                             \
	} while (0)

void lp_module_report_free(struct lp_module_report *r)
{
	if (!r)
		return;
	free(r->ko);
	for (size_t i = 0; i < r->nrefusals; i++)
		free(r->refusals[i]);
	free(r->refusals);
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	free(r->build_log);
	free(r);
}

json_t *lp_module_report_to_json(const struct lp_module_report *r, int result)
{
	json_t *j = json_object(), *a = json_array(), *w = json_array();

	if (!j || !a || !w) {
		json_decref(j);
		json_decref(a);
		json_decref(w);
		return NULL;
	}
	for (size_t i = 0; i < r->nrefusals; i++)
		json_array_append_new(a, json_string(r->refusals[i]));
	for (size_t i = 0; i < r->nwarnings; i++)
		json_array_append_new(w, json_string(r->warnings[i]));
	json_object_set_new(j, "result",
			    json_string(result == LP_MODULE_BUILT    ? "built"
					: result == LP_MODULE_UNSAFE ? "unsafe"
								     : "error"));
	json_object_set_new(j, "ko", r->ko ? json_string(r->ko) : json_null());
	json_object_set_new(j, "functions", json_integer((json_int_t)r->nfuncs));
	json_object_set_new(j, "klp_relocations", json_integer((json_int_t)r->nklp_relas));
	json_object_set_new(j, "klp_symbols", json_integer((json_int_t)r->nklp_syms));
	json_object_set_new(j, "refusals", a);
	json_object_set_new(j, "warnings", w);
	if (r->build_log)
		json_object_set_new(j, "build_log", json_string(r->build_log));
	return j;
}

/* ---- the .tuxtape.lp metadata of the diff objects ---- */

static int parse_meta(struct build *b, size_t part, const struct lp_sec *m, const char *path)
{
	_cleanup_free_ char *text = NULL;
	struct part *p = &b->parts[part];
	char *save = NULL;

	if (!m || m->type != SHT_PROGBITS || !m->data)
		return log_error_errno(-EBADMSG,
				       "'%s': no PROGBITS section '.tuxtape.lp': not "
				       "written by tuxtape livepatch diff",
				       path);
	text = strndup((const char *)m->data, m->size);
	if (!text)
		return -ENOMEM;
	if (!startswith(text, "tuxtape-livepatch 1\n"))
		return log_error_errno(-EBADMSG,
				       "'%s': section '.tuxtape.lp' does not start with "
				       "'tuxtape-livepatch 1'",
				       path);
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char a[600], c[600], d[600], e[32];

		if (sscanf(line, "file %599s", a) == 1) {
			free(p->file);
			p->file = strdup(a);
			if (!p->file)
				return -ENOMEM;
		} else if (sscanf(line, "func %599s %599s %599s", a, c, d) == 3) {
			struct meta_func *nf = reallocarray(b->funcs, b->nfuncs + 1, sizeof(*nf));

			if (!nf)
				return -ENOMEM;
			b->funcs = nf;
			nf[b->nfuncs] = (struct meta_func){strdup(a), strdup(c), part};
			if (!nf[b->nfuncs].alias || !nf[b->nfuncs].orig)
				return -ENOMEM;
			b->nfuncs++;
		} else if (sscanf(line, "local %599s %599s %599s %31s", a, c, d, e) == 4) {
			struct meta_local *nl =
				reallocarray(b->locals, b->nlocals + 1, sizeof(*nl));

			if (!nl)
				return -ENOMEM;
			b->locals = nl;
			nl[b->nlocals] = (struct meta_local){strdup(a), strdup(c), streq(d, "func"),
							     strtol(e, NULL, 10), part};
			if (!nl[b->nlocals].mangled || !nl[b->nlocals].orig)
				return -ENOMEM;
			b->nlocals++;
		} else if (sscanf(line, "anchor %599s %599s", d, a) == 2) {
			char **na = reallocarray(p->anchors, p->nanchors + 1, sizeof(*na));

			if (!na)
				return -ENOMEM;
			p->anchors = na;
			p->anchors[p->nanchors] = strdup(a);
			if (!p->anchors[p->nanchors])
				return -ENOMEM;
			p->nanchors++;
		}
	}
	return 0;
}

static void build_release(struct build *b)
{
	for (size_t i = 0; i < b->nparts; i++) {
		free(b->parts[i].file);
		for (size_t k = 0; k < b->parts[i].nanchors; k++)
			free(b->parts[i].anchors[k]);
		free(b->parts[i].anchors);
	}
	free(b->parts);
	for (size_t i = 0; i < b->nlocals; i++) {
		free(b->locals[i].mangled);
		free(b->locals[i].orig);
	}
	free(b->locals);
	for (size_t i = 0; i < b->nfuncs; i++) {
		free(b->funcs[i].alias);
		free(b->funcs[i].orig);
	}
	free(b->funcs);
	lp_exports_free(b->exports);
}

static int sympos_of(struct build *b, const char *name, bool func, size_t part, long *ret)
{
	const struct part *p = &b->parts[part];
	int r = lp_symtab_sympos(b->syms, name, func, p->file, (const char *const *)p->anchors,
				 p->nanchors, ret);

	if (r == -ENOENT)
		NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
			      "'%s' (from %s) is not in the kernel's symbol table", name,
			      strempty(p->file)));
	else if (r == -ENOTUNIQ)
		NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
			      "'%s' (from %s) is ambiguous in the kernel's symbol table (%zu "
			      "candidates); give the debug vmlinux",
			      name, strempty(p->file), lp_symtab_count(b->syms, name)));
	else if (r < 0)
		NOMEM(b, r);
	return r;
}

/* ---- the C description ---- */

static int write_main_c(struct build *b, const char *dir, const char *name, bool replace)
{
	struct strbuf sb = STRBUF_INIT;
	_cleanup_free_ char *path = path_join(dir, "lp-main.c");
	int r;

	if (!path)
		return -ENOMEM;
	strbuf_addf(&sb,
		    "/* Generated by tuxtape: the livepatch description of %s. */\n"
		    "#include <linux/kernel.h>\n#include <linux/module.h>\n"
		    "#include <linux/livepatch.h>\n\n",
		    name);
	for (size_t i = 0; i < b->nfuncs; i++)
		strbuf_addf(&sb, "extern void tt_lp_new_%zu(void) __asm__(\"%s\");\n", i,
			    b->funcs[i].alias);
	strbuf_adds(&sb, "\nstatic struct klp_func tt_lp_funcs[] = {\n");
	for (size_t i = 0; i < b->nfuncs; i++) {
		long pos = 0;

		if (sympos_of(b, b->funcs[i].orig, true, b->funcs[i].part, &pos) < 0)
			continue;
		strbuf_addf(&sb,
			    "\t{ .old_name = \"%s\", .new_func = tt_lp_new_%zu, "
			    ".old_sympos = %ld },\n",
			    b->funcs[i].orig, i, pos);
	}
	strbuf_addf(&sb,
		    "\t{}\n};\n\n"
		    "static struct klp_object tt_lp_objs[] = {\n"
		    "\t{ .name = NULL, .funcs = tt_lp_funcs },\n\t{}\n};\n\n"
		    "static struct klp_patch tt_lp_patch = {\n"
		    "\t.mod = THIS_MODULE,\n\t.objs = tt_lp_objs,\n\t.replace = %s,\n};\n\n"
		    "static int __init tt_lp_init(void)\n{\n"
		    "\treturn klp_enable_patch(&tt_lp_patch);\n}\n\n"
		    "static void __exit tt_lp_exit(void)\n{\n}\n\n"
		    "module_init(tt_lp_init);\nmodule_exit(tt_lp_exit);\n"
		    "MODULE_LICENSE(\"GPL\");\nMODULE_INFO(livepatch, \"Y\");\n"
		    "MODULE_DESCRIPTION(\"tuxtape livepatch %s\");\n",
		    replace ? "true" : "false", name);
	if (!sb.buf) {
		strbuf_release(&sb);
		return -ENOMEM;
	}
	r = write_file_atomic(path, sb.buf, sb.len, 0644);
	strbuf_release(&sb);
	return r;
}

static int write_kbuild(const char *dir, const char *name, size_t nparts)
{
	struct strbuf sb = STRBUF_INIT;
	_cleanup_free_ char *path = path_join(dir, "Kbuild");
	int r;

	if (!path)
		return -ENOMEM;
	strbuf_addf(&sb, "obj-m := %s.o\n%s-y := lp-main.o", name, name);
	for (size_t i = 0; i < nparts; i++)
		strbuf_addf(&sb, " lp-part%zu.o", i);
	strbuf_adds(&sb, "\n");
	if (!sb.buf) {
		strbuf_release(&sb);
		return -ENOMEM;
	}
	r = write_file_atomic(path, sb.buf, sb.len, 0644);
	strbuf_release(&sb);
	return r;
}

/* Runs ARGV with stdout and stderr into LOG; returns the exit status or -errno. */
static int run_logged(char *const argv[], const char *log)
{
	pid_t pid;
	int st, fd;

	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return negative_errno();
	pid = fork();
	if (pid < 0) {
		close(fd);
		return negative_errno();
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul >= 0)
			dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return negative_errno();
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* ---- post-link conversion ---- */

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 55)
		return false;
	for (const char *p = name; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

static const struct meta_local *find_local(const struct build *b, const char *name)
{
	for (size_t i = 0; i < b->nlocals; i++)
		if (streq(b->locals[i].mangled, name))
			return &b->locals[i];
	return NULL;
}

/* Symbols the kernel's module loader provides or that are never in Module.symvers. */
static bool loader_provided(const char *name)
{
	return streq(name, "__this_module") || startswith(name, ".klp.sym.");
}

static int convert(struct build *b, struct lp_elf *ko)
{
	bool *klp = calloc(ko->nsyms ? ko->nsyms : 1, sizeof(*klp));
	size_t nsecs;

	if (!klp)
		return -ENOMEM;
	for (size_t i = 0; i < ko->nsyms; i++) {
		struct lp_sym *s = ko->syms[i];
		const struct meta_local *ml;
		_cleanup_free_ char *klpname = NULL;
		long pos = 0;

		if (s->sec || s->shndx != SHN_UNDEF || !*s->name || loader_provided(s->name))
			continue;
		ml = startswith(s->name, LOCAL_PREFIX) ? find_local(b, s->name) : NULL;
		if (startswith(s->name, LOCAL_PREFIX) && !ml) {
			NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
				      "'%s' has no description in the diff objects", s->name));
			continue;
		}
		if (ml) {
			pos = ml->pos;
			if (pos < 0 && sympos_of(b, ml->orig, ml->func, ml->part, &pos) < 0)
				continue;
			if (asprintf(&klpname, ".klp.sym.vmlinux.%s,%ld", ml->orig, pos) < 0)
				return free(klp), -ENOMEM;
		} else {
			if (lp_exports_has(b->exports, s->name))
				continue; /* the loader resolves it */
			if (lp_symtab_count(b->syms, s->name) == 0) {
				NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
					      "'%s' is neither exported nor in the kernel's symbol "
					      "table",
					      s->name));
				continue;
			}
			if (lp_symtab_count(b->syms, s->name) > 1) {
				/* a global name shared with statics: take the global one */
				NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
					      "unexported '%s' is ambiguous in the kernel's symbol "
					      "table",
					      s->name));
				continue;
			}
			if (asprintf(&klpname, ".klp.sym.vmlinux.%s,0", s->name) < 0)
				return free(klp), -ENOMEM;
		}
		if (strlen(klpname) >= 512 + 32) {
			NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
				      "symbol name '%s' is too long for livepatch", klpname));
			continue;
		}
		free(s->name);
		s->name = TAKE_PTR(klpname);
		s->shndx = SHN_LIVEPATCH;
		s->bind = STB_GLOBAL;
		s->type = STT_NOTYPE;
		klp[i] = true;
		b->rep->nklp_syms++;
	}
	for (size_t i = 0; i < ko->nsyms; i++)
		ko->syms[i]->mark = klp[i];
	free(klp);
	if (b->err || b->rep->nrefusals)
		return b->err;

	/* move the relocations of loaded sections that use them into .klp.rela sections */
	nsecs = ko->nsecs;
	for (size_t i = 0; i < nsecs; i++) {
		struct lp_sec *r = ko->secs[i], *k = NULL;
		size_t keep = 0;

		if (r->type != SHT_RELA || !r->base || !(r->base->flags & SHF_ALLOC) ||
		    (r->flags & SHF_RELA_LIVEPATCH))
			continue;
		for (size_t j = 0; j < r->nrelas; j++) {
			struct lp_rela *ra = &r->relas[j];

			if (!ra->sym->mark) {
				r->relas[keep++] = *ra;
				continue;
			}
			if (!k) {
				_cleanup_free_ char *name = NULL;

				/* .klp.rela.vmlinux.text.foo for .text.foo, as documented */
				if (asprintf(&name, ".klp.rela.vmlinux.%s",
					     r->base->name + (r->base->name[0] == '.')) < 0)
					return -ENOMEM;
				k = lp_elf_add_sec(ko, name, SHT_RELA,
						   SHF_ALLOC | SHF_RELA_LIVEPATCH | SHF_INFO_LINK,
						   8);
				if (!k)
					return -ENOMEM;
				k->entsize = sizeof(Elf64_Rela);
				k->base = r->base;
			}
			struct lp_rela *nr = reallocarray(k->relas, k->nrelas + 1, sizeof(*nr));
			if (!nr)
				return -ENOMEM;
			k->relas = nr;
			k->relas[k->nrelas++] = *ra;
			b->rep->nklp_relas++;
		}
		r->nrelas = keep;
		if (k && (streq(r->base->name, "__jump_table") ||
			  streq(r->base->name, ".static_call_sites")))
			NOMEM(b, vadd(&b->rep->warnings, &b->rep->nwarnings,
				      "%s refers to unexported keys through livepatch relocations "
				      "(applied at load, before jump labels and static calls)",
				      r->base->name));
	}
	/* a relocation section left empty is dropped */
	for (size_t i = 0; i < ko->nsecs;) {
		struct lp_sec *r = ko->secs[i];

		if (r->type == SHT_RELA && r->nrelas == 0 && !(r->flags & SHF_RELA_LIVEPATCH)) {
			lp_elf_drop_sec(ko, r);
			continue;
		}
		i++;
	}
	return 0;
}

int lp_module_build(const char *const *diff_objs, size_t n, const struct lp_symtab *syms,
		    const char *kbuild_dir, const char *name, bool replace, const char *out_ko,
		    struct lp_module_report **ret_report)
{
	_cleanup_(lp_module_report_freep) struct lp_module_report *rep = NULL;
	_cleanup_(lp_elf_freep) struct lp_elf *ko = NULL;
	_cleanup_free_ char *symvers = NULL, *log = NULL, *kopath = NULL, *marg = NULL,
			    *carg = NULL;
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dir_lock = -1;
	struct build b = {.syms = syms};
	bool made = false;
	int r;

	if (!diff_objs || n == 0 || !syms || !kbuild_dir || !name || !out_ko)
		return -EINVAL;
	if (!name_ok(name))
		return -EINVAL;
	rep = calloc(1, sizeof(*rep));
	b.parts = calloc(n, sizeof(*b.parts));
	if (!rep || !b.parts) {
		r = -ENOMEM;
		goto out;
	}
	b.rep = rep;
	b.nparts = n;
	symvers = path_join(kbuild_dir, "Module.symvers");
	if (!symvers) {
		r = -ENOMEM;
		goto out;
	}
	r = lp_exports_load(symvers, &b.exports);
	if (r < 0)
		goto out;
	r = lp_workdir_new("tuxtape-klp-", &dir, &dir_lock);
	if (r < 0)
		goto out;
	made = true;
	for (size_t i = 0; i < n; i++) {
		_cleanup_(lp_elf_freep) struct lp_elf *e = NULL;
		_cleanup_free_ char *dst = NULL;
		struct lp_sec *m;

		r = lp_elf_read(diff_objs[i], &e);
		if (r < 0)
			goto out;
		m = lp_elf_find_sec(e, ".tuxtape.lp");
		r = parse_meta(&b, i, m, diff_objs[i]);
		if (r < 0)
			goto out;
		/* the metadata is ours: it does not go into the module */
		lp_elf_drop_sec(e, m);
		if (asprintf(&dst, "%s/lp-part%zu.o", dir, i) < 0) {
			r = -ENOMEM;
			goto out;
		}
		r = lp_elf_write(e, dst);
		if (r < 0)
			goto out;
		/* modpost reads each object's .cmd file (symbol versions): a prebuilt has none */
		free(dst);
		dst = NULL;
		if (asprintf(&dst, "%s/.lp-part%zu.o.cmd", dir, i) < 0) {
			r = -ENOMEM;
			goto out;
		}
		r = write_file_atomic(dst, "# prebuilt by tuxtape livepatch diff\n", 36, 0644);
		if (r < 0)
			goto out;
	}
	rep->nfuncs = b.nfuncs;
	if (b.nfuncs == 0) {
		r = vadd(&rep->refusals, &rep->nrefusals, "the diff objects change no function");
		r = r < 0 ? r : LP_MODULE_UNSAFE;
		goto out;
	}
	r = write_main_c(&b, dir, name, replace);
	if (r >= 0)
		r = write_kbuild(dir, name, n);
	if (r < 0)
		goto out;
	if (b.err || rep->nrefusals) {
		r = b.err ? b.err : LP_MODULE_UNSAFE;
		goto out;
	}
	if (asprintf(&log, "%s/build.log", dir) < 0 || asprintf(&marg, "M=%s", dir) < 0 ||
	    asprintf(&carg, "-j%ld", MAX(1L, sysconf(_SC_NPROCESSORS_ONLN))) < 0) {
		r = -ENOMEM;
		goto out;
	}
	{
		char *argv[] = {"make",	   "-C", (char *)kbuild_dir,
				marg,	   carg, "KBUILD_MODPOST_WARN=1",
				"modules", NULL};

		r = run_logged(argv, log);
	}
	if (r != 0) {
		size_t len;

		if (r > 0 && read_file_capped(log, BUILD_LOG_MAX, &rep->build_log, &len) < 0)
			rep->build_log = NULL;
		r = r < 0 ? r : -ENOEXEC;
		if (r == -ENOEXEC) {
			*ret_report = TAKE_PTR(rep);
		}
		goto out;
	}
	if (asprintf(&kopath, "%s/%s.ko", dir, name) < 0) {
		r = -ENOMEM;
		goto out;
	}
	r = lp_elf_read(kopath, &ko);
	if (r < 0)
		goto out;
	r = convert(&b, ko);
	if (r < 0)
		goto out;
	if (b.err || rep->nrefusals) {
		r = b.err ? b.err : LP_MODULE_UNSAFE;
		goto out;
	}
	r = lp_elf_write(ko, out_ko);
	if (r < 0)
		goto out;
	rep->ko = strdup(out_ko);
	if (!rep->ko) {
		r = -ENOMEM;
		goto out;
	}
	r = LP_MODULE_BUILT;
out:
	if (made && !getenv("TUXTAPE_KEEP_KLP_DIR"))
		rm_rf(dir);
	else if (made)
		log_info("kept the module's build directory '%s'", dir);
	build_release(&b);
	if (r >= 0)
		*ret_report = TAKE_PTR(rep);
	return r;
}
