/* The verdict of one CVE on one kernel: version logic from dyads or ranges, then file sets. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "applicability/verdict.h"
#include "kernel/fileset.h"
#include "strbuf.h"
#include "banned.h"

static const char *const status_names[_VERDICT_MAX] = {
	[VERDICT_AFFECTED] = "affected",	 [VERDICT_NOT_COMPILED] = "not-compiled",
	[VERDICT_FIXED] = "fixed",		 [VERDICT_NOT_AFFECTED] = "not-affected",
	[VERDICT_UNKNOWN] = "unknown",
};

static const char *const code_names[_VERDICT_CODE_MAX] = {
	[VERDICT_CODE_AFFECTED] = "affected",
	[VERDICT_CODE_NOT_COMPILED] = "not-compiled",
	[VERDICT_CODE_FIXED_BY_VERSION] = "fixed-by-version",
	[VERDICT_CODE_FIXED_BY_DISTRIBUTION] = "fixed-by-distribution",
	[VERDICT_CODE_VERSION_NOT_AFFECTED] = "version-not-affected",
	[VERDICT_CODE_UNKNOWN_VERSION_DATA] = "unknown-version-data",
	[VERDICT_CODE_UNKNOWN_NO_VERSIONS] = "unknown-no-versions",
	[VERDICT_CODE_UNKNOWN_NO_FILES] = "unknown-no-files",
	[VERDICT_CODE_UNKNOWN_HEADERS_ONLY] = "unknown-headers-only",
	[VERDICT_CODE_UNKNOWN_NO_SOURCE] = "unknown-no-source",
};

static const char *const lp_names[_VERDICT_LP_MAX] = {
	[VERDICT_LP_C_SOURCES] = "c-sources",
	[VERDICT_LP_NOT_NEEDED] = "not-needed",
	[VERDICT_LP_UNKNOWN] = "unknown-verdict",
	[VERDICT_LP_BUILD_FILES] = "build-files",
	[VERDICT_LP_ASSEMBLY] = "assembly",
	[VERDICT_LP_GLOBAL_HEADER] = "global-header",
	[VERDICT_LP_TOO_MANY_UNITS] = "header-too-many-units",
	[VERDICT_LP_BUILTIN_AND_MODULE] = "builtin-and-module",
	[VERDICT_LP_OTHER_FILES] = "other-files",
	[VERDICT_LP_NOT_ESTIMATED] = "not-estimated",
};

static int name_index(const char *const *names, unsigned n, const char *s)
{
	for (unsigned i = 0; s && i < n; i++)
		if (streq(s, names[i]))
			return (int)i;
	return -EINVAL;
}

const char *verdict_code_to_string(enum verdict_code c)
{
	return (unsigned)c < _VERDICT_CODE_MAX ? code_names[c] : NULL;
}

int verdict_code_from_string(const char *s, enum verdict_code *ret)
{
	int i = name_index(code_names, _VERDICT_CODE_MAX, s);

	if (i < 0)
		return i;
	*ret = (enum verdict_code)i;
	return 0;
}

bool verdict_code_version_vulnerable(enum verdict_code c)
{
	switch (c) {
	case VERDICT_CODE_AFFECTED:
	case VERDICT_CODE_NOT_COMPILED:
	case VERDICT_CODE_UNKNOWN_NO_FILES:
	case VERDICT_CODE_UNKNOWN_HEADERS_ONLY:
	case VERDICT_CODE_UNKNOWN_NO_SOURCE:
		return true;
	default:
		return false;
	}
}

const char *verdict_livepatch_to_string(enum verdict_livepatch l)
{
	return (unsigned)l < _VERDICT_LP_MAX ? lp_names[l] : NULL;
}

int verdict_livepatch_from_string(const char *s, enum verdict_livepatch *ret)
{
	int i = name_index(lp_names, _VERDICT_LP_MAX, s);

	if (i < 0)
		return i;
	*ret = (enum verdict_livepatch)i;
	return 0;
}

const char *verdict_status_to_string(enum verdict_status s)
{
	return (unsigned)s < _VERDICT_MAX ? status_names[s] : NULL;
}

int verdict_status_from_string(const char *s, enum verdict_status *ret)
{
	for (unsigned i = 0; i < _VERDICT_MAX; i++)
		if (s && streq(s, status_names[i])) {
			*ret = (enum verdict_status)i;
			return 0;
		}
	return -EINVAL;
}

/* ---- versions as the records write them ---- */

