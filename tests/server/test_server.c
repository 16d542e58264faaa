/* SPDX-License-Identifier: MIT */
/*
 * vfio-user server integration tests: a real server in a thread, two test
 * devices on sockets in a mkdtemp dir, a raw client speaking the protocol.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "../test_util.h"

#include <vfiokit/vfiokit.h>
#include "fd_fixture.h"
#include "raw_client.h"
#include "vfio-user/wire.h"

#define BAR0_SIZE   (2u << 20)
#define BAR2_SIZE   (64u << 10)
#define BAR4_SIZE   4096u
#define DOORBELL    0x10      /* BAR4: write an IOVA, the device copies 16 bytes */
#define CUSTOM_CAP  0x77

static uint8_t bar0[2][BAR0_SIZE];
static uint8_t *bar2_mem;
static int bar2_fd = -1;
static char dir[64], path[2][96];
static struct vfk_server *srv;
static struct vfk_device *devs[2];
static pthread_t thread;
static uint32_t special_index;

static ssize_t bar0_read(struct vfk_device *d, struct vfk_region *r, void *buf,
			 size_t count, uint64_t off)
{
	memcpy(buf, (uint8_t *)vfk_region_priv(r) + off, count);
	return (ssize_t)count;
}

static ssize_t bar0_write(struct vfk_device *d, struct vfk_region *r,
			  const void *buf, size_t count, uint64_t off)
{
	memcpy((uint8_t *)vfk_region_priv(r) + off, buf, count);
	return (ssize_t)count;
}

static int bar2_mmap(struct vfk_device *d, struct vfk_region *r, struct vfk_mmap_desc *desc)
{
	desc->fd = bar2_fd;
	desc->fd_offset = 0;
	desc->nr_areas = 0;
	return 0;
}

static ssize_t bar2_read(struct vfk_device *d, struct vfk_region *r, void *buf,
			 size_t count, uint64_t off)
{
	memcpy(buf, bar2_mem + off, count);
	return (ssize_t)count;
}

static ssize_t bar4_write(struct vfk_device *d, struct vfk_region *r,
			  const void *buf, size_t count, uint64_t off)
{
	uint64_t iova;
	uint8_t tmp[16];
	int e;

	if (off != DOORBELL || count != 8)
		return -EINVAL;
	memcpy(&iova, buf, 8);
	e = vfk_dma_read(d, iova, tmp, sizeof(tmp));
	if (!e)
		e = vfk_dma_write(d, iova + 16, tmp, sizeof(tmp));
	return e ? e : (ssize_t)count;
}

static int special_caps(struct vfk_device *d, struct vfk_region *r, struct vfk_caps *caps)
{
	uint8_t body[24];

	memset(body, 0xab, sizeof(body));
	return vfk_caps_add(caps, CUSTOM_CAP, 1, body, sizeof(body));
}

static const struct vfk_region_ops bar0_ops = { .read = bar0_read, .write = bar0_write };
static const struct vfk_region_ops bar2_ops = { .read = bar2_read, .mmap = bar2_mmap };
static const struct vfk_region_ops bar4_ops = { .write = bar4_write };
static const struct vfk_region_ops special_ops = {
	.read = bar0_read, .write = bar0_write, .add_capability = special_caps,
};

static struct vfk_device *make_device(int i)
{
	struct vfk_device_desc desc = {
		.name = i ? "second" : "first", .vendor_id = 0x1af4, .device_id = 0x10f0 + i,
		.class_code = 0xff0000, .irq_pin = 1,
	};
	struct vfk_region_desc r0 = { VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
				      BAR0_SIZE, &bar0_ops, bar0[i] };
	struct vfk_region_desc r2 = { VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				      VFIO_REGION_INFO_FLAG_MMAP, BAR2_SIZE, &bar2_ops, NULL };
	struct vfk_region_desc r4 = { VFIO_REGION_INFO_FLAG_WRITE, BAR4_SIZE, &bar4_ops, NULL };
	struct vfk_region_desc rs = { VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
				      4096, &special_ops, bar0[i] };
	struct vfk_device *d;

