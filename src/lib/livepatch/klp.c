/*
 * Livepatch module generation: writes the klp_patch description for lp_diff() outputs,
 * links it with the kernel's kbuild, then turns references to static and unexported
 * kernel symbols, and every reference into a patched module, into livepatch relocations
 * (.klp.rela.OBJECT.* / .klp.sym.OBJECT.*), one klp_object per patched object.
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
#include "livepatch/klp-internal.h"
#include "livepatch/workdir.h"
#include "log.h"
#include "strbuf.h"

#define LOCAL_PREFIX "__tt_lp_local_"
/* an undefined symbol of a module part renamed before linking: it lives in a patched module */
#define EXT_PREFIX "__tt_lp_ext_"
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

/* An author's callback (<tuxtape/livepatch.h>): KIND is pre_patch, post_patch, ... */
struct meta_callback {
	char *kind, *alias;
	size_t part;
};

struct part {
	char *file;
	char **anchors;
	size_t nanchors;
	char *object; /* the module it patches; NULL: vmlinux */
	size_t obj;   /* index in build.objs */
};

struct object {
	char *name; /* NULL: vmlinux */
	char *ko;
	struct lp_symtab *own; /* a module's symbols, read from its .ko */
	const struct lp_symtab *syms;
	bool patched; /* a klp_object; else a module patched code uses (a dependency) */
};

/*
 * A reference of a patched module's code into that module or a module it depends on,
 * renamed EXT_PREFIX... in its part before linking: .klp.sym.SYM_OBJ.NAME,POS used from
 * .klp.rela.OBJ.* (written when OBJ loads, when SYM_OBJ is loaded too).
 */
struct ext {
	char *mangled, *name;
	size_t obj, sym_obj;
	long pos;
};

struct build {
	const struct lp_symtab *syms;
	const struct lp_module_opts *opts;
	const char *const *paths; /* where modules' .ko files are */
	size_t npaths;
	char *defdir;
	bool kallsyms_all;
	struct object *objs;
	size_t nobjs;
	struct ext *exts;
	size_t nexts;
	struct lp_exports *exports;
	struct part *parts;
	size_t nparts;
	struct meta_local *locals;
	size_t nlocals;
	struct meta_func *funcs;
	size_t nfuncs;
	struct meta_callback *cbs;
	size_t ncbs;
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
	for (size_t i = 0; i < r->nobjects; i++) {
		free(r->objects[i].name);
		free(r->objects[i].ko);
	}
	free(r->objects);
	free(r);
}

json_t *lp_module_report_to_json(const struct lp_module_report *r, int result)
{
	json_t *j = json_object(), *a = json_array(), *w = json_array(), *o = json_array();

	if (!j || !a || !w || !o) {
		json_decref(j);
		json_decref(a);
		json_decref(w);
		json_decref(o);
		return NULL;
	}
	for (size_t i = 0; i < r->nobjects; i++) {
		const struct lp_module_object *m = &r->objects[i];

		json_array_append_new(o, json_pack("{s:s, s:o, s:I, s:I, s:I}", "name", m->name,
						   "ko", m->ko ? json_string(m->ko) : json_null(),
						   "function_count", (json_int_t)m->nfuncs,
						   "klp_relocations", (json_int_t)m->nklp_relas,
						   "klp_symbols", (json_int_t)m->nklp_syms));
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
	json_object_set_new(j, "function_count", json_integer((json_int_t)r->nfuncs));
	json_object_set_new(j, "klp_relocations", json_integer((json_int_t)r->nklp_relas));
	json_object_set_new(j, "klp_symbols", json_integer((json_int_t)r->nklp_syms));
	json_object_set_new(j, "objects", o);
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

		if (sscanf(line, "object %599s", a) == 1) {
			if (!lp_module_name_ok(a))
				return log_error_errno(-EBADMSG,
						       "'%s': section '.tuxtape.lp' names a bad "
						       "object '%s'",
						       path, a);
			free(p->object);
			p->object = streq(a, "vmlinux") ? NULL : strdup(a);
			if (!streq(a, "vmlinux") && !p->object)
				return -ENOMEM;
		} else if (sscanf(line, "file %599s", a) == 1) {
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
		} else if (sscanf(line, "callback %599s %599s", a, c) == 2) {
			struct meta_callback *nc = reallocarray(b->cbs, b->ncbs + 1, sizeof(*nc));

			if (!streq(a, "pre_patch") && !streq(a, "post_patch") &&
			    !streq(a, "pre_unpatch") && !streq(a, "post_unpatch"))
				return log_error_errno(-EBADMSG,
						       "'%s': section '.tuxtape.lp' names a bad "
						       "callback kind '%s'",
						       path, a);
			if (!nc)
				return -ENOMEM;
			b->cbs = nc;
			nc[b->ncbs] = (struct meta_callback){strdup(a), strdup(c), part};
			if (!nc[b->ncbs].kind || !nc[b->ncbs].alias)
				return -ENOMEM;
			b->ncbs++;
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
		free(b->parts[i].object);
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
	for (size_t i = 0; i < b->ncbs; i++) {
		free(b->cbs[i].kind);
		free(b->cbs[i].alias);
	}
	free(b->cbs);
	for (size_t i = 0; i < b->nobjs; i++) {
		free(b->objs[i].name);
		free(b->objs[i].ko);
		lp_symtab_free(b->objs[i].own);
	}
	free(b->objs);
	for (size_t i = 0; i < b->nexts; i++) {
		free(b->exts[i].mangled);
		free(b->exts[i].name);
	}
	free(b->exts);
	free(b->defdir);
	lp_exports_free(b->exports);
}

int lp_module_meta_read(const void *obj, size_t len, const char *path, size_t *ret_ncallbacks)
{
	struct build b = {};
	struct lp_elf *e = NULL;
	int r;

	b.parts = calloc(1, sizeof(*b.parts));
	if (!b.parts)
		return -ENOMEM;
	b.nparts = 1;
	r = lp_elf_parse(obj, len, path, &e);
	if (r == 0)
		r = parse_meta(&b, 0, lp_elf_find_sec(e, ".tuxtape.lp"), path);
	if (r == 0 && ret_ncallbacks)
		*ret_ncallbacks = b.ncbs;
	lp_elf_free(e);
	build_release(&b);
	return r;
}

static const char *obj_name(const struct build *b, size_t obj)
{
	return b->objs[obj].name ? b->objs[obj].name : "vmlinux";
}

/* How a refused position is explained: where the symbols came from and what would settle it. */
static void sympos_refuse(struct build *b, int r, const char *name, const char *file, size_t obj)
{
	const struct object *o = &b->objs[obj];

	if (r == -ENOENT && !o->name)
		NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
			      "'%s' (from %s) is not in the kernel's symbol table", name,
			      strempty(file)));
	else if (r == -ENOENT)
		NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
			      "'%s' (from %s) is not in the symbol table of module '%s' (%s)", name,
			      strempty(file), o->name, o->ko));
	else if (r == -ENOTUNIQ && !o->name)
		NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
			      "'%s' (from %s) is ambiguous in the kernel's symbol table (%zu "
			      "candidates); give the debug vmlinux",
			      name, strempty(file), lp_symtab_count(o->syms, name)));
	else if (r == -ENOTUNIQ)
		NOMEM(b,
		      vadd(&b->rep->refusals, &b->rep->nrefusals,
			   "'%s' (from %s) is ambiguous in module '%s' (%zu candidates in %s)",
			   name, strempty(file), o->name, lp_symtab_count(o->syms, name), o->ko));
	else if (r == -EDOM)
		NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
			      "'%s' (from %s) has no position in module '%s' that holds both while "
			      "it loads and once it runs (a same-named init or unloaded symbol "
			      "comes first in %s)",
			      name, strempty(file), o->name, o->ko));
	else if (r < 0)
		NOMEM(b, r);
}

