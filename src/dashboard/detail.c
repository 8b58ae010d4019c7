/* The detail panes' text: a CVE laid out for triage, anything else as indented JSON fields. */
#include <stdlib.h>
#include <string.h>

#include "detail.h"
#include "model.h"
#include "strbuf.h"
#include "banned.h"

#define DETAIL_MAX (4 * 1024 * 1024)

static const char *jstr(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A scalar as text; "-" for null or absent. */
static void add_scalar(struct strbuf *sb, const json_t *v)
{
	if (json_is_string(v))
		strbuf_adds(sb, json_string_value(v));
	else if (json_is_integer(v))
		strbuf_addf(sb, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		strbuf_addf(sb, "%g", json_real_value(v));
	else if (json_is_true(v))
		strbuf_adds(sb, "yes");
	else if (json_is_false(v))
		strbuf_adds(sb, "no");
	else
		strbuf_adds(sb, "-");
}

static void add_json(struct strbuf *sb, const json_t *v, int depth)
{
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, x) {
			strbuf_addf(sb, "%*s%s:", depth * 2, "", key);
			if (json_is_object(x) || (json_is_array(x) && json_array_size(x))) {
				strbuf_addch(sb, '\n');
				add_json(sb, x, depth + 1);
			} else {
				strbuf_addch(sb, ' ');
				add_scalar(sb, json_is_array(x) ? NULL : x);
				strbuf_addch(sb, '\n');
			}
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			if (json_is_object(x)) {
				strbuf_addf(sb, "%*s-\n", depth * 2, "");
				add_json(sb, x, depth + 1);
			} else {
				strbuf_addf(sb, "%*s- ", depth * 2, "");
				add_scalar(sb, x);
				strbuf_addch(sb, '\n');
			}
		}
	} else {
		strbuf_addf(sb, "%*s", depth * 2, "");
		add_scalar(sb, v);
		strbuf_addch(sb, '\n');
	}
}

char *detail_json_text(const char *title, const json_t *v)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_init(&sb, DETAIL_MAX);
	strbuf_addf(&sb, "%s\n\n", title);
	add_json(&sb, v, 0);
	return strbuf_detach(&sb);
}

