/* Recomputing stored verdicts: kernels' file sets in memory, CVE rows in one ordered scan. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "applicability/refresh.h"
#include "kernel/fileset.h"
#include "log.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

struct kfile {
	char *path;
	unsigned kind;
};

/* A CVE the kernel's distribution package names as fixed, and in which package version. */
struct kdfix {
	char *cve, *version;
};

struct kent {
	int64_t id;
	struct kernel_version v;
	struct kfile *files;
	size_t n_files;
	struct kdfix *dfixes; /* sorted by cve */
	size_t n_dfixes;
	char *distro;         /* "Debian", with dfixes */
};

static double now_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int kfile_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct kfile *)elem)->path);
}

static unsigned kent_compiled(void *userdata, const char *path)
{
	const struct kent *k = userdata;
	const struct kfile *f = bsearch(path, k->files, k->n_files, sizeof(*f), kfile_cmp);

	return f ? f->kind : 0;
}

/* The compiled C units directly in DIR: the reach of a local header (a range of the sorted set). */
static size_t kent_units(void *userdata, const char *dir)
{
	const struct kent *k = userdata;
	static const char *const c_only[] = { ".c", NULL };
	size_t lo = 0, hi = k->n_files, n = 0, dl = strlen(dir);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(k->files[mid].path, dir) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < k->n_files; i++) {
		const char *p = k->files[i].path;

		if (strncmp(p, dir, dl) != 0)
			break;
		if (p[dl] == '/' && !strchr(p + dl + 1, '/') && kernel_path_has_suffix(p, c_only))
			n++;
	}
	return n;
}

static void kents_free(struct kent *ks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < ks[i].n_files; j++)
			free(ks[i].files[j].path);
		free(ks[i].files);
		for (size_t j = 0; j < ks[i].n_dfixes; j++) {
			free(ks[i].dfixes[j].cve);
			free(ks[i].dfixes[j].version);
		}
		free(ks[i].dfixes);
		free(ks[i].distro);
	}
	free(ks);
}

static int load_files(struct tt_store *s, struct kent *k)
{
	sqlite3_stmt *st;
	size_t alloc = 0;
	int r;

	/* BINARY collation orders as strcmp does, which bsearch relies on. */
	r = tt_store_prepare(s, "SELECT path, kind FROM kernel_file WHERE kernel_id = ?1 ORDER BY path",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, k->id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (k->n_files == alloc) {
			size_t na = alloc ? alloc * 2 : 4096;
			struct kfile *p = realloc(k->files, na * sizeof(*p));

			if (!p) {
				sqlite3_reset(st);
				return -ENOMEM;
			}
			k->files = p;
			alloc = na;
		}
		k->files[k->n_files].path = strdup((const char *)sqlite3_column_text(st, 0));
		k->files[k->n_files].kind = (unsigned)sqlite3_column_int(st, 1);
		if (!k->files[k->n_files].path) {
			sqlite3_reset(st);
			return -ENOMEM;
		}
		k->n_files++;
	}
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : tt_store_error(s, "reading a kernel's files");
}

static int load_distro_fixes(struct tt_store *s, struct kent *k)
{
	sqlite3_stmt *st;
	size_t alloc = 0;
	int r;

	r = tt_store_prepare(s,
			     "SELECT d.cve_id, d.version, k.distro FROM kernel_distro_fix d "
			     "JOIN kernel k ON k.id = d.kernel_id WHERE d.kernel_id = ?1 "
			     "ORDER BY d.cve_id",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, k->id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct kdfix *d;

		if (k->n_dfixes == alloc) {
			size_t na = alloc ? alloc * 2 : 256;
			struct kdfix *p = realloc(k->dfixes, na * sizeof(*p));

			if (!p) {
				sqlite3_reset(st);
				return -ENOMEM;
			}
			k->dfixes = p;
			alloc = na;
		}
		d = &k->dfixes[k->n_dfixes++];
		d->cve = strdup((const char *)sqlite3_column_text(st, 0));
		d->version = strdup((const char *)sqlite3_column_text(st, 1));
		if (!k->distro)
			k->distro = strdup(sqlite3_column_text(st, 2)
						   ? (const char *)sqlite3_column_text(st, 2)
						   : "the distribution");
		if (!d->cve || !d->version || !k->distro) {
			sqlite3_reset(st);
			return -ENOMEM;
		}
	}
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : tt_store_error(s, "reading a kernel's distribution fixes");
}

