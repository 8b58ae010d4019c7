/*
 * The one JSON shape of a stored verdict, for every command and endpoint that shows one
 * (cve show, cve list --kernel, GET /v1/cves/ID): select VERDICT_JSON_SQL from a query where
 * the verdict row is aliased v, then verdict_json_set() adds its keys to an object.
 */
#pragma once

#include <jansson.h>
#include <sqlite3.h>

/*
 * The verdict's columns, then its fix files with how V's kernel builds each ("path\tkind"
 * lines, kind the KERNEL_FILE_* bits or 0), in path order. All NULL when v is a LEFT JOIN's
 * missing row.
 */
#define VERDICT_JSON_SQL                                                                           \
	"v.status, v.reason, v.code, v.livepatch, v.introduced_version, v.introduced_commit, "     \
	"v.fixed_version, v.fixed_commit, "                                                        \
	"CASE WHEN v.cve_id IS NULL THEN NULL ELSE "                                               \
	"(SELECT group_concat(f.path || char(9) || COALESCE(kf.kind, 0), char(10)) "              \
	" FROM (SELECT path FROM cve_file WHERE cve_id = v.cve_id ORDER BY path) f "              \
	" LEFT JOIN kernel_file kf ON kf.kernel_id = v.kernel_id AND kf.path = f.path) END"
#define VERDICT_JSON_N_COLUMNS 9

/*
 * Sets status, code, reason, introduced_version, introduced_commit, fixed_version,
 * fixed_commit, files [{path, kind}], livepatchable and livepatch_reason on O from the
 * VERDICT_JSON_SQL columns of ST starting at FIRST. 0 or -ENOMEM.
 */
int verdict_json_set(json_t *o, sqlite3_stmt *st, int first);
