/*
 * A CVE's exposure across the fleet: each node's latest heartbeat (kernel release, enabled
 * livepatches) judged by the inventory's verdicts for that release and by what the build jobs
 * of this server made. Whatever cannot be judged is "unknown", never "not-exposed".
 */
#include <errno.h>
#include <string.h>

#include "cve/query.h"
#include "fleet/inventory.h"
#include "log.h"
#include "server/exposure.h"
#include "server/node.h"
#include "server/state.h"
#include "server/workflow.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

static const char *const exposures[_SRV_EXPOSURE_MAX] = {
	[SRV_EXPOSED] = "exposed",
	[SRV_PATCHED] = "patched",
	[SRV_NOT_EXPOSED] = "not-exposed",
	[SRV_UNKNOWN] = "unknown",
};

const char *srv_exposure_to_string(enum srv_exposure e)
{
	return (unsigned)e < _SRV_EXPOSURE_MAX ? exposures[e] : NULL;
}

int srv_exposure_from_string(const char *s, enum srv_exposure *ret)
{
	for (unsigned i = 0; i < _SRV_EXPOSURE_MAX; i++)
		if (streq(s, exposures[i])) {
			*ret = (enum srv_exposure)i;
			return 0;
		}
	return -EINVAL;
}

/*
 * The CVE livepatch NAME (as /sys/kernel/livepatch names it) was built for: the patch of the
 * jobs that wrote NAME.ko. *RET_CVE stays NULL when no job of this server wrote it, or when
 * the jobs that did disagree or include an ad hoc build (which names no CVE).
 */
static int module_cve(struct srv_state *st, const char *name, char **ret_cve)
{
	_cleanup_free_ char *ko = strdup_printf("%s.ko", name);
	_cleanup_free_ char *cve = NULL;
	struct srv_stmt *s;
	unsigned n = 0;
	bool adhoc = false;
	int r;

	if (!ko)
		return -ENOMEM;
	r = srv_state_prepare(
		st,
		"SELECT DISTINCT p.cve FROM job j LEFT JOIN patch p ON p.id = j.patch "
		"WHERE j.module_name = ?1 LIMIT 2",
		&s);
	if (r < 0)
		return r;
	srv_bind_text(s, 1, ko);
	while ((r = srv_step(s)) == SRV_ROW) {
		n++;
		if (srv_column_is_null(s, 0))
			adhoc = true;
		else if (!cve && !(cve = strdup(srv_column_text(s, 0)))) {
			srv_reset(s);
			return -ENOMEM;
		}
	}
	srv_reset(s);
	if (r != SRV_DONE)
		return srv_state_error(st, "reading the jobs' modules");
	*ret_cve = n == 1 && !adhoc ? TAKE_PTR(cve) : NULL;
	return 0;
}

/* The inventory's verdicts on the CVE (VERDICTS, cve_query_show's) for the kernels of release
 * REL (KERNELS, kernel_inventory_list's): EXPOSED when all are affected, NOT_EXPOSED when
 * none is, else UNKNOWN; REASON says which. ARR gets {"kernel", "status"} per kernel. */
static enum srv_exposure verdicts_judge(json_t *kernels, json_t *verdicts, const char *rel,
					json_t *arr, struct strbuf *reason)
{
	unsigned n = 0, affected = 0, clear = 0;
	const char *undecided = NULL, *why = NULL;
	json_t *k, *v;
	size_t i, j;

	json_array_foreach(kernels, i, k)
	{
		const char *name = json_string_value(json_object_get(k, "name"));
		const char *status = NULL, *vreason = NULL;

		if (!name || !streq_ptr(json_string_value(json_object_get(k, "release")), rel))
			continue;
		n++;
		json_array_foreach(
			verdicts, j,
			v) if (streq_ptr(json_string_value(json_object_get(v, "kernel")), name))
		{
			status = json_string_value(json_object_get(v, "status"));
			vreason = json_string_value(json_object_get(v, "reason"));
			break;
		}
		json_array_append_new(arr, json_pack("{s:s s:s* s:s*}", "kernel", name, "status",
						     status, "reason", vreason));
		if (status && streq(status, "affected")) {
			affected++;
		} else if (status && (streq(status, "not-compiled") || streq(status, "fixed") ||
				      streq(status, "not-affected"))) {
			clear++;
			why = vreason;
		} else if (!undecided) {
			undecided = name;
			strbuf_reset(reason);
			strbuf_addf(reason,
				    "kernel '%s' (release %s) has %s verdict on the CVE%s%s", name,
				    rel, status ? "an unknown" : "no", vreason ? ": " : "",
				    vreason ? vreason : "");
		}
	}
	if (n == 0) {
		strbuf_addf(reason,
			    "no kernel of release '%s' in the inventory: its verdicts are "
			    "not known",
			    rel);
		return SRV_UNKNOWN;
	}
	if (undecided)
		return SRV_UNKNOWN;
	if (affected && clear) {
		strbuf_addf(reason,
			    "the inventory's kernels of release '%s' disagree (%u affected, "
			    "%u not)",
			    rel, affected, clear);
		return SRV_UNKNOWN;
	}
	if (affected) {
		strbuf_addf(reason, "release '%s' is affected", rel);
		return SRV_EXPOSED;
	}
	strbuf_addf(reason, "release '%s' is not affected%s%s", rel, why ? ": " : "",
		    why ? why : "");
	return SRV_NOT_EXPOSED;
}

