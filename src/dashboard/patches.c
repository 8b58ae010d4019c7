/*
 * The Patches screen's review workflow through a server (the source's call/get_text): the
 * patch list with the selected patch's revisions, reviews, approvals and jobs, revision 1
 * (the raw fix) against the current one side by side or as a diff, $EDITOR for a new
 * revision, submit, reviews, publish, withdraw, and a patch made from a CVE's raw fix (T on
 * CVEs). Every request goes through ui_request(), so with a server it runs on the worker and
 * the screen keeps drawing; the server's refusals (the two-person rule) go to the status line
 * as the server words them.
 */
#include <curses.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "patches.h"
#include "source.h"
#include "strbuf.h"
#include "banned.h"

#define PATCH_TEXT_MAX (8 * 1024 * 1024)

/* "approve: 403 ..." from a failed request: the key said what and where; keep the why. */
static void pmsg(struct ui *u, const char *what, struct job_req *q)
{
	char why[200];
	const char *w = ui_req_error(q, why, sizeof(why)), *p;

	if ((p = strstr(w, " /v1/")) && (p = strstr(p, ": ")))
		w = p + 2;
	snprintf(u->msg, sizeof(u->msg), "%s: %s", what,
		 q->r == -EOPNOTSUPP ? "needs a server (--server URL)" : w);
}

static json_int_t patch_id(const struct ui *u)
{
	json_t *p = json_array_get(u->plist, u->psel);

	return p ? json_integer_value(json_object_get(p, "id")) : 0;
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

/* The first of KEYS (NULL-ended) that O has as a number: keys renamed over time. */
static long long num(json_t *o, const char *const *keys)
{
	for (; *keys; keys++) {
		json_t *v = json_object_get(o, *keys);

		if (json_is_integer(v))
			return (long long)json_integer_value(v);
	}
	return 0;
}
#define NUM(o, ...) num(o, (const char *const[]){__VA_ARGS__, NULL})

static void free_sbs(struct ui *u)
{
	for (size_t i = 0; i < u->n_sbs; i++) {
		free(u->sbs[i].l);
		free(u->sbs[i].r);
	}
	free(u->sbs);
	free(u->sbs_title);
	u->sbs = NULL;
	u->sbs_title = NULL;
	u->n_sbs = 0;
}

static void set_pt(struct ui *u, char *s, enum text_kind kind, bool pdiff)
{
	free(u->pt.s);
	u->pt.s = s;
	u->pt.kind = kind;
	u->pt.top = 0;
	u->pt.n_lines = 0;
	u->pdiff = pdiff;
	free_sbs(u);
}

static void add_detail(struct strbuf *sb, json_t *d)
{
	json_t *a = json_object_get(d, "approvals"), *v;
	size_t i;

	strbuf_addf(sb, "\nPatch #%lld  %s  state: %s  revision %lld  by %s\n", NUM(d, "id"),
		    str(d, "cve"), str(d, "state"), NUM(d, "revision"), str(d, "author"));
	strbuf_addf(sb, "Approvals: %lld of %lld needed (revision %lld)\n",
		    NUM(a, "count", "approval_count"), NUM(a, "needed"), NUM(a, "rev"));
	strbuf_adds(sb, "\nRevisions:\n");
	json_array_foreach(json_object_get(d, "revisions"), i, v)
		strbuf_addf(sb, "  %lld  %s  %s  %s\n", NUM(v, "rev"), str(v, "author"),
			    str(v, "created_at"), str(v, "note"));
	strbuf_adds(sb, "\nReviews:\n");
	if (!json_array_size(json_object_get(d, "reviews")))
		strbuf_adds(sb, "  none\n");
	json_array_foreach(json_object_get(d, "reviews"), i, v)
		strbuf_addf(sb, "  %s  %s  revision %lld  %s\n", str(v, "reviewer"),
			    str(v, "verdict"), NUM(v, "rev"), str(v, "comment"));
	strbuf_adds(sb, "\nJobs (L shows the next one's log):\n");
	if (!json_array_size(json_object_get(d, "jobs")))
		strbuf_adds(sb, "  none (s submits)\n");
	json_array_foreach(json_object_get(d, "jobs"), i, v) strbuf_addf(
		sb, "  #%lld  %s  revision %lld  %s  build: %s  boot: %s  %s\n", NUM(v, "id"),
		str(v, "kernel"), NUM(v, "rev"), str(v, "state"), str(v, "build"), str(v, "boot"),
		json_is_string(json_object_get(v, "error")) ? str(v, "error") : "");
	strbuf_adds(sb, "\nPublications:\n");
	if (!json_array_size(json_object_get(d, "publications")))
		strbuf_adds(sb, "  none\n");
	json_array_foreach(json_object_get(d, "publications"), i, v) strbuf_addf(
		sb, "  %s  revision %lld  by %s  %s%s\n", str(v, "channel"), NUM(v, "rev"),
		str(v, "published_by"),
		json_is_string(json_object_get(v, "withdrawn_at")) ? "withdrawn " : "",
		json_is_string(json_object_get(v, "withdrawn_at")) ? str(v, "withdrawn_at") : "");
}

/* The list and D, the selected patch's detail (NULL: none, or it could not be read). */
static void show(struct ui *u, json_t *d)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *p;
	size_t i;

	strbuf_addf(&sb,
		    "Patches on the server: %zu   ([ ] select, d diff, e edit, s submit, a c x "
		    "review, P publish, W withdraw)\n",
		    json_array_size(u->plist));
	json_array_foreach(u->plist, i, p) strbuf_addf(
		&sb, "%s #%lld  %-16s %-10s revision %lld  %s\n", i == u->psel ? ">" : " ",
		NUM(p, "id"), str(p, "cve"), str(p, "state"), NUM(p, "revision"), str(p, "author"));
	if (!json_array_size(u->plist))
		strbuf_adds(&sb, "  none yet (T on a CVE makes one from its raw fix; tuxtape patch "
				 "create)\n");
	if (d)
		add_detail(&sb, d);
	set_pt(u, strbuf_detach(&sb), TK_DETAIL, false);
}