static bool read_num(const char **p, unsigned *ret)
{
	const char *s = *p;
	unsigned v = 0;
	int n = 0;

	while (isdigit((unsigned char)*s)) {
		if (++n > 6)
			return false;
		v = v * 10 + (unsigned)(*s++ - '0');
	}
	if (n == 0)
		return false;
	*p = s;
	*ret = v;
	return true;
}

int verdict_version_parse(const char *s, struct verdict_version *ret)
{
	struct verdict_version v = {};

	if (!s)
		return -EINVAL;
	if (streq(s, "0")) {
		*ret = v;
		return 0;
	}
	for (;;) {
		if (v.len == ARRAY_SIZE(v.n) || !read_num(&s, &v.n[v.len]))
			return -EINVAL;
		v.len++;
		if (*s != '.')
			break;
		s++;
	}
	if (v.len < 2)
		return -EINVAL;
	if (startswith(s, "-rc")) {
		s += 3;
		if (!read_num(&s, &v.rc) || v.rc == 0)
			return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	*ret = v;
	return 0;
}

void verdict_version_from_kernel(const struct kernel_version *k, struct verdict_version *ret)
{
	*ret = (struct verdict_version){ .n = { k->major, k->minor, k->patch }, .len = 3,
					 .rc = k->rc };
}

int verdict_version_compare(const struct verdict_version *a, const struct verdict_version *b)
{
	for (size_t i = 0; i < ARRAY_SIZE(a->n); i++)
		if (a->n[i] != b->n[i])
			return a->n[i] < b->n[i] ? -1 : 1;
	if (a->rc != b->rc) {
		if (a->rc == 0)
			return 1;
		if (b->rc == 0)
			return -1;
		return a->rc < b->rc ? -1 : 1;
	}
	return 0;
}

/* 2.6 kernels had their stable branches one level down: 2.6.32.x. */
static unsigned branch_depth(const struct verdict_version *v)
{
	return v->n[0] == 2 && v->n[1] == 6 ? 3 : 2;
}

bool verdict_version_same_branch(const struct verdict_version *a, const struct verdict_version *b)
{
	unsigned d = branch_depth(a);

	if (a->len == 0 || b->len == 0 || d != branch_depth(b))
		return false;
	for (unsigned i = 0; i < d; i++)
		if (a->n[i] != b->n[i])
			return false;
	return true;
}

bool verdict_version_is_mainline(const struct verdict_version *v)
{
	return v->len > 0 && v->rc == 0 && v->n[branch_depth(v)] == 0;
}

/* Formatting without printf: a refresh writes some 100,000 reasons. */
static void add_uint(struct strbuf *sb, unsigned v)
{
	char buf[12], *p = buf + sizeof(buf);

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10));
	strbuf_add(sb, p, (size_t)(buf + sizeof(buf) - p));
}

static void add_version(struct strbuf *sb, const struct verdict_version *v)
{
	unsigned len = v->len < 2 ? 2 : v->len;

	if (v->len == 0) {
		strbuf_adds(sb, "0");
		return;
	}
	/* "6.5.0" reads as "6.5", as the kernel names its releases */
	while (len > branch_depth(v) && v->n[len - 1] == 0)
		len--;
	for (unsigned i = 0; i < len; i++) {
		if (i)
			strbuf_addch(sb, '.');
		add_uint(sb, v->n[i]);
	}
	if (v->rc) {
		strbuf_adds(sb, "-rc");
		add_uint(sb, v->rc);
	}
}

static void add_branch(struct strbuf *sb, const struct verdict_version *v)
{
	unsigned d = branch_depth(v);

	for (unsigned i = 0; i < d; i++) {
		if (i)
			strbuf_addch(sb, '.');
		add_uint(sb, v->n[i]);
	}
}

/* ---- the version logic from dyad pairs ---- */

