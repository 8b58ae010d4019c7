/* Roles, bearer tokens and the append-only audit log in the server's state database. */
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "server/auth.h"
#include "server/state.h"
#include "banned.h"

#define TOKEN_PREFIX "tt_"
#define TOKEN_RANDOM_BYTES 32
/* "tt_" + unpadded base64url of 32 bytes */
#define TOKEN_LEN (sizeof(TOKEN_PREFIX) - 1 + 43)

static const char *const role_names[_SRV_ROLE_MAX] = {
	[SRV_ROLE_VIEWER] = "viewer",	  [SRV_ROLE_AUTHOR] = "author",
	[SRV_ROLE_REVIEWER] = "reviewer", [SRV_ROLE_PUBLISHER] = "publisher",
	[SRV_ROLE_BUILDER] = "builder",	  [SRV_ROLE_AGENT] = "agent",
	[SRV_ROLE_ADMIN] = "admin",
};

const char *srv_role_to_string(enum srv_role r)
{
	return (unsigned)r < _SRV_ROLE_MAX ? role_names[r] : NULL;
}

int srv_role_from_string(const char *s, enum srv_role *ret)
{
	for (unsigned i = 0; i < _SRV_ROLE_MAX; i++)
		if (streq(s, role_names[i])) {
			*ret = (enum srv_role)i;
			return 0;
		}
	return -EINVAL;
}

bool srv_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > SRV_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	       n;
}

