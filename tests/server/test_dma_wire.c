/* SPDX-License-Identifier: MIT */
/*
 * The bytes of server-to-client DMA_READ/DMA_WRITE, checked at literal
 * offsets (not the protocol.h constants the server uses), as QEMU 11.1
 * reads and writes them: {header 16; u64 address at 16; u64 count at 24;
 * data at 32}. Regression: the server once put data at 28, and every
 * copy through QEMU's plain (non-fd) guest RAM arrived 4 bytes shifted.
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
#include "vfio-user/wire.h"

#define DOORBELL   0x10      /* write a length: copy it from SRC_IOVA to DST_IOVA */
#define STATUS     0x20      /* read: the last copy's result (1 before any) */
#define SRC_IOVA   0x300000u
#define DST_IOVA   0x301000u
#define COPY_LEN   100u      /* not a multiple of 8: catches any shift */

static struct thread_server ts;
static uint32_t copy_len;
static int copy_status = 1;

static void copy_later(struct vfk_device *d, void *arg)
{
	uint8_t tmp[COPY_LEN];

	copy_status = vfk_dma_read(d, SRC_IOVA, tmp, copy_len);
	if (!copy_status)
		copy_status = vfk_dma_write(d, DST_IOVA, tmp, copy_len);
}

static ssize_t bar_write(struct vfk_device *d, struct vfk_region *r, const void *buf,
			 size_t count, uint64_t off)
{
	if (off != DOORBELL || count != 4)
		return -EINVAL;
	memcpy(&copy_len, buf, 4);
	if (copy_len > COPY_LEN)
		return -EINVAL;
	int e = vfk_device_defer(d, copy_later, NULL);

	return e ? e : (ssize_t)count;
}

/* Read in the server's thread: no race with the copy. */
static ssize_t bar_read(struct vfk_device *d, struct vfk_region *r, void *buf,
			size_t count, uint64_t off)
{
	if (off != STATUS || count != 4)
		return -EINVAL;
	memcpy(buf, &copy_status, 4);
	return 4;
}

static const struct vfk_region_ops bar_ops = { .read = bar_read, .write = bar_write };

static int setup(void **state)
{
	ts_start(&ts, ts_bar0_device("wire", 0x10f8, TS_BAR_RW, 4096, &bar_ops), "dmawire");
	return 0;
}

static int teardown(void **state)
{
	ts_stop(&ts);
	return 0;
}

static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* Receive one server command; check its header and address/count fields. */
static ssize_t expect_dma(int fd, uint8_t *msg, size_t cap, uint16_t cmd, uint64_t iova)
{
	ssize_t n = rc_recv(fd, msg, cap, NULL, NULL);

	assert_true(n >= 32);
	assert_int_equal(get16(msg + 2), cmd);
	assert_int_equal(get32(msg + 4), (uint32_t)n);            /* msg_size */
	assert_int_equal(get32(msg + 8) & VFU_F_TYPE_MASK, VFU_F_TYPE_COMMAND);
	assert_int_equal(get64(msg + 16), iova);
	assert_int_equal(get64(msg + 24), COPY_LEN);               /* u64 count */
	return n;
}

/* Send a reply to msg (same id and command) with an optional body. */
static void reply(int fd, const uint8_t *msg, const uint8_t *body, size_t len)
{
	uint8_t out[32 + COPY_LEN];
	struct vfu_hdr h;

	vfu_hdr_init(&h, get16(msg), get16(msg + 2), (uint32_t)(16 + len), VFU_F_TYPE_REPLY);
	memcpy(out, &h, sizeof(h));
	if (len)
		memcpy(out + 16, body, len);
	assert_int_equal(write(fd, out, 16 + len), (ssize_t)(16 + len));
}

