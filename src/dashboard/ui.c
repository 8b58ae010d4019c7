/*
 * The dashboard's loop: keys (tig/htop/mutt habits), the mouse, resizes, and the background
 * job's results; every key ends in one redraw. --bench-keys replays keys and times each.
 */
#include <curses.h>
#include <errno.h>
#include <fnmatch.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detail.h"
#include "log.h"
#include "source.h"
#include "strbuf.h"
#include "ui.h"
#include "patches.h"
#include "banned.h"

#define CTRL(x) ((x) & 0x1f)

const struct key_help ui_keys[] = {
	{ "1 2 3 4 5", "show CVEs, Kernels, Fleet, Patches, Exposure", "all" },
	{ "?", "this help (q or ? again goes back)", "all" },
	{ "q", "back: close the help or a detail pane, else go to CVEs, else quit", "all" },
	{ "Q", "quit at once", "all" },
	{ "j k Down Up", "move one line", "lists, texts" },
	{ "PgDn PgUp Space b", "move one page", "lists, texts" },
	{ "g G Home End", "first, last line", "lists, texts" },
	{ "Enter", "open the selected item's detail pane", "CVEs, Kernels, Fleet" },
	{ "Tab", "switch between the list and the detail pane (opens it)", "CVEs, Kernels, Fleet" },
	{ "/", "search: CVE id or title, a name, a text (Enter goes, Esc cancels)", "all" },
	{ "n N", "next, previous match of the search", "all" },
	{ "s", "severity filter: any, critical, high, medium, low, none", "CVEs" },
	{ "K", "kernel filter: any, then each inventory kernel", "CVEs" },
	{ "v", "verdict filter: any, affected, not-compiled, fixed, not-affected, unknown",
	  "CVEs" },
	{ "x", "known exploited (CISA KEV) only, on or off", "CVEs" },
	{ "R", "rejected CVEs shown too, on or off", "CVEs" },
	{ "F", "file filter: a glob of the fix's files (net/ipv4/*); empty clears", "CVEs" },
	{ "c", "clear every filter and the search", "CVEs" },
	{ "p", "the raw fix of the selected CVE for the kernel (Patches)", "CVEs" },
	{ "T", "triage: a server patch from the selected CVE's raw fix for the kernel (the "
	       "filtered one, else the first affected), opened on Patches", "CVEs" },
	{ "h l Left Right", "previous, next kernel", "Exposure" },
	{ "[ ]", "previous, next patch of the server's list", "Patches" },
	{ "d", "revision 1 (the raw fix) and the current revision: side by side from 160 "
	       "columns, else a coloured diff (d again: back)", "Patches" },
	{ "e", "edit the current revision in $EDITOR; saved as a new revision", "Patches" },
	{ "s", "submit the patch: a build and boot-test job per kernel", "Patches" },
	{ "a", "approve the current revision (the server's two-person rule)", "Patches" },
	{ "c", "comment on the patch (asks the text)", "Patches" },
	{ "x", "reject the patch (asks why)", "Patches" },
	{ "P", "publish to a channel (asks which; stable by default)", "Patches" },
	{ "W", "withdraw the patch from every channel", "Patches" },
	{ "L", "the next job's build and boot-test log", "Patches" },
	{ "r", "reload everything from the source", "all" },
	{ "S", "sync the CVE records now (local database), in the background", "all" },
	{ "Ctrl-L", "redraw the screen", "all" },
	{ "mouse", "click a tab or a row, double-click opens, wheel scrolls", "all" },
};
const size_t ui_n_keys = sizeof(ui_keys) / sizeof(ui_keys[0]);

char *ui_help_text(void)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_adds(&sb, "Keys:\n");
	for (size_t i = 0; i < ui_n_keys; i++)
		strbuf_addf(&sb, "  %-18s %s  [%s]\n", ui_keys[i].keys, ui_keys[i].what,
			    ui_keys[i].where);
	strbuf_adds(&sb, "\nVerdict glyphs (one column per kernel, numbered as on Kernels):\n"
			 "  A affected   c not compiled   f fixed   . not affected   ? unknown\n"
			 "  P patched (a livepatch is applied; from a server)   blank: no verdict\n"
			 "\nColumns: CVSS is the best base score (the CNA's, else NVD's); K marks "
			 "CISA's known exploited; EPSS the exploit probability; NODES the nodes "
			 "running an affected kernel (with --server).\n"
			 "\nNO_COLOR in the environment turns colours off.\n");
	return strbuf_detach(&sb);
}

static void set_text(struct text *t, char *s, enum text_kind kind)
{
	free(t->s);
	t->s = s;
	t->top = 0;
	t->kind = kind;
	t->n_lines = 0;
}

static void msg(struct ui *u, const char *fmt, ...) _printf_(2, 3);
static void msg(struct ui *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->msg, sizeof(u->msg), fmt, ap);
	va_end(ap);
}

static void refilter(struct ui *u)
{
	size_t keep = u->n_rows ? u->rows_idx[MIN(u->cl.sel, u->n_rows - 1)] : 0;

	if (!u->m)
		return;
	u->n_rows = dash_filter_apply(u->m, &u->f, u->rows_idx);
	u->cl.sel = 0;
	/* Keep the cursor on the same CVE when it still passes. */
	for (size_t i = 0; i < u->n_rows; i++)
		if (u->rows_idx[i] == keep) {
			u->cl.sel = i;
			break;
		}
}

