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

/*
 * What an item says about the CVE ids it names. A changelog names a CVE for many reasons; only
 * an item that says it carries a fix counts, and anything that takes one back (a revert, a
 * dropped patch, "not affected", "ignored") cancels what earlier versions fixed: a wrong
 * "fixed" is the worst answer tuxtape can give, a missed one only leaves a CVE affected.
 */
enum cl_event { CL_FIX, CL_CANCEL };

struct cl_ev {
	char *cve;
	char *version;
	const char *subject; /* for FIX: the item's subject (points into subjects[]), or NULL */
	enum cl_event kind;
};

struct cl_state {
	struct cl_ev *ev;
	size_t n, alloc;
	/* reverted subjects: 'Revert "SUBJECT"' items, with the version that reverted them */
	char **rsubj, **rver;
	size_t nr, ralloc, nrv, rvalloc;
	/* subjects of fix items, owned */
	char **subj;
	size_t ns, salloc;
	struct changelog_stats *st;
};

#define ITEM_MAX (16u << 10)

static bool cve_at(const char *q, const char *end, size_t *ret_len)
{
	size_t d = 0;

	if (end - q < 13 || strncmp(q, "CVE-", 4) != 0 || strspn(q + 4, "0123456789") < 4 ||
	    q[8] != '-')
		return false;
	while (q + 9 + d < end && isdigit((unsigned char)q[9 + d]))
		d++;
	if (d < 4 || (q + 9 + d < end && isalnum((unsigned char)q[9 + d])))
		return false;
	*ret_len = 9 + d;
	return true;
}

static bool word_at(const char *q, const char *end, const char *w)
{
	size_t l = strlen(w);

	return (size_t)(end - q) >= l && strncasecmp(q, w, l) == 0;
}

/* Case-insensitive substring search in [p, end). */
static bool has_phrase(const char *p, const char *end, const char *w)
{
	for (const char *q = p; q < end; q++)
		if (word_at(q, end, w))
			return true;
	return false;
}

/*
 * After a CVE id, only more ids and annotations ("XSA-396", "Closes: #1", separators) up to
 * the end of the item: the id is the item's trailing annotation, as in
 * "- wifi: fix u8 overflow in ...\n  CVE-2022-41674".
 */
static bool trailing_annotation(const char *q, const char *end)
{
	while (q < end) {
		size_t l;

		if (strchr(" \t,;:.()*#", *q)) {
			q++;
		} else if (cve_at(q, end, &l)) {
			q += l;
		} else if (word_at(q, end, "XSA-") || word_at(q, end, "Closes")) {
			q += 4;
			while (q < end && isalnum((unsigned char)*q))
				q++;
		} else if (word_at(q, end, "and ")) {
			q += 4;
		} else if (isdigit((unsigned char)*q)) {
			q++;
		} else {
			return false;
		}
	}
	return true;
}

/* The words that take a fix back when an item starts with them. */
static bool cancel_head(const char *t, const char *end)
{
	static const char *const heads[] = {
		"revert",  "reverted", "partially revert", "drop",    "dropped", "remove",
		"removed", "unapply",  "back out",	   "backout", "undo"};

	for (size_t i = 0; i < ARRAY_SIZE(heads); i++) {
		size_t l = strlen(heads[i]);

		if (word_at(t, end, heads[i]) && t + l < end && strchr(" \"':", t[l]))
			return true;
	}
	return false;
}

/* Phrases that say an item is not (or no longer) a fix, wherever they stand in it. */
static bool negative_phrase(const char *t, const char *end)
{
	static const char *const ph[] = {
		"revert",	  "not affected", "unaffected", "not vulnerable", "does not affect",
		"doesn't affect", "not affect",	  "ignored",	"ignore cve",	  "not applicable",
		"does not apply", "no-dsa",	  "not fixed",	"unfixed",	  "incomplete fix",
		"partial fix",	  "disputed",	  "drop patch"};

	for (size_t i = 0; i < ARRAY_SIZE(ph); i++)
		if (has_phrase(t, end, ph[i]))
			return true;
	return false;
}