int verdict_pairs_parse(const struct cve_dyad *dyads, size_t n, struct verdict_pair *out,
			struct strbuf *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct cve_dyad *d = &dyads[i];

		if (verdict_version_parse(d->introduced_version, &out[i].iv) < 0 ||
		    verdict_version_parse(d->fixed_version, &out[i].fv) < 0) {
			strbuf_addf(err, "dyad %zu has a version that is not one: '%s:%s'", i + 1,
				    strempty(d->introduced_version), strempty(d->fixed_version));
			return -EBADMSG;
		}
		out[i].has_fix = out[i].fv.len > 0;
		out[i].group = (unsigned)i;
		for (size_t j = 0; j < i; j++) {
			const char *a = dyads[j].introduced_commit, *b = d->introduced_commit;

			if (a && b ? streq(a, b)
				   : streq(dyads[j].introduced_version, d->introduced_version)) {
				out[i].group = out[j].group;
				break;
			}
		}
	}
	return 0;
}

/* What one bug (one introducing commit, its pairs on several branches) means for K. */
enum gstate { G_NONE, G_LATER, G_FIXED, G_VULNERABLE };

static enum gstate group_state(const struct verdict_pair *pairs, size_t n, unsigned group,
			       const struct verdict_version *k, struct strbuf *sb,
			       const struct verdict_pair **decided)
{
	const struct verdict_pair *first = NULL, *vuln = NULL, *fixed = NULL, *mfix = NULL;
	bool on_branch = false;

	for (size_t i = 0; i < n; i++) {
		const struct verdict_pair *p = &pairs[i];

		if (p->group != group)
			continue;
		if (!first)
			first = p;
		/* a mainline "fix" older than the bug is garbled data, not a fix */
		if (p->has_fix && verdict_version_is_mainline(&p->fv) &&
		    verdict_version_compare(&p->fv, &p->iv) >= 0 &&
		    (!mfix || verdict_version_compare(&p->fv, &mfix->fv) < 0))
			mfix = p;
		if (!p->has_fix || !verdict_version_same_branch(&p->fv, k))
			continue;
		/* A fix on the kernel's own branch decides. */
		on_branch = true;
		if (verdict_version_compare(k, &p->fv) >= 0) {
			if (!fixed || verdict_version_compare(&p->fv, &fixed->fv) < 0)
				fixed = p;
		} else if (verdict_version_compare(k, &p->iv) >= 0) {
			vuln = p;
		}
	}
	if (vuln) {
		add_version(sb, k);
		strbuf_adds(sb, k->rc ? " precedes " : " is below ");
		add_version(sb, &vuln->fv);
		strbuf_adds(sb, ", the fix on the ");
		add_branch(sb, k);
		strbuf_adds(sb, " branch; vulnerable since ");
		add_version(sb, &vuln->iv);
		*decided = vuln;
		return G_VULNERABLE;
	}
	if (fixed) {
		*decided = fixed;
		strbuf_adds(sb, "fixed in ");
		add_version(sb, &fixed->fv);
		strbuf_adds(sb, " on the ");
		add_branch(sb, k);
		strbuf_adds(sb, " branch");
		return G_FIXED;
	}
	if (!on_branch && first->iv.len && !verdict_version_is_mainline(&first->iv) &&
	    !verdict_version_same_branch(&first->iv, k))
		return G_NONE; /* a stable backport brought it to another branch only */
	*decided = first;
	if (on_branch || verdict_version_compare(k, &first->iv) < 0) {
		strbuf_adds(sb, "introduced in ");
		add_version(sb, &first->iv);
		strbuf_adds(sb, ", after ");
		add_version(sb, k);
		return G_LATER;
	}
	if (first->iv.len && !verdict_version_is_mainline(&first->iv)) {
		/* A bug a stable backport brought to this branch, never fixed here. */
		strbuf_adds(sb, "introduced in ");
		add_version(sb, &first->iv);
		strbuf_adds(sb, " by a stable backport; the ");
		add_branch(sb, k);
		strbuf_adds(sb, " branch has no fix");
		return G_VULNERABLE;
	}
	/* Mainline: the kernel's branch was cut after the fix, or never got it. */
	if (mfix)
		*decided = mfix;
	if (mfix && verdict_version_compare(k, &mfix->fv) >= 0) {
		strbuf_adds(sb, "fixed in ");
		add_version(sb, &mfix->fv);
		strbuf_adds(sb, " (mainline), before the ");
		add_branch(sb, k);
		strbuf_adds(sb, " branch");
		return G_FIXED;
	}
	if (first->iv.len == 0) {
		strbuf_adds(sb, "vulnerable since the start of git history");
	} else {
		strbuf_adds(sb, "vulnerable since ");
		add_version(sb, &first->iv);
	}
	if (!mfix) {
		strbuf_adds(sb, "; no fix released");
	} else if (verdict_version_same_branch(&mfix->fv, k)) {
		strbuf_adds(sb, "; ");
		add_version(sb, k);
		strbuf_adds(sb, " precedes ");
		add_version(sb, &mfix->fv);
		strbuf_adds(sb, ", the fix");
	} else {
		strbuf_adds(sb, "; no fix on the ");
		add_branch(sb, k);
		strbuf_adds(sb, " branch (mainline fix: ");
		add_version(sb, &mfix->fv);
		strbuf_adds(sb, ")");
	}
	return G_VULNERABLE;
}