static int kdfix_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct kdfix *)elem)->cve);
}

/*
 * A fix the distribution shipped wins over what the records' versions say: its package
 * changelog names the CVE in a version up to the kernel's. The version reasoning stays in the
 * reason, after the distribution's.
 */
static int apply_distro_fix(const struct kent *k, const char *id, struct verdict_result *res,
			    struct strbuf *reason)
{
	const struct kdfix *d;
	_cleanup_free_ char *was = NULL;

	if (res->status == VERDICT_FIXED || res->status == VERDICT_NOT_AFFECTED || k->n_dfixes == 0)
		return 0;
	d = bsearch(id, k->dfixes, k->n_dfixes, sizeof(*d), kdfix_cmp);
	if (!d)
		return 0;
	was = strdup(strbuf_str(reason));
	if (!was)
		return -ENOMEM;
	strbuf_reset(reason);
	res->status = VERDICT_FIXED;
	res->code = VERDICT_CODE_FIXED_BY_DISTRIBUTION;
	res->fixed_version = d->version; /* the package's, not upstream's */
	res->fixed_commit = NULL;
	res->livepatch = VERDICT_LP_NOT_NEEDED;
	return strbuf_addf(reason, "fixed in %s %s (the package changelog names it); the records "
				   "alone say: %s",
			   k->distro, d->version, was);
}

static int load_kernels(struct tt_store *s, int64_t only, struct kent **ret, size_t *ret_n)
{
	struct kent *ks = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(s,
			     "SELECT id, v_major, v_minor, v_patch, v_rc FROM kernel "
			     "WHERE ?1 < 0 OR id = ?1 ORDER BY id",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, only);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct kent *p = realloc(ks, (n + 1) * sizeof(*p));

		if (!p) {
			sqlite3_reset(st);
			kents_free(ks, n);
			return -ENOMEM;
		}
		ks = p;
		ks[n] = (struct kent){
			.id = sqlite3_column_int64(st, 0),
			.v = { (unsigned)sqlite3_column_int(st, 1), (unsigned)sqlite3_column_int(st, 2),
			       (unsigned)sqlite3_column_int(st, 3), (unsigned)sqlite3_column_int(st, 4) },
		};
		n++;
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		kents_free(ks, n);
		return tt_store_error(s, "reading the kernel inventory");
	}
	for (size_t i = 0; i < n; i++) {
		r = load_files(s, &ks[i]);
		if (r >= 0)
			r = load_distro_fixes(s, &ks[i]);
		if (r < 0) {
			kents_free(ks, n);
			return r;
		}
	}
	*ret = ks;
	*ret_n = n;
	return 0;
}

/* A cursor over rows ordered by cve_id, advanced in step with the CVE list. */
struct cursor {
	sqlite3_stmt *st;
	bool row, done;
};

static int cursor_step(struct tt_store *s, struct cursor *c)
{
	int r = sqlite3_step(c->st);

	if (r == SQLITE_ROW) {
		c->row = true;
		return 0;
	}
	c->row = false;
	c->done = true;
	return r == SQLITE_DONE ? 0 : tt_store_error(s, "reading CVE records");
}

/* Positions C on the first row of ID (skipping smaller ids); 1 when there is one. */
static int cursor_seek(struct tt_store *s, struct cursor *c, const char *id)
{
	int r;

	while (c->row) {
		int cmp = strcmp((const char *)sqlite3_column_text(c->st, 0), id);

		if (cmp == 0)
			return 1;
		if (cmp > 0)
			return 0;
		if ((r = cursor_step(s, c)) < 0)
			return r;
	}
	return 0;
}

struct cve_rows {
	struct cve_dyad *dyads;
	size_t n_dyads, a_dyads;
	char **files;
	size_t n_files, a_files;
	struct cve_range *ranges;
	size_t n_ranges;
	char **range_strings; /* default_status per range, owned */
};

