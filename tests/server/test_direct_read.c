/* SPDX-License-Identifier: MIT */
/*
 * Large REGION_READs from a region with direct memory: the server sends
 * the data from the region itself. Checked: the bytes at several offsets
 * and sizes up to the region's end, that the direct ts.path is the one
 * taken, that a write pipelined behind a read is not applied before the
 * read's data is out (a slow reader forces partial sends), and that a
 * client leaving mid-reply does not disturb the next one.
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
#include <cmocka.h>

#include <vfiokit/vfiokit.h>
#include "raw_client.h"
#include "thread_server.h"

#define MEM_SIZE   (4u << 20)
#define MIB        (1u << 20)
#define PIPELINED  8u          /* 1 MiB reads in flight: far over any socket buffer */

static uint8_t mem[MEM_SIZE];
static int direct_calls;       /* bumped from the server thread, read after replies */
static struct thread_server ts;

static ssize_t mem_read(struct vfk_device *d, struct vfk_region *r, void *buf,
			size_t count, uint64_t off)
{
	memcpy(buf, mem + off, count);
	return (ssize_t)count;
}

static ssize_t mem_write(struct vfk_device *d, struct vfk_region *r, const void *buf,
			 size_t count, uint64_t off)
{
	memcpy(mem + off, buf, count);
	return (ssize_t)count;
}

static const void *mem_direct(struct vfk_device *d, struct vfk_region *r, uint64_t off,
			      size_t count)
{
	__atomic_add_fetch(&direct_calls, 1, __ATOMIC_SEQ_CST);
	return mem + off;
}

static const struct vfk_region_ops mem_ops = {
	.read = mem_read, .write = mem_write, .direct = mem_direct,
};

static void fill_pattern(void)
{
	for (uint32_t i = 0; i < MEM_SIZE; i++)
		mem[i] = (uint8_t)(i * 31 + (i >> 12));
}

static int setup(void **state)
{
	fill_pattern();
	ts_start(&ts, ts_bar0_device("direct", 0x10f0, TS_BAR_RW, MEM_SIZE, &mem_ops), "direct");
	return 0;
}

static int teardown(void **state)
{
	ts_stop(&ts);
	return 0;
}

static int open_client(void)
{
	int fd = rc_connect(ts.path);

	assert_true(fd >= 0);
	assert_int_equal(rc_negotiate(fd), 0);
	return fd;
}

/* Read exactly len bytes, chunk at a time, pausing now and then when slow. */
static void read_exact(int fd, void *buf, size_t len, size_t chunk, bool slow)
{
	size_t done = 0, since_pause = 0;

	while (done < len) {
		size_t want = len - done < chunk ? len - done : chunk;
		ssize_t n = read(fd, (uint8_t *)buf + done, want);

		assert_true(n > 0);
		done += (size_t)n;
		since_pause += (size_t)n;
		if (slow && since_pause >= 256 * 1024) {
			usleep(2000);
			since_pause = 0;
		}
	}
}

/* A REGION_READ reply: checks the header and rw struct, data to out. */
static void recv_read_reply(int fd, uint16_t id, uint64_t off, uint32_t count, void *out,
			    size_t chunk, bool slow)
{
	struct vfu_hdr h;
	struct vfu_region_rw rw;

	read_exact(fd, &h, sizeof(h), sizeof(h), false);
	assert_int_equal(h.msg_id, id);
	assert_int_equal(h.command, VFU_CMD_REGION_READ);
	assert_int_equal(h.flags, VFU_F_TYPE_REPLY);
	assert_int_equal(h.msg_size, VFU_HDR_SIZE + sizeof(rw) + count);
	read_exact(fd, &rw, sizeof(rw), sizeof(rw), false);
	assert_true(rw.offset == off);
	assert_int_equal(rw.region, 0);
	assert_int_equal(rw.count, count);
	read_exact(fd, out, count, chunk, slow);
}

static void send_read(int fd, uint16_t id, uint64_t off, uint32_t count)
{
	struct vfu_region_rw rw = { off, 0, count };

	assert_int_equal(rc_send(fd, id, VFU_CMD_REGION_READ, 0, &rw, sizeof(rw), NULL, 0), 0);
}

