/* Reading x86_64 relocatable objects into the lp_elf model (bounds-checked) and writing it back. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "livepatch/elf.h"
#include "log.h"
#include "strbuf.h"

static int libelf_ready(void)
{
	static int state; /* 0 unknown, 1 ok, -1 failed */

	if (!state)
		state = elf_version(EV_CURRENT) == EV_NONE ? -1 : 1;
	return state > 0 ? 0 : -ENOTSUP;
}

static int grow(void **arr, size_t *alloc, size_t need, size_t elsize)
{
	size_t n;
	void *p;

	if (need <= *alloc)
		return 0;
	n = *alloc ? *alloc * 2 : 16;
	while (n < need)
		n *= 2;
	p = reallocarray(*arr, n, elsize);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*alloc = n;
	return 0;
}

struct lp_elf *lp_elf_new(void)
{
	struct lp_elf *e = calloc(1, sizeof(*e));

	if (e)
		e->machine = EM_X86_64;
	return e;
}

static void sec_free(struct lp_sec *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->data);
	free(s->relas);
	free(s);
}

static void sym_free(struct lp_sym *s)
{
	if (!s)
		return;
	free(s->name);
	free(s);
}

void lp_elf_free(struct lp_elf *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nsecs; i++)
		sec_free(e->secs[i]);
	for (size_t i = 0; i < e->nsyms; i++)
		sym_free(e->syms[i]);
	free(e->secs);
	free(e->syms);
	free(e->file);
	free(e);
}

