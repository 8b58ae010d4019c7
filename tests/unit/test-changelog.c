/*
 * Unit tests for the distribution changelog reader: only items that say a fix count; reverts,
 * dropped patches and "not affected" lines never do, and they take back older fixes.
 */
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

#include "fleet/changelog.h"
#include "macro.h"

static char path[] = "/tmp/tt-changelog-XXXXXX";

static void write_changelog(const char *text)
{
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The version that fixed ID at MAX, or NULL when ID is not fixed there. */
static const char *fixed_in(const struct distro_fix *f, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (streq(f[i].cve, id))
			return f[i].version;
	return NULL;
}

struct result {
	struct distro_fix *f;
	size_t n;
	struct changelog_stats st;
};

static void read_up_to(const char *text, const char *max, struct result *res)
{
	_cleanup_free_ char *top = NULL;

	write_changelog(text);
	assert_int_equal(changelog_read_fixes_stats(path, max, &res->f, &res->n, &top, &res->st),
			 0);
	unlink(path);
	memcpy(path + strlen(path) - 6, "XXXXXX", 6);
}

static const char base[] =
	"linux (6.1.20-1) bookworm-security; urgency=high\n"
	"\n"
	"  * New upstream stable update:\n"
	"    https://www.kernel.org/pub/linux/kernel/v6.x/ChangeLog-6.1.20\n"
	"    - Revert \"net: foo: fix a use-after-free in bar()\"\n"
	"    - Revert \"net/smc: Introduce TCP ULP support\" (CVE-2026-0003)\n"
	"    - ext4: drop extent cache when splitting extent fails (CVE-2026-0010)\n"
	"  * Drop patch for CVE-2026-0004, it broke the build\n"
	"  * CVE-2026-0005 is not affected: the driver is disabled\n"
	"  * Ignore CVE-2026-0006 (ignored: disputed)\n"
	"\n"
	" -- Someone <someone@debian.org>  Sat, 01 Apr 2023 00:00:00 +0000\n"
	"\n"
	"linux (6.1.15-1) bookworm; urgency=medium\n"
	"\n"
	"  * New upstream stable update:\n"
	"    - net: foo: fix a use-after-free in bar()\n"
	"      (CVE-2026-0001)\n"
	"    - wifi: cfg80211: fix u8 overflow in cfg80211_update_notlisted_nontrans()\n"
	"      CVE-2026-0002\n"
	"    - tipc: improve size validations for received domain records CVE-2026-0011)\n"
	"    https://www.kernel.org/pub/linux/kernel/v5.x/ChangeLog-5.16.10\n"
	"    - [x86] kvm: fix it (CVE-2026-0004, XSA-1) (Closes: #1)\n"
	"    - mm: fix it (CVE-2026-0005)\n"
	"    - io: fix it (CVE-2026-0006)\n"
	"  * Document that CVE-2026-0007 is handled upstream in README\n"
	"  * [x86] Add mitigations for RETbleed on AMD/Hygon (CVE-2026-0008) and\n"
	"    Intel (CVE-2026-0009) processors:\n"
	"    + x86/kvm: mitigate it\n"
	"\n"
	" -- Someone <someone@debian.org>  Sat, 01 Mar 2023 00:00:00 +0000\n";

/* Up to 6.1.15-1: the annotated fixes count, prose does not. */
static void test_fix_lines(void **state)
{
	struct result r;

	(void)state;
	read_up_to(base, "6.1.15-1", &r);
	assert_string_equal(fixed_in(r.f, r.n, "CVE-2026-0001"), "6.1.15-1");
	assert_string_equal(fixed_in(r.f, r.n, "CVE-2026-0002"), "6.1.15-1");
	assert_string_equal(fixed_in(r.f, r.n, "CVE-2026-0004"), "6.1.15-1");
	assert_string_equal(fixed_in(r.f, r.n, "CVE-2026-0008"), "6.1.15-1");
	assert_string_equal(fixed_in(r.f, r.n, "CVE-2026-0009"), "6.1.15-1");
	assert_string_equal(fixed_in(r.f, r.n, "CVE-2026-0011"), "6.1.15-1");
	assert_null(fixed_in(r.f, r.n, "CVE-2026-0007"));
	assert_int_equal(r.st.not_a_fix, 1);
	/* nothing of the newer entry */
	assert_null(fixed_in(r.f, r.n, "CVE-2026-0010"));
	distro_fixes_free(r.f, r.n);
}

/* Up to 6.1.20-1: reverts, drops, "not affected" and "ignored" take fixes back. */
static void test_reverts_and_drops(void **state)
{
	struct result r;

	(void)state;
	read_up_to(base, "6.1.20-1", &r);
	/* reverted by subject, without naming the CVE */
	assert_null(fixed_in(r.f, r.n, "CVE-2026-0001"));
	/* a revert that names the CVE is never its fix */
	assert_null(fixed_in(r.f, r.n, "CVE-2026-0003"));
	/* a dropped patch */
	assert_null(fixed_in(r.f, r.n, "CVE-2026-0004"));
	/* "is not affected", "ignored" */
	assert_null(fixed_in(r.f, r.n, "CVE-2026-0005"));
	assert_null(fixed_in(r.f, r.n, "CVE-2026-0006"));
	/* a commit subject with "drop" in it is still a fix */
	assert_string_equal(fixed_in(r.f, r.n, "CVE-2026-0010"), "6.1.20-1");
	/* untouched fixes stay */
	assert_string_equal(fixed_in(r.f, r.n, "CVE-2026-0002"), "6.1.15-1");
	assert_int_equal(r.st.reverted_by_subject, 1);
	assert_int_equal(r.st.cancelled, 5);
	distro_fixes_free(r.f, r.n);
}

/* Fixed, reverted, fixed again: the last fix, from the version that made it. */
static void test_refixed(void **state)
{
	static const char text[] =
		"linux (6.1.30-1) bookworm; urgency=medium\n\n"
		"  * fork: defer linking file vma until vma is fully initialized\n"
		"    (CVE-2026-0020)\n\n"
		" -- A <a@b>  Sat, 01 Jul 2023 00:00:00 +0000\n\n"
		"linux (6.1.25-1) bookworm; urgency=medium\n\n"
		"  * Revert \"fork: defer linking file vma until vma is fully initialized\"\n\n"
		" -- A <a@b>  Sat, 01 Jun 2023 00:00:00 +0000\n\n"
		"linux (6.1.20-1) bookworm; urgency=medium\n\n"
		"  * fork: defer linking file vma until vma is fully initialized\n"
		"    (CVE-2026-0020)\n"
		"  * Revert \"x: same version\"\n"
		"  * x: same version (CVE-2026-0021)\n\n"
		" -- A <a@b>  Sat, 01 May 2023 00:00:00 +0000\n";
	struct result r;

	(void)state;
	read_up_to(text, "6.1.20-1", &r);
	assert_string_equal(fixed_in(r.f, r.n, "CVE-2026-0020"), "6.1.20-1");
	/* a revert in the same version wins */
	assert_null(fixed_in(r.f, r.n, "CVE-2026-0021"));
	distro_fixes_free(r.f, r.n);
	read_up_to(text, "6.1.25-1", &r);
	assert_null(fixed_in(r.f, r.n, "CVE-2026-0020"));
	distro_fixes_free(r.f, r.n);
	read_up_to(text, "6.1.30-1", &r);
	assert_string_equal(fixed_in(r.f, r.n, "CVE-2026-0020"), "6.1.30-1");
	distro_fixes_free(r.f, r.n);
}

/*
 * The installed Debian kernel package's changelog, when there is one: the fixes reverted
 * later in it are not fixed (CVE-2025-68781 fixed in 6.1.162-1 by "usb: phy: fsl-usb: ...",
 * reverted in 6.1.187-1), and a CVE named only in a revert is not fixed.
 */
static void test_real_changelog(void **state)
{
	const char *cl = "/usr/share/doc/linux-image-6.1.0-57-amd64/changelog.gz";
	struct distro_fix *f = NULL;
	struct changelog_stats st;
	size_t n = 0;

	(void)state;
	if (access(cl, R_OK) != 0) {
		skip();
		return;
	}
	assert_int_equal(changelog_read_fixes_stats(cl, "6.1.192-3", &f, &n, NULL, &st), 0);
	assert_true(n > 3000);
	assert_null(fixed_in(f, n, "CVE-2025-68781"));
	/* fixed in 6.1.25-1, reverted in 6.1.37-1, fixed by another commit in 6.1.52-1 */
	assert_string_equal(fixed_in(f, n, "CVE-2023-1989"), "6.1.52-1");
	assert_null(fixed_in(f, n, "CVE-2026-46330"));
	/* reverted in 6.1.98-1, fixed again in 6.1.192-1 */
	assert_string_equal(fixed_in(f, n, "CVE-2024-27022"), "6.1.192-1");
	assert_string_equal(fixed_in(f, n, "CVE-2022-41674"), "6.0.2-1");
	assert_true(st.reverted_by_subject >= 8);
	distro_fixes_free(f, n);
	/* before the revert, the fix held */
	assert_int_equal(changelog_read_fixes_stats(cl, "6.1.186-1", &f, &n, NULL, &st), 0);
	assert_string_equal(fixed_in(f, n, "CVE-2025-68781"), "6.1.162-1");
	distro_fixes_free(f, n);
	assert_int_equal(changelog_read_fixes_stats(cl, "6.1.40-1", &f, &n, NULL, &st), 0);
	assert_null(fixed_in(f, n, "CVE-2023-1989"));
	distro_fixes_free(f, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fix_lines),
		cmocka_unit_test(test_reverts_and_drops),
		cmocka_unit_test(test_refixed),
		cmocka_unit_test(test_real_changelog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
