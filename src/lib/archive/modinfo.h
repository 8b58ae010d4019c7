/* What a livepatch .ko says about itself: its .modinfo section (name, vermagic, livepatch). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct ar_modinfo {
	char *name;	/* modinfo "name" */
	char *vermagic; /* "6.1.0-18-amd64 SMP preempt mod_unload modversions " */
	char *license;
	bool livepatch; /* modinfo "livepatch=Y" */
};

/* Largest .ko read; a livepatch module is a few hundred KiB. */
#define AR_KO_MAX (64u << 20)
/* Largest .modinfo section accepted; a kernel module's is a few hundred bytes. */
#define AR_MODINFO_MAX (256u << 10)

/*
 * Reads the .modinfo section of the ELF image BUF (LEN bytes; the buffer may be changed by
 * libelf). Returns 0, -ENOEXEC when BUF is not a relocatable ELF object, -ENODATA when it has
 * no .modinfo section, -EBADMSG when the section is malformed. WHAT names the input in errors.
 */
int ar_modinfo_parse(const char *what, void *buf, size_t len, struct ar_modinfo *ret);
void ar_modinfo_release(struct ar_modinfo *mi);
/* The kernel release a vermagic names: its first word, newly allocated. */
char *ar_vermagic_release(const char *vermagic);
