/* Parsers for the files of one kernel CNA CVE record, with errors that name file and field. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cve/record.h"
#include "macro.h"
#include "strbuf.h"
#include "banned.h"

const char *cve_state_to_string(enum cve_state s)
{
	return s == CVE_REJECTED ? "rejected" : "published";
}

bool cve_id_valid(const char *id, int *ret_year)
{
	int year = 0, i, digits = 0;

	if (strncmp(id, "CVE-", 4) != 0)
		return false;
	for (i = 4; i < 8; i++) {
		if (!isdigit((unsigned char)id[i]))
			return false;
		year = year * 10 + (id[i] - '0');
	}
	if (id[8] != '-')
		return false;
	for (i = 9; id[i]; i++, digits++)
		if (!isdigit((unsigned char)id[i]) || digits > 12)
			return false;
	if (digits < 4)
		return false;
	if (ret_year)
		*ret_year = year;
	return true;
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

void cve_record_release(struct cve_record *rec)
{
	size_t i;

	if (!rec)
		return;
	free(rec->id);
	free(rec->title);
	free(rec->description);
	free(rec->published);
	free(rec->data_version);
	free(rec->affected_json);
	for (i = 0; i < rec->n_entries; i++) {
		free(rec->entries[i].product);
		free(rec->entries[i].vendor);
		free(rec->entries[i].repo);
		free(rec->entries[i].default_status);
	}
	free(rec->entries);
	for (i = 0; i < rec->n_ranges; i++) {
		free(rec->ranges[i].version);
		free(rec->ranges[i].less_than);
		free(rec->ranges[i].less_than_or_equal);
		free(rec->ranges[i].status);
		free(rec->ranges[i].version_type);
	}
	free(rec->ranges);
	free_list(rec->files, rec->n_files);
	for (i = 0; i < rec->n_cvss; i++) {
		free(rec->cvss[i].version);
		free(rec->cvss[i].vector);
		free(rec->cvss[i].severity);
		free(rec->cvss[i].rationale);
	}
	free(rec->cvss);
	for (i = 0; i < rec->n_dyads; i++) {
		free(rec->dyads[i].introduced_version);
		free(rec->dyads[i].introduced_commit);
		free(rec->dyads[i].fixed_version);
		free(rec->dyads[i].fixed_commit);
	}
	free(rec->dyads);
	free_list(rec->fix_commits, rec->n_fix_commits);
	free_list(rec->vulnerable_commits, rec->n_vulnerable_commits);
	free_list(rec->references, rec->n_references);
	memset(rec, 0, sizeof(*rec));
}

static int set_error(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int set_error(char **ret_error, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (ret_error)
		*ret_error = strbuf_detach(&sb);
	else
		strbuf_release(&sb);
	return -EBADMSG;
}

/* Appends one element to a growable array of elements of size SZ. */
static void *grow(void *arr, size_t n, size_t sz)
{
	/* capacity doubles at powers of two, so n alone says when to grow */
	if (n == 0 || (n & (n - 1)) == 0) {
		size_t cap = n ? n * 2 : 4;

		return realloc(arr, cap * sz);
	}
	return arr;
}

#define PUSH(arr, n)                                                                               \
	({                                                                                         \
		__typeof__(arr) _p = grow(arr, n, sizeof(*(arr)));                                 \
		if (_p) {                                                                          \
			(arr) = _p;                                                                \
			memset(&(arr)[n], 0, sizeof(*(arr)));                                      \
		}                                                                                  \
		_p ? &(arr)[(n)++] : NULL;                                                         \
	})

/* Typed access to JSON members with errors that carry a dotted path. */
struct jctx {
	const char *name;
	char **ret_error;
};

static int jerr_type(struct jctx *c, const char *path, const char *want)
{
	return set_error(c->ret_error, "%s: field '%s': expected %s", c->name, path, want);
}

/* Optional string member; a present non-string is an error. */
static int jstr(struct jctx *c, json_t *obj, const char *key, const char *path, char **ret)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		*ret = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return jerr_type(c, path, "a string");
	*ret = strndup(json_string_value(v), json_string_length(v));
	return *ret ? 0 : -ENOMEM;
}

