/*
 * Static evaluation of the GNU make subset used by Kbuild: see kmake.h. Nothing is executed;
 * recipes are skipped and $(shell ...) expands to nothing and taints the result.
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "kmake.h"
#include "log.h"
#include "macro.h"
#include "strbuf.h"
#include "banned.h"

#define KMAKE_FILE_MAX (4u << 20)    /* largest makefile read */
#define KMAKE_EXPAND_MAX (64u << 20) /* largest single expansion */
#define KMAKE_DEPTH_MAX 200	     /* nesting of expansions, includes and evals */
#define KMAKE_SCOPES_MAX 8
#define KMAKE_STEPS_MAX 200000ul /* expansions per top-level call: hostile makefiles */

enum { KV_RECURSIVE, KV_SIMPLE };

struct kvar {
	char *name;
	char *value;
	uint32_t hash;
	unsigned char flavor;
	unsigned char origin;
	bool defined; /* false: only remembered for a pending "export NAME" */
	bool exported;
	bool tainted;		/* simple variable whose value came from an unevaluable expansion */
	const char *taint_what; /* why (a string literal) */
	bool expanding;
	const char *where_file;
	unsigned where_line;
};

struct ktab {
	struct kvar **slots;
	size_t cap, n;
};

struct kline {
	char *text;
	unsigned lineno;
	bool tab; /* started with a tab: a recipe line when it follows a rule */
};

struct kfile {
	char *path;
	char *data;
	struct kline *lines;
	size_t n;
	bool missing;
	struct kfile *next;
};

struct klocal {
	const char *name;
	const char *value;
	bool frame; /* $(call) boundary: numbered variables are not looked up further */
	struct klocal *next;
};

struct kmake {
	char *root;
	struct ktab scopes[KMAKE_SCOPES_MAX];
	int nscopes;
	struct kfile *files[1024];
	struct klocal *locals;
	int depth;
	const char *cur_file;
	unsigned cur_line;
	const char *var_file; /* definition site of the variable being expanded */
	unsigned var_line;
	unsigned long taint_events;
	const char *last_what;		/* the literal of the latest taint event */
	unsigned long steps, max_steps; /* expansions in this top-level call, and the most seen */
	struct kmake_taint last_taint;	/* the latest taint event */
	struct kmake_taint taint;	/* evaluation-level taint, see kmake_taint() */
	kmake_rule_fn rule_fn;
	void *rule_userdata;
};

static int expand_into(struct kmake *km, const char *s, size_t len, struct strbuf *out);
static int eval_lines(struct kmake *km, const char *path, struct kline *lines, size_t n);

static uint32_t hash_str(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static inline bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* ---- variable tables ---- */

static struct kvar *ktab_find(struct ktab *t, const char *name, size_t len, uint32_t h)
{
	if (!t->cap)
		return NULL;
	for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		struct kvar *v = t->slots[i];

		if (!v)
			return NULL;
		if (v->hash == h && strncmp(v->name, name, len) == 0 && v->name[len] == '\0')
			return v;
	}
}

static int ktab_insert(struct ktab *t, struct kvar *v)
{
	if ((t->n + 1) * 2 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		struct kvar **ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		for (size_t i = 0; i < t->cap; i++) {
			struct kvar *o = t->slots[i];
			size_t j;

			if (!o)
				continue;
			for (j = o->hash & (ncap - 1); ns[j]; j = (j + 1) & (ncap - 1))
				;
			ns[j] = o;
		}
		free(t->slots);
		t->slots = ns;
		t->cap = ncap;
	}
	size_t j;

	for (j = v->hash & (t->cap - 1); t->slots[j]; j = (j + 1) & (t->cap - 1))
		;
	t->slots[j] = v;
	t->n++;
	return 0;
}

static void ktab_release(struct ktab *t)
{
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slots[i]) {
			free(t->slots[i]->name);
			free(t->slots[i]->value);
			free(t->slots[i]);
		}
	}
	free(t->slots);
	*t = (struct ktab){};
}

static struct kvar *var_lookup_len(struct kmake *km, const char *name, size_t len)
{
	uint32_t h = hash_str(name, len);

	for (int i = km->nscopes - 1; i >= 0; i--) {
		struct kvar *v = ktab_find(&km->scopes[i], name, len, h);

		if (v)
			return v;
	}
	return NULL;
}

static struct kvar *var_lookup(struct kmake *km, const char *name)
{
	return var_lookup_len(km, name, strlen(name));
}

static struct kvar *var_defined(struct kmake *km, const char *name)
{
	struct kvar *v = var_lookup(km, name);

	return v && v->defined ? v : NULL;
}

/* The variable NAME in the innermost scope, created (undefined) if needed. */
static struct kvar *var_top(struct kmake *km, const char *name)
{
	struct ktab *t = &km->scopes[km->nscopes - 1];
	size_t len = strlen(name);
	uint32_t h = hash_str(name, len);
	struct kvar *v = ktab_find(t, name, len, h), *outer;

	if (v)
		return v;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->name = strdup(name);
	v->hash = h;
	if (!v->name || ktab_insert(t, v) < 0) {
		free(v->name);
		free(v);
		return NULL;
	}
	outer = NULL;
	for (int i = km->nscopes - 2; i >= 0 && !outer; i--)
		outer = ktab_find(&km->scopes[i], name, len, h);
	if (outer) {
		/* Copy-on-write from the outer scope, so += appends to what the sub-make inherited.
		 */
		v->value = outer->value ? strdup(outer->value) : NULL;
		v->flavor = outer->flavor;
		v->origin = outer->origin;
		v->defined = outer->defined;
		v->exported = outer->exported;
		v->tainted = outer->tainted;
		v->taint_what = outer->taint_what;
		v->where_file = outer->where_file;
		v->where_line = outer->where_line;
	}
	return v;
}

/* ---- taint ---- */

static void taint_note(struct kmake *km, const char *what)
{
	struct kmake_taint *t = &km->last_taint;

	t->set = true;
	km->last_what = what;
	snprintf(t->what, sizeof(t->what), "%s", what);
	if (km->var_file)
		snprintf(t->where, sizeof(t->where), "%s:%u", km->var_file, km->var_line);
	else
		snprintf(t->where, sizeof(t->where), "%s:%u", strempty(km->cur_file), km->cur_line);
	km->taint_events++;
}

static void taint_eval(struct kmake *km, const struct kmake_taint *t)
{
	if (!km->taint.set)
		km->taint = *t;
}

/* ---- files ---- */

static int parse_lines(const char *src, size_t len, struct kfile *f)
{
	size_t alloc = 0, i = 0;
	unsigned lineno = 1;
	char *w;

	f->data = malloc(len + 1);
	if (!f->data)
		return -ENOMEM;
	w = f->data;
	while (i < len) {
		struct kline *l;
		unsigned start_line = lineno;
		char *start = w;

		if (f->n == alloc) {
			size_t na = alloc ? alloc * 2 : 64;
			struct kline *nl = realloc(f->lines, na * sizeof(*nl));

			if (!nl)
				return -ENOMEM;
			f->lines = nl;
			alloc = na;
		}
		for (;;) {
			size_t e = i, bs = 0;

			while (e < len && src[e] != '\n')
				e++;
			for (size_t k = e; k > i && src[k - 1] == '\\'; k--)
				bs++;
			if (bs % 2 == 1 && e < len) {
				/* backslash-newline: joined with one space, surrounding blanks
				 * dropped */
				size_t k = e - 1;

				while (k > i && (src[k - 1] == ' ' || src[k - 1] == '\t'))
					k--;
				memcpy(w, src + i, k - i);
				w += k - i;
				*w++ = ' ';
				i = e + 1;
				lineno++;
				while (i < len && (src[i] == ' ' || src[i] == '\t'))
					i++;
				continue;
			}
			memcpy(w, src + i, e - i);
			w += e - i;
			i = e < len ? e + 1 : e;
			lineno++;
			break;
		}
		*w++ = '\0';
		l = &f->lines[f->n++];
		l->text = start;
		l->lineno = start_line;
		l->tab = start[0] == '\t';
	}
	return 0;
}

static void kfile_free(struct kfile *f)
{
	if (!f)
		return;
	free(f->path);
	free(f->data);
	free(f->lines);
	free(f);
}

