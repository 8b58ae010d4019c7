/*
 * The target kernel's symbols: kallsyms/System.map (for livepatch symbol positions),
 * a debug vmlinux's STT_FILE ordering (to tie a static to its file), Module.symvers.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "livepatch/elf.h"
#include "livepatch/klp-internal.h"
#include "livepatch/klp.h"
#include "log.h"
#include "strbuf.h"

#define SYMTAB_MAX_FILE (256u << 20)

struct ksym {
	uint64_t addr;
	char type;
	uint32_t name;	   /* offset in names */
	uint32_t next;	   /* next entry with the same hash bucket, +1; 0 ends */
	uint32_t file;	   /* from the debug vmlinux: index+1 in files, 0 unknown */
	bool loading_only; /* a module's: in its kallsyms only while it is being loaded */
};

struct lp_symtab {
	char *names;
	size_t names_len, names_alloc;
	struct ksym *syms;
	size_t nsyms, syms_alloc;
	uint32_t *buckets; /* index+1 of the first entry */
	size_t nbuckets;
	char **files; /* STT_FILE names of the debug vmlinux, in symtab order */
	size_t nfiles;
	bool have_files;
};

static uint32_t hash_name(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}

static int add_name(struct lp_symtab *st, const char *s, size_t n, uint32_t *ret)
{
	if (st->names_len + n + 1 > st->names_alloc) {
		size_t na = st->names_alloc ? st->names_alloc * 2 : 65536;
		char *p;

		while (na < st->names_len + n + 1)
			na *= 2;
		if (na > UINT32_MAX)
			return -E2BIG;
		p = realloc(st->names, na);
		if (!p)
			return -ENOMEM;
		st->names = p;
		st->names_alloc = na;
	}
	memcpy(st->names + st->names_len, s, n);
	st->names[st->names_len + n] = '\0';
	*ret = (uint32_t)st->names_len;
	st->names_len += n + 1;
	return 0;
}

static int build_index(struct lp_symtab *st)
{
	st->nbuckets = 1;
	while (st->nbuckets < st->nsyms * 2)
		st->nbuckets *= 2;
	free(st->buckets);
	st->buckets = calloc(st->nbuckets, sizeof(*st->buckets));
	if (!st->buckets)
		return -ENOMEM;
	/* insert backwards so each chain is in file order */
	for (size_t i = st->nsyms; i-- > 0;) {
		uint32_t b = hash_name(st->names + st->syms[i].name) & (st->nbuckets - 1);

		st->syms[i].next = st->buckets[b];
		st->buckets[b] = (uint32_t)i + 1;
	}
	return 0;
}

struct lp_symtab *lp_symtab_new(void)
{
	return calloc(1, sizeof(struct lp_symtab));
}

