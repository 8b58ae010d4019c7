/* Reading the file headers of unified diffs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "patchset.h"
#include "banned.h"

struct lp_patchset *lp_patchset_new(void)
{
	return calloc(1, sizeof(struct lp_patchset));
}

void lp_patchset_free(struct lp_patchset *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->npatches; i++)
		free(ps->patches[i]);
	free(ps->patches);
	for (size_t i = 0; i < ps->nfiles; i++)
		free(ps->files[i].path);
	free(ps->files);
	free(ps);
}

/*
 * The path named on a "--- " or "+++ " line: up to a tab (timestamps follow it in plain
 * diffs) or the end of the line, with trailing blanks dropped. "/dev/null" stays as is;
 * anything else loses its first component, as patch -p1 would.
 */
static int header_path(const char *p, const char *eol, char **ret, bool *ret_null)
{
	const char *end = p;
	char *s;

	while (end < eol && *end != '\t')
		end++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\r'))
		end--;
	if (end - p == 9 && memcmp(p, "/dev/null", 9) == 0) {
		*ret = NULL;
		*ret_null = true;
		return 0;
	}
	*ret_null = false;
	if (end > p && *p == '"')
		return -EBADMSG; /* quoted (escaped) names: not worth supporting for kernel trees */
	const char *slash = memchr(p, '/', (size_t)(end - p));
	if (!slash || slash + 1 >= end)
		return -EBADMSG;
	p = slash + 1;
	s = strndup(p, (size_t)(end - p));
	if (!s)
		return -ENOMEM;
	/* Refuse what would escape the tree. */
	if (s[0] == '/' || streq(s, "..") || startswith(s, "../") || strstr(s, "/../") ||
	    (strlen(s) >= 3 && streq(s + strlen(s) - 3, "/.."))) {
		free(s);
		return -EBADMSG;
	}
	*ret = s;
	return 0;
}

/* The line counts of a hunk header "@@ -A[,B] +C[,D] @@"; a missing count means 1. */
static void hunk_range(const char *p, const char *eol, unsigned long *ret_old,
		       unsigned long *ret_new)
{
	unsigned long counts[2] = {0, 0};
	int side = 0;

	for (p += 3; p < eol && side < 2; p++) {
		if (*p != '-' && *p != '+')
			continue;
		p++;
		while (p < eol && *p >= '0' && *p <= '9')
			p++;
		if (p < eol && *p == ',') {
			unsigned long n = 0;

			for (p++; p < eol && *p >= '0' && *p <= '9'; p++)
				n = n * 10 + (unsigned long)(*p - '0');
			counts[side] = n;
		} else {
			counts[side] = 1;
		}
		side++;
	}
	*ret_old = counts[0];
	*ret_new = counts[1];
}

static int add_path(struct lp_patchset *ps, char *path, bool created, bool deleted, bool renamed)
{
	struct lp_patch_file *f;

	for (size_t i = 0; i < ps->nfiles; i++)
		if (streq(ps->files[i].path, path)) {
			/* A later patch may delete what an earlier one created, and so on. */
			ps->files[i].deleted = deleted;
			ps->files[i].renamed |= renamed;
			free(path);
			return 0;
		}
	f = realloc(ps->files, (ps->nfiles + 1) * sizeof(*f));
	if (!f) {
		free(path);
		return -ENOMEM;
	}
	ps->files = f;
	ps->files[ps->nfiles++] = (struct lp_patch_file){
		.path = path, .created = created, .deleted = deleted, .renamed = renamed};
	return 0;
}

int lp_patchset_add_text(struct lp_patchset *ps, const char *name, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	_cleanup_free_ char *old = NULL;
	bool old_null = false, have_old = false;
	unsigned lineno = 0, nfiles = 0, nmarks = 0;
	unsigned long hunk_old = 0, hunk_new = 0; /* lines left in the current hunk */
	char **pp;
	int r;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			eol = end;
		lineno++;
		if (hunk_old > 0 || hunk_new > 0) {
			/* Inside a hunk "--- " and "+++ " are content, not headers. */
			if (*p == '-' && hunk_old > 0)
				hunk_old--;
			else if (*p == '+' && hunk_new > 0)
				hunk_new--;
			else if ((*p == ' ' || p == eol) && hunk_old > 0 && hunk_new > 0)
				hunk_old--, hunk_new--;
			else if (*p != '\\')
				hunk_old = hunk_new = 0;
			p = eol < end ? eol + 1 : end;
			continue;
		}
		if ((eol - p >= 11 && memcmp(p, "diff --git ", 11) == 0) ||
		    (eol - p >= 4 && memcmp(p, "*** ", 4) == 0))
			nmarks++;
		if (eol - p >= 3 && memcmp(p, "@@ ", 3) == 0) {
			nmarks++;
			hunk_range(p, eol, &hunk_old, &hunk_new);
			have_old = false;
		} else if (eol - p >= 4 && memcmp(p, "--- ", 4) == 0) {
			free(old);
			old = NULL;
			r = header_path(p + 4, eol, &old, &old_null);
			if (r < 0)
				return log_error_errno(r, "%s:%u: cannot use the file name '%.*s'",
						       name, lineno, (int)(eol - p - 4), p + 4);
			have_old = true;
		} else if (have_old && eol - p >= 4 && memcmp(p, "+++ ", 4) == 0) {
			char *new = NULL;
			bool new_null = false;

			r = header_path(p + 4, eol, &new, &new_null);
			if (r < 0)
				return log_error_errno(r, "%s:%u: cannot use the file name '%.*s'",
						       name, lineno, (int)(eol - p - 4), p + 4);
			if (old_null && new_null)
				return log_error_errno(-EBADMSG, "%s:%u: both sides are /dev/null",
						       name, lineno);
			if (new_null) {
				r = add_path(ps, TAKE_PTR(old), false, true, false);
			} else if (old_null) {
				r = add_path(ps, new, true, false, false);
			} else {
				bool renamed = !streq(old, new);

				r = add_path(ps, new, false, false, renamed);
				if (r == 0 && renamed)
					r = add_path(ps, TAKE_PTR(old), false, true, true);
			}
			if (r < 0)
				return r;
			nfiles++;
			have_old = false;
		} else {
			have_old = false;
		}
		p = eol < end ? eol + 1 : end;
	}
	/* Headers in shapes this reader skips are patch(1)'s to judge; garbage is refused here. */
	if (nfiles == 0 && nmarks == 0)
		return log_error_errno(-EBADMSG,
				       "%s: no file headers ('--- a/...', '+++ b/...') and no "
				       "hunks: not a unified diff",
				       name);

	pp = realloc(ps->patches, (ps->npatches + 1) * sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	ps->patches = pp;
	ps->patches[ps->npatches] = strdup(name);
	if (!ps->patches[ps->npatches])
		return -ENOMEM;
	ps->npatches++;
	return 0;
}

int lp_patchset_add_file(struct lp_patchset *ps, const char *path)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = read_file_capped(path, LP_PATCH_MAX_SIZE, &buf, &len);
	if (r < 0)
		return log_error_errno(r, "cannot read patch '%s': %s", path, strerror(-r));
	return lp_patchset_add_text(ps, path, buf, len);
}
