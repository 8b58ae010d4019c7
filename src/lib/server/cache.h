/*
 * A worker thread's cache of serialised answers (GET /v1/cves), valid while the CVE database
 * is unchanged: a stamp of SQLite's PRAGMA data_version on the worker's own connection (which
 * moves when any other connection or process commits, a `tuxtape cve sync` included) and the
 * server's count of its own writes to that database (which data_version does not see).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct srv_cache;

struct srv_cache_stamp {
	int64_t data_version;
	uint64_t writes;
};

#define SRV_CACHE_ENTRIES 64		       /* answers kept per worker by default */
#define SRV_CACHE_BYTES (64 * 1024 * 1024)     /* their total size per worker, at most */
#define SRV_CACHE_ENTRY_MAX (16 * 1024 * 1024) /* a larger answer is not kept */

int srv_cache_new(unsigned max_entries, struct srv_cache **ret);
void srv_cache_free(struct srv_cache *c);
/* The answer kept for KEY under STAMP, or NULL (a stale one is dropped). Borrowed. */
const char *srv_cache_get(struct srv_cache *c, const char *key, const struct srv_cache_stamp *stamp,
			  size_t *ret_len);
/* Keeps a copy of TEXT for KEY under STAMP, evicting the least recently used; 0 or -errno. */
int srv_cache_put(struct srv_cache *c, const char *key, const struct srv_cache_stamp *stamp,
		  const char *text, size_t len);
