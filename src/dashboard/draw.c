/* Drawing the dashboard's screens with ncurses: only the rows that show, every time. */
#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "source.h"
#include "ui.h"
#include "banned.h"

/* From this width the Patches screen shows two revisions side by side. */
#define SBS_MIN_COLS 160

static const char *const screen_names[_SCR_MAX] = {
	[SCR_CVES] = "CVEs",	     [SCR_KERNELS] = "Kernels",	  [SCR_FLEET] = "Fleet",
	[SCR_PATCHES] = "Patches", [SCR_EXPOSURE] = "Exposure", [SCR_HELP] = "Help",
};

const char *ui_screen_name(enum dash_screen s)
{
	return s < _SCR_MAX ? screen_names[s] : "?";
}

static attr_t cattr(const struct ui *u, int pair, attr_t fallback)
{
	return u->color ? COLOR_PAIR(pair) : fallback;
}

#define TAB_STOP 8

/*
 * Draws at most W columns of S (UTF-8) at Y, X, a tab up to the next multiple of 8 columns
 * from X; pads with blanks to W when PAD.
 */
static int put_str(const struct ui *u, int y, int x, const char *s, size_t len, int w, bool pad)
{
	mbstate_t st = {};
	int col = 0;

	move(y, x);
	while (len && *s && col < w) {
		wchar_t wc;
		size_t n = u->utf8 ? mbrtowc(&wc, s, len, &st) : 1;
		int cw;

		if (!u->utf8)
			wc = (unsigned char)*s < 0x80 ? (wchar_t)*s : L'?';
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
			memset(&st, 0, sizeof(st));
			wc = L'?';
			n = 1;
		}
		if (wc == L'\t') { /* to the next stop of 8, as a terminal or git shows a patch */
			int stop = MIN(w, (col / TAB_STOP + 1) * TAB_STOP);

			while (col < stop) {
				addch(' ');
				col++;
			}
			s += n;
			len -= n;
			continue;
		}
		cw = wcwidth(wc);
		if (cw < 0) {
			wc = L'?';
			cw = 1;
		}
		if (col + cw > w)
			break;
		addnwstr(&wc, 1);
		col += cw;
		s += n;
		len -= n;
	}
	while (pad && col < w) {
		addch(' ');
		col++;
	}
	return col;
}

static int put(const struct ui *u, int y, int x, const char *s, int w)
{
	return put_str(u, y, x, s, strlen(s), w, false);
}

/* Bytes of S (at most LEN) that fit in W columns, broken at a blank when one is near. */
static size_t fit(const struct ui *u, const char *s, size_t len, int w, bool *ret_nl)
{
	mbstate_t st = {};
	size_t i = 0, last_blank = 0;
	int col = 0;

	*ret_nl = false;
	while (i < len) {
		wchar_t wc;
		size_t n = 1;
		int cw = 1;

		if (s[i] == '\n') {
			*ret_nl = true;
			return i;
		}
		if (s[i] == '\t')
			cw = TAB_STOP - col % TAB_STOP;
		else if (u->utf8) {
			n = mbrtowc(&wc, s + i, len - i, &st);
			if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
				memset(&st, 0, sizeof(st));
				n = 1;
			} else if ((cw = wcwidth(wc)) < 0)
				cw = 1;
		}
		if (col + cw > w)
			return last_blank > (size_t)w / 2 ? last_blank : i;
		if (s[i] == ' ')
			last_blank = i + 1;
		col += cw;
		i += n;
	}
	return i;
}

static attr_t line_attr(const struct ui *u, enum text_kind kind, const char *line, size_t len,
			bool first)
{
	if (!first)
		return A_NORMAL;
	if (kind == TK_DIFF) {
		if (len >= 2 && !strncmp(line, "@@", 2))
			return cattr(u, C_CYAN, A_BOLD);
		if (len >= 3 && (!strncmp(line, "+++", 3) || !strncmp(line, "---", 3)))
			return A_BOLD;
		if (len && line[0] == '+')
			return cattr(u, C_GREEN, A_BOLD);
		if (len && line[0] == '-')
			return cattr(u, C_RED, A_DIM);
		if (len >= 5 && (!strncmp(line, "From ", 5) || !strncmp(line, "Subje", 5) ||
				 !strncmp(line, "diff ", 5)))
			return A_BOLD;
		return A_NORMAL;
	}
	if (kind == TK_DETAIL && len && line[0] != ' ' && line[len - 1] == ':')
		return A_BOLD | cattr(u, C_CYAN, 0);
	if (kind == TK_DETAIL && len > 3 && !strncmp(line, "CVE-", 4))
		return A_BOLD;
	return A_NORMAL;
}

/*
 * Walks T's text wrapped at W columns: calls FN for each line with its bytes and whether it
 * starts a logical line; stops when FN returns true. Returns the number of lines walked.
 */
