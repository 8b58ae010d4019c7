/*
 * The ELF differ: correlates the symbols of an original and a patched object, finds the
 * changed and new functions, and writes an object with only those, what they need, and
 * their entries of the kernel's special sections.
 */
#include <ctype.h>
#include <errno.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "livepatch/diff.h"
#include "livepatch/elf.h"
#include "livepatch/klp.h"
#include "log.h"
#include "strbuf.h"

/* Kernel special sections whose fixed-size entries each belong to one function. */
struct special {
	const char *name;
	unsigned entsize;
	unsigned key; /* offset of the relocation pointing into the owning function */
	bool compare; /* differences here are functional (not derived from the code) */
	int line_off; /* a 16-bit field ignored when comparing (__bug_table's line), or -1 */
};

static const struct special specials[] = {
	{".return_sites", 4, 0, false, -1},	 {".retpoline_sites", 4, 0, false, -1},
	{".call_sites", 4, 0, false, -1},	 {".ibt_endbr_seal", 4, 0, false, -1},
	{".smp_locks", 4, 0, false, -1},	 {"__mcount_loc", 8, 0, false, -1},
	{"__bug_table", 12, 0, true, 8},	 {"__ex_table", 12, 0, true, -1},
	{".altinstructions", 12, 0, true, -1},	 {"__jump_table", 16, 0, true, -1},
	{".static_call_sites", 8, 0, false, -1}, {".parainstructions", 16, 0, true, -1},
	{".orc_unwind_ip", 4, 0, false, -1},
};

enum sec_kind {
	SK_IGNORE,
	SK_TEXT,
	SK_DATA,
	SK_STRINGS,
	SK_SPECIAL,
	SK_ALTREPL,  /* .altinstr_replacement: copied piecewise through .altinstructions */
	SK_ORC,	     /* .orc_unwind: copied through .orc_unwind_ip */
	SK_COPYDATA, /* data copied when used and never compared (__dyndbg) */
};

enum item_status {
	ST_SAME,
	ST_CHANGED,
	ST_NEW,
};

struct item {
	struct lp_sym *sym;
	struct lp_sec *sec;
	uint64_t start, size;
	bool func;
	bool static_local; /* a local object named NAME.N */
	struct item *twin;
	struct item *parent; /* for NAME.cold: NAME */
	enum item_status status;
	bool included;
	bool queued;
	struct lp_sec *out; /* the output section holding it */
	uint64_t out_off;
	struct lp_sym *out_sym;
	char *canon;
	/* what references to an unchanged static resolve to (item 2 of issue 9) */
	enum { RES_UNDECIDED, RES_REFERENCE, RES_COPY, RES_REFUSED } res;
	bool copied_fn; /* a copied unchanged function: the patch may only call it */
	const char *callback; /* the author's callback of this kind ("pre_patch"), or NULL */
	unsigned visit; /* the stateless check's walk */

	/* named by __COUNTER__ (__UNIQUE_ID_ddebug123): its name without the number, or NULL */
	char *counter;
	/* for a counter-named object: the functions that use it */
	struct item **refs;
	size_t nrefs;
};

struct str {
	uint64_t start, len; /* len includes the NUL */
	int64_t out_off;     /* -1: not included */
};

struct secinfo {
	enum sec_kind kind;
	const struct special *special;
	struct item **items; /* sorted by start */
	size_t nitems;
	struct str *strs;
	size_t nstrs;
	struct lp_sec *out; /* strings, whole-section copies, special sections */
	bool whole;	    /* included as a whole */
};

struct side {
	const char *name; /* the file, for messages */
	struct lp_elf *e;
	struct item *items;
	size_t nitems;
	struct secinfo *si; /* indexed like e->secs; sec->priv points into it */
};

struct vec {
	char **v;
	size_t n, alloc;
};

struct ctx {
	struct side o, p;
	const struct lp_symtab *syms;
	const char *object; /* the module patched; NULL: vmlinux */
	struct lp_elf *out;
	struct item **queue;
	size_t nqueue, queue_alloc;
	struct vec included, special, refusals, warnings, locals, meta, callbacks;
	struct strbuf metabuf;
	char hash[9];
	int err;
	bool logged;	    /* err (or the result) has been logged */
	uint64_t out_bytes; /* section bytes appended to the output so far */
	uint64_t out_cap;   /* and the most it may hold: a few times the inputs */
	unsigned visit;	    /* generation of the stateless check's walks */
};

