/* Parsers for the files of one kernel CNA CVE record, with errors that name file and field. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cve/record.h"
#include "json/jscan.h"
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

static struct cve_cvss *cvss_for_version(struct cve_record *rec, const char *version)
{
	for (size_t i = 0; i < rec->n_cvss; i++)
		if (streq(rec->cvss[i].version, version))
			return &rec->cvss[i];
	return NULL;
}

/*
 * The JSON record is read in one pass with the jscan pull scanner: no document tree, and the
 * only allocations are the strings the record keeps. Keys may come in any order; members we
 * do not use are skipped (and validated). Errors name the field by the scanner's path.
 */
struct rparse {
	struct jscan s;
	struct cve_record *rec;
	const char *name;
	char **ret_error;
	bool reported; /* *ret_error was set here, not left for the scanner's error */

	/* Owned until the end of the parse. */
	char *id, *id_50; /* cveId and the 5.0 spelling cveID */
	char *desc, *rejected_reason;
	bool have_meta, have_containers, have_cna;
};

static void rparse_release(struct rparse *c)
{
	free(c->id);
	free(c->id_50);
	free(c->desc);
	free(c->rejected_reason);
}

/* "NAME: field 'PATH[.SUB]'" followed by the formatted rest, PATH being where the scanner is. */
static int field_error(struct rparse *c, const char *sub, const char *fmt, ...) _printf_(3, 4);
static int field_error(struct rparse *c, const char *sub, const char *fmt, ...)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	size_t mark;
	va_list ap;
	int r;

	c->reported = true;
	if (!c->ret_error)
		return -EBADMSG;
	r = strbuf_addf(&sb, "%s: field '", c->name);
	mark = sb.len;
	if (r >= 0)
		r = jscan_path(&c->s, &sb);
	if (r >= 0 && sub)
		r = strbuf_addf(&sb, "%s%s", sb.len > mark ? "." : "", sub);
	if (r >= 0)
		r = strbuf_addch(&sb, '\'');
	if (r >= 0) {
		va_start(ap, fmt);
		r = strbuf_vaddf(&sb, fmt, ap);
		va_end(ap);
	}
	if (r < 0)
		return r;
	*c->ret_error = strbuf_detach(&sb);
	return -EBADMSG;
}

/* The message for an error the scanner found. */
static int scan_error(struct rparse *c)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	int line, column;

	if (c->s.error == JSCAN_EUTF8 || c->s.error == JSCAN_ENUL) {
		if (jscan_path(&c->s, &path) < 0)
			return -ENOMEM;
		if (path.len)
			return set_error(c->ret_error, "%s: field '%s': %s", c->name, path.buf,
					 c->s.error == JSCAN_EUTF8 ? "invalid UTF-8"
								   : "contains \\u0000");
	}
	jscan_error_location(&c->s, &line, &column);
	return set_error(c->ret_error, "%s: invalid JSON at line %d, column %d: %s", c->name, line,
			 column, c->s.msg);
}

static const char *const type_names[] = {
	[JSCAN_OBJECT] = "an object", [JSCAN_ARRAY] = "an array", [JSCAN_STRING] = "a string",
	[JSCAN_NUMBER] = "a number",
};

/* Checks the type of the next value: 1 if it is T, 0 if it is null and NULL_OK (consumed). */
static int expect(struct rparse *c, int t, bool null_ok)
{
	int got = jscan_peek(&c->s);

	if (got == t)
		return 1;
	if (got < 0)
		return got;
	if (got == JSCAN_NULL && null_ok)
		return jscan_null(&c->s) < 0 ? -EBADMSG : 0;
	return field_error(c, NULL, ": expected %s", type_names[t]);
}

/* Reads an optional string: 1 with *ret, 0 for null. */
static int read_span(struct rparse *c, struct jscan_str *ret)
{
	int r = expect(c, JSCAN_STRING, true);

	if (r <= 0)
		return r;
	r = jscan_string(&c->s, ret);
	return r < 0 ? r : 1;
}

static int dup_span(const struct jscan_str *str, char **dst)
{
	char *v;
	int r = jscan_str_dup(str, &v);

	if (r < 0)
		return r;
	free(*dst);
	*dst = v;
	return 0;
}

/* An optional string member into *DST (left NULL for null). */
static int read_str(struct rparse *c, char **dst)
{
	struct jscan_str str;
	int r = read_span(c, &str);

	return r <= 0 ? r : dup_span(&str, dst);
}

struct key {
	const char *s;
	size_t len;
};
#define KEY(s) { s, sizeof(s) - 1 }