int lp_symtab_append(struct lp_symtab *st, const char *name, size_t nlen, uint64_t addr, char type,
		     bool loading_only)
{
	struct ksym *k;
	int r;

	if (st->nsyms == st->syms_alloc) {
		size_t na = st->syms_alloc ? st->syms_alloc * 2 : 4096;
		struct ksym *ns;

		if (na > UINT32_MAX)
			return -E2BIG;
		ns = reallocarray(st->syms, na, sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		st->syms = ns;
		st->syms_alloc = na;
	}
	k = &st->syms[st->nsyms];
	*k = (struct ksym){.addr = addr, .type = type, .loading_only = loading_only};
	r = add_name(st, name, nlen, &k->name);
	if (r < 0)
		return r;
	st->nsyms++;
	return 0;
}

int lp_symtab_seal(struct lp_symtab *st)
{
	return build_index(st);
}

static int bad_line(const char *path, unsigned line, const char *what)
{
	return log_error_errno(-EBADMSG, "'%s':%u: %s (expected 'ADDRESS TYPE NAME [\\t[MODULE]]')",
			       path, line, what);
}

/*
 * Every line must be a symbol (or blank): a file that is not a symbol table is refused at
 * its first bad line, named, instead of being read as one with symbols missing.
 */
static int symtab_parse(const char *buf, size_t len, const char *path, struct lp_symtab **ret)
{
	_cleanup_(lp_symtab_freep) struct lp_symtab *st = calloc(1, sizeof(*st));
	const char *p = buf, *end = buf + len;
	unsigned line = 0;
	int r;

	if (!st)
		return -ENOMEM;
	for (const char *next; p < end; p = next) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *q, *name, *rest;
		uint64_t addr = 0;
		unsigned ndigits = 0;
		char type;
		size_t nlen;

		next = eol ? eol + 1 : end;
		if (!eol)
			eol = end;
		line++;
		if (eol > p && eol[-1] == '\r')
			eol--;
		if (eol == p)
			continue;
		for (q = p; q < eol && isxdigit((unsigned char)*q); q++, ndigits++)
			addr = addr * 16 + (uint64_t)(isdigit((unsigned char)*q)
							      ? *q - '0'
							      : (tolower(*q) - 'a' + 10));
		if (q == p)
			return bad_line(path, line, "no hexadecimal address at the start");
		if (ndigits > 16)
			return bad_line(path, line, "the address has more than 16 hex digits");
		if (q + 2 > eol || *q != ' ' || !isgraph((unsigned char)q[1]))
			return bad_line(path, line, "no symbol type after the address");
		if (q + 3 >= eol)
			return bad_line(path, line, "no symbol name");
		if (q[2] != ' ')
			return bad_line(path, line, "the symbol type is more than one letter");
		type = q[1];
		name = q + 3;
		for (nlen = 0; name + nlen < eol && name[nlen] != '\t' && name[nlen] != ' '; nlen++)
			if (!isgraph((unsigned char)name[nlen]))
				return bad_line(path, line,
						"a control or non-ASCII byte in the name");
		if (nlen == 0)
			return bad_line(path, line, "no symbol name");
		if (nlen >= 512)
			return bad_line(path, line, "the symbol name is longer than 511 bytes");
		rest = name + nlen;
		while (rest < eol && (*rest == '\t' || *rest == ' '))
			rest++;
		if (rest < eol) {
			/* "name\t[module]": module symbols do not count for vmlinux positions */
			if (*rest == '[' && eol[-1] == ']')
				continue;
			return bad_line(path, line,
					"text after the symbol name that is not a [module]");
		}
		r = lp_symtab_append(st, name, nlen, addr, type, false);
		if (r < 0)
			return r == -E2BIG ? log_error_errno(r, "'%s':%u: too many symbol names",
							     path, line)
					   : r;
	}
	if (!st->nsyms)
		return log_error_errno(-EBADMSG, "'%s': no symbols (%u lines)", path, line);
	r = build_index(st);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(st);
	return 0;
}

int lp_symtab_parse(const char *buf, size_t len, struct lp_symtab **ret)
{
	return symtab_parse(buf, len, "<symbols>", ret);
}

int lp_symtab_load(const char *path, struct lp_symtab **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = read_file_capped(path, SYMTAB_MAX_FILE, &buf, &len);
	if (r < 0)
		return log_error_errno(r, "cannot read symbols '%s': %s", path, strerror(-r));
	return symtab_parse(buf, len, path, ret);
}

void lp_symtab_free(struct lp_symtab *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nfiles; i++)
		free(st->files[i]);
	free(st->files);
	free(st->names);
	free(st->syms);
	free(st->buckets);
	free(st);
}

/* Calls back over the entries named NAME, in file order. */
#define FOR_EACH_NAMED(st, nm, k)                                                                  \
	for (uint32_t _i = (st)->buckets[hash_name(nm) & ((st)->nbuckets - 1)]; _i;                \
	     _i = (st)->syms[_i - 1].next)                                                         \
		if ((k = &(st)->syms[_i - 1]), streq((st)->names + k->name, nm))

size_t lp_symtab_count(const struct lp_symtab *st, const char *name)
{
	struct ksym *k;
	size_t n = 0;

	FOR_EACH_NAMED(st, name, k)
	n++;
	return n;
}

