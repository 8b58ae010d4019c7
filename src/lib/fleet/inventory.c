/* Kernel inventory: add (version, config, compiled files, verdicts in one transaction), list, show, rm. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include "applicability/refresh.h"
#include "fileio.h"
#include "cve/query.h"
#include "fleet/buildtarget.h"
#include "fleet/changelog.h"
#include "fleet/inventory.h"
#include "kernel/fileset.h"
#include "kernel/kconfig.h"
#include "kernel/version.h"
#include "log.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

#define CONFIG_MAX (16u << 20)

static double now_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* The arch directory a config was made for, from the symbol each arch's Kconfig defines. */
static const char *config_srcarch(const struct kconfig *kc)
{
	static const struct {
		const char *sym, *arch;
	} arches[] = {
		{ "CONFIG_X86", "x86" },	 { "CONFIG_ARM64", "arm64" },
		{ "CONFIG_ARM", "arm" },	 { "CONFIG_RISCV", "riscv" },
		{ "CONFIG_PPC", "powerpc" },	 { "CONFIG_S390", "s390" },
		{ "CONFIG_LOONGARCH", "loongarch" }, { "CONFIG_MIPS", "mips" },
		{ "CONFIG_SPARC", "sparc" },	 { "CONFIG_UML", "um" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
		if (streq_ptr(kconfig_get(kc, arches[i].sym), "y"))
			return arches[i].arch;
	return NULL;
}

static bool name_valid(const char *name)
{
	if (!name || !*name || strlen(name) > 128)
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '/' || (unsigned char)*p == 0x7f)
			return false;
	return true;
}

int kernel_inventory_id(struct tt_store *s, const char *name, int64_t *ret)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(s, "SELECT id FROM kernel WHERE name = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (r == SQLITE_ROW)
		return 0;
	if (r == SQLITE_DONE)
		return -ENOENT;
	return tt_store_error(s, "looking up a kernel");
}

static int no_such_kernel(const char *name)
{
	return log_error_errno(-ENOENT, "no kernel '%s' in the inventory (see 'tuxtape kernel list')",
			       name);
}

/* A light check for trees the static evaluator will not read (debuginfo, build dir). */
static int check_source_tree(const char *dir)
{
	_cleanup_free_ char *mk = path_join(dir, "Makefile"), *buf = NULL;
	struct stat st;

	if (!mk)
		return -ENOMEM;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return log_error_errno(-EINVAL, "'%s' is not a directory", dir);
	if (read_file_capped(mk, 1u << 20, &buf, NULL) < 0 || !strstr(buf, "VERSION =") ||
	    !strstr(buf, "PATCHLEVEL ="))
		return log_error_errno(-EINVAL,
				       "'%s' is not a kernel source tree (no top-level Makefile "
				       "with VERSION/PATCHLEVEL)",
				       dir);
	return 0;
}

int kernel_source_tree_version(const char *dir, unsigned ret[3])
{
	static const char *const keys[] = { "VERSION", "PATCHLEVEL", "SUBLEVEL" };
	_cleanup_free_ char *mk = path_join(dir, "Makefile"), *buf = NULL;

	if (!mk)
		return -ENOMEM;
	if (read_file_capped(mk, 1u << 20, &buf, NULL) < 0)
		return -ENOENT;
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		const char *p = buf;
		bool found = false;

		/* At the start of a line: "VERSION = 6". */
		while ((p = strstr(p, keys[k]))) {
			const char *q = p + strlen(keys[k]);

			if ((p == buf || p[-1] == '\n') && (*q == ' ' || *q == '=')) {
				q += strspn(q, " =");
				ret[k] = (unsigned)strtoul(q, NULL, 10);
				found = true;
				break;
			}
			p = q;
		}
		if (!found)
			return -ENOENT;
	}
	return 0;
}

/*
 * The package version the running kernel was built from, as its banner says: Debian's
 * "... Debian 6.1.192-3 (2026-11-26)", Ubuntu's version_signature "Ubuntu 6.8.0-52.53-generic".
 */