static int vec_addf(struct vec *v, const char *fmt, ...) _printf_(2, 3);
static int vec_addf(struct vec *v, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (v->n == v->alloc) {
		size_t na = v->alloc ? v->alloc * 2 : 8;
		char **p = reallocarray(v->v, na, sizeof(*p));

		if (!p)
			return -ENOMEM;
		v->v = p;
		v->alloc = na;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	v->v[v->n++] = s;
	return 0;
}

static void vec_release(struct vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	*v = (struct vec){};
}

#define CTX_NOMEM(c, r)                                                                            \
	do {                                                                                       \
		if ((r) < 0 && !(c)->err)                                                          \
			(c)->err = (r);                                                            \
	} while (0)

static int diff_bad(struct ctx *c, int r, const char *name, const char *fmt, ...) _printf_(4, 5);
static int diff_bad(struct ctx *c, int r, const char *name, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	c->logged = true;
	return log_error_errno(r, "'%s': %s", name, msg ? msg : "malformed object");
}

/* ---- names ---- */

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

char *lp_canonical_name(const char *name, bool static_local)
{
	static const char *const tags[] = {"isra", "constprop", "part", "llvm", "lto_priv"};
	_cleanup_free_ char *s = strdup(name);
	bool cold = false, again = true;

	if (!s)
		return NULL;
	while (again) {
		char *dot = strrchr(s, '.');
		char *prev;

		again = false;
		if (!dot || dot == s)
			break;
		if (all_digits(dot + 1, strlen(dot + 1))) {
			/* NAME.TAG.N or, for static locals, NAME.N */
			*dot = '\0';
			prev = strrchr(s, '.');
			if (prev && prev != s) {
				for (size_t i = 0; i < ARRAY_SIZE(tags); i++)
					if (streq(prev + 1, tags[i])) {
						*prev = '\0';
						again = true;
						break;
					}
				if (!again && streq(prev + 1, "cold")) {
					*prev = '\0';
					cold = again = true;
				}
			}
			if (!again && !static_local)
				*dot = '.'; /* a number that is part of the name */
			else
				again = true;
			continue;
		}
		if (streq(dot + 1, "cold")) {
			*dot = '\0';
			cold = again = true;
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(tags); i++)
			if (streq(dot + 1, tags[i])) {
				*dot = '\0';
				again = true;
				break;
			}
	}
	if (cold) {
		char *c = NULL;

		if (asprintf(&c, "%s.cold", s) < 0)
			return NULL;
		return c;
	}
	return TAKE_PTR(s);
}

static bool name_is_static_local(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot && dot != name && all_digits(dot + 1, strlen(dot + 1)) &&
	       !strstr(name, ".isra.") && !strstr(name, ".constprop.") && !strstr(name, ".part.");
}

/*
 * For a name the kernel makes with __UNIQUE_ID() (__COUNTER__ pasted to a prefix, and maybe
 * gcc's ".N" of a static local: "__UNIQUE_ID_ddebug601.26"), the name without the numbers
 * ("__UNIQUE_ID_ddebug"); NULL for any other name. The number only says how many such names
 * came before in the translation unit, so a patch that adds one earlier renumbers the rest.
 */
static int counter_prefix(const char *name, char **ret)
{
	size_t n = strlen(name), end;

	*ret = NULL;
	if (!startswith(name, "__UNIQUE_ID_"))
		return 0;
	if (name_is_static_local(name))
		n = (size_t)(strrchr(name, '.') - name);
	end = n;
	while (end > strlen("__UNIQUE_ID_") && isdigit((unsigned char)name[end - 1]))
		end--;
	if (end == n)
		return 0;
	*ret = strndup(name, end);
	return *ret ? 0 : -ENOMEM;
}

/* ---- classification ---- */

static bool sec_is_init(const struct lp_sec *s)
{
	return startswith(s->name, ".init.") || startswith(s->name, ".exit.") ||
	       streq(s->name, ".init.text") || streq(s->name, ".exit.text") ||
	       startswith(s->name, ".meminit.") || startswith(s->name, ".ref.text");
}

static enum sec_kind classify(const struct lp_sec *s, const struct special **ret_special)
{
	static const char *const ignored_prefixes[] = {
		".debug",
		".note",
		".comment",
		".discard",
		".BTF",
		".llvm",
		".gnu",
		"__patchable_function_entries",
		".modinfo",
		"__ksymtab",
		"__kcrctab",
		".eh_frame",
		".tuxtape",
		".initcall",
		".con_initcall",
		"__param",
		"__tracepoints_strings",
		".init_array",
		".ctors",
	};

	*ret_special = NULL;
	if (s->type == SHT_RELA || s->type == SHT_GROUP || s->type == SHT_STRTAB ||
	    s->type == SHT_NULL)
		return SK_IGNORE;
	for (size_t i = 0; i < ARRAY_SIZE(specials); i++)
		if (streq(s->name, specials[i].name)) {
			*ret_special = &specials[i];
			return SK_SPECIAL;
		}
	if (streq(s->name, ".altinstr_replacement"))
		return SK_ALTREPL;
	if (streq(s->name, ".orc_unwind"))
		return SK_ORC;
	for (size_t i = 0; i < ARRAY_SIZE(ignored_prefixes); i++)
		if (startswith(s->name, ignored_prefixes[i]))
			return SK_IGNORE;
	if (!(s->flags & SHF_ALLOC))
		return SK_IGNORE;
	if (streq(s->name, "__dyndbg") || streq(s->name, "__dyndbg_classes"))
		return SK_COPYDATA;
	if (s->flags & SHF_EXECINSTR)
		return SK_TEXT;
	if ((s->flags & SHF_MERGE) && (s->flags & SHF_STRINGS) && s->type != SHT_NOBITS)
		return SK_STRINGS;
	return SK_DATA;
}

static int cmp_item_ptr(const void *a, const void *b)
{
	const struct item *x = *(struct item *const *)a, *y = *(struct item *const *)b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* sized symbols before zero-sized aliases at the same address */
	return x->size > y->size ? -1 : x->size < y->size;
}

static int side_init(struct ctx *c, struct side *sd, struct lp_elf *e)
{
	size_t n = 0;

	sd->e = e;
	sd->si = calloc(e->nsecs ? e->nsecs : 1, sizeof(*sd->si));
	sd->items = calloc(e->nsyms ? e->nsyms : 1, sizeof(*sd->items));
	if (!sd->si || !sd->items)
		return -ENOMEM;
	for (size_t i = 0; i < e->nsecs; i++) {
		struct lp_sec *s = e->secs[i];
		struct secinfo *si = &sd->si[i];

		s->priv = si;
		si->kind = classify(s, &si->special);
		if (si->kind == SK_STRINGS) {
			/* split into NUL-terminated strings; a missing final NUL ends the last one
			 */
			uint64_t st = 0;

			for (uint64_t k = 0; k < s->size; k++) {
				if (s->data[k] != '\0' && k + 1 < s->size)
					continue;
				struct str *ns = reallocarray(si->strs, si->nstrs + 1, sizeof(*ns));

				if (!ns)
					return -ENOMEM;
				si->strs = ns;
				si->strs[si->nstrs++] = (struct str){st, k + 1 - st, -1};
				st = k + 1;
			}
		}
	}
	for (size_t i = 0; i < e->nsyms; i++) {
		struct lp_sym *s = e->syms[i];
		struct item *it;
		struct secinfo *si;

		s->priv = NULL;
		if (!s->sec || (s->type != STT_FUNC && s->type != STT_OBJECT))
			continue;
		si = s->sec->priv;
		if (si->kind != SK_TEXT && si->kind != SK_DATA && si->kind != SK_COPYDATA)
			continue;
		if (s->value > s->sec->size || s->size > s->sec->size - s->value)
			return diff_bad(c, -EBADMSG, sd->name,
					"symbol '%s' lies outside section '%s'", s->name,
					s->sec->name);
		it = &sd->items[n++];
		sd->nitems = n; /* so that side_release() frees what was made on failure */
		it->sym = s;
		it->sec = s->sec;
		it->start = s->value;
		it->size = s->size;
		it->func = s->type == STT_FUNC;
		it->static_local =
			!it->func && s->bind == STB_LOCAL && name_is_static_local(s->name);
		it->canon = lp_canonical_name(s->name, it->static_local);
		if (!it->canon)
			return -ENOMEM;
		if (!it->func && counter_prefix(s->name, &it->counter) < 0)
			return -ENOMEM;
		s->priv = it;
		si->nitems++;
	}
	sd->nitems = n;
	for (size_t i = 0; i < e->nsecs; i++) {
		struct secinfo *si = &sd->si[i];

		if (!si->nitems)
			continue;
		si->items = calloc(si->nitems, sizeof(*si->items));
		if (!si->items)
			return -ENOMEM;
		si->nitems = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct secinfo *si = sd->items[i].sec->priv;

		si->items[si->nitems++] = &sd->items[i];
	}
	for (size_t i = 0; i < e->nsecs; i++)
		if (sd->si[i].nitems > 1)
			qsort(sd->si[i].items, sd->si[i].nitems, sizeof(struct item *),
			      cmp_item_ptr);
	/* NAME.cold belongs to NAME */
	for (size_t i = 0; i < n; i++) {
		struct item *it = &sd->items[i];
		const char *cold = strstr(it->sym->name, ".cold");
		_cleanup_free_ char *base = NULL;

		if (!it->func || !cold)
			continue;
		base = strndup(it->sym->name, (size_t)(cold - it->sym->name));
		if (!base)
			return -ENOMEM;
		for (size_t k = 0; k < n; k++)
			if (sd->items[k].func && streq(sd->items[k].sym->name, base)) {
				it->parent = &sd->items[k];
				break;
			}
	}
	return 0;
}

static void side_release(struct side *sd)
{
	if (sd->si && sd->e)
		for (size_t i = 0; i < sd->e->nsecs; i++) {
			free(sd->si[i].items);
			free(sd->si[i].strs);
		}
	for (size_t i = 0; i < sd->nitems; i++) {
		free(sd->items[i].canon);
		free(sd->items[i].counter);
		free(sd->items[i].refs);
	}
	free(sd->si);
	free(sd->items);
}

/* The item covering OFF in S; with AT_END, one ending exactly at OFF also counts. */
static struct item *item_at(const struct lp_sec *s, uint64_t off, bool at_end)
{
	const struct secinfo *si = s->priv;
	size_t lo = 0, hi = si->nitems;
	struct item *best = NULL;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (si->items[mid]->start <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* items[lo-1] is the last starting at or before OFF */
	for (size_t k = lo; k-- > 0;) {
		struct item *it = si->items[k];

		if (off < it->start + it->size || (it->size == 0 && off == it->start))
			return it;
		if (at_end && off == it->start + it->size && !best)
			best = it;
		if (it->start + 4096 < off && k + 8 < lo)
			break;
	}
	return best;
}

static struct str *str_at(const struct lp_sec *s, uint64_t off)
{
	const struct secinfo *si = s->priv;
	size_t lo = 0, hi = si->nstrs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (si->strs[mid].start + si->strs[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < si->nstrs && si->strs[lo].start <= off)
		return &si->strs[lo];
	return NULL;
}

/*
 * For a PC-relative relocation in code, the distance between the end of the relocated
 * field and the end of the instruction: immediates that follow a RIP-relative operand.
 * Needed to find which object a section-relative reference really points at.
 */
static unsigned pcrel_tail(const struct lp_sec *s, uint64_t off)
{
	const uint8_t *p = s->data;
	uint8_t modrm, op;
	bool opsize = false;

	if (!p || off < 2)
		return 0;
	modrm = p[off - 1];
	if ((modrm & 0xc7) != 0x05)
		return 0; /* not ModRM RIP-relative: a call/jmp rel32 or similar */
	op = p[off - 2];
	if (off >= 3) {
		uint8_t pre = p[off - 3];

		if (pre == 0x0f) {
			if (op == 0xba || op == 0x70 || op == 0xa4 || op == 0xac || op == 0xc2 ||
			    op == 0xc4 || op == 0xc5 || op == 0xc6)
				return 1;
			return 0;
		}
		if (off >= 4 && p[off - 4] == 0x0f && pre == 0x3a)
			return 1;
		if ((pre & 0xf0) == 0x40 && off >= 4)
			opsize = p[off - 4] == 0x66;
		else
			opsize = pre == 0x66;
	}
	switch (op) {
	case 0x80:
	case 0x82:
	case 0x83:
	case 0xc0:
	case 0xc1:
	case 0xc6:
	case 0x6b:
		return 1;
	case 0x81:
	case 0xc7:
	case 0x69:
		return opsize ? 2 : 4;
	case 0xf6:
		return (modrm & 0x38) == 0 ? 1 : 0;
	case 0xf7:
		return (modrm & 0x38) == 0 ? (opsize ? 2 : 4) : 0;
	default:
		return 0;
	}
}

/* Where a relocation points: the symbol's section and the byte it designates there. */
struct target {
	enum { T_UNDEF, T_ITEM, T_STR, T_ANON } kind;
	struct lp_sym *sym; /* T_UNDEF */
	struct item *item;  /* T_ITEM */
	struct str *str;    /* T_STR */
	struct lp_sec *sec; /* T_STR, T_ANON, T_ITEM: the target section */
	int64_t abs;	    /* addend made relative to the target section */
};

static struct target resolve(const struct lp_sec *from, const struct lp_rela *r)
{
	struct target t = {};
	const struct secinfo *fsi = from->priv;
	struct lp_sym *sym = r->sym;
	uint64_t probe;

	if (!sym->sec) {
		t.kind = T_UNDEF;
		t.sym = sym;
		t.abs = r->addend;
		return t;
	}
	t.sec = sym->sec;
	t.abs = (int64_t)((sym->type == STT_SECTION ? 0 : sym->value) + (uint64_t)r->addend);
	if (sym->priv && sym->type != STT_SECTION) {
		t.kind = T_ITEM;
		t.item = sym->priv;
		return t;
	}
	probe = (uint64_t)t.abs;
	if (lp_rela_pcrel(r->type) && (fsi->kind == SK_TEXT || fsi->kind == SK_ALTREPL))
		probe += lp_rela_width(r->type) + pcrel_tail(from, r->offset);
	if (((struct secinfo *)sym->sec->priv)->kind == SK_STRINGS) {
		t.str = str_at(sym->sec, probe);
		if (t.str) {
			t.kind = T_STR;
			return t;
		}
	}
	/* a special section's entry may point just past its function (ORC terminators) */
	t.item = item_at(sym->sec, probe, fsi->kind == SK_SPECIAL);
	/*
	 * Just past an object that ends its section: a loop's bound (`p < table + N`). Nothing
	 * else can be there, and the reference must follow the object wherever it goes; taken
	 * for a piece of its own, the section would be copied a second time and the bound would
	 * point past the copy the loop does not walk.
	 */
	if (!t.item && probe == sym->sec->size && !(sym->sec->flags & SHF_EXECINSTR))
		t.item = item_at(sym->sec, probe, true);
	t.kind = t.item ? T_ITEM : T_ANON;
	return t;
}

static int64_t target_delta(const struct target *t)
{
	switch (t->kind) {
	case T_ITEM:
		return t->abs - (int64_t)t->item->start;
	case T_STR:
		return t->abs - (int64_t)t->str->start;
	default:
		return t->abs;
	}
}

/*
 * Do two strings differ only in the line of a source location, "FILE.c:LINE" or "FILE.h:LINE"
 * (a WARN or fortify message built from __FILE__ and __LINE__)? The line is a diagnostic
 * that moves with the code, like __bug_table's; any other difference is a change.
 */
static bool str_line_only(const char *x, size_t xl, const char *y, size_t yl)
{
	size_t p = 0, i, j;

	while (p < xl && p < yl && x[p] == y[p])
		p++;
	while (p > 0 && isdigit((unsigned char)x[p - 1]))
		p--;
	if (p < 3 || x[p - 1] != ':' || (x[p - 2] != 'c' && x[p - 2] != 'h') || x[p - 3] != '.')
		return false;
	for (i = p; i < xl && isdigit((unsigned char)x[i]); i++)
		;
	for (j = p; j < yl && isdigit((unsigned char)y[j]); j++)
		;
	return i > p && j > p && xl - i == yl - j && memcmp(x + i, y + j, xl - i) == 0;
}

/* Do two relocations (original, patched) designate the same thing? */
static bool target_same(const struct target *a, const struct target *b)
{
	if (a->kind != b->kind || target_delta(a) != target_delta(b))
		return false;
	switch (a->kind) {
	case T_UNDEF:
		return streq(a->sym->name, b->sym->name);
	case T_ITEM:
		if (b->item->twin != a->item)
			return false;
		/* a changed read-only object is copied: its users must use the copy */
		return b->item->func || b->item->status == ST_SAME ||
		       (b->item->sec->flags & SHF_WRITE); /* refused on its own */
	case T_STR:
		return (a->str->len == b->str->len &&
			memcmp(a->sec->data + a->str->start, b->sec->data + b->str->start,
			       a->str->len) == 0) ||
		       str_line_only((const char *)a->sec->data + a->str->start, a->str->len,
				     (const char *)b->sec->data + b->str->start, b->str->len);
	case T_ANON:
		return streq(a->sec->name, b->sec->name);
	}
	return false;
}

/*
 * Relocations of S within [start, start+size), found by binary search: do_diff() sorts every
 * relocation section by offset first (sort_relas()).
 */
static size_t relas_in(const struct lp_sec *s, uint64_t start, uint64_t size,
		       struct lp_rela **first)
{
	const struct lp_sec *r = s->rela;
	size_t lo = 0, hi, n = 0;

	*first = NULL;
	if (!r)
		return 0;
	hi = r->nrelas;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->relas[mid].offset < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + n < r->nrelas && r->relas[lo + n].offset - start < size)
		n++;
	if (n)
		*first = &r->relas[lo];
	return n;
}

static int cmp_rela(const void *a, const void *b)
{
	const struct lp_rela *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void sort_relas(struct lp_elf *e)
{
	for (size_t i = 0; i < e->nsecs; i++)
		if (e->secs[i]->type == SHT_RELA && e->secs[i]->nrelas > 1)
			qsort(e->secs[i]->relas, e->secs[i]->nrelas, sizeof(struct lp_rela),
			      cmp_rela);
}

/* Compares a byte range with its relocations; MASK_OFF (relative, or -1) is a 2-byte field to skip.
 */
static bool range_same(const struct lp_sec *os, uint64_t ostart, const struct lp_sec *ps,
		       uint64_t pstart, uint64_t size, int mask_off)
{
	struct lp_rela *ro, *rp;
	size_t no = relas_in(os, ostart, size, &ro), np = relas_in(ps, pstart, size, &rp);
	_cleanup_free_ uint8_t *mask = NULL;

	if (no != np)
		return false;
	if (os->type == SHT_NOBITS || ps->type == SHT_NOBITS)
		return os->type == ps->type;
	mask = calloc(size ? size : 1, 1);
	if (!mask)
		return false;
	for (size_t i = 0; i < no; i++) {
		struct target a, b;
		uint64_t off = ro[i].offset - ostart;
		unsigned w = lp_rela_width(ro[i].type);

		if (off != rp[i].offset - pstart || ro[i].type != rp[i].type)
			return false;
		a = resolve(os, &ro[i]);
		b = resolve(ps, &rp[i]);
		if (!target_same(&a, &b))
			return false;
		for (unsigned k = 0; k < w && off + k < size; k++)
			mask[off + k] = 1;
	}
	if (mask_off >= 0)
		for (unsigned k = 0; k < 2 && (uint64_t)mask_off + k < size; k++)
			mask[mask_off + k] = 1;
	for (uint64_t k = 0; k < size; k++)
		if (!mask[k] && os->data[ostart + k] != ps->data[pstart + k])
			return false;
	return true;
}

/* ---- special sections: entries owned by a function ---- */

/* The kernel table NAME of E, only if it was classified (and so validated) as one. */
static struct lp_sec *find_table(const struct lp_elf *e, const char *name, enum sec_kind kind)
{
	struct lp_sec *s = lp_elf_find_sec(e, name);

	return s && ((const struct secinfo *)s->priv)->kind == kind ? s : NULL;
}

static bool is_table_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(specials); i++)
		if (streq(name, specials[i].name))
			return true;
	return streq(name, ".altinstr_replacement") || streq(name, ".orc_unwind");
}

/*
 * What the reader cannot know: the kernel's tables are read entry by entry at fixed
 * offsets, code and strings byte by byte. Each must be what its name says before any of
 * it is read; a malformed one is refused, naming the section and the field.
 */
static int validate(struct ctx *c, const struct side *sd)
{
	const struct lp_elf *e = sd->e;
	const struct lp_sec *orc = NULL, *orc_ip = NULL;

	for (size_t i = 0; i < e->nsecs; i++) {
		const struct lp_sec *s = e->secs[i];
		const struct secinfo *si = &sd->si[i];
		uint64_t entsize = 0;

		if (is_table_name(s->name)) {
			if (s->type != SHT_PROGBITS)
				return diff_bad(c, -EBADMSG, sd->name,
						"section '%s' has type %s, expected PROGBITS",
						s->name, lp_sht_name(s->type));
			for (size_t k = 0; k < i; k++)
				if (streq(e->secs[k]->name, s->name))
					return diff_bad(c, -EBADMSG, sd->name,
							"section '%s' appears twice", s->name);
		}
		switch (si->kind) {
		case SK_SPECIAL:
			entsize = si->special->entsize;
			if (streq(s->name, ".orc_unwind_ip"))
				orc_ip = s;
			break;
		case SK_ORC:
			entsize = 6;
			orc = s;
			break;
		case SK_TEXT:
		case SK_STRINGS:
			if (s->type != SHT_PROGBITS)
				return diff_bad(c, -EBADMSG, sd->name,
						"section '%s' has type %s, expected PROGBITS",
						s->name, lp_sht_name(s->type));
			break;
		case SK_DATA:
		case SK_COPYDATA:
			if (s->type != SHT_PROGBITS && s->type != SHT_NOBITS &&
			    s->type != SHT_INIT_ARRAY && s->type != SHT_FINI_ARRAY &&
			    s->type != SHT_PREINIT_ARRAY && s->type != SHT_NOTE &&
			    s->type != SHT_X86_64_UNWIND)
				return diff_bad(
					c, -EBADMSG, sd->name,
					"section '%s' has type %s, expected PROGBITS or NOBITS",
					s->name, lp_sht_name(s->type));
			break;
		default:
			break;
		}
		if (!entsize)
			continue;
		if (s->entsize && s->entsize != entsize)
			return diff_bad(c, -EBADMSG, sd->name,
					"section '%s' has entry size %llu, expected %llu", s->name,
					(unsigned long long)s->entsize,
					(unsigned long long)entsize);
		if (s->size % entsize)
			return diff_bad(
				c, -EBADMSG, sd->name,
				"section '%s': size %llu is not a multiple of its entry size %llu",
				s->name, (unsigned long long)s->size, (unsigned long long)entsize);
	}
	/* A function is copied with the relocations that start in it: none may run past its end
	 * (its symbol's size), or the copy would carry one outside its section. */
	for (size_t i = 0; i < sd->nitems; i++) {
		const struct item *it = &sd->items[i];
		struct lp_rela *r;
		size_t n = it->func ? relas_in(it->sec, it->start, it->size, &r) : 0;

		for (size_t k = 0; k < n; k++)
			if (r[k].offset + lp_rela_width(r[k].type) > it->start + it->size)
				return diff_bad(c, -EBADMSG, sd->name,
						"function '%s': the relocation at offset %llu of "
						"'%s' runs past its end (%llu bytes)",
						it->sym->name, (unsigned long long)r[k].offset,
						it->sec->name, (unsigned long long)it->size);
	}
	/* .orc_unwind_ip and .orc_unwind are parallel arrays */
	if ((orc || orc_ip) && (!orc || !orc_ip || orc->size / 6 != orc_ip->size / 4))
		return diff_bad(
			c, -EBADMSG, sd->name,
			"'.orc_unwind' (%llu entries) and '.orc_unwind_ip' (%llu entries) do "
			"not match",
			orc ? (unsigned long long)orc->size / 6 : 0ULL,
			orc_ip ? (unsigned long long)orc_ip->size / 4 : 0ULL);
	return 0;
}

/* The function item an entry of special section S at entry offset OFF belongs to. */
static struct item *special_owner(const struct lp_sec *s, uint64_t off)
{
	const struct secinfo *si = s->priv;
	const struct lp_sec *r = s->rela;
	uint64_t key = off + si->special->key;

	if (!r)
		return NULL;
	/* relas are sorted: binary search the key offset */
	size_t lo = 0, hi = r->nrelas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->relas[mid].offset < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= r->nrelas || r->relas[lo].offset != key)
		return NULL;
	struct lp_sym *sym = r->relas[lo].sym;
	if (!sym->sec)
		return NULL;
	uint64_t abs = (sym->type == STT_SECTION ? 0 : sym->value) + (uint64_t)r->relas[lo].addend;
	if (((struct secinfo *)sym->sec->priv)->kind != SK_TEXT)
		return NULL;
	struct item *it = item_at(sym->sec, abs, true);
	return it && it->func ? it : NULL;
}