static int sympos_of(struct build *b, const char *name, bool func, size_t part, long *ret)
{
	const struct part *p = &b->parts[part];
	int r = lp_symtab_sympos(b->objs[p->obj].syms, name, func, p->file,
				 (const char *const *)p->anchors, p->nanchors, ret);

	if (r < 0)
		sympos_refuse(b, r, name, p->file, p->obj);
	return r;
}

/* ---- the C description ---- */

static const char *const cb_kinds[] = {"pre_patch", "post_patch", "pre_unpatch", "post_unpatch"};

static size_t callbacks_of(const struct build *b, size_t obj, const char *kind)
{
	size_t n = 0;

	for (size_t i = 0; i < b->ncbs; i++)
		if (b->parts[b->cbs[i].part].obj == obj && streq(b->cbs[i].kind, kind))
			n++;
	return n;
}

/*
 * Per object and kind, one function calling the authors' callbacks: patch ones in the order
 * of the diff objects (a failing pre-patch stops the rest), unpatch ones in reverse.
 */
static void write_callbacks_c(struct build *b, struct strbuf *sb)
{
	for (size_t i = 0; i < b->ncbs; i++)
		strbuf_addf(sb, "extern %s tt_lp_cb_%zu(struct klp_object *) __asm__(\"%s\");\n",
			    streq(b->cbs[i].kind, "pre_patch") ? "int" : "void", i, b->cbs[i].alias);
	for (size_t o = 0; o < b->nobjs; o++)
		for (size_t k = 0; k < ARRAY_SIZE(cb_kinds); k++) {
			bool pre = k == 0, rev = k >= 2;

			if (!b->objs[o].patched || !callbacks_of(b, o, cb_kinds[k]))
				continue;
			strbuf_addf(sb, "\nstatic %s tt_lp_%s%zu(struct klp_object *obj)\n{\n",
				    pre ? "int" : "void", cb_kinds[k], o);
			if (pre)
				strbuf_adds(sb, "\tint r;\n\n");
			for (size_t j = 0; j < b->ncbs; j++) {
				size_t i = rev ? b->ncbs - 1 - j : j;

				if (b->parts[b->cbs[i].part].obj != o ||
				    !streq(b->cbs[i].kind, cb_kinds[k]))
					continue;
				if (pre)
					strbuf_addf(sb, "\tr = tt_lp_cb_%zu(obj);\n\tif (r)\n"
							"\t\treturn r;\n",
						    i);
				else
					strbuf_addf(sb, "\ttt_lp_cb_%zu(obj);\n", i);
			}
			strbuf_adds(sb, pre ? "\treturn 0;\n}\n" : "}\n");
		}
}

