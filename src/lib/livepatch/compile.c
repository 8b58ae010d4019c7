/*
 * Per-patch compiles in a prepared tree: apply the patches under a journal, decide which
 * translation units change, compile them patched and original, restore and verify the tree.
 * See tree.h for the contract; the comments here say why things are done the way they are.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply.h"
#include "fileio.h"
#include "kernel/fileset.h"
#include "log.h"
#include "macro.h"
#include "patchset.h"
#include "pristine.h"
#include "spawn.h"
#include "strbuf.h"
#include "tree-internal.h"
#include "tree.h"
#include "banned.h"

#define JOURNAL_MAX (16u << 20)

/* ---- the result ---- */

void lp_tu_set_free(struct lp_tu_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ntus; i++) {
		free(s->tus[i].source);
		free(s->tus[i].orig_obj);
		free(s->tus[i].patched_obj);
		free(s->tus[i].module);
		free(s->tus[i].why);
		free(s->tus[i].how);
	}
	free(s->tus);
	for (size_t i = 0; i < s->nskipped; i++)
		free(s->skipped[i]);
	free(s->skipped);
	for (size_t i = 0; i < s->nheaders; i++)
		free(s->headers[i]);
	free(s->headers);
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	for (size_t i = 0; i < s->nnotes; i++)
		free(s->notes[i]);
	free(s->notes);
	free(s);
}

static json_t *strv_json(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *lp_tu_set_to_json(const struct lp_tu_set *s)
{
	json_t *tus = json_array();

	if (!tus)
		return NULL;
	for (size_t i = 0; i < s->ntus; i++) {
		const struct lp_tu *u = &s->tus[i];

		json_array_append_new(tus, json_pack("{s:s, s:s?, s:s?, s:s?, s:s, s:s?}", "source",
						     u->source, "orig", u->orig_obj, "patched",
						     u->patched_obj, "module", u->module, "why",
						     u->why, "how", u->how));
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:f}", "units", tus, "skipped",
			 strv_json(s->skipped, s->nskipped), "headers",
			 strv_json(s->headers, s->nheaders), "files",
			 strv_json(s->files, s->nfiles), "patch_notes",
			 strv_json(s->notes, s->nnotes), "fuzz", s->fuzz, "wide_branches",
			 s->wide_branches, "compile_seconds", s->compile_seconds);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && streq(s + a - b, suffix);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* "dir/x.c" -> "dir/x.o"; "dir/x.o" -> "dir/.x.o.cmd" with DOT_CMD. */
static char *obj_of(const char *src)
{
	char *o = strdup(src);

	if (o)
		o[strlen(o) - 1] = 'o';
	return o;
}

static char *cmd_file_of(const char *obj)
{
	const char *slash = strrchr(obj, '/');

	if (!slash)
		return strdup_printf(".%s.cmd", obj);
	return strdup_printf("%.*s/.%s.cmd", (int)(slash - obj), obj, slash + 1);
}

/* ---- the journal: undoing a patch application, also after a crash ---- */

/*
 * WORK/journal/list has one line per action to undo, written (atomically, fsynced) before the
 * tree is touched: "B DIGEST path" restores journal/files/path, whose content must have DIGEST
 * (the pristine manifest's); "C path" removes a file the patches created; "O path" removes an
 * object compiled from patched sources. Objects are removed, never restored: a restored
 * source keeps its old mtime, so make would take a patched object for current.
 */
struct jentry {
	char kind;
	char *path;
	char digest[LP_DIGEST_HEX];
};

struct journal {
	char *dir; /* WORK/journal */
	struct jentry *e;
	size_t n;
};

static void journal_release(struct journal *j)
{
	for (size_t i = 0; i < j->n; i++)
		free(j->e[i].path);
	free(j->e);
	free(j->dir);
	*j = (struct journal){0};
}

static bool journal_has(const struct journal *j, char kind, const char *path)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->e[i].kind == kind && streq(j->e[i].path, path))
			return true;
	return false;
}

static int journal_push(struct journal *j, char kind, const char *path, const char *digest)
{
	struct jentry *ne = reallocarray(j->e, j->n + 1, sizeof(*ne));

	if (!ne)
		return -ENOMEM;
	j->e = ne;
	ne = &j->e[j->n];
	*ne = (struct jentry){.kind = kind, .path = strdup(path)};
	if (!ne->path)
		return -ENOMEM;
	if (digest)
		memcpy(ne->digest, digest, LP_DIGEST_HEX);
	j->n++;
	return 0;
}

static int journal_save(const struct journal *j)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	_cleanup_free_ char *list = path_join(j->dir, "list");
	int r = 0;

	if (!list)
		return -ENOMEM;
	r = mkdir_p(j->dir, 0755);
	if (r < 0)
		return log_error_errno(r, "cannot create '%s': %s", j->dir, strerror(-r));
	for (size_t i = 0; i < j->n && r == 0; i++) {
		if (j->e[i].kind == 'B')
			r = strbuf_addf(&sb, "B %s %s\n", j->e[i].digest, j->e[i].path);
		else
			r = strbuf_addf(&sb, "%c %s\n", j->e[i].kind, j->e[i].path);
	}
	if (r < 0)
		return r;
	r = write_file_atomic(list, strbuf_str(&sb), sb.len, 0644);
	if (r < 0)
		return log_error_errno(r, "cannot write the journal '%s': %s", list, strerror(-r));
	return 0;
}

