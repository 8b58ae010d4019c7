/* tuxtape kernel: the inventory of fleet kernels. */
#include "cli.h"

const struct cmd cmd_kernel_table[] = {
	{},
};