/* What a .modinfo string written into C may hold: a CVE ID, a hex digest. */
static bool modinfo_word_ok(const char *s, bool hex)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || (hex && n != 64))
		return false;
	for (; *s; s++)
		if (hex ? !isxdigit((unsigned char)*s) : !isalnum((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

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
	write_callbacks_c(b, &sb);
	for (size_t o = 0; o < b->nobjs; o++) {
		if (!b->objs[o].patched)
			continue;
		strbuf_addf(&sb, "\n/* %s */\nstatic struct klp_func tt_lp_funcs%zu[] = {\n",
			    obj_name(b, o), o);
		for (size_t i = 0; i < b->nfuncs; i++) {
			long pos = 0;

			if (b->parts[b->funcs[i].part].obj != o)
				continue;
			if (sympos_of(b, b->funcs[i].orig, true, b->funcs[i].part, &pos) < 0)
				continue;
			strbuf_addf(&sb,
				    "\t{ .old_name = \"%s\", .new_func = tt_lp_new_%zu, "
				    ".old_sympos = %ld },\n",
				    b->funcs[i].orig, i, pos);
			b->rep->objects[o].nfuncs++;
		}
		strbuf_adds(&sb, "\t{}\n};\n");
	}
	strbuf_adds(&sb, "\nstatic struct klp_object tt_lp_objs[] = {\n");
	for (size_t o = 0; o < b->nobjs; o++) {
		if (!b->objs[o].patched)
			continue;
		if (b->objs[o].name)
			strbuf_addf(&sb, "\t{ .name = \"%s\", .funcs = tt_lp_funcs%zu,", b->objs[o].name,
				    o);
		else
			strbuf_addf(&sb, "\t{ .name = NULL, .funcs = tt_lp_funcs%zu,", o);
		strbuf_adds(&sb, " .callbacks = {");
		for (size_t k = 0; k < ARRAY_SIZE(cb_kinds); k++)
			if (callbacks_of(b, o, cb_kinds[k]))
				strbuf_addf(&sb, " .%s = tt_lp_%s%zu,", cb_kinds[k], cb_kinds[k], o);
		strbuf_adds(&sb, " } },\n");
	}
	strbuf_addf(&sb,
		    "\t{}\n};\n\n"
		    "static struct klp_patch tt_lp_patch = {\n"
		    "\t.mod = THIS_MODULE,\n\t.objs = tt_lp_objs,\n\t.replace = %s,\n};\n\n"
		    "static int __init tt_lp_init(void)\n{\n"
		    "\treturn klp_enable_patch(&tt_lp_patch);\n}\n\n"
		    "static void __exit tt_lp_exit(void)\n{\n}\n\n"
		    "module_init(tt_lp_init);\nmodule_exit(tt_lp_exit);\n"
		    "MODULE_LICENSE(\"GPL\");\nMODULE_INFO(livepatch, \"Y\");\n"
		    "MODULE_DESCRIPTION(\"tuxtape livepatch %s\");\n",
		    replace ? "true" : "false", name);
	for (const char *const *c = b->opts->cves; c && *c; c++)
		strbuf_addf(&sb, "MODULE_INFO(tuxtape_cve, \"%s\");\n", *c);
	for (const char *const *h = b->opts->patch_sha256; h && *h; h++)
		strbuf_addf(&sb, "MODULE_INFO(tuxtape_patch_sha256, \"%s\");\n", *h);
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

bool lp_module_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	/* .klp.sym.OBJECT.NAME,POS: the kernel reads OBJECT as up to 55 bytes before a '.' */
	if (n == 0 || n > 55)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

/* ---- the patched objects ---- */

/* The target's CONFIG_KALLSYMS_ALL: whether a module's kallsyms keeps its data symbols. */
static bool kbuild_kallsyms_all(struct build *b, const char *kbuild_dir)
{
	_cleanup_free_ char *path = path_join(kbuild_dir, ".config"), *buf = NULL;
	size_t len;

	if (!path || read_file_capped(path, 16u << 20, &buf, &len) < 0) {
		NOMEM(b, vadd(&b->rep->warnings, &b->rep->nwarnings,
			      "cannot read %s/.config: module symbols are counted as with "
			      "CONFIG_KALLSYMS_ALL=y (Debian's setting)",
			      kbuild_dir));
		return true;
	}
	return startswith(buf, "CONFIG_KALLSYMS_ALL=y\n") ||
	       strstr(buf, "\nCONFIG_KALLSYMS_ALL=y\n") != NULL;
}

/*
 * /lib/modules/RELEASE, RELEASE as the modules' vermagic has it: UTS_RELEASE of the kbuild
 * (Debian's include/config/kernel.release holds the upstream version instead).
 */
static int default_modules_dir(const char *kbuild_dir, char **ret)
{
	_cleanup_free_ char *path = path_join(kbuild_dir, "include/generated/utsrelease.h");
	_cleanup_free_ char *buf = NULL;
	const char *p, *q;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	r = read_file_capped(path, 4096, &buf, &len);
	if (r < 0)
		return log_error_errno(r,
				       "cannot read '%s' (the kernel release, to find the "
				       "patched modules under /lib/modules): %s; name their "
				       "directory",
				       path, strerror(-r));
	p = strstr(buf, "UTS_RELEASE \"");
	q = p ? strchr(p + 13, '"') : NULL;
	if (!q || q == p + 13 || memchr(p + 13, '/', (size_t)(q - p - 13)))
		return log_error_errno(-EBADMSG, "'%s': no kernel release (UTS_RELEASE)", path);
	return asprintf(ret, "/lib/modules/%.*s", (int)(q - p - 13), p + 13) < 0 ? -ENOMEM : 0;
}

static int object_add(struct build *b, const char *name, bool patched, size_t *ret)
{
	struct object *no;

	for (size_t i = 0; i < b->nobjs; i++)
		if (streq_ptr(b->objs[i].name, name)) {
			*ret = i;
			return 0;
		}
	no = reallocarray(b->objs, b->nobjs + 1, sizeof(*no));
	if (!no)
		return -ENOMEM;
	b->objs = no;
	no[b->nobjs] = (struct object){.syms = b->syms, .patched = patched};
	if (name && !(no[b->nobjs].name = strdup(name)))
		return -ENOMEM;
	*ret = b->nobjs++;
	return 0;
}

/*
 * One object per patched target, vmlinux first, then the modules as the diff objects name
 * them; each module's symbols read from its .ko.
 */
static int object_load(struct build *b, size_t i)
{
	struct object *o = &b->objs[i];
	int r;

	r = lp_module_find(b->paths, b->npaths, o->name, &o->ko);
	if (r == -ENOENT)
		return log_error_errno(r,
				       "module '%s' (%s): no %s.ko in %s%s; name its directory "
				       "or file",
				       o->name, o->patched ? "patched" : "used by patched code",
				       o->name, b->paths[0], b->npaths > 1 ? ", ..." : "");
	if (r < 0)
		return r;
	r = lp_symtab_load_module(o->ko, b->kallsyms_all, &o->own);
	if (r < 0)
		return r;
	o->syms = o->own;
	return 0;
}

static int objects_setup(struct build *b, const char *kbuild_dir)
{
	const char *const *paths = b->opts->module_paths;
	size_t npaths = b->opts->nmodule_paths;
	bool kallsyms_all = true, any_module = false;
	int r;

	for (size_t i = 0; i < b->nparts; i++)
		if (!b->parts[i].object && (r = object_add(b, NULL, true, &b->parts[i].obj)) < 0)
			return r;
	for (size_t i = 0; i < b->nparts; i++)
		if (b->parts[i].object) {
			r = object_add(b, b->parts[i].object, true, &b->parts[i].obj);
			if (r < 0)
				return r;
			any_module = true;
		}
	if (any_module) {
		kallsyms_all = kbuild_kallsyms_all(b, kbuild_dir);
		if (!paths || npaths == 0) {
			r = default_modules_dir(kbuild_dir, &b->defdir);
			if (r < 0)
				return r;
			paths = (const char *const *)&b->defdir;
			npaths = 1;
		}
	}
	b->paths = paths;
	b->npaths = npaths;
	b->kallsyms_all = kallsyms_all;
	for (size_t i = 0; i < b->nobjs; i++)
		if (b->objs[i].name && (r = object_load(b, i)) < 0)
			return r;
	b->rep->objects = calloc(b->nobjs ? b->nobjs : 1, sizeof(*b->rep->objects));
	if (!b->rep->objects)
		return -ENOMEM;
	for (size_t i = 0; i < b->nobjs; i++) {
		struct lp_module_object *m = &b->rep->objects[b->rep->nobjects];

		m->name = strdup(obj_name(b, i));
		m->ko = b->objs[i].ko ? strdup(b->objs[i].ko) : NULL;
		b->rep->nobjects++;
		if (!m->name || (b->objs[i].ko && !m->ko))
			return -ENOMEM;
	}
	return 0;
}

static const struct ext *ext_get(struct build *b, size_t obj, size_t sym_obj, const char *name,
				 long pos)
{
	_cleanup_free_ char *mangled = NULL;
	struct ext *ne;

	if (asprintf(&mangled, EXT_PREFIX "%zu_%zu_%s", obj, sym_obj, name) < 0)
		return NULL;
	for (size_t i = 0; i < b->nexts; i++)
		if (streq(b->exts[i].mangled, mangled))
			return &b->exts[i];
	ne = reallocarray(b->exts, b->nexts + 1, sizeof(*ne));
	if (!ne)
		return NULL;
	b->exts = ne;
	ne[b->nexts] =
		(struct ext){.obj = obj, .sym_obj = sym_obj, .pos = pos, .name = strdup(name)};
	if (!ne[b->nexts].name)
		return NULL;
	ne[b->nexts].mangled = TAKE_PTR(mangled);
	return &b->exts[b->nexts++];
}

static size_t object_find(const struct build *b, const char *name)
{
	for (size_t i = 0; i < b->nobjs; i++)
		if (b->objs[i].name && name && streq(b->objs[i].name, name))
			return i;
	return SIZE_MAX;
}

/* Whether a diff object defines NAME as a global: a new symbol of the patch. */
static bool defined_in_parts(const struct build *b, struct lp_elf **parts, const char *name)
{
	for (size_t i = 0; i < b->nparts; i++) {
		const struct lp_sym *s = lp_elf_find_sym(parts[i], name);

		if (s && s->sec && s->bind != STB_LOCAL)
			return true;
	}
	return false;
}

/*
 * In a part patching module M, each undefined symbol that lives in M (exported or not;
 * __this_module too: M's code means M's module) or in another module (an export M uses,
 * so a module M depends on) gets a unique name now, so kbuild links it as any unresolved
 * symbol, and convert() makes it .klp.sym.MODULE.NAME,POS in .klp.rela.M.*: written when
 * M loads, when the modules it depends on are loaded too, so the livepatch itself depends
 * on none of them. Exports of vmlinux stay for the loader.
 */
static void rename_module_refs(struct build *b, size_t part, struct lp_elf **parts)
{
	const struct part *p = &b->parts[part];
	const struct object *o = &b->objs[p->obj];
	struct lp_elf *e = parts[part];

	if (!o->name)
		return;
	for (size_t i = 0; i < e->nsyms; i++) {
		struct lp_sym *s = e->syms[i];
		const struct ext *x;
		const char *owner = NULL;
		size_t target = p->obj;
		long pos = 0;
		char *nn;
		int r;

		if (s->sec || s->shndx != SHN_UNDEF || !*s->name ||
		    startswith(s->name, LOCAL_PREFIX) || startswith(s->name, ".klp.sym."))
			continue;
		if (defined_in_parts(b, parts, s->name))
			continue; /* new in the patch: the module's link resolves it */
		r = lp_symtab_sympos_global(o->syms, s->name, &pos);
		if (r == -ENOENT) {
			if (lp_exports_owner(b->exports, s->name, &owner) < 0) {
				NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
					      "'%s' (used by %s, patching module '%s') is neither "
					      "defined in %s nor exported",
					      s->name, strempty(p->file), o->name, o->ko));
				continue;
			}
			if (!owner)
				continue; /* vmlinux's export: the loader resolves it */
			target = object_find(b, owner);
			if (target == SIZE_MAX) {
				r = object_add(b, owner, false, &target);
				if (r < 0 || (r = object_load(b, target)) < 0) {
					NOMEM(b, r);
					return;
				}
				o = &b->objs[p->obj];
			}
			r = lp_symtab_sympos_global(b->objs[target].syms, s->name, &pos);
		}
		if (r < 0) {
			sympos_refuse(b, r, s->name, p->file, target);
			continue;
		}
		x = ext_get(b, p->obj, target, s->name, pos);
		nn = x ? strdup(x->mangled) : NULL;
		if (!nn) {
			NOMEM(b, -ENOMEM);
			return;
		}
		free(s->name);
		s->name = nn;
		s->bind = STB_GLOBAL;
	}
}

/* ---- post-link conversion ---- */

static const struct meta_local *find_local(const struct build *b, const char *name)
{
	for (size_t i = 0; i < b->nlocals; i++)
		if (streq(b->locals[i].mangled, name))
			return &b->locals[i];
	return NULL;
}

static const struct ext *find_ext(const struct build *b, const char *name)
{
	for (size_t i = 0; i < b->nexts; i++)
		if (streq(b->exts[i].mangled, name))
			return &b->exts[i];
	return NULL;
}

/* Symbols the kernel's module loader provides or that are never in Module.symvers. */
static bool loader_provided(const char *name)
{
	return streq(name, "__this_module") || startswith(name, ".klp.sym.");
}

/* The .klp.sym name (and object) of undefined symbol S, or 0 to leave it; refusals noted. */
static int klp_name_of(struct build *b, const struct lp_sym *s, char **ret, size_t *ret_obj)
{
	const struct meta_local *ml;
	const struct ext *x;
	long pos = 0;

	if (startswith(s->name, EXT_PREFIX)) {
		x = find_ext(b, s->name);
		if (!x) {
			NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
				      "'%s' has no description in the diff objects", s->name));
			return 0;
		}
		*ret_obj = x->obj;
		return asprintf(ret, ".klp.sym.%s.%s,%ld", obj_name(b, x->sym_obj), x->name,
				x->pos) < 0
			       ? -ENOMEM
			       : 1;
	}
	ml = startswith(s->name, LOCAL_PREFIX) ? find_local(b, s->name) : NULL;
	if (startswith(s->name, LOCAL_PREFIX) && !ml) {
		NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
			      "'%s' has no description in the diff objects", s->name));
		return 0;
	}
	if (ml) {
		size_t obj = b->parts[ml->part].obj;

		/* a module's positions come from the .ko given now, never from lp_diff() */
		pos = b->objs[obj].name ? -1 : ml->pos;
		if (pos < 0 && sympos_of(b, ml->orig, ml->func, ml->part, &pos) < 0)
			return 0;
		*ret_obj = obj;
		return asprintf(ret, ".klp.sym.%s.%s,%ld", obj_name(b, obj), ml->orig, pos) < 0
			       ? -ENOMEM
			       : 1;
	}
	if (loader_provided(s->name) || lp_exports_has(b->exports, s->name))
		return 0; /* the loader resolves it */
	if (lp_symtab_count(b->syms, s->name) == 0) {
		NOMEM(b,
		      vadd(&b->rep->refusals, &b->rep->nrefusals,
			   "'%s' is neither exported nor in the kernel's symbol table", s->name));
		return 0;
	}
	if (lp_symtab_count(b->syms, s->name) > 1) {
		/* a global name shared with statics: the one global, by its position */
		int r = lp_symtab_sympos_global(b->syms, s->name, &pos);

		if (r < 0) {
			NOMEM(b, r == -ENOMEM ? r : 0);
			NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
				      "unexported '%s' is ambiguous in the kernel's symbol table "
				      "(%s global of that name)",
				      s->name, r == -ENOTUNIQ ? "more than one" : "no"));
			return 0;
		}
	}
	*ret_obj = SIZE_MAX;
	for (size_t i = 0; i < b->nobjs; i++)
		if (!b->objs[i].name)
			*ret_obj = i;
	return asprintf(ret, ".klp.sym.vmlinux.%s,%ld", s->name, pos) < 0 ? -ENOMEM : 1;
}

