/*
 * A mutable in-memory model of an x86_64 ELF relocatable object: sections, symbols and
 * relocations linked by pointers, so the differ and the module generator can move things
 * around and write a fresh file without tracking indices.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#ifndef SHF_RELA_LIVEPATCH
#define SHF_RELA_LIVEPATCH 0x00100000
#endif
#ifndef SHN_LIVEPATCH
#define SHN_LIVEPATCH 0xff20
#endif

/* Inputs larger than this are refused: objects of a translation unit are far smaller. */
#define LP_ELF_MAX_SIZE (512u << 20)
/* Section alignments above this are refused: kernel objects never need more than a page. */
#define LP_ELF_MAX_ALIGN 4096u
/* A file the writer would make larger than this is refused, not written. */
#define LP_ELF_MAX_OUTPUT (256u << 20)

struct lp_sec;

struct lp_sym {
	char *name;
	uint8_t type, bind, other;
	struct lp_sec *sec; /* NULL: undefined, absolute, common or livepatch (see shndx) */
	uint16_t shndx;     /* SHN_UNDEF, SHN_ABS, SHN_COMMON, SHN_LIVEPATCH when sec is NULL */
	uint64_t value, size;
	size_t index;       /* in the symbol table read or last written */
	void *priv;         /* scratch for the differ */
	uintptr_t mark;     /* scratch for the differ */
};

struct lp_rela {
	uint64_t offset;
	uint32_t type;
	struct lp_sym *sym;
	int64_t addend;
};

struct lp_sec {
	char *name;
	uint32_t type;
	uint64_t flags, addr, align, entsize;
	uint8_t *data;       /* owned; NULL for SHT_NOBITS */
	uint64_t size;
	size_t index;        /* in the file read or last written */
	uint32_t link, info; /* raw values for sections whose links are not modelled */
	struct lp_sec *base; /* SHT_RELA: the section the relocations apply to */
	struct lp_sec *rela; /* the SHT_RELA section applying to this one, if any */
	struct lp_rela *relas; /* SHT_RELA: the relocations */
	size_t nrelas, relas_alloc;
	struct lp_sym *secsym; /* the STT_SECTION symbol, if any */
	void *priv;
	uintptr_t mark;
};

struct lp_elf {
	struct lp_sec **secs; /* without the null section, symtab, its strtab and shstrtab */
	size_t nsecs, secs_alloc;
	struct lp_sym **syms; /* without the null symbol */
	size_t nsyms, syms_alloc;
	char *file; /* the first STT_FILE symbol's name, or NULL */
	uint16_t machine;
};

/*
 * Parses an ET_REL x86_64 object from memory (copied). Every header, section type, size,
 * alignment, entry size, link, symbol and relocation is checked before use: malformed input
 * is -EINVAL (not such an object), -EBADMSG or -EOPNOTSUPP, logged once as "'NAME': ..."
 * naming the section or field. NAME (may be NULL) is the file, for that message.
 */
int lp_elf_parse(const void *buf, size_t len, const char *name, struct lp_elf **ret);
/* Reads and parses PATH; failures other than -ENOMEM are logged. */
int lp_elf_read(const char *path, struct lp_elf **ret);
/*
 * Writes the model as an ELF file; symbols are reordered locals first, indices refreshed.
 * Written to a temporary file next to PATH and renamed over it when complete; a file larger
 * than LP_ELF_MAX_OUTPUT is refused (-EFBIG) before anything is written. Failures other
 * than -ENOMEM are logged.
 */
int lp_elf_write(struct lp_elf *e, const char *path);
/* "PROGBITS", "NOBITS", "SHT_NULL", ... for messages. */
const char *lp_sht_name(uint32_t type);
struct lp_elf *lp_elf_new(void);
void lp_elf_free(struct lp_elf *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lp_elf *, lp_elf_free);

struct lp_sec *lp_elf_add_sec(struct lp_elf *e, const char *name, uint32_t type, uint64_t flags,
			      uint64_t align);
struct lp_sym *lp_elf_add_sym(struct lp_elf *e, const char *name, uint8_t type, uint8_t bind,
			      struct lp_sec *sec, uint64_t value, uint64_t size);
/* Appends bytes (NULL: zeros) at ALIGN; returns the offset or -ENOMEM/-E2BIG. */
int64_t lp_sec_append(struct lp_sec *s, const void *data, uint64_t len, uint64_t align);
/* Adds a relocation to S, creating its .rela section in E when needed. */
int lp_sec_add_rela(struct lp_elf *e, struct lp_sec *s, uint64_t offset, uint32_t type,
		    struct lp_sym *sym, int64_t addend);
struct lp_sec *lp_elf_find_sec(const struct lp_elf *e, const char *name);
struct lp_sym *lp_elf_find_sym(const struct lp_elf *e, const char *name);
/* Removes a section (and frees it) that nothing refers to any more. */
void lp_elf_drop_sec(struct lp_elf *e, struct lp_sec *s);

/* Width in bytes of the field patched by an x86_64 relocation type; 0 if unknown. */
unsigned lp_rela_width(uint32_t type);
/* True for PC-relative relocation types. */
bool lp_rela_pcrel(uint32_t type);