static void decided_pair(const struct verdict_cve *cve, const struct verdict_pair *pairs,
			 const struct verdict_pair *p, struct verdict_result *res)
{
	const struct cve_dyad *d;

	if (!res || !p)
		return;
	d = &cve->dyads[p - pairs];
	res->introduced_version = d->introduced_version;
	res->introduced_commit = d->introduced_commit;
	/* "0" as a fix means none */
	res->fixed_version = p->has_fix ? d->fixed_version : NULL;
	res->fixed_commit = p->has_fix ? d->fixed_commit : NULL;
}

static int state_from_dyads(const struct verdict_cve *cve, const struct verdict_version *k,
			    enum verdict_vstate *ret, struct strbuf *sb, struct verdict_result *res)
{
	const struct verdict_pair *decided = NULL;
	struct verdict_pair stack[32], *parsed = NULL;
	const struct verdict_pair *pairs = cve->pairs;
	enum gstate best = G_NONE;
	const struct verdict_pair *best_fix = NULL;
	bool branch_decided;
	size_t base = sb->len;
	_cleanup_strbuf_ struct strbuf tmp = STRBUF_INIT;
	int r = 0;

	if (!pairs) {
		parsed = cve->n_dyads > ARRAY_SIZE(stack) ? calloc(cve->n_dyads, sizeof(*parsed))
							  : stack;
		if (!parsed)
			return -ENOMEM;
		r = verdict_pairs_parse(cve->dyads, cve->n_dyads, parsed, sb);
		if (r < 0) {
			if (res)
				res->code = VERDICT_CODE_UNKNOWN_VERSION_DATA;
			goto out;
		}
		pairs = parsed;
	}
	/*
	 * Fixes on the kernel's own stable branch decide, whatever commit brought the bug there
	 * (a backport has an id of its own): as the records' "X <= 6.1.*" ranges say.
	 */
	for (size_t i = 0; i < cve->n_dyads; i++) {
		const struct verdict_pair *p = &pairs[i];
		enum gstate g;

		if (!p->has_fix || !verdict_version_same_branch(&p->fv, k))
			continue;
		strbuf_reset(&tmp);
		if (verdict_version_compare(k, &p->fv) >= 0) {
			g = G_FIXED;
			strbuf_adds(&tmp, "fixed in ");
			add_version(&tmp, &p->fv);
			strbuf_adds(&tmp, " on the ");
			add_branch(&tmp, k);
			strbuf_adds(&tmp, " branch");
		} else if (verdict_version_compare(k, &p->iv) >= 0) {
			g = G_VULNERABLE;
			add_version(&tmp, k);
			strbuf_adds(&tmp, k->rc ? " precedes " : " is below ");
			add_version(&tmp, &p->fv);
			strbuf_adds(&tmp, ", the fix on the ");
			add_branch(&tmp, k);
			strbuf_adds(&tmp, " branch; vulnerable since ");
			add_version(&tmp, &p->iv);
		} else {
			g = G_LATER;
			strbuf_adds(&tmp, "introduced on the ");
			add_branch(&tmp, k);
			strbuf_adds(&tmp, " branch in ");
			add_version(&tmp, &p->iv);
			strbuf_adds(&tmp, ", after ");
			add_version(&tmp, k);
		}
		/* vulnerable beats fixed beats later; among fixes the earliest is named */
		if (g > best || (g == G_FIXED && best == G_FIXED &&
				 verdict_version_compare(&p->fv, &best_fix->fv) < 0)) {
			best = g;
			best_fix = p;
			decided = p;
			sb->len = base;
			if (sb->buf)
				sb->buf[base] = '\0';
			strbuf_add(sb, strbuf_str(&tmp), tmp.len);
		}
	}
	branch_decided = best != G_NONE;
	/*
	 * Otherwise each bug (introducing commit) on its own; the worst wins: vulnerable, else
	 * fixed, else introduced later. The first group's reason of the winning kind is kept.
	 */
	for (size_t i = 0; !branch_decided && i < cve->n_dyads && best != G_VULNERABLE; i++) {
		const struct verdict_pair *gd = NULL;
		enum gstate g;

		if (pairs[i].group != i)
			continue;
		strbuf_reset(&tmp);
		g = group_state(pairs, cve->n_dyads, (unsigned)i, k, &tmp, &gd);
		if (g > best) {
			best = g;
			decided = gd;
			sb->len = base;
			if (sb->buf)
				sb->buf[base] = '\0';
			strbuf_add(sb, strbuf_str(&tmp), tmp.len);
		}
	}
	switch (best) {
	case G_VULNERABLE:
		*ret = VERDICT_V_VULNERABLE;
		break;
	case G_FIXED:
		*ret = VERDICT_V_FIXED;
		break;
	case G_LATER:
		*ret = VERDICT_V_NOT_AFFECTED;
		break;
	case G_NONE:
		*ret = VERDICT_V_NOT_AFFECTED;
		strbuf_adds(sb, "only stable backports to other branches brought the bug");
		break;
	}
	decided_pair(cve, pairs, decided, res);
out:
	if (parsed != stack)
		free(parsed);
	return r;
}

