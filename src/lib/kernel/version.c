/* Mapping of kernel release strings (mainline, stable, rc, Debian, Ubuntu) to upstream versions. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/version.h"
#include "log.h"
#include "macro.h"
#include "banned.h"

/* Reads a decimal number of at most 6 digits at *P; advances *P. */
static bool read_num(const char **p, unsigned *ret)
{
	const char *s = *p;
	unsigned v = 0;
	int n = 0;

	while (isdigit((unsigned char)*s) && n < 7) {
		v = v * 10 + (unsigned)(*s - '0');
		s++;
		n++;
	}
	if (n == 0 || n > 6)
		return false;
	*p = s;
	*ret = v;
	return true;
}

/*
 * Parses "MAJOR.MINOR[.PATCH][-rcN]" at the start of S. *RET_END points after it, *RET_HAS_PATCH
 * tells whether a patch level was written.
 */
static bool parse_upstream(const char *s, struct kernel_version *v, const char **ret_end,
			   bool *ret_has_patch)
{
	struct kernel_version x = {};
	bool has_patch = false;

	if (!read_num(&s, &x.major) || *s != '.')
		return false;
	s++;
	if (!read_num(&s, &x.minor))
		return false;
	if (*s == '.' && isdigit((unsigned char)s[1])) {
		s++;
		if (!read_num(&s, &x.patch))
			return false;
		has_patch = true;
	}
	if (startswith(s, "-rc") && isdigit((unsigned char)s[3])) {
		s += 3;
		if (!read_num(&s, &x.rc) || x.rc == 0)
			return false;
	}
	if (x.major == 0 || x.major > 99)
		return false;
	*v = x;
	*ret_end = s;
	if (ret_has_patch)
		*ret_has_patch = has_patch;
	return true;
}

/* "-56-amd64", "-52-generic": a distribution ABI number then a flavour. */
static bool is_abi_suffix(const char *s)
{
	unsigned n;

	if (*s != '-')
		return false;
	s++;
	if (!read_num(&s, &n))
		return false;
	return *s == '\0' || *s == '-' || *s == '+' || *s == '.';
}

/* The last "Debian X.Y.Z" in /proc/version whose X.Y is the release's (gcc's comes first). */
static bool debian_upstream(const char *proc_version, const struct kernel_version *rel,
			    struct kernel_version *ret)
{
	bool found = false;

	for (const char *p = strstr(proc_version, "Debian "); p; p = strstr(p + 1, "Debian ")) {
		struct kernel_version v;
		const char *end;

		if (parse_upstream(p + 7, &v, &end, NULL) && v.major == rel->major &&
		    v.minor == rel->minor) {
			*ret = v;
			found = true;
		}
	}
	return found;
}

/* "Ubuntu 6.8.0-52.53-generic 6.8.12": the last word is the upstream version. */
static bool ubuntu_upstream(const char *sig, struct kernel_version *ret)
{
	const char *end = sig + strlen(sig), *w;
	struct kernel_version v;
	const char *after;

	while (end > sig && isspace((unsigned char)end[-1]))
		end--;
	w = end;
	while (w > sig && !isspace((unsigned char)w[-1]))
		w--;
	if (w == end || !parse_upstream(w, &v, &after, NULL) || after != end)
		return false;
	*ret = v;
	return true;
}

int kernel_version_parse(const char *release, const char *proc_version,
			 const char *version_signature, struct kernel_version *ret,
			 const char **ret_mapping)
{
	struct kernel_version v, up;
	const char *end, *mapping;
	bool has_patch;

	if (!release || !parse_upstream(release, &v, &end, &has_patch)) {
		log_error("'%s' is not a kernel version: expected MAJOR.MINOR[.PATCH][-rcN][-...]",
			  strempty(release));
		return -EINVAL;
	}
	if (*end == '\0') {
		mapping = v.rc ? "release candidate" : has_patch ? "stable" : "mainline";
	} else if (version_signature && startswith(version_signature, "Ubuntu ")) {
		if (!ubuntu_upstream(version_signature, &up) || up.major != v.major ||
		    up.minor != v.minor) {
			log_error(
				"version signature '%s' does not name an upstream version for '%s'",
				version_signature, release);
			return -EINVAL;
		}
		v = up;
		mapping = "ubuntu (/proc/version_signature)";
	} else if (proc_version && strstr(proc_version, "Debian ") && v.patch == 0 &&
		   is_abi_suffix(end)) {
		if (!debian_upstream(proc_version, &v, &up)) {
			log_error(
				"/proc/version does not name the Debian upstream version for '%s'",
				release);
			return -EINVAL;
		}
		v = up;
		mapping = "debian (/proc/version)";
	} else if (v.patch == 0 && v.rc == 0 && has_patch && is_abi_suffix(end)) {
		/* "6.1.0-56-amd64": the .0 is an ABI name, not the upstream patch level. */
		log_error("'%s' is a distribution ABI name: give /proc/version (Debian) or "
			  "/proc/version_signature (Ubuntu) to know its upstream version",
			  release);
		return -EINVAL;
	} else if (*end == '-' || *end == '+' || *end == '.' || *end == '_') {
		mapping = "local version suffix ignored";
	} else {
		log_error("'%s' is not a kernel version: unexpected '%s' after the version",
			  release, end);
		return -EINVAL;
	}
	*ret = v;
	if (ret_mapping)
		*ret_mapping = mapping;
	return 0;
}

int kernel_version_compare(const struct kernel_version *a, const struct kernel_version *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	if (a->rc != b->rc) {
		/* rc 0 is the release, after every rc */
		if (a->rc == 0)
			return 1;
		if (b->rc == 0)
			return -1;
		return a->rc < b->rc ? -1 : 1;
	}
	return 0;
}

int kernel_version_format(const struct kernel_version *v, char *buf, size_t size)
{
	int n;

	if (v->patch)
		n = snprintf(buf, size, "%u.%u.%u", v->major, v->minor, v->patch);
	else
		n = snprintf(buf, size, "%u.%u", v->major, v->minor);
	if (n >= 0 && (size_t)n < size && v->rc)
		n += snprintf(buf + n, size - (size_t)n, "-rc%u", v->rc);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}
