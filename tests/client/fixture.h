/* SPDX-License-Identifier: MIT */
/*
 * A test device with every region capability kind, served by a forked
 * vfiokit server on a socket in a mkdtemp directory.
 */
#ifndef VFIOKIT_TESTS_CLIENT_FIXTURE_H
#define VFIOKIT_TESTS_CLIENT_FIXTURE_H

#include <stdint.h>
#include <sys/types.h>

#define FIX_BAR0_SIZE    (4u << 20)     /* larger than max_data_xfer_size */
#define FIX_SSATGT       0x3e0000000000ull
#define FIX_LNKSPD       9u
#define FIX_CUSTOM_ID    0x4242
#define FIX_CUSTOM_VER   3

struct fixture {
	char dir[64];
	char sock[128];
	pid_t server;
	unsigned long *bar0_reads;     /* shared with the server: read ops seen */
};

/* Start the server; 0 or -errno. */
int fixture_start(struct fixture *f);

/* Kill the server, remove the socket and the directory. */
void fixture_stop(struct fixture *f);

#endif