static void token_hash(const char *token, char ret[static 65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(ret, 65, h, sizeof(h));
}

void srv_bind_actor(struct srv_stmt *s, int first, const struct srv_actor *by)
{
	srv_bind_text(s, first, by->name);
	srv_bind_text(s, first + 1, by->role);
	if (by->token_id)
		srv_bind_int64(s, first + 2, by->token_id);
	srv_bind_text(s, first + 3, by->remote);
	srv_bind_text(s, first + 4, by->person);
}

int srv_audit_append(struct srv_state *st, const struct srv_actor *by, const char *action,
		     const char *object, json_t *detail)
{
	_cleanup_free_ char *d = NULL;
	struct srv_stmt *s;
	int r;

	if (detail) {
		d = json_dumps(detail, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!d)
			return -ENOMEM;
	}
	r = srv_state_prepare(
		st,
		"INSERT INTO audit(at, actor, role, token_id, remote, action, object, "
		"detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		&s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, (int64_t)time(NULL));
	srv_bind_text(s, 2, by->name);
	srv_bind_text(s, 3, by->role);
	if (by->token_id)
		srv_bind_int64(s, 4, by->token_id);
	srv_bind_text(s, 5, by->remote);
	srv_bind_text(s, 6, action);
	srv_bind_text(s, 7, object);
	srv_bind_text(s, 8, d);
	return srv_exec(st, s, "writing the audit log");
}

int srv_audit_list(struct srv_state *st, int64_t after, unsigned limit, json_t **ret)
{
	json_t *arr;
	struct srv_stmt *s;
	int r;

	r = srv_state_prepare(
		st,
		"SELECT id, at, actor, role, token_id, remote, action, object, detail "
		"FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2",
		&s);
	if (r < 0)
		return r;
	srv_bind_int64(s, 1, after);
	srv_bind_int(s, 2, (int)limit);
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	while ((r = srv_step(s)) == SRV_ROW) {
		const char *detail = srv_column_text(s, 8);
		char when[32];
		json_t *o, *d = NULL;

		srv_time_iso(srv_column_int64(s, 1), when);
		if (detail)
			d = json_loads(detail, 0, NULL);
		o = json_pack("{s:o s:s s:o s:o s:o s:o s:o s:o s:o}", "id", srv_column_json(s, 0),
			      "at", when, "actor", srv_column_json(s, 2), "role",
			      srv_column_json(s, 3), "token_id", srv_column_json(s, 4), "remote",
			      srv_column_json(s, 5), "action", srv_column_json(s, 6), "object",
			      srv_column_json(s, 7), "detail", d ? d : json_null());
		if (!o || json_array_append_new(arr, o) < 0) {
			srv_reset(s);
			json_decref(arr);
			return -ENOMEM;
		}
	}
	srv_reset(s);
	if (r != SRV_DONE) {
		json_decref(arr);
		return srv_state_error(st, "reading the audit log");
	}
	*ret = arr;
	return 0;
}

int srv_token_create(struct srv_state *st, const char *name, const char *person,
		     enum srv_role role, const struct srv_actor *by, char **ret_token)
{
	unsigned char rnd[TOKEN_RANDOM_BYTES];
	char hash[65], *token;
	struct srv_stmt *s;
	int64_t id;
	int r;

	if (!srv_name_valid(name))
		return log_error_errno(
			-EINVAL, "'%s' is not a usable token name (1-64 of A-Z a-z 0-9 . _ -)",
			name);
	if (!person)
		person = name;
	if (!srv_name_valid(person))
		return log_error_errno(
			-EINVAL, "'%s' is not a usable person name (1-64 of A-Z a-z 0-9 . _ -)",
			person);
	if (sodium_init() < 0)
		return -EIO;
	randombytes_buf(rnd, sizeof(rnd));
	token = malloc(TOKEN_LEN + 1);
	if (!token)
		return -ENOMEM;
	memcpy(token, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);
	sodium_bin2base64(token + sizeof(TOKEN_PREFIX) - 1,
			  TOKEN_LEN + 1 - (sizeof(TOKEN_PREFIX) - 1), rnd, sizeof(rnd),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(rnd, sizeof(rnd));
	token_hash(token, hash);

	r = srv_state_begin(st);
	if (r < 0)
		goto fail;
	r = srv_state_prepare(st,
			      "INSERT INTO token(name, role, hash, created_at, created_by, person) "
			      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_text(s, 1, name);
	srv_bind_text(s, 2, srv_role_to_string(role));
	srv_bind_text(s, 3, hash);
	srv_bind_int64(s, 4, (int64_t)time(NULL));
	srv_bind_text(s, 5, by->name);
	srv_bind_text(s, 6, person);
	r = srv_step_insert(s, &id);
	if (r == SRV_CONSTRAINT) {
		r = log_error_errno(-EEXIST, "a token named '%s' exists (revoke it first)", name);
		goto rollback;
	}
	if (r != SRV_DONE) {
		r = srv_state_error(st, "storing the token");
		goto rollback;
	}
	{
		json_t *d = json_pack("{s:s s:I s:s}", "role", srv_role_to_string(role),
				      "token_id", (json_int_t)id, "person", person);

		r = d ? srv_audit_append(st, by, "token.create", name, d) : -ENOMEM;
		json_decref(d);
	}
	if (r < 0)
		goto rollback;
	r = srv_state_commit(st);
	if (r < 0)
		goto fail;
	*ret_token = token;
	return 0;
rollback:
	srv_state_rollback(st);
fail:
	sodium_memzero(token, TOKEN_LEN);
	free(token);
	return r;
}

int srv_token_revoke(struct srv_state *st, const char *name_or_id, const struct srv_actor *by)
{
	struct srv_stmt *s;
	int64_t id = 0;
	const char *name = NULL;
	json_t *d;
	int r;

	if (name_or_id[0] == '#') {
		char *end;

		errno = 0;
		id = strtoll(name_or_id + 1, &end, 10);
		if (errno || *end || id <= 0)
			return log_error_errno(-EINVAL, "'%s' is not a token id (#N)", name_or_id);
	} else {
		name = name_or_id;
	}
	r = srv_state_begin(st);
	if (r < 0)
		return r;
	r = srv_state_prepare(st,
			      "UPDATE token SET revoked_at = ?1, revoked_by = ?2 "
			      "WHERE revoked_at IS NULL AND (id = ?3 OR name = ?4) "
			      "RETURNING id, name, role",
			      &s);
	if (r < 0)
		goto rollback;
	srv_bind_int64(s, 1, (int64_t)time(NULL));
	srv_bind_text(s, 2, by->name);
	srv_bind_int64(s, 3, id);
	srv_bind_text(s, 4, name);
	r = srv_step(s);
	if (r != SRV_ROW) {
		srv_reset(s);
		r = r == SRV_DONE ? log_error_errno(-ENOENT, "no active token '%s'", name_or_id)
				  : srv_state_error(st, "revoking the token");
		goto rollback;
	}
	d = json_pack("{s:I s:s}", "token_id", (json_int_t)srv_column_int64(s, 0), "role",
		      srv_column_text(s, 2));
	{
		_cleanup_free_ char *n = strdup(srv_column_text(s, 1));

		while (srv_step(s) == SRV_ROW)
			;
		srv_reset(s);
		r = d && n ? srv_audit_append(st, by, "token.revoke", n, d) : -ENOMEM;
	}
	json_decref(d);
	if (r < 0)
		goto rollback;
	return srv_state_commit(st);
rollback:
	srv_state_rollback(st);
	return r;
}

int srv_token_list(struct srv_state *st, json_t **ret)
{
	struct srv_stmt *s;
	json_t *arr;
	int r;

	r = srv_state_prepare(
		st,
		"SELECT id, name, role, created_at, created_by, revoked_at, revoked_by, "
		"coalesce(person, name) FROM token ORDER BY id",
		&s);
	if (r < 0)
		return r;
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	while ((r = srv_step(s)) == SRV_ROW) {
		char created[32], revoked[32];
		json_t *o;

		srv_time_iso(srv_column_int64(s, 3), created);
		srv_time_iso(srv_column_int64(s, 5), revoked);
		o = json_pack("{s:o s:o s:o s:o s:s s:o s:o s:o}", "id", srv_column_json(s, 0),
			      "name", srv_column_json(s, 1), "person", srv_column_json(s, 7),
			      "role", srv_column_json(s, 2), "created_at", created, "created_by",
			      srv_column_json(s, 4), "revoked_at",
			      srv_column_is_null(s, 5) ? json_null() : json_string(revoked),
			      "revoked_by", srv_column_json(s, 6));
		if (!o || json_array_append_new(arr, o) < 0) {
			srv_reset(s);
			json_decref(arr);
			return -ENOMEM;
		}
	}
	srv_reset(s);
	if (r != SRV_DONE) {
		json_decref(arr);
		return srv_state_error(st, "listing tokens");
	}
	*ret = arr;
	return 0;
}

int srv_token_lookup(struct srv_state *st, const char *token, struct srv_principal *ret)
{
	char hash[65];
	struct srv_stmt *s;
	const char *name, *person;
	int r;

	if (strlen(token) != TOKEN_LEN || !startswith(token, TOKEN_PREFIX))
		return -ENOENT;
	token_hash(token, hash);
	r = srv_state_prepare(st,
			      "SELECT id, name, role, revoked_at, coalesce(person, name) FROM token "
			      "WHERE hash = ?1",
			      &s);
	if (r < 0)
		return r;
	srv_bind_text(s, 1, hash);
	r = srv_step(s);
	if (r != SRV_ROW) {
		srv_reset(s);
		return r == SRV_DONE ? -ENOENT : srv_state_error(st, "looking up a token");
	}
	if (!srv_column_is_null(s, 3)) {
		srv_reset(s);
		return -EKEYREVOKED;
	}
	name = srv_column_text(s, 1);
	person = srv_column_text(s, 4);
	if (strlen(name) > SRV_NAME_MAX || !person || strlen(person) > SRV_NAME_MAX ||
	    srv_role_from_string(srv_column_text(s, 2), &ret->role) < 0) {
		srv_reset(s);
		return -EBADMSG;
	}
	ret->token_id = srv_column_int64(s, 0);
	memcpy(ret->name, name, strlen(name) + 1);
	memcpy(ret->person, person, strlen(person) + 1);
	srv_reset(s);
	return 0;
}
