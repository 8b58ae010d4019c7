/*
 * The exact compiled-file set of a finished kernel build: objects linked into vmlinux come from
 * the thin archives (vmlinux.a, or built-in.a and lib.a), module objects from modules.order and
 * each module's .mod file, and every object's source from the source_ line of its .cmd file.
 */
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "kernel/fileset.h"
#include "kernel/kmake.h"
#include "log.h"
#include "macro.h"
#include "strbuf.h"
#include "banned.h"

#define ARCHIVE_MAX (256u << 20)
#define CMD_HEAD_MAX (64u << 10)
#define CMD_MAX (16u << 20)

struct bd {
	const char *builddir; /* absolute */
	const char *srctree;  /* absolute or NULL */
	struct kernel_fileset *fs;
	unsigned archives, objects, missing_cmd;
};

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* A path as the build wrote it (relative to the build dir or absolute) -> tree-relative. */
static char *source_rel(struct bd *bd, const char *src, bool *ret_generated)
{
	_cleanup_free_ char *abs = NULL;
	size_t bl = strlen(bd->builddir), sl = bd->srctree ? strlen(bd->srctree) : 0;

	abs = src[0] == '/' ? kmake_path_normalize(src) : NULL;
	if (!abs) {
		_cleanup_free_ char *j = strdup_printf("%s/%s", bd->builddir, src);

		abs = j ? kmake_path_normalize(j) : NULL;
	}
	if (!abs)
		return NULL;
	*ret_generated = false;
	if (bd->srctree && strncmp(abs, bd->srctree, sl) == 0 && abs[sl] == '/' &&
	    !(strncmp(abs, bd->builddir, bl) == 0 && abs[bl] == '/' && bl > sl))
		return strdup(abs + sl + 1);
	if (strncmp(abs, bd->builddir, bl) == 0 && abs[bl] == '/') {
		*ret_generated = !bd->srctree || !streq(bd->srctree, bd->builddir);
		return strdup(abs + bl + 1);
	}
	return strdup(abs);
}

/* Reads "source_OBJ := PATH" from OBJ's .cmd file; NULL in *RET when there is none. */
static int read_cmd_source(struct bd *bd, const char *obj, char **ret)
{
	_cleanup_free_ char *cmd = NULL, *buf = NULL, *key = NULL;
	const char *slash = strrchr(obj, '/');
	size_t len;
	int r;

	*ret = NULL;
	if (slash)
		cmd = strdup_printf("%s/%.*s/.%s.cmd", bd->builddir, (int)(slash - obj), obj,
				    slash + 1);
	else
		cmd = strdup_printf("%s/.%s.cmd", bd->builddir, obj);
	key = strdup_printf("source_%s := ", obj);
	if (!cmd || !key)
		return -ENOMEM;
	/* The source_ line comes right after cmd_; the dependency list that follows is long. */
	r = read_file_capped(cmd, CMD_HEAD_MAX, &buf, &len);
	if (r == -EFBIG)
		r = read_file_capped(cmd, CMD_MAX, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (startswith(p, key)) {
			char *v = p + strlen(key), *e = strchr(v, '\n');

			*ret = e ? strndup(v, (size_t)(e - v)) : strdup(v);
			return *ret ? 0 : -ENOMEM;
		}
	}
	return 0;
}

static int add_obj(struct bd *bd, const char *obj, unsigned kind, const char *how)
{
	_cleanup_free_ char *src = NULL, *rel = NULL;
	bool generated = false;
	size_t l = strlen(obj);
	int r;

	if (l < 3 || !streq(obj + l - 2, ".o"))
		return 0;
	bd->objects++;
	r = read_cmd_source(bd, obj, &src);
	if (r < 0)
		return r;
	if (src) {
		rel = source_rel(bd, src, &generated);
		if (!rel)
			return -ENOMEM;
		/* A source that has a .cmd of its own was made by a build command. */
		const char *slash = strrchr(rel, '/');
		_cleanup_free_ char *gcmd =
			slash ? strdup_printf("%s/%.*s/.%s.cmd", bd->builddir, (int)(slash - rel),
					      rel, slash + 1)
			      : strdup_printf("%s/.%s.cmd", bd->builddir, rel);

		if (gcmd && exists(gcmd))
			generated = true;
	} else {
		/* No .cmd file (e.g. a prebuilt object): guess the C source. */
		bd->missing_cmd++;
		rel = strdup_printf("%.*s.c", (int)(l - 2), obj);
		if (!rel)
			return -ENOMEM;
		log_debug("no .cmd file for '%s'", obj);
	}
	return kernel_fileset_add(bd->fs, rel, kind, generated, how);
}

/*
 * Objects scripts/link-vmlinux.sh links besides vmlinux.a (6.1: .vmlinux.export.o and
 * init/version-timestamp.o): those of its objs="${objs} X.o" lines that this build made.
 */