static void cve_rows_clear(struct cve_rows *c)
{
	for (size_t i = 0; i < c->n_dyads; i++) {
		free(c->dyads[i].introduced_version);
		free(c->dyads[i].introduced_commit);
		free(c->dyads[i].fixed_version);
		free(c->dyads[i].fixed_commit);
	}
	c->n_dyads = 0;
	for (size_t i = 0; i < c->n_files; i++)
		free(c->files[i]);
	c->n_files = 0;
	for (size_t i = 0; i < c->n_ranges; i++) {
		struct cve_range *g = &c->ranges[i];

		free(g->version);
		free(g->less_than);
		free(g->less_than_or_equal);
		free(g->status);
		free(g->version_type);
		free(c->range_strings[i]);
	}
	free(c->ranges);
	free(c->range_strings);
	c->ranges = NULL;
	c->range_strings = NULL;
	c->n_ranges = 0;
}

static void cve_rows_release(struct cve_rows *c)
{
	cve_rows_clear(c);
	free(c->dyads);
	free(c->files);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);

	return t ? strdup(t) : NULL;
}

static int read_dyads(struct tt_store *s, struct cursor *c, const char *id, struct cve_rows *out)
{
	int r = cursor_seek(s, c, id);

	while (r > 0) {
		struct cve_dyad *d;

		if (out->n_dyads == out->a_dyads) {
			size_t na = out->a_dyads ? out->a_dyads * 2 : 32;
			struct cve_dyad *p = realloc(out->dyads, na * sizeof(*p));

			if (!p)
				return -ENOMEM;
			out->dyads = p;
			out->a_dyads = na;
		}
		d = &out->dyads[out->n_dyads++];
		*d = (struct cve_dyad){ col_dup(c->st, 1), col_dup(c->st, 2), col_dup(c->st, 3),
					col_dup(c->st, 4) };
		if (!d->introduced_version || !d->fixed_version)
			return -ENOMEM;
		if ((r = cursor_step(s, c)) < 0)
			return r;
		r = cursor_seek(s, c, id);
	}
	return r;
}

static int read_files(struct tt_store *s, struct cursor *c, const char *id, struct cve_rows *out)
{
	int r = cursor_seek(s, c, id);

	while (r > 0) {
		if (out->n_files == out->a_files) {
			size_t na = out->a_files ? out->a_files * 2 : 32;
			char **p = realloc(out->files, na * sizeof(*p));

			if (!p)
				return -ENOMEM;
			out->files = p;
			out->a_files = na;
		}
		if (!(out->files[out->n_files++] = col_dup(c->st, 1)))
			return -ENOMEM;
		if ((r = cursor_step(s, c)) < 0)
			return r;
		r = cursor_seek(s, c, id);
	}
	return r;
}

/* Records without dyads (few) fall back to their affected ranges, read one CVE at a time. */
static int read_ranges(struct tt_store *s, const char *id, struct cve_rows *out)
{
	sqlite3_stmt *st;
	size_t alloc = 0;
	int r;

	r = tt_store_prepare(s,
			     "SELECT entry, seq, default_status, version, less_than, "
			     "less_than_or_equal, status, version_type FROM cve_affected "
			     "WHERE cve_id = ?1 ORDER BY entry, seq",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct cve_range *g;

		if (out->n_ranges == alloc) {
			size_t na = alloc ? alloc * 2 : 16;
			struct cve_range *p = realloc(out->ranges, na * sizeof(*p));
			char **q = realloc(out->range_strings, na * sizeof(*q));

			if (p)
				out->ranges = p;
			if (q)
				out->range_strings = q;
			if (!p || !q) {
				sqlite3_reset(st);
				return -ENOMEM;
			}
			alloc = na;
		}
		g = &out->ranges[out->n_ranges];
		out->range_strings[out->n_ranges] = col_dup(st, 2);
		*g = (struct cve_range){
			.entry = sqlite3_column_int(st, 0),
			.seq = sqlite3_column_int(st, 1),
			.default_status = out->range_strings[out->n_ranges],
			.version = col_dup(st, 3),
			.less_than = col_dup(st, 4),
			.less_than_or_equal = col_dup(st, 5),
			.status = col_dup(st, 6),
			.version_type = col_dup(st, 7),
		};
		out->n_ranges++;
	}
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : tt_store_error(s, "reading version ranges");
}

