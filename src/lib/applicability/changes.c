/* Per-kernel changes since the last sync report: newly affected, fixed, known exploited. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "applicability/changes.h"
#include "cve/query.h"
#include "log.h"
#include "macro.h"
#include "store/store.h"
#include "banned.h"

/* Runs SQL bound to (kernel id, kernel name) and collects rows as objects named by KEYS. */
static int collect(struct tt_store *s, const char *sql, int64_t kid, const char *name,
		   const char *const *keys, size_t n_keys, json_t *arr)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(s, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, kid);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();

		if (!o) {
			sqlite3_reset(st);
			return -ENOMEM;
		}
		for (size_t i = 0; i < n_keys; i++) {
			json_t *v = tt_store_column_json(st, (int)i);

			/* columns named "kev"/"triaged" are SQL truth values */
			if (streq(keys[i], "kev") || streq(keys[i], "triaged")) {
				json_t *b = json_boolean(json_integer_value(v) != 0);

				json_decref(v);
				v = b;
			}
			json_object_set_new(o, keys[i], v);
		}
		json_array_append_new(arr, o);
	}
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : tt_store_error(s, "comparing verdicts with the last report");
}

static int count1(struct tt_store *s, const char *sql, int64_t kid, const char *name,
		  const char *day, json_int_t *ret)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(s, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, kid);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, day, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return r == SQLITE_ROW ? 0 : tt_store_error(s, "counting verdicts");
}

/* Ranks and scores as cve list does: the CNA's before NVD's, the newest CVSS version first. */
#define BEST(col)                                                                                  \
	"(SELECT w." col " FROM cve_cvss w WHERE w.cve_id = v.cve_id "                             \
	"ORDER BY (w.source = 'cna') DESC, w.version DESC LIMIT 1)"

static int kernel_changes(struct tt_store *s, int64_t kid, const char *name, bool first,
			  const char *day, json_t **ret)
{
	static const char *const k_aff[] = {"id", "base_score", "severity", "kev", "triaged"};
	static const char *const k_fix[] = {"id", "status"};
	static const char *const k_kev[] = {"id", "date_added"};
	json_t *o, *aff = json_array(), *fix = json_array(), *kev = json_array();
	json_int_t n_aff = 0, n_untriaged = 0;
	int r = 0;

	if (!aff || !fix || !kev) {
		r = -ENOMEM;
		goto fail;
	}
	if (!first &&
	    ((r = collect(
		      s,
		      "SELECT v.cve_id, round(COALESCE(" BEST("base_score") ", " BEST(
			      "computed_score") "), 1), lower(" BEST("severity") "), "
										 "EXISTS (SELECT 1 "
										 "FROM kev k WHERE "
										 "k.cve_id = "
										 "v.cve_id), "
										 "EXISTS (SELECT 1 "
										 "FROM triage t "
										 "WHERE t.cve_id = "
										 "v.cve_id AND "
										 "  t.kernel = ?2 "
										 "AND (t.expires "
										 "IS NULL OR "
										 "t.expires >= "
										 "date('now'))) "
										 "FROM verdict v "
										 "WHERE "
										 "v.kernel_id = ?1 "
										 "AND v.status = "
										 "'affected' "
										 "AND NOT EXISTS "
										 "(SELECT 1 FROM "
										 "report_seen r "
										 "  WHERE r.kernel "
										 "= ?2 AND "
										 "r.cve_id = "
										 "v.cve_id) ORDER "
										 "BY v.cve_id",
		      kid, name, k_aff, ARRAY_SIZE(k_aff), aff)) < 0 ||
	     (r = collect(s,
			  "SELECT r.cve_id, COALESCE(v.status, 'gone') FROM report_seen r "
			  "LEFT JOIN verdict v ON v.cve_id = r.cve_id AND v.kernel_id = ?1 "
			  "WHERE r.kernel = ?2 AND (v.status IS NULL OR v.status != 'affected') "
			  "ORDER BY r.cve_id",
			  kid, name, k_fix, ARRAY_SIZE(k_fix), fix)) < 0 ||
	     (r = collect(s,
			  "SELECT v.cve_id, k.date_added FROM verdict v "
			  "JOIN kev k ON k.cve_id = v.cve_id "
			  "JOIN report_seen r ON r.kernel = ?2 AND r.cve_id = v.cve_id "
			  "WHERE v.kernel_id = ?1 AND v.status = 'affected' AND r.kev = 0 "
			  "ORDER BY v.cve_id",
			  kid, name, k_kev, ARRAY_SIZE(k_kev), kev)) < 0))
		goto fail;
	if ((r = count1(s,
			"SELECT count(*) FROM verdict WHERE kernel_id = ?1 AND status = 'affected'",
			kid, name, day, &n_aff)) < 0 ||
	    (r = count1(s,
			"SELECT count(*) FROM verdict v WHERE v.kernel_id = ?1 AND "
			"v.status = 'affected' AND NOT EXISTS (SELECT 1 FROM triage t WHERE "
			"t.cve_id = v.cve_id AND t.kernel = ?2 AND "
			"(t.expires IS NULL OR t.expires >= ?3))",
			kid, name, day, &n_untriaged)) < 0)
		goto fail;
	o = json_pack("{s:s s:b s:I s:I s:o s:o s:o}", "kernel", name, "baseline", first,
		      "affected", n_aff, "untriaged", n_untriaged, "newly_affected", aff,
		      "newly_fixed", fix, "newly_kev", kev);
	if (!o)
		return -ENOMEM;
	*ret = o;
	return 0;
fail:
	json_decref(aff);
	json_decref(fix);
	json_decref(kev);
	return r;
}