static void model_swap(struct ui *u, struct dash_model *m)
{
	size_t *rows = calloc(m->n_cves + 1, sizeof(*rows));

	if (!rows) {
		dash_model_free(m);
		msg(u, "out of memory");
		return;
	}
	dash_model_free(u->m);
	free(u->rows_idx);
	u->m = m;
	u->rows_idx = rows;
	u->n_rows = 0;
	/* Flags and indices of the old model mean nothing in the new one. */
	free(u->f.file_match);
	u->f.file_match = NULL;
	free(u->f.file_glob);
	u->f.file_glob = NULL;
	if (u->f.kernel >= (int)m->n_kernels)
		u->f.kernel = -1;
	u->detail = u->kdetail = u->ndetail = false;
	u->focus_detail = false;
	refilter(u);
	u->generation++;
}

static void open_node_detail(struct ui *u);

static void job_finished(struct ui *u)
{
	struct job *j = &u->job;

	if (j->r < 0 && j->kind == JOB_NODES) {
		msg(u, "refreshing the nodes failed: %s", j->error ? j->error : strerror(-j->r));
	} else if (j->r < 0) {
		msg(u, "%s failed: %s", j->kind == JOB_SYNC ? "sync" : j->kind == JOB_PATCH ? "patch" : "loading",
		    j->error ? j->error : strerror(-j->r));
		if (j->kind == JOB_PATCH) {
			const char *why = j->r == -EOPNOTSUPP
				? (u->cfg->server_url
					   ? "The server does not serve raw patches yet."
					   : "No linux repository: give --linux-repo PATH (a clone of the "
					     "stable tree) or set $TUXTAPE_LINUX_REPO.")
				: (j->error ? j->error : strerror(-j->r));

			set_text(&u->pt,
				 strdup_printf("Raw fix of %s for %s\n\n%s\n\nRevisions, builds and "
					       "reviews: the server's patches (tuxtape patch create; "
					       "[ ] on this screen with --server).\n",
					       u->patch_cve, u->patch_kernel, why),
				 TK_DETAIL);
		}
	} else if (j->kind == JOB_NODES) {
		if (u->m && dash_model_set_nodes(u->m, j->json) >= 0) {
			if (u->nl.sel >= u->m->n_nodes)
				u->nl.sel = u->m->n_nodes ? u->m->n_nodes - 1 : 0;
			if (u->ndetail)
				open_node_detail(u);
		}
	} else if (j->kind == JOB_PATCH) {
		set_text(&u->pt,
			 strdup_printf("Raw fix of %s for %s, from %s\n"
				       "(revisions, builds and reviews: the server's, with --server)"
				       "\n\n%s",
				       u->patch_cve, u->patch_kernel, u->cfg->linux_repo, j->text),
			 TK_DIFF);
		msg(u, "patch of %s for %s", u->patch_cve, u->patch_kernel);
	} else {
		struct dash_model *m = TAKE_PTR(j->model);

		model_swap(u, m);
		if (j->kind == JOB_SYNC)
			msg(u, "%s; %zu CVEs", j->text, u->n_rows);
		else
			msg(u, "%zu CVEs, %zu kernels, %s loaded in %.2f s (? for help)",
			    u->n_rows, u->m->n_kernels,
			    u->m->nodes_known ? "nodes" : "no node data", u->m->load_seconds);
	}
	job_reset(j);
}

static void start_job(struct ui *u, enum job_kind kind, const char *a0, const char *a1)
{
	int r;

	if (u->job.running) {
		msg(u, "busy: wait for the running job");
		return;
	}
	r = job_start(&u->job, kind, u->cfg, a0, a1);
	if (r < 0)
		msg(u, "cannot start: %s", strerror(-r));
}

/* ---- moving ---- */

static void cursor_move(struct cursor *c, size_t n, long delta)
{
	long s = (long)c->sel + delta;

	if (!n) {
		c->sel = c->top = 0;
		return;
	}
	if (s < 0)
		s = 0;
	if ((size_t)s >= n)
		s = (long)n - 1;
	c->sel = (size_t)s;
}

static void text_move(struct text *t, long delta)
{
	long max = (long)t->n_lines - (t->height > 0 ? t->height : 1);
	long s = (long)t->top + delta;

	if (max < 0)
		max = 0;
	if (s > max)
		s = max;
	if (s < 0)
		s = 0;
	t->top = (size_t)s;
}

/* The text the keys move on this screen, or NULL when they move a list. */
static struct text *focused_text(struct ui *u)
{
	switch (u->screen) {
	case SCR_HELP:
		return &u->ht;
	case SCR_PATCHES:
		return &u->pt;
	case SCR_CVES:
		return u->detail && u->focus_detail ? &u->dt : NULL;
	case SCR_KERNELS:
		return u->kdetail && u->focus_detail ? &u->kt : NULL;
	case SCR_FLEET:
		return u->ndetail && u->focus_detail ? &u->nt : NULL;
	case SCR_EXPOSURE:
	default:
		return NULL;
	}
}

static struct cursor *focused_list(struct ui *u, size_t *ret_n)
{
	if (!u->m || focused_text(u))
		return NULL;
	switch (u->screen) {
	case SCR_CVES:
		*ret_n = u->n_rows;
		return &u->cl;
	case SCR_KERNELS:
		*ret_n = u->m->n_kernels;
		return &u->kl;
	case SCR_FLEET:
		*ret_n = u->m->n_nodes;
		return &u->nl;
	default:
		return NULL;
	}
}

