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
#include <sys/socket.h>
#include <cmocka.h>

#include "../test_util.h"

#include <vfiokit/vfiokit.h>
#include "fd_fixture.h"
#include "raw_client.h"
#include "thread_server.h"
#include "vfio-user/wire.h"

#define MAP_SIZE 0x10000u
#define SLOW     0x0         /* a posted write here takes 200 ms */
#define DMA_DOOR 0x8         /* a write here reads 4 bytes at DMA_IOVA */
#define DMA_IOVA 0x300000u

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
	signal(SIGPIPE, SIG_IGN);
	ts_start(&ts, ts_bar0_device("fdsplit", 0x10f8, VFIO_REGION_INFO_FLAG_WRITE, 4096,
				     &bar_ops), "fdsplit");
	return 0;
}

static int teardown(void **state)
{
	ts_stop(&ts);
	return 0;
}

static int guest_memfd(void)
{
	return ff_tagged_memfd(0, MAP_SIZE);
}

static void send_chunk(int sock, const void *buf, size_t len, const int *fd)
{
	struct iovec iov = { (void *)buf, len };

	assert_int_equal(vfu_wire_sendmsg(sock, &iov, 1, fd, fd ? 1 : 0), (ssize_t)len);
}

static void expect_reply(int sock, uint16_t id)
{
	assert_int_equal(ff_expect_reply(sock, id, VFU_CMD_DMA_MAP, 0), VFU_HDR_SIZE);
}

/* Message A's fd comes with its first 8 bytes, the rest of A arrives with
 * message B and B's fd: the server sees A's fd, then one read holding
 * the end of A and all of B with B's fd. */
static void test_split_message_then_next_with_fds(void **state)
{
	int before = test_count_open_fds();
	int fa = guest_memfd(), fb = guest_memfd();
	uint8_t a[FF_DMA_MAP_MSG_SIZE];
	uint8_t b[sizeof(a)];
	int sock;

	ff_connect(ts.path, &sock);
	ff_dma_map_msg(a, 10, 0x100000, MAP_SIZE);
	ff_dma_map_msg(b, 11, 0x200000, MAP_SIZE);
	ff_bar_post_write32(sock, 9, SLOW);
	send_chunk(sock, a, 8, &fa);
	send_chunk(sock, a + 8, sizeof(a) - 8, NULL);
	send_chunk(sock, b, sizeof(b), &fb);
	expect_reply(sock, 10);
	expect_reply(sock, 11);
	close(fa);
	close(fb);
	ff_finish(ts.path, sock, before);
}

/* Too many fds on the client's reply to a DMA_READ: they are dropped with
 * the reply, and the next message's fds are not taken for truncated. */
static void test_truncated_fds_on_dma_reply_stay_with_it(void **state)
{
	int before = test_count_open_fds();
	int fd = guest_memfd();
	struct vfu_region_rw rw = { DMA_DOOR, VFIO_PCI_BAR0_REGION_INDEX, 4 };
	uint8_t w[sizeof(rw) + 4] = { 0 }, req[256];
	uint8_t reply[FF_DMA_READ4_REPLY_SIZE];
	uint8_t m[FF_DMA_MAP_MSG_SIZE];
	int sock;

	/* Memory without an fd: the server reads it with DMA_READ messages. */
	ff_connect_plain_map(ts.path, DMA_IOVA, 0x1000, &sock);
	memcpy(w, &rw, sizeof(rw));
	assert_int_equal(rc_send(sock, 1, VFU_CMD_REGION_WRITE, 0, w, sizeof(w), NULL, 0), 0);
	ff_expect_dma_read(sock, req, sizeof(req));
	ff_dma_read_reply(req, 0, reply);
	ff_send_many_fds(sock, reply, sizeof(reply), fd);
	ff_expect_reply(sock, 1, VFU_CMD_REGION_WRITE, 0);
	/* A well-formed DMA_MAP with one fd is taken. */
	ff_dma_map_msg(m, 2, 0x100000, MAP_SIZE);
	send_chunk(sock, m, sizeof(m), &fd);
	expect_reply(sock, 2);
	close(fd);
	ff_finish(ts.path, sock, before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_message_then_next_with_fds),
		cmocka_unit_test(test_truncated_fds_on_dma_reply_stay_with_it),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