static int ev_add(struct cl_state *S, const char *cve, size_t len, const char *version,
		  const char *subject, enum cl_event kind)
{
	if (S->n == S->alloc) {
		size_t na = S->alloc ? S->alloc * 2 : 1024;
		struct cl_ev *x = realloc(S->ev, na * sizeof(*x));

		if (!x)
			return -ENOMEM;
		S->ev = x;
		S->alloc = na;
	}
	S->ev[S->n] = (struct cl_ev){.cve = strndup(cve, len),
				     .version = strdup(version),
				     .subject = subject,
				     .kind = kind};
	if (!S->ev[S->n].cve || !S->ev[S->n].version) {
		free(S->ev[S->n].cve);
		free(S->ev[S->n].version);
		return -ENOMEM;
	}
	S->n++;
	return 0;
}

static int strv_push(char ***v, size_t *n, size_t *alloc, char *s)
{
	if (!s)
		return -ENOMEM;
	if (*n == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 256;
		char **x = realloc(*v, na * sizeof(*x));

		if (!x) {
			free(s);
			return -ENOMEM;
		}
		*v = x;
		*alloc = na;
	}
	(*v)[(*n)++] = s;
	return 0;
}

/*
 * A commit subject: the text before its annotations ("(CVE-...", "(regression ...", a bare
 * "CVE-..."), trailing blanks and a final ':' removed.
 */
static char *item_subject(const char *t, const char *end)
{
	const char *e = end;

	for (const char *q = t; q < end; q++) {
		size_t l;

		if ((*q == '(' &&
		     (word_at(q + 1, end, "CVE-") || word_at(q + 1, end, "XSA-") ||
		      word_at(q + 1, end, "Closes") || word_at(q + 1, end, "regression") ||
		      word_at(q + 1, end, "aka "))) ||
		    (q > t && q[-1] == ' ' && cve_at(q, end, &l))) {
			e = q;
			break;
		}
	}
	while (e > t && (e[-1] == ' ' || e[-1] == ':'))
		e--;
	return strndup(t, (size_t)(e - t));
}

/* One item ("* ...", "- ...", "+ ..." with its continuation lines, joined by single blanks). */
static int item_process(struct cl_state *S, const char *item, size_t len, const char *version)
{
	const char *t = item, *end = item + len;
	bool any = false, cancel, negative;
	const char *subject = NULL;
	int depth = 0, r;

	/* "[x86] ", "[rt] ": architecture or flavour tags */
	while (t < end && *t == '[') {
		const char *c = memchr(t, ']', (size_t)(end - t));

		if (!c)
			break;
		t = c + 1;
		while (t < end && *t == ' ')
			t++;
	}
	cancel = cancel_head(t, end);
	negative = cancel || negative_phrase(t, end);

	/* 'Revert "SUBJECT"': cancels the CVEs of an older item with that subject */
	if (word_at(t, end, "revert \"") || word_at(t, end, "partially revert \"")) {
		const char *o = memchr(t, '"', (size_t)(end - t)), *c = NULL;

		for (const char *q = end; q > o; q--)
			if (q[-1] == '"') {
				c = q - 1;
				break;
			}
		if (c && c > o + 1) {
			r = strv_push(&S->rsubj, &S->nr, &S->ralloc,
				      strndup(o + 1, (size_t)(c - o - 1)));
			if (r < 0)
				return r;
			r = strv_push(&S->rver, &S->nrv, &S->rvalloc, strdup(version));
			if (r < 0) {
				free(S->rsubj[--S->nr]);
				return r;
			}
		}
	}

	for (const char *q = t; q < end; q++) {
		size_t l;

		if (*q == '(')
			depth++;
		else if (*q == ')' && depth > 0)
			depth--;
		if ((q > t && isalnum((unsigned char)q[-1])) || !cve_at(q, end, &l))
			continue;
		any = true;
		if (negative) {
			r = ev_add(S, q, l, version, NULL, CL_CANCEL);
			if (S->st)
				S->st->cancelling++;
		} else if (depth > 0 || trailing_annotation(q + l, end)) {
			if (!subject) {
				r = strv_push(&S->subj, &S->ns, &S->salloc, item_subject(t, end));
				if (r < 0)
					return r;
				subject = S->subj[S->ns - 1];
			}
			r = ev_add(S, q, l, version, subject, CL_FIX);
		} else {
			/* named, but not as the fix of this item: prose */
			r = 0;
			if (S->st)
				S->st->not_a_fix++;
		}
		if (r < 0)
			return r;
		q += l - 1;
	}
	if (any && S->st)
		S->st->items++;
	return 0;
}