static size_t text_walk(const struct ui *u, const struct text *t, int w,
			bool (*fn)(void *ud, size_t line, const char *s, size_t n, bool first),
			void *ud)
{
	const char *s = t->s ? t->s : "";
	size_t len = strlen(s), line = 0;
	bool first = true;

	while (len || line == 0) {
		bool nl;
		size_t n = fit(u, s, len, w, &nl);

		if (!nl && n == 0 && len)
			n = 1; /* a character wider than the box */
		if (fn(ud, line, s, n, first))
			return line;
		line++;
		first = nl;
		s += n + nl;
		len -= n + nl;
		if (!len)
			break;
		/* A wrapped line continues without its blank. */
		if (!nl)
			while (len && *s == ' ') {
				s++;
				len--;
			}
	}
	return line;
}

struct draw_ctx {
	const struct ui *u;
	const struct text *t;
	int y, x, h, w;
};

static bool draw_line(void *ud, size_t line, const char *s, size_t n, bool first)
{
	struct draw_ctx *d = ud;

	if (line >= d->t->top && line < d->t->top + (size_t)d->h) {
		attr_t a = line_attr(d->u, d->t->kind, s, n, first);

		attron(a);
		put_str(d->u, d->y + (int)(line - d->t->top), d->x, s, n, d->w, true);
		attroff(a);
	}
	return false;
}

/* Draws T in the box; keeps its line count and width for scrolling and searching. */
static void draw_text(const struct ui *u, struct text *t, int y, int x, int h, int w)
{
	struct draw_ctx d = { u, t, y, x, h, w };
	size_t line;

	if (w < 4 || h < 1)
		return;
	line = text_walk(u, t, w, draw_line, &d);
	for (size_t l = line; l < t->top + (size_t)h; l++)
		if (l >= t->top)
			mvhline(y + (int)(l - t->top), x, ' ', w);
	t->n_lines = line;
	t->height = h;
	t->width = w;
}

struct find_ctx {
	size_t from, hit, logical_start;
	const char *needle;
	bool found;
};

/* Matches whole logical lines, and lands on the first wrapped line of the one that matches. */
static bool find_line(void *ud, size_t line, const char *s, size_t n, bool first)
{
	struct find_ctx *f = ud;
	const char *nl;
	_cleanup_free_ char *one = NULL;

	if (!first)
		return false;
	if (line <= f->from)
		return false;
	nl = strchr(s, '\n');
	one = strndup(s, nl ? (size_t)(nl - s) : strlen(s));
	if (one && strcasestr(one, f->needle)) {
		f->hit = line;
		f->found = true;
		return true;
	}
	return false;
}

bool ui_text_find(const struct ui *u, const struct text *t, size_t after, const char *needle,
		  size_t *ret_line)
{
	struct find_ctx f = { .from = after, .needle = needle };

	text_walk(u, t, t->width > 0 ? t->width : u->cols, find_line, &f);
	if (f.found)
		*ret_line = f.hit;
	return f.found;
}

void ui_tab_span(enum dash_screen s, int *ret_x, int *ret_w)
{
	int x = 0;

	for (enum dash_screen i = 0; i < s; i++)
		x += (int)strlen(screen_names[i]) + 4;
	*ret_x = x;
	*ret_w = (int)strlen(screen_names[s]) + 3;
}

static void draw_tabs(struct ui *u)
{
	attr_t bar = cattr(u, C_BAR, A_REVERSE);

	attron(bar);
	mvhline(0, 0, ' ', u->cols);
	for (enum dash_screen s = 0; s < _SCR_MAX; s++) {
		char label[32];
		int x, w;

		ui_tab_span(s, &x, &w);
		if (x + w > u->cols)
			break;
		snprintf(label, sizeof(label), " %c %s", s == SCR_HELP ? '?' : '1' + (int)s,
			 screen_names[s]);
		if (s == u->screen)
			attron(A_BOLD | A_UNDERLINE);
		put(u, 0, x, label, w);
		attroff(A_BOLD | A_UNDERLINE);
	}
	if (u->m) {
		int x, w;

		ui_tab_span(SCR_HELP, &x, &w);
		x += w + 2;
		if (u->cols - x > 8) {
			int n = (int)strlen(u->m->where);

			put(u, 0, n + 1 < u->cols - x ? u->cols - n - 1 : x, u->m->where,
			    u->cols - x);
		}
	}
	attroff(bar);
}

static const char *prompt_label(enum prompt p)
{
	return p == PROMPT_SEARCH    ? "/"
	       : p == PROMPT_FILE    ? "file glob: "
	       : p == PROMPT_COMMENT ? "comment: "
	       : p == PROMPT_REJECT  ? "reject, because: "
				     : "publish to channel: ";
}

