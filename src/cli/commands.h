/* SPDX-License-Identifier: MIT */
/* The vfiokit subcommands; each lives in cmd_<name>.c. */
#ifndef VFIOKIT_CLI_COMMANDS_H
#define VFIOKIT_CLI_COMMANDS_H

/* Each takes argv from the subcommand name on and returns the exit status. */

int cmd_info(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_mem(int argc, char **argv);
int cmd_topology(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_proxy(int argc, char **argv);

#endif