static bool rela_is_call(const struct lp_sec *from, const struct lp_rela *r);

/* The functions that take (__FILE__, __LINE__) or print a location built from them. */
static bool takes_line(const char *name)
{
	static const char *const names[] = {
		"__warn_printk",	  "_printk",	       "printk",       "__might_sleep",
		"__might_fault",	  "__might_resched",   "__cant_sleep", "__cant_migrate",
		"lockdep_rcu_suspicious", "warn_slowpath_fmt",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (streq(name, names[i]))
			return true;
	return false;
}

/* Is T a string naming a source file ("....c" or "....h"), as __FILE__ is? */
static bool is_path_string(const struct target *t)
{
	const char *str;
	size_t n;

	if (t->kind != T_STR || target_delta(t) != 0)
		return false;
	str = (const char *)t->sec->data + t->str->start;
	n = strnlen(str, t->str->len);
	return n > 2 && str[n - 2] == '.' && (str[n - 1] == 'c' || str[n - 1] == 'h');
}

/*
 * Do two functions of the same size differ only in __LINE__ values passed to a function that
 * reports a source location? Each differing byte must be in the immediate of a
 * `mov $imm32, %reg` (b8+r, REX.B allowed) loading an argument register after the first, the
 * next call must go to such a function (takes_line()) with nothing but strings and
 * once-flags used in between, and __FILE__ (a string naming a .c or .h file) must be used
 * near it. A patch that adds lines above such a call changes nothing else in the function.
 */
static bool line_only_code(const struct item *io, const struct item *ip)
{
	const struct lp_sec *os = io->sec, *ps = ip->sec;
	uint64_t size = ip->size;
	struct lp_rela *ro, *rp;
	size_t no = relas_in(os, io->start, size, &ro), np = relas_in(ps, ip->start, size, &rp);
	_cleanup_free_ uint8_t *mask = NULL;
	const uint8_t *a = os->data ? os->data + io->start : NULL;
	const uint8_t *b = ps->data ? ps->data + ip->start : NULL;
	bool any = false;

	if (!a || !b || io->size != size || no != np)
		return false;
	mask = calloc(size ? size : 1, 1);
	if (!mask)
		return false;
	for (size_t i = 0; i < no; i++) {
		uint64_t off = ro[i].offset - io->start;
		struct target ta = resolve(os, &ro[i]), tb = resolve(ps, &rp[i]);

		if (off != rp[i].offset - ip->start || ro[i].type != rp[i].type ||
		    !target_same(&ta, &tb))
			return false;
		for (unsigned k = 0; k < lp_rela_width(ro[i].type) && off + k < size; k++)
			mask[off + k] = 1;
	}
	for (uint64_t k = 0; k < size; k++) {
		uint64_t s = UINT64_MAX, call = UINT64_MAX;
		uint32_t va, vb;
		unsigned reg;
		bool rex, path = false;

		if (mask[k] || a[k] == b[k])
			continue;
		/* the mov whose immediate holds byte k */
		for (uint64_t d = 1; d <= 4 && d <= k; d++)
			if (a[k - d] >= 0xb8 && a[k - d] <= 0xbf && a[k - d] == b[k - d] &&
			    !mask[k - d]) {
				s = k - d;
				break;
			}
		if (s == UINT64_MAX || s + 5 > size)
			return false;
		for (uint64_t q = s + 1; q < s + 5; q++)
			if (mask[q])
				return false;
		rex = s > 0 && a[s - 1] == 0x41 && b[s - 1] == 0x41;
		reg = (a[s] - 0xb8u) + (rex ? 8 : 0);
		/* esi, edx, ecx, r8d, r9d: the second to sixth arguments */
		if (reg != 6 && reg != 2 && reg != 1 && reg != 8 && reg != 9)
			return false;
		memcpy(&va, a + s + 1, 4);
		memcpy(&vb, b + s + 1, 4);
		if (va > 1000000 || vb > 1000000)
			return false;
		/* the next call, and what is used before it */
		for (size_t i = 0; i < np; i++) {
			uint64_t off = rp[i].offset - ip->start;
			struct target t = resolve(ps, &rp[i]);

			if (off + 48 < s)
				continue;
			if (is_path_string(&t))
				path = true;
			if (off < s + 5)
				continue;
			if (off > s + 160)
				return false;
			if (rela_is_call(ps, &rp[i])) {
				if (t.kind != T_UNDEF || !takes_line(t.sym->name))
					return false;
				call = off;
				break;
			}
			if (t.kind == T_STR)
				continue;
			if (t.kind == T_ITEM && !t.item->func &&
			    (streq(t.item->sec->name, ".data.once") ||
			     (t.item->static_local &&
			      (startswith(t.item->sym->name, "__warned.") ||
			       startswith(t.item->sym->name, "__already_done.") ||
			       startswith(t.item->sym->name, "__func__.")))))
				continue;
			return false;
		}
		if (call == UINT64_MAX || !path)
			return false;
		any = true;
		k = s + 4; /* the immediate is accounted for */
	}
	return any;
}

/* Compares the entries of the compared special sections owned by two twin functions. */
static bool specials_same(struct ctx *c, struct item *io, struct item *ip)
{
	for (size_t i = 0; i < ARRAY_SIZE(specials); i++) {
		const struct special *sp = &specials[i];
		struct lp_sec *os, *ps;
		uint64_t oo = 0, po = 0;

		if (!sp->compare)
			continue;
		os = find_table(c->o.e, sp->name, SK_SPECIAL);
		ps = find_table(c->p.e, sp->name, SK_SPECIAL);
		if (!os && !ps)
			continue;
		for (;;) {
			/* walk both tables to the next entry owned by the function */
			while (os && oo + sp->entsize <= os->size && special_owner(os, oo) != io)
				oo += sp->entsize;
			while (ps && po + sp->entsize <= ps->size && special_owner(ps, po) != ip)
				po += sp->entsize;
			bool ho = os && oo + sp->entsize <= os->size;
			bool hp = ps && po + sp->entsize <= ps->size;

			if (ho != hp)
				return false;
			if (!ho)
				break;
			/* the owning relocation is equal by construction: skip it */
			if (!range_same(os, oo + 4, ps, po + 4, sp->entsize - 4,
					sp->line_off >= 0 ? sp->line_off - 4 : -1))
				return false;
			if (streq(sp->name, ".altinstructions")) {
				struct lp_sec *orr =
					find_table(c->o.e, ".altinstr_replacement", SK_ALTREPL);
				struct lp_sec *prr =
					find_table(c->p.e, ".altinstr_replacement", SK_ALTREPL);
				struct lp_rela *ra, *rb;
				uint8_t len = os->data[oo + 11];

				if (orr && prr && relas_in(os, oo + 4, 4, &ra) == 1 &&
				    relas_in(ps, po + 4, 4, &rb) == 1 && len == ps->data[po + 11]) {
					struct target a = resolve(os, ra), b = resolve(ps, rb);

					if (a.sec == orr && b.sec == prr && a.abs >= 0 &&
					    b.abs >= 0 && (uint64_t)a.abs + len <= orr->size &&
					    (uint64_t)b.abs + len <= prr->size &&
					    !range_same(orr, (uint64_t)a.abs, prr, (uint64_t)b.abs,
							len, -1))
						return false;
				}
			}
			oo += sp->entsize;
			po += sp->entsize;
		}
	}
	return true;
}

/* Does the original function start with a call to __fentry__ recorded in __mcount_loc? */
static bool has_fentry(struct ctx *c, struct item *it)
{
	struct lp_rela *r;
	size_t n = relas_in(it->sec, it->start, MIN(it->size, 16), &r);
	bool call = false;
	struct lp_sec *mc;

	for (size_t i = 0; i < n; i++)
		if (!r[i].sym->sec &&
		    (streq(r[i].sym->name, "__fentry__") || streq(r[i].sym->name, "mcount")))
			call = true;
	if (!call)
		return false;
	mc = find_table(c->o.e, "__mcount_loc", SK_SPECIAL);
	if (!mc)
		return true;
	for (uint64_t off = 0; off + 8 <= mc->size; off += 8)
		if (special_owner(mc, off) == it)
			return true;
	return false;
}

/* ---- correlation ---- */

static void pair(struct item *o, struct item *p)
{
	o->twin = p;
	p->twin = o;
}

/* The K-th static local with canonical name CANON referenced by function F (in rela order). */
static struct item *static_local_ref(struct item *f, const char *canon, size_t k, size_t *ret_idx,
				     struct item *want)
{
	struct lp_rela *r;
	size_t n = relas_in(f->sec, f->start, f->size, &r), seen = 0;
	struct item *last = NULL;

	for (size_t i = 0; i < n; i++) {
		struct target t = resolve(f->sec, &r[i]);

		if (t.kind != T_ITEM || !t.item->static_local || !streq(t.item->canon, canon) ||
		    t.item == last)
			continue;
		last = t.item;
		if (want && t.item == want) {
			*ret_idx = seen;
			return t.item;
		}
		if (!want && seen == k)
			return t.item;
		seen++;
	}
	return NULL;
}

/*
 * Objects named by __COUNTER__ (dynamic-debug descriptors, "__UNIQUE_ID_ddebug123") are paired
 * by what they are, never by their number: a patch that adds a pr_debug() or an #include early
 * in a file renumbers every later one. Two such objects are the same when their section,
 * size, bytes and relocation targets are (a descriptor's line number aside) and the functions
 * using them are paired with each other; an object with more than one such candidate on either
 * side stays unpaired, so its users count as changed, as when the names decided.
 */

/* The functions of SD that use each counter-named object, each named once. */
static int counter_refs(struct side *sd)
{
	for (size_t i = 0; i < sd->nitems; i++) {
		struct item *f = &sd->items[i];
		struct lp_rela *r;
		size_t n;

		if (!f->func)
			continue;
		n = relas_in(f->sec, f->start, f->size, &r);
		for (size_t k = 0; k < n; k++) {
			struct target t = resolve(f->sec, &r[k]);
			struct item *it = t.item, **nr;
			bool seen = false;

			if (t.kind != T_ITEM || !it->counter)
				continue;
			for (size_t j = 0; j < it->nrefs && !seen; j++)
				seen = it->refs[j] == f;
			if (seen)
				continue;
			nr = reallocarray(it->refs, it->nrefs + 1, sizeof(*nr));
			if (!nr)
				return -ENOMEM;
			it->refs = nr;
			it->refs[it->nrefs++] = f;
		}
	}
	return 0;
}

/*
 * A dynamic-debug descriptor (struct _ddebug: modname, function, filename and format
 * pointers, then lineno:18 in the low bits of the next word; 56 bytes with the static key of
 * CONFIG_JUMP_LABEL, 40 without). Its line moves with the code, like __bug_table's, and is
 * only shown to whoever reads the dynamic_debug control file.
 */
static bool ddebug_layout(const struct item *it)
{
	struct lp_rela *r;

	if (!streq(it->sec->name, "__dyndbg") || (it->size != 56 && it->size != 40) ||
	    it->sec->type == SHT_NOBITS || relas_in(it->sec, it->start, it->size, &r) != 4)
		return false;
	for (size_t i = 0; i < 4; i++)
		if (r[i].offset != it->start + 8 * i || r[i].type != R_X86_64_64)
			return false;
	return true;
}

/* Does a counter-named object point at the same thing on both sides? */
static bool counter_target_same(const struct target *a, const struct target *b)
{
	const struct item *x = a->item, *y = b->item;
	struct lp_rela *rx, *ry;

	if (a->kind != b->kind || a->kind == T_ANON)
		return false;
	if (a->kind != T_ITEM)
		return target_same(a, b);
	if (target_delta(a) != target_delta(b) || x->func != y->func)
		return false;
	/* the same function, the same variable */
	if (y->twin == x && (x->func || (x->sec->flags & SHF_WRITE)))
		return true;
	/* read-only data such as the descriptor's __func__, whose ".N" is renumbered too */
	return !x->func && !(x->sec->flags & SHF_WRITE) && !(y->sec->flags & SHF_WRITE) &&
	       x->size == y->size && x->sec->type != SHT_NOBITS && y->sec->type != SHT_NOBITS &&
	       !relas_in(x->sec, x->start, x->size, &rx) &&
	       !relas_in(y->sec, y->start, y->size, &ry) &&
	       memcmp(x->sec->data + x->start, y->sec->data + y->start, x->size) == 0;
}

/* Are two counter-named objects the same object, whatever their numbers? */
static bool counter_same(const struct item *io, const struct item *ip)
{
	_cleanup_free_ uint8_t *skip = NULL; /* bits not compared, per byte */
	struct lp_rela *ro, *rp;
	size_t no, np;

	/* used by the same functions (first: the cheapest test that tells most apart) */
	if (io->size != ip->size || io->nrefs != ip->nrefs)
		return false;
	for (size_t i = 0; i < ip->nrefs; i++) {
		bool found = false;

		for (size_t k = 0; k < io->nrefs && !found; k++)
			found = ip->refs[i]->twin == io->refs[k];
		if (!found)
			return false;
	}
	if (!streq(io->counter, ip->counter) || !streq(io->sec->name, ip->sec->name) ||
	    io->sec->type != ip->sec->type)
		return false;
	no = relas_in(io->sec, io->start, io->size, &ro);
	np = relas_in(ip->sec, ip->start, ip->size, &rp);
	if (no != np)
		return false;
	if (io->sec->type == SHT_NOBITS)
		return true;
	skip = calloc(io->size ? io->size : 1, 1);
	if (!skip)
		return false; /* unpaired: changed, as before */
	for (size_t i = 0; i < no; i++) {
		uint64_t off = ro[i].offset - io->start;
		struct target a, b;

		if (off != rp[i].offset - ip->start || ro[i].type != rp[i].type)
			return false;
		a = resolve(io->sec, &ro[i]);
		b = resolve(ip->sec, &rp[i]);
		if (!counter_target_same(&a, &b))
			return false;
		for (unsigned k = 0; k < lp_rela_width(ro[i].type) && off + k < io->size; k++)
			skip[off + k] = 0xff;
	}
	if (ddebug_layout(io) && ddebug_layout(ip)) {
		skip[32] = skip[33] = 0xff;
		skip[34] |= 0x03;
	}
	for (uint64_t k = 0; k < io->size; k++)
		if ((io->sec->data[io->start + k] ^ ip->sec->data[ip->start + k]) & ~skip[k])
			return false;
	return true;
}

/* The only item of FROM's side that counter_same() pairs with X, or NULL. */
static struct item *counter_match(struct side *from, const struct item *x, bool x_patched)
{
	struct item *only = NULL;

	for (size_t i = 0; i < from->nitems; i++) {
		struct item *y = &from->items[i];

		if (!y->counter || !(x_patched ? counter_same(y, x) : counter_same(x, y)))
			continue;
		if (only)
			return NULL; /* cannot be told apart */
		only = y;
	}
	return only;
}

static void correlate_counters(struct ctx *c)
{
	CTX_NOMEM(c, counter_refs(&c->o));
	CTX_NOMEM(c, counter_refs(&c->p));
	if (c->err)
		return;
	for (size_t i = 0; i < c->p.nitems; i++) {
		struct item *ip = &c->p.items[i], *io;

		if (!ip->counter)
			continue;
		io = counter_match(&c->o, ip, true);
		if (io && !io->twin && counter_match(&c->p, io, false) == ip)
			pair(io, ip);
	}
}

static void correlate(struct ctx *c)
{
	struct side *o = &c->o, *p = &c->p;

	/* 1. functions and non-static-local objects by exact name */
	for (size_t i = 0; i < p->nitems; i++) {
		struct item *ip = &p->items[i];

		if (ip->static_local || ip->counter)
			continue;
		for (size_t k = 0; k < o->nitems; k++) {
			struct item *io = &o->items[k];

			if (!io->twin && !io->static_local && !io->counter &&
			    io->func == ip->func && streq(io->sym->name, ip->sym->name)) {
				pair(io, ip);
				break;
			}
		}
	}
	/* 2. the rest by canonical name (foo.isra.0 <-> foo.isra.1, foo <-> foo.constprop.0) */
	for (size_t i = 0; i < p->nitems; i++) {
		struct item *ip = &p->items[i];
		size_t np = 0, no = 0, rank = 0;
		struct item *cand = NULL;

		if (ip->twin || ip->static_local || ip->counter)
			continue;
		for (size_t k = 0; k < p->nitems; k++) {
			struct item *x = &p->items[k];

			if (!x->twin && !x->static_local && !x->counter && x->func == ip->func &&
			    streq(x->canon, ip->canon)) {
				if (x == ip)
					rank = np;
				np++;
			}
		}
		for (size_t k = 0; k < o->nitems; k++) {
			struct item *x = &o->items[k];

			if (!x->twin && !x->static_local && !x->counter && x->func == ip->func &&
			    streq(x->canon, ip->canon)) {
				if (no == rank)
					cand = x;
				no++;
			}
		}
		if (cand && no == np)
			pair(cand, ip);
	}
	/* 3. static locals through the functions that use them */
	for (size_t i = 0; i < p->nitems; i++) {
		struct item *ip = &p->items[i];

		if (!ip->static_local || ip->twin || ip->counter)
			continue;
		for (size_t k = 0; k < p->nitems && !ip->twin; k++) {
			struct item *f = &p->items[k], *io;
			size_t idx = 0;

			if (!f->func || !f->twin)
				continue;
			if (!static_local_ref(f, ip->canon, 0, &idx, ip))
				continue;
			io = static_local_ref(f->twin, ip->canon, idx, &idx, NULL);
			if (io && !io->twin)
				pair(io, ip);
			break;
		}
	}
	/* 4. static locals nothing correlates: by exact name, then a unique canonical name */
	for (size_t i = 0; i < p->nitems; i++) {
		struct item *ip = &p->items[i], *only = NULL;
		size_t n = 0;

		if (!ip->static_local || ip->twin || ip->counter)
			continue;
		for (size_t k = 0; k < o->nitems; k++) {
			struct item *io = &o->items[k];

			if (io->twin || !io->static_local || io->counter)
				continue;
			if (streq(io->sym->name, ip->sym->name)) {
				only = io;
				n = 1;
				break;
			}
			if (streq(io->canon, ip->canon)) {
				only = io;
				n++;
			}
		}
		if (n == 1)
			pair(only, ip);
	}
	/* 5. objects named by __COUNTER__, by what they are */
	correlate_counters(c);
}

/* ---- comparison ---- */

static void refuse(struct ctx *c, const char *fmt, ...) _printf_(2, 3);
static void refuse(struct ctx *c, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	CTX_NOMEM(c, s ? vec_addf(&c->refusals, "%s", s) : -ENOMEM);
}

/* The targets of the relocations of the patched object's section NAME (author markers). */
static size_t marker_targets(struct ctx *c, const char *name, struct target *out, size_t max)
{
	struct lp_sec *s = lp_elf_find_sec(c->p.e, name);
	size_t n = 0;

	if (!s || !s->rela)
		return 0;
	for (size_t i = 0; i < s->rela->nrelas && n < max; i++)
		out[n++] = resolve(s, &s->rela->relas[i]);
	return n;
}

#define MAX_MARKERS 64

/*
 * The author's markers (<tuxtape/livepatch.h>, kpatch-macros.h): an ignored function is not
 * patched however it changed, items of an ignored section are taken as unchanged, and a
 * forced function is named in a warning: forcing is kpatch's old core module's activeness
 * check, which the livepatch consistency model replaces.
 */
static void apply_markers(struct ctx *c)
{
	struct target t[MAX_MARKERS];
	size_t n;

	n = marker_targets(c, ".tuxtape.ignore.functions", t, MAX_MARKERS);
	for (size_t i = 0; i < n; i++) {
		if (t[i].kind != T_ITEM || !t[i].item->func) {
			refuse(c, "KPATCH_IGNORE_FUNCTION/TUXTAPE_IGNORE_FUNCTION names no function "
				  "of this file");
			continue;
		}
		if (t[i].item->status == ST_CHANGED) {
			t[i].item->status = ST_SAME;
			for (size_t k = 0; k < c->p.nitems; k++)
				if (c->p.items[k].parent == t[i].item)
					c->p.items[k].status = ST_SAME;
			CTX_NOMEM(c, vec_addf(&c->warnings,
					      "function '%s' changed but is ignored, as the patch "
					      "asks",
					      t[i].item->sym->name));
		}
	}
	n = marker_targets(c, ".tuxtape.ignore.sections", t, MAX_MARKERS);
	for (size_t i = 0; i < n; i++) {
		const char *name;

		if (t[i].kind != T_STR) {
			refuse(c, "KPATCH_IGNORE_SECTION/TUXTAPE_IGNORE_SECTION names no section");
			continue;
		}
		name = (const char *)t[i].sec->data + t[i].str->start;
		for (size_t k = 0; k < c->p.nitems; k++) {
			struct item *it = &c->p.items[k];

			if (it->status == ST_CHANGED && streq(it->sec->name, name)) {
				it->status = ST_SAME;
				CTX_NOMEM(c, vec_addf(&c->warnings,
						      "'%s' in %s changed but the section is "
						      "ignored, as the patch asks",
						      it->sym->name, name));
			}
		}
	}
	n = marker_targets(c, ".tuxtape.force", t, MAX_MARKERS);
	for (size_t i = 0; i < n; i++)
		if (t[i].kind == T_ITEM)
			CTX_NOMEM(c, vec_addf(&c->warnings,
					      "KPATCH_FORCE_UNSAFE(%s) has no effect: the livepatch "
					      "consistency model decides when a task switches",
					      t[i].item->sym->name));
}

static void compare(struct ctx *c)
{
	struct side *p = &c->p;

	/* objects first: a changed read-only object makes its users changed */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < p->nitems; i++) {
			struct item *ip = &p->items[i], *io = ip->twin;
			const struct secinfo *si = ip->sec->priv;
			bool same;

			if (ip->func != (pass == 1))
				continue;
			if (!io) {
				ip->status = ST_NEW;
				continue;
			}
			if (si->kind == SK_COPYDATA) {
				ip->status = ST_SAME;
				continue;
			}
			same = io->size == ip->size &&
			       range_same(io->sec, io->start, ip->sec, ip->start, ip->size, -1);
			/* a moved __LINE__ passed to a location report is not a change */
			if (!same && ip->func && si->kind == SK_TEXT)
				same = line_only_code(io, ip);
			if (same && ip->func)
				same = specials_same(c, io, ip);
			ip->status = same ? ST_SAME : ST_CHANGED;
		}
	/* a changed NAME.cold changes NAME */
	for (size_t i = 0; i < p->nitems; i++) {
		struct item *ip = &p->items[i];

		if (ip->func && ip->parent && ip->status != ST_SAME &&
		    ip->parent->status == ST_SAME)
			ip->parent->status = ST_CHANGED;
	}
	apply_markers(c);
	/* what cannot be patched */
	for (size_t i = 0; i < p->nitems; i++) {
		struct item *ip = &p->items[i];
		bool init = sec_is_init(ip->sec);

		if (ip->status == ST_SAME)
			continue;
		if (ip->status == ST_NEW) {
			if (init && ip->func)
				refuse(c,
				       "new function '%s' is in %s (__init/__exit code cannot be "
				       "patched)",
				       ip->sym->name, ip->sec->name);
			continue;
		}
		if (init) {
			refuse(c,
			       "%s '%s' in %s changed: __init/__exit code and data cannot be "
			       "patched",
			       ip->func ? "function" : "variable", ip->sym->name, ip->sec->name);
			continue;
		}
		if (ip->func) {
			if (ip->parent)
				continue; /* patched through its parent */
			if (!has_fentry(c, ip->twin))
				refuse(c,
				       "function '%s' changed but cannot be patched: no call to "
				       "__fentry__ recorded in __mcount_loc (notrace?)",
				       ip->twin->sym->name);
			continue;
		}
		if (ip->size != ip->twin->size && (ip->sec->flags & SHF_WRITE))
			refuse(c, "variable '%s' changed size (%llu to %llu bytes)", ip->sym->name,
			       (unsigned long long)ip->twin->size, (unsigned long long)ip->size);
		else if (ip->sec->flags & SHF_WRITE)
			refuse(c, "initialised data of variable '%s' changed", ip->sym->name);
		else if (ip->size != ip->twin->size)
			CTX_NOMEM(c, vec_addf(&c->warnings,
					      "read-only '%s' changed size; the new functions use "
					      "a copy",
					      ip->sym->name));
	}
}

