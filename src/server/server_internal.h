/* SPDX-License-Identifier: MIT */
/*
 * The vfio-user server's private state, shared by the files of src/server.
 *
 * One struct srv_slot per served device: its listening socket and, when a
 * client is connected, that connection's buffers. Buffers are allocated
 * once per slot and reused by every client and every message.
 */
#ifndef VFIOKIT_SERVER_INTERNAL_H
#define VFIOKIT_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/types.h>

#include <vfiokit/dma.h>
#include <vfiokit/server.h>
#include <vfiokit/transport.h>
#include "vfio-user/protocol.h"
#include "vfio-user/version.h"
#include "vfio-user/wire.h"

/* Everything declared below stays inside the library: calls between the
 * server's files are then direct (no PLT hop) and the compiler may inline
 * them, which it may not do for a symbol another object could interpose. */
#pragma GCC visibility push(hidden)

/* What we accept in one message's data (REGION_READ/WRITE count). */
#define SRV_MAX_DATA_XFER   VFU_DEFAULT_MAX_DATA_XFER
/* Largest message we take: a REGION_WRITE of the maximum count. */
#define SRV_MAX_MSG         (VFU_HDR_SIZE + sizeof(struct vfu_region_rw) + SRV_MAX_DATA_XFER)
/* Region-info answers are capped here: the core's chains stay far below. */
#define SRV_MAX_REGION_INFO (128u * 1024u)
/* REGION_READs of at least this many bytes from a plain-memory region
 * are sent from the region's memory, not copied into tx first. */
#define SRV_DIRECT_READ_MIN (16u * 1024u)
/* REGION_WRITEs of at least this many bytes to a region with direct
 * memory are received straight into it (direct_write.c). */
#define SRV_DIRECT_WRITE_MIN (16u * 1024u)
/* A read with nothing buffered takes at most this much, so that a large
 * REGION_WRITE's data mostly stays in the socket until its header is
 * seen; smaller messages (a 4 KiB write with its headers too) still come
 * whole in one read. A read that fills it is followed by another. */
#define SRV_FIRST_READ      SRV_DIRECT_WRITE_MIN
/* Largest reply: a REGION_READ of the maximum count. */
#define SRV_MAX_REPLY       SRV_MAX_MSG
/* What rx may hold while a handler or deferred work waits on the client's
 * DMA answer (rx cannot move then): everything the client queued ahead of
 * the answer. Address space only; the pages a wait touched past rx_cap
 * are given back when rx drains. */
#define SRV_RX_RESERVE      (64u << 20)
/* mmaps of the process kept out of the DMA windows' budget: libraries,
 * heap, stacks, the slots' buffers (three each). */
#define SRV_MAP_HEADROOM    8192u
/* Socket buffers of a connection: a maximal reply (and request) in
 * flight at once, so a 1 MiB read is not cut into several wake-ups. */
#define SRV_SOCK_BUF        (2 * SRV_MAX_MSG)
/* Vectors of one SET_IRQS (MSI-X has at most 2048). */
#define SRV_MAX_IRQ_VECTORS 2048u
/* A client that leaves replies unread this long, or does not answer a
 * DMA_READ/DMA_WRITE in this time, is disconnected. */
#define SRV_STALL_MS        5000
/* fd sets a connection may hold for messages not yet handled, and fds in
 * them all. More than one set waits only while the server waits on the
 * client's DMA reply and the client pipelines messages with fds (QEMU maps
 * and unmaps guest RAM asynchronously); past either cap it is dropped. */
#define SRV_MAX_FD_SETS     16u
#define SRV_MAX_HELD_FDS    64u
/* Reads a wake-up may add, each after one that brought fds (the kernel
 * ends a read there), before its replies go: QEMU's DMA_MAP+DMA_UNMAP
 * then get one send. Few, as the other connections wait meanwhile. */
#define SRV_MAX_EXTRA_READS 4u
/* A created socket's mode unless set: its owner alone may connect. */
#define SRV_SOCK_MODE       0600

struct srv_slot;

/* fds received with one message and waiting for it to be handled. */
struct srv_fd_set {
	int fds[VFU_WIRE_MAX_FDS];
	unsigned int nfds;
	bool truncated;             /* the client sent more than fit */
	size_t at;                  /* offset in rx of the message they belong to */
};

/* epoll user data: what became ready. */
enum srv_tag_kind { SRV_TAG_WAKE, SRV_TAG_LISTEN, SRV_TAG_CONN, SRV_TAG_EVENTS };
struct srv_tag {
	enum srv_tag_kind kind;
	struct srv_slot *slot;
};

struct srv_slot {
	struct vfk_server *srv;
	struct vfk_device *dev;
	struct srv_slot *next;
	struct srv_tag listen_tag, conn_tag, events_tag;
	int events_fd;              /* the device's event sources (vfk_device_events_fd) */
	int listen_fd;
	char *path;                 /* socket file we created, or NULL */
	dev_t path_dev;             /* ... and its inode, to unlink it only if */
	ino_t path_ino;             /* nobody replaced it since (server.c) */

