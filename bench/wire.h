/* SPDX-License-Identifier: MIT */
/*
 * Stream-socket I/O of the benchmark client, shared by the floor and the
 * vfio-user measurements so that both make exactly the same system calls
 * per exchange: one write (sendmsg when an fd travels) of header+payload,
 * then reads until the whole reply message is in.
 *
 * Every message starts with the vfio-user header (struct vfu_hdr); the
 * reader uses its msg_size to know when a message is complete.
 */
#ifndef VFIOKIT_BENCH_WIRE_H
#define VFIOKIT_BENCH_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vfio-user/protocol.h"

/* Raise sock's send and receive buffers to what a 1 MiB message needs
 * (as the vfiokit server does), so floor and server run alike. */
void bench_size_buffers(int sock);

/* Write len bytes, with pass_fd (>= 0) as SCM_RIGHTS on the first chunk. 0 or -errno. */
int bench_send(int sock, const void *buf, size_t len, int pass_fd);

/*
 * One recvmsg of up to len bytes. The first fd received goes to *fd_out
 * when fd_out is not NULL and *fd_out is -1; every other fd is closed.
 * Returns the byte count, 0 at end of stream, or -1 with errno.
 */
ssize_t bench_recv_fds(int sock, void *buf, size_t len, int *fd_out);

/*
 * Read one whole message (at most cap bytes) into buf; the caller must
 * have no other message coming (reads ask for up to cap bytes). When fd_out is not
 * NULL the reads use recvmsg and *fd_out gets a received fd or -1.
 * Returns the message size, -EPIPE at end of stream, -EMSGSIZE when the
 * header announces more than cap or less than a header, or -errno.
 */
long bench_recv_msg(int sock, void *buf, size_t cap, int *fd_out);

/* One request/reply exchange; returns the reply size or -errno. */
long bench_roundtrip(int sock, const void *req, size_t req_len, int pass_fd,
		     void *reply, size_t reply_cap, int *fd_out);

/*
 * Read exactly count whole messages (at most cap bytes together) into buf,
 * back to back; the caller must have no further message coming. Replies
 * carry no fds here (plain reads). Returns the total size, -EPIPE at end of
 * stream, -EMSGSIZE when a header announces less than a header or more
 * than fits, or -errno.
 */
long bench_recv_msgs(int sock, void *buf, size_t cap, unsigned int count);

/*
 * Two requests pipelined, as QEMU's vfio-user container sends DMA_MAP and
 * DMA_UNMAP inside a memory transaction: write a (with pass_fd >= 0 as
 * SCM_RIGHTS) and b without waiting, then read both replies into reply.
 * Returns the replies' total size or -errno.
 */
long bench_pipelined_pair(int sock, const void *a, size_t a_len, int pass_fd,
			  const void *b, size_t b_len, void *reply, size_t reply_cap);

#endif
