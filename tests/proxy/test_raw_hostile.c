// SPDX-License-Identifier: MIT
/*
 * A hostile client of a proxy, message by message (tests/server's raw
 * client): malformed SET_IRQS, DMA_MAP of fds that are no memory or too
 * small, or without an fd, overlapping maps, accesses past a region,
 * payloads that lie about their size, a frame of garbage. Each is
 * refused; the proxy serves the next client; the process holds as many
 * fds after as before. The target is served in a thread, the proxy in
 * another, as `vfiokit proxy` would.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <vfiokit/proxy.h>
#include <vfiokit/region.h>
#include <vfiokit/server.h>

#include "../server/raw_client.h"
#include "../server/thread_server.h"

static uint8_t bar[16];

static ssize_t bar_read(struct vfk_device *dev, struct vfk_region *r, void *buf, size_t count,
			uint64_t offset)
{
	memcpy(buf, bar + offset, count);
	return (ssize_t)count;
}

static ssize_t bar_write(struct vfk_device *dev, struct vfk_region *r, const void *buf,
			 size_t count, uint64_t offset)
{
	memcpy(bar + offset, buf, count);
	return (ssize_t)count;
}

static const struct vfk_region_ops bar_ops = { .read = bar_read, .write = bar_write };

static struct thread_server target;
static struct vfk_proxy *proxy;
static struct vfk_server *proxy_srv;
static pthread_t proxy_thread;
static char proxy_path[128];
static int fds_at_start;     /* before any client came */