static char *banner_distro_version(const char *proc_version, const char *signature,
				   const char **ret_distro)
{
	const char *p;

	if (signature && startswith(signature, "Ubuntu ")) {
		const char *v = signature + 7;
		size_t n = strcspn(v, " ");
		const char *dash = NULL;

		/* "6.8.0-52.53-generic": the flavour after the last '-' is not the version. */
		for (const char *q = v; q < v + n; q++)
			if (*q == '-')
				dash = q;
		*ret_distro = "Ubuntu";
		return dash && dash > v ? strndup(v, (size_t)(dash - v)) : strndup(v, n);
	}
	if (proc_version && (p = strstr(proc_version, " Debian ")) &&
	    (p[8] >= '0' && p[8] <= '9')) {
		*ret_distro = "Debian";
		return strndup(p + 8, strcspn(p + 8, " \n"));
	}
	return NULL;
}

/*
 * The changelog of the kernel's package: the one given, else the installed package's when
 * there is one. *RET NULL when there is none to read.
 */
static int find_changelog(const struct kernel_add_opts *o, char **ret)
{
	_cleanup_free_ char *rel = NULL, *p = NULL;

	*ret = NULL;
	if (o->changelog) {
		*ret = strdup(o->changelog);
		return *ret ? 0 : -ENOMEM;
	}
	if (o->no_changelog)
		return 0;
	rel = strdup_printf("/usr/share/doc/linux-image-%s/changelog.gz", o->release);
	p = !rel ? NULL : o->changelog_root ? path_join(o->changelog_root, rel + 1) : strdup(rel);
	if (!p)
		return -ENOMEM;
	if (access(p, R_OK) == 0)
		*ret = TAKE_PTR(p);
	return 0;
}

static int insert_distro_fixes(struct tt_store *s, int64_t id, const struct distro_fix *f,
			       size_t n)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(s,
			     "INSERT OR IGNORE INTO kernel_distro_fix(kernel_id, cve_id, version) "
			     "VALUES (?1, ?2, ?3)",
			     &st);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, f[i].cve, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, f[i].version, -1, SQLITE_STATIC);
		r = sqlite3_step(st);
		sqlite3_reset(st);
		if (r != SQLITE_DONE)
			return tt_store_error(s, "storing distribution fixes");
	}
	return 0;
}

void kernel_add_report_release(struct kernel_add_report *rep)
{
	free(rep->changelog);
	rep->changelog = NULL;
}

static int insert_kernel(struct tt_store *s, const struct kernel_add_opts *o,
			 const struct kernel_version *v, const char *version, const char *mapping,
			 const char *arch, const char *config_text, const char *source,
			 const struct kernel_fileset *fs, const char *added_at, int64_t *ret_id)
{
	char when[32];
	time_t t = time(NULL);
	struct tm tm;
	sqlite3_stmt *st;
	_cleanup_free_ char *config_abs = o->config ? realpath(o->config, NULL) : NULL;
	int r;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	r = tt_store_prepare(
		s,
		"INSERT INTO kernel(name, release, version, v_major, v_minor, v_patch, v_rc, mapping, "
		"proc_version, version_signature, arch, config_path, config, source, build_dir, "
		"debuginfo, files_method, files_count, added_at, updated_at) VALUES (?1, ?2, ?3, ?4, "
		"?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
		&st);
	if (r < 0)
		return r;
	bind_text(st, 1, o->name);
	bind_text(st, 2, o->release);
	bind_text(st, 3, version);
	sqlite3_bind_int(st, 4, (int)v->major);
	sqlite3_bind_int(st, 5, (int)v->minor);
	sqlite3_bind_int(st, 6, (int)v->patch);
	sqlite3_bind_int(st, 7, (int)v->rc);
	bind_text(st, 8, mapping);
	bind_text(st, 9, o->proc_version);
	bind_text(st, 10, o->version_signature);
	bind_text(st, 11, arch);
	/* Where the config was read, for the record: the text itself is what is used. */
	bind_text(st, 12, o->config_origin ? o->config_origin : config_abs ? config_abs : o->config);
	bind_text(st, 13, config_text);
	bind_text(st, 14, source);
	bind_text(st, 15, o->build_dir);
	bind_text(st, 16, o->debuginfo);
	bind_text(st, 17, kernel_fileset_method(fs));
	sqlite3_bind_int64(st, 18, (sqlite3_int64)kernel_fileset_size(fs));
	bind_text(st, 19, added_at ? added_at : when);
	bind_text(st, 20, when);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return tt_store_error(s, "storing a kernel");
	*ret_id = sqlite3_last_insert_rowid(tt_store_db(s));

	r = tt_store_prepare(s,
			     "INSERT OR IGNORE INTO kernel_file(kernel_id, path, kind, generated, how) "
			     "VALUES (?1, ?2, ?3, ?4, ?5)",
			     &st);
	if (r < 0)
		return r;
	for (size_t i = 0; i < kernel_fileset_size(fs); i++) {
		const struct kernel_file *f = kernel_fileset_get(fs, i);

		sqlite3_bind_int64(st, 1, *ret_id);
		sqlite3_bind_text(st, 2, f->path, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, (int)f->kind);
		sqlite3_bind_int(st, 4, f->generated);
		bind_text(st, 5, f->how);
		r = sqlite3_step(st);
		sqlite3_reset(st);
		if (r != SQLITE_DONE)
			return tt_store_error(s, "storing a kernel's files");
	}
	return 0;
}

