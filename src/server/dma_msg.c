/* SPDX-License-Identifier: MIT */
/*
 * Client memory that came without an fd, reached with server-to-client
 * DMA_READ / DMA_WRITE messages on the same socket (the layout QEMU 11
 * uses on the wire, see protocol.h). Synchronous for the device: the
 * request is sent and its reply awaited (matched by msg_id) while the
 * current message or deferred work is being handled; other commands of
 * this client that arrive meanwhile stay queued in the receive buffer. The
 * waits go through vfk_srv_wait_conn(), which serves the process's other
 * devices meanwhile. A client that does not answer within SRV_STALL_MS is
 * disconnected.
 */
#include "server/server_internal.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <vfiokit/device.h>
#include <vfiokit/log.h>

/* The largest errno a peer's error reply may carry; anything else is -EIO. */
#define PEER_MAX_ERRNO 4095u

/* Find the complete reply to (id, cmd) in the unprocessed part of rx past
 * the message being handled. Its offset, or -ENOENT; -EPROTO when the
 * stream cannot be walked. */
static ssize_t find_reply(const struct srv_slot *s, uint16_t id, uint16_t cmd)
{
	size_t pos = s->rx_head;

	while (s->rx_tail - pos >= VFU_HDR_SIZE) {
		struct vfu_hdr h;

		memcpy(&h, s->rx + pos, sizeof(h));
		if (h.msg_size < VFU_HDR_SIZE || h.msg_size > SRV_MAX_MSG)
			return -EPROTO;
		if (s->rx_tail - pos < h.msg_size)
			return -ENOENT;
		if ((h.flags & VFU_F_TYPE_MASK) == VFU_F_TYPE_REPLY &&
		    h.msg_id == id && h.command == cmd)
			return (ssize_t)pos;
		pos += h.msg_size;
	}
	return -ENOENT;
}

/* Take len bytes at pos out of rx, keeping the bytes after them. */
static void rx_cut(struct srv_slot *s, size_t pos, size_t len)
{
	memmove(s->rx + pos, s->rx + pos + len, s->rx_tail - pos - len);
	s->rx_tail -= len;
	if (s->rx_fds_pending && s->rx_fds_at > pos)
		s->rx_fds_at -= len;
}

/* Copy the reply's data (DMA_READ) into buf; 0 or -errno. */
static int take_reply(struct srv_slot *s, size_t pos, void *buf, uint32_t count,
		      bool write)
{
	struct vfu_hdr h;
	struct vfu_dma_rw rw;
	int r = 0;

	memcpy(&h, s->rx + pos, sizeof(h));
	if (s->rx_fds_pending && s->rx_fds_at == pos) {
		/* fds on a DMA reply make no sense: drop them. */
		vfu_wire_close_fds(s->rx_fds, s->rx_nfds);
		s->rx_nfds = 0;
		s->rx_fds_pending = false;
		s->rx_fds_truncated = false;   /* or the next message's fds look cut */
	}
	if (h.flags & VFU_F_ERROR) {
		/* Peer input: above 4095 (or with the sign bit) it is no errno,
		 * and negating it could overflow or turn positive (success). */
		r = h.error && h.error <= PEER_MAX_ERRNO ? -(int)h.error : -EIO;
	} else if (!write) {
		if (h.msg_size < VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE + (size_t)count) {
			r = -EPROTO;
		} else {
			memcpy(&rw, s->rx + pos + VFU_HDR_SIZE, sizeof(rw));
			if (rw.count != count)
				r = -EIO;
			else
				memcpy(buf, s->rx + pos + VFU_HDR_SIZE + sizeof(rw), count);
		}
	}
	rx_cut(s, pos, h.msg_size);
	return r;
}

/* Send the first size bytes of dma_buf; waiting for room serves the
 * other slots (vfk_srv_wait_conn). 0 or -errno. */
static int send_whole(struct srv_slot *s, size_t size, int64_t deadline)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = send(s->conn_fd, s->dma_buf + done, size - done, MSG_NOSIGNAL);
		int r;

		if (n >= 0) {
			done += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		r = vfk_srv_wait_conn(s, POLLOUT, deadline);
		if (r)
			return r;
	}
	return 0;
}

