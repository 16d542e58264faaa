// SPDX-License-Identifier: MIT
/*
 * Fault tests against a real server process: clients killed at every
 * point of a session, every message carrying the most fds, a client that
 * never reads while another device answers, connections opened in a loop,
 * a client killed while the server waits for its answer to a DMA_READ, a
 * client holding the most DMA mappings it was granted, and a client whose
 * server dies or goes silent while it waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <vfiokit/client.h>

#include "dmaengine.h"

#include "fault_server.h"
#include "fuzz_device.h"
#include "../server/raw_client.h"
#include "vfio-user/wire.h"

/* One message of the scripted session, with the fds it carries. */
struct step {
	uint8_t bytes[16 + 4096 + 16];
	size_t len;
	int fds[4];
	unsigned int nfds;
};

/* ASan and valgrind keep freed memory in quarantine: RSS then measures
 * their quarantine, not the server. The fd checks hold everywhere. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

static bool rss_meaningful(void)
{
	return RSS_MEANINGFUL && !RUNNING_ON_VALGRIND;
}

/* The test's server; the teardown stops it even when an assertion failed. */
static struct fault_server fs;

static int stop_server(void **state)
{
	if (fs.pid > 0)
		fs_stop(&fs);
	return 0;
}

static struct step steps[6];
static unsigned int nsteps;
static int memfd, evfds[4];

static void add_step(uint16_t cmd, const void *payload, size_t len, const int *fds,
		     unsigned int nfds)
{
	struct step *s = &steps[nsteps];
	struct vfu_hdr h = { .msg_id = (uint16_t)nsteps, .command = cmd,
			     .msg_size = (uint32_t)(16 + len) };

	memcpy(s->bytes, &h, sizeof(h));
	memcpy(s->bytes + 16, payload, len);
	s->len = 16 + len;
	if (nfds)
		memcpy(s->fds, fds, nfds * sizeof(int));
	s->nfds = nfds;
	nsteps++;
}

/* VERSION, GET_INFO, a 4 KiB REGION_WRITE, DMA_MAP with an fd, SET_IRQS with 4 eventfds. */
static void build_session(void)
{
	static const char json[] = "{\"capabilities\":{\"max_msg_fds\":16}}";
	uint8_t buf[4 + sizeof(json)] = { 0 };
	struct vfu_device_info info = { .argsz = sizeof(info) };
	struct { struct vfu_region_rw rw; uint8_t data[4096]; } __attribute__((packed)) w = {
		.rw = { .offset = 0, .region = 2, .count = 4096 } };
	struct vfu_dma_map map = { .argsz = sizeof(map), .flags = 3, .address = 0x100000,
				   .size = 0x10000 };
	struct vfio_irq_set set = { .argsz = sizeof(set), .index = VFIO_PCI_MSI_IRQ_INDEX,
				    .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
				    .count = 4 };

	memcpy(buf + 4, json, sizeof(json));
	memfd = memfd_create("fault-ram", MFD_CLOEXEC);
	assert_true(memfd >= 0 && ftruncate(memfd, 0x10000) == 0);
	for (int i = 0; i < 4; i++)
		assert_true((evfds[i] = eventfd(0, EFD_CLOEXEC)) >= 0);
	nsteps = 0;
	add_step(VFU_CMD_VERSION, buf, sizeof(buf), NULL, 0);
	add_step(VFU_CMD_DEVICE_GET_INFO, &info, sizeof(info), NULL, 0);
	add_step(VFU_CMD_REGION_WRITE, &w, sizeof(w), NULL, 0);
	add_step(VFU_CMD_DMA_MAP, &map, sizeof(map), &memfd, 1);
	add_step(VFU_CMD_DEVICE_SET_IRQS, &set, sizeof(set), evfds, 4);
}

/* One sendmsg() of p with the fds on its first byte; 0 once all of it went. */
static int send_part(int fd, const uint8_t *p, size_t len, const int *fds, unsigned int nfds)
{
	struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
	ssize_t n = vfu_wire_sendmsg(fd, &iov, 1, fds, nfds);

	if (n < 0)
		return (int)n;
	return n == (ssize_t)len ? 0 : -EAGAIN;
}