/* Sections whose entries the kernel reads while loading the livepatch, before a module's
 * relocations are written. */
static bool read_at_load(const char *sec)
{
	return streq(sec, "__jump_table") || streq(sec, ".static_call_sites");
}

/* The name a .klp.sym.OBJECT.NAME,POS symbol stands for (NAME), in BUF; "" if not one. */
static const char *klp_sym_target(const char *klp, char *buf, size_t size)
{
	const char *p = startswith(klp, ".klp.sym.") ? klp + strlen(".klp.sym.") : NULL;
	const char *dot = p ? strchr(p, '.') : NULL;
	const char *comma = dot ? strrchr(dot, ',') : NULL;

	if (!comma || (size_t)(comma - dot - 1) >= size)
		return "";
	memcpy(buf, dot + 1, (size_t)(comma - dot - 1));
	buf[comma - dot - 1] = '\0';
	return buf;
}

/* Where a relocation against a defined symbol points: its section and S + A there. */
static bool rela_place(const struct lp_rela *ra, struct lp_sec **ret_sec, int64_t *ret_off)
{
	if (!ra->sym->sec)
		return false;
	*ret_sec = ra->sym->sec;
	*ret_off = (ra->sym->type == STT_SECTION ? 0 : (int64_t)ra->sym->value) + ra->addend;
	return true;
}

