/* A worker's LRU of serialised answers, stamped with the CVE database's version (cache.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "server/cache.h"
#include "banned.h"

struct entry {
	char *key;
	char *text;
	size_t len;
	struct srv_cache_stamp stamp;
	uint64_t used; /* the cache's clock at the last hit */
};

struct srv_cache {
	struct entry *e;
	unsigned n, max;
	size_t bytes;
	uint64_t clock;
};

int srv_cache_new(unsigned max_entries, struct srv_cache **ret)
{
	struct srv_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->max = max_entries ? max_entries : SRV_CACHE_ENTRIES;
	c->e = calloc(c->max, sizeof(*c->e));
	if (!c->e) {
		free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

static void entry_drop(struct srv_cache *c, unsigned i)
{
	c->bytes -= c->e[i].len;
	free(c->e[i].key);
	free(c->e[i].text);
	c->e[i] = c->e[--c->n];
	memset(&c->e[c->n], 0, sizeof(c->e[c->n]));
}

void srv_cache_free(struct srv_cache *c)
{
	if (!c)
		return;
	while (c->n)
		entry_drop(c, 0);
	free(c->e);
	free(c);
}

static bool stamp_eq(const struct srv_cache_stamp *a, const struct srv_cache_stamp *b)
{
	return a->data_version == b->data_version && a->writes == b->writes;
}

const char *srv_cache_get(struct srv_cache *c, const char *key, const struct srv_cache_stamp *stamp,
			  size_t *ret_len)
{
	for (unsigned i = 0; i < c->n; i++) {
		if (!streq(c->e[i].key, key))
			continue;
		if (!stamp_eq(&c->e[i].stamp, stamp)) {
			entry_drop(c, i);
			return NULL;
		}
		c->e[i].used = ++c->clock;
		*ret_len = c->e[i].len;
		return c->e[i].text;
	}
	return NULL;
}

int srv_cache_put(struct srv_cache *c, const char *key, const struct srv_cache_stamp *stamp,
		  const char *text, size_t len)
{
	struct entry n = {.len = len, .stamp = *stamp};

	if (len > SRV_CACHE_ENTRY_MAX)
		return 0;
	/* An answer under another stamp is dead: drop every one before counting room. */
	for (unsigned i = 0; i < c->n;)
		if (!stamp_eq(&c->e[i].stamp, stamp) || streq(c->e[i].key, key))
			entry_drop(c, i);
		else
			i++;
	while (c->n && (c->n == c->max || c->bytes + len > SRV_CACHE_BYTES)) {
		unsigned lru = 0;

		for (unsigned i = 1; i < c->n; i++)
			if (c->e[i].used < c->e[lru].used)
				lru = i;
		entry_drop(c, lru);
	}
	n.key = strdup(key);
	n.text = malloc(len + 1);
	if (!n.key || !n.text) {
		free(n.key);
		free(n.text);
		return -ENOMEM;
	}
	memcpy(n.text, text, len);
	n.text[len] = '\0';
	n.used = ++c->clock;
	c->e[c->n++] = n;
	c->bytes += len;
	return 0;
}