/* A child client sends the session's first `cut` bytes, then is killed. */
static void run_killed_client(const char *path, size_t cut)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = rc_connect(path);
		size_t at = 0;

		for (unsigned int i = 0; fd >= 0 && i < nsteps && at < cut; i++) {
			size_t n = cut - at < steps[i].len ? cut - at : steps[i].len;

			if (send_part(fd, steps[i].bytes, n, steps[i].fds, steps[i].nfds))
				break;
			at += n;
		}
		raise(SIGKILL);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void test_client_killed_at_every_point(void **state)
{
	size_t cuts[64], ncuts = 0, at = 0;
	int base;

	assert_int_equal(fs_start(&fs, 1), 0);
	build_session();   /* after the fork: the server must not inherit these */
	base = fs_fd_count(&fs);   /* listening only: what every test returns to */
	assert_int_equal(fs_answers_soon(&fs, 0), 0);
	cuts[ncuts++] = 0;   /* connected, nothing sent (before VERSION) */
	for (unsigned int i = 0; i < nsteps; i++) {
		cuts[ncuts++] = at + 1;       /* fds in flight: they ride on the first byte */
		cuts[ncuts++] = at + 8;       /* mid-header */
		cuts[ncuts++] = at + 16;      /* header whole, no payload */
		cuts[ncuts++] = at + 16 + (steps[i].len - 16) / 2;   /* mid-payload */
		at += steps[i].len;
		cuts[ncuts++] = at;           /* after the message */
	}
	for (size_t k = 0; k < ncuts; k++) {
		run_killed_client(fs.path[0], cuts[k]);
		assert_int_equal(fs_answers_soon(&fs, 0), 0);
	}
	assert_int_equal(fs_fds_settle(&fs, base), base);
	assert_int_equal(fs_stop(&fs), 0);
}

static void test_max_fds_on_every_message(void **state)
{
	struct vfu_device_info info = { .argsz = sizeof(info) };
	int fds[16], base, fd;

	assert_int_equal(fs_start(&fs, 1), 0);
	base = fs_fd_count(&fs);   /* listening only: what every test returns to */
	assert_int_equal(fs_answers_soon(&fs, 0), 0);
	for (int i = 0; i < 16; i++)
		assert_true((fds[i] = eventfd(0, EFD_CLOEXEC)) >= 0);
	fd = rc_connect(fs.path[0]);
	assert_true(fd >= 0);
	assert_int_equal(rc_negotiate(fd), 0);
	for (int i = 0; i < 300; i++) {
		ssize_t r = rc_call(fd, VFU_CMD_DEVICE_GET_INFO, &info, sizeof(info), fds, 16,
				    &info, sizeof(info), NULL);

		/* Answered or refused, never kept: the count does not grow. */
		assert_true(r >= 0 || r == -EINVAL);
		assert_true(fs_fd_count(&fs) <= base + 1);
	}
	close(fd);
	assert_int_equal(fs_fds_settle(&fs, base), base);
	assert_int_equal(fs_answers_soon(&fs, 0), 0);
	assert_int_equal(fs_stop(&fs), 0);
	for (int i = 0; i < 16; i++)
		close(fds[i]);
}

