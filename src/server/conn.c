/* SPDX-License-Identifier: MIT */
/*
 * One client connection: buffered non-blocking reads (many pipelined or
 * posted messages per recvmsg), framing, fd ownership, and buffered
 * replies flushed once per batch.
 *
 * Output policy: before each message we require room for the largest
 * reply. When the client does not read and that room is missing, we stop
 * reading its socket (the other devices go on) until it drains; if no
 * byte drains for SRV_STALL_MS, the client is disconnected.
 */
#include "server/server_internal.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <vfiokit/device.h>
#include <vfiokit/log.h>

/* Where the i-th earlier fd set (oldest first) lives in the ring. */
static unsigned int older_index(const struct srv_slot *s, unsigned int i)
{
	return (s->rx_older_first + i) % (SRV_MAX_FD_SETS - 1);
}

/* Close every fd held for messages not yet handled. */
static void drop_rx_fds(struct srv_slot *s)
{
	for (unsigned int i = 0; i < s->rx_older_count; i++) {
		struct srv_fd_set *set = &s->rx_older[older_index(s, i)];

		vfu_wire_close_fds(set->fds, set->nfds);
	}
	s->rx_older_first = s->rx_older_count = 0;
	vfu_wire_close_fds(s->rx_fds, s->rx_nfds);
	s->rx_nfds = 0;
	s->rx_fds_pending = false;
	s->rx_fds_truncated = false;
}

/*
 * Mark or clear deferred work left for the top level; the server counts.
 * While it waits, the slot's socket is not read: its next messages come
 * after that work, as they do when nothing is postponed, and a client
 * that keeps ringing cannot overflow its device's deferred queue.
 */
static void set_postponed(struct srv_slot *s, bool postponed)
{
	if (postponed == s->deferred_postponed)
		return;
	s->deferred_postponed = postponed;
	if (postponed)
		s->srv->postponed++;
	else
		s->srv->postponed--;
	if (s->conn_fd >= 0)
		vfk_srv_update_events(s);
}

/* Start or end tracking a stall; the server counts the stalled slots. */
static void set_stalled(struct srv_slot *s, bool stalled)
{
	if (stalled == (s->stall_since_ms >= 0))
		return;
	s->stall_since_ms = stalled ? vfk_srv_now_ms() : -1;
	if (stalled)
		s->srv->stalled++;
	else
		s->srv->stalled--;
}

/* Start or end holding the message at rx_head for the model's quiesce:
 * the socket is not read meanwhile; the deadline is counted as a stall's. */
static void set_quiescing(struct srv_slot *s, bool on)
{
	if (on == s->quiescing)
		return;
	s->quiescing = on;
	s->quiesce_done = false;
	s->quiesce_since_ms = on ? vfk_srv_now_ms() : -1;
	if (on)
		s->srv->stalled++;
	else
		s->srv->stalled--;
	if (s->conn_fd >= 0)
		vfk_srv_update_events(s);
}

int64_t vfk_srv_conn_deadline(const struct srv_slot *s)
{
	int64_t stall = s->stall_since_ms >= 0 ? s->stall_since_ms + SRV_STALL_MS : -1;
	int64_t quiesce = s->quiescing ? s->quiesce_since_ms + SRV_STALL_MS : -1;

	if (stall < 0 || (quiesce >= 0 && quiesce < stall))
		return quiesce;
	return stall;
}

void vfk_srv_conn_open(struct srv_slot *s, int fd)
{
	s->conn_fd = fd;
	s->negotiated = false;
	s->broken = false;
	s->want_out = false;
	s->reading = true;
	vfu_caps_defaults(&s->peer);
	s->next_id = 0;
	s->rx_head = s->rx_tail = 0;
	s->tx_head = s->tx_tail = 0;
	s->tx_fd = -1;
	s->tx_ext = NULL;
	s->tx_ext_len = 0;
	s->dw_left = 0;
	s->dw_dst = NULL;
	vfk_dma_set_transport(s->dev, &s->dma_transport);
	vfk_dma_set_limit(s->dev, s->srv->dma_max_maps);
	vfk_dma_set_byte_limit(s->dev, s->srv->dma_max_bytes);
	vfk_dma_set_window_limit(s->dev, vfk_srv_window_share(s->srv));
	vfk_info("%s: client connected", vfk_device_name(s->dev));
}