static void *serve_proxy(void *arg)
{
	vfk_server_run(proxy_srv);
	return NULL;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	char err[256];

	ts_start(&target, ts_bar0_device("target", 7, TS_BAR_RW, sizeof(bar), &bar_ops),
		 "proxy-raw");
	assert_int_equal(vfk_proxy_open(target.path, "proxy", NULL, &proxy, err, sizeof(err)), 0);
	snprintf(proxy_path, sizeof(proxy_path), "%s/proxy.sock", target.dir);
	assert_int_equal(vfk_server_create(&proxy_srv), 0);
	assert_int_equal(vfk_server_add_device(proxy_srv, vfk_proxy_device(proxy), proxy_path),
			 0);
	fds_at_start = count_fds();
	assert_int_equal(pthread_create(&proxy_thread, NULL, serve_proxy, NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	vfk_server_stop(proxy_srv);
	pthread_join(proxy_thread, NULL);
	vfk_server_destroy(proxy_srv);
	vfk_proxy_close(proxy);
	ts_stop(&target);
	return 0;
}

static int client(void)
{
	int fd = rc_connect(proxy_path);

	assert_true(fd >= 0);
	assert_int_equal(rc_negotiate(fd), 0);
	return fd;
}

static ssize_t set_irqs(int fd, uint32_t flags, uint32_t index, uint32_t count,
			const void *data, size_t data_len, const int *fds, unsigned int nfds)
{
	uint8_t msg[sizeof(struct vfio_irq_set) + 64];
	struct vfio_irq_set set = { .argsz = (uint32_t)(sizeof(set) + data_len), .flags = flags,
				    .index = index, .count = count };

	memcpy(msg, &set, sizeof(set));
	if (data_len)
		memcpy(msg + sizeof(set), data, data_len);
	return rc_call(fd, VFU_CMD_DEVICE_SET_IRQS, msg, sizeof(set) + data_len, fds, nfds,
		       NULL, 0, NULL);
}

static ssize_t dma_map(int fd, uint64_t iova, uint64_t size, uint64_t offset, int mfd)
{
	struct vfu_dma_map m = { .argsz = sizeof(m), .flags = VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE,
				 .offset = offset, .address = iova, .size = size };

	return rc_call(fd, VFU_CMD_DMA_MAP, &m, sizeof(m), mfd >= 0 ? &mfd : NULL, mfd >= 0,
		       NULL, 0, NULL);
}

static ssize_t region_read(int fd, uint32_t region, uint64_t offset, uint32_t count)
{
	struct vfu_region_rw rw = { .offset = offset, .region = region, .count = count };
	static uint8_t out[1 << 21];

	return rc_call(fd, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, out, sizeof(out), NULL);
}

static void test_set_irqs(void **state)
{
	int fd = client(), pfd[2], efds[2];
	uint8_t one = 1;

	assert_int_equal(pipe(pfd), 0);
	efds[0] = pfd[0];
	efds[1] = pfd[1];
	/* Two fds for one vector; an fd with BOOL data; BOOL data missing;
	 * an index past the five; INTx, which this target has not. */
	assert_int_equal(set_irqs(fd, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_REQ_IRQ_INDEX, 1, NULL, 0, efds, 2), -EINVAL);
	assert_int_equal(set_irqs(fd, VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_REQ_IRQ_INDEX, 1, &one, 1, efds, 1), -EINVAL);
	assert_int_equal(set_irqs(fd, VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_REQ_IRQ_INDEX, 1, NULL, 0, NULL, 0), -EINVAL);
	assert_int_equal(set_irqs(fd, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 9, 0,
				  NULL, 0, NULL, 0), -EINVAL);
	assert_int_equal(set_irqs(fd, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_INTX_IRQ_INDEX, 1, NULL, 0, efds, 1), -EINVAL);
	/* A pipe where an eventfd belongs: the target refuses it. */
	assert_int_equal(set_irqs(fd, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_REQ_IRQ_INDEX, 1, NULL, 0, efds, 1), -EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
}

static void test_dma(void **state)
{
	int fd = client(), null = open("/dev/null", O_RDWR), mfd = memfd_create("raw", MFD_CLOEXEC);

	assert_true(null >= 0 && mfd >= 0);
	assert_int_equal(ftruncate(mfd, 0x2000), 0);
	assert_int_equal(dma_map(fd, 0x100000, 0x1000, 0, null), -EINVAL);      /* no file */
	assert_int_equal(dma_map(fd, 0x100000, 0x1000, 0, -1), -ENOTSUP);     /* no fd */
	assert_int_equal(dma_map(fd, 0x100000, 0x3000, 0, mfd), -EINVAL);     /* past its end */
	assert_int_equal(dma_map(fd, 0x100000, 0x1000, 0x800, mfd), -EINVAL);  /* unaligned */
	assert_int_equal(dma_map(fd, 0x100000, 0x2000, 0, mfd), 0);
	assert_int_equal(dma_map(fd, 0x101000, 0x1000, 0, mfd), -EEXIST);     /* overlaps */
	/* The client leaves with the mapping: the proxy unmaps it at the target. */
	close(fd);
	close(null);
	close(mfd);
}

static void test_accesses(void **state)
{
	int fd = client();
	struct {
		struct vfu_region_rw rw;
		uint8_t data[4];
	} w = { { .offset = 0, .region = 0, .count = 8 }, { 1, 2, 3, 4 } };

	assert_int_equal(region_read(fd, VFIO_PCI_CONFIG_REGION_INDEX, 250, 16), -EINVAL);
	assert_int_equal(region_read(fd, 0, 12, 8), -EINVAL);
	assert_int_equal(region_read(fd, 0, 0, 4u << 20), -E2BIG);
	assert_int_equal(region_read(fd, 42, 0, 4), -EINVAL);
	/* A write whose count is not the data it carries. */
	assert_int_equal(rc_call(fd, VFU_CMD_REGION_WRITE, &w, sizeof(w), NULL, 0, NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(region_read(fd, 0, 0, 4), sizeof(struct vfu_region_rw) + 4);
	close(fd);
}

static void test_garbage_then_next_client(void **state)
{
	int fd = client();
	uint8_t junk[64];
	struct vfu_hdr h = { .msg_id = 1, .command = VFU_CMD_REGION_READ, .msg_size = 0x7fffffff };

	memset(junk, 0xff, sizeof(junk));
	memcpy(junk, &h, sizeof(h));
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	/* Framing it cannot trust: the proxy's server closes the connection. */
	assert_true(region_read(fd, 0, 0, 4) < 0);
	close(fd);
	fd = client();
	assert_int_equal(region_read(fd, 0, 0, 4), sizeof(struct vfu_region_rw) + 4);
	close(fd);
}

/* Run last: every connection above was closed; the process holds what it
 * held before the first client came. */
static void test_no_fd_left(void **state)
{
	for (int i = 0; i < 3; i++) {
		test_set_irqs(state);
		test_dma(state);
	}
	test_accesses(state);
	/* The server side of the last connection closes once the proxy's
	 * thread has seen the hang-up: wait for it (at most 5 s). */
	for (int i = 0; i < 500 && count_fds() != fds_at_start; i++)
		usleep(10000);
	assert_int_equal(count_fds(), fds_at_start);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_irqs),
		cmocka_unit_test(test_dma),
		cmocka_unit_test(test_accesses),
		cmocka_unit_test(test_garbage_then_next_client),
		cmocka_unit_test(test_no_fd_left),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
