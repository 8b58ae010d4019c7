/*
 * A livepatch target module's symbols, read from its .ko the way the kernel's module loader
 * builds the module's kallsyms, and finding that .ko by module name (compressed or not).
 *
 * klp_find_object_symbol() counts a module's symbols in its kallsyms: the whole symtab
 * (but undefined symbols) while the module is being loaded, which is when a module loaded
 * after the livepatch is patched; only the "core" symbols once its init has run (6.1
 * kernel/module/kallsyms.c: is_core_symbol()). Both views are kept, so a position is one
 * that works in both.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "livepatch/klp-internal.h"
#include "livepatch/klp.h"
#include "log.h"
#include "strbuf.h"

/* A module is far smaller; the decompressed image is capped at this. */
#define MODULE_MAX_SIZE (256u << 20)
#define MODULE_MAX_SECTIONS 65280u
#define FIND_MAX_DEPTH 12

static int bad(const char *name, const char *what)
{
	return log_error_errno(-EBADMSG, "'%s': %s", strempty(name), what);
}

static bool in_file(size_t len, uint64_t off, uint64_t size)
{
	return off <= len && size <= len - off;
}

/* NUL-terminated string at OFF of a string table, or NULL. */
static const char *str_at(const char *tab, uint64_t tabsize, uint64_t off)
{
	if (off >= tabsize || !memchr(tab + off, '\0', tabsize - off))
		return NULL;
	return tab + off;
}

static char sym_type(const Elf64_Shdr *sh, uint16_t shndx, size_t shnum, size_t pcpu,
		     unsigned char bind)
{
	char t;

	if (shndx >= shnum)
		t = 'a';
	else if (shndx == pcpu)
		t = 'd';
	else if (sh[shndx].sh_flags & SHF_EXECINSTR)
		t = 't';
	else if (sh[shndx].sh_type == SHT_NOBITS)
		t = 'b';
	else if (sh[shndx].sh_flags & SHF_WRITE)
		t = 'd';
	else
		t = 'r';
	return bind == STB_LOCAL ? t : (char)(t - 'a' + 'A');
}

int lp_symtab_parse_module(const void *buf, size_t len, const char *name, bool kallsyms_all,
			   struct lp_symtab **ret)
{
	_cleanup_(lp_symtab_freep) struct lp_symtab *st = NULL;
	_cleanup_free_ Elf64_Shdr *sh = NULL;
	_cleanup_free_ bool *loaded = NULL;
	const char *base = buf, *shstr, *str;
	size_t shnum, symidx = 0, pcpu = SIZE_MAX, nsyms = 0;
	Elf64_Ehdr eh;
	int r;

	if (len < sizeof(eh))
		return bad(name, "too short for an ELF header");
	memcpy(&eh, buf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return bad(name, "not a little-endian 64-bit ELF file");
	if (eh.e_type != ET_REL || eh.e_machine != EM_X86_64)
		return bad(name, "not an x86_64 kernel module (ET_REL)");
	if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 ||
	    eh.e_shnum > MODULE_MAX_SECTIONS || eh.e_shstrndx >= eh.e_shnum)
		return bad(name, "bad section header table (entry size, count or names index)");
	shnum = eh.e_shnum;
	if (!in_file(len, eh.e_shoff, (uint64_t)shnum * sizeof(*sh)))
		return bad(name, "the section headers lie outside the file");
	sh = calloc(shnum, sizeof(*sh));
	loaded = calloc(shnum, sizeof(*loaded));
	if (!sh || !loaded)
		return -ENOMEM;
	memcpy(sh, base + eh.e_shoff, shnum * sizeof(*sh));
	if (sh[eh.e_shstrndx].sh_type != SHT_STRTAB ||
	    !in_file(len, sh[eh.e_shstrndx].sh_offset, sh[eh.e_shstrndx].sh_size))
		return bad(name, "the section names table is not a string table inside the file");
	shstr = base + sh[eh.e_shstrndx].sh_offset;
	for (size_t i = 1; i < shnum; i++) {
		const char *sn = str_at(shstr, sh[eh.e_shstrndx].sh_size, sh[i].sh_name);

		if (!sn)
			return bad(name, "a section name lies outside the section names table");
		if (sh[i].sh_type == SHT_SYMTAB) {
			if (symidx)
				return bad(name, "more than one symbol table");
			symidx = i;
		}
		/*
		 * What the loader keeps after init: allocated sections but .init*, and
		 * neither .modinfo nor __versions (their SHF_ALLOC is cleared on load).
		 */
		loaded[i] = (sh[i].sh_flags & SHF_ALLOC) && strncmp(sn, ".init", 5) != 0 &&
			    !streq(sn, ".modinfo") && !streq(sn, "__versions") &&
			    (kallsyms_all || (sh[i].sh_flags & SHF_EXECINSTR));
		if (streq(sn, ".data..percpu"))
			pcpu = i;
	}
	if (!symidx)
		return bad(name, "no symbol table (a stripped module cannot be livepatched)");
	if (sh[symidx].sh_entsize != sizeof(Elf64_Sym) || sh[symidx].sh_size % sizeof(Elf64_Sym) ||
	    !in_file(len, sh[symidx].sh_offset, sh[symidx].sh_size))
		return bad(name, "the symbol table's entry size or extent is wrong");
	if (sh[symidx].sh_link == 0 || sh[symidx].sh_link >= shnum ||
	    sh[sh[symidx].sh_link].sh_type != SHT_STRTAB ||
	    !in_file(len, sh[sh[symidx].sh_link].sh_offset, sh[sh[symidx].sh_link].sh_size))
		return bad(name, "the symbol table's string table is missing or outside the file");
	str = base + sh[sh[symidx].sh_link].sh_offset;
	if (kallsyms_all && pcpu != SIZE_MAX)
		loaded[pcpu] = true; /* per-CPU symbols are kept with CONFIG_KALLSYMS_ALL */

