/* /dev/kmsg records parsed strictly, and the watch that decides a livepatch is to blame. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/kmsg.h"
#include "macro.h"
#include "banned.h"

/* Records after a report's header still read as part of it (its call trace). */
#define REPORT_LINES 80

static int parse_u64(const char **p, const char *end, uint64_t *ret)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s == end || *s < '0' || *s > '9')
		return -EBADMSG;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EBADMSG;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*ret = v;
	return 0;
}

int agent_kmsg_parse(const char *buf, size_t len, struct agent_kmsg_rec *ret)
{
	const char *p = buf, *end = buf + len, *semi, *nl;
	uint64_t pri, seq, usec;

	semi = memchr(buf, ';', len);
	if (!semi)
		return -EBADMSG;
	if (parse_u64(&p, semi, &pri) < 0 || p == semi || *p++ != ',')
		return -EBADMSG;
	if (parse_u64(&p, semi, &seq) < 0 || p == semi || *p++ != ',')
		return -EBADMSG;
	if (parse_u64(&p, semi, &usec) < 0)
		return -EBADMSG;
	/* FLAGS and anything after are optional ("-", "c", ",caller=T1") */
	if (p != semi && *p != ',')
		return -EBADMSG;
	p = semi + 1;
	nl = memchr(p, '\n', (size_t)(end - p));
	ret->level = (unsigned)(pri & 7);
	ret->seq = seq;
	ret->usec = usec;
	ret->msg = p;
	ret->msg_len = (size_t)((nl ? nl : end) - p);
	return 0;
}

static const char *find(const char *hay, size_t len, const char *needle)
{
	return memmem(hay, len, needle, strlen(needle));
}

/* Whether MSG names NAME as a whole word (a module in "[name]", a symbol "name+0x"). */
static bool names(const char *msg, size_t len, const char *name)
{
	size_t n = strlen(name);
	const char *p = msg, *end = msg + len;

	if (!n)
		return false;
	while ((p = memmem(p, (size_t)(end - p), name, n))) {
		bool start = p == msg || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') ||
					   (p[-1] >= 'A' && p[-1] <= 'Z') ||
					   (p[-1] >= '0' && p[-1] <= '9') || p[-1] == '.');
		const char *after = p + n;
		bool stop = after == end || !(*after == '_' || (*after >= 'a' && *after <= 'z') ||
					      (*after >= 'A' && *after <= 'Z') ||
					      (*after >= '0' && *after <= '9') || *after == '.');

		if (start && stop)
			return true;
		p++;
	}
	return false;
}

/*
 * A function in a report: "func+0x" (a trace line, RIP, "at file:line func+0x"), unless the
 * line says it is another module's copy ("func+0x1/0x2 [other]": another livepatch).
 */
static bool names_function(const char *msg, size_t len, const char *fn, const char *module)
{
	size_t n = strlen(fn);
	const char *p = msg, *end = msg + len;

	while (n && (p = memmem(p, (size_t)(end - p), fn, n))) {
		const char *after = p + n;
		bool start = p == msg || p[-1] == ' ' || p[-1] == '(' || p[-1] == ':' ||
			     p[-1] == '\t' || p[-1] == '<';

		if (start && (size_t)(end - after) >= 3 && memcmp(after, "+0x", 3) == 0) {
			const char *q = after, *close;
			size_t mlen = module ? strlen(module) : 0;

			while (q < end && *q != ' ')
				q++;
			while (q < end && *q == ' ')
				q++;
			if (q == end || *q != '[')
				return true;
			close = memchr(q, ']', (size_t)(end - q));
			if (!close || ((size_t)(close - q - 1) == mlen && mlen &&
				       memcmp(q + 1, module, mlen) == 0))
				return true;
		}
		p++;
	}
	return false;
}

static bool report_header(const char *msg, size_t len)
{
	static const char *const heads[] = {"WARNING:", "BUG:", "Oops", "kernel BUG at",
					    "general protection fault", "Kernel panic"};

	for (size_t i = 0; i < ARRAY_SIZE(heads); i++)
		if (len >= strlen(heads[i]) && find(msg, MIN(len, 64), heads[i]))
			return true;
	return false;
}

static bool livepatch_error(const char *msg, size_t len)
{
	static const char *const words[] = {"fail", "error", "unable", "cannot", "can't",
					    "invalid", "not found", "unsupported"};

	if (len < 11 || memcmp(msg, "livepatch: ", 11) != 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (find(msg, len, words[i]))
			return true;
	return false;
}

static void copy_line(char *dst, const char *msg, size_t len)
{
	size_t n = MIN(len, (size_t)AGENT_KMSG_REASON_MAX);

	memcpy(dst, msg, n);
	dst[n] = '\0';
	/* The text is the kernel's; keep it printable. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = ' ';
}

static bool blames(const struct agent_kmsg_watch *w, const char *msg, size_t len)
{
	if (w->module && *w->module) {
		size_t n = strlen(w->module);

		/* "[name]" is how a trace line names a symbol's module */
		for (const char *p = msg; (p = memmem(p, (size_t)(msg + len - p), w->module, n));
		     p++)
			if (p > msg && p[-1] == '[' && p + n < msg + len && p[n] == ']')
				return true;
	}
	for (size_t i = 0; i < w->n_funcs; i++)
		if (names_function(msg, len, w->funcs[i], w->module))
			return true;
	return false;
}

int agent_kmsg_watch_feed(struct agent_kmsg_watch *w, const struct agent_kmsg_rec *rec,
			  char *reason)
{
	const char *msg = rec->msg;
	size_t len = rec->msg_len;

	if (livepatch_error(msg, len) && w->module && names(msg, len, w->module)) {
		copy_line(reason, msg, len);
		return 1;
	}
	if (report_header(msg, len)) {
		w->report_left = REPORT_LINES;
		copy_line(w->report, msg, len);
	} else if (w->report_left) {
		w->report_left--;
		if (find(msg, len, "---[ end trace")) {
			w->report_left = 0;
			return 0;
		}
	} else
		return 0;
	/* "Modules linked in:" lists every module: it blames none of them. */
	if (len >= 18 && memcmp(msg, "Modules linked in:", 18) == 0)
		return 0;
	if (blames(w, msg, len)) {
		size_t n;

		copy_line(reason, w->report, strlen(w->report));
		n = strlen(reason);
		if (strcmp(w->report, "") != 0 && n + 4 < AGENT_KMSG_REASON_MAX &&
		    (len != strlen(w->report) || memcmp(msg, w->report, len) != 0)) {
			reason[n++] = ' ';
			reason[n++] = '|';
			reason[n++] = ' ';
			copy_line(reason + n, msg, MIN(len, (size_t)AGENT_KMSG_REASON_MAX - n));
		}
		w->report_left = 0;
		return 1;
	}
	return 0;
}

size_t agent_kmsg_split(const char *buf, size_t len,
			void (*fn)(const char *rec, size_t len, void *userdata), void *userdata)
{
	size_t start = 0, i = 0;

	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t next;

		if (!nl)
			break;
		next = (size_t)(nl - buf) + 1;
		/* continuation lines (" KEY=VALUE") belong to the record before them */
		if (next < len && buf[next] == ' ') {
			i = next;
			continue;
		}
		if (next == len || buf[next] != ' ') {
			if (next - start > 1)
				fn(buf + start, next - start, userdata);
			start = next;
		}
		i = next;
	}
	return start;
}
