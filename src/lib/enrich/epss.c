/* EPSS CSV → epss table. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/epss.h"
#include "enrich/http.h"
#include "enrich/source.h"
#include "log.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

struct slice {
	const char *p;
	size_t len;
};

#define SHOW(s) (int)MIN((s).len, (size_t)40), (s).p

void tt_epss_list_release(struct tt_epss_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].cve_id);
	free(l->v);
	free(l->model_version);
	free(l->score_date);
	*l = (struct tt_epss_list){};
}

static void epss_list_releasep(struct tt_epss_list *l)
{
	tt_epss_list_release(l);
}

static struct slice trim(struct slice s)
{
	while (s.len && (s.p[0] == ' ' || s.p[0] == '\t'))
		s.p++, s.len--;
	while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t' || s.p[s.len - 1] == '\r'))
		s.len--;
	return s;
}

static bool slice_eq(struct slice s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

/* Splits LINE at commas into at most MAX fields; returns the count, or MAX + 1 if more. */
static size_t split(struct slice line, struct slice *f, size_t max)
{
	size_t n = 0;
	const char *p = line.p, *end = line.p + line.len;

	for (;;) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		const char *e = c ? c : end;

		if (n == max)
			return max + 1;
		f[n++] = trim((struct slice){p, (size_t)(e - p)});
		if (!c)
			return n;
		p = c + 1;
	}
}

/* A probability: plain decimal notation (exponents allowed), finite, within [0, 1]. */
static int parse_prob(struct slice s, double *ret)
{
	char num[48];
	char *end;
	double d;

	if (s.len == 0 || s.len >= sizeof(num))
		return -EINVAL;
	for (size_t i = 0; i < s.len; i++)
		if (!strchr("0123456789.eE+-", s.p[i]) || s.p[i] == '\0')
			return -EINVAL;
	memcpy(num, s.p, s.len);
	num[s.len] = '\0';
	errno = 0;
	d = strtod(num, &end);
	if (errno || *end || !isfinite(d) || d < 0 || d > 1)
		return -EINVAL;
	*ret = d;
	return 0;
}

/* "#model_version:v2025.03.14,score_date:2025-05-01T12:55:00+0000" */
static int parse_meta(struct slice line, struct tt_epss_list *l)
{
	struct slice f[8];
	size_t n = split((struct slice){line.p + 1, line.len - 1}, f, ARRAY_SIZE(f));

	for (size_t i = 0; i < MIN(n, ARRAY_SIZE(f)); i++) {
		const char *colon = memchr(f[i].p, ':', f[i].len);
		struct slice k, v;
		char **dst;

		if (!colon)
			continue;
		k = trim((struct slice){f[i].p, (size_t)(colon - f[i].p)});
		v = trim((struct slice){colon + 1, f[i].len - (size_t)(colon + 1 - f[i].p)});
		if (v.len > 64 || memchr(v.p, '\0', v.len))
			continue;
		if (slice_eq(k, "model_version"))
			dst = &l->model_version;
		else if (slice_eq(k, "score_date"))
			dst = &l->score_date, v.len = MIN(v.len, (size_t)10);
		else
			continue;
		free(*dst);
		*dst = strndup(v.p, v.len);
		if (!*dst)
			return -ENOMEM;
	}
	return 0;
}

