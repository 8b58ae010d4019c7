/* libFuzzer target for the agent's kernel-log reader: record splitting, parsing, the watch. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "agent/kmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const funcs[] = {"cmdline_proc_show", "tt_lp_fn", ""};

struct ctx {
	struct agent_kmsg_watch w;
};

static void on_record(const char *rec, size_t len, void *userdata)
{
	struct ctx *c = userdata;
	char reason[AGENT_KMSG_REASON_MAX + 1];
	struct agent_kmsg_rec r;
	int ret;

	ret = agent_kmsg_parse(rec, len, &r);
	if (ret == -EBADMSG)
		return;
	if (ret != 0 || r.msg < rec || r.msg + r.msg_len > rec + len || r.level > 7)
		abort();
	reason[0] = '\0';
	ret = agent_kmsg_watch_feed(&c->w, &r, reason);
	if (ret != 0 && ret != 1)
		abort();
	if (ret == 1 && strlen(reason) > AGENT_KMSG_REASON_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx c = {.w = {.module = "tt_lp", .funcs = funcs, .n_funcs = 3}};
	/* A copy of exactly SIZE bytes, so ASan sees any read past the end. */
	char *buf = malloc(size ? size : 1);
	size_t used;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	used = agent_kmsg_split(buf, size, on_record, &c);
	if (used > size)
		abort();
	/* Each record alone too, as one read(2) of /dev/kmsg returns it. */
	on_record(buf, size, &c);
	free(buf);
	return 0;
}
