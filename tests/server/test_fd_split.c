/* SPDX-License-Identifier: MIT */
/*
 * fd ownership across partial reads: a message whose fds came with its
 * first bytes, completed by a read that also brings the next message's
 * fds. Both messages must get their own fds, and the connection must live.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <dirent.h>
#include <cmocka.h>

#include <vfiokit/vfiokit.h>
#include "raw_client.h"
#include "thread_server.h"
#include "vfio-user/wire.h"

#define MAP_SIZE 0x10000u

static struct thread_server ts;

/* A posted write here holds the server long enough for the client to
 * queue several chunks, so they are read together. */
static ssize_t slow_write(struct vfk_device *d, struct vfk_region *r, const void *buf,
			  size_t count, uint64_t off)
{
	usleep(200000);
	return (ssize_t)count;
}

static const struct vfk_region_ops bar_ops = { .write = slow_write };

static int setup(void **state)
{
	struct vfk_device_desc desc = { .name = "fdsplit", .vendor_id = 0x1af4,
					.device_id = 0x10f8, .class_code = 0xff0000 };
	struct vfk_region_desc bar = { VFIO_REGION_INFO_FLAG_WRITE, 4096, &bar_ops, NULL };
	struct vfk_device *dev;

	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(vfk_device_create(&desc, &dev), 0);
	assert_int_equal(vfk_device_set_bar(dev, 0, &bar, 0), 0);
	ts_start(&ts, dev, "fdsplit");
	return 0;
}

static int teardown(void **state)
{
	ts_stop(&ts);
	return 0;
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

/* The server handles a disconnect asynchronously: one more connection
 * that gets its VERSION answer comes after it. */
static void sync_with_server(void)
{
	int sock = rc_connect(ts.path);

	assert_true(sock >= 0);
	assert_int_equal(rc_negotiate(sock), 0);
	close(sock);
	usleep(50000);
}

static int guest_memfd(void)
{
	int fd = memfd_create("guest", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, MAP_SIZE), 0);
	return fd;
}

/* A DMA_MAP of MAP_SIZE at iova, as bytes on the wire. */
static void dma_map_msg(uint8_t *msg, uint16_t id, uint64_t iova)
{
	struct vfu_dma_map map = { sizeof(map), VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE, 0,
				   iova, MAP_SIZE };
	struct vfu_hdr h;

	vfu_hdr_init(&h, id, VFU_CMD_DMA_MAP, VFU_HDR_SIZE + sizeof(map), 0);
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + VFU_HDR_SIZE, &map, sizeof(map));
}

static void send_chunk(int sock, const void *buf, size_t len, const int *fd)
{
	struct iovec iov = { (void *)buf, len };

	assert_int_equal(vfu_wire_sendmsg(sock, &iov, 1, fd, fd ? 1 : 0), (ssize_t)len);
}

static void expect_reply(int sock, uint16_t id)
{
	uint8_t buf[256];
	struct vfu_hdr h;

	assert_int_equal(rc_recv(sock, buf, sizeof(buf), NULL, NULL), VFU_HDR_SIZE);
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.msg_id, id);
	assert_int_equal(h.command, VFU_CMD_DMA_MAP);
	assert_false(h.flags & VFU_F_ERROR);
}

/* Message A's fd comes with its first 8 bytes, the rest of A arrives with
 * message B and B's fd: the server sees A's fd, then one read holding
 * the end of A and all of B with B's fd. */
static void test_split_message_then_next_with_fds(void **state)
{
	int before = count_fds();
	int sock = rc_connect(ts.path);
	int fa = guest_memfd(), fb = guest_memfd();
	struct vfu_region_rw rw = { 0, VFIO_PCI_BAR0_REGION_INDEX, 4 };
	uint8_t w[sizeof(rw) + 4] = { 0 };
	uint8_t a[VFU_HDR_SIZE + sizeof(struct vfu_dma_map)];
	uint8_t b[sizeof(a)];

	assert_true(sock >= 0);
	assert_int_equal(rc_negotiate(sock), 0);
	memcpy(w, &rw, sizeof(rw));
	dma_map_msg(a, 10, 0x100000);
	dma_map_msg(b, 11, 0x200000);
	assert_int_equal(rc_send(sock, 9, VFU_CMD_REGION_WRITE, VFU_F_NO_REPLY, w, sizeof(w),
				 NULL, 0), 0);
	send_chunk(sock, a, 8, &fa);
	send_chunk(sock, a + 8, sizeof(a) - 8, NULL);
	send_chunk(sock, b, sizeof(b), &fb);
	expect_reply(sock, 10);
	expect_reply(sock, 11);
	close(fa);
	close(fb);
	close(sock);
	sync_with_server();
	assert_int_equal(count_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_message_then_next_with_fds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