	assert_int_equal(vfk_device_create(&desc, &d), 0);
	assert_int_equal(vfk_device_set_bar(d, 0, &r0, 0), 0);
	if (i == 0) {
		assert_int_equal(vfk_device_set_bar(d, 2, &r2, 0), 0);
		assert_int_equal(vfk_device_set_bar(d, 4, &r4, 0), 0);
	}
	assert_int_equal(vfk_device_add_region(d, 0x10de, 7, &rs, &special_index), 0);
	/* As many MSI-X vectors as a message may carry eventfds. */
	if (i == 1)
		assert_int_equal(vfk_pci_add_msix_cap(d, VFU_WIRE_MAX_FDS, 0, 0, 0, BAR0_SIZE / 2),
				 0);
	return d;
}

static void *server_main(void *arg)
{
	vfk_server_run(srv);
	return NULL;
}

static int setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	strcpy(dir, "/tmp/vfk-server-XXXXXX");
	assert_non_null(mkdtemp(dir));
	bar2_fd = memfd_create("bar2", MFD_CLOEXEC);
	assert_int_equal(ftruncate(bar2_fd, BAR2_SIZE), 0);
	bar2_mem = mmap(NULL, BAR2_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, bar2_fd, 0);
	assert_true(bar2_mem != MAP_FAILED);
	assert_int_equal(vfk_server_create(&srv), 0);
	for (int i = 0; i < 2; i++) {
		devs[i] = make_device(i);
		snprintf(path[i], sizeof(path[i]), "%s/dev%d.sock", dir, i);
		assert_int_equal(vfk_server_add_device(srv, devs[i], path[i]), 0);
	}
	assert_int_equal(pthread_create(&thread, NULL, server_main, NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	vfk_server_stop(srv);
	pthread_join(thread, NULL);
	vfk_server_destroy(srv);
	for (int i = 0; i < 2; i++)
		vfk_device_destroy(devs[i]);
	munmap(bar2_mem, BAR2_SIZE);
	close(bar2_fd);
	rmdir(dir);
	return 0;
}

static int open_client(int i)
{
	int fd = rc_connect(path[i]);

	assert_true(fd >= 0);
	assert_int_equal(rc_negotiate(fd), 0);
	return fd;
}

static ssize_t region_read(int fd, uint32_t idx, uint64_t off, void *buf, uint32_t count)
{
	struct vfu_region_rw rw = { off, idx, count };
	static uint8_t out[sizeof(rw) + (1 << 20)];
	ssize_t n = rc_call(fd, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, out,
			    sizeof(out), NULL);

	if (n >= (ssize_t)sizeof(rw))
		memcpy(buf, out + sizeof(rw), (size_t)n - sizeof(rw));
	return n < 0 ? n : n - (ssize_t)sizeof(rw);
}

static ssize_t region_write(int fd, uint32_t idx, uint64_t off, const void *buf,
			    uint32_t count, uint32_t flags)
{
	static uint8_t msg[sizeof(struct vfu_region_rw) + (1 << 20)];
	struct vfu_region_rw rw = { off, idx, count };

	memcpy(msg, &rw, sizeof(rw));
	memcpy(msg + sizeof(rw), buf, count);
	if (flags & VFU_F_NO_REPLY)
		return rc_send(fd, 1, VFU_CMD_REGION_WRITE, flags, msg, sizeof(rw) + count,
			       NULL, 0);
	return rc_call(fd, VFU_CMD_REGION_WRITE, msg, sizeof(rw) + count, NULL, 0,
		       NULL, 0, NULL);
}

/* The second device still answers. */
static void assert_other_alive(void)
{
	int fd = open_client(1);
	uint32_t v = 0x5a5a5a5a, got = 0;

	assert_int_equal(region_write(fd, 0, 64, &v, 4, 0), sizeof(struct vfu_region_rw));
	assert_int_equal(region_read(fd, 0, 64, &got, 4), 4);
	assert_int_equal(got, v);
	close(fd);
}

static void test_version_and_info(void **state)
{
	int fd = rc_connect(path[0]);
	struct vfu_device_info info = { .argsz = 16 };
	struct vfio_irq_info irq = { .argsz = 16, .index = VFIO_PCI_INTX_IRQ_INDEX };
	struct vfu_region_io_fds io = { .argsz = 16, .index = 0 };

	/* Nothing but VERSION before VERSION. */
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_GET_INFO, &info, 16, NULL, 0,
				 NULL, 0, NULL), -EINVAL);
	assert_int_equal(rc_negotiate(fd), 0);
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_GET_INFO, &info, 16, NULL, 0,
				 &info, 16, NULL), 16);
	assert_int_equal(info.num_regions, VFIO_PCI_NUM_REGIONS + 1);
	assert_true(info.flags & VFIO_DEVICE_FLAGS_PCI);
	info.argsz = 8;
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_GET_INFO, &info, 16, NULL, 0,
				 NULL, 0, NULL), -EINVAL);
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_GET_IRQ_INFO, &irq, 16, NULL, 0,
				 &irq, 16, NULL), 16);
	assert_int_equal(irq.count, 1);
	irq.index = 99;
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_GET_IRQ_INFO, &irq, 16, NULL, 0,
				 NULL, 0, NULL), -EINVAL);
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_GET_REGION_IO_FDS, &io, 16, NULL, 0,
				 &io, 16, NULL), 16);
	assert_int_equal(io.count, 0);
	io.index = 50;
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_GET_REGION_IO_FDS, &io, 16, NULL, 0,
				 NULL, 0, NULL), -EINVAL);
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_RESET, NULL, 0, NULL, 0, NULL, 0, NULL), 0);
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_FEATURE, NULL, 0, NULL, 0, NULL, 0, NULL),
			 -ENOTSUP);
	close(fd);
}