	st = lp_symtab_new();
	if (!st)
		return -ENOMEM;
	for (size_t i = 1; i < sh[symidx].sh_size / sizeof(Elf64_Sym); i++) {
		Elf64_Sym sym;
		const char *sn;
		size_t nlen;
		bool core;

		memcpy(&sym, base + sh[symidx].sh_offset + i * sizeof(sym), sizeof(sym));
		if (sym.st_shndx == SHN_UNDEF)
			continue; /* the kernel skips them too */
		sn = str_at(str, sh[sh[symidx].sh_link].sh_size, sym.st_name);
		if (!sn)
			return bad(name, "a symbol name lies outside the string table");
		nlen = strlen(sn);
		/* unnamed symbols match no name; a livepatch cannot name one of 512 or more */
		if (nlen == 0 || nlen >= 512)
			continue;
		core = sym.st_shndx < shnum && loaded[sym.st_shndx];
		r = lp_symtab_append(
			st, sn, nlen,
			((uint64_t)sym.st_shndx << 40) | (sym.st_value & ((1ull << 40) - 1)),
			sym_type(sh, sym.st_shndx, shnum, pcpu, ELF64_ST_BIND(sym.st_info)), !core);
		if (r == -E2BIG)
			return bad(name, "too many symbol names");
		if (r < 0)
			return r;
		nsyms++;
	}
	if (!nsyms)
		return bad(name, "no defined symbols");
	r = lp_symtab_seal(st);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(st);
	return 0;
}

static const char *decompressor(const char *path)
{
	size_t n = strlen(path);

	if (n > 3 && streq(path + n - 3, ".xz"))
		return "xz";
	if (n > 4 && streq(path + n - 4, ".zst"))
		return "zstd";
	if (n > 3 && streq(path + n - 3, ".gz"))
		return "gzip";
	return NULL;
}

/* Runs `TOOL -dc -- PATH` and reads its output, at most MODULE_MAX_SIZE bytes. */
static int read_decompressed(const char *tool, const char *path, char **ret, size_t *ret_len)
{
	struct strbuf sb = STRBUF_INIT;
	int fds[2], st, r = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		r = negative_errno();
		return log_error_errno(r, "'%s': cannot run %s: %s", path, tool, strerror(-r));
	}
	pid = fork();
	if (pid < 0) {
		r = negative_errno();
		close(fds[0]);
		close(fds[1]);
		return log_error_errno(r, "'%s': cannot run %s: %s", path, tool, strerror(-r));
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 2);
		}
		dup2(fds[1], 1);
		execlp(tool, tool, "-dc", "--", path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		char chunk[65536];
		ssize_t k = read(fds[0], chunk, sizeof(chunk));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = negative_errno();
			break;
		}
		if (k == 0)
			break;
		if (sb.len + (size_t)k > MODULE_MAX_SIZE) {
			r = -EFBIG;
			break;
		}
		if (strbuf_add(&sb, chunk, (size_t)k) < 0) {
			r = -ENOMEM;
			break;
		}
	}
	close(fds[0]); /* a decompressor still writing gets SIGPIPE */
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			st = 0;
			if (!r)
				r = negative_errno();
			break;
		}
	if (!r && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
		r = log_error_errno(-EBADMSG, "'%s': %s -dc failed (%s %d)", path, tool,
				    WIFEXITED(st) ? "exit status" : "signal",
				    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	else if (r == -EFBIG)
		log_error("'%s': larger than %u MiB once decompressed", path,
			  MODULE_MAX_SIZE >> 20);
	else if (r < 0 && r != -ENOMEM)
		log_error_errno(r, "'%s': cannot read %s's output: %s", path, tool, strerror(-r));
	if (r < 0) {
		strbuf_release(&sb);
		return r;
	}
	*ret_len = sb.len;
	*ret = strbuf_detach(&sb);
	return *ret ? 0 : -ENOMEM;
}

int lp_symtab_load_module(const char *path, bool kallsyms_all, struct lp_symtab **ret)
{
	_cleanup_free_ char *buf = NULL;
	const char *tool = decompressor(path);
	size_t len = 0;
	int r;

	if (tool)
		r = read_decompressed(tool, path, &buf, &len); /* logs but -ENOMEM */
	else if ((r = read_file_capped(path, MODULE_MAX_SIZE, &buf, &len)) < 0 && r != -ENOMEM)
		return log_error_errno(r, "cannot read module '%s': %s", path, strerror(-r));
	if (r < 0)
		return r;
	return lp_symtab_parse_module(buf, len, path, kallsyms_all, ret);
}

/* ---- finding a module's file ---- */

/* The module name a file name stands for ("kvm-intel.ko.xz" -> "kvm_intel"), or NULL. */
static char *module_stem(const char *file)
{
	static const char *const suffixes[] = {".ko", ".ko.xz", ".ko.zst", ".ko.gz"};
	const char *b = strrchr(file, '/');
	size_t n;

	b = b ? b + 1 : file;
	n = strlen(b);
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t k = strlen(suffixes[i]);
		char *s;

		if (n <= k || !streq(b + n - k, suffixes[i]))
			continue;
		s = strndup(b, n - k);
		if (!s)
			return NULL;
		for (char *q = s; *q; q++)
			if (*q == '-')
				*q = '_';
		return s;
	}
	return NULL;
}

