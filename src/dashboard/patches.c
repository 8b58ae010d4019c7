/*
 * The Patches screen's review workflow through a server (the source's call/get_text): the
 * patch list with the selected patch's revisions, reviews, approvals and jobs, revision 1
 * against the current one, $EDITOR for a new revision, submit, reviews, publish, withdraw.
 * The calls are short requests on the screen's own connection; the server's refusals (the
 * two-person rule) go to the status line as the server words them.
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

static void pmsg(struct ui *u, const char *what, int r)
{
	char why[200] = "";

	const char *w = why, *p;

	if (!job_log_take(why, sizeof(why)))
		snprintf(why, sizeof(why), "%s", strerror(-r));
	/* "POST /v1/patches/1/reviews: 403 ...": the key said what and where; keep the why. */
	if ((p = strstr(why, " /v1/")) && (p = strstr(p, ": ")))
		w = p + 2;
	snprintf(u->msg, sizeof(u->msg), "%s: %s", what,
		 r == -EOPNOTSUPP ? "needs a server (--server URL)" : w);
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

static void add_detail(struct strbuf *sb, json_t *d)
{
	json_t *a = json_object_get(d, "approvals"), *v;
	size_t i;

	strbuf_addf(sb, "\nPatch #%lld  %s  state: %s  revision %lld  by %s\n",
		    (long long)json_integer_value(json_object_get(d, "id")), str(d, "cve"),
		    str(d, "state"), (long long)json_integer_value(json_object_get(d, "revision")),
		    str(d, "author"));
	strbuf_addf(sb, "Approvals: %lld of %lld needed (revision %lld)\n",
		    (long long)json_integer_value(json_object_get(a, "count")),
		    (long long)json_integer_value(json_object_get(a, "needed")),
		    (long long)json_integer_value(json_object_get(a, "rev")));
	strbuf_adds(sb, "\nRevisions:\n");
	json_array_foreach(json_object_get(d, "revisions"), i, v)
		strbuf_addf(sb, "  %lld  %s  %s  %s\n",
			    (long long)json_integer_value(json_object_get(v, "rev")),
			    str(v, "author"), str(v, "created_at"), str(v, "note"));
	strbuf_adds(sb, "\nReviews:\n");
	if (!json_array_size(json_object_get(d, "reviews")))
		strbuf_adds(sb, "  none\n");
	json_array_foreach(json_object_get(d, "reviews"), i, v) strbuf_addf(
		sb, "  %s  %s  revision %lld  %s\n", str(v, "reviewer"), str(v, "verdict"),
		(long long)json_integer_value(json_object_get(v, "rev")), str(v, "comment"));
	strbuf_adds(sb, "\nJobs (L shows the next one's log):\n");
	if (!json_array_size(json_object_get(d, "jobs")))
		strbuf_adds(sb, "  none (s submits)\n");
	json_array_foreach(json_object_get(d, "jobs"), i, v) strbuf_addf(
		sb, "  #%lld  %s  revision %lld  %s  build: %s  boot: %s  %s\n",
		(long long)json_integer_value(json_object_get(v, "id")), str(v, "kernel"),
		(long long)json_integer_value(json_object_get(v, "rev")), str(v, "state"),
		str(v, "build"), str(v, "boot"),
		json_is_string(json_object_get(v, "error")) ? str(v, "error") : "");
	strbuf_adds(sb, "\nPublications:\n");
	if (!json_array_size(json_object_get(d, "publications")))
		strbuf_adds(sb, "  none\n");
	json_array_foreach(json_object_get(d, "publications"), i, v) strbuf_addf(
		sb, "  %s  revision %lld  by %s  %s%s\n", str(v, "channel"),
		(long long)json_integer_value(json_object_get(v, "rev")), str(v, "published_by"),
		json_is_string(json_object_get(v, "withdrawn_at")) ? "withdrawn " : "",
		json_is_string(json_object_get(v, "withdrawn_at")) ? str(v, "withdrawn_at") : "");
}

