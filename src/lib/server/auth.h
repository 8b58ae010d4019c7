/*
 * Who may call the server: roles, bearer tokens (only their SHA-256 is stored) and the
 * audit log every change writes in the same transaction as the change.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct srv_state;

enum srv_role {
	SRV_ROLE_VIEWER,
	SRV_ROLE_AUTHOR,
	SRV_ROLE_REVIEWER,
	SRV_ROLE_PUBLISHER,
	SRV_ROLE_BUILDER,
	SRV_ROLE_AGENT,
	SRV_ROLE_ADMIN,
	_SRV_ROLE_MAX,
};

#define SRV_ROLE_BIT(r) (1u << (r))

const char *srv_role_to_string(enum srv_role r);
int srv_role_from_string(const char *s, enum srv_role *ret);

/* A token or node name: 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool srv_name_valid(const char *name);
#define SRV_NAME_MAX 64

/* The caller of a request, once its token is known. */
struct srv_principal {
	int64_t token_id;
	char name[SRV_NAME_MAX + 1];
	char person[SRV_NAME_MAX + 1]; /* who holds the token (default: its name) */
	enum srv_role role;
};

/* Who made a change and from where, as the audit log records it. */
struct srv_actor {
	const char *name;   /* token name, or "local:USER" */
	const char *role;   /* NULL for the local command line */
	int64_t token_id;   /* 0 for none */
	const char *remote; /* "ADDRESS:PORT" or "local" */
	const char *person; /* who holds the token; NULL: NAME */
};

struct srv_stmt;
/* Binds BY's name, role, token id (NULL for none), remote and person to FIRST..FIRST+4. */
void srv_bind_actor(struct srv_stmt *s, int first, const struct srv_actor *by);

/* The person behind an actor: the two-person rule compares these, not token names. */
static inline const char *srv_actor_person(const struct srv_actor *a)
{
	return a->person && *a->person ? a->person : a->name;
}

/*
 * Creates a token for NAME with ROLE, held by PERSON (NULL: NAME), and returns it in
 * *RET_TOKEN (the only time it exists in clear: "tt_" and 43 base64url characters of 256
 * random bits). -EEXIST when an unrevoked token already has that name, -EINVAL for a bad
 * name or person.
 */
int srv_token_create(struct srv_state *st, const char *name, const char *person,
		     enum srv_role role, const struct srv_actor *by, char **ret_token);
/* Revokes the unrevoked token named NAME, or token "#ID"; -ENOENT when there is none. */
int srv_token_revoke(struct srv_state *st, const char *name_or_id, const struct srv_actor *by);
/* [{"id","name","person","role","created_at","created_by","revoked_at","revoked_by"}] by id. */
int srv_token_list(struct srv_state *st, json_t **ret);
/*
 * The principal behind a presented token: -ENOENT for an unknown token (or a malformed one),
 * -EKEYREVOKED for a revoked one.
 */
int srv_token_lookup(struct srv_state *st, const char *token, struct srv_principal *ret);

/* Appends one record; DETAIL (borrowed, may be NULL) is stored as compact JSON. */
int srv_audit_append(struct srv_state *st, const struct srv_actor *by, const char *action,
		     const char *object, json_t *detail);
/* Records with id > AFTER, oldest first, at most LIMIT (1-1000). */
int srv_audit_list(struct srv_state *st, int64_t after, unsigned limit, json_t **ret);