/* A verdict to write once the scan is over (SQLite cursors must not see their table change). */
struct change {
	char *cve_id;
	int64_t kernel_id;
	enum verdict_status status; /* _VERDICT_MAX: delete the row */
	char *reason;
	enum verdict_code code;
	enum verdict_livepatch livepatch;
	char *iv, *ic, *fv, *fc; /* the deciding versions and commits, or NULL */
};

struct changes {
	struct change *v;
	size_t n, alloc;
};

static bool dup_or_null(const char *s, char **ret)
{
	*ret = s ? strdup(s) : NULL;
	return !s || *ret;
}

static int changes_add(struct changes *c, const char *cve_id, int64_t kernel_id,
		       const struct verdict_result *res, const char *reason, size_t reason_len)
{
	enum verdict_status status = res ? res->status : _VERDICT_MAX;
	struct change *x;

	if (c->n == c->alloc) {
		size_t na = c->alloc ? c->alloc * 2 : 1024;
		struct change *p = realloc(c->v, na * sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->v = p;
		c->alloc = na;
	}
	x = &c->v[c->n];
	*x = (struct change){ strdup(cve_id), kernel_id, status,
			      reason ? strndup(reason, reason_len) : NULL };
	if (res) {
		x->code = res->code;
		x->livepatch = res->livepatch;
	}
	if (!x->cve_id || (reason && !x->reason) ||
	    (res && (!dup_or_null(res->introduced_version, &x->iv) ||
		     !dup_or_null(res->introduced_commit, &x->ic) ||
		     !dup_or_null(res->fixed_version, &x->fv) ||
		     !dup_or_null(res->fixed_commit, &x->fc)))) {
		free(x->cve_id);
		free(x->reason);
		free(x->iv);
		free(x->ic);
		free(x->fv);
		free(x->fc);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

static void changes_release(struct changes *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].cve_id);
		free(c->v[i].reason);
		free(c->v[i].iv);
		free(c->v[i].ic);
		free(c->v[i].fv);
		free(c->v[i].fc);
	}
	free(c->v);
}

#define VERDICT_ROW_COLUMNS                                                                        \
	"cve_id, kernel_id, status, reason, code, livepatch, introduced_version, "                 \
	"introduced_commit, fixed_version, fixed_commit"

/* Writes (or with RES NULL deletes) one verdict row. */
static int verdict_write(struct tt_store *s, bool fresh, const char *cve_id, int64_t kernel_id,
			 const struct verdict_result *res, const char *reason)
{
	enum verdict_status status = res ? res->status : _VERDICT_MAX;
	sqlite3_stmt *st;
	int r;

	if (status == _VERDICT_MAX)
		r = tt_store_prepare(s, "DELETE FROM verdict WHERE cve_id = ?1 AND kernel_id = ?2",
				     &st);
	else if (fresh)
		r = tt_store_prepare(s,
				     "INSERT INTO verdict(" VERDICT_ROW_COLUMNS ") "
				     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
				     &st);
	else
		r = tt_store_prepare(s,
				     "INSERT OR REPLACE INTO verdict(" VERDICT_ROW_COLUMNS ") "
				     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
				     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, cve_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, kernel_id);
	if (status != _VERDICT_MAX) {
		sqlite3_bind_text(st, 3, verdict_status_to_string(status), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, verdict_code_to_string(res->code), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, verdict_livepatch_to_string(res->livepatch), -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 7, res->introduced_version, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, res->introduced_commit, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, res->fixed_version, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, res->fixed_commit, -1, SQLITE_STATIC);
	}
	r = sqlite3_step(st);
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : tt_store_error(s, "storing verdicts");
}

static int changes_apply(struct tt_store *s, const struct changes *c)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct change *x = &c->v[i];
		struct verdict_result res = { x->status, x->code, x->iv, x->ic, x->fv, x->fc,
					      x->livepatch };
		int r = verdict_write(s, false, x->cve_id, x->kernel_id,
				      x->status == _VERDICT_MAX ? NULL : &res, x->reason);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Stored verdict rows of ID (or of smaller ids, which are stale) before kernel KID. */
