/*
 * Static Kbuild evaluation: which sources a .config compiles, from the tree's Makefiles alone.
 *
 * It follows what a build does: the top-level Makefile (with arch/$(SRCARCH)/Makefile) is
 * evaluated for the variables it exports to sub-makes, then each directory is evaluated as
 * scripts/Makefile.build would, starting at the top-level Kbuild with need-builtin and
 * need-modorder set, and the object lists are resolved as scripts/Makefile.lib resolves them
 * (obj-m minus obj-y, composite objects, lib-y, subdirectories).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "kernel/fileset.h"
#include "kernel/kconfig.h"
#include "kernel/kmake.h"
#include "log.h"
#include "macro.h"
#include "strbuf.h"
#include "banned.h"

struct pending {
	char *dir;
	bool builtin;  /* need-builtin: obj-y objects are linked into vmlinux */
	bool modorder; /* need-modorder: obj-m objects are built as modules */
};

struct rule {
	char **targets; /* normalised, may hold one '%' */
	char **prereqs;
	bool recipe;
};

struct seen {
	char *dir;
	unsigned char flags; /* 1: builtin done, 2: modorder done */
};

struct kbuild {
	struct kmake *km;
	const char *root;
	int rootfd;
	struct kernel_fileset *fs;
	struct pending *q;
	size_t qn, qalloc, qhead;
	struct seen *seen;
	size_t seen_cap, seen_n;
	struct rule *rules; /* rules of the directory being evaluated */
	size_t nrules, rulesalloc;
	const char *cur_dir;
	unsigned dirs, warnings, conservative;
};

