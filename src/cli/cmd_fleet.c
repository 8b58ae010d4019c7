/* tuxtape fleet: views across every kernel of the inventory. */
#include "cli.h"

const struct cmd cmd_fleet_table[] = {
	{},
};
