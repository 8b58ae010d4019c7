/* cve sync: mirror the vulns repository, diff trees, store changed records in one transaction. */
#include <errno.h>
#include <git2.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "applicability/refresh.h"
#include "cve/cvss.h"
#include "cve/history.h"
#include "cve/record.h"
#include "cve/sync.h"
#include "fileio.h"
#include "git/pack.h"
#include "log.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

#define YEAR_MIN 1999
#define N_YEARS 128

enum { DIR_PUBLISHED, DIR_REJECTED, N_DIRS };
static const char *const dir_names[N_DIRS] = { "published", "rejected" };

/*
 * Which of a CVE's files changed, by extension. A re-read record whose .dyad, or whose
 * .sha1 and .vulnerable, did not change keeps those stored rows without reading the files:
 * small blobs cost as much to look up as large ones.
 */
enum {
	FILE_JSON = 1 << 0,
	FILE_DYAD = 1 << 1,
	FILE_SHA1 = 1 << 2,
	FILE_VULNERABLE = 1 << 3,
	FILE_CVSS = 1 << 4,
	FILE_ALL = 0xff,
};

struct idset_item {
	char *id;
	unsigned files; /* FILE_* bits that changed; FILE_ALL to read everything */
};


/* Read access to the target tree; one per thread, since libgit2 objects are not shared. */
struct reader {
	git_repository *repo;
	const struct tt_packs *packs;  /* blobs are read from these when they can be */
	struct tt_pack_cursor *cursor; /* this thread's, with packs */
	git_tree *root;
	git_tree *dirs[N_DIRS][N_YEARS];
	bool looked[N_DIRS][N_YEARS];
};

struct sync_ctx {
	struct tt_store *s;
	struct reader rd; /* the main thread's */
	const char *mirror;
	git_oid target_oid;
	char target[GIT_OID_HEXSZ + 1];
	char first_seen[16]; /* the target commit's date, for records that carry none */
	bool empty_db;       /* nothing to delete before inserting */
	bool had_skipped;    /* sync_skipped had rows when the sync began */
	double t0;           /* start, for -vv timings */
	struct cve_sync_report *rep;
};

static double now_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU seconds the calling thread has used, for -vv. */
static double thread_cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) < 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown libgit2 error";
}

/* ---- the mirror ---- */

static int fetch_progress(const git_indexer_progress *st, void *payload)
{
	(void)payload;
	if (st->total_objects)
		tt_progress("fetching", st->received_objects, st->total_objects);
	return 0;
}

static int mirror_fetch(git_repository *repo, const char *url)
{
	git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
	git_remote *remote = NULL;
	git_buf branch = { 0 };
	int r;

	if (git_remote_lookup(&remote, repo, "origin") < 0)
		return log_error_errno(-EIO, "mirror has no 'origin' remote: %s", git_msg());
	fo.callbacks.transfer_progress = fetch_progress;
	fo.prune = GIT_FETCH_PRUNE;
	if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &fo.callbacks, NULL, NULL) < 0) {
		r = log_error_errno(-EHOSTUNREACH, "cannot reach '%s': %s", url, git_msg());
		goto out;
	}
	if (git_remote_default_branch(&branch, remote) < 0)
		branch.ptr = NULL;
	if (git_remote_download(remote, NULL, &fo) < 0 ||
	    git_remote_update_tips(remote, &fo.callbacks, 1, GIT_REMOTE_DOWNLOAD_TAGS_AUTO,
				   "tuxtape fetch") < 0) {
		r = log_error_errno(-EIO, "cannot fetch '%s': %s", url, git_msg());
		goto out;
	}
	if (branch.ptr && git_repository_set_head(repo, branch.ptr) < 0) {
		r = log_error_errno(-EIO, "cannot point the mirror's HEAD at '%s': %s", branch.ptr,
				    git_msg());
		goto out;
	}
	r = 0;
out:
	git_buf_dispose(&branch);
	git_remote_disconnect(remote);
	git_remote_free(remote);
	return r;
}