static void test_second_client_refused(void **state)
{
	int a = open_client(0);
	int b = rc_connect(path[0]);
	struct vfu_hdr h;
	uint32_t v = 7, got = 0;

	assert_true(b >= 0);
	/* An EBUSY error reply to VERSION, then the end of the stream. */
	assert_int_equal(rc_recv(b, &h, sizeof(h), NULL, NULL), sizeof(h));
	assert_int_equal(h.command, VFU_CMD_VERSION);
	assert_int_equal(h.flags, VFU_F_TYPE_REPLY | VFU_F_ERROR);
	assert_int_equal(h.error, EBUSY);
	assert_int_equal(rc_recv(b, &h, sizeof(h), NULL, NULL), -ECONNRESET);
	close(b);
	assert_int_equal(region_write(a, 0, 0, &v, 4, 0), 16);
	assert_int_equal(region_read(a, 0, 0, &got, 4), 4);
	assert_int_equal(got, 7);
	close(a);
}

static void test_region_info_caps_and_mmap(void **state)
{
	int fd = open_client(0);
	struct vfio_region_info ri = { .argsz = 32, .index = special_index };
	uint8_t big[512];
	int rfd;
	ssize_t n;

	n = rc_call(fd, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, 32, NULL, 0, big, sizeof(big), NULL);
	assert_int_equal(n, 32);
	memcpy(&ri, big, 32);
	assert_true(ri.flags & VFIO_REGION_INFO_FLAG_CAPS);
	assert_true(ri.argsz > 32);
	/* Retry with the size the server asked for: the chain arrives. */
	n = rc_call(fd, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, 32, NULL, 0, big, sizeof(big), NULL);
	assert_int_equal(n, ri.argsz);
	{
		struct vfio_region_info got;
		struct vfio_info_cap_header ch;
		uint32_t off;
		bool found = false;

		memcpy(&got, big, 32);
		for (off = got.cap_offset; off; off = ch.next) {
			assert_true(off + sizeof(ch) <= (uint32_t)n);
			memcpy(&ch, big + off, sizeof(ch));
			found |= ch.id == CUSTOM_CAP;
		}
		assert_true(found);
	}
	/* Huge argsz is fine: the answer is what it is. */
	ri.argsz = 0xffffffff;
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, 32, NULL, 0, big,
				 sizeof(big), NULL), n);
	ri.index = 77;
	ri.argsz = 32;
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, 32, NULL, 0, NULL,
				 0, NULL), -EINVAL);
	/* The mappable BAR comes with its fd; a store through it is seen. */
	ri.index = 2;
	ri.argsz = 256;
	n = rc_call(fd, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, 32, NULL, 0, big, sizeof(big), &rfd);
	assert_true(n >= 32);
	assert_true(rfd >= 0);
	memcpy(&ri, big, 32);
	{
		uint8_t *p = mmap(NULL, BAR2_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, rfd,
				  (off_t)ri.offset);
		uint32_t v = 0xfeedf00d, got = 0;

		assert_true(p != MAP_FAILED);
		memcpy(p + 0x40, &v, 4);
		assert_int_equal(region_read(fd, 2, 0x40, &got, 4), 4);
		assert_int_equal(got, v);
		munmap(p, BAR2_SIZE);
	}
	close(rfd);
	close(fd);
}

