/*
 * Seed of fuzz-livepatch-markers: markers the differ refuses (a callback that is __init, an
 * ignored "function" that is a variable, one function given two callback kinds).
 */
#include <tuxtape/livepatch.h>

int bad_var;
int bad_changed(int x);

#ifdef PATCHED
static __attribute__((section(".init.text"), cold)) int bad_init_cb(struct klp_object *obj)
{
	return obj ? 0 : 1;
}
static void bad_twice(struct klp_object *obj)
{
	bad_var = obj ? 1 : 0;
}
TUXTAPE_PRE_PATCH(bad_init_cb);
TUXTAPE_POST_PATCH(bad_twice);
TUXTAPE_PRE_UNPATCH(bad_twice);
TUXTAPE_IGNORE_FUNCTION(&bad_var);
#define DELTA 2
#else
#define DELTA 1
#endif

int bad_changed(int x)
{
	return x + DELTA + bad_var;
}
