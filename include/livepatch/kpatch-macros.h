/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpatch-build's patch macros for `tuxtape livepatch build`, so patches written for kpatch
 * build unchanged. Written from kpatch's documented behaviour (doc/patch-author-guide.md)
 * over tuxtape's own API, <tuxtape/livepatch.h>.
 */
#ifndef TUXTAPE_KPATCH_MACROS_H
#define TUXTAPE_KPATCH_MACROS_H

#include <linux/printk.h>
#include <linux/syscalls.h>
#include <tuxtape/livepatch.h>

/* kpatch names the callbacks' argument so; with livepatch it is the klp_object. */
typedef struct klp_object patch_object;

/* int fn(patch_object *): non-zero refuses the patch (or the module being loaded). */
#define KPATCH_PRE_PATCH_CALLBACK(fn) TUXTAPE_PRE_PATCH(fn)
/* void fn(patch_object *) */
#define KPATCH_POST_PATCH_CALLBACK(fn) TUXTAPE_POST_PATCH(fn)
#define KPATCH_PRE_UNPATCH_CALLBACK(fn) TUXTAPE_PRE_UNPATCH(fn)
#define KPATCH_POST_UNPATCH_CALLBACK(fn) TUXTAPE_POST_UNPATCH(fn)

/*
 * kpatch's load and unload hooks, void fn(void), which its callbacks replaced: a load hook
 * runs once the code is patched, an unload hook before it is unpatched.
 */
#define KPATCH_LOAD_HOOK(fn)                                                                       \
	static void __tuxtape_kpatch_load_##fn(patch_object *obj)                                  \
	{                                                                                          \
		fn();                                                                              \
	}                                                                                          \
	KPATCH_POST_PATCH_CALLBACK(__tuxtape_kpatch_load_##fn)
#define KPATCH_UNLOAD_HOOK(fn)                                                                     \
	static void __tuxtape_kpatch_unload_##fn(patch_object *obj)                                \
	{                                                                                          \
		fn();                                                                              \
	}                                                                                          \
	KPATCH_PRE_UNPATCH_CALLBACK(__tuxtape_kpatch_unload_##fn)

#define KPATCH_IGNORE_SECTION(name) TUXTAPE_IGNORE_SECTION(name)
#define KPATCH_IGNORE_FUNCTION(fn) TUXTAPE_IGNORE_FUNCTION(fn)
#define KPATCH_FORCE_UNSAFE(fn) TUXTAPE_FORCE_UNSAFE(fn)

/*
 * printk() from a function of its own: printk is __cold, and calling it inline can make gcc
 * move the surrounding path to .text.unlikely or un-inline its callees, changing functions
 * the patch did not mean to change.
 */
static __maybe_unused noinline __printf(1, 2) int __tuxtape_kpatch_printk(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintk(fmt, ap);
	va_end(ap);
	return n;
}
#define KPATCH_PRINTK(fmt, ...) __tuxtape_kpatch_printk(fmt, ##__VA_ARGS__)

/*
 * The same for printk_deferred(), which only queues the message (safe under the runqueue
 * lock). vprintk_deferred() is not exported: the livepatch reaches it by its vmlinux symbol.
 */
__printf(1, 0) int vprintk_deferred(const char *fmt, va_list args);
static __maybe_unused noinline __printf(1, 2) int __tuxtape_kpatch_printk_deferred(const char *fmt,
										     ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintk_deferred(fmt, ap);
	va_end(ap);
	return n;
}
#define KPATCH_PRINTK_DEFERRED(fmt, ...) __tuxtape_kpatch_printk_deferred(fmt, ##__VA_ARGS__)

/* static_call() made an indirect call through the key (see TUXTAPE_STATIC_CALL). */
#define KPATCH_STATIC_CALL(name) TUXTAPE_STATIC_CALL(name)

/*
 * SYSCALL_DEFINEn without the syscall's tracing metadata (CONFIG_FTRACE_SYSCALLS), which the
 * running kernel already has: the same __x64_sys_NAME and __se_sys_NAME.
 */
#define KPATCH_SYSCALL_DEFINE1(name, ...) __TUXTAPE_KPATCH_SYSCALL_DEFINEx(1, _##name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE2(name, ...) __TUXTAPE_KPATCH_SYSCALL_DEFINEx(2, _##name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE3(name, ...) __TUXTAPE_KPATCH_SYSCALL_DEFINEx(3, _##name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE4(name, ...) __TUXTAPE_KPATCH_SYSCALL_DEFINEx(4, _##name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE5(name, ...) __TUXTAPE_KPATCH_SYSCALL_DEFINEx(5, _##name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE6(name, ...) __TUXTAPE_KPATCH_SYSCALL_DEFINEx(6, _##name, __VA_ARGS__)
#ifdef CONFIG_X86_64
/*
 * The body is __do_sys_NAME in the kernel: `static inline`, which the kernel makes notrace,
 * and gcc often keeps it out of line (newuname's is), so a changed one could not be patched.
 * Here the body is __kpatch_do_sys_NAME, a new function of the patch, and what changes in
 * the running kernel is the traced __x64_sys_NAME (and __ia32_sys_NAME) that calls it.
 */
#define __TUXTAPE_KPATCH_SYSCALL_DEFINEx(x, name, ...)                                             \
	static long __se_sys##name(__MAP(x, __SC_LONG, __VA_ARGS__));                             \
	static inline long __kpatch_do_sys##name(__MAP(x, __SC_DECL, __VA_ARGS__));                \
	__X64_SYS_STUBx(x, name, __VA_ARGS__)                                                      \
	__IA32_SYS_STUBx(x, name, __VA_ARGS__)                                                     \
	static long __se_sys##name(__MAP(x, __SC_LONG, __VA_ARGS__))                               \
	{                                                                                          \
		long ret = __kpatch_do_sys##name(__MAP(x, __SC_CAST, __VA_ARGS__));                \
		__MAP(x, __SC_TEST, __VA_ARGS__);                                                  \
		__PROTECT(x, ret, __MAP(x, __SC_ARGS, __VA_ARGS__));                               \
		return ret;                                                                        \
	}                                                                                          \
	static inline long __kpatch_do_sys##name(__MAP(x, __SC_DECL, __VA_ARGS__))
/* x86's SYSCALL_DEFINE0 is its own macro: the same without SYSCALL_METADATA */
#define KPATCH_SYSCALL_DEFINE0(sname)                                                              \
	static long __do_sys_##sname(const struct pt_regs *__unused);                              \
	__X64_SYS_STUB0(sname)                                                                     \
	__IA32_SYS_STUB0(sname)                                                                    \
	static long __do_sys_##sname(const struct pt_regs *__unused)
#else
#define __TUXTAPE_KPATCH_SYSCALL_DEFINEx(x, name, ...) __SYSCALL_DEFINEx(x, name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE0(sname)                                                              \
	asmlinkage long sys_##sname(void);                                                         \
	asmlinkage long sys_##sname(void)
#endif

#endif
