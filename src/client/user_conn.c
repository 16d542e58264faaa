// SPDX-License-Identifier: MIT
/*
 * vfio-user client transport: connect, VERSION, request/reply with a
 * deadline, and the server's DMA_READ/DMA_WRITE commands answered from
 * the client's memory. Every message from the server is validated here.
 * All the sends and receives of one API call share its deadline, so no
 * number of DMA commands stretches a call past timeout_ms.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "user_conn.h"

#define MAX_ERRNO 4095

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left > 0 ? (int)left : 0;
}

void user_begin(struct user_client *uc)
{
	uc->deadline = now_ms() + uc->timeout_ms;
}

static int send_msg(struct user_client *uc, struct vfu_hdr *hdr, const struct iovec *iov,
		    int iovcnt, const int *fds, unsigned int nfds)
{
	struct iovec all[1 + 4];
	size_t size = sizeof(*hdr);

	if (iovcnt > 4)
		return -EINVAL;
	all[0] = (struct iovec){ hdr, sizeof(*hdr) };
	for (int i = 0; i < iovcnt; i++) {
		all[1 + i] = iov[i];
		size += iov[i].iov_len;
	}
	if (size > UINT32_MAX)
		return -EMSGSIZE;
	hdr->msg_size = (uint32_t)size;
	return vfu_wire_send(uc->sock, all, 1 + iovcnt, fds, nfds, remaining_ms(uc->deadline));
}

/* Answer cmd with the errno err; 0 or the send's -errno. */
static int send_error(struct user_client *uc, const struct vfu_hdr *cmd, int err)
{
	struct vfu_hdr hdr;

	if (cmd->flags & VFU_F_NO_REPLY)
		return 0;
	vfu_hdr_init(&hdr, cmd->msg_id, cmd->command, VFU_HDR_SIZE,
		     VFU_F_TYPE_REPLY | VFU_F_ERROR);
	hdr.error = (uint32_t)err;
	return send_msg(uc, &hdr, NULL, 0, NULL, 0);
}

/* The client memory behind [iova, iova + len), inside one mapping, or NULL. */
static uint8_t *dma_lookup(struct user_client *uc, uint64_t iova, uint64_t len)
{
	for (size_t i = 0; i < uc->nr_dma; i++) {
		const struct user_dma *d = &uc->dma[i];

		if (iova >= d->iova && iova - d->iova <= d->size && len <= d->size - (iova - d->iova))
			return d->vaddr + (iova - d->iova);
	}
	return NULL;
}

/* DMA_READ/DMA_WRITE from the server: {u64 address; u64 count}, the layout
 * QEMU 11 uses on the wire (protocol.h). A bad request gets an error
 * answer; 0, or the -errno of an answer that could not be sent. */
static int serve_dma(struct user_client *uc, const struct vfu_hdr *cmd, size_t msg_size)
{
	const uint8_t *payload = uc->buf + VFU_HDR_SIZE;
	size_t len = msg_size - VFU_HDR_SIZE;
	struct vfu_dma_rw rw;
	struct vfu_hdr hdr;
	bool write = cmd->command == VFU_CMD_DMA_WRITE;
	uint8_t *mem;

	if (len < sizeof(rw))
		return send_error(uc, cmd, EINVAL);
	memcpy(&rw, payload, sizeof(rw));
	if (rw.count > USER_MAX_DATA_XFER || (write && len - sizeof(rw) < rw.count))
		return send_error(uc, cmd, EINVAL);
	mem = dma_lookup(uc, rw.address, rw.count);
	if (!mem)
		return send_error(uc, cmd, EFAULT);
	if (write)
		memcpy(mem, payload + sizeof(rw), rw.count);
	if (cmd->flags & VFU_F_NO_REPLY)
		return 0;
	vfu_hdr_init(&hdr, cmd->msg_id, cmd->command, 0, VFU_F_TYPE_REPLY);
	if (write)
		return send_msg(uc, &hdr, NULL, 0, NULL, 0);
	return send_msg(uc, &hdr, (struct iovec[]){ { &rw, sizeof(rw) }, { mem, rw.count } }, 2,
			NULL, 0);
}

/* A command from the server while we wait: only DMA is expected. 0, or
 * the -errno of an answer that could not be sent. */
static int serve_command(struct user_client *uc, const struct vfu_hdr *cmd, size_t msg_size)
{
	if (cmd->command == VFU_CMD_DMA_READ || cmd->command == VFU_CMD_DMA_WRITE)
		return serve_dma(uc, cmd, msg_size);
	return send_error(uc, cmd, ENOTSUP);
}

/*
 * A server that has a client already refuses a second one with an EBUSY
 * error reply to VERSION. Its id may not be our request's: the server
 * answers without waiting for our first message, and may close before
 * we even send it.
 */
