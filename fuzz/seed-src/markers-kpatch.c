/* Seed of fuzz-livepatch-markers: the same sections through kpatch-macros.h's names. */
#include <kpatch-macros.h>

int kp_state;
int kp_changed(int x);
int kp_ignored(int x);

#ifdef PATCHED
static int kp_pre(patch_object *obj)
{
	kp_state = 1;
	return obj ? 0 : -22;
}
static void kp_post_unpatch(patch_object *obj)
{
	kp_state = obj ? 4 : 0;
}
KPATCH_PRE_PATCH_CALLBACK(kp_pre);
KPATCH_POST_UNPATCH_CALLBACK(kp_post_unpatch);
KPATCH_IGNORE_FUNCTION(kp_ignored);
KPATCH_IGNORE_SECTION(".rodata.kp_ignored");
KPATCH_FORCE_UNSAFE(kp_changed);
#define DELTA 2
#else
#define DELTA 1
#endif

int kp_changed(int x)
{
	return x + DELTA;
}

int kp_ignored(int x)
{
	return x << DELTA;
}