static int ev_cmp(const void *a, const void *b)
{
	const struct cl_ev *x = a, *y = b;
	int c = strcmp(x->cve, y->cve);

	if (c)
		return c;
	c = deb_version_compare(x->version, y->version);
	if (c)
		return c;
	/* in one version a cancel wins: it sorts after the fix */
	return (int)x->kind - (int)y->kind;
}

void distro_fixes_free(struct distro_fix *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].cve);
		free(f[i].version);
	}
	free(f);
}

static void cl_state_release(struct cl_state *S)
{
	for (size_t i = 0; i < S->n; i++) {
		free(S->ev[i].cve);
		free(S->ev[i].version);
	}
	free(S->ev);
	for (size_t i = 0; i < S->nr; i++) {
		free(S->rsubj[i]);
		free(S->rver[i]);
	}
	free(S->rsubj);
	free(S->rver);
	for (size_t i = 0; i < S->ns; i++)
		free(S->subj[i]);
	free(S->subj);
}

static int subj_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Fixes that a 'Revert "SUBJECT"' takes back, by the fix item's subject: the CVE ids the
 * reverted commit carried are cancelled at the reverting version.
 */
static int cancel_reverted_subjects(struct cl_state *S)
{
	size_t n0 = S->n;
	_cleanup_free_ size_t *idx = NULL;
	_cleanup_free_ char **sorted = NULL;
	int r;

	if (S->nr == 0)
		return 0;
	sorted = malloc(S->nr * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, S->rsubj, S->nr * sizeof(*sorted));
	qsort(sorted, S->nr, sizeof(*sorted), subj_cmp);
	for (size_t i = 0; i < n0; i++) {
		char **hit;

		if (S->ev[i].kind != CL_FIX || !S->ev[i].subject)
			continue;
		hit = bsearch(&S->ev[i].subject, sorted, S->nr, sizeof(*sorted), subj_cmp);
		if (!hit)
			continue;
		/* every revert of that subject, each at its own version */
		for (size_t j = 0; j < S->nr; j++) {
			if (!streq(S->rsubj[j], *hit))
				continue;
			r = ev_add(S, S->ev[i].cve, strlen(S->ev[i].cve), S->rver[j], NULL,
				   CL_CANCEL);
			if (r < 0)
				return r;
			if (S->st)
				S->st->reverted_by_subject++;
		}
	}
	return 0;
}

