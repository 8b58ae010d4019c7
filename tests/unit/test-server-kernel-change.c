/*
 * How a kernel change a server ended during is judged at the next start (kernel_change.c):
 * every pairing of what the CVE database held before, what was asked, and what it holds now,
 * and never "applied" when the database cannot tell.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "server/kernel_change.h"

/* A snapshot as srv_kernel_snapshot() gives it. */
static json_t *snap(const char *release, const char *config, const char *updated_at)
{
	return json_pack("{s:s s:s s:n s:n s:s s:s}", "release", release, "config", config,
			 "proc_version", "version_signature", "added_at", "2026-01-01T00:00:00Z",
			 "updated_at", updated_at);
}

static json_t *want(const char *release, const char *config)
{
	return json_pack("{s:s s:s s:n s:n}", "release", release, "config", config, "proc_version",
			 "version_signature");
}

static void expect(const char *action, json_t *before, json_t *w, json_t *now,
		   enum srv_kernel_outcome o)
{
	const char *why = NULL;

	assert_int_equal(srv_kernel_outcome(action, before, w, now, &why), o);
	assert_non_null(why);
	assert_true(*why);
	json_decref(before);
	json_decref(w);
	json_decref(now);
}

static void test_add(void **state)
{
	(void)state;
	/* nothing before, nothing now: the add did not land */
	expect("add", json_null(), want("6.1.40", "/c/k-a.config"), json_null(),
	       SRV_KERNEL_NOT_APPLIED);
	/* nothing before, the asked-for kernel now */
	expect("add", json_null(), want("6.1.40", "/c/k-a.config"),
	       snap("6.1.40", "/c/k-a.config", "2026-01-01T00:00:01Z"), SRV_KERNEL_APPLIED);
	/* nothing before, another kernel of that name now: someone else's */
	expect("add", json_null(), want("6.1.40", "/c/k-a.config"),
	       snap("6.1.40", "/elsewhere/config", "2026-01-01T00:00:01Z"), SRV_KERNEL_UNKNOWN);
	expect("add", json_null(), want("6.1.40", "/c/k-a.config"),
	       snap("6.1.41", "/c/k-a.config", "2026-01-01T00:00:01Z"), SRV_KERNEL_UNKNOWN);
	/* an add that asked for nothing comparable is never applied */
	expect("add", json_null(), json_object(),
	       snap("6.1.40", "/c/k-a.config", "2026-01-01T00:00:01Z"), SRV_KERNEL_UNKNOWN);
	expect("add", json_null(), json_null(),
	       snap("6.1.40", "/c/k-a.config", "2026-01-01T00:00:01Z"), SRV_KERNEL_UNKNOWN);
}

static void test_replace(void **state)
{
	(void)state;
	/* the old kernel untouched */
	expect("add", snap("6.1.40", "/c/old.config", "2026-01-01T00:00:00Z"),
	       want("6.1.40", "/c/new.config"),
	       snap("6.1.40", "/c/old.config", "2026-01-01T00:00:00Z"), SRV_KERNEL_NOT_APPLIED);
	/* the new one in its place */
	expect("add", snap("6.1.40", "/c/old.config", "2026-01-01T00:00:00Z"),
	       want("6.1.40", "/c/new.config"),
	       snap("6.1.40", "/c/new.config", "2026-01-01T00:00:05Z"), SRV_KERNEL_APPLIED);
	/* the same release and config again, rewritten a second later: told apart */
	expect("add", snap("6.1.40", "/c/same.config", "2026-01-01T00:00:00Z"),
	       want("6.1.40", "/c/same.config"),
	       snap("6.1.40", "/c/same.config", "2026-01-01T00:00:01Z"), SRV_KERNEL_APPLIED);
	/* ... within the same second: the row is the same either way */
	expect("add", snap("6.1.40", "/c/same.config", "2026-01-01T00:00:00Z"),
	       want("6.1.40", "/c/same.config"),
	       snap("6.1.40", "/c/same.config", "2026-01-01T00:00:00Z"), SRV_KERNEL_UNKNOWN);
	/* gone, or a third kernel: another writer */
	expect("add", snap("6.1.40", "/c/old.config", "2026-01-01T00:00:00Z"),
	       want("6.1.40", "/c/new.config"), json_null(), SRV_KERNEL_UNKNOWN);
	expect("add", snap("6.1.40", "/c/old.config", "2026-01-01T00:00:00Z"),
	       want("6.1.40", "/c/new.config"),
	       snap("6.1.40", "/c/third.config", "2026-01-01T00:00:05Z"), SRV_KERNEL_UNKNOWN);
}

static void test_remove(void **state)
{
	(void)state;
	expect("remove", snap("6.1.40", "/c/k.config", "2026-01-01T00:00:00Z"), json_null(),
	       json_null(), SRV_KERNEL_APPLIED);
	expect("remove", snap("6.1.40", "/c/k.config", "2026-01-01T00:00:00Z"), json_null(),
	       snap("6.1.40", "/c/k.config", "2026-01-01T00:00:00Z"), SRV_KERNEL_NOT_APPLIED);
	expect("remove", json_null(), json_null(), json_null(), SRV_KERNEL_NOT_APPLIED);
	/* a kernel of that name, not the one there before */
	expect("remove", snap("6.1.40", "/c/k.config", "2026-01-01T00:00:00Z"), json_null(),
	       snap("6.1.40", "/c/k.config", "2026-01-01T00:00:09Z"), SRV_KERNEL_UNKNOWN);
	expect("remove", json_null(), json_null(),
	       snap("6.1.40", "/c/k.config", "2026-01-01T00:00:09Z"), SRV_KERNEL_UNKNOWN);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(srv_kernel_outcome_to_string(SRV_KERNEL_APPLIED), "applied");
	assert_string_equal(srv_kernel_outcome_to_string(SRV_KERNEL_NOT_APPLIED), "not applied");
	assert_string_equal(srv_kernel_outcome_to_string(SRV_KERNEL_UNKNOWN), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