void ui_patches_show(struct ui *u)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *p, *d = NULL;
	size_t i;
	int r;

	strbuf_addf(&sb,
		    "Patches on the server: %zu   ([ ] select, d diff, e edit, s submit, a c x "
		    "review, P publish, W withdraw)\n",
		    json_array_size(u->plist));
	json_array_foreach(u->plist, i, p) strbuf_addf(
		&sb, "%s #%lld  %-16s %-10s revision %lld  %s\n", i == u->psel ? ">" : " ",
		(long long)json_integer_value(json_object_get(p, "id")), str(p, "cve"),
		str(p, "state"), (long long)json_integer_value(json_object_get(p, "revision")),
		str(p, "author"));
	if (!json_array_size(u->plist))
		strbuf_adds(&sb, "  none yet (tuxtape patch create, or p on a CVE with a linux "
				 "repository)\n");
	if (patch_id(u)) {
		_cleanup_free_ char *path =
			strdup_printf("/v1/patches/%lld", (long long)patch_id(u));

		r = u->src->ops->call(u->src, "GET", path, NULL, &d);
		if (r < 0)
			pmsg(u, "patch", r);
		else
			add_detail(&sb, d);
		json_decref(d);
	}
	free(u->pt.s);
	u->pt.s = strbuf_detach(&sb);
	u->pt.kind = TK_DETAIL;
	u->pt.top = 0;
	u->pdiff = false;
}

void ui_patches_load(struct ui *u)
{
	json_t *l = NULL;
	int r = u->src->ops->call ? u->src->ops->call(u->src, "GET", "/v1/patches", NULL, &l)
				  : -EOPNOTSUPP;

	if (r < 0) {
		pmsg(u, "patches", r);
		return;
	}
	json_decref(u->plist);
	u->plist = l;
	if (u->psel >= json_array_size(l))
		u->psel = 0;
	ui_patches_show(u);
}

/* The text of revision REV (0: the current one), malloc'd in *RET. */
static int revision_text(struct ui *u, int rev, char **ret)
{
	_cleanup_free_ char *path =
		rev ? strdup_printf("/v1/patches/%lld/patch?rev=%d", (long long)patch_id(u), rev)
		    : strdup_printf("/v1/patches/%lld/patch", (long long)patch_id(u));

	return u->src->ops->get_text(u->src, path, ret);
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

/* Runs ARGV with stdout into *RET (diff -u); its exit status in *RET_STATUS. */
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

static void show_diff(struct ui *u)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *out = NULL;
	char fa[256], fb[256];
	int r;

	if (u->pdiff) { /* d again: back to the detail */
		ui_patches_show(u);
		return;
	}
	r = revision_text(u, 1, &a);
	if (r >= 0)
		r = revision_text(u, 0, &b);
	if (r < 0) {
		pmsg(u, "diff", r);
		return;
	}
	if (tmp_name(fa, sizeof(fa), "rev1") < 0 || tmp_name(fb, sizeof(fb), "current") < 0) {
		snprintf(u->msg, sizeof(u->msg), "diff: cannot make a temporary file");
		return;
	}
	r = write_file(fa, a);
	if (r >= 0)
		r = write_file(fb, b);
	if (r >= 0) {
		char *argv[] = {"diff",	      "-u",	 "--label",
				"revision 1", "--label", "current revision",
				fa,	      fb,	 NULL};

		r = run_capture(argv, &out);
	}
	unlink(fa);
	unlink(fb);
	if (r < 0) {
		snprintf(u->msg, sizeof(u->msg), "diff: %s", strerror(-r));
		return;
	}
	free(u->pt.s);
	u->pt.s = strdup_printf(
		"Patch #%lld: revision 1 against the current revision (d: back)\n\n%s",
		(long long)patch_id(u), *out ? out : "(the same)\n");
	u->pt.kind = TK_DIFF;
	u->pt.top = 0;
	u->pdiff = true;
}

