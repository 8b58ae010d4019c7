// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hand-written livepatch used to prove the qemu harness before tuxtape's own
 * module generator exists: /proc/version gains a visible suffix while the
 * patch is enabled.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>
#include <linux/utsname.h>

static int tt_version_proc_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%s version %s %s [tuxtape-handmade]\n", utsname()->sysname,
		   utsname()->release, utsname()->version);
	return 0;
}

static struct klp_func tt_funcs[] = {
	{ .old_name = "version_proc_show", .new_func = tt_version_proc_show },
	{}
};

static struct klp_object tt_objs[] = {
	{ .name = NULL /* vmlinux */, .funcs = tt_funcs },
	{}
};

static struct klp_patch tt_patch = {
	.mod = THIS_MODULE,
	.objs = tt_objs,
};

static int __init tt_handmade_init(void)
{
	return klp_enable_patch(&tt_patch);
}

static void __exit tt_handmade_exit(void)
{
}

module_init(tt_handmade_init);
module_exit(tt_handmade_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("tuxtape e2e harness self-test livepatch");