static bool busy_refusal(const struct vfu_hdr *hdr, uint16_t command)
{
	return command == VFU_CMD_VERSION && hdr->command == VFU_CMD_VERSION &&
	       (hdr->flags & VFU_F_TYPE_MASK) == VFU_F_TYPE_REPLY &&
	       (hdr->flags & VFU_F_ERROR) && hdr->error == EBUSY;
}

/* Check a reply's header against the request; the fds are closed on error. */
static int check_reply(const struct vfu_hdr *hdr, uint16_t id, uint16_t command,
		       struct user_reply *reply, unsigned int max_fds)
{
	if (busy_refusal(hdr, command))
		return -EBUSY;
	if (hdr->msg_id != id || hdr->command != command)
		return -EPROTO;
	if (hdr->flags & VFU_F_ERROR) {
		if (reply->nfds || !hdr->error || hdr->error > MAX_ERRNO)
			return -EPROTO;
		reply->server_error = true;
		return -(int)hdr->error;
	}
	return reply->nfds > max_fds ? -EPROTO : 0;
}

static int wait_reply(struct user_client *uc, uint16_t id, uint16_t command,
		      unsigned int max_fds, struct user_reply *reply)
{
	for (;;) {
		struct vfu_hdr hdr;
		ssize_t n = vfu_wire_recv_msg(uc->sock, uc->buf, uc->buf_size, reply->fds,
					      VFU_WIRE_MAX_FDS, &reply->nfds,
					      remaining_ms(uc->deadline));
		int ret;

		if (n < 0)
			return (int)n;
		memcpy(&hdr, uc->buf, sizeof(hdr));
		if ((hdr.flags & VFU_F_TYPE_MASK) == VFU_F_TYPE_COMMAND) {
			vfu_wire_close_fds(reply->fds, reply->nfds);
			/* An answer lost (or cut short) leaves the server
			 * waiting for it, or the stream out of step: no
			 * reply is worth waiting for after that. */
			ret = serve_command(uc, &hdr, (size_t)n);
			if (ret)
				return ret;
			/* The receive checks the deadline only when the socket
			 * is empty: a server that keeps commands coming would
			 * hold us here for good. */
			if (now_ms() >= uc->deadline)
				return -ETIMEDOUT;
			continue;
		}
		ret = (hdr.flags & VFU_F_TYPE_MASK) == VFU_F_TYPE_REPLY ?
		      check_reply(&hdr, id, command, reply, max_fds) : -EPROTO;
		if (ret) {
			vfu_wire_close_fds(reply->fds, reply->nfds);
			reply->nfds = 0;
			return ret;
		}
		reply->payload = uc->buf + VFU_HDR_SIZE;
		reply->len = (size_t)n - VFU_HDR_SIZE;
		return 0;
	}
}

int user_send(struct user_client *uc, uint16_t command, const struct iovec *iov, int iovcnt,
	      const int *fds, unsigned int nfds, bool no_reply, uint16_t *id)
{
	struct vfu_hdr hdr;
	int ret;

	if (uc->broken)
		return -EPIPE;
	*id = uc->next_id++;
	vfu_hdr_init(&hdr, *id, command, 0, VFU_F_TYPE_COMMAND | (no_reply ? VFU_F_NO_REPLY : 0));
	ret = send_msg(uc, &hdr, iov, iovcnt, fds, nfds);
	if (ret)
		uc->broken = true;
	return ret;
}

int user_wait(struct user_client *uc, uint16_t id, uint16_t command, unsigned int max_fds,
	      struct user_reply *reply)
{
	int ret;

	reply->nfds = 0;
	reply->len = 0;
	reply->server_error = false;
	if (uc->broken)
		return -EPIPE;
	ret = wait_reply(uc, id, command, max_fds, reply);
	/* An errno from the server leaves the stream in step; anything else does not. */
	if (ret && !reply->server_error)
		uc->broken = true;
	return ret;
}

int user_call(struct user_client *uc, uint16_t command, const struct iovec *iov, int iovcnt,
	      const int *fds, unsigned int nfds, bool no_reply, unsigned int max_fds,
	      struct user_reply *reply)
{
	uint16_t id;
	int ret;

	reply->nfds = 0;
	reply->len = 0;
	reply->server_error = false;
	ret = user_send(uc, command, iov, iovcnt, fds, nfds, no_reply, &id);
	if (ret || no_reply)
		return ret;
	return user_wait(uc, id, command, max_fds, reply);
}

