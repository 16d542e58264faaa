/* SPDX-License-Identifier: MIT */
#include "wire.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

static ssize_t send_with_fd(int sock, const void *buf, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;

	memset(&ctl, 0, sizeof(ctl));   /* the kernel reads the padding too */
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

void bench_size_buffers(int sock)
{
	int len = 2 * (1 << 20) + 4096;

	/* Best effort: the kernel caps at net.core.wmem_max/rmem_max. */
	setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &len, sizeof(len));
	setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &len, sizeof(len));
}

int bench_send(int sock, const void *buf, size_t len, int pass_fd)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = pass_fd >= 0 ? send_with_fd(sock, p, len, pass_fd)
					 : write(sock, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		pass_fd = -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t bench_recv_fds(int sock, void *buf, size_t len, int *fd_out)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

	if (n < 0)
		return n;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfds; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (fd_out && *fd_out < 0)
				*fd_out = fd;
			else
				close(fd);
		}
	}
	return n;
}

/* One read (recvmsg taking fds into *fd_out when fd_out is not NULL) of
 * up to len bytes, again when a signal cut it: the byte count, -EPIPE at
 * end of stream, or -errno. */
static long read_some(int sock, char *p, size_t len, int *fd_out)
{
	for (;;) {
		ssize_t n = fd_out ? bench_recv_fds(sock, p, len, fd_out) : read(sock, p, len);

		if (n > 0)
			return n;
		if (n == 0)
			return -EPIPE;
		if (errno != EINTR)
			return -errno;
	}
}

long bench_recv_msg(int sock, void *buf, size_t cap, int *fd_out)
{
	size_t have = 0, want = sizeof(struct vfu_hdr);
	char *p = buf;

	if (fd_out)
		*fd_out = -1;
	if (cap < want)
		return -EMSGSIZE;
	/*
	 * Ask for all of cap at once: with one request outstanding nothing
	 * follows the reply, and a small reply then costs a single read.
	 */
	while (have < want) {
		long n = read_some(sock, p + have, cap - have, fd_out);

		if (n < 0)
			return n;
		have += (size_t)n;
		if (have >= sizeof(struct vfu_hdr) && want == sizeof(struct vfu_hdr)) {
			struct vfu_hdr h;
			memcpy(&h, buf, sizeof(h));
			if (h.msg_size < sizeof(h) || h.msg_size > cap)
				return -EMSGSIZE;
			want = h.msg_size;
		}
	}
	return have == want ? (long)have : -EPROTO;
}

long bench_roundtrip(int sock, const void *req, size_t req_len, int pass_fd,
		     void *reply, size_t reply_cap, int *fd_out)
{
	int rc = bench_send(sock, req, req_len, pass_fd);

	if (rc < 0)
		return rc;
	return bench_recv_msg(sock, reply, reply_cap, fd_out);
}

long bench_recv_msgs(int sock, void *buf, size_t cap, unsigned int count)
{
	size_t have = 0, start = 0;   /* start: the first message not yet whole */
	char *p = buf;

	while (count > 0) {
		if (have - start >= sizeof(struct vfu_hdr)) {
			struct vfu_hdr h;
			memcpy(&h, p + start, sizeof(h));
			if (h.msg_size < sizeof(h) || h.msg_size > cap - start)
				return -EMSGSIZE;
			if (have - start >= h.msg_size) {
				start += h.msg_size;
				count--;
				continue;
			}
		}
		if (have == cap)
			return -EMSGSIZE;
		long n = read_some(sock, p + have, cap - have, NULL);

		if (n < 0)
			return n;
		have += (size_t)n;
	}
	return have == start ? (long)have : -EPROTO;
}

long bench_pipelined_pair(int sock, const void *a, size_t a_len, int pass_fd,
			  const void *b, size_t b_len, void *reply, size_t reply_cap)
{
	int rc = bench_send(sock, a, a_len, pass_fd);

	if (rc == 0)
		rc = bench_send(sock, b, b_len, -1);
	if (rc < 0)
		return rc;
	return bench_recv_msgs(sock, reply, reply_cap, 2);
}
