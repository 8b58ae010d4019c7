/* Debian/Ubuntu package changelogs: which CVEs each version fixed. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fleet/changelog.h"
#include "log.h"
#include "macro.h"
#include "strbuf.h"
#include "banned.h"

#define CHANGELOG_MAX (64u << 20)

/* dpkg: letters sort before non-letters, '~' before everything, even the end. */
static int order(int c)
{
	if (isdigit(c))
		return 0;
	if (isalpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

static int verrevcmp(const char *a, const char *b)
{
	while (*a || *b) {
		int first_diff = 0;

		while ((*a && !isdigit((unsigned char)*a)) || (*b && !isdigit((unsigned char)*b))) {
			int ac = order((unsigned char)*a), bc = order((unsigned char)*b);

			if (ac != bc)
				return ac - bc;
			a++;
			b++;
		}
		while (*a == '0')
			a++;
		while (*b == '0')
			b++;
		while (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			if (!first_diff)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (isdigit((unsigned char)*a))
			return 1;
		if (isdigit((unsigned char)*b))
			return -1;
		if (first_diff)
			return first_diff;
	}
	return 0;
}

int deb_version_compare(const char *a, const char *b)
{
	const char *ca = strchr(a, ':'), *cb = strchr(b, ':');
	long ea = ca ? strtol(a, NULL, 10) : 0, eb = cb ? strtol(b, NULL, 10) : 0;
	_cleanup_free_ char *ua = NULL, *ub = NULL;
	char *ra, *rb;
	int r;

	if (ea != eb)
		return ea < eb ? -1 : 1;
	ua = strdup(ca ? ca + 1 : a);
	ub = strdup(cb ? cb + 1 : b);
	if (!ua || !ub)
		return 0;
	ra = strrchr(ua, '-');
	rb = strrchr(ub, '-');
	if (ra)
		*ra++ = '\0';
	if (rb)
		*rb++ = '\0';
	r = verrevcmp(ua, ub);
	if (r)
		return r < 0 ? -1 : 1;
	r = verrevcmp(ra ? ra : "", rb ? rb : "");
	return r < 0 ? -1 : r > 0;
}

static int read_text(const char *path, char **ret, size_t *ret_len)
{
	struct strbuf sb = STRBUF_INIT;
	_cleanup_free_ char *buf = malloc(1u << 16);
	gzFile in;
	int n, r = 0;

	if (!buf)
		return -ENOMEM;
	/* gzread reads a plain file as it is. */
	in = gzopen(path, "rb");
	if (!in)
		return log_error_errno(errno ? -errno : -EIO, "cannot open changelog '%s'", path);
	while ((n = gzread(in, buf, 1u << 16)) > 0) {
		if (sb.len + (size_t)n > CHANGELOG_MAX) {
			r = log_error_errno(-EFBIG, "changelog '%s' is over %u MiB", path,
					    CHANGELOG_MAX >> 20);
			break;
		}
		if (strbuf_add(&sb, buf, (size_t)n) < 0) {
			r = -ENOMEM;
			break;
		}
	}
	if (n < 0 && r == 0)
		r = log_error_errno(-EIO, "cannot read changelog '%s'", path);
	gzclose(in);
	if (r < 0) {
		strbuf_release(&sb);
		return r;
	}
	*ret_len = sb.len;
	*ret = strbuf_detach(&sb);
	return *ret ? 0 : -ENOMEM;
}

/* "linux (6.1.192-1) bookworm-security; urgency=high" -> "6.1.192-1"; NULL for other lines. */
static char *entry_version(const char *line, size_t len)
{
	const char *open, *close, *sp;
	char *v;

	if (len == 0 || !isalnum((unsigned char)line[0]))
		return NULL;
	sp = memchr(line, ' ', len);
	if (!sp || sp + 1 >= line + len || sp[1] != '(')
		return NULL;
	open = sp + 1;
	close = memchr(open, ')', (size_t)(line + len - open));
	if (!close || close == open + 1)
		return NULL;
	v = strndup(open + 1, (size_t)(close - open - 1));
	if (v && startswith(line, "linux-signed")) {
		char *plus = strrchr(v, '+');

		if (plus)
			*plus = '-';
	}
	return v;
}

static int fix_cmp(const void *a, const void *b)
{
	return strcmp(((const struct distro_fix *)a)->cve, ((const struct distro_fix *)b)->cve);
}

void distro_fixes_free(struct distro_fix *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].cve);
		free(f[i].version);
	}
	free(f);
}

int changelog_read_fixes(const char *path, const char *max_version, struct distro_fix **ret,
			 size_t *ret_n, char **ret_top)
{
	_cleanup_free_ char *text = NULL, *top = NULL, *cur = NULL;
	struct distro_fix *v = NULL;
	size_t len = 0, n = 0, alloc = 0, entries = 0;
	bool take = false;
	int r;

	r = read_text(path, &text, &len);
	if (r < 0)
		return r;
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
		char *ver = entry_version(p, (size_t)(eol - p));

		if (ver) {
			entries++;
			if (!top)
				top = strdup(ver);
			free(cur);
			cur = ver;
			take = !max_version || deb_version_compare(cur, max_version) <= 0;
		} else if (take && cur) {
			/* Every CVE id on the line: "CVE-" digits{4} "-" digits{4,}. */
			for (const char *q = p; q + 13 <= eol; q++) {
				size_t d = 0;

				if (strncmp(q, "CVE-", 4) != 0 || !isdigit((unsigned char)q[4]) ||
				    q[8] != '-' || (q > p && isalnum((unsigned char)q[-1])))
					continue;
				while (q + 9 + d < eol && isdigit((unsigned char)q[9 + d]))
					d++;
				if (d < 4 || strspn(q + 4, "0123456789") != 4)
					continue;
				if (n == alloc) {
					size_t na = alloc ? alloc * 2 : 1024;
					struct distro_fix *x = realloc(v, na * sizeof(*x));

					if (!x) {
						r = -ENOMEM;
						goto fail;
					}
					v = x;
					alloc = na;
				}
				v[n].cve = strndup(q, 9 + d);
				v[n].version = strdup(cur);
				if (!v[n].cve || !v[n].version) {
					n++;
					r = -ENOMEM;
					goto fail;
				}
				n++;
				q += 8 + d;
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (entries == 0) {
		r = log_error_errno(-EBADMSG, "'%s' is not a package changelog (no 'name (version)' "
					      "entry line)",
				    path);
		goto fail;
	}
	/* One per CVE, the oldest version naming it: entries run newest first. */
	if (n > 0) {
		size_t w = 0;

		qsort(v, n, sizeof(*v), fix_cmp);
		for (size_t i = 0; i < n; i++) {
			if (w > 0 && streq(v[w - 1].cve, v[i].cve)) {
				if (deb_version_compare(v[i].version, v[w - 1].version) < 0) {
					free(v[w - 1].version);
					v[w - 1].version = TAKE_PTR(v[i].version);
				}
				free(v[i].cve);
				free(v[i].version);
				continue;
			}
			v[w++] = v[i];
		}
		n = w;
	}
	*ret = v;
	*ret_n = n;
	if (ret_top)
		*ret_top = TAKE_PTR(top);
	return 0;
fail:
	distro_fixes_free(v, n);
	return r;
}
