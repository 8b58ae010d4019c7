/* The cache directory's entries: list and clean. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "paths.h"
#include "strbuf.h"
#include "banned.h"

#define SOURCE_QUIET_SECONDS 600

static unsigned long long dir_bytes(const char *dir)
{
	char *const roots[] = {(char *)dir, NULL};
	unsigned long long n = 0;
	FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	FTSENT *e;

	if (!fts)
		return 0;
	while ((e = fts_read(fts)))
		if (e->fts_info == FTS_F || e->fts_info == FTS_SL)
			n += (unsigned long long)e->fts_statp->st_blocks * 512;
	fts_close(fts);
	return n;
}

/* Takes the lock at PATH without waiting: the fd (held), or -1 when someone holds it. */
static int try_lock(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? -2 : -1; /* -2: no lock file, nobody can hold it */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A tree.info line's value ("source /usr/src/x.tar.xz"). */
static json_t *info_value(const char *info, const char *key)
{
	_cleanup_free_ char *needle = strdup_printf("\n%s ", key);
	const char *p;

	if (!info || !needle)
		return json_null();
	p = startswith(info, needle + 1) ? info + strlen(needle) - 1 : strstr(info, needle);
	if (!p)
		return json_null();
	if (p != info + strlen(needle) - 1)
		p += strlen(needle);
	return json_stringn(p, strcspn(p, "\n"));
}

struct entry {
	json_t *j;
	char *path; /* what to remove */
	char *link; /* a tree's trees/KEY symlink, removed first */
	char *locks[2];
	time_t used;
	bool in_use;
};

static void entry_release(struct entry *e)
{
	json_decref(e->j);
	free(e->path);
	free(e->link);
	free(e->locks[0]);
	free(e->locks[1]);
}

struct entries {
	struct entry *v;
	size_t n;
};

static void entries_release(struct entries *es)
{
	for (size_t i = 0; i < es->n; i++)
		entry_release(&es->v[i]);
	free(es->v);
}

static int entries_add(struct entries *es, const char *kind, const char *path, const char *link,
		       const char *lock0, const char *lock1, time_t used, bool in_use,
		       const char *info)
{
	struct entry *nv = reallocarray(es->v, es->n + 1, sizeof(*nv));
	struct entry *e;

	if (!nv)
		return -ENOMEM;
	es->v = nv;
	e = &es->v[es->n];
	*e = (struct entry){.path = strdup(path),
			    .link = link ? strdup(link) : NULL,
			    .locks = {lock0 ? strdup(lock0) : NULL, lock1 ? strdup(lock1) : NULL},
			    .used = used,
			    .in_use = in_use};
	e->j = json_pack("{s:s, s:s, s:I, s:I, s:b, s:o, s:o, s:o}", "kind", kind, "path", path,
			 "bytes", (json_int_t)dir_bytes(path), "last_used", (json_int_t)used,
			 "in_use", in_use, "source", info_value(info, "source"), "config",
			 info_value(info, "config"), "release", info_value(info, "release"));
	if (!e->path || !e->j) {
		entry_release(e);
		return -ENOMEM;
	}
	es->n++;
	return 0;
}

static bool pid_alive(const char *s)
{
	char *end;
	long pid = strtol(s, &end, 10);

	return pid > 0 && (*end == '\0' || *end == '.' || *end == '/') &&
	       (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* trees/: KEY -> KEY.TIME.PID (published), KEY.TIME.PID not linked (leftovers), KEY.lock. */
static int scan_trees(const char *cache, struct entries *es)
{
	_cleanup_free_ char *trees = path_join(cache, "trees");
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (!trees)
		return -ENOMEM;
	d = opendir(trees);
	if (!d)
		return errno == ENOENT ? 0 : negative_errno();
	while ((de = readdir(d)) && r == 0) {
		_cleanup_free_ char *p = path_join(trees, de->d_name), *info = NULL;
		_cleanup_free_ char *target = NULL, *keylock = NULL, *worklock = NULL,
				    *ipath = NULL;
		const char *dot = strchr(de->d_name, '.');
		struct stat st, lst;
		char real[4096];
		int lk;

		if (!p)
			return -ENOMEM;
		if (de->d_name[0] == '.' || lstat(p, &lst) < 0)
			continue;
		if (S_ISLNK(lst.st_mode) && !dot) {
			/* A published tree. */
			if (!realpath(p, real) || stat(real, &st) < 0)
				continue;
			keylock = strdup_printf("%s.lock", p);
			worklock = path_join(real, "lock");
			ipath = path_join(real, "tree.info");
			if (!keylock || !worklock || !ipath)
				return -ENOMEM;
			(void)read_file_capped(ipath, 64 * 1024, &info, NULL);
			lk = try_lock(worklock);
			r = entries_add(es, "tree", real, p, keylock, worklock, st.st_mtime,
					lk == -1, info);
			if (lk >= 0)
				close(lk);
		} else if (S_ISDIR(lst.st_mode) && dot && !startswith(dot, ".lock")) {
			/* KEY.TIME.PID: published (its link names it) or left by a killed run. */
			bool linked = false;
			_cleanup_free_ char *key = strndup(de->d_name, (size_t)(dot - de->d_name));
			_cleanup_free_ char *link = key ? path_join(trees, key) : NULL;
			const char *pid = strrchr(de->d_name, '.');

			if (!link)
				return -ENOMEM;
			if (realpath(link, real))
				linked = streq(strrchr(real, '/') + 1, de->d_name);
			if (linked)
				continue;
			keylock = strdup_printf("%s.lock", link);
			if (!keylock)
				return -ENOMEM;
			lk = try_lock(keylock);
			r = entries_add(es, "leftover", p, NULL, keylock, NULL, lst.st_mtime,
					lk == -1 || (pid && pid_alive(pid + 1)), NULL);
			if (lk >= 0)
				close(lk);
		}
	}
	closedir(d);
	return r;
}

/* sources/: SUM/ (extracted), SUM.tmp-PID (an extraction, live or killed). */
static int scan_sources(const char *cache, struct entries *es)
{
	_cleanup_free_ char *sources = path_join(cache, "sources");
	time_t now = time(NULL);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (!sources)
		return -ENOMEM;
	d = opendir(sources);
	if (!d)
		return errno == ENOENT ? 0 : negative_errno();
	while ((de = readdir(d)) && r == 0) {
		_cleanup_free_ char *p = path_join(sources, de->d_name);
		const char *tmp = strstr(de->d_name, ".tmp-");
		struct stat st;

		if (!p)
			return -ENOMEM;
		if (de->d_name[0] == '.' || lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (tmp)
			r = entries_add(es, "leftover", p, NULL, NULL, NULL, st.st_mtime,
					pid_alive(tmp + strlen(".tmp-")), NULL);
		else
			r = entries_add(es, "source", p, NULL, NULL, NULL, st.st_mtime,
					now - st.st_mtime < SOURCE_QUIET_SECONDS, NULL);
	}
	closedir(d);
	return r;
}

static int scan(const char *cache_dir, struct entries *es, char **ret_cache)
{
	_cleanup_free_ char *cache = NULL;
	int r;

	if (cache_dir) {
		cache = strdup(cache_dir);
		r = cache ? 0 : -ENOMEM;
	} else {
		r = tt_path_cache_dir(&cache);
	}
	if (r < 0)
		return r;
	r = scan_trees(cache, es);
	if (r == 0)
		r = scan_sources(cache, es);
	if (r < 0)
		return log_error_errno(r, "cannot read the cache '%s': %s", cache, strerror(-r));
	if (ret_cache)
		*ret_cache = TAKE_PTR(cache);
	return 0;
}

int tt_cache_list(const char *cache_dir, json_t **ret)
{
	struct entries es = {0};
	json_t *a = json_array();
	int r;

	if (!a)
		return -ENOMEM;
	r = scan(cache_dir, &es, NULL);
	for (size_t i = 0; r == 0 && i < es.n; i++)
		r = json_array_append(a, es.v[i].j) < 0 ? -ENOMEM : 0;
	entries_release(&es);
	if (r < 0) {
		json_decref(a);
		return r;
	}
	*ret = a;
	return 0;
}

int tt_cache_clean(const struct tt_cache_clean_opts *o, json_t **ret, unsigned long long *ret_bytes)
{
	struct entries es = {0};
	json_t *gone = json_array();
	unsigned long long bytes = 0;
	time_t now = time(NULL);
	int r;

	if (!gone)
		return -ENOMEM;
	r = scan(o->cache_dir, &es, NULL);
	for (size_t i = 0; r == 0 && i < es.n; i++) {
		struct entry *e = &es.v[i];
		int fds[2] = {-1, -1};
		bool busy = e->in_use;

		if (busy || now - e->used < o->older_than)
			continue;
		/* Hold every lock of the entry while it goes, so nothing starts using it. */
		for (size_t k = 0; k < 2 && !busy; k++) {
			if (!e->locks[k])
				continue;
			fds[k] = try_lock(e->locks[k]);
			busy = fds[k] == -1;
		}
		if (!busy) {
			if (!o->dry_run) {
				log_info("removing '%s'", e->path);
				if (e->link && unlink(e->link) < 0 && errno != ENOENT)
					r = log_error_errno(negative_errno(),
							    "cannot remove '%s': %m", e->link);
				else
					rm_rf(e->path);
			}
			bytes += (unsigned long long)json_integer_value(
				json_object_get(e->j, "bytes"));
			json_array_append(gone, e->j);
		}
		for (size_t k = 0; k < 2; k++)
			if (fds[k] >= 0)
				close(fds[k]);
	}
	entries_release(&es);
	if (r < 0) {
		json_decref(gone);
		return r;
	}
	*ret = gone;
	*ret_bytes = bytes;
	return 0;
}