static void test_large_writes(void **state)
{
	int fd = open_client(0);
	static uint8_t data[1 << 20], back[1 << 20];
	const uint32_t sizes[] = { 64 << 10, 1 << 20 };

	for (unsigned int s = 0; s < 2; s++) {
		for (int i = 0; i < 100; i++) {
			memset(data, i + s, sizes[s]);
			data[sizes[s] - 1] = (uint8_t)(0x80 ^ i);
			assert_int_equal(region_write(fd, 0, 4096, data, sizes[s], 0), 16);
		}
		assert_int_equal(region_read(fd, 0, 4096, back, sizes[s]), sizes[s]);
		assert_memory_equal(back, data, sizes[s]);
	}
	/* Over max_data_xfer_size. */
	{
		struct vfu_region_rw rw = { 0, 0, (1 << 20) + 1 };

		assert_int_equal(rc_call(fd, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0,
					 NULL, 0, NULL), -E2BIG);
	}
	close(fd);
}

static void test_posted_writes_then_read(void **state)
{
	int fd = open_client(0);
	uint32_t got = 0;

	for (uint32_t i = 0; i < 10000; i++)
		assert_int_equal(region_write(fd, 0, 8, &i, 4, VFU_F_NO_REPLY), 0);
	assert_int_equal(region_read(fd, 0, 8, &got, 4), 4);
	assert_int_equal(got, 9999);
	/* A failing posted write is not answered either: the next reply is the read's. */
	assert_int_equal(region_write(fd, 0, BAR0_SIZE, &got, 4, VFU_F_NO_REPLY), 0);
	assert_int_equal(region_read(fd, 0, 8, &got, 4), 4);
	close(fd);
}

static void test_write_multi(void **state)
{
	int fd = open_client(0);
	uint8_t msg[8 + 3 * sizeof(struct vfu_write_one)];
	uint64_t cnt = 3;
	uint64_t got = 0;

	memcpy(msg, &cnt, 8);
	for (int i = 0; i < 3; i++) {
		struct vfu_write_one w = { .offset = 256 + 8 * i, .region = 0, .count = 8 };

		memset(w.data, 0x11 * (i + 1), 8);
		memcpy(msg + 8 + i * sizeof(w), &w, sizeof(w));
	}
	assert_int_equal(rc_call(fd, VFU_CMD_REGION_WRITE_MULTI, msg, sizeof(msg), NULL, 0,
				 NULL, 0, NULL), 8);
	assert_int_equal(region_read(fd, 0, 256 + 16, &got, 8), 8);
	assert_int_equal(got, 0x3333333333333333ull);
	cnt = 4;   /* count says 4, message holds 3 */
	memcpy(msg, &cnt, 8);
	assert_int_equal(rc_call(fd, VFU_CMD_REGION_WRITE_MULTI, msg, sizeof(msg), NULL, 0,
				 NULL, 0, NULL), -EINVAL);
	close(fd);
}

static void test_bad_region_access(void **state)
{
	int fd = open_client(0);
	uint32_t v = 0;
	struct vfu_region_rw rw = { UINT64_MAX - 1, 0, 4 };

	assert_int_equal(region_read(fd, 30, 0, &v, 4), -EINVAL);
	assert_true(region_read(fd, 0, BAR0_SIZE - 2, &v, 4) < 0);
	assert_true(rc_call(fd, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, NULL, 0,
			    NULL) < 0);
	/* The data length disagrees with count. */
	{
		uint8_t msg[sizeof(rw) + 2] = { 0 };

		rw.offset = 0;
		memcpy(msg, &rw, sizeof(rw));
		assert_int_equal(rc_call(fd, VFU_CMD_REGION_WRITE, msg, sizeof(msg), NULL, 0,
					 NULL, 0, NULL), -EINVAL);
	}
	/* Too few bytes for the command's struct. */
	assert_int_equal(rc_call(fd, VFU_CMD_REGION_READ, &rw, 8, NULL, 0, NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(rc_call(fd, 99, NULL, 0, NULL, 0, NULL, 0, NULL), -EINVAL);
	close(fd);
}

static void test_set_irqs(void **state)
{
	int fd = open_client(0);
	int efd = eventfd(0, EFD_CLOEXEC);
	int two[2] = { efd, efd };
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_INTX_IRQ_INDEX, .start = 0, .count = 1,
	};
	uint64_t v = 0;

	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_SET_IRQS, &set, sizeof(set), &efd, 1,
				 NULL, 0, NULL), 0);
	assert_int_equal(vfk_irq_trigger(devs[0], VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_int_equal(read(efd, &v, 8), 8);
	assert_int_equal(v, 1);
	/* fd count must match count. */
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_SET_IRQS, &set, sizeof(set), two, 2,
				 NULL, 0, NULL), -EINVAL);
	set.count = 5;
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_SET_IRQS, &set, sizeof(set), NULL, 0,
				 NULL, 0, NULL), -EINVAL);
	/* No fds: drop the vector's eventfd. */
	set.count = 1;
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_SET_IRQS, &set, sizeof(set), NULL, 0,
				 NULL, 0, NULL), 0);
	assert_int_equal(vfk_irq_trigger(devs[0], VFIO_PCI_INTX_IRQ_INDEX, 0), -ENOENT);
	close(efd);
	close(fd);
}

