/*
 * Who includes a changed header: a scan of the tree's #include lines (not a preprocessor run:
 * conditional includes count as includes, which can only add translation units).
 */
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "kernel/fileset.h"
#include "log.h"
#include "macro.h"
#include "strbuf.h"
#include "tree-internal.h"
#include "banned.h"

#define SOURCE_FILE_MAX (256u << 20) /* a larger source is an error, not skipped */

/*
 * Included by the kernel's own flags (LINUXINCLUDE and c_flags' -include) in every unit, so no
 * #include line names them: a change reaching them reaches everything.
 */
static const char *const forced_includes[] = {
	"include/linux/kconfig.h",
	"include/linux/compiler-version.h",
	"include/linux/compiler_types.h",
};

struct inc_file {
	char *path;  /* relative to the tree */
	char **incs; /* '"' or '<' followed by the name */
	size_t n;
};

struct inc_graph {
	struct inc_file *files;
	size_t n, alloc;
};

static void inc_graph_release(struct inc_graph *g)
{
	for (size_t i = 0; i < g->n; i++) {
		for (size_t j = 0; j < g->files[i].n; j++)
			free(g->files[i].incs[j]);
		free(g->files[i].incs);
		free(g->files[i].path);
	}
	free(g->files);
	g->files = NULL;
	g->n = g->alloc = 0;
}

static int scan_includes(const char *buf, struct inc_file *f)
{
	for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *s = p, *e;
		char **ni;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '#')
			continue;
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!startswith(s, "include"))
			continue;
		s += strlen("include");
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '"' && *s != '<')
			continue;
		e = strchr(s + 1, *s == '"' ? '"' : '>');
		if (!e || e - s > 200 || memchr(s, '\n', (size_t)(e - s)))
			continue;
		ni = realloc(f->incs, (f->n + 1) * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		f->incs = ni;
		f->incs[f->n] = strndup(s, (size_t)(e - s));
		if (!f->incs[f->n])
			return -ENOMEM;
		f->n++;
	}
	return 0;
}

static bool scan_skip_dir(const FTSENT *e, const char *rel)
{
	if (e->fts_level == 0)
		return false;
	if (e->fts_name[0] == '.')
		return true;
	if (e->fts_level == 1)
		return streq(rel, "Documentation") || streq(rel, "tools") ||
		       streq(rel, "scripts") || streq(rel, "LICENSES");
	if (e->fts_level == 2 && startswith(rel, "arch/"))
		return !streq(rel, "arch/x86");
	return false;
}

static int inc_graph_build(const char *tree, struct inc_graph *g)
{
	char *const roots[] = {(char *)tree, NULL};
	size_t prefix = strlen(tree) + 1;
	FTS *fts;
	FTSENT *e;
	int r = 0;

	fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	if (!fts)
		return negative_errno();
	while ((e = fts_read(fts))) {
		size_t len = e->fts_namelen;
		const char *rel = e->fts_pathlen > prefix ? e->fts_path + prefix : "";
		_cleanup_free_ char *buf = NULL;
		struct inc_file f = {0};

		if (e->fts_info == FTS_D && scan_skip_dir(e, rel)) {
			fts_set(fts, e, FTS_SKIP);
			continue;
		}
		if (e->fts_info != FTS_F || len < 3 || e->fts_name[len - 2] != '.' ||
		    (e->fts_name[len - 1] != 'c' && e->fts_name[len - 1] != 'h'))
			continue;
		r = read_file_capped(e->fts_path, SOURCE_FILE_MAX, &buf, NULL);
		if (r < 0) {
			/* A file not read could be the one including the change. */
			log_error("cannot read '%s': %s", e->fts_path, strerror(-r));
			break;
		}
		r = scan_includes(buf, &f);
		if (r < 0 || f.n == 0) {
			for (size_t i = 0; i < f.n; i++)
				free(f.incs[i]);
			free(f.incs);
			if (r < 0)
				break;
			continue;
		}
		if (g->n == g->alloc) {
			size_t na = g->alloc ? g->alloc * 2 : 4096;
			struct inc_file *nf = realloc(g->files, na * sizeof(*nf));

			if (!nf) {
				r = -ENOMEM;
				break;
			}
			g->files = nf;
			g->alloc = na;
		}
		f.path = strdup(rel);
		if (!f.path) {
			r = -ENOMEM;
			break;
		}
		g->files[g->n++] = f;
	}
	fts_close(fts);
	return r;
}