static json_t *jobj(struct jctx *c, json_t *obj, const char *key, const char *path, bool required,
		    int *r)
{
	json_t *v = json_object_get(obj, key);

	*r = 0;
	if (!v) {
		if (required)
			*r = set_error(c->ret_error, "%s: field '%s' is missing", c->name, path);
		return NULL;
	}
	if (!json_is_object(v)) {
		*r = jerr_type(c, path, "an object");
		return NULL;
	}
	return v;
}

static json_t *jarr(struct jctx *c, json_t *obj, const char *key, const char *path, int *r)
{
	json_t *v = json_object_get(obj, key);

	*r = 0;
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_array(v)) {
		*r = jerr_type(c, path, "an array");
		return NULL;
	}
	return v;
}

static int parse_descriptions(struct jctx *c, struct cve_record *rec, json_t *cna)
{
	static const char *const keys[] = { "descriptions", "rejectedReasons" };
	int r;

	for (size_t k = 0; k < ARRAY_SIZE(keys) && !rec->description; k++) {
		json_t *arr = jarr(c, cna, keys[k], keys[k], &r), *d;
		size_t i;

		if (r < 0)
			return r;
		json_array_foreach(arr, i, d) {
			char path[64];
			_cleanup_free_ char *lang = NULL;
			char *value = NULL;

			snprintf(path, sizeof(path), "containers.cna.%s[%zu]", keys[k], i);
			if (!json_is_object(d))
				return jerr_type(c, path, "an object");
			snprintf(path, sizeof(path), "containers.cna.%s[%zu].lang", keys[k], i);
			r = jstr(c, d, "lang", path, &lang);
			if (r < 0)
				return r;
			snprintf(path, sizeof(path), "containers.cna.%s[%zu].value", keys[k], i);
			r = jstr(c, d, "value", path, &value);
			if (r < 0)
				return r;
			if (!value)
				continue;
			/* English first; otherwise the first description given. */
			if (!rec->description || (lang && startswith(lang, "en"))) {
				free(rec->description);
				rec->description = value;
				if (lang && startswith(lang, "en"))
					break;
			} else {
				free(value);
			}
		}
	}
	return 0;
}