/* Device 0's client floods reads and never reads a reply; device 1 answers. */
static void test_unread_replies_do_not_stall_others(void **state)
{
	struct { struct vfu_hdr h; struct vfu_region_rw rw; } __attribute__((packed)) req;
	int fd;

	assert_int_equal(fs_start(&fs, 2), 0);
	fd = rc_connect(fs.path[0]);
	assert_true(fd >= 0);
	assert_int_equal(rc_negotiate(fd), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	for (unsigned int i = 0; i < 4000; i++) {
		req.h = (struct vfu_hdr){ .msg_id = (uint16_t)i, .command = VFU_CMD_REGION_READ,
					  .msg_size = sizeof(req) };
		req.rw = (struct vfu_region_rw){ .offset = 0, .region = 2, .count = FUZZ_BAR2_SIZE };
		if (send(fd, &req, sizeof(req), MSG_NOSIGNAL) != sizeof(req))
			break;   /* the server stopped reading us: what it should do */
	}
	for (int i = 0; i < 20; i++)
		assert_int_equal(fs_answers_soon(&fs, 1), 0);
	close(fd);
	assert_int_equal(fs_answers_soon(&fs, 0), 0);
	assert_int_equal(fs_stop(&fs), 0);
}

/* A second client is refused and the first one keeps working; 500
 * connections opened and left open cost nothing once closed. */
static void test_connections_in_a_loop(void **state)
{
	struct vfu_device_info info = { .argsz = sizeof(info) };
	int first, others[500], base;

	assert_int_equal(fs_start(&fs, 1), 0);
	base = fs_fd_count(&fs);   /* listening only: what every test returns to */
	assert_int_equal(fs_answers_soon(&fs, 0), 0);
	first = rc_connect(fs.path[0]);
	assert_true(first >= 0);
	assert_int_equal(rc_negotiate(first), 0);
	for (int i = 0; i < 500; i++) {
		others[i] = rc_connect(fs.path[0]);
		assert_true(others[i] >= 0 || others[i] == -EAGAIN);
	}
	assert_true(rc_negotiate(others[0]) < 0);
	assert_true(rc_call(first, VFU_CMD_DEVICE_GET_INFO, &info, sizeof(info), NULL, 0,
			    &info, sizeof(info), NULL) >= 0);
	for (int i = 0; i < 500; i++)
		if (others[i] >= 0)
			close(others[i]);
	close(first);
	assert_int_equal(fs_fds_settle(&fs, base), base);
	assert_int_equal(fs_answers_soon(&fs, 0), 0);
	assert_int_equal(fs_stop(&fs), 0);
}

/* ---- a client killed during a server-to-client DMA_READ ------------- */

#define DMA_IOVA 0x100000u

static struct vfk_device *make_dmaengine(void)
{
	struct vfk_dmaengine_params p;
	struct vfk_device *dev = NULL;

	vfk_dmaengine_params_default(&p);
	return vfk_dmaengine_create("fault-dmae", &p, &dev) ? NULL : dev;
}

static ssize_t reg_write(int fd, uint32_t reg, uint32_t val)
{
	struct { struct vfu_region_rw rw; uint32_t v; } __attribute__((packed)) w = {
		.rw = { .offset = reg, .region = VFIO_PCI_BAR0_REGION_INDEX, .count = 4 },
		.v = val };
	uint8_t out[16];

	return rc_call(fd, VFU_CMD_REGION_WRITE, &w, sizeof(w), NULL, 0, out, sizeof(out), NULL);
}

/* A dmaengine register, or -1 when the read failed. */
static int64_t reg_read(int fd, uint32_t reg)
{
	struct vfu_region_rw rw = { .offset = reg, .region = VFIO_PCI_BAR0_REGION_INDEX,
				    .count = 4 };
	uint8_t out[sizeof(rw) + 4];
	uint32_t v;

	if (rc_call(fd, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, out, sizeof(out),
		    NULL) != (ssize_t)sizeof(out))
		return -1;
	memcpy(&v, out + sizeof(rw), sizeof(v));
	return v;
}

/* The child: map client memory without an fd (reached by DMA_READ/WRITE
 * messages), start a 4 KiB copy, and die on the server's first DMA_READ. */
static void killed_in_dma_read(const char *path)
{
	struct vfu_dma_map map = { .argsz = sizeof(map),
				   .flags = VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE,
				   .address = DMA_IOVA, .size = 0x10000 };
	struct { struct vfu_region_rw rw; uint32_t v; } __attribute__((packed)) start = {
		.rw = { .offset = VFK_DMAE_REG_CMD, .region = VFIO_PCI_BAR0_REGION_INDEX,
			.count = 4 },
		.v = VFK_DMAE_CMD_START };
	static uint8_t buf[VFU_HDR_SIZE + 32 + 8192];
	uint8_t out[64];
	int fd;

	alarm(20);   /* a server that never asks must not hang the test */
	fd = rc_connect(path);
	if (fd < 0 || rc_negotiate(fd) ||
	    rc_call(fd, VFU_CMD_DMA_MAP, &map, sizeof(map), NULL, 0, out, sizeof(out), NULL) < 0 ||
	    reg_write(fd, VFK_DMAE_REG_SRC_LO, DMA_IOVA) < 0 ||
	    reg_write(fd, VFK_DMAE_REG_DST_LO, DMA_IOVA + 0x8000) < 0 ||
	    reg_write(fd, VFK_DMAE_REG_LEN, 0x1000) < 0 ||
	    rc_send(fd, 0x7000, VFU_CMD_REGION_WRITE, 0, &start, sizeof(start), NULL, 0))
		_exit(1);
	for (;;) {
		struct vfu_hdr h;

		if (rc_recv(fd, buf, sizeof(buf), NULL, NULL) < 0)
			_exit(2);
		memcpy(&h, buf, sizeof(h));
		if ((h.flags & VFU_F_TYPE_MASK) == VFU_F_TYPE_COMMAND &&
		    h.command == VFU_CMD_DMA_READ)
			raise(SIGKILL);
	}
}

static void test_client_killed_during_dma_read(void **state)
{
	int base;

	assert_int_equal(fs_start_with(&fs, 1, make_dmaengine), 0);
	base = fs_fd_count(&fs);
	for (int round = 0; round < 5; round++) {
		pid_t pid = fork();
		int status, fd;

		assert_true(pid >= 0);
		if (pid == 0)
			killed_in_dma_read(fs.path[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		/* Killed by itself at the DMA_READ: the server did ask. */
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		assert_int_equal(fs_answers_soon(&fs, 0), 0);
		/* The next client finds a reset device: no copy pending or
		 * half done, registers at power-on. */
		fd = rc_connect(fs.path[0]);
		assert_true(fd >= 0);
		assert_int_equal(rc_negotiate(fd), 0);
		assert_int_equal(reg_read(fd, VFK_DMAE_REG_ID), VFK_DMAE_ID);
		assert_int_equal(reg_read(fd, VFK_DMAE_REG_STATUS), 0);
		assert_int_equal(reg_read(fd, VFK_DMAE_REG_SRC_LO), 0);
		assert_int_equal(reg_read(fd, VFK_DMAE_REG_COPIES), 0);
		close(fd);
	}
	assert_int_equal(fs_fds_settle(&fs, base), base);
	assert_int_equal(fs_stop(&fs), 0);
}

/* ---- a client holding the most DMA mappings -------------------------- */

/* Our VERSION offers max_dma_maps; what the server grants, or -errno. */
static long negotiate_dma_maps(int fd, unsigned int offer)
{
	char json[128], out[1024];
	uint8_t msg[sizeof(struct vfu_version) + sizeof(json)] = { 0 };
	const char *key;
	ssize_t n;
	int len;

	len = snprintf(json, sizeof(json),
		       "{\"capabilities\":{\"max_msg_fds\":16,\"max_dma_maps\":%u}}", offer);
	memcpy(msg + sizeof(struct vfu_version), json, (size_t)len + 1);
	n = rc_call(fd, VFU_CMD_VERSION, msg, sizeof(struct vfu_version) + (size_t)len + 1,
		    NULL, 0, out, sizeof(out) - 1, NULL);
	if (n < 0)
		return (long)n;
	out[n < (ssize_t)sizeof(out) - 1 ? n : (ssize_t)sizeof(out) - 1] = '\0';
	key = strstr(out + sizeof(struct vfu_version), "\"max_dma_maps\"");
	if (!key || !(key = strchr(key, ':')))
		return -EPROTO;
	return strtol(key + 1, NULL, 10);
}

static ssize_t dma_map(int fd, int ram_fd, unsigned int i)
{
	struct vfu_dma_map map = { .argsz = sizeof(map),
				   .flags = VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE,
				   .address = DMA_IOVA + (uint64_t)i * 0x1000, .size = 0x1000 };

	return rc_call(fd, VFU_CMD_DMA_MAP, &map, sizeof(map), &ram_fd, 1, NULL, 0, NULL);
}

/* The bytes the server unmapped (0 for a page never mapped, as type1
 * answers), or -errno. */
static long long dma_unmap(int fd, unsigned int i)
{
	struct vfu_dma_unmap u = { .argsz = sizeof(u),
				   .address = DMA_IOVA + (uint64_t)i * 0x1000, .size = 0x1000 };
	ssize_t n = rc_call(fd, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, &u, sizeof(u), NULL);

	return n < 0 ? n : (long long)u.size;
}

#define MAPS_OFFERED 200u

/* One session: every granted mapping (an fd each), one more refused,
 * one freed and taken again; unmapped by hand on even rounds, left to the
 * disconnect on odd ones. */
static void max_maps_session(const char *path, int ram_fd, unsigned int round)
{
	int fd = rc_connect(path);
	long max;

	assert_true(fd >= 0);
	max = negotiate_dma_maps(fd, MAPS_OFFERED);
	assert_int_equal(max, MAPS_OFFERED);
	for (unsigned int i = 0; i < max; i++)
		assert_int_equal(dma_map(fd, ram_fd, i), 0);
	assert_true(dma_map(fd, ram_fd, (unsigned int)max) < 0);
	assert_int_equal(dma_unmap(fd, 7), 0x1000);
	assert_int_equal(dma_map(fd, ram_fd, (unsigned int)max), 0);
	assert_true(dma_map(fd, ram_fd, 7) < 0);
	if (round % 2 == 0) {
		for (unsigned int i = 0; i <= max; i++)
			assert_int_equal(dma_unmap(fd, i), i == 7 ? 0 : 0x1000);
		/* The count went back: the whole allowance can be taken again. */
		for (unsigned int i = 0; i < max; i++)
			assert_int_equal(dma_map(fd, ram_fd, i), 0);
	}
	close(fd);
}

static void test_max_dma_maps(void **state)
{
	long rss0 = 0;
	int ram_fd, base;

	assert_int_equal(fs_start(&fs, 1), 0);
	ram_fd = memfd_create("fault-dma", MFD_CLOEXEC);
	assert_true(ram_fd >= 0 && ftruncate(ram_fd, 0x1000) == 0);
	base = fs_fd_count(&fs);
	for (unsigned int round = 0; round < 8; round++) {
		max_maps_session(fs.path[0], ram_fd, round);
		assert_int_equal(fs_fds_settle(&fs, base), base);
		assert_int_equal(fs_answers_soon(&fs, 0), 0);
		if (round == 1)
			rss0 = fs_rss_kib(&fs);   /* after a warm-up of both kinds */
	}
	if (rss_meaningful())
		assert_true(fs_rss_kib(&fs) <= rss0 + 256);
	close(ram_fd);
	assert_int_equal(fs_stop(&fs), 0);
}

/* A fake server: accept, read the VERSION request, then die or go silent. */
static pid_t fake_server(const char *path, bool die)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[256];
		int c;

		prctl(PR_SET_PDEATHSIG, SIGKILL);   /* never outlive a failed test */
		c = accept(lfd, NULL, NULL);

		if (c >= 0 && recv(c, buf, sizeof(buf), 0) > 0 && die)
			raise(SIGKILL);
		pause();
		_exit(0);
	}
	close(lfd);
	return pid;
}

static void test_server_killed_while_client_waits(void **state)
{
	struct vfk_client_opts opts = { .timeout_ms = 500 };
	char dir[] = "/tmp/vfiokit-fault-XXXXXX", path[64];
	struct vfk_client *c = NULL;

	assert_non_null(mkdtemp(dir));
	for (int die = 1; die >= 0; die--) {
		pid_t pid;

		snprintf(path, sizeof(path), "%s/%s.sock", dir, die ? "dies" : "silent");
		pid = fake_server(path, die);
		/* Killed: an error at once; silent: an error at the timeout. */
		assert_true(vfk_client_open(path, &opts, &c, NULL, 0) < 0);
		assert_null(c);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_client_killed_at_every_point, stop_server),
		cmocka_unit_test_teardown(test_max_fds_on_every_message, stop_server),
		cmocka_unit_test_teardown(test_unread_replies_do_not_stall_others, stop_server),
		cmocka_unit_test_teardown(test_connections_in_a_loop, stop_server),
		cmocka_unit_test_teardown(test_client_killed_during_dma_read, stop_server),
		cmocka_unit_test_teardown(test_max_dma_maps, stop_server),
		cmocka_unit_test(test_server_killed_while_client_waits),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