/*
 * A SET_IRQS that came with more fds than the server takes: the kernel cut
 * the set, so even a count that matches what arrived is refused and no
 * vector changes; the same request with the fds that fit is taken.
 */
static void test_set_irqs_truncated_fds(void **state)
{
	int fd = open_client(1);
	int efd = eventfd(0, EFD_CLOEXEC);
	int fds[VFU_WIRE_MAX_FDS];
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0, .count = VFU_WIRE_MAX_FDS,
	};
	uint8_t msg[sizeof(struct vfu_hdr) + sizeof(set)];
	struct vfu_hdr h;

	vfu_hdr_init(&h, 7, VFU_CMD_DEVICE_SET_IRQS, sizeof(msg), 0);
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), &set, sizeof(set));
	ff_send_many_fds(fd, msg, sizeof(msg), efd);
	ff_expect_reply(fd, 7, VFU_CMD_DEVICE_SET_IRQS, EINVAL);
	for (uint32_t v = 0; v < VFU_WIRE_MAX_FDS; v++)
		assert_int_equal(vfk_irq_trigger(devs[1], VFIO_PCI_MSIX_IRQ_INDEX, v), -ENOENT);
	for (unsigned int i = 0; i < VFU_WIRE_MAX_FDS; i++)
		fds[i] = efd;
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_SET_IRQS, &set, sizeof(set), fds,
				 VFU_WIRE_MAX_FDS, NULL, 0, NULL), 0);
	assert_int_equal(vfk_irq_trigger(devs[1], VFIO_PCI_MSIX_IRQ_INDEX, 0), 0);
	set.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	set.count = 0;
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_SET_IRQS, &set, sizeof(set), NULL, 0,
				 NULL, 0, NULL), 0);
	close(efd);
	close(fd);
}

