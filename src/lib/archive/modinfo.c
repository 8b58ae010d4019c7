/* Reads a kernel module's .modinfo section out of an ELF image held in memory. */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "archive/modinfo.h"
#include "log.h"
#include "banned.h"

static int modinfo_take(const char *what, const char *key, const char *val, size_t vlen,
			char **slot)
{
	if (*slot)
		return log_error_errno(-EBADMSG, "'%s': .modinfo has '%s' twice", what, key);
	*slot = strndup(val, vlen);
	return *slot ? 0 : -ENOMEM;
}

static int modinfo_fields(const char *what, const char *p, size_t n, struct ar_modinfo *mi)
{
	size_t i = 0;
	int r;

	while (i < n) {
		const char *s = p + i, *eq, *end = memchr(s, '\0', n - i);
		size_t len;

		if (!end)
			return log_error_errno(-EBADMSG, "'%s': .modinfo does not end in a NUL",
					       what);
		len = (size_t)(end - s);
		i += len + 1;
		if (len == 0)
			continue; /* alignment padding between entries */
		eq = memchr(s, '=', len);
		if (!eq)
			return log_error_errno(-EBADMSG,
					       "'%s': .modinfo entry without '=' at offset %zu",
					       what, (size_t)(s - p));
		len -= (size_t)(eq + 1 - s);
		if ((size_t)(eq - s) == 4 && !strncmp(s, "name", 4))
			r = modinfo_take(what, "name", eq + 1, len, &mi->name);
		else if ((size_t)(eq - s) == 8 && !strncmp(s, "vermagic", 8))
			r = modinfo_take(what, "vermagic", eq + 1, len, &mi->vermagic);
		else if ((size_t)(eq - s) == 7 && !strncmp(s, "license", 7))
			r = mi->license ? 0
					: modinfo_take(what, "license", eq + 1, len, &mi->license);
		else
			r = 0;
		if ((size_t)(eq - s) == 9 && !strncmp(s, "livepatch", 9))
			mi->livepatch = len == 1 && eq[1] == 'Y';
		if (r < 0)
			return r;
	}
	return 0;
}

int ar_modinfo_parse(const char *what, void *buf, size_t len, struct ar_modinfo *ret)
{
	struct ar_modinfo mi = {};
	Elf_Data *data = NULL;
	Elf_Scn *scn = NULL;
	GElf_Ehdr ehdr;
	size_t shstrndx;
	Elf *elf;
	int r;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return log_error_errno(-EIO, "libelf: %s", elf_errmsg(-1));
	elf = elf_memory(buf, len);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr) ||
	    ehdr.e_type != ET_REL) {
		r = log_error_errno(-ENOEXEC,
				    "'%s' is not a kernel module (not a relocatable ELF "
				    "object)",
				    what);
		goto out;
	}
	if (elf_getshdrstrndx(elf, &shstrndx) < 0) {
		r = log_error_errno(-ENOEXEC, "'%s': no section name table: %s", what,
				    elf_errmsg(-1));
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".modinfo") != 0)
			continue;
		if (sh.sh_type == SHT_NOBITS || sh.sh_size > AR_MODINFO_MAX) {
			r = log_error_errno(-EBADMSG,
					    "'%s': .modinfo is empty or larger than %u "
					    "bytes",
					    what, AR_MODINFO_MAX);
			goto out;
		}
		data = elf_getdata(scn, NULL);
		break;
	}
	if (!scn) {
		r = log_error_errno(-ENODATA, "'%s' has no .modinfo section: not a kernel module",
				    what);
		goto out;
	}
	if (!data || !data->d_buf || data->d_size == 0) {
		r = log_error_errno(-EBADMSG, "'%s': .modinfo cannot be read: %s", what,
				    elf_errmsg(-1));
		goto out;
	}
	r = modinfo_fields(what, data->d_buf, data->d_size, &mi);
	if (r < 0)
		goto out;
	*ret = mi;
	mi = (struct ar_modinfo){};
	r = 0;
out:
	ar_modinfo_release(&mi);
	elf_end(elf);
	return r;
}

void ar_modinfo_release(struct ar_modinfo *mi)
{
	if (!mi)
		return;
	free(mi->name);
	free(mi->vermagic);
	free(mi->license);
	*mi = (struct ar_modinfo){};
}

char *ar_vermagic_release(const char *vermagic)
{
	size_t n = strcspn(vermagic, " \t");

	return strndup(vermagic, n);
}
