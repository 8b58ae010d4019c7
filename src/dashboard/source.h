/*
 * Where the dashboard's data comes from: the local database read through the library's own
 * serialisers, or a tuxtape-server's JSON API. Both hand back the same JSON values.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "cve/query.h"
#include "macro.h"

struct dash_source_config {
	const char *db_path;	/* local: the database file */
	const char *server_url; /* server: https://host:port, no trailing /v1 */
	const char *token;	/* server: the bearer token */
	const char *cacert;	/* server: CA bundle for the server's certificate, or NULL */
	const char *linux_repo; /* local: a stable-tree clone for `cve patch`, or NULL */
};

struct dash_source;

struct dash_source_ops {
	const char *kind; /* "local" or "server" */
	int (*cve_list)(struct dash_source *s, const struct cve_list_filter *f, json_t **ret);
	int (*cve_show)(struct dash_source *s, const char *id, json_t **ret);
	int (*cve_stats)(struct dash_source *s, json_t **ret);
	int (*kernel_list)(struct dash_source *s, json_t **ret);
	int (*kernel_show)(struct dash_source *s, const char *name, json_t **ret);
	/* Both return -EOPNOTSUPP where the backend has no such data. */
	int (*node_list)(struct dash_source *s, json_t **ret);
	int (*node_show)(struct dash_source *s, const char *name, json_t **ret);
	/* The raw fix as mail-style patches; *RET_TEXT is malloc'd. */
	int (*patch)(struct dash_source *s, const char *cve, const char *kernel, char **ret_text);
	/*
	 * The server's review workflow (patches, revisions, reviews, jobs): METHOD PATH with BODY
	 * (may be NULL) and its JSON answer in *RET (may be NULL); raw answers (a revision's
	 * diff, a job's log) malloc'd in *RET_TEXT. -EOPNOTSUPP where the backend has none.
	 */
	int (*call)(struct dash_source *s, const char *method, const char *path, json_t *body,
		    json_t **ret);
	int (*get_text)(struct dash_source *s, const char *path, char **ret_text);
	/* Brings the CVE data up to date; *RET_SUMMARY is one malloc'd line. */
	int (*sync)(struct dash_source *s, char **ret_summary);
	void (*free)(struct dash_source *s);
};

struct dash_source {
	const struct dash_source_ops *ops;
	const struct dash_source_config *cfg;
};

/*
 * Opens a source for the calling thread (each thread opens its own: a database connection or
 * a curl handle is not shared). Errors are logged.
 */
int dash_source_open(const struct dash_source_config *cfg, struct dash_source **ret);
void dash_source_free(struct dash_source *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct dash_source *, dash_source_free);
#define _cleanup_source_ _cleanup_(dash_source_freep)

int dash_source_local_open(const struct dash_source_config *cfg, struct dash_source **ret);
int dash_source_server_open(const struct dash_source_config *cfg, struct dash_source **ret);
