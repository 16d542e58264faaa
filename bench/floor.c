/* SPDX-License-Identifier: MIT */
#include "floor.h"
#include "harness.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

/* The peer's read buffer holds one largest message plus a batch of small ones. */
#define PEER_BUF (2 * BENCH_FLOOR_MAX_MSG)
/* msg_id of a request whose reply carries an fd (a mappable region's info). */
#define FLOOR_ID_REPLY_FD 1
/* msg_id of a request whose reply's payload is sent from written memory. */
#define FLOOR_ID_REPLY_WRITTEN 2

/*
 * The peer's written memory: a memfd mapped read-only, every page written,
 * as the GPU RAM a large REGION_READ is sent from. The plain reply buffer
 * is never written past its header, so its pages are the kernel's shared
 * zero page: one 4 KiB page, always in cache, however long the reply.
 */
static const uint8_t *peer_written;

static const uint8_t *written_memory(void)
{
	int fd = memfd_create("bench-floor-written", MFD_CLOEXEC);
	char *page = malloc(4096);
	void *map;

	if (fd < 0 || !page || ftruncate(fd, (off_t)BENCH_FLOOR_MAX_MSG) < 0)
		_exit(1);
	memset(page, 0x5a, 4096);
	for (size_t off = 0; off < BENCH_FLOOR_MAX_MSG; off += 4096)
		if (pwrite(fd, page, 4096, (off_t)off) != 4096)
			_exit(1);
	map = mmap(NULL, BENCH_FLOOR_MAX_MSG, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		_exit(1);
	free(page);
	close(fd);
	return map;
}

/* Header from hdr, then len - its size bytes of written memory, in one
 * sendmsg of two vectors as the server sends a direct read. 0 or -errno. */
static int send_from_written(int sock, const struct vfu_hdr *hdr, size_t len)
{
	struct iovec iov[2] = {
		{ (void *)hdr, sizeof(*hdr) },
		{ (void *)peer_written, len - sizeof(*hdr) },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	while (mh.msg_iovlen > 0) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		while (mh.msg_iovlen > 0 && (size_t)n >= mh.msg_iov->iov_len) {
			n -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen > 0) {
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + n;
			mh.msg_iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/*
 * The header of req's reply into *h: the request's error field is the
 * reply's size. 1 when a reply is due, 0 for a no-reply request,
 * -EMSGSIZE when the size asked is under a header or over room.
 */
static int reply_header(const struct vfu_hdr *req, size_t room, struct vfu_hdr *h)
{
	if (req->flags & VFU_F_NO_REPLY)
		return 0;
	if (req->error < sizeof(*h) || req->error > room)
		return -EMSGSIZE;
	*h = *req;
	h->msg_size = req->error;
	h->flags = VFU_F_TYPE_REPLY;
	h->error = 0;
	return 1;
}

/* Answer one complete request; msg_id FLOOR_ID_REPLY_FD asks for an fd on
 * the reply. */
static int peer_answer(int sock, const struct vfu_hdr *req, char *reply, int reply_fd)
{
	struct vfu_hdr h;
	int due = reply_header(req, BENCH_FLOOR_MAX_MSG, &h);

	if (due <= 0)
		return due;
	if (req->msg_id == FLOOR_ID_REPLY_WRITTEN)
		return send_from_written(sock, &h, h.msg_size);
	memcpy(reply, &h, sizeof(h));
	return bench_send(sock, reply, h.msg_size,
			  req->msg_id == FLOOR_ID_REPLY_FD ? reply_fd : -1);
}

/* The polling peer's window (serve --poll-us of the server it is the
 * floor of): how long it peeks after its last request before it sleeps. */
static uint64_t peer_poll_ns;

/* A polling peer's wait: peek without sleeping until a byte is there, as a
 * polling server checks its sockets (one system call per check), for up to
 * peer_poll_ns; then the blocking read that follows sleeps, as the server
 * sleeps after its window. */
static void spin_until_readable(int sock)
{
	uint64_t end = bench_now_ns() + peer_poll_ns;
	char c;

	while (recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
	       (errno == EAGAIN || errno == EINTR))
		if (bench_now_ns() > end)
			return;
}

/* How the peer waits for a request before reading it. PEER_EPOLL_SPLIT
 * waits as PEER_EPOLL and receives a large message as the server receives
 * a large REGION_WRITE (receive_rest_into); PEER_EPOLL_FDS waits as
 * PEER_EPOLL and makes the server's system calls for a request with an
 * fd (peer_serve_fds). */
enum peer_wait { PEER_BLOCK, PEER_SPIN, PEER_EPOLL, PEER_EPOLL_SPLIT, PEER_EPOLL_FDS };

/* How long the fds peer works on the requests of one wake-up before it
 * sends their replies (bench_floor_start_epoll_fds_late); 0: none. */
static uint64_t peer_late_ns;

/* The split peer's first read with nothing buffered, and the smallest
 * message it receives in two parts: the server's SRV_FIRST_READ and
 * SRV_DIRECT_WRITE_MIN (src/server/server_internal.h). */
#define SPLIT_FIRST_READ (16u * 1024u)

/* Where the split peer's large messages land: memory of its own, as a
 * region's (allocated in the peer). */
static uint8_t *peer_sink;

/*
 * A large message of size bytes whose first got bytes are in part: the
 * bytes after the header are copied to the sink and the rest is received
 * straight into it, as the server lands a REGION_WRITE in region memory
 * (one copy of what the first read took, one more read). 0 or -1.
 */
static int receive_rest_into(int sock, const char *part, size_t got, size_t size)
{
	const size_t hdr = sizeof(struct vfu_hdr);

	memcpy(peer_sink, part + hdr, got - hdr);
	while (got < size) {
		ssize_t n = recv(sock, peer_sink + got - hdr, size - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* The header at p into *h; false when its size is one the peer cannot
 * frame (under a header, or over the largest message). */
static bool header_at(const char *p, struct vfu_hdr *h)
{
	memcpy(h, p, sizeof(*h));
	return h->msg_size >= sizeof(*h) && h->msg_size <= BENCH_FLOOR_MAX_MSG;
}

/* An epoll peer's wait: one epoll_wait on a set holding only its socket,
 * then the read, as the server waits (three system calls per request). */
static void epoll_until_readable(int epfd)
{
	struct epoll_event ev;

	while (epoll_wait(epfd, &ev, 1, -1) < 0 && errno == EINTR)
		;
}

/* Where a peer's replies go: sent at once (send_reply), or gathered in
 * reply for one send (gather_reply). */
struct peer_replies {
	int sock, reply_fd;
	char *reply;
	size_t len;                 /* gathered so far */
};

static int send_reply(const struct vfu_hdr *h, struct peer_replies *out)
{
	return peer_answer(out->sock, h, out->reply, out->reply_fd);
}

/*
 * Answer, with answer(), every whole message at the front of buf (*have
 * bytes), then move the start of one not whole yet to the front: 0, or -1
 * when a message cannot be framed or answered.
 */
static int answer_whole(char *buf, size_t *have,
			int (*answer)(const struct vfu_hdr *h, struct peer_replies *out),
			struct peer_replies *out)
{
	size_t off = 0;
	struct vfu_hdr h;

	while (*have - off >= sizeof(h)) {
		if (!header_at(buf + off, &h))
			return -1;
		if (*have - off < h.msg_size)
			break;
		if (answer(&h, out) < 0)
			return -1;
		off += h.msg_size;
	}
	memmove(buf, buf + off, *have - off);
	*have -= off;
	return 0;
}

/* Answer requests until the client leaves (0) or sends what the peer
 * cannot frame or answer (1): the peer's exit status. */
static int peer_serve(int sock, enum peer_wait wait, int epfd, char *buf, char *reply,
		      int reply_fd)
{
	struct peer_replies out = { .sock = sock, .reply = reply, .reply_fd = reply_fd };
	size_t have = 0;

	for (;;) {
		size_t cap = PEER_BUF - have;
		struct vfu_hdr h;

		if (wait == PEER_SPIN)
			spin_until_readable(sock);
		else if (wait == PEER_EPOLL || wait == PEER_EPOLL_SPLIT)
			epoll_until_readable(epfd);
		if (wait == PEER_EPOLL_SPLIT && have == 0)
			cap = SPLIT_FIRST_READ;
		ssize_t n = bench_recv_fds(sock, buf + have, cap, NULL);
		if (n <= 0)
			return n == 0 ? 0 : 1;
		have += (size_t)n;
		if (wait == PEER_EPOLL_SPLIT && have >= sizeof(h) && header_at(buf, &h) &&
		    have < h.msg_size && h.msg_size >= SPLIT_FIRST_READ) {
			if (receive_rest_into(sock, buf, have, h.msg_size) < 0)
				return 1;
			have = h.msg_size;
		}
		if (answer_whole(buf, &have, send_reply, &out) < 0)
			return 1;
	}
}

/* The reads after one that brought an fd, at most, before the replies
 * go: the server's SRV_MAX_EXTRA_READS (src/server/server_internal.h). */
#define FDS_MAX_EXTRA_READS 4u

/* What the server must ask the kernel about a DMA_MAP's fd before it uses
 * it (src/core/dma.c: its access mode, then its identity and size), and
 * the close once it is done with it: 0, or -1 when a question failed. */
static int check_and_close(int fd)
{
	struct stat st;
	int ret = fcntl(fd, F_GETFL) < 0 || fstat(fd, &st) < 0 ? -1 : 0;

	close(fd);
	return ret;
}

/* The reply to req, a header and zeros up to the size req asks for,
 * appended to out's gathered replies: 0, or -EMSGSIZE when it does not
 * fit. */
static int gather_reply(const struct vfu_hdr *req, struct peer_replies *out)
{
	struct vfu_hdr h;
	int due = reply_header(req, BENCH_FLOOR_MAX_MSG - out->len, &h);

	if (due <= 0)
		return due;
	memcpy(out->reply + out->len, &h, sizeof(h));
	memset(out->reply + out->len + sizeof(h), 0, h.msg_size - sizeof(h));
	out->len += h.msg_size;
	return 0;
}

/* Stay on the CPU for ns, as work on a request would. */
static void spin_for(uint64_t ns)
{
	uint64_t end = bench_now_ns() + ns;

	while (bench_now_ns() < end)
		;
}

/*
 * The PEER_EPOLL_FDS loop: the server's system calls for a pipelined
 * DMA_MAP + DMA_UNMAP and nothing else. Wait in epoll_wait; read (the
 * kernel stops a stream read right after bytes that carried an fd); check
 * and close each fd as the server does; after a read that brought one,
 * read again without waiting, up to FDS_MAX_EXTRA_READS times; then send
 * the replies of every request read in one send, peer_late_ns after the
 * last read when that is set. The socket is
 * non-blocking, as the server's. Exit status as peer_serve's.
 */
static int peer_serve_fds(int sock, int epfd, char *buf, char *reply)
{
	struct peer_replies out = { .sock = sock, .reply = reply, .reply_fd = -1 };
	size_t have = 0;

	for (;;) {
		out.len = 0;
		epoll_until_readable(epfd);
		for (unsigned int extra = 0; extra <= FDS_MAX_EXTRA_READS; extra++) {
			int fd = -1;
			ssize_t n = bench_recv_fds(sock, buf + have, PEER_BUF - have, &fd);

			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n <= 0)
				return n == 0 ? 0 : 1;
			if (fd >= 0 && check_and_close(fd) < 0)
				return 1;
			have += (size_t)n;
			if (answer_whole(buf, &have, gather_reply, &out) < 0)
				return 1;
			if (fd < 0)
				break;
		}
		if (out.len && peer_late_ns)
			spin_for(peer_late_ns);
		if (out.len && bench_send(sock, reply, out.len, -1) < 0)
			return 1;
	}
}

/* Serve sock until the client leaves: the peer's exit status. Its buffers
 * are freed before it returns, so that a checked run (valgrind) sees no
 * leak. */
static int peer_run(int sock, enum peer_wait wait)
{
	char *buf = malloc(PEER_BUF), *reply = calloc(1, BENCH_FLOOR_MAX_MSG);
	int reply_fd = eventfd(0, EFD_CLOEXEC), epfd = -1, status = 1;
	bool epoll = wait == PEER_EPOLL || wait == PEER_EPOLL_SPLIT || wait == PEER_EPOLL_FDS;

	if (wait == PEER_EPOLL_SPLIT)
		peer_sink = malloc(BENCH_FLOOR_MAX_MSG);
	if (buf && reply && reply_fd >= 0 && epoll) {
		struct epoll_event ev = { .events = EPOLLIN };

		epfd = epoll_create1(EPOLL_CLOEXEC);
		if (epfd >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, sock, &ev) < 0) {
			close(epfd);
			epfd = -1;
		}
	}
	if (buf && reply && reply_fd >= 0 && (wait != PEER_EPOLL_SPLIT || peer_sink) &&
	    (epfd >= 0 || !epoll)) {
		peer_written = written_memory();
		if (wait != PEER_EPOLL_FDS)
			status = peer_serve(sock, wait, epfd, buf, reply, reply_fd);
		else if (fcntl(sock, F_SETFL, O_NONBLOCK) == 0)
			status = peer_serve_fds(sock, epfd, buf, reply);
	}
	free(buf);
	free(reply);
	free(peer_sink);
	if (reply_fd >= 0)
		close(reply_fd);
	if (epfd >= 0)
		close(epfd);
	return status;
}

int bench_floor_serve_epoll(int sock)
{
	return peer_run(sock, PEER_EPOLL);
}

static int floor_start(int cpu, pid_t *pid, enum peer_wait wait)
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
		/* Only its own socket: a copy of another peer's socket (forked
		 * before) would keep that peer from ever seeing its client leave. */
		close_range(3, (unsigned int)sv[1] - 1, 0);
		close_range((unsigned int)sv[1] + 1, ~0u, 0);
		bench_pin(cpu);
		_exit(peer_run(sv[1], wait));
	}
	close(sv[1]);
	return sv[0];
}

int bench_floor_start(int cpu, pid_t *pid)
{
	return floor_start(cpu, pid, PEER_BLOCK);
}

int bench_floor_start_polling(int cpu, unsigned int poll_us, pid_t *pid)
{
	peer_poll_ns = (uint64_t)poll_us * 1000;
	return floor_start(cpu, pid, PEER_SPIN);
}

int bench_floor_start_epoll(int cpu, pid_t *pid)
{
	return floor_start(cpu, pid, PEER_EPOLL);
}

int bench_floor_start_epoll_split(int cpu, pid_t *pid)
{
	return floor_start(cpu, pid, PEER_EPOLL_SPLIT);
}

int bench_floor_start_epoll_fds(int cpu, pid_t *pid)
{
	return floor_start(cpu, pid, PEER_EPOLL_FDS);
}

int bench_floor_start_epoll_fds_late(int cpu, unsigned int late_ns, pid_t *pid)
{
	int sock;

	peer_late_ns = late_ns;
	sock = floor_start(cpu, pid, PEER_EPOLL_FDS);
	peer_late_ns = 0;
	return sock;
}

void bench_floor_stop(int sock, pid_t pid)
{
	int status;

	close(sock);
	waitpid(pid, &status, 0);
}

/* A floor request of len bytes with msg_id (FLOOR_ID_* or 0) asking for a
 * reply_len-byte reply; NULL when it cannot be made (len under a header). */
static char *floor_request(size_t len, size_t reply_len, uint16_t msg_id)
{
	struct vfu_hdr h = { .msg_id = msg_id, .command = 9, .msg_size = (uint32_t)len,
			     .error = (uint32_t)reply_len };
	char *req = len >= sizeof(h) ? calloc(1, len) : NULL;

	if (req)
		memcpy(req, &h, sizeof(h));
	return req;
}

/* exchange(arg) timed alone (bench_time_in_turns with one turn) and
 * reported under id: returns the median in microseconds. */
static double floor_time(const char *id, uint64_t iters, long (*exchange)(void *arg),
			 void *arg)
{
	struct bench_turn turn = { .id = id, .exchange = exchange, .arg = arg };

	bench_time_in_turns(&turn, 1, iters);
	return turn.median_us;
}

struct bench_floor_exchange {
	int sock, pass_fd;
	bool reply_fd;
	char *req, *reply;
	size_t req_len, reply_len;
};

static const uint16_t reply_msg_id[] = {
	[BENCH_FLOOR_REPLY_PLAIN] = 0,
	[BENCH_FLOOR_REPLY_FD] = FLOOR_ID_REPLY_FD,
	[BENCH_FLOOR_REPLY_WRITTEN] = FLOOR_ID_REPLY_WRITTEN,
};

struct bench_floor_exchange *bench_floor_exchange_new(int sock, size_t req_len,
						      size_t reply_len, int pass_fd,
						      enum bench_floor_reply reply)
{
	struct bench_floor_exchange *x = calloc(1, sizeof(*x));

	if (!x || reply_len < sizeof(struct vfu_hdr) || reply_len > BENCH_FLOOR_MAX_MSG) {
		free(x);
		return NULL;
	}
	*x = (struct bench_floor_exchange){
		.sock = sock, .pass_fd = pass_fd, .reply_fd = reply == BENCH_FLOOR_REPLY_FD,
		.req = floor_request(req_len, reply_len, reply_msg_id[reply]),
		.reply = malloc(reply_len), .req_len = req_len, .reply_len = reply_len,
	};
	if (!x->req || !x->reply) {
		bench_floor_exchange_free(x);
		return NULL;
	}
	return x;
}

void bench_floor_exchange_free(struct bench_floor_exchange *x)
{
	if (!x)
		return;
	free(x->req);
	free(x->reply);
	free(x);
}

/* One request/reply; a received fd is closed inside the timed exchange. */
long bench_floor_exchange_once(void *arg)
{
	const struct bench_floor_exchange *x = arg;
	int got_fd;
	long rc = bench_roundtrip(x->sock, x->req, x->req_len, x->pass_fd, x->reply,
				  x->reply_len, x->reply_fd ? &got_fd : NULL);

	if (x->reply_fd && got_fd >= 0)
		close(got_fd);
	return rc;
}

/* bench_floor_roundtrip() with the kind of reply given. */
static double floor_roundtrip(const char *id, int sock, size_t req_len, size_t reply_len,
			      int pass_fd, enum bench_floor_reply reply, uint64_t iters)
{
	struct bench_floor_exchange *x = bench_floor_exchange_new(sock, req_len, reply_len,
								  pass_fd, reply);

	if (!x)
		bench_die(id, -EINVAL);
	double med = floor_time(id, iters, bench_floor_exchange_once, x);
	bench_floor_exchange_free(x);
	return med;
}

double bench_floor_roundtrip(const char *id, int sock, size_t req_len, size_t reply_len,
			   int pass_fd, bool reply_fd, uint64_t iters)
{
	return floor_roundtrip(id, sock, req_len, reply_len, pass_fd,
			       reply_fd ? BENCH_FLOOR_REPLY_FD : BENCH_FLOOR_REPLY_PLAIN, iters);
}

double bench_floor_roundtrip_written(const char *id, int sock, size_t req_len,
				     size_t reply_len, uint64_t iters)
{
	return floor_roundtrip(id, sock, req_len, reply_len, -1, BENCH_FLOOR_REPLY_WRITTEN, iters);
}

struct bench_floor_pair {
	int sock, pass_fd;
	char *a, *b, *reply;
	size_t a_len, b_len, reply_len;
};

struct bench_floor_pair *bench_floor_pair_new(int sock, size_t a_len, size_t a_reply,
					      int pass_fd, size_t b_len, size_t b_reply)
{
	struct bench_floor_pair *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	*p = (struct bench_floor_pair){
		.sock = sock, .pass_fd = pass_fd,
		.a = floor_request(a_len, a_reply, 0), .b = floor_request(b_len, b_reply, 0),
		.reply = malloc(a_reply + b_reply),
		.a_len = a_len, .b_len = b_len, .reply_len = a_reply + b_reply,
	};
	if (!p->a || !p->b || !p->reply) {
		bench_floor_pair_free(p);
		return NULL;
	}
	return p;
}

void bench_floor_pair_free(struct bench_floor_pair *p)
{
	if (!p)
		return;
	free(p->a);
	free(p->b);
	free(p->reply);
	free(p);
}

long bench_floor_pair_once(void *arg)
{
	const struct bench_floor_pair *p = arg;

	return bench_pipelined_pair(p->sock, p->a, p->a_len, p->pass_fd, p->b, p->b_len,
				    p->reply, p->reply_len);
}

uint64_t bench_floor_posted_ns(const char *id, int sock, size_t msg_len, unsigned int batch,
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
	free(msg);
	return t1 - t0;
}

void bench_floor_posted(const char *id, int sock, size_t msg_len, unsigned int batch,
			uint64_t count)
{
	uint64_t sent = (count + batch - 1) / batch * batch;

	bench_report_value(id, (double)sent * 1e9 /
			       (double)bench_floor_posted_ns(id, sock, msg_len, batch, count),
			   "ops/s");
}
