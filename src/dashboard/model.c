/* The dashboard's in-memory model: loaded through a source, filtered, charted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "model.h"
#include "source.h"
#include "strbuf.h"
#include "banned.h"

static const char *const verdict_names[_DV_MAX] = {
	[DV_NONE] = "none",		    [DV_AFFECTED] = "affected",
	[DV_NOT_COMPILED] = "not-compiled", [DV_FIXED] = "fixed",
	[DV_NOT_AFFECTED] = "not-affected", [DV_UNKNOWN] = "unknown",
	[DV_PATCHED] = "patched",
};
static const char verdict_glyphs[_DV_MAX] = {
	[DV_NONE] = ' ',	 [DV_AFFECTED] = 'A',	  [DV_NOT_COMPILED] = 'c', [DV_FIXED] = 'f',
	[DV_NOT_AFFECTED] = '.', [DV_UNKNOWN] = '?', [DV_PATCHED] = 'P',
};
static const char *const severity_names[_SEV_MAX] = {
	[SEV_NONE] = "none", [SEV_LOW] = "low",	    [SEV_MEDIUM] = "medium",
	[SEV_HIGH] = "high", [SEV_CRITICAL] = "critical",
};

const char *dash_verdict_name(enum dash_verdict v)
{
	return v < _DV_MAX ? verdict_names[v] : "?";
}

char dash_verdict_glyph(enum dash_verdict v)
{
	return v < _DV_MAX ? verdict_glyphs[v] : '?';
}

const char *dash_severity_name(enum dash_severity s)
{
	return s < _SEV_MAX ? severity_names[s] : "?";
}

static enum dash_verdict verdict_from_string(const char *s)
{
	if (!s)
		return DV_NONE;
	for (int i = DV_AFFECTED; i < _DV_MAX; i++)
		if (streq(s, verdict_names[i]))
			return i;
	return DV_UNKNOWN; /* a status this build does not know yet: shown, not dropped */
}

static enum dash_severity severity_from_string(const char *s)
{
	if (!s)
		return SEV_NONE;
	for (int i = SEV_LOW; i < _SEV_MAX; i++)
		if (!strcasecmp(s, severity_names[i]))
			return i;
	return SEV_NONE;
}

