/* Just enough of the kernel's <linux/compiler.h> for <tuxtape/livepatch.h> in the seeds. */
#pragma once
#define __used __attribute__((__used__))
#define __section(s) __attribute__((__section__(s)))
#define ___PASTE(a, b) a##b
#define __PASTE(a, b) ___PASTE(a, b)
#define __UNIQUE_ID(prefix) __PASTE(__PASTE(__UNIQUE_ID_, prefix), __COUNTER__)