static int drop_stale(struct tt_store *s, struct cursor *c, const char *id, int64_t kid,
		      struct changes *out)
{
	int r;

	while (c->row) {
		const char *cid = (const char *)sqlite3_column_text(c->st, 0);
		int cmp = id ? strcmp(cid, id) : -1;

		if (cmp > 0 || (cmp == 0 && sqlite3_column_int64(c->st, 1) >= kid))
			break;
		r = changes_add(out, cid, sqlite3_column_int64(c->st, 1), NULL, NULL, 0);
		if (r < 0 || (r = cursor_step(s, c)) < 0)
			return r;
	}
	return 0;
}

/* Whether the stored row (VERDICT_ROW_COLUMNS) says what RES and REASON say. */
static bool row_same(sqlite3_stmt *st, const struct verdict_result *res, const char *reason)
{
#define COL(i) ((const char *)sqlite3_column_text(st, i))
	return streq_ptr(COL(2), verdict_status_to_string(res->status)) &&
	       streq_ptr(COL(3), reason) && streq_ptr(COL(4), verdict_code_to_string(res->code)) &&
	       streq_ptr(COL(5), verdict_livepatch_to_string(res->livepatch)) &&
	       streq_ptr(COL(6), res->introduced_version) &&
	       streq_ptr(COL(7), res->introduced_commit) &&
	       streq_ptr(COL(8), res->fixed_version) && streq_ptr(COL(9), res->fixed_commit);
#undef COL
}

