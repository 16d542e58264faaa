// SPDX-License-Identifier: MIT
/* The vfio-user client against a real vfiokit server and against bad peers. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <vfiokit/client.h>
#include "fixture.h"

static struct fixture fix;

static int setup(void **state)
{
	return fixture_start(&fix);
}

static int teardown(void **state)
{
	fixture_stop(&fix);
	return 0;
}

static struct vfk_client *open_fixture(const struct vfk_client_opts *opts)
{
	struct vfk_client *c = NULL;
	char msg[256] = "";

	assert_int_equal(vfk_client_open(fix.sock, opts, &c, msg, sizeof(msg)), 0);
	assert_string_equal(vfk_client_backend(c), "vfio-user");
	return c;
}

static void test_region_info_and_mmap(void **state)
{
	struct vfk_client *c = open_fixture(NULL);
	struct vfk_region_info *ri;
	uint8_t *p;

	assert_int_equal(vfk_client_region_info(c, 0, &ri), 0);
	assert_int_equal(ri->calls, 2);
	assert_int_equal(ri->chain.count, 1);
	assert_int_equal(ri->chain.caps[0].u.sparse.nr_areas, 2);
	assert_true(ri->mmap_fd >= 0);
	p = vfk_client_region_mmap(c, ri, 0x2000, 0x1000, PROT_READ);
	assert_non_null(p);
	munmap(p, 0x1000);
	/* The hole between the areas, and a range spanning it, are refused. */
	assert_null(vfk_client_region_mmap(c, ri, 0x1000, 0x1000, PROT_READ));
	assert_int_equal(errno, EACCES);
	assert_null(vfk_client_region_mmap(c, ri, 0, 0x3000, PROT_READ));
	assert_null(vfk_client_region_mmap(c, ri, FIX_BAR0_SIZE - 0x1000, 0x2000, PROT_READ));
	assert_int_equal(errno, EINVAL);
	vfk_region_info_free(ri);

	/* The zero-size ATSD region (index 10) has caps but is never mapped. */
	assert_int_equal(vfk_client_region_info(c, 10, &ri), 0);
	assert_int_equal(ri->hdr.size, 0);
	assert_int_equal(ri->chain.count, 3);
	assert_null(vfk_client_region_mmap(c, ri, 0, 0x1000, PROT_READ));
	vfk_region_info_free(ri);

	/* CONFIG is not mappable. */
	assert_int_equal(vfk_client_region_info(c, VFIO_PCI_CONFIG_REGION_INDEX, &ri), 0);
	assert_null(vfk_client_region_mmap(c, ri, 0, 0x100, PROT_READ));
	vfk_region_info_free(ri);
	vfk_client_close(c);
}

static void test_find_region_and_config(void **state)
{
	struct vfk_client *c = open_fixture(NULL);
	uint16_t ids[2];

	assert_int_equal(vfk_client_find_region(c, 0x800010de, 1), 9);
	assert_int_equal(vfk_client_find_region(c, 0x80001014, 1), 10);
	assert_int_equal(vfk_client_find_region(c, 0x80008086, 1), -ENOENT);
	assert_int_equal(vfk_client_config_read(c, 0, ids, sizeof(ids)), 4);
	assert_int_equal(ids[0], 0x10de);
	assert_int_equal(ids[1], 0x1db1);
	vfk_client_close(c);
}

/* 3 MiB + 5 bytes through a 1 MiB max_data_xfer_size: 4 messages each way. */
static void test_large_access_split(void **state)
{
	const size_t len = (3u << 20) + 5;
	struct vfk_client_opts opts[2] = { { 0 }, { .posted_writes = true } };
	uint8_t *out = malloc(len), *in = malloc(len);

	for (int round = 0; round < 2; round++) {
		struct vfk_client *c = open_fixture(&opts[round]);
		unsigned long before;

		for (size_t i = 0; i < len; i++)
			out[i] = (uint8_t)(i * 7 + round);
		assert_int_equal(vfk_client_region_write(c, 0, 3, out, len), (ssize_t)len);
		before = *fix.bar0_reads;
		assert_int_equal(vfk_client_region_read(c, 0, 3, in, len), (ssize_t)len);
		assert_int_equal(*fix.bar0_reads - before, 4);
		assert_memory_equal(in, out, len);
		vfk_client_close(c);
	}
	free(out);
	free(in);
}