static void move_by(struct ui *u, long delta, bool page)
{
	struct text *t = focused_text(u);
	size_t n;
	struct cursor *c;

	if (t) {
		text_move(t, page ? delta * (t->height > 1 ? t->height - 1 : 1) : delta);
		return;
	}
	c = focused_list(u, &n);
	if (c) {
		int h = ui_list_height(u);

		cursor_move(c, n, page ? delta * (h > 1 ? h - 1 : 1) : delta);
		/* The detail pane follows the cursor. */
		if (u->screen == SCR_CVES && u->detail)
			u->dt.s = u->dt.s; /* refreshed by open_detail() below */
	} else if (u->screen == SCR_EXPOSURE && u->m && u->m->n_kernels) {
		size_t nk = u->m->n_kernels;

		u->chart_k = (u->chart_k + nk + (size_t)(delta % (long)nk + (long)nk)) % nk;
	}
}

/* ---- details ---- */

/* What a request found, or why not: its logged error, else errno's words. */
const char *ui_req_error(struct job_req *q, char *buf, size_t size)
{
	if (q->error)
		return q->error;
	if (job_log_take(buf, size))
		return buf;
	snprintf(buf, size, "%s", strerror(-q->r));
	return buf;
}

void ui_request(struct ui *u, struct job_req *q)
{
	if (u->q) {
		job_queue_push(u->q, q);
		return;
	}
	/* The local database answers in a millisecond: at once, on the screen's connection. */
	q->r = q->work(u->src, q);
	q->done(u, q);
	job_req_free(q);
}

enum { TAG_CVE_DETAIL = 1, TAG_KERNEL_DETAIL, TAG_NODE_DETAIL, TAG_FILE_FILTER };

static int cve_show_work(struct dash_source *s, struct job_req *q)
{
	return s->ops->cve_show(s, q->s[0], &q->out[0]);
}

static void cve_show_done(void *ctx, struct job_req *q)
{
	struct ui *u = ctx;
	char why[200];

	if (!u->detail || !streq(u->dt_id, q->s[0]))
		return; /* closed, or it follows another CVE now */
	if (q->r < 0)
		set_text(&u->dt,
			 strdup_printf("%s: cannot read it: %s", q->s[0],
				       ui_req_error(q, why, sizeof(why))),
			 TK_PLAIN);
	else
		set_text(&u->dt, detail_cve_text(q->out[0], u->m), TK_DETAIL);
}

static void open_cve_detail(struct ui *u)
{
	struct job_req *q;
	const char *id;

	if (!u->n_rows)
		return;
	id = u->m->cves[u->rows_idx[u->cl.sel]].id;
	snprintf(u->dt_id, sizeof(u->dt_id), "%s", id);
	u->detail = true;
	if (u->q)
		set_text(&u->dt, strdup_printf("%s\n\n(asking the server ...)", id), TK_DETAIL);
	q = job_req_new(id, TAG_CVE_DETAIL, cve_show_work, cve_show_done);
	q->s[0] = strdup(id);
	ui_request(u, q);
}

static int kernel_show_work(struct dash_source *s, struct job_req *q)
{
	return s->ops->kernel_show(s, q->s[0], &q->out[0]);
}

static void kernel_show_done(void *ctx, struct job_req *q)
{
	struct ui *u = ctx;
	char why[200];

	if (!u->kdetail || !streq(u->kt_name, q->s[0]))
		return;
	if (q->r < 0)
		set_text(&u->kt,
			 strdup_printf("%s: cannot read it: %s", q->s[0],
				       ui_req_error(q, why, sizeof(why))),
			 TK_PLAIN);
	else {
		char *title = strdup_printf("Kernel %s", q->s[0]);

		set_text(&u->kt, detail_json_text(title ? title : q->s[0], q->out[0]), TK_DETAIL);
		free(title);
	}
}

static void open_kernel_detail(struct ui *u)
{
	struct job_req *q;
	const char *name;

	if (!u->m->n_kernels)
		return;
	name = u->m->kernels[u->kl.sel].name;
	snprintf(u->kt_name, sizeof(u->kt_name), "%s", name);
	u->kdetail = true;
	if (u->q)
		set_text(&u->kt, strdup_printf("Kernel %s\n\n(asking the server ...)", name),
			 TK_DETAIL);
	q = job_req_new(name, TAG_KERNEL_DETAIL, kernel_show_work, kernel_show_done);
	q->s[0] = strdup(name);
	ui_request(u, q);
}

#define NODE_EXPOSED_SHOWN 30

