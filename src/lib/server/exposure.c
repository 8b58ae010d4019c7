/*
 * A CVE's exposure across the fleet: each node's latest heartbeat (kernel release, enabled
 * livepatches) judged by the inventory's verdicts for that release and by the modules the
 * build jobs of this server wrote, matched by name and SHA-256. Whatever cannot be judged is
 * "unknown", never "not-exposed" nor "patched".
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

/* What this server can say of one livepatch a node reports, for one CVE. */
enum module_kind {
	MOD_FOR_CVE,	/* (name, sha256) is a module a job of this server wrote for the CVE */
	MOD_WITHDRAWN,	/* the same, but its revision's publications (or its patch) withdrawn */
	MOD_UNRELEASED, /* the same, but its revision was never published (nor can be, if
			 * rejected): this server never released it as a fix */
	MOD_OTHER_CVE,	/* a module a job of this server wrote for a patch of another CVE */
	MOD_NO_DIGEST,	/* reported by name only: which module it is cannot be told */
	MOD_NOT_BUILT,	/* no job of this server wrote a module of that name and digest */
	MOD_AMBIGUOUS,	/* those bytes were written by an ad hoc build or for several CVEs */
};

/* Which of two jobs that wrote the same module for the CVE speaks for it. */
static int module_rank(enum module_kind k)
{
	return k == MOD_FOR_CVE ? 2 : k == MOD_WITHDRAWN ? 1 : 0;
}

struct module_match {
	enum module_kind kind;
	bool name_built; /* a job of this server wrote a module of that name */
	int64_t job, patch;
	int rev;
};

/*
 * Which module livepatch NAME (as /sys/kernel/livepatch names it) with module digest SHA (NULL:
 * reported by name only) is, for CVE ID: the jobs that wrote NAME.ko with that SHA-256.
 * The server vouches only for what it released: a revision with a live publication, its patch
 * not withdrawn. One counts as withdrawn when it was published and none of its publications is
 * live, or when its patch is withdrawn as a whole (the publisher took back the claim that it
 * fixes the CVE); as unreleased when it was never published (built, perhaps approved or
 * rejected, but never put out as a fix). Of several jobs that wrote those bytes for the CVE,
 * a released one wins, then a withdrawn one, each the first by id.
 */
static int module_identify(struct srv_state *st, const char *id, const char *name, const char *sha,
			   struct module_match *ret)
{
	_cleanup_free_ char *ko = strdup_printf("%s.ko", name);
	_cleanup_free_ char *cve = NULL;
	struct module_match m = {.kind = MOD_NOT_BUILT};
	bool matched = false, adhoc = false, several = false;
	enum module_kind best = MOD_NOT_BUILT; /* of the jobs for ID: FOR_CVE > WITHDRAWN > ... */
	struct srv_stmt *s;
	int r;

	if (!ko)
		return -ENOMEM;
	r = srv_state_prepare(
		st,
		"SELECT j.id, j.module_sha256, j.patch, j.rev, p.cve, p.state, "
		"(SELECT count(*) FROM publication u WHERE u.patch = j.patch AND u.rev = j.rev), "
		"(SELECT count(*) FROM publication u WHERE u.patch = j.patch AND u.rev = j.rev "
		"AND u.withdrawn_at IS NULL) "
		"FROM job j LEFT JOIN patch p ON p.id = j.patch "
		"WHERE j.module_name = ?1 AND j.build = 'written' ORDER BY j.id",
		&s);
	if (r < 0)
		return r;
	srv_bind_text(s, 1, ko);
	while ((r = srv_step(s)) == SRV_ROW) {
		const char *rcve = srv_column_is_null(s, 4) ? NULL : srv_column_text(s, 4);
		int64_t pubs, live;
		enum module_kind k;

		m.name_built = true;
		if (!sha || srv_column_is_null(s, 1) || !streq(srv_column_text(s, 1), sha))
			continue;
		matched = true;
		if (!rcve) {
			adhoc = true;
			continue;
		}
		if (!cve) {
			cve = strdup(rcve);
			if (!cve) {
				srv_reset(s);
				return -ENOMEM;
			}
		} else if (!streq(cve, rcve)) {
			several = true;
		}
		if (!streq(rcve, id))
			continue;
		pubs = srv_column_int64(s, 6);
		live = srv_column_int64(s, 7);
		if (streq_ptr(srv_column_text(s, 5), "withdrawn") || (pubs > 0 && live == 0))
			k = MOD_WITHDRAWN;
		else if (live > 0)
			k = MOD_FOR_CVE;
		else
			k = MOD_UNRELEASED;
		if (best != MOD_NOT_BUILT && module_rank(k) <= module_rank(best))
			continue;
		best = k;
		m.job = srv_column_int64(s, 0);
		m.patch = srv_column_int64(s, 2);
		m.rev = srv_column_int(s, 3);
	}
	srv_reset(s);
	if (r != SRV_DONE)
		return srv_state_error(st, "reading the jobs' modules");
	if (!sha)
		m.kind = MOD_NO_DIGEST;
	else if (!matched)
		m.kind = MOD_NOT_BUILT;
	else if (adhoc || several)
		m.kind = MOD_AMBIGUOUS;
	else if (!streq(cve, id))
		m.kind = MOD_OTHER_CVE;
	else
		m.kind = best;
	*ret = m;
	return 0;
}