static int refresh_in_tx(struct tt_store *s, int64_t kernel_id, struct verdicts_report *rep)
{
	struct kent *ks = NULL;
	size_t nk = 0;
	struct cursor cid = {}, cdy = {}, cfi = {}, cvr = {};
	struct cve_rows rows = {};
	struct changes changes = {};
	struct verdict_pair *pairs = NULL;
	size_t a_pairs = 0;
	struct strbuf reason = STRBUF_INIT;
	bool direct;
	int r;

	r = load_kernels(s, kernel_id, &ks, &nk);
	if (r < 0)
		return r;
	rep->kernels = nk;
	if ((r = tt_store_prepare(s, "SELECT id FROM cve WHERE state = 'published' ORDER BY id",
				  &cid.st)) < 0 ||
	    (r = tt_store_prepare(s,
				  "SELECT cve_id, introduced_version, introduced_commit, "
				  "fixed_version, fixed_commit FROM cve_dyad ORDER BY cve_id, seq",
				  &cdy.st)) < 0 ||
	    (r = tt_store_prepare(s, "SELECT cve_id, path FROM cve_file ORDER BY cve_id, path",
				  &cfi.st)) < 0 ||
	    (r = tt_store_prepare(s,
				  "SELECT " VERDICT_ROW_COLUMNS " FROM verdict "
				  "WHERE ?1 < 0 OR kernel_id = ?1 ORDER BY cve_id, kernel_id",
				  &cvr.st)) < 0)
		goto out;
	sqlite3_bind_int64(cvr.st, 1, kernel_id);
	if ((r = cursor_step(s, &cvr)) < 0)
		goto out;
	/* Nothing stored yet (a new kernel): no cursor reads the table, so write as we go. */
	direct = !cvr.row;
	if (direct)
		sqlite3_reset(cvr.st);
	if (nk > 0 && ((r = cursor_step(s, &cdy)) < 0 || (r = cursor_step(s, &cfi)) < 0))
		goto out;

	while (nk > 0) {
		const char *id;
		struct verdict_cve vc;

		if ((r = cursor_step(s, &cid)) < 0)
			goto out;
		if (!cid.row)
			break;
		id = (const char *)sqlite3_column_text(cid.st, 0);
		cve_rows_clear(&rows);
		if ((r = read_dyads(s, &cdy, id, &rows)) < 0 || (r = read_files(s, &cfi, id, &rows)) < 0)
			goto out;
		if (rows.n_dyads == 0 && (r = read_ranges(s, id, &rows)) < 0)
			goto out;
		vc = (struct verdict_cve){ .dyads = rows.dyads, .n_dyads = rows.n_dyads,
					   .ranges = rows.ranges, .n_ranges = rows.n_ranges,
					   .files = rows.files, .n_files = rows.n_files };
		/* Parse the dyads once for all kernels; a bad one is left for the verdict to name. */
		if (rows.n_dyads > a_pairs) {
			struct verdict_pair *p = realloc(pairs, rows.n_dyads * sizeof(*p));

			if (!p) {
				r = -ENOMEM;
				goto out;
			}
			pairs = p;
			a_pairs = rows.n_dyads;
		}
		strbuf_reset(&reason);
		if (verdict_pairs_parse(rows.dyads, rows.n_dyads, pairs, &reason) == 0)
			vc.pairs = pairs;
		rep->cves++;
		for (size_t i = 0; i < nk; i++) {
			struct verdict_kernel vk = { ks[i].v, kent_compiled, &ks[i] };
			struct verdict_result res;
			bool same = false;

			strbuf_reset(&reason);
			r = verdict_compute_result(&vc, &vk, kent_units, &res, &reason);
			if (r >= 0)
				r = apply_distro_fix(&ks[i], id, &res, &reason);
			if (r < 0)
				goto out;
			rep->verdicts++;
			rep->by_status[res.status]++;
			if ((r = drop_stale(s, &cvr, id, ks[i].id, &changes)) < 0)
				goto out;
			if (cvr.row && streq((const char *)sqlite3_column_text(cvr.st, 0), id) &&
			    sqlite3_column_int64(cvr.st, 1) == ks[i].id) {
				same = row_same(cvr.st, &res, strbuf_str(&reason));
				if ((r = cursor_step(s, &cvr)) < 0)
					goto out;
			}
			if (direct) {
				r = verdict_write(s, true, id, ks[i].id, &res, strbuf_str(&reason));
				rep->changed++;
			} else if (!same) {
				r = changes_add(&changes, id, ks[i].id, &res, strbuf_str(&reason),
						reason.len);
			}
			if (r < 0)
				goto out;
		}
		if ((r = drop_stale(s, &cvr, id, INT64_MAX, &changes)) < 0)
			goto out;
	}
	/* Verdicts of CVEs no longer published. */
	if ((r = drop_stale(s, &cvr, NULL, 0, &changes)) < 0)
		goto out;
	sqlite3_reset(cid.st);
	sqlite3_reset(cdy.st);
	sqlite3_reset(cfi.st);
	sqlite3_reset(cvr.st);
	rep->changed += changes.n;
	r = changes_apply(s, &changes);
out:
	if (cid.st)
		sqlite3_reset(cid.st);
	if (cdy.st)
		sqlite3_reset(cdy.st);
	if (cfi.st)
		sqlite3_reset(cfi.st);
	if (cvr.st)
		sqlite3_reset(cvr.st);
	free(pairs);
	changes_release(&changes);
	cve_rows_release(&rows);
	strbuf_release(&reason);
	kents_free(ks, nk);
	return r;
}

int verdicts_refresh(struct tt_store *s, int64_t kernel_id, struct verdicts_report *ret)
{
	struct verdicts_report rep = {};
	bool own_tx = sqlite3_get_autocommit(tt_store_db(s)) != 0;
	double t0 = now_seconds();
	int r;

	if (own_tx && (r = tt_store_begin(s)) < 0)
		return r;
	r = refresh_in_tx(s, kernel_id, &rep);
	if (own_tx) {
		if (r >= 0)
			r = tt_store_commit(s);
		if (r < 0)
			tt_store_rollback(s);
	}
	if (r < 0)
		return r;
	rep.seconds = now_seconds() - t0;
	if (ret)
		*ret = rep;
	return 0;
}

/*
 * Each kernel's exposure funnel: CVEs in the data, those whose version logic says vulnerable,
 * those compiled in (affected), and those the static estimate says tuxtape can livepatch.
 */