static void draw_status(struct ui *u)
{
	char left[300], right[200] = "", ind[160] = "", busy[100];
	int y = u->rows - 1, rw;

	/*
	 * Work in progress shows on the right, beside the count, so that the last message (an
	 * answer, a refusal) stays on the left until the next key, however often the fleet is
	 * refreshed or a request is out.
	 */
	if (job_queue_busy(u->q, busy, sizeof(busy)))
		/* A request to the server is out; the keys still work meanwhile. */
		snprintf(ind, sizeof(ind), " [%c] working: %s ...", "|/-\\"[u->spin % 4], busy);
	else if (u->job.running) {
		char d[100];

		job_describe(&u->job, d, sizeof(d));
		snprintf(ind, sizeof(ind), " [%c] %s", "|/-\\"[u->spin % 4], d);
	}
	if (u->prompt != PROMPT_NONE)
		snprintf(left, sizeof(left), "%s%.*s", prompt_label(u->prompt), (int)u->plen, u->pbuf);
	else
		snprintf(left, sizeof(left), "%s", u->msg);
	if (u->m && u->screen == SCR_CVES)
		snprintf(right, sizeof(right), "%s %zu/%zu CVEs ", ind, u->n_rows, u->m->n_cves);
	else if (u->m)
		snprintf(right, sizeof(right), "%s %zu CVEs ", ind, u->m->n_cves);
	else
		snprintf(right, sizeof(right), "%s ", ind);
	if ((int)strlen(right) > u->cols / 2 + 10 && *ind) /* a narrow screen: the count goes */
		snprintf(right, sizeof(right), "%s ", ind);
	rw = (int)strlen(right);
	attron(A_BOLD);
	put_str(u, y, 0, left, strlen(left), u->cols - rw > 0 ? u->cols - rw : 0, true);
	attroff(A_BOLD);
	if (u->cols > rw)
		put(u, y, u->cols - rw, right, rw);
	if (u->prompt != PROMPT_NONE) {
		curs_set(1);
		move(y, (int)MIN((size_t)u->cols - 1,
				 u->plen + strlen(prompt_label(u->prompt))));
	} else
		curs_set(0);
}

static const char *sev_short(enum dash_severity s)
{
	static const char *const n[_SEV_MAX] = { "-", "LOW", "MED", "HIGH", "CRIT" };

	return s < _SEV_MAX ? n[s] : "?";
}

static int sev_pair(enum dash_severity s)
{
	return s == SEV_CRITICAL ? C_RED : s == SEV_HIGH ? C_YELLOW : s == SEV_MEDIUM ? C_CYAN : 0;
}

static int verdict_pair(enum dash_verdict v)
{
	switch (v) {
	case DV_AFFECTED:
		return C_RED;
	case DV_NOT_COMPILED:
		return C_YELLOW;
	case DV_FIXED:
	case DV_PATCHED:
		return C_GREEN;
	case DV_UNKNOWN:
		return C_MAGENTA;
	default:
		return 0;
	}
}

static char kernel_label(size_t k)
{
	return k < 9 ? (char)('1' + k) : k < 35 ? (char)('a' + k - 9) : '+';
}

#define MAX_VERDICT_COLS 16

void ui_cve_list_geometry(const struct ui *u, int *ret_y, int *ret_h)
{
	int h = u->rows - 4; /* tabs, filters, header, status */

	if (u->detail && u->cols < 160)
		h = MAX(3, (h - 1) * 2 / 5);
	*ret_y = 3;
	*ret_h = h;
}

static void draw_cve_row(struct ui *u, int y, int w, size_t c, bool sel)
{
	const struct dash_model *m = u->m;
	const struct dash_cve *cve = &m->cves[c];
	size_t nk = MIN(m->n_kernels, (size_t)MAX_VERDICT_COLS);
	bool wide = w >= 64;
	char buf[64];
	int x = 0;

	if (sel)
		attron(A_REVERSE);
	mvhline(y, 0, ' ', w);
	attron(cve->kev ? (A_BOLD | cattr(u, C_RED, 0)) : A_NORMAL);
	put(u, y, x, cve->id, 15);
	attroff(A_BOLD | cattr(u, C_RED, 0));
	x += 15;
	if (cve->score >= 0)
		snprintf(buf, sizeof(buf), "%4.1f", cve->score);
	else
		snprintf(buf, sizeof(buf), "   -");
	put(u, y, x, buf, 4);
	x += 5;
	attron(cattr(u, sev_pair(cve->severity), cve->severity >= SEV_HIGH ? A_BOLD : 0));
	put(u, y, x, sev_short(cve->severity), 4);
	attroff(cattr(u, sev_pair(cve->severity), A_BOLD));
	x += 5;
	put(u, y, x, cve->kev ? "K" : " ", 1);
	x += 2;
	if (wide) {
		if (cve->epss >= 0)
			snprintf(buf, sizeof(buf), "%.3f", cve->epss);
		else
			snprintf(buf, sizeof(buf), "    -");
		put(u, y, x, buf, 5);
		x += 6;
	}
	for (size_t k = 0; k < nk; k++) {
		enum dash_verdict v = dash_verdict(m, c, k);
		attr_t a = cattr(u, verdict_pair(v), v == DV_AFFECTED ? A_BOLD : 0);

		if (v == DV_AFFECTED)
			a |= A_BOLD;
		attron(a);
		mvaddch(y, x + (int)k, (chtype)dash_verdict_glyph(v));
		attroff(a);
	}
	x += (int)nk + 1;
	if (wide) {
		if (cve->nodes >= 0)
			snprintf(buf, sizeof(buf), "%5d", cve->nodes);
		else
			snprintf(buf, sizeof(buf), "    -");
		put(u, y, x, buf, 5);
		x += 6;
	}
	if (x < w)
		put(u, y, x, cve->rejected ? "(rejected) " : "", w - x);
	if (x < w)
		put(u, y, x + (cve->rejected ? 11 : 0), cve->title, w - x - (cve->rejected ? 11 : 0));
	if (sel)
		attroff(A_REVERSE);
}