static bool stem_is(const char *file, const char *modname)
{
	_cleanup_free_ char *s = module_stem(file);

	return s && streq(s, modname);
}

struct find {
	const char *modname;
	char **found;
	size_t nfound;
	int err;
};

static void find_walk(struct find *f, const char *dir, unsigned depth)
{
	DIR *d;
	struct dirent *de;

	if (depth > FIND_MAX_DEPTH || f->nfound > 8)
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		_cleanup_free_ char *p = NULL;
		struct stat s;

		if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
		    streq(de->d_name, "build") || streq(de->d_name, "source"))
			continue;
		p = path_join(dir, de->d_name);
		if (!p) {
			f->err = -ENOMEM;
			break;
		}
		if (lstat(p, &s) < 0)
			continue;
		if (S_ISDIR(s.st_mode)) {
			find_walk(f, p, depth + 1);
		} else if (S_ISREG(s.st_mode) && stem_is(de->d_name, f->modname)) {
			char **nf = reallocarray(f->found, f->nfound + 1, sizeof(*nf));

			if (!nf) {
				f->err = -ENOMEM;
				break;
			}
			f->found = nf;
			f->found[f->nfound++] = TAKE_PTR(p);
		}
	}
	closedir(d);
}

/* modules.dep names the one file depmod chose for each module: "kernel/x/y.ko: deps". */
static int find_in_modules_dep(const char *dir, const char *modname, char **ret)
{
	_cleanup_free_ char *dep = path_join(dir, "modules.dep"), *buf = NULL;
	size_t len;
	int r;

	if (!dep)
		return -ENOMEM;
	r = read_file_capped(dep, 64u << 20, &buf, &len);
	if (r < 0)
		return -ENOENT;
	for (char *p = buf, *eol; p < buf + len; p = eol + 1) {
		char *colon;
		_cleanup_free_ char *rel = NULL;

		eol = memchr(p, '\n', (size_t)(buf + len - p));
		if (!eol)
			eol = buf + len;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon)
			continue;
		rel = strndup(p, (size_t)(colon - p));
		if (!rel)
			return -ENOMEM;
		if (stem_is(rel, modname)) {
			char *full = rel[0] == '/' ? strdup(rel) : path_join(dir, rel);

			if (!full)
				return -ENOMEM;
			if (access(full, R_OK) < 0) {
				free(full);
				return -ENOENT;
			}
			*ret = full;
			return 0;
		}
	}
	return -ENOENT;
}

int lp_module_find(const char *const *paths, size_t npaths, const char *modname, char **ret_path)
{
	for (size_t i = 0; i < npaths; i++) {
		struct find f = {.modname = modname};
		struct stat s;
		int r;

		if (stat(paths[i], &s) < 0) {
			r = negative_errno();
			return log_error_errno(r, "cannot use modules path '%s': %s", paths[i],
					       strerror(-r));
		}
		if (!S_ISDIR(s.st_mode)) {
			if (stem_is(paths[i], modname)) {
				*ret_path = strdup(paths[i]);
				return *ret_path ? 0 : -ENOMEM;
			}
			continue;
		}
		r = find_in_modules_dep(paths[i], modname, ret_path);
		if (r != -ENOENT)
			return r;
		find_walk(&f, paths[i], 0);
		if (f.err < 0 || f.nfound != 1) {
			if (f.nfound > 1)
				log_error(
					"module '%s': %zu files in '%s' (%s, %s%s); name the file",
					modname, f.nfound, paths[i], f.found[0], f.found[1],
					f.nfound > 2 ? ", ..." : "");
			for (size_t k = 0; k < f.nfound; k++)
				free(f.found[k]);
			free(f.found);
			if (f.err < 0)
				return f.err;
			if (f.nfound > 1)
				return -ENOTUNIQ;
			continue;
		}
		*ret_path = f.found[0];
		free(f.found);
		return 0;
	}
	return -ENOENT;
}