/* Section groups (COMDAT) must be the same on both sides. */
static void compare_groups(struct ctx *c)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;

	for (int side = 0; side < 2; side++) {
		struct lp_elf *e = side ? c->p.e : c->o.e;
		struct strbuf *sb = side ? &b : &a;

		for (size_t i = 0; i < e->nsecs; i++) {
			struct lp_sec *g = e->secs[i];
			const char *sig = "?";

			if (g->type != SHT_GROUP)
				continue;
			for (size_t k = 0; k < e->nsyms; k++)
				if (e->syms[k]->index == g->info)
					sig = e->syms[k]->name;
			CTX_NOMEM(c, strbuf_addf(sb, "[%s:", sig));
			for (uint64_t off = 4; off + 4 <= g->size; off += 4) {
				uint32_t idx;

				memcpy(&idx, g->data + off, 4);
				for (size_t k = 0; k < e->nsecs; k++)
					if (e->secs[k]->index == idx)
						CTX_NOMEM(c,
							  strbuf_addf(sb, " %s", e->secs[k]->name));
			}
			CTX_NOMEM(c, strbuf_adds(sb, "]"));
		}
	}
	if (!streq(strbuf_str(&a), strbuf_str(&b)))
		refuse(c, "section groups changed: %s -> %s",
		       strbuf_str(&a)[0] ? strbuf_str(&a) : "none",
		       strbuf_str(&b)[0] ? strbuf_str(&b) : "none");
	strbuf_release(&a);
	strbuf_release(&b);
}