int changelog_read_fixes_stats(const char *path, const char *max_version, struct distro_fix **ret,
			       size_t *ret_n, char **ret_top, struct changelog_stats *ret_stats)
{
	_cleanup_free_ char *text = NULL, *top = NULL, *cur = NULL;
	struct changelog_stats st = {};
	struct cl_state S = {.st = &st};
	struct strbuf item = STRBUF_INIT;
	struct distro_fix *v = NULL;
	size_t len = 0, n = 0, entries = 0, item_col = 0;
	bool take = false, in_item = false;
	int r;

	r = read_text(path, &text, &len);
	if (r < 0)
		return r;
	for (const char *p = text, *end = text + len;;) {
		const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		const char *eol = nl ? nl : end, *b = p;
		char *ver = p < end ? entry_version(p, (size_t)(eol - p)) : NULL;
		bool blank, bullet, header;

		while (b < eol && (*b == ' ' || *b == '\t'))
			b++;
		blank = b == eol;
		bullet = b > p && b + 1 < eol && strchr("*-+", *b) && b[1] == ' ';
		/* "  [ Salvatore Bonaccorso ]" and " -- Maintainer <...>  date" end an item */
		header = b > p && (*b == '[' || (b + 2 <= eol && b[0] == '-' && b[1] == '-'));
		/*
		 * An item goes on while lines are indented deeper than its bullet: the
		 * "https://.../ChangeLog-6.1.20" under a stable update's items is not theirs.
		 */
		if (in_item &&
		    (p >= end || ver || blank || bullet || header || (size_t)(b - p) <= item_col)) {
			if (take && cur) {
				r = item_process(&S, item.buf, item.len, cur);
				if (r < 0)
					goto fail;
			}
			strbuf_reset(&item);
			in_item = false;
		}
		if (p >= end)
			break;
		if (ver) {
			entries++;
			if (!top)
				top = strdup(ver);
			free(cur);
			cur = ver;
			take = !max_version || deb_version_compare(cur, max_version) <= 0;
		} else if (bullet || (in_item && !blank && !header)) {
			const char *s = bullet ? b + 2 : b;

			if (bullet)
				item_col = (size_t)(b - p);

			if (in_item && item.len < ITEM_MAX)
				r = strbuf_addch(&item, ' ');
			else
				r = 0;
			if (r >= 0 && item.len + (size_t)(eol - s) <= ITEM_MAX)
				r = strbuf_add(&item, s, (size_t)(eol - s));
			if (r < 0)
				goto fail;
			in_item = true;
		}
		p = nl ? nl + 1 : end;
	}
	if (entries == 0) {
		r = log_error_errno(-EBADMSG,
				    "'%s' is not a package changelog (no 'name (version)' "
				    "entry line)",
				    path);
		goto fail;
	}
	r = cancel_reverted_subjects(&S);
	if (r < 0)
		goto fail;

	/*
	 * Per CVE, oldest version first: a fix makes it fixed (from that version) unless one is
	 * already in force, a cancel makes it unfixed again. What holds at the end is the answer.
	 */
	qsort(S.ev, S.n, sizeof(*S.ev), ev_cmp);
	if (S.n > 0) {
		v = calloc(S.n, sizeof(*v));
		if (!v) {
			r = -ENOMEM;
			goto fail;
		}
	}
	for (size_t i = 0; i < S.n;) {
		size_t j = i;
		const char *since = NULL;
		bool cancelled = false;

		for (; j < S.n && streq(S.ev[j].cve, S.ev[i].cve); j++) {
			if (S.ev[j].kind == CL_FIX) {
				if (!since)
					since = S.ev[j].version;
			} else {
				since = NULL;
				cancelled = true;
			}
		}
		if (since) {
			v[n].cve = strdup(S.ev[i].cve);
			v[n].version = strdup(since);
			if (!v[n].cve || !v[n].version) {
				n++;
				r = -ENOMEM;
				goto fail;
			}
			n++;
		} else if (cancelled) {
			st.cancelled++;
		}
		i = j;
	}
	st.fixed = n;
	cl_state_release(&S);
	strbuf_release(&item);
	*ret = v;
	*ret_n = n;
	if (ret_top)
		*ret_top = TAKE_PTR(top);
	if (ret_stats)
		*ret_stats = st;
	return 0;
fail:
	cl_state_release(&S);
	strbuf_release(&item);
	distro_fixes_free(v, n);
	return r;
}

int changelog_read_fixes(const char *path, const char *max_version, struct distro_fix **ret,
			 size_t *ret_n, char **ret_top)
{
	return changelog_read_fixes_stats(path, max_version, ret, ret_n, ret_top, NULL);
}
