/* SPDX-License-Identifier: MIT */
/*
 * Large REGION_WRITEs to a region with direct memory: the server receives
 * the data from the socket into the region itself. Checked: the bytes at
 * several offsets and sizes up to the region's end, and that the direct
 * path is the one taken (and not below its size); that a write the copied
 * path would refuse (past the end, a count that is not the data's length)
 * is refused with no byte landing and the stream still framed; data sent
 * slowly in pieces, with a read pipelined behind it that must see it; a
 * no-reply write; fds sent along with the data (refused, EINVAL, the
 * connection goes on); and a client that leaves part-way through.
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
#include <sys/socket.h>
#include <cmocka.h>

#include <vfiokit/vfiokit.h>
#include "raw_client.h"
#include "thread_server.h"
#include "vfio-user/wire.h"

#define MEM_SIZE   (4u << 20)
#define MIB        (1u << 20)
#define DIRECT_MIN (16u * 1024u)   /* SRV_DIRECT_WRITE_MIN */

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

static void *mem_direct_write(struct vfk_device *d, struct vfk_region *r, uint64_t off,
			      size_t count)
{
	__atomic_add_fetch(&direct_calls, 1, __ATOMIC_SEQ_CST);
	return mem + off;
}

static const struct vfk_region_ops mem_ops = {
	.read = mem_read, .write = mem_write, .direct_write = mem_direct_write,
};

static int calls(void)
{
	return __atomic_load_n(&direct_calls, __ATOMIC_SEQ_CST);
}

static int setup(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	ts_start(&ts, ts_bar0_device("dwrite", 0x10f9, TS_BAR_RW, MEM_SIZE, &mem_ops), "dwrite");
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

/* A REGION_WRITE message of count bytes (seed-made) at off, whole in buf:
 * header, rw struct, data. Its size. */
static size_t build_write(uint8_t *buf, uint16_t id, uint32_t flags, uint64_t off,
			  uint32_t count, uint32_t rw_count, uint8_t seed)
{
	struct vfu_hdr h;
	struct vfu_region_rw rw = { off, 0, rw_count };

	vfu_hdr_init(&h, id, VFU_CMD_REGION_WRITE,
		     (uint32_t)(sizeof(h) + sizeof(rw) + count), flags);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &rw, sizeof(rw));
	for (uint32_t i = 0; i < count; i++)
		buf[sizeof(h) + sizeof(rw) + i] = (uint8_t)(i * 7 + seed + (i >> 10));
	return sizeof(h) + sizeof(rw) + count;
}

static void write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* The reply to write id: its count, or -error. */
static long recv_write_reply(int fd, uint16_t id)
{
	uint8_t buf[256];
	struct vfu_hdr h;
	struct vfu_region_rw rw;
	ssize_t n = rc_recv(fd, buf, sizeof(buf), NULL, NULL);

	assert_true(n >= (ssize_t)sizeof(h));
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.msg_id, id);
	assert_int_equal(h.command, VFU_CMD_REGION_WRITE);
	if (h.flags & VFU_F_ERROR)
		return -(long)h.error;
	assert_int_equal(n, sizeof(h) + sizeof(rw));
	memcpy(&rw, buf + sizeof(h), sizeof(rw));
	return rw.count;
}

static void test_bytes_at_offsets_and_sizes(void **state)
{
	static uint8_t msg[MIB + 64];
	const struct { uint64_t off; uint32_t count; bool direct; } cases[] = {
		{ 0, DIRECT_MIN - 1, false },        /* below the direct size: copied */
		{ 0, DIRECT_MIN, true },
		{ 3, 65536 + 5, true },
		{ 4096, MIB, true },
		{ MEM_SIZE - MIB, MIB, true },       /* ends at the region's end */
		{ MEM_SIZE - 20000, 20000, true },
		{ 0, 4096, false },
	};
	int fd = open_client();

	memset(mem, 0, sizeof(mem));
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int before = calls();
		size_t len = build_write(msg, (uint16_t)i, 0, cases[i].off, cases[i].count,
					 cases[i].count, (uint8_t)i);

		write_all(fd, msg, len);
		assert_int_equal(recv_write_reply(fd, (uint16_t)i), cases[i].count);
		assert_memory_equal(mem + cases[i].off, msg + VFU_HDR_SIZE +
				    sizeof(struct vfu_region_rw), cases[i].count);
		assert_int_equal(calls() - before, cases[i].direct ? 1 : 0);
	}
	close(fd);
}

/* What the copied path refuses is refused before a byte lands, and the
 * stream goes on at the next message. */