static void test_bytes_at_offsets_and_sizes(void **state)
{
	static uint8_t out[MIB];
	const struct { uint64_t off; uint32_t count; bool direct; } cases[] = {
		{ 0, 16 * 1024 - 1, false },         /* below the direct size: copied */
		{ 0, 16 * 1024, true },
		{ 3, 65536 + 5, true },
		{ 4096, MIB, true },
		{ MEM_SIZE - MIB, MIB, true },       /* ends at the region's end */
		{ MEM_SIZE - 20000, 20000, true },
		{ MEM_SIZE - 1, 1, false },
	};
	int fd = open_client();

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int before = __atomic_load_n(&direct_calls, __ATOMIC_SEQ_CST);

		send_read(fd, (uint16_t)i, cases[i].off, cases[i].count);
		recv_read_reply(fd, (uint16_t)i, cases[i].off, cases[i].count, out, 65536,
				false);
		assert_memory_equal(out, mem + cases[i].off, cases[i].count);
		assert_int_equal(__atomic_load_n(&direct_calls, __ATOMIC_SEQ_CST) - before,
				 cases[i].direct ? 1 : 0);
	}
	/* Past the end: refused before any byte is sent. */
	{
		struct vfu_region_rw rw = { MEM_SIZE - MIB + 1, 0, MIB };

		assert_int_equal(rc_call(fd, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, NULL,
					 0, NULL), -EINVAL);
	}
	close(fd);
}

struct sender {
	int fd;
	int result;
};

/* READ 1 MiB at 0, then WRITE a marker i + 1 into that range, PIPELINED
 * times, without waiting for replies: the server must hold each write
 * back until the read before it is fully sent. */
static void *send_reads_and_writes(void *arg)
{
	struct sender *snd = arg;
	struct {
		struct vfu_region_rw rw;
		uint8_t data[4];
	} w = { { 0, 0, 4 }, { 0 } };

	snd->result = 0;
	for (uint32_t i = 0; i < PIPELINED && !snd->result; i++) {
		struct vfu_region_rw rw = { 0, 0, MIB };

		snd->result = rc_send(snd->fd, (uint16_t)(2 * i), VFU_CMD_REGION_READ, 0, &rw,
				      sizeof(rw), NULL, 0);
		for (uint64_t at = 0; at < MIB && !snd->result; at += MIB / 4) {
			w.rw.offset = at + (at ? 0 : 8);
			memset(w.data, (int)(i + 1), sizeof(w.data));
			snd->result = rc_send(snd->fd, (uint16_t)(2 * i + 1), VFU_CMD_REGION_WRITE,
					      VFU_F_NO_REPLY, &w, sizeof(w), NULL, 0);
		}
	}
	return NULL;
}

static void test_write_behind_read_waits_for_its_data(void **state)
{
	static uint8_t out[MIB], expect[MIB];
	struct sender snd = { .fd = open_client() };
	pthread_t tid;

	fill_pattern();
	memcpy(expect, mem, MIB);
	assert_int_equal(pthread_create(&tid, NULL, send_reads_and_writes, &snd), 0);
	for (uint32_t i = 0; i < PIPELINED; i++) {
		recv_read_reply(snd.fd, (uint16_t)(2 * i), 0, MIB, out, 4096, true);
		assert_memory_equal(out, expect, MIB);
		/* What read i + 1 must see: the writes sent after read i. */
		for (uint64_t at = 0; at < MIB; at += MIB / 4)
			memset(expect + at + (at ? 0 : 8), (int)(i + 1), 4);
	}
	pthread_join(tid, NULL);
	assert_int_equal(snd.result, 0);
	close(snd.fd);
	fill_pattern();
}

/* A client that leaves with a direct reply half sent; the next one reads right. */
static void test_client_leaves_mid_reply(void **state)
{
	static uint8_t out[MIB];
	int fd = open_client();

	for (uint16_t i = 0; i < 4; i++)
		send_read(fd, i, 0, MIB);
	read_exact(fd, out, 100000, 4096, false);
	close(fd);
	fd = open_client();
	send_read(fd, 7, 12345, MIB);
	recv_read_reply(fd, 7, 12345, MIB, out, 65536, false);
	assert_memory_equal(out, mem + 12345, MIB);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_at_offsets_and_sizes),
		cmocka_unit_test(test_write_behind_read_waits_for_its_data),
		cmocka_unit_test(test_client_leaves_mid_reply),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