static void edit(struct ui *u)
{
	_cleanup_free_ char *before = NULL, *after = NULL, *path = NULL;
	const char *ed = getenv("VISUAL");
	char f[256];
	json_t *body;
	pid_t pid;
	int r, st = 0;

	if (!ed || !*ed)
		ed = getenv("EDITOR");
	if (!ed || !*ed)
		ed = "vi";
	r = revision_text(u, 0, &before);
	if (r < 0) {
		pmsg(u, "edit", r);
		return;
	}
	if (tmp_name(f, sizeof(f), "edit") < 0 || write_file(f, before) < 0) {
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
	if (streq(before, after)) {
		snprintf(u->msg, sizeof(u->msg), "edit: unchanged; no new revision");
		return;
	}
	path = strdup_printf("/v1/patches/%lld/revisions", (long long)patch_id(u));
	body = json_pack("{s:s s:s}", "patch", after, "note", "edited in tuxtape-dashboard");
	r = u->src->ops->call(u->src, "POST", path, body, NULL);
	json_decref(body);
	if (r < 0) {
		pmsg(u, "edit", r);
		return;
	}
	ui_patches_load(u);
	snprintf(u->msg, sizeof(u->msg), "saved as a new revision");
}

/*
 * POST /v1/patches/ID/WHAT with BODY (taken), then the list again; DONE on the status line, or
 * the server's refusal after KEY's name.
 */
static void post(struct ui *u, const char *key, const char *what, json_t *body, const char *done)
{
	_cleanup_free_ char *path =
		strdup_printf("/v1/patches/%lld/%s", (long long)patch_id(u), what);
	int r = u->src->ops->call(u->src, "POST", path, body ? body : json_object(), NULL);

	json_decref(body);
	if (r < 0) {
		pmsg(u, key, r);
		return;
	}
	ui_patches_load(u);
	snprintf(u->msg, sizeof(u->msg), "%s", done);
}

void ui_patches_prompt_done(struct ui *u, enum prompt p, const char *text)
{
	if (p == PROMPT_COMMENT)
		post(u, "comment", "reviews",
		     json_pack("{s:s s:s}", "verdict", "comment", "comment", text), "commented");
	else if (p == PROMPT_REJECT)
		post(u, "reject", "reviews",
		     json_pack("{s:s s:s}", "verdict", "reject", "comment", text), "rejected");
	else if (p == PROMPT_CHANNEL)
		post(u, "publish", "publish",
		     json_pack("{s:s}", "channel", *text ? text : "stable"), "published");
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
	if (!u->plist)
		ui_patches_load(u);
	if (!patch_id(u)) {
		snprintf(u->msg, sizeof(u->msg), "no patch on the server");
		return true;
	}
	switch (ch) {
	case '[':
	case ']':
		u->psel = ch == ']' ? (u->psel + 1) % json_array_size(u->plist)
				    : (u->psel + json_array_size(u->plist) - 1) %
					      json_array_size(u->plist);
		ui_patches_show(u);
		snprintf(u->msg, sizeof(u->msg), "patch #%lld", (long long)patch_id(u));
		break;
	case 'd':
		show_diff(u);
		break;
	case 'e':
		edit(u);
		break;
	case 's':
		post(u, "submit", "submit", NULL, "submitted: a build job per kernel");
		break;
	case 'a':
		post(u, "approve", "reviews", json_pack("{s:s}", "verdict", "approve"), "approved");
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
		post(u, "withdraw", "withdraw",
		     json_pack("{s:s}", "reason", "withdrawn in tuxtape-dashboard"), "withdrawn");
		break;
	case 'L': {
		_cleanup_free_ char *d = NULL, *path = NULL, *log = NULL;
		json_t *det = NULL, *jobs, *j;
		int r;

		path = strdup_printf("/v1/patches/%lld", (long long)patch_id(u));
		r = u->src->ops->call(u->src, "GET", path, NULL, &det);
		jobs = json_object_get(det, "jobs");
		if (r < 0 || !json_array_size(jobs)) {
			json_decref(det);
			snprintf(u->msg, sizeof(u->msg), "log: no job yet (s submits)");
			break;
		}
		/* The newest job first, then the older ones. */
		j = json_array_get(jobs,
				   json_array_size(jobs) - 1 - u->plog++ % json_array_size(jobs));
		free(path);
		path = strdup_printf("/v1/jobs/%lld/log",
				     (long long)json_integer_value(json_object_get(j, "id")));
		r = u->src->ops->get_text(u->src, path, &log);
		free(u->pt.s);
		u->pt.s = strdup_printf(
			"Job #%lld (%s) of patch #%lld: the log (d or [ ] leave)\n\n%s",
			(long long)json_integer_value(json_object_get(j, "id")), str(j, "kernel"),
			(long long)patch_id(u),
			r < 0 ? "(no log yet: the job has not run)\n" : log);
		u->pt.kind = TK_PLAIN;
		u->pt.top = 0;
		u->pdiff = true;
		json_decref(det);
		break;
	}
	}
	return true;
}
