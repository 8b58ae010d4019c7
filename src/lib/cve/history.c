/* Publication dates: the first commit of the vulns history that added each record. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "cve/history.h"
#include "log.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown libgit2 error";
}

/* "cve/published/2024/CVE-2024-1234.json" -> "CVE-2024-1234" (LEN), else 0. */
static size_t record_id(const char *path, const char **ret)
{
	const char *base, *dot;

	if (!startswith(path, "cve/published/") && !startswith(path, "cve/rejected/"))
		return 0;
	base = strrchr(path, '/') + 1;
	dot = strrchr(base, '.');
	if (!dot || !streq(dot, ".json") || !startswith(base, "CVE-"))
		return 0;
	*ret = base;
	return (size_t)(dot - base);
}

/* The commit's date where it was made: what `git log` prints, and what a reader expects. */
static void commit_date(const git_commit *c, char out[16])
{
	time_t t = (time_t)git_commit_time(c) + (time_t)git_commit_time_offset(c) * 60;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

static int read_commit(struct tt_store *s, git_repository *repo, const git_oid *oid,
		       sqlite3_stmt *ins)
{
	git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
	char *paths[] = { (char *)"cve" };
	git_commit *c = NULL, *parent = NULL;
	git_tree *tree = NULL, *ptree = NULL;
	git_diff *diff = NULL;
	char hex[GIT_OID_HEXSZ + 1], date[16];
	int r = 0;

	if (git_commit_lookup(&c, repo, oid) < 0 || git_commit_tree(&tree, c) < 0 ||
	    (git_commit_parentcount(c) > 0 &&
	     (git_commit_parent(&parent, c, 0) < 0 || git_commit_tree(&ptree, parent) < 0))) {
		r = log_error_errno(-EIO, "cannot read commit %s of the vulns history: %s",
				    git_oid_tostr_s(oid), git_msg());
		goto out;
	}
	/* Only added paths matter: no blob is read, renames are not looked for. */
	opts.flags = GIT_DIFF_SKIP_BINARY_CHECK;
	opts.pathspec.strings = paths;
	opts.pathspec.count = 1;
	if (git_diff_tree_to_tree(&diff, repo, ptree, tree, &opts) < 0) {
		r = log_error_errno(-EIO, "cannot diff commit %s of the vulns history: %s",
				    git_oid_tostr_s(oid), git_msg());
		goto out;
	}
	git_oid_tostr(hex, sizeof(hex), oid);
	commit_date(c, date);
	for (size_t i = 0, n = git_diff_num_deltas(diff); i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		const char *id;
		size_t len;

		if (d->status != GIT_DELTA_ADDED || !(len = record_id(d->new_file.path, &id)))
			continue;
		sqlite3_bind_text(ins, 1, id, (int)len, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, date, -1, SQLITE_STATIC);
		r = sqlite3_step(ins);
		sqlite3_reset(ins);
		if (r != SQLITE_DONE) {
			r = tt_store_error(s, "storing publication dates");
			goto out;
		}
		r = 0;
	}
out:
	git_diff_free(diff);
	git_tree_free(ptree);
	git_tree_free(tree);
	git_commit_free(parent);
	git_commit_free(c);
	return r;
}

int cve_history_update(struct tt_store *s, git_repository *repo, const git_oid *target,
		       unsigned long *ret_commits)
{
	_cleanup_free_ char *last_hex = NULL;
	char target_hex[GIT_OID_HEXSZ + 1];
	git_revwalk *walk = NULL;
	sqlite3_stmt *ins;
	unsigned long n = 0;
	git_oid last, oid;
	bool incremental = false;
	int r;

	git_oid_tostr(target_hex, sizeof(target_hex), target);
	r = tt_store_meta_get(s, "history_commit", &last_hex);
	if (r < 0)
		return r;
	if (last_hex && git_oid_fromstr(&last, last_hex) == 0) {
		if (git_oid_equal(&last, target))
			goto done;
		incremental = git_graph_descendant_of(repo, target, &last) == 1;
	}
	if (!incremental) {
		r = tt_store_exec(s, "DELETE FROM cve_history");
		if (r < 0)
			return r;
	}
	if (git_revwalk_new(&walk, repo) < 0 ||
	    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0 ||
	    git_revwalk_push(walk, target) < 0 || (incremental && git_revwalk_hide(walk, &last) < 0)) {
		r = log_error_errno(-EIO, "cannot walk the vulns history: %s", git_msg());
		goto out;
	}
	r = tt_store_prepare(s,
			     "INSERT OR IGNORE INTO cve_history(cve_id, first_commit, first_date) "
			     "VALUES (?1, ?2, ?3)",
			     &ins);
	if (r < 0)
		goto out;
	/* Oldest first: the first commit to add a record keeps it (INSERT OR IGNORE). */
	while ((r = git_revwalk_next(&oid, walk)) == 0) {
		r = read_commit(s, repo, &oid, ins);
		if (r < 0)
			goto out;
		n++;
	}
	if (r != GIT_ITEROVER) {
		r = log_error_errno(-EIO, "cannot walk the vulns history: %s", git_msg());
		goto out;
	}
done:
	r = tt_store_meta_set(s, "history_commit", target_hex);
	if (r >= 0 && ret_commits)
		*ret_commits = n;
	log_debug("history: %lu commits read (%s)", n, incremental ? "incremental" : "full");
out:
	git_revwalk_free(walk);
	return r < 0 ? r : 0;
}
