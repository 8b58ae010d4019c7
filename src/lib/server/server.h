/*
 * tuxtape-server's engine: an HTTPS JSON API over the library (CVEs, kernels, the fleet, the
 * archive), tokens with roles, an audit log and Prometheus metrics. The program only reads
 * its command line and hands this a configuration (docs/server.md).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct srv;

struct srv_config {
	const char *listen;   /* "ADDRESS:PORT" ("[ADDRESS]:PORT" for IPv6); port 0 picks one */
	const char *tls_cert; /* PEM certificate chain */
	const char *tls_key;  /* PEM private key */
	const char *tls_client_ca; /* NULL: no client certificates; else agent and builder
				    * tokens need a certificate from this CA naming them (CN) */
	const char *db_path;	   /* the CVE database */
	const char *state_path;	   /* the server's own database */
	const char *archive_dir;   /* NULL: GET /v1/archive answers 404 */
	const char *
		kernel_source; /* a kernel tree (or with _tarball a tarball) for POST /v1/kernels */
	const char *kernel_source_tarball;
	const char *config_dir;	  /* where posted kernel configs are kept */
	unsigned threads;	  /* worker threads (0: 4) */
	unsigned max_connections; /* 0: 256 */
	unsigned request_timeout; /* seconds of silence, and for a whole upload (0: 30) */
	size_t max_body;	  /* bytes (0: 4 MiB) */
	size_t max_header;	  /* bytes of request line and headers, about (0: 16 KiB) */
	int64_t node_stale_after; /* seconds without a heartbeat (0: 300) */

	/* The review workflow and the builders (docs/server.md). */
	unsigned approvals;	     /* approvals a revision needs (0: 2) */
	bool allow_untested;	     /* publish modules whose boot test was skipped */
	const char *artifact_dir;    /* modules, reports, logs; NULL: artifacts/ beside state */
	const char *const *channels; /* "NAME=DIR" archives by channel, NULL-terminated; the
				      * --archive directory is channel "stable" unless named */
	unsigned lease_seconds;	     /* a builder's lease on a job (0: 120) */
	const char *linux_repo;	     /* a stable-tree clone: a patch made from the raw fix */
	unsigned cache_entries;	     /* GET /v1/cves answers kept (0: 64; -1u: none) */

	/*
	 * Test-only (tests/server/crash.sh): milliseconds a kernel add or removal waits after
	 * its pending record and before the CVE database changes (_before), or after the change
	 * and before its audit record (_after), so that a test can kill the server there.
	 * Zero in production; the program sets them only from TUXTAPE_SERVER_TEST_KERNEL_PAUSE.
	 */
	unsigned test_kernel_pause_before_ms, test_kernel_pause_after_ms;
};

/* Opens both databases (so that errors show at once), loads the keys and starts listening. */
int srv_start(const struct srv_config *c, struct srv **ret);
/* The port listened on (useful with port 0). */
unsigned srv_port(struct srv *s);
/* Stops listening, finishes the requests under way and frees everything. */
void srv_stop(struct srv *s);

/*
 * For the program's log callback: a message logged while a request is handled on this thread
 * becomes that request's JSON error; returns true when it was taken (the program then need
 * not print it).
 */
bool srv_log_capture(enum tt_log_level level, const char *msg);

/* The route table as JSON: [{"method","path","roles":[...],"public","summary"}]. */
int srv_routes_json(json_t **ret);
/* The OpenAPI 3.0 document, generated from the route table. */
int srv_openapi(json_t **ret);

/* The JSON output flags shared with `tuxtape --json` (byte-identical bodies). */
#define SRV_JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))