/* The node as the server has it, then its errors and the CVEs it is still exposed to. */
static char *node_detail_text(struct ui *u, size_t node, const char *title, json_t *v)
{
	const struct dash_node *n = &u->m->nodes[node];
	_cleanup_free_ char *base = NULL;
	struct strbuf sb = STRBUF_INIT;
	json_t *ev;
	size_t i, shown = 0;

	strbuf_addf(&sb, "%s\n\n", title);
	strbuf_addf(&sb, "Errors:\n");
	json_array_foreach(json_object_get(v, "events"), i, ev) {
		const char *what = json_string_value(json_object_get(ev, "event"));
		const char *at = json_string_value(json_object_get(ev, "at"));
		const char *patch = json_string_value(json_object_get(ev, "patch"));
		const char *detail = json_string_value(json_object_get(ev, "detail"));

		strbuf_addf(&sb, "  %s %s%s%s%s%s\n", at ? at : "-", what ? what : "?",
			    patch ? " " : "", patch ? patch : "", detail ? ": " : "",
			    detail ? detail : "");
		shown++;
	}
	if (!shown)
		strbuf_adds(&sb, "  none reported\n");
	if (n->kernel_idx < 0)
		strbuf_addf(&sb, "\nExposed to: unknown ('%s' is not an inventory kernel)\n",
			    n->kernel ? n->kernel : "-");
	else {
		strbuf_addf(&sb,
			    "\nExposed to: %ld CVEs (affected on %s, no loaded fix the server "
			    "vouches for)\n",
			    n->exposed, u->m->kernels[n->kernel_idx].name);
		shown = 0;
		for (size_t c = 0; c < u->m->n_cves && shown < NODE_EXPOSED_SHOWN; c++) {
			const struct dash_cve *cve = &u->m->cves[c];

			if (dash_verdict(u->m, c, (size_t)n->kernel_idx) != DV_AFFECTED ||
			    dash_node_patched(n, cve->id))
				continue;
			strbuf_addf(&sb, "  %-15s %4.1f %s\n", cve->id, cve->score < 0 ? 0 : cve->score,
				    cve->title ? cve->title : "");
			shown++;
		}
		if ((long)shown < n->exposed)
			strbuf_addf(&sb, "  ... and %ld more\n", n->exposed - (long)shown);
	}
	json_object_del(v, "events");
	base = detail_json_text("Reported:", v);
	strbuf_addf(&sb, "\n%s", base ? base : "");
	return strbuf_detach(&sb);
}

static int node_show_work(struct dash_source *s, struct job_req *q)
{
	return s->ops->node_show(s, q->s[0], &q->out[0]);
}

static void node_show_done(void *ctx, struct job_req *q)
{
	struct ui *u = ctx;
	char why[200];
	size_t i;

	if (!u->ndetail || !streq(u->nt_name, q->s[0]) || !u->m)
		return;
	for (i = 0; i < u->m->n_nodes; i++)
		if (streq(u->m->nodes[i].name, q->s[0]))
			break;
	if (q->r < 0 || i == u->m->n_nodes)
		set_text(&u->nt,
			 strdup_printf("%s: cannot read it: %s", q->s[0],
				       q->r < 0 ? ui_req_error(q, why, sizeof(why))
						: "no longer reported"),
			 TK_PLAIN);
	else {
		char *title = strdup_printf("Node %s", q->s[0]);
		size_t top = u->nt.top;

		set_text(&u->nt, node_detail_text(u, i, title ? title : q->s[0], q->out[0]),
			 TK_DETAIL);
		u->nt.top = top; /* a refresh keeps the place */
		free(title);
	}
}

static void open_node_detail(struct ui *u)
{
	struct job_req *q;
	const char *name;

	if (!u->m->n_nodes)
		return;
	name = u->m->nodes[u->nl.sel].name;
	if (!u->ndetail || !streq(u->nt_name, name)) {
		snprintf(u->nt_name, sizeof(u->nt_name), "%s", name);
		if (u->q)
			set_text(&u->nt, strdup_printf("Node %s\n\n(asking the server ...)", name),
				 TK_DETAIL);
	}
	u->ndetail = true;
	q = job_req_new(name, TAG_NODE_DETAIL, node_show_work, node_show_done);
	q->s[0] = strdup(name);
	ui_request(u, q);
}

static void open_detail(struct ui *u)
{
	if (!u->m)
		return;
	if (u->screen == SCR_CVES)
		open_cve_detail(u);
	else if (u->screen == SCR_KERNELS)
		open_kernel_detail(u);
	else if (u->screen == SCR_FLEET)
		open_node_detail(u);
}

static bool *detail_open(struct ui *u)
{
	switch (u->screen) {
	case SCR_CVES:
		return &u->detail;
	case SCR_KERNELS:
		return &u->kdetail;
	case SCR_FLEET:
		return &u->ndetail;
	default:
		return NULL;
	}
}

/* ---- search ---- */

static bool search_step(struct ui *u, int dir)
{
	struct text *t = focused_text(u);
	const char *q = u->search;
	size_t n;
	struct cursor *c;

	if (!*q)
		return false;
	if (t) {
		size_t hit;

		if (dir > 0 && ui_text_find(u, t, t->top, q, &hit)) {
			t->top = hit;
			return true;
		}
		return false;
	}
	c = focused_list(u, &n);
	if (!c || !n)
		return false;
	for (size_t k = 1; k <= n; k++) {
		size_t i = (c->sel + (dir > 0 ? k : n - k)) % n;
		bool hit = false;

		if (u->screen == SCR_CVES)
			hit = dash_cve_matches(u->m, u->rows_idx[i], q);
		else if (u->screen == SCR_KERNELS)
			hit = strcasestr(u->m->kernels[i].name, q) ||
			      strcasestr(u->m->kernels[i].release, q);
		else if (u->screen == SCR_FLEET)
			hit = strcasestr(u->m->nodes[i].name, q) ||
			      strcasestr(u->m->nodes[i].kernel, q);
		if (hit) {
			c->sel = i;
			return true;
		}
	}
	return false;
}

static void search_next(struct ui *u, int dir)
{
	if (!u->search[0]) {
		msg(u, "no search yet: / starts one");
		return;
	}
	if (search_step(u, dir)) {
		msg(u, "/%s", u->search);
		if (u->screen == SCR_CVES && u->detail && !u->focus_detail)
			open_cve_detail(u);
	} else
		msg(u, "not found: %s", u->search);
}

/* ---- filters ---- */

