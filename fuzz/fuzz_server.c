// SPDX-License-Identifier: MIT
/*
 * Fuzz target: a whole vfio-user session against the real server and the
 * fuzz device. The input is a list of records, each sent as one sendmsg()
 * on a fresh connection:
 *   u8  ctl: bits 0-4 fd count (0-31, more than the server takes),
 *            bits 5-6 which fds (memfd, eventfd, pipe, a mix),
 *            bit 7 run the server loop before the next record (so it sees
 *            messages cut anywhere);
 *   u16 len, then len bytes (any bytes: headers, sizes and flags included).
 * Then the client shuts down its sending side and reads replies until the
 * server hangs up. Checked: the server never crashes or stops answering,
 * its replies are whole messages, and when the client has gone the device
 * is back to its initial state with no DMA mapping and the process holds
 * exactly the fds it held before the session.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vfiokit/dma.h>
#include <vfiokit/log.h>
#include <vfiokit/pci_config.h>
#include <vfiokit/server.h>

#include "fuzz.h"
#include "fuzz_device.h"
#include "fuzz_fds.h"

#define MAX_LOOPS      100000   /* server iterations before we call it a hang */

enum fd_kind { FD_MEMFD, FD_EVENTFD, FD_PIPE, FD_MIX };

static struct vfk_server *srv;
static struct vfk_device *dev;
static struct sockaddr_un addr;
static socklen_t addr_len;
static int pool[3];                 /* memfd, eventfd, pipe read end */
static int pipe_w;
static int fds_before;
static uint8_t initial_config[VFK_PCIE_CONFIG_SIZE];

/* The reply stream, parsed as it arrives: a header, then its payload skipped. */
static struct {
	uint8_t hdr[16];
	size_t hdr_have;
	uint64_t skip;
} stream;

/* fds that a session could leak; our own pipe counts, the runtime's do not. */
static int count_fds(void)
{
	return fuzz_count_fds(pool[FD_PIPE]);
}

/* Say which fds the process holds, for the report of a leak. */
static void list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	FUZZ_CHECK(d != NULL);
	while ((e = readdir(d))) {
		char path[300], target[256];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "fd %s -> %s\n", e->d_name, target);
	}
	closedir(d);
}

static void make_pool(void)
{
	int p[2];

	/* As large as QEMU's guest RAM in the recorded seeds (512 MiB maps),
	 * so those maps succeed; sparse, so only what DMA touches costs memory. */
	pool[FD_MEMFD] = memfd_create("fuzz-guest-ram", MFD_CLOEXEC);
	FUZZ_CHECK(pool[FD_MEMFD] >= 0 && ftruncate(pool[FD_MEMFD], 1L << 30) == 0);
	pool[FD_EVENTFD] = eventfd(0, EFD_CLOEXEC);
	FUZZ_CHECK(pool[FD_EVENTFD] >= 0);
	FUZZ_CHECK(pipe2(p, O_CLOEXEC) == 0);
	pool[FD_PIPE] = p[0];
	pipe_w = p[1];
}

/* The server listens on an abstract socket of this process. */
static void start_server(void)
{
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	FUZZ_CHECK(lfd >= 0);
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "vfiokit-fuzz-%d", getpid());
	addr_len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(addr.sun_path + 1);
	FUZZ_CHECK(bind(lfd, (struct sockaddr *)&addr, addr_len) == 0);
	FUZZ_CHECK(listen(lfd, 4) == 0);
	FUZZ_CHECK(vfk_server_create(&srv) == 0);
	FUZZ_CHECK(vfk_server_add_device_fd(srv, dev, lfd) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (!getenv("VFIOKIT_LOG")) vfk_log_set_level(VFK_LOG_ERROR);
	dev = fuzz_device_create();
	FUZZ_CHECK(dev != NULL);
	memcpy(initial_config, vfk_pci_config_bytes(dev), sizeof(initial_config));
	make_pool();
	start_server();
	fds_before = count_fds();
	return 0;
}

/* Every reply is a whole message: a header with the reply type and a
 * size that covers it. */
