/* SPDX-License-Identifier: MIT */
/*
 * One server, two tenants (isolation of memory and DMA): what one client does to its own device must
 * not reach the other device, the process, or the next client (issue:
 * "one process, many tenants"). Each test starts a server in a thread
 * with two doorbell devices, A and B, on sockets in a temp dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <cmocka.h>

#include <vfiokit/vfiokit.h>
#include "doorbell.h"
#include "../test_util.h"
#include "raw_client.h"
#include "vfio-user/wire.h"

#define PAGE       4096u
#define WINDOW     (2u << 20)
#define GUEST_BASE 0x200000u
#define HUGE_NAME  "vfk-tenant-huge"

static struct {
	char dir[64];
	struct vfk_server *srv;
	pthread_t thread;
	struct doorbell t[2];
	char path[2][96];
} fx;

static void *serve(void *arg)
{
	vfk_server_run(fx.srv);
	return NULL;
}

/* A server with these limits; map_budget 0: the default. */
static void start(uint64_t max_maps, uint64_t max_bytes, uint64_t map_budget)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/vfk-tenants-XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	assert_int_equal(vfk_server_create(&fx.srv), 0);
	vfk_server_set_dma_limits(fx.srv, max_maps, max_bytes);
	if (map_budget)
		vfk_server_set_map_budget(fx.srv, map_budget);
	for (int i = 0; i < 2; i++) {
		snprintf(fx.path[i], sizeof(fx.path[i]), "%s/%c.sock", fx.dir, 'a' + i);
		db_device(&fx.t[i], i ? "tenant-b" : "tenant-a");
		assert_int_equal(vfk_server_add_device(fx.srv, fx.t[i].dev, fx.path[i]), 0);
	}
	assert_int_equal(pthread_create(&fx.thread, NULL, serve, NULL), 0);
}

static int setup_default(void **state)
{
	start(VFK_DMA_DEFAULT_MAX_MAPS, VFK_DMA_DEFAULT_MAX_BYTES, 0);
	return 0;
}

static int setup_small_budget(void **state)
{
	start(VFK_DMA_DEFAULT_MAX_MAPS, VFK_DMA_DEFAULT_MAX_BYTES, 64);
	return 0;
}

static int setup_small_limits(void **state)
{
	start(32, 8 * WINDOW, 0);
	return 0;
}

static int teardown(void **state)
{
	vfk_server_stop(fx.srv);
	pthread_join(fx.thread, NULL);
	vfk_server_destroy(fx.srv);
	for (int i = 0; i < 2; i++)
		vfk_device_destroy(fx.t[i].dev);
	rmdir(fx.dir);
	return 0;
}

/* A negotiated client of tenant i; a server that stops answering fails
 * the test instead of hanging it. */
static int client(int i)
{
	struct timeval tv = { .tv_sec = 10 };
	int fd = rc_connect(fx.path[i]);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(rc_negotiate(fd), 0);
	return fd;
}

/*
 * Address space: 4 KiB windows of 16 huge sparse files used to mmap
 * 16 x 16 TiB (more than the process has), so every later DMA_MAP of
 * every device failed with ENOMEM. Now each costs a 2 MiB window.
 */
static void test_huge_sparse_files(void **state)
{
	int a = client(0), b = client(1);
	int huge[16], mem = db_sparse_memfd("vfk-tenant-b", 64u << 20);
	uint64_t iova = GUEST_BASE;
	uint8_t msg[64];

	for (int i = 0; i < 16; i++) {
		huge[i] = db_sparse_memfd(HUGE_NAME, 16ull << 40);
		assert_int_equal(db_dma_map(a, (uint64_t)i << 32, PAGE, huge[i], 8ull << 40), 0);
	}
	assert_true(test_mapped_bytes("memfd:" HUGE_NAME) <= 16 * WINDOW);
	/* B maps 64 MiB and its device copies there. */
	assert_int_equal(db_dma_map(b, GUEST_BASE, 64u << 20, mem, 0), 0);
	assert_int_equal(pwrite(mem, "0123456789abcdef", 16, 0), 16);
	db_put_write(msg, 7, DB_DOORBELL, iova, false);
	db_send_all(b, msg, db_write_size(DB_DOORBELL));
	assert_true(rc_recv(b, msg, sizeof(msg), NULL, NULL) > 0);
	assert_int_equal(db_read(b, DB_COPIES), 1);
	assert_int_equal(fx.t[1].copy_status, 0);
	assert_int_equal(pread(mem, msg, 16, 16), 16);
	assert_memory_equal(msg, "0123456789abcdef", 16);
	close(a);
	close(b);
	for (int i = 0; i < 16; i++)
		close(huge[i]);
	close(mem);
}

