/*
 * The compiled-file set from DWARF: each compile unit of vmlinux and of the modules names the
 * source it was built from. Modules are relocatable objects, so libdwfl applies their
 * relocations before the unit names can be read.
 */
#include <dirent.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/fileset.h"
#include "kernel/kmake.h"
#include "log.h"
#include "macro.h"
#include "strbuf.h"
#include "banned.h"

/* Top directories of a kernel tree, to cut the build machine's prefix off absolute names. */
static const char *const top_dirs[] = {
	"arch/",     "block/",	  "certs/",  "crypto/", "drivers/", "fs/",   "include/", "init/",
	"io_uring/", "ipc/",	  "kernel/", "lib/",	"mm/",	    "net/",  "rust/",	 "samples/",
	"scripts/",  "security/", "sound/",  "tools/",	"usr/",	    "virt/",
};

struct di {
	const char *srctree; /* absolute or NULL */
	struct kernel_fileset *fs;
	unsigned units, elves;
	char **paths;
	size_t npaths, alloc;
};

static int find_no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			     Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			     GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	return -1; /* the DWARF is in the file itself */
}

static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = find_no_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static bool src_exists(struct di *di, const char *rel)
{
	_cleanup_free_ char *p = NULL;

	if (!di->srctree)
		return false;
	p = strdup_printf("%s/%s", di->srctree, rel);
	return p && access(p, F_OK) == 0;
}

/* A unit's name made relative to the tree root. */
static char *unit_path(struct di *di, const char *name, const char *comp_dir)
{
	_cleanup_free_ char *n = kmake_path_normalize(name);
	const char *p;

	if (!n)
		return NULL;
	if (n[0] != '/') {
		p = n;
		while (startswith(p, "../"))
			p += 3;
		return strdup(p);
	}
	if (comp_dir && comp_dir[0] == '/') {
		size_t cl = strlen(comp_dir);

		if (strncmp(n, comp_dir, cl) == 0 && n[cl] == '/')
			return strdup(n + cl + 1);
	}
	if (di->srctree) {
		size_t sl = strlen(di->srctree);

		if (strncmp(n, di->srctree, sl) == 0 && n[sl] == '/')
			return strdup(n + sl + 1);
		/* Strip leading components until the rest is in the tree. */
		for (p = n + 1; (p = strchr(p, '/')); p++)
			if (src_exists(di, p + 1))
				return strdup(p + 1);
	}
	for (p = n; (p = strchr(p, '/')); p++)
		for (size_t i = 0; i < ARRAY_SIZE(top_dirs); i++)
			if (startswith(p + 1, top_dirs[i]))
				return strdup(p + 1);
	return strdup(n);
}

static bool skip_unit(const char *path)
{
	size_t l = strlen(path);

	/* modpost's glue and the link's kallsyms tables are not sources of the tree */
	if (l > 6 && streq(path + l - 6, ".mod.c"))
		return true;
	if (strstr(path, ".tmp_") || streq(path, "<artificial>"))
		return true;
	return false;
}

static int read_units(struct di *di, const char *file, bool module)
{
	_cleanup_free_ char *how = NULL;
	Dwfl *dwfl = dwfl_begin(&offline_callbacks);
	Dwfl_Module *mod;
	Dwarf_Die *cu = NULL;
	Dwarf_Addr bias;
	const char *slash = strrchr(file, '/');
	int r = 0;

	if (!dwfl)
		return -ENOMEM;
	how = module ? strdup_printf("DWARF of module %s", slash ? slash + 1 : file)
		     : strdup_printf("DWARF of %s", slash ? slash + 1 : file);
	if (!how) {
		dwfl_end(dwfl);
		return -ENOMEM;
	}
	dwfl_report_begin(dwfl);
	mod = dwfl_report_offline(dwfl, slash ? slash + 1 : file, file, -1);
	dwfl_report_end(dwfl, NULL, NULL);
	if (!mod) {
		log_warn("cannot read '%s': %s", file, dwfl_errmsg(-1));
		dwfl_end(dwfl);
		return 0;
	}
	di->elves++;
	while ((cu = dwfl_module_nextcu(mod, cu, &bias))) {
		Dwarf_Attribute attr;
		const char *name = dwarf_diename(cu), *comp_dir = NULL;
		_cleanup_free_ char *rel = NULL;

		if (!name)
			continue;
		if (dwarf_attr(cu, DW_AT_comp_dir, &attr))
			comp_dir = dwarf_formstring(&attr);
		rel = unit_path(di, name, comp_dir);
		if (!rel) {
			r = -ENOMEM;
			break;
		}
		if (skip_unit(rel))
			continue;
		di->units++;
		r = kernel_fileset_add(di->fs, rel,
				       module ? KERNEL_FILE_MODULE : KERNEL_FILE_BUILTIN,
				       di->srctree ? !src_exists(di, rel) : false, how);
		if (r < 0)
			break;
	}
	if (di->elves > 0 && cu == NULL && r >= 0 && dwfl_errno() != 0)
		log_debug("'%s': %s", file, dwfl_errmsg(-1));
	dwfl_end(dwfl);
	return r;
}

