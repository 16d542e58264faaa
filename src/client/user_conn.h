/* SPDX-License-Identifier: MIT */
/*
 * The vfio-user client connection: one request, one validated reply,
 * answering the server's DMA_READ/DMA_WRITE commands that arrive while it
 * waits. user_conn.c has the transport, vfio_user.c the VFIO operations.
 */
#ifndef VFIOKIT_CLIENT_USER_CONN_H
#define VFIOKIT_CLIENT_USER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "client_internal.h"
#include "vfio-user/version.h"
#include "vfio-user/wire.h"

/* Internal to libvfiokit: hidden, so the library exports only what
 * include/vfiokit/ declares (src/libvfiokit.map), and calls between its
 * files need no PLT hop. */
#pragma GCC visibility push(hidden)

/* The largest data count this client accepts (its VERSION offer). */
#define USER_MAX_DATA_XFER  (1024u * 1024u)

/* Client memory the server may reach with DMA_READ/DMA_WRITE. */
struct user_dma {
	uint64_t iova;
	uint64_t size;
	uint8_t *vaddr;
};

struct user_client {
	struct vfk_client base;
	int sock;
	bool broken;             /* the stream is out of step: every call fails */
	uint16_t next_id;
	int timeout_ms;
	int64_t deadline;        /* the current call's end, CLOCK_MONOTONIC ms */
	struct vfu_caps server;  /* what the server accepted in VERSION */
	uint64_t xfer_max;       /* chunk size for region accesses */
	uint8_t *buf;            /* receive buffer, reused for every message */
	size_t buf_size;
	struct user_dma *dma;    /* mappings with a vaddr */
	size_t nr_dma, dma_cap;
};

/** A reply: its payload (inside uc->buf, valid until the next call) and fds. */
struct user_reply {
	const uint8_t *payload;
	size_t len;
	int fds[VFU_WIRE_MAX_FDS];
	unsigned int nfds;
	bool server_error;       /* the failure was the server's error reply */
};

/**
 * Start an API call: every send and wait until the next user_begin, DMA
 * answers included, must be done within timeout_ms from now.
 */
void user_begin(struct user_client *uc);

/**
 * Send command with the payload in iov (iovcnt <= 4) and fds, and wait
 * for its reply: same msg_id and command, reply type, no more than
 * max_fds fds (extra fds are closed: -EPROTO), before the call's deadline
 * (user_begin). The server's DMA_READ/DMA_WRITE commands that come first
 * are answered; an answer that cannot be sent fails the call with the
 * send's -errno (-EPIPE, -ETIMEDOUT, ...). An error reply is its -errno.
 * With no_reply, send only. Any other failure (timeout, closed or
 * malformed stream, an answer not sent) marks the connection broken:
 * later calls are -EPIPE. On error no fd is left open.
 */
int user_call(struct user_client *uc, uint16_t command, const struct iovec *iov, int iovcnt,
	      const int *fds, unsigned int nfds, bool no_reply, unsigned int max_fds,
	      struct user_reply *reply);

/**
 * The two halves of user_call, for requests kept in flight: user_send
 * sends (*id gets the request's msg_id), user_wait waits for the reply to
 * (id, command), both before the call's deadline. Replies come in
 * request order. Failures other than an error reply mark the connection
 * broken, as in user_call.
 */
int user_send(struct user_client *uc, uint16_t command, const struct iovec *iov, int iovcnt,
	      const int *fds, unsigned int nfds, bool no_reply, uint16_t *id);
int user_wait(struct user_client *uc, uint16_t id, uint16_t command, unsigned int max_fds,
	      struct user_reply *reply);

/** Connect to path and negotiate VERSION; errmsg explains a failure. */
int user_connect(struct user_client *uc, const char *path, char *errmsg, size_t errmsg_len);

#pragma GCC visibility pop

#endif