/* Index of KEY in KEYS, N for a key we do not use; a used key seen twice is an error. */
static int lookup(struct rparse *c, const struct jscan_str *key, const struct key *keys, size_t n,
		  uint32_t *seen)
{
	for (size_t i = 0; i < n; i++) {
		bool eq = key->escaped ? jscan_str_eq(key, keys[i].s)
				       : key->len == keys[i].len &&
						 memcmp(key->ptr, keys[i].s, key->len) == 0;

		if (!eq)
			continue;
		if (*seen & 1u << i)
			return field_error(c, NULL, ": duplicate key");
		*seen |= 1u << i;
		return (int)i;
	}
	return (int)n;
}

/*
 * Reads the next member's key of the object being read: 1 with *ret_key its index in KEYS (N
 * for a key we do not use), 0 after the last member.
 */
static int next_key(struct rparse *c, const struct key *keys, size_t n, uint32_t *seen,
		    int *ret_key)
{
	struct jscan_str k;
	int r = jscan_object_next(&c->s, &k);

	if (r <= 0)
		return r;
	r = lookup(c, &k, keys, n, seen);
	if (r < 0)
		return r;
	*ret_key = r;
	return 1;
}

static bool lang_is_english(const struct jscan_str *lang)
{
	_cleanup_free_ char *s = NULL;

	if (!lang->escaped)
		return lang->len >= 2 && lang->ptr[0] == 'e' && lang->ptr[1] == 'n';
	return jscan_str_dup(lang, &s) == 0 && startswith(s, "en");
}

/* descriptions[] or rejectedReasons[]: English first, otherwise the first one given. */
static int parse_descriptions(struct rparse *c, char **ret)
{
	static const struct key keys[] = { KEY("lang"), KEY("value") };
	bool english = false;
	int r;

	r = expect(c, JSCAN_ARRAY, true);
	if (r <= 0)
		return r;
	r = jscan_array_begin(&c->s);
	while (r >= 0 && (r = jscan_array_next(&c->s)) > 0) {
		struct jscan_str lang, value;
		uint32_t seen = 0;
		int key = 0;
		bool has_lang = false, has_value = false;

		if (english) {
			r = jscan_skip(&c->s);
			continue;
		}
		r = expect(c, JSCAN_OBJECT, false);
		if (r < 0)
			return r;
		r = jscan_object_begin(&c->s);
		while (r >= 0 && (r = next_key(c, keys, ARRAY_SIZE(keys), &seen, &key)) > 0) {
			switch (key) {
			case 0:
				has_lang = (r = read_span(c, &lang)) > 0;
				break;
			case 1:
				has_value = (r = read_span(c, &value)) > 0;
				break;
			default:
				r = jscan_skip(&c->s);
			}
			if (r < 0)
				return r;
		}
		if (r < 0 || !has_value)
			continue;
		english = has_lang && lang_is_english(&lang);
		if (!*ret || english)
			r = dup_span(&value, ret);
	}
	return r;
}

static int parse_program_files(struct rparse *c)
{
	struct cve_record *rec = c->rec;
	int r;

	r = expect(c, JSCAN_ARRAY, true);
	if (r <= 0)
		return r;
	r = jscan_array_begin(&c->s);
	while (r >= 0 && (r = jscan_array_next(&c->s)) > 0) {
		_cleanup_free_ char *f = NULL;
		struct jscan_str str;
		bool dup = false;
		char **slot;

		if ((r = expect(c, JSCAN_STRING, false)) < 0 || (r = read_span(c, &str)) < 0)
			return r;
		/* Every entry repeats the same files; keep each path once. */
		if (str.escaped && (r = dup_span(&str, &f)) < 0)
			return r;
		for (size_t k = 0; k < rec->n_files && !dup; k++)
			dup = f ? streq(rec->files[k], f)
				: strncmp(rec->files[k], str.ptr, str.len) == 0 &&
					      rec->files[k][str.len] == '\0';
		if (dup)
			continue;
		if (!f && (r = dup_span(&str, &f)) < 0)
			return r;
		slot = PUSH(rec->files, rec->n_files);
		if (!slot)
			return -ENOMEM;
		*slot = TAKE_PTR(f);
	}
	return r;
}