/* ---- the version logic from the affected ranges (records without dyads) ---- */

static bool range_is_git(const struct cve_range *g)
{
	return streq_ptr(g->version_type, "git");
}

/* "6.1.78 <= v <= 6.1.*" or the original_commit_for_fix range: unaffected because fixed. */
static bool range_is_fix(const struct cve_range *g)
{
	return streq_ptr(g->version_type, "original_commit_for_fix") ||
	       (g->less_than_or_equal && !streq_ptr(g->version, "0"));
}

/* 1 when K falls in G, 0 when not, -EBADMSG when G's versions are not versions. */
static int range_match(const struct cve_range *g, const struct verdict_version *k)
{
	struct verdict_version v, end;

	if (verdict_version_parse(g->version, &v) < 0)
		return -EBADMSG;
	if (g->less_than) {
		if (verdict_version_parse(g->less_than, &end) < 0)
			return -EBADMSG;
		return verdict_version_compare(k, &v) >= 0 && verdict_version_compare(k, &end) < 0;
	}
	if (g->less_than_or_equal) {
		const char *le = g->less_than_or_equal;
		size_t n = strlen(le);

		if (verdict_version_compare(k, &v) < 0)
			return 0;
		if (streq(le, "*"))
			return 1;
		if (n > 2 && streq(le + n - 2, ".*")) {
			/* "6.1.*": everything on the 6.1 branch */
			_cleanup_free_ char *pfx = strndup(le, n - 2);

			if (!pfx)
				return -ENOMEM;
			if (verdict_version_parse(pfx, &end) < 0)
				return -EBADMSG;
			return verdict_version_same_branch(k, &end);
		}
		if (verdict_version_parse(le, &end) < 0)
			return -EBADMSG;
		return verdict_version_compare(k, &end) <= 0;
	}
	return verdict_version_compare(k, &v) == 0;
}