static bool is_text_type(char t)
{
	return t == 't' || t == 'T' || t == 'w' || t == 'W';
}

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : strempty(path);
}

int lp_symtab_add_vmlinux(struct lp_symtab *st, const char *vmlinux)
{
	_cleanup_close_ int fd = -1;
	Elf *elf = NULL;
	Elf_Scn *scn = NULL;
	int r = -EBADMSG;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	fd = open(vmlinux, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -EBADMSG;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		uint32_t cur = 0;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			goto out;
		for (size_t i = 1; i < d->d_size / sizeof(Elf64_Sym); i++) {
			GElf_Sym sym;
			const char *name;
			struct ksym *k;

			if (!gelf_getsym(d, (int)i, &sym))
				goto out;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name)
				goto out;
			if (GELF_ST_TYPE(sym.st_info) == STT_FILE) {
				char **nf = reallocarray(st->files, st->nfiles + 1, sizeof(*nf));

				if (!nf) {
					r = -ENOMEM;
					goto out;
				}
				st->files = nf;
				st->files[st->nfiles] = strdup(name);
				if (!st->files[st->nfiles]) {
					r = -ENOMEM;
					goto out;
				}
				cur = (uint32_t)++st->nfiles;
				continue;
			}
			if (GELF_ST_BIND(sym.st_info) != STB_LOCAL || !cur || !*name)
				continue;
			/* tie the kallsyms entry at this address with this name to the file */
			FOR_EACH_NAMED(st, name, k)
			if (k->addr == sym.st_value && !k->file)
				k->file = cur;
		}
		st->have_files = true;
		r = 0;
		break;
	}
out:
	elf_end(elf);
	return r;
}

/*
 * The position klp_find_object_symbol() needs to reach PICK: 0 when NAME is unique, else
 * its 1-based rank. A module's symbols are counted in two views: all of its symtab while
 * it is being loaded (a module loaded after the livepatch is patched then), only the core
 * symbols once it runs; one position must reach PICK in both.
 */
static int position_of(const struct lp_symtab *st, const char *name, const struct ksym *pick,
		       long *ret_pos)
{
	struct ksym *k;
	size_t all = 0, core = 0, rank_all = 0, rank_core = 0;

	FOR_EACH_NAMED(st, name, k)
	{
		all++;
		if (!k->loading_only)
			core++;
		if (k == pick) {
			rank_all = all;
			rank_core = core;
		}
	}
	if (all == 1) {
		*ret_pos = 0;
		return 0;
	}
	if (rank_all != rank_core)
		return -EDOM;
	*ret_pos = (long)rank_core;
	return 0;
}

