/* Parsing of kernel .config files into a sorted symbol table; see kconfig.h. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "kernel/kconfig.h"
#include "log.h"
#include "macro.h"
#include "banned.h"

#define KCONFIG_FILE_MAX (16u << 20)

struct kentry {
	char *name;  /* with the CONFIG_ prefix */
	char *value; /* raw */
	size_t seq;  /* input order, so a later duplicate wins */
};

struct kconfig {
	struct kentry *e;
	size_t n;
};

void kconfig_free(struct kconfig *kc)
{
	if (!kc)
		return;
	for (size_t i = 0; i < kc->n; i++) {
		free(kc->e[i].name);
		free(kc->e[i].value);
	}
	free(kc->e);
	free(kc);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kconfig *, kconfig_free);

static bool is_sym_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* A value kconfig writes: y, m, n, a quoted string with \" and \\ escapes, or a number. */
static bool valid_value(const char *v, size_t len)
{
	if (len == 1 && (v[0] == 'y' || v[0] == 'm' || v[0] == 'n'))
		return true;
	if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
		for (size_t i = 1; i < len - 1; i++) {
			if (v[i] == '\\') {
				if (i + 1 >= len - 1)
					return false;
				i++;
			} else if (v[i] == '"') {
				return false;
			}
		}
		return true;
	}
	size_t i = 0;

	if (len > 0 && v[0] == '-')
		i++;
	if (len > i + 2 && v[i] == '0' && (v[i + 1] == 'x' || v[i + 1] == 'X')) {
		for (i += 2; i < len; i++)
			if (!isxdigit((unsigned char)v[i]))
				return false;
		return true;
	}
	if (i == len)
		return false;
	for (; i < len; i++)
		if (!isdigit((unsigned char)v[i]))
			return false;
	return true;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct kentry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int kconfig_parse(const char *name, const char *text, size_t len, struct kconfig **ret)
{
	_cleanup_(kconfig_freep) struct kconfig *kc = calloc(1, sizeof(*kc));
	size_t alloc = 0, seq = 0, not_set = 0;
	unsigned lineno = 0;
	const char *p = text, *end = text + len;

	if (!kc)
		return -ENOMEM;
	if (memchr(text, '\0', len)) {
		log_error("'%s' is not a kernel config: it holds binary data", name);
		return -EINVAL;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s = p, *eq, *v;
		size_t ll;

		lineno++;
		p = nl ? nl + 1 : end;
		while (le > s && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
			le--;
		while (s < le && (*s == ' ' || *s == '\t'))
			s++;
		ll = (size_t)(le - s);
		if (ll == 0)
			continue;
		if (*s == '#') {
			/* "# CONFIG_FOO is not set" counts as evidence this is a config. */
			if (ll > 9 && startswith(s, "# CONFIG_") && ll > strlen(" is not set") &&
			    memcmp(le - strlen(" is not set"), " is not set",
				   strlen(" is not set")) == 0)
				not_set++;
			continue;
		}
		if (ll < 8 || memcmp(s, "CONFIG_", 7) != 0) {
			log_error("'%s' line %u is not a kernel config line: '%.*s'", name, lineno,
				  (int)MIN(ll, 60), s);
			return -EINVAL;
		}
		for (eq = s + 7; eq < le && is_sym_char(*eq); eq++)
			;
		if (eq == s + 7 || eq >= le || *eq != '=') {
			log_error("'%s' line %u: expected CONFIG_NAME=value, got '%.*s'", name,
				  lineno, (int)MIN(ll, 60), s);
			return -EINVAL;
		}
		v = eq + 1;
		if (!valid_value(v, (size_t)(le - v))) {
			log_error("'%s' line %u: '%.*s' is not a valid config value", name, lineno,
				  (int)MIN((size_t)(le - v), 60), v);
			return -EINVAL;
		}
		if (kc->n == alloc) {
			size_t na = alloc ? alloc * 2 : 1024;
			struct kentry *ne = realloc(kc->e, na * sizeof(*ne));

			if (!ne)
				return -ENOMEM;
			kc->e = ne;
			alloc = na;
		}
		kc->e[kc->n].name = strndup(s, (size_t)(eq - s));
		kc->e[kc->n].value = strndup(v, (size_t)(le - v));
		kc->e[kc->n].seq = seq++;
		if (!kc->e[kc->n].name || !kc->e[kc->n].value) {
			free(kc->e[kc->n].name);
			free(kc->e[kc->n].value);
			return -ENOMEM;
		}
		kc->n++;
	}
	if (kc->n == 0 && not_set == 0) {
		log_error("'%s' is not a kernel config: no CONFIG_ lines", name);
		return -EINVAL;
	}
	if (kc->n)
		qsort(kc->e, kc->n, sizeof(*kc->e), cmp_entry);
	/* Keep the last of duplicates and drop "=n", which means unset. */
	size_t o = 0;

	for (size_t i = 0; i < kc->n; i++) {
		bool last = i + 1 == kc->n || !streq(kc->e[i].name, kc->e[i + 1].name);

		if (!last || streq(kc->e[i].value, "n")) {
			free(kc->e[i].name);
			free(kc->e[i].value);
			continue;
		}
		kc->e[o++] = kc->e[i];
	}
	kc->n = o;
	*ret = TAKE_PTR(kc);
	return 0;
}

int kconfig_load(const char *path, struct kconfig **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_file_capped(path, KCONFIG_FILE_MAX, &buf, &len);

	if (r == -EFBIG)
		return log_error_errno(-EINVAL, "'%s' is not a kernel config: larger than %u MiB",
				       path, KCONFIG_FILE_MAX >> 20);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %s", path, strerror(-r));
	return kconfig_parse(path, buf, len, ret);
}

static int cmp_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct kentry *)elem)->name);
}

const char *kconfig_get(const struct kconfig *kc, const char *name)
{
	const struct kentry *e;
	char tmp[256];

	if (!startswith(name, "CONFIG_")) {
		if ((size_t)snprintf(tmp, sizeof(tmp), "CONFIG_%s", name) >= sizeof(tmp))
			return NULL;
		name = tmp;
	}
	if (!kc->n)
		return NULL;
	e = bsearch(name, kc->e, kc->n, sizeof(*kc->e), cmp_key);
	return e ? e->value : NULL;
}

size_t kconfig_count(const struct kconfig *kc)
{
	return kc->n;
}

void kconfig_entry(const struct kconfig *kc, size_t i, const char **ret_name,
		   const char **ret_value)
{
	*ret_name = kc->e[i].name;
	*ret_value = kc->e[i].value;
}
