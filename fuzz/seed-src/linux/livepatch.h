/* The one type <tuxtape/livepatch.h> needs from the kernel's <linux/livepatch.h>. */
#pragma once
struct klp_object;
