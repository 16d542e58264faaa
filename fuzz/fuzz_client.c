// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the client's reply handling, against a fuzzed server. A
 * thread plays the server on a socket in a temp dir: for each request the
 * client sends, it answers with the next input record (same layout as
 * fuzz_server.c: u8 ctl, u16 len, bytes; ctl bits 0-4 fd count, 5-6 fd
 * kind, bit 7 "patch the request's msg_id and command into the first 4
 * bytes", which lets the fuzzer get past the id check). When the records
 * run out it hangs up. The client opens the socket (VERSION) and asks for
 * device, region and IRQ info and a region read. Checked: no crash, every
 * call returns, and the client leaves no fd behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vfiokit/client.h>
#include <vfiokit/log.h>

#include "fuzz.h"
#include "fuzz_fds.h"

static char dir[] = "/tmp/vfiokit-fuzz-client-XXXXXX";
static char path[100];
static int listen_fd = -1;
static int pool[2];           /* memfd, eventfd */
static int fds_before;

struct session {
	struct fuzz_input in;
	int conn;
};

/* The socket file and its dir go when the process ends normally. */
static void remove_socket(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	vfk_log_set_level(VFK_LOG_ERROR);
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/dev.sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_CHECK(listen_fd >= 0);
	FUZZ_CHECK(bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	FUZZ_CHECK(listen(listen_fd, 4) == 0);
	pool[0] = memfd_create("fuzz-client", MFD_CLOEXEC);
	FUZZ_CHECK(pool[0] >= 0 && ftruncate(pool[0], 1 << 16) == 0);
	pool[1] = eventfd(0, EFD_CLOEXEC);
	FUZZ_CHECK(pool[1] >= 0);
	atexit(remove_socket);
	return 0;
}

/* Read one whole request (header, then msg_size - 16 bytes); closes fds it
 * brings. false when the client hung up or went quiet. */
static bool read_request(int conn, uint8_t hdr[16])
{
	static uint8_t sink[1 << 16];
	size_t have = 0;
	uint32_t size;

	while (have < 16) {
		struct pollfd p = { .fd = conn, .events = POLLIN };
		ssize_t n;

		/* A client still waiting for the rest of a short reply sends
		 * nothing: hang up soon rather than wait for its timeout. */
		if (poll(&p, 1, 10) != 1)
			return false;
		n = recv(conn, hdr + have, 16 - have, 0);

		if (n <= 0)
			return false;
		have += (size_t)n;
	}
	memcpy(&size, hdr + 4, 4);
	for (size_t left = size > 16 ? size - 16 : 0; left;) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * 32)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = sink,
				     .iov_len = left < sizeof(sink) ? left : sizeof(sink) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
		ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);

		if (n <= 0)
			return false;
		fuzz_close_received_fds(&mh);
		left -= (size_t)n;
	}
	return true;
}

static void send_reply(int conn, const uint8_t *bytes, size_t len, uint8_t ctl,
		       const uint8_t req[16])
{
	static uint8_t out[1 << 16];
	union fuzz_fd_ctl cbuf;
	int fds[FUZZ_MAX_FDS];
	struct iovec iov = { .iov_base = out, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned int nfds = ctl & 0x1f;

	memcpy(out, bytes, len);
	if ((ctl & 0x80) && len >= 4)
		memcpy(out, req, 4);   /* msg_id and command of the request */
	for (unsigned int i = 0; i < nfds; i++)
		fds[i] = pool[((ctl >> 5) + i) & 1];
	/* fds need at least one byte to ride on. */
	fuzz_attach_fds(&mh, &cbuf, fds, len ? nfds : 0);
	while (iov.iov_len) {
		ssize_t n = sendmsg(conn, &mh, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		iov.iov_base = (uint8_t *)iov.iov_base + n;
		iov.iov_len -= (size_t)n;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	}
}

static void *serve(void *arg)
{
	struct session *s = arg;
	struct pollfd p = { .fd = listen_fd, .events = POLLIN };
	uint8_t req[16];

	/* The client may fail before it connects: do not wait forever. */
	if (poll(&p, 1, 2000) != 1)
		return NULL;
	s->conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (s->conn < 0)
		return NULL;
	while (fuzz_left(&s->in) >= 3 && read_request(s->conn, req)) {
		uint8_t ctl = (uint8_t)fuzz_uint(&s->in, 1);
		size_t want = (size_t)fuzz_uint(&s->in, 2), got;
		const uint8_t *bytes = fuzz_bytes(&s->in, want, &got);

		send_reply(s->conn, bytes, got, ctl, req);
	}
	shutdown(s->conn, SHUT_RDWR);
	return NULL;
}

static void use_client(struct vfk_client *c)
{
	struct vfio_device_info info;
	struct vfio_irq_info irq;
	uint8_t buf[256];

	if (vfk_client_device_info(c, &info) < 0)
		return;
	for (uint32_t i = 0; i < 10; i++) {
		struct vfk_region_info *ri = NULL;

		if (vfk_client_region_info(c, i, &ri) == 0)
			vfk_region_info_free(ri);
	}
	for (uint32_t i = 0; i < 5; i++)
		(void)vfk_client_irq_info(c, i, &irq);
	(void)vfk_client_region_read(c, 7, 0, buf, sizeof(buf));
	(void)vfk_client_region_read(c, 0, 0, buf, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfk_client_opts opts = { .timeout_ms = 1000 };
	struct session s = { .in = { .data = data, .size = size }, .conn = -1 };
	struct vfk_client *c = NULL;
	pthread_t thread;

	if (!fds_before)
		fds_before = fuzz_count_fds(-1);
	FUZZ_CHECK(pthread_create(&thread, NULL, serve, &s) == 0);
	if (vfk_client_open(path, &opts, &c, NULL, 0) == 0) {
		use_client(c);
		vfk_client_close(c);
	}
	pthread_join(thread, NULL);
	if (s.conn >= 0)
		close(s.conn);
	FUZZ_CHECK(fuzz_count_fds(-1) == fds_before);
	return 0;
}