static int send_request(struct srv_slot *s, uint16_t id, uint64_t iova,
			void *buf, uint32_t count, bool write, int64_t deadline)
{
	uint32_t data = write ? count : 0;
	uint32_t size = VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE + data;
	struct vfu_dma_rw rw = { .address = iova, .count = count };
	struct vfu_hdr h;
	int r;

	vfu_hdr_init(&h, id, write ? VFU_CMD_DMA_WRITE : VFU_CMD_DMA_READ, size,
		     VFU_F_TYPE_COMMAND);
	memcpy(s->dma_buf, &h, sizeof(h));
	memcpy(s->dma_buf + VFU_HDR_SIZE, &rw, sizeof(rw));
	if (data)
		memcpy(s->dma_buf + VFU_HDR_SIZE + sizeof(rw), buf, data);
	/* Replies queued so far go first: the stream must not interleave. */
	r = vfk_srv_flush_all(s, deadline);
	if (r)
		return r;
	return send_whole(s, size, deadline);
}

/* One request/reply of at most the agreed transfer size. */
static int dma_chunk(struct srv_slot *s, uint64_t iova, void *buf, uint32_t count,
		     bool write)
{
	int64_t deadline = vfk_srv_now_ms() + SRV_STALL_MS;
	uint16_t id = s->next_id++;
	uint16_t cmd = write ? VFU_CMD_DMA_WRITE : VFU_CMD_DMA_READ;
	int r = send_request(s, id, iova, buf, count, write, deadline);

	while (r == 0) {
		ssize_t pos = find_reply(s, id, cmd);

		if (pos >= 0) {
			r = take_reply(s, (size_t)pos, buf, count, write);
			vfk_dbg("%s: %s iova %#llx count %u: %d", vfk_device_name(s->dev),
				write ? "DMA_WRITE" : "DMA_READ", (unsigned long long)iova,
				count, r);
			return r;
		}
		if (pos != -ENOENT)
			r = (int)pos;
		else
			r = vfk_srv_fill_rx(s, deadline);
	}
	return r;
}

int vfk_srv_dma_rw(void *ctx, uint64_t iova, void *buf, size_t len, bool write)
{
	struct srv_slot *s = ctx;
	uint64_t chunk = s->peer.max_data_xfer_size;

	if (s->conn_fd < 0 || s->broken || !s->negotiated)
		return -ENOTCONN;
	/* Another device's client is being waited on and we run in the
	 * nested level (vfk_srv_wait_conn): waits do not nest. Models that
	 * DMA from deferred work never get here then (their work waits for
	 * the top level); a direct call from an access handler is refused. */
	if (s->srv->waiter) {
		vfk_dbg("%s: DMA %s at %#llx refused: device %s waits on its client",
			vfk_device_name(s->dev), write ? "write" : "read",
			(unsigned long long)iova, vfk_device_name(s->srv->waiter->dev));
		return -EBUSY;
	}
	/* A REGION_WRITE is being received into region memory: its data
	 * comes before any answer on the stream, so it is taken in first. */
	if (s->dw_left) {
		int r = vfk_srv_direct_write_wait(s, vfk_srv_now_ms() + SRV_STALL_MS);

		if (r < 0) {
			s->broken = true;
			return r;
		}
	}
	if (chunk > SRV_MAX_DATA_XFER)
		chunk = SRV_MAX_DATA_XFER;
	while (len > 0) {
		uint32_t n = (uint32_t)(len < chunk ? len : chunk);
		int r = dma_chunk(s, iova, buf, n, write);

		if (r == -ETIMEDOUT || r == -ECONNRESET || r == -ENOBUFS ||
		    r == -EPROTO || r == -EPIPE) {
			vfk_warn("%s: DMA %s at %#llx failed (%s); dropping the client",
				 vfk_device_name(s->dev), write ? "write" : "read",
				 (unsigned long long)iova, strerror(-r));
			s->broken = true;
		}
		if (r)
			return r;
		iova += n;
		buf = (uint8_t *)buf + n;
		len -= n;
	}
	return 0;
}

void vfk_srv_dma_memory_lost(void *ctx)
{
	struct srv_slot *s = ctx;

	vfk_warn("%s: the client shrank memory it had mapped for DMA; dropping it",
		 vfk_device_name(s->dev));
	s->broken = true;
}

void vfk_srv_dma_quiesced(void *ctx)
{
	struct srv_slot *s = ctx;

	/* Handled where the server gets control back (process()). */
	if (s->quiescing)
		s->quiesce_done = true;
}