/* Tolerant readers: a field of another type or missing is a default, never an error. */
static const char *jstr(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static double jnum(const json_t *o, const char *key, double dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

static char *jdup(const json_t *o, const char *key)
{
	const char *s = jstr(o, key);

	return strdup(s ? s : "");
}

/* Days since 1970-01-01 of "YYYY-MM-DD..." or -1. */
static int parse_day(const char *s)
{
	struct tm tm = {};
	int y, mo, d;

	if (!s || sscanf(s, "%4d-%2d-%2d", &y, &mo, &d) != 3)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	return (int)(timegm(&tm) / 86400);
}

static int cve_cmp_id(const void *a, const void *b)
{
	const struct dash_cve *const *x = a, *const *y = b;

	return strcmp((*x)->id, (*y)->id);
}

/* The CVE with ID, through BYID (sorted by id), or -1. */
static long cve_find(struct dash_cve **byid, size_t n, const char *id)
{
	struct dash_cve key = {}, *k = &key, **hit;

	if (!id || strlen(id) >= sizeof(key.id))
		return -1;
	memcpy(key.id, id, strlen(id) + 1);
	hit = bsearch(&k, byid, n, sizeof(*byid), cve_cmp_id);
	return hit ? (long)(hit - byid) : -1;
}

static int load_cves(struct dash_model *m, json_t *arr)
{
	size_t i;
	json_t *o;

	m->cves = calloc(json_array_size(arr) ? json_array_size(arr) : 1, sizeof(*m->cves));
	if (!m->cves)
		return -ENOMEM;
	json_array_foreach(arr, i, o) {
		struct dash_cve *c = &m->cves[m->n_cves];
		const char *id = jstr(o, "id"), *state = jstr(o, "state");
		json_t *kev = json_object_get(o, "kev");

		if (!id || strlen(id) >= sizeof(c->id))
			continue;
		memcpy(c->id, id, strlen(id) + 1);
		c->title = jdup(o, "title");
		if (!c->title)
			return -ENOMEM;
		c->priority = jnum(o, "priority", 0);
		c->score = jnum(o, "base_score", -1);
		c->epss = jnum(o, "epss", -1);
		c->severity = severity_from_string(jstr(o, "severity"));
		c->kev = json_is_true(kev) || json_is_object(kev);
		c->rejected = state && streq(state, "rejected");
		c->published = parse_day(jstr(o, "published"));
		c->nodes = -1;
		m->n_cves++;
	}
	return 0;
}

static int load_kernels(struct dash_model *m, struct dash_source *src, json_t *arr)
{
	size_t i;
	json_t *o;

	m->kernels = calloc(json_array_size(arr) ? json_array_size(arr) : 1, sizeof(*m->kernels));
	if (!m->kernels)
		return -ENOMEM;
	json_array_foreach(arr, i, o) {
		struct dash_kernel *k = &m->kernels[m->n_kernels];

		if (!jstr(o, "name"))
			continue;
		k->name = jdup(o, "name");
		k->release = jdup(o, "release");
		k->version = jdup(o, "version");
		k->mapping = jdup(o, "mapping");
		k->files_method = jdup(o, "files_method");
		if (!k->name || !k->release || !k->version || !k->mapping || !k->files_method)
			return -ENOMEM;
		/* The count's name has changed over time (files, then file_count). */
		k->files = (long)jnum(o, "file_count",
				      jnum(o, "files_count", jnum(o, "files", -1)));
		k->nodes = -1;
		m->n_kernels++;
	}
	return 0;
}

static int load_verdicts(struct dash_model *m, struct dash_source *src)
{
	_cleanup_free_ struct dash_cve **byid = NULL;
	int r;

	m->verdicts = calloc(m->n_cves * m->n_kernels + 1, 1);
	byid = calloc(m->n_cves + 1, sizeof(*byid));
	if (!m->verdicts || !byid)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_cves; i++)
		byid[i] = &m->cves[i];
	qsort(byid, m->n_cves, sizeof(*byid), cve_cmp_id);
	for (size_t k = 0; k < m->n_kernels; k++) {
		struct cve_list_filter f = { .kernel = m->kernels[k].name, .limit = 0 };
		json_t *arr = NULL, *o;
		size_t i;

		tt_progress("verdicts", k, m->n_kernels);
		r = src->ops->cve_list(src, &f, &arr);
		if (r < 0)
			return r;
		json_array_foreach(arr, i, o) {
			long at = cve_find(byid, m->n_cves, jstr(o, "id"));
			enum dash_verdict v;

			if (at < 0)
				continue;
			at = byid[at] - m->cves;
			v = verdict_from_string(jstr(o, "status"));
			m->verdicts[(size_t)at * m->n_kernels + k] = v;
			m->kernels[k].counts[v]++;
		}
		json_decref(arr);
	}
	return 0;
}

/* A node runs an inventory kernel when it reports its name or its release. */
static int node_kernel(const struct dash_model *m, const char *kernel)
{
	if (!kernel)
		return -1;
	for (size_t k = 0; k < m->n_kernels; k++)
		if (streq(kernel, m->kernels[k].name))
			return (int)k;
	for (size_t k = 0; k < m->n_kernels; k++)
		if (streq(kernel, m->kernels[k].release))
			return (int)k;
	return -1;
}

static void nodes_free(struct dash_node *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct dash_node *d = &nodes[i];

		free(d->name);
		free(d->state);
		free(d->kernel);
		free(d->version);
		free(d->last_seen);
		free(d->last_error);
		json_decref(d->patched_cves);
	}
	free(nodes);
}

/* "transition-stalled livepatch_x: task 12 holds it" from a node's newest error event. */
static char *node_last_error(const json_t *node)
{
	json_t *ev;
	size_t i;

	json_array_foreach(json_object_get(node, "events"), i, ev) {
		const char *what = jstr(ev, "event"), *patch = jstr(ev, "patch");
		const char *detail = jstr(ev, "detail");

		if (!what)
			continue;
		if (streq(what, "ok")) /* cleared since */
			return NULL;
		return strdup_printf("%s%s%s%s%s", what, patch ? " " : "", patch ? patch : "",
				     detail ? ": " : "", detail ? detail : "");
	}
	return NULL;
}

bool dash_node_patched(const struct dash_node *n, const char *cve);

