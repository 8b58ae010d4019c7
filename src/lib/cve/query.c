/* CVE queries: list with filters and priority, show one in full, stats. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "applicability/verdict_json.h"
#include "cve/history.h"
#include "cve/query.h"
#include "log.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

/* The best base score per CVE: CNA before NVD, newer CVSS versions first. */
#define SCORE_CTE                                                                                  \
	"WITH sc AS (SELECT v.cve_id, "                                                            \
	"  (SELECT COALESCE(w.base_score, w.computed_score) FROM cve_cvss w "                      \
	"   WHERE w.cve_id = v.cve_id ORDER BY (w.source = 'cna') DESC, w.version DESC LIMIT 1) "  \
	"   AS base_score, "                                                                       \
	"  (SELECT w.severity FROM cve_cvss w "                                                    \
	"   WHERE w.cve_id = v.cve_id ORDER BY (w.source = 'cna') DESC, w.version DESC LIMIT 1) "  \
	"   AS severity "                                                                          \
	"  FROM (SELECT DISTINCT cve_id FROM cve_cvss) v) "


/* Scores print as one decimal; keep JSON values rounded the same way. */
static json_t *score_json(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return json_null();
	return json_real((double)(long)(sqlite3_column_double(st, i) * 100 + 0.5) / 100);
}

int cve_id_normalise(const char *in, char *out, size_t size)
{
	size_t n = strlen(in), digits = 0;

	if (n < 13 || n >= size || strncasecmp(in, "cve-", 4) != 0)
		return -EINVAL;
	for (size_t i = 4; i < n; i++) {
		if (i == 8 ? in[i] != '-' : (in[i] < '0' || in[i] > '9'))
			return -EINVAL;
		digits += i > 8;
	}
	if (digits < 4)
		return -EINVAL;
	memcpy(out, "CVE", 3);
	memcpy(out + 3, in + 3, n - 3 + 1);
	return 0;
}

static void today(char out[16])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

/* The triage decision of a list row (columns I..I+3), or null. */
static json_t *triage_json(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return json_null();
	return json_pack("{s:o s:o s:o s:o}", "state", tt_store_column_json(st, i), "note",
			 tt_store_column_json(st, i + 1), "who", tt_store_column_json(st, i + 2),
			 "expires", tt_store_column_json(st, i + 3));
}

int cve_query_list_counted(struct tt_store *s, const struct cve_list_filter *f, json_t **ret,
			   struct cve_list_omitted *ret_omitted)
{
	const char *state = f->state ? f->state : "published";
	struct cve_list_omitted om = {};
	sqlite3_int64 kernel_id = -1;
	bool score_filter = f->has_min_score || f->severities;
	char day[16];
	sqlite3_stmt *st;
	json_t *arr;
	int r;

	if (f->kernel) {
		r = tt_store_prepare(s, "SELECT id FROM kernel WHERE name = ?1", &st);
		if (r < 0)
			return r;
		sqlite3_bind_text(st, 1, f->kernel, -1, SQLITE_STATIC);
		r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			kernel_id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (r == SQLITE_DONE)
			return log_error_errno(-ENOENT, "no kernel '%s' in the inventory", f->kernel);
		if (r != SQLITE_ROW)
			return tt_store_error(s, "looking up a kernel");
	}
	today(day);

