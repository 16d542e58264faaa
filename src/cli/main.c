// SPDX-License-Identifier: MIT
/* vfiokit: one CLI, a table of subcommands. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static int cmd_help(int argc, char **argv);

/* Each cmd_<name>.c adds its line here and its declaration to commands.h. */
static const struct command commands[] = {
	{ "help", cmd_help, "list the commands" },
	{ "info", cmd_info, "regions, capabilities, IRQs and config space of a VFIO device" },
	{ "serve", cmd_serve, "serve device models over vfio-user sockets" },
	{ "mem", cmd_mem, "read/write a 64-bit value in a region (mmap or region I/O)" },
	{ "topology", cmd_topology, "NVLink2 topology of GPUs and bridges (--dts: device tree)" },
	{ "selftest", cmd_selftest, "device checks for the real-peer tests (bar-rw, dma)" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: vfiokit COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'vfiokit COMMAND --help' describes a command.\n");
}

static int cmd_help(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "vfiokit: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