static void add_range(struct strbuf *sb, const struct cve_range *g)
{
	strbuf_addf(sb, "%s", g->version);
	if (g->less_than)
		strbuf_addf(sb, " <= v < %s", g->less_than);
	else if (g->less_than_or_equal)
		strbuf_addf(sb, " <= v <= %s", g->less_than_or_equal);
}

static int state_from_ranges(const struct verdict_cve *cve, const struct verdict_version *k,
			     enum verdict_vstate *ret, struct strbuf *sb, struct verdict_result *res)
{
	const struct cve_range *fixed_by = NULL, *unaffected_by = NULL;
	bool considered = false;

	for (size_t i = 0; i < cve->n_ranges;) {
		const struct cve_range *first = &cve->ranges[i], *matched = NULL, *intro = NULL;
		bool here = false; /* this entry has ranges other than git ones */
		size_t j;

		for (j = i; j < cve->n_ranges && cve->ranges[j].entry == first->entry; j++) {
			const struct cve_range *g = &cve->ranges[j];
			int m;

			if (range_is_git(g))
				continue;
			considered = here = true;
			if (!g->less_than && !g->less_than_or_equal && streq_ptr(g->status, "affected"))
				intro = g;
			m = range_match(g, k);
			if (m < 0) {
				strbuf_addf(sb, "affected range '%s' has a version that is not one",
					    strempty(g->version));
				if (res)
					res->code = VERDICT_CODE_UNKNOWN_VERSION_DATA;
				return m;
			}
			/* affected wins; among unaffected ranges, one that names a fix */
			if (m && (!matched || streq_ptr(g->status, "affected") ||
				  (!streq_ptr(matched->status, "affected") && !range_is_fix(matched) &&
				   range_is_fix(g))))
				matched = g;
		}
		i = j;
		if (!here)
			continue;
		if (matched ? streq_ptr(matched->status, "affected")
			    : streq_ptr(first->default_status, "affected")) {
			*ret = VERDICT_V_VULNERABLE;
			if (res) {
				res->introduced_version = matched ? matched->version
							 : intro ? intro->version : NULL;
				res->fixed_version = matched ? matched->less_than : NULL;
			}
			if (matched && (matched->less_than || matched->less_than_or_equal)) {
				strbuf_adds(sb, "within the record's affected range ");
				add_range(sb, matched);
			} else {
				strbuf_adds(sb, "affected by the record's default");
				if (intro)
					strbuf_addf(sb, " since %s", intro->version);
				strbuf_adds(sb, "; no unaffected range covers ");
				add_version(sb, k);
			}
			return 0;
		}
		if (matched && range_is_fix(matched))
			fixed_by = matched;
		else if (matched)
			unaffected_by = matched;
	}
	if (!considered) {
		*ret = VERDICT_V_UNKNOWN;
		if (res)
			res->code = VERDICT_CODE_UNKNOWN_NO_VERSIONS;
		strbuf_adds(sb, "the record has neither dyad pairs nor version ranges");
	} else if (fixed_by) {
		*ret = VERDICT_V_FIXED;
		if (res && streq_ptr(fixed_by->version_type, "original_commit_for_fix"))
			res->fixed_commit = fixed_by->version;
		else if (res)
			res->fixed_version = fixed_by->version;
		strbuf_addf(sb, "fixed in %s (the record's %s range ", fixed_by->version,
			    streq_ptr(fixed_by->version_type, "original_commit_for_fix")
				    ? "original_commit_for_fix"
				    : "unaffected");
		add_range(sb, fixed_by);
		strbuf_adds(sb, ")");
	} else {
		*ret = VERDICT_V_NOT_AFFECTED;
		if (unaffected_by) {
			strbuf_adds(sb, "within the record's unaffected range ");
			add_range(sb, unaffected_by);
		} else {
			strbuf_adds(sb, "outside every affected range of the record");
		}
	}
	return 0;
}

int verdict_version_state(const struct verdict_cve *cve, const struct kernel_version *kv,
			  enum verdict_vstate *ret, struct strbuf *reason)
{
	struct verdict_version k;

	verdict_version_from_kernel(kv, &k);
	if (cve->n_dyads)
		return state_from_dyads(cve, &k, ret, reason, NULL);
	return state_from_ranges(cve, &k, ret, reason, NULL);
}