static bool is_vmlinux_name(const char *base)
{
	return streq(base, "vmlinux") || startswith(base, "vmlinux-");
}

static int add_path(struct di *di, const char *p)
{
	if (di->npaths == di->alloc) {
		size_t na = di->alloc ? di->alloc * 2 : 256;
		char **np = realloc(di->paths, na * sizeof(*np));

		if (!np)
			return -ENOMEM;
		di->paths = np;
		di->alloc = na;
	}
	di->paths[di->npaths] = strdup(p);
	if (!di->paths[di->npaths])
		return -ENOMEM;
	di->npaths++;
	return 0;
}

/* Collects vmlinux* and *.ko under DIR (symlinks to files are followed, not to dirs). */
static int walk(struct di *di, const char *dir, int depth)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (depth > 16)
		return 0;
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) && r >= 0) {
		_cleanup_free_ char *p = NULL;
		struct stat st, lst;
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue; /* also skips .build-id */
		p = strdup_printf("%s/%s", dir, de->d_name);
		if (!p) {
			r = -ENOMEM;
			break;
		}
		if (lstat(p, &lst) < 0 || stat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (!S_ISLNK(lst.st_mode))
				r = walk(di, p, depth + 1);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (is_vmlinux_name(de->d_name) || (l > 3 && streq(de->d_name + l - 3, ".ko")))
			r = add_path(di, p);
	}
	closedir(d);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int kernel_files_from_debuginfo(const char *debugdir, const char *srctree,
				struct kernel_fileset **ret)
{
	char abss[PATH_MAX];
	struct di di = {};
	struct stat st;
	int r;

	if (stat(debugdir, &st) < 0)
		return log_error_errno(negative_errno(), "cannot open '%s': %m", debugdir);
	if (srctree && !realpath(srctree, abss))
		return log_error_errno(negative_errno(), "cannot open source tree '%s': %m",
				       srctree);
	di.srctree = srctree ? abss : NULL;
	if (S_ISDIR(st.st_mode))
		r = walk(&di, debugdir, 0);
	else
		r = add_path(&di, debugdir);
	if (r >= 0 && di.npaths == 0)
		r = log_error_errno(-ENOENT, "no vmlinux or *.ko under '%s'", debugdir);
	if (r >= 0)
		r = kernel_fileset_new("debuginfo", &di.fs);
	if (r >= 0) {
		/* The same vmlinux may be reachable twice (boot/ and a lib/modules link). */
		char **real = calloc(di.npaths + 1, sizeof(*real));
		size_t nreal = 0;

		if (!real)
			r = -ENOMEM;
		for (size_t i = 0; r >= 0 && i < di.npaths; i++) {
			char rp[PATH_MAX];

			if (realpath(di.paths[i], rp) && !(real[nreal++] = strdup(rp)))
				r = -ENOMEM;
		}
		if (r >= 0)
			qsort(real, nreal, sizeof(*real), cmp_str);
		for (size_t i = 0; r >= 0 && i < nreal; i++) {
			const char *base = strrchr(real[i], '/');

			if (i > 0 && streq(real[i], real[i - 1]))
				continue;
			base = base ? base + 1 : real[i];
			r = read_units(&di, real[i], !is_vmlinux_name(base));
			if ((i & 63) == 0)
				tt_progress("reading DWARF", i, nreal);
		}
		if (r >= 0)
			tt_progress("reading DWARF", nreal, nreal);
		for (size_t i = 0; real && i < nreal; i++)
			free(real[i]);
		free(real);
	}
	for (size_t i = 0; i < di.npaths; i++)
		free(di.paths[i]);
	free(di.paths);
	if (r >= 0)
		r = kernel_fileset_finish(di.fs);
	if (r < 0) {
		kernel_fileset_free(di.fs);
		return r;
	}
	kernel_fileset_stats_mut(di.fs)->dirs = di.elves;
	log_info("debuginfo: %u ELF files, %u compile units, %zu files", di.elves, di.units,
		 kernel_fileset_size(di.fs));
	*ret = di.fs;
	return 0;
}