static int add_funnels(struct tt_store *s, json_t *arr)
{
	_cleanup_strbuf_ struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st;
	size_t i = 0;
	int r;

	strbuf_adds(&sql, "SELECT count(v.cve_id), coalesce(sum(v.code IN (");
	for (unsigned c = 0, n = 0; c < _VERDICT_CODE_MAX; c++)
		if (verdict_code_version_vulnerable(c))
			strbuf_addf(&sql, "%s'%s'", n++ ? ", " : "", verdict_code_to_string(c));
	strbuf_addf(&sql, ")), 0), coalesce(sum(v.status = 'affected'), 0), "
			  "coalesce(sum(v.status = 'affected' AND v.livepatch = '%s'), 0) "
			  "FROM kernel k LEFT JOIN verdict v ON v.kernel_id = k.id "
			  "GROUP BY k.id ORDER BY k.name",
		    verdict_livepatch_to_string(VERDICT_LP_C_SOURCES));
	/* the SQL is built from constant tables: prepared once per run, not cached */
	if (sqlite3_prepare_v2(tt_store_db(s), strbuf_str(&sql), -1, &st, NULL) != SQLITE_OK)
		return tt_store_error(s, "preparing the funnel");
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_array_get(arr, i++);

		if (o && json_object_set_new(o, "funnel",
					     json_pack("{s:I s:I s:I s:I}", "in_data",
						       (json_int_t)sqlite3_column_int64(st, 0),
						       "vulnerable_version",
						       (json_int_t)sqlite3_column_int64(st, 1),
						       "compiled", (json_int_t)sqlite3_column_int64(st, 2),
						       "livepatch_possible",
						       (json_int_t)sqlite3_column_int64(st, 3))) < 0) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
	}
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : tt_store_error(s, "counting the funnel");
}

int verdicts_query_summary(struct tt_store *s, json_t **ret)
{
	sqlite3_stmt *st;
	json_t *arr = json_array(), *cur = NULL;
	int64_t cur_id = -1;
	int r;

	if (!arr)
		return -ENOMEM;
	r = tt_store_prepare(s,
			     "SELECT k.id, k.name, k.release, k.version, v.status, count(v.cve_id) "
			     "FROM kernel k LEFT JOIN verdict v ON v.kernel_id = k.id "
			     "GROUP BY k.id, v.status ORDER BY k.name, v.status",
			     &st);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *status = (const char *)sqlite3_column_text(st, 4);
		json_int_t n = sqlite3_column_int64(st, 5);
		json_t *counts;

		if (!cur || id != cur_id) {
			counts = json_object();
			for (unsigned i = 0; i < _VERDICT_MAX; i++)
				json_object_set_new(counts, verdict_status_to_string(i), json_integer(0));
			cur = json_pack("{s:s s:s s:s s:o s:I}", "kernel",
					(const char *)sqlite3_column_text(st, 1), "release",
					(const char *)sqlite3_column_text(st, 2), "version",
					(const char *)sqlite3_column_text(st, 3), "counts", counts,
					"total", (json_int_t)0);
			if (!cur) {
				sqlite3_reset(st);
				json_decref(arr);
				return -ENOMEM;
			}
			json_array_append_new(arr, cur);
			cur_id = id;
		}
		if (status) {
			counts = json_object_get(cur, "counts");
			json_object_set_new(counts, status, json_integer(n));
			json_object_set_new(cur, "total",
					    json_integer(json_integer_value(json_object_get(cur, "total")) + n));
		}
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		json_decref(arr);
		return tt_store_error(s, "summarising verdicts");
	}
	r = add_funnels(s, arr);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

int verdict_lookup(struct tt_store *s, const char *cve_id, const char *kernel,
		   enum verdict_status *ret_status, char **ret_reason)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(s,
			     "SELECT v.status, v.reason FROM verdict v JOIN kernel k "
			     "ON k.id = v.kernel_id WHERE v.cve_id = ?1 AND k.name = ?2",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, cve_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kernel, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		r = verdict_status_from_string((const char *)sqlite3_column_text(st, 0),
					       ret_status);
		if (r >= 0 && ret_reason &&
		    !(*ret_reason = strdup((const char *)sqlite3_column_text(st, 1))))
			r = -ENOMEM;
		sqlite3_reset(st);
		return r;
	}
	sqlite3_reset(st);
	return r == SQLITE_DONE ? -ENOENT : tt_store_error(s, "reading a verdict");
}