static void test_errors_from_server(void **state)
{
	struct vfk_client *c = open_fixture(NULL);
	struct vfk_region_info *ri = NULL;
	uint8_t b[8];

	assert_int_equal(vfk_client_region_info(c, 8, &ri), -EINVAL);   /* no VGA */
	assert_null(ri);
	assert_int_equal(vfk_client_region_read(c, 0, FIX_BAR0_SIZE - 4, b, 8), -EINVAL);
	/* An error reply leaves the connection usable. */
	assert_int_equal(vfk_client_region_read(c, 0, 0, b, 8), 8);
	vfk_client_close(c);
}

/* A peer that accepts and then says nothing, or says something else. */
struct bad_peer {
	int listen_fd;
	const char *says;    /* NULL: silent */
	bool flood;          /* see flood_commands() */
	char path[108];
};

/*
 * At once, before the client's request: 65536 posted DMA_WRITEs (no reply
 * wanted, 2 MiB), then a valid VERSION reply. Serving them takes the
 * client far longer than its deadline: it must time out on the way, not
 * take the reply at the end.
 */
static void flood_commands(int fd)
{
	enum { N = 65536 };
	/* vfio-user header {id, command, size, flags, error}, then {address, count}:
	 * DMA_WRITE (12), a command (type 0) with NO_REPLY (0x10), of 0 bytes. */
	struct cmd {
		uint16_t msg_id, command;
		uint32_t msg_size, flags, error;
		uint64_t address, count;
	} __attribute__((packed));
	/* VERSION (1) reply (type 1) to id 0, version 0.0, no JSON. */
	struct reply {
		uint16_t msg_id, command;
		uint32_t msg_size, flags, error;
		uint16_t major, minor;
	} __attribute__((packed)) rep = { .command = 1, .msg_size = 20, .flags = 1 };
	size_t len = N * sizeof(struct cmd) + sizeof(rep), done = 0;
	uint8_t *all = malloc(len);
	int buf = (int)len * 2;

	assert_non_null(all);
	for (unsigned int i = 0; i < N; i++) {
		struct cmd c = { .msg_id = (uint16_t)(i + 1), .command = 12, .msg_size = 32,
				 .flags = 0x10 };

		memcpy(all + i * sizeof(c), &c, sizeof(c));
	}
	memcpy(all + N * sizeof(struct cmd), &rep, sizeof(rep));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	while (done < len) {
		ssize_t n = send(fd, all + done, len - done, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	free(all);
}

static void *bad_peer_run(void *arg)
{
	struct bad_peer *bp = arg;
	int fd = accept(bp->listen_fd, NULL, NULL);
	char buf[256];

	if (fd >= 0 && bp->flood)
		flood_commands(fd);
	if (fd >= 0 && bp->says) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0 && write(fd, bp->says, strlen(bp->says)) < 0)
			n = -1;
	}
	if (fd >= 0) {
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
	return NULL;
}

static int open_bad_peer(const char *says, bool flood, int timeout_ms, char *msg, size_t len)
{
	struct bad_peer bp = { .says = says, .flood = flood };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vfk_client_opts opts = { .timeout_ms = timeout_ms };
	struct vfk_client *c = NULL;
	pthread_t t;
	int ret;

	snprintf(bp.path, sizeof(bp.path), "%s/bad.sock", fix.dir);
	strcpy(sa.sun_path, bp.path);
	bp.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(bp.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(bp.listen_fd, 1), 0);
	assert_int_equal(pthread_create(&t, NULL, bad_peer_run, &bp), 0);
	ret = vfk_client_open(bp.path, &opts, &c, msg, len);
	assert_null(c);
	pthread_join(t, NULL);
	close(bp.listen_fd);
	unlink(bp.path);
	return ret;
}

static void test_silent_server_times_out(void **state)
{
	char msg[256] = "";

	assert_int_equal(open_bad_peer(NULL, false, 200, msg, sizeof(msg)), -ETIMEDOUT);
	assert_non_null(strstr(msg, "no VERSION reply within 200 ms"));
}

/* Commands that never stop coming do not hold the client past its deadline. */
static void test_flooding_server_times_out(void **state)
{
	char msg[256] = "";

	assert_int_equal(open_bad_peer(NULL, true, 5, msg, sizeof(msg)), -ETIMEDOUT);
	assert_non_null(strstr(msg, "no VERSION reply within 5 ms"));
}

/*
 * A server that offers max_msg_fds 32 (QEMU's ceiling is 16, ours too)
 * and answers every command with an empty success reply, closing the fds
 * that came along.
 */
static void *many_fds_peer_run(void *arg)
{
	static const char json[] = "{\"capabilities\":{\"max_msg_fds\":32}}";
	int fd = accept(*(int *)arg, NULL, NULL);

	for (;;) {
		struct { uint16_t msg_id, command; uint32_t msg_size, flags, error; }
			__attribute__((packed)) h;
		union { char buf[CMSG_SPACE(sizeof(int) * 64)]; struct cmsghdr align; } ctl;
		struct iovec iov = { &h, sizeof(h) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
		uint8_t body[1024], out[16 + 4 + sizeof(json)];
		uint32_t len = 16;

		if (recvmsg(fd, &msg, MSG_WAITALL) != sizeof(h) || h.msg_size < 16 ||
		    h.msg_size - 16 > sizeof(body) ||
		    (h.msg_size > 16 && recv(fd, body, h.msg_size - 16, MSG_WAITALL) !=
		     (ssize_t)(h.msg_size - 16)))
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
				close(((int *)CMSG_DATA(c))[i]);
		if (h.command == 1) {   /* VERSION: 0.0 and our capabilities */
			memset(out + 16, 0, 4);
			memcpy(out + 20, json, sizeof(json));
			len += 4 + sizeof(json);
		}
		h.msg_size = len;
		h.flags = 1;   /* reply */
		memcpy(out, &h, sizeof(h));
		if (send(fd, out, len, MSG_NOSIGNAL) != (ssize_t)len)
			break;
	}
	close(fd);
	return NULL;
}

/* More eventfds than one message may carry go out in runs of at most 16,
 * whatever larger max_msg_fds the server offers. */
static void test_set_irqs_caps_fds_per_message(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vfk_client *c = NULL;
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0), fds[17];
	char msg[256] = "";
	pthread_t t;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/fds.sock", fix.dir);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(pthread_create(&t, NULL, many_fds_peer_run, &lfd), 0);
	assert_int_equal(vfk_client_open(sa.sun_path, NULL, &c, msg, sizeof(msg)), 0);
	for (int i = 0; i < 17; i++)
		fds[i] = dup(0);
	assert_int_equal(vfk_client_set_irq_eventfds(c, VFIO_PCI_MSIX_IRQ_INDEX, 0, 17, fds), 0);
	/* The connection is still in step. */
	assert_int_equal(vfk_client_reset(c), 0);
	for (int i = 0; i < 17; i++)
		close(fds[i]);
	vfk_client_close(c);
	pthread_join(t, NULL);
	close(lfd);
	unlink(sa.sun_path);
}

#define BATCH_PAGES 20   /* more maps than the client keeps in flight (16) */

static struct vfk_client_dma_op page_op(bool unmap, uint64_t page, int fd)
{
	return (struct vfk_client_dma_op){ .unmap = unmap, .iova = page * 4096, .size = 4096,
					   .fd = fd, .fd_offset = page * 4096 };
}

/* A pipelined batch: every op's own result, in order, across the window. */
static void test_dma_batch_results_in_order(void **state)
{
	struct vfk_client *c = open_fixture(NULL);
	struct vfk_client_dma_op ops[2 * BATCH_PAGES + 2];
	int memfd = memfd_create("batch", MFD_CLOEXEC);
	size_t n = 0;

	assert_true(memfd >= 0);
	assert_int_equal(ftruncate(memfd, BATCH_PAGES * 4096), 0);
	for (uint64_t i = 0; i < BATCH_PAGES; i++)
		ops[n++] = page_op(false, i, memfd);
	ops[n++] = page_op(false, 3, memfd);            /* overlaps: -EEXIST */
	for (uint64_t i = 0; i < BATCH_PAGES; i++)
		ops[n++] = page_op(true, i, -1);
	ops[n++] = page_op(true, 0, -1);                /* gone: -ENOENT */
	assert_int_equal(vfk_client_dma_batch(c, ops, n), -EEXIST);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ops[i].result, i == BATCH_PAGES ? -EEXIST :
					       i == n - 1 ? -ENOENT : 0);
	/* The stream is in step and every page was unmapped. */
	assert_int_equal(vfk_client_dma_unmap(c, 5 * 4096, 4096), -ENOENT);
	close(memfd);
	vfk_client_close(c);
}