/*
 * PATH made absolute against the working directory, symbolic links kept: what was named
 * (/lib/modules/RELEASE/build) is what a later build looks at. NULL when out of memory.
 */
static char *path_absolute(const char *path)
{
	_cleanup_free_ char *cwd = NULL;

	if (path[0] == '/')
		return strdup(path);
	cwd = getcwd(NULL, 0);
	return cwd ? path_join(cwd, path) : NULL;
}

/*
 * The livepatch build inputs checked (fleet/buildtarget.h) and made absolute; either may be
 * NULL. RET_SHA the symbol table's SHA-256.
 */
static int build_inputs_check(const char *release, const char *kbuild, const char *symbols,
			      char **ret_kbuild, char **ret_symbols,
			      char ret_sha[static KERNEL_SYMBOLS_SHA256_LEN])
{
	_cleanup_free_ char *kb = NULL, *sy = NULL;
	int r;

	if (kbuild) {
		r = kernel_kbuild_check(kbuild, release, "--kbuild", NULL);
		if (r < 0)
			return r;
		kb = path_absolute(kbuild);
		if (!kb)
			return -ENOMEM;
	}
	if (symbols) {
		r = kernel_symbols_check(symbols, "--symbols", ret_sha);
		if (r < 0)
			return r;
		sy = path_absolute(symbols);
		if (!sy)
			return -ENOMEM;
	}
	*ret_kbuild = TAKE_PTR(kb);
	*ret_symbols = TAKE_PTR(sy);
	return 0;
}