/* A local path becomes absolute, so the stored URL means the same from any directory. */
static int normalise_url(const char *repo, char **ret)
{
	char buf[PATH_MAX];

	if (strstr(repo, "://") || (strchr(repo, ':') && !strchr(repo, '/') && repo[0] != '.')) {
		*ret = strdup(repo);
		return *ret ? 0 : -ENOMEM;
	}
	if (!realpath(repo, buf))
		return log_error_errno(negative_errno(), "repository '%s' does not exist: %s", repo,
				       strerror(errno));
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

/* The mirror keeps the source's branches as its own, so any branch name works as --rev. */
static int create_mirror_remote(git_remote **out, git_repository *repo, const char *name,
				const char *url, void *payload)
{
	(void)payload;
	return git_remote_create_with_fetchspec(out, repo, name, url, "+refs/heads/*:refs/heads/*");
}

static int mirror_open(const char *dir, const char *url, bool offline, git_repository **ret)
{
	git_repository *repo = NULL;
	struct stat st;
	int r;

	if (stat(dir, &st) == 0) {
		git_remote *remote = NULL;

		if (git_repository_open_bare(&repo, dir) < 0)
			return log_error_errno(-EIO, "'%s' is not a usable vulns mirror: %s", dir,
					       git_msg());
		if (git_remote_lookup(&remote, repo, "origin") == 0) {
			if (!streq_ptr(git_remote_url(remote), url) &&
			    git_remote_set_url(repo, "origin", url) < 0) {
				git_remote_free(remote);
				git_repository_free(repo);
				return log_error_errno(-EIO, "cannot set the mirror's URL: %s",
						       git_msg());
			}
			git_remote_free(remote);
		}
		if (!offline) {
			r = mirror_fetch(repo, url);
			if (r < 0) {
				git_repository_free(repo);
				return r;
			}
		}
		*ret = repo;
		return 0;
	}

	if (offline)
		return log_error_errno(-ENOENT, "no vulns mirror at '%s' and --offline given", dir);

	/* First use: clone into a temporary directory, then rename it into place. */
	{
		_cleanup_free_ char *tmp = strdup_printf("%s.tmp-%d", dir, (int)getpid());
		git_clone_options co = GIT_CLONE_OPTIONS_INIT;

		if (!tmp)
			return -ENOMEM;
		rm_rf(tmp);
		co.bare = 1;
		/* A local source is copied object by object, which is far faster than packing. */
		co.local = GIT_CLONE_LOCAL_AUTO;
		co.remote_cb = create_mirror_remote;
		co.fetch_opts.callbacks.transfer_progress = fetch_progress;
		log_info("cloning '%s' into '%s'", url, dir);
		if (git_clone(&repo, url, tmp, &co) < 0) {
			r = log_error_errno(-EIO, "cannot clone '%s': %s", url, git_msg());
			rm_rf(tmp);
			return r;
		}
		git_repository_free(repo);
		repo = NULL;
		if (rename(tmp, dir) < 0) {
			/* Another first sync put its fresh clone there first: use that one. */
			if ((errno == ENOTEMPTY || errno == EEXIST) && stat(dir, &st) == 0) {
				rm_rf(tmp);
				return mirror_open(dir, url, true, ret);
			}
			r = log_error_errno(negative_errno(), "cannot rename '%s' to '%s': %s", tmp,
					    dir, strerror(errno));
			rm_rf(tmp);
			return r;
		}
		if (git_repository_open_bare(&repo, dir) < 0)
			return log_error_errno(-EIO, "cannot open '%s': %s", dir, git_msg());
		*ret = repo;
		return 0;
	}
}

/* ---- reading records from the target tree ---- */

static git_tree *year_dir(struct reader *c, int which, int year)
{
	int i = year - YEAR_MIN;
	char path[64];
	git_tree_entry *e = NULL;

	if (i < 0 || i >= N_YEARS)
		return NULL;
	if (c->looked[which][i])
		return c->dirs[which][i];
	c->looked[which][i] = true;
	snprintf(path, sizeof(path), "cve/%s/%d", dir_names[which], year);
	if (git_tree_entry_bypath(&e, c->root, path) == 0) {
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
			git_tree_lookup(&c->dirs[which][i], c->repo, git_tree_entry_id(e));
		git_tree_entry_free(e);
	}
	return c->dirs[which][i];
}

/* A blob's contents: from the packs directly, or from libgit2 (then BLOB is to be freed). */
struct blob_ref {
	git_blob *blob;
	const char *data;
	size_t len;
};

/* 1 with the blob's contents when found, 0 when absent, -errno on error. */
static int read_blob(struct reader *c, git_tree *dir, const char *name, struct blob_ref *ret)
{
	const git_tree_entry *e = git_tree_entry_byname(dir, name);
	enum tt_pack_type type;
	int r;

	*ret = (struct blob_ref){};
	if (!e || git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return 0;
	r = c->cursor ? tt_pack_read(c->packs, c->cursor, git_tree_entry_id(e)->id, &type,
				     &ret->data, &ret->len)
		      : 0;
	if (r < 0)
		return r;
	if (r == 0 || type != TT_PACK_BLOB) {
		if (git_blob_lookup(&ret->blob, c->repo, git_tree_entry_id(e)) < 0)
			return log_error_errno(-EIO, "cannot read '%s': %s", name, git_msg());
		ret->data = git_blob_rawcontent(ret->blob);
		ret->len = (size_t)git_blob_rawsize(ret->blob);
	}
	if (ret->len > CVE_RECORD_MAX_FILE) {
		git_blob_free(ret->blob);
		*ret = (struct blob_ref){};
		return -EFBIG;
	}
	return 1;
}

typedef int (*file_parser)(struct cve_record *rec, const char *name, const char *buf, size_t len,
			   char **ret_error);

static int parse_fix_commits(struct cve_record *rec, const char *name, const char *buf, size_t len,
			     char **ret_error)
{
	return cve_record_parse_commits(&rec->fix_commits, &rec->n_fix_commits, name, buf, len,
					ret_error);
}

static int parse_vulnerable_commits(struct cve_record *rec, const char *name, const char *buf,
				    size_t len, char **ret_error)
{
	return cve_record_parse_commits(&rec->vulnerable_commits, &rec->n_vulnerable_commits, name,
					buf, len, ret_error);
}

/*
 * Reads ID's files from the target tree. Returns 1 with REC filled, 0 when the CVE has no
 * record at the target, -EBADMSG with *ret_error (and *ret_path) for a bad record.
 */
static int load_record(struct reader *c, const char *id, int year, unsigned files,
		       struct cve_record *rec,
		       char **ret_path, char **ret_error)
{
	/* .json and .cvss are always read together: the rationale joins the JSON's metrics. */
	static const struct {
		const char *ext;
		file_parser parse;
		unsigned needed_if; /* read when one of these FILE_* bits changed */
	} parts[] = {
		{ ".json", cve_record_parse_json, FILE_ALL },
		{ ".dyad", cve_record_parse_dyad, FILE_DYAD },
		{ ".sha1", parse_fix_commits, FILE_SHA1 | FILE_VULNERABLE },
		{ ".vulnerable", parse_vulnerable_commits, FILE_SHA1 | FILE_VULNERABLE },
		{ ".cvss", cve_record_parse_cvss, FILE_ALL },
	};
	git_tree *pub = year_dir(c, DIR_PUBLISHED, year), *rej = year_dir(c, DIR_REJECTED, year);
	char name[64];
	git_tree *dir = NULL;
	int which = -1;

	snprintf(name, sizeof(name), "%s.json", id);
	if (rej && git_tree_entry_byname(rej, name)) {
		dir = rej;
		which = DIR_REJECTED;
		if (pub && git_tree_entry_byname(pub, name))
			log_warn("%s is both published and rejected; taking it as rejected", id);
	} else if (pub && git_tree_entry_byname(pub, name)) {
		dir = pub;
		which = DIR_PUBLISHED;
	}
	if (!dir)
		return 0;

	rec->id = strdup(id);
	*ret_path = strdup_printf("cve/%s/%d/%s.json", dir_names[which], year, id);
	if (!rec->id || !*ret_path)
		return -ENOMEM;
	rec->state = which == DIR_REJECTED ? CVE_REJECTED : CVE_PUBLISHED;

	for (size_t k = 0; k < ARRAY_SIZE(parts); k++) {
		_cleanup_free_ char *path = NULL;
		struct blob_ref blob;
		int r;

		if (parts[k].needed_if != FILE_ALL && !(files & parts[k].needed_if))
			continue;
		snprintf(name, sizeof(name), "%s%s", id, parts[k].ext);
		r = read_blob(c, dir, name, &blob);
		if (r == 0)
			continue;
		path = strdup_printf("cve/%s/%d/%s", dir_names[which], year, name);
		if (!path) {
			git_blob_free(blob.blob);
			return -ENOMEM;
		}
		if (r == -EFBIG) {
			*ret_error = strdup_printf("%s: larger than %u bytes", path,
						   CVE_RECORD_MAX_FILE);
			return -EBADMSG;
		}
		if (r < 0)
			return r;
		r = parts[k].parse(rec, path, blob.data, blob.len, ret_error);
		git_blob_free(blob.blob);
		if (r < 0)
			return r;
	}
	return 1;
}

/* ---- writing records ---- */

static int step_done(struct tt_store *s, sqlite3_stmt *st, const char *what)
{
	int r = sqlite3_step(st);

	sqlite3_reset(st);
	if (r != SQLITE_DONE && r != SQLITE_ROW)
		return tt_store_error(s, what);
	return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/*
 * A record's rows, table by table. Each part has a content hash kept in the cve row, so a
 * record read again rewrites only the tables whose content changed.
 */
enum part { P_CVSS, P_FILES, P_AFFECTED, P_DYAD, P_COMMITS, P_REFS, N_PARTS };

static const char *const part_delete_sql[N_PARTS] = {
	[P_CVSS] = "DELETE FROM cve_cvss WHERE cve_id = ?1 AND source = 'cna'",
	[P_FILES] = "DELETE FROM cve_file WHERE cve_id = ?1",
	[P_AFFECTED] = "DELETE FROM cve_affected WHERE cve_id = ?1",
	[P_DYAD] = "DELETE FROM cve_dyad WHERE cve_id = ?1",
	[P_COMMITS] = "DELETE FROM cve_commit WHERE cve_id = ?1",
	[P_REFS] = "DELETE FROM cve_reference WHERE cve_id = ?1",
};

struct hash {
	uint64_t h;
};

/*
 * A word-at-a-time 64-bit hash for change detection: a byte-wise FNV-1a over the ~40 MB of
 * strings an incremental sync re-reads was a tenth of the readers' CPU. Every field ends by
 * mixing in its length (with a marker), so NULL, "" and field boundaries all differ. Hashes
 * stored by an older tuxtape simply differ: those parts are rewritten once.
 */
static inline void hash_mix(struct hash *h, uint64_t w)
{
	uint64_t x = (h->h ^ w) * 0x9e3779b97f4a7c15ULL;

	h->h = x ^ (x >> 29);
}

static void hash_str(struct hash *h, const char *s)
{
	size_t n, i;
	uint64_t w;

	if (!s) {
		hash_mix(h, 0x1eULL << 56);
		return;
	}
	n = strlen(s);
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		hash_mix(h, w);
	}
	if (i < n) {
		w = 0;
		memcpy(&w, s + i, n - i);
		hash_mix(h, w);
	}
	hash_mix(h, (0x1fULL << 56) | n);
}

static void hash_u64(struct hash *h, uint64_t v)
{
	hash_mix(h, v);
	hash_mix(h, 0x1dULL << 56);
}

/* Scores are stated to one decimal: hash them in thousandths, exact for what they hold. */
static void hash_num(struct hash *h, double d, bool present)
{
	if (!present) {
		hash_str(h, NULL);
		return;
	}
	hash_u64(h, (uint64_t)(int64_t)(d * 1000 + (d < 0 ? -0.5 : 0.5)));
}

static void record_hashes(const struct cve_record *rec, uint64_t ret[N_PARTS])
{
	struct hash h[N_PARTS];
	size_t i;

	for (int p = 0; p < N_PARTS; p++)
		h[p].h = 0xcbf29ce484222325ULL;
	for (i = 0; i < rec->n_cvss; i++) {
		const struct cve_cvss *cv = &rec->cvss[i];

		hash_str(&h[P_CVSS], cv->version);
		hash_str(&h[P_CVSS], cv->vector);
		hash_num(&h[P_CVSS], cv->base_score, cv->has_base_score);
		hash_num(&h[P_CVSS], cv->computed_score, cv->has_computed);
		hash_str(&h[P_CVSS], cv->severity);
		hash_str(&h[P_CVSS], cv->rationale);
	}
	for (i = 0; i < rec->n_files; i++)
		hash_str(&h[P_FILES], rec->files[i]);
	for (i = 0; i < rec->n_ranges; i++) {
		const struct cve_range *g = &rec->ranges[i];

		hash_u64(&h[P_AFFECTED], (uint64_t)g->entry);
		hash_u64(&h[P_AFFECTED], (uint64_t)g->seq);
		hash_str(&h[P_AFFECTED], g->product);
		hash_str(&h[P_AFFECTED], g->vendor);
		hash_str(&h[P_AFFECTED], g->repo);
		hash_str(&h[P_AFFECTED], g->default_status);
		hash_str(&h[P_AFFECTED], g->version);
		hash_str(&h[P_AFFECTED], g->less_than);
		hash_str(&h[P_AFFECTED], g->less_than_or_equal);
		hash_str(&h[P_AFFECTED], g->status);
		hash_str(&h[P_AFFECTED], g->version_type);
	}
	for (i = 0; i < rec->n_dyads; i++) {
		hash_str(&h[P_DYAD], rec->dyads[i].introduced_version);
		hash_str(&h[P_DYAD], rec->dyads[i].introduced_commit);
		hash_str(&h[P_DYAD], rec->dyads[i].fixed_version);
		hash_str(&h[P_DYAD], rec->dyads[i].fixed_commit);
	}
	for (i = 0; i < rec->n_fix_commits; i++)
		hash_str(&h[P_COMMITS], rec->fix_commits[i]);
	hash_str(&h[P_COMMITS], "|");
	for (i = 0; i < rec->n_vulnerable_commits; i++)
		hash_str(&h[P_COMMITS], rec->vulnerable_commits[i]);
	for (i = 0; i < rec->n_references; i++)
		hash_str(&h[P_REFS], rec->references[i]);
	for (int p = 0; p < N_PARTS; p++)
		ret[p] = h[p].h;
}

/* On a reader thread: tuxtape's own score for every vector of the record. */
static void compute_cvss(struct cve_record *rec)
{
	for (size_t i = 0; i < rec->n_cvss; i++) {
		struct cve_cvss *cv = &rec->cvss[i];
		struct cvss_score sc;
		const char *err = NULL;

		if (cvss_compute(cv->vector, &sc, &err) < 0) {
			log_warn("%s: CVSS %s vector '%s' is invalid: %s", rec->id, cv->version,
				 cv->vector, strempty(err));
			continue;
		}
		cv->computed_score = sc.base_score;
		cv->has_computed = true;
	}
}

static int insert_commits(struct sync_ctx *c, const char *id, const char *kind, char **list,
			  size_t n)
{
	sqlite3_stmt *st;
	int r;

	for (size_t i = 0; i < n; i++) {
		r = tt_store_prepare(c->s,
				     "INSERT OR IGNORE INTO cve_commit(cve_id, kind, seq, sha) "
				     "VALUES (?1, ?2, ?3, ?4)",
				     &st);
		if (r < 0)
			return r;
		bind_text(st, 1, id);
		bind_text(st, 2, kind);
		sqlite3_bind_int(st, 3, (int)i);
		bind_text(st, 4, list[i]);
		if ((r = step_done(c->s, st, "storing commits")) < 0)
			return r;
	}
	return 0;
}

static int insert_part(struct sync_ctx *c, const struct cve_record *rec, enum part part)
{
	sqlite3_stmt *st;
	int r = 0;

	switch (part) {
	case P_CVSS:
		for (size_t i = 0; i < rec->n_cvss; i++) {
			const struct cve_cvss *cv = &rec->cvss[i];

			r = tt_store_prepare(c->s,
					     "INSERT INTO cve_cvss(cve_id, source, version, vector, "
					     "base_score, computed_score, severity, rationale) "
					     "VALUES (?1, 'cna', ?2, ?3, ?4, ?5, ?6, ?7)",
					     &st);
			if (r < 0)
				return r;
			bind_text(st, 1, rec->id);
			bind_text(st, 2, cv->version);
			bind_text(st, 3, cv->vector);
			if (cv->has_base_score)
				sqlite3_bind_double(st, 4, cv->base_score);
			if (cv->has_computed)
				sqlite3_bind_double(st, 5, cv->computed_score);
			bind_text(st, 6, cv->severity);
			bind_text(st, 7, cv->rationale);
			if ((r = step_done(c->s, st, "storing CVSS")) < 0)
				return r;
		}
		return 0;
	case P_FILES:
		for (size_t i = 0; i < rec->n_files; i++) {
			r = tt_store_prepare(c->s,
					     "INSERT INTO cve_file(cve_id, path) VALUES (?1, ?2)", &st);
			if (r < 0)
				return r;
			bind_text(st, 1, rec->id);
			bind_text(st, 2, rec->files[i]);
			if ((r = step_done(c->s, st, "storing files")) < 0)
				return r;
		}
		return 0;
	case P_AFFECTED:
		for (size_t i = 0; i < rec->n_ranges; i++) {
			const struct cve_range *g = &rec->ranges[i];

			r = tt_store_prepare(
				c->s,
				"INSERT INTO cve_affected(cve_id, entry, seq, product, vendor, repo, "
				"default_status, version, less_than, less_than_or_equal, status, "
				"version_type) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
				&st);
			if (r < 0)
				return r;
			bind_text(st, 1, rec->id);
			sqlite3_bind_int(st, 2, g->entry);
			sqlite3_bind_int(st, 3, g->seq);
			bind_text(st, 4, g->product);
			bind_text(st, 5, g->vendor);
			bind_text(st, 6, g->repo);
			bind_text(st, 7, g->default_status);
			bind_text(st, 8, g->version);
			bind_text(st, 9, g->less_than);
			bind_text(st, 10, g->less_than_or_equal);
			bind_text(st, 11, g->status);
			bind_text(st, 12, g->version_type);
			if ((r = step_done(c->s, st, "storing version ranges")) < 0)
				return r;
		}
		return 0;
	case P_DYAD:
		for (size_t i = 0; i < rec->n_dyads; i++) {
			const struct cve_dyad *d = &rec->dyads[i];

			r = tt_store_prepare(c->s,
					     "INSERT INTO cve_dyad(cve_id, seq, introduced_version, "
					     "introduced_commit, fixed_version, fixed_commit) "
					     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
					     &st);
			if (r < 0)
				return r;
			bind_text(st, 1, rec->id);
			sqlite3_bind_int(st, 2, (int)i);
			bind_text(st, 3, d->introduced_version);
			bind_text(st, 4, d->introduced_commit);
			bind_text(st, 5, d->fixed_version);
			bind_text(st, 6, d->fixed_commit);
			if ((r = step_done(c->s, st, "storing dyads")) < 0)
				return r;
		}
		return 0;
	case P_COMMITS:
		r = insert_commits(c, rec->id, "fix", rec->fix_commits, rec->n_fix_commits);
		if (r < 0)
			return r;
		return insert_commits(c, rec->id, "vulnerable", rec->vulnerable_commits,
				      rec->n_vulnerable_commits);
	case P_REFS:
		for (size_t i = 0; i < rec->n_references; i++) {
			r = tt_store_prepare(
				c->s, "INSERT INTO cve_reference(cve_id, seq, url) VALUES (?1, ?2, ?3)",
				&st);
			if (r < 0)
				return r;
			bind_text(st, 1, rec->id);
			sqlite3_bind_int(st, 2, (int)i);
			bind_text(st, 3, rec->references[i]);
			if ((r = step_done(c->s, st, "storing references")) < 0)
				return r;
		}
		return 0;
	case N_PARTS:
		break;
	}
	return -EINVAL;
}

static uint64_t main_hash(const struct cve_record *rec, const char *path)
{
	struct hash h = { 0xcbf29ce484222325ULL };

	hash_str(&h, cve_state_to_string(rec->state));
	hash_str(&h, rec->title);
	hash_str(&h, rec->description);
	hash_str(&h, rec->published);
	hash_str(&h, path);
	hash_str(&h, rec->data_version);
	hash_str(&h, rec->affected_json);
	return h.h;
}

/*
 * OLD_H: the stored hashes (OLD_H[N_PARTS] is the cve row's own), NULL for a CVE not stored
 * yet.
 */
static int store_record(struct sync_ctx *c, const struct cve_record *rec, const char *path,
			const uint64_t *read_h, const uint64_t *old_h, unsigned files)
{
	uint64_t new_h[N_PARTS + 1];

	/* Parts whose files were not read (unchanged) keep their rows and hashes. */
	memcpy(new_h, read_h, sizeof(new_h));
	if (old_h && !(files & FILE_DYAD))
		new_h[P_DYAD] = old_h[P_DYAD];
	if (old_h && !(files & (FILE_SHA1 | FILE_VULNERABLE)))
		new_h[P_COMMITS] = old_h[P_COMMITS];
	sqlite3_stmt *st;
	int r;

	for (size_t i = 0; i < rec->n_cvss; i++) {
		const struct cve_cvss *cv = &rec->cvss[i];

		if (!cv->has_computed)
			continue;
		c->rep->cvss_checked++;
		if (cv->has_base_score &&
		    (long)(cv->base_score * 10 + 0.5) != (long)(cv->computed_score * 10 + 0.5)) {
			c->rep->cvss_mismatch++;
			log_warn("%s: the record's CVSS %s base score %.1f differs from %.1f "
				 "computed from '%s'",
				 rec->id, cv->version, cv->base_score, cv->computed_score,
				 cv->vector);
		}
	}
	if (old_h && old_h[N_PARTS] == new_h[N_PARTS])
		goto parts;

	r = tt_store_prepare(
		c->s,
		"INSERT INTO cve(id, state, title, description, published, date_source, path, "
		"data_version, affected_json) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
		"ON CONFLICT(id) DO UPDATE SET state = excluded.state, title = excluded.title, "
		"description = excluded.description, "
		/* a first-seen date stays the date tuxtape first saw the record */
		"published = CASE WHEN excluded.date_source = 'first-seen' AND published IS NOT NULL "
		"THEN published ELSE excluded.published END, "
		"date_source = CASE WHEN excluded.date_source = 'first-seen' AND published IS NOT NULL "
		"THEN date_source ELSE excluded.date_source END, "
		"path = excluded.path, data_version = excluded.data_version, "
		"affected_json = excluded.affected_json",
		&st);
	if (r < 0)
		return r;
	bind_text(st, 1, rec->id);
	bind_text(st, 2, cve_state_to_string(rec->state));
	bind_text(st, 3, rec->title);
	bind_text(st, 4, rec->description);
	bind_text(st, 5, rec->published ? rec->published : c->first_seen);
	bind_text(st, 6, rec->published ? "record" : "first-seen");
	bind_text(st, 7, path);
	bind_text(st, 8, rec->data_version);
	bind_text(st, 9, rec->affected_json);
	if ((r = step_done(c->s, st, "storing a record")) < 0)
		return r;
parts:
	r = tt_store_prepare(c->s,
			     "INSERT OR REPLACE INTO cve_read(cve_id, read_commit, h_cvss, h_files, "
			     "h_affected, h_dyad, h_commits, h_refs, h_main) "
			     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			     &st);
	if (r < 0)
		return r;
	bind_text(st, 1, rec->id);
	bind_text(st, 2, c->target);
	for (int p = 0; p <= N_PARTS; p++)
		sqlite3_bind_int64(st, 3 + p, (sqlite3_int64)new_h[p]);
	if ((r = step_done(c->s, st, "storing a record")) < 0)
		return r;

	for (int p = 0; p < N_PARTS; p++) {
		if (old_h && old_h[p] == new_h[p])
			continue;
		if (old_h) {
			r = tt_store_prepare(c->s, part_delete_sql[p], &st);
			if (r < 0)
				return r;
			bind_text(st, 1, rec->id);
			if ((r = step_done(c->s, st, "replacing a record")) < 0)
				return r;
		}
		r = insert_part(c, rec, (enum part)p);
		if (r < 0)
			return r;
	}
	/* A skip noted in this sync is for another CVE: each is read once. */
	if (!c->had_skipped)
		return 0;
	r = tt_store_prepare(c->s, "DELETE FROM sync_skipped WHERE cve_id = ?1", &st);
	if (r < 0)
		return r;
	bind_text(st, 1, rec->id);
	return step_done(c->s, st, "clearing a skipped record");
}

/* Whether ID is stored, and its part hashes (NULL columns, e.g. from an older tuxtape, read
 * as 0, which no content hashes to in practice: those parts are rewritten). */
static int record_lookup(struct sync_ctx *c, const char *id, bool *ret_exists,
			 uint64_t ret_h[N_PARTS + 1])
{
	sqlite3_stmt *st;
	int r;

	*ret_exists = false;
	if (c->empty_db)
		return 0;
	r = tt_store_prepare(c->s,
			     "SELECT r.h_cvss, r.h_files, r.h_affected, r.h_dyad, r.h_commits, "
			     "r.h_refs, r.h_main FROM cve c LEFT JOIN cve_read r ON r.cve_id = c.id "
			     "WHERE c.id = ?1",
			     &st);
	if (r < 0)
		return r;
	bind_text(st, 1, id);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*ret_exists = true;
		for (int p = 0; p <= N_PARTS; p++)
			ret_h[p] = (uint64_t)sqlite3_column_int64(st, p);
	}
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return tt_store_error(c->s, "looking up a record");
	return 0;
}

static int record_stored(struct sync_ctx *c, const char *id, bool *ret)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(c->s, "SELECT 1 FROM cve WHERE id = ?1", &st);
	if (r < 0)
		return r;
	bind_text(st, 1, id);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return tt_store_error(c->s, "looking up a record");
	*ret = r == SQLITE_ROW;
	return 0;
}

