/*
 * /dev/kmsg records and the watch that blames a livepatch: a WARNING, BUG, Oops or
 * livepatch error whose report names the patch module or a function it replaces.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One record: "PRI,SEQ,USEC,FLAGS[,...];MESSAGE" (continuation lines " KEY=VALUE" ignored). */
struct agent_kmsg_rec {
	unsigned level; /* syslog priority & 7 */
	uint64_t seq;
	uint64_t usec;
	const char *msg; /* into the parsed buffer; not NUL-terminated */
	size_t msg_len;
};

/* Parses one record of LEN bytes (BUF need not be NUL-terminated). -EBADMSG if malformed. */
int agent_kmsg_parse(const char *buf, size_t len, struct agent_kmsg_rec *ret);

#define AGENT_KMSG_REASON_MAX 240

/* What one livepatch module is watched for. */
struct agent_kmsg_watch {
	const char *module;	   /* the livepatch module's name */
	const char *const *funcs; /* the functions it replaces */
	size_t n_funcs;
	/* inside a report (a WARNING/BUG/Oops header and the lines after it) */
	unsigned report_left;
	char report[AGENT_KMSG_REASON_MAX + 1]; /* its header line */
};

/*
 * Feeds one record to W. Returns 1 and fills REASON (AGENT_KMSG_REASON_MAX + 1 bytes) when
 * the record blames W's module, else 0.
 */
int agent_kmsg_watch_feed(struct agent_kmsg_watch *w, const struct agent_kmsg_rec *rec,
			  char *reason);

/*
 * Splits BUF (LEN bytes, as one read(2) of /dev/kmsg or a file of records, one per line,
 * continuation lines starting with a space) into records: calls FN for each. Returns the
 * number of bytes consumed (a trailing partial line is left).
 */
size_t agent_kmsg_split(const char *buf, size_t len,
			void (*fn)(const char *rec, size_t len, void *userdata), void *userdata);