/* Give the pages of rx past rx_cap back once a DMA wait's spill drained
 * (madvise wants a page-aligned start; the page rx_cap falls in stays). */
static void release_spill(struct srv_slot *s)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t from = (s->rx_cap + page - 1) & ~(page - 1);

	if (madvise(s->rx + from, SRV_RX_RESERVE - from, MADV_DONTNEED))
		vfk_dbg("%s: madvise: %s", vfk_device_name(s->dev), strerror(errno));
	s->rx_spilled = false;
}

/* What the client made us touch goes back with it: the next client, or
 * none, finds the slot as it was before any came. */
static void release_buffers(struct srv_slot *s)
{
	madvise(s->rx, s->rx_spilled ? SRV_RX_RESERVE : s->rx_cap, MADV_DONTNEED);
	madvise(s->tx, s->tx_cap, MADV_DONTNEED);
	madvise(s->dma_buf, s->dma_cap, MADV_DONTNEED);
	s->rx_spilled = false;
	s->rx_head = s->rx_tail = 0;
	s->tx_head = s->tx_tail = 0;
	s->tx_ext = NULL;   /* region memory may go with the client (peer_gone) */
	s->tx_ext_len = 0;
}

void vfk_srv_conn_close(struct srv_slot *s, const char *why)
{
	vfk_info("%s: client gone (%s); resetting the device",
		 vfk_device_name(s->dev), why);
	epoll_ctl(s->srv->epfd, EPOLL_CTL_DEL, s->conn_fd, NULL);
	close(s->conn_fd);
	s->conn_fd = -1;
	set_stalled(s, false);
	set_postponed(s, false);
	set_quiescing(s, false);
	drop_rx_fds(s);
	s->dw_left = 0;     /* region memory may go with the client (peer_gone) */
	s->dw_dst = NULL;
	vfk_dma_set_transport(s->dev, NULL);
	vfk_device_release_peer(s->dev);
	release_buffers(s);
}

/* ---- output ---------------------------------------------------------- */

/* Account n sent bytes: tx first, then the external data that follows it. */
static void tx_sent(struct srv_slot *s, size_t n)
{
	size_t from_tx = s->tx_tail - s->tx_head < n ? s->tx_tail - s->tx_head : n;

	s->tx_head += from_tx;
	if (n > from_tx) {   /* tx_ext may be NULL: no pointer arithmetic on it then */
		s->tx_ext += n - from_tx;
		s->tx_ext_len -= n - from_tx;
	}
}

/* One send of what is queued: a plain send() of tx in the common case,
 * sendmsg() when an fd or external data goes along. */
static ssize_t send_some(struct srv_slot *s)
{
	bool with_fd;
	size_t end;
	struct iovec iov[2];
	int iovcnt = 1;
	ssize_t n;

	if (s->tx_fd < 0 && !s->tx_ext_len) {
		do {
			n = send(s->conn_fd, s->tx + s->tx_head, s->tx_tail - s->tx_head,
				 MSG_NOSIGNAL);
		} while (n < 0 && errno == EINTR);
		return n < 0 ? -errno : n;
	}
	with_fd = s->tx_fd >= 0 && s->tx_head == s->tx_fd_at;
	end = s->tx_fd >= 0 && s->tx_head < s->tx_fd_at ? s->tx_fd_at : s->tx_tail;
	iov[0] = (struct iovec){ s->tx + s->tx_head, end - s->tx_head };
	/* The external data goes in the same sendmsg as its header. */
	if (end == s->tx_tail && s->tx_ext_len)
		iov[iovcnt++] = (struct iovec){ (void *)s->tx_ext, s->tx_ext_len };
	n = vfu_wire_sendmsg(s->conn_fd, iov, iovcnt, with_fd ? &s->tx_fd : NULL, with_fd);
	if (n > 0 && with_fd)
		s->tx_fd = -1;
	return n;
}

/* Send what we can now. 0 when all went, -EAGAIN when the socket is full,
 * other -errno when the connection failed. */