/* Why livepatch NAME leaves the node's exposure unknown, appended to SB. */
static void module_explain(struct strbuf *sb, const struct module_match *m, const char *name,
			   const char *sha, const char *id)
{
	switch (m->kind) {
	case MOD_NO_DIGEST:
		strbuf_addf(sb,
			    "livepatch '%s' is reported by name only, without its module's "
			    "SHA-256%s",
			    name,
			    m->name_built ? ": this server built a module of that name but cannot "
					    "tell it is that one"
					  : "");
		break;
	case MOD_NOT_BUILT:
		strbuf_addf(sb, "livepatch '%s' (sha256 %s) is %s", name, sha,
			    m->name_built ? "not the module this server built under that name"
					  : "no module this server built");
		break;
	case MOD_AMBIGUOUS:
		strbuf_addf(sb,
			    "livepatch '%s' is a module this server built ad hoc or for "
			    "several CVEs",
			    name);
		break;
	case MOD_WITHDRAWN:
		strbuf_addf(sb,
			    "livepatch '%s' is the module job %lld built for %s (patch %lld, "
			    "revision %d), whose publication was withdrawn: this server no longer "
			    "vouches that it fixes the CVE",
			    name, (long long)m->job, id, (long long)m->patch, m->rev);
		break;
	case MOD_UNRELEASED:
		strbuf_addf(sb,
			    "livepatch '%s' is the module job %lld built for %s (patch %lld, "
			    "revision %d), which was never published: this server never released "
			    "it as a fix",
			    name, (long long)m->job, id, (long long)m->patch, m->rev);
		break;
	default:
		break;
	}
}

/*
 * The CVEs module NAME with digest SHA was written for by a job of this server (several when
 * the same bytes were built for several CVEs: module_identify then calls them ambiguous).
 */
static int module_cves(struct srv_state *st, const char *name, const char *sha, json_t *ret)
{
	_cleanup_free_ char *ko = strdup_printf("%s.ko", name);
	struct srv_stmt *s;
	int r;

	if (!ko)
		return -ENOMEM;
	r = srv_state_prepare(st,
			      "SELECT DISTINCT p.cve FROM job j JOIN patch p ON p.id = j.patch "
			      "WHERE j.module_name = ?1 AND j.module_sha256 = ?2 AND "
			      "j.build = 'written' AND p.cve IS NOT NULL ORDER BY p.cve",
			      &s);
	if (r < 0)
		return r;
	srv_bind_text(s, 1, ko);
	srv_bind_text(s, 2, sha);
	while ((r = srv_step(s)) == SRV_ROW)
		if (json_array_append_new(ret, json_string(srv_column_text(s, 0))) < 0) {
			srv_reset(s);
			return -ENOMEM;
		}
	srv_reset(s);
	return r == SRV_DONE ? 0 : srv_state_error(st, "reading the jobs' modules");
}