static void draw_filters(struct ui *u, int w)
{
	const struct dash_filter *f = &u->f;
	char line[512];

	snprintf(line, sizeof(line), "sev:%s  kernel:%s  status:%s  kev:%s  file:%s%s%s%s",
		 f->severity < 0 ? "any" : dash_severity_name(f->severity),
		 f->kernel < 0 ? "any" : u->m->kernels[f->kernel].name,
		 f->status < 0 ? "any" : dash_verdict_name(f->status), f->kev_only ? "only" : "any",
		 f->file_glob ? f->file_glob : "-", f->rejected ? "  +rejected" : "", u->search[0] ? "  /" : "", u->search);
	attron(A_DIM);
	put_str(u, 1, 0, line, strlen(line), w, true);
	attroff(A_DIM);
}

static void draw_cves(struct ui *u)
{
	const struct dash_model *m = u->m;
	size_t nk = MIN(m->n_kernels, (size_t)MAX_VERDICT_COLS);
	int y0, h, w = u->detail && u->cols >= 160 ? u->cols / 2 : u->cols;
	char head[128];
	int x;

	ui_cve_list_geometry(u, &y0, &h);
	draw_filters(u, u->cols);
	attron(A_BOLD | A_UNDERLINE);
	mvhline(2, 0, ' ', w);
	x = snprintf(head, sizeof(head), "%-15s%4s %-4s %s %s", "CVE", "CVSS", "SEV", "K",
		     w >= 64 ? " EPSS " : "");
	put(u, 2, 0, head, w);
	for (size_t k = 0; k < nk; k++)
		mvaddch(2, x + (int)k, (chtype)kernel_label(k));
	x += (int)nk + 1;
	if (w >= 64) {
		put(u, 2, x, "NODES", 5);
		x += 6;
	}
	if (x < w)
		put(u, 2, x, "TITLE", w - x);
	attroff(A_BOLD | A_UNDERLINE);
	if (u->cl.sel < u->cl.top)
		u->cl.top = u->cl.sel;
	if (u->cl.sel >= u->cl.top + (size_t)h)
		u->cl.top = u->cl.sel - (size_t)h + 1;
	for (int r = 0; r < h; r++) {
		size_t i = u->cl.top + (size_t)r;

		if (i < u->n_rows)
			draw_cve_row(u, y0 + r, w, u->rows_idx[i], i == u->cl.sel);
		else
			mvhline(y0 + r, 0, ' ', w);
	}
	if (!u->n_rows && h > 0)
		put(u, y0, 0, "no CVE passes the filters (c clears them)", w);
	if (!u->detail)
		return;
	if (u->cols >= 160) {
		attron(u->focus_detail ? A_BOLD : A_DIM);
		mvvline(2, w, ACS_VLINE, u->rows - 3);
		attroff(A_BOLD | A_DIM);
		draw_text(u, &u->dt, 2, w + 2, u->rows - 3, u->cols - w - 2);
	} else {
		int dy = y0 + h;

		attron(u->focus_detail ? A_BOLD : A_DIM);
		mvhline(dy, 0, ACS_HLINE, u->cols);
		attroff(A_BOLD | A_DIM);
		draw_text(u, &u->dt, dy + 1, 0, u->rows - 2 - dy, u->cols);
	}
}

/* A list screen's rows and a text pane below (narrow) or beside (wide) it when open. */
static void split(const struct ui *u, bool open, int n_rows, int *ret_list_h, int *ret_w)
{
	int avail = u->rows - 3;

	*ret_w = open && u->cols >= 160 ? u->cols / 2 : u->cols;
	if (open && u->cols < 160)
		*ret_list_h = MIN(n_rows + 1, MAX(3, avail * 2 / 5));
	else
		*ret_list_h = avail;
}

static void draw_side_text(struct ui *u, struct text *t, int list_h, int list_w, bool focus)
{
	attron(focus ? A_BOLD : A_DIM);
	if (list_w < u->cols) {
		mvvline(1, list_w, ACS_VLINE, u->rows - 2);
		attroff(A_BOLD | A_DIM);
		draw_text(u, t, 1, list_w + 2, u->rows - 2, u->cols - list_w - 2);
	} else {
		mvhline(1 + list_h, 0, ACS_HLINE, u->cols);
		attroff(A_BOLD | A_DIM);
		draw_text(u, t, 2 + list_h, 0, u->rows - 3 - list_h, u->cols);
	}
}