static int connect_socket(const char *path, char *errmsg, size_t errmsg_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int sock, err;

	if (stat(path, &st))
		return vfk_client_fail(errmsg, errmsg_len, -errno,
				       errno == ENOENT ? "%s: no such socket" : "%s: %s", path,
				       strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return vfk_client_fail(errmsg, errmsg_len, -ENOTSOCK,
				       "%s is not a socket, a PCI address or /dev/vfio/N", path);
	if (strlen(path) >= sizeof(sa.sun_path))
		return vfk_client_fail(errmsg, errmsg_len, -ENAMETOOLONG,
				       "%s: socket path too long", path);
	strcpy(sa.sun_path, path);
	/* Non-blocking: the wire helpers then poll() with the reply deadline. */
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock < 0)
		return -errno;
	if (!connect(sock, (struct sockaddr *)&sa, sizeof(sa))) {
		/* A whole maximal transfer in flight (best effort, capped by
		 * net.core.wmem_max/rmem_max): fewer sends and wake-ups. */
		int buf = 2 * USER_MAX_DATA_XFER;

		setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
		setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		return sock;
	}
	err = errno;
	close(sock);
	if (err == EACCES || err == EPERM)
		return vfk_client_fail(errmsg, errmsg_len, -err, "%s: permission denied", path);
	if (err == ECONNREFUSED)
		return vfk_client_fail(errmsg, errmsg_len, -err,
				       "%s: connection refused (no server is listening)", path);
	return vfk_client_fail(errmsg, errmsg_len, -err, "%s: %s", path, strerror(err));
}

/* The VERSION reply: same major, minor no higher, JSON well formed. */
static int check_version(struct user_client *uc, const struct user_reply *r, char *err,
			 size_t err_len)
{
	struct vfu_version v;

	if (r->len < sizeof(v))
		return vfk_client_fail(err, err_len, -EPROTO, "VERSION reply of %zu bytes", r->len);
	memcpy(&v, r->payload, sizeof(v));
	if (v.major != VFU_VERSION_MAJOR || v.minor > VFU_VERSION_MINOR)
		return vfk_client_fail(err, err_len, -EPROTO, "server answered version %u.%u",
				       v.major, v.minor);
	if (vfu_version_parse((const char *)r->payload + sizeof(v), r->len - sizeof(v),
			      &uc->server, err, err_len))
		return -EPROTO;
	return 0;
}

/*
 * VERSION could not be sent (ret): a server that refused us as a second
 * client may have closed before our send, its refusal waiting unread.
 * -EBUSY when it is there, else ret.
 */
static int refused_before_send(struct user_client *uc, int ret)
{
	struct vfu_hdr hdr;
	int fds[VFU_WIRE_MAX_FDS];
	unsigned int nfds = 0;
	ssize_t n = vfu_wire_recv_msg(uc->sock, uc->buf, uc->buf_size, fds, VFU_WIRE_MAX_FDS,
				      &nfds, 0);

	vfu_wire_close_fds(fds, nfds);
	if (n < (ssize_t)sizeof(hdr))
		return ret;
	memcpy(&hdr, uc->buf, sizeof(hdr));
	return busy_refusal(&hdr, VFU_CMD_VERSION) ? -EBUSY : ret;
}

static int negotiate(struct user_client *uc, char *err, size_t err_len)
{
	struct vfu_version v = { VFU_VERSION_MAJOR, VFU_VERSION_MINOR };
	struct vfu_caps mine;
	struct user_reply r;
	char json[256];
	int len, ret;

	vfu_caps_defaults(&mine);
	mine.max_msg_fds = VFU_WIRE_MAX_FDS;
	mine.max_data_xfer_size = USER_MAX_DATA_XFER;
	len = vfu_version_build(&mine, json, sizeof(json));
	if (len < 0)
		return len;
	user_begin(uc);
	ret = user_call(uc, VFU_CMD_VERSION, (struct iovec[]){ { &v, sizeof(v) },
			{ json, (size_t)len } }, 2, NULL, 0, false, 0, &r);
	if (ret == -EPIPE || ret == -ECONNRESET)
		ret = refused_before_send(uc, ret);
	if (ret == -EBUSY)
		return ret;
	if (ret == -ETIMEDOUT)
		return vfk_client_fail(err, err_len, ret, "no VERSION reply within %d ms",
				       uc->timeout_ms);
	if (ret == -ECONNRESET)
		return vfk_client_fail(err, err_len, -EPROTO, "the peer closed the connection");
	if (ret)
		return vfk_client_fail(err, err_len, ret == -EMSGSIZE ? -EPROTO : ret,
				       "bad VERSION reply (%s)", strerror(-ret));
	return check_version(uc, &r, err, err_len);
}

int user_connect(struct user_client *uc, const char *path, char *errmsg, size_t errmsg_len)
{
	char why[192];
	int ret;

	uc->sock = connect_socket(path, errmsg, errmsg_len);
	if (uc->sock < 0)
		return uc->sock;
	ret = negotiate(uc, why, sizeof(why));
	if (ret == -EBUSY)
		return vfk_client_fail(errmsg, errmsg_len, ret,
				       "%s: device busy: another client is attached", path);
	if (ret)
		return vfk_client_fail(errmsg, errmsg_len, ret,
				       "%s does not speak vfio-user: %s", path, why);
	uc->xfer_max = uc->server.max_data_xfer_size < USER_MAX_DATA_XFER ?
		       uc->server.max_data_xfer_size : USER_MAX_DATA_XFER;
	return 0;
}