/*
 * The worker's half of every change: GET the list, select q->n[0] (a patch id; 0: the index
 * q->n[1]), GET its detail. The selection comes back in q->n[1]; the list in out[0], the
 * detail in out[1] (a detail that cannot be read leaves the list shown, its error in r).
 */
static int refresh_work(struct dash_source *s, struct job_req *q)
{
	_cleanup_free_ char *path = NULL;
	json_t *p;
	size_t i;
	int r;

	r = s->ops->call(s, "GET", "/v1/patches", NULL, &q->out[0]);
	if (r < 0)
		return r;
	if (!json_is_array(q->out[0])) {
		json_decref(q->out[0]);
		q->out[0] = json_array();
	}
	if (q->n[1] < 0 || (size_t)q->n[1] >= json_array_size(q->out[0]))
		q->n[1] = 0;
	json_array_foreach(q->out[0], i, p)
	{
		if (q->n[0] && NUM(p, "id") == q->n[0])
			q->n[1] = (long long)i;
	}
	p = json_array_get(q->out[0], (size_t)q->n[1]);
	if (!p)
		return 0;
	path = strdup_printf("/v1/patches/%lld", NUM(p, "id"));
	return s->ops->call(s, "GET", path, NULL, &q->out[1]);
}

/*
 * A list (and the detail of the patch it selected) from the worker. Answers land in the order
 * asked, so one asked before the user last moved the selection must not move the cursor back:
 * a key acting on "the selected patch" between two such answers would act on a patch the user
 * had already left. Then the patch the user selected stays selected (found by its id in the
 * new list) and its detail is left to the request the move made.
 */
