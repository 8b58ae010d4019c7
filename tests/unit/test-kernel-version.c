/* Unit tests for kernel release string mapping and ordering. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "kernel/version.h"
#include "log.h"

static char last_msg[512];

static void capture(enum tt_log_level level, const char *msg, void *userdata)
{
	snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

static struct kernel_version parse_ok(const char *rel, const char *pv, const char *sig,
				      const char *mapping)
{
	struct kernel_version v = {};
	const char *m = NULL;

	assert_int_equal(kernel_version_parse(rel, pv, sig, &v, &m), 0);
	assert_non_null(m);
	assert_string_equal(m, mapping);
	return v;
}

static void test_mainline_stable_rc(void **state)
{
	struct kernel_version v;
	char buf[32];

	v = parse_ok("6.8", NULL, NULL, "mainline");
	assert_int_equal(v.major, 6);
	assert_int_equal(v.minor, 8);
	assert_int_equal(v.patch, 0);
	assert_int_equal(v.rc, 0);

	v = parse_ok("6.1.192", NULL, NULL, "stable");
	assert_int_equal(v.patch, 192);
	assert_int_equal(kernel_version_format(&v, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "6.1.192");

	v = parse_ok("6.10-rc3", NULL, NULL, "release candidate");
	assert_int_equal(v.minor, 10);
	assert_int_equal(v.rc, 3);
	assert_int_equal(kernel_version_format(&v, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "6.10-rc3");

	v = parse_ok("6.1.192-custom+", NULL, NULL, "local version suffix ignored");
	assert_int_equal(v.patch, 192);
}

static void test_order(void **state)
{
	struct kernel_version rc3 = {6, 10, 0, 3}, rc7 = {6, 10, 0, 7}, rel = {6, 10, 0, 0},
			      old = {6, 9, 12, 0}, stable = {6, 10, 1, 0};

	assert_true(kernel_version_compare(&rc3, &rel) < 0);
	assert_true(kernel_version_compare(&rel, &rc3) > 0);
	assert_true(kernel_version_compare(&rc3, &rc7) < 0);
	assert_true(kernel_version_compare(&old, &rc3) < 0);
	assert_true(kernel_version_compare(&rel, &stable) < 0);
	assert_int_equal(kernel_version_compare(&rel, &rel), 0);
}

static void test_debian(void **state)
{
	static const char pv[] =
		"Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian "
		"12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP "
		"PREEMPT_DYNAMIC Debian 6.1.192-2 (2025-11-10)\n";
	struct kernel_version v, none = {};

	v = parse_ok("6.1.0-56-amd64", pv, NULL, "debian (/proc/version)");
	assert_int_equal(v.major, 6);
	assert_int_equal(v.minor, 1);
	assert_int_equal(v.patch, 192);

	/* Without /proc/version the ABI name's .0 must not pass for the upstream patch level. */
	assert_int_equal(kernel_version_parse("6.1.0-56-amd64", NULL, NULL, &none, NULL), -EINVAL);
	assert_non_null(strstr(last_msg, "/proc/version"));
	assert_int_equal(none.major, 0);
}

static void test_ubuntu(void **state)
{
	struct kernel_version v;

	v = parse_ok("6.8.0-52-generic", NULL, "Ubuntu 6.8.0-52.53-generic 6.8.12\n",
		     "ubuntu (/proc/version_signature)");
	assert_int_equal(v.minor, 8);
	assert_int_equal(v.patch, 12);
	assert_int_equal(kernel_version_parse("6.8.0-52-generic", NULL, "Ubuntu garbage", &v, NULL),
			 -EINVAL);
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {"",	  "foo",	"6",	     "6.",	"6.x",
					  "v6.1", "6.1.192abc", "1234567.1", "6.10-rc0"};
	struct kernel_version v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		last_msg[0] = '\0';
		assert_int_equal(kernel_version_parse(bad[i], NULL, NULL, &v, NULL), -EINVAL);
		assert_non_null(strstr(last_msg, "not a kernel version"));
	}
	assert_int_equal(kernel_version_parse(NULL, NULL, NULL, &v, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mainline_stable_rc),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_debian),
		cmocka_unit_test(test_ubuntu),
		cmocka_unit_test(test_invalid),
	};

	tt_log_set(capture, NULL, TT_LOG_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
