/*
 * The running kernel as the agent sees it, all under a root prefix (tests use a fake tree):
 * its identity, its livepatches in /sys/kernel/livepatch, and pstore records.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <jansson.h>

struct agent_kernel {
	char *release;	 /* /proc/sys/kernel/osrelease */
	char *version;	 /* /proc/version, one line */
	char *build_id;	 /* hex, the GNU build ID note of /sys/kernel/notes; NULL if none */
	char *boot_id;	 /* /proc/sys/kernel/random/boot_id */
	time_t boot_time; /* /proc/stat btime; 0 if unknown */
};

/* Reads the identity under SYSROOT ("" for the real one). Release and boot ID are required. */
int agent_kernel_identify(const char *sysroot, struct agent_kernel *ret);
void agent_kernel_release(struct agent_kernel *k);

/* The GNU build ID in the ELF notes BUF (as /sys/kernel/notes holds them), as hex. */
int agent_notes_build_id(const void *buf, size_t len, char **ret_hex);

struct agent_klp {
	bool enabled;
	bool transition;
	json_t *functions; /* array of the function names it replaces */
};

/* NAME's livepatch state; -ENOENT when it is not loaded. */
int agent_klp_read(const char *sysroot, const char *name, struct agent_klp *ret);
void agent_klp_release(struct agent_klp *k);
/* The livepatches loaded, as a sorted array of names. */
int agent_klp_list(const char *sysroot, json_t **ret);
/* Writes VALUE to /sys/kernel/livepatch/NAME/FILE ("enabled", "signal", "force"). */
int agent_klp_write(const char *sysroot, const char *name, const char *file, const char *value);

/*
 * The first pstore record (SYSROOT/sys/fs/pstore) that mentions NAME, or NULL when none
 * does: *RET_RECORD its file name.
 */
int agent_pstore_find(const char *sysroot, const char *name, char **ret_record);

/*
 * Tasks whose /proc/PID/patch_state is not WANT (0 unpatched, 1 patched) during a
 * transition: at most MAX, as an array of {"pid", "comm"}.
 */
int agent_klp_stalled_tasks(const char *sysroot, int want, unsigned max, json_t **ret);