static void scroll_into(struct cursor *c, int h)
{
	if (h < 1)
		h = 1;
	if (c->sel < c->top)
		c->top = c->sel;
	if (c->sel >= c->top + (size_t)h)
		c->top = c->sel - (size_t)h + 1;
}

static void draw_kernels(struct ui *u)
{
	const struct dash_model *m = u->m;
	int lh, w;
	char line[512];

	split(u, u->kdetail, (int)m->n_kernels, &lh, &w);
	attron(A_BOLD | A_UNDERLINE);
	/* Below 110 columns the release moves to the detail pane. */
	if (w >= 110)
		snprintf(line, sizeof(line), "%-2s %-16s %-22s %-9s %-8s %6s %6s %6s %6s %6s %6s %5s",
			 "#", "KERNEL", "RELEASE", "VERSION", "FILES BY", "FILES", "AFFECT", "NOTCMP",
			 "FIXED", "NOTAFF", "UNKN", "NODES");
	else
		snprintf(line, sizeof(line), "%-2s %-12s %-8s %-6s %5s %6s %6s %6s %6s %5s %5s", "#",
			 "KERNEL", "VERSION", "BY", "FILES", "AFFECT", "NOTCMP", "FIXED", "NOTAFF",
			 "UNKN", "NODES");
	put_str(u, 1, 0, line, strlen(line), w, true);
	attroff(A_BOLD | A_UNDERLINE);
	scroll_into(&u->kl, lh - 1);
	for (int r = 0; r < lh - 1; r++) {
		size_t i = u->kl.top + (size_t)r;
		const struct dash_kernel *k;
		char nodes[24];

		if (i >= m->n_kernels) {
			mvhline(2 + r, 0, ' ', w);
			continue;
		}
		k = &m->kernels[i];
		if (k->nodes >= 0)
			snprintf(nodes, sizeof(nodes), "%ld", k->nodes);
		else
			snprintf(nodes, sizeof(nodes), "-");
		if (w >= 110)
			snprintf(line, sizeof(line),
				 "%c  %-16.16s %-22.22s %-9.9s %-8.8s %6ld %6ld %6ld %6ld %6ld %6ld %5s",
				 kernel_label(i), k->name, k->release, k->version, k->files_method,
				 k->files, k->counts[DV_AFFECTED], k->counts[DV_NOT_COMPILED],
				 k->counts[DV_FIXED], k->counts[DV_NOT_AFFECTED], k->counts[DV_UNKNOWN],
				 nodes);
		else
			snprintf(line, sizeof(line),
				 "%c  %-12.12s %-8.8s %-6.6s %5ld %6ld %6ld %6ld %6ld %5ld %5s",
				 kernel_label(i), k->name, k->version, k->files_method, k->files,
				 k->counts[DV_AFFECTED], k->counts[DV_NOT_COMPILED], k->counts[DV_FIXED],
				 k->counts[DV_NOT_AFFECTED], k->counts[DV_UNKNOWN], nodes);
		if (i == u->kl.sel)
			attron(A_REVERSE);
		put_str(u, 2 + r, 0, line, strlen(line), w, true);
		attroff(A_REVERSE);
	}
	if (!m->n_kernels)
		put(u, 2, 0, "no kernels: add one with 'tuxtape kernel add' (see README)", w);
	if (u->kdetail)
		draw_side_text(u, &u->kt, lh, w, true);
}

static bool fleet_unmatched(const struct dash_model *m)
{
	for (size_t i = 0; i < m->n_nodes; i++)
		if (m->nodes[i].kernel_idx < 0)
			return true;
	return false;
}

/* Rows of the nodes-by-kernel table above the node list (none with the pane below it). */
int ui_fleet_top(const struct ui *u)
{
	int lh, w, n;

	if (!u->m || !u->m->nodes_known)
		return 0;
	split(u, u->ndetail, (int)u->m->n_nodes, &lh, &w);
	if (u->ndetail && w == u->cols)
		return 0;
	n = (int)u->m->n_kernels + 2 + (fleet_unmatched(u->m) ? 1 : 0);
	return MIN(n, lh / 2);
}

static void fleet_count(const struct dash_node *n, long c[4])
{
	c[0]++;
	if (n->state && streq(n->state, "ok"))
		c[1]++;
	else if (n->state && streq(n->state, "error"))
		c[2]++;
	else
		c[3]++;
}

