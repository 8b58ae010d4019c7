/* Unit tests for .config parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/kconfig.h"
#include "log.h"

static char last_msg[512];

static void capture(enum tt_log_level level, const char *msg, void *userdata)
{
	snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

static void test_values(void **state)
{
	static const char text[] = "#\n# Automatically generated file; DO NOT EDIT.\n"
				   "CONFIG_CC_VERSION_TEXT=\"gcc (Debian 12.2.0-14) 12.2.0\"\n"
				   "CONFIG_64BIT=y\n"
				   "CONFIG_E1000=m\n"
				   "# CONFIG_SMP is not set\n"
				   "CONFIG_HZ=250\n"
				   "CONFIG_PHYSICAL_START=0x1000000\n"
				   "CONFIG_ESCAPED=\"a \\\"q\\\" b\"\n"
				   "CONFIG_NEG=-1\n"
				   "CONFIG_DUP=y\n"
				   "CONFIG_DUP=m\n"
				   "CONFIG_OFF=n\n"
				   "\n";
	struct kconfig *kc = NULL;

	assert_int_equal(kconfig_parse("test", text, strlen(text), &kc), 0);
	assert_string_equal(kconfig_get(kc, "CONFIG_64BIT"), "y");
	assert_string_equal(kconfig_get(kc, "E1000"), "m");
	assert_null(kconfig_get(kc, "CONFIG_SMP"));
	assert_string_equal(kconfig_get(kc, "CONFIG_HZ"), "250");
	assert_string_equal(kconfig_get(kc, "CONFIG_PHYSICAL_START"), "0x1000000");
	assert_string_equal(kconfig_get(kc, "CONFIG_CC_VERSION_TEXT"),
			    "\"gcc (Debian 12.2.0-14) 12.2.0\"");
	assert_string_equal(kconfig_get(kc, "CONFIG_ESCAPED"), "\"a \\\"q\\\" b\"");
	assert_string_equal(kconfig_get(kc, "CONFIG_NEG"), "-1");
	assert_string_equal(kconfig_get(kc, "CONFIG_DUP"), "m");
	assert_null(kconfig_get(kc, "CONFIG_OFF"));
	assert_int_equal(kconfig_count(kc), 8);
	kconfig_free(kc);
}

static void expect_reject(const char *text, const char *needle)
{
	struct kconfig *kc = NULL;

	last_msg[0] = '\0';
	assert_int_equal(kconfig_parse("cfg", text, strlen(text), &kc), -EINVAL);
	assert_null(kc);
	assert_non_null(strstr(last_msg, "'cfg'"));
	assert_non_null(strstr(last_msg, needle));
}

static void test_reject(void **state)
{
	expect_reject("<html>hello</html>\n", "line 1");
	expect_reject("CONFIG_A=y\nCONFIG_B=y\nobj-y += foo.o\n", "line 3");
	expect_reject("CONFIG_A=yes\n", "line 1");
	expect_reject("CONFIG_A=\"unterminated\n", "line 1");
	expect_reject("CONFIG_=y\n", "line 1");
	expect_reject("", "no CONFIG_");
	expect_reject("# just a comment\n", "no CONFIG_");
	{
		static const char bin[] = "CONFIG_A=y\n\0\x7f"
					  "ELF";
		struct kconfig *kc = NULL;

		assert_int_equal(kconfig_parse("cfg", bin, sizeof(bin) - 1, &kc), -EINVAL);
		assert_non_null(strstr(last_msg, "binary"));
	}
}

static void test_load(void **state)
{
	char path[] = "/tmp/tt-kconfig-XXXXXX";
	int fd = mkstemp(path);
	struct kconfig *kc = NULL;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "# CONFIG_X is not set\n", 22), 22);
	close(fd);
	assert_int_equal(kconfig_load(path, &kc), 0);
	assert_int_equal(kconfig_count(kc), 0);
	kconfig_free(kc);
	unlink(path);
	assert_int_equal(kconfig_load(path, &kc), -ENOENT);
	assert_non_null(strstr(last_msg, path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_reject),
		cmocka_unit_test(test_load),
	};

	tt_log_set(capture, NULL, TT_LOG_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