/* Which of the entries named NAME is the static of FILE (see lp_symtab_sympos()). */
static int pick_entry(const struct lp_symtab *st, const char *name, bool is_text, const char *file,
		      const char *const *anchors, size_t nanchors, struct ksym **ret)
{
	struct ksym *k, *pick = NULL;
	size_t n = 0;

	FOR_EACH_NAMED(st, name, k)
	if (!k->loading_only) {
		n++;
		pick = k;
	}
	if (n == 0)
		return -ENOENT;
	if (n == 1) {
		*ret = pick;
		return 0;
	}
	pick = NULL;
	if (st->have_files && file) {
		FOR_EACH_NAMED(st, name, k)
		{
			if (k->loading_only || !k->file ||
			    !streq(base_name(st->files[k->file - 1]), base_name(file)))
				continue;
			if (pick && pick->file != k->file) {
				pick = NULL; /* two files of that name: use the anchors */
				break;
			}
			pick = k;
		}
		if (pick) {
			*ret = pick;
			return 0;
		}
	}
	/*
	 * The span of this object's symbols that are unique in the kernel, same kind, per
	 * section: a module's symbols are section offsets (the section index is in the top
	 * bits, see klp-modsyms.c), and a file's .text and .text.unlikely spans say nothing
	 * about each other. vmlinux's addresses all share one key.
	 */
	_cleanup_free_ uint64_t *aaddr = calloc(nanchors ? nanchors : 1, sizeof(*aaddr));
	size_t na = 0;

	if (!aaddr)
		return -ENOMEM;
	for (size_t i = 0; i < nanchors; i++) {
		struct ksym *a = NULL, *x;
		size_t c = 0;

		if (streq(anchors[i], name))
			continue;
		/* unique among all (an init-only twin may be the anchor's own) and kept */
		FOR_EACH_NAMED(st, anchors[i], x)
		{
			a = x;
			c++;
		}
		if (c != 1 || a->loading_only || is_text_type(a->type) != is_text)
			continue;
		if (!is_text && tolower(a->type) != 'd' && tolower(a->type) != 'b' &&
		    tolower(a->type) != 'r')
			continue;
		aaddr[na++] = a->addr;
	}
	if (!na)
		return -ENOTUNIQ;
	/*
	 * A translation unit's symbols are contiguous per kind in vmlinux (and in a module's
	 * sections): the candidate inside, or clearly nearest to, the span of the file's
	 * unique symbols in its section is the one.
	 */
	{
		uint64_t best = UINT64_MAX, second = UINT64_MAX;

		FOR_EACH_NAMED(st, name, k)
		{
			uint64_t d, lo = UINT64_MAX, hi = 0;

			if (k->loading_only || is_text_type(k->type) != is_text)
				continue;
			for (size_t i = 0; i < na; i++)
				if (aaddr[i] >> 40 == k->addr >> 40) {
					lo = MIN(lo, aaddr[i]);
					hi = MAX(hi, aaddr[i]);
				}
			if (lo > hi)
				d = UINT64_MAX - 1; /* no anchor in its section: farthest */
			else
				d = k->addr < lo ? lo - k->addr : k->addr > hi ? k->addr - hi : 0;
			if (d < best) {
				second = best;
				best = d;
				pick = k;
			} else if (d < second) {
				second = d;
			}
		}
		if (!pick || best == UINT64_MAX - 1 ||
		    (second != UINT64_MAX && (best == second || second / 4 <= best)))
			return -ENOTUNIQ;
	}
	*ret = pick;
	return 0;
}

int lp_symtab_sympos(const struct lp_symtab *st, const char *name, bool is_text, const char *file,
		     const char *const *anchors, size_t nanchors, long *ret_pos)
{
	struct ksym *pick;
	int r;

	r = pick_entry(st, name, is_text, file, anchors, nanchors, &pick);
	if (r < 0)
		return r;
	return position_of(st, name, pick, ret_pos);
}

int lp_symtab_sympos_global(const struct lp_symtab *st, const char *name, long *ret_pos)
{
	struct ksym *k, *pick = NULL;
	size_t n = 0;

	FOR_EACH_NAMED(st, name, k)
	if (!k->loading_only && isupper((unsigned char)k->type)) {
		n++;
		pick = k;
	}
	if (n == 0)
		return -ENOENT;
	if (n > 1)
		return -ENOTUNIQ;
	return position_of(st, name, pick, ret_pos);
}

/* ---- Module.symvers ---- */

struct lp_exports {
	struct lp_symtab *names; /* reuses the hashed name table; addr: index in owners */
	char **owners;		 /* module names ('-' as '_'); [0] is vmlinux, NULL */
	size_t nowners;
};

/* The index of MODULE (a Module.symvers path like "arch/x86/kvm/kvm") in EX->owners. */
static int exports_owner(struct lp_exports *ex, const char *module, size_t len, size_t *ret)
{
	const char *b = module;
	_cleanup_free_ char *name = NULL;
	char **no;

	for (const char *q = module; q < module + len; q++)
		if (*q == '/')
			b = q + 1;
	name = strndup(b, len - (size_t)(b - module));
	if (!name)
		return -ENOMEM;
	for (char *q = name; *q; q++)
		if (*q == '-')
			*q = '_';
	if (streq(name, "vmlinux")) {
		*ret = 0;
		return 0;
	}
	/* consecutive lines mostly name the same module: search from the last one */
	for (size_t i = ex->nowners; i-- > 1;)
		if (streq(ex->owners[i], name)) {
			*ret = i;
			return 0;
		}
	no = reallocarray(ex->owners, ex->nowners + 1, sizeof(*no));
	if (!no)
		return -ENOMEM;
	ex->owners = no;
	ex->owners[ex->nowners] = TAKE_PTR(name);
	*ret = ex->nowners++;
	return 0;
}