static int parse_versions(struct rparse *c, int entry)
{
	static const struct key keys[] = { KEY("version"), KEY("lessThan"),
					   KEY("lessThanOrEqual"), KEY("status"),
					   KEY("versionType") };
	struct cve_record *rec = c->rec;
	int r;

	r = expect(c, JSCAN_ARRAY, true);
	if (r <= 0)
		return r;
	r = jscan_array_begin(&c->s);
	while (r >= 0 && (r = jscan_array_next(&c->s)) > 0) {
		struct cve_range *rg;
		uint32_t seen = 0;
		int key = 0;

		r = expect(c, JSCAN_OBJECT, false);
		if (r < 0)
			return r;
		rg = PUSH(rec->ranges, rec->n_ranges);
		if (!rg)
			return -ENOMEM;
		rg->entry = entry;
		rg->seq = (int)jscan_index(&c->s);
		r = jscan_object_begin(&c->s);
		while (r >= 0 && (r = next_key(c, keys, ARRAY_SIZE(keys), &seen, &key)) > 0) {
			char **dst[] = { &rg->version, &rg->less_than, &rg->less_than_or_equal,
					 &rg->status, &rg->version_type };

			r = key < (int)ARRAY_SIZE(dst) ? read_str(c, dst[key]) : jscan_skip(&c->s);
			if (r < 0)
				return r;
		}
		if (r < 0)
			return r;
		if (!rg->version)
			return field_error(c, "version", " is missing");
	}
	return r;
}

