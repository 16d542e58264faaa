/* SPDX-License-Identifier: MIT */
#include "floor.h"
#include "harness.h"
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

/* The peer's read buffer holds one largest message plus a batch of small ones. */
#define PEER_BUF (2 * BENCH_FLOOR_MAX_MSG)
/* msg_id of a request whose reply carries an fd (a mappable region's info). */
#define FLOOR_ID_REPLY_FD 1

/*
 * Answer one complete request; the request's error field is the reply
 * size, and msg_id FLOOR_ID_REPLY_FD asks for an fd on the reply.
 */
static int peer_answer(int sock, const struct vfu_hdr *req, char *reply, int reply_fd)
{
	struct vfu_hdr h = *req;

	if (req->flags & VFU_F_NO_REPLY)
		return 0;
	if (h.error < sizeof(h) || h.error > BENCH_FLOOR_MAX_MSG)
		return -EMSGSIZE;
	h.msg_size = h.error;
	h.flags = VFU_F_TYPE_REPLY;
	h.error = 0;
	memcpy(reply, &h, sizeof(h));
	return bench_send(sock, reply, h.msg_size,
			  req->msg_id == FLOOR_ID_REPLY_FD ? reply_fd : -1);
}

static void peer_loop(int sock)
{
	char *buf = malloc(PEER_BUF), *reply = calloc(1, BENCH_FLOOR_MAX_MSG);
	size_t have = 0;
	int reply_fd = eventfd(0, EFD_CLOEXEC);

	if (!buf || !reply || reply_fd < 0)
		_exit(1);
	for (;;) {
		ssize_t n = bench_recv_fds(sock, buf + have, PEER_BUF - have, NULL);
		if (n <= 0)
			_exit(n == 0 ? 0 : 1);
		have += (size_t)n;
		size_t off = 0;
		while (have - off >= sizeof(struct vfu_hdr)) {
			struct vfu_hdr h;
			memcpy(&h, buf + off, sizeof(h));
			if (h.msg_size < sizeof(h) || h.msg_size > BENCH_FLOOR_MAX_MSG)
				_exit(1);
			if (have - off < h.msg_size)
				break;
			if (peer_answer(sock, &h, reply, reply_fd) < 0)
				_exit(1);
			off += h.msg_size;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
}

int bench_floor_start(int cpu, pid_t *pid)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		bench_die("socketpair", -errno);
	bench_size_buffers(sv[0]);
	bench_size_buffers(sv[1]);
	*pid = fork();
	if (*pid < 0)
		bench_die("fork", -errno);
	if (*pid == 0) {
		close(sv[0]);
		bench_pin(cpu);
		peer_loop(sv[1]);
	}
	close(sv[1]);
	return sv[0];
}

void bench_floor_stop(int sock, pid_t pid)
{
	int status;

	close(sock);
	waitpid(pid, &status, 0);
}

double bench_floor_roundtrip(const char *id, int sock, size_t req_len, size_t reply_len,
			   int pass_fd, bool reply_fd, uint64_t iters)
{
	char *req = calloc(1, req_len), *reply = malloc(reply_len);
	struct vfu_hdr h = { .msg_id = reply_fd ? FLOOR_ID_REPLY_FD : 0, .command = 9,
			     .msg_size = (uint32_t)req_len, .error = (uint32_t)reply_len };
	int got_fd;
	struct bench_samples s;
	uint64_t warm = iters / 10 + 1;

	if (!req || !reply || req_len < sizeof(h))
		bench_die(id, -EINVAL);
	memcpy(req, &h, sizeof(h));
	bench_samples_init(&s, iters);
	for (uint64_t i = 0; i < warm + iters; i++) {
		uint64_t t0 = bench_now_ns();
		long rc = bench_roundtrip(sock, req, req_len, pass_fd, reply, reply_len,
					  reply_fd ? &got_fd : NULL);
		if (reply_fd && got_fd >= 0)
			close(got_fd);
		uint64_t t1 = bench_now_ns();
		if (rc < 0)
			bench_die(id, (int)rc);
		if (i >= warm)
			bench_samples_add(&s, t1 - t0);
	}
	double med = bench_report_latency(id, &s, 1);
	bench_samples_free(&s);
	free(req);
	free(reply);
	return med;
}

void bench_floor_posted(const char *id, int sock, size_t msg_len, unsigned int batch,
			uint64_t count)
{
	char *msg = calloc(batch, msg_len), reply[64];
	struct vfu_hdr h = { .command = 10, .msg_size = (uint32_t)msg_len,
			       .flags = VFU_F_NO_REPLY };
	struct vfu_hdr sync = { .command = 9, .msg_size = sizeof(sync),
				  .error = sizeof(sync) };

	if (!msg || msg_len < sizeof(h) || batch == 0)
		bench_die(id, -EINVAL);
	for (unsigned int i = 0; i < batch; i++)
		memcpy(msg + i * msg_len, &h, sizeof(h));
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < count; i += batch) {
		int rc = bench_send(sock, msg, msg_len * batch, -1);
		if (rc < 0)
			bench_die(id, rc);
	}
	long rc = bench_roundtrip(sock, &sync, sizeof(sync), -1, reply, sizeof(reply), NULL);
	uint64_t t1 = bench_now_ns();
	if (rc < 0)
		bench_die(id, (int)rc);
	uint64_t sent = (count + batch - 1) / batch * batch;
	bench_report_value(id, (double)sent * 1e9 / (double)(t1 - t0), "ops/s");
	free(msg);
}