/* Per-connection limits: mappings and window bytes, answered ENOSPC. */
static void test_limits(void **state)
{
	int a = client(0), b = client(1);
	int mem = db_sparse_memfd("vfk-tenant-lim", 1ull << 40);
	unsigned int i;

	/* 8 windows of 2 MiB fill the 16 MiB; the 9th is refused ... */
	for (i = 0; i < 8; i++)
		assert_int_equal(db_dma_map(a, (uint64_t)i << 32, PAGE, mem, (uint64_t)i << 30), 0);
	assert_int_equal(db_dma_map(a, 8ull << 32, PAGE, mem, 8ull << 30), -ENOSPC);
	/* ... but a page inside a window already mapped costs nothing. */
	assert_int_equal(db_dma_map(a, 100ull << 32, PAGE, mem, PAGE), 0);
	/* 32 mappings in all; fd-less ones count too. */
	for (i = 9; i < 32; i++)
		assert_int_equal(db_dma_map(a, (uint64_t)i << 32, PAGE, -1, 0), 0);
	assert_int_equal(db_dma_map(a, 40ull << 32, PAGE, -1, 0), -ENOSPC);
	/* B has its own budget. */
	for (i = 0; i < 8; i++)
		assert_int_equal(db_dma_map(b, (uint64_t)i << 32, PAGE, mem, (uint64_t)i << 30), 0);
	close(a);
	close(b);
	close(mem);
}

/*
 * The process's mmaps are shared fairly: with a budget of 64 windows and
 * two devices, A gets 32 (4 KiB in 32 distinct 2 MiB windows) and ENOSPC
 * after; B keeps its 32. Without the share, A's 65535 mappings could each
 * take a window, past vm.max_map_count: every mmap of the process, B's and
 * malloc's, would fail.
 */
static void test_window_share(void **state)
{
	int a = client(0), b = client(1);
	int mem = db_sparse_memfd("vfk-tenant-share", 1ull << 40);
	unsigned int i;

	for (i = 0; i < 32; i++)
		assert_int_equal(db_dma_map(a, (uint64_t)i << 32, PAGE, mem, (uint64_t)i * WINDOW), 0);
	assert_int_equal(db_dma_map(a, 32ull << 32, PAGE, mem, 32ull * WINDOW), -ENOSPC);
	/* Inside a window A holds: no new mmap, allowed. */
	assert_int_equal(db_dma_map(a, 33ull << 32, PAGE, mem, PAGE), 0);
	for (i = 0; i < 32; i++)
		assert_int_equal(db_dma_map(b, (uint64_t)i << 32, PAGE, mem, (uint64_t)i * WINDOW), 0);
	close(a);
	close(b);
	close(mem);
}

/* Wait until the server closed its end of fd: the next read sees the end. */
static void assert_dropped(int fd)
{
	uint8_t buf[256];
	ssize_t n;

	do
		n = rc_recv(fd, buf, sizeof(buf), NULL, NULL);
	while (n > 0);
	assert_true(n == 0 || n == -ECONNRESET || n == -EPIPE);
}

/*
 * A client truncates the memory it mapped, then rings the doorbell: the
 * device's copy used to raise SIGBUS in the server (every device gone).
 * Now the copy fails, that client is dropped, B goes on, A reconnects.
 */
static void test_truncated_dma_memory(void **state)
{
	int a = client(0), b = client(1);
	int mem = db_sparse_memfd("vfk-tenant-trunc", 4 * PAGE);
	uint64_t iova = GUEST_BASE + PAGE;
	uint8_t msg[64];

	assert_int_equal(db_dma_map(a, GUEST_BASE, 4 * PAGE, mem, 0), 0);
	assert_int_equal(ftruncate(mem, 0), 0);
	db_put_write(msg, 9, DB_DOORBELL, iova, false);
	db_send_all(a, msg, db_write_size(DB_DOORBELL));
	assert_dropped(a);
	close(a);
	assert_int_equal(fx.t[0].copy_status, -EFAULT);
	assert_int_equal(db_read(b, DB_COPIES), 0);
	a = client(0);
	assert_int_equal(db_read(a, DB_COPIES), 1);
	close(a);
	close(b);
	close(mem);
}

/*
 * posted writes in MiB before the doorbell, and after it (sent before the
 * answer to the server's DMA request: the client's vCPU goes on posting).
 * The answer used to find the receive buffer full (ENOBUFS: dropped).
 */
