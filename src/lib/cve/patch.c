/* cve patch: pick the fix commits for a kernel's branch and format them as format-patch mail. */
#include <errno.h>
#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "applicability/refresh.h"
#include "applicability/verdict.h"
#include "cve/patch.h"
#include "log.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

struct pick {
	char **shas;
	size_t n;
};

static void pick_release(struct pick *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->shas[i]);
	free(p->shas);
	p->shas = NULL;
	p->n = 0;
}

static int pick_add(struct pick *p, const char *sha)
{
	char **q;

	for (size_t i = 0; i < p->n; i++)
		if (streq(p->shas[i], sha))
			return 0;
	q = realloc(p->shas, (p->n + 1) * sizeof(*q));
	if (!q)
		return -ENOMEM;
	p->shas = q;
	if (!(p->shas[p->n] = strdup(sha)))
		return -ENOMEM;
	p->n++;
	return 0;
}

void cve_patch_report_release(struct cve_patch_report *r)
{
	for (size_t i = 0; i < r->n_commits; i++)
		free(r->commits[i]);
	free(r->commits);
	free(r->source);
	*r = (struct cve_patch_report){};
}

static int kernel_version_of(struct tt_store *s, const char *name, struct verdict_version *ret)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(s, "SELECT v_major, v_minor, v_patch, v_rc FROM kernel WHERE name = ?1",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		struct kernel_version kv = { (unsigned)sqlite3_column_int(st, 0),
					     (unsigned)sqlite3_column_int(st, 1),
					     (unsigned)sqlite3_column_int(st, 2),
					     (unsigned)sqlite3_column_int(st, 3) };

		verdict_version_from_kernel(&kv, ret);
	}
	sqlite3_reset(st);
	if (r == SQLITE_DONE)
		return log_error_errno(-ENOENT, "no kernel '%s' in the inventory", name);
	return r == SQLITE_ROW ? 0 : tt_store_error(s, "reading a kernel");
}

/* The branch's fix commits from the dyads, else the mainline ones (.sha1, then dyads). */
static int pick_commits(struct tt_store *s, const char *id, const struct verdict_version *k,
			struct pick *branch, struct pick *mainline)
{
	sqlite3_stmt *st;
	bool exists;
	int r;

	r = tt_store_prepare(s, "SELECT 1 FROM cve WHERE id = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	exists = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	if (!exists)
		return log_error_errno(-ENOENT, "no CVE '%s' in the database", id);

	r = tt_store_prepare(s, "SELECT sha FROM cve_commit WHERE cve_id = ?1 AND kind = 'fix' "
				"ORDER BY seq",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = pick_add(mainline, (const char *)sqlite3_column_text(st, 0))) < 0)
			break;
	sqlite3_reset(st);
	if (r < 0)
		return r;

	r = tt_store_prepare(s, "SELECT fixed_version, fixed_commit FROM cve_dyad WHERE cve_id = ?1 "
				"ORDER BY seq",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *fv = (const char *)sqlite3_column_text(st, 0);
		const char *sha = (const char *)sqlite3_column_text(st, 1);
		struct verdict_version v;

		if (!sha || streq(sha, "0") || verdict_version_parse(fv, &v) < 0 || v.len == 0)
			continue;
		if (verdict_version_same_branch(&v, k))
			r = pick_add(branch, sha);
		else if (verdict_version_is_mainline(&v) && mainline->n == 0)
			r = pick_add(mainline, sha);
		if (r < 0)
			break;
	}
	sqlite3_reset(st);
	return r < 0 ? r : 0;
}

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown libgit2 error";
}

static int cmp_time(const void *a, const void *b)
{
	git_commit *const *x = a, *const *y = b;
	git_time_t tx = git_commit_time(*x), ty = git_commit_time(*y);

	return tx < ty ? -1 : tx > ty;
}

static int write_commits(git_repository *repo, const char *repo_path, const char *id,
			 const struct pick *p, const char *source, struct strbuf *out,
			 struct cve_patch_report *rep)
{
	git_commit **commits = calloc(p->n, sizeof(*commits));
	size_t n = 0;
	int r = 0;

	if (!commits)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		git_oid oid;