static void refresh_apply(struct ui *u, struct job_req *q)
{
	json_int_t keep = q->gen != u->psel_gen ? patch_id(u) : 0;
	json_t *p;
	size_t i;

	if (!q->out[0])
		return;
	json_decref(u->plist);
	u->plist = json_incref(q->out[0]);
	u->pwant = 0;
	if (!keep) {
		u->psel = (size_t)q->n[1];
		show(u, q->out[1]);
		return;
	}
	u->psel = 0;
	json_array_foreach(u->plist, i, p)
		if (NUM(p, "id") == keep)
			u->psel = i;
	show(u, NUM(q->out[1], "id") == keep ? q->out[1] : NULL);
}

static void refresh_done(void *ctx, struct job_req *q)
{
	struct ui *u = ctx;
	int key = u->pkey;

	refresh_apply(u, q);
	u->pkey = 0;
	if (q->r < 0)
		pmsg(u, q->out[0] ? "patch" : "patches", q);
	else if (q->s[0])
		snprintf(u->msg, sizeof(u->msg), "%s", q->s[0]);
	/* A key pressed before the list came: now it has a patch to act on. */
	if (key && u->plist && u->screen == SCR_PATCHES)
		ui_patches_key(u, key);
}

/* The list again, then patch WANT (0: the selected one); DONE_MSG on the status line. */
static void patches_refresh(struct ui *u, json_int_t want, const char *label, const char *done_msg)
{
	struct job_req *q = job_req_new(label, 0, refresh_work, refresh_done);

	q->n[0] = want ? want : patch_id(u);
	q->n[1] = (long long)u->psel;
	q->gen = u->psel_gen;
	q->s[0] = done_msg ? strdup(done_msg) : NULL;
	ui_request(u, q);
}

void ui_patches_load(struct ui *u)
{
	if (!u->src->ops->call) {
		snprintf(u->msg, sizeof(u->msg), "patches: needs a server (--server URL)");
		return;
	}
	if (!u->plist && !u->pt.s)
		set_pt(u, strdup("Patches on the server: asking ..."), TK_DETAIL, false);
	patches_refresh(u, u->pwant, "the server's patches", NULL);
}

void ui_patches_show(struct ui *u)
{
	patches_refresh(u, 0, "patch", NULL);
}

/*
 * POST q->s[1] with q->body, then the list again (refresh_work). A refused POST changes
 * nothing on the screen; its reason goes to the status line after q->s[2], the key's name.
 */
static int post_work(struct dash_source *s, struct job_req *q)
{
	json_t *ans = NULL;
	int r = s->ops->call(s, "POST", q->s[1], q->body, &ans);

	if (r < 0) {
		json_decref(ans);
		q->n[2] = 1; /* refused: nothing to show again */
		return r;
	}
	/* A new patch (T): select it. */
	if (!q->n[0] && json_is_integer(json_object_get(ans, "id")))
		q->n[0] = NUM(ans, "id");
	json_decref(ans);
	return refresh_work(s, q);
}

static void post_done(void *ctx, struct job_req *q)
{
	struct ui *u = ctx;

	if (q->r < 0 && q->n[2]) {
		pmsg(u, q->s[2], q);
		return;
	}
	refresh_apply(u, q);
	if (q->s[3] && q->r >= 0)
		u->screen = SCR_PATCHES; /* T: the new patch, on its screen */
	if (q->r < 0)
		pmsg(u, "patch", q);
	else
		snprintf(u->msg, sizeof(u->msg), "%s", q->s[0]);
}

static void post(struct ui *u, const char *key, const char *path, json_t *body, const char *done)
{
	struct job_req *q = job_req_new(key, 0, post_work, post_done);

	q->s[0] = strdup(done);
	q->s[1] = strdup(path);
	q->s[2] = strdup(key);
	q->body = body ? body : json_object();
	q->n[0] = patch_id(u);
	q->n[1] = (long long)u->psel;
	q->gen = u->psel_gen;
	ui_request(u, q);
}