/* Normalises PATH lexically relative to the root: "./a/../b//c" -> "b/c". */
char *kmake_path_normalize(const char *path)
{
	size_t len = strlen(path);
	char *out = malloc(len + 2), *segs[512];
	size_t nseg = 0, o = 0;
	_cleanup_free_ char *copy = strdup(path);
	char *p, *save = NULL;

	if (!out || !copy) {
		free(out);
		return NULL;
	}
	bool abs = path[0] == '/';

	for (p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (streq(p, "."))
			continue;
		if (streq(p, "..") && nseg > 0 && !streq(segs[nseg - 1], "..")) {
			nseg--;
			continue;
		}
		if (nseg < ARRAY_SIZE(segs))
			segs[nseg++] = p;
	}
	if (abs)
		out[o++] = '/';
	for (size_t k = 0; k < nseg; k++) {
		size_t sl = strlen(segs[k]);

		if (k)
			out[o++] = '/';
		memcpy(out + o, segs[k], sl);
		o += sl;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return out;
}

/* The cached, parsed makefile at PATH (a root-relative or absolute path). */
static int kfile_get(struct kmake *km, const char *path, struct kfile **ret)
{
	_cleanup_free_ char *norm = kmake_path_normalize(path), *full = NULL, *buf = NULL;
	struct kfile *f;
	size_t len = 0;
	uint32_t h;
	int r;

	if (!norm)
		return -ENOMEM;
	h = hash_str(norm, strlen(norm)) % ARRAY_SIZE(km->files);
	for (f = km->files[h]; f; f = f->next)
		if (streq(f->path, norm)) {
			*ret = f;
			return 0;
		}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->path = TAKE_PTR(norm);
	if (startswith(f->path, "../") || streq(f->path, "..") ||
	    (f->path[0] == '/' &&
	     !(startswith(f->path, km->root) && f->path[strlen(km->root)] == '/'))) {
		/* A tree's makefiles do not reach outside it; refuse to read what would. */
		log_debug("'%s' is outside the tree: not read", f->path);
		f->missing = true;
		f->next = km->files[h];
		km->files[h] = f;
		*ret = f;
		return 0;
	}
	full = f->path[0] == '/' ? strdup(f->path) : path_join(km->root, f->path);
	if (!full) {
		kfile_free(f);
		return -ENOMEM;
	}
	r = read_file_capped(full, KMAKE_FILE_MAX, &buf, &len);
	if (r == -ENOENT || r == -EISDIR || r == -ENOTDIR) {
		f->missing = true;
	} else if (r < 0) {
		log_warn("cannot read '%s': %s", full, strerror(-r));
		f->missing = true;
	} else {
		r = parse_lines(buf, len, f);
		if (r < 0) {
			kfile_free(f);
			return r;
		}
	}
	f->next = km->files[h];
	km->files[h] = f;
	*ret = f;
	return 0;
}

/* ---- words and patterns ---- */

static const char *next_word(const char *s, const char *end, size_t *ret_len)
{
	while (s < end && is_ws(*s))
		s++;
	if (s >= end)
		return NULL;
	const char *b = s;

	while (s < end && !is_ws(*s))
		s++;
	*ret_len = (size_t)(s - b);
	return b;
}

#define FOREACH_WORD(w, wl, text, tlen)                                                            \
	for (const char *_e = (text) + (tlen), *w = next_word((text), _e, &(wl)); w;               \
	     w = next_word(w + (wl), _e, &(wl)))

int kmake_words(const char *text, char ***ret, size_t *ret_n)
{
	size_t n = 0, wl, len = strlen(text);
	char **v;

	FOREACH_WORD(w, wl, text, len)
	n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	FOREACH_WORD(w, wl, text, len)
	{
		v[n] = strndup(w, wl);
		if (!v[n]) {
			for (size_t k = 0; k < n; k++)
				free(v[k]);
			free(v);
			return -ENOMEM;
		}
		n++;
	}
	*ret = v;
	if (ret_n)
		*ret_n = n;
	return 0;
}

static bool pattern_match_len(const char *pat, size_t plen, const char *w, size_t wl,
			      const char **stem, size_t *stem_len)
{
	const char *pc = memchr(pat, '%', plen);

	if (!pc) {
		if (plen == wl && memcmp(pat, w, wl) == 0) {
			if (stem) {
				*stem = w;
				*stem_len = 0;
			}
			return true;
		}
		return false;
	}
	size_t pre = (size_t)(pc - pat), suf = plen - pre - 1;

	if (wl < pre + suf)
		return false;
	if (memcmp(pat, w, pre) != 0 || memcmp(pc + 1, w + wl - suf, suf) != 0)
		return false;
	if (stem) {
		*stem = w + pre;
		*stem_len = wl - pre - suf;
	}
	return true;
}

bool kmake_pattern_match(const char *pattern, const char *word, const char **ret_stem,
			 size_t *ret_stem_len)
{
	return pattern_match_len(pattern, strlen(pattern), word, strlen(word), ret_stem,
				 ret_stem_len);
}

/* Appends REPL with its first '%' replaced by STEM (patsubst). */
static int add_replaced(struct strbuf *out, const char *repl, size_t rlen, const char *stem,
			size_t stem_len, bool had_pct)
{
	const char *pc = had_pct ? memchr(repl, '%', rlen) : NULL;

	if (!pc)
		return strbuf_add(out, repl, rlen);
	int r = strbuf_add(out, repl, (size_t)(pc - repl));

	if (r >= 0)
		r = strbuf_add(out, stem, stem_len);
	if (r >= 0)
		r = strbuf_add(out, pc + 1, rlen - (size_t)(pc - repl) - 1);
	return r;
}

static int add_word_sep(struct strbuf *out, bool *first)
{
	if (*first) {
		*first = false;
		return 0;
	}
	return strbuf_addch(out, ' ');
}

static int do_patsubst(struct strbuf *out, const char *pat, size_t plen, const char *repl,
		       size_t rlen, const char *text, size_t tlen)
{
	bool first = true, pct = memchr(pat, '%', plen) != NULL;
	size_t wl;
	int r = 0;

	FOREACH_WORD(w, wl, text, tlen)
	{
		const char *stem;
		size_t sl;

		r = add_word_sep(out, &first);
		if (r < 0)
			return r;
		if (pattern_match_len(pat, plen, w, wl, &stem, &sl))
			r = add_replaced(out, repl, rlen, stem, sl, pct);
		else
			r = strbuf_add(out, w, wl);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- expansion ---- */

struct arg {
	const char *s;
	size_t len;
};

/* Index of the paren closing the one at S[0] ('(' or '{'), counting only that kind. */
static size_t find_close(const char *s, size_t len)
{
	char open = s[0], close = open == '(' ? ')' : '}';
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == open)
			depth++;
		else if (s[i] == close && --depth == 0)
			return i;
	}
	return len;
}

/* Splits function arguments on top-level commas; the last takes the rest. */
static int split_args(const char *s, size_t len, struct arg *args, int max)
{
	int n = 0, depth = 0;
	size_t start = 0;

	if (max <= 0)
		max = 64;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '(' || c == '{')
			depth++;
		else if ((c == ')' || c == '}') && depth > 0)
			depth--;
		else if (c == ',' && depth == 0 && n < max - 1) {
			args[n++] = (struct arg){s + start, i - start};
			start = i + 1;
		}
	}
	args[n++] = (struct arg){s + start, len - start};
	return n;
}

static int expand_arg(struct kmake *km, const struct arg *a, char **ret)
{
	struct strbuf sb;
	int r;

	strbuf_init(&sb, KMAKE_EXPAND_MAX);
	r = expand_into(km, a->s, a->len, &sb);
	if (r < 0) {
		strbuf_release(&sb);
		return r;
	}
	*ret = strbuf_detach(&sb);
	return *ret ? 0 : -ENOMEM;
}

static void trim(const char **s, size_t *len)
{
	while (*len && is_ws(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_ws((*s)[*len - 1]))
		(*len)--;
}

static const char *local_lookup(struct kmake *km, const char *name, size_t len, bool *found)
{
	bool numeric = len > 0;

	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)name[i]))
			numeric = false;
	for (struct klocal *l = km->locals; l; l = l->next) {
		if (l->name && strlen(l->name) == len && memcmp(l->name, name, len) == 0) {
			*found = true;
			return l->value;
		}
		if (l->frame && numeric)
			break;
	}
	*found = numeric && km->locals; /* numbered variables past the call's arguments */
	return *found ? "" : NULL;
}

static int expand_var(struct kmake *km, const char *name, size_t len, struct strbuf *out)
{
	bool found = false;
	const char *lv = local_lookup(km, name, len, &found);
	struct kvar *v;
	int r;

	if (found)
		return strbuf_adds(out, lv);
	v = var_lookup_len(km, name, len);
	if (!v || !v->defined || !v->value)
		return 0;
	if (v->flavor == KV_SIMPLE) {
		if (v->tainted) {
			const char *of = km->var_file;
			unsigned ol = km->var_line;

			km->var_file = v->where_file;
			km->var_line = v->where_line;
			taint_note(km, v->taint_what ? v->taint_what : "$(shell ...)");
			km->var_file = of;
			km->var_line = ol;
		}
		return strbuf_adds(out, v->value);
	}
	if (v->expanding) {
		taint_note(km, "recursive variable references itself");
		return 0;
	}
	_cleanup_free_ char *raw = strdup(v->value);
	const char *of = km->var_file;
	unsigned ol = km->var_line;

	if (!raw)
		return -ENOMEM;
	v->expanding = true;
	km->var_file = v->where_file;
	km->var_line = v->where_line;
	r = expand_into(km, raw, strlen(raw), out);
	km->var_file = of;
	km->var_line = ol;
	/* V may have been replaced by an $(eval) during the expansion: look it up again. */
	v = var_lookup_len(km, name, len);
	if (v)
		v->expanding = false;
	return r;
}