	/* The connection; conn_fd -1 when no client. */
	int conn_fd;
	bool negotiated;
	bool broken;                /* close once the current message is done */
	bool want_out;              /* EPOLLOUT registered */
	bool reading;               /* EPOLLIN registered */
	bool tracing;               /* debug logging on: read once per batch of messages */
	bool deferred_postponed;    /* deferred work left for the top level (see run_deferred) */
	/* The message at rx_head (a DMA_UNMAP) waits for the model to finish
	 * DMA in flight (vfk_dma_quiesced: quiesce_done); nothing behind it
	 * is read meanwhile, for at most SRV_STALL_MS. */
	bool quiescing, quiesce_done;
	int64_t quiesce_since_ms;
	struct vfu_caps peer;
	uint16_t next_id;           /* for server-to-client commands */

	/* Received bytes [rx_head, rx_tail) of rx. Reads between messages
	 * fill rx up to rx_cap; a DMA wait may read on up to SRV_RX_RESERVE
	 * (rx_spilled: it did). */
	uint8_t *rx;
	size_t rx_cap, rx_head, rx_tail;
	bool rx_spilled;
	/*
	 * fds received and not yet claimed. The newest set, owned by the
	 * message at rx_fds_at, is kept here; when fds arrive for a later
	 * message it moves to rx_older, a ring of the earlier sets, oldest
	 * first (each for a complete message: see rx_read_limit()). Sets are
	 * in stream order, at most SRV_MAX_FD_SETS with SRV_MAX_HELD_FDS fds.
	 * dma_msg.c cuts a DMA reply out of rx and moves only the newest set:
	 * a read brings at most one set and ends with it, and the reply is
	 * looked for after each read, so no earlier set lies at or past it.
	 */
	int rx_fds[VFU_WIRE_MAX_FDS];
	unsigned int rx_nfds;
	bool rx_fds_pending;
	bool rx_fds_truncated;
	size_t rx_fds_at;
	struct srv_fd_set rx_older[SRV_MAX_FD_SETS - 1];
	unsigned int rx_older_first, rx_older_count;
	bool rx_read_cut;           /* the last read (a DMA wait's too) ended at fds: more may wait */
	bool rx_read_full;          /* the last read filled its SRV_FIRST_READ bound: more may wait */

	/* A REGION_WRITE being received into region memory (direct_write.c):
	 * dw_left bytes still to come, to dw_dst; nothing else is read or
	 * handled meanwhile. */
	uint8_t *dw_dst;
	size_t dw_left;
	struct vfu_hdr dw_hdr;
	struct vfu_region_rw dw_rw;
	bool dw_bad_fds;            /* fds came with its data: answered EINVAL */

	/* Replies to send: [tx_head, tx_tail) of tx[tx_cap]; a reply that
	 * carries an fd starts at tx_fd_at. */
	uint8_t *tx;
	size_t tx_cap, tx_head, tx_tail;
	int tx_fd;                  /* borrowed from the core, or -1 */
	size_t tx_fd_at;
	/* The last reply's data when it is sent from region memory rather
	 * than tx (a large REGION_READ): tx_ext_len bytes at tx_ext follow
	 * tx_tail on the wire. No message is handled while any is left, so
	 * nothing can change those bytes before they are out. */
	const uint8_t *tx_ext;
	size_t tx_ext_len;
	int64_t stall_since_ms;     /* output blocked since, or -1 */

	/* Server-to-client DMA messages are built here. */
	uint8_t *dma_buf;
	size_t dma_cap;

	struct vfk_dma_transport dma_transport;  /* ctx = this slot */
	int irq_fds[SRV_MAX_IRQ_VECTORS];
};

struct vfk_server {
	int epfd;
	uint64_t dma_max_maps;      /* per connection (vfk_server_set_dma_limits) */
	uint64_t dma_max_bytes;
	uint64_t map_budget;        /* DMA windows of all connections (vfk_server_set_map_budget) */
	int wake_fd;
	struct srv_tag wake_tag;
	atomic_int stop;            /* set from any thread or a signal handler: lock-free */
	struct srv_slot *slots;
	unsigned int stalled;       /* slots with a deadline (stalled or quiescing): the clock is read only then */
	/* The slot waiting on its client inside a handler (vfk_srv_wait_conn),
	 * while the other slots are served in a nested event wait; NULL at
	 * the top level. At most one: the nested level never waits. */
	struct srv_slot *waiter;
	unsigned int postponed;     /* slots with deferred_postponed set */
	/* Polling (vfk_server_set_poll_us): after a batch, the sockets are
	 * checked without sleeping for poll_ns before the loop sleeps.
	 * busy_ns: when the last batch was served (0: never). */
	int64_t poll_ns;
	int64_t busy_ns;

	/* Sockets vfk_server_add_device() creates (vfk_server_set_socket_perms). */
	mode_t sock_mode;           /* 0: SRV_SOCK_MODE */
	bool sock_gid_set;
	gid_t sock_gid;
};

