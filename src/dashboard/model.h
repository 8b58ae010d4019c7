/*
 * The dashboard's data in memory: every CVE with its verdict per kernel, the kernels, the
 * nodes when a server reports them; the filters over it and the exposure over time. No
 * drawing here, so the model can be tested and timed without a terminal.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct dash_source;

/* A verdict as one byte; PATCHED is reserved for a server that reports applied livepatches. */
enum dash_verdict {
	DV_NONE,
	DV_AFFECTED,
	DV_NOT_COMPILED,
	DV_FIXED,
	DV_NOT_AFFECTED,
	DV_UNKNOWN,
	DV_PATCHED,
	_DV_MAX,
};

enum dash_severity {
	SEV_NONE, /* not scored */
	SEV_LOW,
	SEV_MEDIUM,
	SEV_HIGH,
	SEV_CRITICAL,
	_SEV_MAX,
};

struct dash_cve {
	char id[24];
	char *title;
	double priority, score, epss; /* score, epss < 0: none */
	int published;		      /* days since 1970-01-01, -1 unknown */
	enum dash_severity severity;
	bool kev;
	bool rejected;
	int nodes; /* nodes running an affected kernel; -1 unknown */
};

struct dash_kernel {
	char *name, *release, *version, *mapping, *files_method;
	long files;
	long counts[_DV_MAX];
	long nodes; /* nodes reporting this kernel; -1 unknown */
};

struct dash_node {
	char *name, *state, *kernel, *version, *last_seen;
	char *last_error; /* the newest error event not cleared since, or NULL */
	json_t *patched_cves; /* the server's "patched_cves": the CVEs it vouches are fixed */
	long uptime, patches;
	long exposed;	/* affected CVEs of its kernel not in patched_cves; -1 unknown */
	int kernel_idx; /* into kernels, -1 when no inventory kernel matches */
};

struct dash_model {
	struct dash_cve *cves; /* in priority order */
	size_t n_cves;
	struct dash_kernel *kernels;
	size_t n_kernels;
	unsigned char *verdicts; /* n_cves x n_kernels, enum dash_verdict */
	struct dash_node *nodes;
	size_t n_nodes;
	bool nodes_known; /* the source reports nodes */
	char *where;	  /* "database /x/t.db at 4b7dbd40c578" */
	json_t *stats;
	double load_seconds;
};

static inline unsigned char dash_verdict(const struct dash_model *m, size_t cve, size_t kernel)
{
	return m->verdicts[cve * m->n_kernels + kernel];
}

/* Reads everything the screens list from SRC; progress through tt_progress(). */
int dash_model_load(struct dash_source *src, struct dash_model **ret);
void dash_model_free(struct dash_model *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct dash_model *, dash_model_free);

/* Nodes whose state is not ok get their events fetched too, up to this many. */
#define NODES_DETAILED_MAX 256
/* The node list with each troubled node's events: what dash_model_set_nodes() takes. */
int dash_nodes_fetch(struct dash_source *src, json_t **ret);
/* Replaces M's nodes with ARR's (a refresh: the CVEs and kernels stay). */
int dash_model_set_nodes(struct dash_model *m, const json_t *arr);
/*
 * Does the server vouch that N runs a fix for CVE (its "patched_cves": a module one of its
 * jobs built for the CVE, matched by name and SHA-256, released)? Never judged from names.
 */
bool dash_node_patched(const struct dash_node *n, const char *cve);

const char *dash_verdict_name(enum dash_verdict v);
char dash_verdict_glyph(enum dash_verdict v);
const char *dash_severity_name(enum dash_severity s);

struct dash_filter {
	int severity;	 /* -1 any, else enum dash_severity */
	int kernel;	 /* -1 any, else index: status applies to this kernel */
	int status;	 /* -1 any, else enum dash_verdict (any kernel when kernel < 0) */
	bool kev_only;
	bool rejected;	  /* show rejected CVEs too */
	bool *file_match; /* n_cves flags from a file-glob query, or NULL: no file filter */
	char *file_glob;
};

/* Fills ROWS (n_cves long) with the indices passing F; returns how many. */
size_t dash_filter_apply(const struct dash_model *m, const struct dash_filter *f, size_t *rows);
/* Flags the CVEs of ARR (a cve_list answer for a file glob) in M's order. */
int dash_filter_file_flags(const struct dash_model *m, const json_t *arr, bool **ret_flags);
/* Does CVE I match TEXT (case-insensitive, in its id or title)? */
bool dash_cve_matches(const struct dash_model *m, size_t i, const char *text);

/*
 * Exposure over time: for KERNEL, the CVEs it is affected by, counted by the week of their
 * publication (weeks start on Monday; week w is days [w*7-3, w*7+4) since 1970-01-01).
 * *RET_FIRST is the first week with one, RET_COUNTS[n] per week up to the latest week.
 */
int dash_exposure(const struct dash_model *m, size_t kernel, int *ret_first, long **ret_counts,
		  size_t *ret_n);
int dash_week_of_day(int day);
/* "2024-02-19": the Monday starting week W. */
void dash_week_label(int week, char buf[static 11]);