int tt_epss_parse(const char *buf, size_t len, const char *origin, struct tt_epss_list *ret)
{
	_cleanup_(epss_list_releasep) struct tt_epss_list l = {};
	const char *p = buf, *end = buf + len;
	size_t lineno = 0, alloc = 0, ncols = 0;
	ssize_t col_cve = -1, col_epss = -1, col_pct = -1;
	bool header = false;
	struct slice f[16];

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) /* UTF-8 BOM */
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct slice line = trim((struct slice){p, (size_t)((nl ? nl : end) - p)});
		size_t n;

		p = nl ? nl + 1 : end;
		lineno++;
		if (line.len == 0)
			continue;
		if (memchr(line.p, '\0', line.len))
			return log_error_errno(-EBADMSG, "'%s': line %zu: NUL byte", origin,
					       lineno);
		if (line.p[0] == '#') {
			if (!header) {
				int r = parse_meta(line, &l);

				if (r < 0)
					return r;
			}
			continue;
		}
		n = split(line, f, ARRAY_SIZE(f));
		if (!header) {
			if (n > ARRAY_SIZE(f))
				return log_error_errno(-EBADMSG, "'%s': line %zu: too many columns",
						       origin, lineno);
			for (size_t i = 0; i < n; i++) {
				if (slice_eq(f[i], "cve"))
					col_cve = (ssize_t)i;
				else if (slice_eq(f[i], "epss"))
					col_epss = (ssize_t)i;
				else if (slice_eq(f[i], "percentile"))
					col_pct = (ssize_t)i;
			}
			if (col_cve < 0 || col_epss < 0)
				return log_error_errno(
					-EBADMSG,
					"'%s': line %zu: expected a 'cve,epss,percentile' "
					"header",
					origin, lineno);
			ncols = n;
			header = true;
			continue;
		}
		if (n != ncols)
			return log_error_errno(
				-EBADMSG, "'%s': line %zu: expected %zu fields, found %s%zu",
				origin, lineno, ncols, n > ARRAY_SIZE(f) ? "more than " : "",
				MIN(n, ARRAY_SIZE(f)));
		if (l.n == alloc) {
			size_t na = alloc ? alloc * 2 : 1024;
			struct tt_epss_entry *v = realloc(l.v, na * sizeof(*v));

			if (!v)
				return -ENOMEM;
			l.v = v;
			alloc = na;
		}
		{
			struct tt_epss_entry *e = &l.v[l.n];
			struct slice id = f[col_cve];

			if (!tt_cve_id_valid(id.p, id.len))
				return log_error_errno(
					-EBADMSG, "'%s': line %zu: cve: '%.*s' is not a CVE id",
					origin, lineno, SHOW(id));
			if (parse_prob(f[col_epss], &e->epss) < 0)
				return log_error_errno(
					-EBADMSG,
					"'%s': line %zu: epss: '%.*s' is not a number in [0, 1]",
					origin, lineno, SHOW(f[col_epss]));
			e->percentile = NAN;
			if (col_pct >= 0 && parse_prob(f[col_pct], &e->percentile) < 0)
				return log_error_errno(-EBADMSG,
						       "'%s': line %zu: percentile: '%.*s' is not "
						       "a number in [0, 1]",
						       origin, lineno, SHOW(f[col_pct]));
			e->cve_id = strndup(id.p, id.len);
			if (!e->cve_id)
				return -ENOMEM;
			l.n++;
		}
	}
	if (!header)
		return log_error_errno(-EBADMSG, "'%s': no 'cve,epss,percentile' header line",
				       origin);
	*ret = l;
	l = (struct tt_epss_list){};
	return 0;
}

int tt_epss_store(struct tt_store *s, const struct tt_epss_list *l, struct tt_enrich_stats *stats)
{
	sqlite3_stmt *ins, *has;
	int r;

	r = tt_store_begin(s);
	if (r < 0)
		return r;
	r = tt_store_exec(s, "DELETE FROM epss");
	if (r < 0)
		goto fail;
	r = tt_store_prepare(s, "SELECT 1 FROM cve WHERE id = ?1", &has);
	if (r < 0)
		goto fail;
	r = tt_store_prepare(s,
			     "INSERT OR REPLACE INTO epss(cve_id, epss, percentile, date)"
			     " VALUES (?1, ?2, ?3, ?4)",
			     &ins);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < l->n; i++) {
		const struct tt_epss_entry *e = &l->v[i];
		int sr;

		sqlite3_reset(has);
		sqlite3_bind_text(has, 1, e->cve_id, -1, SQLITE_STATIC);
		sr = sqlite3_step(has);
		sqlite3_reset(has);
		if (sr == SQLITE_DONE) {
			stats->not_in_db++;
			continue;
		}
		if (sr != SQLITE_ROW) {
			r = tt_store_error(s, "looking up a CVE");
			goto fail;
		}
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, e->cve_id, -1, SQLITE_STATIC);
		sqlite3_bind_double(ins, 2, e->epss);
		if (isnan(e->percentile))
			sqlite3_bind_null(ins, 3);
		else
			sqlite3_bind_double(ins, 3, e->percentile);
		sqlite3_bind_text(ins, 4, l->score_date, -1, SQLITE_STATIC);
		sr = sqlite3_step(ins);
		sqlite3_reset(ins);
		if (sr != SQLITE_DONE) {
			r = tt_store_error(s, "writing epss");
			goto fail;
		}
		stats->stored++;
	}
	if (l->model_version) {
		r = tt_store_meta_set(s, "epss.model_version", l->model_version);
		if (r < 0)
			goto fail;
	}
	if (l->score_date) {
		r = tt_store_meta_set(s, "epss.score_date", l->score_date);
		if (r < 0)
			goto fail;
	}
	r = tt_store_commit(s);
	if (r < 0)
		goto fail;
	return 0;
fail:
	tt_store_rollback(s);
	return r;
}

int tt_enrich_epss(struct tt_store *s, const char *src, const struct tt_http_opts *http,
		   struct tt_enrich_stats *stats)
{
	_cleanup_(epss_list_releasep) struct tt_epss_list l = {};
	struct tt_enrich_stats st = {};
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = tt_source_load(src, TT_EPSS_MAX_SIZE, http, &buf, &len, &stats->requests);
	if (r < 0)
		return r;
	r = tt_epss_parse(buf, len, src, &l);
	if (r < 0)
		return r;
	st.parsed = l.n;
	r = tt_epss_store(s, &l, &st);
	if (r < 0)
		return r;
	stats->parsed += st.parsed;
	stats->stored += st.stored;
	stats->not_in_db += st.not_in_db;
	return 0;
}