/* ---- output ---- */

static int append_err(int64_t off)
{
	return off < 0 ? (int)off : 0;
}

/*
 * Appends to an output section within the output's budget, refusing before allocating:
 * the diff holds a part of the patched object, so a few times the inputs' size is plenty,
 * and alignment padding cannot make it explode. NOBITS takes no room in the file.
 */
static int64_t out_append(struct ctx *c, struct lp_sec *s, const void *data, uint64_t len,
			  uint64_t align)
{
	uint64_t a = align ? align : 1; /* as lp_sec_append() pads */
	uint64_t pad = (a - s->size % a) % a;
	int64_t off;

	if (s->type != SHT_NOBITS &&
	    (len > c->out_cap || pad > c->out_cap - len || pad + len > c->out_cap - c->out_bytes)) {
		if (!c->err) {
			c->err =
				diff_bad(c, -EFBIG, c->p.name,
					 "the diff of section '%s' would take the output past %llu "
					 "bytes (a few times the inputs' size); refused",
					 s->name, (unsigned long long)c->out_cap);
		}
		return -EFBIG;
	}
	off = lp_sec_append(s, data, len, align);
	if (off >= 0 && s->type != SHT_NOBITS)
		c->out_bytes += pad + len;
	return off;
}

static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}

static void enqueue(struct ctx *c, struct item *it)
{
	if (it->queued)
		return;
	if (c->nqueue == c->queue_alloc) {
		size_t na = c->queue_alloc ? c->queue_alloc * 2 : 32;
		struct item **q = reallocarray(c->queue, na, sizeof(*q));

		if (!q) {
			CTX_NOMEM(c, -ENOMEM);
			return;
		}
		c->queue = q;
		c->queue_alloc = na;
	}
	it->queued = true;
	c->queue[c->nqueue++] = it;
}

static struct lp_sym *out_secsym(struct ctx *c, struct lp_sec *s)
{
	if (!s->secsym) {
		s->secsym = lp_elf_add_sym(c->out, s->name, STT_SECTION, STB_LOCAL, s, 0, 0);
		if (!s->secsym)
			CTX_NOMEM(c, -ENOMEM);
	}
	return s->secsym;
}

static struct lp_sym *out_undef(struct ctx *c, const char *name)
{
	struct lp_sym *s = lp_elf_find_sym(c->out, name);

	if (s && !s->sec)
		return s;
	s = lp_elf_add_sym(c->out, name, STT_NOTYPE, STB_GLOBAL, NULL, 0, 0);
	if (!s)
		CTX_NOMEM(c, -ENOMEM);
	return s;
}

/* An undefined symbol standing for ORIG, a static of the original object. */
static struct lp_sym *out_local_ref(struct ctx *c, struct item *orig)
{
	_cleanup_free_ char *name = NULL;
	struct lp_sym *s;

	if (asprintf(&name, "__tt_lp_local_%s_%s", c->hash, orig->sym->name) < 0) {
		CTX_NOMEM(c, -ENOMEM);
		return NULL;
	}
	s = lp_elf_find_sym(c->out, name);
	if (s)
		return s;
	s = out_undef(c, name);
	if (s) {
		long pos = -1;

		if (c->syms) {
			const char **anchors = calloc(c->o.nitems + 1, sizeof(*anchors));
			size_t na = 0;
			int r;

			if (!anchors) {
				CTX_NOMEM(c, -ENOMEM);
				return s;
			}
			for (size_t i = 0; i < c->o.nitems; i++)
				anchors[na++] = c->o.items[i].sym->name;
			r = lp_symtab_sympos(c->syms, orig->sym->name, orig->func, c->o.e->file,
					     anchors, na, &pos);
			free(anchors);
			if (r == -ENOENT && c->object)
				refuse(c,
				       "static %s '%s' is not in the symbol table of module '%s' "
				       "(inlined there?)",
				       orig->func ? "function" : "variable", orig->sym->name,
				       c->object);
			else if (r == -ENOENT)
				refuse(c,
				       "static %s '%s' is not in the kernel's symbol table "
				       "(inlined there?)",
				       orig->func ? "function" : "variable", orig->sym->name);
			else if (r == -ENOTUNIQ && c->object)
				refuse(c, "static %s '%s' is ambiguous in module '%s'",
				       orig->func ? "function" : "variable", orig->sym->name,
				       c->object);
			else if (r == -EDOM)
				refuse(c,
				       "static %s '%s' has no position in module '%s' that holds "
				       "both while it loads and once it runs",
				       orig->func ? "function" : "variable", orig->sym->name,
				       strempty(c->object));
			else if (r == -ENOTUNIQ)
				refuse(c,
				       "static %s '%s' is ambiguous in the kernel's symbol table; "
				       "give the debug vmlinux",
				       orig->func ? "function" : "variable", orig->sym->name);
			else if (r < 0)
				CTX_NOMEM(c, r);
		}
		CTX_NOMEM(c, strbuf_addf(&c->metabuf, "local %s %s %s %ld\n", name, orig->sym->name,
					 orig->func ? "func" : "object", pos));
	}
	return s;
}

static int64_t str_include(struct ctx *c, struct lp_sec *s, struct str *st)
{
	struct secinfo *si = s->priv;

	if (st->out_off >= 0)
		return st->out_off;
	if (!si->out) {
		si->out = lp_elf_add_sec(c->out, s->name, SHT_PROGBITS, s->flags, s->align);
		if (!si->out) {
			CTX_NOMEM(c, -ENOMEM);
			return 0;
		}
		si->out->entsize = s->entsize;
	}
	st->out_off = out_append(c, si->out, s->data + st->start, st->len, s->align);
	if (st->out_off < 0) {
		CTX_NOMEM(c, (int)st->out_off);
		return 0;
	}
	{
		_cleanup_free_ char *esc = NULL;
		size_t n = MIN(st->len ? st->len - 1 : 0, (uint64_t)60);

		esc = strndup((const char *)s->data + st->start, n);
		for (char *q = esc; q && *q; q++)
			if (!isprint((unsigned char)*q) || *q == '"')
				*q = '?';
		CTX_NOMEM(c, vec_addf(&c->included, "string \"%s%s\"", strempty(esc),
				      st->len - 1 > n ? "..." : ""));
	}
	return st->out_off;
}

static void copy_relas(struct ctx *c, struct lp_sec *from, uint64_t start, uint64_t size,
		       struct lp_sec *to, uint64_t to_off);
static void copy_relas_skip(struct ctx *c, struct lp_sec *from, uint64_t start, uint64_t size,
			    struct lp_sec *to, uint64_t to_off, uint64_t skip);

static struct lp_sec *whole_include(struct ctx *c, struct lp_sec *s)
{
	struct secinfo *si = s->priv;

	if (si->whole)
		return si->out;
	si->whole = true;
	si->out =
		lp_elf_add_sec(c->out, s->name, s->type, s->flags & ~(uint64_t)SHF_GROUP, s->align);
	if (!si->out) {
		CTX_NOMEM(c, -ENOMEM);
		return NULL;
	}
	si->out->entsize = s->entsize;
	CTX_NOMEM(c, append_err(out_append(c, si->out, s->type == SHT_NOBITS ? NULL : s->data,
					   s->size, 1)));
	CTX_NOMEM(c, vec_addf(&c->included, "section %s (%llu bytes)", s->name,
			      (unsigned long long)s->size));
	if (s->flags & SHF_WRITE)
		CTX_NOMEM(c, vec_addf(&c->warnings,
				      "unnamed writable data in %s is copied: its state is not "
				      "shared with the running kernel",
				      s->name));
	copy_relas(c, s, 0, s->size, si->out, 0);
	return si->out;
}

