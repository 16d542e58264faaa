/* SPDX-License-Identifier: MIT */
#include "raw_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "vfio-user/wire.h"

uint8_t *rc_dma_mem;
uint64_t rc_dma_base;
size_t rc_dma_len;
unsigned int rc_dma_requests;

static uint16_t next_id = 100;

int rc_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

int rc_send(int fd, uint16_t id, uint16_t cmd, uint32_t flags,
	    const void *payload, size_t len, const int *fds, unsigned int nfds)
{
	struct vfu_hdr h;
	struct iovec iov[2] = {
		{ &h, sizeof(h) },
		{ (void *)payload, len },
	};

	vfu_hdr_init(&h, id, cmd, (uint32_t)(sizeof(h) + len), flags);
	return vfu_wire_send(fd, iov, len ? 2 : 1, fds, nfds, 10000);
}

ssize_t rc_recv(int fd, void *buf, size_t cap, int *fds, unsigned int *nfds)
{
	int local[VFU_WIRE_MAX_FDS];
	unsigned int n = 0;
	ssize_t r = vfu_wire_recv_msg(fd, buf, cap, fds ? fds : local,
				      VFU_WIRE_MAX_FDS, &n, 10000);

	if (nfds)
		*nfds = n;
	else
		vfu_wire_close_fds(local, n);
	return r;
}

/* Answer one server-to-client DMA request in the layout QEMU 11 uses on
 * the wire: data at payload offset 16 (see protocol.h). */
void rc_answer_dma(int fd, const uint8_t *msg)
{
	struct vfu_hdr h;
	struct vfu_dma_rw rw;
	static uint8_t reply[VFU_HDR_SIZE + 16 + (1 << 20)];
	bool ok;

	memcpy(&h, msg, sizeof(h));
	memcpy(&rw, msg + VFU_HDR_SIZE, sizeof(rw));
	rc_dma_requests++;
	ok = rw.address >= rc_dma_base && rw.count <= rc_dma_len &&
	     rw.address - rc_dma_base <= rc_dma_len - rw.count;
	h.flags = VFU_F_TYPE_REPLY;
	if (!ok) {
		h.flags |= VFU_F_ERROR;
		h.error = EFAULT;
		h.msg_size = VFU_HDR_SIZE;
	} else if (h.command == VFU_CMD_DMA_READ) {
		h.msg_size = VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE + rw.count;
		memcpy(reply + VFU_HDR_SIZE, &rw, sizeof(rw));
		memcpy(reply + VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE,
		       rc_dma_mem + (rw.address - rc_dma_base), rw.count);
	} else {
		memcpy(rc_dma_mem + (rw.address - rc_dma_base),
		       msg + VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE, rw.count);
		h.msg_size = VFU_HDR_SIZE;
	}
	memcpy(reply, &h, sizeof(h));
	{
		struct iovec iov = { reply, h.msg_size };

		vfu_wire_send(fd, &iov, 1, NULL, 0, 10000);
	}
}

ssize_t rc_call(int fd, uint16_t cmd, const void *payload, size_t len,
		const int *fds, unsigned int nfds, void *out, size_t out_cap,
		int *rfd)
{
	static uint8_t buf[VFU_HDR_SIZE + 32 + (2 << 20)];
	uint16_t id = next_id++;
	int r = rc_send(fd, id, cmd, 0, payload, len, fds, nfds);

	if (rfd)
		*rfd = -1;
	if (r)
		return r;
	for (;;) {
		int got[VFU_WIRE_MAX_FDS];
		unsigned int ngot = 0;
		ssize_t n = rc_recv(fd, buf, sizeof(buf), got, &ngot);
		struct vfu_hdr h;

		if (n < 0)
			return n;
		memcpy(&h, buf, sizeof(h));
		if ((h.flags & VFU_F_TYPE_MASK) == VFU_F_TYPE_COMMAND) {
			vfu_wire_close_fds(got, ngot);
			rc_answer_dma(fd, buf);
			continue;
		}
		if (h.msg_id != id || h.command != cmd) {
			vfu_wire_close_fds(got, ngot);
			return -EPROTO;
		}
		if (rfd && ngot) {
			*rfd = got[0];
			got[0] = -1;
		}
		vfu_wire_close_fds(got, ngot);
		if (h.flags & VFU_F_ERROR)
			return -(ssize_t)h.error;
		n -= VFU_HDR_SIZE;
		if (out)
			memcpy(out, buf + VFU_HDR_SIZE, (size_t)n < out_cap ? (size_t)n : out_cap);
		return n;
	}
}

int rc_negotiate(int fd)
{
	static const char json[] =
		"{\"capabilities\":{\"migration\":{\"pgsize\":4096,\"max_bitmap_size\":268435456},"
		"\"max_msg_fds\":16,\"max_data_xfer_size\":1048576,\"pgsizes\":4096,"
		"\"max_dma_maps\":65535,\"write_multiple\":true,\"future_key\":[1,2]}}";
	uint8_t msg[sizeof(struct vfu_version) + sizeof(json)];
	uint8_t out[1024];
	struct vfu_version v = { 0, 0 };
	ssize_t n;

	memcpy(msg, &v, sizeof(v));
	memcpy(msg + sizeof(v), json, sizeof(json));
	n = rc_call(fd, VFU_CMD_VERSION, msg, sizeof(msg), NULL, 0, out, sizeof(out), NULL);
	if (n < 0)
		return (int)n;
	/* QEMU reads the reply into a buffer the size of its request. */
	if ((size_t)n > sizeof(msg) || out[n - 1] != '\0')
		return -EPROTO;
	return 0;
}
