/* SPDX-License-Identifier: MIT */
/*
 * vfio-user socket I/O for both ends: whole messages over an AF_UNIX
 * stream socket, surviving partial reads and writes, with file descriptors
 * as SCM_RIGHTS. Blocking and non-blocking sockets both work: the "whole"
 * functions poll() when the socket says EAGAIN.
 *
 * All functions return a negative errno on failure. Received fds are
 * opened close-on-exec and belong to the caller.
 */
#ifndef VFIOKIT_VFIO_USER_WIRE_H
#define VFIOKIT_VFIO_USER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "vfio-user/protocol.h"

/* Internal to libvfiokit: hidden, so the library exports only what
 * include/vfiokit/ declares (src/libvfiokit.map), and calls between its
 * files need no PLT hop. */
#pragma GCC visibility push(hidden)

/* Most fds one message may carry in either direction (QEMU's ceiling). */
#define VFU_WIRE_MAX_FDS  VFU_QEMU_MAX_MSG_FDS

/* Most iovec entries vfu_wire_send() accepts. */
#define VFU_WIRE_MAX_IOV  8

/** Fill a command (or reply, with VFU_F_TYPE_REPLY in flags) header. */
void vfu_hdr_init(struct vfu_hdr *hdr, uint16_t msg_id, uint16_t command,
		  uint32_t msg_size, uint32_t flags);

/**
 * One sendmsg() of iov, with nfds fds (may be 0) attached to its first
 * byte. Never raises SIGPIPE. Returns the bytes sent (possibly fewer than
 * asked) or -errno (-EAGAIN on a full non-blocking socket).
 */
ssize_t vfu_wire_sendmsg(int sock, const struct iovec *iov, int iovcnt,
			 const int *fds, unsigned int nfds);

/**
 * Send all of iov (iovcnt <= VFU_WIRE_MAX_IOV), the fds attached to the
 * first byte, looping over partial writes and waiting up to timeout_ms
 * (-1: forever) in total for room. 0, -ETIMEDOUT, -EPIPE, ... The fds are
 * borrowed (the kernel duplicates them).
 */
int vfu_wire_send(int sock, const struct iovec *iov, int iovcnt,
		  const int *fds, unsigned int nfds, int timeout_ms);

/* Control buffer of a receive: room for one fd more than allowed, so an
 * excess is seen (and closed), not silently dropped by the kernel. */
#define VFU_WIRE_RECV_CTL_SPACE CMSG_SPACE(sizeof(int) * (VFU_WIRE_MAX_FDS + 1))

/**
 * After a recvmsg() with a VFU_WIRE_RECV_CTL_SPACE control buffer: store
 * the SCM_RIGHTS fds of msg in fds[*nfds..max_fds), close any beyond and
 * set *truncated then or when the kernel cut the control data
 * (MSG_CTRUNC). For callers that make their own recvmsg() (the server
 * looks at the control data only when the kernel filled some).
 */
void vfu_wire_take_fds(struct msghdr *msg, int *fds, unsigned int max_fds,
		       unsigned int *nfds, bool *truncated);

/**
 * One recvmsg() of up to len bytes. fds that came along are stored in
 * fds[0..*nfds); any beyond max_fds (or that the kernel had to drop) are
 * closed and *fds_truncated is set. Returns the bytes read, 0 at end of
 * stream, or -errno (-EAGAIN on an empty non-blocking socket).
 */
ssize_t vfu_wire_recvmsg(int sock, void *buf, size_t len, int *fds,
			 unsigned int max_fds, unsigned int *nfds,
			 bool *fds_truncated);

/**
 * Receive exactly one message into buf (cap bytes): the header first,
 * then msg_size - 16 more bytes, never reading past the message, waiting
 * up to timeout_ms (-1: forever) in total. fds that came with it go to
 * fds[0..*nfds) (at most max_fds). Returns msg_size; -ECONNRESET when the
 * peer closed, -EPROTO for msg_size < 16 or more fds than max_fds,
 * -EMSGSIZE when msg_size > cap, -ETIMEDOUT. After an error the stream
 * is out of step: close it. On error every received fd is closed.
 */
ssize_t vfu_wire_recv_msg(int sock, void *buf, size_t cap, int *fds,
			  unsigned int max_fds, unsigned int *nfds, int timeout_ms);

/** Close n fds (skipping negative ones) and set them to -1. */
void vfu_wire_close_fds(int *fds, unsigned int n);

#pragma GCC visibility pop

#endif