int vfk_srv_flush(struct srv_slot *s)
{
	while (s->tx_head < s->tx_tail || s->tx_ext_len) {
		ssize_t n = send_some(s);

		if (n == -EAGAIN) {
			set_stalled(s, true);
			return -EAGAIN;
		}
		if (n < 0)
			return (int)n;
		tx_sent(s, (size_t)n);
		set_stalled(s, false);
	}
	/* No rewind here: a handler may be building a reply at tx_tail. */
	return 0;
}

/* Flush everything, waiting up to the deadline. */
int vfk_srv_flush_all(struct srv_slot *s, int64_t deadline_ms)
{
	for (;;) {
		int r = vfk_srv_flush(s);

		if (r != -EAGAIN)
			return r;
		r = vfk_srv_wait_conn(s, POLLOUT, deadline_ms);
		if (r < 0)
			return r;
	}
}

/* Room for the largest reply, and no fd or external data waiting? Compacts. */
static bool tx_has_room(struct srv_slot *s)
{
	if (s->tx_fd >= 0 || s->tx_ext_len)
		return false;
	if (s->tx_head == s->tx_tail)
		s->tx_head = s->tx_tail = 0;
	if (s->tx_cap - s->tx_tail >= SRV_MAX_REPLY)
		return true;
	if (s->tx_head > 0) {
		memmove(s->tx, s->tx + s->tx_head, s->tx_tail - s->tx_head);
		s->tx_tail -= s->tx_head;
		s->tx_head = 0;
	}
	return s->tx_cap - s->tx_tail >= SRV_MAX_REPLY;
}

void vfk_srv_reply_commit_ext(struct srv_slot *s, uint32_t head_len, const void *data,
			      uint32_t data_len)
{
	struct vfu_hdr h;

	memcpy(&h, s->tx + s->tx_tail, sizeof(h));
	h.msg_size = VFU_HDR_SIZE + head_len + data_len;
	memcpy(s->tx + s->tx_tail, &h, sizeof(h));
	s->tx_tail += VFU_HDR_SIZE + head_len;
	s->tx_ext = data;
	s->tx_ext_len = data_len;
}

void vfk_srv_reply_error(struct srv_slot *s, const struct vfu_hdr *req, int err)
{
	struct vfu_hdr h;

	vfu_hdr_init(&h, req->msg_id, req->command, VFU_HDR_SIZE,
		     VFU_F_TYPE_REPLY | VFU_F_ERROR);
	h.error = (uint32_t)err;
	memcpy(s->tx + s->tx_tail, &h, sizeof(h));
	s->tx_tail += VFU_HDR_SIZE;
}

/* ---- input ----------------------------------------------------------- */

/* The message the fds of a read that ended at `end` belong to: the kernel
 * stops a stream read right after the chunk that carried fds, so they came
 * with the last message that starts before `end`. */
static size_t fd_owner(const struct srv_slot *s, size_t end)
{
	size_t pos = s->rx_head;

	while (pos + VFU_HDR_SIZE <= end) {
		struct vfu_hdr h;

		memcpy(&h, s->rx + pos, sizeof(h));
		if (h.msg_size < VFU_HDR_SIZE || h.msg_size > SRV_MAX_MSG ||
		    pos + h.msg_size >= end)
			break;
		pos += h.msg_size;
	}
	return pos;
}

/* fds held for messages not yet handled, in every set. */
static unsigned int rx_fds_held(const struct srv_slot *s)
{
	unsigned int n = s->rx_fds_pending ? s->rx_nfds : 0;

	for (unsigned int i = 0; i < s->rx_older_count; i++)
		n += s->rx_older[older_index(s, i)].nfds;
	return n;
}

/* fds arrived for a later message than the newest set's: that set joins
 * the earlier ones. false when the connection holds all the sets it may. */
static bool retire_newest_fds(struct srv_slot *s)
{
	struct srv_fd_set *set;

	if (s->rx_older_count == SRV_MAX_FD_SETS - 1)
		return false;
	set = &s->rx_older[older_index(s, s->rx_older_count++)];
	memcpy(set->fds, s->rx_fds, sizeof(int) * s->rx_nfds);
	set->nfds = s->rx_nfds;
	set->truncated = s->rx_fds_truncated;
	set->at = s->rx_fds_at;
	s->rx_nfds = 0;
	s->rx_fds_pending = false;
	s->rx_fds_truncated = false;
	return true;
}

