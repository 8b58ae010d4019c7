/*
 * Seed of fuzz-livepatch-markers: every section <tuxtape/livepatch.h> declares (four
 * callbacks, an ignored function, an ignored section, a forced function), added by the
 * patch (-DPATCHED) as an author adds them.
 */
#include <tuxtape/livepatch.h>

int shared_state;
int changed_fn(int x);
int ignored_fn(int x);
int forced_fn(int x);

#ifdef PATCHED
static int tt_pre(struct klp_object *obj)
{
	shared_state = 1;
	return obj ? 0 : -22;
}
static void tt_post(struct klp_object *obj)
{
	shared_state = obj ? 2 : 0;
}
static void tt_pre_unpatch(struct klp_object *obj)
{
	shared_state = obj ? 3 : 0;
}
static void tt_post_unpatch(struct klp_object *obj)
{
	shared_state = obj ? 4 : 0;
}
TUXTAPE_PRE_PATCH(tt_pre);
TUXTAPE_POST_PATCH(tt_post);
TUXTAPE_PRE_UNPATCH(tt_pre_unpatch);
TUXTAPE_POST_UNPATCH(tt_post_unpatch);
TUXTAPE_IGNORE_FUNCTION(ignored_fn);
TUXTAPE_IGNORE_SECTION(".data.ignored_table");
TUXTAPE_FORCE_UNSAFE(forced_fn);
#define DELTA 2
#else
#define DELTA 1
#endif

__attribute__((section(".data.ignored_table"))) int ignored_table[4] = {1, 2, 3, 3 + DELTA};

int changed_fn(int x)
{
	return x + DELTA + ignored_table[x & 3];
}

int ignored_fn(int x)
{
	return x * DELTA;
}

int forced_fn(int x)
{
	return x - DELTA;
}