int dash_model_set_nodes(struct dash_model *m, const json_t *arr)
{
	struct dash_node *nodes = calloc(json_array_size(arr) + 1, sizeof(*nodes));
	size_t n = 0, i;
	json_t *o;

	if (!nodes)
		return -ENOMEM;
	for (size_t k = 0; k < m->n_kernels; k++)
		m->kernels[k].nodes = 0;
	json_array_foreach(arr, i, o) {
		struct dash_node *d = &nodes[n];
		json_t *p = json_object_get(o, "patches"), *c = json_object_get(o, "patched_cves");

		d->name = jdup(o, "name");
		d->state = jdup(o, "state");
		d->kernel = jdup(o, "kernel");
		d->version = jdup(o, "effective_version");
		d->last_seen = jdup(o, "last_seen");
		d->last_error = node_last_error(o);
		d->uptime = (long)jnum(o, "uptime", -1);
		d->patches = json_is_array(p) ? (long)json_array_size(p) : 0;
		d->patched_cves = json_is_array(c) ? json_incref(c) : NULL;
		d->kernel_idx = node_kernel(m, d->kernel);
		n++;
		if (d->kernel_idx >= 0)
			m->kernels[d->kernel_idx].nodes++;
	}
	for (i = 0; i < n; i++) {
		struct dash_node *d = &nodes[i];

		d->exposed = d->kernel_idx < 0 ? -1 : 0;
		for (size_t c = 0; d->kernel_idx >= 0 && c < m->n_cves; c++)
			if (dash_verdict(m, c, (size_t)d->kernel_idx) == DV_AFFECTED &&
			    !dash_node_patched(d, m->cves[c].id))
				d->exposed++;
	}
	nodes_free(m->nodes, m->n_nodes);
	m->nodes = nodes;
	m->n_nodes = n;
	m->nodes_known = true;
	for (size_t c = 0; c < m->n_cves; c++) {
		m->cves[c].nodes = 0;
		for (size_t k = 0; k < m->n_kernels; k++)
			if (dash_verdict(m, c, k) == DV_AFFECTED)
				m->cves[c].nodes += (int)m->kernels[k].nodes;
	}
	return 0;
}

bool dash_node_patched(const struct dash_node *n, const char *cve)
{
	json_t *c;
	size_t i;

	json_array_foreach(n->patched_cves, i, c)
		if (streq_ptr(json_string_value(c), cve))
			return true;
	return false;
}

int dash_nodes_fetch(struct dash_source *src, json_t **ret)
{
	json_t *arr = NULL, *o;
	size_t i;
	int r;

	r = src->ops->node_list(src, &arr);
	if (r < 0)
		return r;
	/* The list has each node's state; the error behind it is in the node's events. */
	json_array_foreach(arr, i, o) {
		const char *state = jstr(o, "state"), *name = jstr(o, "name");
		json_t *one = NULL;

		if (!name || !state || streq(state, "ok") || i >= NODES_DETAILED_MAX)
			continue;
		if (src->ops->node_show(src, name, &one) >= 0)
			json_object_set(o, "events", json_object_get(one, "events"));
		json_decref(one);
	}
	*ret = arr;
	return 0;
}

static int load_nodes(struct dash_model *m, struct dash_source *src)
{
	json_t *arr = NULL;
	int r;

	r = dash_nodes_fetch(src, &arr);
	if (r == -EOPNOTSUPP)
		return 0;
	if (r < 0)
		return r;
	r = dash_model_set_nodes(m, arr);
	json_decref(arr);
	return r;
}

int dash_model_load(struct dash_source *src, struct dash_model **ret)
{
	_cleanup_(dash_model_freep) struct dash_model *m = NULL;
	struct cve_list_filter f = { .state = "all", .limit = 0 };
	struct timespec t0, t1;
	json_t *arr = NULL;
	const char *commit;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	tt_progress("stats", 0, 1);
	r = src->ops->cve_stats(src, &m->stats);
	if (r < 0)
		return r;
	tt_progress("kernels", 0, 1);
	r = src->ops->kernel_list(src, &arr);
	if (r < 0)
		return r;
	r = load_kernels(m, src, arr);
	json_decref(arr);
	if (r < 0)
		return r;
	tt_progress("CVEs", 0, 1);
	arr = NULL;
	r = src->ops->cve_list(src, &f, &arr);
	if (r < 0)
		return r;
	r = load_cves(m, arr);
	json_decref(arr);
	if (r < 0)
		return r;
	r = load_verdicts(m, src);
	if (r < 0)
		return r;
	tt_progress("nodes", 0, 1);
	r = load_nodes(m, src);
	if (r < 0)
		return r;
	commit = jstr(m->stats, "vulns_commit");
	m->where = strdup_printf("%s%s%.12s", src->ops->kind, commit ? " @ " : "",
				 commit ? commit : "");
	if (!m->where)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	m->load_seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	*ret = TAKE_PTR(m);
	return 0;
}