struct lp_sec *lp_elf_add_sec(struct lp_elf *e, const char *name, uint32_t type, uint64_t flags,
			      uint64_t align)
{
	struct lp_sec *s;

	if (grow((void **)&e->secs, &e->secs_alloc, e->nsecs + 1, sizeof(*e->secs)) < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->name = strdup(name);
	if (!s->name) {
		free(s);
		return NULL;
	}
	s->type = type;
	s->flags = flags;
	s->align = align ? align : 1;
	e->secs[e->nsecs++] = s;
	return s;
}

struct lp_sym *lp_elf_add_sym(struct lp_elf *e, const char *name, uint8_t type, uint8_t bind,
			      struct lp_sec *sec, uint64_t value, uint64_t size)
{
	struct lp_sym *s;

	if (grow((void **)&e->syms, &e->syms_alloc, e->nsyms + 1, sizeof(*e->syms)) < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->name = strdup(name);
	if (!s->name) {
		free(s);
		return NULL;
	}
	s->type = type;
	s->bind = bind;
	s->sec = sec;
	s->shndx = sec ? 0 : SHN_UNDEF;
	s->value = value;
	s->size = size;
	e->syms[e->nsyms++] = s;
	return s;
}

int64_t lp_sec_append(struct lp_sec *s, const void *data, uint64_t len, uint64_t align)
{
	uint64_t off, end;
	uint8_t *p;

	if (!align)
		align = 1;
	if (align > s->align)
		s->align = align;
	off = (s->size + align - 1) / align * align;
	if (off < s->size || len > LP_ELF_MAX_SIZE || off > LP_ELF_MAX_SIZE - len)
		return -E2BIG;
	end = off + len;
	if (s->type == SHT_NOBITS) {
		s->size = end;
		return (int64_t)off;
	}
	p = realloc(s->data, end ? end : 1);
	if (!p)
		return -ENOMEM;
	memset(p + s->size, 0, off - s->size);
	if (data)
		memcpy(p + off, data, len);
	else
		memset(p + off, 0, len);
	s->data = p;
	s->size = end;
	return (int64_t)off;
}

int lp_sec_add_rela(struct lp_elf *e, struct lp_sec *s, uint64_t offset, uint32_t type,
		    struct lp_sym *sym, int64_t addend)
{
	struct lp_sec *r = s->rela;

	if (!r) {
		_cleanup_free_ char *name = NULL;

		if (asprintf(&name, ".rela%s", s->name) < 0)
			return -ENOMEM;
		r = lp_elf_add_sec(e, name, SHT_RELA, SHF_INFO_LINK, 8);
		if (!r)
			return -ENOMEM;
		r->entsize = sizeof(Elf64_Rela);
		r->base = s;
		s->rela = r;
	}
	if (grow((void **)&r->relas, &r->relas_alloc, r->nrelas + 1, sizeof(*r->relas)) < 0)
		return -ENOMEM;
	r->relas[r->nrelas++] = (struct lp_rela){offset, type, sym, addend};
	return 0;
}

struct lp_sec *lp_elf_find_sec(const struct lp_elf *e, const char *name)
{
	for (size_t i = 0; i < e->nsecs; i++)
		if (streq(e->secs[i]->name, name))
			return e->secs[i];
	return NULL;
}

struct lp_sym *lp_elf_find_sym(const struct lp_elf *e, const char *name)
{
	for (size_t i = 0; i < e->nsyms; i++)
		if (streq(e->syms[i]->name, name))
			return e->syms[i];
	return NULL;
}

void lp_elf_drop_sec(struct lp_elf *e, struct lp_sec *s)
{
	size_t j = 0;

	for (size_t i = 0; i < e->nsecs; i++)
		if (e->secs[i] != s)
			e->secs[j++] = e->secs[i];
	e->nsecs = j;
	if (s->base && s->base->rela == s)
		s->base->rela = NULL;
	sec_free(s);
}

unsigned lp_rela_width(uint32_t type)
{
	switch (type) {
	case R_X86_64_64:
	case R_X86_64_PC64:
		return 8;
	case R_X86_64_PC32:
	case R_X86_64_PLT32:
	case R_X86_64_32:
	case R_X86_64_32S:
	case R_X86_64_GOTPCREL:
	case R_X86_64_GOTPCRELX:
	case R_X86_64_REX_GOTPCRELX:
		return 4;
	case R_X86_64_NONE:
		return 0;
	default:
		return 0;
	}
}

bool lp_rela_pcrel(uint32_t type)
{
	return type == R_X86_64_PC32 || type == R_X86_64_PLT32 || type == R_X86_64_PC64 ||
	       type == R_X86_64_GOTPCREL || type == R_X86_64_GOTPCRELX ||
	       type == R_X86_64_REX_GOTPCRELX;
}

/* ---- reading ---- */

/*
 * Everything the reader takes from the file is checked before it is used: a malformed
 * object is refused with one message naming the file and the section or field, never
 * guessed at, because the differ and the module generator index and size by these values.
 */

struct reader {
	Elf *elf;
	const uint8_t *buf;
	size_t len;
	const char *name; /* the file, for messages */
	size_t shnum;
	GElf_Shdr *shdrs;
	const char **secnames;
	struct lp_sec **byidx; /* section index -> model section (NULL for unmodelled) */
	struct lp_sym **symbyidx;
	size_t nsymtab;
	size_t symtab_idx;
};

static int bad(const struct reader *rd, int r, const char *fmt, ...) _printf_(3, 4);
static int bad(const struct reader *rd, int r, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	return log_error_errno(r, "'%s': %s", rd->name, msg ? msg : "malformed object");
}

const char *lp_sht_name(uint32_t type)
{
	static const char *const names[] = {
		[SHT_NULL] = "SHT_NULL",
		[SHT_PROGBITS] = "PROGBITS",
		[SHT_SYMTAB] = "SYMTAB",
		[SHT_STRTAB] = "STRTAB",
		[SHT_RELA] = "RELA",
		[SHT_HASH] = "HASH",
		[SHT_DYNAMIC] = "DYNAMIC",
		[SHT_NOTE] = "NOTE",
		[SHT_NOBITS] = "NOBITS",
		[SHT_REL] = "REL",
		[SHT_SHLIB] = "SHLIB",
		[SHT_DYNSYM] = "DYNSYM",
		[SHT_INIT_ARRAY] = "INIT_ARRAY",
		[SHT_FINI_ARRAY] = "FINI_ARRAY",
		[SHT_PREINIT_ARRAY] = "PREINIT_ARRAY",
		[SHT_GROUP] = "GROUP",
		[SHT_SYMTAB_SHNDX] = "SYMTAB_SHNDX",
	};

	if (type < ARRAY_SIZE(names) && names[type])
		return names[type];
	if (type == SHT_X86_64_UNWIND)
		return "X86_64_UNWIND";
	return "unknown";
}

/* A NUL-terminated string at OFF of a string table, or NULL when it is not one. */
static const char *strtab_str(const uint8_t *tab, uint64_t size, uint64_t off)
{
	if (!tab || off >= size || !memchr(tab + off, '\0', size - off))
		return NULL;
	return (const char *)tab + off;
}

static const char *secname(const struct reader *rd, size_t i)
{
	return i < rd->shnum && rd->secnames[i] ? rd->secnames[i] : "?";
}

static bool in_file(const struct reader *rd, uint64_t off, uint64_t size)
{
	return off <= rd->len && size <= rd->len - off;
}

/* The headers of every section, their names, and the checks that need no other section. */
static int read_headers(struct reader *rd, size_t shstrndx)
{
	const GElf_Shdr *ss;
	const uint8_t *shstr;

	rd->shdrs = calloc(rd->shnum, sizeof(*rd->shdrs));
	rd->secnames = calloc(rd->shnum, sizeof(*rd->secnames));
	if (!rd->shdrs || !rd->secnames)
		return -ENOMEM;
	for (size_t i = 0; i < rd->shnum; i++) {
		Elf_Scn *scn = elf_getscn(rd->elf, i);

		if (!scn || !gelf_getshdr(scn, &rd->shdrs[i]))
			return bad(rd, -EBADMSG, "section header %zu cannot be read", i);
	}
	ss = &rd->shdrs[shstrndx];
	if (ss->sh_type != SHT_STRTAB || !in_file(rd, ss->sh_offset, ss->sh_size) ||
	    ss->sh_size == 0)
		return bad(rd, -EBADMSG,
			   "the section name table (section %zu) is not a string "
			   "table inside the file",
			   shstrndx);
	shstr = rd->buf + ss->sh_offset;
	for (size_t i = 1; i < rd->shnum; i++) {
		const GElf_Shdr *sh = &rd->shdrs[i];
		const char *name = strtab_str(shstr, ss->sh_size, sh->sh_name);

		if (!name)
			return bad(rd, -EBADMSG,
				   "section %zu: name offset %u is outside the "
				   "section name table",
				   i, sh->sh_name);
		rd->secnames[i] = name;
		switch (sh->sh_type) {
		case SHT_NULL:
			return bad(rd, -EBADMSG, "section '%s' (%zu) has type SHT_NULL", name, i);
		case SHT_REL:
		case SHT_SYMTAB_SHNDX:
		case SHT_DYNSYM:
		case SHT_DYNAMIC:
		case SHT_HASH:
		case SHT_GNU_HASH:
			return bad(rd, -EOPNOTSUPP,
				   "section '%s' has type %s, not supported in "
				   "a relocatable object",
				   name, lp_sht_name(sh->sh_type));
		}
		if (sh->sh_addralign & (sh->sh_addralign - 1))
			return bad(rd, -EBADMSG,
				   "section '%s': alignment %llu is not a power of two", name,
				   (unsigned long long)sh->sh_addralign);
		if (sh->sh_addralign > LP_ELF_MAX_ALIGN)
			return bad(rd, -EBADMSG,
				   "section '%s': alignment %llu is above %u (a kernel "
				   "object needs a page at most)",
				   name, (unsigned long long)sh->sh_addralign, LP_ELF_MAX_ALIGN);
		if (sh->sh_size > LP_ELF_MAX_SIZE)
			return bad(rd, -EBADMSG, "section '%s': size %llu is above %u", name,
				   (unsigned long long)sh->sh_size, LP_ELF_MAX_SIZE);
		if (sh->sh_type != SHT_NOBITS && !in_file(rd, sh->sh_offset, sh->sh_size))
			return bad(rd, -EBADMSG,
				   "section '%s': %llu bytes at offset %llu run past "
				   "the end of the file (%zu bytes)",
				   name, (unsigned long long)sh->sh_size,
				   (unsigned long long)sh->sh_offset, rd->len);
		if (sh->sh_link >= rd->shnum)
			return bad(rd, -EBADMSG, "section '%s': sh_link %u is not a section index",
				   name, sh->sh_link);
		if ((sh->sh_flags & SHF_LINK_ORDER) && sh->sh_link == 0)
			return bad(rd, -EBADMSG, "section '%s': SHF_LINK_ORDER without sh_link",
				   name);
		if ((sh->sh_flags & SHF_INFO_LINK) && sh->sh_info >= rd->shnum)
			return bad(rd, -EBADMSG, "section '%s': sh_info %u is not a section index",
				   name, sh->sh_info);
		if (sh->sh_type == SHT_RELA || sh->sh_type == SHT_SYMTAB) {
			if (sh->sh_entsize !=
			    (sh->sh_type == SHT_RELA ? sizeof(Elf64_Rela) : sizeof(Elf64_Sym)))
				return bad(rd, -EBADMSG,
					   "section '%s': entry size %llu, expected %zu", name,
					   (unsigned long long)sh->sh_entsize,
					   sh->sh_type == SHT_RELA ? sizeof(Elf64_Rela)
								   : sizeof(Elf64_Sym));
			if (sh->sh_size % sh->sh_entsize)
				return bad(rd, -EBADMSG,
					   "section '%s': size %llu is not a multiple "
					   "of the entry size %llu",
					   name, (unsigned long long)sh->sh_size,
					   (unsigned long long)sh->sh_entsize);
		}
		if (sh->sh_type == SHT_GROUP &&
		    (sh->sh_size < 4 || sh->sh_size % 4 || sh->sh_entsize != 4))
			return bad(rd, -EBADMSG,
				   "section group '%s': size %llu or entry size %llu "
				   "is not a list of 4-byte words",
				   name, (unsigned long long)sh->sh_size,
				   (unsigned long long)sh->sh_entsize);
		if (sh->sh_type == SHT_SYMTAB) {
			if (rd->symtab_idx)
				return bad(rd, -EBADMSG, "a second symbol table '%s'", name);
			rd->symtab_idx = i;
		}
	}
	if (!rd->symtab_idx)
		return bad(rd, -EBADMSG, "no symbol table");
	return 0;
}

static int read_sections(struct reader *rd, struct lp_elf *e, size_t shstrndx)
{
	size_t strtab_idx = rd->shdrs[rd->symtab_idx].sh_link;

	for (size_t i = 1; i < rd->shnum; i++) {
		const GElf_Shdr *sh = &rd->shdrs[i];
		struct lp_sec *s;

		/* the symbol table and its strings are rebuilt on writing: not modelled */
		if (i == shstrndx || i == rd->symtab_idx || i == strtab_idx)
			continue;
		s = lp_elf_add_sec(e, rd->secnames[i], sh->sh_type, sh->sh_flags, sh->sh_addralign);
		if (!s)
			return -ENOMEM;
		s->addr = sh->sh_addr;
		s->entsize = sh->sh_entsize;
		s->size = sh->sh_size;
		s->link = sh->sh_link;
		s->info = sh->sh_info;
		s->index = i;
		if (sh->sh_type != SHT_NOBITS) {
			s->data = malloc(sh->sh_size ? sh->sh_size : 1);
			if (!s->data)
				return -ENOMEM;
			memcpy(s->data, rd->buf + sh->sh_offset, sh->sh_size);
		}
		rd->byidx[i] = s;
	}
	return 0;
}

static int read_symbols(struct reader *rd, struct lp_elf *e)
{
	const GElf_Shdr *sh = &rd->shdrs[rd->symtab_idx], *strsh;
	const char *symtab = rd->secnames[rd->symtab_idx];
	const uint8_t *strs;
	size_t n;

	if (sh->sh_link == 0 || sh->sh_link == rd->symtab_idx)
		return bad(rd, -EBADMSG, "symbol table '%s': sh_link %u is not its string table",
			   symtab, sh->sh_link);
	strsh = &rd->shdrs[sh->sh_link];
	if (strsh->sh_type != SHT_STRTAB)
		return bad(rd, -EBADMSG, "string table '%s' of '%s' has type %s, expected STRTAB",
			   secname(rd, sh->sh_link), symtab, lp_sht_name(strsh->sh_type));
	strs = rd->buf + strsh->sh_offset;
	n = sh->sh_size / sizeof(Elf64_Sym);
	if (n == 0)
		return bad(rd, -EBADMSG, "symbol table '%s' is empty", symtab);
	if (sh->sh_info == 0 || sh->sh_info > n)
		return bad(rd, -EBADMSG,
			   "symbol table '%s': sh_info %u (first global) is outside "
			   "its %zu symbols",
			   symtab, sh->sh_info, n);
	rd->symbyidx = calloc(n, sizeof(*rd->symbyidx));
	if (!rd->symbyidx)
		return -ENOMEM;
	rd->nsymtab = n;
	for (size_t i = 1; i < n; i++) {
		Elf64_Sym st;
		const char *name;
		struct lp_sec *sec = NULL;
		struct lp_sym *s;
		uint8_t type;

		/* ET_REL x86_64 objects are little-endian, as checked in the ELF header */
		memcpy(&st, rd->buf + sh->sh_offset + i * sizeof(st), sizeof(st));
		type = ELF64_ST_TYPE(st.st_info);
		name = strtab_str(strs, strsh->sh_size, st.st_name);
		if (!name)
			return bad(rd, -EBADMSG,
				   "symbol %zu: name offset %u is outside '%s' "
				   "(%llu bytes)",
				   i, st.st_name, secname(rd, sh->sh_link),
				   (unsigned long long)strsh->sh_size);
		if (st.st_shndx == SHN_XINDEX)
			return bad(rd, -EOPNOTSUPP, "symbol '%s': extended section index", name);
		/* The differ names every function it patches or carries (a callback's too). */
		if (type == STT_FUNC && !*name)
			return bad(rd, -EBADMSG, "symbol %zu: a function without a name", i);
		if (st.st_shndx != SHN_UNDEF && st.st_shndx < SHN_LORESERVE) {
			if (st.st_shndx >= rd->shnum || !rd->byidx[st.st_shndx])
				return bad(rd, -EBADMSG,
					   "symbol '%s': section index %u is not a "
					   "section with contents",
					   name, st.st_shndx);
			sec = rd->byidx[st.st_shndx];
		}
		if (sec && (type == STT_FUNC || type == STT_OBJECT) &&
		    (st.st_value > sec->size || st.st_size > sec->size - st.st_value))
			return bad(rd, -EBADMSG,
				   "symbol '%s' (offset %llu, size %llu) lies outside "
				   "section '%s' (%llu bytes)",
				   name, (unsigned long long)st.st_value,
				   (unsigned long long)st.st_size, sec->name,
				   (unsigned long long)sec->size);
		if (type == STT_SECTION && sec && !*name)
			name = sec->name;
		s = lp_elf_add_sym(e, name, type, ELF64_ST_BIND(st.st_info), sec, st.st_value,
				   st.st_size);
		if (!s)
			return -ENOMEM;
		s->other = st.st_other;
		s->shndx = sec ? 0 : st.st_shndx;
		s->index = i;
		rd->symbyidx[i] = s;
		if (s->type == STT_SECTION && sec && !sec->secsym)
			sec->secsym = s;
		if (s->type == STT_FILE && !e->file) {
			e->file = strdup(name);
			if (!e->file)
				return -ENOMEM;
		}
	}
	return 0;
}

static int read_relas(struct reader *rd, struct lp_elf *e)
{
	for (size_t i = 0; i < e->nsecs; i++) {
		struct lp_sec *r = e->secs[i], *base;
		size_t n;

		if (r->type == SHT_GROUP) {
			/* sh_info names the signature symbol, the words after the flags members */
			if (r->link != rd->symtab_idx || r->info == 0 || r->info >= rd->nsymtab)
				return bad(rd, -EBADMSG,
					   "section group '%s': sh_link %u or sh_info "
					   "%u is not its symbol table and a symbol",
					   r->name, r->link, r->info);
			for (uint64_t off = 4; off + 4 <= r->size; off += 4) {
				uint32_t idx;

				memcpy(&idx, r->data + off, 4);
				if (idx == 0 || idx >= rd->shnum)
					return bad(rd, -EBADMSG,
						   "section group '%s': member %u is not "
						   "a section index",
						   r->name, idx);
			}
			continue;
		}
		if (r->type != SHT_RELA)
			continue;
		if (r->link != rd->symtab_idx)
			return bad(rd, -EBADMSG,
				   "relocation section '%s': sh_link %u is not the "
				   "symbol table (%zu)",
				   r->name, r->link, rd->symtab_idx);
		if (r->info == 0 || r->info >= rd->shnum || !rd->byidx[r->info])
			return bad(rd, -EBADMSG,
				   "relocation section '%s': sh_info %u is not a "
				   "section it can apply to",
				   r->name, r->info);
		base = rd->byidx[r->info];
		if (base == r || base->type == SHT_RELA || base->type == SHT_NOBITS ||
		    base->type == SHT_GROUP)
			return bad(rd, -EBADMSG,
				   "relocation section '%s' applies to '%s' of type %s", r->name,
				   base->name, lp_sht_name(base->type));
		if (base->rela)
			return bad(rd, -EBADMSG,
				   "relocation sections '%s' and '%s' both apply to "
				   "'%s'",
				   base->rela->name, r->name, base->name);
		r->base = base;
		base->rela = r;
		n = r->size / sizeof(Elf64_Rela);
		r->relas = calloc(n ? n : 1, sizeof(*r->relas));
		if (!r->relas)
			return -ENOMEM;
		r->relas_alloc = n;
		for (size_t k = 0; k < n; k++) {
			Elf64_Rela ra;
			size_t symi;
			uint32_t type;
			unsigned w;

			memcpy(&ra, r->data + k * sizeof(ra), sizeof(ra));
			symi = ELF64_R_SYM(ra.r_info);
			type = (uint32_t)ELF64_R_TYPE(ra.r_info);
			if (symi == 0 || symi >= rd->nsymtab || !rd->symbyidx[symi])
				return bad(rd, -EBADMSG,
					   "'%s' entry %zu: symbol index %zu is not a "
					   "symbol",
					   r->name, k, symi);
			w = lp_rela_width(type);
			if (w == 0 && type != R_X86_64_NONE)
				return bad(rd, -EOPNOTSUPP,
					   "'%s' entry %zu: relocation type %u is "
					   "not supported",
					   r->name, k, type);
			if (ra.r_offset > base->size || w > base->size - ra.r_offset)
				return bad(rd, -EBADMSG,
					   "'%s' entry %zu: offset %llu (%u bytes) is "
					   "outside '%s' (%llu bytes)",
					   r->name, k, (unsigned long long)ra.r_offset, w,
					   base->name, (unsigned long long)base->size);
			r->relas[r->nrelas++] = (struct lp_rela){ra.r_offset, type,
								 rd->symbyidx[symi], ra.r_addend};
		}
		free(r->data);
		r->data = NULL;
		r->size = 0;
	}
	return 0;
}

int lp_elf_parse(const void *buf, size_t len, const char *name, struct lp_elf **ret)
{
	_cleanup_(lp_elf_freep) struct lp_elf *e = NULL;
	_cleanup_free_ uint8_t *copy = NULL;
	struct reader rd = {.name = name ? name : "<memory>"};
	GElf_Ehdr eh;
	size_t shstrndx = 0; /* printed when elf_getshdrnum() fails first */
	int r;

	r = libelf_ready();
	if (r < 0)
		return log_error_errno(r, "libelf cannot be initialised");
	if (len < sizeof(Elf64_Ehdr) || len > LP_ELF_MAX_SIZE)
		return bad(&rd, -EINVAL, "%zu bytes is not the size of an object (at most %u)", len,
			   LP_ELF_MAX_SIZE);
	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	rd.buf = copy;
	rd.len = len;
	rd.elf = elf_memory((char *)copy, len);
	if (!rd.elf)
		return bad(&rd, -EINVAL, "not an ELF file: %s", elf_errmsg(-1));
	if (elf_kind(rd.elf) != ELF_K_ELF || gelf_getclass(rd.elf) != ELFCLASS64 ||
	    !gelf_getehdr(rd.elf, &eh) || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT ||
	    eh.e_type != ET_REL || eh.e_machine != EM_X86_64) {
		r = bad(&rd, -EINVAL, "not an x86_64 little-endian ELF64 relocatable object");
		goto out;
	}
	r = -EBADMSG;
	if (eh.e_ehsize != sizeof(Elf64_Ehdr) || eh.e_shentsize != sizeof(Elf64_Shdr)) {
		r = bad(&rd, r, "ELF header: e_ehsize %u or e_shentsize %u is not ELF64's",
			eh.e_ehsize, eh.e_shentsize);
		goto out;
	}
	if (elf_getshdrnum(rd.elf, &rd.shnum) < 0 || elf_getshdrstrndx(rd.elf, &shstrndx) < 0 ||
	    rd.shnum < 2 || rd.shnum > 65000 || shstrndx == 0 || shstrndx >= rd.shnum ||
	    eh.e_shoff == 0 || !in_file(&rd, eh.e_shoff, rd.shnum * sizeof(Elf64_Shdr))) {
		r = bad(&rd, r,
			"ELF header: the section header table (e_shoff %llu, %zu entries, "
			"names in %zu) is not inside the file",
			(unsigned long long)eh.e_shoff, rd.shnum, shstrndx);
		goto out;
	}
	rd.byidx = calloc(rd.shnum, sizeof(*rd.byidx));
	r = -ENOMEM;
	e = lp_elf_new();
	if (!rd.byidx || !e)
		goto out;
	e->machine = eh.e_machine;
	r = read_headers(&rd, shstrndx);
	if (r >= 0)
		r = read_sections(&rd, e, shstrndx);
	if (r >= 0)
		r = read_symbols(&rd, e);
	if (r >= 0)
		r = read_relas(&rd, e);
	/* Links not modelled (other tables) keep raw values, checked above to be indices. */
out:
	if (rd.elf)
		elf_end(rd.elf);
	free(rd.shdrs);
	free(rd.secnames);
	free(rd.byidx);
	free(rd.symbyidx);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(e);
	return 0;
}

int lp_elf_read(const char *path, struct lp_elf **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = read_file_capped(path, LP_ELF_MAX_SIZE, &buf, &len);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
	return lp_elf_parse(buf, len, path, ret);
}

/* ---- writing ---- */

struct strtab {
	char *buf;
	size_t len, alloc;
};

static int64_t strtab_add(struct strtab *t, const char *s)
{
	size_t n = strlen(s) + 1;
	size_t off = t->len;

	if (grow((void **)&t->buf, &t->alloc, t->len + n, 1) < 0)
		return -ENOMEM;
	memcpy(t->buf + off, s, n);
	t->len += n;
	return (int64_t)off;
}

static Elf_Scn *new_scn(Elf *elf, uint32_t name, uint32_t type, uint64_t flags, void *buf,
			size_t size, uint64_t align, uint64_t entsize, Elf_Type dtype)
{
	Elf_Scn *scn = elf_newscn(elf);
	Elf_Data *d;
	GElf_Shdr sh;

	if (!scn || !gelf_getshdr(scn, &sh))
		return NULL;
	sh.sh_name = name;
	sh.sh_type = type;
	sh.sh_flags = flags;
	sh.sh_addralign = align ? align : 1;
	sh.sh_entsize = entsize;
	sh.sh_size = size;
	if (!gelf_update_shdr(scn, &sh))
		return NULL;
	d = elf_newdata(scn);
	if (!d)
		return NULL;
	d->d_buf = buf;
	d->d_size = size;
	d->d_type = dtype;
	d->d_align = align ? align : 1;
	d->d_version = EV_CURRENT;
	return scn;
}

static int set_link(Elf_Scn *scn, uint32_t link, uint32_t info)
{
	GElf_Shdr sh;

	if (!gelf_getshdr(scn, &sh))
		return -EIO;
	sh.sh_link = link;
	sh.sh_info = info;
	return gelf_update_shdr(scn, &sh) ? 0 : -EIO;
}

/* Checks what the model would make the writer lay out: a bad alignment would pad the file. */
static int check_layout(const struct lp_elf *e, const char *path)
{
	for (size_t i = 0; i < e->nsecs; i++) {
		const struct lp_sec *s = e->secs[i];

		if ((s->align & (s->align - 1)) || s->align > LP_ELF_MAX_ALIGN)
			return log_error_errno(-EINVAL,
					       "cannot write '%s': section '%s' has "
					       "alignment %llu (at most %u, a power of two)",
					       path, s->name, (unsigned long long)s->align,
					       LP_ELF_MAX_ALIGN);
		if (s->size > LP_ELF_MAX_OUTPUT || (s->type != SHT_NOBITS && s->size && !s->data))
			return log_error_errno(-EINVAL,
					       "cannot write '%s': section '%s' has a "
					       "bad size (%llu bytes)",
					       path, s->name, (unsigned long long)s->size);
		if (s->type == SHT_GROUP || s->type == SHT_SYMTAB)
			return log_error_errno(-EOPNOTSUPP,
					       "cannot write '%s': section '%s' has "
					       "type %s, which is not written",
					       path, s->name, lp_sht_name(s->type));
		if (s->type == SHT_RELA && !s->base)
			return log_error_errno(-EINVAL,
					       "cannot write '%s': relocation section "
					       "'%s' applies to nothing",
					       path, s->name);
	}
	return 0;
}

/*
 * The file is written next to PATH under a temporary name and renamed over it only when
 * complete, and only after libelf's layout says how large it will be: a failed or refused
 * write leaves PATH as it was and nothing else behind.
 */
int lp_elf_write(struct lp_elf *e, const char *path)
{
	struct strtab shstr = {}, str = {};
	Elf64_Sym *symtab = NULL;
	Elf64_Rela **relbufs = NULL;
	Elf_Scn **scns = NULL;
	_cleanup_free_ char *tmp = NULL;
	size_t nsym = 0, firstglobal = 1, symtab_idx, strtab_idx, shstr_idx;
	Elf *elf = NULL;
	int fd = -1, r;
	int64_t filesize;
	GElf_Ehdr eh;

	r = libelf_ready();
	if (r < 0)
		return log_error_errno(r, "libelf cannot be initialised");
	r = check_layout(e, path);
	if (r < 0)
		return r;
	r = -ENOMEM;
	tmp = strdup_printf("%s.tmp.XXXXXX", path);
	if (!tmp)
		goto out;
	if (strtab_add(&shstr, "") < 0 || strtab_add(&str, "") < 0)
		goto out;
	scns = calloc(e->nsecs + 1, sizeof(*scns));
	relbufs = calloc(e->nsecs + 1, sizeof(*relbufs));
	symtab = calloc(e->nsyms + 1, sizeof(*symtab));
	if (!scns || !relbufs || !symtab)
		goto out;

	/* Section indices: model order, then symtab, strtab, shstrtab. */
	for (size_t i = 0; i < e->nsecs; i++)
		e->secs[i]->index = i + 1;
	symtab_idx = e->nsecs + 1;
	strtab_idx = e->nsecs + 2;
	shstr_idx = e->nsecs + 3;
	if (shstr_idx >= SHN_LORESERVE) {
		r = log_error_errno(-E2BIG, "cannot write '%s': %zu sections", path, shstr_idx);
		goto done;
	}

	/* Symbols: locals first, as ELF requires. */
	nsym = 1;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			firstglobal = nsym;
		for (size_t i = 0; i < e->nsyms; i++) {
			struct lp_sym *s = e->syms[i];
			Elf64_Sym *st = &symtab[nsym];
			int64_t off;

			if ((s->bind == STB_LOCAL) != (pass == 0))
				continue;
			off = strtab_add(&str, s->type == STT_SECTION ? "" : s->name);
			if (off < 0)
				goto out;
			st->st_name = (uint32_t)off;
			st->st_info = ELF64_ST_INFO(s->bind, s->type);
			st->st_other = s->other;
			st->st_shndx = s->sec ? (uint16_t)s->sec->index : s->shndx;
			st->st_value = s->value;
			st->st_size = s->size;
			s->index = nsym++;
		}
	}

	fd = mkstemp(tmp);
	if (fd < 0) {
		r = log_error_errno(negative_errno(), "cannot write '%s': %m", path);
		free(TAKE_PTR(tmp)); /* nothing to remove */
		goto done;
	}
	r = -EIO;
	elf = elf_begin(fd, ELF_C_WRITE, NULL);
	if (!elf || !gelf_newehdr(elf, ELFCLASS64) || !gelf_getehdr(elf, &eh))
		goto out;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh.e_type = ET_REL;
	eh.e_machine = e->machine;
	eh.e_version = EV_CURRENT;
	eh.e_shstrndx = (uint16_t)shstr_idx;
	if (!gelf_update_ehdr(elf, &eh))
		goto out;

	for (size_t i = 0; i < e->nsecs; i++) {
		struct lp_sec *s = e->secs[i];
		int64_t name = strtab_add(&shstr, s->name);
		void *buf = s->data;
		size_t size = s->size;
		Elf_Type dt = ELF_T_BYTE;

		if (name < 0) {
			r = -ENOMEM;
			goto out;
		}
		if (s->type == SHT_RELA) {
			relbufs[i] = calloc(s->nrelas ? s->nrelas : 1, sizeof(Elf64_Rela));
			if (!relbufs[i]) {
				r = -ENOMEM;
				goto out;
			}
			for (size_t k = 0; k < s->nrelas; k++) {
				relbufs[i][k].r_offset = s->relas[k].offset;
				relbufs[i][k].r_info =
					ELF64_R_INFO(s->relas[k].sym->index, s->relas[k].type);
				relbufs[i][k].r_addend = s->relas[k].addend;
			}
			buf = relbufs[i];
			size = s->nrelas * sizeof(Elf64_Rela);
			dt = ELF_T_RELA;
		}
		scns[i] = new_scn(elf, (uint32_t)name, s->type, s->flags,
				  s->type == SHT_NOBITS ? NULL : buf, size, s->align,
				  s->type == SHT_RELA ? sizeof(Elf64_Rela) : s->entsize, dt);
		if (!scns[i])
			goto out;
		if (s->type == SHT_RELA) {
			if (!s->base) {
				r = -EINVAL;
				goto out;
			}
			r = set_link(scns[i], (uint32_t)symtab_idx, (uint32_t)s->base->index);
		} else {
			r = set_link(scns[i], s->link, s->info);
		}
		if (r < 0)
			goto out;
		r = -EIO;
	}
	{
		int64_t n1 = strtab_add(&shstr, ".symtab"), n2 = strtab_add(&shstr, ".strtab");
		int64_t n3 = strtab_add(&shstr, ".shstrtab");
		Elf_Scn *sy, *st, *sh;

		if (n1 < 0 || n2 < 0 || n3 < 0) {
			r = -ENOMEM;
			goto out;
		}
		sy = new_scn(elf, (uint32_t)n1, SHT_SYMTAB, 0, symtab, nsym * sizeof(Elf64_Sym), 8,
			     sizeof(Elf64_Sym), ELF_T_SYM);
		if (!sy || set_link(sy, (uint32_t)strtab_idx, (uint32_t)firstglobal) < 0)
			goto out;
		st = new_scn(elf, (uint32_t)n2, SHT_STRTAB, 0, str.buf, str.len, 1, 0, ELF_T_BYTE);
		sh = new_scn(elf, (uint32_t)n3, SHT_STRTAB, 0, shstr.buf, shstr.len, 1, 0,
			     ELF_T_BYTE);
		if (!st || !sh)
			goto out;
	}
	/* ELF_C_NULL lays the file out without writing it: refuse a huge one before */
	filesize = elf_update(elf, ELF_C_NULL);
	if (filesize < 0)
		goto out;
	if ((uint64_t)filesize > LP_ELF_MAX_OUTPUT) {
		r = log_error_errno(-EFBIG,
				    "cannot write '%s': it would be %lld bytes (at most %u)", path,
				    (long long)filesize, LP_ELF_MAX_OUTPUT);
		goto done;
	}
	if (elf_update(elf, ELF_C_WRITE) < 0)
		goto out;
	elf_end(TAKE_PTR(elf));
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || close(TAKE_FD(fd)) < 0 ||
	    rename(tmp, path) < 0) {
		r = log_error_errno(negative_errno(), "cannot write '%s': %m", path);
		goto done;
	}
	free(TAKE_PTR(tmp)); /* renamed: nothing to remove */
	r = 0;
out:
	/* the libelf failures above leave r at -EIO */
	if (r == -EIO)
		log_error("cannot write '%s': %s", path, elf_errmsg(-1));
done:
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	if (r < 0 && tmp)
		unlink(tmp);
	for (size_t i = 0; relbufs && i < e->nsecs; i++)
		free(relbufs[i]);
	free(relbufs);
	free(scns);
	free(symtab);
	free(shstr.buf);
	free(str.buf);
	return r;
}
