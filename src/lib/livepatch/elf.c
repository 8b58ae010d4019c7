/* Reading x86_64 relocatable objects into the lp_elf model (bounds-checked) and writing it back. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "livepatch/elf.h"

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
	r->relas[r->nrelas++] = (struct lp_rela){ offset, type, sym, addend };
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

struct reader {
	Elf *elf;
	const uint8_t *buf;
	size_t len;
	size_t shnum;
	struct lp_sec **byidx; /* section index -> model section (NULL for unmodelled) */
	struct lp_sym **symbyidx;
	size_t nsymtab;
	size_t symtab_idx;
};

static int read_sections(struct reader *rd, struct lp_elf *e, size_t shstrndx)
{
	for (size_t i = 1; i < rd->shnum; i++) {
		Elf_Scn *scn = elf_getscn(rd->elf, i);
		GElf_Shdr sh;
		const char *name;
		struct lp_sec *s;

		if (!scn || !gelf_getshdr(scn, &sh))
			return -EBADMSG;
		name = elf_strptr(rd->elf, shstrndx, sh.sh_name);
		if (!name)
			return -EBADMSG;
		if (sh.sh_type == SHT_REL || sh.sh_type == SHT_SYMTAB_SHNDX ||
		    sh.sh_type == SHT_DYNSYM || sh.sh_type == SHT_DYNAMIC)
			return -EOPNOTSUPP;
		if (sh.sh_type == SHT_SYMTAB) {
			if (rd->symtab_idx)
				return -EBADMSG;
			rd->symtab_idx = i;
			continue;
		}
		if (i == shstrndx)
			continue;
		if (sh.sh_type != SHT_NOBITS &&
		    (sh.sh_offset > rd->len || sh.sh_size > rd->len - sh.sh_offset))
			return -EBADMSG;
		if (sh.sh_size > LP_ELF_MAX_SIZE)
			return -EBADMSG;
		s = lp_elf_add_sec(e, name, sh.sh_type, sh.sh_flags, sh.sh_addralign);
		if (!s)
			return -ENOMEM;
		s->addr = sh.sh_addr;
		s->entsize = sh.sh_entsize;
		s->size = sh.sh_size;
		s->link = sh.sh_link;
		s->info = sh.sh_info;
		s->index = i;
		if (sh.sh_type != SHT_NOBITS) {
			s->data = malloc(sh.sh_size ? sh.sh_size : 1);
			if (!s->data)
				return -ENOMEM;
			memcpy(s->data, rd->buf + sh.sh_offset, sh.sh_size);
		}
		rd->byidx[i] = s;
	}
	if (!rd->symtab_idx)
		return -EBADMSG;
	/* The symtab's string table is not modelled: it is rebuilt on writing. */
	for (size_t i = 0; i < e->nsecs; i++) {
		struct lp_sec *s = e->secs[i];
		Elf_Scn *scn = elf_getscn(rd->elf, rd->symtab_idx);
		GElf_Shdr sh;

		if (!scn || !gelf_getshdr(scn, &sh))
			return -EBADMSG;
		if (s->index == sh.sh_link && s->type == SHT_STRTAB) {
			rd->byidx[s->index] = NULL;
			lp_elf_drop_sec(e, s);
			break;
		}
	}
	return 0;
}

static int read_symbols(struct reader *rd, struct lp_elf *e)
{
	Elf_Scn *scn = elf_getscn(rd->elf, rd->symtab_idx);
	GElf_Shdr sh;
	Elf_Data *d;
	size_t n;

	if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_entsize != sizeof(Elf64_Sym))
		return -EBADMSG;
	if (sh.sh_link == 0 || sh.sh_link >= rd->shnum || sh.sh_link == rd->symtab_idx)
		return -EBADMSG;
	d = elf_getdata(scn, NULL);
	if (!d || d->d_size > sh.sh_size)
		return -EBADMSG;
	n = d->d_size / sizeof(Elf64_Sym);
	rd->symbyidx = calloc(n ? n : 1, sizeof(*rd->symbyidx));
	if (!rd->symbyidx)
		return -ENOMEM;
	rd->nsymtab = n;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym st;
		const char *name;
		struct lp_sec *sec = NULL;
		struct lp_sym *s;

		if (!gelf_getsym(d, (int)i, &st))
			return -EBADMSG;
		name = elf_strptr(rd->elf, sh.sh_link, st.st_name);
		if (!name)
			return -EBADMSG;
		if (st.st_shndx != SHN_UNDEF && st.st_shndx < SHN_LORESERVE) {
			if (st.st_shndx >= rd->shnum || !rd->byidx[st.st_shndx])
				return -EBADMSG;
			sec = rd->byidx[st.st_shndx];
		} else if (st.st_shndx == SHN_XINDEX) {
			return -EOPNOTSUPP;
		}
		if (GELF_ST_TYPE(st.st_info) == STT_SECTION && sec && !*name)
			name = sec->name;
		s = lp_elf_add_sym(e, name, GELF_ST_TYPE(st.st_info), GELF_ST_BIND(st.st_info),
				   sec, st.st_value, st.st_size);
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

		if (r->type != SHT_RELA)
			continue;
		if (r->entsize != sizeof(Elf64_Rela) || r->link != rd->symtab_idx ||
		    r->info == 0 || r->info >= rd->shnum || !rd->byidx[r->info])
			return -EBADMSG;
		base = rd->byidx[r->info];
		if (base == r || base->rela || base->type == SHT_RELA)
			return -EBADMSG;
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
			unsigned w;

			memcpy(&ra, r->data + k * sizeof(ra), sizeof(ra));
			symi = ELF64_R_SYM(ra.r_info);
			if (symi == 0 || symi >= rd->nsymtab || !rd->symbyidx[symi])
				return -EBADMSG;
			w = lp_rela_width(ELF64_R_TYPE(ra.r_info));
			if (w == 0 && ELF64_R_TYPE(ra.r_info) != R_X86_64_NONE)
				return -EOPNOTSUPP;
			if (ra.r_offset > base->size || w > base->size - ra.r_offset)
				return -EBADMSG;
			r->relas[r->nrelas++] = (struct lp_rela){ ra.r_offset,
								  (uint32_t)ELF64_R_TYPE(ra.r_info),
								  rd->symbyidx[symi], ra.r_addend };
		}
		free(r->data);
		r->data = NULL;
		r->size = 0;
	}
	return 0;
}