static int delete_record(struct sync_ctx *c, const char *id)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(c->s, "DELETE FROM cve WHERE id = ?1", &st);
	if (r < 0)
		return r;
	bind_text(st, 1, id);
	if ((r = step_done(c->s, st, "removing a record")) < 0)
		return r;
	r = tt_store_prepare(c->s, "DELETE FROM sync_skipped WHERE cve_id = ?1", &st);
	if (r < 0)
		return r;
	bind_text(st, 1, id);
	return step_done(c->s, st, "removing a record");
}

static int note_skipped(struct sync_ctx *c, const char *id, const char *path, const char *error)
{
	sqlite3_stmt *st;
	int r;

	log_warn("skipping %s: %s", id, error);
	c->rep->skipped++;
	r = tt_store_prepare(c->s,
			     "INSERT INTO sync_skipped(cve_id, path, error) VALUES (?1, ?2, ?3) "
			     "ON CONFLICT(cve_id) DO UPDATE SET path = excluded.path, "
			     "error = excluded.error",
			     &st);
	if (r < 0)
		return r;
	bind_text(st, 1, id);
	bind_text(st, 2, path);
	bind_text(st, 3, error);
	return step_done(c->s, st, "noting a skipped record");
}

struct slot {
	int status; /* 1 loaded, 0 absent, -errno */
	bool ready;
	struct cve_record rec;
	char *path, *error;
	uint64_t h[N_PARTS + 1]; /* part hashes, then the cve row's */
	unsigned files;          /* FILE_* bits: which files were read */
};

