/* patch(1) driven and read back. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "spawn.h"
#include "strbuf.h"
#include "banned.h"

#define PATCH_LOG_MAX (4u << 20)

void lp_patch_run_release(struct lp_patch_run *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfiles; i++) {
		free(r->files[i].path);
		free(r->files[i].renamed_from);
	}
	free(r->files);
	for (size_t i = 0; i < r->nnotes; i++)
		free(r->notes[i]);
	free(r->notes);
	*r = (struct lp_patch_run){0};
}

static bool line_is(const char *p, const char *eol, const char *prefix)
{
	size_t n = strlen(prefix);

	return (size_t)(eol - p) >= n && memcmp(p, prefix, n) == 0;
}

int lp_patch_check_text(const char *name, const char *text, size_t len)
{
	static const char *const refused[] = {
		"old mode ",  "new mode ", "rename from ",     "rename to ",
		"copy from ", "copy to ",  "GIT binary patch", "Binary files ",
	};
	const char *p = text, *end = text + len;
	bool in_git_header = false;
	unsigned lineno = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			eol = end;
		lineno++;
		if (line_is(p, eol, "diff --git ")) {
			in_git_header = true;
		} else if (line_is(p, eol, "--- ") || line_is(p, eol, "@@ ")) {
			in_git_header = false;
		} else if (line_is(p, eol, "GIT binary patch") ||
			   line_is(p, eol, "Binary files ")) {
			/* Refused wherever they are: patch(1) reads them outside git headers too.
			 */
			return log_error_errno(-EOPNOTSUPP,
					       "%s:%u: a binary change cannot be livepatched", name,
					       lineno);
		} else if (in_git_header) {
			for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
				if (line_is(p, eol, refused[i]))
					return log_error_errno(
						-EOPNOTSUPP,
						"%s:%u: '%.*s': renames, copies and mode changes "
						"cannot be livepatched",
						name, lineno, (int)MIN(eol - p, 80), p);
			if (line_is(p, eol, "new file mode ") &&
			    !line_is(p, eol, "new file mode 100644"))
				return log_error_errno(-EOPNOTSUPP,
						       "%s:%u: '%.*s': only plain new files (0644)",
						       name, lineno, (int)MIN(eol - p, 80), p);
		}
		p = eol < end ? eol + 1 : end;
	}
	return 0;
}

/* A path patch(1) printed: plain, relative, inside the tree. */
static bool sane_path(const char *s, size_t n)
{
	if (n == 0 || n > PATH_MAX || s[0] == '/' || s[0] == '\'' || s[0] == '"')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == ' ' || s[i] == '\\')
			return false;
	if ((n == 2 && memcmp(s, "..", 2) == 0) || (n >= 3 && memcmp(s, "../", 3) == 0) ||
	    memmem(s, n, "/../", 4) || (n >= 3 && memcmp(s + n - 3, "/..", 3) == 0))
		return false;
	return true;
}

