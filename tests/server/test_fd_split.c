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
#include <cmocka.h>

#include "../test_util.h"

#include <vfiokit/vfiokit.h>
#include "raw_client.h"
#include "thread_server.h"
#include "vfio-user/wire.h"

#define MAP_SIZE 0x10000u
#define SLOW     0x0         /* a posted write here takes 200 ms */
#define DMA_DOOR 0x8         /* a write here reads 4 bytes at DMA_IOVA */
#define DMA_IOVA 0x300000u
#define MANY_FDS 20          /* more than a message may carry */

static struct thread_server ts;

/* A posted write here holds the server long enough for the client to
 * queue several chunks, so they are read together. */
static ssize_t slow_write(struct vfk_device *d, struct vfk_region *r, const void *buf,
			  size_t count, uint64_t off)
{
	uint8_t tmp[4];
	int e;

	if (off == SLOW) {
		usleep(200000);
		return (ssize_t)count;
	}
	e = vfk_dma_read(d, DMA_IOVA, tmp, sizeof(tmp));
	return e ? e : (ssize_t)count;
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
	int before = test_count_open_fds();
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
	assert_int_equal(test_count_open_fds(), before);
}

/* One sendmsg of len bytes with nfds copies of fd, past the wire layer's cap. */
static void send_many_fds(int sock, const void *buf, size_t len, int fd, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MANY_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = CMSG_SPACE(sizeof(int) * nfds) };
	struct cmsghdr *cmsg;

	memset(&ctl, 0, sizeof(ctl));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	for (unsigned int i = 0; i < nfds; i++)
		memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &fd, sizeof(int));
	assert_int_equal(sendmsg(sock, &msg, MSG_NOSIGNAL), (ssize_t)len);
}

/* Too many fds on the client's reply to a DMA_READ: they are dropped with
 * the reply, and the next message's fds are not taken for truncated. */
static void test_truncated_fds_on_dma_reply_stay_with_it(void **state)
{
	int before = test_count_open_fds();
	int sock = rc_connect(ts.path);
	int fd = guest_memfd();
	struct vfu_dma_map map = { sizeof(map), VFU_DMA_FLAG_READ, 0, DMA_IOVA, 0x1000 };
	struct vfu_region_rw rw = { DMA_DOOR, VFIO_PCI_BAR0_REGION_INDEX, 4 };
	uint8_t w[sizeof(rw) + 4] = { 0 }, req[256];
	uint8_t reply[VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE + 4] = { 0 };
	uint8_t m[VFU_HDR_SIZE + sizeof(struct vfu_dma_map)];
	struct vfu_hdr h;

	assert_true(sock >= 0);
	assert_int_equal(rc_negotiate(sock), 0);
	/* Memory without an fd: the server reads it with DMA_READ messages. */
	assert_int_equal(rc_call(sock, VFU_CMD_DMA_MAP, &map, sizeof(map), NULL, 0, NULL, 0,
				 NULL), 0);
	memcpy(w, &rw, sizeof(rw));
	assert_int_equal(rc_send(sock, 1, VFU_CMD_REGION_WRITE, 0, w, sizeof(w), NULL, 0), 0);
	assert_true(rc_recv(sock, req, sizeof(req), NULL, NULL) >= VFU_HDR_SIZE);
	memcpy(&h, req, sizeof(h));
	assert_int_equal(h.command, VFU_CMD_DMA_READ);
	vfu_hdr_init(&h, h.msg_id, VFU_CMD_DMA_READ, sizeof(reply), VFU_F_TYPE_REPLY);
	memcpy(reply, &h, sizeof(h));
	memcpy(reply + VFU_HDR_SIZE, req + VFU_HDR_SIZE, VFU_DMA_RW_HDR_SIZE);
	send_many_fds(sock, reply, sizeof(reply), fd, MANY_FDS);
	assert_true(rc_recv(sock, req, sizeof(req), NULL, NULL) >= VFU_HDR_SIZE);
	memcpy(&h, req, sizeof(h));
	assert_int_equal(h.command, VFU_CMD_REGION_WRITE);
	assert_false(h.flags & VFU_F_ERROR);
	/* A well-formed DMA_MAP with one fd is taken. */
	dma_map_msg(m, 2, 0x100000);
	send_chunk(sock, m, sizeof(m), &fd);
	expect_reply(sock, 2);
	close(fd);
	close(sock);
	sync_with_server();
	assert_int_equal(test_count_open_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_message_then_next_with_fds),
		cmocka_unit_test(test_truncated_fds_on_dma_reply_stay_with_it),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