/* Writes what a reader found for ID: the record, its removal, or a skip. */
static int apply_one(struct sync_ctx *c, const char *id, const struct slot *sl)
{
	uint64_t old_h[N_PARTS + 1];
	bool existed = false;
	int r;

	r = record_lookup(c, id, &existed, old_h);
	if (r < 0)
		return r;
	if (sl->status == -EBADMSG)
		return note_skipped(c, id, sl->path ? sl->path : id,
				    sl->error ? sl->error : "malformed record");
	if (sl->status < 0)
		return sl->status;
	if (sl->status == 0) {
		/* Gone from the repository: drop it, and any skip noted for it. */
		if (existed)
			c->rep->removed++;
		return delete_record(c, id);
	}
	r = store_record(c, &sl->rec, sl->path, sl->h, existed ? old_h : NULL, sl->files);
	if (r == 0) {
		if (existed)
			c->rep->updated++;
		else
			c->rep->added++;
	}
	return r;
}

/*
 * Reading and parsing records is most of the work and needs no database, so reader threads
 * (one libgit2 repository each) fill slots in order while this thread stores them; a window
 * bounds how far readers run ahead, and so the memory held.
 */
#define PIPELINE_WINDOW 512
#define PIPELINE_MAX_READERS 4
#define PIPELINE_BATCH 32