static void parse_stream(const uint8_t *p, size_t n)
{
	while (n) {
		size_t take;

		if (stream.skip) {
			take = n < stream.skip ? n : (size_t)stream.skip;
			stream.skip -= take;
		} else {
			uint32_t size, flags;

			take = sizeof(stream.hdr) - stream.hdr_have;
			take = n < take ? n : take;
			memcpy(stream.hdr + stream.hdr_have, p, take);
			stream.hdr_have += take;
			if (stream.hdr_have == sizeof(stream.hdr)) {
				memcpy(&size, stream.hdr + 4, 4);
				memcpy(&flags, stream.hdr + 8, 4);
				FUZZ_CHECK(size >= sizeof(stream.hdr));
				FUZZ_CHECK((flags & 0xf) == 1);
				stream.skip = size - sizeof(stream.hdr);
				stream.hdr_have = 0;
			}
		}
		p += take;
		n -= take;
	}
}

/* Read what the server sent, closing any fd it passed: bytes read, 0 on
 * hang-up, -EAGAIN when nothing is there, another -errno on a reset. */
static ssize_t drain(int c)
{
	static uint8_t buf[1 << 16];
	union {
		char buf[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t n = recvmsg(c, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return -errno;
	fuzz_close_received_fds(&mh);
	parse_stream(buf, (size_t)n);
	return n;
}

static void pump(int c)
{
	FUZZ_CHECK(vfk_server_run_once(srv, 0) >= 0);
	while (drain(c) > 0)
		;
}

static int pick_fd(enum fd_kind kind, unsigned int i)
{
	return kind == FD_MIX ? pool[i % 3] : pool[kind];
}

/* Send one record, running the server while the socket is full. The fds
 * ride on the record's first byte: with no bytes they are not sent. */
static void send_record(int c, const uint8_t *data, size_t len, unsigned int nfds,
			enum fd_kind kind)
{
	union fuzz_fd_ctl ctl;
	int fds[FUZZ_MAX_FDS];
	size_t done = 0;

	for (unsigned int i = 0; i < nfds; i++)
		fds[i] = pick_fd(kind, i);
	for (unsigned int loops = 0; done < len; loops++) {
		struct iovec iov = { .iov_base = (void *)(data + done), .iov_len = len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		fuzz_attach_fds(&mh, &ctl, fds, nfds);
		n = sendmsg(c, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			FUZZ_CHECK(loops < MAX_LOOPS);
			pump(c);
			continue;
		}
		if (n < 0)
			return;   /* the server hung up: the rest is moot */
		done += (size_t)n;
		nfds = 0;
	}
}

static void check_device_idle(void)
{
	FUZZ_CHECK(vfk_dma_count(dev) == 0);
	FUZZ_CHECK(memcmp(vfk_pci_config_bytes(dev), initial_config,
			  sizeof(initial_config)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { .data = data, .size = size };
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unsigned int loops = 0;
	ssize_t n = 1;

	FUZZ_CHECK(c >= 0);
	FUZZ_CHECK(connect(c, (struct sockaddr *)&addr, addr_len) == 0);
	memset(&stream, 0, sizeof(stream));
	pump(c);   /* accept */
	while (fuzz_left(&in) >= 3) {
		uint8_t ctl = (uint8_t)fuzz_uint(&in, 1);
		size_t want = (size_t)fuzz_uint(&in, 2), got;
		const uint8_t *bytes = fuzz_bytes(&in, want, &got);

		send_record(c, bytes, got, ctl & 0x1f, (enum fd_kind)((ctl >> 5) & 3));
		if (ctl & 0x80)
			pump(c);
	}
	shutdown(c, SHUT_WR);
	for (; n != 0; loops++) {
		FUZZ_CHECK(loops < MAX_LOOPS);
		FUZZ_CHECK(vfk_server_run_once(srv, 0) >= 0);
		n = drain(c);
		if (n < 0 && n != -EAGAIN)
			break;   /* reset by the server: also a hang-up */
	}
	/* After a clean hang-up (not a reset, which drops queued bytes)
	 * every reply arrived whole. */
	FUZZ_CHECK(n != 0 || (stream.hdr_have == 0 && stream.skip == 0));
	close(c);
	/* Let the server see the close of a connection it did not end itself. */
	FUZZ_CHECK(vfk_server_run_once(srv, 0) >= 0);
	check_device_idle();
	if (count_fds() != fds_before) {
		fprintf(stderr, "fds: %d before the session, %d after\n", fds_before, count_fds());
		list_fds();
		FUZZ_CHECK(!"the session leaked an fd");
	}
	return 0;
}