	/*
	 * The score, severity and date filters let records they cannot judge through; they are
	 * counted below and left out only when not asked for, so an answer is never silently
	 * short.
	 */
	r = tt_store_prepare(
		s,
		SCORE_CTE "SELECT c.id, c.state, " CVE_PRIORITY_SQL ", sc.base_score, "
			  "lower(sc.severity), k.cve_id IS NOT NULL, e.epss, " CVE_PUBLISHED_SQL
			  ", " CVE_DATE_SOURCE_SQL ", c.title, v.status, v.reason, "
			  "t.state, t.note, t.who, t.expires, " VERDICT_JSON_SQL " "
			  "FROM cve c LEFT JOIN sc ON sc.cve_id = c.id "
			  "LEFT JOIN kev k ON k.cve_id = c.id LEFT JOIN epss e ON e.cve_id = c.id "
			  CVE_DATE_JOINS
			  "LEFT JOIN verdict v ON v.cve_id = c.id AND v.kernel_id = ?7 "
			  "LEFT JOIN triage t ON t.cve_id = c.id AND t.kernel = ?12 "
			  "AND (t.expires IS NULL OR t.expires >= ?11) "
			  "WHERE (?1 = 'all' OR c.state = ?1) "
			  "AND (?7 < 0 OR v.status IS NOT NULL) AND (?8 IS NULL OR v.status = ?8) "
			  "AND (?2 IS NULL OR sc.base_score IS NULL OR sc.base_score >= ?2) "
			  "AND (?9 IS NULL OR sc.severity IS NULL OR "
			  "     instr(',' || ?9 || ',', ',' || lower(sc.severity) || ',') > 0) "
			  "AND (?3 IS NULL OR " CVE_PUBLISHED_SQL " IS NULL OR "
			  CVE_PUBLISHED_SQL " >= ?3) "
			  "AND (?4 = 0 OR k.cve_id IS NOT NULL) "
			  "AND (?5 IS NULL OR EXISTS (SELECT 1 FROM cve_file fl "
			  "     WHERE fl.cve_id = c.id AND fl.path GLOB ?5)) "
			  "AND (?10 IS NULL OR EXISTS (SELECT 1 FROM cve_commit cm WHERE cm.cve_id = c.id "
			  "     AND cm.kind = 'fix' AND substr(cm.sha, 1, length(?10)) = ?10) "
			  "  OR EXISTS (SELECT 1 FROM cve_dyad dy WHERE dy.cve_id = c.id "
			  "     AND substr(dy.fixed_commit, 1, length(?10)) = ?10)) "
			  "ORDER BY 3 DESC, length(c.id) DESC, c.id DESC",
		&st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	if (f->has_min_score)
		sqlite3_bind_double(st, 2, f->min_score);
	if (f->since)
		sqlite3_bind_text(st, 3, f->since, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, f->kev_only);
	if (f->file_glob)
		sqlite3_bind_text(st, 5, f->file_glob, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, kernel_id);
	if (f->status)
		sqlite3_bind_text(st, 8, f->status, -1, SQLITE_STATIC);
	if (f->severities)
		sqlite3_bind_text(st, 9, f->severities, -1, SQLITE_STATIC);
	if (f->fix_commit)
		sqlite3_bind_text(st, 10, f->fix_commit, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, day, -1, SQLITE_TRANSIENT);
	if (f->kernel)
		sqlite3_bind_text(st, 12, f->kernel, -1, SQLITE_STATIC);

	arr = json_array();
	if (!arr) {
		sqlite3_reset(st);
		return -ENOMEM;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		bool kev = sqlite3_column_int(st, 5);
		json_t *o;

		if (score_filter && sqlite3_column_type(st, 3) == SQLITE_NULL &&
		    !f->include_unscored) {
			om.unscored++;
			om.unscored_kev += kev;
			continue;
		}
		if (f->since && sqlite3_column_type(st, 7) == SQLITE_NULL && !f->include_undated) {
			om.undated++;
			continue;
		}
		if (f->untriaged_only && sqlite3_column_type(st, 12) != SQLITE_NULL) {
			om.triaged++;
			continue;
		}
		if (f->limit && json_array_size(arr) >= f->limit)
			continue; /* still counting what the filters left out */
		o = json_object();
		json_object_set_new(o, "id", tt_store_column_json(st, 0));
		json_object_set_new(o, "state", tt_store_column_json(st, 1));
		json_object_set_new(o, "priority", score_json(st, 2));
		json_object_set_new(o, "base_score", score_json(st, 3));
		json_object_set_new(o, "severity", tt_store_column_json(st, 4));
		json_object_set_new(o, "kev", json_boolean(kev));
		json_object_set_new(o, "epss", tt_store_column_json(st, 6));
		json_object_set_new(o, "published", tt_store_column_json(st, 7));
		json_object_set_new(o, "date_source", tt_store_column_json(st, 8));
		json_object_set_new(o, "title", tt_store_column_json(st, 9));
		if (f->kernel) {
			json_object_set_new(o, "kernel", json_string(f->kernel));
			if (verdict_json_set(o, st, 16) < 0) {
				json_decref(o);
				json_decref(arr);
				sqlite3_reset(st);
				return -ENOMEM;
			}
			json_object_set_new(o, "triage", triage_json(st, 12));
		}
		json_array_append_new(arr, o);
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		json_decref(arr);
		return tt_store_error(s, "listing CVEs");
	}
	*ret = arr;
	if (ret_omitted)
		*ret_omitted = om;
	return 0;
}

int cve_query_list(struct tt_store *s, const struct cve_list_filter *f, json_t **ret)
{
	return cve_query_list_counted(s, f, ret, NULL);
}

/* Runs SQL bound to ID and makes an array of objects with KEYS naming the columns. */
static int rows_json(struct tt_store *s, const char *sql, const char *id, const char *const *keys,
		     size_t n_keys, json_t **ret)
{
	sqlite3_stmt *st;
	json_t *arr;
	int r;

	r = tt_store_prepare(s, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *v;

		if (n_keys == 0) {
			v = tt_store_column_json(st, 0);
		} else {
			v = json_object();
			for (size_t i = 0; i < n_keys; i++)
				json_object_set_new(v, keys[i],
						    strstr(keys[i], "score") ? score_json(st, (int)i)
									     : tt_store_column_json(st, (int)i));
		}
		json_array_append_new(arr, v);
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		json_decref(arr);
		return tt_store_error(s, "reading a CVE");
	}
	*ret = arr;
	return 0;
}

/* Every kernel's verdict on ID, each of a list element's shape (triage as an object or null). */
static int verdicts_json(struct tt_store *s, const char *id, json_t **ret)
{
	sqlite3_stmt *st;
	json_t *arr;
	int r;

	r = tt_store_prepare(s,
			     "SELECT k.name, t.state, t.note, t.who, t.expires, " VERDICT_JSON_SQL " "
			     "FROM verdict v JOIN kernel k ON k.id = v.kernel_id "
			     "LEFT JOIN triage t ON t.cve_id = v.cve_id AND t.kernel = k.name "
			     "AND (t.expires IS NULL OR t.expires >= date('now')) "
			     "WHERE v.cve_id = ?1 ORDER BY k.name",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	arr = json_array();
	if (!arr) {
		sqlite3_reset(st);
		return -ENOMEM;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *e = json_object();

		if (!e || json_array_append_new(arr, e) < 0 ||
		    json_object_set_new(e, "kernel", tt_store_column_json(st, 0)) < 0 ||
		    verdict_json_set(e, st, 5) < 0 ||
		    json_object_set_new(e, "triage", triage_json(st, 1)) < 0) {
			sqlite3_reset(st);
			json_decref(arr);
			return -ENOMEM;
		}
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		json_decref(arr);
		return tt_store_error(s, "reading a CVE's verdicts");
	}
	*ret = arr;
	return 0;
}

int cve_query_show(struct tt_store *s, const char *id, json_t **ret)
{
	static const char *const cvss_keys[] = { "version",  "vector",         "base_score",
						  "severity", "computed_score", "source",
						  "rationale" };
	static const char *const dyad_keys[] = { "introduced_version", "introduced_commit",
						 "fixed_version", "fixed_commit" };
	sqlite3_stmt *st;
	json_t *o, *v;
	int r;

	r = tt_store_prepare(s,
			     SCORE_CTE "SELECT c.id, c.state, c.title, c.description, "
				       CVE_PUBLISHED_SQL ", " CVE_DATE_SOURCE_SQL ", c.path, "
				       "rd.read_commit, c.affected_json, "
				       CVE_PRIORITY_SQL ", sc.base_score, lower(sc.severity), "
				       "k.date_added, k.due_date, k.known_ransomware, k.name, "
				       "e.epss, e.percentile, e.date, k.cve_id IS NOT NULL, "
				       "h.first_commit "
				       "FROM cve c LEFT JOIN sc ON sc.cve_id = c.id "
				       "LEFT JOIN cve_read rd ON rd.cve_id = c.id "
				       "LEFT JOIN kev k ON k.cve_id = c.id "
				       "LEFT JOIN epss e ON e.cve_id = c.id" CVE_DATE_JOINS
				       "WHERE c.id = ?1",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r != SQLITE_ROW) {
		sqlite3_reset(st);
		if (r == SQLITE_DONE)
			return -ENOENT;
		return tt_store_error(s, "reading a CVE");
	}
	o = json_object();
	json_object_set_new(o, "schema_version", json_integer(TT_JSON_SCHEMA_VERSION));
	json_object_set_new(o, "id", tt_store_column_json(st, 0));
	json_object_set_new(o, "state", tt_store_column_json(st, 1));
	json_object_set_new(o, "title", tt_store_column_json(st, 2));
	json_object_set_new(o, "description", tt_store_column_json(st, 3));
	json_object_set_new(o, "published", tt_store_column_json(st, 4));
	json_object_set_new(o, "date_source", tt_store_column_json(st, 5));
	json_object_set_new(o, "priority", score_json(st, 9));
	json_object_set_new(o, "base_score", score_json(st, 10));
	json_object_set_new(o, "severity", tt_store_column_json(st, 11));
	json_object_set_new(o, "published_commit", tt_store_column_json(st, 20));
	/* The same keys, with the same types, as a list element; the details beside them. */
	json_object_set_new(o, "kev", json_boolean(sqlite3_column_int(st, 19)));
	json_object_set_new(o, "epss", tt_store_column_json(st, 16));
	if (sqlite3_column_int(st, 19))
		json_object_set_new(o, "kev_entry",
				    json_pack("{s:o s:o s:o s:o}", "date_added", tt_store_column_json(st, 12),
					      "due_date", tt_store_column_json(st, 13), "known_ransomware",
					      tt_store_column_json(st, 14), "name", tt_store_column_json(st, 15)));
	else
		json_object_set_new(o, "kev_entry", json_null());
	json_object_set_new(o, "epss_percentile", tt_store_column_json(st, 17));
	json_object_set_new(o, "epss_date", tt_store_column_json(st, 18));
	{
		const char *aj = (const char *)sqlite3_column_text(st, 8);
		json_t *aff = aj ? json_loads(aj, 0, NULL) : NULL;

		json_object_set_new(o, "cna_affected", aff ? aff : json_array());
	}
	json_object_set_new(o, "path", tt_store_column_json(st, 6));
	json_object_set_new(o, "read_commit", tt_store_column_json(st, 7));
	sqlite3_reset(st);

	r = rows_json(s,
		      "SELECT version, vector, base_score, lower(severity), computed_score, source, "
		      "rationale FROM cve_cvss WHERE cve_id = ?1 "
		      "ORDER BY source = 'cna' DESC, version DESC",
		      id, cvss_keys, ARRAY_SIZE(cvss_keys), &v);
	if (r < 0)
		goto fail;
	json_object_set_new(o, "cvss", v);
	r = rows_json(s, "SELECT path FROM cve_file WHERE cve_id = ?1 ORDER BY path", id, NULL, 0,
		      &v);
	if (r < 0)
		goto fail;
	json_object_set_new(o, "program_files", v);
	r = rows_json(s,
		      "SELECT introduced_version, introduced_commit, fixed_version, fixed_commit "
		      "FROM cve_dyad WHERE cve_id = ?1 ORDER BY seq",
		      id, dyad_keys, ARRAY_SIZE(dyad_keys), &v);
	if (r < 0)
		goto fail;
	json_object_set_new(o, "dyad", v);
	r = rows_json(s,
		      "SELECT sha FROM cve_commit WHERE cve_id = ?1 AND kind = 'fix' ORDER BY seq",
		      id, NULL, 0, &v);
	if (r < 0)
		goto fail;
	json_object_set_new(o, "fix_commits", v);
	r = rows_json(s,
		      "SELECT sha FROM cve_commit WHERE cve_id = ?1 AND kind = 'vulnerable' "
		      "ORDER BY seq",
		      id, NULL, 0, &v);
	if (r < 0)
		goto fail;
	json_object_set_new(o, "vulnerable_commits", v);
	r = rows_json(s, "SELECT url FROM cve_reference WHERE cve_id = ?1 ORDER BY seq", id, NULL,
		      0, &v);
	if (r < 0)
		goto fail;
	json_object_set_new(o, "references", v);
	r = verdicts_json(s, id, &v);
	if (r < 0)
		goto fail;
	json_object_set_new(o, "verdicts", v);
	*ret = o;
	return 0;
fail:
	json_decref(o);
	return r;
}

static int scalar(struct tt_store *s, const char *sql, json_t **ret)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(s, sql, &st);
	if (r < 0)
		return r;
	r = sqlite3_step(st);
	*ret = r == SQLITE_ROW ? tt_store_column_json(st, 0) : json_null();
	sqlite3_reset(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : tt_store_error(s, "computing stats");
}

static int group_counts(struct tt_store *s, const char *sql, json_t **ret)
{
	sqlite3_stmt *st;
	json_t *o;
	int r;

	r = tt_store_prepare(s, sql, &st);
	if (r < 0)
		return r;
	o = json_object();
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);

		json_object_set_new(o, k ? k : "none", json_integer(sqlite3_column_int64(st, 1)));
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		json_decref(o);
		return tt_store_error(s, "computing stats");
	}
	*ret = o;
	return 0;
}

