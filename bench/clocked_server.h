/* SPDX-License-Identifier: MIT */
/*
 * `vfiokit serve v100` in an exec'd child, pinned to one CPU, with the
 * syscall_clock shim preloaded (into that child only): the server's user
 * time measured between its system calls (syscall_clock.h), without any
 * change to the server's code.
 */
#ifndef VFIOKIT_BENCH_CLOCKED_SERVER_H
#define VFIOKIT_BENCH_CLOCKED_SERVER_H

#include <sys/types.h>

#include "syscall_clock.h"

struct clocked_server {
	pid_t pid;
	char dir[64];          /* mkdtemp directory of socket and totals */
	char sock_path[96];    /* dir/gpu.sock (the server's; unused by the echo peer) */
	char clock_path[96];   /* dir/clock: the shim's totals */
};

/*
 * Start the server on cpu and connect to it; returns the connected
 * socket. Exits when the server does not come up within seconds.
 */
int clocked_server_start(struct clocked_server *s, int cpu);

/*
 * The epoll echo peer of floor.c (bench/echo_peer) exec'd the same way,
 * on one end of a socket pair: the floor of the server's user time, a loop
 * that waits, reads and answers as the server does and does nothing else.
 * Returns the other end; requests are framed as floor.h's.
 */
int clocked_echo_peer_start(struct clocked_server *s, int cpu);

/*
 * Copy the shim's current totals. Returns 0, or -ENODATA when the shim
 * has not published any (not loaded, or its calls are interposed by a
 * sanitizer's interceptors first).
 */
int clocked_server_totals(const struct clocked_server *s, struct syscall_clock_totals *t);

/* Stop the server (SIGTERM), reap it, remove its files and directory. */
void clocked_server_stop(struct clocked_server *s);

/* Close the echo peer's socket, reap the peer (it leaves when its client
 * does), remove its files and directory. */
void clocked_echo_peer_stop(struct clocked_server *s, int sock);

#endif
