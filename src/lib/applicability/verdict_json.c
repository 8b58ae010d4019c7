/* Serialising a stored verdict: the structured shape tuxtape(1) documents under JSON OUTPUT. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "applicability/verdict.h"
#include "applicability/verdict_json.h"
#include "kernel/fileset.h"
#include "store/store.h"
#include "banned.h"

static json_t *files_json(const char *lines)
{
	json_t *arr = json_array();

	if (!arr)
		return NULL;
	while (lines && *lines) {
		const char *nl = strchr(lines, '\n'), *tab;
		size_t len = nl ? (size_t)(nl - lines) : strlen(lines);
		json_t *o;

		tab = memchr(lines, '\t', len);
		if (tab) {
			o = json_pack("{s:s% s:s}", "path", lines, (size_t)(tab - lines), "kind",
				      kernel_file_kind_str((unsigned)strtoul(tab + 1, NULL, 10)));
			if (!o || json_array_append_new(arr, o) < 0) {
				json_decref(arr);
				return NULL;
			}
		}
		lines += len + (nl ? 1 : 0);
	}
	return arr;
}

int verdict_json_set(json_t *o, sqlite3_stmt *st, int first)
{
	const char *lp = (const char *)sqlite3_column_text(st, first + 3);
	enum verdict_livepatch l = VERDICT_LP_NOT_ESTIMATED;
	json_t *files;

	if (lp)
		(void)verdict_livepatch_from_string(lp, &l);
	files = files_json((const char *)sqlite3_column_text(st, first + 8));
	if (!files)
		return -ENOMEM;
	if (json_object_set_new(o, "status", tt_store_column_json(st, first)) < 0 ||
	    json_object_set_new(o, "code", tt_store_column_json(st, first + 2)) < 0 ||
	    json_object_set_new(o, "reason", tt_store_column_json(st, first + 1)) < 0 ||
	    json_object_set_new(o, "introduced_version", tt_store_column_json(st, first + 4)) < 0 ||
	    json_object_set_new(o, "introduced_commit", tt_store_column_json(st, first + 5)) < 0 ||
	    json_object_set_new(o, "fixed_version", tt_store_column_json(st, first + 6)) < 0 ||
	    json_object_set_new(o, "fixed_commit", tt_store_column_json(st, first + 7)) < 0 ||
	    json_object_set_new(o, "fix_files", files) < 0 ||
	    json_object_set_new(o, "livepatchable", json_boolean(l == VERDICT_LP_C_SOURCES)) < 0 ||
	    json_object_set_new(o, "livepatch_reason",
				json_string(verdict_livepatch_to_string(l))) < 0)
		return -ENOMEM;
	return 0;
}