/* Copies the ORC entry that covers SITE of SEC for AT of THUNKS (same frame: no stack use). */
static int thunk_orc(struct lp_elf *ko, struct lp_sec *sec, int64_t site, struct lp_sec *thunks,
		     int64_t at)
{
	struct lp_sec *ip = lp_elf_find_sec(ko, ".orc_unwind_ip"),
		      *orc = lp_elf_find_sec(ko, ".orc_unwind");
	static const uint8_t zero[4];
	int64_t best = -1, best_off = -1;
	int r;

	if (!ip || !orc || !ip->rela || !orc->data || ip->size / 4 != orc->size / 6)
		return 0; /* no ORC: nothing to keep in step */
	for (size_t i = 0; i < ip->rela->nrelas; i++) {
		struct lp_sec *s;
		int64_t off;

		if (rela_place(&ip->rela->relas[i], &s, &off) && s == sec && off <= site &&
		    off > best_off) {
			best_off = off;
			best = (int64_t)(ip->rela->relas[i].offset / 4);
		}
	}
	if (best < 0)
		return 0;
	uint8_t entry[6];

	memcpy(entry, orc->data + best * 6, sizeof(entry));
	int64_t ipat = lp_sec_append(ip, zero, sizeof(zero), 4);
	if (ipat < 0 || lp_sec_append(orc, entry, sizeof(entry), 2) < 0)
		return -ENOMEM;
	r = lp_sec_add_rela(ko, ip, (uint64_t)ipat, R_X86_64_PC32, thunks->secsym, at);
	return r;
}