typedef int (*kfunc_fn)(struct kmake *km, struct arg *a, int n, struct strbuf *out);

#define EXPAND_ARGS(km, a, n, vals)                                                                \
	_cleanup_(free_vals) char *vals[4] = {};                                                   \
	for (int _i = 0; _i < (n) && _i < 4; _i++) {                                               \
		int _r = expand_arg(km, &(a)[_i], &vals[_i]);                                      \
		if (_r < 0)                                                                        \
			return _r;                                                                 \
	}

static void free_vals(char *(*v)[4])
{
	for (int i = 0; i < 4; i++)
		free((*v)[i]);
}

static const char *val(char **vals, int n, int i)
{
	return i < n && vals[i] ? vals[i] : "";
}

static int f_subst(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	const char *from = val(v, n, 0), *to = val(v, n, 1), *text = val(v, n, 2);
	size_t fl = strlen(from), tl = strlen(to);
	int r = 0;

	if (fl == 0)
		return strbuf_adds(out, text);
	for (const char *p = text, *q; r >= 0; p = q + fl) {
		q = strstr(p, from);
		if (!q)
			return strbuf_adds(out, p);
		r = strbuf_add(out, p, (size_t)(q - p));
		if (r >= 0)
			r = strbuf_add(out, to, tl);
	}
	return r;
}

static int f_patsubst(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	const char *p = val(v, n, 0), *rp = val(v, n, 1), *t = val(v, n, 2);
	size_t pl = strlen(p), rl = strlen(rp);

	trim(&p, &pl);
	trim(&rp, &rl);
	return do_patsubst(out, p, pl, rp, rl, t, strlen(t));
}

static int f_strip(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	const char *t = val(v, n, 0);
	bool first = true;
	size_t wl;
	int r = 0;

	FOREACH_WORD(w, wl, t, strlen(t))
	{
		r = add_word_sep(out, &first);
		if (r >= 0)
			r = strbuf_add(out, w, wl);
		if (r < 0)
			return r;
	}
	return 0;
}

static int f_findstring(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	const char *find = val(v, n, 0), *in = val(v, n, 1);

	return strstr(in, find) ? strbuf_adds(out, find) : 0;
}

static int filter_common(struct kmake *km, struct arg *a, int n, struct strbuf *out, bool keep)
{
	EXPAND_ARGS(km, a, n, v);
	const char *pats = val(v, n, 0), *t = val(v, n, 1);
	size_t pl = strlen(pats), wl, pwl;
	bool first = true;
	int r;

	FOREACH_WORD(w, wl, t, strlen(t))
	{
		bool m = false;

		for (const char *pw = next_word(pats, pats + pl, &pwl); pw;
		     pw = next_word(pw + pwl, pats + pl, &pwl)) {
			if (pattern_match_len(pw, pwl, w, wl, NULL, NULL)) {
				m = true;
				break;
			}
		}
		if (m != keep)
			continue;
		r = add_word_sep(out, &first);
		if (r >= 0)
			r = strbuf_add(out, w, wl);
		if (r < 0)
			return r;
	}
	return 0;
}

static int f_filter(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	return filter_common(km, a, n, out, true);
}

