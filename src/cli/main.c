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

static const struct command commands[] = {
	{ "serve", cmd_serve, "serve device models over vfio-user sockets" },
	{ "info", cmd_info, "inspect a VFIO device: regions, capabilities, IRQs, config space" },
	{ "topology", cmd_topology, "pair NVLink2 bridges with GPUs by their SSATGT address" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: vfiokit COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'vfiokit COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "vfiokit: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