static void slot_release(struct slot *sl)
{
	cve_record_release(&sl->rec);
	free(sl->path);
	free(sl->error);
	sl->path = sl->error = NULL;
}

struct pipeline {
	struct sync_ctx *c;
	const struct idset_item *items;
	size_t n;
	struct slot *slots;
	pthread_mutex_t lock;
	pthread_cond_t cond_ready, cond_space;
	size_t next, consumed;
	bool abort;
	int error;
	double waited;     /* seconds the writer waited for readers, for -vv */
	double reader_cpu; /* CPU seconds the readers used, for -vv */
	size_t wait_for;   /* the slot the writer sleeps on, SIZE_MAX when it does not */
	struct tt_packs *packs; /* the mirror's packs, shared by the readers; NULL: libgit2 only */
};

static void reader_release(struct reader *rd)
{
	for (int w = 0; w < N_DIRS; w++)
		for (int y = 0; y < N_YEARS; y++) {
			git_tree_free(rd->dirs[w][y]);
			rd->dirs[w][y] = NULL;
			rd->looked[w][y] = false;
		}
	git_tree_free(rd->root);
	rd->root = NULL;
}

static void *reader_thread(void *arg)
{
	struct pipeline *p = arg;
	struct reader rd = {};
	git_commit *commit = NULL;
	int r = 0;

	if (git_repository_open_bare(&rd.repo, p->c->mirror) < 0 ||
	    git_commit_lookup(&commit, rd.repo, &p->c->target_oid) < 0 ||
	    git_commit_tree(&rd.root, commit) < 0)
		r = log_error_errno(-EIO, "cannot open '%s': %s", p->c->mirror, git_msg());
	git_commit_free(commit);
	if (r >= 0 && tt_packs_count(p->packs) > 0) {
		rd.packs = p->packs;
		r = tt_pack_cursor_new(&rd.cursor);
	}

	for (;;) {
		struct slot *sl;
		size_t i;
		int year = 0;

		pthread_mutex_lock(&p->lock);
		if (r < 0) {
			p->abort = true;
			p->error = r;
			pthread_cond_broadcast(&p->cond_ready);
		}
		while (!p->abort && p->next < p->n && p->next >= p->consumed + PIPELINE_WINDOW)
			pthread_cond_wait(&p->cond_space, &p->lock);
		if (p->abort || p->next >= p->n) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		i = p->next++;
		pthread_mutex_unlock(&p->lock);

		/*
		 * Free the slot a window behind, which the writer is done with (the wait above
		 * guarantees it): freeing on the thread that allocated keeps glibc's arenas out of
		 * each other's way; on the writer it took a fifth of an incremental sync.
		 */
		if (i >= PIPELINE_WINDOW)
			slot_release(&p->slots[i - PIPELINE_WINDOW]);
		sl = &p->slots[i];
		sl->files = p->items[i].files;
		sl->status = cve_id_valid(p->items[i].id, &year)
				     ? load_record(&rd, p->items[i].id, year, sl->files, &sl->rec,
						   &sl->path, &sl->error)
				     : 0;
		if (sl->status > 0) {
			compute_cvss(&sl->rec);
			record_hashes(&sl->rec, sl->h);
			sl->h[N_PARTS] = main_hash(&sl->rec, sl->path);
		}
		if (sl->status < 0 && sl->status != -EBADMSG)
			r = sl->status;

		pthread_mutex_lock(&p->lock);
		sl->ready = true;
		if (p->wait_for == i)
			pthread_cond_signal(&p->cond_ready);
		pthread_mutex_unlock(&p->lock);
	}
	reader_release(&rd);
	tt_pack_cursor_free(rd.cursor);
	git_repository_free(rd.repo);
	pthread_mutex_lock(&p->lock);
	p->reader_cpu += thread_cpu_seconds();
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static int run_pipeline(struct sync_ctx *c, const struct idset_item *items, size_t n)
{
	struct pipeline p = { .c = c, .items = items, .n = n, .wait_for = SIZE_MAX };
	pthread_t threads[PIPELINE_MAX_READERS];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = ncpu < 1 ? 1 : ncpu > PIPELINE_MAX_READERS ? PIPELINE_MAX_READERS : (size_t)ncpu;
	size_t started = 0;
	double cpu0 = thread_cpu_seconds();
	int r = 0;

	if (n == 0)
		return 0;
	if (nthreads > n)
		nthreads = n;
	p.slots = calloc(n, sizeof(*p.slots));
	if (!p.slots)
		return -ENOMEM;
	{
		_cleanup_free_ char *objects = path_join(c->mirror, "objects");

		/* Without the packs read directly, libgit2 reads everything: slower, not wrong. */
		if (!objects || tt_packs_open(objects, &p.packs) < 0)
			p.packs = NULL;
		log_debug("sync: %zu pack(s) read directly", tt_packs_count(p.packs));
	}
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond_ready, NULL);
	pthread_cond_init(&p.cond_space, NULL);
	for (; started < nthreads; started++)
		if (pthread_create(&threads[started], NULL, reader_thread, &p) != 0)
			break;
	if (started == 0)
		r = log_error_errno(-EAGAIN, "cannot start reader threads");

	for (size_t i = 0; i < n && r >= 0; i++) {
		struct slot *sl = &p.slots[i];

		double tw = now_seconds();

		pthread_mutex_lock(&p.lock);
		if (!sl->ready) {
			/*
			 * Sleep until a batch is ready rather than waking for each slot: with the
			 * readers the slower side, a wakeup per record cost a tenth of the CPU.
			 */
			size_t want[2] = { i + PIPELINE_BATCH < n ? i + PIPELINE_BATCH - 1 : n - 1, i };

			for (int k = 0; k < 2; k++)
				while (!p.slots[want[k]].ready && !p.abort) {
					p.wait_for = want[k];
					pthread_cond_wait(&p.cond_ready, &p.lock);
				}
			p.wait_for = SIZE_MAX;
		}
		p.waited += now_seconds() - tw;
		if (!sl->ready)
			r = p.error ? p.error : -EIO;
		pthread_mutex_unlock(&p.lock);
		if (r < 0)
			break;
		r = apply_one(c, items[i].id, sl);

		if (((i + 1) % PIPELINE_BATCH) == 0 || i + 1 == n) {
			pthread_mutex_lock(&p.lock);
			p.consumed = i + 1;
			pthread_cond_broadcast(&p.cond_space);
			pthread_mutex_unlock(&p.lock);
		}
		if ((i & 255) == 0 || i + 1 == n)
			tt_progress("records", i + 1, n);
	}

	pthread_mutex_lock(&p.lock);
	p.abort = true;
	pthread_cond_broadcast(&p.cond_space);
	pthread_mutex_unlock(&p.lock);
	for (size_t t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	log_debug("sync: the writer waited %.3fs for %zu readers; CPU: writer %.3fs, readers %.3fs",
		  p.waited, started, thread_cpu_seconds() - cpu0, p.reader_cpu);
	for (size_t i = 0; i < n; i++)
		slot_release(&p.slots[i]);
	free(p.slots);
	tt_packs_free(p.packs);
	pthread_mutex_destroy(&p.lock);
	pthread_cond_destroy(&p.cond_ready);
	pthread_cond_destroy(&p.cond_space);
	return r;
}

/* ---- which CVEs to read ---- */


struct idset {
	struct idset_item *items;
	size_t n, alloc;
};

static void idset_release(struct idset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->items[i].id);
	free(s->items);
	memset(s, 0, sizeof(*s));
}

