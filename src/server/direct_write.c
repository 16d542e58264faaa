/* SPDX-License-Identifier: MIT */
/*
 * Large REGION_WRITEs received straight into region memory. A write of
 * at least SRV_DIRECT_WRITE_MIN bytes to a region that offers its memory
 * (vfk_region_direct_write: plain memory such as GPU RAM) would otherwise
 * be copied twice: by the kernel into rx, then by the region's write op
 * into the region. Here, once its header and rw struct are in rx and the
 * write has passed every check a copied one would (negotiated, counts,
 * no fds, region index, WRITE flag, bounds), the bytes already read are
 * copied and the rest is received from the socket into the region
 * itself: one copy, the kernel's.
 *
 * Until the last byte is in, the slot is in this state (dw_left > 0): no
 * other message is read or handled (none can be: the stream holds this
 * write's data first), the reply goes once all of it has landed, and a
 * DMA request of the device's waits for it first (vfk_srv_dma_rw), as its
 * answer comes after it on the stream. A client that leaves part-way has
 * stored part of its write, as it could through its own mapping of the
 * region; its region memory goes with it (peer_gone).
 */
#include "server/server_internal.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <vfiokit/device.h>
#include <vfiokit/log.h>
#include <vfiokit/transport.h>

/* The write's data already in rx: copied; the message leaves rx. */
static void take_buffered(struct srv_slot *s)
{
	size_t at = s->rx_head + VFU_HDR_SIZE + sizeof(struct vfu_region_rw);
	size_t have = s->rx_tail - at;

	memcpy(s->dw_dst, s->rx + at, have);
	s->dw_dst += have;
	s->dw_left -= have;
	s->rx_head = s->rx_tail = 0;
}

/* All data in: the reply a copied write would get. */
static void finish(struct srv_slot *s)
{
	struct vfu_region_rw rw = s->dw_rw;
	void *p;

	if (s->tracing)
		vfk_dbg("%s: REGION_WRITE region %u offset %#llx count %u: direct%s",
			vfk_device_name(s->dev), rw.region, (unsigned long long)rw.offset,
			rw.count, s->dw_bad_fds ? ", fds refused" : "");
	if (s->dw_bad_fds) {   /* a REGION_WRITE carries none: as process() answers */
		s->dw_bad_fds = false;
		if (!(s->dw_hdr.flags & VFU_F_NO_REPLY))
			vfk_srv_reply_error(s, &s->dw_hdr, EINVAL);
		return;
	}
	if (s->dw_hdr.flags & VFU_F_NO_REPLY)
		return;
	/* Room was made before the write started, and nothing queued since. */
	p = vfk_srv_reply_begin(s, &s->dw_hdr, sizeof(rw));
	memcpy(p, &rw, sizeof(rw));
	vfk_srv_reply_commit(s, sizeof(rw), -1);
}

int vfk_srv_direct_write_recv(struct srv_slot *s)
{
	union {
		char buf[VFU_WIRE_RECV_CTL_SPACE];
		struct cmsghdr align;
	} ctl;

	while (s->dw_left) {
		struct iovec iov = { s->dw_dst, s->dw_left };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n = recvmsg(s->conn_fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		if (msg.msg_controllen || (msg.msg_flags & MSG_CTRUNC)) {
			int fds[VFU_WIRE_MAX_FDS];
			unsigned int nfds = 0;
			bool trunc = false;

			vfu_wire_take_fds(&msg, fds, VFU_WIRE_MAX_FDS, &nfds, &trunc);
			vfu_wire_close_fds(fds, nfds);
			s->dw_bad_fds = true;
		}
		s->dw_dst += n;
		s->dw_left -= (size_t)n;
	}
	finish(s);
	return 0;
}

/* The checks a copied REGION_WRITE at rx_head passes, and its memory:
 * NULL when it must take the copied path (which answers what is wrong). */
static uint8_t *direct_target(struct srv_slot *s, const struct vfu_hdr *h,
			      struct vfu_region_rw *rw)
{
	size_t data = h->msg_size - VFU_HDR_SIZE - sizeof(*rw);

	if (!s->negotiated || h->command != VFU_CMD_REGION_WRITE ||
	    (h->flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_COMMAND ||
	    h->msg_size < VFU_HDR_SIZE + sizeof(*rw) + SRV_DIRECT_WRITE_MIN ||
	    s->rx_tail - s->rx_head < VFU_HDR_SIZE + sizeof(*rw) ||
	    s->rx_fds_pending || s->rx_older_count)
		return NULL;
	memcpy(rw, s->rx + s->rx_head + VFU_HDR_SIZE, sizeof(*rw));
	if (rw->count != data || rw->count > SRV_MAX_DATA_XFER)
		return NULL;
	return vfk_region_direct_write(s->dev, rw->region, rw->offset, rw->count);
}

int vfk_srv_direct_write_start(struct srv_slot *s, const struct vfu_hdr *h)
{
	struct vfu_region_rw rw;
	uint8_t *dst = direct_target(s, h, &rw);

	if (!dst)
		return 0;
	s->dw_hdr = *h;
	s->dw_rw = rw;
	s->dw_dst = dst;
	s->dw_left = rw.count;
	s->dw_bad_fds = false;
	s->rx_read_full = false;   /* what follows the write is not looked for now */
	take_buffered(s);
	return 1;
}

int vfk_srv_direct_write_wait(struct srv_slot *s, int64_t deadline_ms)
{
	for (;;) {
		int r = vfk_srv_direct_write_recv(s);

		if (r != -EAGAIN)
			return r;
		r = vfk_srv_wait_conn(s, POLLIN, deadline_ms);
		if (r < 0)
			return r;
	}
}