static int journal_load(struct journal *j, const char *list)
{
	_cleanup_free_ char *buf = NULL;
	unsigned lineno = 0;
	int r;

	r = read_file_capped(list, JOURNAL_MAX, &buf, NULL);
	if (r < 0)
		return r;
	for (char *line = buf, *next; line && *line; line = next) {
		char kind = line[0];
		const char *digest = NULL, *path;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (strlen(line) < 3 || line[1] != ' ' || !strchr("BCO", kind))
			return log_error_errno(-EBADMSG, "%s:%u: malformed journal line", list,
					       lineno);
		path = line + 2;
		if (kind == 'B') {
			if (strlen(path) < LP_DIGEST_HEX + 1 || path[LP_DIGEST_HEX - 1] != ' ')
				return log_error_errno(-EBADMSG, "%s:%u: malformed journal line",
						       list, lineno);
			line[2 + LP_DIGEST_HEX - 1] = '\0';
			digest = path;
			path += LP_DIGEST_HEX;
		}
		if (path[0] == '/' || startswith(path, "../") || strstr(path, "/../"))
			return log_error_errno(-EBADMSG, "%s:%u: path outside the tree", list,
					       lineno);
		r = journal_push(j, kind, path, digest);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Marks the tree broken (see unpublish_broken() in tree.c) and returns -EUCLEAN. */
static int mark_broken(const char *work, const char *tree, const char *why)
{
	_cleanup_free_ char *mark = path_join(work, "BROKEN");

	if (mark)
		(void)write_file_atomic(mark, why, strlen(why), 0644);
	return log_error_errno(-EUCLEAN,
			       "the kernel tree '%s' does not match its pristine source (%s); it "
			       "is never built on again: the next build prepares it anew",
			       tree, why);
}

/*
 * Undoes what the journal in WORK lists and verifies every file it names against the pristine
 * manifest. Anything that cannot be undone or verified marks the tree broken.
 */
static int journal_restore(const char *work, const char *tree, const struct lp_manifest *m)
{
	struct journal j = {0};
	_cleanup_free_ char *list = NULL;
	int r, bad = 0;

	j.dir = path_join(work, "journal");
	list = j.dir ? path_join(j.dir, "list") : NULL;
	if (!list) {
		journal_release(&j);
		return -ENOMEM;
	}
	r = journal_load(&j, list);
	if (r == -ENOENT) {
		rm_rf(j.dir); /* a journal never saved: nothing was touched yet */
		journal_release(&j);
		return 0;
	}
	if (r < 0) {
		journal_release(&j);
		return mark_broken(work, tree, "its journal cannot be read");
	}
	for (size_t i = 0; i < j.n; i++) {
		const struct jentry *e = &j.e[i];
		_cleanup_free_ char *dst = path_join(tree, e->path);
		_cleanup_free_ char *bak = NULL;
		char got[LP_DIGEST_HEX];

		if (!dst) {
			r = -ENOMEM;
			goto out;
		}
		if (e->kind != 'B') {
			if (unlink(dst) < 0 && errno != ENOENT) {
				log_error("cannot remove '%s': %m", dst);
				bad++;
			}
			continue;
		}
		bak = strdup_printf("%s/files/%s", j.dir, e->path);
		if (!bak) {
			r = -ENOMEM;
			goto out;
		}
		/* A backup already renamed back (a restore interrupted) is simply gone. */
		if (lp_file_digest(bak, got) == 0) {
			if (!streq(got, e->digest)) {
				log_error("the backup '%s' is damaged", bak);
				bad++;
				continue;
			}
			if (rename(bak, dst) < 0) {
				log_error("cannot restore '%s': %m", dst);
				bad++;
			}
		}
	}
	/* Whatever happened above, the files named must now be exactly the pristine ones. */
	for (size_t i = 0; i < j.n; i++)
		if (j.e[i].kind != 'O' && lp_manifest_check(m, tree, j.e[i].path) < 0)
			bad++;
	if (bad) {
		r = mark_broken(work, tree, "a file could not be restored");
		goto out;
	}
	rm_rf(j.dir);
	r = 0;
out:
	journal_release(&j);
	return r;
}

/*
 * Records REL before the patches touch it: it must be pristine (or absent and no file of the
 * source), and its backup must have the pristine digest.
 */
static int journal_add_file(struct journal *j, const char *work, const char *tree,
			    const struct lp_manifest *m, const char *rel)
{
	_cleanup_free_ char *src = NULL, *files = NULL, *bak = NULL;
	const char *want;
	char got[LP_DIGEST_HEX];
	int r;

	if (journal_has(j, 'B', rel) || journal_has(j, 'C', rel))
		return 0;
	r = lp_manifest_check(m, tree, rel);
	if (r == -EUCLEAN)
		return mark_broken(work, tree, "a file the patch touches is not pristine");
	if (r < 0)
		return r;
	want = lp_manifest_digest(m, rel);
	if (!want)
		return journal_push(j, 'C', rel, NULL);
	src = path_join(tree, rel);
	files = path_join(j->dir, "files");
	bak = files ? path_join(files, rel) : NULL;
	if (!src || !bak)
		return -ENOMEM;
	r = lp_copy_into(src, files, rel);
	if (r < 0)
		return log_error_errno(r, "cannot back up '%s': %s", src, strerror(-r));
	r = lp_file_digest(bak, got);
	if (r < 0 || !streq(got, want))
		return log_error_errno(r < 0 ? r : -EIO, "the backup '%s' does not match '%s'", bak,
				       src);
	return journal_push(j, 'B', rel, want);
}

/* ---- which files change and what to compile ---- */

/* The module name kbuild compiled OBJ for, from its .cmd file; NULL if none. */
static char *cmd_modname(const char *tree, const char *obj)
{
	_cleanup_free_ char *rel = cmd_file_of(obj), *cmd = NULL, *buf = NULL;
	const char *p;

	cmd = rel ? path_join(tree, rel) : NULL;
	if (!cmd || read_file_capped(cmd, 16u << 20, &buf, NULL) < 0)
		return NULL;
	p = strstr(buf, "-DKBUILD_MODNAME='\"");
	if (!p)
		return NULL;
	p += strlen("-DKBUILD_MODNAME='\"");
	return strndup(p, strcspn(p, "\"'"));
}

/* Adds SRC to the set, once. */
static int add_tu(struct lp_tu_set *s, const char *src, const char *why,
		  const struct kernel_file *f)
{
	bool module = f->kind & KERNEL_FILE_MODULE;
	struct lp_tu *nt;

	for (size_t i = 0; i < s->ntus; i++)
		if (streq(s->tus[i].source, src))
			return 0;
	nt = reallocarray(s->tus, s->ntus + 1, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	s->tus = nt;
	nt = &s->tus[s->ntus];
	/* The module name is filled in after compiling; mark modules with an empty name. */
	*nt = (struct lp_tu){.source = strdup(src),
			     .why = strdup(why),
			     .how = f->how ? strdup(f->how) : NULL,
			     .module = module ? strdup("") : NULL,
			     .builtin_too = module && (f->kind & KERNEL_FILE_BUILTIN)};
	if (!nt->source || !nt->why || (module && !nt->module) || (f->how && !nt->how)) {
		free(nt->source);
		free(nt->why);
		free(nt->how);
		free(nt->module);
		return -ENOMEM;
	}
	s->ntus++;
	return 0;
}

/* Sorts the touched files into translation units, headers to chase, refusals and ignorables. */
/*
 * C source reduced to what its tokens and line structure say: line splices joined, comments
 * replaced by a space (as the compiler does), runs of blanks outside literals made one
 * space, lines trimmed, empty lines dropped. Two texts that reduce to the same string
 * preprocess alike but for __LINE__ (which only diagnostics use). NULL: out of memory.
 */
char *lp_c_reduced(const char *buf, size_t len)
{
	_cleanup_free_ char *sp = malloc(len + 1);
	char *out = malloc(len + 2);
	size_t n = 0, o = 0, i = 0;
	bool blank = false, line_start = true;

	if (!sp || !out) {
		free(out);
		return NULL;
	}
	for (size_t k = 0; k < len; k++) {
		if (buf[k] == '\\' && k + 1 < len && buf[k + 1] == '\n') {
			k++;
			continue;
		}
		if (buf[k] == '\\' && k + 2 < len && buf[k + 1] == '\r' && buf[k + 2] == '\n') {
			k += 2;
			continue;
		}
		sp[n++] = buf[k];
	}
#define EMIT(c)                                                                                    \
	do {                                                                                       \
		if (blank && !line_start)                                                          \
			out[o++] = ' ';                                                            \
		blank = false;                                                                     \
		line_start = false;                                                                \
		out[o++] = (c);                                                                    \
	} while (0)
	while (i < n) {
		char c = sp[i];

		if (c == '/' && i + 1 < n && sp[i + 1] == '*') {
			const char *end = memmem(sp + i + 2, n - i - 2, "*/", 2);

			i = end ? (size_t)(end - sp) + 2 : n;
			blank = true;
		} else if (c == '/' && i + 1 < n && sp[i + 1] == '/') {
			while (i < n && sp[i] != '\n')
				i++;
			blank = true;
		} else if (c == '"' || c == '\'') {
			EMIT(c);
			for (i++; i < n && sp[i] != c && sp[i] != '\n'; i++) {
				out[o++] = sp[i];
				if (sp[i] == '\\' && i + 1 < n && sp[i + 1] != '\n')
					out[o++] = sp[++i];
			}
			if (i < n && sp[i] == c)
				out[o++] = sp[i++];
		} else if (c == '\n') {
			if (!line_start)
				out[o++] = '\n';
			line_start = true;
			blank = false;
			i++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			blank = true;
			i++;
		} else {
			EMIT(c);
			i++;
		}
	}
#undef EMIT
	if (!line_start)
		out[o++] = '\n';
	out[o] = '\0';
	return out;
}

/*
 * Drops from CHASE the changed headers whose change is only comments and whitespace (the
 * pristine copy under JOURNAL_DIR/files and the patched file reduce alike): no unit that
 * includes them compiles differently. Each is noted in S.
 */
static int drop_blank_header_changes(const char *tree, const char *journal_dir, char **chase,
				     size_t *nchase, struct lp_tu_set *s)
{
	size_t keep = 0;
	int r = 0;

	for (size_t i = 0; i < *nchase; i++) {
		_cleanup_free_ char *orig = NULL, *now = NULL, *ro = NULL, *rn = NULL;
		_cleanup_free_ char *op = NULL, *np = NULL, *files = NULL;
		size_t ol = 0, nl = 0;

		if (r == 0 && ends_with(chase[i], ".h")) {
			files = path_join(journal_dir, "files");
			op = files ? path_join(files, chase[i]) : NULL;
			np = path_join(tree, chase[i]);
			if (!op || !np)
				r = -ENOMEM;
			else if (read_file_capped(op, 64u << 20, &orig, &ol) == 0 &&
				 read_file_capped(np, 64u << 20, &now, &nl) == 0) {
				ro = lp_c_reduced(orig, ol);
				rn = lp_c_reduced(now, nl);
				if (!ro || !rn)
					r = -ENOMEM;
				else if (streq(ro, rn)) {
					char *note = NULL;

					if (asprintf(
						    &note,
						    "%s: only comments and whitespace changed; the "
						    "files that include it are not compiled",
						    chase[i]) < 0)
						r = -ENOMEM;
					else if ((r = strv_append(&s->notes, &s->nnotes, note)) ==
						 0)
						log_info("%s", note);
					if (r == 0) {
						free(chase[i]);
						continue;
					}
				}
			}
		}
		chase[keep++] = chase[i];
	}
	*nchase = keep;
	return r;
}

static int classify(const struct kernel_fileset *fs, const struct lp_patch_file *files,
		    size_t nfiles, struct lp_tu_set *s, char ***ret_chase, size_t *ret_nchase)
{
	char **chase = NULL;
	size_t nchase = 0;
	int r = 0;

	for (size_t i = 0; i < nfiles && r == 0; i++) {
		const struct lp_patch_file *f = &files[i];
		const char *p = f->path, *b = base_name(p);
		const struct kernel_file *kf;

		if (streq(b, "Makefile") || streq(b, "Kbuild") || startswith(b, "Kconfig") ||
		    startswith(b, "Makefile.")) {
			r = log_error_errno(-EOPNOTSUPP,
					    "'%s': changes to the build cannot be livepatched", p);
		} else if (ends_with(p, ".S") || ends_with(p, ".s") || ends_with(p, ".lds")) {
			r = log_error_errno(
				-EOPNOTSUPP,
				"'%s': assembly and linker scripts cannot be livepatched", p);
		} else if (ends_with(p, ".c") || ends_with(p, ".h")) {
			if (f->deleted) {
				r = log_error_errno(
					-EOPNOTSUPP,
					"'%s': a source file is deleted; that cannot be "
					"livepatched",
					p);
			} else if (f->created && ends_with(p, ".c")) {
				r = log_error_errno(-EOPNOTSUPP,
						    "'%s': a new source file cannot be livepatched "
						    "(it needs a build change)",
						    p);
			} else if (f->created) {
				/* A new header is seen through the files that include it. */
				continue;
			} else if (ends_with(p, ".c") && (kf = kernel_fileset_find(fs, p))) {
				r = add_tu(s, p, "changed", kf);
				/* A built .c may also be #included by another built .c. */
				if (r == 0)
					r = strv_append(&chase, &nchase, strdup(p));
			} else {
				if (ends_with(p, ".h"))
					r = strv_append(&s->headers, &s->nheaders, strdup(p));
				if (r == 0)
					r = strv_append(&chase, &nchase, strdup(p));
			}
		} else {
			/* Not C by its name, but C may #include it (tables, .inc files). */
			r = strv_append(&chase, &nchase, strdup(p));
		}
	}
	if (r < 0) {
		for (size_t i = 0; i < nchase; i++)
			free(chase[i]);
		free(chase);
		return r;
	}
	*ret_chase = chase;
	*ret_nchase = nchase;
	return 0;
}

/* Whether WHY ("includes a.h, b.h (through c.h)") names FILE as a reason. */
static bool why_names(const char *why, const char *file)
{
	const char *p = startswith(why, "includes ") ? why + strlen("includes ") : NULL;
	size_t n = strlen(file);

	while (p && *p && *p != '(') {
		size_t m = strcspn(p, ", (");

		if (m == n && memcmp(p, file, n) == 0)
			return true;
		p += m;
		p += strspn(p, ", ");
	}
	return false;
}

/* Adds the built .c files including the changed headers (and unbuilt .c files) of CHASE. */
static int add_includers(struct lp_tree *t, const struct kernel_fileset *fs, char **chase,
			 size_t nchase, size_t max_units, const struct lp_includes_cache *cache,
			 struct lp_tu_set *s)
{
	char **found = NULL;
	size_t nfound = 0;
	int r;

	r = lp_find_includers(t->path, fs, chase, nchase, max_units, cache, &found, &nfound);
	if (r < 0)
		return r;
	for (size_t i = 0; i < nfound; i++) {
		char *tab = strchr(found[i], '\t');

		*tab = '\0';
		if (r == 0) {
			log_warn("'%s' %s: compiling it", found[i], tab + 1);
			r = add_tu(s, found[i], tab + 1, kernel_fileset_find(fs, found[i]));
		}
		free(found[i]);
	}
	free(found);
	for (size_t i = 0; i < nchase && r == 0; i++) {
		bool used = false;

		for (size_t k = 0; k < s->ntus && !used; k++)
			used = why_names(s->tus[k].why, chase[i]) ||
			       streq(s->tus[k].source, chase[i]);
		if (used)
			continue;
		log_info("'%s' is not compiled with this config; ignored", chase[i]);
		if (ends_with(chase[i], ".c"))
			r = strv_append(
				&s->skipped, &s->nskipped,
				strdup_printf("%s: not built with this config (no Kbuild "
					      "rule selects it and no built file includes it)",
					      chase[i]));
		else
			r = strv_append(
				&s->skipped, &s->nskipped,
				strdup_printf("%s: no file built with this config includes it",
					      chase[i]));
	}
	return r;
}

/* ---- compiling ---- */

/*
 * The command kbuild compiled OBJ with, from its .cmd file, when it can be run by a shell as
 * it stands (no make escapes in it); NULL otherwise.
 */
static char *cmd_line(const char *tree, const char *obj)
{
	_cleanup_free_ char *rel = cmd_file_of(obj), *cmd = NULL, *buf = NULL, *prefix = NULL;
	const char *p, *eol;

	cmd = rel ? path_join(tree, rel) : NULL;
	prefix = strdup_printf("cmd_%s := ", obj);
	if (!cmd || !prefix || read_file_capped(cmd, 16u << 20, &buf, NULL) < 0)
		return NULL;
	if (!startswith(buf, prefix))
		return NULL;
	p = buf + strlen(prefix);
	eol = strchrnul(p, '\n');
	if (memchr(p, '$', (size_t)(eol - p)) || memchr(p, '\\', (size_t)(eol - p)))
		return NULL;
	return strndup(p, (size_t)(eol - p));
}

/* ---- static branches 5 bytes wide ---- */

/*
 * A static branch on a module's key in patched code cannot be a __jump_table entry (the kernel
 * sets the livepatch's jump labels up before that module's klp relocations are written), so
 * its site becomes a jump to a thunk that tests the key (klp.c); that jump needs 5 bytes. With
 * CONFIG_HAVE_JUMP_LABEL_HACK the kernel's asm/jump_label.h emits `jmp %l[l_yes]` for every
 * static branch, which gas shrinks to 2 bytes when the target is near (262 of the 881 sites
 * on a module's own key in Debian 6.1's modules). Both sides are therefore compiled with a copy
 * of the tree's own header whose jumps are `jmp.d32` (the form the tree's static_call.h uses).
 *
 * How the copy wins over arch/x86/include/asm/jump_label.h: it lies in WORK/jump-wide/asm/,
 * and -IWORK/jump-wide goes before the tree's -I options: inserted into a replayed command,
 * and through NOSTDINC_FLAGS for make (kbuild puts it before LINUXINCLUDE in c_flags). CPATH,
 * which carries the author headers, cannot do it: gcc searches it after every -I. A forced
 * -include defining the header's guard could, but it would include <linux/types.h> and the
 * header's other includes ahead of each file's own. The copy is outside the tree (the pristine
 * manifest and the journal never see it) and is rewritten only when its text changes, so
 * kbuild's dependency checks see it stable.
 *
 * Every compile is made this way, vmlinux units too: whole functions are replaced, so the size
 * of a site in the running kernel does not matter, and one form of object per tree keeps the
 * objects kbuild records (.cmd files, the prepare chain's asm-offsets.s) from changing back and
 * forth between builds. The original and the patched side always get the same treatment: a
 * replayed command is normalised (our -I removed, then put back when forcing), whatever an
 * earlier build recorded, and make compares its recorded command and recompiles anyway (the
 * objects are deleted before every compile).
 */
#define JUMP_LABEL_H "arch/x86/include/asm/jump_label.h"
#define JUMP_YES "jmp %l[l_yes]"
#define JUMP_YES_WIDE "jmp.d32 %l[l_yes]"
#define JUMP_YES_COUNT 2
#define JUMP_WIDE_DIR "jump-wide"

int lp_jump_label_wide(const char *buf, size_t len, char **ret)
{
	const size_t yl = strlen(JUMP_YES), wl = strlen(JUMP_YES_WIDE);
	const char *p = buf, *end = buf + len, *hit;
	char *out, *o;
	size_t n = 0;

	while ((hit = memmem(p, (size_t)(end - p), JUMP_YES, yl))) {
		n++;
		p = hit + yl;
	}
	if (n != JUMP_YES_COUNT || memchr(buf, '\0', len))
		return -EPROTO;
	out = malloc(len + n * (wl - yl) + 1);
	if (!out)
		return -ENOMEM;
	o = out;
	for (p = buf; (hit = memmem(p, (size_t)(end - p), JUMP_YES, yl)); p = hit + yl) {
		memcpy(o, p, (size_t)(hit - p));
		o += hit - p;
		memcpy(o, JUMP_YES_WIDE, wl);
		o += wl;
	}
	memcpy(o, p, (size_t)(end - p));
	o[end - p] = '\0';
	*ret = out;
	return 0;
}

/* Whether P can stand in a command line unquoted (kbuild's own paths can). */
static bool shell_plain(const char *p)
{
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/._-+,=@%~", *p))
			return false;
	return true;
}

/*
 * What make's NOSTDINC_FLAGS holds in this tree, when the top Makefile sets it the way this
 * code knows (`NOSTDINC_FLAGS :=` then `NOSTDINC_FLAGS += -nostdinc`, Linux 5.16 onwards) and
 * nothing else assigns it: a value given on make's command line replaces the Makefile's, so it
 * must repeat it. NULL otherwise.
 */
const char *lp_tree_nostdinc(const char *tree)
{
	static const char *const makefiles[] = {"Makefile", "arch/x86/Makefile",
						"arch/x86/Makefile_32.cpu", "scripts/Makefile.lib",
						"scripts/Makefile.build"};
	unsigned empty = 0, plus = 0, other = 0;

	for (size_t i = 0; i < ARRAY_SIZE(makefiles); i++) {
		_cleanup_free_ char *path = path_join(tree, makefiles[i]), *buf = NULL;

		if (!path || read_file_capped(path, 8u << 20, &buf, NULL) < 0) {
			if (i == 0)
				return NULL;
			continue;
		}
		for (char *line = buf, *next; line && *line; line = next) {
			const char *v, *rest;
			size_t op;

			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			line += strspn(line, " \t");
			if (!startswith(line, "NOSTDINC_FLAGS"))
				continue;
			v = line + strlen("NOSTDINC_FLAGS");
			v += strspn(v, " \t");
			if (*v == '\0' || !strchr(":+?!=", *v))
				continue; /* a use, or another name, not an assignment */
			op = strspn(v, ":+?!=");
			rest = v + op + strspn(v + op, " \t");
			if (i == 0 && op == 2 && v[0] == ':' && v[1] == '=' && *rest == '\0')
				empty++;
			else if (i == 0 && op == 2 && v[0] == '+' && streq(rest, "-nostdinc"))
				plus++;
			else
				other++;
		}
	}
	return empty == 1 && plus == 1 && other == 0 ? "-nostdinc" : NULL;
}

/* Reads the text of the tree's asm/jump_label.h before the patches (BEFORE) or after them. */
static int jump_label_text(const char *tree, const struct journal *j, bool before, char **ret,
			   size_t *ret_len)
{
	_cleanup_free_ char *path = NULL;

	if (before && journal_has(j, 'B', JUMP_LABEL_H))
		path = strdup_printf("%s/files/%s", j->dir, JUMP_LABEL_H);
	else
		path = path_join(tree, JUMP_LABEL_H);
	if (!path)
		return -ENOMEM;
	return read_file_capped(path, 1u << 20, ret, ret_len);
}

/*
 * Decides whether this compile makes static-branch sites 5 bytes wide: only when the header can
 * be made for both sides (the patches may change it) and make's NOSTDINC_FLAGS can be extended.
 * Sets S->wide_branches and, when forcing, the texts of both sides' header; otherwise says why
 * in the log.
 */
static int jump_wide_decide(struct lp_tree *t, const char *work, const struct journal *j,
			    struct lp_tu_set *s, char **ret_orig, char **ret_patched)
{
	_cleanup_free_ char *dir = path_join(work, JUMP_WIDE_DIR);
	_cleanup_free_ char *orig = NULL, *patched = NULL, *wo = NULL, *wp = NULL;
	const char *why = NULL, *nostdinc = lp_tree_nostdinc(t->path);
	size_t ol = 0, pl = 0;
	int r;

	if (!dir)
		return -ENOMEM;
	free(t->wide_dir);
	t->wide_dir = TAKE_PTR(dir);
	s->wide_branches = false;
	if (!shell_plain(t->wide_dir))
		why = "the tree's path is not one a command line can carry unquoted";
	else if (!nostdinc)
		why = "the tree's Makefile does not set NOSTDINC_FLAGS as this tuxtape knows";
	else if (jump_label_text(t->path, j, true, &orig, &ol) < 0 ||
		 jump_label_text(t->path, j, false, &patched, &pl) < 0)
		why = "it has no " JUMP_LABEL_H;
	else {
		r = lp_jump_label_wide(orig, ol, &wo);
		if (r == 0)
			r = lp_jump_label_wide(patched, pl, &wp);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			why = JUMP_LABEL_H " does not hold exactly the two `" JUMP_YES "` tuxtape "
					   "makes 5 bytes wide";
	}
	if (why) {
		log_warn("static branches are compiled as the kernel compiles them, 2 or 5 bytes: "
			 "%s; a static branch on a module's key at a 2-byte site will be refused",
			 why);
		return 0;
	}
	free(t->wide_make_var);
	t->wide_make_var = strdup_printf("NOSTDINC_FLAGS=-I%s %s", t->wide_dir, nostdinc);
	if (!t->wide_make_var)
		return -ENOMEM;
	s->wide_branches = true;
	*ret_orig = TAKE_PTR(wo);
	*ret_patched = TAKE_PTR(wp);
	return 0;
}

/* Writes TEXT as WIDE_DIR/asm/jump_label.h, unless it already holds exactly that. */
static int jump_wide_write(const struct lp_tree *t, const char *text)
{
	_cleanup_free_ char *asmdir = path_join(t->wide_dir, "asm"), *path = NULL, *now = NULL;
	size_t len = strlen(text), nl = 0;
	int r;

	path = asmdir ? path_join(asmdir, "jump_label.h") : NULL;
	if (!path)
		return -ENOMEM;
	if (read_file_capped(path, 1u << 20, &now, &nl) == 0 && nl == len &&
	    memcmp(now, text, len) == 0)
		return 0;
	r = mkdir_p(asmdir, 0755);
	if (r == 0)
		r = write_file_atomic(path, text, len, 0644);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %s", path, strerror(-r));
	return 0;
}

/*
 * LINE (a command kbuild recorded) with -IWIDE_DIR removed wherever an earlier build left it,
 * and, when WIDE, put before the first -I of its compiler. NULL: no place for it (no -I before
 * the command's first `;`), or out of memory.
 */
char *lp_cmd_line_wide(const char *line, const char *wide_dir, bool wide)
{
	_cleanup_free_ char *tok = strdup_printf(" -I%s", wide_dir);
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	const char *p = line, *hit, *first, *semi;
	size_t tl;

	if (!tok)
		return NULL;
	tl = strlen(tok);
	while ((hit = strstr(p, tok))) {
		if (hit[tl] != ' ' && hit[tl] != '\0') {
			if (strbuf_add(&sb, p, (size_t)(hit - p) + tl) < 0)
				return NULL;
		} else if (strbuf_add(&sb, p, (size_t)(hit - p)) < 0) {
			return NULL;
		}
		p = hit + tl;
	}
	if (strbuf_adds(&sb, p) < 0)
		return NULL;
	if (!wide)
		return strdup(strbuf_str(&sb));
	first = strstr(strbuf_str(&sb), " -I");
	semi = strchr(strbuf_str(&sb), ';');
	if (!first || (semi && semi < first))
		return NULL;
	return strdup_printf("%.*s%s%s", (int)(first - strbuf_str(&sb)), strbuf_str(&sb), tok,
			     first);
}

/* The command to replay for OBJ, with this compile's static-branch header; NULL: use make. */
static char *replay_line(const struct lp_tree *t, const char *obj)
{
	_cleanup_free_ char *line = cmd_line(t->path, obj);

	if (!line || !t->wide_dir)
		return TAKE_PTR(line);
	return lp_cmd_line_wide(line, t->wide_dir, t->wide_make_var != NULL);
}

/*
 * Recompiles OBJS by running the commands kbuild recorded for them (compiler, then objtool):
 * the same flags as make would use, without make's second of checking the whole prepare
 * chain. The command is a list ("gcc ...; objtool ..."), so it runs under `set -e -o
 * pipefail`: a failing compiler stops it, instead of objtool succeeding on an old object and
 * its status being taken for the compiler's. Returns -ENOENT when a command is not usable,
 * so the caller falls back to make.
 */
static int replay_all(struct lp_tree *t, const char *const *objs, size_t n, const char *log)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *line = replay_line(t, objs[i]);

		if (!line)
			return -ENOENT;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *line = replay_line(t, objs[i]);
		_cleanup_free_ char *dep = NULL;
		const char *argv[] = {"bash", "-e", "-o", "pipefail", "-c", line, NULL};
		const char *slash;
		int r;

		if (!line)
			return -ENOMEM;
		const char *env[] = {t->compile_env, NULL};

		r = lp_spawn(argv, t->path, t->compile_env ? env : NULL, log, NULL);
		/* gcc's dependency file, which make would have folded into the .cmd file. */
		slash = strrchr(objs[i], '/');
		dep = slash ? strdup_printf("%s/%.*s/.%s.d", t->path, (int)(slash - objs[i]),
					    objs[i], slash + 1)
			    : NULL;
		if (dep)
			unlink(dep);
		if (r < 0) {
			_cleanup_free_ char *why = lp_failure_output(log, t->path);

			log_error("compiling '%s' failed:\n%s", objs[i], strempty(why));
			return r == -ENOENT ? -ENOEXEC : r;
		}
	}
	return 0;
}

struct compile_watch {
	const char *log, *what;
	unsigned long total;
};

/* Counts kbuild's "  CC      x.o" lines so far, for progress. */
static void compile_tick(void *userdata)
{
	struct compile_watch *w = userdata;
	_cleanup_free_ char *buf = NULL;
	unsigned long n = 0;

	if (!w->what || read_file_capped(w->log, 16u << 20, &buf, NULL) < 0)
		return;
	for (const char *p = buf; (p = strstr(p, "  CC ")); p++)
		if (p == buf || p[-1] == '\n')
			n++;
	tt_progress(w->what, MIN(n, w->total), w->total);
}

static int compile_all(struct lp_tree *t, struct lp_tu_set *s, const char *outdir, const char *work,
		       const char *which)
{
	_cleanup_free_ const char **targets = calloc(s->ntus + 1, sizeof(char *));
	_cleanup_free_ char *dest = path_join(outdir, which), *log = NULL;
	char **objs = calloc(s->ntus, sizeof(char *));
	int r = 0;

	log = strdup_printf("%s/compile-%s.log", work, which);
	if (!targets || !dest || !objs || !log) {
		free(objs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->ntus; i++) {
		_cleanup_free_ char *abs = NULL;

		objs[i] = obj_of(s->tus[i].source);
		abs = objs[i] ? path_join(t->path, objs[i]) : NULL;
		if (!abs) {
			r = -ENOMEM;
			goto out;
		}
		/* Never trust an object that is already there: it may be from any source. */
		if (unlink(abs) < 0 && errno != ENOENT) {
			r = log_error_errno(negative_errno(), "cannot remove '%s': %m", abs);
			goto out;
		}
		targets[i] = objs[i];
	}
	log_info("compiling %zu %s translation unit%s", s->ntus, which, s->ntus == 1 ? "" : "s");
	unlink(log);
	/*
	 * A unit or two: replay their commands (no make overhead). More: make, in parallel on
	 * every core, with a count from its output.
	 */
	r = s->ntus <= 2 ? replay_all(t, (const char *const *)objs, s->ntus, log) : -ENOENT;
	if (r == -ENOENT) {
		_cleanup_free_ char *what = strdup_printf("compiling %s units", which);
		struct compile_watch w = {.log = log, .what = what, .total = s->ntus};

		tt_progress(what ? what : "compiling", 0, s->ntus);
		r = lp_tree_make_watch(t, targets, true, log, compile_tick, &w);
		if (r >= 0)
			tt_progress(what ? what : "compiling", s->ntus, s->ntus);
	}
	if (r < 0) {
		r = -ENOEXEC;
		goto out;
	}
	for (size_t i = 0; i < s->ntus; i++) {
		_cleanup_free_ char *src = path_join(t->path, objs[i]);
		char **slot = streq(which, "orig") ? &s->tus[i].orig_obj : &s->tus[i].patched_obj;

		if (!src) {
			r = -ENOMEM;
			goto out;
		}
		if (!lp_path_exists(src)) {
			r = log_error_errno(-ENOEXEC,
					    "compiling '%s' (%s) reported success but produced no "
					    "object (log: %s)",
					    s->tus[i].source, which, log);
			goto out;
		}
		r = lp_copy_into(src, dest, objs[i]);
		if (r < 0) {
			log_error("cannot copy '%s': %s", src, strerror(-r));
			goto out;
		}
		free(*slot);
		*slot = strdup_printf("%s/%s", dest, objs[i]);
		if (!*slot) {
			r = -ENOMEM;
			goto out;
		}
		if (s->tus[i].module && !s->tus[i].module[0]) {
			char *m = cmd_modname(t->path, objs[i]);

			if (m) {
				for (char *c = m; *c; c++)
					if (*c == '-')
						*c = '_';
				free(s->tus[i].module);
				s->tus[i].module = m;
			}
		}
	}
out:
	for (size_t i = 0; i < s->ntus; i++)
		free(objs[i]);
	free(objs);
	return r;
}

/* ---- applying ---- */

/*
 * Applies every patch of PS, each after a dry run that names the files it will touch, which
 * are checked and journalled first. Fills S's file list, notes and fuzz flag, and FILES.
 */
static int apply_all(struct lp_tree *t, const struct lp_patchset *ps,
		     const struct lp_compile_opts *opts, const char *work,
		     const struct lp_manifest *m, struct journal *j, struct lp_tu_set *s)
{
	_cleanup_free_ char *plog = path_join(work, "patch.log");
	int r;

	if (!plog)
		return -ENOMEM;
	for (size_t i = 0; i < ps->npatches; i++) {
		struct lp_patch_run dry = {0}, run = {0};

		r = lp_patch_apply(t->path, ps->patches[i], true, opts->allow_fuzz, plog, &dry);
		/* Not applying to a tree that is not pristine says nothing about the patch. */
		for (size_t k = 0; k < dry.nfiles && r == -EBADMSG; k++)
			if (!journal_has(j, 'B', dry.files[k].path) &&
			    !journal_has(j, 'C', dry.files[k].path) &&
			    lp_manifest_check(m, t->path, dry.files[k].path) == -EUCLEAN)
				r = mark_broken(work, t->path,
						"a file the patch touches is not pristine");
		for (size_t k = 0; k < dry.nfiles && r == 0; k++) {
			const struct lp_patch_touch *f = &dry.files[k];

			if (f->renamed_from)
				r = log_error_errno(-EOPNOTSUPP,
						    "patch '%s': '%s' is %s from '%s'; that cannot "
						    "be livepatched",
						    ps->patches[i], f->path,
						    f->copied ? "copied" : "renamed",
						    f->renamed_from);
			else
				r = journal_add_file(j, work, t->path, m, f->path);
		}
		if (r == 0)
			r = journal_save(j);
		if (r == 0)
			r = lp_patch_apply(t->path, ps->patches[i], false, opts->allow_fuzz, plog,
					   &run);
		for (size_t k = 0; k < run.nfiles && r == 0; k++)
			if (!journal_has(j, 'B', run.files[k].path) &&
			    !journal_has(j, 'C', run.files[k].path))
				r = log_error_errno(-EOPNOTSUPP,
						    "patch '%s': patch(1) touched '%s', which its "
						    "dry run did not name",
						    ps->patches[i], run.files[k].path);
		for (size_t k = 0; k < run.nnotes && r == 0; k++) {
			r = strv_append(&s->notes, &s->nnotes, TAKE_PTR(run.notes[k]));
			if (r == 0)
				log_info("%s", s->notes[s->nnotes - 1]);
		}
		s->fuzz |= run.fuzz;
		lp_patch_run_release(&dry);
		lp_patch_run_release(&run);
		if (r < 0)
			return r;
	}
	if (s->fuzz)
		log_info("hunks applied with fuzz (--allow-fuzz): check where they landed");
	return 0;
}

/* The touched files, created (absent before) or deleted (absent after), from the journal. */
static int touched_files(const struct lp_tree *t, const struct journal *j, struct lp_tu_set *s,
			 struct lp_patch_file **ret, size_t *ret_n)
{
	struct lp_patch_file *files = calloc(j->n + 1, sizeof(*files));
	size_t n = 0;
	int r = 0;

	if (!files)
		return -ENOMEM;
	for (size_t i = 0; i < j->n && r == 0; i++) {
		_cleanup_free_ char *abs = path_join(t->path, j->e[i].path);

		if (j->e[i].kind == 'O')
			continue;
		if (!abs) {
			r = -ENOMEM;
			break;
		}
		files[n] = (struct lp_patch_file){.path = j->e[i].path,
						  .created = j->e[i].kind == 'C',
						  .deleted = !lp_path_exists(abs)};
		if (files[n].created && files[n].deleted)
			continue; /* created by one patch, deleted by a later one */
		n++;
		r = strv_append(&s->files, &s->nfiles, strdup(j->e[i].path));
	}
	if (r < 0) {
		free(files);
		return r;
	}
	*ret = files;
	*ret_n = n;
	return 0;
}

int lp_tree_compile(struct lp_tree *t, const struct lp_patchset *ps,
		    const struct lp_compile_opts *opts, const char *outdir, struct lp_tu_set **ret)
{
	static const struct lp_compile_opts no_opts = {0};
	_cleanup_(lp_tu_set_freep) struct lp_tu_set *s = NULL;
	_cleanup_(lp_manifest_freep) struct lp_manifest *m = NULL;
	_cleanup_free_ char *work = NULL, *lockpath = NULL, *mpath = NULL, *mark = NULL;
	_cleanup_free_ char *dot_config = NULL, *wide_orig = NULL, *wide_patched = NULL;
	_cleanup_free_ struct lp_patch_file *files = NULL;
	_cleanup_close_ int lock = -1;
	struct kernel_fileset *fs = NULL;
	struct journal j = {0};
	char **chase = NULL;
	size_t nchase = 0, nfiles = 0;
	double t0 = lp_now();
	bool applied = false;
	size_t max_units;
	int r, r2;

	if (!t || !ps || !outdir)
		return -EINVAL;
	if (!opts)
		opts = &no_opts;
	max_units = opts->max_units ? opts->max_units : LP_TREE_MAX_TUS;
	free(t->compile_env);
	t->compile_env = NULL;
	free(t->wide_dir);
	t->wide_dir = NULL;
	free(t->wide_make_var);
	t->wide_make_var = NULL;
	if (opts->author_include) {
		t->compile_env = strdup_printf("CPATH=%s", opts->author_include);
		if (!t->compile_env)
			return -ENOMEM;
	}
	s = calloc(1, sizeof(*s));
	work = strdup(t->path);
	if (!s || !work)
		return -ENOMEM;
	*strrchr(work, '/') = '\0';
	lockpath = path_join(work, "lock");
	mpath = path_join(work, "pristine.manifest");
	mark = path_join(work, "BROKEN");
	dot_config = path_join(t->path, ".config");
	j.dir = path_join(work, "journal");
	if (!lockpath || !mpath || !mark || !dot_config || !j.dir) {
		r = -ENOMEM;
		goto out;
	}
	r = mkdir_p(outdir, 0755);
	if (r < 0) {
		log_error("cannot create '%s': %s", outdir, strerror(-r));
		goto out;
	}

	/*
	 * One patch at a time per tree: the tree is patched in place. The lock is inherited by
	 * make and the compilers (not close-on-exec): if this process is killed, its compilers
	 * keep the tree locked until they exit, so the next build never races an orphaned gcc
	 * writing a patched object.
	 */
	lock = open(lockpath, O_RDWR | O_CREAT, 0644);
	if (lock < 0) {
		r = log_error_errno(negative_errno(), "cannot open '%s': %m", lockpath);
		goto out;
	}
	if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
		log_info("waiting for another tuxtape using '%s'", t->path);
		if (flock(lock, LOCK_EX) < 0) {
			r = negative_errno();
			goto out;
		}
	}
	if (lp_path_exists(mark)) {
		r = log_error_errno(-EUCLEAN,
				    "the kernel tree '%s' is marked broken; run the build again to "
				    "prepare it anew",
				    t->path);
		goto out;
	}
	r = lp_manifest_load(mpath, &m);
	if (r < 0) {
		r = mark_broken(work, t->path, "its pristine manifest cannot be read");
		goto out;
	}
	r = journal_restore(work, t->path, m);
	if (r < 0)
		goto out;

	/* Refuse what patch(1) would do beyond line edits before anything is touched. */
	for (size_t i = 0; i < ps->npatches; i++) {
		_cleanup_free_ char *text = NULL;
		size_t len;

		r = read_file_capped(ps->patches[i], LP_PATCH_MAX_SIZE, &text, &len);
		if (r < 0) {
			log_error("cannot read patch '%s': %s", ps->patches[i], strerror(-r));
			goto out;
		}
		r = lp_patch_check_text(ps->patches[i], text, len);
		if (r < 0)
			goto out;
	}

	applied = true;
	r = apply_all(t, ps, opts, work, m, &j, s);
	if (r < 0)
		goto out;
	r = touched_files(t, &j, s, &files, &nfiles);
	if (r < 0)
		goto out;

	/* One answer to "is this file built, and into what": the static Kbuild evaluation. */
	r = kernel_files_static(t->path, dot_config, NULL, &fs);
	if (r < 0) {
		log_error("cannot tell which files this config builds in '%s'", t->path);
		goto out;
	}
	r = classify(fs, files, nfiles, s, &chase, &nchase);
	if (r < 0)
		goto out;
	r = drop_blank_header_changes(t->path, j.dir, chase, &nchase, s);
	if (r < 0)
		goto out;
	if (nchase > 0) {
		_cleanup_free_ char *cpath = path_join(work, "includes.cache");
		_cleanup_free_ char *pdir = path_join(j.dir, "files");
		_cleanup_free_ char **touched = calloc(j.n + 1, sizeof(*touched));
		_cleanup_free_ bool *created = calloc(j.n + 1, sizeof(*created));
		struct lp_includes_cache cache = {.path = cpath,
						  .pristine_dir = pdir,
						  .touched = touched,
						  .created = created};

		if (!cpath || !pdir || !touched || !created) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < j.n; i++)
			if (j.e[i].kind != 'O') {
				touched[cache.ntouched] = j.e[i].path;
				created[cache.ntouched++] = j.e[i].kind == 'C';
			}
		r = add_includers(t, fs, chase, nchase, max_units, &cache, s);
		if (r < 0)
			goto out;
	}
	if (s->ntus > max_units) {
		r = log_error_errno(-E2BIG,
				    "the patches change %zu translation units (at most %zu are "
				    "compiled; --max-units raises the limit)",
				    s->ntus, max_units);
		goto out;
	}
	if (s->ntus == 0) {
		log_info("the patches change no translation unit built with this config");
		goto out;
	}

	/* The units compiled only because they include a changed header must be pristine. */
	for (size_t i = 0; i < s->ntus; i++) {
		if (journal_has(&j, 'B', s->tus[i].source))
			continue;
		r = lp_manifest_check(m, t->path, s->tus[i].source);
		if (r == -EUCLEAN)
			r = mark_broken(work, t->path, "a file to compile is not pristine");
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < s->ntus && r == 0; i++) {
		_cleanup_free_ char *obj = obj_of(s->tus[i].source);

		r = obj ? journal_push(&j, 'O', obj, NULL) : -ENOMEM;
	}
	if (r == 0)
		r = journal_save(&j);
	if (r == 0)
		r = jump_wide_decide(t, work, &j, s, &wide_orig, &wide_patched);
	if (r == 0 && wide_patched)
		r = jump_wide_write(t, wide_patched);
	if (r < 0)
		goto out;
	r = compile_all(t, s, outdir, work, "patched");
	if (r < 0)
		goto out;
	applied = false;
	r = journal_restore(work, t->path, m);
	if (r == 0 && wide_orig)
		r = jump_wide_write(t, wide_orig);
	if (r < 0)
		goto out;
	r = compile_all(t, s, outdir, work, "orig");
out:
	free(t->wide_make_var);
	t->wide_make_var = NULL;
	if (applied) {
		r2 = journal_restore(work, t->path, m);
		if (r2 < 0 && r >= 0)
			r = r2;
	}
	for (size_t i = 0; i < nchase; i++)
		free(chase[i]);
	free(chase);
	kernel_fileset_free(fs);
	journal_release(&j);
	if (r < 0)
		return r;
	s->compile_seconds = lp_now() - t0;
	*ret = TAKE_PTR(s);
	return 0;
}
