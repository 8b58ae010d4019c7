/*
 * Asking NVD's CVE API 2.0: per CVE when few are due, else bulk passes over the kernel CNA's
 * records, paged, rate-limited, committed page by page and resumable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "enrich/nvd.h"
#include "enrich/ratelimit.h"
#include "log.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

#define META_NEXT "nvd.bulk.next_index"
#define META_WINDOW "nvd.bulk.window"
#define META_STARTED "nvd.bulk.started"
#define META_LAST_PASS "nvd.last_pass"
/* NVD allows lastModified windows of up to 120 days; incremental passes keep inside it. */
#define MAX_WINDOW_S (119L * 86400)
/* Incremental windows reach back this much further, for NVD's indexing lag. */
#define WINDOW_MARGIN_S 3600

struct fetch {
	struct tt_store *s;
	const struct tt_nvd_opts *o;
	struct tt_enrich_stats *stats;
	struct tt_ratelimit rl;
	struct tt_http_opts http;
	char *key_header;
	const char *headers[2];
	const char *base;
	char sep; /* '?' or '&': what joins the base URL and our parameters */
};

struct idlist {
	char **v;
	size_t n, alloc, never; /* never: how many have no nvd_state row at all */
};

static void idlist_release(struct idlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct idlist){};
}

static int idlist_add(struct idlist *l, const char *id)
{
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 64;
		char **v = realloc(l->v, na * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->alloc = na;
	}
	l->v[l->n] = strdup(id);
	if (!l->v[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

static void take_slot(void *userdata)
{
	struct fetch *f = userdata;

	tt_ratelimit_acquire(&f->rl);
}

static void fetch_sleep(uint64_t ms, void *userdata)
{
	struct fetch *f = userdata;

	if (f->o->sleep_ms)
		f->o->sleep_ms(ms, f->o->userdata);
	else
		tt_sleep_ms(ms, NULL);
}

/* CVEs due to be asked: published, unscored by the CNA, never asked or asked before CUTOFF
 * without NVD having had a score. */
static int due_cves(struct fetch *f, const char *cutoff, struct idlist *ret)
{
	struct idlist l = {};
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(
		f->s,
		"SELECT c.id, n.cve_id IS NULL FROM cve c"
		" LEFT JOIN nvd_state n ON n.cve_id = c.id"
		" WHERE c.state = 'published'"
		" AND NOT EXISTS (SELECT 1 FROM cve_cvss x"
		"                 WHERE x.cve_id = c.id AND x.source = 'cna')"
		" AND (n.cve_id IS NULL OR (n.status <> 'scored' AND n.fetched_at < ?1))"
		" ORDER BY c.id",
		&st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int q = idlist_add(&l, (const char *)sqlite3_column_text(st, 0));

		if (q < 0) {
			sqlite3_reset(st);
			idlist_release(&l);
			return q;
		}
		l.never += sqlite3_column_int(st, 1) != 0;
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		idlist_release(&l);
		return tt_store_error(f->s, "listing CVEs due for NVD");
	}
	*ret = l;
	return 0;
}

static int fetch_page(struct fetch *f, const char *url, struct tt_nvd_page *ret)
{
	struct tt_http_response resp = {};
	unsigned attempts = 0;
	int r;

	log_debug("GET %s", url);
	r = tt_http_get(url, &f->http, &resp, &attempts);
	f->stats->requests += attempts;
	if (r < 0)
		return r;
	r = tt_nvd_parse(resp.body, resp.len, url, ret);
	tt_http_response_release(&resp);
	return r;
}

static int set_state(struct fetch *f, const char *id, const char *when, const char *status)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(f->s,
			     "INSERT OR REPLACE INTO nvd_state(cve_id, fetched_at, status)"
			     " VALUES (?1, ?2, ?3)",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : tt_store_error(f->s, "recording NVD state");
}

/* Marks that ID was looked at again at WHEN, keeping what NVD said last ('missing' if new). */
static int touch_state(struct fetch *f, const char *id, const char *when)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(
		f->s,
		"INSERT INTO nvd_state(cve_id, fetched_at, status) VALUES (?1, ?2, 'missing')"
		" ON CONFLICT(cve_id) DO UPDATE SET fetched_at = excluded.fetched_at",
		&st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : tt_store_error(f->s, "recording NVD state");
}

/* Commits what PAGE says (and, with META_NEXT_VALUE, where the bulk pass is) in one go. */
static int commit_page(struct fetch *f, const struct tt_nvd_page *p, const char *asked_id,
		       const char *next_value)
{
	struct tt_enrich_stats st = {};
	bool seen = false;
	char now[21];
	int r;

	tt_iso_time(time(NULL), now);
	r = tt_store_begin(f->s);
	if (r < 0)
		return r;
	r = tt_nvd_store_page(f->s, p, now, &st);
	if (r < 0)
		goto fail;
	if (asked_id) {
		for (size_t i = 0; i < p->n; i++)
			seen = seen || streq(p->v[i].id, asked_id);
		if (!seen) {
			r = set_state(f, asked_id, now, "missing");
			if (r < 0)
				goto fail;
			st.missing++;
		}
	}
	if (next_value) {
		r = tt_store_meta_set(f->s, META_NEXT, next_value);
		if (r < 0)
			goto fail;
	}
	r = tt_store_commit(f->s);
	if (r < 0)
		goto fail;
	f->stats->parsed += st.parsed;
	f->stats->stored += st.stored;
	f->stats->not_in_db += st.not_in_db;
	f->stats->skipped += st.skipped;
	f->stats->unscored += st.unscored;
	f->stats->missing += st.missing;
	return 0;
fail:
	tt_store_rollback(f->s);
	return r;
}

static void nvd_page_releasep(struct tt_nvd_page *p)
{
	tt_nvd_page_release(p);
}

static int ask_one(struct fetch *f, const char *id)
{
	_cleanup_(nvd_page_releasep) struct tt_nvd_page p = {};
	_cleanup_free_ char *url = strdup_printf("%s%ccveId=%s", f->base, f->sep, id);
	int r;

	if (!url)
		return -ENOMEM;
	r = fetch_page(f, url, &p);
	if (r < 0)
		return r;
	return commit_page(f, &p, id, NULL);
}

static int ask_each(struct fetch *f, const struct idlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		int r = ask_one(f, l->v[i]);

		if (r < 0)
			return r;
		tt_progress("nvd", i + 1, l->n);
	}
	return 0;
}

static int meta_get_ulong(struct tt_store *s, const char *key, bool *ret_set, unsigned long *ret)
{
	_cleanup_free_ char *v = NULL;
	char *end;
	int r;

	r = tt_store_meta_get(s, key, &v);
	if (r < 0)
		return r;
	*ret_set = false;
	if (!v || !*v)
		return 0;
	errno = 0;
	*ret = strtoul(v, &end, 10);
	if (errno || *end)
		return 0; /* unreadable: as if unset, start over */
	*ret_set = true;
	return 0;
}

/* Our own "YYYY-MM-DDTHH:MM:SSZ" back to a time_t; -1 if it is not one. */
static time_t parse_iso(const char *s)
{
	struct tm tm = {};
	char *end;

	if (!s || strlen(s) != 20)
		return -1;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -1;
	return timegm(&tm);
}

/* NVD wants extended ISO-8601 with milliseconds and an offset; '+' must be escaped. */
static char *nvd_date(time_t t)
{
	char iso[21];

	tt_iso_time(t, iso);
	return strdup_printf("%.19s.000%%2B00:00", iso);
}

/* After a complete pass: the due CVEs it did not mention are either asked one by one
 * (never asked, after an incremental pass) or stamped as looked at. */
static int finish_pass(struct fetch *f, const char *started, bool incremental)
{
	struct idlist due = {}, ask = {};
	char now[21];
	int r;

	r = due_cves(f, started, &due);
	if (r < 0)
		return r;
	tt_iso_time(time(NULL), now);
	r = tt_store_begin(f->s);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < due.n && r >= 0; i++) {
		bool never = false;
		sqlite3_stmt *st;

		r = tt_store_prepare(f->s, "SELECT 1 FROM nvd_state WHERE cve_id = ?1", &st);
		if (r < 0)
			break;
		sqlite3_bind_text(st, 1, due.v[i], -1, SQLITE_STATIC);
		never = sqlite3_step(st) != SQLITE_ROW;
		sqlite3_reset(st);
		if (never && incremental) {
			r = idlist_add(&ask, due.v[i]);
		} else {
			r = touch_state(f, due.v[i], now);
			f->stats->missing += never;
		}
	}
	if (r >= 0)
		r = tt_store_meta_set(f->s, META_NEXT, "");
	if (r >= 0) {
		time_t t = parse_iso(started);
		char last[21];

		tt_iso_time(t > WINDOW_MARGIN_S ? t - WINDOW_MARGIN_S : t, last);
		r = tt_store_meta_set(f->s, META_LAST_PASS, last);
	}
	if (r >= 0)
		r = tt_store_commit(f->s);
	if (r < 0) {
		tt_store_rollback(f->s);
		goto out;
	}
	r = ask_each(f, &ask);
out:
	idlist_release(&due);
	idlist_release(&ask);
	return r;
}

static int bulk_pass(struct fetch *f, unsigned long idx, const char *window, const char *started)
{
	unsigned page_size = f->o->page_size ? f->o->page_size : 2000;
	const char *src = f->o->source_id ? f->o->source_id : TT_NVD_KERNEL_SOURCE;
	size_t pages = 0;
	int r;

	for (;;) {
		_cleanup_(nvd_page_releasep) struct tt_nvd_page p = {};
		_cleanup_free_ char *url = NULL, *next = NULL;
		size_t got;

		url = strdup_printf("%s%csourceIdentifier=%s&resultsPerPage=%u&startIndex=%lu%s",
				    f->base, f->sep, src, page_size, idx, window);
		if (!url)
			return -ENOMEM;
		r = fetch_page(f, url, &p);
		if (r < 0)
			return r;
		got = p.n + p.skipped;
		idx += got;
		next = strdup_printf("%lu", idx);
		if (!next)
			return -ENOMEM;
		r = commit_page(f, &p, NULL, next);
		if (r < 0)
			return r;
		pages++;
		tt_progress("nvd", idx, p.total_results > 0 ? (unsigned long)p.total_results : idx);
		/* An empty page or a server that does not say how many ends the pass: no loop
		 * can outlive the data. */
		if (got == 0 || p.total_results < 0 || idx >= (unsigned long)p.total_results)
			break;
	}
	log_info("NVD: bulk pass done, %zu pages", pages);
	return finish_pass(f, started, *window != '\0');
}

int tt_nvd_fetch(struct tt_store *s, const struct tt_nvd_opts *o, struct tt_enrich_stats *stats)
{
	_cleanup_free_ char *window = NULL, *started = NULL;
	struct fetch f = {.s = s, .o = o, .stats = stats};
	char now[21], cutoff[21];
	unsigned long next = 0;
	bool resume = false;
	time_t t = time(NULL);
	int r;

	f.base = o->url ? o->url : TT_NVD_URL;
	f.sep = strchr(f.base, '?') ? '&' : '?';
	r = tt_ratelimit_init(&f.rl,
			      o->window_max ? o->window_max
			      : o->api_key  ? 50
					    : 5,
			      o->window_ms ? o->window_ms : 30000);
	if (r < 0)
		return r;
	f.rl.now_ms = o->now_ms;
	f.rl.sleep_ms = o->sleep_ms;
	f.rl.userdata = o->userdata;
	if (o->api_key) {
		f.key_header = strdup_printf("apiKey: %s", o->api_key);
		if (!f.key_header) {
			r = -ENOMEM;
			goto out;
		}
		f.headers[0] = f.key_header;
	}
	f.http = (struct tt_http_opts){
		.max_size = TT_NVD_PAGE_MAX,
		.timeout_s = o->timeout_s ? o->timeout_s : 600,
		.low_speed_time_s = o->timeout_s,
		.max_retries = o->max_retries ? o->max_retries : 5,
		.retry_base_ms = o->retry_base_ms ? o->retry_base_ms : 6000,
		.retry_403 = true,
		.headers = f.headers,
		.before_attempt = take_slot,
		.sleep_ms = fetch_sleep,
		.userdata = &f,
	};

	tt_iso_time(t, now);
	tt_iso_time(t - (time_t)(o->max_age_h ? o->max_age_h : 24) * 3600, cutoff);

	/* An interrupted bulk pass that is still fresh goes on where it stopped. */
	{
		bool set;

		r = meta_get_ulong(s, META_NEXT, &set, &next);
		if (r < 0)
			goto out;
		if (set) {
			r = tt_store_meta_get(s, META_STARTED, &started);
			if (r < 0)
				goto out;
			r = tt_store_meta_get(s, META_WINDOW, &window);
			if (r < 0)
				goto out;
			resume = started && window && strcmp(started, cutoff) >= 0;
		}
	}
	if (resume) {
		log_info("NVD: resuming the bulk pass started %s at record %lu", started, next);
		r = bulk_pass(&f, next, window, started);
		goto out;
	}

	{
		struct idlist due = {};
		_cleanup_free_ char *last = NULL;
		unsigned per_cve_max = o->per_cve_max ? o->per_cve_max : 20;
		time_t lt;

		r = due_cves(&f, cutoff, &due);
		if (r < 0)
			goto out;
		stats->pending += due.n;
		if (due.n == 0 || (due.n <= per_cve_max && !o->force_bulk)) {
			log_info("NVD: asking about %zu CVEs one by one", due.n);
			r = ask_each(&f, &due);
			idlist_release(&due);
			goto out;
		}
		r = tt_store_meta_get(s, META_LAST_PASS, &last);
		lt = r < 0 ? -1 : parse_iso(last);
		free(window);
		free(started);
		started = strdup(now);
		if (lt > 0 && t - lt < MAX_WINDOW_S && due.never <= per_cve_max) {
			_cleanup_free_ char *a = nvd_date(lt), *b = nvd_date(t);

			window = a && b ? strdup_printf("&lastModStartDate=%s&lastModEndDate=%s", a,
							b)
					: NULL;
		} else {
			window = strdup("");
		}
		log_info("NVD: %zu CVEs due, %s bulk pass", due.n,
			 *strempty(window) ? "incremental" : "full");
		idlist_release(&due);
		if (r < 0)
			goto out;
		if (!started || !window) {
			r = -ENOMEM;
			goto out;
		}
		r = tt_store_begin(s);
		if (r < 0)
			goto out;
		if ((r = tt_store_meta_set(s, META_STARTED, started)) < 0 ||
		    (r = tt_store_meta_set(s, META_WINDOW, window)) < 0 ||
		    (r = tt_store_meta_set(s, META_NEXT, "0")) < 0 ||
		    (r = tt_store_commit(s)) < 0) {
			tt_store_rollback(s);
			goto out;
		}
		r = bulk_pass(&f, 0, window, started);
	}
out:
	tt_ratelimit_release(&f.rl);
	free(f.key_header);
	return r;
}