static int parse_affected(struct rparse *c)
{
	static const struct key keys[] = { KEY("product"), KEY("vendor"), KEY("repo"),
					   KEY("defaultStatus"), KEY("programFiles"),
					   KEY("versions") };
	struct cve_record *rec = c->rec;
	const char *start;
	size_t len;
	int r;

	r = expect(c, JSCAN_ARRAY, true);
	if (r <= 0)
		return r;
	start = jscan_pos(&c->s);
	r = jscan_array_begin(&c->s);
	while (r >= 0 && (r = jscan_array_next(&c->s)) > 0) {
		struct cve_affected_entry *e;
		int entry = (int)jscan_index(&c->s);
		uint32_t seen = 0;
		int key = 0;

		r = expect(c, JSCAN_OBJECT, false);
		if (r < 0)
			return r;
		e = PUSH(rec->entries, rec->n_entries);
		if (!e)
			return -ENOMEM;
		r = jscan_object_begin(&c->s);
		while (r >= 0 && (r = next_key(c, keys, ARRAY_SIZE(keys), &seen, &key)) > 0) {
			char **dst[] = { &e->product, &e->vendor, &e->repo, &e->default_status };

			if (key < (int)ARRAY_SIZE(dst))
				r = read_str(c, dst[key]);
			else if (key == 4)
				r = parse_program_files(c);
			else if (key == 5)
				r = parse_versions(c, entry);
			else
				r = jscan_skip(&c->s);
			if (r < 0)
				return r;
		}
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;

	/* Kept verbatim but for insignificant whitespace: the span is valid JSON already. */
	len = (size_t)(jscan_pos(&c->s) - start);
	free(rec->affected_json);
	rec->affected_json = malloc(len + 1);
	if (!rec->affected_json)
		return -ENOMEM;
	jscan_minify(start, len, rec->affected_json);

	/* Entries may have moved while growing: point ranges at their entry's strings now. */
	for (size_t i = 0; i < rec->n_ranges; i++) {
		struct cve_affected_entry *e = &rec->entries[rec->ranges[i].entry];

		rec->ranges[i].product = e->product;
		rec->ranges[i].vendor = e->vendor;
		rec->ranges[i].repo = e->repo;
		rec->ranges[i].default_status = e->default_status;
	}
	return 0;
}

static const struct key cvss_keys[] = { KEY("cvssV4_0"), KEY("cvssV3_1"), KEY("cvssV3_0") };
static const char *const cvss_versions[] = { "4.0", "3.1", "3.0" };

static int parse_cvss_object(struct rparse *c, int kind)
{
	static const struct key keys[] = { KEY("vectorString"), KEY("baseScore"),
					   KEY("baseSeverity") };
	struct cve_record *rec = c->rec;
	uint32_t seen = 0;
	int key = 0;
	struct cve_cvss *cv;
	int r;

	cv = PUSH(rec->cvss, rec->n_cvss);
	if (!cv || !(cv->version = strdup(cvss_versions[kind])))
		return -ENOMEM;
	r = jscan_object_begin(&c->s);
	while (r >= 0 && (r = next_key(c, keys, ARRAY_SIZE(keys), &seen, &key)) > 0) {
		switch (key) {
		case 0:
			r = read_str(c, &cv->vector);
			break;
		case 1:
			r = expect(c, JSCAN_NUMBER, true);
			if (r <= 0)
				break;
			r = jscan_number(&c->s, &cv->base_score);
			if (r < 0)
				break;
			cv->has_base_score = true;
			if (cv->base_score < 0 || cv->base_score > 10)
				r = field_error(c, NULL, ": %.1f is outside 0-10", cv->base_score);
			break;
		case 2:
			r = read_str(c, &cv->severity);
			break;
		default:
			r = jscan_skip(&c->s);
		}
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	if (!cv->vector)
		return field_error(c, "vectorString", " is missing");
	return 0;
}

static int cvss_rank(const struct cve_cvss *cv)
{
	for (size_t i = 0; i < ARRAY_SIZE(cvss_versions); i++)
		if (streq(cv->version, cvss_versions[i]))
			return (int)i;
	return (int)ARRAY_SIZE(cvss_versions);
}

static int parse_metrics(struct rparse *c)
{
	struct cve_record *rec = c->rec;
	int r;

	r = expect(c, JSCAN_ARRAY, true);
	if (r <= 0)
		return r;
	r = jscan_array_begin(&c->s);
	while (r >= 0 && (r = jscan_array_next(&c->s)) > 0) {
		size_t first = rec->n_cvss;
		uint32_t seen = 0;
		int key = 0;

		r = expect(c, JSCAN_OBJECT, false);
		if (r < 0)
			return r;
		r = jscan_object_begin(&c->s);
		while (r >= 0 &&
		       (r = next_key(c, cvss_keys, ARRAY_SIZE(cvss_keys), &seen, &key)) > 0) {
			if (key == (int)ARRAY_SIZE(cvss_keys))
				r = jscan_skip(&c->s);
			else if ((r = expect(c, JSCAN_OBJECT, false)) >= 0)
				/* the first one given for a version wins */
				r = cvss_for_version(rec, cvss_versions[key])
					    ? jscan_skip(&c->s)
					    : parse_cvss_object(c, key);
			if (r < 0)
				return r;
		}
		if (r < 0)
			return r;
		/* Within one metrics[] element, in the order 4.0, 3.1, 3.0 whatever the keys'. */
		for (size_t i = first + 1; i < rec->n_cvss; i++)
			for (size_t j = i;
			     j > first && cvss_rank(&rec->cvss[j - 1]) > cvss_rank(&rec->cvss[j]);
			     j--) {
				struct cve_cvss t = rec->cvss[j];

				rec->cvss[j] = rec->cvss[j - 1];
				rec->cvss[j - 1] = t;
			}
	}
	return r;
}

static int parse_references(struct rparse *c)
{
	static const struct key keys[] = { KEY("url") };
	struct cve_record *rec = c->rec;
	int r;

	r = expect(c, JSCAN_ARRAY, true);
	if (r <= 0)
		return r;
	r = jscan_array_begin(&c->s);
	while (r >= 0 && (r = jscan_array_next(&c->s)) > 0) {
		_cleanup_free_ char *url = NULL;
		uint32_t seen = 0;
		int key = 0;
		char **slot;

		r = expect(c, JSCAN_OBJECT, false);
		if (r < 0)
			return r;
		r = jscan_object_begin(&c->s);
		while (r >= 0 && (r = next_key(c, keys, ARRAY_SIZE(keys), &seen, &key)) > 0) {
			r = key == 0 ? read_str(c, &url) : jscan_skip(&c->s);
			if (r < 0)
				return r;
		}
		if (r < 0)
			return r;
		if (!url)
			continue;
		slot = PUSH(rec->references, rec->n_references);
		if (!slot)
			return -ENOMEM;
		*slot = TAKE_PTR(url);
	}
	return r;
}

static int parse_cna(struct rparse *c)
{
	static const struct key keys[] = { KEY("title"),    KEY("descriptions"),
					   KEY("rejectedReasons"), KEY("affected"),
					   KEY("metrics"),  KEY("references") };
	uint32_t seen = 0;
	int key = 0;
	int r;

	if ((r = expect(c, JSCAN_OBJECT, false)) < 0)
		return r;
	r = jscan_object_begin(&c->s);
	while (r >= 0 && (r = next_key(c, keys, ARRAY_SIZE(keys), &seen, &key)) > 0) {
		switch (key) {
		case 0:
			r = read_str(c, &c->rec->title);
			break;
		case 1:
			r = parse_descriptions(c, &c->desc);
			break;
		case 2:
			r = parse_descriptions(c, &c->rejected_reason);
			break;
		case 3:
			r = parse_affected(c);
			break;
		case 4:
			r = parse_metrics(c);
			break;
		case 5:
			r = parse_references(c);
			break;
		default:
			r = jscan_skip(&c->s);
		}
		if (r < 0)
			return r;
	}
	return r;
}

static int parse_containers(struct rparse *c)
{
	static const struct key keys[] = { KEY("cna") };
	uint32_t seen = 0;
	int key = 0;
	int r;

	if ((r = expect(c, JSCAN_OBJECT, false)) < 0)
		return r;
	r = jscan_object_begin(&c->s);
	while (r >= 0 && (r = next_key(c, keys, ARRAY_SIZE(keys), &seen, &key)) > 0) {
		if (key == 0) {
			c->have_cna = true;
			r = parse_cna(c);
		} else {
			r = jscan_skip(&c->s);
		}
		if (r < 0)
			return r;
	}
	return r;
}

static int parse_metadata(struct rparse *c)
{
	static const struct key keys[] = { KEY("cveId"), KEY("cveID"), KEY("datePublished") };
	uint32_t seen = 0;
	int key = 0;
	int r;

	if ((r = expect(c, JSCAN_OBJECT, false)) < 0)
		return r;
	r = jscan_object_begin(&c->s);
	while (r >= 0 && (r = next_key(c, keys, ARRAY_SIZE(keys), &seen, &key)) > 0) {
		switch (key) {
		case 0:
			r = read_str(c, &c->id);
			break;
		case 1:
			r = read_str(c, &c->id_50);
			break;
		case 2:
			r = read_str(c, &c->rec->published);
			break;
		default:
			r = jscan_skip(&c->s);
		}
		if (r < 0)
			return r;
	}
	return r;
}

static int parse_root(struct rparse *c)
{
	static const struct key keys[] = { KEY("dataVersion"), KEY("cveMetadata"),
					   KEY("containers") };
	uint32_t seen = 0;
	int key = 0;
	int r;

	r = jscan_peek(&c->s);
	if (r < 0)
		return r;
	if (r != JSCAN_OBJECT) {
		c->reported = true;
		return set_error(c->ret_error, "%s: not a CVE record (top level is not an object)",
				 c->name);
	}
	r = jscan_object_begin(&c->s);
	while (r >= 0 && (r = next_key(c, keys, ARRAY_SIZE(keys), &seen, &key)) > 0) {
		switch (key) {
		case 0:
			r = read_str(c, &c->rec->data_version);
			break;
		case 1:
			c->have_meta = true;
			r = parse_metadata(c);
			break;
		case 2:
			c->have_containers = true;
			r = parse_containers(c);
			break;
		default:
			r = jscan_skip(&c->s);
		}
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return jscan_finish(&c->s);
}

int cve_record_parse_json(struct cve_record *rec, const char *name, const char *buf, size_t len,
			  char **ret_error)
{
	_cleanup_(rparse_release) struct rparse c = {
		.rec = rec, .name = name, .ret_error = ret_error,
	};
	const char *id;
	int r;

	jscan_init(&c.s, buf, len);
	/* Strings become C strings, and affected_json goes to jansson, which refuses \u0000
	 * (as it refused it in the whole record before). */
	c.s.reject_nul = true;
	r = parse_root(&c);
	if (r < 0)
		return r == -EBADMSG && !c.reported ? scan_error(&c) : r;

	if (!c.have_meta)
		return set_error(ret_error, "%s: field 'cveMetadata' is missing", name);
	/* CVE JSON 5.0 records of the kernel CNA spell it cveID. */
	id = c.id ? c.id : c.id_50;
	if (!id)
		return set_error(ret_error, "%s: field 'cveMetadata.cveId' is missing", name);
	if (!cve_id_valid(id, NULL))
		return set_error(ret_error, "%s: field 'cveMetadata.cveId': '%.*s' is not a CVE id",
				 name, 80, id);
	if (rec->id && !streq(rec->id, id))
		return set_error(ret_error,
				 "%s: field 'cveMetadata.cveId': '%.*s' does not match the file name",
				 name, 80, id);
	if (!rec->id)
		rec->id = strdup(id);
	if (!rec->id)
		return -ENOMEM;
	if (!c.have_containers)
		return set_error(ret_error, "%s: field 'containers' is missing", name);
	if (!c.have_cna)
		return set_error(ret_error, "%s: field 'containers.cna' is missing", name);
	/* English descriptions first, then the reasons a rejected record gives. */
	if (!rec->description)
		rec->description = c.desc ? TAKE_PTR(c.desc) : TAKE_PTR(c.rejected_reason);
	return 0;
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
