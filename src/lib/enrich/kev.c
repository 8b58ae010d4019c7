/* KEV catalogue JSON → kev table. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/http.h"
#include "enrich/kev.h"
#include "enrich/source.h"
#include "log.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

int tt_cve_id_valid(const char *s, size_t len)
{
	size_t i;

	if (len < 13 || len > 28 || memcmp(s, "CVE-", 4) != 0 || s[8] != '-')
		return 0;
	for (i = 4; i < len; i++)
		if (i != 8 && (s[i] < '0' || s[i] > '9'))
			return 0;
	return 1;
}

void tt_kev_list_release(struct tt_kev_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct tt_kev_entry *e = &l->v[i];

		free(e->cve_id);
		free(e->vendor_project);
		free(e->product);
		free(e->name);
		free(e->date_added);
		free(e->due_date);
		free(e->known_ransomware);
	}
	free(l->v);
	free(l->catalog_version);
	free(l->date_released);
	*l = (struct tt_kev_list){};
}

static void kev_list_releasep(struct tt_kev_list *l)
{
	tt_kev_list_release(l);
}

/* An optional string member: absent or null gives NULL; another type is an error. */
static int opt_string(json_t *obj, const char *key, const char *origin, const char *where,
		      char **ret)
{
	json_t *v = json_object_get(obj, key);

	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return log_error_errno(-EBADMSG, "'%s': %s%s: expected a string", origin, where,
				       key);
	*ret = strndup(json_string_value(v), json_string_length(v));
	return *ret ? 0 : -ENOMEM;
}

int tt_kev_parse(const char *buf, size_t len, const char *origin, struct tt_kev_list *ret)
{
	_cleanup_(kev_list_releasep) struct tt_kev_list l = {};
	_cleanup_(json_decrefp) json_t *root = NULL;
	json_error_t err;
	json_t *vulns;
	int r;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (!root)
		return log_error_errno(-EBADMSG, "'%s': line %d column %d: %s", origin, err.line,
				       err.column, err.text);
	if (!json_is_object(root))
		return log_error_errno(-EBADMSG, "'%s': expected a JSON object at the top", origin);
	vulns = json_object_get(root, "vulnerabilities");
	if (!json_is_array(vulns))
		return log_error_errno(-EBADMSG, "'%s': vulnerabilities: %s", origin,
				       vulns ? "expected an array" : "missing");
	if ((r = opt_string(root, "catalogVersion", origin, "", &l.catalog_version)) < 0 ||
	    (r = opt_string(root, "dateReleased", origin, "", &l.date_released)) < 0)
		return r;

	l.v = calloc(MAX(json_array_size(vulns), (size_t)1), sizeof(*l.v));
	if (!l.v)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(vulns); i++) {
		json_t *o = json_array_get(vulns, i), *id;
		struct tt_kev_entry *e = &l.v[l.n];
		char where[48];

		if (!json_is_object(o))
			return log_error_errno(-EBADMSG,
					       "'%s': vulnerabilities[%zu]: expected an object",
					       origin, i);
		id = json_object_get(o, "cveID");
		if (!json_is_string(id))
			return log_error_errno(-EBADMSG, "'%s': vulnerabilities[%zu].cveID: %s",
					       origin, i, id ? "expected a string" : "missing");
		if (!tt_cve_id_valid(json_string_value(id), json_string_length(id)))
			return log_error_errno(
				-EBADMSG,
				"'%s': vulnerabilities[%zu].cveID: '%.40s' is not a CVE id", origin,
				i, json_string_value(id));
		snprintf(where, sizeof(where), "vulnerabilities[%zu].", i);
		l.n++; /* from here the entry is released with the list, half-built or not */
		e->cve_id = strdup(json_string_value(id));
		if (!e->cve_id)
			return -ENOMEM;
		if ((r = opt_string(o, "vendorProject", origin, where, &e->vendor_project)) < 0 ||
		    (r = opt_string(o, "product", origin, where, &e->product)) < 0 ||
		    (r = opt_string(o, "vulnerabilityName", origin, where, &e->name)) < 0 ||
		    (r = opt_string(o, "dateAdded", origin, where, &e->date_added)) < 0 ||
		    (r = opt_string(o, "dueDate", origin, where, &e->due_date)) < 0 ||
		    (r = opt_string(o, "knownRansomwareCampaignUse", origin, where,
				    &e->known_ransomware)) < 0)
			return r;
	}
	*ret = l;
	l = (struct tt_kev_list){};
	return 0;
}

int tt_kev_store(struct tt_store *s, const struct tt_kev_list *l, struct tt_enrich_stats *stats)
{
	sqlite3_stmt *ins, *has;
	int r;

	r = tt_store_begin(s);
	if (r < 0)
		return r;
	r = tt_store_exec(s, "DELETE FROM kev");
	if (r < 0)
		goto fail;
	r = tt_store_prepare(s, "SELECT 1 FROM cve WHERE id = ?1", &has);
	if (r < 0)
		goto fail;
	r = tt_store_prepare(
		s,
		"INSERT OR REPLACE INTO kev(cve_id, date_added, due_date, vendor_project,"
		" product, name, known_ransomware) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
		&ins);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < l->n; i++) {
		const struct tt_kev_entry *e = &l->v[i];
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
		sqlite3_bind_text(ins, 2, e->date_added, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, e->due_date, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, e->vendor_project, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, e->product, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 6, e->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 7, e->known_ransomware, -1, SQLITE_STATIC);
		sr = sqlite3_step(ins);
		sqlite3_reset(ins);
		if (sr != SQLITE_DONE) {
			r = tt_store_error(s, "writing kev");
			goto fail;
		}
		stats->stored++;
	}
	if (l->catalog_version) {
		r = tt_store_meta_set(s, "kev.catalog_version", l->catalog_version);
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

int tt_enrich_kev(struct tt_store *s, const char *src, const struct tt_http_opts *http,
		  struct tt_enrich_stats *stats)
{
	_cleanup_(kev_list_releasep) struct tt_kev_list l = {};
	struct tt_enrich_stats st = {};
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = tt_source_load(src, TT_KEV_MAX_SIZE, http, &buf, &len, &stats->requests);
	if (r < 0)
		return r;
	r = tt_kev_parse(buf, len, src, &l);
	if (r < 0)
		return r;
	st.parsed = l.n;
	r = tt_kev_store(s, &l, &st);
	if (r < 0)
		return r;
	stats->parsed += st.parsed;
	stats->stored += st.stored;
	stats->not_in_db += st.not_in_db;
	return 0;
}
