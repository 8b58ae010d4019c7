/* NVD JSON 2.0 (API pages and feed files) → cve_cvss rows with source 'nvd' and nvd_state. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cve/cvss.h"
#include "enrich/nvd.h"
#include "enrich/source.h"
#include "log.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

/* The metric arrays tuxtape keeps, newest CVSS version first. */
static const struct {
	const char *key, *version;
} metric_keys[] = {
	{"cvssMetricV40", "4.0"},
	{"cvssMetricV31", "3.1"},
	{"cvssMetricV30", "3.0"},
};

void tt_iso_time(time_t t, char buf[static 21])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void metric_release(struct tt_nvd_metric *m)
{
	free(m->vector);
	free(m->severity);
	free(m->source);
	free(m->type);
	*m = (struct tt_nvd_metric){};
}

void tt_nvd_page_release(struct tt_nvd_page *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].id);
		free(p->v[i].vuln_status);
		free(p->v[i].published);
		for (size_t j = 0; j < p->v[i].n_m; j++)
			metric_release(&p->v[i].m[j]);
	}
	free(p->v);
	*p = (struct tt_nvd_page){};
}

static void nvd_page_releasep(struct tt_nvd_page *p)
{
	tt_nvd_page_release(p);
}

static char *dup_string(json_t *v)
{
	return json_is_string(v) ? strndup(json_string_value(v), json_string_length(v)) : NULL;
}

/* A CVSS vector: printable ASCII without spaces, of sane length. */
static bool vector_valid(json_t *v)
{
	const char *s;
	size_t len;

	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || len > 512 || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

/*
 * Picks NVD's own ("Primary") entry of one metric array, else the first, and fills M.
 * Returns 0, 1 when the array is empty, or -EBADMSG with WHY set.
 */
static int parse_metric(json_t *arr, const char *version, struct tt_nvd_metric *m, const char **why)
{
	json_t *first = NULL, *primary = NULL, *pick, *data, *score, *sev;

	if (!json_is_array(arr))
		return *why = "expected an array", -EBADMSG;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i), *type;

		if (!json_is_object(e))
			return *why = "expected an array of objects", -EBADMSG;
		type = json_object_get(e, "type");
		if (!first)
			first = e;
		if (!primary && json_is_string(type) && streq(json_string_value(type), "Primary"))
			primary = e;
	}
	pick = primary ? primary : first;
	if (!pick)
		return 1;
	data = json_object_get(pick, "cvssData");
	if (!json_is_object(data))
		return *why = "cvssData: expected an object", -EBADMSG;
	if (!vector_valid(json_object_get(data, "vectorString")))
		return *why = "cvssData.vectorString: expected a CVSS vector string", -EBADMSG;
	score = json_object_get(data, "baseScore");
	if (!json_is_number(score) || !isfinite(json_number_value(score)) ||
	    json_number_value(score) < 0 || json_number_value(score) > 10)
		return *why = "cvssData.baseScore: expected a number from 0 to 10", -EBADMSG;
	sev = json_object_get(data, "baseSeverity");
	if (sev && !json_is_string(sev) && !json_is_null(sev))
		return *why = "cvssData.baseSeverity: expected a string", -EBADMSG;
	if (json_object_get(pick, "source") && !json_is_string(json_object_get(pick, "source")))
		return *why = "source: expected a string", -EBADMSG;

	m->version = version;
	m->base_score = json_number_value(score);
	m->vector = dup_string(json_object_get(data, "vectorString"));
	m->severity = dup_string(sev);
	m->source = dup_string(json_object_get(pick, "source"));
	m->type = dup_string(json_object_get(pick, "type"));
	if (!m->vector || (json_is_string(sev) && !m->severity))
		return -ENOMEM;
	return 0;
}

static long opt_long(json_t *root, const char *key)
{
	json_t *v = json_object_get(root, key);

	return json_is_integer(v) && json_integer_value(v) >= 0 ? (long)json_integer_value(v) : -1;
}