/* ---- unchanged statics the kernel cannot name: copy or refuse ---- */

/* The position of the original's static ORIG in the target's symbols (c->syms set). */
static int local_sympos(struct ctx *c, const struct item *orig, long *ret_pos)
{
	_cleanup_free_ const char **anchors = calloc(c->o.nitems + 1, sizeof(*anchors));

	if (!anchors)
		return -ENOMEM;
	for (size_t i = 0; i < c->o.nitems; i++)
		anchors[i] = c->o.items[i].sym->name;
	return lp_symtab_sympos(c->syms, orig->sym->name, orig->func, c->o.e->file, anchors,
				c->o.nitems, ret_pos);
}

/* Is relocation R of FROM the target of a direct call or jump (call, jmp, jcc rel32)? */
static bool rela_is_call(const struct lp_sec *from, const struct lp_rela *r)
{
	const struct secinfo *si = from->priv;
	const uint8_t *d = from->data;
	uint64_t off = r->offset;

	if ((si->kind != SK_TEXT && si->kind != SK_ALTREPL) || !d || off < 1 || off > from->size)
		return false;
	if (r->type != R_X86_64_PLT32 && r->type != R_X86_64_PC32)
		return false;
	if (d[off - 1] == 0xe8 || d[off - 1] == 0xe9)
		return true;
	return off >= 2 && d[off - 2] == 0x0f && (d[off - 1] & 0xf0) == 0x80;
}

#define STATELESS_DEPTH 8

static bool once_flag(const struct item *it);

/* Sets *WHY (why a copy would not be the function) and answers false. */
static bool not_stateless(char **why, const char *fmt, ...) _printf_(2, 3);
static bool not_stateless(char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(why, fmt, ap) < 0)
		*why = NULL;
	va_end(ap);
	return false;
}

static bool stateless(struct ctx *c, struct item *fn, unsigned depth, char **why);

/* Does a relocation of code being copied keep it free of state of its own? */
static bool target_stateless(struct ctx *c, const struct lp_sec *from, const struct lp_rela *r,
			     unsigned depth, char **why)
{
	struct target t = resolve(from, r);
	struct item *it;

	switch (t.kind) {
	case T_UNDEF:
	case T_STR:
		return true; /* a global by name; a string */
	case T_ANON:
		if (!(t.sec->flags & SHF_WRITE) && !(t.sec->flags & SHF_EXECINSTR))
			return true;
		return not_stateless(why, "it uses unnamed %s in %s",
				t.sec->flags & SHF_WRITE ? "writable data" : "code",
				t.sec->name);
	case T_ITEM:
		break;
	}
	it = t.item;
	if (it->visit == c->visit)
		return true; /* being checked: itself, its cold part, a recursion */
	if (it->func) {
		if (it->sym->bind != STB_LOCAL)
			return true; /* shared by name */
		if (!rela_is_call(from, r))
			return not_stateless(why, "it takes the address of static function '%s'",
					it->sym->name);
		return stateless(c, it, depth + 1, why);
	}
	if (!(it->sec->flags & SHF_WRITE) || it->sym->bind != STB_LOCAL)
		return true; /* read-only data, or a global variable shared by name */
	if (once_flag(it))
		return true; /* shared when it can be named, else copied: see once_flag() */
	return not_stateless(why, "it uses %s '%s' (state of its own)",
			it->static_local ? "static local" : "static variable", it->sym->name);
}

/*
 * Holds FN no state of its own, through everything it calls that would be copied with it?
 * Writable statics (file-scope or static locals, WARN_ONCE's flags, locks), unnamed writable
 * data, and the address of a static function (which would differ from the kernel's) are
 * state; globals are shared by name, read-only data and strings are copied.
 */
static bool stateless(struct ctx *c, struct item *fn, unsigned depth, char **why)
{
	struct lp_rela *r;
	size_t n;

	if (depth > STATELESS_DEPTH)
		return not_stateless(why, "it calls statics more than %d deep", STATELESS_DEPTH);
	fn->visit = c->visit;
	for (size_t k = 0; k < c->p.nitems; k++)
		if (c->p.items[k].parent == fn)
			c->p.items[k].visit = c->visit;
	n = relas_in(fn->sec, fn->start, fn->size, &r);
	for (size_t i = 0; i < n; i++)
		if (!target_stateless(c, fn->sec, &r[i], depth, why))
			return false;
	for (size_t k = 0; k < c->p.nitems; k++) {
		struct item *cold = &c->p.items[k];

		if (cold->parent != fn)
			continue;
		n = relas_in(cold->sec, cold->start, cold->size, &r);
		for (size_t i = 0; i < n; i++)
			if (!target_stateless(c, cold->sec, &r[i], depth, why))
				return false;
	}
	/* what its table entries use: jump-label keys, __bug_table strings, fixups */
	for (size_t i = 0; i < c->p.e->nsecs; i++) {
		struct lp_sec *s = c->p.e->secs[i];
		const struct secinfo *si = s->priv;

		if (si->kind != SK_SPECIAL || s->type == SHT_NOBITS || !si->special->compare)
			continue;
		for (uint64_t off = 0; off + si->special->entsize <= s->size;
		     off += si->special->entsize) {
			struct item *owner = special_owner(s, off);

			if (!owner || (owner != fn && owner->parent != fn))
				continue;
			n = relas_in(s, off, si->special->entsize, &r);
			for (size_t j = 0; j < n; j++) {
				struct target t = resolve(s, &r[j]);

				/* entries point back into their function */
				if (t.kind == T_ITEM && t.item->func)
					continue;
				if (t.kind == T_ANON && ((struct secinfo *)t.sec->priv)->kind ==
							       SK_ALTREPL)
					continue;
				if (!target_stateless(c, s, &r[j], depth, why))
					return false;
			}
		}
	}
	return true;
}

/* Has the read-only object IT (unchanged) a relocation to code or to anything writable? */
static bool rodata_has_code_or_state(const struct item *it)
{
	struct lp_rela *r;
	size_t n = relas_in(it->sec, it->start, it->size, &r);

	for (size_t i = 0; i < n; i++) {
		struct target t = resolve(it->sec, &r[i]);

		if (t.kind == T_STR)
			continue;
		if (t.kind == T_ITEM && !t.item->func && !(t.item->sec->flags & SHF_WRITE))
			continue;
		if (t.kind == T_ANON && !(t.sec->flags & (SHF_WRITE | SHF_EXECINSTR)))
			continue;
		return true;
	}
	return false;
}

/*
 * The flag of a pr_*_once()/WARN_ONCE() (.data.once): its only state is whether a message
 * was printed, so a fresh copy costs at most the message once more.
 */
static bool once_flag(const struct item *it)
{
	return !it->func && it->static_local && streq(it->sec->name, ".data.once");
}

/*
 * An unchanged static of the file that the carried code uses (IT, in the patched object;
 * R its relocation in FROM): the running kernel's when the target's symbols name it, else
 * a copy when a copy cannot be told from the original. Decided once per item.
 *
 * Read-only static locals (__func__.N, CSWTCH.N, a function's static const table) are always
 * copied: no state, and their numbered names are what kallsyms holds many of; so are static
 * locals of no bytes (lockdep's __key.N in a kernel without lockdep). A file-scope
 * const object the symbols do not name uniquely is copied when it holds only data (a pointer
 * to it is compared or registered only for tables of functions, where a copy would differ).
 * A static function is copied when it holds no state of its own (see stateless()) and the
 * patch only calls it. A once-only flag (once_flag()) is copied when it cannot be named.
 */
static int resolve_static(struct ctx *c, const struct lp_sec *from, const struct lp_rela *r,
			  struct item *it)
{
	_cleanup_free_ char *why = NULL;
	bool ro = !it->func && !(it->sec->flags & SHF_WRITE);
	long pos;
	int k;

	if (it->res != RES_UNDECIDED)
		return it->res;
	it->res = RES_REFERENCE;
	if (ro && it->static_local) {
		it->res = RES_COPY;
		return it->res;
	}
	/* a static local of no bytes (lockdep's __key without CONFIG_LOCKDEP) holds no state */
	if (!it->func && it->static_local && it->size == 0 && it->twin && it->twin->size == 0) {
		it->res = RES_COPY;
		return it->res;
	}
	if (!c->syms || (!ro && !it->func && !once_flag(it)))
		return it->res; /* positions are resolved when the module is linked */
	k = local_sympos(c, it->twin, &pos);
	if (k >= 0)
		return it->res;
	if (k != -ENOENT && k != -ENOTUNIQ && k != -EDOM) {
		CTX_NOMEM(c, k);
		return it->res;
	}
	if (once_flag(it)) {
		it->res = RES_COPY;
		CTX_NOMEM(c, vec_addf(&c->warnings,
				      "once-only flag '%s' is %s: the new code has its own, so "
				      "its message may be printed once more",
				      it->twin->sym->name,
				      k == -ENOENT ? "not in the target's symbol table"
						   : "ambiguous in the target's symbol table"));
		return it->res;
	}
	if (ro) {
		if (k == -ENOENT || !rodata_has_code_or_state(it))
			it->res = RES_COPY;
		return it->res; /* else out_local_ref() refuses it, naming it */
	}
	/* a static function */
	c->visit++;
	if (!rela_is_call(from, r)) {
		why = strdup("the new code takes its address, which a copy would change");
		if (!why)
			CTX_NOMEM(c, -ENOMEM);
	} else if (stateless(c, it, 0, &why)) {
		it->res = RES_COPY;
		it->copied_fn = true;
		CTX_NOMEM(c, vec_addf(&c->warnings,
				      "static function '%s' is %s; the patch calls a copy (it "
				      "holds no state of its own)",
				      it->twin->sym->name,
				      k == -ENOENT ? "not in the target's symbol table"
						   : "ambiguous in the target's symbol table"));
		return it->res;
	}
	it->res = RES_REFUSED;
	refuse(c,
	       "static function '%s' is %s and cannot be copied: %s; %s",
	       it->twin->sym->name,
	       k == -ENOENT   ? "not in the target's symbol table (inlined there?)"
	       : k == -EDOM   ? "without a position that holds while its module loads and runs"
			      : "ambiguous in the target's symbol table",
	       why ? why : "it holds state",
	       k == -ENOTUNIQ && !c->object
		       ? "give the debug vmlinux (--vmlinux) to tell which one is this file's"
		       : "patch the functions that call it instead, so they are carried whole");
	return it->res;
}

/*
 * Is R of FROM, which is not a call, a use of the address of function IT? Its own table
 * entries (ftrace, ORC, return sites) and references from inside it are not.
 */
static bool takes_address(const struct lp_sec *from, const struct lp_rela *r,
			  const struct item *it)
{
	const struct secinfo *si = from->priv;
	const struct item *owner;

	if (si->kind == SK_SPECIAL || si->kind == SK_ORC)
		return false;
	if (si->kind != SK_TEXT)
		return true; /* a pointer in data */
	owner = item_at(from, r->offset, false);
	return !owner || (owner != it && owner->parent != it);
}

/* Emits a relocation at TO+OFF equivalent to R of FROM. */
static void emit_rela(struct ctx *c, struct lp_sec *from, const struct lp_rela *r,
		      struct lp_sec *to, uint64_t off)
{
	struct target t = resolve(from, r);
	struct lp_sym *sym = NULL;
	int64_t addend = 0;