/* ---- the files ---- */

static bool is_source(const char *path)
{
	static const char *const suffixes[] = { ".c", ".S", ".s", NULL };

	return kernel_path_has_suffix(path, suffixes);
}

static bool is_header(const char *path)
{
	static const char *const suffixes[] = { ".h", NULL };

	return kernel_path_has_suffix(path, suffixes);
}

#define LIST_MAX 3

static int compute(const struct verdict_cve *cve, const struct verdict_kernel *k,
		   struct verdict_result *res, struct strbuf *reason)
{
	enum verdict_status *ret = &res->status;
	enum verdict_vstate vs = VERDICT_V_UNKNOWN;
	struct verdict_version kv;
	size_t n_src = 0, n_hdr = 0, n_built = 0, listed = 0;
	int r;

	verdict_version_from_kernel(&k->version, &kv);
	r = cve->n_dyads ? state_from_dyads(cve, &kv, &vs, reason, res)
			 : state_from_ranges(cve, &kv, &vs, reason, res);
	if (r == -EBADMSG) {
		*ret = VERDICT_UNKNOWN;
		res->code = VERDICT_CODE_UNKNOWN_VERSION_DATA;
		return 0;
	}
	if (r < 0)
		return r;
	switch (vs) {
	case VERDICT_V_FIXED:
		*ret = VERDICT_FIXED;
		res->code = VERDICT_CODE_FIXED_BY_VERSION;
		return 0;
	case VERDICT_V_NOT_AFFECTED:
		*ret = VERDICT_NOT_AFFECTED;
		res->code = VERDICT_CODE_VERSION_NOT_AFFECTED;
		return 0;
	case VERDICT_V_UNKNOWN:
		*ret = VERDICT_UNKNOWN;
		if (res->code != VERDICT_CODE_UNKNOWN_VERSION_DATA)
			res->code = VERDICT_CODE_UNKNOWN_NO_VERSIONS;
		return 0;
	case VERDICT_V_VULNERABLE:
		break;
	}

	for (size_t i = 0; i < cve->n_files; i++) {
		if (is_source(cve->files[i])) {
			n_src++;
			if (k->compiled(k->userdata, cve->files[i]))
				n_built++;
		} else if (is_header(cve->files[i])) {
			n_hdr++;
		}
	}
	if (cve->n_files == 0) {
		*ret = VERDICT_UNKNOWN;
		res->code = VERDICT_CODE_UNKNOWN_NO_FILES;
		strbuf_adds(reason, "; the record names no program files");
		return 0;
	}
	if (n_src == 0) {
		*ret = VERDICT_UNKNOWN;
		res->code = n_hdr == cve->n_files ? VERDICT_CODE_UNKNOWN_HEADERS_ONLY
						  : VERDICT_CODE_UNKNOWN_NO_SOURCE;
		strbuf_adds(reason, n_hdr == cve->n_files ? "; fix touches only headers: "
							  : "; fix touches no C or assembly source: ");
		for (size_t i = 0; i < cve->n_files && listed < LIST_MAX; i++)
			strbuf_addf(reason, "%s%s", listed++ ? ", " : "", cve->files[i]);
		if (cve->n_files > listed)
			strbuf_addf(reason, " and %zu more", cve->n_files - listed);
		return 0;
	}
	if (n_built) {
		*ret = VERDICT_AFFECTED;
		res->code = VERDICT_CODE_AFFECTED;
		strbuf_adds(reason, "; compiled: ");
		for (size_t i = 0; i < cve->n_files && listed < LIST_MAX; i++) {
			unsigned kind;

			if (!is_source(cve->files[i]) ||
			    !(kind = k->compiled(k->userdata, cve->files[i])))
				continue;
			strbuf_addf(reason, "%s%s (%s)", listed++ ? ", " : "", cve->files[i],
				    kernel_file_kind_str(kind));
		}
		if (n_built > listed)
			strbuf_addf(reason, " and %zu more", n_built - listed);
		return 0;
	}
	*ret = VERDICT_NOT_COMPILED;
	res->code = VERDICT_CODE_NOT_COMPILED;
	strbuf_adds(reason, "; not built by this configuration: ");
	for (size_t i = 0; i < cve->n_files && listed < LIST_MAX; i++)
		if (is_source(cve->files[i]))
			strbuf_addf(reason, "%s%s", listed++ ? ", " : "", cve->files[i]);
	if (n_src > listed)
		strbuf_addf(reason, " and %zu more", n_src - listed);
	return 0;
}