/* POST /v1/patches/ID/WHAT with BODY (taken); DONE on the status line. */
static void post_id(struct ui *u, const char *key, const char *what, json_t *body, const char *done)
{
	_cleanup_free_ char *path =
		strdup_printf("/v1/patches/%lld/%s", (long long)patch_id(u), what);

	post(u, key, path, body, done);
}

static int write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "we");
	int r = 0;

	if (!f)
		return -errno;
	if (fputs(s, f) < 0)
		r = -EIO;
	if (fclose(f) != 0 && !r)
		r = -errno;
	return r;
}

static int read_file(const char *path, char **ret)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[8192];
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (sb.len + n > PATCH_TEXT_MAX || strbuf_add(&sb, buf, n) < 0) {
			fclose(f);
			strbuf_release(&sb);
			return -E2BIG;
		}
	fclose(f);
	strbuf_adds(&sb, "");
	*ret = strbuf_detach(&sb);
	return 0;
}

/* Runs ARGV with stdout into *RET (diff -u); 0 when it exited 0 or 1. */
static int run_capture(char *const argv[], char **ret)
{
	int fd[2], st;
	pid_t pid;
	struct strbuf sb = STRBUF_INIT;
	char buf[8192];
	ssize_t n;

	if (pipe(fd) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	while ((n = read(fd[0], buf, sizeof(buf))) > 0)
		if (sb.len + (size_t)n <= PATCH_TEXT_MAX)
			strbuf_add(&sb, buf, (size_t)n);
	close(fd[0]);
	waitpid(pid, &st, 0);
	strbuf_adds(&sb, "");
	*ret = strbuf_detach(&sb);
	return WIFEXITED(st) && WEXITSTATUS(st) <= 1 ? 0 : -EIO;
}

static int tmp_name(char *buf, size_t size, const char *what)
{
	const char *d = getenv("TMPDIR");
	int fd;

	snprintf(buf, size, "%s/tuxtape-%s-XXXXXX", d && *d ? d : "/tmp", what);
	fd = mkstemp(buf);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* diff -U CONTEXT of A and B into *RET. */
static int diff_texts(const char *a, const char *b, const char *context, char **ret)
{
	char fa[256], fb[256];
	int r;

	if (tmp_name(fa, sizeof(fa), "rev1") < 0)
		return -EIO;
	if (tmp_name(fb, sizeof(fb), "current") < 0) {
		unlink(fa);
		return -EIO;
	}
	r = write_file(fa, a);
	if (r >= 0)
		r = write_file(fb, b);
	if (r >= 0) {
		char *argv[] = {"diff",	      "-U",	 (char *)context,    "--label",
				"revision 1", "--label", "current revision", fa,
				fb,	      NULL};

		r = run_capture(argv, ret);
	}
	unlink(fa);
	unlink(fb);
	return r;
}

/* A line with tabs at 8 columns, so the two sides line up. */
static char *expand_tabs(const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\t') {
			do
				strbuf_add(&sb, " ", 1);
			while (++col % 8);
			continue;
		}
		strbuf_add(&sb, s + i, 1);
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			col++;
	}
	strbuf_adds(&sb, "");
	return strbuf_detach(&sb);
}

static int sbs_push(struct ui *u, size_t *cap, char tag, const char *l, size_t ll, const char *r,
		    size_t rl)
{
	if (u->n_sbs == *cap) {
		size_t n = *cap ? *cap * 2 : 256;
		struct sbs_row *a = realloc(u->sbs, n * sizeof(*a));

		if (!a)
			return -ENOMEM;
		u->sbs = a;
		*cap = n;
	}
	u->sbs[u->n_sbs++] =
		(struct sbs_row){tag, l ? expand_tabs(l, ll) : NULL, r ? expand_tabs(r, rl) : NULL};
	return 0;
}

/*
 * The rows of a unified diff with the whole file as context: the same lines on both sides,
 * a run of removed lines beside the run of added lines that replaced it.
 */