static const char *vstate_name(enum verdict_vstate v)
{
	switch (v) {
	case VERDICT_V_VULNERABLE:
		return "vulnerable";
	case VERDICT_V_FIXED:
		return "fixed";
	case VERDICT_V_NOT_AFFECTED:
		return "not-affected";
	default:
		return "unknown";
	}
}

int verdicts_for_version(struct tt_store *s, const struct kernel_version *v,
			 enum version_query what, json_t **ret)
{
	struct cursor cid = {}, cdy = {}, cfi = {};
	struct cve_rows rows = {};
	struct strbuf reason = STRBUF_INIT, scratch = STRBUF_INIT;
	struct kernel_version prev = *v;
	json_t *arr = json_array();
	int r;

	if (!arr)
		return -ENOMEM;
	/* The release before V on its branch: what V itself fixed is fixed in V, not in it. */
	if (prev.rc == 0 && prev.patch > 0)
		prev.patch--;
	if ((r = tt_store_prepare(s, "SELECT id FROM cve WHERE state = 'published' ORDER BY id",
				  &cid.st)) < 0 ||
	    (r = tt_store_prepare(s,
				  "SELECT cve_id, introduced_version, introduced_commit, "
				  "fixed_version, fixed_commit FROM cve_dyad ORDER BY cve_id, seq",
				  &cdy.st)) < 0 ||
	    (r = tt_store_prepare(s, "SELECT cve_id, path FROM cve_file ORDER BY cve_id, path",
				  &cfi.st)) < 0)
		goto out;
	if ((r = cursor_step(s, &cdy)) < 0 || (r = cursor_step(s, &cfi)) < 0)
		goto out;
	for (;;) {
		enum verdict_vstate vs, before = VERDICT_V_UNKNOWN;
		struct verdict_cve vc;
		const char *id;
		bool keep;

		if ((r = cursor_step(s, &cid)) < 0)
			goto out;
		if (!cid.row)
			break;
		id = (const char *)sqlite3_column_text(cid.st, 0);
		cve_rows_clear(&rows);
		if ((r = read_dyads(s, &cdy, id, &rows)) < 0 || (r = read_files(s, &cfi, id, &rows)) < 0)
			goto out;
		if (rows.n_dyads == 0 && (r = read_ranges(s, id, &rows)) < 0)
			goto out;
		vc = (struct verdict_cve){ .dyads = rows.dyads, .n_dyads = rows.n_dyads,
					   .ranges = rows.ranges, .n_ranges = rows.n_ranges,
					   .files = rows.files, .n_files = rows.n_files };
		strbuf_reset(&reason);
		r = verdict_version_state(&vc, v, &vs, &reason);
		if (r == -ENOMEM)
			goto out;
		if (r < 0)
			vs = VERDICT_V_UNKNOWN;
		if (what == VERSION_QUERY_FIXED_IN && vs == VERDICT_V_FIXED) {
			strbuf_reset(&scratch);
			if (verdict_version_state(&vc, &prev, &before, &scratch) < 0)
				before = VERDICT_V_UNKNOWN;
		}
		keep = what == VERSION_QUERY_ALL ||
		       (what == VERSION_QUERY_VULNERABLE && vs == VERDICT_V_VULNERABLE) ||
		       (what == VERSION_QUERY_FIXED && vs == VERDICT_V_FIXED) ||
		       (what == VERSION_QUERY_UNKNOWN && vs == VERDICT_V_UNKNOWN) ||
		       (what == VERSION_QUERY_FIXED_IN && vs == VERDICT_V_FIXED &&
			before == VERDICT_V_VULNERABLE);
		if (keep)
			json_array_append_new(arr, json_pack("{s:s s:s s:s}", "id", id, "version_state",
							     vstate_name(vs), "reason",
							     strbuf_str(&reason)));
	}
	*ret = arr;
	arr = NULL;
	r = 0;
out:
	if (cid.st)
		sqlite3_reset(cid.st);
	if (cdy.st)
		sqlite3_reset(cdy.st);
	if (cfi.st)
		sqlite3_reset(cfi.st);
	json_decref(arr);
	cve_rows_release(&rows);
	strbuf_release(&reason);
	strbuf_release(&scratch);
	return r;
}
