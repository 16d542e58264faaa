/* SPDX-License-Identifier: MIT */
/*
 * One server, two tenants (isolation of memory and DMA): what one client does to its own device must
 * not reach the other device, the process, or the next client (issue:
 * "one process, many tenants"). Each test starts a server in a thread
 * with two doorbell devices, A and B, on sockets in a temp dir.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "raw_client.h"
#include "vfio-user/wire.h"

#define PAGE       4096u
#define WINDOW     (2u << 20)
#define DOORBELL   0x10      /* write an IOVA: the device copies 16 bytes to IOVA + 16 */
#define COPIES     0x20      /* read: copies run */
#define SCRATCH    0x30      /* write 4 bytes: counted, nothing else */
#define POSTED     0x34      /* read: writes to SCRATCH so far */
#define GUEST_BASE 0x200000u
#define HUGE_NAME  "vfk-tenant-huge"

/* One doorbell device and what it saw. */
struct tenant {
	struct vfk_device *dev;
	char path[96];
	uint64_t doorbell_iova;
	uint32_t copies;
	uint32_t posted;
	int copy_status;
};

static struct {
	char dir[64];
	struct vfk_server *srv;
	pthread_t thread;
	struct tenant t[2];
} fx;

static void copy_later(struct vfk_device *d, void *arg)
{
	struct tenant *t = arg;
	uint8_t tmp[16];

	t->copy_status = vfk_dma_read(d, t->doorbell_iova, tmp, sizeof(tmp));
	if (!t->copy_status)
		t->copy_status = vfk_dma_write(d, t->doorbell_iova + 16, tmp, sizeof(tmp));
	t->copies++;
}

static ssize_t bar_read(struct vfk_device *d, struct vfk_region *r, void *buf,
			size_t count, uint64_t off)
{
	struct tenant *t = vfk_region_priv(r);

	if (count != 4 || (off != COPIES && off != POSTED))
		return -EINVAL;
	memcpy(buf, off == COPIES ? &t->copies : &t->posted, 4);
	return 4;
}

static ssize_t bar_write(struct vfk_device *d, struct vfk_region *r, const void *buf,
			 size_t count, uint64_t off)
{
	struct tenant *t = vfk_region_priv(r);
	int e;

	if (off == SCRATCH && count == 4) {
		t->posted++;
		return 4;
	}
	if (off != DOORBELL || count != 8)
		return -EINVAL;
	memcpy(&t->doorbell_iova, buf, 8);
	e = vfk_device_defer(d, copy_later, t);
	return e ? e : (ssize_t)count;
}

static const struct vfk_region_ops bar_ops = { .read = bar_read, .write = bar_write };

static void *serve(void *arg)
{
	vfk_server_run(fx.srv);
	return NULL;
}

static void start(uint64_t max_maps, uint64_t max_bytes)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/vfk-tenants-XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	assert_int_equal(vfk_server_create(&fx.srv), 0);
	vfk_server_set_dma_limits(fx.srv, max_maps, max_bytes);
	for (int i = 0; i < 2; i++) {
		struct tenant *t = &fx.t[i];
		struct vfk_device_desc desc = { .name = i ? "tenant-b" : "tenant-a",
						.vendor_id = 0x1af4, .device_id = 0x10f8,
						.class_code = 0xff0000 };
		struct vfk_region_desc bar = { VFIO_REGION_INFO_FLAG_READ |
					       VFIO_REGION_INFO_FLAG_WRITE,
					       4096, &bar_ops, t };

		*t = (struct tenant){ 0 };
		snprintf(t->path, sizeof(t->path), "%s/%c.sock", fx.dir, 'a' + i);
		assert_int_equal(vfk_device_create(&desc, &t->dev), 0);
		assert_int_equal(vfk_device_set_bar(t->dev, 0, &bar, 0), 0);
		assert_int_equal(vfk_server_add_device(fx.srv, t->dev, t->path), 0);
	}
	assert_int_equal(pthread_create(&fx.thread, NULL, serve, NULL), 0);
}

static int setup_default(void **state)
{
	start(VFK_DMA_DEFAULT_MAX_MAPS, VFK_DMA_DEFAULT_MAX_BYTES);
	return 0;
}

static int setup_small_limits(void **state)
{
	start(32, 8 * WINDOW);
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
	int fd = rc_connect(fx.t[i].path);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(rc_negotiate(fd), 0);
	return fd;
}

static ssize_t dma_map(int fd, uint64_t iova, uint64_t size, int mem_fd, uint64_t offset)
{
	struct vfu_dma_map m = { sizeof(m), VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE,
				 offset, iova, size };

	return rc_call(fd, VFU_CMD_DMA_MAP, &m, sizeof(m), mem_fd >= 0 ? &mem_fd : NULL,
		       mem_fd >= 0 ? 1 : 0, NULL, 0, NULL);
}