int kernel_inventory_set_build(struct tt_store *s, const char *name, const char *kbuild,
			       const char *symbols)
{
	_cleanup_free_ char *release = NULL, *kb = NULL, *sy = NULL;
	char sha[KERNEL_SYMBOLS_SHA256_LEN] = "";
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(s, "SELECT release FROM kernel WHERE name = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && !(release = strdup((const char *)sqlite3_column_text(st, 0))))
		r = -ENOMEM;
	sqlite3_reset(st);
	if (r == SQLITE_DONE)
		return no_such_kernel(name);
	if (r != SQLITE_ROW)
		return r < 0 ? r : tt_store_error(s, "reading a kernel");
	r = build_inputs_check(release, kbuild, symbols, &kb, &sy, sha);
	if (r < 0)
		return r;
	r = tt_store_begin(s);
	if (r < 0)
		return r;
	r = tt_store_prepare(s,
			     "UPDATE kernel SET kbuild = coalesce(?2, kbuild), "
			     "symbols = coalesce(?3, symbols), "
			     "symbols_sha256 = coalesce(?4, symbols_sha256), "
			     "updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE name = ?1",
			     &st);
	if (r < 0) {
		tt_store_rollback(s);
		return r;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	bind_text(st, 2, kb);
	bind_text(st, 3, sy);
	bind_text(st, 4, sy ? sha : NULL);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		r = tt_store_error(s, "recording a kernel's build inputs");
		tt_store_rollback(s);
		return r;
	}
	return tt_store_commit(s);
}

int kernel_inventory_add(struct tt_store *s, const struct kernel_add_opts *o,
			 struct kernel_add_report *ret)
{
	struct kernel_add_report rep = {};
	struct kernel_version v;
	struct kconfig *kc = NULL;
	struct kernel_fileset *fs = NULL;
	_cleanup_free_ char *config_text = NULL, *tree = NULL, *added_at = NULL;
	_cleanup_free_ char *kbuild_abs = NULL, *symbols_abs = NULL, *source_abs = NULL;
	char symbols_sha[KERNEL_SYMBOLS_SHA256_LEN] = "", source_sha[KERNEL_SYMBOLS_SHA256_LEN] = "";
	const char *arch, *source, *distro = NULL;
	struct distro_fix *dfixes = NULL;
	size_t n_dfixes = 0;
	unsigned sv[3];
	struct verdicts_report vr = {};
	int64_t old_id = -1, id = -1;
	bool in_tx = false;
	double t0;
	int r;

	if (!name_valid(o->name))
		return log_error_errno(-EINVAL, "'%s' is not a usable kernel name (no spaces or '/')",
				       strempty(o->name));
	r = kernel_version_parse(o->release, o->proc_version, o->version_signature, &v,
				 &rep.mapping);
	if (r < 0)
		return r;
	if (kernel_version_format(&v, rep.version, sizeof(rep.version)) < 0)
		return -EINVAL;
	if (!o->config)
		return log_error_errno(-EINVAL, "no kernel config given");
	r = read_file_capped(o->config, CONFIG_MAX, &config_text, NULL);
	if (r < 0)
		return log_error_errno(r, "cannot read config '%s': %s", o->config, strerror(-r));
	r = kconfig_parse(o->config, config_text, strlen(config_text), &kc);
	if (r < 0)
		return r;
	arch = o->arch ? o->arch : config_srcarch(kc);
	if (!arch)
		arch = "x86";

	r = build_inputs_check(o->release, o->kbuild, o->symbols, &kbuild_abs, &symbols_abs,
			       symbols_sha);
	if (r < 0)
		goto out;

	r = kernel_inventory_id(s, o->name, &old_id);
	if (r == 0 && !o->replace) {
		r = log_error_errno(-EEXIST,
				    "kernel '%s' is already in the inventory (use --replace to "
				    "change it)",
				    o->name);
		goto out;
	}
	if (r < 0 && r != -ENOENT)
		goto out;
	rep.replaced = r == 0;

	if (!o->source_dir && !o->source_tarball && !o->build_dir && !o->debuginfo) {
		r = log_error_errno(-EINVAL, "kernel '%s': give a source tree, a source tarball, a "
					     "build directory or debuginfo to know its compiled files",
				    o->name);
		goto out;
	}
	if (o->source_tarball) {
		r = kernel_source_from_tarball(o->source_tarball, o->cache_dir, &tree);
		if (r < 0)
			goto out;
		r = kernel_source_tarball_sha256(o->source_tarball, o->cache_dir, source_sha);
		if (r < 0)
			goto out;
	} else if (o->source_dir) {
		tree = strdup(o->source_dir);
		if (!tree) {
			r = -ENOMEM;
			goto out;
		}
	}
	source = o->source_tarball ? o->source_tarball : o->source_dir;
	/* Absolute, so that a livepatch build run elsewhere finds it (kernel_build_target). */
	if (source && (source_abs = path_absolute(source)))
		source = source_abs;
	if (tree && (o->debuginfo || o->build_dir) && (r = check_source_tree(tree)) < 0)
		goto out;
	/* A tree of another branch would answer for the wrong kernel without a word. */
	if (tree && kernel_source_tree_version(tree, sv) == 0) {
		snprintf(rep.source_version, sizeof(rep.source_version), "%u.%u.%u", sv[0], sv[1],
			 sv[2]);
		if ((sv[0] != v.major || sv[1] != v.minor) && !o->allow_source_mismatch) {
			r = log_error_errno(-EMEDIUMTYPE,
					    "kernel '%s': the source '%s' is %s but release %s is %s "
					    "(use --allow-source-mismatch to take it anyway)",
					    o->name, source, rep.source_version, o->release,
					    rep.version);
			goto out;
		}
		if (sv[0] != v.major || sv[1] != v.minor)
			log_warn("kernel '%s': using source %s for release %s (%s), as asked", o->name,
				 rep.source_version, o->release, rep.version);
		else if (sv[2] != v.patch)
			log_warn("kernel '%s': the source is %s, release %s is %s: the compiled "
				 "files are those of the source's version",
				 o->name, rep.source_version, o->release, rep.version);
	}

	/* Fixes the distribution's changelog names, up to the kernel's own package version. */
	r = find_changelog(o, &rep.changelog);
	if (r < 0)
		goto out;
	if (rep.changelog) {
		_cleanup_free_ char *top = NULL, *mine = NULL;

		mine = banner_distro_version(o->proc_version, o->version_signature, &distro);
		struct changelog_stats cst;

		r = changelog_read_fixes_stats(rep.changelog, mine, &dfixes, &n_dfixes, &top, &cst);
		if (r < 0)
			goto out;
		rep.distro_taken_back = cst.cancelled;
		if (!distro)
			distro = strstr(strempty(top), "ubuntu") ? "Ubuntu" : "Debian";
		snprintf(rep.distro_version, sizeof(rep.distro_version), "%s",
			 mine ? mine : strempty(top));
		rep.distro_fixes = n_dfixes;
	}

	/* The most exact method available wins. */
	t0 = now_seconds();
	if (o->debuginfo)
		r = kernel_files_from_debuginfo(o->debuginfo, tree, &fs);
	else if (o->build_dir)
		r = kernel_files_from_builddir(o->build_dir, tree, &fs);
	else
		r = kernel_files_static(tree, o->config, arch, &fs);
	rep.files_seconds = now_seconds() - t0;
	if (r < 0)
		goto out;
	snprintf(rep.method, sizeof(rep.method), "%s", kernel_fileset_method(fs));
	rep.n_files = kernel_fileset_size(fs);
	if (rep.n_files == 0) {
		r = log_error_errno(-ENODATA, "found no compiled files in '%s'",
				    o->debuginfo ? o->debuginfo : o->build_dir ? o->build_dir : tree);
		goto out;
	}

	r = tt_store_begin(s);
	if (r < 0)
		goto out;
	in_tx = true;
	if (old_id >= 0) {
		sqlite3_stmt *st;

		r = tt_store_prepare(s, "SELECT added_at FROM kernel WHERE id = ?1", &st);
		if (r < 0)
			goto out;
		sqlite3_bind_int64(st, 1, old_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			added_at = strdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_reset(st);
		r = tt_store_prepare(s, "DELETE FROM verdict WHERE kernel_id = ?1", &st);
		if (r < 0)
			goto out;
		sqlite3_bind_int64(st, 1, old_id);
		r = sqlite3_step(st);
		sqlite3_reset(st);
		if (r != SQLITE_DONE) {
			r = tt_store_error(s, "replacing a kernel");
			goto out;
		}
		r = tt_store_prepare(s, "DELETE FROM kernel WHERE id = ?1", &st);
		if (r < 0)
			goto out;
		sqlite3_bind_int64(st, 1, old_id);
		r = sqlite3_step(st);
		sqlite3_reset(st);
		if (r != SQLITE_DONE) {
			r = tt_store_error(s, "replacing a kernel");
			goto out;
		}
	}
	r = insert_kernel(s, o, &v, rep.version, rep.mapping, arch, config_text, source, fs,
			  added_at, &id);
	if (r < 0)
		goto out;
	{
		sqlite3_stmt *st;

		r = tt_store_prepare(s,
				     "UPDATE kernel SET source_version = ?2, distro = ?3, "
				     "distro_version = ?4, changelog = ?5, kbuild = ?6, symbols = ?7, "
				     "symbols_sha256 = ?8, source_sha256 = ?9 WHERE id = ?1",
				     &st);
		if (r < 0)
			goto out;
		sqlite3_bind_int64(st, 1, id);
		bind_text(st, 2, rep.source_version[0] ? rep.source_version : NULL);
		bind_text(st, 3, rep.changelog ? distro : NULL);
		bind_text(st, 4, rep.changelog ? rep.distro_version : NULL);
		bind_text(st, 5, rep.changelog);
		bind_text(st, 6, kbuild_abs);
		bind_text(st, 7, symbols_abs);
		bind_text(st, 8, symbols_abs ? symbols_sha : NULL);
		bind_text(st, 9, source_sha[0] ? source_sha : NULL);
		r = sqlite3_step(st);
		sqlite3_reset(st);
		if (r != SQLITE_DONE) {
			r = tt_store_error(s, "storing a kernel");
			goto out;
		}
	}
	r = insert_distro_fixes(s, id, dfixes, n_dfixes);
	if (r < 0)
		goto out;
	r = verdicts_refresh(s, id, &vr);
	if (r < 0)
		goto out;
	r = tt_store_commit(s);
	if (r < 0)
		goto out;
	in_tx = false;
	rep.verdicts = vr.verdicts;
	rep.verdict_seconds = vr.seconds;
	if (ret)
		*ret = rep;
	else
		kernel_add_report_release(&rep);
	rep.changelog = NULL;
out:
	if (in_tx)
		tt_store_rollback(s);
	kernel_add_report_release(&rep);
	distro_fixes_free(dfixes, n_dfixes);
	kconfig_free(kc);
	kernel_fileset_free(fs);
	return r;
}

static int remove_in_tx(struct tt_store *s, const char *name)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(s,
			     "DELETE FROM verdict WHERE kernel_id = (SELECT id FROM kernel WHERE name = ?1)",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return tt_store_error(s, "removing a kernel");
	r = tt_store_prepare(s, "DELETE FROM kernel WHERE name = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return tt_store_error(s, "removing a kernel");
	if (sqlite3_changes(tt_store_db(s)) == 0)
		return no_such_kernel(name);
	r = tt_store_prepare(s, "DELETE FROM triage WHERE kernel = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : tt_store_error(s, "removing a kernel");
}

/* The kernel, its files and its verdicts go together or not at all. */
int kernel_inventory_remove(struct tt_store *s, const char *name)
{
	int r = tt_store_begin(s);

	if (r < 0)
		return r;
	r = remove_in_tx(s, name);
	if (r < 0) {
		tt_store_rollback(s);
		return r;
	}
	return tt_store_commit(s);
}


/* One kernel's shape, the same in list and show (show adds its verdict counts). */
#define KERNEL_COLS                                                                                \
	"name, release, version, mapping, arch, files_method, files_count, added_at, updated_at, " \
	"proc_version, version_signature, config_path, source, build_dir, debuginfo, "           \
	"source_version, distro, distro_version, changelog, "                                     \
	"(SELECT count(*) FROM kernel_distro_fix d WHERE d.kernel_id = kernel.id), "              \
	"length(config) - length(replace(config, char(10), '')), kbuild, symbols, "              \
	"symbols_sha256, source_sha256, id"
#define KERNEL_COL_ID 25

static const char *const kernel_keys[] = {
	"name",		    "release",	      "version",	"mapping",   "arch",
	"files_method",	    "file_count",     "added_at",	"updated_at", "proc_version",
	"version_signature", "config_origin", "source",		"build_dir", "debuginfo",
	"source_version",   "distro",	      "distro_version", "changelog", "distro_fixes",
	"config_lines",	    "kbuild",	      "symbols",	"symbols_sha256", "source_sha256",
};

static json_t *kernel_row(sqlite3_stmt *st, size_t n_keys)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < n_keys; i++)
		json_object_set_new(o, kernel_keys[i], tt_store_column_json(st, (int)i));
	return o;
}

int kernel_inventory_list(struct tt_store *s, json_t **ret)
{
	sqlite3_stmt *st;
	json_t *arr = json_array();
	int r;

	if (!arr)
		return -ENOMEM;
	r = tt_store_prepare(s, "SELECT " KERNEL_COLS " FROM kernel ORDER BY name", &st);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, kernel_row(st, ARRAY_SIZE(kernel_keys)));
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		json_decref(arr);
		return tt_store_error(s, "listing kernels");
	}
	*ret = arr;
	return 0;
}