/* The client keeps more fds waiting than a connection may hold: close
 * the new ones and drop it once the current message is done. */
static void refuse_fds(struct srv_slot *s, int *fds, unsigned int nfds,
		       unsigned int limit, const char *what)
{
	vfk_warn("%s: more than %u %s wait for their messages; dropping the client",
		 vfk_device_name(s->dev), limit, what);
	vfu_wire_close_fds(fds, nfds);
	s->broken = true;
}

/* Keep the fds a read of n bytes brought for the message they came with. */
static ssize_t keep_rx_fds(struct srv_slot *s, struct msghdr *msg, ssize_t n)
{
	int fds[VFU_WIRE_MAX_FDS];
	unsigned int nfds = 0;
	bool trunc = false;
	size_t owner;

	vfu_wire_take_fds(msg, fds, VFU_WIRE_MAX_FDS, &nfds, &trunc);
	if (n == 0 || (nfds == 0 && !trunc)) {
		vfu_wire_close_fds(fds, nfds);
		return n;
	}
	owner = fd_owner(s, s->rx_tail);
	if (s->rx_fds_pending && owner != s->rx_fds_at && !retire_newest_fds(s)) {
		refuse_fds(s, fds, nfds, SRV_MAX_FD_SETS, "fd sets");
		return n;
	}
	if (rx_fds_held(s) + nfds > SRV_MAX_HELD_FDS) {
		refuse_fds(s, fds, nfds, SRV_MAX_HELD_FDS, "fds");
		return n;
	}
	s->rx_fds_at = owner;
	for (unsigned int i = 0; i < nfds; i++) {
		if (s->rx_nfds < VFU_WIRE_MAX_FDS)
			s->rx_fds[s->rx_nfds++] = fds[i];
		else {
			close(fds[i]);
			trunc = true;
		}
	}
	s->rx_fds_truncated |= trunc;
	s->rx_fds_pending = true;
	return n;
}

/*
 * How much the next read may take. While the newest fds wait for a message
 * not yet complete, no further than its end (or its header's end): the
 * kernel ends a read after the next fds, so the rest of that message and a
 * later message with fds would otherwise come in one read. Stopping there
 * keeps every earlier set's message complete, and a DMA reply's own fds the
 * newest set when dma_msg.c cuts the reply out (see struct srv_slot).
 */
static size_t rx_read_limit(const struct srv_slot *s, size_t cap)
{
	size_t room = cap > s->rx_tail ? cap - s->rx_tail : 0, end;
	struct vfu_hdr h;

	if (!s->rx_fds_pending)
		return room;
	if (s->rx_tail - s->rx_fds_at < VFU_HDR_SIZE) {
		end = s->rx_fds_at + VFU_HDR_SIZE;
	} else {
		memcpy(&h, s->rx + s->rx_fds_at, sizeof(h));
		if (h.msg_size < VFU_HDR_SIZE || h.msg_size > SRV_MAX_MSG)
			return room;   /* process() refuses it */
		end = s->rx_fds_at + h.msg_size;
	}
	return end > s->rx_tail && end - s->rx_tail < room ? end - s->rx_tail : room;
}

/*
 * One recvmsg into the free tail of rx up to cap (see rx_read_limit()).
 * >0 bytes, 0 at EOF, -errno (-ENOBUFS: no room, nothing read).
 * Most reads carry no fds: the kernel then reports an empty control
 * buffer, and only that length is looked at. rx_read_cut tells whether
 * this read ended at fds, with more bytes possibly behind them.
 */