int lp_exports_load(const char *path, struct lp_exports **ret)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_(lp_exports_freep) struct lp_exports *ex = NULL;
	struct strbuf sb = STRBUF_INIT;
	size_t len, lines = 0;
	int r;

	r = read_file_capped(path, SYMTAB_MAX_FILE, &buf, &len);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
	ex = calloc(1, sizeof(*ex));
	if (!ex || !(ex->owners = calloc(1, sizeof(*ex->owners))))
		return -ENOMEM;
	ex->nowners = 1;
	/*
	 * "CRC\tNAME\tMODULE\tTYPE[\tNS]" -> "OWNER T NAME" lines for the symbol table
	 * parser, one for one, so that its messages name the right line.
	 */
	for (char *p = buf, *eol; p < buf + len; p = eol + 1) {
		char *t1, *t2, *t3;
		size_t owner;

		eol = memchr(p, '\n', (size_t)(buf + len - p));
		if (!eol)
			eol = buf + len;
		if (eol == p || (eol == p + 1 && *p == '\r')) {
			t1 = t2 = NULL;
		} else {
			t1 = memchr(p, '\t', (size_t)(eol - p));
			t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(eol - t1 - 1)) : NULL;
			if (!t2) {
				strbuf_release(&sb);
				return log_error_errno(-EBADMSG,
						       "'%s':%zu: expected 'CRC\\tNAME\\t"
						       "MODULE\\tTYPE'",
						       path, lines + 1);
			}
		}
		lines++;
		if (!t2) {
			if (strbuf_addch(&sb, '\n') < 0) {
				strbuf_release(&sb);
				return -ENOMEM;
			}
			continue;
		}
		t3 = memchr(t2 + 1, '\t', (size_t)(eol - t2 - 1));
		if (!t3)
			t3 = eol > t2 + 1 && eol[-1] == '\r' ? eol - 1 : eol;
		/* An empty module name (or one a NUL byte cuts short) would own the export. */
		if (t3 == t2 + 1 || t3[-1] == '/' || memchr(t2 + 1, '\0', (size_t)(t3 - t2 - 1))) {
			strbuf_release(&sb);
			return log_error_errno(-EBADMSG, "'%s':%zu: the MODULE field names no module",
					       path, lines);
		}
		if (exports_owner(ex, t2 + 1, (size_t)(t3 - t2 - 1), &owner) < 0 ||
		    strbuf_addf(&sb, "%zx T ", owner) < 0 ||
		    strbuf_add(&sb, t1 + 1, (size_t)(t2 - t1 - 1)) < 0 ||
		    strbuf_addch(&sb, '\n') < 0) {
			strbuf_release(&sb);
			return -ENOMEM;
		}
	}
	r = symtab_parse(strbuf_str(&sb), sb.len, path, &ex->names);
	strbuf_release(&sb);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(ex);
	return 0;
}

bool lp_exports_has(const struct lp_exports *ex, const char *name)
{
	return ex && lp_symtab_count(ex->names, name) > 0;
}

int lp_exports_owner(const struct lp_exports *ex, const char *name, const char **ret_module)
{
	struct ksym *k, *found = NULL;

	if (!ex)
		return -ENOENT;
	FOR_EACH_NAMED(ex->names, name, k)
	found = k;
	if (!found)
		return -ENOENT;
	*ret_module = found->addr < ex->nowners ? ex->owners[found->addr] : NULL;
	return 0;
}

void lp_exports_free(struct lp_exports *ex)
{
	if (!ex)
		return;
	lp_symtab_free(ex->names);
	for (size_t i = 0; i < ex->nowners; i++)
		free(ex->owners[i]);
	free(ex->owners);
	free(ex);
}