static int parse_record(json_t *cve, const char *origin, size_t idx, struct tt_nvd_cve *c)
{
	json_t *metrics = json_object_get(cve, "metrics");
	const char *why = NULL;

	c->vuln_status = dup_string(json_object_get(cve, "vulnStatus"));
	c->published = dup_string(json_object_get(cve, "published"));
	if (!metrics || json_is_null(metrics))
		return 0;
	if (!json_is_object(metrics)) {
		log_warn("'%s': vulnerabilities[%zu].cve.metrics: expected an object; skipping %s",
			 origin, idx, c->id);
		c->bad = true;
		return 0;
	}
	for (size_t k = 0; k < ARRAY_SIZE(metric_keys); k++) {
		json_t *arr = json_object_get(metrics, metric_keys[k].key);
		int r;

		if (!arr)
			continue;
		r = parse_metric(arr, metric_keys[k].version, &c->m[c->n_m], &why);
		if (r == -ENOMEM)
			return r;
		if (r == -EBADMSG) {
			metric_release(&c->m[c->n_m]);
			log_warn("'%s': vulnerabilities[%zu].cve.metrics.%s: %s; skipping %s",
				 origin, idx, metric_keys[k].key, why, c->id);
			c->bad = true;
			for (size_t j = 0; j < c->n_m; j++)
				metric_release(&c->m[j]);
			c->n_m = 0;
			return 0;
		}
		if (r == 0)
			c->n_m++;
		else
			metric_release(&c->m[c->n_m]);
	}
	return 0;
}

int tt_nvd_parse(const char *buf, size_t len, const char *origin, struct tt_nvd_page *ret)
{
	_cleanup_(nvd_page_releasep) struct tt_nvd_page p = {};
	_cleanup_(json_decrefp) json_t *root = NULL;
	json_error_t err;
	json_t *vulns;
	int r;

	root = json_loadb(buf, len, 0, &err);
	if (!root)
		return log_error_errno(-EBADMSG, "'%s': line %d column %d: %s", origin, err.line,
				       err.column, err.text);
	if (!json_is_object(root))
		return log_error_errno(-EBADMSG, "'%s': expected a JSON object at the top", origin);
	vulns = json_object_get(root, "vulnerabilities");
	if (!json_is_array(vulns))
		return log_error_errno(-EBADMSG, "'%s': vulnerabilities: %s", origin,
				       vulns ? "expected an array" : "missing");
	p.total_results = opt_long(root, "totalResults");
	p.start_index = opt_long(root, "startIndex");
	p.results_per_page = opt_long(root, "resultsPerPage");
	p.v = calloc(MAX(json_array_size(vulns), (size_t)1), sizeof(*p.v));
	if (!p.v)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(vulns); i++) {
		json_t *o = json_array_get(vulns, i), *cve, *id;
		struct tt_nvd_cve *c = &p.v[p.n];

		if (!json_is_object(o))
			return log_error_errno(-EBADMSG,
					       "'%s': vulnerabilities[%zu]: expected an object",
					       origin, i);
		cve = json_object_get(o, "cve");
		id = json_object_get(cve, "id");
		if (!json_is_object(cve) || !json_is_string(id) ||
		    !tt_cve_id_valid(json_string_value(id), json_string_length(id))) {
			log_warn("'%s': vulnerabilities[%zu].cve.id: %s; skipping the record",
				 origin, i,
				 json_is_object(cve) ? "missing or not a CVE id" : "no cve object");
			p.skipped++;
			continue;
		}
		p.n++; /* released with the page from here, half-built or not */
		c->id = strdup(json_string_value(id));
		if (!c->id)
			return -ENOMEM;
		r = parse_record(cve, origin, i, c);
		if (r < 0)
			return r;
	}
	*ret = p;
	p = (struct tt_nvd_page){};
	return 0;
}

/* Whether the database holds CVE_ID as published and without a CNA score: what NVD fills. */
static int nvd_wanted(struct tt_store *s, const char *cve_id, bool *ret)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(
		s,
		"SELECT 1 FROM cve c WHERE c.id = ?1 AND c.state = 'published' AND NOT "
		"EXISTS (SELECT 1 FROM cve_cvss x WHERE x.cve_id = c.id AND x.source = 'cna')",
		&st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, cve_id, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return tt_store_error(s, "looking up a CVE");
	*ret = r == SQLITE_ROW;
	return 0;
}

/* tuxtape's own score of VECTOR, or NULL when the vector does not parse (NVD's text is kept
 * as NVD gave it either way). */
static void bind_computed(sqlite3_stmt *st, int col, const char *vector)
{
	struct cvss_score sc;

	if (cvss_compute(vector, &sc, NULL) == 0)
		sqlite3_bind_double(st, col, sc.base_score);
	else
		sqlite3_bind_null(st, col);
}

static int step_done(struct tt_store *s, sqlite3_stmt *st, const char *what)
{
	int r = sqlite3_step(st);

	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : tt_store_error(s, what);
}

int tt_nvd_store_page(struct tt_store *s, const struct tt_nvd_page *p, const char *fetched_at,
		      struct tt_enrich_stats *stats)
{
	sqlite3_stmt *del, *ins, *state;
	int r;

