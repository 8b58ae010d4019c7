/* Just enough of the kernel's <linux/printk.h> for kpatch-macros.h in the seeds. */
#pragma once
#include <stdarg.h>
#define __maybe_unused __attribute__((__unused__))
#define noinline __attribute__((__noinline__))
#define __printf(a, b) __attribute__((__format__(printf, a, b)))
int vprintk(const char *fmt, va_list args);