static int parse_affected(struct jctx *c, struct cve_record *rec, json_t *cna)
{
	json_t *arr, *a;
	size_t i;
	int r;

	arr = jarr(c, cna, "affected", "containers.cna.affected", &r);
	if (r < 0 || !arr)
		return r;
	rec->affected_json = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!rec->affected_json)
		return -ENOMEM;
	json_array_foreach(arr, i, a) {
		struct cve_affected_entry *e;
		json_t *files, *versions, *f, *v;
		char path[96];
		size_t j;

		snprintf(path, sizeof(path), "containers.cna.affected[%zu]", i);
		if (!json_is_object(a))
			return jerr_type(c, path, "an object");
		e = PUSH(rec->entries, rec->n_entries);
		if (!e)
			return -ENOMEM;
		snprintf(path, sizeof(path), "containers.cna.affected[%zu].product", i);
		if ((r = jstr(c, a, "product", path, &e->product)) < 0)
			return r;
		snprintf(path, sizeof(path), "containers.cna.affected[%zu].vendor", i);
		if ((r = jstr(c, a, "vendor", path, &e->vendor)) < 0)
			return r;
		snprintf(path, sizeof(path), "containers.cna.affected[%zu].repo", i);
		if ((r = jstr(c, a, "repo", path, &e->repo)) < 0)
			return r;
		snprintf(path, sizeof(path), "containers.cna.affected[%zu].defaultStatus", i);
		if ((r = jstr(c, a, "defaultStatus", path, &e->default_status)) < 0)
			return r;

		snprintf(path, sizeof(path), "containers.cna.affected[%zu].programFiles", i);
		files = jarr(c, a, "programFiles", path, &r);
		if (r < 0)
			return r;
		json_array_foreach(files, j, f) {
			bool dup = false;
			char **slot;

			if (!json_is_string(f)) {
				snprintf(path, sizeof(path),
					 "containers.cna.affected[%zu].programFiles[%zu]", i, j);
				return jerr_type(c, path, "a string");
			}
			/* Every entry repeats the same files; keep each path once. */
			for (size_t k = 0; k < rec->n_files && !dup; k++)
				dup = streq(rec->files[k], json_string_value(f));
			if (dup)
				continue;
			slot = PUSH(rec->files, rec->n_files);
			if (!slot || !(*slot = strdup(json_string_value(f))))
				return -ENOMEM;
		}

		snprintf(path, sizeof(path), "containers.cna.affected[%zu].versions", i);
		versions = jarr(c, a, "versions", path, &r);
		if (r < 0)
			return r;
		json_array_foreach(versions, j, v) {
			struct cve_range *rg;
			char vpath[128];

			snprintf(vpath, sizeof(vpath), "containers.cna.affected[%zu].versions[%zu]", i,
				 j);
			if (!json_is_object(v))
				return jerr_type(c, vpath, "an object");
			rg = PUSH(rec->ranges, rec->n_ranges);
			if (!rg)
				return -ENOMEM;
			rg->entry = (int)i;
			rg->seq = (int)j;
#define RANGE_FIELD(key, dst)                                                                      \
	do {                                                                                       \
		snprintf(vpath, sizeof(vpath), "containers.cna.affected[%zu].versions[%zu].%s", i, \
			 j, key);                                                                  \
		if ((r = jstr(c, v, key, vpath, &rg->dst)) < 0)                                    \
			return r;                                                                  \
	} while (0)
			RANGE_FIELD("version", version);
			RANGE_FIELD("lessThan", less_than);
			RANGE_FIELD("lessThanOrEqual", less_than_or_equal);
			RANGE_FIELD("status", status);
			RANGE_FIELD("versionType", version_type);
#undef RANGE_FIELD
			if (!rg->version) {
				snprintf(vpath, sizeof(vpath),
					 "containers.cna.affected[%zu].versions[%zu].version", i, j);
				return set_error(c->ret_error, "%s: field '%s' is missing", c->name,
						 vpath);
			}
		}
	}
	/* Entries may have moved while growing: point ranges at their entry's strings now. */
	for (size_t k = 0; k < rec->n_ranges; k++) {
		struct cve_affected_entry *e = &rec->entries[rec->ranges[k].entry];

		rec->ranges[k].product = e->product;
		rec->ranges[k].vendor = e->vendor;
		rec->ranges[k].repo = e->repo;
		rec->ranges[k].default_status = e->default_status;
	}
	return 0;
}

static struct cve_cvss *cvss_for_version(struct cve_record *rec, const char *version)
{
	for (size_t i = 0; i < rec->n_cvss; i++)
		if (streq(rec->cvss[i].version, version))
			return &rec->cvss[i];
	return NULL;
}