static void test_dma_read_write_layout(void **state)
{
	struct vfu_dma_map map = { 32, VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE, 0,
				   SRC_IOVA, 0x2000 };
	struct vfu_region_rw rw = { DOORBELL, 0, 4 };
	struct timeval tv = { .tv_sec = 10 };
	uint8_t msg[64 + COPY_LEN], body[16 + COPY_LEN];
	uint32_t len = COPY_LEN;
	int fd = rc_connect(ts.path);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(rc_negotiate(fd), 0);
	/* No fd: the device reaches this memory with messages. */
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_MAP, &map, 32, NULL, 0, NULL, 0, NULL), 0);
	memcpy(msg, &rw, sizeof(rw));
	memcpy(msg + sizeof(rw), &len, 4);
	assert_int_equal(rc_send(fd, 9, VFU_CMD_REGION_WRITE, 0, msg, sizeof(rw) + 4, NULL, 0), 0);
	assert_true(rc_recv(fd, msg, sizeof(msg), NULL, NULL) >= 16);
	assert_int_equal(get16(msg), 9);

	/* DMA_READ: the request is exactly 32 bytes; answer with the address
	 * and count echoed and the data at 32, as QEMU does. */
	assert_int_equal(expect_dma(fd, msg, sizeof(msg), VFU_CMD_DMA_READ, SRC_IOVA), 32);
	memcpy(body, msg + 16, 16);
	for (unsigned int i = 0; i < COPY_LEN; i++)
		body[16 + i] = (uint8_t)(i * 7 + 1);
	reply(fd, msg, body, sizeof(body));

	/* DMA_WRITE: 32 + count bytes, the data at 32; QEMU answers a header. */
	assert_int_equal(expect_dma(fd, msg, sizeof(msg), VFU_CMD_DMA_WRITE, DST_IOVA),
			 32 + COPY_LEN);
	assert_memory_equal(msg + 32, body + 16, COPY_LEN);
	reply(fd, msg, NULL, 0);

	/* The copy took our replies as success. */
	rw = (struct vfu_region_rw){ STATUS, 0, 4 };
	assert_int_equal(rc_call(fd, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, body,
				 sizeof(rw) + 4, NULL), sizeof(rw) + 4);
	assert_int_equal(get32(body + sizeof(rw)), 0);
	close(fd);
}

/* A DMA_READ answered with an errno no errno can be (above 4095, or
 * with the sign bit set): the device sees -EIO, never a positive or
 * overflowed value. */
static void test_dma_error_reply_out_of_range(void **state)
{
	static const uint32_t bad[] = { 0xffffffffu, 0x80000000u, 4096u };
	struct vfu_dma_map map = { 32, VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE, 0,
				   SRC_IOVA, 0x2000 };
	struct timeval tv = { .tv_sec = 10 };
	uint8_t msg[64 + COPY_LEN], body[16 + 4];
	int fd = rc_connect(ts.path);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(rc_negotiate(fd), 0);
	assert_int_equal(rc_call(fd, VFU_CMD_DMA_MAP, &map, 32, NULL, 0, NULL, 0, NULL), 0);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vfu_region_rw rw = { DOORBELL, 0, 4 };
		uint32_t len = COPY_LEN;
		struct vfu_hdr h;

		memcpy(msg, &rw, sizeof(rw));
		memcpy(msg + sizeof(rw), &len, 4);
		assert_int_equal(rc_send(fd, 9, VFU_CMD_REGION_WRITE, 0, msg, sizeof(rw) + 4,
					 NULL, 0), 0);
		assert_true(rc_recv(fd, msg, sizeof(msg), NULL, NULL) >= 16);
		expect_dma(fd, msg, sizeof(msg), VFU_CMD_DMA_READ, SRC_IOVA);
		vfu_hdr_init(&h, get16(msg), VFU_CMD_DMA_READ, 16, VFU_F_TYPE_REPLY | VFU_F_ERROR);
		h.error = bad[i];
		assert_int_equal(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));

		rw = (struct vfu_region_rw){ STATUS, 0, 4 };
		assert_int_equal(rc_call(fd, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, body,
					 sizeof(body), NULL), sizeof(rw) + 4);
		assert_int_equal((int32_t)get32(body + sizeof(rw)), -EIO);
	}
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dma_read_write_layout),
		cmocka_unit_test(test_dma_error_reply_out_of_range),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