/* A bad op refuses the whole batch before anything is sent; fd-less
 * memory (vaddr) is mapped and unmapped like a single call's. */
static void test_dma_batch_checks_first(void **state)
{
	struct vfk_client *c = open_fixture(NULL);
	static uint8_t mem[4096];
	int memfd = memfd_create("batch", MFD_CLOEXEC);
	struct vfk_client_dma_op bad[2] = { page_op(false, 0, memfd), page_op(false, 1, -1) };
	struct vfk_client_dma_op vaddr[2] = { page_op(false, 2, -1), page_op(true, 2, -1) };

	assert_true(memfd >= 0);
	assert_int_equal(ftruncate(memfd, 4096), 0);
	assert_int_equal(vfk_client_dma_batch(c, bad, 2), -EINVAL);
	assert_int_equal(vfk_client_dma_unmap(c, 0, 4096), -ENOENT);
	vaddr[0].vaddr = mem;
	assert_int_equal(vfk_client_dma_batch(c, vaddr, 2), 0);
	assert_int_equal(vaddr[0].result, 0);
	assert_int_equal(vaddr[1].result, 0);
	assert_int_equal(vfk_client_dma_batch(c, NULL, 0), 0);
	close(memfd);
	vfk_client_close(c);
}

static void test_other_protocol(void **state)
{
	char msg[256] = "";

	assert_int_equal(open_bad_peer("HTTP/1.1 400 Bad Request\r\n\r\n", false, 1000, msg, sizeof(msg)),
			 -EPROTO);
	assert_non_null(strstr(msg, "does not speak vfio-user"));
}

static void test_no_such_socket(void **state)
{
	struct vfk_client *c = NULL;
	char msg[256] = "", path[128];

	snprintf(path, sizeof(path), "%s/missing.sock", fix.dir);
	assert_int_equal(vfk_client_open(path, NULL, &c, msg, sizeof(msg)), -ENOENT);
	assert_non_null(strstr(msg, "no such socket"));
	assert_int_equal(vfk_client_open(fix.dir, NULL, &c, msg, sizeof(msg)), -ENOTSOCK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_region_info_and_mmap),
		cmocka_unit_test(test_find_region_and_config),
		cmocka_unit_test(test_large_access_split),
		cmocka_unit_test(test_errors_from_server),
		cmocka_unit_test(test_silent_server_times_out),
		cmocka_unit_test(test_flooding_server_times_out),
		cmocka_unit_test(test_set_irqs_caps_fds_per_message),
		cmocka_unit_test(test_dma_batch_results_in_order),
		cmocka_unit_test(test_dma_batch_checks_first),
		cmocka_unit_test(test_other_protocol),
		cmocka_unit_test(test_no_such_socket),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