static int node_judge(struct srv_state *st, const char *id, json_t *node, json_t *kernels,
		      json_t *verdicts, enum srv_exposure *ret_e, json_t **ret)
{
	const char *rel = json_string_value(json_object_get(node, "kernel"));
	json_t *vs = json_array(), *by = json_array(), *unknown = json_array(), *p, *o;
	struct strbuf reason = STRBUF_INIT;
	enum srv_exposure e;
	size_t i;
	int r = 0;

	strbuf_init(&reason, 4096);
	if (!vs || !by || !unknown) {
		r = -ENOMEM;
		goto out;
	}
	if (!rel || !*rel) {
		e = SRV_UNKNOWN;
		strbuf_addf(&reason, "its heartbeat names no kernel");
	} else {
		e = verdicts_judge(kernels, verdicts, rel, vs, &reason);
	}
	/* The loaded livepatches matter only to an affected kernel. */
	json_array_foreach(e == SRV_EXPOSED ? json_object_get(node, "patches") : NULL, i, p)
	{
		_cleanup_free_ char *cve = NULL;
		const char *name = json_string_value(p);

		if (!name)
			continue;
		r = module_cve(st, name, &cve);
		if (r < 0)
			goto out;
		if (!cve)
			json_array_append(unknown, p);
		else if (streq(cve, id))
			json_array_append(by, p);
	}
	if (json_array_size(by)) {
		e = SRV_PATCHED;
		strbuf_addf(&reason, "; a loaded livepatch was built for %s", id);
	} else if (json_array_size(unknown)) {
		e = SRV_UNKNOWN;
		strbuf_addf(&reason, "; it runs livepatches this server did not build for a CVE "
				     "(any of them may fix it)");
	} else if (e == SRV_EXPOSED) {
		strbuf_addf(&reason, "; no loaded livepatch was built for %s", id);
	}
	o = json_pack("{s:O s:O s:O s:O s:s s:s s:O s:O s:O}", "node",
		      json_object_get(node, "name"), "node_state", json_object_get(node, "state"),
		      "kernel", json_object_get(node, "kernel"), "last_seen",
		      json_object_get(node, "last_seen"), "exposure", exposures[e], "reason",
		      strbuf_str(&reason), "verdicts", vs, "patched_by", by, "unidentified_patches",
		      unknown);
	if (!o) {
		r = -ENOMEM;
		goto out;
	}
	*ret_e = e;
	*ret = o;
out:
	json_decref(vs);
	json_decref(by);
	json_decref(unknown);
	strbuf_release(&reason);
	return r;
}

int srv_cve_exposure(struct tt_store *cve, struct srv_state *st, const char *id,
		     int64_t stale_after, enum srv_exposure only, json_t **ret)
{
	_cleanup_(srv_json_unrefp) json_t *show = NULL, *kernels = NULL, *nodes = NULL;
	unsigned long counts[_SRV_EXPOSURE_MAX] = {};
	json_t *out, *arr, *node;
	size_t i;
	int r;

	r = cve_query_show(cve, id, &show);
	if (r == -ENOENT)
		return log_error_errno(r, "no CVE '%s' in the database", id);
	if (r == 0)
		r = kernel_inventory_list(cve, &kernels);
	if (r == 0)
		r = srv_node_list(st, stale_after, &nodes);
	if (r < 0)
		return r;
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	json_array_foreach(nodes, i, node)
	{
		enum srv_exposure e = SRV_UNKNOWN;
		json_t *o = NULL;

		r = node_judge(st, id, node, kernels, json_object_get(show, "verdicts"), &e, &o);
		if (r < 0) {
			json_decref(arr);
			return r;
		}
		counts[e]++;
		if (only == _SRV_EXPOSURE_MAX || only == e)
			json_array_append_new(arr, o);
		else
			json_decref(o);
	}
	out = json_pack("{s:s s:O s:{s:I s:I s:I s:I} s:o}", "cve", id, "cve_state",
			json_object_get(show, "state"), "exposure_counts", exposures[SRV_EXPOSED],
			(json_int_t)counts[SRV_EXPOSED], exposures[SRV_PATCHED],
			(json_int_t)counts[SRV_PATCHED], exposures[SRV_NOT_EXPOSED],
			(json_int_t)counts[SRV_NOT_EXPOSED], exposures[SRV_UNKNOWN],
			(json_int_t)counts[SRV_UNKNOWN], "nodes", arr);
	if (!out)
		return -ENOMEM;
	*ret = out;
	return 0;
}
