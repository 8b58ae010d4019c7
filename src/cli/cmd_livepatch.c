/* tuxtape livepatch: from a fix diff to a livepatch module. */
#include "cli.h"

int cmd_livepatch_diff(struct cli *cli, int argc, char **argv);
int cmd_livepatch_module(struct cli *cli, int argc, char **argv);
int cmd_livepatch_build(struct cli *cli, int argc, char **argv);

const struct cmd cmd_livepatch_table[] = {
	{ "build", cmd_livepatch_build, NULL,
	  "--patch FILE... (--source DIR | --source-tarball FILE) --config FILE --symbols FILE "
	  "--kbuild DIR [-o OUT.ko]",
	  "build a livepatch module from source patches" },
	{ "diff", cmd_livepatch_diff, NULL, "ORIG.o PATCHED.o [-o OUT.o] [--symbols FILE]",
	  "compare two objects of one source file; write the changed functions" },
	{ "module", cmd_livepatch_module, NULL, "DIFF.o... -o OUT.ko --symbols FILE [--kbuild DIR]",
	  "build a livepatch module from diff objects" },
	{},
};