static int read_link_objects(struct bd *bd)
{
	_cleanup_free_ char *p = strdup_printf("%s/scripts/link-vmlinux.sh", bd->srctree),
			    *buf = NULL;
	static const char key[] = "objs=\"${objs} ";
	int r = 0;

	if (!p)
		return -ENOMEM;
	if (read_file_capped(p, 1u << 20, &buf, NULL) < 0)
		return 0;
	for (char *q = strstr(buf, key); q && r >= 0; q = strstr(q + 1, key)) {
		char *o = q + strlen(key);
		size_t n = strcspn(o, "\" \n");
		_cleanup_free_ char *obj = strndup(o, n), *cmd = NULL;
		const char *slash;

		if (!obj)
			return -ENOMEM;
		if (n < 3 || !streq(obj + n - 2, ".o"))
			continue;
		slash = strrchr(obj, '/');
		cmd = slash ? strdup_printf("%s/%.*s/.%s.cmd", bd->builddir, (int)(slash - obj),
					    obj, slash + 1)
			    : strdup_printf("%s/.%s.cmd", bd->builddir, obj);
		if (!cmd)
			return -ENOMEM;
		if (exists(cmd))
			r = add_obj(bd, obj, KERNEL_FILE_BUILTIN,
				    "linked by scripts/link-vmlinux.sh");
	}
	return r;
}

static unsigned long parse_dec(const char *s, size_t len)
{
	unsigned long v = 0;

	for (size_t i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	return v;
}

/* Lists the member objects of the archive at PATH (relative to the build dir), recursively. */
static int read_archive(struct bd *bd, const char *rel, int depth)
{
	_cleanup_free_ char *path = strdup_printf("%s/%s", bd->builddir, rel), *buf = NULL;
	_cleanup_free_ char *dir = NULL, *how = NULL;
	const char *names = NULL, *slash;
	size_t len, names_len = 0, off;
	bool thin;
	int r;

	if (!path)
		return -ENOMEM;
	if (depth > 8)
		return 0;
	r = read_file_capped(path, ARCHIVE_MAX, &buf, &len);
	if (r < 0)
		return r;
	if (len >= 8 && memcmp(buf, "!<thin>\n", 8) == 0)
		thin = true;
	else if (len >= 8 && memcmp(buf, "!<arch>\n", 8) == 0)
		thin = false;
	else
		return log_error_errno(-EINVAL, "'%s' is not an ar archive", path);
	bd->archives++;
	slash = strrchr(rel, '/');
	dir = slash ? strndup(rel, (size_t)(slash - rel)) : strdup(".");
	how = strdup_printf("member of %s", rel);
	if (!dir || !how)
		return -ENOMEM;
	for (off = 8; off + 60 <= len;) {
		const char *h = buf + off, *name = h;
		unsigned long size = parse_dec(h + 48, 10);
		size_t nl;
		bool special;
		_cleanup_free_ char *member = NULL, *mrel = NULL;

		if (h[58] != '`' || h[59] != '\n')
			return log_error_errno(-EINVAL, "'%s': corrupt archive header at %zu", path,
					       off);
		special = h[0] == '/' && (h[1] == ' ' || h[1] == '/' || startswith(h, "/SYM64/"));
		if (special) {
			if (h[1] == '/') {
				names = h + 60;
				names_len = MIN(size, len - off - 60);
			}
			off += 60 + size + (size & 1);
			continue;
		}
		if (h[0] == '/' && names) {
			unsigned long no = parse_dec(h + 1, 15);
			const char *e;

			if (no >= names_len)
				return log_error_errno(-EINVAL, "'%s': bad member name", path);
			name = names + no;
			e = memchr(name, '\n', names_len - no);
			nl = e ? (size_t)(e - name) : names_len - no;
		} else {
			nl = 16;
		}
		while (nl > 0 && (name[nl - 1] == ' ' || name[nl - 1] == '/'))
			nl--;
		member = strndup(name, nl);
		if (!member)
			return -ENOMEM;
		mrel = member[0] == '/' ? strdup(member) : strdup_printf("%s/%s", dir, member);
		if (!mrel)
			return -ENOMEM;
		_cleanup_free_ char *norm = kmake_path_normalize(mrel);

		if (!norm)
			return -ENOMEM;
		if (strlen(norm) > 2 && streq(norm + strlen(norm) - 2, ".a"))
			r = read_archive(bd, norm, depth + 1);
		else
			r = add_obj(bd, norm, KERNEL_FILE_BUILTIN, how);
		if (r < 0)
			return r;
		off += 60 + (thin ? 0 : size + (size & 1));
	}
	return 0;
}

static int read_modules(struct bd *bd)
{
	_cleanup_free_ char *path = strdup_printf("%s/modules.order", bd->builddir), *buf = NULL;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	r = read_file_capped(path, 64u << 20, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
	for (char *line = buf, *next; line && *line; line = next) {
		_cleanup_free_ char *mod = NULL, *modbuf = NULL, *how = NULL;
		char *e = strchr(line, '\n');
		size_t ll, mlen;

		next = e ? e + 1 : NULL;
		ll = e ? (size_t)(e - line) : strlen(line);
		if (ll > 3 && memcmp(line + ll - 3, ".ko", 3) == 0)
			mod = strdup_printf("%s/%.*s.mod", bd->builddir, (int)(ll - 3), line);
		else if (ll > 2 && memcmp(line + ll - 2, ".o", 2) == 0)
			mod = strdup_printf("%s/%.*s.mod", bd->builddir, (int)(ll - 2), line);
		else
			continue;
		how = strdup_printf("module %.*s", (int)ll, line);
		if (!mod || !how)
			return -ENOMEM;
		r = read_file_capped(mod, 1u << 20, &modbuf, &mlen);
		if (r < 0) {
			log_warn("cannot read '%s': %s", mod, strerror(-r));
			continue;
		}
		/* One object per line, or (older kernels) space-separated. */
		for (char *p = modbuf; *p;) {
			size_t wl;

			while (*p == ' ' || *p == '\n' || *p == '\t')
				p++;
			wl = strcspn(p, " \n\t");
			if (wl == 0)
				break;
			_cleanup_free_ char *obj = strndup(p, wl);

			if (!obj)
				return -ENOMEM;
			r = add_obj(bd, obj, KERNEL_FILE_MODULE, how);
			if (r < 0)
				return r;
			p += wl;
		}
	}
	return 0;
}

/* Reads every lib.a under DIR (relative to the build dir; "" for its top). */
static int read_lib_archives(struct bd *bd, const char *rel, int depth)
{
	_cleanup_free_ char *abs =
		*rel ? strdup_printf("%s/%s", bd->builddir, rel) : strdup(bd->builddir);
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (!abs)
		return -ENOMEM;
	if (depth > 32)
		return 0;
	d = opendir(abs);
	if (!d)
		return 0;
	while ((de = readdir(d)) && r >= 0) {
		_cleanup_free_ char *child = NULL;

		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN && !streq(de->d_name, "lib.a"))
			continue;
		child = *rel ? strdup_printf("%s/%s", rel, de->d_name) : strdup(de->d_name);
		if (!child) {
			r = -ENOMEM;
			break;
		}
		if (streq(de->d_name, "lib.a")) {
			r = read_archive(bd, child, 0);
			continue;
		}
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;
			_cleanup_free_ char *full = strdup_printf("%s/%s", bd->builddir, child);

			if (!full || lstat(full, &st) < 0 || !S_ISDIR(st.st_mode))
				continue;
		}
		if (streq(de->d_name, "source"))
			continue; /* the O= build's link back to the tree */
		r = read_lib_archives(bd, child, depth + 1);
	}
	closedir(d);
	return r;
}