void dash_model_free(struct dash_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_cves; i++)
		free(m->cves[i].title);
	for (size_t i = 0; i < m->n_kernels; i++) {
		struct dash_kernel *k = &m->kernels[i];

		free(k->name);
		free(k->release);
		free(k->version);
		free(k->mapping);
		free(k->files_method);
	}
	nodes_free(m->nodes, m->n_nodes);
	free(m->cves);
	free(m->kernels);
	free(m->verdicts);
	free(m->where);
	json_decref(m->stats);
	free(m);
}

static bool status_passes(const struct dash_model *m, const struct dash_filter *f, size_t c)
{
	if (f->status < 0)
		return true;
	if (f->kernel >= 0)
		return dash_verdict(m, c, (size_t)f->kernel) == f->status;
	for (size_t k = 0; k < m->n_kernels; k++)
		if (dash_verdict(m, c, k) == f->status)
			return true;
	return false;
}

size_t dash_filter_apply(const struct dash_model *m, const struct dash_filter *f, size_t *rows)
{
	size_t n = 0;

	for (size_t c = 0; c < m->n_cves; c++) {
		const struct dash_cve *cve = &m->cves[c];

		if (cve->rejected && !f->rejected)
			continue;
		if (f->severity >= 0 && cve->severity != (enum dash_severity)f->severity)
			continue;
		if (f->kev_only && !cve->kev)
			continue;
		if (f->file_match && !f->file_match[c])
			continue;
		/* A kernel alone narrows to the CVEs that kernel has a verdict for. */
		if (f->kernel >= 0 && f->status < 0 && dash_verdict(m, c, (size_t)f->kernel) == DV_NONE)
			continue;
		if (!status_passes(m, f, c))
			continue;
		rows[n++] = c;
	}
	return n;
}

int dash_filter_file_flags(const struct dash_model *m, const json_t *arr, bool **ret_flags)
{
	_cleanup_free_ struct dash_cve **byid = NULL;
	_cleanup_free_ bool *flags = NULL;
	json_t *o;
	size_t i;

	flags = calloc(m->n_cves + 1, sizeof(*flags));
	byid = calloc(m->n_cves + 1, sizeof(*byid));
	if (!flags || !byid)
		return -ENOMEM;
	for (i = 0; i < m->n_cves; i++)
		byid[i] = &m->cves[i];
	qsort(byid, m->n_cves, sizeof(*byid), cve_cmp_id);
	json_array_foreach(arr, i, o) {
		long at = cve_find(byid, m->n_cves, jstr(o, "id"));

		if (at >= 0)
			flags[byid[at] - m->cves] = true;
	}
	*ret_flags = TAKE_PTR(flags);
	return 0;
}

bool dash_cve_matches(const struct dash_model *m, size_t i, const char *text)
{
	const struct dash_cve *c = &m->cves[i];

	return strcasestr(c->id, text) || strcasestr(c->title, text);
}

int dash_week_of_day(int day)
{
	/* 1970-01-01 was a Thursday: shifting by 3 days starts weeks on Monday. */
	return (day + 3) / 7;
}

void dash_week_label(int week, char buf[static 11])
{
	time_t t = (time_t)(week * 7 - 3) * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 11, "%Y-%m-%d", &tm);
}

int dash_exposure(const struct dash_model *m, size_t kernel, int *ret_first, long **ret_counts,
		  size_t *ret_n)
{
	int first = -1, last = -1;
	long *counts;

	for (size_t c = 0; c < m->n_cves; c++) {
		int w;

		if (m->cves[c].published < 0)
			continue;
		w = dash_week_of_day(m->cves[c].published);
		if (first < 0 || w < first)
			first = w;
		if (w > last)
			last = w;
	}
	if (first < 0) {
		*ret_first = 0;
		*ret_counts = NULL;
		*ret_n = 0;
		return 0;
	}
	counts = calloc((size_t)(last - first + 1), sizeof(*counts));
	if (!counts)
		return -ENOMEM;
	for (size_t c = 0; c < m->n_cves; c++)
		if (m->cves[c].published >= 0 && dash_verdict(m, c, kernel) == DV_AFFECTED)
			counts[dash_week_of_day(m->cves[c].published) - first]++;
	*ret_first = first;
	*ret_counts = counts;
	*ret_n = (size_t)(last - first + 1);
	return 0;
}