static int file_filter_work(struct dash_source *s, struct job_req *q)
{
	struct cve_list_filter f = { .state = "all", .file_glob = q->s[0], .limit = 0 };

	return s->ops->cve_list(s, &f, &q->out[0]);
}

static void file_filter_done(void *ctx, struct job_req *q)
{
	struct ui *u = ctx;
	bool *flags = NULL;
	char why[200];
	int r = q->r;

	if (!u->m || u->generation != (unsigned long)q->n[0])
		return; /* another model: its CVEs are not the ones asked about */
	if (r >= 0)
		r = dash_filter_file_flags(u->m, q->out[0], &flags);
	if (r < 0) {
		msg(u, "file filter '%s': %s", q->s[0],
		    q->r < 0 ? ui_req_error(q, why, sizeof(why)) : strerror(-r));
		return;
	}
	free(u->f.file_match);
	free(u->f.file_glob);
	u->f.file_match = flags;
	u->f.file_glob = strdup(q->s[0]);
	refilter(u);
	msg(u, "%zu CVEs pass the filters", u->n_rows);
}

static void set_file_filter(struct ui *u, const char *glob)
{
	struct job_req *q;

	if (!*glob) {
		free(u->f.file_match);
		free(u->f.file_glob);
		u->f.file_match = NULL;
		u->f.file_glob = NULL;
		refilter(u);
		msg(u, "%zu CVEs pass the filters", u->n_rows);
		return;
	}
	q = job_req_new("file filter", TAG_FILE_FILTER, file_filter_work, file_filter_done);
	q->s[0] = strdup(glob);
	q->n[0] = (long long)u->generation;
	ui_request(u, q);
}

size_t ui_patch_kernel(const struct ui *u, size_t c)
{
	const struct dash_model *m = u->m;

	if (u->f.kernel >= 0)
		return (size_t)u->f.kernel;
	for (size_t i = 0; i < m->n_kernels; i++)
		if (dash_verdict(m, c, i) == DV_AFFECTED)
			return i;
	return 0;
}

static void cve_patch(struct ui *u)
{
	const struct dash_model *m = u->m;
	size_t c, k;

	if (!u->n_rows) {
		msg(u, "no CVE selected");
		return;
	}
	if (!m->n_kernels) {
		msg(u, "no kernel in the inventory to write the fix for");
		return;
	}
	c = u->rows_idx[u->cl.sel];
	k = ui_patch_kernel(u, c);
	snprintf(u->patch_cve, sizeof(u->patch_cve), "%s", m->cves[c].id);
	free(u->patch_kernel);
	u->patch_kernel = strdup(m->kernels[k].name);
	u->screen = SCR_PATCHES;
	set_text(&u->pt, strdup_printf("Raw fix of %s for %s: writing ...", u->patch_cve,
				       u->patch_kernel), TK_PLAIN);
	start_job(u, JOB_PATCH, u->patch_cve, u->patch_kernel);
}

/*
 * T: a patch on the server from the selected CVE's raw fix, for the kernel p would write it
 * for. As `tuxtape cve patch`, a kernel the verdict says needs no fix (fixed, not affected,
 * not compiled) is refused; T again on the same CVE and kernel creates it anyway.
 */
static void cve_triage(struct ui *u)
{
	const struct dash_model *m = u->m;
	const struct dash_kernel *kern;
	char key[sizeof(u->triage_key)];
	enum dash_verdict v;
	bool no_fix_needed;
	size_t c;

	if (!u->cfg->server_url || !u->src->ops->call) {
		msg(u, "triage: needs a server (--server URL): the patch is the server's");
		return;
	}
	if (!u->n_rows) {
		msg(u, "triage: no CVE selected");
		return;
	}
	if (!m->n_kernels) {
		msg(u, "triage: no kernel in the server's inventory");
		return;
	}
	c = u->rows_idx[u->cl.sel];
	kern = &m->kernels[ui_patch_kernel(u, c)];
	v = dash_verdict(m, c, (size_t)(kern - m->kernels));
	no_fix_needed = v == DV_FIXED || v == DV_NOT_AFFECTED || v == DV_NOT_COMPILED;
	snprintf(key, sizeof(key), "%s %s", m->cves[c].id, kern->name);
	if (!*kern->release) {
		msg(u, "triage: kernel '%s' has no release to deploy to", kern->name);
		return;
	}
	if (no_fix_needed && !streq(u->triage_key, key)) {
		snprintf(u->triage_key, sizeof(u->triage_key), "%s", key);
		msg(u, "triage: kernel '%s' is %s for %s; no patch made (T again makes it anyway, "
		       "K picks another kernel)",
		    kern->name, dash_verdict_name(v), m->cves[c].id);
		return;
	}
	u->triage_key[0] = 0;
	/* here with a verdict that needs no fix only when T was pressed again: the user's word */
	ui_patches_triage(u, m->cves[c].id, kern->name, kern->release, no_fix_needed);
}

/* ---- keys ---- */