/* Whether the jump label at CODE is a 2-byte site: `jmp rel8`, or the nop objtool makes of it. */
static bool short_site(const struct lp_rela *code)
{
	struct lp_sec *sec;
	int64_t site;

	if (!rela_place(code, &sec, &site) || !sec->data || site < 0 ||
	    (uint64_t)site + 2 > sec->size)
		return false;
	return sec->data[site] == 0xeb || (sec->data[site] == 0x66 && sec->data[site + 1] == 0x90);
}

/*
 * Says why a static branch on KEY of module MOD stays refused: `livepatch build` compiles both
 * sides with 5-byte sites (compile.c), so a 2-byte one comes from an object made otherwise.
 */
static void refuse_short_site(struct build *b, const char *key, const char *mod)
{
	NOMEM(b,
	      vadd(&b->rep->refusals, &b->rep->nrefusals,
		   "static branch on '%s' of module '%s' in the patched code: its site is 2 bytes, "
		   "too short for the jump to a thunk; `livepatch build` compiles both sides "
		   "with 5-byte sites, an object compiled otherwise needs the same (jmp.d32 in "
		   "asm/jump_label.h)",
		   key, mod));
}

/*
 * Replaces the jump label at CODE (jumping to TARGET when KEY says so) by a jump to a thunk
 * that tests the key at run time, as static_key_enabled() does, and goes to TARGET or back
 * after the site. The thunk reads the key through a livepatch relocation, written before the
 * patched function can run; nothing is read while the livepatch loads. Returns 1 done, 0 when
 * the site is not a 5-byte nop or jmp (left to be refused), or -errno.
 */
static int jump_thunk(struct lp_elf *ko, struct lp_sec **thunks, const struct lp_rela *code,
		      const struct lp_rela *target, const struct lp_rela *key)
{
	static const uint8_t nop5[] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
	/* cmpl $0, KEY(%rip); jg TARGET (jle with the branch bit); jmp SITE + 5 */
	uint8_t th[18] = {0x83, 0x3d, 0, 0, 0, 0, 0x00, 0x0f, 0x8f, 0, 0, 0, 0, 0xe9, 0, 0, 0, 0};
	struct lp_sec *sec, *tsec;
	int64_t site, toff, at;
	size_t keep = 0;

	if (code->type != R_X86_64_PC32 || target->type != R_X86_64_PC32 ||
	    !rela_place(code, &sec, &site) || !rela_place(target, &tsec, &toff) || !sec->data ||
	    !(sec->flags & SHF_EXECINSTR) || site < 0 || (uint64_t)site + 5 > sec->size ||
	    (memcmp(sec->data + site, nop5, 5) != 0 && sec->data[site] != 0xe9))
		return 0;
	if (key->addend & 1)
		th[8] = 0x8e;
	if (!*thunks) {
		*thunks = lp_elf_add_sec(ko, ".text.tuxtape_jump_thunks", SHT_PROGBITS,
					 SHF_ALLOC | SHF_EXECINSTR, 16);
		if (!*thunks)
			return -ENOMEM;
		(*thunks)->secsym = lp_elf_add_sym(ko, "", STT_SECTION, STB_LOCAL, *thunks, 0, 0);
		if (!(*thunks)->secsym)
			return -ENOMEM;
	}
	at = lp_sec_append(*thunks, th, sizeof(th), 16);
	if (at < 0)
		return -ENOMEM;
	if (lp_sec_add_rela(ko, *thunks, (uint64_t)at + 2, R_X86_64_PC32, key->sym,
			    (key->addend & ~(int64_t)3) - 5) < 0 ||
	    lp_sec_add_rela(ko, *thunks, (uint64_t)at + 9, R_X86_64_PC32, target->sym,
			    target->addend - 4) < 0 ||
	    lp_sec_add_rela(ko, *thunks, (uint64_t)at + 14, R_X86_64_PC32, code->sym,
			    code->addend + 1) < 0)
		return -ENOMEM;
	/* the site: jmp THUNK (what it relocated before, a jmp's target, goes) */
	for (size_t j = 0; sec->rela && j < sec->rela->nrelas; j++) {
		struct lp_rela *ra = &sec->rela->relas[j];

		if (ra->offset >= (uint64_t)site && ra->offset < (uint64_t)site + 5)
			continue;
		sec->rela->relas[keep++] = *ra;
	}
	if (sec->rela)
		sec->rela->nrelas = keep;
	sec->data[site] = 0xe9;
	memset(sec->data + site + 1, 0, 4);
	if (lp_sec_add_rela(ko, sec, (uint64_t)site + 1, R_X86_64_PC32, (*thunks)->secsym, at - 4) <
	    0)
		return -ENOMEM;
	return thunk_orc(ko, sec, site, *thunks, at) < 0 ? -ENOMEM : 1;
}

/*
 * Entries of __jump_table and .static_call_sites whose key is a module's: the kernel reads
 * them when the livepatch loads, before it writes that module's relocations, so they cannot
 * stay. Two kinds can go without changing what the code does:
 *
 *  - a static call site: the call instruction calls the key's trampoline, which the kernel
 *    keeps pointing at the current target whatever happens to the sites; without its entry
 *    the site is never turned into a direct call, it just takes one more jump;
 *  - a jump label of a tracepoint (key __tracepoint_NAME): the branch stays as compiled,
 *    off, so the tracepoint does not fire from the patched function (warned).
 *
 * Any other jump label must follow its key: its 5-byte site becomes a jump to a thunk that
 * tests the key each time (jump_thunk()). A site that is not 5 bytes is left for convert()
 * to refuse.
 */
