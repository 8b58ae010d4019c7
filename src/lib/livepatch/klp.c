/* Livepatch module generation: klp_patch description, kbuild link, klp relocations. */
#include <errno.h>
#include "livepatch/klp.h"

int lp_module_build(const char *const *diff_objs, size_t n, const struct lp_symtab *syms,
		    const char *kbuild_dir, const char *name, bool replace, const char *out_ko,
		    struct lp_module_report **ret_report)
{
	return -EOPNOTSUPP;
}

void lp_module_report_free(struct lp_module_report *r)
{
}

json_t *lp_module_report_to_json(const struct lp_module_report *r, int result)
{
	return NULL;
}