static int f_filter_out(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	return filter_common(km, a, n, out, false);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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

static int f_sort(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	_cleanup_(free_wordsp) char **w = NULL;
	size_t nw;
	bool first = true;
	int r = kmake_words(val(v, n, 0), &w, &nw);

	if (r < 0)
		return r;
	qsort(w, nw, sizeof(*w), cmp_str);
	for (size_t i = 0; i < nw; i++) {
		if (i && streq(w[i], w[i - 1]))
			continue;
		r = add_word_sep(out, &first);
		if (r >= 0)
			r = strbuf_adds(out, w[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int word_range(struct strbuf *out, const char *t, long from, long to)
{
	bool first = true;
	long i = 0;
	size_t wl;
	int r;

	FOREACH_WORD(w, wl, t, strlen(t))
	{
		i++;
		if (i < from)
			continue;
		if (i > to)
			break;
		r = add_word_sep(out, &first);
		if (r >= 0)
			r = strbuf_add(out, w, wl);
		if (r < 0)
			return r;
	}
	return 0;
}

static int f_word(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	long i = strtol(val(v, n, 0), NULL, 10);

	return i > 0 ? word_range(out, val(v, n, 1), i, i) : 0;
}

static int f_wordlist(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	return word_range(out, val(v, n, 2), strtol(val(v, n, 0), NULL, 10),
			  strtol(val(v, n, 1), NULL, 10));
}

static int f_words(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	const char *t = val(v, n, 0);
	size_t c = 0, wl;

	FOREACH_WORD(w, wl, t, strlen(t))
	c++;
	return strbuf_addf(out, "%zu", c);
}

static int f_firstword(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	return word_range(out, val(v, n, 0), 1, 1);
}

static int f_lastword(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	const char *t = val(v, n, 0), *last = NULL;
	size_t wl, ll = 0;

	FOREACH_WORD(w, wl, t, strlen(t))
	{
		last = w;
		ll = wl;
	}
	return last ? strbuf_add(out, last, ll) : 0;
}

/* Applies FN to each word: the per-word file-name functions. */
static int map_words(struct kmake *km, struct arg *a, int n, struct strbuf *out,
		     int (*fn)(struct strbuf *out, const char *w, size_t wl))
{
	EXPAND_ARGS(km, a, n, v);
	const char *t = val(v, n, 0);
	bool first = true;
	size_t wl;
	int r;

	FOREACH_WORD(w, wl, t, strlen(t))
	{
		size_t before = out->len;

		r = add_word_sep(out, &first);
		if (r >= 0)
			r = fn(out, w, wl);
		if (r < 0)
			return r;
		if (r == 1) { /* nothing for this word: undo the separator */
			out->len = before;
			if (out->buf)
				out->buf[before] = '\0';
			if (before == 0)
				first = true;
		}
	}
	return 0;
}

static int w_dir(struct strbuf *out, const char *w, size_t wl)
{
	const char *s = w + wl;

	while (s > w && s[-1] != '/')
		s--;
	return s == w ? strbuf_adds(out, "./") : strbuf_add(out, w, (size_t)(s - w));
}

static int w_notdir(struct strbuf *out, const char *w, size_t wl)
{
	const char *s = w + wl;

	while (s > w && s[-1] != '/')
		s--;
	return strbuf_add(out, s, wl - (size_t)(s - w));
}

static const char *suffix_dot(const char *w, size_t wl)
{
	for (const char *s = w + wl; s > w; s--) {
		if (s[-1] == '/')
			return NULL;
		if (s[-1] == '.')
			return s - 1;
	}
	return NULL;
}

static int w_suffix(struct strbuf *out, const char *w, size_t wl)
{
	const char *d = suffix_dot(w, wl);

	return d ? strbuf_add(out, d, wl - (size_t)(d - w)) : 1;
}

static int w_basename(struct strbuf *out, const char *w, size_t wl)
{
	const char *d = suffix_dot(w, wl);

	return strbuf_add(out, w, d ? (size_t)(d - w) : wl);
}

static int f_dir(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	return map_words(km, a, n, out, w_dir);
}

static int f_notdir(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	return map_words(km, a, n, out, w_notdir);
}

static int f_suffix(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	return map_words(km, a, n, out, w_suffix);
}

static int f_basename(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	return map_words(km, a, n, out, w_basename);
}

static int affix(struct kmake *km, struct arg *a, int n, struct strbuf *out, bool prefix)
{
	EXPAND_ARGS(km, a, n, v);
	const char *fix = val(v, n, 0), *t = val(v, n, 1);
	bool first = true;
	size_t wl;
	int r;

	FOREACH_WORD(w, wl, t, strlen(t))
	{
		r = add_word_sep(out, &first);
		if (r >= 0 && prefix)
			r = strbuf_adds(out, fix);
		if (r >= 0)
			r = strbuf_add(out, w, wl);
		if (r >= 0 && !prefix)
			r = strbuf_adds(out, fix);
		if (r < 0)
			return r;
	}
	return 0;
}

static int f_addprefix(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	return affix(km, a, n, out, true);
}

static int f_addsuffix(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	return affix(km, a, n, out, false);
}

static int f_join(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	_cleanup_(free_wordsp) char **w1 = NULL;
	_cleanup_(free_wordsp) char **w2 = NULL;
	size_t n1, n2;
	int r = kmake_words(val(v, n, 0), &w1, &n1);

	if (r >= 0)
		r = kmake_words(val(v, n, 1), &w2, &n2);
	for (size_t i = 0; r >= 0 && i < MAX(n1, n2); i++) {
		if (i)
			r = strbuf_addch(out, ' ');
		if (r >= 0 && i < n1)
			r = strbuf_adds(out, w1[i]);
		if (r >= 0 && i < n2)
			r = strbuf_adds(out, w2[i]);
	}
	return r < 0 ? r : 0;
}

static int f_wildcard(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	const char *t = val(v, n, 0);
	size_t rootlen = strlen(km->root), wl;
	bool first = true;
	int r = 0;

	FOREACH_WORD(w, wl, t, strlen(t))
	{
		_cleanup_free_ char *pat = NULL;
		glob_t g = {};

		if (w[0] == '/')
			pat = strndup(w, wl);
		else
			pat = strdup_printf("%s/%.*s", km->root, (int)wl, w);
		if (!pat)
			return -ENOMEM;
		if (glob(pat, 0, NULL, &g) == 0) {
			for (size_t i = 0; i < g.gl_pathc && r >= 0; i++) {
				const char *p = g.gl_pathv[i];

				if (w[0] != '/' && strncmp(p, km->root, rootlen) == 0 &&
				    p[rootlen] == '/')
					p += rootlen + 1;
				r = add_word_sep(out, &first);
				if (r >= 0)
					r = strbuf_adds(out, p);
			}
		}
		globfree(&g);
		if (r < 0)
			return r;
	}
	return 0;
}

static int abspath_word(struct kmake *km, struct strbuf *out, const char *w, size_t wl, bool real)
{
	_cleanup_free_ char *p = NULL, *n = NULL;

	p = w[0] == '/' ? strndup(w, wl) : strdup_printf("%s/%.*s", km->root, (int)wl, w);
	if (!p)
		return -ENOMEM;
	if (real) {
		char rp[PATH_MAX];

		if (!realpath(p, rp))
			return 1;
		return strbuf_adds(out, rp);
	}
	n = kmake_path_normalize(p);
	if (!n)
		return -ENOMEM;
	return strbuf_adds(out, n);
}

static int path_fn(struct kmake *km, struct arg *a, int n, struct strbuf *out, bool real)
{
	EXPAND_ARGS(km, a, n, v);
	const char *t = val(v, n, 0);
	bool first = true;
	size_t wl;
	int r;

	FOREACH_WORD(w, wl, t, strlen(t))
	{
		size_t before = out->len;

		r = add_word_sep(out, &first);
		if (r >= 0)
			r = abspath_word(km, out, w, wl, real);
		if (r < 0)
			return r;
		if (r == 1) {
			out->len = before;
			if (out->buf)
				out->buf[before] = '\0';
			if (before == 0)
				first = true;
		}
	}
	return 0;
}

static int f_abspath(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	return path_fn(km, a, n, out, false);
}

static int f_realpath(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	return path_fn(km, a, n, out, true);
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (!is_ws(*s))
			return false;
	return true;
}

static int f_if(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	_cleanup_free_ char *c = NULL;
	struct arg cond = a[0];
	int r;

	trim(&cond.s, &cond.len);
	r = expand_arg(km, &cond, &c);
	if (r < 0)
		return r;
	if (!blank(c))
		return n > 1 ? expand_into(km, a[1].s, a[1].len, out) : 0;
	return n > 2 ? expand_into(km, a[2].s, a[2].len, out) : 0;
}

static int f_or(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *c = NULL;
		struct arg x = a[i];
		int r;

		trim(&x.s, &x.len);
		r = expand_arg(km, &x, &c);
		if (r < 0)
			return r;
		if (!blank(c))
			return strbuf_adds(out, c);
	}
	return 0;
}

static int f_and(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	_cleanup_free_ char *last = NULL;

	for (int i = 0; i < n; i++) {
		struct arg x = a[i];
		int r;

		free(last);
		last = NULL;
		trim(&x.s, &x.len);
		r = expand_arg(km, &x, &last);
		if (r < 0)
			return r;
		if (blank(last))
			return 0;
	}
	return last ? strbuf_adds(out, last) : 0;
}

static int f_foreach(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	_cleanup_free_ char *name = NULL, *list = NULL;
	struct arg x = a[0];
	bool first = true;
	size_t wl;
	int r;

	if (n < 3)
		return 0;
	trim(&x.s, &x.len);
	r = expand_arg(km, &x, &name);
	if (r >= 0)
		r = expand_arg(km, &a[1], &list);
	if (r < 0)
		return r;
	FOREACH_WORD(w, wl, list, strlen(list))
	{
		_cleanup_free_ char *wv = strndup(w, wl);
		struct klocal l = {.name = name, .value = wv, .next = km->locals};

		if (!wv)
			return -ENOMEM;
		km->locals = &l;
		r = add_word_sep(out, &first);
		if (r >= 0)
			r = expand_into(km, a[2].s, a[2].len, out);
		km->locals = l.next;
		if (r < 0)
			return r;
	}
	return 0;
}

static int f_call(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	char *vals[64] = {};
	struct klocal locals[65], *saved = km->locals;
	struct kvar *v;
	int r = 0, i;

	for (i = 0; i < n && r >= 0; i++) {
		struct arg x = a[i];

		if (i == 0)
			trim(&x.s, &x.len);
		r = expand_arg(km, &x, &vals[i]);
	}
	if (r >= 0 && (v = var_defined(km, vals[0])) && v->value) {
		static const char *const num[] = {"0", "1", "2",  "3",	"4",  "5",  "6",  "7",
						  "8", "9", "10", "11", "12", "13", "14", "15"};
		struct klocal *head = saved;

		/* $(call) hides the caller's numbered variables: a frame marker stops lookups. */
		locals[0] = (struct klocal){.frame = true, .next = head};
		head = &locals[0];
		for (i = 0; i < n && i < (int)ARRAY_SIZE(num); i++) {
			locals[i + 1] =
				(struct klocal){.name = num[i], .value = vals[i], .next = head};
			head = &locals[i + 1];
		}
		km->locals = head;
		r = expand_var(km, vals[0], strlen(vals[0]), out);
		km->locals = saved;
	}
	for (i = 0; i < n; i++)
		free(vals[i]);
	return r;
}

static int f_value(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	struct kvar *var = var_defined(km, val(v, n, 0));

	return var && var->value ? strbuf_adds(out, var->value) : 0;
}

static int f_origin(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	struct kvar *var = var_defined(km, val(v, n, 0));
	static const char *const names[] = {
		[KMAKE_ORIGIN_FILE] = "file",	      [KMAKE_ORIGIN_CMDLINE] = "command line",
		[KMAKE_ORIGIN_ENV] = "environment",   [KMAKE_ORIGIN_DEFAULT] = "default",
		[KMAKE_ORIGIN_OVERRIDE] = "override",
	};

	return strbuf_adds(out, var ? names[var->origin] : "undefined");
}

static int f_flavor(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	struct kvar *var = var_defined(km, val(v, n, 0));

	return strbuf_adds(out, !var			   ? "undefined"
				: var->flavor == KV_SIMPLE ? "simple"
							   : "recursive");
}

static int f_shell(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	log_debug("%s:%u: $(shell %.*s) not run", strempty(km->cur_file), km->cur_line,
		  (int)MIN(a[0].len, 80), a[0].s);
	taint_note(km, "$(shell ...)");
	return 0;
}

static int f_unsupported(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	taint_note(km, "unsupported make function");
	return 0;
}

static int f_error(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	log_debug("%s:%u: $(error %s) reached; evaluation goes on", strempty(km->cur_file),
		  km->cur_line, val(v, n, 0));
	return 0;
}

static int f_info(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	log_debug("%s:%u: make says: %s", strempty(km->cur_file), km->cur_line, val(v, n, 0));
	return 0;
}

static int eval_text(struct kmake *km, const char *text);

static int f_eval(struct kmake *km, struct arg *a, int n, struct strbuf *out)
{
	EXPAND_ARGS(km, a, n, v);
	return eval_text(km, val(v, n, 0));
}

static const struct kfunc {
	const char *name;
	int max_args; /* 0: unlimited */
	kfunc_fn fn;
} kfuncs[] = {
	{"subst", 3, f_subst},
	{"patsubst", 3, f_patsubst},
	{"strip", 1, f_strip},
	{"findstring", 2, f_findstring},
	{"filter", 2, f_filter},
	{"filter-out", 2, f_filter_out},
	{"sort", 1, f_sort},
	{"word", 2, f_word},
	{"wordlist", 3, f_wordlist},
	{"words", 1, f_words},
	{"firstword", 1, f_firstword},
	{"lastword", 1, f_lastword},
	{"dir", 1, f_dir},
	{"notdir", 1, f_notdir},
	{"suffix", 1, f_suffix},
	{"basename", 1, f_basename},
	{"addsuffix", 2, f_addsuffix},
	{"addprefix", 2, f_addprefix},
	{"join", 2, f_join},
	{"wildcard", 1, f_wildcard},
	{"realpath", 1, f_realpath},
	{"abspath", 1, f_abspath},
	{"if", 3, f_if},
	{"or", 0, f_or},
	{"and", 0, f_and},
	{"foreach", 3, f_foreach},
	{"call", 0, f_call},
	{"value", 1, f_value},
	{"origin", 1, f_origin},
	{"flavor", 1, f_flavor},
	{"shell", 1, f_shell},
	{"error", 1, f_error},
	{"warning", 1, f_info},
	{"info", 1, f_info},
	{"eval", 1, f_eval},
	{"file", 2, f_unsupported},
	{"let", 3, f_unsupported},
	{"intcmp", 5, f_unsupported},
	{"guile", 1, f_unsupported},
};

static const struct kfunc *kfunc_find(const char *s, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(kfuncs); i++)
		if (strlen(kfuncs[i].name) == len && memcmp(kfuncs[i].name, s, len) == 0)
			return &kfuncs[i];
	return NULL;
}

/* $(...) content: a function call, a substitution reference or a (computed) variable name. */
static int expand_ref(struct kmake *km, const char *c, size_t len, struct strbuf *out)
{
	size_t i = 0;
	int depth = 0, r;

	while (i < len && (isalnum((unsigned char)c[i]) || c[i] == '-'))
		i++;
	if (i < len && is_ws(c[i])) {
		const struct kfunc *f = kfunc_find(c, i);

		if (f) {
			struct arg args[64];
			int n;

			while (i < len && is_ws(c[i]))
				i++;
			n = split_args(c + i, len - i, args, f->max_args);
			return f->fn(km, args, n, out);
		}
	}
	/* substitution reference $(var:a=b) */
	for (i = 0; i < len; i++) {
		if (c[i] == '(' || c[i] == '{')
			depth++;
		else if (c[i] == ')' || c[i] == '}')
			depth--;
		else if (c[i] == ':' && depth == 0)
			break;
	}
	if (i < len) {
		const char *eq = memchr(c + i, '=', len - i);

		if (eq) {
			_cleanup_free_ char *name = NULL, *pat = NULL, *rep = NULL;
			struct arg an = {c, i}, ap = {c + i + 1, (size_t)(eq - c) - i - 1},
				   ar = {eq + 1, len - (size_t)(eq - c) - 1};
			struct strbuf v;

			r = expand_arg(km, &an, &name);
			if (r >= 0)
				r = expand_arg(km, &ap, &pat);
			if (r >= 0)
				r = expand_arg(km, &ar, &rep);
			if (r < 0)
				return r;
			strbuf_init(&v, KMAKE_EXPAND_MAX);
			r = expand_var(km, name, strlen(name), &v);
			if (r >= 0) {
				_cleanup_free_ char *p2 = NULL, *r2 = NULL;
				const char *pp = pat, *rr = rep;

				/* without '%', $(v:a=b) means $(v:%a=%b) */
				if (!strchr(pat, '%')) {
					p2 = strdup_printf("%%%s", pat);
					r2 = strdup_printf("%%%s", rep);
					pp = p2;
					rr = r2;
				}
				if (!pp || !rr)
					r = -ENOMEM;
				else
					r = do_patsubst(out, pp, strlen(pp), rr, strlen(rr),
							strbuf_str(&v), v.len);
			}
			strbuf_release(&v);
			return r;
		}
	}
	if (memchr(c, '$', len)) {
		_cleanup_free_ char *name = NULL;
		struct arg an = {c, len};

		r = expand_arg(km, &an, &name);
		if (r < 0)
			return r;
		return expand_var(km, name, strlen(name), out);
	}
	return expand_var(km, c, len, out);
}

static int expand_into(struct kmake *km, const char *s, size_t len, struct strbuf *out)
{
	size_t i = 0;
	int r = 0;

	if (km->depth == 0)
		km->steps = 0;
	if (++km->steps > KMAKE_STEPS_MAX) {
		if (km->steps == KMAKE_STEPS_MAX + 1)
			taint_note(km, "too costly to evaluate");
		return 0;
	}
	if (km->steps > km->max_steps)
		km->max_steps = km->steps;
	if (++km->depth > KMAKE_DEPTH_MAX) {
		km->depth--;
		taint_note(km, "expansion nested too deeply");
		return 0;
	}
	while (i < len && r >= 0) {
		const char *d = memchr(s + i, '$', len - i);

		if (!d) {
			r = strbuf_add(out, s + i, len - i);
			break;
		}
		r = strbuf_add(out, s + i, (size_t)(d - (s + i)));
		if (r < 0)
			break;
		i = (size_t)(d - s) + 1;
		if (i >= len)
			break;
		if (s[i] == '$') {
			r = strbuf_addch(out, '$');
			i++;
		} else if (s[i] == '(' || s[i] == '{') {
			size_t cl = find_close(s + i, len - i);

			r = expand_ref(km, s + i + 1, cl > 0 ? cl - 1 : 0, out);
			i += cl + 1;
		} else {
			r = expand_var(km, s + i, 1, out);
			i++;
		}
	}
	km->depth--;
	return r;
}

int kmake_expand(struct kmake *km, const char *text, char **ret, struct kmake_taint *ret_taint)
{
	unsigned long before = km->taint_events;
	struct strbuf sb;
	int r;

	strbuf_init(&sb, KMAKE_EXPAND_MAX);
	r = expand_into(km, text, strlen(text), &sb);
	if (r < 0) {
		strbuf_release(&sb);
		return r;
	}
	if (ret_taint) {
		*ret_taint = (struct kmake_taint){};
		if (km->taint_events != before)
			*ret_taint = km->last_taint;
	}
	*ret = strbuf_detach(&sb);
	return *ret ? 0 : -ENOMEM;
}

static int expand_dup(struct kmake *km, const char *s, size_t len, char **ret)
{
	struct arg a = {s, len};

	return expand_arg(km, &a, ret);
}

/* ---- evaluation of makefile lines ---- */

bool kmake_is_objlist_name(const char *name)
{
	size_t len = strlen(name);

	if (strstr(name, "flags") || strstr(name, "FLAGS"))
		return false;
	if (startswith(name, "obj-") || startswith(name, "lib-") || startswith(name, "subdir-"))
		return true;
	if (len > 2 && (streq(name + len - 2, "-y") || streq(name + len - 2, "-m")))
		return true;
	if (len > 5 && streq(name + len - 5, "-objs"))
		return true;
	return false;
}

enum assign_op { OP_NONE, OP_RULE, OP_RECURSIVE, OP_SIMPLE, OP_APPEND, OP_COND, OP_SHELL };

/* Finds the assignment operator or rule colon at nesting depth 0. */
static enum assign_op find_op(const char *s, size_t *ret_start, size_t *ret_end)
{
	int depth = 0;

	for (size_t i = 0; s[i]; i++) {
		char c = s[i];

		if (c == '$' && (s[i + 1] == '(' || s[i + 1] == '{')) {
			depth++;
			i++;
			continue;
		}
		if (depth > 0) {
			if (c == '(' || c == '{')
				depth++;
			else if (c == ')' || c == '}')
				depth--;
			continue;
		}
		if (c == ':') {
			size_t k = i + 1;

			while (s[k] == ':')
				k++;
			if (s[k] == '=' && k - i <= 3) {
				*ret_start = i;
				*ret_end = k + 1;
				return OP_SIMPLE;
			}
			*ret_start = i;
			*ret_end = i + 1;
			return OP_RULE;
		}
		if (c == '=') {
			*ret_end = i + 1;
			if (i > 0 && (s[i - 1] == '+' || s[i - 1] == '?' || s[i - 1] == '!')) {
				*ret_start = i - 1;
				return s[i - 1] == '+'	 ? OP_APPEND
				       : s[i - 1] == '?' ? OP_COND
							 : OP_SHELL;
			}
			*ret_start = i;
			return OP_RECURSIVE;
		}
		if (c == ';' || c == '#')
			break;
	}
	return OP_NONE;
}

/* Removes a comment (a '#' outside $(...) and not escaped) in place. */
static void strip_comment(char *s)
{
	int depth = 0;

	for (char *p = s; *p; p++) {
		if (*p == '\\' && p[1] == '#') {
			memmove(p, p + 1, strlen(p));
			continue;
		}
		if (*p == '$' && (p[1] == '(' || p[1] == '{')) {
			depth++;
			p++;
			continue;
		}
		if (depth > 0 && (*p == '(' || *p == '{'))
			depth++;
		else if (depth > 0 && (*p == ')' || *p == '}'))
			depth--;
		else if (*p == '#' && depth == 0) {
			*p = '\0';
			return;
		}
	}
}

static int do_assign(struct kmake *km, const char *name, enum assign_op op, const char *rhs,
		     bool override, bool export)
{
	struct kvar *v = var_top(km, name);
	unsigned long before = km->taint_events;
	_cleanup_free_ char *ex = NULL;
	int r;

	if (!v)
		return -ENOMEM;
	if (v->defined && v->origin == KMAKE_ORIGIN_CMDLINE && !override) {
		if (export)
			v->exported = true;
		return 0;
	}
	while (is_ws(*rhs))
		rhs++;
	switch (op) {
	case OP_COND:
		if (v->defined)
			break;
		/* fall through */
	case OP_RECURSIVE:
		ex = strdup(rhs);
		if (!ex)
			return -ENOMEM;
		free(v->value);
		v->value = TAKE_PTR(ex);
		v->flavor = KV_RECURSIVE;
		v->tainted = false;
		break;
	case OP_SHELL:
		taint_note(km, "!= shell assignment");
		/* fall through */
	case OP_SIMPLE:
		r = expand_dup(km, rhs, strlen(rhs), &ex);
		if (r < 0)
			return r;
		v = var_top(km, name); /* the expansion may have $(eval)ed into the table */
		if (!v)
			return -ENOMEM;
		free(v->value);
		v->value = TAKE_PTR(ex);
		v->flavor = KV_SIMPLE;
		v->tainted = km->taint_events != before;
		v->taint_what = v->tainted ? km->last_what : NULL;
		break;
	case OP_APPEND:
		if (!v->defined) {
			ex = strdup(rhs);
			if (!ex)
				return -ENOMEM;
			free(v->value);
			v->value = TAKE_PTR(ex);
			v->flavor = KV_RECURSIVE;
			break;
		}
		if (v->flavor == KV_SIMPLE) {
			r = expand_dup(km, rhs, strlen(rhs), &ex);
			if (r < 0)
				return r;
			v = var_top(km, name);
			if (!v)
				return -ENOMEM;
			if (km->taint_events != before) {
				v->tainted = true;
				v->taint_what = km->last_what;
			}
		} else {
			ex = strdup(rhs);
			if (!ex)
				return -ENOMEM;
		}
		if (*ex) {
			char *nv = strdup_printf("%s%s%s", strempty(v->value),
						 v->value && *v->value ? " " : "", ex);

			if (!nv)
				return -ENOMEM;
			free(v->value);
			v->value = nv;
		}
		break;
	default:
		return -EINVAL;
	}
	if (op != OP_APPEND || !v->where_file) {
		v->where_file = km->cur_file;
		v->where_line = km->cur_line;
	}
	v->defined = true;
	if (override)
		v->origin = KMAKE_ORIGIN_OVERRIDE;
	else if (v->origin != KMAKE_ORIGIN_OVERRIDE)
		v->origin = KMAKE_ORIGIN_FILE;
	if (export)
		v->exported = true;
	return 0;
}

struct cond {
	bool parent_active;
	bool taken;
	bool active;
	bool tainted;
};

/* Parses the arguments of ifeq/ifneq: "(a,b)", "'a' 'b'" or "\"a\" \"b\"". */
static int cond_eq(struct kmake *km, const char *s, bool *ret_eq)
{
	_cleanup_free_ char *a = NULL, *b = NULL;
	const char *a0, *b0;
	size_t al, bl;
	int r;

	while (is_ws(*s))
		s++;
	if (*s == '(') {
		size_t len = strlen(s), close = find_close(s, len), comma = 0;
		int depth = 0;

		for (size_t i = 1; i < close; i++) {
			if (s[i] == '(' || s[i] == '{')
				depth++;
			else if (s[i] == ')' || s[i] == '}')
				depth--;
			else if (s[i] == ',' && depth == 0) {
				comma = i;
				break;
			}
		}
		if (!comma || close >= len)
			return -EINVAL;
		a0 = s + 1;
		al = comma - 1;
		b0 = s + comma + 1;
		bl = close - comma - 1;
	} else if (*s == '"' || *s == '\'') {
		const char *e = strchr(s + 1, *s), *s2;

		if (!e)
			return -EINVAL;
		a0 = s + 1;
		al = (size_t)(e - a0);
		s2 = e + 1;
		while (is_ws(*s2))
			s2++;
		if (*s2 != '"' && *s2 != '\'')
			return -EINVAL;
		e = strchr(s2 + 1, *s2);
		if (!e)
			return -EINVAL;
		b0 = s2 + 1;
		bl = (size_t)(e - b0);
	} else {
		return -EINVAL;
	}
	r = expand_dup(km, a0, al, &a);
	if (r >= 0)
		r = expand_dup(km, b0, bl, &b);
	if (r < 0)
		return r;
	const char *pa = a, *pb = b;
	size_t la = strlen(a), lb = strlen(b);

	trim(&pa, &la);
	trim(&pb, &lb);
	*ret_eq = la == lb && memcmp(pa, pb, la) == 0;
	return 0;
}

/* Evaluates a conditional directive's test; KW is ifeq/ifneq/ifdef/ifndef. */
static int cond_test(struct kmake *km, const char *kw, const char *rest, bool *ret,
		     bool *ret_tainted)
{
	unsigned long before = km->taint_events;
	int r;

	if (streq(kw, "ifdef") || streq(kw, "ifndef")) {
		_cleanup_free_ char *name = NULL;
		struct kvar *v;
		const char *n;
		size_t nl;

		r = expand_dup(km, rest, strlen(rest), &name);
		if (r < 0)
			return r;
		n = name;
		nl = strlen(n);
		trim(&n, &nl);
		v = var_lookup_len(km, n, nl);
		if (!v || !v->defined) {
			bool found = false;
			const char *lv = local_lookup(km, n, nl, &found);

			*ret = found && lv && *lv;
		} else {
			*ret = v->value && *v->value;
		}
		if (streq(kw, "ifndef"))
			*ret = !*ret;
	} else {
		bool eq;

		r = cond_eq(km, rest, &eq);
		if (r < 0)
			return r;
		*ret = streq(kw, "ifeq") ? eq : !eq;
	}
	*ret_tainted = km->taint_events != before;
	return 0;
}

static bool is_cond_kw(const char *w)
{
	return streq(w, "ifeq") || streq(w, "ifneq") || streq(w, "ifdef") || streq(w, "ifndef");
}

/* Splits the first word of S (ending at blank or '(') into KW; returns the rest. */
static const char *first_word(const char *s, char *kw, size_t kwsize)
{
	size_t i = 0;

	while (s[i] && !is_ws(s[i]) && s[i] != '(' && s[i] != '\'' && s[i] != '"' &&
	       i < kwsize - 1) {
		kw[i] = s[i];
		i++;
	}
	kw[i] = '\0';
	if (s[i] && !is_ws(s[i]) && s[i] != '(' && s[i] != '\'' && s[i] != '"')
		kw[0] = '\0'; /* longer than any keyword */
	s += i;
	while (is_ws(*s))
		s++;
	return s;
}

static int do_include(struct kmake *km, const char *rest, bool missing_ok)
{
	_cleanup_free_ char *ex = NULL;
	_cleanup_(free_wordsp) char **w = NULL;
	int r = expand_dup(km, rest, strlen(rest), &ex);

	if (r >= 0)
		r = kmake_words(ex, &w, NULL);
	if (r < 0)
		return r;
	for (char **p = w; *p; p++) {
		const char *f = *p;

		while (startswith(f, "./"))
			f += 2;
		/* The configuration is given to us; the build's own copy of it is not needed. */
		if (startswith(f, "include/config/") || startswith(f, "include/generated/"))
			continue;
		r = kmake_eval_file(km, f, true);
		if (r == -ENOENT) {
			if (!missing_ok) {
				const char *of = km->var_file;

				km->var_file = NULL;
				taint_note(km, "missing include");
				km->var_file = of;
				taint_eval(km, &km->last_taint);
				log_debug("%s:%u: included file '%s' does not exist", km->cur_file,
					  km->cur_line, f);
			}
			continue;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int do_export(struct kmake *km, const char *rest, bool exp)
{
	_cleanup_free_ char *ex = NULL;
	_cleanup_(free_wordsp) char **w = NULL;
	int r = expand_dup(km, rest, strlen(rest), &ex);

	if (r >= 0)
		r = kmake_words(ex, &w, NULL);
	if (r < 0)
		return r;
	for (char **p = w; *p; p++) {
		struct kvar *v = var_top(km, *p);

		if (!v)
			return -ENOMEM;
		v->exported = exp;
	}
	return 0;
}

/* Top-level index of C in S (outside $(...)), or the length of S. */
static size_t find_top(const char *s, char c)
{
	int depth = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] == '$' && (s[i + 1] == '(' || s[i + 1] == '{')) {
			depth++;
			i++;
		} else if (depth > 0 && (s[i] == '(' || s[i] == '{')) {
			depth++;
		} else if (depth > 0 && (s[i] == ')' || s[i] == '}')) {
			depth--;
		} else if (depth == 0 && s[i] == c) {
			break;
		}
	}
	return i;
}

/* Hands "targets: prereqs" to the rule callback; taint from rules does not count. */
static int report_rule(struct kmake *km, const char *s, size_t op_s, size_t op_e,
		       bool recipe_follows)
{
	_cleanup_free_ char *tg = NULL, *pre = NULL, *rest = NULL;
	unsigned long before = km->taint_events;
	struct kmake_taint saved = km->last_taint;
	size_t semi, colon;
	const char *t = s, *p = s + op_e;
	size_t tl = op_s;
	int r;

	while (*p == ':')
		p++;
	rest = strdup(p);
	if (!rest)
		return -ENOMEM;
	semi = find_top(rest, ';');
	if (rest[semi])
		recipe_follows = true;
	rest[semi] = '\0';
	if (rest[find_top(rest, '=')])
		return 0; /* target-specific variable */
	colon = find_top(rest, ':');
	if (rest[colon]) {
		/* static pattern rule: the target pattern names what is built */
		rest[colon] = '\0';
		t = rest;
		tl = colon;
		p = rest + colon + 1;
	} else {
		p = rest;
	}
	r = expand_dup(km, t, tl, &tg);
	if (r >= 0)
		r = expand_dup(km, p, strlen(p), &pre);
	km->taint_events = before;
	km->last_taint = saved;
	if (r < 0)
		return r;
	{
		const char *a = tg, *b = pre;
		size_t al = strlen(a), bl = strlen(b);

		trim(&a, &al);
		trim(&b, &bl);
		tg[a - tg + (ptrdiff_t)al] = '\0';
		pre[b - pre + (ptrdiff_t)bl] = '\0';
		km->rule_fn(a, b, recipe_follows, km->rule_userdata);
	}
	return 0;
}

/* A line that is neither directive nor assignment: a rule, or an expansion like $(eval ...). */
static int do_other(struct kmake *km, const char *s, bool *in_rule, bool recipe_follows)
{
	size_t op_s, op_e;
	enum assign_op op = find_op(s, &op_s, &op_e);
	_cleanup_free_ char *ex = NULL;
	int r;

	if (op == OP_RULE) {
		*in_rule = true;
		if (!km->rule_fn)
			return 0;
		return report_rule(km, s, op_s, op_e, recipe_follows);
	}
	r = expand_dup(km, s, strlen(s), &ex);
	if (r < 0)
		return r;
	if (!blank(ex)) {
		if (strchr(ex, ':'))
			*in_rule = true;
		else
			log_debug("%s:%u: line ignored: '%s'", km->cur_file, km->cur_line, ex);
	}
	return 0;
}

static int eval_lines(struct kmake *km, const char *path, struct kline *lines, size_t n)
{
	struct cond stack[64];
	int sp = 0, r = 0;
	bool in_rule = false;
	struct strbuf line = STRBUF_INIT;
	const char *saved_file = km->cur_file;
	unsigned saved_line = km->cur_line;

	if (km->depth == 0)
		km->steps = 0;
	if (++km->depth > KMAKE_DEPTH_MAX) {
		km->depth--;
		return -ELOOP;
	}
	km->cur_file = path;
	for (size_t li = 0; li < n && r >= 0; li++) {
		struct kline *l = &lines[li];
		bool active = sp == 0 || stack[sp - 1].active;
		bool cond_tainted = false;
		char kw[16];
		const char *rest;
		char *s;

		for (int k = 0; k < sp; k++)
			cond_tainted |= stack[k].tainted;
		km->cur_line = l->lineno;
		if (l->tab && in_rule)
			continue;
		strbuf_reset(&line);
		r = strbuf_adds(&line, l->text);
		if (r < 0)
			break;
		s = line.buf;
		strip_comment(s);
		while (is_ws(*s))
			s++;
		if (!*s)
			continue;
		rest = first_word(s, kw, sizeof(kw));

		if (is_cond_kw(kw)) {
			bool t = false, tainted = false;

			if (sp == (int)ARRAY_SIZE(stack)) {
				r = -E2BIG;
				break;
			}
			if (active) {
				r = cond_test(km, kw, rest, &t, &tainted);
				if (r == -EINVAL) {
					log_debug("%s:%u: cannot parse conditional", path,
						  l->lineno);
					taint_note(km, "unparsed conditional");
					tainted = true;
					r = 0;
				}
			}
			stack[sp++] = (struct cond){.parent_active = active,
						    .taken = active && t,
						    .active = active && t,
						    .tainted = tainted};
			continue;
		}
		if (streq(kw, "else")) {
			struct cond *c;
			char kw2[16];
			const char *rest2;

			if (sp == 0) {
				log_debug("%s:%u: else without if", path, l->lineno);
				continue;
			}
			c = &stack[sp - 1];
			rest2 = first_word(rest, kw2, sizeof(kw2));
			if (is_cond_kw(kw2)) {
				bool t = false, tainted = false;

				if (c->parent_active && !c->taken) {
					r = cond_test(km, kw2, rest2, &t, &tainted);
					if (r == -EINVAL) {
						taint_note(km, "unparsed conditional");
						tainted = true;
						r = 0;
					}
				}
				c->tainted |= tainted;
				c->active = c->parent_active && !c->taken && t;
				c->taken |= c->active;
			} else {
				c->active = c->parent_active && !c->taken;
				c->taken = true;
			}
			continue;
		}
		if (streq(kw, "endif")) {
			if (sp > 0)
				sp--;
			continue;
		}
		if (streq(kw, "define")) {
			/* Body up to the matching endef, kept raw. */
			struct strbuf body = STRBUF_INIT;
			_cleanup_free_ char *name = NULL;
			enum assign_op op = OP_RECURSIVE;
			int nest = 1;
			size_t rl = strlen(rest);
			char *nm;

			while (rl && is_ws(rest[rl - 1]))
				rl--;
			if (rl >= 2 && rest[rl - 1] == '=') {
				char p = rest[rl - 2];

				op = p == ':'	? OP_SIMPLE
				     : p == '+' ? OP_APPEND
				     : p == '?' ? OP_COND
						: OP_RECURSIVE;
				rl -= (p == ':' || p == '+' || p == '?' || p == '!') ? 2 : 1;
			} else if (rl >= 1 && rest[rl - 1] == '=') {
				rl--;
			}
			for (li++; li < n; li++) {
				char kwd[16];
				const char *t = lines[li].text;

				while (is_ws(*t))
					t++;
				first_word(t, kwd, sizeof(kwd));
				if (streq(kwd, "define"))
					nest++;
				else if (streq(kwd, "endef") && --nest == 0)
					break;
				if (body.len)
					strbuf_addch(&body, '\n');
				r = strbuf_adds(&body, lines[li].text);
				if (r < 0)
					break;
			}
			if (active && r >= 0) {
				r = expand_dup(km, rest, rl, &name);
				if (r >= 0) {
					nm = name;
					size_t nl = strlen(nm);

					trim((const char **)&nm, &nl);
					nm[nl] = '\0';
					r = do_assign(km, nm, op, strbuf_str(&body), false, false);
				}
			}
			strbuf_release(&body);
			in_rule = false;
			continue;
		}
		if (!active) {
			if (cond_tainted) {
				/* A skipped branch of an unknown condition may hold objects. */
				size_t os, oe;
				enum assign_op op = find_op(s, &os, &oe);

				if (op != OP_NONE && op != OP_RULE) {
					_cleanup_free_ char *nm = strndup(s, os);

					if (nm) {
						size_t nl = strlen(nm);

						while (nl && is_ws(nm[nl - 1]))
							nm[--nl] = '\0';
						if (kmake_is_objlist_name(nm))
							taint_eval(km, &km->last_taint);
					}
				}
			}
			continue;
		}
		if (streq(kw, "include") || streq(kw, "-include") || streq(kw, "sinclude")) {
			r = do_include(km, rest, kw[0] != 'i');
			in_rule = false;
			continue;
		}
		if (streq(kw, "vpath") || streq(kw, "endef"))
			continue;
		if (streq(kw, "undefine")) {
			_cleanup_free_ char *nm = NULL;

			r = expand_dup(km, rest, strlen(rest), &nm);
			if (r >= 0) {
				struct kvar *v = var_top(km, nm);

				if (v)
					v->defined = false;
			}
			continue;
		}

		bool override = false, export = false, unexport = false;

		for (;;) {
			if (streq(kw, "override"))
				override = true;
			else if (streq(kw, "export"))
				export = true;
			else if (streq(kw, "unexport"))
				unexport = true;
			else if (!streq(kw, "private"))
				break;
			s = (char *)rest;
			rest = first_word(s, kw, sizeof(kw));
		}
		size_t os, oe;
		enum assign_op op = find_op(s, &os, &oe);

		if (op != OP_NONE && op != OP_RULE) {
			_cleanup_free_ char *name = NULL;
			const char *nm;
			size_t nl;

			r = expand_dup(km, s, os, &name);
			if (r < 0)
				break;
			nm = name;
			nl = strlen(nm);
			trim(&nm, &nl);
			name[nm - name + (ptrdiff_t)nl] = '\0';
			if (nl == 0)
				continue;
			if (cond_tainted && kmake_is_objlist_name(nm))
				taint_eval(km, &km->last_taint);
			r = do_assign(km, nm, op, s + oe, override, export);
			in_rule = false;
			continue;
		}
		if (export || unexport) {
			if (*s)
				r = do_export(km, s, export);
			continue;
		}
		in_rule = false;
		/* Whether commands follow: the next line that is not blank or a comment. */
		bool recipe = false;

		for (size_t k = li + 1; k < n; k++) {
			const char *t = lines[k].text;

			if (lines[k].tab) {
				recipe = true;
				break;
			}
			while (is_ws(*t))
				t++;
			if (*t && *t != '#')
				break;
		}
		r = do_other(km, s, &in_rule, recipe);
	}
	strbuf_release(&line);
	km->cur_file = saved_file;
	km->cur_line = saved_line;
	km->depth--;
	return r;
}

static int eval_text(struct kmake *km, const char *text)
{
	struct kfile f = {};
	_cleanup_free_ char *copy = strdup(text);
	int r;

	if (!copy)
		return -ENOMEM;
	r = parse_lines(copy, strlen(copy), &f);
	if (r >= 0) {
		const char *file = km->cur_file;
		unsigned line = km->cur_line;
		/* Report $(eval)ed lines at the line that holds the $(eval). */
		for (size_t i = 0; i < f.n; i++)
			f.lines[i].lineno = line;
		r = eval_lines(km, file ? file : "<eval>", f.lines, f.n);
	}
	free(f.data);
	free(f.lines);
	return r;
}

int kmake_eval_buffer(struct kmake *km, const char *name, const char *text, size_t len)
{
	struct kfile f = {};
	int r;

	if (len > KMAKE_FILE_MAX)
		return -EFBIG;
	r = parse_lines(text, len, &f);
	if (r >= 0)
		r = eval_lines(km, name, f.lines, f.n);
	free(f.data);
	free(f.lines);
	return r;
}

bool kmake_find_assignment(struct kmake *km, const char *path, const char *word, unsigned *ret_line,
			   const char **ret_lhs, size_t *ret_lhs_len)
{
	size_t wl = strlen(word);
	struct kfile *f;

	if (wl == 0 || kfile_get(km, path, &f) < 0 || f->missing)
		return false;
	for (size_t i = 0; i < f->n; i++) {
		const char *t = f->lines[i].text, *hit;
		size_t os, oe;

		if (f->lines[i].tab || !(hit = strstr(t, word)))
			continue;
		if (find_op(t, &os, &oe) == OP_NONE || find_op(t, &os, &oe) == OP_RULE)
			continue;
		/* WORD must stand alone on the right of the operator */
		for (; hit; hit = strstr(hit + 1, word)) {
			if ((size_t)(hit - t) < oe)
				continue;
			if ((hit == t || is_ws(hit[-1])) &&
			    (!hit[wl] || is_ws(hit[wl]) || hit[wl] == '#'))
				break;
		}
		if (!hit)
			continue;
		while (os > 0 && is_ws(t[os - 1]))
			os--;
		while (*t && is_ws(*t)) {
			t++;
			os--;
		}
		*ret_line = f->lines[i].lineno;
		*ret_lhs = t;
		*ret_lhs_len = os;
		return true;
	}
	return false;
}

int kmake_eval_file(struct kmake *km, const char *path, bool missing_ok)
{
	struct kfile *f;
	struct kvar *ml;
	int r = kfile_get(km, path, &f);

	if (r < 0)
		return r;
	if (f->missing)
		return -ENOENT;
	ml = var_top(km, "MAKEFILE_LIST");
	if (ml) {
		char *nv = strdup_printf("%s %s", strempty(ml->value), f->path);

		if (nv) {
			free(ml->value);
			ml->value = nv;
			ml->flavor = KV_SIMPLE;
			ml->defined = true;
		}
	}
	(void)missing_ok;
	return eval_lines(km, f->path, f->lines, f->n);
}

/* ---- object lifecycle ---- */

int kmake_new(const char *root, struct kmake **ret)
{
	struct kmake *km = calloc(1, sizeof(*km));

	if (!km)
		return -ENOMEM;
	km->root = strdup(root);
	if (!km->root) {
		free(km);
		return -ENOMEM;
	}
	km->nscopes = 1;
	*ret = km;
	return 0;
}

void kmake_free(struct kmake *km)
{
	if (!km)
		return;
	log_debug("kmake: at most %lu expansions in one evaluation", km->max_steps);
	for (int i = 0; i < km->nscopes; i++)
		ktab_release(&km->scopes[i]);
	for (size_t i = 0; i < ARRAY_SIZE(km->files); i++) {
		while (km->files[i]) {
			struct kfile *f = km->files[i];

			km->files[i] = f->next;
			kfile_free(f);
		}
	}
	free(km->root);
	free(km);
}

int kmake_push_scope(struct kmake *km)
{
	if (km->nscopes == KMAKE_SCOPES_MAX)
		return -E2BIG;
	km->scopes[km->nscopes++] = (struct ktab){};
	return 0;
}

void kmake_pop_scope(struct kmake *km)
{
	if (km->nscopes > 1)
		ktab_release(&km->scopes[--km->nscopes]);
}

int kmake_set(struct kmake *km, const char *name, const char *value, enum kmake_origin origin,
	      bool exported)
{
	struct kvar *v = var_top(km, name);
	char *nv = strdup(value);

	if (!v || !nv) {
		free(nv);
		return -ENOMEM;
	}
	free(v->value);
	v->value = nv;
	v->flavor = KV_SIMPLE;
	v->origin = (unsigned char)origin;
	v->defined = true;
	v->exported = exported;
	v->tainted = false;
	return 0;
}

const char *kmake_raw(struct kmake *km, const char *name)
{
	struct kvar *v = var_defined(km, name);

	return v ? strempty(v->value) : NULL;
}

int kmake_export_down(struct kmake *km)
{
	struct ktab *top, *below;
	struct kvar **list;
	size_t n = 0;
	int r = 0;

	if (km->nscopes < 2)
		return -EINVAL;
	top = &km->scopes[km->nscopes - 1];
	list = calloc(top->n + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < top->cap; i++) {
		struct kvar *v = top->slots[i];

		if (v && v->defined && (v->exported || v->origin == KMAKE_ORIGIN_CMDLINE))
			list[n++] = v;
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct kvar *v = list[i], *d;
		unsigned long before = km->taint_events;
		char *value = NULL;

		/* A sub-make gets exported variables expanded, through its environment. */
		if (v->flavor == KV_RECURSIVE && v->value)
			r = expand_dup(km, v->value, strlen(v->value), &value);
		else
			value = v->value ? strdup(v->value) : NULL;
		if (r < 0)
			break;
		below = &km->scopes[km->nscopes - 2];
		d = ktab_find(below, v->name, strlen(v->name), v->hash);
		if (!d) {
			d = calloc(1, sizeof(*d));
			if (d)
				d->hash = v->hash;
			if (!d || !(d->name = strdup(v->name)) || ktab_insert(below, d) < 0) {
				if (d)
					free(d->name);
				free(d);
				free(value);
				r = -ENOMEM;
				break;
			}
		}
		free(d->value);
		d->value = value;
		d->flavor = KV_SIMPLE;
		d->origin =
			v->origin == KMAKE_ORIGIN_CMDLINE ? KMAKE_ORIGIN_CMDLINE : KMAKE_ORIGIN_ENV;
		d->defined = true;
		d->exported = true;
		d->tainted = v->tainted || km->taint_events != before;
		d->taint_what = v->tainted ? v->taint_what : km->last_what;
		d->where_file = v->where_file;
		d->where_line = v->where_line;
	}
	free(list);
	return r;
}

void kmake_taint_reset(struct kmake *km)
{
	km->taint = (struct kmake_taint){};
}

const struct kmake_taint *kmake_taint(struct kmake *km)
{
	return &km->taint;
}

void kmake_set_rule_fn(struct kmake *km, kmake_rule_fn fn, void *userdata)
{
	km->rule_fn = fn;
	km->rule_userdata = userdata;
}
