/* The library's logging: a level and a callback the program sets; the library never prints. */
#pragma once

#include "macro.h"

enum tt_log_level {
	TT_LOG_ERR = 3,
	TT_LOG_WARN = 4,
	TT_LOG_INFO = 6,
	TT_LOG_DEBUG = 7,
};

typedef void (*tt_log_fn)(enum tt_log_level level, const char *msg, void *userdata);

/* Sets the sink; NULL drops all messages. Messages above MAX_LEVEL are not formatted. */
void tt_log_set(tt_log_fn fn, void *userdata, enum tt_log_level max_level);
enum tt_log_level tt_log_get_level(void);
void tt_log(enum tt_log_level level, const char *fmt, ...) _printf_(2, 3);

/* Logs and returns R (a negative errno), so `return log_error_errno(r, ...)` reads well. */
int tt_log_errno(enum tt_log_level level, int r, const char *fmt, ...) _printf_(3, 4);

#define log_error(...) tt_log(TT_LOG_ERR, __VA_ARGS__)
#define log_warn(...) tt_log(TT_LOG_WARN, __VA_ARGS__)
#define log_info(...) tt_log(TT_LOG_INFO, __VA_ARGS__)
#define log_debug(...) tt_log(TT_LOG_DEBUG, __VA_ARGS__)
#define log_error_errno(r, ...) tt_log_errno(TT_LOG_ERR, r, __VA_ARGS__)
#define log_warn_errno(r, ...) tt_log_errno(TT_LOG_WARN, r, __VA_ARGS__)

/* Progress of long work, for a program that wants to draw it; no-op by default. */
typedef void (*tt_progress_fn)(const char *what, unsigned long done, unsigned long total,
			       void *userdata);
void tt_progress_set(tt_progress_fn fn, void *userdata);
void tt_progress(const char *what, unsigned long done, unsigned long total);