	if ((r = tt_store_prepare(s, "DELETE FROM cve_cvss WHERE cve_id = ?1 AND source = 'nvd'",
				  &del)) < 0 ||
	    (r = tt_store_prepare(
		     s,
		     "INSERT INTO cve_cvss(cve_id, source, version, vector, base_score,"
		     " computed_score, severity, rationale)"
		     " VALUES (?1, 'nvd', ?2, ?3, ?4, ?7, ?5, ?6)",
		     &ins)) < 0 ||
	    (r = tt_store_prepare(s,
				  "INSERT OR REPLACE INTO nvd_state(cve_id, fetched_at, status, "
				  "published) VALUES (?1, ?2, ?3, ?4)",
				  &state)) < 0)
		return r;
	stats->skipped += p->skipped;
	for (size_t i = 0; i < p->n; i++) {
		const struct tt_nvd_cve *c = &p->v[i];
		const char *status;
		bool wanted = false;

		stats->parsed++;
		r = nvd_wanted(s, c->id, &wanted);
		if (r < 0)
			return r;
		if (!wanted) {
			stats->not_in_db++;
			continue;
		}
		if (c->bad) {
			status = "error";
			stats->skipped++;
		} else {
			sqlite3_bind_text(del, 1, c->id, -1, SQLITE_STATIC);
			r = step_done(s, del, "replacing NVD scores");
			if (r < 0)
				return r;
			for (size_t j = 0; j < c->n_m; j++) {
				const struct tt_nvd_metric *m = &c->m[j];
				_cleanup_free_ char *why =
					strdup_printf("NVD %s metric from %s%s%s%s", m->version,
						      m->source ? m->source : "an unnamed source",
						      m->type ? " (" : "", m->type ? m->type : "",
						      m->type ? ")" : "");

				if (!why)
					return -ENOMEM;
				sqlite3_bind_text(ins, 1, c->id, -1, SQLITE_STATIC);
				bind_computed(ins, 7, m->vector);
				sqlite3_bind_text(ins, 2, m->version, -1, SQLITE_STATIC);
				sqlite3_bind_text(ins, 3, m->vector, -1, SQLITE_STATIC);
				sqlite3_bind_double(ins, 4, m->base_score);
				sqlite3_bind_text(ins, 5, m->severity, -1, SQLITE_STATIC);
				sqlite3_bind_text(ins, 6, why, -1, SQLITE_STATIC);
				r = step_done(s, ins, "writing NVD scores");
				if (r < 0)
					return r;
				stats->stored++;
			}
			status = c->n_m ? "scored" : "unscored";
			if (!c->n_m)
				stats->unscored++;
		}
		sqlite3_bind_text(state, 1, c->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(state, 2, fetched_at, -1, SQLITE_STATIC);
		sqlite3_bind_text(state, 3, status, -1, SQLITE_STATIC);
		/* The second source of a publication date (after the vulns history): a date only. */
		if (c->published && strlen(c->published) >= 10 &&
		    strspn(c->published, "0123456789-") >= 10 && c->published[4] == '-')
			sqlite3_bind_text(state, 4, c->published, 10, SQLITE_STATIC);
		else
			sqlite3_bind_null(state, 4);
		r = step_done(s, state, "recording NVD state");
		if (r < 0)
			return r;
	}
	return 0;
}

int tt_nvd_import_feed(struct tt_store *s, const char *path, struct tt_enrich_stats *stats)
{
	_cleanup_(nvd_page_releasep) struct tt_nvd_page p = {};
	struct tt_enrich_stats st = {};
	_cleanup_free_ char *buf = NULL;
	char now[21];
	size_t len;
	int r;

	r = tt_source_load(path, TT_NVD_FEED_MAX, &(struct tt_http_opts){}, &buf, &len, NULL);
	if (r < 0)
		return r;
	r = tt_nvd_parse(buf, len, path, &p);
	if (r < 0)
		return r;
	free(TAKE_PTR(buf)); /* the tree is parsed; the text is no longer needed */
	tt_iso_time(time(NULL), now);
	r = tt_store_begin(s);
	if (r < 0)
		return r;
	r = tt_nvd_store_page(s, &p, now, &st);
	if (r < 0)
		goto fail;
	r = tt_store_commit(s);
	if (r < 0)
		goto fail;
	stats->parsed += st.parsed;
	stats->stored += st.stored;
	stats->not_in_db += st.not_in_db;
	stats->skipped += st.skipped;
	stats->unscored += st.unscored;
	return 0;
fail:
	tt_store_rollback(s);
	return r;
}
