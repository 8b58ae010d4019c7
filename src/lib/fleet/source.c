/* Kernel sources for the inventory: a tarball extracted once into the cache, keyed by its hash; the running kernel's facts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include "fileio.h"
#include "filehash.h"
#include "fleet/buildtarget.h"
#include "fleet/inventory.h"
#include "livepatch/spawn.h"
#include "log.h"
#include "paths.h"
#include "strbuf.h"
#include "banned.h"

int kernel_source_from_tarball(const char *tarball, const char *cache_dir, char **ret_dir)
{
	_cleanup_free_ char *cache = NULL, *dir = NULL, *entry = NULL, *tree = NULL, *mk = NULL;
	_cleanup_free_ char *tmp = NULL, *x = NULL, *log = NULL, *top = NULL;
	char real[PATH_MAX], sum[65];
	struct stat st;
	int r, nentries = 0;

	if (!realpath(tarball, real) || stat(real, &st) < 0 || !S_ISREG(st.st_mode))
		return log_error_errno(-ENOENT, "source tarball '%s' is not a readable file", tarball);
	if (cache_dir)
		cache = strdup(cache_dir);
	else if ((r = tt_path_cache_dir(&cache)) < 0)
		return r;
	if (!cache || !(dir = path_join(cache, "sources")))
		return -ENOMEM;
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return log_error_errno(r, "cannot create '%s': %s", dir, strerror(-r));
	r = tt_file_sha256_memo(real, dir, sum);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", tarball, strerror(-r));
	sum[32] = '\0'; /* 128 bits name a cache entry well enough */
	entry = path_join(dir, sum);
	tree = entry ? path_join(entry, "linux") : NULL;
	mk = tree ? path_join(tree, "Makefile") : NULL;
	if (!mk)
		return -ENOMEM;
	if (access(mk, F_OK) == 0)
		goto done;

	/* Extract beside the entry, then rename it into place: never half a tree. */
	tmp = strdup_printf("%s.tmp-%d", entry, (int)getpid());
	x = tmp ? path_join(tmp, "x") : NULL;
	log = tmp ? strdup_printf("%s.log", tmp) : NULL;
	if (!x || !log)
		return -ENOMEM;
	rm_rf(tmp);
	r = mkdir_p(x, 0755);
	if (r < 0)
		return log_error_errno(r, "cannot create '%s': %s", x, strerror(-r));
	{
		const char *argv[] = { "tar", "-xf", real, "-C", x, "--no-same-owner", "--wildcards",
				       "--exclude=*/Documentation/[!K]*", "--exclude=*/tools/testing",
				       NULL };

		log_info("extracting '%s' into '%s'", tarball, entry);
		r = lp_spawn(argv, NULL, NULL, log, NULL);
	}
	if (r < 0) {
		_cleanup_free_ char *tail = lp_log_tail(log, 3);

		rm_rf(tmp);
		unlink(log);
		return log_error_errno(-EINVAL, "cannot extract '%s': %s", tarball,
				       tail ? tail : "tar failed");
	}
	unlink(log);
	{
		DIR *d = opendir(x);
		struct dirent *de;

		if (!d) {
			r = negative_errno();
			rm_rf(tmp);
			return r;
		}
		while ((de = readdir(d))) {
			if (streq(de->d_name, ".") || streq(de->d_name, ".."))
				continue;
			nentries++;
			free(top);
			top = strdup(de->d_name);
		}
		closedir(d);
	}
	{
		_cleanup_free_ char *from = nentries == 1 && top ? path_join(x, top) : strdup(x);
		_cleanup_free_ char *to = path_join(tmp, "linux");

		if (!from || !to || rename(from, to) < 0) {
			r = from && to ? negative_errno() : -ENOMEM;
			rm_rf(tmp);
			return log_error_errno(r, "cannot place the extracted tree: %s", strerror(-r));
		}
		rmdir(x);
	}
	if (rename(tmp, entry) < 0) {
		/* Another process got there first: its tree is as good as ours. */
		rm_rf(tmp);
		if (access(mk, F_OK) < 0)
			return log_error_errno(-EIO, "cannot move the extracted tree into '%s'", entry);
	}
done:
	*ret_dir = TAKE_PTR(tree);
	return 0;
}

/* ---- the running kernel ---- */

static char *root_path(const char *root, const char *path)
{
	return root ? path_join(root, path) : strdup(path);
}