static int parse_metrics(struct jctx *c, struct cve_record *rec, json_t *cna)
{
	static const struct {
		const char *key, *version;
	} kinds[] = { { "cvssV4_0", "4.0" }, { "cvssV3_1", "3.1" }, { "cvssV3_0", "3.0" } };
	json_t *arr, *m;
	size_t i;
	int r;

	arr = jarr(c, cna, "metrics", "containers.cna.metrics", &r);
	if (r < 0 || !arr)
		return r;
	json_array_foreach(arr, i, m) {
		char path[96];

		snprintf(path, sizeof(path), "containers.cna.metrics[%zu]", i);
		if (!json_is_object(m))
			return jerr_type(c, path, "an object");
		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
			json_t *o, *score;
			struct cve_cvss *cv;

			snprintf(path, sizeof(path), "containers.cna.metrics[%zu].%s", i,
				 kinds[k].key);
			o = jobj(c, m, kinds[k].key, path, false, &r);
			if (r < 0)
				return r;
			if (!o)
				continue;
			if (cvss_for_version(rec, kinds[k].version))
				continue; /* the first one given wins */
			cv = PUSH(rec->cvss, rec->n_cvss);
			if (!cv || !(cv->version = strdup(kinds[k].version)))
				return -ENOMEM;
			snprintf(path, sizeof(path), "containers.cna.metrics[%zu].%s.vectorString",
				 i, kinds[k].key);
			if ((r = jstr(c, o, "vectorString", path, &cv->vector)) < 0)
				return r;
			if (!cv->vector)
				return set_error(c->ret_error, "%s: field '%s' is missing", c->name,
						 path);
			snprintf(path, sizeof(path), "containers.cna.metrics[%zu].%s.baseScore", i,
				 kinds[k].key);
			score = json_object_get(o, "baseScore");
			if (score && !json_is_null(score)) {
				if (!json_is_number(score))
					return jerr_type(c, path, "a number");
				cv->base_score = json_number_value(score);
				cv->has_base_score = true;
				if (cv->base_score < 0 || cv->base_score > 10)
					return set_error(c->ret_error,
							 "%s: field '%s': %.1f is outside 0-10",
							 c->name, path, cv->base_score);
			}
			snprintf(path, sizeof(path), "containers.cna.metrics[%zu].%s.baseSeverity",
				 i, kinds[k].key);
			if ((r = jstr(c, o, "baseSeverity", path, &cv->severity)) < 0)
				return r;
		}
	}
	return 0;
}

static int parse_references(struct jctx *c, struct cve_record *rec, json_t *cna)
{
	json_t *arr, *ref;
	size_t i;
	int r;

	arr = jarr(c, cna, "references", "containers.cna.references", &r);
	if (r < 0 || !arr)
		return r;
	json_array_foreach(arr, i, ref) {
		char path[64];
		char *url = NULL, **slot;

		snprintf(path, sizeof(path), "containers.cna.references[%zu].url", i);
		if (!json_is_object(ref))
			return jerr_type(c, path, "an object");
		if ((r = jstr(c, ref, "url", path, &url)) < 0)
			return r;
		if (!url)
			continue;
		slot = PUSH(rec->references, rec->n_references);
		if (!slot) {
			free(url);
			return -ENOMEM;
		}
		*slot = url;
	}
	return 0;
}

int cve_record_parse_json(struct cve_record *rec, const char *name, const char *buf, size_t len,
			  char **ret_error)
{
	struct jctx c = { name, ret_error };
	json_t *root, *meta, *containers, *cna;
	_cleanup_free_ char *id = NULL;
	json_error_t jerr;
	int r;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return set_error(ret_error, "%s: invalid JSON at line %d, column %d: %s", name,
				 jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		r = set_error(ret_error, "%s: not a CVE record (top level is not an object)", name);
		goto out;
	}
	meta = jobj(&c, root, "cveMetadata", "cveMetadata", true, &r);
	if (r < 0)
		goto out;
	r = jstr(&c, meta, "cveId", "cveMetadata.cveId", &id);
	if (r < 0)
		goto out;
	if (!id) {
		/* CVE JSON 5.0 records of the kernel CNA spell it cveID. */
		r = jstr(&c, meta, "cveID", "cveMetadata.cveID", &id);
		if (r < 0)
			goto out;
	}
	if (!id) {
		r = set_error(ret_error, "%s: field 'cveMetadata.cveId' is missing", name);
		goto out;
	}
	if (!cve_id_valid(id, NULL)) {
		r = set_error(ret_error, "%s: field 'cveMetadata.cveId': '%s' is not a CVE id",
			      name, id);
		goto out;
	}
	if (rec->id && !streq(rec->id, id)) {
		r = set_error(ret_error, "%s: field 'cveMetadata.cveId': '%s' does not match the file name",
			      name, id);
		goto out;
	}
	if (!rec->id)
		rec->id = TAKE_PTR(id);
	r = jstr(&c, meta, "datePublished", "cveMetadata.datePublished", &rec->published);
	if (r < 0)
		goto out;
	r = jstr(&c, root, "dataVersion", "dataVersion", &rec->data_version);
	if (r < 0)
		goto out;

	containers = jobj(&c, root, "containers", "containers", true, &r);
	if (r < 0)
		goto out;
	cna = jobj(&c, containers, "cna", "containers.cna", true, &r);
	if (r < 0)
		goto out;
	r = jstr(&c, cna, "title", "containers.cna.title", &rec->title);
	if (r < 0)
		goto out;
	r = parse_descriptions(&c, rec, cna);
	if (r < 0)
		goto out;
	r = parse_affected(&c, rec, cna);
	if (r < 0)
		goto out;
	r = parse_metrics(&c, rec, cna);
	if (r < 0)
		goto out;
	r = parse_references(&c, rec, cna);
out:
	json_decref(root);
	return r;
}