static int drop_module_key_entries(struct build *b, struct lp_elf *ko)
{
	struct lp_sec *thunks = NULL;

	for (size_t i = 0; i < ko->nsecs; i++) {
		struct lp_sec *r = ko->secs[i], *base = r->base;
		bool calls;
		uint64_t es, keyoff, n, ndrop = 0;
		_cleanup_free_ bool *drop = NULL;
		_cleanup_free_ uint64_t *shift = NULL;
		size_t keep = 0;

		if (r->type != SHT_RELA || !base || !read_at_load(base->name) || !base->data)
			continue;
		calls = streq(base->name, ".static_call_sites");
		es = calls ? 8 : 16;
		keyoff = calls ? 4 : 8;
		if (base->size % es)
			continue; /* not the layout this code knows: convert() refuses */
		n = base->size / es;
		for (size_t k = 0; k < ko->nsyms; k++)
			if (ko->syms[k]->sec == base && ko->syms[k]->type != STT_SECTION)
				n = 0; /* something names an entry: leave the table as it is */
		if (!n)
			continue;
		drop = calloc(n, sizeof(*drop));
		shift = calloc(n, sizeof(*shift));
		if (!drop || !shift)
			return -ENOMEM;
		for (size_t j = 0; j < r->nrelas; j++) {
			struct lp_rela *ra = &r->relas[j];
			size_t kind = ra->sym->mark;
			char name[512];
			const char *key;

			if (ra->offset % es != keyoff || ra->offset / es >= n || !kind ||
			    kind - 1 >= b->nobjs || !b->objs[kind - 1].name)
				continue;
			key = klp_sym_target(ra->sym->name, name, sizeof(name));
			if (calls) {
				drop[ra->offset / es] = true;
				NOMEM(b,
				      vadd(&b->rep->warnings, &b->rep->nwarnings,
					   "static call '%s' of module '%s' is called through its "
					   "trampoline from the patched code (the site is not "
					   "made a direct call)",
					   key, b->objs[kind - 1].name));
			} else if (startswith(key, "__tracepoint_")) {
				drop[ra->offset / es] = true;
				NOMEM(b,
				      vadd(&b->rep->warnings, &b->rep->nwarnings,
					   "tracepoint '%s' of module '%s' does not fire from the "
					   "patched code (its jump label cannot be set up before "
					   "the module's relocations are written)",
					   key + strlen("__tracepoint_"), b->objs[kind - 1].name));
			} else {
				const struct lp_rela *code = NULL, *target = NULL;
				uint64_t e0 = ra->offset - keyoff;
				int t;

				for (size_t q = 0; q < r->nrelas; q++) {
					if (r->relas[q].offset == e0)
						code = &r->relas[q];
					else if (r->relas[q].offset == e0 + 4)
						target = &r->relas[q];
				}
				t = code && target ? jump_thunk(ko, &thunks, code, target, ra) : 0;
				if (t < 0)
					return t;
				if (t == 0 && code && short_site(code))
					refuse_short_site(b, key, b->objs[kind - 1].name);
				if (t == 0)
					continue; /* convert() refuses it */
				drop[ra->offset / es] = true;
				NOMEM(b, vadd(&b->rep->warnings, &b->rep->nwarnings,
					      "static branch on '%s' of module '%s' in the patched "
					      "code "
					      "tests the key when it runs (a thunk), as "
					      "static_key_enabled() does",
					      key, b->objs[kind - 1].name));
			}
		}
		for (uint64_t e = 0, d = 0; e < n; e++) {
			shift[e] = d;
			if (drop[e]) {
				d++;
				ndrop++;
			} else if (d) {
				memmove(base->data + (e - d) * es, base->data + e * es, es);
			}
		}
		if (!ndrop)
			continue;
		for (size_t j = 0; j < r->nrelas; j++) {
			struct lp_rela ra = r->relas[j];
			uint64_t e = ra.offset / es;

			if (e < n && drop[e])
				continue;
			if (e < n)
				ra.offset -= shift[e] * es;
			r->relas[keep++] = ra;
		}
		r->nrelas = keep;
		base->size -= ndrop * es;
	}
	return b->err;
}

