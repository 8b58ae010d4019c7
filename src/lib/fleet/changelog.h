/*
 * A distribution kernel package's changelog (Debian's and Ubuntu's layout): the CVE ids its
 * entries name as fixed, by package version, so that backported fixes the CNA records do not
 * list for the base version still count.
 */
#pragma once

#include <stddef.h>

struct distro_fix {
	char *cve;     /* "CVE-2024-1234" */
	char *version; /* the oldest package version whose entry names it */
};

/* dpkg's ordering of two version strings (epoch:upstream-revision, '~' before anything). */
int deb_version_compare(const char *a, const char *b);

/*
 * Reads PATH (gzip or plain, capped at 64 MiB decompressed) and returns the CVE ids named in
 * entries of a version up to MAX_VERSION (NULL: every entry), sorted by id, and the newest
 * entry's version (RET_TOP, may be NULL). A "linux-signed-*" entry's "6.1.192+3" is the
 * linux package 6.1.192-3 it signs. -EBADMSG (logged) when PATH has no changelog entry.
 */
int changelog_read_fixes(const char *path, const char *max_version, struct distro_fix **ret,
			 size_t *ret_n, char **ret_top);
void distro_fixes_free(struct distro_fix *f, size_t n);