int cve_query_stats(struct tt_store *s, json_t **ret)
{
	static const struct {
		const char *key, *sql;
		bool grouped;
	} items[] = {
		{ "by_state", "SELECT state, count(*) FROM cve GROUP BY state ORDER BY state", true },
		{ "by_severity",
		  SCORE_CTE "SELECT lower(COALESCE(sc.severity, 'unscored')), count(*) FROM cve c "
			    "LEFT JOIN sc ON sc.cve_id = c.id WHERE c.state = 'published' "
			    "GROUP BY 1 ORDER BY 1",
		  true },
		{ "by_year",
		  "SELECT substr(id, 5, 4), count(*) FROM cve WHERE state = 'published' "
		  "GROUP BY 1 ORDER BY 1",
		  true },
		{ "cvss_vectors", "SELECT count(*) FROM cve_cvss WHERE source = 'cna'", false },
		{ "cvss_mismatches",
		  "SELECT count(*) FROM cve_cvss WHERE base_score IS NOT NULL AND computed_score IS "
		  "NOT NULL AND round(base_score, 1) != round(computed_score, 1)",
		  false },
		{ "nvd_scored", "SELECT count(DISTINCT cve_id) FROM cve_cvss WHERE source = 'nvd'",
		  false },
		{ "kev_count", "SELECT count(*) FROM kev k JOIN cve c ON c.id = k.cve_id", false },
		{ "epss_count", "SELECT count(*) FROM epss e JOIN cve c ON c.id = e.cve_id", false },
		{ "skipped_records", "SELECT count(*) FROM sync_skipped", false },
		{ "vulns_commit", "SELECT value FROM meta WHERE key = 'vulns_commit'", false },
		{ "vulns_url", "SELECT value FROM meta WHERE key = 'vulns_url'", false },
		{ "synced_at", "SELECT value FROM meta WHERE key = 'vulns_synced_at'", false },
	};
	json_t *o = json_object();
	int r;

	if (!o)
		return -ENOMEM;
	json_object_set_new(o, "schema_version", json_integer(TT_JSON_SCHEMA_VERSION));
	for (size_t i = 0; i < ARRAY_SIZE(items); i++) {
		json_t *v = NULL;

		r = items[i].grouped ? group_counts(s, items[i].sql, &v)
				     : scalar(s, items[i].sql, &v);
		if (r < 0) {
			json_decref(o);
			return r;
		}
		json_object_set_new(o, items[i].key, v);
	}
	*ret = o;
	return 0;
}
