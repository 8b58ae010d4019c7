/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tuxtape's API for livepatch authors: load/unload callbacks per patched object, and the
 * kernel's shadow variables. `tuxtape livepatch build` puts this directory on the include
 * path of every unit it compiles, so a patch may #include <tuxtape/livepatch.h>.
 *
 * Callbacks (the kernel's struct klp_callbacks, Documentation/livepatch/callbacks.rst) run
 * for the object the file that declares them is built into: vmlinux, or the module the
 * file belongs to (then when that module loads, if it loads after the livepatch).
 *
 *   static int my_pre(struct klp_object *obj) { ...; return 0; }  // non-zero: refuse
 *   TUXTAPE_PRE_PATCH(my_pre);
 *   TUXTAPE_POST_PATCH(fn);  TUXTAPE_PRE_UNPATCH(fn);  TUXTAPE_POST_UNPATCH(fn);
 *
 * The last three take void fn(struct klp_object *). Several files may declare callbacks for
 * one object: pre/post patch run in the order of the units, unpatch ones in reverse; a
 * failing pre-patch callback stops the ones after it (the kernel then runs no other
 * callback of the object, so undo in it what it did before failing).
 *
 * Shadow variables (Documentation/livepatch/shadow-vars.rst) are the kernel's exported
 * klp_shadow_alloc(), klp_shadow_get_or_alloc(), klp_shadow_get(), klp_shadow_free() and
 * klp_shadow_free_all(), declared by <linux/livepatch.h>, included here. Choose an ID no
 * other livepatch uses, and free what the patch allocated in a post-unpatch callback.
 */
#ifndef TUXTAPE_LIVEPATCH_H
#define TUXTAPE_LIVEPATCH_H

#include <linux/compiler.h>
#include <linux/livepatch.h>
#include <linux/static_call.h>

typedef int (*tuxtape_pre_patch_fn)(struct klp_object *obj);
typedef void (*tuxtape_callback_fn)(struct klp_object *obj);

/*
 * A pointer to FN in section .tuxtape.cb.KIND: the differ carries FN and the module
 * generator sets it in the klp_object's callbacks. The pointer's type checks FN's.
 */
#define __TUXTAPE_CALLBACK(kind, type, fn)                                                         \
	static const type __tuxtape_cb_##kind##_##fn __used __section(".tuxtape.cb." #kind) = fn

#define TUXTAPE_PRE_PATCH(fn) __TUXTAPE_CALLBACK(pre_patch, tuxtape_pre_patch_fn, fn)
#define TUXTAPE_POST_PATCH(fn) __TUXTAPE_CALLBACK(post_patch, tuxtape_callback_fn, fn)
#define TUXTAPE_PRE_UNPATCH(fn) __TUXTAPE_CALLBACK(pre_unpatch, tuxtape_callback_fn, fn)
#define TUXTAPE_POST_UNPATCH(fn) __TUXTAPE_CALLBACK(post_unpatch, tuxtape_callback_fn, fn)

/*
 * Markers read by the differ, never linked: a function whose change is a side effect the
 * author has checked (it is not patched), a section whose changes are ignored, and a function
 * kpatch's old core module would have forced (no effect: the consistency model decides).
 */
#define __TUXTAPE_MARK(sec, type, val)                                                             \
	static type __UNIQUE_ID(__tuxtape_mark_) __used __section(sec) = val
#define TUXTAPE_IGNORE_FUNCTION(fn) __TUXTAPE_MARK(".tuxtape.ignore.functions", void *const, (void *)fn)
#define TUXTAPE_IGNORE_SECTION(name)                                                               \
	__TUXTAPE_MARK(".tuxtape.ignore.sections", const char *const, name)
#define TUXTAPE_FORCE_UNSAFE(fn) __TUXTAPE_MARK(".tuxtape.force", void *const, (void *)fn)

/*
 * static_call(name)(args) through the key's current target, as an ordinary indirect call:
 * for a patched function of a module whose static call key lives in that module (or in
 * another module), which a livepatch cannot use as a static call site (the kernel sets those
 * up when the livepatch loads, before the module's symbols are resolved). Reads the key when
 * called, so it follows static_call_update().
 *   TUXTAPE_STATIC_CALL(kvm_x86_get_cpl)(vcpu)
 */
#define TUXTAPE_STATIC_CALL(name)                                                                  \
	((typeof(&STATIC_CALL_TRAMP(name)))READ_ONCE(STATIC_CALL_KEY(name).func))

#endif