	switch (t.kind) {
	case T_UNDEF:
		sym = out_undef(c, t.sym->name);
		addend = r->addend;
		break;
	case T_STR:
		addend = str_include(c, t.sec, t.str) + (t.abs - (int64_t)t.str->start);
		if (!((struct secinfo *)t.sec->priv)->out)
			return;
		sym = out_secsym(c, ((struct secinfo *)t.sec->priv)->out);
		break;
	case T_ANON: {
		struct secinfo *si = t.sec->priv;

		if (si->kind == SK_STRINGS || si->kind == SK_DATA || si->kind == SK_TEXT ||
		    si->kind == SK_COPYDATA) {
			struct lp_sec *w = whole_include(c, t.sec);

			if (!w)
				return;
			sym = out_secsym(c, w);
			addend = t.abs;
		} else {
			refuse(c, "reference to %s+%lld cannot be carried", t.sec->name,
			       (long long)t.abs);
			return;
		}
		break;
	}
	case T_ITEM: {
		struct item *it = t.item;
		struct secinfo *si = it->sec->priv;

		if (si->whole) {
			sym = out_secsym(c, si->out);
			addend = t.abs;
			break;
		}
		if (it->copied_fn && !rela_is_call(from, r) && takes_address(from, r, it)) {
			refuse(c,
			       "static function '%s' is copied (the target's symbols cannot name "
			       "it) but the new code also takes its address, which the copy "
			       "changes; give the debug vmlinux or patch its callers",
			       it->sym->name);
			return;
		}
		if (!it->queued && it->status == ST_SAME && si->kind != SK_COPYDATA &&
		    it->twin->sym->bind == STB_LOCAL) {
			int res = resolve_static(c, from, r, it);

			if (res == RES_REFUSED)
				return;
			if (res == RES_COPY && it->func) {
				/* its cold parts go with it */
				for (size_t k = 0; k < c->p.nitems; k++)
					if (c->p.items[k].parent == it)
						enqueue(c, &c->p.items[k]);
			}
			if (res == RES_COPY)
				enqueue(c, it);
		}
		if (it->queued || it->status != ST_SAME || si->kind == SK_COPYDATA) {
			enqueue(c, it);
			if (!it->out) {
				/* placed when dequeued: point at its symbol, fixed up below */
				if (!it->out_sym) {
					it->out_sym =
						lp_elf_add_sym(c->out, it->sym->name, it->sym->type,
							       STB_LOCAL, NULL, 0, it->size);
					if (!it->out_sym) {
						CTX_NOMEM(c, -ENOMEM);
						return;
					}
				}
			}
			sym = it->out_sym;
			addend = t.abs - (int64_t)it->start;
			break;
		}
		/* an unchanged function or an existing variable: the running kernel's */
		if (it->twin->sym->bind == STB_LOCAL)
			sym = out_local_ref(c, it->twin);
		else
			sym = out_undef(c, it->twin->sym->name);
		addend = t.abs - (int64_t)it->start;
		if (!it->func && it->static_local && it->twin &&
		    !streq(it->twin->sym->name, it->sym->name))
			CTX_NOMEM(c, vec_addf(&c->warnings,
					      "static local '%s' is the original's '%s': its "
					      "state is shared, not copied",
					      it->sym->name, it->twin->sym->name));
		break;
	}
	}
	if (!sym)
		return;
	CTX_NOMEM(c, lp_sec_add_rela(c->out, to, off, r->type, sym, addend));
}

static void copy_relas_skip(struct ctx *c, struct lp_sec *from, uint64_t start, uint64_t size,
			    struct lp_sec *to, uint64_t to_off, uint64_t skip)
{
	struct lp_rela *r;
	size_t n = relas_in(from, start, size, &r);

	for (size_t i = 0; i < n && !c->err; i++)
		if (r[i].offset != skip)
			emit_rela(c, from, &r[i], to, r[i].offset - start + to_off);
}

static void copy_relas(struct ctx *c, struct lp_sec *from, uint64_t start, uint64_t size,
		       struct lp_sec *to, uint64_t to_off)
{
	copy_relas_skip(c, from, start, size, to, to_off, UINT64_MAX);
}

static void place_item(struct ctx *c, struct item *it)
{
	struct lp_sec *s;
	int64_t off;

	it->included = true;
	s = lp_elf_add_sec(c->out, it->sec->name, it->sec->type,
			   it->sec->flags & ~(uint64_t)SHF_GROUP, it->sec->align);
	if (!s) {
		CTX_NOMEM(c, -ENOMEM);
		return;
	}
	s->entsize = it->sec->entsize;
	off = out_append(c, s, it->sec->type == SHT_NOBITS ? NULL : it->sec->data + it->start,
			 it->size, 1);
	if (off < 0) {
		CTX_NOMEM(c, (int)off);
		return;
	}
	it->out = s;
	it->out_off = (uint64_t)off;
	if (!it->out_sym) {
		it->out_sym = lp_elf_add_sym(c->out, it->sym->name, it->sym->type, STB_LOCAL, s, 0,
					     it->size);
		if (!it->out_sym) {
			CTX_NOMEM(c, -ENOMEM);
			return;
		}
	}
	it->out_sym->sec = s;
	it->out_sym->value = 0;
	/* new global functions stay global so other parts of the patch can call them */
	it->out_sym->bind = it->status == ST_NEW ? it->sym->bind : STB_LOCAL;
	if (it->out_sym->bind == STB_WEAK)
		it->out_sym->bind = STB_GLOBAL;
	copy_relas(c, it->sec, it->start, it->size, s, 0);
	if (it->func && it->twin && it->status == ST_CHANGED && !it->parent) {
		/* a global alias the module's klp_func can name */
		_cleanup_free_ char *alias = NULL;
		struct lp_sym *a;

		if (asprintf(&alias, "__tt_lp_new_%s_%s", c->hash, it->twin->sym->name) < 0) {
			CTX_NOMEM(c, -ENOMEM);
			return;
		}
		a = lp_elf_add_sym(c->out, alias, STT_FUNC, STB_GLOBAL, s, 0, it->size);
		if (!a) {
			CTX_NOMEM(c, -ENOMEM);
			return;
		}
		a->other = STV_HIDDEN;
		CTX_NOMEM(c, strbuf_addf(&c->metabuf, "func %s %s %s\n", alias, it->twin->sym->name,
					 it->sym->name));
	} else if (!it->func) {
		CTX_NOMEM(c, vec_addf(&c->included, "%s %s (%llu bytes)",
				      it->status == ST_NEW ? "new data"
				      : it->status != ST_SAME	? "changed read-only data"
				      : (it->sec->flags & SHF_WRITE) ? "copied once-only flag"
								     : "copied read-only data",
				      it->sym->name, (unsigned long long)it->size));
		if (it->status == ST_NEW && it->static_local && (it->sec->flags & SHF_WRITE))
			CTX_NOMEM(c, vec_addf(&c->warnings,
					      "static local '%s' has no counterpart in the "
					      "original: the new code starts with fresh state",
					      it->sym->name));
	} else if (it->status == ST_NEW) {
		CTX_NOMEM(c, vec_addf(&c->included, "new function %s", it->sym->name));
	} else if (it->copied_fn) {
		CTX_NOMEM(c, vec_addf(&c->included, "copied function %s", it->sym->name));
	} else if (it->parent) {
		CTX_NOMEM(c, vec_addf(&c->included, "cold part %s", it->sym->name));
	}
}

static void drain(struct ctx *c)
{
	for (size_t i = 0; i < c->nqueue && !c->err; i++)
		if (!c->queue[i]->included)
			place_item(c, c->queue[i]);
}

static void carry_specials(struct ctx *c)
{
	struct lp_elf *pe = c->p.e;
	struct lp_sec *orc = find_table(pe, ".orc_unwind", SK_ORC);
	struct lp_sec *alt_out = NULL, *orc_out = NULL;

	for (size_t i = 0; i < pe->nsecs && !c->err; i++) {
		struct lp_sec *s = pe->secs[i];
		struct secinfo *si = s->priv;
		const struct special *sp = si->special;
		size_t kept = 0;

		if (si->kind != SK_SPECIAL || s->type == SHT_NOBITS)
			continue;
		for (uint64_t off = 0; off + sp->entsize <= s->size; off += sp->entsize) {
			struct item *owner = special_owner(s, off);
			int64_t at;

			if (!owner || !owner->included)
				continue;
			if (!si->out) {
				si->out = lp_elf_add_sec(c->out, s->name, s->type,
							 s->flags & ~(uint64_t)SHF_GROUP, s->align);
				if (!si->out) {
					CTX_NOMEM(c, -ENOMEM);
					return;
				}
				si->out->entsize = s->entsize;
			}
			at = out_append(c, si->out, s->data + off, sp->entsize, 1);
			if (at < 0) {
				CTX_NOMEM(c, (int)at);
				return;
			}
			copy_relas_skip(c, s, off, sp->entsize, si->out, (uint64_t)at,
					streq(s->name, ".altinstructions") ? off + 4 : UINT64_MAX);
			kept++;
			if (streq(s->name, ".orc_unwind_ip")) {
				uint64_t idx = off / 4;

				if (!orc || orc->type == SHT_NOBITS || (idx + 1) * 6 > orc->size) {
					refuse(c, "%s has no matching .orc_unwind entry", s->name);
					continue;
				}
				if (!orc_out) {
					orc_out = lp_elf_add_sec(c->out, ".orc_unwind", orc->type,
								 orc->flags, orc->align);
					if (!orc_out) {
						CTX_NOMEM(c, -ENOMEM);
						return;
					}
					orc_out->entsize = orc->entsize;
				}
				CTX_NOMEM(c, append_err(out_append(c, orc_out, orc->data + idx * 6,
								   6, 1)));
			}
			if (streq(s->name, ".altinstructions")) {
				struct lp_sec *repl =
					find_table(pe, ".altinstr_replacement", SK_ALTREPL);
				struct lp_rela *r;
				uint8_t len = s->data[off + 11];
				struct target t;
				int64_t ro;

				if (relas_in(s, off + 4, 4, &r) != 1) {
					refuse(c,
					       ".altinstructions entry of '%s' has no replacement "
					       "relocation",
					       owner->sym->name);
					continue;
				}
				t = resolve(s, r);
				if (!repl || t.sec != repl || t.abs < 0 ||
				    (uint64_t)t.abs + len > repl->size) {
					refuse(c,
					       ".altinstructions entry of '%s' points outside "
					       ".altinstr_replacement",
					       owner->sym->name);
					continue;
				}
				if (!alt_out) {
					alt_out = lp_elf_add_sec(c->out, repl->name, repl->type,
								 repl->flags, repl->align);
					if (!alt_out) {
						CTX_NOMEM(c, -ENOMEM);
						return;
					}
				}
				ro = out_append(c, alt_out, repl->data + t.abs, len, 1);
				if (ro < 0) {
					CTX_NOMEM(c, (int)ro);
					return;
				}
				copy_relas(c, repl, (uint64_t)t.abs, len, alt_out, (uint64_t)ro);
				/* the entry's replacement is the copy */
				if (out_secsym(c, alt_out))
					CTX_NOMEM(c,
						  lp_sec_add_rela(c->out, si->out, (uint64_t)at + 4,
								  r->type, alt_out->secsym,
								  ro + (r->addend - t.abs)));
			}
		}
		if (kept)
			CTX_NOMEM(c, vec_addf(&c->special, "%s: %zu entr%s", s->name, kept,
					      kept == 1 ? "y" : "ies"));
		drain(c); /* strings of __bug_table entries, replacement targets */
	}
}

/* ---- report ---- */

void lp_diff_report_free(struct lp_diff_report *r)
{
	if (!r)
		return;
	free(r->file);
	free(r->object);
	for (size_t i = 0; i < r->nfuncs; i++) {
		free(r->funcs[i].name);
		free(r->funcs[i].orig_name);
	}
	free(r->funcs);
	for (size_t i = 0; i < r->nincluded; i++)
		free(r->included[i]);
	free(r->included);
	for (size_t i = 0; i < r->nspecial; i++)
		free(r->special[i]);
	free(r->special);
	for (size_t i = 0; i < r->nrefusals; i++)
		free(r->refusals[i]);
	free(r->refusals);
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	for (size_t i = 0; i < r->ncallbacks; i++)
		free(r->callbacks[i]);
	free(r->callbacks);
	free(r);
}

static json_t *strings_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *lp_diff_report_to_json(const struct lp_diff_report *r, int result)
{
	json_t *j = json_object(), *funcs = json_array();
	const char *res = result == LP_DIFF_WRITTEN    ? "written"
			  : result == LP_DIFF_UNSAFE   ? "unsafe"
			  : result == LP_DIFF_NOCHANGE ? "nochange"
						       : "error";

	if (!j || !funcs) {
		json_decref(j);
		json_decref(funcs);
		return NULL;
	}
	for (size_t i = 0; i < r->nfuncs; i++) {
		const struct lp_diff_func *f = &r->funcs[i];

		json_array_append_new(
			funcs, json_pack("{s:s, s:o, s:s, s:I}", "name", f->name, "orig_name",
					 f->orig_name ? json_string(f->orig_name) : json_null(),
					 "kind", f->kind == LP_FUNC_NEW ? "new" : "changed",
					 "sympos", (json_int_t)f->sympos));
	}
	json_object_set_new(j, "file", r->file ? json_string(r->file) : json_null());
	json_object_set_new(j, "object", json_string(r->object ? r->object : "vmlinux"));
	json_object_set_new(j, "result", json_string(res));
	json_object_set_new(j, "functions", funcs);
	json_object_set_new(j, "included", strings_json(r->included, r->nincluded));
	json_object_set_new(j, "special", strings_json(r->special, r->nspecial));
	json_object_set_new(j, "refusals", strings_json(r->refusals, r->nrefusals));
	json_object_set_new(j, "warnings", strings_json(r->warnings, r->nwarnings));
	json_object_set_new(j, "callbacks", strings_json(r->callbacks, r->ncallbacks));
	return j;
}

