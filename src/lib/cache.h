/*
 * What tuxtape keeps in its cache directory ($XDG_CACHE_HOME/tuxtape): prepared kernel trees
 * (trees/KEY -> KEY.TIME.PID/), extracted sources (sources/SUM/), and what killed runs left.
 * Listing and removing them, never one in use.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

struct tt_cache_clean_opts {
	const char *cache_dir; /* NULL: tt_path_cache_dir() */
	time_t older_than;     /* seconds since last use; 0: any age */
	bool dry_run;	       /* only say what would go */
};

/*
 * [{"kind": "tree"|"source"|"leftover", "path", "bytes", "last_used" (unix time),
 *   "in_use", "source", "config", "release"}] for every entry (tree fields from tree.info).
 */
int tt_cache_list(const char *cache_dir, json_t **ret);

/*
 * Removes the entries not in use and not used for OPTS->older_than seconds: a tree only while
 * holding its locks (so no build or preparation is using it), a source not touched for ten
 * minutes (a `kernel add` reads it for seconds), leftovers of killed runs. *RET lists what was
 * (or, with dry_run, would be) removed, as tt_cache_list() entries; *RET_BYTES their size.
 */
int tt_cache_clean(const struct tt_cache_clean_opts *opts, json_t **ret,
		   unsigned long long *ret_bytes);