static int add_touch(struct lp_patch_run *run, const char *patch, const char *p, const char *eol)
{
	const char *name_end = eol, *from = NULL, *from_end = NULL;
	bool copied = false;
	struct lp_patch_touch *nf;

	for (const char *const *k =
		     (const char *const[]){" (renamed from ", " (copied from ", NULL};
	     *k; k++) {
		const char *hit = memmem(p, (size_t)(eol - p), *k, strlen(*k));

		if (hit && eol[-1] == ')') {
			name_end = hit;
			from = hit + strlen(*k);
			from_end = eol - 1;
			copied = (*k)[2] == 'c';
			break;
		}
	}
	if (!sane_path(p, (size_t)(name_end - p)) ||
	    (from && !sane_path(from, (size_t)(from_end - from))))
		return log_error_errno(
			-EOPNOTSUPP, "patch '%s': patch(1) names a file tuxtape cannot use: '%.*s'",
			patch, (int)MIN(eol - p, 200), p);
	for (size_t i = 0; i < run->nfiles; i++)
		if (strlen(run->files[i].path) == (size_t)(name_end - p) &&
		    memcmp(run->files[i].path, p, (size_t)(name_end - p)) == 0 && !from)
			return 0;
	nf = reallocarray(run->files, run->nfiles + 1, sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	run->files = nf;
	nf = &run->files[run->nfiles];
	*nf = (struct lp_patch_touch){
		.path = strndup(p, (size_t)(name_end - p)),
		.renamed_from = from ? strndup(from, (size_t)(from_end - from)) : NULL,
		.copied = copied};
	if (!nf->path || (from && !nf->renamed_from)) {
		free(nf->path);
		free(nf->renamed_from);
		return -ENOMEM;
	}
	run->nfiles++;
	return 0;
}

static int read_output(struct lp_patch_run *run, const char *patch, const char *out, bool dry_run)
{
	const char *touch = dry_run ? "checking file " : "patching file ";
	const char *base = strrchr(patch, '/');
	int r;

	base = base ? base + 1 : patch;
	for (const char *p = out, *eol; *p; p = *eol ? eol + 1 : eol) {
		eol = strchrnul(p, '\n');
		if (line_is(p, eol, touch)) {
			r = add_touch(run, patch, p + strlen(touch), eol);
			if (r < 0)
				return r;
		} else if (line_is(p, eol, "patching symbolic link ") ||
			   line_is(p, eol, "checking symbolic link ") ||
			   (line_is(p, eol, "File ") &&
			    memmem(p, (size_t)(eol - p), "not a regular",
				   strlen("not a regular")))) {
			return log_error_errno(
				-EOPNOTSUPP, "patch '%s': only regular files can be patched: %.*s",
				patch, (int)(eol - p), p);
		} else if (line_is(p, eol, "Hunk #") &&
			   (memmem(p, (size_t)(eol - p), "offset", 6) ||
			    memmem(p, (size_t)(eol - p), "fuzz", 4))) {
			if (memmem(p, (size_t)(eol - p), "fuzz", 4))
				run->fuzz = true;
			/* The dry run and the real run say the same; keep the real run's. */
			if (!dry_run) {
				r = strv_append(&run->notes, &run->nnotes,
					     strdup_printf("%s: %.*s", base, (int)(eol - p), p));
				if (r < 0)
					return r;
			}
		}
	}
	return 0;
}

int lp_patch_apply(const char *tree, const char *patch, bool dry_run, bool allow_fuzz,
		   const char *log, struct lp_patch_run *run)
{
	_cleanup_free_ char *out = NULL;
	char real[PATH_MAX];
	const char *argv[16];
	size_t n = 0;
	int r, rr;

	if (!realpath(patch, real))
		return log_error_errno(negative_errno(), "cannot open patch '%s': %m", patch);
	argv[n++] = "patch";
	argv[n++] = "-p1";
	argv[n++] = "-N";
	argv[n++] = "-f";
	argv[n++] = "--no-backup-if-mismatch";
	argv[n++] = "-r";
	argv[n++] = "-";
	if (!allow_fuzz)
		argv[n++] = "-F0";
	if (dry_run)
		argv[n++] = "--dry-run";
	argv[n++] = "-d";
	argv[n++] = tree;
	argv[n++] = "-i";
	argv[n++] = real;
	argv[n] = NULL;
	unlink(log);
	/* The names patch(1) prints are parsed: no quoting, no translation. */
	r = lp_spawn(argv, NULL, (const char *const[]){"LC_ALL=C", "QUOTING_STYLE=literal", NULL},
		     log, NULL);
	if (r < 0 && r != -ENOEXEC)
		return r;
	rr = read_file_capped(log, PATCH_LOG_MAX, &out, NULL);
	if (rr < 0)
		return log_error_errno(rr, "cannot read patch(1)'s output '%s': %s", log,
				       strerror(-rr));
	if (r == -ENOEXEC) {
		_cleanup_free_ char *tail = lp_log_tail(log, 30);

		/* The files it named are still wanted: the caller checks they were pristine. */
		(void)read_output(run, patch, out, dry_run);
		return log_error_errno(
			-EBADMSG, "patch '%s' does not apply to this kernel source%s:\n%s", patch,
			allow_fuzz ? "" : " exactly (no fuzz allowed)", strempty(tail));
	}
	return read_output(run, patch, out, dry_run);
}