static int sbs_build(struct ui *u, const char *diff)
{
	const char *p = diff, *minus[4096], *plus[4096];
	size_t lm[4096], lp[4096], nm = 0, np = 0, cap = 0;
	int r = 0;

	/* The header lines (--- +++) are not content. */
	for (int i = 0; i < 2 && *p; i++)
		p = strchrnul(p, '\n') + (strchr(p, '\n') ? 1 : 0);
	for (;;) {
		const char *e = strchrnul(p, '\n');
		size_t n = (size_t)(e - p);
		bool end = !*p;

		if (end || (*p != '-' && *p != '+') || nm == ARRAY_SIZE(minus) ||
		    np == ARRAY_SIZE(plus)) {
			/* Flush a run: pairs first, then whichever side is longer. */
			for (size_t i = 0; i < MAX(nm, np) && r >= 0; i++)
				r = sbs_push(u, &cap,
					     i < nm && i < np ? '~'
					     : i < nm	      ? '-'
							      : '+',
					     i < nm ? minus[i] : NULL, i < nm ? lm[i] : 0,
					     i < np ? plus[i] : NULL, i < np ? lp[i] : 0);
			nm = np = 0;
		}
		if (end || r < 0)
			break;
		if (*p == '-') {
			minus[nm] = p + 1;
			lm[nm++] = n - 1;
		} else if (*p == '+') {
			plus[np] = p + 1;
			lp[np++] = n - 1;
		} else if (*p == '@')
			r = sbs_push(u, &cap, '@', p, n, p, n);
		else if (*p == ' ')
			r = sbs_push(u, &cap, ' ', p + 1, n - 1, p + 1, n - 1);
		if (r < 0)
			break;
		p = *e ? e + 1 : e;
	}
	return r;
}

static int diff_work(struct dash_source *s, struct job_req *q)
{
	_cleanup_free_ char *p1 = strdup_printf("/v1/patches/%lld/patch?rev=1", q->n[0]);
	_cleanup_free_ char *pc = strdup_printf("/v1/patches/%lld/patch", q->n[0]);
	_cleanup_free_ char *pd = strdup_printf("/v1/patches/%lld", q->n[0]);
	int r = s->ops->get_text(s, p1, &q->text[0]);

	if (r >= 0)
		r = s->ops->get_text(s, pc, &q->text[1]);
	if (r >= 0)
		r = s->ops->call(s, "GET", pd, NULL, &q->out[0]);
	return r;
}

static void diff_done(void *ctx, struct job_req *q)
{
	struct ui *u = ctx;
	_cleanup_free_ char *out = NULL, *full = NULL;
	json_t *rev1 = json_array_get(json_object_get(q->out[0], "revisions"), 0);
	const char *note = json_string_value(json_object_get(rev1, "note"));
	bool raw = note && strstr(note, "raw fix");
	long long cur = NUM(q->out[0], "revision");
	int r;

	if (q->r < 0) {
		pmsg(u, "diff", q);
		return;
	}
	r = diff_texts(q->text[0], q->text[1], "3", &out);
	if (r >= 0)
		r = diff_texts(q->text[0], q->text[1], "1000000", &full);
	if (r < 0) {
		snprintf(u->msg, sizeof(u->msg), "diff: %s", strerror(-r));
		return;
	}
	set_pt(u,
	       strdup_printf("Patch #%lld: revision 1%s against the current revision %lld (d: "
			     "back)\n\n%s",
			     q->n[0], raw ? " (the raw fix)" : "", cur,
			     *out ? out : "(the same)\n"),
	       TK_DIFF, true);
	/* Wide terminals draw the whole of both side by side (draw.c); the text is for narrow. */
	if (*full && sbs_build(u, full) >= 0)
		u->sbs_title = strdup_printf("Patch #%lld: revision 1%s beside the current "
					     "revision %lld (d: back)",
					     q->n[0], raw ? " (the raw fix)" : "", cur);
	else
		free_sbs(u);
	snprintf(u->msg, sizeof(u->msg), "%s",
		 *out ? "revision 1 against the current one"
		      : "the current revision is revision 1's text");
}