static ssize_t read_some(struct srv_slot *s, size_t cap)
{
	union {
		char buf[VFU_WIRE_RECV_CTL_SPACE];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { s->rx + s->rx_tail, rx_read_limit(s, cap) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;

	if (!iov.iov_len)   /* a 0-byte read would look like the end */
		return -ENOBUFS;
	do {
		n = recvmsg(s->conn_fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	s->rx_tail += (size_t)n;
	s->rx_read_cut = msg.msg_controllen != 0 || (msg.msg_flags & MSG_CTRUNC);
	if (!s->rx_read_cut)
		return n;
	return keep_rx_fds(s, &msg, n);
}

/* Make room at the end of rx by moving unprocessed bytes to the front. */
static void rx_compact(struct srv_slot *s)
{
	if (s->rx_head == 0)
		return;
	memmove(s->rx, s->rx + s->rx_head, s->rx_tail - s->rx_head);
	if (s->rx_fds_pending)
		s->rx_fds_at -= s->rx_head;
	for (unsigned int i = 0; i < s->rx_older_count; i++)
		s->rx_older[older_index(s, i)].at -= s->rx_head;
	s->rx_tail -= s->rx_head;
	s->rx_head = 0;
	if (s->rx_spilled && s->rx_tail <= s->rx_cap)
		release_spill(s);
}

/*
 * A read between messages: rx may move first, as no handler points into
 * it. With nothing buffered it takes at most SRV_FIRST_READ (see there);
 * rx_read_full says it filled that bound and more may be waiting.
 */
static ssize_t read_between(struct srv_slot *s)
{
	size_t cap = s->rx_cap;
	bool first = s->rx_tail == s->rx_head;
	ssize_t n;

	if (s->rx_tail + SRV_MAX_MSG > s->rx_cap)
		rx_compact(s);
	if (first && cap - s->rx_tail > SRV_FIRST_READ)
		cap = s->rx_tail + SRV_FIRST_READ;
	n = read_some(s, cap);
	s->rx_read_full = first && n == (ssize_t)SRV_FIRST_READ;
	return n;
}

/*
 * Read more while handling a message (DMA reply wait): never moves bytes,
 * as the handler's message (or the stream behind deferred work) points
 * into rx. The client may have queued any amount ahead of its answer
 * (posted writes keep coming while its vCPU runs), so the read may go
 * past rx_cap into the reserve; -ENOBUFS only when SRV_RX_RESERVE is full.
 */
int vfk_srv_fill_rx(struct srv_slot *s, int64_t deadline_ms)
{
	for (;;) {
		ssize_t n;

		n = read_some(s, SRV_RX_RESERVE);
		if (s->rx_tail > s->rx_cap)
			s->rx_spilled = true;
		if (n > 0)   /* broken: refused fds, the wait is pointless */
			return s->broken ? -EPROTO : 0;
		if (n == 0)
			return -ECONNRESET;
		if (n != -EAGAIN)
			return (int)n;
		n = vfk_srv_wait_conn(s, POLLIN, deadline_ms);
		if (n < 0)
			return (int)n;
	}
}

static bool cmd_wants_reply(const struct vfu_hdr *h)
{
	return !(h->flags & VFU_F_NO_REPLY);
}

/*
 * Give the message at rx_head the fds that came with it, if any: they are
 * the oldest set held (sets are in stream order). Copied out to fds, as
 * the set's place may take new fds while the handler waits on the client.
 */
static void claim_fds(struct srv_slot *s, struct srv_msg *m, int *fds)
{
	if (s->rx_older_count) {
		struct srv_fd_set *set = &s->rx_older[s->rx_older_first];

		if (set->at != s->rx_head)
			return;
		memcpy(fds, set->fds, sizeof(int) * set->nfds);
		m->nfds = set->nfds;
		m->fds_truncated = set->truncated;
		s->rx_older_first = older_index(s, 1);
		s->rx_older_count--;
	} else if (s->rx_fds_pending && s->rx_fds_at == s->rx_head) {
		memcpy(fds, s->rx_fds, sizeof(int) * s->rx_nfds);
		m->nfds = s->rx_nfds;
		m->fds_truncated = s->rx_fds_truncated;
		s->rx_nfds = 0;
		s->rx_fds_pending = false;
		s->rx_fds_truncated = false;
	} else {
		return;
	}
	m->fds = fds;
}

/* Handle the complete message at rx_head; it stays pinned meanwhile.
 * false when it must wait (SRV_HOLD) and be handled again. */
static bool handle_one(struct srv_slot *s, const struct vfu_hdr *h)
{
	struct srv_msg m = {
		.hdr = *h,
		.payload = s->rx + s->rx_head + VFU_HDR_SIZE,
		.len = h->msg_size - VFU_HDR_SIZE,
	};
	int fds[VFU_WIRE_MAX_FDS];
	int r;

	if (s->rx_fds_pending || s->rx_older_count)
		claim_fds(s, &m, fds);
	if ((h->flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_COMMAND) {
		vfk_warn("%s: unexpected message type %#x (command %u)",
			 vfk_device_name(s->dev), h->flags, h->command);
		r = -EINVAL;
	} else {
		r = vfk_srv_dispatch(s, &m);
	}
	if (m.nfds)
		vfu_wire_close_fds(m.fds, m.nfds);
	if (r == SRV_HOLD)
		return false;
	if (r < 0 && cmd_wants_reply(h) &&
	    (h->flags & VFU_F_TYPE_MASK) == VFU_F_TYPE_COMMAND)
		vfk_srv_reply_error(s, h, -r);
	else if (r < 0)
		vfk_dbg("%s: command %u failed: %s (no reply wanted)",
			vfk_device_name(s->dev), h->command, strerror(-r));
	return true;
}

/* Receive what has come of a direct write; false when the connection
 * must close. */
static bool direct_write_on(struct srv_slot *s)
{
	int r = vfk_srv_direct_write_recv(s);

	if (r < 0 && r != -EAGAIN)
		s->broken = true;
	return !s->broken;
}

/* Handle every complete message; false when the connection must close.
 * A message held for the model's quiesce stops it until the model is done. */
static bool process(struct srv_slot *s)
{
	if (s->quiescing && !s->quiesce_done)
		return !s->broken;
	set_quiescing(s, false);
	while (!s->broken && s->rx_tail - s->rx_head >= VFU_HDR_SIZE) {
		struct vfu_hdr h;

		memcpy(&h, s->rx + s->rx_head, sizeof(h));
		if (h.msg_size < VFU_HDR_SIZE || h.msg_size > SRV_MAX_MSG) {
			vfk_warn("%s: message size %u out of range",
				 vfk_device_name(s->dev), h.msg_size);
			return false;
		}
		/* An fd or external data blocks the next message until sent:
		 * try once now rather than after another trip through epoll. */
		if (!tx_has_room(s) && (vfk_srv_flush(s) != 0 || !tx_has_room(s))) {
			if (s->rx_tail - s->rx_head >= h.msg_size)
				s->reading = false;   /* resumed by vfk_srv_conn_writable */
			break;
		}
		if (s->rx_tail - s->rx_head < h.msg_size) {
			if (vfk_srv_direct_write_start(s, &h))
				return direct_write_on(s);
			break;
		}
		if (!handle_one(s, &h)) {
			set_quiescing(s, true);
			return !s->broken;
		}
		s->rx_head += h.msg_size;
	}
	if (s->rx_head == s->rx_tail) {
		s->rx_head = s->rx_tail = 0;
		if (s->rx_fds_pending || s->rx_older_count)   /* fds with no message: hostile */
			drop_rx_fds(s);
		if (s->rx_spilled)
			release_spill(s);
	}
	return !s->broken;
}

/*
 * The device's deferred work (vfk_device_defer) runs once the batch's
 * replies are out: QEMU serves our DMA_READ/DMA_WRITE requests only after
 * it has the reply it waits for. Messages that arrived while that work
 * waited on the peer are handled next, then any work they queued.
 * While another slot waits on its client (srv->waiter: we are in the
 * nested level) the work is postponed to the top level instead: it may
 * wait on our client too, and waits do not nest.
 * false when the connection must close.
 */
static bool run_deferred(struct srv_slot *s)
{
	if (s->srv->waiter) {
		if (vfk_device_deferred_count(s->dev) > 0)
			set_postponed(s, true);
		return !s->broken;
	}
	while (!s->broken && vfk_device_deferred_count(s->dev) > 0) {
		if (vfk_srv_flush_all(s, vfk_srv_now_ms() + SRV_STALL_MS) < 0)
			return false;
		vfk_device_run_deferred(s->dev);
		if (!process(s))
			return false;
	}
	return !s->broken;
}

static void after_batch(struct srv_slot *s)
{
	/* The model may have ended its quiesce (in a handler, deferred work or
	 * an event source): the held message, and what follows it, go now. */
	bool ok = (!s->quiesce_done || process(s)) && run_deferred(s);
	int r = ok ? vfk_srv_flush(s) : -EPIPE;
	bool want_out = r == -EAGAIN || !s->reading;   /* paused: EPOLLOUT resumes reading */

	if (r < 0 && r != -EAGAIN) {
		vfk_srv_conn_close(s, "send failed");
		return;
	}
	if (want_out != s->want_out || !s->reading) {
		s->want_out = want_out;
		vfk_srv_update_events(s);
	}
}

/*
 * Handle the messages read so far, and read on while the last read ended
 * at fds: the kernel stops a stream read right after them, so what the
 * client wrote behind (the DMA_UNMAP QEMU pipelines behind a DMA_MAP) is
 * probably there already, and its reply can leave with the others in one
 * send: the client wakes once. At most SRV_MAX_EXTRA_READS more reads, as
 * the other connections wait meanwhile; none while output blocks reading.
 * A read that finds nothing, the end or an error ends the batch, whose
 * replies still go (a half-closed client reads them): the end stays, an
 * AF_UNIX reset leaves the end behind, and the next wake-up reads that.
 * The last read may also be one a handler made waiting for a DMA reply.
 * false when the connection must close.
 */
static bool process_reading_on(struct srv_slot *s)
{
	for (unsigned int extra = 0;; extra++) {
		if (!process(s))
			return false;
		if ((!s->rx_read_cut && !s->rx_read_full) || !s->reading || s->dw_left ||
		    extra == SRV_MAX_EXTRA_READS || read_between(s) <= 0)
			return true;
	}
}

void vfk_srv_conn_readable(struct srv_slot *s)
{
	ssize_t n;

	if (!s->reading || s->deferred_postponed || s->quiescing)
		return;
	s->tracing = vfk_log_get_level() >= VFK_LOG_DEBUG;
	if (s->dw_left) {   /* a direct write's data: the rest waits behind it */
		n = vfk_srv_direct_write_recv(s);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			vfk_srv_conn_close(s, n == -ECONNRESET ? "end of stream" : strerror((int)-n));
			return;
		}
		after_batch(s);
		return;
	}
	n = read_between(s);
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		vfk_srv_conn_close(s, n == 0 ? "end of stream" : strerror((int)-n));
		return;
	}
	if (!process_reading_on(s)) {
		/* Let the answers so far (e.g. the refusal) out first. */
		vfk_srv_flush(s);
		vfk_srv_conn_close(s, "protocol error");
		return;
	}
	after_batch(s);
}

void vfk_srv_conn_after_events(struct srv_slot *s)
{
	if (s->conn_fd < 0) {
		/* No client to wait on: the work runs now (its DMA fails). */
		vfk_device_run_deferred(s->dev);
		return;
	}
	if (!s->deferred_postponed)
		after_batch(s);
}

void vfk_srv_conn_run_postponed(struct srv_slot *s)
{
	set_postponed(s, false);
	after_batch(s);
}

void vfk_srv_conn_writable(struct srv_slot *s)
{
	int r = vfk_srv_flush(s);

	if (r < 0 && r != -EAGAIN) {
		vfk_srv_conn_close(s, "send failed");
		return;
	}
	if (r == 0 && !s->reading && !s->deferred_postponed) {
		s->reading = true;
		s->tracing = vfk_log_get_level() >= VFK_LOG_DEBUG;
		if (!process(s) || !run_deferred(s)) {
			vfk_srv_conn_close(s, "protocol error");
			return;
		}
		r = vfk_srv_flush(s);
		if (r < 0 && r != -EAGAIN) {
			vfk_srv_conn_close(s, "send failed");
			return;
		}
	}
	s->want_out = r == -EAGAIN || !s->reading;
	vfk_srv_update_events(s);
}

void vfk_srv_conn_check_stall(struct srv_slot *s, int64_t now)
{
	if (s->conn_fd < 0)
		return;
	if (s->stall_since_ms >= 0 && now - s->stall_since_ms >= SRV_STALL_MS)
		vfk_srv_conn_close(s, "replies left unread");
	else if (s->quiescing && now - s->quiesce_since_ms >= SRV_STALL_MS)
		vfk_srv_conn_close(s, "the device did not finish its DMA in time for an unmap");
}