int lp_elf_parse(const void *buf, size_t len, struct lp_elf **ret)
{
	_cleanup_(lp_elf_freep) struct lp_elf *e = NULL;
	_cleanup_free_ uint8_t *copy = NULL;
	struct reader rd = {};
	GElf_Ehdr eh;
	size_t shstrndx;
	int r;

	r = libelf_ready();
	if (r < 0)
		return r;
	if (len < sizeof(Elf64_Ehdr) || len > LP_ELF_MAX_SIZE)
		return -EINVAL;
	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	rd.buf = copy;
	rd.len = len;
	rd.elf = elf_memory((char *)copy, len);
	if (!rd.elf)
		return -EINVAL;
	r = -EINVAL;
	if (elf_kind(rd.elf) != ELF_K_ELF || gelf_getclass(rd.elf) != ELFCLASS64 ||
	    !gelf_getehdr(rd.elf, &eh) || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_type != ET_REL || eh.e_machine != EM_X86_64)
		goto out;
	r = -EBADMSG;
	if (elf_getshdrnum(rd.elf, &rd.shnum) < 0 || elf_getshdrstrndx(rd.elf, &shstrndx) < 0 ||
	    rd.shnum < 2 || rd.shnum > 65000 || shstrndx == 0 || shstrndx >= rd.shnum)
		goto out;
	rd.byidx = calloc(rd.shnum, sizeof(*rd.byidx));
	r = -ENOMEM;
	e = lp_elf_new();
	if (!rd.byidx || !e)
		goto out;
	e->machine = eh.e_machine;
	r = read_sections(&rd, e, shstrndx);
	if (r >= 0)
		r = read_symbols(&rd, e);
	if (r >= 0)
		r = read_relas(&rd, e);
	/* Links not modelled (groups, other tables) keep raw values, checked where used. */
out:
	if (rd.elf)
		elf_end(rd.elf);
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
		return r;
	return lp_elf_parse(buf, len, ret);
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
	GElf_Ehdr eh;

	r = libelf_ready();
	if (r < 0)
		return r;
	r = -ENOMEM;
	if (strtab_add(&shstr, "") < 0 || strtab_add(&str, "") < 0)
		goto out;
	scns = calloc(e->nsecs + 1, sizeof(*scns));
	relbufs = calloc(e->nsecs + 1, sizeof(*relbufs));
	symtab = calloc(e->nsyms + 1, sizeof(*symtab));
	if (!scns || !relbufs || !symtab)
		goto out;

	/* Section indices: model order, then symtab, strtab, shstrtab. */
	for (size_t i = 0; i < e->nsecs; i++) {
		e->secs[i]->index = i + 1;
		if (e->secs[i]->type == SHT_GROUP || e->secs[i]->type == SHT_SYMTAB) {
			r = -EOPNOTSUPP;
			goto out;
		}
	}
	symtab_idx = e->nsecs + 1;
	strtab_idx = e->nsecs + 2;
	shstr_idx = e->nsecs + 3;

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

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = negative_errno();
		goto out;
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
	if (elf_update(elf, ELF_C_WRITE) < 0)
		goto out;
	r = 0;
out:
	if (elf)
		elf_end(elf);
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = negative_errno();
	if (r < 0 && fd >= 0)
		unlink(path);
	for (size_t i = 0; relbufs && i < e->nsecs; i++)
		free(relbufs[i]);
	free(relbufs);
	free(scns);
	free(symtab);
	free(shstr.buf);
	free(str.buf);
	(void)tmp;
	return r;
}