static void prompt_key(struct ui *u, int ch)
{
	if (ch == 27 || ch == CTRL('g') || ch == CTRL('c')) {
		u->prompt = PROMPT_NONE;
		msg(u, "cancelled");
		return;
	}
	if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (u->plen)
			u->plen--;
		return;
	}
	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		enum prompt p = u->prompt;

		u->pbuf[u->plen] = 0;
		u->prompt = PROMPT_NONE;
		if (p == PROMPT_FILE) {
			set_file_filter(u, u->pbuf);
			return;
		}
		if (p == PROMPT_COMMENT || p == PROMPT_REJECT || p == PROMPT_CHANNEL) {
			ui_patches_prompt_done(u, p, u->pbuf);
			return;
		}
		if (!u->plen) {
			u->search[0] = 0;
			msg(u, "search cleared");
			return;
		}
		snprintf(u->search, sizeof(u->search), "%s", u->pbuf);
		/* From the line before the cursor, so the selected line itself can match. */
		{
			struct text *t = focused_text(u);
			size_t n, hit;
			struct cursor *c = focused_list(u, &n);

			if (t && t->top)
				t->top--;
			else if (t && t->s && strcasestr(t->s, u->search) &&
				 !ui_text_find(u, t, 0, u->search, &hit)) {
				msg(u, "/%s", u->search); /* on the first line, shown already */
				return;
			}
			if (c && n)
				c->sel = (c->sel + n - 1) % n;
		}
		search_next(u, 1);
		return;
	}
	if (ch >= 32 && ch < 256 && ch != 127 && u->plen + 1 < sizeof(u->pbuf))
		u->pbuf[u->plen++] = (char)ch;
}

static void go_screen(struct ui *u, enum dash_screen s)
{
	if (s == SCR_HELP && u->screen != SCR_HELP) {
		u->back = u->screen;
		u->ht.top = 0;
	}
	u->screen = s;
	u->focus_detail = false;
	if (s == SCR_PATCHES && u->cfg->server_url && !u->plist && u->src) {
		ui_patches_load(u);
		return;
	}
	if (s == SCR_PATCHES && !u->pt.s)
		set_text(&u->pt, strdup("Patches\n\nSelect a CVE on the CVEs screen (1) and press p "
					"for its raw fix.\n\nRevisions, builds and reviews: with a "
					"server (--server URL).\n"),
			 TK_DETAIL);
}

static void mouse_event(struct ui *u)
{
	MEVENT ev;
	size_t n;
	struct cursor *c;

	if (getmouse(&ev) != OK)
		return;
	if (ev.bstate & BUTTON4_PRESSED) {
		move_by(u, -3, false);
		return;
	}
	if (ev.bstate & BUTTON5_PRESSED) {
		move_by(u, 3, false);
		return;
	}
	if (!(ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_DOUBLE_CLICKED)))
		return;
	if (ev.y == 0) {
		for (enum dash_screen s = 0; s < _SCR_MAX; s++) {
			int x, w;

			ui_tab_span(s, &x, &w);
			if (ev.x >= x && ev.x < x + w)
				go_screen(u, s);
		}
		return;
	}
	c = focused_list(u, &n);
	u->focus_detail = false;
	c = focused_list(u, &n);
	if (!c)
		return;
	{
		int y0 = u->screen == SCR_CVES	 ? 3
			 : u->screen == SCR_FLEET ? 2 + ui_fleet_top(u)
						  : 2,
		    h = ui_list_height(u);

		if (u->screen == SCR_CVES) {
			int yy;

			ui_cve_list_geometry(u, &yy, &h);
		}
		if (ev.y >= y0 && ev.y < y0 + h && c->top + (size_t)(ev.y - y0) < n) {
			c->sel = c->top + (size_t)(ev.y - y0);
			if (ev.bstate & BUTTON1_DOUBLE_CLICKED || (detail_open(u) && *detail_open(u)))
				open_detail(u);
		}
	}
}

