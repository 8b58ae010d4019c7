/* tuxtape livepatch: from a fix diff to a livepatch module. */
#include "cli.h"

const struct cmd cmd_livepatch_table[] = {
	{},
};