static int idset_add(struct idset *s, const char *id, size_t len, unsigned files)
{
	if (s->n == s->alloc) {
		size_t n = s->alloc ? s->alloc * 2 : 1024;
		struct idset_item *p = realloc(s->items, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->items = p;
		s->alloc = n;
	}
	s->items[s->n].id = strndup(id, len);
	s->items[s->n].files = files;
	if (!s->items[s->n].id)
		return -ENOMEM;
	s->n++;
	return 0;
}

static int cmp_item(const void *a, const void *b)
{
	return strcmp(((const struct idset_item *)a)->id, ((const struct idset_item *)b)->id);
}

/* Sorts by id and merges duplicates, OR-ing what changed. */
static void idset_sort_unique(struct idset *s)
{
	size_t o = 0;

	qsort(s->items, s->n, sizeof(*s->items), cmp_item);
	for (size_t i = 0; i < s->n; i++) {
		if (o && streq(s->items[o - 1].id, s->items[i].id)) {
			s->items[o - 1].files |= s->items[i].files;
			free(s->items[i].id);
		} else {
			s->items[o++] = s->items[i];
		}
	}
	s->n = o;
}

static unsigned file_bit(const char *ext)
{
	static const struct {
		const char *ext;
		unsigned bit;
	} map[] = { { ".json", FILE_JSON },	    { ".dyad", FILE_DYAD }, { ".sha1", FILE_SHA1 },
		    { ".vulnerable", FILE_VULNERABLE }, { ".cvss", FILE_CVSS } };

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (streq(ext, map[i].ext))
			return map[i].bit;
	return 0; /* a file tuxtape does not read (.mbox, the bare marker) */
}

/* The CVE id a repository path belongs to, or 0 if it is not a record file. */
static size_t path_to_id(const char *path, const char **ret)
{
	const char *base = strrchr(path, '/'), *dot;
	char id[32];
	size_t len;

	if (!startswith(path, "cve/published/") && !startswith(path, "cve/rejected/"))
		return 0;
	base = base ? base + 1 : path;
	dot = strchr(base, '.');
	len = dot ? (size_t)(dot - base) : strlen(base);
	if (len == 0 || len >= sizeof(id))
		return 0;
	memcpy(id, base, len);
	id[len] = '\0';
	if (!cve_id_valid(id, NULL))
		return 0;
	*ret = base;
	return len;
}

static int collect_all(struct sync_ctx *c, struct idset *out)
{
	for (int which = 0; which < N_DIRS; which++) {
		char path[32];
		git_tree_entry *e = NULL;
		git_tree *top = NULL;

		snprintf(path, sizeof(path), "cve/%s", dir_names[which]);
		if (git_tree_entry_bypath(&e, c->rd.root, path) < 0)
			continue;
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
			git_tree_lookup(&top, c->rd.repo, git_tree_entry_id(e));
		git_tree_entry_free(e);
		if (!top)
			continue;
		for (size_t i = 0; i < git_tree_entrycount(top); i++) {
			const git_tree_entry *ye = git_tree_entry_byindex(top, i);
			int year = atoi(git_tree_entry_name(ye));
			git_tree *dir;

			if (git_tree_entry_type(ye) != GIT_OBJECT_TREE)
				continue;
			dir = year_dir(&c->rd, which, year);
			if (!dir)
				continue;
			for (size_t j = 0; j < git_tree_entrycount(dir); j++) {
				const char *name = git_tree_entry_name(git_tree_entry_byindex(dir, j));
				size_t l = strlen(name);
				int r;

				if (l < 6 || !streq(name + l - 5, ".json"))
					continue;
				r = idset_add(out, name, l - 5, FILE_ALL);
				if (r < 0) {
					git_tree_free(top);
					return r;
				}
			}
		}
		git_tree_free(top);
	}
	idset_sort_unique(out);
	return 0;
}

static int collect_stored(struct sync_ctx *c, const char *sql, struct idset *out)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(c->s, sql, &st);
	if (r < 0)
		return r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);

		if ((r = idset_add(out, id, strlen(id), FILE_ALL)) < 0) {
			sqlite3_reset(st);
			return r;
		}
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return tt_store_error(c->s, "listing records");
	return 0;
}