static uint32_t hash_s(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* Returns the slot for DIR in the seen table, inserting it (flags 0) if new. */
static struct seen *seen_get(struct kbuild *kb, const char *dir)
{
	if ((kb->seen_n + 1) * 2 > kb->seen_cap) {
		size_t ncap = kb->seen_cap ? kb->seen_cap * 2 : 1024;
		struct seen *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return NULL;
		for (size_t i = 0; i < kb->seen_cap; i++) {
			size_t j;

			if (!kb->seen[i].dir)
				continue;
			for (j = hash_s(kb->seen[i].dir) & (ncap - 1); ns[j].dir;
			     j = (j + 1) & (ncap - 1))
				;
			ns[j] = kb->seen[i];
		}
		free(kb->seen);
		kb->seen = ns;
		kb->seen_cap = ncap;
	}
	size_t j;

	for (j = hash_s(dir) & (kb->seen_cap - 1); kb->seen[j].dir;
	     j = (j + 1) & (kb->seen_cap - 1))
		if (streq(kb->seen[j].dir, dir))
			return &kb->seen[j];
	kb->seen[j].dir = strdup(dir);
	if (!kb->seen[j].dir)
		return NULL;
	kb->seen_n++;
	return &kb->seen[j];
}

static bool outside(const char *rel)
{
	return rel[0] == '/' || streq(rel, "..") || startswith(rel, "../");
}

static int queue_dir(struct kbuild *kb, const char *dir, bool builtin, bool modorder)
{
	struct pending *p;

	if (outside(dir)) {
		kb->warnings++;
		log_warn("'%s' is outside the source tree: not descended into", dir);
		return 0;
	}
	if (kb->qn == kb->qalloc) {
		size_t na = kb->qalloc ? kb->qalloc * 2 : 256;
		struct pending *nq = realloc(kb->q, na * sizeof(*nq));

		if (!nq)
			return -ENOMEM;
		kb->q = nq;
		kb->qalloc = na;
	}
	p = &kb->q[kb->qn];
	p->dir = strdup(dir);
	if (!p->dir)
		return -ENOMEM;
	p->builtin = builtin;
	p->modorder = modorder;
	kb->qn++;
	return 0;
}

static void free_words(char **w)
{
	if (!w)
		return;
	for (char **p = w; *p; p++)
		free(*p);
	free(w);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, free_words);

/* Splits and normalises paths; NULL on allocation failure. */
static char **norm_words(const char *text)
{
	char **w = NULL;

	if (kmake_words(text, &w, NULL) < 0)
		return NULL;
	for (char **p = w; *p; p++) {
		char *n = kmake_path_normalize(*p);

		if (!n) {
			free_words(w);
			return NULL;
		}
		free(*p);
		*p = n;
	}
	return w;
}

static void rule_cb(const char *targets, const char *prereqs, bool has_recipe, void *userdata)
{
	struct kbuild *kb = userdata;
	struct rule *r;

	if (kb->nrules == kb->rulesalloc) {
		size_t na = kb->rulesalloc ? kb->rulesalloc * 2 : 16;
		struct rule *nr = realloc(kb->rules, na * sizeof(*nr));

		if (!nr)
			return;
		kb->rules = nr;
		kb->rulesalloc = na;
	}
	r = &kb->rules[kb->nrules];
	r->targets = norm_words(targets);
	r->prereqs = norm_words(prereqs);
	r->recipe = has_recipe;
	if (!r->targets || !r->prereqs) {
		free_words(r->targets);
		free_words(r->prereqs);
		return;
	}
	kb->nrules++;
}

static void rules_reset(struct kbuild *kb)
{
	for (size_t i = 0; i < kb->nrules; i++) {
		free_words(kb->rules[i].targets);
		free_words(kb->rules[i].prereqs);
	}
	kb->nrules = 0;
}

static bool is_file(struct kbuild *kb, const char *rel)
{
	struct stat st;

	return fstatat(kb->rootfd, rel, &st, 0) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(struct kbuild *kb, const char *rel)
{
	struct stat st;

	return fstatat(kb->rootfd, rel, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

static char *join_rel(const char *dir, const char *word)
{
	_cleanup_free_ char *j = streq(dir, ".") ? strdup(word) : strdup_printf("%s/%s", dir, word);

	return j ? kmake_path_normalize(j) : NULL;
}

static bool is_source_name(const char *p)
{
	size_t l = strlen(p);

	return (l > 2 && (streq(p + l - 2, ".c") || streq(p + l - 2, ".S"))) ||
	       (l > 3 && streq(p + l - 3, ".rs"));
}

/* PRE with its '%' replaced by STEM. */
static char *subst_stem(const char *pre, const char *stem, size_t stem_len)
{
	const char *pc = strchr(pre, '%');

	if (!pc || !stem)
		return strdup(pre);
	return strdup_printf("%.*s%.*s%s", (int)(pc - pre), pre, (int)stem_len, stem, pc + 1);
}

static int add_object_depth(struct kbuild *kb, const char *obj, unsigned kind, const char *how,
			    int depth);

/*
 * The rule with commands that make would use for NAME: an explicit one, else the pattern rule
 * with the shortest stem. With WANT_SOURCE, returns its first C/assembly prerequisite ($<);
 * otherwise adds the objects it is made from (objcopy-style rules), counted in *RET_OBJS.
 */
static int rule_for(struct kbuild *kb, const char *name, bool want_source, char **ret_src,
		    unsigned kind, const char *how, int depth, size_t *ret_objs)
{
	struct rule *best = NULL;
	const char *best_stem = NULL;
	size_t best_len = SIZE_MAX;

	for (size_t i = 0; i < kb->nrules; i++) {
		struct rule *ru = &kb->rules[i];

		if (!ru->recipe)
			continue;
		for (char **t = ru->targets; *t; t++) {
			const char *stem = NULL;
			size_t sl = 0;

			if (!kmake_pattern_match(*t, name, &stem, &sl))
				continue;
			if (!strchr(*t, '%')) {
				stem = NULL;
				sl = 0;
			}
			if (sl < best_len) {
				best = ru;
				best_stem = stem;
				best_len = sl;
			}
			break;
		}
	}
	if (!best)
		return 0;
	for (char **p = best->prereqs; *p; p++) {
		_cleanup_free_ char *pp = subst_stem(*p, best_stem, best_len);
		size_t pl;
		int r;

		if (!pp)
			return -ENOMEM;
		pl = strlen(pp);
		if (want_source && is_source_name(pp)) {
			*ret_src = TAKE_PTR(pp);
			return 1;
		}
		if (want_source)
			continue;
		if (pl > 2 && streq(pp + pl - 2, ".o") && !streq(pp, name)) {
			r = add_object_depth(kb, pp, kind, how, depth + 1);
			if (r < 0)
				return r;
			(*ret_objs)++;
		}
	}
	return 0;
}

/* Whether a rule of the current directory makes NAME (a generated source). */
static bool rule_makes(struct kbuild *kb, const char *name)
{
	for (size_t i = 0; i < kb->nrules; i++)
		for (char **t = kb->rules[i].targets; *t; t++)
			if (kmake_pattern_match(*t, name, NULL, NULL))
				return true;
	return false;
}

/* Which source builds OBJ ("dir/foo.o"): a rule's source, foo.c, foo.S, a generated one... */
static int add_object_depth(struct kbuild *kb, const char *obj, unsigned kind, const char *how,
			    int depth)
{
	size_t l = strlen(obj), nobjs = 0;
	_cleanup_free_ char *stem = strndup(obj, l - 2), *src = NULL, *h = NULL;
	static const char *const exts[] = {".c", ".S", ".rs"};
	bool generated = false;
	int r;

	if (!stem)
		return -ENOMEM;
	if (depth > 4)
		return 0;
	if (outside(obj)) {
		kb->warnings++;
		log_warn("object '%s' is outside the source tree: left out", obj);
		return 0;
	}
	/* An explicit rule naming its source wins, as in make. */
	r = rule_for(kb, obj, true, &src, kind, how, depth, &nobjs);
	if (r < 0)
		return r;
	if (src) {
		generated = !is_file(kb, src);
		return kernel_fileset_add(kb->fs, src, kind, generated, how);
	}
	for (size_t i = 0; i < ARRAY_SIZE(exts) && !src; i++) {
		_cleanup_free_ char *c = strdup_printf("%s%s", stem, exts[i]);

		if (!c)
			return -ENOMEM;
		if (is_file(kb, c))
			src = TAKE_PTR(c);
	}
	for (size_t i = 0; i < 2 && !src; i++) {
		_cleanup_free_ char *c = strdup_printf("%s%s", stem, exts[i]);

		if (!c)
			return -ENOMEM;
		if (rule_makes(kb, c)) {
			src = TAKE_PTR(c);
			generated = true;
		}
	}
	if (!src) {
		/* Made from other objects (e.g. objcopy'd): their sources are what is compiled. */
		r = rule_for(kb, obj, false, NULL, kind, how, depth, &nobjs);
		if (r < 0)
			return r;
		if (nobjs > 0)
			return 0;
	}
	for (size_t i = 0; i < 2 && !src; i++) {
		_cleanup_free_ char *sh = strdup_printf("%s%s_shipped", stem, exts[i]);

		if (!sh)
			return -ENOMEM;
		if (is_file(kb, sh)) {
			src = strdup_printf("%s%s", stem, exts[i]);
			generated = true;
		}
	}
	if (!src && l > 7 && streq(stem + strlen(stem) - 5, ".asn1") && is_file(kb, stem)) {
		/* scripts/Makefile.lib's rule: %.asn1.c from %.asn1 by scripts/asn1_compiler */
		src = strdup_printf("%s.c", stem);
		h = strdup_printf("%s; generated from %s", how, stem);
		if (!src || !h)
			return -ENOMEM;
		how = h;
		generated = true;
	}
	if (!src) {
		/* Nothing says how: Kbuild's own pattern rules make C sources. */
		src = strdup_printf("%s.c", stem);
		h = strdup_printf("%s; no source in the tree, assumed generated C", how);
		if (!h)
			return -ENOMEM;
		how = h;
		generated = true;
	}
	if (!src)
		return -ENOMEM;
	return kernel_fileset_add(kb->fs, src, kind, generated, how);
}

static int add_object(struct kbuild *kb, const char *obj, unsigned kind, const char *how)
{
	return add_object_depth(kb, obj, kind, how, 0);
}

static int expand_words(struct kbuild *kb, const char *expr, char ***ret, size_t *ret_n,
			struct kmake_taint *taint)
{
	_cleanup_free_ char *v = NULL;
	struct kmake_taint t;
	int r = kmake_expand(kb->km, expr, &v, &t);

	if (r < 0)
		return r;
	if (t.set && !taint->set)
		*taint = t;
	return kmake_words(v, ret, ret_n);
}

static bool in_words(char **w, const char *s)
{
	for (; w && *w; w++)
		if (streq(*w, s))
			return true;
	return false;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t l = strlen(s), sl = strlen(suffix);

	return l >= sl && streq(s + l - sl, suffix);
}

/*
 * Adds the primitive objects of OBJ: its composite parts ($(foo-objs) $(foo-y) [$(foo-m)]) if
 * any of those or $(foo-) is non-empty, else OBJ itself.
 */
/*
 * Where MAKEFILE lists WORD, for the reader: ":LINE (CONFIG_A=y, CONFIG_B=m)" with the config
 * symbols of the assignment's left side; "" when the word was computed rather than written.
 */
static char *describe(struct kbuild *kb, const char *makefile, const char *word)
{
	struct strbuf sb = STRBUF_INIT;
	const char *lhs;
	size_t ll, n = 0;
	unsigned line;

	if (!kmake_find_assignment(kb->km, makefile, word, &line, &lhs, &ll))
		return strdup("");
	strbuf_addf(&sb, ":%u", line);
	for (const char *c = lhs; (c = strstr(c, "CONFIG_")) && (size_t)(c - lhs) < ll;) {
		char name[128];
		size_t k = 0;
		const char *v;

		while (k < sizeof(name) - 1 && (isalnum((unsigned char)c[k]) || c[k] == '_'))
			name[k] = c[k], k++;
		name[k] = '\0';
		c += k;
		v = kmake_raw(kb->km, name);
		strbuf_addf(&sb, "%s%s=%s", n++ ? ", " : " (", name, v && *v ? v : "n");
	}
	if (n)
		strbuf_addch(&sb, ')');
	return strbuf_detach(&sb);
}

static int add_real(struct kbuild *kb, const char *dir, const char *obj, bool module,
		    const char *makefile, struct kmake_taint *taint)
{
	static const char *const sfx[] = {"-objs", "-y", "-m", "-"};
	size_t l = strlen(obj);
	_cleanup_free_ char *base = strndup(obj, l - 2), *where = NULL;
	char **parts[4] = {};
	bool composite = false;
	unsigned kind = module ? KERNEL_FILE_MODULE : KERNEL_FILE_BUILTIN;
	const char *var = module ? "obj-m" : "obj-y";
	int r = 0;

	if (!base)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(sfx) && r >= 0; i++) {
		_cleanup_free_ char *e = strdup_printf("$(%s%s)", base, sfx[i]);
		size_t n = 0;

		if (!e) {
			r = -ENOMEM;
			break;
		}
		r = expand_words(kb, e, &parts[i], &n, taint);
		if (r >= 0 && n > 0)
			composite = true;
	}
	where = describe(kb, makefile, obj);
	if (!where)
		r = -ENOMEM;
	if (r >= 0 && !composite) {
		_cleanup_free_ char *p = join_rel(dir, obj), *how = NULL;

		how = strdup_printf("%s in %s%s", var, makefile, where);
		r = p && how ? add_object(kb, p, kind, how) : -ENOMEM;
	} else if (r >= 0) {
		for (size_t i = 0; i < 3 && r >= 0; i++) {
			if (i == 2 && !module)
				break;
			for (char **w = parts[i]; w && *w && r >= 0; w++) {
				_cleanup_free_ char *p = NULL, *how = NULL, *pw = NULL;

				if (!ends_with(*w, ".o"))
					continue;
				pw = describe(kb, makefile, *w);
				/* pw is ":LINE (...)" or "": say "at line LINE (...)" */
				how = pw ? strdup_printf("%s in %s%s; part of %s%s%s", var,
							 makefile, where, obj,
							 *pw ? " at line " : "", *pw ? pw + 1 : "")
					 : NULL;
				p = join_rel(dir, *w);
				r = p && how ? add_object(kb, p, kind, how) : -ENOMEM;
			}
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		free_words(parts[i]);
	return r;
}

/* Counts every C and assembly source of DIR as compiled: the fallback when unsure. */
static int add_whole_dir(struct kbuild *kb, const char *dir, unsigned kind,
			 const struct kmake_taint *why)
{
	_cleanup_free_ char *how = NULL;
	int fd, r = 0;
	DIR *d;
	struct dirent *de;

	kb->conservative++;
	kb->warnings++;
	log_warn("%s: %s not evaluated; counting every source in '%s' as compiled", why->where,
		 why->what, dir);
	if (!kind)
		return 0;
	how = strdup_printf("conservative: %s at %s", why->what, why->where);
	if (!how)
		return -ENOMEM;
	fd = openat(kb->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) && r >= 0) {
		_cleanup_free_ char *p = NULL;

		if (!ends_with(de->d_name, ".c") && !ends_with(de->d_name, ".S"))
			continue;
		p = join_rel(dir, de->d_name);
		if (!p) {
			r = -ENOMEM;
			break;
		}
		if (is_file(kb, p))
			r = kernel_fileset_add(kb->fs, p, kind, false, how);
	}
	closedir(d);
	return r;
}

/* What scripts/Makefile.build initialises before including a directory's Kbuild file. */
static const char *const build_init_vars[] = {
	"obj-y",
	"obj-m",
	"lib-y",
	"lib-m",
	"always-y",
	"always-m",
	"targets",
	"subdir-y",
	"subdir-m",
	"EXTRA_AFLAGS",
	"EXTRA_CFLAGS",
	"EXTRA_CPPFLAGS",
	"EXTRA_LDFLAGS",
	"asflags-y",
	"ccflags-y",
	"rustflags-y",
	"cppflags-y",
	"ldflags-y",
	"subdir-asflags-y",
	"subdir-ccflags-y",
};

static int eval_dir(struct kbuild *kb, const struct pending *p)
{
	struct kmake *km = kb->km;
	const char *dir = p->dir;
	_cleanup_free_ char *kbuild = NULL, *makefile = NULL;
	_cleanup_(free_wordsp) char **oy = NULL;
	_cleanup_(free_wordsp) char **om = NULL;
	_cleanup_(free_wordsp) char **ly = NULL;
	_cleanup_(free_wordsp) char **lm = NULL;
	_cleanup_(free_wordsp) char **sy = NULL;
	_cleanup_(free_wordsp) char **sm = NULL;
	_cleanup_(free_wordsp) char **ey = NULL;
	struct kmake_taint taint = {};
	unsigned whole_kind;
	int r;

	kbuild = join_rel(dir, "Kbuild");
	makefile = join_rel(dir, "Makefile");
	if (!kbuild || !makefile)
		return -ENOMEM;
	const char *mk = is_file(kb, kbuild) ? kbuild : makefile;

	r = kmake_push_scope(km);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(build_init_vars) && r >= 0; i++)
		r = kmake_set(km, build_init_vars[i], "", KMAKE_ORIGIN_FILE, false);
	if (r >= 0)
		r = kmake_set(km, "obj", dir, KMAKE_ORIGIN_CMDLINE, false);
	if (r >= 0)
		r = kmake_set(km, "src", dir, KMAKE_ORIGIN_FILE, false);
	if (r >= 0)
		r = kmake_set(km, "need-builtin", p->builtin ? "1" : "", KMAKE_ORIGIN_CMDLINE,
			      false);
	if (r >= 0)
		r = kmake_set(km, "need-modorder", p->modorder ? "1" : "", KMAKE_ORIGIN_CMDLINE,
			      false);
	if (r < 0)
		goto out;
	kmake_taint_reset(km);
	rules_reset(kb);
	kb->cur_dir = dir;
	kb->dirs++;
	whole_kind = p->builtin ? KERNEL_FILE_BUILTIN : p->modorder ? KERNEL_FILE_MODULE : 0;

	r = kmake_eval_file(km, mk, false);
	if (r == -ENOENT) {
		struct kmake_taint t = {.set = true};

		snprintf(t.what, sizeof(t.what), "missing Kbuild file");
		snprintf(t.where, sizeof(t.where), "%s", mk);
		r = add_whole_dir(kb, dir, whole_kind, &t);
		goto out;
	}
	if (r < 0) {
		log_error("cannot evaluate '%s': %s", mk, strerror(-r));
		goto out;
	}
	if (kmake_taint(km)->set)
		taint = *kmake_taint(km);

	r = expand_words(kb, "$(obj-y)", &oy, NULL, &taint);
	if (r >= 0)
		r = expand_words(kb, "$(obj-m)", &om, NULL, &taint);
	if (r >= 0)
		r = expand_words(kb, "$(lib-y)", &ly, NULL, &taint);
	if (r >= 0)
		r = expand_words(kb, "$(lib-m)", &lm, NULL, &taint);
	if (r >= 0)
		r = expand_words(kb, "$(subdir-y)", &sy, NULL, &taint);
	if (r >= 0)
		r = expand_words(kb, "$(subdir-m)", &sm, NULL, &taint);
	if (r >= 0)
		r = expand_words(kb, "$(extra-y)", &ey, NULL, &taint);
	if (r < 0)
		goto out;

	/* Objects: obj-y when linked, obj-m (minus obj-y) when modules are ordered, lib-y. */
	for (char **w = oy; *w && r >= 0; w++) {
		if (!p->builtin || !ends_with(*w, ".o"))
			continue;
		r = add_real(kb, dir, *w, false, mk, &taint);
	}
	for (char **w = om; *w && r >= 0; w++) {
		if (!p->modorder || !ends_with(*w, ".o") || in_words(oy, *w))
			continue;
		r = add_real(kb, dir, *w, true, mk, &taint);
	}
	for (int pass = 0; pass < 2 && r >= 0; pass++) {
		char **lw = pass ? lm : ly;

		for (char **w = lw; r >= 0 && *w; w++) {
			_cleanup_free_ char *o = NULL, *where = NULL, *how = NULL;

			if (!ends_with(*w, ".o") || in_words(oy, *w))
				continue;
			o = join_rel(dir, *w);
			where = describe(kb, mk, *w);
			how = where ? strdup_printf("lib-y in %s%s", mk, where) : NULL;
			r = o && how ? add_object(kb, o, KERNEL_FILE_BUILTIN, how) : -ENOMEM;
		}
	}
	for (char **w = ey; *w && r >= 0; w++) {
		_cleanup_free_ char *o = NULL, *how = NULL;

		if (!ends_with(*w, ".o"))
			continue;
		o = join_rel(dir, *w);
		how = strdup_printf("extra-y in %s", mk);
		r = o && how ? add_object(kb, o, KERNEL_FILE_BUILTIN, how) : -ENOMEM;
	}
	if (r < 0)
		goto out;

	/* Subdirectories: subdir-y/m are visited but link nothing; obj-y/obj-m ones propagate. */
	char **lists[4] = {oy, om, sy, sm};

	for (int li = 0; li < 4 && r >= 0; li++) {
		for (char **w = lists[li]; *w && r >= 0; w++) {
			_cleanup_free_ char *word = strdup(*w), *child = NULL;
			size_t wl;
			bool b, m;

			if (!word)
				return -ENOMEM;
			wl = strlen(word);
			if (li < 2) {
				if (wl < 2 || word[wl - 1] != '/')
					continue;
			}
			while (wl > 1 && word[wl - 1] == '/')
				word[--wl] = '\0';
			child = join_rel(dir, word);
			if (!child) {
				r = -ENOMEM;
				break;
			}
			b = p->builtin && li == 0;
			m = p->modorder && li < 2;
			if (!b && li == 1 && in_words(oy, *w))
				continue; /* obj-m entry already listed in obj-y */
			if (!is_dir(kb, child)) {
				kb->warnings++;
				log_warn("%s: subdirectory '%s' does not exist", mk, child);
				continue;
			}
			r = queue_dir(kb, child, b, m);
		}
	}
	if (r >= 0 && taint.set)
		r = add_whole_dir(kb, dir, whole_kind, &taint);
out:
	kmake_pop_scope(km);
	return r;
}

/*
 * Objects scripts/link-vmlinux.sh adds at link time (init/version-timestamp.o in 6.1), read
 * from its objs="${objs} X.o" lines under "if is_enabled CONFIG_..." tests.
 */
static int add_link_objects(struct kbuild *kb, const struct kconfig *kc)
{
	_cleanup_free_ char *p = strdup_printf("%s/scripts/link-vmlinux.sh", kb->root), *buf = NULL;
	bool stack[16];
	int sp = 0, r = 0;

	if (!p)
		return -ENOMEM;
	if (read_file_capped(p, 1u << 20, &buf, NULL) < 0)
		return 0;
	for (char *line = buf, *next; line && *line && r >= 0; line = next) {
		char *e = strchr(line, '\n'), *s = line, *o;
		bool active = true;

		next = e ? e + 1 : NULL;
		if (e)
			*e = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		for (int i = 0; i < sp; i++)
			active &= stack[i];
		if (startswith(s, "if ") && sp < (int)ARRAY_SIZE(stack)) {
			bool t = !strstr(s, "is_enabled");

			/* "if is_enabled CONFIG_A || is_enabled CONFIG_B; then" */
			for (char *q = strstr(s, "is_enabled "); q;
			     q = strstr(q + 1, "is_enabled ")) {
				char sym[128];
				size_t n = strcspn(q + 11, " ;|&\t");

				if (n < sizeof(sym)) {
					memcpy(sym, q + 11, n);
					sym[n] = '\0';
					t |= kconfig_get(kc, sym) != NULL;
				}
			}
			stack[sp++] = t;
		} else if (startswith(s, "else") && sp > 0) {
			stack[sp - 1] = !stack[sp - 1];
		} else if (startswith(s, "fi") && (s[2] == '\0' || s[2] == ' ' || s[2] == ';') &&
			   sp > 0) {
			sp--;
		} else if (active && startswith(s, "objs=\"${objs} ") && (o = s + 14) &&
			   strstr(o, ".o\"")) {
			_cleanup_free_ char *obj = strndup(o, strcspn(o, "\" "));

			if (!obj)
				return -ENOMEM;
			r = add_object(kb, obj, KERNEL_FILE_BUILTIN,
				       "added by scripts/link-vmlinux.sh");
		}
	}
	return r;
}

static int check_tree(const char *srctree, const char *srcarch)
{
	_cleanup_free_ char *mk = path_join(srctree, "Makefile"), *buf = NULL,
			    *build = path_join(srctree, "scripts/Makefile.build"), *arch = NULL;
	struct stat st;
	int r;

	if (!mk || !build)
		return -ENOMEM;
	if (stat(srctree, &st) < 0 || !S_ISDIR(st.st_mode))
		return log_error_errno(-ENOTDIR, "'%s' is not a directory", srctree);
	r = read_file_capped(mk, 1u << 20, &buf, NULL);
	if (r < 0 || !strstr(buf, "\nPATCHLEVEL =") || !strstr(buf, "VERSION =") ||
	    access(build, F_OK) < 0)
		return log_error_errno(-EINVAL,
				       "'%s' is not a kernel source tree (no top-level Makefile "
				       "with VERSION/PATCHLEVEL, or no scripts/Makefile.build)",
				       srctree);
	arch = strdup_printf("%s/arch/%s/Makefile", srctree, srcarch);
	if (!arch)
		return -ENOMEM;
	if (access(arch, F_OK) < 0)
		return log_error_errno(-EINVAL,
				       "'%s' has no arch/%s/Makefile: unknown SRCARCH '%s'",
				       srctree, srcarch, srcarch);
	return 0;
}

static void kbuild_release(struct kbuild *kb)
{
	kmake_free(kb->km);
	if (kb->rootfd >= 0)
		close(kb->rootfd);
	for (size_t i = kb->qhead; i < kb->qn; i++)
		free(kb->q[i].dir);
	free(kb->q);
	for (size_t i = 0; i < kb->seen_cap; i++)
		free(kb->seen[i].dir);
	free(kb->seen);
	rules_reset(kb);
	free(kb->rules);
	kernel_fileset_free(kb->fs);
}

/*
 * Since 5.17-ish, kconfig writes include/config/auto.conf with string values unquoted; before,
 * with the quotes. The tree's own kconfig tells which.
 */
static bool autoconf_unquoted(struct kbuild *kb)
{
	_cleanup_free_ char *p = strdup_printf("%s/scripts/kconfig/confdata.c", kb->root),
			    *buf = NULL;
	const char *f;

	if (!p || read_file_capped(p, 1u << 20, &buf, NULL) < 0)
		return true;
	f = strstr(buf, "print_symbol_for_autoconf(FILE");
	return f && strstr(f, "OUTPUT_N_NONE, false)") != NULL;
}

/* "\"a\\\"b\"" -> "a\"b": a config string as unquoted auto.conf holds it. */
static char *unquote(const char *v)
{
	size_t l = strlen(v), o = 0;
	char *out = malloc(l + 1);

	if (!out)
		return NULL;
	for (size_t i = 1; i + 1 < l; i++) {
		if (v[i] == '\\' && i + 2 < l)
			i++;
		out[o++] = v[i];
	}
	out[o] = '\0';
	return out;
}

/* The variables make and the top-level invocation define before any makefile is read. */
static int set_base_vars(struct kbuild *kb, const char *abs_root, const char *arch,
			 const char *srcarch, const struct kconfig *kc)
{
	bool unquoted = autoconf_unquoted(kb);

	struct kmake *km = kb->km;
	int r = 0;

	r = kmake_set(km, "ARCH", arch, KMAKE_ORIGIN_CMDLINE, true);
	if (r >= 0)
		r = kmake_set(km, "SRCARCH", srcarch, KMAKE_ORIGIN_CMDLINE, true);
	if (r >= 0)
		r = kmake_set(km, "CURDIR", abs_root, KMAKE_ORIGIN_DEFAULT, false);
	if (r >= 0)
		r = kmake_set(km, "MAKE_VERSION", "4.3", KMAKE_ORIGIN_DEFAULT, false);
	if (r >= 0)
		r = kmake_set(km, "MAKE", "make", KMAKE_ORIGIN_DEFAULT, false);
	if (r >= 0)
		r = kmake_set(km, "SHELL", "/bin/sh", KMAKE_ORIGIN_DEFAULT, false);
	if (r >= 0)
		r = kmake_set(km, "MAKECMDGOALS", "", KMAKE_ORIGIN_DEFAULT, false);
	/* The top-level Makefile sets these for an in-tree build; defaults for other trees. */
	if (r >= 0)
		r = kmake_set(km, "srctree", ".", KMAKE_ORIGIN_DEFAULT, true);
	if (r >= 0)
		r = kmake_set(km, "objtree", ".", KMAKE_ORIGIN_DEFAULT, true);
	/* The configuration, as include/config/auto.conf would give it. */
	for (size_t i = 0; i < kconfig_count(kc) && r >= 0; i++) {
		const char *name, *value;

		kconfig_entry(kc, i, &name, &value);
		if (unquoted && value[0] == '"') {
			_cleanup_free_ char *u = unquote(value);

			r = u ? kmake_set(km, name, u, KMAKE_ORIGIN_FILE, false) : -ENOMEM;
		} else {
			r = kmake_set(km, name, value, KMAKE_ORIGIN_FILE, false);
		}
	}
	return r;
}

int kernel_files_static(const char *srctree, const char *config_path, const char *srcarch,
			struct kernel_fileset **ret)
{
	struct kbuild kb = {.rootfd = -1};
	struct kconfig *kc = NULL;
	_cleanup_free_ char *old_dirs = NULL;
	const char *arch;
	char abs_root[4096];
	int r;

	if (!srcarch)
		srcarch = "x86";
	arch = srcarch;
	if (streq(srcarch, "x86_64") || streq(srcarch, "i386"))
		srcarch = "x86";
	r = check_tree(srctree, srcarch);
	if (r < 0)
		return r;
	if (!realpath(srctree, abs_root))
		return log_error_errno(negative_errno(), "cannot resolve '%s'", srctree);
	r = kconfig_load(config_path, &kc);
	if (r < 0)
		return r;

	kb.root = abs_root;
	kb.rootfd = open(abs_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (kb.rootfd < 0) {
		r = log_error_errno(negative_errno(), "cannot open '%s'", abs_root);
		goto out;
	}
	r = kernel_fileset_new("static", &kb.fs);
	if (r >= 0)
		r = kmake_new(abs_root, &kb.km);
	if (r >= 0)
		r = set_base_vars(&kb, abs_root, arch, srcarch, kc);
	if (r < 0)
		goto out;
	kmake_set_rule_fn(kb.km, rule_cb, &kb);

	/* The top-level Makefile, for what it exports (ARCH_CORE, ARCH_LIB, BITS, ...). */
	r = kmake_push_scope(kb.km);
	if (r < 0)
		goto out;
	r = kmake_eval_file(kb.km, "Makefile", false);
	if (r >= 0)
		r = kmake_export_down(kb.km);
	/* Before 6.1 the top-level Makefile itself listed the directories to descend into. */
	if (r >= 0)
		r = kmake_expand(
			kb.km,
			"$(init-y) $(init-m) $(core-y) $(core-m) $(drivers-y) $(drivers-m) "
			"$(net-y) $(net-m) $(libs-y) $(libs-m) $(virt-y) $(virt-m)",
			&old_dirs, NULL);
	kmake_pop_scope(kb.km);
	if (r < 0) {
		log_error("cannot evaluate '%s/Makefile': %s", srctree, strerror(-r));
		goto out;
	}
	/* What every sub-make includes before a directory's Kbuild file: defined once here. */
	r = kmake_eval_file(kb.km, "scripts/Kbuild.include", false);
	if (r >= 0 || r == -ENOENT)
		r = kmake_eval_file(kb.km, "scripts/Makefile.compiler", true);
	if (r == -ENOENT)
		r = 0;
	if (r < 0)
		goto out;

	r = queue_dir(&kb, ".", true, true);
	for (;;) {
		if (r < 0)
			break;
		if (kb.qhead == kb.qn) {
			_cleanup_(free_wordsp) char **w = NULL;

			/* The top-level Kbuild descended nowhere: an older tree's layout. */
			if (kb.qn != 1 || !old_dirs)
				break;
			r = kmake_words(old_dirs, &w, NULL);
			for (char **d = w; r >= 0 && d && *d; d++) {
				size_t dl = strlen(*d);

				if (dl < 2 || (*d)[dl - 1] != '/')
					continue;
				(*d)[dl - 1] = '\0';
				r = queue_dir(&kb, *d, true, true);
			}
			free(old_dirs);
			old_dirs = NULL;
			continue;
		}
		struct pending p = kb.q[kb.qhead++];
		struct seen *s = seen_get(&kb, p.dir);
		unsigned char want = (p.builtin ? 1 : 0) | (p.modorder ? 2 : 0);

		if (!s) {
			r = -ENOMEM;
		} else if (!(s->flags & 0x80) || (want & ~s->flags & 3)) {
			/* New, or reached again in a way that builds more of it. */
			p.builtin |= s->flags & 1;
			p.modorder |= (s->flags & 2) != 0;
			s->flags |= want | 0x80;
			r = eval_dir(&kb, &p);
		}
		free(p.dir);
		if ((kb.dirs & 63) == 0)
			tt_progress("evaluating Kbuild files", kb.qhead, kb.qn);
	}
	if (r >= 0)
		r = add_link_objects(&kb, kc);
	if (r < 0)
		goto out;
	r = kernel_fileset_finish(kb.fs);
	if (r < 0)
		goto out;
	*kernel_fileset_stats_mut(kb.fs) = (struct kernel_fileset_stats){
		.dirs = kb.dirs, .warnings = kb.warnings, .conservative = kb.conservative};
	log_info("static evaluation: %u directories, %zu files, %u warnings", kb.dirs,
		 kernel_fileset_size(kb.fs), kb.warnings);
	*ret = TAKE_PTR(kb.fs);
out:
	kbuild_release(&kb);
	kconfig_free(kc);
	return r;
}