static void show_diff(struct ui *u)
{
	struct job_req *q;

	if (u->pdiff) { /* d again: back to the detail */
		patches_refresh(u, 0, "patch", NULL);
		return;
	}
	q = job_req_new("diff", 0, diff_work, diff_done);
	q->n[0] = patch_id(u);
	ui_request(u, q);
}

static int text_work(struct dash_source *s, struct job_req *q)
{
	_cleanup_free_ char *path = strdup_printf("/v1/patches/%lld/patch", q->n[0]);

	return s->ops->get_text(s, path, &q->text[0]);
}

/* The current revision came: $EDITOR on it (the screen suspended), then POST what changed. */
static void edit_done(void *ctx, struct job_req *q)
{
	struct ui *u = ctx;
	_cleanup_free_ char *after = NULL, *path = NULL;
	const char *ed = getenv("VISUAL");
	char f[256];
	pid_t pid;
	int r, st = 0;

	if (q->r < 0) {
		pmsg(u, "edit", q);
		return;
	}
	if (!ed || !*ed)
		ed = getenv("EDITOR");
	if (!ed || !*ed)
		ed = "vi";
	if (tmp_name(f, sizeof(f), "edit") < 0 || write_file(f, q->text[0]) < 0) {
		snprintf(u->msg, sizeof(u->msg), "edit: cannot write a temporary file");
		return;
	}
	def_prog_mode();
	endwin();
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "$0 \"$1\"", ed, f, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	reset_prog_mode();
	clearok(curscr, TRUE);
	refresh();
	r = pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) ? -EIO : read_file(f, &after);
	unlink(f);
	if (r < 0) {
		snprintf(u->msg, sizeof(u->msg), "edit: the editor failed; nothing saved");
		return;
	}
	if (streq(q->text[0], after)) {
		snprintf(u->msg, sizeof(u->msg), "edit: unchanged; no new revision");
		return;
	}
	path = strdup_printf("/v1/patches/%lld/revisions", q->n[0]);
	post(u, "edit", path,
	     json_pack("{s:s s:s}", "patch", after, "note", "edited in tuxtape-dashboard"),
	     "saved as a new revision");
}

static void edit(struct ui *u)
{
	struct job_req *q = job_req_new("the current revision", 0, text_work, edit_done);

	q->n[0] = patch_id(u);
	ui_request(u, q);
}

static int log_work(struct dash_source *s, struct job_req *q)
{
	_cleanup_free_ char *path = strdup_printf("/v1/patches/%lld", q->n[0]);
	json_t *jobs, *j;
	int r = s->ops->call(s, "GET", path, NULL, &q->out[0]);

	jobs = json_object_get(q->out[0], "jobs");
	if (r < 0 || !json_array_size(jobs))
		return r < 0 ? r : -ENOENT;
	/* The newest job first, then the older ones. */
	j = json_array_get(jobs,
			   json_array_size(jobs) - 1 - (size_t)q->n[1] % json_array_size(jobs));
	q->out[1] = json_incref(j);
	free(path);
	path = strdup_printf("/v1/jobs/%lld/log", NUM(j, "id"));
	if (s->ops->get_text(s, path, &q->text[0]) < 0)
		q->text[0] = NULL; /* no log yet */
	return 0;
}

static void log_done(void *ctx, struct job_req *q)
{
	struct ui *u = ctx;

	if (q->r < 0) {
		snprintf(u->msg, sizeof(u->msg), "log: no job yet (s submits)");
		return;
	}
	set_pt(u,
	       strdup_printf("Job #%lld (%s) of patch #%lld: the log (d or [ ] leave)\n\n%s",
			     NUM(q->out[1], "id"), str(q->out[1], "kernel"), q->n[0],
			     q->text[0] ? q->text[0] : "(no log yet: the job has not run)\n"),
	       TK_PLAIN, true);
}