static int collect_changed(struct sync_ctx *c, git_tree *old_root, struct idset *out)
{
	git_diff_options o = GIT_DIFF_OPTIONS_INIT;
	git_diff *diff = NULL;
	char *spec = "cve/";
	int r = 0;

	o.pathspec.strings = &spec;
	o.pathspec.count = 1;
	o.flags |= GIT_DIFF_SKIP_BINARY_CHECK;
	if (git_diff_tree_to_tree(&diff, c->rd.repo, old_root, c->rd.root, &o) < 0)
		return log_error_errno(-EIO, "cannot diff the vulns trees: %s", git_msg());
	for (size_t i = 0; i < git_diff_num_deltas(diff) && r >= 0; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		const char *paths[2] = { d->old_file.path, d->new_file.path };

		for (int k = 0; k < 2 && r >= 0; k++) {
			const char *id;
			size_t len;

			if (!paths[k] || (k == 1 && paths[1] == paths[0]))
				continue;
			len = path_to_id(paths[k], &id);
			if (len)
				r = idset_add(out, id, len, file_bit(id + len));
		}
	}
	git_diff_free(diff);
	if (r < 0)
		return r;
	/* Records that failed to parse last time are read again until they do. */
	r = collect_stored(c, "SELECT cve_id FROM sync_skipped", out);
	if (r < 0)
		return r;
	idset_sort_unique(out);
	return 0;
}

static int count_state(struct tt_store *s, const char *state, unsigned long *ret)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(s, "SELECT count(*) FROM cve WHERE state = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	*ret = r == SQLITE_ROW ? (unsigned long)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return r == SQLITE_ROW ? 0 : tt_store_error(s, "counting records");
}

static int resolve_target(git_repository *repo, const char *rev, git_commit **ret)
{
	git_object *obj = NULL, *peeled = NULL;
	const char *spec = rev ? rev : "HEAD";

	if (git_revparse_single(&obj, repo, spec) < 0)
		return log_error_errno(-ENOENT, "revision '%s' not found in the vulns repository: %s",
				       spec, git_msg());
	if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0) {
		git_object_free(obj);
		return log_error_errno(-EINVAL, "revision '%s' is not a commit", spec);
	}
	git_object_free(obj);
	*ret = (git_commit *)peeled;
	return 0;
}

static int sync_records(struct sync_ctx *c, const char *old_hex, bool force_full)
{
	struct idset todo = {}, stored = {};
	git_commit *old_commit = NULL;
	git_tree *old_root = NULL;
	git_oid old_oid;
	int r;

	if (old_hex && !force_full && git_oid_fromstr(&old_oid, old_hex) == 0 &&
	    git_commit_lookup(&old_commit, c->rd.repo, &old_oid) == 0 &&
	    git_commit_tree(&old_root, old_commit) == 0) {
		r = collect_changed(c, old_root, &todo);
		/* Only a stored record can keep parts it does not re-read. */
		for (size_t i = 0; i < todo.n && r >= 0; i++) {
			bool stored_now = false;

			if (todo.items[i].files == FILE_ALL)
				continue;
			r = record_stored(c, todo.items[i].id, &stored_now);
			if (r >= 0 && !stored_now)
				todo.items[i].files = FILE_ALL;
		}
	} else {
		if (old_hex && !force_full)
			log_warn("last synced commit %s is not in the mirror; reading every record",
				 old_hex);
		c->rep->full = true;
		r = collect_all(c, &todo);
		/* Records stored but absent from the target must go too. */
		if (r >= 0 && !c->empty_db)
			r = collect_stored(c, "SELECT id FROM cve", &stored);
		if (r >= 0 && stored.n) {
			for (size_t i = 0; i < stored.n && r >= 0; i++)
				r = idset_add(&todo, stored.items[i].id,
					      strlen(stored.items[i].id), FILE_ALL);
			if (r >= 0)
				idset_sort_unique(&todo);
		}
	}
	git_tree_free(old_root);
	git_commit_free(old_commit);
	if (r < 0)
		goto out;

	c->rep->total = todo.n;
	log_debug("sync: %zu CVEs to read (%s), %.3fs", todo.n, c->rep->full ? "full" : "changed",
		  now_seconds() - c->t0);
	r = run_pipeline(c, todo.items, todo.n);
out:
	idset_release(&todo);
	idset_release(&stored);
	return r;
}