static uint32_t bar_get(int fd, uint64_t off)
{
	struct vfu_region_rw rw = { off, 0, 4 };
	uint8_t out[sizeof(rw) + 4];
	uint32_t v;

	assert_int_equal(rc_call(fd, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, out,
				 sizeof(out), NULL), sizeof(out));
	memcpy(&v, out + sizeof(rw), 4);
	return v;
}

/* A REGION_WRITE message of the doorbell (8 bytes) or SCRATCH (4) at buf;
 * posted when no reply is wanted. Its size. */
static size_t put_write(uint8_t *buf, uint16_t id, uint64_t off, uint64_t value, bool posted)
{
	uint32_t count = off == DOORBELL ? 8 : 4;
	struct vfu_region_rw rw = { off, 0, count };
	struct vfu_hdr h;

	vfu_hdr_init(&h, id, VFU_CMD_REGION_WRITE, VFU_HDR_SIZE + sizeof(rw) + count,
		     VFU_F_TYPE_COMMAND | (posted ? VFU_F_NO_REPLY : 0));
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + VFU_HDR_SIZE, &rw, sizeof(rw));
	memcpy(buf + VFU_HDR_SIZE + sizeof(rw), &value, count);
	return h.msg_size;
}

static void send_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		assert_true(n > 0);
		buf += n;
		len -= (size_t)n;
	}
}

/* A sparse memfd of size bytes. */
static int sparse_memfd(const char *name, uint64_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* Bytes of every mmap of the memfd called name, from /proc/self/maps:
 * the server runs in this process. */
static uint64_t memfd_mapped_bytes(const char *name)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t total = 0;

	assert_non_null(maps);
	while (fgets(line, sizeof(line), maps)) {
		unsigned long long lo, hi;

		if (strstr(line, name) && sscanf(line, "%llx-%llx", &lo, &hi) == 2)
			total += hi - lo;
	}
	fclose(maps);
	return total;
}

/*
 * Address space: 4 KiB windows of 16 huge sparse files used to mmap
 * 16 x 16 TiB (more than the process has), so every later DMA_MAP of
 * every device failed with ENOMEM. Now each costs a 2 MiB window.
 */
static void test_huge_sparse_files(void **state)
{
	int a = client(0), b = client(1);
	int huge[16], mem = sparse_memfd("vfk-tenant-b", 64u << 20);
	uint64_t iova = GUEST_BASE;
	uint8_t msg[64];

	for (int i = 0; i < 16; i++) {
		huge[i] = sparse_memfd(HUGE_NAME, 16ull << 40);
		assert_int_equal(dma_map(a, (uint64_t)i << 32, PAGE, huge[i], 8ull << 40), 0);
	}
	assert_true(memfd_mapped_bytes("memfd:" HUGE_NAME) <= 16 * WINDOW);
	/* B maps 64 MiB and its device copies there. */
	assert_int_equal(dma_map(b, GUEST_BASE, 64u << 20, mem, 0), 0);
	assert_int_equal(pwrite(mem, "0123456789abcdef", 16, 0), 16);
	put_write(msg, 7, DOORBELL, iova, false);
	send_all(b, msg, VFU_HDR_SIZE + sizeof(struct vfu_region_rw) + 8);
	assert_true(rc_recv(b, msg, sizeof(msg), NULL, NULL) > 0);
	assert_int_equal(bar_get(b, COPIES), 1);
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
	int mem = sparse_memfd("vfk-tenant-lim", 1ull << 40);
	unsigned int i;

	/* 8 windows of 2 MiB fill the 16 MiB; the 9th is refused ... */
	for (i = 0; i < 8; i++)
		assert_int_equal(dma_map(a, (uint64_t)i << 32, PAGE, mem, (uint64_t)i << 30), 0);
	assert_int_equal(dma_map(a, 8ull << 32, PAGE, mem, 8ull << 30), -ENOSPC);
	/* ... but a page inside a window already mapped costs nothing. */
	assert_int_equal(dma_map(a, 100ull << 32, PAGE, mem, PAGE), 0);
	/* 32 mappings in all; fd-less ones count too. */
	for (i = 9; i < 32; i++)
		assert_int_equal(dma_map(a, (uint64_t)i << 32, PAGE, -1, 0), 0);
	assert_int_equal(dma_map(a, 40ull << 32, PAGE, -1, 0), -ENOSPC);
	/* B has its own budget. */
	for (i = 0; i < 8; i++)
		assert_int_equal(dma_map(b, (uint64_t)i << 32, PAGE, mem, (uint64_t)i << 30), 0);
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
	int mem = sparse_memfd("vfk-tenant-trunc", 4 * PAGE);
	uint64_t iova = GUEST_BASE + PAGE;
	uint8_t msg[64];

	assert_int_equal(dma_map(a, GUEST_BASE, 4 * PAGE, mem, 0), 0);
	assert_int_equal(ftruncate(mem, 0), 0);
	put_write(msg, 9, DOORBELL, iova, false);
	send_all(a, msg, VFU_HDR_SIZE + sizeof(struct vfu_region_rw) + 8);
	assert_dropped(a);
	close(a);
	assert_int_equal(fx.t[0].copy_status, -EFAULT);
	assert_int_equal(bar_get(b, COPIES), 0);
	a = client(0);
	assert_int_equal(bar_get(a, COPIES), 1);
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
		len += put_write(buf + len, 1, SCRATCH, k, true);
	len += put_write(buf + len, 77, DOORBELL, GUEST_BASE, false);
	for (size_t k = 0; k < n_after; k++)
		len += put_write(buf + len, 2, SCRATCH, k, true);
	send_all(fd, buf, len);
	free(buf);
	/* The doorbell's reply comes first, then the DMA requests, which
	 * rc_call answers while it waits for its own reply. */
	assert_true(rc_recv(fd, reply, sizeof(reply), NULL, NULL) >= (ssize_t)VFU_HDR_SIZE);
	memcpy(&h, reply, sizeof(h));
	assert_int_equal(h.msg_id, 77);
	assert_int_equal(h.flags & VFU_F_ERROR, 0);
	assert_int_equal(bar_get(fd, POSTED), n_before + n_after);
	assert_int_equal(bar_get(fd, COPIES), 1);
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
	assert_int_equal(dma_map(a, GUEST_BASE, sizeof(guest), -1, 0), 0);
	run_backlog(a, 0, 1, 4);
	assert_int_equal(guest[16], 0x3c);
	assert_int_equal(guest[31], 0x3c);
	close(a);
}