static void test_refused_before_landing(void **state)
{
	static uint8_t msg[MIB + 64], before[MEM_SIZE];
	int fd = open_client();
	size_t len;

	memset(mem, 0x11, sizeof(mem));
	memcpy(before, mem, sizeof(mem));
	/* Past the end by one byte. */
	len = build_write(msg, 1, 0, MEM_SIZE - MIB + 1, MIB, MIB, 1);
	write_all(fd, msg, len);
	assert_int_equal(recv_write_reply(fd, 1), -EINVAL);
	/* rw.count one short of the data that follows. */
	len = build_write(msg, 2, 0, 0, MIB, MIB - 1, 2);
	write_all(fd, msg, len);
	assert_int_equal(recv_write_reply(fd, 2), -EINVAL);
	/* Beyond what a message may carry is refused by its size. */
	assert_memory_equal(mem, before, sizeof(mem));
	/* Still framed: a good one lands. */
	len = build_write(msg, 3, 0, 0, DIRECT_MIN * 2, DIRECT_MIN * 2, 3);
	write_all(fd, msg, len);
	assert_int_equal(recv_write_reply(fd, 3), DIRECT_MIN * 2);
	assert_memory_equal(mem, msg + VFU_HDR_SIZE + sizeof(struct vfu_region_rw),
			    DIRECT_MIN * 2);
	close(fd);
}

/* The data in pieces with pauses (many wake-ups of the server), then a
 * read pipelined right behind it and a no-reply write: the read sees the
 * first write's bytes, the no-reply one lands before the next reply. */
static void test_slow_data_then_read(void **state)
{
	static uint8_t msg[MIB + 64], msg2[MIB + 64];
	struct vfu_region_rw rw = { 100, 0, 64 };
	uint8_t reply[256];
	int fd = open_client();
	size_t len = build_write(msg, 10, 0, 100, 300000, 300000, 9), off = 0;

	while (off < len) {
		size_t piece = len - off < 50000 ? len - off : 50000;

		write_all(fd, msg + off, piece);
		off += piece;
		usleep(2000);
	}
	assert_int_equal(rc_send(fd, 11, VFU_CMD_REGION_READ, 0, &rw, sizeof(rw), NULL, 0), 0);
	assert_int_equal(recv_write_reply(fd, 10), 300000);
	assert_true(rc_recv(fd, reply, sizeof(reply), NULL, NULL) ==
		    (ssize_t)(VFU_HDR_SIZE + sizeof(rw) + 64));
	assert_memory_equal(reply + VFU_HDR_SIZE + sizeof(rw),
			    msg + VFU_HDR_SIZE + sizeof(rw), 64);
	assert_memory_equal(mem + 100, msg + VFU_HDR_SIZE + sizeof(rw), 300000);

	len = build_write(msg2, 12, VFU_F_NO_REPLY, 0, MIB, MIB, 12);
	write_all(fd, msg2, len);
	rw.offset = MIB - 64;
	assert_int_equal(rc_send(fd, 13, VFU_CMD_REGION_READ, 0, &rw, sizeof(rw), NULL, 0), 0);
	assert_true(rc_recv(fd, reply, sizeof(reply), NULL, NULL) ==
		    (ssize_t)(VFU_HDR_SIZE + sizeof(rw) + 64));
	assert_memory_equal(reply + VFU_HDR_SIZE + sizeof(rw),
			    msg2 + VFU_HDR_SIZE + sizeof(rw) + MIB - 64, 64);
	close(fd);
}

/* fds sent with the data part of a direct write: closed, EINVAL as for a
 * copied REGION_WRITE with fds, and the connection goes on. */
static void test_fds_with_data_refused(void **state)
{
	static uint8_t msg[MIB + 64];
	size_t len = build_write(msg, 20, 0, 0, 200000, 200000, 20);
	int fd = open_client(), efd = eventfd(0, EFD_CLOEXEC);
	size_t head = VFU_HDR_SIZE + sizeof(struct vfu_region_rw) + 100;
	struct iovec iov = { msg + head, len - head };

	assert_true(efd >= 0);
	write_all(fd, msg, head);
	usleep(20000);   /* the server has seen the header and started */
	assert_true(vfu_wire_send(fd, &iov, 1, &efd, 1, 10000) == 0);
	assert_int_equal(recv_write_reply(fd, 20), -EINVAL);
	close(efd);
	len = build_write(msg, 21, 0, 0, DIRECT_MIN, DIRECT_MIN, 21);
	write_all(fd, msg, len);
	assert_int_equal(recv_write_reply(fd, 21), DIRECT_MIN);
	close(fd);
}

/* A client that leaves part-way: the server goes on with the next one. */
static void test_client_leaves_mid_write(void **state)
{
	static uint8_t msg[MIB + 64];
	size_t len = build_write(msg, 30, 0, 0, MIB, MIB, 30);
	int fd = open_client();

	write_all(fd, msg, len / 2);
	usleep(20000);
	close(fd);
	fd = open_client();
	len = build_write(msg, 31, 0, 4096, MIB, MIB, 31);
	write_all(fd, msg, len);
	assert_int_equal(recv_write_reply(fd, 31), MIB);
	assert_memory_equal(mem + 4096, msg + VFU_HDR_SIZE + sizeof(struct vfu_region_rw), MIB);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_at_offsets_and_sizes),
		cmocka_unit_test(test_refused_before_landing),
		cmocka_unit_test(test_slow_data_then_read),
		cmocka_unit_test(test_fds_with_data_refused),
		cmocka_unit_test(test_client_leaves_mid_write),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
