/* Triage decisions per CVE and kernel: set, clear, list. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "applicability/triage.h"
#include "cve/query.h"
#include "log.h"
#include "macro.h"
#include "store/store.h"
#include "banned.h"

const char *triage_state_canonical(const char *state)
{
	static const char *const states[] = {"accepted-risk", "not-applicable", "will-patch"};

	if (!state)
		return NULL;
	if (streq(state, "accepted"))
		return states[0];
	for (size_t i = 0; i < ARRAY_SIZE(states); i++)
		if (streq(state, states[i]))
			return states[i];
	return NULL;
}

static void today(char out[16])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

/* A real calendar date, YYYY-MM-DD. */
static bool date_valid(const char *d)
{
	struct tm tm = {}, back;
	time_t t;

	if (strlen(d) != 10 || d[4] != '-' || d[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)d[i]))
			return false;
	tm.tm_year =
		(d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + d[3] - '0' - 1900;
	tm.tm_mon = (d[5] - '0') * 10 + d[6] - '0' - 1;
	tm.tm_mday = (d[8] - '0') * 10 + d[9] - '0';
	tm.tm_hour = 12;
	back = tm;
	t = timegm(&tm);
	return t != (time_t)-1 && tm.tm_mday == back.tm_mday && tm.tm_mon == back.tm_mon;
}

static int exists(struct tt_store *s, const char *sql, const char *v)
{
	sqlite3_stmt *st;
	int r;

	r = tt_store_prepare(s, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, v, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r == SQLITE_ROW)
		return 1;
	return r == SQLITE_DONE ? 0 : tt_store_error(s, "reading the database");
}

int triage_set(struct tt_store *s, const struct triage_entry *e)
{
	const char *state = triage_state_canonical(e->state);
	char id[32], day[16];
	sqlite3_stmt *st;
	int r;

	if (!state)
		return log_error_errno(-EINVAL,
				       "'%s' is not a triage state (accepted, not-applicable, "
				       "will-patch)",
				       strempty(e->state));
	if (cve_id_normalise(e->cve_id, id, sizeof(id)) < 0)
		return log_error_errno(-EINVAL, "'%s' is not a CVE id", e->cve_id);
	today(day);
	if (e->expires && !date_valid(e->expires))
		return log_error_errno(-EINVAL, "expiry '%s' is not a date (YYYY-MM-DD)",
				       e->expires);
	if (e->expires && strcmp(e->expires, day) < 0)
		return log_error_errno(-EINVAL, "expiry '%s' is in the past (today is %s)",
				       e->expires, day);
	r = exists(s, "SELECT 1 FROM kernel WHERE name = ?1", e->kernel);
	if (r == 0)
		return log_error_errno(-ENOENT, "no kernel '%s' in the inventory", e->kernel);
	if (r < 0)
		return r;
	r = exists(s, "SELECT 1 FROM cve WHERE id = ?1", id);
	if (r == 0)
		return log_error_errno(-ENOENT, "no CVE '%s' in the database", id);
	if (r < 0)
		return r;
	r = tt_store_begin(s);
	if (r < 0)
		return r;
	r = tt_store_prepare(
		s,
		"INSERT OR REPLACE INTO triage(cve_id, kernel, state, note, who, expires, "
		"at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, strftime('%Y-%m-%dT%H:%M:%SZ'))",
		&st);
	if (r >= 0) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, e->kernel, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, e->note, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, e->who, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, e->expires, -1, SQLITE_STATIC);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : tt_store_error(s, "storing a triage");
		sqlite3_reset(st);
	}
	if (r >= 0)
		r = tt_store_commit(s);
	if (r < 0)
		tt_store_rollback(s);
	return r;
}

int triage_clear(struct tt_store *s, const char *cve_id, const char *kernel)
{
	char id[32];
	sqlite3_stmt *st;
	int r, n = 0;

	if (cve_id_normalise(cve_id, id, sizeof(id)) < 0)
		return log_error_errno(-EINVAL, "'%s' is not a CVE id", cve_id);
	r = tt_store_begin(s);
	if (r < 0)
		return r;
	r = tt_store_prepare(s, "DELETE FROM triage WHERE cve_id = ?1 AND kernel = ?2", &st);
	if (r >= 0) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, kernel, -1, SQLITE_STATIC);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : tt_store_error(s, "removing a triage");
		n = sqlite3_changes(tt_store_db(s));
		sqlite3_reset(st);
	}
	if (r >= 0)
		r = tt_store_commit(s);
	if (r < 0) {
		tt_store_rollback(s);
		return r;
	}
	if (n == 0)
		return log_error_errno(-ENOENT, "%s has no triage for kernel '%s'", id, kernel);
	return 0;
}

int triage_list(struct tt_store *s, const char *kernel, bool include_expired, json_t **ret)
{
	static const char *const keys[] = {"id",      "kernel", "state",   "note",  "who",
					   "expires", "at",	"expired", "status"};
	char day[16];
	sqlite3_stmt *st;
	json_t *arr;
	int r;

	today(day);
	r = tt_store_prepare(s,
			     "SELECT t.cve_id, t.kernel, t.state, t.note, t.who, t.expires, t.at, "
			     "t.expires IS NOT NULL AND t.expires < ?2, v.status FROM triage t "
			     "LEFT JOIN kernel k ON k.name = t.kernel "
			     "LEFT JOIN verdict v ON v.cve_id = t.cve_id AND v.kernel_id = k.id "
			     "WHERE (?1 IS NULL OR t.kernel = ?1) "
			     "AND (?3 OR t.expires IS NULL OR t.expires >= ?2) "
			     "ORDER BY t.kernel, t.cve_id",
			     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, kernel, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, include_expired);
	arr = json_array();
	if (!arr) {
		sqlite3_reset(st);
		return -ENOMEM;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();

		for (size_t i = 0; o && i < ARRAY_SIZE(keys); i++)
			json_object_set_new(o, keys[i],
					    streq(keys[i], "expired")
						    ? json_boolean(sqlite3_column_int(st, (int)i))
						    : tt_store_column_json(st, (int)i));
		json_array_append_new(arr, o);
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		json_decref(arr);
		return tt_store_error(s, "listing triage");
	}
	*ret = arr;
	return 0;
}