int cve_sync(struct tt_store *s, const struct cve_sync_opts *opts, struct cve_sync_report *ret)
{
	struct cve_sync_report rep = {};
	struct sync_ctx c = { .s = s, .rep = &rep };
	_cleanup_free_ char *url = NULL, *stored_url = NULL, *old_hex = NULL, *mirror = NULL;
	git_commit *target = NULL;
	double t0 = now_seconds();
	bool in_tx = false;
	int r;

	git_libgit2_init();
	/*
	 * Every object of the mirror was hashed by libgit2's indexer when it was fetched; hashing
	 * each blob again on every read (SHA-1 with collision detection) cost ~20 % of a sync.
	 */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);

	r = tt_store_meta_get(s, "vulns_url", &stored_url);
	if (r < 0)
		goto out;
	if (opts->mirror_dir) {
		mirror = strdup(opts->mirror_dir);
	} else {
		const char *db = tt_store_path(s), *slash = strrchr(db, '/');

		mirror = slash ? strdup_printf("%.*s/vulns.git", (int)(slash - db), db)
			       : strdup("vulns.git");
	}
	if (!mirror) {
		r = -ENOMEM;
		goto out;
	}
	/* --repo, else the URL synced last, else the mirror's own, else the kernel CNA's. */
	if (opts->repo || stored_url) {
		r = normalise_url(opts->repo ? opts->repo : stored_url, &url);
	} else {
		git_repository *m = NULL;
		git_remote *origin = NULL;

		if (git_repository_open_bare(&m, mirror) == 0 &&
		    git_remote_lookup(&origin, m, "origin") == 0 && git_remote_url(origin))
			url = strdup(git_remote_url(origin));
		else
			url = strdup(CVE_SYNC_DEFAULT_URL);
		git_remote_free(origin);
		git_repository_free(m);
		r = url ? 0 : -ENOMEM;
	}
	if (r < 0)
		goto out;
	c.mirror = mirror;
	r = mirror_open(mirror, url, opts->offline, &c.rd.repo);
	if (r < 0)
		goto out;
	rep.fetch_seconds = now_seconds() - t0;

	r = resolve_target(c.rd.repo, opts->rev, &target);
	if (r < 0)
		goto out;
	git_oid_cpy(&c.target_oid, git_commit_id(target));
	git_oid_tostr(c.target, sizeof(c.target), git_commit_id(target));
	snprintf(rep.to, sizeof(rep.to), "%s", c.target);
	{
		time_t t = (time_t)git_commit_time(target);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(c.first_seen, sizeof(c.first_seen), "%Y-%m-%d", &tm);
	}
	if (git_commit_tree(&c.rd.root, target) < 0) {
		r = log_error_errno(-EIO, "cannot read the tree of %s: %s", c.target, git_msg());
		goto out;
	}

	/*
	 * The quick check runs beside the sync, once it is known to write: a sync with nothing
	 * new writes nothing, and a damaged file still refuses the commit (figures in
	 * bench/README.md).
	 */
	r = tt_store_begin_concurrent_check(s);
	if (r < 0)
		goto out;
	in_tx = true;
	/* Read the last synced commit inside the transaction: another sync may have run. */
	r = tt_store_meta_get(s, "vulns_commit", &old_hex);
	if (r < 0)
		goto out;
	if (old_hex)
		snprintf(rep.from, sizeof(rep.from), "%s", old_hex);
	{
		unsigned long n_pub = 0, n_rej = 0, n_skipped = 0;
		_cleanup_free_ char *hist = NULL;
		sqlite3_stmt *st;

		if ((r = count_state(s, "published", &n_pub)) < 0 ||
		    (r = count_state(s, "rejected", &n_rej)) < 0)
			goto out;
		r = tt_store_prepare(s, "SELECT count(*) FROM sync_skipped", &st);
		if (r < 0)
			goto out;
		if (sqlite3_step(st) == SQLITE_ROW)
			n_skipped = (unsigned long)sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		c.empty_db = n_pub + n_rej + n_skipped == 0;
		c.had_skipped = n_skipped > 0;
		/* A database from before history dates still reads the history once. */
		if ((r = tt_store_meta_get(s, "history_commit", &hist)) < 0)
			goto out;
		if (old_hex && streq(old_hex, c.target) && n_skipped == 0 && !opts->full &&
		    streq_ptr(hist, c.target)) {
			rep.up_to_date = true;
			rep.published = n_pub;
			rep.rejected = n_rej;
			r = tt_store_rollback(s);
			in_tx = false;
			goto out;
		}
	}

	r = tt_store_check_start(s);
	if (r < 0)
		goto out;
	c.t0 = t0;
	r = sync_records(&c, old_hex, opts->full);
	log_debug("sync: records stored, %.3fs", now_seconds() - t0);
	if (r < 0)
		goto out;
	r = cve_history_update(s, c.rd.repo, &c.target_oid, &rep.history_commits);
	log_debug("sync: history read, %.3fs", now_seconds() - t0);
	if (r < 0)
		goto out;
	if ((r = tt_store_meta_set(s, "vulns_commit", c.target)) < 0 ||
	    (r = tt_store_meta_set(s, "vulns_url", url)) < 0)
		goto out;
	{
		char when[32];
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if ((r = tt_store_meta_set(s, "vulns_synced_at", when)) < 0)
			goto out;
	}
	if ((r = count_state(s, "published", &rep.published)) < 0 ||
	    (r = count_state(s, "rejected", &rep.rejected)) < 0)
		goto out;
	/* The inventory's verdicts follow the records, in the same transaction. */
	log_debug("sync: refreshing verdicts, %.3fs", now_seconds() - t0);
	if ((r = verdicts_refresh(s, -1, NULL)) < 0)
		goto out;
	log_debug("sync: committing, %.3fs", now_seconds() - t0);
	r = tt_store_commit(s);
	if (r < 0)
		goto out;
	in_tx = false;
	log_debug("sync: committed, %.3fs", now_seconds() - t0);
out:
	if (in_tx)
		tt_store_rollback(s);
	reader_release(&c.rd);
	git_commit_free(target);
	git_repository_free(c.rd.repo);
	git_libgit2_shutdown();
	rep.sync_seconds = now_seconds() - t0 - rep.fetch_seconds;
	if (r >= 0 && ret)
		*ret = rep;
	return r;
}