int verdict_compute(const struct verdict_cve *cve, const struct verdict_kernel *k,
		    enum verdict_status *ret, struct strbuf *reason)
{
	struct verdict_result res = {};
	int r = compute(cve, k, &res, reason);

	if (r >= 0)
		*ret = res.status;
	return r;
}

/* ---- the livepatch estimate ---- */

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static bool is_build_file(const char *path)
{
	const char *b = base_name(path);
	static const char *const suffixes[] = { ".mk", ".kconfig", NULL };

	return startswith(b, "Makefile") || startswith(b, "Kbuild") || startswith(b, "Kconfig") ||
	       kernel_path_has_suffix(b, suffixes);
}

static bool is_assembly(const char *path)
{
	static const char *const suffixes[] = { ".S", ".s", ".lds", ".lds.S", NULL };

	return kernel_path_has_suffix(path, suffixes);
}

/* include/..., arch/X/include/..., and uapi headers: any unit may include them. */
static bool is_global_header(const char *path)
{
	const char *p;

	if (startswith(path, "include/") || strstr(path, "/uapi/"))
		return true;
	if (!startswith(path, "arch/") || !(p = strchr(path + 5, '/')))
		return false;
	return startswith(p, "/include/");
}

enum verdict_livepatch verdict_livepatch_estimate(const struct verdict_cve *cve,
						  const struct verdict_kernel *k,
						  verdict_units_fn units, enum verdict_status status)
{
	enum verdict_livepatch worst = VERDICT_LP_C_SOURCES;

	if (status == VERDICT_UNKNOWN)
		return VERDICT_LP_UNKNOWN;
	if (status != VERDICT_AFFECTED)
		return VERDICT_LP_NOT_NEEDED;
	if (cve->n_files == 0)
		return VERDICT_LP_UNKNOWN;
	/* The build's own order of refusals: build files, assembly, then headers' reach. */
	for (size_t i = 0; i < cve->n_files; i++)
		if (is_build_file(cve->files[i]))
			return VERDICT_LP_BUILD_FILES;
	for (size_t i = 0; i < cve->n_files; i++)
		if (is_assembly(cve->files[i]))
			return VERDICT_LP_ASSEMBLY;
	for (size_t i = 0; i < cve->n_files; i++) {
		const char *f = cve->files[i];
		enum verdict_livepatch l = VERDICT_LP_C_SOURCES;

		if (is_source(f)) {
			unsigned kind = k->compiled(k->userdata, f);

			if ((kind & KERNEL_FILE_BUILTIN) && (kind & KERNEL_FILE_MODULE))
				l = VERDICT_LP_BUILTIN_AND_MODULE;
		} else if (is_header(f)) {
			_cleanup_free_ char *dir = NULL;

			if (is_global_header(f)) {
				l = VERDICT_LP_GLOBAL_HEADER;
			} else if (!units || !strchr(f, '/') ||
				   !(dir = strndup(f, (size_t)(strrchr(f, '/') - f))) ||
				   units(k->userdata, dir) > VERDICT_LP_MAX_UNITS) {
				/* a local header reaches the units of its directory */
				l = VERDICT_LP_TOO_MANY_UNITS;
			}
		} else {
			l = VERDICT_LP_OTHER_FILES;
		}
		if (l > worst)
			worst = l;
	}
	return worst;
}

int verdict_compute_result(const struct verdict_cve *cve, const struct verdict_kernel *k,
			   verdict_units_fn units, struct verdict_result *ret,
			   struct strbuf *reason)
{
	struct verdict_result res = { .code = VERDICT_CODE_UNKNOWN_NO_VERSIONS };
	int r = compute(cve, k, &res, reason);

	if (r < 0)
		return r;
	res.livepatch = verdict_livepatch_estimate(cve, k, units, res.status);
	*ret = res;
	return 0;
}
