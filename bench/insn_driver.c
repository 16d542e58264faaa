/* SPDX-License-Identifier: MIT */
/*
 * A minimal vfio-user client for counting the server's instructions per
 * request (bench/count_insns.sh): connect to SOCKET, negotiate, send N
 * 4-byte REGION_READs of the V100 scratch register one round trip at a
 * time, and leave. It does nothing else, so two runs with N and 11 N reads
 * differ by exactly 10 N requests on the server side.
 *
 *   insn_driver SOCKET N
 */
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "v100.h"
#include "vfio-user/protocol.h"

#define CAP 4096
#define CONNECT_TRIES 600   /* 100 ms apart: a server under valgrind starts slowly */

static uint8_t req[CAP], rep[CAP];

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	for (int i = 0; i < CONNECT_TRIES; i++) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		usleep(100000);
	}
	close(fd);
	return -1;
}

/* One exchange that must succeed without an error reply. */
static int exchange(int sock, uint16_t id, uint16_t cmd, size_t len)
{
	struct vfu_hdr h = { .msg_id = id, .command = cmd, .msg_size = (uint32_t)len };
	long n;

	memcpy(req, &h, sizeof(h));
	n = bench_roundtrip(sock, req, len, -1, rep, CAP, NULL);
	if (n < 0)
		return (int)n;
	memcpy(&h, rep, sizeof(h));
	return (h.flags & VFU_F_ERROR) ? -(int)h.error : 0;
}

static int handshake(int sock)
{
	static const char json[] = "{\"capabilities\":{\"max_msg_fds\":8}}";
	struct vfu_version v = { VFU_VERSION_MAJOR, VFU_VERSION_MINOR };

	memcpy(req + VFU_HDR_SIZE, &v, sizeof(v));
	memcpy(req + VFU_HDR_SIZE + sizeof(v), json, sizeof(json));
	return exchange(sock, 0, VFU_CMD_VERSION, VFU_HDR_SIZE + sizeof(v) + sizeof(json));
}

int main(int argc, char **argv)
{
	struct vfu_region_rw rw = { .offset = VFK_V100_REG_SCRATCH,
				    .region = VFIO_PCI_BAR0_REGION_INDEX, .count = 4 };
	unsigned long n;
	int sock, r;

	if (argc != 3 || (n = strtoul(argv[2], NULL, 0)) == 0) {
		fprintf(stderr, "usage: insn_driver SOCKET N\n");
		return 2;
	}
	sock = connect_to(argv[1]);
	if (sock < 0) {
		fprintf(stderr, "insn_driver: cannot connect to %s\n", argv[1]);
		return 1;
	}
	r = handshake(sock);
	memcpy(req + VFU_HDR_SIZE, &rw, sizeof(rw));
	for (unsigned long i = 0; i < n && r == 0; i++)
		r = exchange(sock, (uint16_t)(i + 1), VFU_CMD_REGION_READ,
			     VFU_HDR_SIZE + sizeof(rw));
	close(sock);
	if (r < 0) {
		fprintf(stderr, "insn_driver: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}
