/* SPDX-License-Identifier: MIT */
/*
 * Deferred device work through the vfio-user server (regression for the
 * QEMU deadlock): a doorbell write that queues message-based DMA must be
 * answered before the server's DMA_READ goes out, and commands that
 * arrive while the server waits on that DMA are handled afterwards.
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
#include <sys/socket.h>
#include <sys/time.h>
#include <cmocka.h>

#include <vfiokit/vfiokit.h>
#include "raw_client.h"
#include "thread_server.h"

#define DOORBELL 0x10        /* write an IOVA: the device copies 16 bytes to IOVA + 16 */
#define COPIES   0x20        /* read: how many copies ran */
#define GUEST_BASE 0x200000u

static struct thread_server ts;
static struct vfk_device *dev;
static uint64_t doorbell_iova;
static uint32_t copies;
static int copy_status;

static void copy_later(struct vfk_device *d, void *arg)
{
	uint8_t tmp[16];

	copy_status = vfk_dma_read(d, doorbell_iova, tmp, sizeof(tmp));
	if (!copy_status)
		copy_status = vfk_dma_write(d, doorbell_iova + 16, tmp, sizeof(tmp));
	copies++;
}

static ssize_t bar_read(struct vfk_device *d, struct vfk_region *r, void *buf,
			size_t count, uint64_t off)
{
	if (off != COPIES || count != 4)
		return -EINVAL;
	memcpy(buf, &copies, 4);
	return 4;
}

static ssize_t bar_write(struct vfk_device *d, struct vfk_region *r, const void *buf,
			 size_t count, uint64_t off)
{
	int e;

	if (off != DOORBELL || count != 8)
		return -EINVAL;
	memcpy(&doorbell_iova, buf, 8);
	e = vfk_device_defer(d, copy_later, NULL);
	return e ? e : (ssize_t)count;
}

static const struct vfk_region_ops bar_ops = { .read = bar_read, .write = bar_write };

static int setup(void **state)
{
	dev = ts_bar0_device("deferred", 0x10f7, TS_BAR_RW, 4096, &bar_ops);
	ts_start(&ts, dev, "deferred");
	return 0;
}

static int teardown(void **state)
{
	ts_stop(&ts);
	return 0;
}

static int connect_with_timeout(void)
{
	struct timeval tv = { .tv_sec = 10 };
	int fd = rc_connect(ts.path);

	assert_true(fd >= 0);
	/* A server that waits on us while we wait on it fails, not hangs. */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(rc_negotiate(fd), 0);
	return fd;
}

static void test_doorbell_reply_precedes_dma(void **state)
{
	static uint8_t guest[0x1000];
	static uint8_t msg[256];
	struct vfu_dma_map map = { 32, VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE, 0,
				   GUEST_BASE, sizeof(guest) };
	struct vfu_region_rw rw = { DOORBELL, 0, 8 };
	uint64_t iova = GUEST_BASE;
	struct vfu_hdr h;
	uint8_t out[sizeof(rw) + 4];
	uint32_t n;
	int fd = connect_with_timeout();

	rc_dma_mem = guest;
	rc_dma_base = GUEST_BASE;
	rc_dma_len = sizeof(guest);
	rc_dma_requests = 0;
	memset(guest, 0x5c, 16);
	/* No fd: the device reaches this memory with DMA_READ/DMA_WRITE. */
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_MAP, &map, 32, NULL, 0, NULL, 0, NULL), 0);

	memcpy(msg, &rw, sizeof(rw));
	memcpy(msg + sizeof(rw), &iova, 8);
	assert_int_equal(rc_send(fd, 77, VFU_CMD_REGION_WRITE, 0, msg, sizeof(rw) + 8, NULL, 0), 0);
	/* Like QEMU, wait for this reply before serving anything else. */
	assert_true(rc_recv(fd, msg, sizeof(msg), NULL, NULL) >= (ssize_t)VFU_HDR_SIZE);
	memcpy(&h, msg, sizeof(h));
	assert_int_equal(h.flags & VFU_F_TYPE_MASK, VFU_F_TYPE_REPLY);
	assert_int_equal(h.msg_id, 77);
	assert_int_equal(h.command, VFU_CMD_REGION_WRITE);
	assert_int_equal(h.flags & VFU_F_ERROR, 0);
	assert_int_equal(rc_dma_requests, 0);

	/* This read reaches the server while it waits on its DMA_READ; rc_call
	 * answers the DMA, and the read is answered after the copy. */
	rw = (struct vfu_region_rw){ COPIES, 0, 4 };
	assert_int_equal(rc_call(fd, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, out,
				 sizeof(out), NULL), sizeof(out));
	memcpy(&n, out + sizeof(rw), 4);
	assert_int_equal(n, 1);
	assert_int_equal(copy_status, 0);
	assert_int_equal(rc_dma_requests, 2);
	assert_int_equal(guest[16], 0x5c);
	assert_int_equal(guest[31], 0x5c);
	assert_int_equal(vfk_device_deferred_count(dev), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doorbell_reply_precedes_dma),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