/* Nodes by kernel and state: one line per inventory kernel, one for the others. */
static void draw_fleet_kernels(struct ui *u, int w)
{
	const struct dash_model *m = u->m;
	int top = ui_fleet_top(u), y = 1;
	char line[256];

	attron(A_BOLD | A_UNDERLINE);
	snprintf(line, sizeof(line), "%-18s %5s %5s %5s %5s %8s", "KERNEL", "NODES", "OK", "ERROR",
		 "STALE", "AFFECTED");
	put_str(u, y++, 0, line, strlen(line), w, true);
	attroff(A_BOLD | A_UNDERLINE);
	for (size_t k = 0; k <= m->n_kernels && y < top; k++) {
		long c[4] = {};

		for (size_t i = 0; i < m->n_nodes; i++)
			if (m->nodes[i].kernel_idx == (k < m->n_kernels ? (int)k : -1))
				fleet_count(&m->nodes[i], c);
		if (k == m->n_kernels && !c[0])
			break;
		if (k < m->n_kernels)
			snprintf(line, sizeof(line), "%-18.18s %5ld %5ld %5ld %5ld %8ld",
				 m->kernels[k].name, c[0], c[1], c[2], c[3],
				 m->kernels[k].counts[DV_AFFECTED]);
		else
			snprintf(line, sizeof(line), "%-18.18s %5ld %5ld %5ld %5ld %8s",
				 "(not in inventory)", c[0], c[1], c[2], c[3], "-");
		attron(c[2] ? cattr(u, C_RED, 0) : 0);
		put_str(u, y++, 0, line, strlen(line), w, true);
		attroff(c[2] ? cattr(u, C_RED, 0) : 0);
	}
	for (; y < 1 + top; y++)
		mvhline(y, 0, ' ', w);
}

static void draw_fleet(struct ui *u)
{
	const struct dash_model *m = u->m;
	int lh, w, top, y = 1;
	char line[512];

	if (!m->nodes_known) {
		static const char note[] =
			"Nodes report to tuxtape-server: a local database (--db) has kernels, not "
			"the machines that run them. Run with --server URL to see the fleet.";

		u->nt.kind = TK_PLAIN;
		attron(A_BOLD);
		put(u, y++, 0, "Fleet: no node data in this source", u->cols);
		attroff(A_BOLD);
		{
			struct text t = { .s = (char *)note };

			draw_text(u, &t, y, 0, 2, u->cols);
			y += (int)MIN(t.n_lines, 2) + 1;
		}
		attron(A_BOLD | A_UNDERLINE);
		put_str(u, y, 0, "KERNEL            AFFECTED  NOT-COMPILED  FIXED  (exposure by kernel)",
			71, u->cols, true);
		attroff(A_BOLD | A_UNDERLINE);
		y++;
		for (size_t i = 0; i < m->n_kernels && y < u->rows - 1; i++, y++) {
			const struct dash_kernel *k = &m->kernels[i];

			snprintf(line, sizeof(line), "%-16.16s  %8ld  %12ld  %5ld", k->name,
				 k->counts[DV_AFFECTED], k->counts[DV_NOT_COMPILED],
				 k->counts[DV_FIXED]);
			put_str(u, y, 0, line, strlen(line), u->cols, true);
		}
		for (; y < u->rows - 1; y++)
			mvhline(y, 0, ' ', u->cols);
		return;
	}
	split(u, u->ndetail, (int)m->n_nodes, &lh, &w);
	top = ui_fleet_top(u);
	if (top)
		draw_fleet_kernels(u, w);
	attron(A_BOLD | A_UNDERLINE);
	snprintf(line, sizeof(line), "%-12s %-14s %-6s %7s %7s %-20s", "NODE", "KERNEL", "STATE",
		 "PATCHES", "EXPOSED", w >= 100 ? "LAST ERROR (or LAST SEEN)" : "LAST ERROR");
	put_str(u, 1 + top, 0, line, strlen(line), w, true);
	attroff(A_BOLD | A_UNDERLINE);
	scroll_into(&u->nl, lh - 1 - top);
	for (int r = 0; r < lh - 1 - top; r++) {
		size_t i = u->nl.top + (size_t)r;
		const struct dash_node *n;
		char exposed[24];
		attr_t a = 0;

		if (i >= m->n_nodes) {
			mvhline(2 + top + r, 0, ' ', w);
			continue;
		}
		n = &m->nodes[i];
		if (n->exposed >= 0)
			snprintf(exposed, sizeof(exposed), "%ld", n->exposed);
		else
			snprintf(exposed, sizeof(exposed), "-");
		snprintf(line, sizeof(line), "%-12.12s %-14.14s %-6.6s %7ld %7s %s",
			 n->name ? n->name : "-", n->kernel ? n->kernel : "-",
			 n->state ? n->state : "-", n->patches, exposed,
			 n->last_error ? n->last_error
			 : w >= 100 && n->last_seen ? n->last_seen : "");
		if (n->state && streq(n->state, "error"))
			a = cattr(u, C_RED, A_BOLD);
		else if (!n->state || !streq(n->state, "ok"))
			a = cattr(u, C_YELLOW, A_BOLD);
		if (i == u->nl.sel)
			a |= A_REVERSE;
		attron(a);
		put_str(u, 2 + top + r, 0, line, strlen(line), w, true);
		attroff(a);
	}
	if (!m->n_nodes)
		put(u, 2 + top, 0, "no node has reported to this server yet", w);
	if (u->ndetail)
		draw_side_text(u, &u->nt, lh, w, true);
}