static void run_backlog(int fd, int i, size_t before_mib, size_t after_mib)
{
	size_t per = VFU_HDR_SIZE + sizeof(struct vfu_region_rw) + 4;
	size_t n_before = (before_mib << 20) / per, n_after = (after_mib << 20) / per;
	size_t cap = (n_before + n_after) * per + 64, len = 0;
	uint8_t *buf = malloc(cap), reply[64];
	struct vfu_hdr h;

	assert_non_null(buf);
	for (size_t k = 0; k < n_before; k++)
		len += db_put_write(buf + len, 1, DB_SCRATCH, k, true);
	len += db_put_write(buf + len, 77, DB_DOORBELL, GUEST_BASE, false);
	for (size_t k = 0; k < n_after; k++)
		len += db_put_write(buf + len, 2, DB_SCRATCH, k, true);
	db_send_all(fd, buf, len);
	free(buf);
	/* The doorbell's reply comes first, then the DMA requests, which
	 * rc_call answers while it waits for its own reply. */
	assert_true(rc_recv(fd, reply, sizeof(reply), NULL, NULL) >= (ssize_t)VFU_HDR_SIZE);
	memcpy(&h, reply, sizeof(h));
	assert_int_equal(h.msg_id, 77);
	assert_int_equal(h.flags & VFU_F_ERROR, 0);
	assert_int_equal(db_read(fd, DB_POSTED), n_before + n_after);
	assert_int_equal(db_read(fd, DB_COPIES), 1);
	assert_int_equal(fx.t[i].copy_status, 0);
}

static void test_backlog_fdless(void **state)
{
	static uint8_t guest[PAGE];
	int a = client(0);

	rc_dma_mem = guest;
	rc_dma_base = GUEST_BASE;
	rc_dma_len = sizeof(guest);
	memset(guest, 0x3c, 16);
	assert_int_equal(db_dma_map(a, GUEST_BASE, sizeof(guest), -1, 0), 0);
	run_backlog(a, 0, 1, 4);
	assert_int_equal(guest[16], 0x3c);
	assert_int_equal(guest[31], 0x3c);
	close(a);
}

static void test_backlog_fd_backed(void **state)
{
	int b = client(1), mem = db_sparse_memfd("vfk-tenant-backlog", 4 * PAGE);
	uint8_t got[16];

	assert_int_equal(pwrite(mem, "fedcba9876543210", 16, 0), 16);
	assert_int_equal(db_dma_map(b, GUEST_BASE, 4 * PAGE, mem, 0), 0);
	run_backlog(b, 1, 1, 4);
	assert_int_equal(pread(mem, got, 16, 16), 16);
	assert_memory_equal(got, "fedcba9876543210", 16);
	close(b);
	close(mem);
}

/* Resident pages of this process (the server runs in it), in KiB. */
static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &size, &resident), 2);
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * What a client made the process allocate goes with it: 60000 mappings,
 * full buffers (a 1 MiB write) and a DMA wait's reserve filled by 4 MiB
 * of posted writes leave RSS within 10% of before.
 */
static void test_memory_returned(void **state)
{
	static uint8_t batch[1000 * (VFU_HDR_SIZE + sizeof(struct vfu_dma_map))];
	static uint8_t big[sizeof(struct vfu_region_rw) + (1 << 20)];
	static uint8_t guest[PAGE];
	unsigned int total = test_plain_allocator() ? 60000 : 3000;
	struct vfu_region_rw rw = { DB_SCRATCH, 0, 1 << 20 };
	long before;
	int a;

	memset(batch, 0, sizeof(batch));   /* our own pages count from the start */
	memset(big, 0, sizeof(big));
	malloc_trim(0);   /* what earlier tests freed must not pad the baseline */
	before = rss_kib();
	a = client(0);
	for (unsigned int done = 0; done < total; done += 1000) {
		size_t len = db_put_maps(batch, (1ull << 32) + (uint64_t)done * PAGE, 1000);
		uint8_t reply[64];

		db_send_all(a, batch, len);
		for (unsigned int k = 0; k < 1000; k++) {
			struct vfu_hdr h;

			assert_int_equal(rc_recv(a, reply, sizeof(reply), NULL, NULL), VFU_HDR_SIZE);
			memcpy(&h, reply, sizeof(h));
			assert_int_equal(h.flags & VFU_F_ERROR, 0);
		}
	}
	rc_dma_mem = guest;
	rc_dma_base = GUEST_BASE;
	rc_dma_len = sizeof(guest);
	assert_int_equal(db_dma_map(a, GUEST_BASE, sizeof(guest), -1, 0), 0);
	memcpy(big, &rw, sizeof(rw));
	assert_int_equal(rc_call(a, VFU_CMD_REGION_WRITE, big, sizeof(big), NULL, 0, NULL, 0,
				 NULL), -EINVAL);   /* read in whole, refused by the model */
	run_backlog(a, 0, 1, 4);
	close(a);
	/* Once the next client is served, the previous one is gone. */
	a = client(0);
	close(a);
	a = client(1);
	close(a);
	if (!test_plain_allocator()) {
		print_message("RSS not judged under a sanitizer or valgrind\n");
		return;
	}
	print_message("RSS before %ld KiB, after %ld KiB\n", before, rss_kib());
	assert_true(rss_kib() <= before + before / 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_huge_sparse_files, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup_small_limits, teardown),
		cmocka_unit_test_setup_teardown(test_window_share, setup_small_budget, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_dma_memory, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_fdless, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_fd_backed, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_memory_returned, setup_default, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