static void test_dma(void **state)
{
	int fd = open_client(0);
	int mfd = memfd_create("guest", MFD_CLOEXEC);
	struct vfu_dma_map map = { 32, VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE, 0, 0x100000, 0x10000 };
	struct vfu_dma_unmap um = { 24, 0, 0x100000, 0x10000 }, ans;
	static uint8_t guest[0x10000];
	uint64_t iova;
	uint8_t *p;

	assert_int_equal(ftruncate(mfd, 0x10000), 0);
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_MAP, &map, 32, &mfd, 1, NULL, 0, NULL), 0);
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_MAP, &map, 32, &mfd, 1, NULL, 0, NULL), -EEXIST);
	p = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	assert_true(p != MAP_FAILED);
	memset(p, 0x42, 16);
	iova = 0x100000;
	assert_int_equal(region_write(fd, 4, DOORBELL, &iova, 8, 0), 16);
	assert_int_equal(p[16], 0x42);
	assert_int_equal(p[31], 0x42);
	munmap(p, 0x10000);
	/* Unmapped as by type1: a mapping is never split, a range never
	 * mapped succeeds with size 0, the reply's size is what went. */
	um.size = 0x1000;
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_UNMAP, &um, 24, NULL, 0, NULL, 0, NULL), -EINVAL);
	um.size = 0x20000;
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_UNMAP, &um, 24, NULL, 0, &ans, sizeof(ans), NULL),
			 24);
	assert_true(ans.size == 0x10000);
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_UNMAP, &um, 24, NULL, 0, &ans, sizeof(ans), NULL),
			 24);
	assert_true(ans.size == 0);
	um.size = 0x1001;
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_UNMAP, &um, 24, NULL, 0, NULL, 0, NULL), -EINVAL);
	/* Misaligned, overflowing, two fds; ending exactly at 2^64 is no overflow. */
	map.address = 0x100001;
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_MAP, &map, 32, NULL, 0, NULL, 0, NULL), -EINVAL);
	map.address = UINT64_MAX & ~0xfffull;
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_MAP, &map, 32, NULL, 0, NULL, 0, NULL), -EINVAL);
	map.address = 0 - map.size;
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_MAP, &map, 32, NULL, 0, NULL, 0, NULL), 0);
	um.address = map.address;
	um.size = map.size;
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_UNMAP, &um, 24, NULL, 0, &ans, sizeof(ans), NULL),
			 24);
	assert_true(ans.size == map.size);
	{
		int two[2] = { mfd, mfd };

		map.address = 0x100000;
		assert_int_equal(rc_call(fd, VFU_CMD_DMA_MAP, &map, 32, two, 2, NULL, 0, NULL),
				 -EINVAL);
	}
	/* fd-less: the server sends DMA_READ/DMA_WRITE, this client answers. */
	rc_dma_mem = guest;
	rc_dma_base = 0x200000;
	rc_dma_len = sizeof(guest);
	rc_dma_requests = 0;
	memset(guest, 0x99, 16);
	map.address = 0x200000;
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_MAP, &map, 32, NULL, 0, NULL, 0, NULL), 0);
	iova = 0x200000;
	assert_int_equal(region_write(fd, 4, DOORBELL, &iova, 8, 0), 16);
	assert_int_equal(rc_dma_requests, 2);
	assert_int_equal(guest[16], 0x99);
	assert_int_equal(guest[31], 0x99);
	um = (struct vfu_dma_unmap){ 24, VFU_DMA_UNMAP_FLAG_ALL, 0, 0 };
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_UNMAP, &um, 24, NULL, 0, NULL, 0, NULL), 24);
	assert_int_equal(vfk_dma_count(devs[0]), 0);
	close(mfd);
	close(fd);
}

static void test_malformed(void **state)
{
	struct vfu_hdr h;
	uint8_t junk[8] = { 0 };
	uint8_t buf[64];
	int fd;

	/* Short header, then hang up. */
	fd = open_client(0);
	assert_int_equal(write(fd, junk, 5), 5);
	close(fd);
	assert_other_alive();
	/* msg_size below the header size: disconnected. */
	fd = open_client(0);
	vfu_hdr_init(&h, 1, VFU_CMD_REGION_READ, 8, 0);
	assert_int_equal(write(fd, &h, sizeof(h)), sizeof(h));
	assert_int_equal(rc_recv(fd, buf, sizeof(buf), NULL, NULL), -ECONNRESET);
	close(fd);
	/* Huge msg_size: disconnected. */
	fd = open_client(0);
	vfu_hdr_init(&h, 1, VFU_CMD_REGION_WRITE, 0xfffffff0, 0);
	assert_int_equal(write(fd, &h, sizeof(h)), sizeof(h));
	assert_int_equal(rc_recv(fd, buf, sizeof(buf), NULL, NULL), -ECONNRESET);
	close(fd);
	/* Size says more than is sent: no answer, and the others don't care. */
	fd = open_client(0);
	vfu_hdr_init(&h, 1, VFU_CMD_REGION_READ, 4000, 0);
	assert_int_equal(write(fd, &h, sizeof(h)), sizeof(h));
	assert_other_alive();
	close(fd);
	/* Too many fds for any message. */
	fd = open_client(0);
	{
		int many[VFU_WIRE_MAX_FDS];
		struct vfu_device_info info = { .argsz = 16 };

		for (unsigned int i = 0; i < VFU_WIRE_MAX_FDS; i++)
			many[i] = 0;
		assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_GET_INFO, &info, 16, many,
					 VFU_WIRE_MAX_FDS, NULL, 0, NULL), -EINVAL);
	}
	close(fd);
	/* Wrong major. */
	fd = rc_connect(path[0]);
	{
		struct vfu_version v = { 1, 0 };

		assert_int_equal(rc_call(fd, VFU_CMD_VERSION, &v, sizeof(v), NULL, 0, NULL, 0,
					 NULL), -ENOTSUP);
	}
	close(fd);
	assert_other_alive();
}