/* ---- the pristine graph, cached beside the tree ---- */

#define CACHE_MAGIC "tuxtape-includes-1\n"
#define CACHE_MAX (256u << 20)

/* Whether the scan of the tree reads REL (the same filter as scan_skip_dir() and the suffix). */
static bool rel_scanned(const char *rel)
{
	size_t n = strlen(rel);
	const char *slash = strchr(rel, '/');

	if (n < 3 || rel[n - 2] != '.' || (rel[n - 1] != 'c' && rel[n - 1] != 'h'))
		return false;
	if (rel[0] == '.' || strstr(rel, "/."))
		return false;
	if (slash && (startswith(rel, "Documentation/") || startswith(rel, "tools/") ||
		      startswith(rel, "scripts/") || startswith(rel, "LICENSES/")))
		return false;
	if (startswith(rel, "arch/") && !startswith(rel, "arch/x86/") && strchr(rel + 5, '/'))
		return false;
	return true;
}

static int graph_append(struct inc_graph *g, struct inc_file *f)
{
	if (g->n == g->alloc) {
		size_t na = g->alloc ? g->alloc * 2 : 4096;
		struct inc_file *nf = reallocarray(g->files, na, sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		g->files = nf;
		g->alloc = na;
	}
	g->files[g->n++] = *f;
	*f = (struct inc_file){0};
	return 0;
}

static void inc_file_release(struct inc_file *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->incs[i]);
	free(f->incs);
	free(f->path);
	*f = (struct inc_file){0};
}

/* Replaces REL's entry in G by a scan of the file at PATH (NULL or absent: no entry). */
static int graph_set(struct inc_graph *g, const char *rel, const char *path)
{
	_cleanup_free_ char *buf = NULL;
	struct inc_file f = {0};
	int r;

	for (size_t i = 0; i < g->n; i++)
		if (streq(g->files[i].path, rel)) {
			inc_file_release(&g->files[i]);
			g->files[i] = g->files[--g->n];
			break;
		}
	if (!path || !rel_scanned(rel))
		return 0;
	r = read_file_capped(path, SOURCE_FILE_MAX, &buf, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
	r = scan_includes(buf, &f);
	if (r == 0 && f.n > 0) {
		f.path = strdup(rel);
		r = f.path ? graph_append(g, &f) : -ENOMEM;
	}
	inc_file_release(&f);
	return r;
}

static int graph_load(const char *path, struct inc_graph *g)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = read_file_capped(path, CACHE_MAX, &buf, &len);
	if (r < 0)
		return r;
	if (!startswith(buf, CACHE_MAGIC) || len == 0 || buf[len - 1] != '\n')
		return -EBADMSG;
	for (char *line = buf + strlen(CACHE_MAGIC), *next; *line; line = next) {
		struct inc_file f = {0};

		next = strchr(line, '\n');
		*next++ = '\0';
		for (char *field = line, *tab; field; field = tab) {
			tab = strchr(field, '\t');
			if (tab)
				*tab++ = '\0';
			if (!f.path) {
				f.path = strdup(field);
				r = f.path ? 0 : -ENOMEM;
			} else if ((field[0] == '"' || field[0] == '<') && field[1]) {
				char **ni = reallocarray(f.incs, f.n + 1, sizeof(*ni));

				r = ni ? 0 : -ENOMEM;
				if (ni) {
					f.incs = ni;
					f.incs[f.n] = strdup(field);
					r = f.incs[f.n] ? 0 : -ENOMEM;
					f.n += r == 0;
				}
			} else {
				r = -EBADMSG;
			}
			if (r < 0)
				break;
		}
		if (r == 0 && (!f.path || f.n == 0))
			r = -EBADMSG;
		if (r == 0)
			r = graph_append(g, &f);
		inc_file_release(&f);
		if (r < 0) {
			inc_graph_release(g);
			return r;
		}
	}
	return 0;
}