static const char *const spark_utf8[] = { " ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
static const char *const spark_ascii[] = { " ", ".", ".", "_", "_", "=", "=", "#", "#" };

static void draw_exposure(struct ui *u)
{
	const struct dash_model *m = u->m;
	const char *const *blocks = u->utf8 ? spark_utf8 : spark_ascii;
	_cleanup_free_ long *counts = NULL;
	int first, chart_h, chart_w, y0 = 3, xw = 6;
	size_t n, shown, start, nk_rows;
	long max = 1, total = 0, recent = 0;
	char line[256];

	if (!m->n_kernels) {
		put(u, 1, 0, "no kernels: the chart needs a kernel's verdicts", u->cols);
		return;
	}
	if (u->chart_k >= m->n_kernels)
		u->chart_k = 0;
	if (dash_exposure(m, u->chart_k, &first, &counts, &n) < 0)
		return;
	nk_rows = MIN(m->n_kernels, (size_t)MAX(0, (u->rows - 10) / 3));
	chart_h = u->rows - 1 - y0 - 2 - (nk_rows ? (int)nk_rows + 1 : 0);
	chart_w = u->cols - xw - 1;
	if (chart_h < 2 || chart_w < 8) {
		put(u, 1, 0, "the terminal is too small for the chart", u->cols);
		return;
	}
	shown = MIN(n, (size_t)chart_w);
	start = n - shown;
	for (size_t i = 0; i < n; i++) {
		total += counts[i];
		if (i >= start && counts[i] > max)
			max = counts[i];
		if (i + 4 >= n)
			recent += counts[i];
	}
	snprintf(line, sizeof(line), "Exposure of %s (%c, %zu of %zu; h/l another): affected CVEs "
		 "by week published", m->kernels[u->chart_k].name, kernel_label(u->chart_k),
		 u->chart_k + 1, m->n_kernels);
	attron(A_BOLD);
	put_str(u, 1, 0, line, strlen(line), u->cols, true);
	attroff(A_BOLD);
	snprintf(line, sizeof(line), "%ld affected in all, %ld in the last 4 weeks; %zu weeks shown, "
		 "peak %ld a week", total, recent, shown, max);
	put_str(u, 2, 0, line, strlen(line), u->cols, true);
	for (int r = 0; r < chart_h; r++) {
		long level = chart_h - r; /* in rows, from the bottom */

		mvhline(y0 + r, 0, ' ', u->cols);
		if (r == 0 || r == chart_h - 1 || r == chart_h / 2) {
			snprintf(line, sizeof(line), "%5ld", max * level / chart_h);
			put(u, y0 + r, 0, line, xw - 1);
		}
		mvaddch(y0 + r, xw - 1, ACS_VLINE);
		attron(cattr(u, C_RED, A_BOLD));
		for (size_t i = 0; i < shown; i++) {
			long eighths = counts[start + i] * chart_h * 8 / max;
			long full = eighths / 8, part = eighths % 8;
			const char *b = NULL;

			if (level <= full)
				b = blocks[8];
			else if (level == full + 1 && part)
				b = blocks[part];
			else if (level == 1 && counts[start + i])
				b = blocks[1];
			if (b)
				mvaddstr(y0 + r, xw + (int)i, b);
		}
		attroff(cattr(u, C_RED, A_BOLD));
	}
	/* The time axis: a date under every 13th week (about a quarter). */
	mvhline(y0 + chart_h, 0, ' ', u->cols);
	mvaddch(y0 + chart_h, xw - 1, ACS_LLCORNER);
	mvhline(y0 + chart_h, xw, ACS_HLINE, (int)shown);
	mvhline(y0 + chart_h + 1, 0, ' ', u->cols);
	for (size_t i = 0; i + 10 <= shown; i += 13) {
		char d[11];

		dash_week_label(first + (int)(start + i), d);
		put(u, y0 + chart_h + 1, xw + (int)i, d, 10);
	}
	/* Every kernel's last weeks as a sparkline. */
	if (!nk_rows)
		return;
	{
		int y = y0 + chart_h + 2;

		attron(A_BOLD | A_UNDERLINE);
		put_str(u, y, 0, "KERNEL           TOTAL  LAST WEEKS", 34, u->cols, true);
		attroff(A_BOLD | A_UNDERLINE);
		for (size_t k = 0; k < nk_rows; k++) {
			_cleanup_free_ long *c = NULL;
			int f;
			size_t kn, ks, kw;
			long kmax = 1, ktot = 0;

			y++;
			mvhline(y, 0, ' ', u->cols);
			if (dash_exposure(m, k, &f, &c, &kn) < 0)
				continue;
			kw = MIN(kn, (size_t)MAX(0, u->cols - 24));
			ks = kn - kw;
			for (size_t i = 0; i < kn; i++) {
				ktot += c[i];
				if (i >= ks && c[i] > kmax)
					kmax = c[i];
			}
			snprintf(line, sizeof(line), "%c %-14.14s %6ld  ", kernel_label(k),
				 m->kernels[k].name, ktot);
			if (k == u->chart_k)
				attron(A_BOLD);
			put(u, y, 0, line, 24);
			attroff(A_BOLD);
			attron(cattr(u, C_RED, 0));
			for (size_t i = 0; i < kw; i++)
				mvaddstr(y, 24 + (int)i, blocks[c[ks + i] ? 1 + c[ks + i] * 7 / kmax : 0]);
			attroff(cattr(u, C_RED, 0));
		}
	}
}

/*
 * Revision 1 and the current revision side by side, in two halves: the same lines plain,
 * a removed line red on the left, an added one green on the right, a changed pair both; the
 * gutter between says it too ('<' '>' '|'), so NO_COLOR loses nothing.
 */
static void draw_sbs(struct ui *u, int y, int h)
{
	int half = (u->cols - 3) / 2;
	size_t top;

	put_str(u, y, 0, u->sbs_title, strlen(u->sbs_title), u->cols, true);
	mvchgat(y, 0, -1, A_BOLD, 0, NULL);
	y++;
	h--;
	if (h < 1)
		return;
	u->pt.n_lines = u->n_sbs;
	u->pt.height = h;
	u->pt.width = u->cols;
	if (u->pt.top + (size_t)h > u->n_sbs)
		u->pt.top = u->n_sbs > (size_t)h ? u->n_sbs - (size_t)h : 0;
	top = u->pt.top;
	for (int i = 0; i < h; i++) {
		const struct sbs_row *r = top + (size_t)i < u->n_sbs ? &u->sbs[top + (size_t)i] : NULL;
		attr_t la = A_NORMAL, ra = A_NORMAL;
		const char *gutter = " ";

		if (!r) {
			mvhline(y + i, 0, ' ', u->cols);
			continue;
		}
		if (r->tag == '@') {
			attron(cattr(u, C_CYAN, A_BOLD));
			put_str(u, y + i, 0, r->l, strlen(r->l), u->cols, true);
			attroff(cattr(u, C_CYAN, A_BOLD));
			continue;
		}
		if (r->tag == '-' || r->tag == '~')
			la = cattr(u, C_RED, A_DIM) | A_BOLD;
		if (r->tag == '+' || r->tag == '~')
			ra = cattr(u, C_GREEN, A_BOLD) | A_BOLD;
		gutter = r->tag == '-' ? "<" : r->tag == '+' ? ">" : r->tag == '~' ? "|" : " ";
		attron(la);
		put_str(u, y + i, 0, r->l ? r->l : "", r->l ? strlen(r->l) : 0, half, true);
		attroff(la);
		put(u, y + i, half, " ", 1);
		attron(A_BOLD);
		put(u, y + i, half + 1, gutter, 1);
		attroff(A_BOLD);
		put(u, y + i, half + 2, " ", 1);
		attron(ra);
		put_str(u, y + i, half + 3, r->r ? r->r : "", r->r ? strlen(r->r) : 0,
			u->cols - half - 3, true);
		attroff(ra);
	}
}

int ui_list_height(const struct ui *u)
{
	int h, w;

	switch (u->screen) {
	case SCR_CVES: {
		int y;

		ui_cve_list_geometry(u, &y, &h);
		return h;
	}
	case SCR_KERNELS:
		split(u, u->kdetail, u->m ? (int)u->m->n_kernels : 0, &h, &w);
		return h - 1;
	case SCR_FLEET:
		split(u, u->ndetail, u->m ? (int)u->m->n_nodes : 0, &h, &w);
		return h - 1 - ui_fleet_top(u);
	default:
		return u->rows - 3;
	}
}

int ui_text_height(const struct ui *u)
{
	switch (u->screen) {
	case SCR_CVES:
		return u->dt.height > 0 ? u->dt.height : 5;
	case SCR_KERNELS:
		return u->kt.height > 0 ? u->kt.height : 5;
	case SCR_FLEET:
		return u->nt.height > 0 ? u->nt.height : 5;
	default:
		return u->rows - 2;
	}
}

void ui_draw(struct ui *u)
{
	getmaxyx(stdscr, u->rows, u->cols);
	erase();
	draw_tabs(u);
	if (u->rows < 6 || u->cols < 30) {
		put(u, 1, 0, "the terminal is too small", u->cols);
	} else if (u->screen == SCR_HELP) {
		draw_text(u, &u->ht, 1, 0, u->rows - 2, u->cols);
	} else if (u->screen == SCR_PATCHES && u->sbs && u->cols >= SBS_MIN_COLS) {
		draw_sbs(u, 1, u->rows - 2);
	} else if (u->screen == SCR_PATCHES) {
		draw_text(u, &u->pt, 1, 0, u->rows - 2, u->cols);
	} else if (!u->m) {
		put(u, 2, 2, u->job.running ? "loading ..." : "nothing loaded (r reloads)", u->cols - 2);
	} else if (u->screen == SCR_CVES) {
		draw_cves(u);
	} else if (u->screen == SCR_KERNELS) {
		draw_kernels(u);
	} else if (u->screen == SCR_FLEET) {
		draw_fleet(u);
	} else if (u->screen == SCR_EXPOSURE) {
		draw_exposure(u);
	}
	draw_status(u);
	wnoutrefresh(stdscr);
	doupdate();
}
