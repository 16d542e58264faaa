/* SPDX-License-Identifier: MIT */
/* vfio-user socket I/O: whole messages, partial reads/writes, SCM_RIGHTS. */
#include "vfio-user/wire.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

void vfu_hdr_init(struct vfu_hdr *hdr, uint16_t msg_id, uint16_t command,
		  uint32_t msg_size, uint32_t flags)
{
	hdr->msg_id = msg_id;
	hdr->command = command;
	hdr->msg_size = msg_size;
	hdr->flags = flags;
	hdr->error = 0;
}

void vfu_wire_close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

ssize_t vfu_wire_sendmsg(int sock, const struct iovec *iov, int iovcnt,
			 const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VFU_WIRE_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = {
		.msg_iov = (struct iovec *)iov,
		.msg_iovlen = (size_t)iovcnt,
	};

	if (nfds > VFU_WIRE_MAX_FDS)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *cmsg;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	for (;;) {
		ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);

		if (n >= 0)
			return n;
		if (errno != EINTR)
			return -errno;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on sock until the deadline (-1: none). 0 or -errno. */
static int wait_for(int sock, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = sock, .events = events };

	for (;;) {
		int timeout = -1;
		int r;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			timeout = left > 1000000 ? 1000000 : (int)left;
		}
		r = poll(&pfd, 1, timeout);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Drop n sent bytes from the front of iov[*first..cnt). */
static void iov_advance(struct iovec *iov, int *first, int cnt, size_t n)
{
	while (*first < cnt && n >= iov[*first].iov_len) {
		n -= iov[*first].iov_len;
		(*first)++;
	}
	if (*first < cnt) {
		iov[*first].iov_base = (char *)iov[*first].iov_base + n;
		iov[*first].iov_len -= n;
	}
}

int vfu_wire_send(int sock, const struct iovec *iov, int iovcnt,
		  const int *fds, unsigned int nfds, int timeout_ms)
{
	struct iovec local[VFU_WIRE_MAX_IOV];
	int64_t deadline = deadline_of(timeout_ms);
	int first = 0;

	if (iovcnt < 0 || iovcnt > VFU_WIRE_MAX_IOV)
		return -EINVAL;
	memcpy(local, iov, sizeof(*iov) * (size_t)iovcnt);
	iov_advance(local, &first, iovcnt, 0);
	while (first < iovcnt) {
		ssize_t n = vfu_wire_sendmsg(sock, local + first, iovcnt - first,
					     fds, nfds);

		if (n == -EAGAIN) {
			int r = wait_for(sock, POLLOUT, deadline);

			if (r < 0)
				return r;
			continue;
		}
		if (n < 0)
			return (int)n;
		/* The fds went with the first byte; never send them twice. */
		if (n > 0)
			nfds = 0;
		iov_advance(local, &first, iovcnt, (size_t)n);
	}
	return 0;
}

void vfu_wire_take_fds(struct msghdr *msg, int *fds, unsigned int max_fds,
		       unsigned int *nfds, bool *truncated)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t n;
		/* Room for every fd the control buffer can carry: its padding fits more than asked. */
		int got[CMSG_SPACE(sizeof(int) * (VFU_WIRE_MAX_FDS + 1)) / sizeof(int)];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > sizeof(got) / sizeof(got[0]))
			n = sizeof(got) / sizeof(got[0]);
		memcpy(got, CMSG_DATA(c), n * sizeof(int));
		for (size_t i = 0; i < n; i++) {
			if (*nfds < max_fds) {
				fds[(*nfds)++] = got[i];
			} else {
				close(got[i]);
				*truncated = true;
			}
		}
	}
	if (msg->msg_flags & MSG_CTRUNC)
		*truncated = true;
}

ssize_t vfu_wire_recvmsg(int sock, void *buf, size_t len, int *fds,
			 unsigned int max_fds, unsigned int *nfds,
			 bool *fds_truncated)
{
	union {
		char buf[VFU_WIRE_RECV_CTL_SPACE];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;

	*nfds = 0;
	*fds_truncated = false;
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	vfu_wire_take_fds(&msg, fds, max_fds, nfds, fds_truncated);
	return n;
}

/* Read exactly len bytes into buf, adding fds. 0 or -errno. */
static int recv_exact(int sock, uint8_t *buf, size_t len, int *fds,
		      unsigned int max_fds, unsigned int *nfds, bool *truncated,
		      int64_t deadline)
{
	while (len > 0) {
		unsigned int got = 0;
		bool trunc = false;
		ssize_t n = vfu_wire_recvmsg(sock, buf, len, fds + *nfds,
					     max_fds - *nfds, &got, &trunc);

		if (n == -EAGAIN) {
			int r = wait_for(sock, POLLIN, deadline);

			if (r < 0)
				return r;
			continue;
		}
		if (n < 0)
			return (int)n;
		*nfds += got;
		*truncated |= trunc;
		if (n == 0)
			return -ECONNRESET;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t vfu_wire_recv_msg(int sock, void *buf, size_t cap, int *fds,
			  unsigned int max_fds, unsigned int *nfds, int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	struct vfu_hdr hdr;
	bool truncated = false;
	int r;

	*nfds = 0;
	if (max_fds > VFU_WIRE_MAX_FDS)
		max_fds = VFU_WIRE_MAX_FDS;
	if (cap < VFU_HDR_SIZE)
		return -EINVAL;
	r = recv_exact(sock, buf, VFU_HDR_SIZE, fds, max_fds, nfds, &truncated,
		       deadline);
	if (r == 0) {
		memcpy(&hdr, buf, sizeof(hdr));
		if (hdr.msg_size < VFU_HDR_SIZE)
			r = -EPROTO;
		else if (hdr.msg_size > cap)
			r = -EMSGSIZE;
		else
			r = recv_exact(sock, (uint8_t *)buf + VFU_HDR_SIZE,
				       hdr.msg_size - VFU_HDR_SIZE, fds, max_fds,
				       nfds, &truncated, deadline);
	}
	if (r == 0 && truncated)
		r = -EPROTO;
	if (r < 0) {
		vfu_wire_close_fds(fds, *nfds);
		*nfds = 0;
		return r;
	}
	return hdr.msg_size;
}
