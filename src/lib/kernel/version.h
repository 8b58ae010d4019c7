/*
 * Kernel versions: what upstream release a running kernel is built from.
 *
 *   "6.8"                     mainline release          -> 6.8.0
 *   "6.1.192"                 stable release            -> 6.1.192
 *   "6.10-rc3"                release candidate         -> 6.10.0-rc3 (orders before 6.10)
 *   "6.1.0-56-amd64"          Debian ABI name: needs /proc/version ("... Debian 6.1.192-2 ...")
 *   "6.8.0-52-generic"        Ubuntu ABI name: needs /proc/version_signature
 *                             ("Ubuntu 6.8.0-52.53-generic 6.8.12") -> 6.8.12
 *   "6.1.192-custom"          stable with a local version suffix -> 6.1.192
 */
#pragma once

#include <stddef.h>

struct kernel_version {
	unsigned major, minor, patch;
	unsigned rc; /* 0 for a release */
};

/*
 * Parses RELEASE (uname -r). PROC_VERSION (contents of /proc/version) and VERSION_SIGNATURE
 * (of /proc/version_signature) may be NULL; distribution ABI names need one of them.
 * *RET_MAPPING (optional) is set to a static string naming the rule used, e.g. "debian".
 * Returns -EINVAL with a logged message for strings it cannot map.
 */
int kernel_version_parse(const char *release, const char *proc_version,
			 const char *version_signature, struct kernel_version *ret,
			 const char **ret_mapping);
/* <0, 0, >0 like strcmp; an rc sorts before its release. */
int kernel_version_compare(const struct kernel_version *a, const struct kernel_version *b);
/* "6.1.192", "6.8", "6.10-rc3" (patch 0 omitted for mainline-style versions). */
int kernel_version_format(const struct kernel_version *v, char *buf, size_t size);