char *detail_cve_text(const json_t *cve, const struct dash_model *m)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *a, *x, *kev = json_object_get(cve, "kev"), *epss = json_object_get(cve, "epss");
	const char *title = jstr(cve, "title"), *desc = jstr(cve, "description");
	size_t i;

	strbuf_init(&sb, DETAIL_MAX);
	strbuf_addf(&sb, "%s  %s; published %s (date from the %s)\n",
		    jstr(cve, "id") ? jstr(cve, "id") : "?",
		    jstr(cve, "state") ? jstr(cve, "state") : "?",
		    jstr(cve, "published") ? jstr(cve, "published") : "?",
		    jstr(cve, "date_source") ? jstr(cve, "date_source") : "?");
	if (title)
		strbuf_addf(&sb, "%s\n", title);
	strbuf_adds(&sb, "\nPriority:\n  ");
	add_scalar(&sb, json_object_get(cve, "priority"));
	strbuf_adds(&sb, " (1000 x KEV + 10 x base score + EPSS)\n  KEV: ");
	/* Schema 2 keeps kev a boolean and epss a number, the details beside them. */
	if (json_is_object(json_object_get(cve, "kev_entry")))
		kev = json_object_get(cve, "kev_entry");
	if (json_is_object(kev)) {
		strbuf_adds(&sb, "known exploited, added ");
		add_scalar(&sb, json_object_get(kev, "date_added"));
		strbuf_adds(&sb, ", due ");
		add_scalar(&sb, json_object_get(kev, "due_date"));
		strbuf_adds(&sb, ", ransomware ");
		add_scalar(&sb, json_object_get(kev, "known_ransomware"));
	} else
		strbuf_adds(&sb, json_is_true(kev) ? "known exploited" : "not in CISA's catalogue");
	strbuf_adds(&sb, "\n  EPSS: ");
	if (json_is_object(epss)) {
		add_scalar(&sb, json_object_get(epss, "score"));
		strbuf_adds(&sb, " (percentile ");
		add_scalar(&sb, json_object_get(epss, "percentile"));
		strbuf_adds(&sb, ", ");
		add_scalar(&sb, json_object_get(epss, "date"));
		strbuf_adds(&sb, ")");
	} else
		strbuf_adds(&sb, json_is_number(epss) ? "" : "none");
	if (json_is_number(epss)) {
		add_scalar(&sb, epss);
		if (json_object_get(cve, "epss_percentile")) {
			strbuf_adds(&sb, " (percentile ");
			add_scalar(&sb, json_object_get(cve, "epss_percentile"));
			strbuf_adds(&sb, ", ");
			add_scalar(&sb, json_object_get(cve, "epss_date"));
			strbuf_adds(&sb, ")");
		}
	}
	strbuf_adds(&sb, "\n");

	a = json_object_get(cve, "cvss");
	strbuf_adds(&sb, "\nScores:\n");
	if (!json_array_size(a))
		strbuf_adds(&sb, "  none: neither the CNA nor NVD scored it\n");
	json_array_foreach(a, i, x) {
		strbuf_adds(&sb, "  ");
		add_scalar(&sb, json_object_get(x, "source"));
		strbuf_adds(&sb, " CVSS ");
		add_scalar(&sb, json_object_get(x, "version"));
		strbuf_adds(&sb, ": ");
		add_scalar(&sb, json_object_get(x, "base_score"));
		strbuf_adds(&sb, " ");
		add_scalar(&sb, json_object_get(x, "severity"));
		strbuf_adds(&sb, " (tuxtape computes ");
		add_scalar(&sb, json_object_get(x, "computed_score"));
		strbuf_adds(&sb, ")\n    ");
		add_scalar(&sb, json_object_get(x, "vector"));
		strbuf_adds(&sb, "\n");
	}
	if (desc)
		strbuf_addf(&sb, "\nDescription:\n%s\n", desc);

	a = json_object_get(cve, "program_files");
	strbuf_addf(&sb, "\nFiles (%zu):\n", json_array_size(a));
	json_array_foreach(a, i, x) {
		strbuf_adds(&sb, "  ");
		add_scalar(&sb, json_is_object(x) ? json_object_get(x, "path") : x);
		strbuf_adds(&sb, "\n");
	}
	a = json_object_get(cve, "dyad");
	strbuf_addf(&sb, "\nVersions (introduced -> fixed):\n");
	json_array_foreach(a, i, x) {
		strbuf_adds(&sb, "  ");
		add_scalar(&sb, json_object_get(x, "introduced_version"));
		strbuf_adds(&sb, " -> ");
		add_scalar(&sb, json_object_get(x, "fixed_version"));
		strbuf_adds(&sb, "  ");
		add_scalar(&sb, json_object_get(x, "fixed_commit"));
		strbuf_adds(&sb, "\n");
	}
	a = json_object_get(cve, "fix_commits");
	strbuf_addf(&sb, "\nFix commits (%zu):\n", json_array_size(a));
	json_array_foreach(a, i, x) {
		strbuf_adds(&sb, "  ");
		if (json_is_object(x)) {
			const char *k;
			json_t *y;

			json_object_foreach(x, k, y) {
				add_scalar(&sb, y);
				strbuf_adds(&sb, " ");
			}
		} else
			add_scalar(&sb, x);
		strbuf_adds(&sb, "\n");
	}
	a = json_object_get(cve, "verdicts");
	strbuf_adds(&sb, "\nVerdicts:\n");
	if (!json_array_size(a))
		strbuf_adds(&sb, "  no kernel in the inventory\n");
	json_array_foreach(a, i, x) {
		const char *k = jstr(x, "kernel");
		long nodes = -1;

		for (size_t j = 0; m && k && j < m->n_kernels; j++)
			if (streq(m->kernels[j].name, k))
				nodes = m->kernels[j].nodes;
		strbuf_addf(&sb, "  %-16s %-13s", k ? k : "?",
			    jstr(x, "status") ? jstr(x, "status") : "?");
		if (nodes >= 0)
			strbuf_addf(&sb, " %ld node%s", nodes, nodes == 1 ? "" : "s");
		strbuf_addf(&sb, "\n    %s\n", jstr(x, "reason") ? jstr(x, "reason") : "");
		/* Triage (issue 13) when the source has it: whatever fields it carries. */
		if (json_is_object(json_object_get(x, "triage"))) {
			const char *tk;
			json_t *tv;

			strbuf_adds(&sb, "    triage:");
			json_object_foreach(json_object_get(x, "triage"), tk, tv) {
				strbuf_addf(&sb, " %s=", tk);
				add_scalar(&sb, tv);
			}
			strbuf_adds(&sb, "\n");
		}
	}
	if (m && !m->nodes_known)
		strbuf_adds(&sb, "  (nodes exposed: known only with --server)\n");
	a = json_object_get(cve, "references");
	if (json_array_size(a)) {
		strbuf_addf(&sb, "\nReferences (%zu):\n", json_array_size(a));
		json_array_foreach(a, i, x) {
			strbuf_adds(&sb, "  ");
			add_scalar(&sb, json_is_object(x) ? json_object_get(x, "url") : x);
			strbuf_adds(&sb, "\n");
		}
	}
	return strbuf_detach(&sb);
}