/* A cursor over the lines of a buffer; *line is not NUL-terminated. */
struct lines {
	const char *p, *end;
	int lineno;
};

static bool next_line(struct lines *it, const char **line, size_t *llen)
{
	const char *nl;

	if (it->p >= it->end)
		return false;
	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	*line = it->p;
	*llen = (size_t)((nl ? nl : it->end) - it->p);
	it->p += *llen + 1;
	it->lineno++;
	return true;
}

static bool is_hex_commit(const char *s, size_t n)
{
	if (n < 7 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* A kernel version as the dyad files write it: "0", "6.1", "6.1.76", "6.10-rc3". */
static bool is_dyad_version(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || n > 32)
		return false;
	for (; i < n && (isdigit((unsigned char)s[i]) || s[i] == '.'); i++)
		;
	if (i == n)
		return true;
	if (n - i > 3 && strncmp(s + i, "-rc", 3) == 0) {
		for (i += 3; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				return false;
		return true;
	}
	return false;
}

static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

int cve_record_parse_dyad(struct cve_record *rec, const char *name, const char *buf, size_t len,
			  char **ret_error)
{
	struct lines it = { buf, buf + len, 0 };
	const char *line;
	size_t llen;

	if (memchr(buf, '\0', len))
		return set_error(ret_error, "%s: binary data in a text file", name);
	while (next_line(&it, &line, &llen)) {
		const char *f[4], *p = line, *end = line + llen;
		size_t flen[4];
		struct cve_dyad *d;
		int nf = 0;

		while (end > line && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end == line || *line == '#')
			continue;
		while (nf < 4) {
			const char *colon = memchr(p, ':', (size_t)(end - p));

			f[nf] = p;
			flen[nf] = (size_t)((colon ? colon : end) - p);
			nf++;
			if (!colon)
				break;
			p = colon + 1;
			if (nf == 4 && p <= end)
				flen[3] = (size_t)(end - f[3]);
		}
		if (nf != 4 || memchr(f[3], ':', flen[3]))
			return set_error(ret_error,
					 "%s:%d: expected 'version:commit:version:commit', got %d field%s",
					 name, it.lineno, nf, nf == 1 ? "" : "s");
		for (int k = 0; k < 4; k++) {
			bool ok = k % 2 ? (flen[k] == 1 && f[k][0] == '0') || is_hex_commit(f[k], flen[k])
					: is_dyad_version(f[k], flen[k]);

			if (!ok)
				return set_error(ret_error, "%s:%d: field %d: '%.*s' is not a %s", name,
						 it.lineno, k + 1, (int)MIN(flen[k], 80), f[k],
						 k % 2 ? "commit id" : "kernel version");
		}
		d = PUSH(rec->dyads, rec->n_dyads);
		if (!d)
			return -ENOMEM;
		d->introduced_version = strndup(f[0], flen[0]);
		d->introduced_commit = strndup(f[1], flen[1]);
		d->fixed_version = strndup(f[2], flen[2]);
		d->fixed_commit = strndup(f[3], flen[3]);
		if (!d->introduced_version || !d->introduced_commit || !d->fixed_version ||
		    !d->fixed_commit)
			return -ENOMEM;
	}
	return 0;
}

int cve_record_parse_commits(char ***list, size_t *n, const char *name, const char *buf,
			     size_t len, char **ret_error)
{
	struct lines it = { buf, buf + len, 0 };
	const char *line;
	size_t llen;

	if (memchr(buf, '\0', len))
		return set_error(ret_error, "%s: binary data in a text file", name);
	while (next_line(&it, &line, &llen)) {
		const char *s = line, *e = line + llen;
		char **slot;

		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (s == e || *s == '#')
			continue;
		if (!is_hex_commit(s, (size_t)(e - s)))
			return set_error(ret_error, "%s:%d: '%.*s' is not a commit id", name, it.lineno,
					 (int)MIN((size_t)(e - s), 80), s);
		slot = PUSH(*list, *n);
		if (!slot || !(*slot = strndup(s, (size_t)(e - s))))
			return -ENOMEM;
	}
	return 0;
}

int cve_record_parse_cvss(struct cve_record *rec, const char *name, const char *buf, size_t len,
			  char **ret_error)
{
	struct strbuf rationale = STRBUF_INIT;
	const char *vectors[4];
	struct lines it = { buf, buf + len, 0 };
	const char *line;
	size_t vlen[4], llen;
	int nvec = 0, r = 0;
	bool in_head = true;

	if (memchr(buf, '\0', len))
		return set_error(ret_error, "%s: binary data in a text file", name);
	while (next_line(&it, &line, &llen)) {
		if (in_head) {
			const char *sp, *v;

			if (is_blank(line, llen)) {
				if (nvec > 0)
					in_head = false;
				continue;
			}
			sp = memchr(line, ' ', llen);
			v = sp ? sp + 1 : line;
			if (llen - (size_t)(v - line) < 9 || strncmp(v, "CVSS:", 5) != 0) {
				if (nvec == 0) {
					r = set_error(ret_error,
						      "%s:%d: expected 'ORGID CVSS:x.y/...' vector line",
						      name, it.lineno);
					goto out;
				}
				in_head = false;
			} else {
				if (nvec == (int)ARRAY_SIZE(vectors)) {
					r = set_error(ret_error, "%s:%d: too many vector lines", name,
						      it.lineno);
					goto out;
				}
				vectors[nvec] = v;
				vlen[nvec] = llen - (size_t)(v - line);
				while (vlen[nvec] && isspace((unsigned char)v[vlen[nvec] - 1]))
					vlen[nvec]--;
				nvec++;
				continue;
			}
		}
		if ((r = strbuf_add(&rationale, line, llen)) < 0 ||
		    (r = strbuf_addch(&rationale, '\n')) < 0)
			goto out;
	}
	if (nvec == 0) {
		r = set_error(ret_error, "%s: no CVSS vector line", name);
		goto out;
	}
	while (rationale.len && isspace((unsigned char)rationale.buf[rationale.len - 1]))
		rationale.buf[--rationale.len] = '\0';

	for (int k = 0; k < nvec; k++) {
		char version[4];
		struct cve_cvss *cv;

		/* "CVSS:3.1/..." */
		if (vlen[k] < 9 || vectors[k][8] != '/') {
			r = set_error(ret_error, "%s: '%.*s' is not a CVSS vector", name,
				      (int)MIN(vlen[k], 80), vectors[k]);
			goto out;
		}
		memcpy(version, vectors[k] + 5, 3);
		version[3] = '\0';
		cv = cvss_for_version(rec, version);
		if (!cv) {
			/* A vector only the .cvss file gives: keep it, with no stated score. */
			cv = PUSH(rec->cvss, rec->n_cvss);
			if (!cv || !(cv->version = strdup(version)) ||
			    !(cv->vector = strndup(vectors[k], vlen[k]))) {
				r = -ENOMEM;
				goto out;
			}
		} else if (strlen(cv->vector) != vlen[k] ||
			   strncmp(cv->vector, vectors[k], vlen[k]) != 0) {
			r = set_error(ret_error,
				      "%s: vector '%.*s' differs from the JSON record's '%s'", name,
				      (int)MIN(vlen[k], 120), vectors[k], cv->vector);
			goto out;
		}
		free(cv->rationale);
		cv->rationale = rationale.len ? strdup(rationale.buf) : NULL;
		if (rationale.len && !cv->rationale) {
			r = -ENOMEM;
			goto out;
		}
	}
out:
	strbuf_release(&rationale);
	return r;
}
