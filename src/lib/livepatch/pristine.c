/*
 * The pristine-source manifest. BLAKE2b rather than SHA-256: hashing a whole 6.1 tree (78,000
 * files, 1.2 GB) takes about half the time, and the digest only has to tell a file from
 * another version of itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "pristine.h"
#include "strbuf.h"
#include "banned.h"

#define DIGEST_BYTES 16
#define MANIFEST_MAX (64u << 20)

struct manifest_entry {
	const char *path;
	const char *hex;
};

struct lp_manifest {
	char *buf; /* the file, NULs written over its separators */
	struct manifest_entry *e;
	size_t n;
};

int lp_file_digest(const char *path, char ret_hex[LP_DIGEST_HEX])
{
	_cleanup_close_ int fd = -1;
	crypto_generichash_state st;
	unsigned char digest[DIGEST_BYTES];
	unsigned char buf[65536];
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return negative_errno();
	if (crypto_generichash_init(&st, NULL, 0, DIGEST_BYTES) < 0)
		return -EIO;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		crypto_generichash_update(&st, buf, (unsigned long long)n);
	}
	crypto_generichash_final(&st, digest, DIGEST_BYTES);
	sodium_bin2hex(ret_hex, LP_DIGEST_HEX, digest, DIGEST_BYTES);
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct manifest_entry *)a)->path,
		      ((const struct manifest_entry *)b)->path);
}

/* Manifest lines by path: the digest is a fixed-width prefix. */
static int cmp_line_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a + LP_DIGEST_HEX, *(char *const *)b + LP_DIGEST_HEX);
}

int lp_manifest_write(const char *tree, const char *out)
{
	char *const roots[] = {(char *)tree, NULL};
	size_t prefix = strlen(tree) + 1;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	char **lines = NULL;
	size_t nlines = 0, alloc = 0;
	FTS *fts;
	FTSENT *e;
	int r = 0;

	if (sodium_init() < 0)
		return -EIO;
	fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	if (!fts)
		return negative_errno();
	while ((e = fts_read(fts))) {
		char hex[LP_DIGEST_HEX];

		if (e->fts_info == FTS_D && e->fts_level > 0 && streq(e->fts_name, ".git")) {
			fts_set(fts, e, FTS_SKIP);
			continue;
		}
		if (e->fts_info == FTS_ERR || e->fts_info == FTS_DNR) {
			r = log_error_errno(-e->fts_errno, "cannot scan '%s': %s", e->fts_path,
					    strerror(e->fts_errno));
			break;
		}
		if (e->fts_info != FTS_F || e->fts_pathlen <= prefix)
			continue;
		r = lp_file_digest(e->fts_path, hex);
		if (r < 0) {
			log_error("cannot read '%s': %s", e->fts_path, strerror(-r));
			break;
		}
		if (nlines == alloc) {
			size_t na = alloc ? alloc * 2 : 8192;
			char **nl = reallocarray(lines, na, sizeof(*nl));

			if (!nl) {
				r = -ENOMEM;
				break;
			}
			lines = nl;
			alloc = na;
		}
		lines[nlines] = strdup_printf("%s %s\n", hex, e->fts_path + prefix);
		if (!lines[nlines]) {
			r = -ENOMEM;
			break;
		}
		nlines++;
	}
	fts_close(fts);
	if (r == 0) {
		/* Sorted by path, so loading needs no sort. */
		qsort(lines, nlines, sizeof(*lines), cmp_line_path);
		for (size_t i = 0; i < nlines && r == 0; i++)
			r = strbuf_adds(&sb, lines[i]);
	}
	for (size_t i = 0; i < nlines; i++)
		free(lines[i]);
	free(lines);
	if (r < 0)
		return r;
	r = write_file_atomic(out, strbuf_str(&sb), sb.len, 0644);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %s", out, strerror(-r));
	return 0;
}

void lp_manifest_free(struct lp_manifest *m)
{
	if (!m)
		return;
	free(m->buf);
	free(m->e);
	free(m);
}

size_t lp_manifest_size(const struct lp_manifest *m)
{
	return m ? m->n : 0;
}

int lp_manifest_load(const char *path, struct lp_manifest **ret)
{
	_cleanup_(lp_manifest_freep) struct lp_manifest *m = calloc(1, sizeof(*m));
	size_t len, alloc = 0;
	unsigned lineno = 0;
	int r;

	if (!m)
		return -ENOMEM;
	r = read_file_capped(path, MANIFEST_MAX, &m->buf, &len);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
	for (char *p = m->buf, *next; p < m->buf + len; p = next) {
		char *eol = memchr(p, '\n', (size_t)(m->buf + len - p));

		lineno++;
		if (!eol)
			return log_error_errno(-EBADMSG, "%s:%u: truncated line", path, lineno);
		*eol = '\0';
		next = eol + 1;
		if (eol - p < LP_DIGEST_HEX + 1 || p[LP_DIGEST_HEX - 1] != ' ' ||
		    strspn(p, "0123456789abcdef") != LP_DIGEST_HEX - 1)
			return log_error_errno(-EBADMSG, "%s:%u: not '<digest> <path>'", path,
					       lineno);
		p[LP_DIGEST_HEX - 1] = '\0';
		if (m->n == alloc) {
			size_t na = alloc ? alloc * 2 : 8192;
			struct manifest_entry *ne = reallocarray(m->e, na, sizeof(*ne));

			if (!ne)
				return -ENOMEM;
			m->e = ne;
			alloc = na;
		}
		m->e[m->n++] = (struct manifest_entry){.path = p + LP_DIGEST_HEX, .hex = p};
		if (m->n > 1 && strcmp(m->e[m->n - 2].path, m->e[m->n - 1].path) >= 0)
			return log_error_errno(-EBADMSG, "%s:%u: paths out of order", path, lineno);
	}
	*ret = TAKE_PTR(m);
	return 0;
}

const char *lp_manifest_digest(const struct lp_manifest *m, const char *rel)
{
	struct manifest_entry key = {.path = rel};
	const struct manifest_entry *hit;

	if (!m || m->n == 0)
		return NULL;
	hit = bsearch(&key, m->e, m->n, sizeof(*m->e), cmp_entry);
	return hit ? hit->hex : NULL;
}

int lp_manifest_check(const struct lp_manifest *m, const char *tree, const char *rel)
{
	_cleanup_free_ char *path = path_join(tree, rel);
	const char *want = lp_manifest_digest(m, rel);
	char got[LP_DIGEST_HEX];
	int r;

	if (!path)
		return -ENOMEM;
	r = lp_file_digest(path, got);
	if (r == -ENOENT || r == -ELOOP) {
		if (!want && r == -ENOENT)
			return 0;
		return log_error_errno(-EUCLEAN, "'%s' is missing from the kernel tree '%s'%s", rel,
				       tree, r == -ELOOP ? " (a symlink stands in its place)" : "");
	}
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
	if (!want)
		return log_error_errno(-EUCLEAN,
				       "'%s' exists in the kernel tree '%s' but is no file of the "
				       "pristine source",
				       rel, tree);
	if (!streq(want, got))
		return log_error_errno(
			-EUCLEAN, "'%s' in the kernel tree '%s' differs from the pristine source",
			rel, tree);
	return 0;
}