int kernel_files_from_builddir(const char *builddir, const char *srctree,
			       struct kernel_fileset **ret)
{
	char absb[PATH_MAX], abss[PATH_MAX];
	struct bd bd = {};
	const char *top;
	_cleanup_free_ char *vmlinux_a = NULL, *builtin_a = NULL;
	int r;

	if (!realpath(builddir, absb))
		return log_error_errno(negative_errno(), "cannot open build directory '%s': %m",
				       builddir);
	if (srctree && !realpath(srctree, abss))
		return log_error_errno(negative_errno(), "cannot open source tree '%s': %m",
				       srctree);
	bd.builddir = absb;
	bd.srctree = srctree ? abss : NULL;
	if (!bd.srctree) {
		/* An O= build has a "source" link to its tree; an in-tree build is its own. */
		_cleanup_free_ char *link = strdup_printf("%s/source", absb);

		if (link && realpath(link, abss))
			bd.srctree = abss;
		else
			bd.srctree = absb;
	}
	vmlinux_a = strdup_printf("%s/vmlinux.a", absb);
	builtin_a = strdup_printf("%s/built-in.a", absb);
	if (!vmlinux_a || !builtin_a)
		return -ENOMEM;
	if (exists(vmlinux_a))
		top = "vmlinux.a";
	else if (exists(builtin_a))
		top = "built-in.a";
	else
		return log_error_errno(-EINVAL,
				       "'%s' is not a kernel build directory (no vmlinux.a or "
				       "built-in.a: has the build finished?)",
				       builddir);
	r = kernel_fileset_new("builddir", &bd.fs);
	if (r < 0)
		return r;
	r = read_archive(&bd, top, 0);
	/* lib.a archives are compiled even when not all of them end up linked. */
	if (r >= 0)
		r = read_lib_archives(&bd, "", 0);
	if (r >= 0)
		r = read_link_objects(&bd);
	if (r >= 0)
		r = read_modules(&bd);
	if (r >= 0)
		r = kernel_fileset_finish(bd.fs);
	if (r < 0) {
		kernel_fileset_free(bd.fs);
		return r;
	}
	kernel_fileset_stats_mut(bd.fs)->dirs = bd.archives;
	if (bd.missing_cmd)
		log_warn("%u objects had no .cmd file; their sources were guessed", bd.missing_cmd);
	*ret = bd.fs;
	return 0;
}