static void test_backlog_fd_backed(void **state)
{
	int b = client(1), mem = sparse_memfd("vfk-tenant-backlog", 4 * PAGE);
	uint8_t got[16];

	assert_int_equal(pwrite(mem, "fedcba9876543210", 16, 0), 16);
	assert_int_equal(dma_map(b, GUEST_BASE, 4 * PAGE, mem, 0), 0);
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

/* RSS is the allocator's to judge only in a plain build. */
static bool plain_allocator(void)
{
	const char *preload = getenv("LD_PRELOAD");

#if defined(__SANITIZE_ADDRESS__)
	return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return false;
#endif
#endif
	return !(preload && strstr(preload, "vgpreload"));
}

/*
 * What a client made the process allocate goes with it: 60000 mappings
 * and full buffers (a 1 MiB write) leave RSS within 10% of before.
 */
static void test_memory_returned(void **state)
{
	static uint8_t batch[1000 * (VFU_HDR_SIZE + sizeof(struct vfu_dma_map))];
	static uint8_t big[sizeof(struct vfu_region_rw) + (1 << 20)];
	unsigned int total = plain_allocator() ? 60000 : 3000;
	struct vfu_region_rw rw = { SCRATCH, 0, 1 << 20 };
	long before;
	int a;

	memset(batch, 0, sizeof(batch));   /* our own pages count from the start */
	memset(big, 0, sizeof(big));
	before = rss_kib();
	a = client(0);
	for (unsigned int done = 0; done < total; done += 1000) {
		size_t len = 0;
		uint8_t reply[64];

		for (unsigned int k = 0; k < 1000; k++) {
			struct vfu_dma_map m = { sizeof(m), VFU_DMA_FLAG_READ, 0,
						 (uint64_t)(done + k) * PAGE, PAGE };
			struct vfu_hdr h;

			vfu_hdr_init(&h, (uint16_t)k, VFU_CMD_DMA_MAP, VFU_HDR_SIZE + sizeof(m),
				     VFU_F_TYPE_COMMAND);
			memcpy(batch + len, &h, sizeof(h));
			memcpy(batch + len + VFU_HDR_SIZE, &m, sizeof(m));
			len += VFU_HDR_SIZE + sizeof(m);
		}
		send_all(a, batch, len);
		for (unsigned int k = 0; k < 1000; k++) {
			struct vfu_hdr h;

			assert_int_equal(rc_recv(a, reply, sizeof(reply), NULL, NULL), VFU_HDR_SIZE);
			memcpy(&h, reply, sizeof(h));
			assert_int_equal(h.flags & VFU_F_ERROR, 0);
		}
	}
	memcpy(big, &rw, sizeof(rw));
	assert_int_equal(rc_call(a, VFU_CMD_REGION_WRITE, big, sizeof(big), NULL, 0, NULL, 0,
				 NULL), -EINVAL);   /* read in whole, refused by the model */
	close(a);
	/* Once the next client is served, the previous one is gone. */
	a = client(0);
	close(a);
	a = client(1);
	close(a);
	if (!plain_allocator()) {
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
		cmocka_unit_test_setup_teardown(test_truncated_dma_memory, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_fdless, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_fd_backed, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_memory_returned, setup_default, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