int srv_patched_cves(struct srv_state *st, json_t *patches, json_t **ret)
{
	_cleanup_(srv_json_unrefp) json_t *cves = json_array(), *cands = json_array();
	json_t *p, *c;
	size_t i, j;
	int r;

	if (!cves || !cands)
		return -ENOMEM;
	json_array_foreach(patches, i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *sha = json_string_value(json_object_get(p, "sha256"));

		/* A bare name identifies no module: it vouches for nothing. */
		if (!name || !sha)
			continue;
		json_array_clear(cands);
		r = module_cves(st, name, sha, cands);
		if (r < 0)
			return r;
		json_array_foreach(cands, j, c)
		{
			const char *id = json_string_value(c);
			struct module_match m = {};
			bool seen = false;
			json_t *x;
			size_t k;

			r = module_identify(st, id, name, sha, &m);
			if (r < 0)
				return r;
			if (m.kind != MOD_FOR_CVE)
				continue;
			json_array_foreach(cves, k, x) seen |= streq(json_string_value(x), id);
			if (!seen && json_array_append(cves, c) < 0)
				return -ENOMEM;
		}
	}
	*ret = TAKE_PTR(cves);
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

/* At most this many loaded livepatches are explained in one node's reason. */
#define EXPLAINED_MAX 4

static int node_judge(struct srv_state *st, const char *id, json_t *node, json_t *kernels,
		      json_t *verdicts, enum srv_exposure *ret_e, json_t **ret)
{
	const char *rel = json_string_value(json_object_get(node, "kernel"));
	json_t *vs = json_array(), *by = json_array(), *unknown = json_array(),
	       *withdrawn = json_array(), *unreleased = json_array(), *p, *o;
	struct strbuf reason = STRBUF_INIT, why = STRBUF_INIT;
	struct module_match patched = {};
	unsigned explained = 0, unexplained = 0;
	enum srv_exposure e;
	size_t i;
	int r = 0;

	strbuf_init(&reason, 4096);
	strbuf_init(&why, 3072);
	if (!vs || !by || !unknown || !withdrawn || !unreleased) {
		r = -ENOMEM;
		goto out;
	}
	if (!rel || !*rel) {
		e = SRV_UNKNOWN;
		strbuf_addf(&reason, "its heartbeat names no kernel");
	} else {
		e = verdicts_judge(kernels, verdicts, rel, vs, &reason);
	}
	/*
	 * The loaded livepatches matter only to an affected kernel. A patch is an agent's
	 * {"name", "sha256"} or a bare name (loaded outside the agent, or a heartbeat from
	 * before digests were reported).
	 */
	json_array_foreach(e == SRV_EXPOSED ? json_object_get(node, "patches") : NULL, i, p)
	{
		const char *name = json_is_string(p)
					   ? json_string_value(p)
					   : json_string_value(json_object_get(p, "name"));
		const char *sha = json_string_value(json_object_get(p, "sha256"));
		struct module_match m = {};
		json_t *list;

		if (!name)
			continue;
		r = module_identify(st, id, name, sha, &m);
		if (r < 0)
			goto out;
		switch (m.kind) {
		case MOD_FOR_CVE:
			list = by;
			if (!json_array_size(by))
				patched = m;
			break;
		case MOD_WITHDRAWN:
			list = withdrawn;
			break;
		case MOD_UNRELEASED:
			list = unreleased;
			break;
		case MOD_OTHER_CVE:
			list = NULL;
			break;
		default:
			list = unknown;
			break;
		}
		if (!list)
			continue;
		json_array_append_new(list, json_string(name));
		if (list == by)
			continue;
		if (explained == EXPLAINED_MAX) {
			unexplained++;
			continue;
		}
		strbuf_addf(&why, "%s", explained ? "; " : "");
		module_explain(&why, &m, name, sha, id);
		explained++;
	}
	if (json_array_size(by)) {
		e = SRV_PATCHED;
		strbuf_addf(&reason,
			    "; livepatch '%s' is the module job %lld of this server built for %s "
			    "(patch %lld, revision %d), matched by name and SHA-256",
			    json_string_value(json_array_get(by, 0)), (long long)patched.job, id,
			    (long long)patched.patch, patched.rev);
	} else if (explained) {
		e = SRV_UNKNOWN;
		strbuf_addf(&reason, "; whether a loaded livepatch fixes it cannot be told: %s",
			    strbuf_str(&why));
		if (unexplained)
			strbuf_addf(&reason, "; and %u more", unexplained);
	} else if (e == SRV_EXPOSED) {
		strbuf_addf(&reason, "; no loaded livepatch is a module this server built for %s",
			    id);
	}
	o = json_pack("{s:O s:O s:O s:O s:s s:s s:O s:O s:O s:O s:O}", "node",
		      json_object_get(node, "name"), "node_state", json_object_get(node, "state"),
		      "kernel", json_object_get(node, "kernel"), "last_seen",
		      json_object_get(node, "last_seen"), "exposure", exposures[e], "reason",
		      strbuf_str(&reason), "verdicts", vs, "patched_by", by, "unidentified_patches",
		      unknown, "withdrawn_patches", withdrawn, "unreleased_patches", unreleased);
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
	json_decref(withdrawn);
	json_decref(unreleased);
	strbuf_release(&reason);
	strbuf_release(&why);
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
		r = srv_node_list_reported(st, stale_after, &nodes);
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