void ui_patches_prompt_done(struct ui *u, enum prompt p, const char *text)
{
	if (p == PROMPT_COMMENT)
		post_id(u, "comment", "reviews",
			json_pack("{s:s s:s}", "verdict", "comment", "comment", text), "commented");
	else if (p == PROMPT_REJECT)
		post_id(u, "reject", "reviews",
			json_pack("{s:s s:s}", "verdict", "reject", "comment", text), "rejected");
	else if (p == PROMPT_CHANNEL)
		post_id(u, "publish", "publish",
			json_pack("{s:s}", "channel", *text ? text : "stable"), "published");
}

void ui_patches_triage(struct ui *u, const char *cve, const char *kernel, const char *release,
		       bool force)
{
	_cleanup_free_ char *label = strdup_printf("creating a patch for %s", cve);
	_cleanup_free_ char *done =
		strdup_printf("created from the raw fix of %s for %s", cve, kernel);
	struct job_req *q = job_req_new(label, 0, post_work, post_done);

	q->s[0] = strdup(done);
	q->s[1] = strdup("/v1/patches");
	q->s[2] = strdup_printf("triage %s for %s", cve, kernel);
	q->s[3] = strdup("triage");
	q->body = json_pack("{s:s s:[s] s:s s:s}", "cve", cve, "kernels", release, "fix_kernel",
			    kernel, "note", "the raw fix (tuxtape-dashboard triage)");
	if (q->body && force)
		json_object_set_new(q->body, "force", json_true());
	q->n[0] = 0; /* the new patch, once the server numbers it */
	q->n[1] = 0;
	q->gen = u->psel_gen;
	ui_request(u, q);
}

bool ui_patches_key(struct ui *u, int ch)
{
	if (!strchr("[]deascxPWL", ch) || !ch)
		return false;
	if (!u->src->ops->call || !u->cfg->server_url) {
		snprintf(u->msg, sizeof(u->msg),
			 "review workflow: needs a server (--server URL); not available with --db");
		return true;
	}
	if (!u->plist) {
		/* The list is on its way (with a server, on the worker): the key waits for it. */
		if (!u->pkey)
			ui_patches_load(u);
		u->pkey = ch;
		return true;
	}
	if (!patch_id(u)) {
		snprintf(u->msg, sizeof(u->msg), "no patch on the server");
		return true;
	}
	switch (ch) {
	case '[':
	case ']': {
		_cleanup_free_ char *m = NULL;

		u->psel = ch == ']' ? (u->psel + 1) % json_array_size(u->plist)
				    : (u->psel + json_array_size(u->plist) - 1) %
					      json_array_size(u->plist);
		u->psel_gen++;
		m = strdup_printf("patch #%lld", (long long)patch_id(u));
		show(u, NULL); /* the cursor moves now; the detail follows */
		patches_refresh(u, 0, m, m);
		break;
	}
	case 'd':
		show_diff(u);
		break;
	case 'e':
		edit(u);
		break;
	case 's':
		post_id(u, "submit", "submit", NULL, "submitted: a build job per kernel");
		break;
	case 'a':
		post_id(u, "approve", "reviews", json_pack("{s:s}", "verdict", "approve"),
			"approved");
		break;
	case 'c':
	case 'x':
	case 'P':
		u->prompt = ch == 'c' ? PROMPT_COMMENT : ch == 'x' ? PROMPT_REJECT : PROMPT_CHANNEL;
		u->plen = 0;
		if (ch == 'P') {
			memcpy(u->pbuf, "stable", 6);
			u->plen = 6;
		}
		break;
	case 'W':
		post_id(u, "withdraw", "withdraw",
			json_pack("{s:s}", "reason", "withdrawn in tuxtape-dashboard"),
			"withdrawn");
		break;
	case 'L': {
		struct job_req *q = job_req_new("the job's log", 0, log_work, log_done);

		q->n[0] = patch_id(u);
		q->n[1] = (long long)u->plog++;
		ui_request(u, q);
		break;
	}
	}
	return true;
}
