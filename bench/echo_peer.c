/* SPDX-License-Identifier: MIT */
/*
 * The epoll echo peer of bench/floor.c as a program of its own, so that it
 * can be exec'd with the syscall_clock shim preloaded, as `vfiokit serve`
 * is (clocked_server.c): the user time between system calls of a loop that
 * waits, reads and answers as the server does and does nothing else.
 *
 *   echo_peer FD      (FD: a connected stream socket it inherits)
 */
#include "floor.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	char *end;
	long fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FD\n", argv[0]);
		return 2;
	}
	errno = 0;
	fd = strtol(argv[1], &end, 10);
	if (errno || *end || fd < 0 || fd > INT_MAX) {
		fprintf(stderr, "%s: not an fd: %s\n", argv[0], argv[1]);
		return 2;
	}
	return bench_floor_serve_epoll((int)fd);
}