static void handle_key(struct ui *u, int ch)
{
	bool *open;

	if (u->prompt != PROMPT_NONE) {
		prompt_key(u, ch);
		return;
	}
	if (ch != ERR && ch != KEY_RESIZE)
		u->msg[0] = 0;
	switch (ch) {
	case 'Q':
		u->quit = true;
		return;
	case 'q':
	case 27:
		if (u->screen == SCR_HELP) {
			u->screen = u->back;
		} else if ((open = detail_open(u)) && *open) {
			*open = false;
			u->focus_detail = false;
		} else if (u->screen != SCR_CVES && ch == 'q') {
			u->screen = SCR_CVES;
		} else if (ch == 'q')
			u->quit = true;
		return;
	case '?':
		if (u->screen == SCR_HELP)
			u->screen = u->back;
		else
			go_screen(u, SCR_HELP);
		return;
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
		go_screen(u, (enum dash_screen)(ch - '1'));
		return;
	case KEY_RESIZE:
	case CTRL('l'):
		clearok(curscr, TRUE);
		return;
	case KEY_MOUSE:
		mouse_event(u);
		return;
	case 'r':
		if (u->screen == SCR_PATCHES && u->plist)
			ui_patches_load(u);
		start_job(u, JOB_LOAD, NULL, NULL);
		return;
	case 'S':
		if (u->cfg->server_url)
			msg(u, "sync: the server syncs its own database (not available from here)");
		else
			start_job(u, JOB_SYNC, NULL, NULL);
		return;
	case '/':
		u->prompt = PROMPT_SEARCH;
		u->plen = 0;
		return;
	case 'n':
		search_next(u, 1);
		return;
	case 'N':
		search_next(u, -1);
		return;
	}
	if (u->screen == SCR_PATCHES && ui_patches_key(u, ch))
		return;
	if (!u->m && ch != KEY_RESIZE)
		return;
	switch (ch) {
	case 'j':
	case KEY_DOWN:
		move_by(u, 1, false);
		break;
	case 'k':
	case KEY_UP:
		move_by(u, -1, false);
		break;
	case 'l':
	case KEY_RIGHT:
		if (u->screen == SCR_EXPOSURE)
			move_by(u, 1, false);
		break;
	case 'h':
	case KEY_LEFT:
		if (u->screen == SCR_EXPOSURE)
			move_by(u, -1, false);
		break;
	case ' ':
	case KEY_NPAGE:
	case CTRL('f'):
		move_by(u, 1, true);
		break;
	case 'b':
	case KEY_PPAGE:
	case CTRL('b'):
		move_by(u, -1, true);
		break;
	case 'g':
	case KEY_HOME:
		move_by(u, -(long)1e9, false);
		break;
	case 'G':
	case KEY_END:
		move_by(u, (long)1e9, false);
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (detail_open(u)) {
			open_detail(u);
			u->focus_detail = false;
		}
		return;
	case '\t':
		if ((open = detail_open(u))) {
			if (!*open)
				open_detail(u);
			u->focus_detail = *open && !u->focus_detail;
		}
		return;
	}
	if (u->screen == SCR_CVES && u->m) {
		switch (ch) {
		case 's':
			u->f.severity = u->f.severity < 0 ? SEV_CRITICAL : u->f.severity - 1;
			refilter(u);
			break;
		case 'K':
			u->f.kernel = u->f.kernel + 1 >= (int)u->m->n_kernels ? -1 : u->f.kernel + 1;
			refilter(u);
			break;
		case 'v':
			u->f.status = u->f.status < 0 ? DV_AFFECTED
				      : u->f.status + 1 > DV_UNKNOWN ? -1 : u->f.status + 1;
			refilter(u);
			break;
		case 'x':
			u->f.kev_only = !u->f.kev_only;
			refilter(u);
			break;
		case 'R':
			u->f.rejected = !u->f.rejected;
			refilter(u);
			break;
		case 'F':
			u->prompt = PROMPT_FILE;
			u->plen = u->f.file_glob ? strlen(u->f.file_glob) : 0;
			if (u->plen >= sizeof(u->pbuf))
				u->plen = 0;
			memcpy(u->pbuf, u->f.file_glob ? u->f.file_glob : "", u->plen);
			return;
		case 'c':
			u->f.severity = u->f.kernel = u->f.status = -1;
			u->f.kev_only = u->f.rejected = false;
			u->search[0] = 0;
			set_file_filter(u, "");
			break;
		case 'p':
			cve_patch(u);
			return;
		case 'T':
			cve_triage(u);
			return;
		default:
			break;
		}
		/* The open detail follows the cursor. */
		if (u->detail && !u->focus_detail &&
		    (ch == 'j' || ch == 'k' || ch == KEY_DOWN || ch == KEY_UP || ch == ' ' ||
		     ch == 'b' || ch == KEY_NPAGE || ch == KEY_PPAGE || ch == 'g' || ch == 'G' ||
		     ch == KEY_HOME || ch == KEY_END || ch == CTRL('f') || ch == CTRL('b') ||
		     ch == 's' || ch == 'K' || ch == 'v' || ch == 'x' || ch == 'R' || ch == 'c'))
			open_cve_detail(u);
	} else if (u->screen == SCR_KERNELS && u->kdetail && !u->focus_detail &&
		   (ch == 'j' || ch == 'k' || ch == KEY_DOWN || ch == KEY_UP))
		open_kernel_detail(u);
	else if (u->screen == SCR_FLEET && u->ndetail && !u->focus_detail &&
		 (ch == 'j' || ch == 'k' || ch == KEY_DOWN || ch == KEY_UP))
		open_node_detail(u);
}

/* ---- --bench-keys ---- */

/* "jjj<pgdn>/net<enter>" -> key codes. */
static int bench_parse(const char *spec, int **ret, size_t *ret_n)
{
	static const struct {
		const char *name;
		int key;
	} names[] = {
		{ "down", KEY_DOWN }, { "up", KEY_UP },	    { "pgdn", KEY_NPAGE }, { "pgup", KEY_PPAGE },
		{ "home", KEY_HOME }, { "end", KEY_END },   { "enter", '\n' },	   { "tab", '\t' },
		{ "esc", 27 },	      { "left", KEY_LEFT }, { "right", KEY_RIGHT }, { "resize", KEY_RESIZE },
	};
	size_t n = 0, len = strlen(spec);
	int *keys = calloc(len + 1, sizeof(*keys));

	if (!keys)
		return -ENOMEM;
	for (const char *p = spec; *p;) {
		bool named = false;

		if (*p == '<')
			for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
				size_t l = strlen(names[i].name);

				if (!strncmp(p + 1, names[i].name, l) && p[1 + l] == '>') {
					keys[n++] = names[i].key;
					p += l + 2;
					named = true;
					break;
				}
			}
		if (!named)
			keys[n++] = (unsigned char)*p++;
	}
	*ret = keys;
	*ret_n = n;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static long proc_status_kb(const char *field)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long v = -1;

	while (f && fgets(line, sizeof(line), f))
		if (startswith(line, field))
			v = strtol(line + strlen(field) + 1, NULL, 10);
	return v;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int bench_run(struct ui *u, const char *spec, const char *out)
{
	_cleanup_free_ int *keys = NULL;
	_cleanup_free_ double *ms = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	size_t n;
	int r;

	r = bench_parse(spec, &keys, &n);
	if (r < 0)
		return r;
	ms = calloc(n + 1, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		double t0 = now();

		handle_key(u, keys[i]);
		ui_draw(u);
		ms[i] = (now() - t0) * 1000;
	}
	f = out ? fopen(out, "we") : NULL;
	if (out && !f)
		return -errno;
	if (f) {
		double sum = 0;

		fprintf(f, "# key ms\n");
		for (size_t i = 0; i < n; i++) {
			fprintf(f, "key %zu %d %.3f\n", i, keys[i], ms[i]);
			sum += ms[i];
		}
		qsort(ms, n, sizeof(*ms), cmp_double);
		fprintf(f, "keys %zu\ncves %zu\nkernels %zu\nload_s %.3f\n", n, u->m->n_cves,
			u->m->n_kernels, u->m->load_seconds);
		if (n)
			fprintf(f, "mean_ms %.3f\np50_ms %.3f\np99_ms %.3f\nmax_ms %.3f\n", sum / (double)n,
				ms[n / 2], ms[(size_t)((double)(n - 1) * 0.99)], ms[n - 1]);
		fprintf(f, "rss_kb %ld\nhwm_kb %ld\n", proc_status_kb("VmRSS:"),
			proc_status_kb("VmHWM:"));
	}
	return 0;
}

