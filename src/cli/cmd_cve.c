/* tuxtape cve: sync the kernel CNA's records, enrich them, query them. */
#include "cli.h"

const struct cmd cmd_cve_table[] = {
	{},
};
