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

struct changelog_stats {
	size_t fixed;		    /* CVEs fixed at MAX_VERSION (the ids returned) */
	size_t cancelled;	    /* CVEs an earlier entry fixed that a later one took back */
	size_t cancelling;	    /* mentions in reverts, dropped patches, "not affected"... */
	size_t reverted_by_subject; /* fixes cancelled by a 'Revert "SUBJECT"' of their commit */
	size_t not_a_fix;	    /* mentions that do not say a fix (prose) */
	size_t items;		    /* items naming a CVE, in entries up to MAX_VERSION */
};

/*
 * Reads PATH (gzip or plain, capped at 64 MiB decompressed) and returns the CVE ids named in
 * entries of a version up to MAX_VERSION (NULL: every entry), sorted by id, and the newest
 * entry's version (RET_TOP, may be NULL).
 *
 * Only an item that says a fix counts: the id in its annotation ("... (CVE-2024-1234)", a
 * trailing bare id). An item that starts with Revert/Drop/Remove, or says "not affected",
 * "ignored", "revert" and the like, never fixes and cancels what older entries fixed, as
 * does 'Revert "SUBJECT"' for the ids of an older item with that subject; in one version a
 * cancel wins. A CVE is returned when a fix is in force at MAX_VERSION, with the version
 * that made it so. A "linux-signed-*" entry's "6.1.192+3" is the
 * linux package 6.1.192-3 it signs. -EBADMSG (logged) when PATH has no changelog entry.
 */
int changelog_read_fixes(const char *path, const char *max_version, struct distro_fix **ret,
			 size_t *ret_n, char **ret_top);
int changelog_read_fixes_stats(const char *path, const char *max_version, struct distro_fix **ret,
			       size_t *ret_n, char **ret_top, struct changelog_stats *ret_stats);
void distro_fixes_free(struct distro_fix *f, size_t n);