/* ---- the loop ---- */

static bool no_color(void)
{
	const char *e = getenv("NO_COLOR");

	return e && *e;
}

static void colors_init(struct ui *u)
{
	u->color = has_colors() && !no_color();
	if (!u->color)
		return;
	start_color();
	use_default_colors();
	init_pair(C_RED, COLOR_RED, -1);
	init_pair(C_YELLOW, COLOR_YELLOW, -1);
	init_pair(C_GREEN, COLOR_GREEN, -1);
	init_pair(C_CYAN, COLOR_CYAN, -1);
	init_pair(C_MAGENTA, COLOR_MAGENTA, -1);
	init_pair(C_BLUE, COLOR_BLUE, -1);
	init_pair(C_BAR, COLOR_BLACK, COLOR_CYAN);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * On the Fleet screen of a server, the nodes are fetched again every u->refresh seconds on the
 * job thread, so agents' reports show without a key; returns the getch() timeout in ms.
 */
static int fleet_refresh(struct ui *u)
{
	double now = now_s();

	if (u->screen != SCR_FLEET || !u->refresh || !u->m || !u->m->nodes_known)
		return -1;
	if (now >= u->next_refresh && !u->job.running) {
		u->next_refresh = now + u->refresh;
		if (job_start(&u->job, JOB_NODES, u->cfg, NULL, NULL) < 0)
			return -1;
		return 100;
	}
	return MAX(50, (int)((u->next_refresh - now) * 1000));
}

int ui_run(const struct dash_source_config *cfg, unsigned refresh, const char *bench_keys,
	   const char *bench_out)
{
	struct ui u = { .cfg = cfg, .f = { .severity = -1, .kernel = -1, .status = -1 },
			.refresh = refresh };
	int r;

	u.utf8 = streq(nl_langinfo(CODESET), "UTF-8");
	job_init(&u.job);
	r = dash_source_open(cfg, &u.src);
	if (r < 0)
		return r;
	set_text(&u.ht, ui_help_text(), TK_PLAIN);
	if (!getenv("ESCDELAY"))
		set_escdelay(25);
	if (!initscr()) {
		dash_source_free(u.src);
		return log_error_errno(-ENOTTY, "cannot start the terminal");
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	colors_init(&u);
	mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED,
		  NULL);
	mouseinterval(200);
	/* A server's requests go to a worker; the local database's are answered at once. */
	if (cfg->server_url && job_queue_new(cfg, &u.q) < 0)
		msg(&u, "cannot start the request worker; requests wait on the screen");
	r = job_start(&u.job, JOB_LOAD, cfg, NULL, NULL);
	if (r < 0)
		msg(&u, "cannot start loading: %s", strerror(-r));
	while (!u.quit) {
		int ch;

		if (job_poll(&u.job)) {
			job_finished(&u);
			if (bench_keys) {
				if (u.m)
					r = bench_run(&u, bench_keys, bench_out);
				else
					r = -EIO;
				break;
			}
		}
		{
			struct job_req *q;

			while ((q = job_queue_take(u.q))) {
				q->done(&u, q);
				job_req_free(q);
			}
		}
		job_log_take(u.msg, sizeof(u.msg));
		ui_draw(&u);
		/* Poll while a job or a request runs, for its progress; otherwise sleep until a key. */
		{
			int t = fleet_refresh(&u), q = job_queue_wait_ms(u.q, 50);

			timeout(q >= 0 ? q : u.job.running ? 100 : t);
		}
		ch = getch();
		u.spin++;
		if (ch == ERR)
			continue;
		if (ch == '\r')
			ch = '\n';
		handle_key(&u, ch);
	}
	endwin();
	job_queue_stop(u.q);
	while (u.job.running && !job_poll(&u.job)) {
		struct timespec t = { 0, 20 * 1000 * 1000 };

		nanosleep(&t, NULL);
	}
	job_reset(&u.job);
	dash_model_free(u.m);
	dash_source_free(u.src);
	free(u.rows_idx);
	free(u.f.file_match);
	free(u.f.file_glob);
	free(u.dt.s);
	free(u.kt.s);
	free(u.nt.s);
	free(u.pt.s);
	free(u.ht.s);
	free(u.patch_kernel);
	json_decref(u.plist);
	for (size_t i = 0; i < u.n_sbs; i++) {
		free(u.sbs[i].l);
		free(u.sbs[i].r);
	}
	free(u.sbs);
	free(u.sbs_title);
	return r < 0 ? r : 0;
}
