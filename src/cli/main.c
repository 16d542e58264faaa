// SPDX-License-Identifier: MIT
/* vfiokit: one CLI, a table of subcommands. */
#include <stdio.h>
#include <string.h>

#include <vfiokit/log.h>
#include <vfiokit/version.h>

#include "cli_util.h"
#include "commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static int cmd_help(int argc, char **argv);

/* Each cmd_<name>.c adds its line here and its declaration to commands.h. */
static const struct command commands[] = {
	{ "help", cmd_help, "list the commands; 'help COMMAND' describes one" },
	{ "info", cmd_info, "regions, capabilities, IRQs and config space of a VFIO device" },
	{ "serve", cmd_serve, "serve device models over vfio-user sockets" },
	{ "mem", cmd_mem, "read/write 1, 2, 4 or 8 bytes in a region, several in one connection" },
	{ "topology", cmd_topology, "NVLink2 topology of GPUs and bridges (--dts: device tree)" },
	{ "selftest", cmd_selftest, "device checks for the real-peer tests (bar-rw, dma)" },
	{ "proxy", cmd_proxy, "serve a VFIO device over vfio-user, with subdrivers" },
};
#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: vfiokit COMMAND [ARGS]\n"
		"       vfiokit --version\n\ncommands:\n");
	for (size_t i = 0; i < NR_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'vfiokit COMMAND --help' describes a command.\n"
		"Exit status: 0 success, 1 failure, 2 bad usage or bad input.\n");
}

/* The command called name; else one line naming the closest, and NULL. */
static const struct command *find_command(const char *name)
{
	const char *names[NR_COMMANDS];
	const char *near;

	for (size_t i = 0; i < NR_COMMANDS; i++) {
		if (!strcmp(name, commands[i].name))
			return &commands[i];
		names[i] = commands[i].name;
	}
	near = cli_suggest(name, names, NR_COMMANDS);
	if (near)
		fprintf(stderr, "vfiokit: unknown command '%s' (did you mean '%s'?)\n", name, near);
	else
		fprintf(stderr, "vfiokit: unknown command '%s' (see 'vfiokit help')\n", name);
	return NULL;
}

/* 'help COMMAND' is 'COMMAND --help'. */
static int cmd_help(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2 || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CLI_OK;
	}
	cmd = find_command(argv[1]);
	if (!cmd)
		return CLI_USAGE;
	return cmd->run(2, (char *[]){ argv[1], "--help", NULL });
}

int main(int argc, char **argv)
{
	const struct command *cmd;

	/* Read $VFIOKIT_LOG now, so a bad level is reported even by a
	 * command that logs nothing. */
	vfk_log_get_level();
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(1, argv + 1);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("vfiokit %s\n", vfk_version());
		return CLI_OK;
	}
	cmd = find_command(argv[1]);
	return cmd ? cmd->run(argc - 1, argv + 1) : CLI_USAGE;
}