static int convert(struct build *b, struct lp_elf *ko)
{
	/* per symbol: 0 ordinary, else 1 + its object (nobjs + 1: vmlinux, no klp_object) */
	size_t *klp = calloc(ko->nsyms ? ko->nsyms : 1, sizeof(*klp));
	size_t nsecs, nkinds = b->nobjs + 1;
	_cleanup_free_ struct lp_sec **ks = calloc(nkinds, sizeof(*ks));
	int r0;

	if (!klp || !ks) {
		free(klp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ko->nsyms; i++) {
		struct lp_sym *s = ko->syms[i];
		_cleanup_free_ char *klpname = NULL;
		size_t obj = SIZE_MAX;
		int r;

		if (s->sec || s->shndx != SHN_UNDEF || !*s->name)
			continue;
		r = klp_name_of(b, s, &klpname, &obj);
		if (r < 0) {
			free(klp);
			return r;
		}
		if (r == 0)
			continue;
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
		klp[i] = obj == SIZE_MAX ? nkinds : obj + 1;
		b->rep->nklp_syms++;
		if (obj < b->rep->nobjects)
			b->rep->objects[obj].nklp_syms++;
	}
	for (size_t i = 0; i < ko->nsyms; i++)
		ko->syms[i]->mark = klp[i];
	free(klp);
	if (b->err || b->rep->nrefusals)
		return b->err;
	r0 = drop_module_key_entries(b, ko);
	if (r0 < 0)
		return r0;

	/* move the relocations of loaded sections that use them into .klp.rela sections */
	nsecs = ko->nsecs;
	for (size_t i = 0; i < nsecs; i++) {
		struct lp_sec *r = ko->secs[i];
		size_t keep = 0;

		if (r->type != SHT_RELA || !r->base || !(r->base->flags & SHF_ALLOC) ||
		    (r->flags & SHF_RELA_LIVEPATCH))
			continue;
		memset(ks, 0, nkinds * sizeof(*ks));
		for (size_t j = 0; j < r->nrelas; j++) {
			struct lp_rela *ra = &r->relas[j];
			size_t kind = ra->sym->mark;
			struct lp_sec *k;

			if (!kind) {
				r->relas[keep++] = *ra;
				continue;
			}
			kind--;
			k = ks[kind];
			if (!k) {
				_cleanup_free_ char *name = NULL;
				const char *on = kind < b->nobjs ? obj_name(b, kind) : "vmlinux";

				/* .klp.rela.OBJECT.text.foo for .text.foo, as documented */
				if (asprintf(&name, ".klp.rela.%s.%s", on,
					     r->base->name + (r->base->name[0] == '.')) < 0)
					return -ENOMEM;
				k = lp_elf_add_sec(ko, name, SHT_RELA,
						   SHF_ALLOC | SHF_RELA_LIVEPATCH | SHF_INFO_LINK,
						   8);
				if (!k)
					return -ENOMEM;
				k->entsize = sizeof(Elf64_Rela);
				k->base = r->base;
				ks[kind] = k;
				if (read_at_load(r->base->name) && kind < b->nobjs &&
				    b->objs[kind].name)
					NOMEM(b, vadd(&b->rep->refusals, &b->rep->nrefusals,
						      "%s of code patching module '%s' uses a "
						      "module symbol ('%s'): the kernel sets these "
						      "entries up when the livepatch loads, before "
						      "that module's relocations are written; in the "
						      "patched function, %s",
						      r->base->name, b->objs[kind].name,
						      ra->sym->name,
						      streq(r->base->name, "__jump_table")
							      ? "test the key with static_key_enabled() "
								"instead of static_branch_*()"
							      : "call through TUXTAPE_STATIC_CALL(name)"
								" instead of static_call(name)"));
				else if (read_at_load(r->base->name))
					NOMEM(b, vadd(&b->rep->warnings, &b->rep->nwarnings,
						      "%s refers to unexported keys through "
						      "livepatch relocations (applied at load, "
						      "before jump labels and static calls)",
						      r->base->name));
			}
			struct lp_rela *nr = reallocarray(k->relas, k->nrelas + 1, sizeof(*nr));
			if (!nr)
				return -ENOMEM;
			k->relas = nr;
			k->relas[k->nrelas++] = *ra;
			b->rep->nklp_relas++;
			if (kind < b->rep->nobjects)
				b->rep->objects[kind].nklp_relas++;
		}
		r->nrelas = keep;
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

/* The livepatch's own name: what kbuild and modprobe accept without surprises. */
static bool patch_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 55)
		return false;
	for (const char *p = name; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

int lp_module_build_opts(const char *const *diff_objs, size_t n, const struct lp_module_opts *opts,
			 const char *out_ko, struct lp_module_report **ret_report)
{
	_cleanup_(lp_module_report_freep) struct lp_module_report *rep = NULL;
	_cleanup_(lp_elf_freep) struct lp_elf *ko = NULL;
	_cleanup_free_ char *symvers = NULL, *log = NULL, *kopath = NULL, *marg = NULL,
			    *carg = NULL;
	_cleanup_free_ char *dir = NULL;
	_cleanup_free_ struct lp_elf **parts = NULL;
	_cleanup_close_ int dir_lock = -1;
	struct build b = {.opts = opts};
	const char *kbuild_dir, *name;
	bool made = false;
	int r;

	if (!diff_objs || n == 0 || !opts || !opts->syms || !opts->kbuild_dir || !opts->name ||
	    !out_ko)
		return -EINVAL;
	b.syms = opts->syms;
	kbuild_dir = opts->kbuild_dir;
	name = opts->name;
	if (!patch_name_ok(name))
		return -EINVAL;
	for (const char *const *c = opts->cves; c && *c; c++)
		if (!modinfo_word_ok(*c, false))
			return log_error_errno(-EINVAL, "'%s' is not a CVE ID", *c);
	for (const char *const *h = opts->patch_sha256; h && *h; h++)
		if (!modinfo_word_ok(*h, true))
			return log_error_errno(-EINVAL, "'%s' is not a SHA-256 digest", *h);
	rep = calloc(1, sizeof(*rep));
	b.parts = calloc(n, sizeof(*b.parts));
	parts = calloc(n, sizeof(*parts));
	if (!rep || !b.parts || !parts) {
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
	for (size_t i = 0; i < n; i++) {
		struct lp_sec *m;

		r = lp_elf_read(diff_objs[i], &parts[i]);
		if (r < 0)
			goto out;
		m = lp_elf_find_sec(parts[i], ".tuxtape.lp");
		r = parse_meta(&b, i, m, diff_objs[i]);
		if (r < 0)
			goto out;
		/* the metadata is ours: it does not go into the module */
		lp_elf_drop_sec(parts[i], m);
	}
	r = objects_setup(&b, kbuild_dir);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		rename_module_refs(&b, i, parts);
	if (b.err) {
		r = b.err;
		goto out;
	}
	r = lp_workdir_new("tuxtape-klp-", &dir, &dir_lock);
	if (r < 0)
		goto out;
	made = true;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *dst = NULL;

		if (asprintf(&dst, "%s/lp-part%zu.o", dir, i) < 0) {
			r = -ENOMEM;
			goto out;
		}
		r = lp_elf_write(parts[i], dst);
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
	if (b.nfuncs == 0 && b.ncbs == 0) {
		r = vadd(&rep->refusals, &rep->nrefusals, "the diff objects change no function");
		r = r < 0 ? r : LP_MODULE_UNSAFE;
		goto out;
	}
	r = write_main_c(&b, dir, name, opts->replace);
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
	for (size_t i = 0; parts && i < n; i++)
		lp_elf_free(parts[i]);
	build_release(&b);
	if (r >= 0)
		*ret_report = TAKE_PTR(rep);
	return r;
}

int lp_module_build(const char *const *diff_objs, size_t n, const struct lp_symtab *syms,
		    const char *kbuild_dir, const char *name, bool replace, const char *out_ko,
		    struct lp_module_report **ret_report)
{
	const struct lp_module_opts o = {
		.syms = syms, .kbuild_dir = kbuild_dir, .name = name, .replace = replace};

	return lp_module_build_opts(diff_objs, n, &o, out_ko, ret_report);
}
