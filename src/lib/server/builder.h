/*
 * A builder of tuxtape-server's job queue: registers its kernels, leases a job, builds it
 * with lp_build(), boot-tests the module in qemu when it can, uploads the module, report and
 * logs, and renews its lease meanwhile.
 */
#pragma once

#include <signal.h>
#include <stdbool.h>

struct srv_client_opts;
struct strbuf;

struct srv_builder_opts {
	const struct srv_client_opts *client;
	const char *const *kernels; /* releases it builds for, NULL-terminated */
	const char *source_tarball; /* the kernel source (linux-source-*.tar.xz) */
	const char *symbols;	    /* the target's kallsyms; NULL: an ad hoc job's own */
	const char *config_dir;	    /* config-RELEASE files (default /boot) */
	const char *work_dir;	    /* per-job directories */
	const char *boot_test;	    /* qemu-run.sh (tests/e2e); NULL: boot tests skipped */
	unsigned poll_seconds;	    /* idle wait between leases (0: 5) */
	unsigned max_jobs;	    /* stop after this many jobs (0: never) */
	bool exit_when_idle;	    /* stop at the first empty lease */
	struct strbuf *log;	    /* the program's log lines, uploaded with each job */
	volatile sig_atomic_t *stop;
};

/* Runs until *STOP, MAX_JOBS or idle (as asked); 0 or -errno. */
int srv_builder_run(const struct srv_builder_opts *o);
