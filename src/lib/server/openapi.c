/* The OpenAPI 3.0 document, generated from the route table so that it cannot drift from it. */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "cve/query.h"
#include "server/route.h"
#include "banned.h"

static const char *const type_names[] = {
	[SRV_T_STRING] = "string",
	[SRV_T_INTEGER] = "integer",
	[SRV_T_NUMBER] = "number",
	[SRV_T_BOOLEAN] = "boolean",
};

static json_t *error_response(const char *description)
{
	return json_pack("{s:s s:{s:{s:{s:s}}}}", "description", description, "content",
			 "application/json", "schema", "$ref", "#/components/schemas/Error");
}

static json_t *operation(const struct srv_route *rt)
{
	json_t *op, *params, *roles, *responses;
	char status[16];
	const char *p;

	params = json_array();
	roles = json_array();
	responses = json_object();
	for (p = strchr(rt->path, '{'); p; p = strchr(p + 1, '{')) {
		const char *end = strchr(p, '}');
		char name[32];

		snprintf(name, sizeof(name), "%.*s", (int)(end - p - 1), p + 1);
		json_array_append_new(params,
				      json_pack("{s:s s:s s:b s:{s:s}}", "name", name, "in", "path",
						"required", 1, "schema", "type", "string"));
	}
	for (const struct srv_query_param *q = rt->query; q && q->name; q++)
		json_array_append_new(params, json_pack("{s:s s:s s:b s:s s:{s:s}}", "name",
							q->name, "in", "query", "required", 0,
							"description", q->description, "schema",
							"type", type_names[q->type]));
	for (unsigned k = 0; k < _SRV_ROLE_MAX; k++)
		if (rt->roles & SRV_ROLE_BIT(k))
			json_array_append_new(roles, json_string(srv_role_to_string(k)));

	snprintf(status, sizeof(status), "%u", rt->ok_status ? rt->ok_status : 200);
	json_object_set_new(responses, status,
			    rt->produces
				    ? json_pack("{s:s s:{s:{s:{s:s}}}}", "description", "OK",
						"content", rt->produces, "schema", "type", "string")
				    : json_pack("{s:s s:{s:{s:{}}}}", "description", "OK",
						"content", "application/json", "schema"));
	json_object_set_new(responses, "400", error_response("a bad parameter or body"));
	if (!rt->public) {
		json_object_set_new(responses, "401", error_response("no token, or a bad one"));
		json_object_set_new(responses, "403", error_response("the role may not call this"));
	}
	json_object_set_new(responses, "404", error_response("no such object"));
	if (rt->body_schema)
		json_object_set_new(responses, "413", error_response("the body is too large"));

	op = json_pack("{s:s s:s s:o s:o s:o}", "operationId", rt->operation_id, "summary",
		       rt->summary, "parameters", params, "responses", responses, "x-tuxtape-roles",
		       roles);
	if (!op)
		return NULL;
	if (rt->public)
		json_object_set_new(op, "security", json_array());
	if (rt->body_schema) {
		json_t *schema = json_loads(rt->body_schema, 0, NULL);

		if (!schema) {
			json_decref(op);
			return NULL;
		}
		json_object_set_new(op, "requestBody",
				    json_pack("{s:b s:{s:{s:o}}}", "required", 1, "content",
					      "application/json", "schema", schema));
	}
	return op;
}

int srv_openapi(json_t **ret)
{
	json_t *doc, *paths;

	doc = json_pack(
		"{s:s s:{s:s s:s s:s s:i} s:[{s:s}] s:{s:{s:{s:s s:s}} s:{s:{s:s s:[s] s:{s:{s:s}}}}} "
		"s:[{s:[]}] s:{}}",
		"openapi", "3.0.3", "info", "title", "tuxtape-server", "version", TUXTAPE_VERSION,
		"description",
		"Kernel CVEs, the kernel inventory and its verdicts, the fleet and the archive. "
		"Every operation lists the roles that may call it in x-tuxtape-roles. The JSON "
		"documents shared with `tuxtape --json` have the shape x-tuxtape-schema-version "
		"names (tuxtape(1), JSON OUTPUT); the arrays carry no version of their own.",
		"x-tuxtape-schema-version", TT_JSON_SCHEMA_VERSION,
		"servers", "url", "/", "components", "securitySchemes", "bearerAuth", "type",
		"http", "scheme", "bearer", "schemas", "Error", "type", "object", "required",
		"error", "properties", "error", "type", "string", "security", "bearerAuth",
		"paths");
	if (!doc)
		return -ENOMEM;
	paths = json_object_get(doc, "paths");
	for (size_t i = 0; i < srv_n_routes; i++) {
		const struct srv_route *rt = &srv_routes[i];
		json_t *item = json_object_get(paths, rt->path), *op = operation(rt);
		char method[8];
		size_t k;

		if (!op) {
			json_decref(doc);
			return -ENOMEM;
		}
		if (!item) {
			item = json_object();
			json_object_set_new(paths, rt->path, item);
		}
		for (k = 0; rt->method[k] && k < sizeof(method) - 1; k++)
			method[k] = (char)(rt->method[k] | 0x20);
		method[k] = '\0';
		json_object_set_new(item, method, op);
	}
	*ret = doc;
	return 0;
}