/* A received message, validated for framing only. */
struct srv_msg {
	struct vfu_hdr hdr;
	const uint8_t *payload;     /* inside rx; may be unaligned */
	uint32_t len;               /* payload bytes */
	int *fds;                   /* the message's fds; handlers may take them (set -1) */
	unsigned int nfds;
	bool fds_truncated;         /* the client sent more than fit */
};

/* server.c */
int64_t vfk_srv_now_ms(void);
/* A connection's DMA windows: srv's budget over the devices of every
 * server in the process. */
uint64_t vfk_srv_window_share(const struct vfk_server *srv);
void vfk_srv_update_events(struct srv_slot *s);
/* Wait until s's connection is ready for events (poll bits) or
 * deadline_ms passes, serving every other slot meanwhile. 0 when ready
 * (or woken early: the caller retries), -ETIMEDOUT, or -errno. Never
 * called from the nested level (vfk_srv_dma_rw refuses, run_deferred
 * postpones). */
int vfk_srv_wait_conn(struct srv_slot *s, short events, int64_t deadline_ms);

/* conn.c */
void vfk_srv_conn_open(struct srv_slot *s, int fd);
void vfk_srv_conn_close(struct srv_slot *s, const char *why);
void vfk_srv_conn_readable(struct srv_slot *s);
void vfk_srv_conn_writable(struct srv_slot *s);
/* The device's event sources ran: its deferred work and replies follow. */
void vfk_srv_conn_after_events(struct srv_slot *s);
void vfk_srv_conn_check_stall(struct srv_slot *s, int64_t now);
/* When s must be looked at again (a stall's or a quiesce's end), or -1. */
int64_t vfk_srv_conn_deadline(const struct srv_slot *s);
int vfk_srv_flush(struct srv_slot *s);
int vfk_srv_flush_all(struct srv_slot *s, int64_t deadline_ms);
int vfk_srv_fill_rx(struct srv_slot *s, int64_t deadline_ms);
/* Run the deferred work postponed while another slot waited; top level only. */
void vfk_srv_conn_run_postponed(struct srv_slot *s);

/* Start a reply to req at tx_tail (process() made room for the largest):
 * its header is written, the payload goes at the returned address. NULL
 * when payload_len is beyond what a reply may hold. Inline: every command
 * passes here. */
static inline void *vfk_srv_reply_begin(struct srv_slot *s, const struct vfu_hdr *req,
					uint32_t payload_len)
{
	struct vfu_hdr h = {
		.msg_id = req->msg_id,
		.command = req->command,
		.msg_size = VFU_HDR_SIZE + payload_len,
		.flags = VFU_F_TYPE_REPLY,
	};

	if (payload_len > SRV_MAX_REPLY - VFU_HDR_SIZE)
		return NULL;
	memcpy(s->tx + s->tx_tail, &h, sizeof(h));
	return s->tx + s->tx_tail + VFU_HDR_SIZE;
}

/* Queue the reply begun at tx_tail with payload_len bytes (the handler may
 * have shrunk it: a short read), and fd (-1: none) borrowed from the core. */
static inline void vfk_srv_reply_commit(struct srv_slot *s, uint32_t payload_len, int fd)
{
	uint32_t size = VFU_HDR_SIZE + payload_len;

	memcpy(s->tx + s->tx_tail + offsetof(struct vfu_hdr, msg_size), &size, sizeof(size));
	if (fd >= 0) {
		s->tx_fd = fd;
		s->tx_fd_at = s->tx_tail;
	}
	s->tx_tail += size;
}
/* Commit a reply whose payload is the head_len bytes built in tx followed
 * by data_len bytes sent straight from data (see tx_ext). */
void vfk_srv_reply_commit_ext(struct srv_slot *s, uint32_t head_len, const void *data,
			      uint32_t data_len);
void vfk_srv_reply_error(struct srv_slot *s, const struct vfu_hdr *req, int err);

/* commands.c: handle one message; 0 when a reply was queued (or is not
 * wanted), SRV_HOLD when the message must wait (the model quiesces its
 * DMA) and be handled again, else -errno to answer with an error. */
#define SRV_HOLD 1
int vfk_srv_dispatch(struct srv_slot *s, struct srv_msg *m);

/* direct_write.c */
/* Start receiving the incomplete REGION_WRITE at rx_head into region
 * memory: 1 when started (its bytes left rx; dw_left > 0), 0 when it must
 * be copied instead. The caller made room for its reply. */
int vfk_srv_direct_write_start(struct srv_slot *s, const struct vfu_hdr *h);
/* Receive what has come of it: 0 when complete (its reply queued),
 * -EAGAIN when more is to come, else -errno (the connection must close). */
int vfk_srv_direct_write_recv(struct srv_slot *s);
/* Receive the rest, waiting up to the deadline: 0 or -errno. */
int vfk_srv_direct_write_wait(struct srv_slot *s, int64_t deadline_ms);

/* dma_msg.c */
int vfk_srv_dma_rw(void *ctx, uint64_t iova, void *buf, size_t len, bool write);
void vfk_srv_dma_memory_lost(void *ctx);
void vfk_srv_dma_quiesced(void *ctx);

#pragma GCC visibility pop

#endif