static int graph_save(const char *path, const struct inc_graph *g)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	int r = strbuf_adds(&sb, CACHE_MAGIC);

	for (size_t i = 0; i < g->n && r == 0; i++) {
		const struct inc_file *f = &g->files[i];

		if (strpbrk(f->path, "\t\n"))
			return -EINVAL;
		r = strbuf_adds(&sb, f->path);
		for (size_t j = 0; j < f->n && r == 0; j++) {
			if (strpbrk(f->incs[j], "\t\n"))
				return -EINVAL;
			r = strbuf_addf(&sb, "\t%s", f->incs[j]);
		}
		if (r == 0)
			r = strbuf_addch(&sb, '\n');
	}
	if (r < 0)
		return r;
	return write_file_atomic(path, strbuf_str(&sb), sb.len, 0644);
}

/*
 * The include graph of the tree as it stands (the patches applied). The pristine tree never
 * changes, so its graph is read from C->path when there, else scanned and saved there (with
 * the touched files' entries taken from their pristine copies); then the touched files are
 * rescanned as patched.
 */
static int graph_get(const char *tree, const struct lp_includes_cache *c, struct inc_graph *g)
{
	int r;

	if (c && c->path && graph_load(c->path, g) == 0) {
		log_info("read the include graph of the pristine tree from '%s'", c->path);
	} else {
		r = inc_graph_build(tree, g);
		if (r < 0)
			return r;
		if (c && c->path) {
			for (size_t i = 0; i < c->ntouched && r == 0; i++) {
				_cleanup_free_ char *orig =
					c->created[i] ? NULL
						      : path_join(c->pristine_dir, c->touched[i]);

				if (!c->created[i] && !orig)
					return -ENOMEM;
				r = graph_set(g, c->touched[i], orig);
			}
			if (r < 0)
				return r;
			r = graph_save(c->path, g);
			if (r < 0)
				log_warn("cannot save the include graph to '%s': %s", c->path,
					 strerror(-r));
		}
	}
	for (size_t i = 0; c && i < c->ntouched; i++) {
		_cleanup_free_ char *now = path_join(tree, c->touched[i]);

		if (!now)
			return -ENOMEM;
		r = graph_set(g, c->touched[i], now);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Resolves "a/b/../c.h" and "./" into a clean relative path; NULL if it climbs out. */
static char *normalize_rel(const char *dir, const char *name)
{
	_cleanup_free_ char *joined = dir[0] ? strdup_printf("%s/%s", dir, name) : strdup(name);
	char *out, *w;

	if (!joined)
		return NULL;
	out = malloc(strlen(joined) + 1);
	if (!out)
		return NULL;
	w = out;
	for (char *seg = joined, *next; seg; seg = next) {
		next = strchr(seg, '/');
		if (next)
			*next++ = '\0';
		if (!*seg || streq(seg, "."))
			continue;
		if (streq(seg, "..")) {
			if (w == out) {
				free(out);
				return NULL;
			}
			while (w > out && w[-1] != '/')
				w--;
			if (w > out)
				w--;
			continue;
		}
		if (w > out)
			*w++ = '/';
		size_t n = strlen(seg);
		memcpy(w, seg, n);
		w += n;
	}
	*w = '\0';
	return out;
}

/*
 * Frontier entries are "path\0origins": the file, then the changed files (", "-separated) it
 * stands for. Compared by path only.
 */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *origins_of(const char *entry)
{
	return entry + strlen(entry) + 1;
}

static char *entry_new(const char *path, const char *origins)
{
	size_t a = strlen(path), b = strlen(origins);
	char *e = malloc(a + b + 2);

	if (!e)
		return NULL;
	memcpy(e, path, a + 1);
	memcpy(e + a + 1, origins, b + 1);
	return e;
}

/* Adds the origins of ENTRY to SB, each once. */
static int add_origins(struct strbuf *sb, const char *entry)
{
	const char *o = origins_of(entry);

	while (*o) {
		size_t n = strcspn(o, ",");
		bool have = false;

		for (const char *p = strbuf_str(sb); *p && !have;) {
			size_t m = strcspn(p, ",");

			have = m == n && memcmp(p, o, n) == 0;
			p += m;
			p += strspn(p, ", ");
		}
		if (!have) {
			int r = strbuf_addf(sb, "%s%.*s", sb->len ? ", " : "", (int)n, o);

			if (r < 0)
				return r;
		}
		o += n;
		o += strspn(o, ", ");
	}
	return 0;
}

static const char *in_sorted(char **set, size_t n, const char *s)
{
	char **hit = n ? bsearch(&s, set, n, sizeof(*set), cmp_str) : NULL;

	return hit ? *hit : NULL;
}

/*
 * The file of SET (sorted) that directive INC of the file at FPATH names, or NULL. A name that
 * resolves to no file through the directory of FPATH or the kernel's global include
 * directories comes from a directory's own -I flags, which are not read here: it counts as
 * naming every file of SET whose path ends with it, so a unit may be compiled needlessly but
 * never missed.
 */
static const char *include_hits(int tree_fd, const char *fpath, const char *inc, char **set,
				size_t nset)
{
	static const char *const global_dirs[] = {"include", "arch/x86/include", "include/uapi",
						  "arch/x86/include/uapi"};
	const char *name = inc + 1;
	size_t nlen = strlen(name);

	if (inc[0] == '"') {
		_cleanup_free_ char *dir = strdup(fpath);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		_cleanup_free_ char *local = NULL;

		if (!dir)
			return NULL;
		if (slash)
			*slash = '\0';
		else
			dir[0] = '\0';
		local = normalize_rel(dir, name);
		if (local && faccessat(tree_fd, local, F_OK, 0) == 0)
			return in_sorted(set, nset, local);
	}
	for (size_t i = 0; i < ARRAY_SIZE(global_dirs); i++) {
		_cleanup_free_ char *cand = normalize_rel(global_dirs[i], name);

		if (cand && faccessat(tree_fd, cand, F_OK, 0) == 0)
			return in_sorted(set, nset, cand);
	}
	for (size_t i = 0; i < nset; i++) {
		size_t plen = strlen(set[i]);

		if (plen > nlen && set[i][plen - nlen - 1] == '/' &&
		    streq(set[i] + plen - nlen, name))
			return set[i];
	}
	return NULL;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

int lp_find_includers(const char *tree, const struct kernel_fileset *fs, char **start,
		      size_t nstart, size_t max, const struct lp_includes_cache *cache, char ***ret,
		      size_t *ret_n)
{
	struct inc_graph g = {0};
	char **frontier = NULL, **seen = NULL, **found = NULL;
	size_t nfrontier = 0, nseen = 0, nfound = 0;
	_cleanup_close_ int tree_fd = -1;
	int r = 0, depth;

	log_info("scanning the tree for files including %s%s", start[0],
		 nstart > 1 ? " and others" : "");
	r = graph_get(tree, cache, &g);
	if (r < 0)
		goto out;
	tree_fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tree_fd < 0) {
		r = negative_errno();
		goto out;
	}
	for (size_t i = 0; i < nstart; i++) {
		char **nf = realloc(frontier, (nfrontier + 1) * sizeof(*nf));

		if (!nf || !(nf[nfrontier] = entry_new(start[i], start[i]))) {
			frontier = nf ? nf : frontier;
			r = -ENOMEM;
			goto out;
		}
		frontier = nf;
		nfrontier++;
	}
	for (depth = 0; nfrontier > 0; depth++) {
		char **next = NULL;
		size_t nnext = 0;

		if (depth == 32) {
			r = log_error_errno(
				-E2BIG,
				"the files including %s nest more than 32 deep; refusing "
				"to guess which translation units they reach",
				start[0]);
			break;
		}
		/* Headers the kernel's flags include in every unit (-include): all units. */
		for (size_t i = 0; i < nfrontier && r == 0; i++)
			for (size_t k = 0; k < ARRAY_SIZE(forced_includes) && r == 0; k++)
				if (streq(frontier[i], forced_includes[k]))
					r = log_error_errno(
						-E2BIG,
						"'%s' is included in every translation unit "
						"(the kernel's flags -include it), and the "
						"change to %s reaches it; refusing to compile "
						"them all",
						frontier[i], origins_of(frontier[i]));
		if (r < 0)
			break;
		qsort(frontier, nfrontier, sizeof(*frontier), cmp_str);
		for (size_t i = 0; i < g.n && r == 0; i++) {
			struct inc_file *f = &g.files[i];
			_cleanup_strbuf_ struct strbuf origins = STRBUF_INIT;
			const char *hit = NULL;

			/* Every include of a frontier file counts: each changed file is reported.
			 */
			for (size_t j = 0; j < f->n && r == 0; j++) {
				/* Cheap filter first: a frontier file has the basename. */
				bool maybe = false;
				const char *h;

				for (size_t k = 0; k < nfrontier && !maybe; k++)
					maybe = streq(base_name(f->incs[j] + 1),
						      base_name(frontier[k]));
				if (!maybe)
					continue;
				h = include_hits(tree_fd, f->path, f->incs[j], frontier, nfrontier);
				if (h) {
					hit = hit ? hit : h;
					r = add_origins(&origins, h);
				}
			}
			if (r < 0)
				break;
			if (!hit)
				continue;
			/* Already handled (include cycles, diamonds)? */
			bool dup = false;

			for (size_t k = 0; k < nseen && !dup; k++)
				dup = streq(seen[k], f->path);
			if (dup)
				continue;
			char **ns = realloc(seen, (nseen + 1) * sizeof(*ns));

			if (!ns || !(ns[nseen] = strdup(f->path))) {
				seen = ns ? ns : seen;
				r = -ENOMEM;
				break;
			}
			seen = ns;
			nseen++;

			size_t plen = strlen(f->path);

			if (streq(f->path + plen - 2, ".c") && kernel_fileset_find(fs, f->path)) {
				char **nfo = realloc(found, (nfound + 1) * sizeof(*nfo));

				if (!nfo ||
				    !(nfo[nfound] = strdup_printf(
					      "%s\tincludes %s%s%s%s", f->path,
					      strbuf_str(&origins),
					      streq(hit, strbuf_str(&origins)) ? "" : " (through ",
					      streq(hit, strbuf_str(&origins)) ? "" : hit,
					      streq(hit, strbuf_str(&origins)) ? "" : ")"))) {
					found = nfo ? nfo : found;
					r = -ENOMEM;
					break;
				}
				found = nfo;
				if (++nfound > max) {
					r = log_error_errno(
						-E2BIG,
						"more than %zu translation units built with this "
						"config include the changed files (%s, ...); "
						"refusing to compile them all (--max-units "
						"raises the limit)",
						max, start[0]);
					break;
				}
			} else {
				char **nn = realloc(next, (nnext + 1) * sizeof(*nn));

				if (!nn ||
				    !(nn[nnext] = entry_new(f->path, strbuf_str(&origins)))) {
					next = nn ? nn : next;
					r = -ENOMEM;
					break;
				}
				next = nn;
				nnext++;
			}
		}
		for (size_t i = 0; i < nfrontier; i++)
			free(frontier[i]);
		free(frontier);
		frontier = next;
		nfrontier = nnext;
		if (r < 0)
			break;
	}
out:
	for (size_t i = 0; i < nfrontier; i++)
		free(frontier[i]);
	free(frontier);
	for (size_t i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	inc_graph_release(&g);
	if (r < 0) {
		for (size_t i = 0; i < nfound; i++)
			free(found[i]);
		free(found);
		return r;
	}
	*ret = found;
	*ret_n = nfound;
	return 0;
}
