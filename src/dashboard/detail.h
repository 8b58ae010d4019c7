/* Text of the detail panes, from the sources' JSON values (tolerant of fields it lacks). */
#pragma once

#include <jansson.h>

struct dash_model;

/* A CVE from cve_show: description, scores and their sources, files, fixes, verdicts. */
char *detail_cve_text(const json_t *cve, const struct dash_model *m);
/* Any JSON object as indented "key: value" lines under TITLE. */
char *detail_json_text(const char *title, const json_t *v);
