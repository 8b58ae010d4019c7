/*
 * A stand-in for a livepatch .ko: a relocatable object with the .modinfo section modpost
 * writes. Compiled twice by meson, for the fake test kernel and for another one.
 */
int tt_lp_fn(void);
int tt_lp_fn(void)
{
	return 42;
}

#define MODINFO "name=" LP_NAME "\0vermagic=" LP_VERMAGIC "\0livepatch=Y\0license=GPL"
__attribute__((section(".modinfo"), used)) static const char modinfo[] = MODINFO;
