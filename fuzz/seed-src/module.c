/*
 * Seed of fuzz-livepatch-modsyms and fuzz-archive-modinfo: a small kernel module (linked
 * with ld -r as kbuild links one) with __this_module, init and exit, statics of one name in
 * two sections, and the .modinfo modpost writes for a livepatch.
 */
struct module {
	char name[56];
};

__attribute__((section(".gnu.linkonce.this_module"))) struct module __this_module = {"tt_seed"};

static int enabled = 1;
static __attribute__((noinline, used)) int helper(int x)
{
	return x + enabled;
}

int tt_seed_api(int x)
{
	return helper(x) * 2;
}

static __attribute__((section(".init.text"), cold, used)) int init_helper(void)
{
	return helper(1);
}

int init_module(void)
{
	return init_helper() > 0 ? 0 : -1;
}

void cleanup_module(void)
{
	enabled = 0;
}

__attribute__((section(".modinfo"), used)) static const char modinfo[] =
	"livepatch=Y\0license=GPL\0name=tt_seed\0vermagic=6.1.0-0-amd64 SMP preempt mod_unload "
	"modversions ";