static int baseline_write(struct tt_store *s, json_t *arr, const char *vulns_commit)
{
	sqlite3_stmt *st;
	size_t i;
	json_t *e;
	int r;

	r = tt_store_begin(s);
	if (r < 0)
		return r;
	r = tt_store_exec(
		s, "DELETE FROM report_seen WHERE kernel NOT IN (SELECT name FROM kernel);"
		   "DELETE FROM report_kernel WHERE kernel NOT IN (SELECT name FROM kernel);");
	json_array_foreach(arr, i, e)
	{
		const char *name = json_string_value(json_object_get(e, "kernel"));

		if (r < 0)
			break;
		if (!json_is_true(json_object_get(e, "baseline")) &&
		    !json_array_size(json_object_get(e, "newly_affected")) &&
		    !json_array_size(json_object_get(e, "newly_fixed")) &&
		    !json_array_size(json_object_get(e, "newly_kev")))
			continue;
		if ((r = tt_store_prepare(s, "DELETE FROM report_seen WHERE kernel = ?1", &st)) < 0)
			break;
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : tt_store_error(s, "writing the report");
		sqlite3_reset(st);
		if (r < 0 || (r = tt_store_prepare(
				      s,
				      "INSERT INTO report_seen(kernel, cve_id, kev) "
				      "SELECT k.name, v.cve_id, "
				      "  EXISTS (SELECT 1 FROM kev e WHERE e.cve_id = v.cve_id) "
				      "FROM kernel k JOIN verdict v ON v.kernel_id = k.id "
				      "WHERE k.name = ?1 AND v.status = 'affected'",
				      &st)) < 0)
			break;
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : tt_store_error(s, "writing the report");
		sqlite3_reset(st);
		if (r < 0 ||
		    (r = tt_store_prepare(s,
					  "INSERT OR REPLACE INTO report_kernel(kernel, at, "
					  "vulns_commit) VALUES (?1, datetime('now'), ?2)",
					  &st)) < 0)
			break;
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, vulns_commit, -1, SQLITE_STATIC);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : tt_store_error(s, "writing the report");
		sqlite3_reset(st);
	}
	if (r >= 0)
		r = tt_store_commit(s);
	if (r < 0)
		tt_store_rollback(s);
	return r;
}

int verdicts_changes(struct tt_store *s, const char *vulns_commit, bool update, json_t **ret)
{
	struct kref {
		int64_t id;
		char *name;
		bool first;
	} *ks = NULL;
	size_t nk = 0;
	sqlite3_stmt *st;
	json_t *arr = NULL;
	bool dirty = false;
	char day[16];
	time_t t = time(NULL);
	struct tm tm;
	int r;

	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	r = tt_store_prepare(s,
			     "SELECT k.id, k.name, NOT EXISTS (SELECT 1 FROM report_kernel r "
			     "WHERE r.kernel = k.name) FROM kernel k ORDER BY k.name",
			     &st);
	if (r < 0)
		return r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct kref *x = realloc(ks, (nk + 1) * sizeof(*x));

		if (!x) {
			r = -ENOMEM;
			break;
		}
		ks = x;
		ks[nk].id = sqlite3_column_int64(st, 0);
		ks[nk].name = strdup((const char *)sqlite3_column_text(st, 1));
		ks[nk].first = sqlite3_column_int(st, 2);
		if (!ks[nk++].name) {
			r = -ENOMEM;
			break;
		}
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		if (r > 0)
			r = tt_store_error(s, "listing kernels");
		goto out;
	}
	arr = json_array();
	if (!arr) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nk; i++) {
		json_t *o;

		r = kernel_changes(s, ks[i].id, ks[i].name, ks[i].first, day, &o);
		if (r < 0)
			goto out;
		dirty |= ks[i].first || json_array_size(json_object_get(o, "newly_affected")) ||
			 json_array_size(json_object_get(o, "newly_fixed")) ||
			 json_array_size(json_object_get(o, "newly_kev"));
		json_array_append_new(arr, o);
	}
	/* A sync that changed nothing writes nothing. */
	if (update && dirty) {
		r = baseline_write(s, arr, vulns_commit);
		if (r < 0)
			goto out;
	}
	*ret = TAKE_PTR(arr);
	r = 0;
out:
	json_decref(arr);
	for (size_t i = 0; i < nk; i++)
		free(ks[i].name);
	free(ks);
	return r;
}
