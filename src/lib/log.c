/* Library logging and progress callbacks. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "strbuf.h"

static tt_log_fn log_fn;
static void *log_userdata;
static enum tt_log_level log_max = TT_LOG_WARN;
static tt_progress_fn progress_fn;
static void *progress_userdata;

void tt_log_set(tt_log_fn fn, void *userdata, enum tt_log_level max_level)
{
	log_fn = fn;
	log_userdata = userdata;
	log_max = max_level;
}

enum tt_log_level tt_log_get_level(void)
{
	return log_max;
}

static void tt_vlog(enum tt_log_level level, const char *fmt, va_list ap) _printf_(2, 0);
static void tt_vlog(enum tt_log_level level, const char *fmt, va_list ap)
{
	char small[512];
	va_list aq;
	int n;

	if (!log_fn || level > log_max)
		return;
	va_copy(aq, ap);
	n = vsnprintf(small, sizeof(small), fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		log_fn(level, small, log_userdata);
	} else {
		struct strbuf sb = STRBUF_INIT;

		if (strbuf_vaddf(&sb, fmt, ap) == 0)
			log_fn(level, sb.buf, log_userdata);
		strbuf_release(&sb);
	}
}

void tt_log(enum tt_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tt_vlog(level, fmt, ap);
	va_end(ap);
}

int tt_log_errno(enum tt_log_level level, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tt_vlog(level, fmt, ap);
	va_end(ap);
	return r;
}

void tt_progress_set(tt_progress_fn fn, void *userdata)
{
	progress_fn = fn;
	progress_userdata = userdata;
}

void tt_progress(const char *what, unsigned long done, unsigned long total)
{
	if (progress_fn)
		progress_fn(what, done, total, progress_userdata);
}