static struct lp_diff_report *make_report(struct ctx *c)
{
	struct lp_diff_report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->file = c->p.e->file ? strdup(c->p.e->file) : NULL;
	r->object = c->object ? strdup(c->object) : NULL;
	if (c->object && !r->object) {
		lp_diff_report_free(r);
		return NULL;
	}
	r->funcs = calloc(c->p.nitems ? c->p.nitems : 1, sizeof(*r->funcs));
	if (!r->funcs) {
		lp_diff_report_free(r);
		return NULL;
	}
	for (size_t i = 0; i < c->p.nitems; i++) {
		struct item *it = &c->p.items[i];
		struct lp_diff_func *f;

		if (!it->func || it->parent || it->status == ST_SAME)
			continue;
		if (it->status == ST_NEW && c->out && !it->included)
			continue; /* a new function nothing calls */
		f = &r->funcs[r->nfuncs++];
		f->name = strdup(it->sym->name);
		f->orig_name = it->twin ? strdup(it->twin->sym->name) : NULL;
		f->kind = it->status == ST_NEW ? LP_FUNC_NEW : LP_FUNC_CHANGED;
		f->sympos = -1;
		if (it->twin && c->syms) {
			const char **anchors = calloc(c->o.nitems + 1, sizeof(*anchors));
			long pos;

			for (size_t k = 0; anchors && k < c->o.nitems; k++)
				anchors[k] = c->o.items[k].sym->name;
			if (anchors &&
			    lp_symtab_sympos(c->syms, it->twin->sym->name, true, c->o.e->file,
					     anchors, c->o.nitems, &pos) >= 0)
				f->sympos = pos;
			free(anchors);
		}
	}
#define MOVE(field, from)                                                                          \
	do {                                                                                       \
		r->field = c->from.v;                                                              \
		r->n##field = c->from.n;                                                           \
		c->from = (struct vec){};                                                          \
	} while (0)
	MOVE(included, included);
	MOVE(special, special);
	MOVE(refusals, refusals);
	MOVE(warnings, warnings);
	MOVE(callbacks, callbacks);
#undef MOVE
	return r;
}

/* ---- the author's callbacks ---- */

static const char *const callback_kinds[] = {"pre_patch", "post_patch", "pre_unpatch",
					     "post_unpatch"};

/* .tuxtape.cb.KIND: pointers to the author's callbacks (<tuxtape/livepatch.h>). */
static void find_callbacks(struct ctx *c)
{
	for (size_t k = 0; k < ARRAY_SIZE(callback_kinds); k++) {
		_cleanup_free_ char *name = NULL;
		struct target t[MAX_MARKERS];
		size_t n;

		if (asprintf(&name, ".tuxtape.cb.%s", callback_kinds[k]) < 0) {
			CTX_NOMEM(c, -ENOMEM);
			return;
		}
		n = marker_targets(c, name, t, MAX_MARKERS);
		for (size_t i = 0; i < n; i++) {
			if (t[i].kind != T_ITEM || !t[i].item->func || target_delta(&t[i]) != 0 ||
			    sec_is_init(t[i].item->sec)) {
				refuse(c, "a %s callback is not a function of this file that can "
					  "be carried (not __init)",
				       callback_kinds[k]);
				continue;
			}
			if (t[i].item->callback && !streq(t[i].item->callback, callback_kinds[k])) {
				refuse(c, "function '%s' is both a %s and a %s callback",
				       t[i].item->sym->name, t[i].item->callback, callback_kinds[k]);
				continue;
			}
			t[i].item->callback = callback_kinds[k];
		}
	}
}

/* A global alias per callback, named in .tuxtape.lp for the klp_object's callbacks. */
static void emit_callbacks(struct ctx *c)
{
	size_t seq = 0;

	for (size_t i = 0; i < c->p.nitems && !c->err; i++) {
		struct item *it = &c->p.items[i];
		_cleanup_free_ char *alias = NULL;
		struct lp_sym *a;

		if (!it->callback || !it->out)
			continue;
		if (asprintf(&alias, "__tt_lp_cb_%s_%zu_%s", c->hash, seq++, it->sym->name) < 0) {
			CTX_NOMEM(c, -ENOMEM);
			return;
		}
		a = lp_elf_add_sym(c->out, alias, STT_FUNC, STB_GLOBAL, it->out, it->out_off,
				   it->size);
		if (!a) {
			CTX_NOMEM(c, -ENOMEM);
			return;
		}
		a->other = STV_HIDDEN;
		CTX_NOMEM(c, strbuf_addf(&c->metabuf, "callback %s %s\n", it->callback, alias));
		CTX_NOMEM(c, vec_addf(&c->callbacks, "%s %s", it->callback, it->sym->name));
	}
}

/* ---- driver ---- */

/*
 * A new global function or variable: other changed files of the patch may use it (a new
 * helper defined in one file and called from another), so it is carried even when nothing
 * in its own file uses it, and keeps its global binding for the module's link.
 */
static bool new_global(const struct item *it)
{
	return it->status == ST_NEW && it->sym->bind != STB_LOCAL && !it->parent &&
	       !sec_is_init(it->sec) && ((const struct secinfo *)it->sec->priv)->kind != SK_COPYDATA;
}

static int do_diff(struct ctx *c, const char *out_o)
{
	bool any = false;
	uint32_t h = 2166136261u;
	int r;

	sort_relas(c->o.e);
	sort_relas(c->p.e);
	r = side_init(c, &c->o, c->o.e);
	if (r >= 0)
		r = side_init(c, &c->p, c->p.e);
	if (r >= 0)
		r = validate(c, &c->o);
	if (r >= 0)
		r = validate(c, &c->p);
	if (r < 0)
		return r;
	correlate(c);
	compare(c);
	compare_groups(c);
	find_callbacks(c);
	if (c->err)
		return c->err;

	h = fnv1a(h, strempty(c->o.e->file));
	if (c->object)
		h = fnv1a(h, c->object); /* one file name may be in vmlinux and in modules */
	for (size_t i = 0; i < c->o.nitems; i++)
		if (c->o.items[i].sym->bind != STB_LOCAL)
			h = fnv1a(h, c->o.items[i].sym->name);
	snprintf(c->hash, sizeof(c->hash), "%08x", h);

	for (size_t i = 0; i < c->p.nitems; i++) {
		struct item *it = &c->p.items[i];

		if (it->func && it->status == ST_CHANGED)
			any = true;
		/* another changed file of the patch may use it: linked in the module */
		if (new_global(it))
			any = true;
		if (it->callback)
			any = true;
		/* a changed read-only object that no changed function uses changes nothing */
	}
	if (c->refusals.n)
		return LP_DIFF_UNSAFE;
	if (!any) {
		/* new functions nothing calls are not a functional change either */
		for (size_t i = 0; i < c->p.nitems; i++)
			if (c->p.items[i].status == ST_CHANGED && !c->p.items[i].func)
				CTX_NOMEM(c, vec_addf(&c->warnings,
						      "read-only '%s' changed but no function "
						      "using it did",
						      c->p.items[i].sym->name));
		return LP_DIFF_NOCHANGE;
	}

	c->out = lp_elf_new();
	if (!c->out)
		return -ENOMEM;
	CTX_NOMEM(c, strbuf_addf(&c->metabuf, "tuxtape-livepatch 1\nfile %s\nhash %s\n",
				 strempty(c->o.e->file), c->hash));
	if (c->object)
		CTX_NOMEM(c, strbuf_addf(&c->metabuf, "object %s\n", c->object));
	if (c->o.e->file && !lp_elf_add_sym(c->out, c->o.e->file, STT_FILE, STB_LOCAL, NULL, 0, 0))
		return -ENOMEM;
	if (c->out->nsyms)
		c->out->syms[0]->shndx = SHN_ABS;
	for (size_t i = 0; i < c->p.nitems; i++) {
		struct item *it = &c->p.items[i];

		if (it->func && it->status == ST_CHANGED && !it->parent) {
			enqueue(c, it);
			/* the cold parts go with their parent */
			for (size_t k = 0; k < c->p.nitems; k++)
				if (c->p.items[k].parent == it)
					enqueue(c, &c->p.items[k]);
		}
	}
	for (size_t i = 0; i < c->p.nitems; i++)
		if (new_global(&c->p.items[i]) || c->p.items[i].callback)
			enqueue(c, &c->p.items[i]);
	drain(c);
	carry_specials(c);
	emit_callbacks(c);
	if (c->err)
		return c->err;
	if (c->refusals.n)
		return LP_DIFF_UNSAFE;
	/* anchors: the original's symbols, to place its statics in kallsyms without vmlinux */
	for (size_t i = 0; i < c->o.nitems; i++)
		CTX_NOMEM(c, strbuf_addf(&c->metabuf, "anchor %s %s\n",
					 c->o.items[i].func ? "func" : "object",
					 c->o.items[i].sym->name));
	{
		struct lp_sec *m = lp_elf_add_sec(c->out, ".tuxtape.lp", SHT_PROGBITS, 0, 1);

		if (!m)
			return -ENOMEM;
		CTX_NOMEM(c,
			  append_err(out_append(c, m, strbuf_str(&c->metabuf), c->metabuf.len, 1)));
	}
	if (c->err)
		return c->err;
	if (out_o) {
		r = lp_elf_write(c->out, out_o);
		if (r < 0) {
			c->logged = r != -ENOMEM; /* the writer logs what it refuses */
			return r;
		}
	}
	return LP_DIFF_WRITTEN;
}

static int diff_mem(const void *orig, size_t orig_len, const char *orig_name, const void *patched,
		    size_t patched_len, const char *patched_name, const char *object,
		    const struct lp_symtab *syms, const char *out_o,
		    struct lp_diff_report **ret_report)
{
	struct ctx c = {.syms = syms, .object = object, .metabuf = STRBUF_INIT};
	struct lp_diff_report *rep = NULL;
	uint64_t in = (uint64_t)orig_len + patched_len;
	int r;

	c.o.name = orig_name;
	c.p.name = patched_name;
	c.out_cap = MIN((uint64_t)LP_ELF_MAX_OUTPUT, 4 * in + (1u << 20));
	r = lp_elf_parse(orig, orig_len, orig_name, &c.o.e);
	if (r >= 0)
		r = lp_elf_parse(patched, patched_len, patched_name, &c.p.e);
	if (r < 0)
		c.logged = r != -ENOMEM; /* the reader logs what it refuses */
	if (r >= 0)
		r = do_diff(&c, out_o);
	if (r >= 0) {
		rep = make_report(&c);
		if (!rep)
			r = -ENOMEM;
	}
	if (r < 0 && !c.logged)
		log_error("cannot diff '%s' and '%s': %s", orig_name, patched_name, strerror(-r));
	side_release(&c.o);
	side_release(&c.p);
	lp_elf_free(c.o.e);
	lp_elf_free(c.p.e);
	lp_elf_free(c.out);
	free(c.queue);
	vec_release(&c.included);
	vec_release(&c.special);
	vec_release(&c.refusals);
	vec_release(&c.warnings);
	vec_release(&c.locals);
	vec_release(&c.meta);
	vec_release(&c.callbacks);
	strbuf_release(&c.metabuf);
	if (r < 0)
		return r;
	*ret_report = rep;
	return r;
}

int lp_diff_mem(const void *orig, size_t orig_len, const void *patched, size_t patched_len,
		const struct lp_symtab *syms, const char *out_o, struct lp_diff_report **ret_report)
{
	return diff_mem(orig, orig_len, "<original>", patched, patched_len, "<patched>", NULL, syms,
			out_o, ret_report);
}

int lp_diff_object(const char *orig_o, const char *patched_o, const char *object,
		   const struct lp_symtab *syms, const char *out_o,
		   struct lp_diff_report **ret_report)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *obj = NULL;
	size_t alen, blen;
	int r;

	if (object && !streq(object, "vmlinux")) {
		obj = strdup(object);
		if (!obj)
			return -ENOMEM;
		for (char *q = obj; *q; q++)
			if (*q == '-')
				*q = '_';
		if (!lp_module_name_ok(obj))
			return log_error_errno(-EINVAL, "'%s' is not a module name", object);
	}
	r = read_file_capped(orig_o, LP_ELF_MAX_SIZE, &a, &alen);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", orig_o, strerror(-r));
	r = read_file_capped(patched_o, LP_ELF_MAX_SIZE, &b, &blen);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", patched_o, strerror(-r));
	return diff_mem(a, alen, orig_o, b, blen, patched_o, obj, syms, out_o, ret_report);
}

int lp_diff(const char *orig_o, const char *patched_o, const struct lp_symtab *syms,
	    const char *out_o, struct lp_diff_report **ret_report)
{
	return lp_diff_object(orig_o, patched_o, NULL, syms, out_o, ret_report);
}