/* Contents of ROOT/PATH without the trailing newline; NULL when it does not exist. */
static int read_small(const char *root, const char *path, char **ret)
{
	_cleanup_free_ char *p = root_path(root, path);
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (!p)
		return -ENOMEM;
	r = read_file_capped(p, 64 * 1024, &buf, &len);
	if (r == -ENOENT) {
		*ret = NULL;
		return 0;
	}
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", p, strerror(-r));
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	*ret = buf;
	return 0;
}

static int gunzip_to_temp(const char *gz, char **ret)
{
	const char *tmpdir = getenv("TMPDIR");
	_cleanup_free_ char *path = strdup_printf("%s/tuxtape-config-XXXXXX", tmpdir ? tmpdir : "/tmp");
	_cleanup_free_ char *buf = malloc(1u << 16);
	gzFile in;
	size_t total = 0;
	int fd, n, r = 0;

	if (!path || !buf)
		return -ENOMEM;
	in = gzopen(gz, "rb");
	if (!in)
		return log_error_errno(-EIO, "cannot open '%s'", gz);
	fd = mkstemp(path);
	if (fd < 0) {
		gzclose(in);
		return log_error_errno(negative_errno(), "cannot create a temporary file");
	}
	while ((n = gzread(in, buf, 1u << 16)) > 0) {
		total += (size_t)n;
		if (total > (16u << 20) || write(fd, buf, (size_t)n) != n) {
			r = -EIO;
			break;
		}
	}
	if (n < 0)
		r = -EIO;
	gzclose(in);
	close(fd);
	if (r < 0) {
		unlink(path);
		return log_error_errno(r, "cannot decompress '%s'", gz);
	}
	*ret = TAKE_PTR(path);
	return 0;
}

int kernel_source_tarball_sha256(const char *tarball, const char *cache_dir, char ret[static 65])
{
	_cleanup_free_ char *cache = NULL, *trees = NULL;
	int r;

	if (cache_dir)
		cache = strdup(cache_dir);
	else if ((r = tt_path_cache_dir(&cache)) < 0)
		return r;
	trees = cache ? path_join(cache, "trees") : NULL;
	if (!trees)
		return -ENOMEM;
	r = tt_file_sha256_memo(tarball, trees, ret);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", tarball, strerror(-r));
	return 0;
}

void kernel_running_release(struct kernel_running *k)
{
	if (k->config_is_temp && k->config_path)
		unlink(k->config_path);
	free(k->release);
	free(k->proc_version);
	free(k->version_signature);
	free(k->config_path);
	free(k->config_origin);
	free(k->kbuild);
	free(k->symbols);
	*k = (struct kernel_running){};
}

int kernel_running_read(const char *root, struct kernel_running *ret)
{
	struct kernel_running k = {};
	_cleanup_free_ char *gz = NULL, *boot = NULL, *rel = NULL;
	int r;

	if (root) {
		r = read_small(root, "proc/sys/kernel/osrelease", &k.release);
		if (r >= 0 && !k.release)
			r = log_error_errno(-ENOENT, "no '%s/proc/sys/kernel/osrelease'", root);
	} else {
		struct utsname u;

		r = uname(&u) < 0 ? negative_errno() : 0;
		if (r >= 0 && !(k.release = strdup(u.release)))
			r = -ENOMEM;
	}
	if (r < 0)
		goto fail;
	if ((r = read_small(root, "/proc/version", &k.proc_version)) < 0 ||
	    (r = read_small(root, "/proc/version_signature", &k.version_signature)) < 0)
		goto fail;
	gz = root_path(root, "/proc/config.gz");
	rel = strdup_printf("/boot/config-%s", k.release);
	boot = rel ? root_path(root, rel) : NULL;
	if (!gz || !boot) {
		r = -ENOMEM;
		goto fail;
	}
	if (access(gz, R_OK) == 0) {
		r = gunzip_to_temp(gz, &k.config_path);
		if (r < 0)
			goto fail;
		k.config_is_temp = true;
		k.config_origin = strdup(gz);
	} else if (access(boot, R_OK) == 0) {
		k.config_origin = strdup(boot);
		k.config_path = TAKE_PTR(boot);
	} else {
		r = log_error_errno(-ENOENT, "no kernel config: neither '%s' nor '%s' is readable",
				    gz, boot);
		goto fail;
	}
	r = kernel_build_find_installed(root, k.release, NULL, true, &k.kbuild, &k.symbols);
	if (r < 0)
		goto fail;
	*ret = k;
	return 0;
fail:
	kernel_running_release(&k);
	return r;
}