/* Every command's fixed part and fd allowance are checked before its handler. */
static void test_short_payloads_and_stray_fds(void **state)
{
	static const struct { uint16_t cmd; size_t fixed; } cmds[] = {
		{ VFU_CMD_DMA_MAP, sizeof(struct vfu_dma_map) },
		{ VFU_CMD_DMA_UNMAP, sizeof(struct vfu_dma_unmap) },
		{ VFU_CMD_DEVICE_GET_INFO, sizeof(struct vfu_device_info) },
		{ VFU_CMD_DEVICE_GET_REGION_INFO, sizeof(struct vfio_region_info) },
		{ VFU_CMD_DEVICE_GET_REGION_IO_FDS, sizeof(struct vfu_region_io_fds) },
		{ VFU_CMD_DEVICE_GET_IRQ_INFO, sizeof(struct vfio_irq_info) },
		{ VFU_CMD_DEVICE_SET_IRQS, sizeof(struct vfio_irq_set) },
		{ VFU_CMD_REGION_READ, sizeof(struct vfu_region_rw) },
		{ VFU_CMD_REGION_WRITE, sizeof(struct vfu_region_rw) },
		{ VFU_CMD_REGION_WRITE_MULTI, sizeof(struct vfu_write_multi) },
	};
	uint8_t zeros[64] = { 0 };
	int fd = open_client(0);
	int efd = eventfd(0, EFD_CLOEXEC);

	assert_true(efd >= 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		assert_int_equal(rc_call(fd, cmds[i].cmd, zeros, cmds[i].fixed - 1, NULL, 0,
					 NULL, 0, NULL), -EINVAL);
	/* An fd where the command takes none, also on a command without payload. */
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_RESET, NULL, 0, &efd, 1, NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_GET_IRQ_INFO, zeros,
				 sizeof(struct vfio_irq_info), &efd, 1, NULL, 0, NULL), -EINVAL);
	/* Unknown and unsupported commands. */
	assert_int_equal(rc_call(fd, 14, NULL, 0, NULL, 0, NULL, 0, NULL), -EINVAL);
	assert_int_equal(rc_call(fd, 999, NULL, 0, NULL, 0, NULL, 0, NULL), -EINVAL);
	assert_int_equal(rc_call(fd, VFU_CMD_MIG_DATA_READ, NULL, 0, NULL, 0, NULL, 0, NULL),
			 -ENOTSUP);
	/* The connection stays usable. */
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_RESET, NULL, 0, NULL, 0, NULL, 0, NULL), 0);
	close(efd);
	close(fd);
	assert_other_alive();
}

static void test_killed_mid_message(void **state)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int fd = rc_connect(path[0]);
		struct vfu_hdr h;

		rc_negotiate(fd);
		vfu_hdr_init(&h, 1, VFU_CMD_REGION_WRITE, 32 + 60000, 0);
		if (write(fd, &h, sizeof(h)) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	usleep(100000);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	/* The slot is free again and the device works. */
	{
		int fd = open_client(0);
		uint32_t got;

		assert_int_equal(region_read(fd, 0, 0, &got, 4), 4);
		close(fd);
	}
	assert_other_alive();
}

static void test_connect_cycles_no_fd_growth(void **state)
{
	int before, after;

	close(open_client(0));
	usleep(20000);
	before = test_count_open_fds();
	for (int i = 0; i < 1000; i++) {
		int fd = open_client(0);
		int efd = eventfd(0, EFD_CLOEXEC);
		struct vfio_irq_set set = {
			.argsz = sizeof(set),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_INTX_IRQ_INDEX, .count = 1,
		};

		assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_SET_IRQS, &set, sizeof(set), &efd,
					 1, NULL, 0, NULL), 0);
		close(efd);
		close(fd);
	}
	/* The last disconnect is handled asynchronously: connect once more. */
	close(open_client(0));
	usleep(50000);
	after = test_count_open_fds();
	assert_int_equal(before, after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_and_info),
		cmocka_unit_test(test_second_client_refused),
		cmocka_unit_test(test_region_info_caps_and_mmap),
		cmocka_unit_test(test_large_writes),
		cmocka_unit_test(test_posted_writes_then_read),
		cmocka_unit_test(test_write_multi),
		cmocka_unit_test(test_bad_region_access),
		cmocka_unit_test(test_set_irqs),
		cmocka_unit_test(test_set_irqs_truncated_fds),
		cmocka_unit_test(test_dma),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_short_payloads_and_stray_fds),
		cmocka_unit_test(test_killed_mid_message),
		cmocka_unit_test(test_connect_cycles_no_fd_growth),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