		if (git_oid_fromstrp(&oid, p->shas[i]) < 0 ||
		    git_commit_lookup_prefix(&commits[n], repo, &oid, strlen(p->shas[i])) < 0) {
			r = log_error_errno(-ENOENT,
					    "commit %s (the fix of %s on %s) is not in '%s'; fetch "
					    "it into the clone",
					    p->shas[i], id, source, repo_path);
			goto out;
		}
		n++;
	}
	/* The order they were committed in, so the series applies. */
	qsort(commits, n, sizeof(*commits), cmp_time);
	rep->commits = calloc(n, sizeof(*rep->commits));
	if (!rep->commits) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		git_email_create_options eo = GIT_EMAIL_CREATE_OPTIONS_INIT;
		git_commit *parent = NULL;
		git_tree *old_tree = NULL, *new_tree = NULL;
		git_diff *diff = NULL;
		git_buf buf = { 0 };
		char hex[GIT_OID_HEXSZ + 1];

		git_oid_tostr(hex, sizeof(hex), git_commit_id(commits[i]));
		if ((git_commit_parentcount(commits[i]) > 0 &&
		     (git_commit_parent(&parent, commits[i], 0) < 0 ||
		      git_commit_tree(&old_tree, parent) < 0)) ||
		    git_commit_tree(&new_tree, commits[i]) < 0 ||
		    git_diff_tree_to_tree(&diff, repo, old_tree, new_tree, NULL) < 0 ||
		    git_email_create_from_diff(&buf, diff, i + 1, n, git_commit_id(commits[i]),
					       git_commit_summary(commits[i]),
					       git_commit_body(commits[i]),
					       git_commit_author(commits[i]), &eo) < 0)
			r = log_error_errno(-EIO, "cannot format commit %s: %s", hex, git_msg());
		else
			r = strbuf_add(out, buf.ptr, buf.size);
		git_buf_dispose(&buf);
		git_diff_free(diff);
		git_tree_free(old_tree);
		git_tree_free(new_tree);
		git_commit_free(parent);
		if (r < 0)
			goto out;
		if (!(rep->commits[rep->n_commits++] = strdup(hex))) {
			r = -ENOMEM;
			goto out;
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		git_commit_free(commits[i]);
	free(commits);
	return r;
}

int cve_patch_needed(struct tt_store *s, const char *cve_id, const char *kernel, char **ret_why)
{
	_cleanup_free_ char *reason = NULL;
	enum verdict_status vs;
	int r;

	*ret_why = NULL;
	r = verdict_lookup(s, cve_id, kernel, &vs, &reason);
	if (r == -ENOENT)
		return 1;
	if (r < 0)
		return r;
	if (vs == VERDICT_AFFECTED || vs == VERDICT_UNKNOWN)
		return 1;
	*ret_why = strdup_printf("kernel '%s' is %s for %s: %s", kernel,
				 verdict_status_to_string(vs), cve_id, strempty(reason));
	return *ret_why ? 0 : -ENOMEM;
}

int cve_patch_write(struct tt_store *s, const char *cve_id, const char *kernel,
		    const char *linux_repo, struct strbuf *out, struct cve_patch_report *ret)
{
	struct cve_patch_report rep = {};
	struct pick branch = {}, mainline = {};
	struct verdict_version k;
	git_repository *repo = NULL;
	struct strbuf src = STRBUF_INIT;
	const struct pick *use;
	int r;

	r = kernel_version_of(s, kernel, &k);
	if (r < 0)
		return r;
	r = pick_commits(s, cve_id, &k, &branch, &mainline);
	if (r < 0)
		goto out;
	if (branch.n) {
		use = &branch;
		strbuf_addf(&src, "the %u.%u stable branch", k.n[0], k.n[1]);
	} else {
		use = &mainline;
		strbuf_adds(&src, "mainline");
	}
	if (use->n == 0) {
		r = log_error_errno(-ENODATA, "the records of %s name no fix commit", cve_id);
		goto out;
	}
	git_libgit2_init();
	if (git_repository_open_ext(&repo, linux_repo, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
		r = log_error_errno(-EIO, "'%s' is not a git repository: %s", linux_repo, git_msg());
		git_libgit2_shutdown();
		goto out;
	}
	r = write_commits(repo, linux_repo, cve_id, use, strbuf_str(&src), out, &rep);
	git_repository_free(repo);
	git_libgit2_shutdown();
	if (r < 0)
		goto out;
	rep.source = strbuf_detach(&src);
	if (ret)
		*ret = rep;
	else
		cve_patch_report_release(&rep);
	rep = (struct cve_patch_report){};
out:
	cve_patch_report_release(&rep);
	strbuf_release(&src);
	pick_release(&branch);
	pick_release(&mainline);
	return r;
}