int kernel_inventory_show(struct tt_store *s, const char *name, json_t **ret)
{
	sqlite3_stmt *st;
	json_t *o, *counts;
	int64_t id;
	int r;

	r = tt_store_prepare(s, "SELECT " KERNEL_COLS " FROM kernel WHERE name = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r != SQLITE_ROW) {
		sqlite3_reset(st);
		return r == SQLITE_DONE ? no_such_kernel(name) : tt_store_error(s, "reading a kernel");
	}
	o = kernel_row(st, ARRAY_SIZE(kernel_keys));
	id = sqlite3_column_int64(st, KERNEL_COL_ID);
	sqlite3_reset(st);
	if (!o)
		return -ENOMEM;

	counts = json_object();
	for (unsigned i = 0; i < _VERDICT_MAX; i++)
		json_object_set_new(counts, verdict_status_to_string(i), json_integer(0));
	r = tt_store_prepare(s,
			     "SELECT status, count(*) FROM verdict WHERE kernel_id = ?1 GROUP BY status",
			     &st);
	if (r < 0) {
		json_decref(o);
		json_decref(counts);
		return r;
	}
	sqlite3_bind_int64(st, 1, id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(counts, (const char *)sqlite3_column_text(st, 0),
				    json_integer(sqlite3_column_int64(st, 1)));
	sqlite3_reset(st);
	json_object_set_new(o, "verdict_counts", counts);
	/* A document of its own (kernel show, GET /v1/kernels/NAME): versioned as the rest. */
	json_object_set_new(o, "schema_version", json_integer(TT_JSON_SCHEMA_VERSION));
	if (r != SQLITE_DONE) {
		json_decref(o);
		return tt_store_error(s, "counting verdicts");
	}
	*ret = o;
	return 0;
}

int kernel_inventory_files(struct tt_store *s, const char *name, json_t **ret)
{
	sqlite3_stmt *st;
	json_t *arr, *o;
	int64_t id;
	int r;

	r = kernel_inventory_id(s, name, &id);
	if (r == -ENOENT)
		return no_such_kernel(name);
	if (r < 0)
		return r;
	arr = json_array();
	r = tt_store_prepare(s,
			     "SELECT path, kind, generated, how FROM kernel_file WHERE kernel_id = ?1 "
			     "ORDER BY path",
			     &st);
	if (r < 0 || !arr) {
		json_decref(arr);
		return r < 0 ? r : -ENOMEM;
	}
	sqlite3_bind_int64(st, 1, id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(
			arr, json_pack("{s:s s:s s:b s:o}", "path",
				       (const char *)sqlite3_column_text(st, 0), "kind",
				       kernel_file_kind_str((unsigned)sqlite3_column_int(st, 1)),
				       "generated", sqlite3_column_int(st, 2), "how", tt_store_column_json(st, 3)));
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		json_decref(arr);
		return tt_store_error(s, "reading a kernel's files");
	}
	r = tt_store_prepare(s, "SELECT files_method FROM kernel WHERE id = ?1", &st);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_step(st);
	o = json_pack("{s:s s:o s:o}", "kernel", name, "method", tt_store_column_json(st, 0), "files", arr);
	sqlite3_reset(st);
	if (!o)
		return -ENOMEM;
	*ret = o;
	return 0;
}
