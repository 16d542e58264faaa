/* SPDX-License-Identifier: MIT */
/*
 * A read that brings fds ends right after them, so a DMA_UNMAP that QEMU
 * writes just behind its DMA_MAP (with a memfd) is read separately. The
 * server reads on (a bounded number of times) before its replies go:
 * both replies must leave in one send, in order, each message with its
 * own fds, and a client that keeps sending fd messages still gets its
 * replies after a few reads, not only once it stops.
 *
 * To see what one batch sent, the tests hold the server in a handler
 * (GATE) while they write, and queue deferred work (DOORBELL) that sends a
 * DMA_READ after the batch's replies and then waits for its answer:
 * every reply before that DMA_READ belongs to the first batch.
 */
#include <errno.h>
#include <poll.h>
#include <semaphore.h>
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
#include "server/server_internal.h"
#include "vfio-user/wire.h"

#define GATE       0x00      /* posted write: the handler waits for the test */
#define DOORBELL   0x10      /* write: deferred work reads 4 bytes at PLAIN_IOVA */
/* 0x20, 0x28: FF_PROBE_ADDR, FF_PROBE (fd_fixture.h) */
#define STATUS     0x40      /* read: the deferred read's result */
#define PLAIN_IOVA 0x1000u   /* mapped without an fd: reached by DMA_READ */
#define MAP_IOVA   0x100000u /* maps with a memfd, MAP_SIZE apart */
#define MAP_SIZE   0x1000u
#define ANSWER     0x5a5aa5a5u
#define UNMAP_REPLY_SIZE (VFU_HDR_SIZE + sizeof(struct vfu_dma_unmap))

static struct thread_server ts;
static int client = -1;          /* closed by close_client even when a test fails */
static sem_t gate_entered, gate_open;
static int dma_status = 1;

static void read_later(struct vfk_device *d, void *arg)
{
	uint32_t v;

	dma_status = vfk_dma_read(d, PLAIN_IOVA, &v, sizeof(v));
}

static ssize_t bar_write(struct vfk_device *d, struct vfk_region *r, const void *buf,
			 size_t count, uint64_t off)
{
	ssize_t probed = ff_probe_bar_write(off, buf, count);
	int e;

	if (probed)
		return probed;
	if (count != 4)
		return -EINVAL;
	if (off == GATE) {
		sem_post(&gate_entered);
		while (sem_wait(&gate_open) < 0 && errno == EINTR)
			;
		return 4;
	}
	if (off != DOORBELL)
		return -EINVAL;
	e = vfk_device_defer(d, read_later, NULL);
	return e ? e : 4;
}

/* Runs in the server's thread: no race with the deferred read. */
static ssize_t bar_read(struct vfk_device *d, struct vfk_region *r, void *buf,
			size_t count, uint64_t off)
{
	ssize_t probed = ff_probe_bar_read(d, off, buf, count);

	if (probed)
		return probed;
	if (count != 4 || off != STATUS)
		return -EINVAL;
	memcpy(buf, &dma_status, 4);
	return 4;
}

static const struct vfk_region_ops bar_ops = { .read = bar_read, .write = bar_write };

static int setup(void **state)
{
	assert_int_equal(sem_init(&gate_entered, 0, 0), 0);
	assert_int_equal(sem_init(&gate_open, 0, 0), 0);
	ts_start(&ts, ts_bar0_device("fdreread", 0x10f8, TS_BAR_RW, 4096, &bar_ops), "fdreread");
	return 0;
}

static int teardown(void **state)
{
	ts_stop(&ts);
	sem_destroy(&gate_entered);
	sem_destroy(&gate_open);
	return 0;
}

/* The test's client: gone, and the server done with it, before the next test. */
static int close_client(void **state)
{
	if (client >= 0) {
		close(client);
		client = -1;
		ff_sync_with_server(ts.path);
	}
	return 0;
}

/* A client with PLAIN_IOVA mapped without an fd (for the deferred read). */
static int connect_client(void)
{
	ff_connect_plain_map(ts.path, PLAIN_IOVA, MAP_SIZE, &client);
	return client;
}

static uint64_t iova_of(unsigned int i)
{
	return MAP_IOVA + (uint64_t)i * MAP_SIZE;
}

/* Each send below is one write of its own, as QEMU's are. */
static void send_map(int sock, uint16_t id, uint64_t iova, int fd)
{
	ff_send_map(sock, id, iova, MAP_SIZE, &fd, 1);
}

static void send_unmap(int sock, uint16_t id, uint64_t iova)
{
	struct vfu_dma_unmap unmap = { sizeof(unmap), 0, iova, MAP_SIZE };

	assert_int_equal(rc_send(sock, id, VFU_CMD_DMA_UNMAP, 0, &unmap, sizeof(unmap), NULL,
				 0), 0);
}

/* A posted 4-byte write to the BAR at off. */
static void post_write(int sock, uint64_t off)
{
	ff_bar_post_write32(sock, 1, off);
}

/* The server is inside the GATE handler: what is written now is all in
 * its socket when it next reads. */
static void hold_server(int sock)
{
	post_write(sock, GATE);
	while (sem_wait(&gate_entered) < 0 && errno == EINTR)
		;
}

static void release_server(void)
{
	assert_int_equal(sem_post(&gate_open), 0);
}

static void expect_map_reply(int sock, uint16_t id)
{
	assert_int_equal(ff_expect_reply(sock, id, VFU_CMD_DMA_MAP, 0), VFU_HDR_SIZE);
}

static void expect_unmap_reply(int sock, uint16_t id)
{
	assert_int_equal(ff_expect_reply(sock, id, VFU_CMD_DMA_UNMAP, 0), UNMAP_REPLY_SIZE);
}

/*
 * Complete replies in the socket at the moment its first byte can be
 * read, counted up to the first server command: the replies the server
 * sent together (peeked, nothing is consumed).
 */
static unsigned int replies_at_first_byte(int sock)
{
	static uint8_t buf[4096];
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	unsigned int count = 0;
	size_t pos = 0;
	ssize_t n;

	assert_int_equal(poll(&pfd, 1, 10000), 1);
	n = recv(sock, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	assert_true(n >= (ssize_t)VFU_HDR_SIZE);
	while ((size_t)n - pos >= VFU_HDR_SIZE) {
		struct vfu_hdr h;

		memcpy(&h, buf + pos, sizeof(h));
		if ((h.flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_REPLY ||
		    h.msg_size > (size_t)n - pos)
			break;
		count++;
		pos += h.msg_size;
	}
	return count;
}

/* The deferred work's DMA_READ comes next: answer it with ANSWER. */
static void answer_deferred_read(int sock)
{
	uint8_t req[256];

	ff_expect_dma_read(sock, req, sizeof(req));
	assert_int_equal(ff_answer_dma_read(sock, req, ANSWER, -1), FF_DMA_READ4_REPLY_SIZE);
}

/* The deferred read succeeded (asked once the other replies are in). */
static void expect_deferred_done(int sock)
{
	assert_int_equal(ff_bar_read32(sock, STATUS), 0);
}

/* iova is mapped to the memfd tagged tag. */
static void expect_mapped(int sock, uint64_t iova, uint32_t tag)
{
	assert_int_equal(ff_probe(sock, iova), tag);
}

static void expect_unmapped(int sock, uint64_t iova)
{
	uint32_t v;

	assert_true(ff_try_probe(sock, iova, &v) < 0);
}

/* No fd left behind by the client or the server. */
static void finish(int before)
{
	close_client(NULL);
	assert_int_equal(test_count_open_fds(), before);
}

/* DMA_MAP with a memfd and DMA_UNMAP in two writes, back to back, many
 * times: the server's own pace decides how they are read. */
static void test_map_unmap_back_to_back(void **state)
{
	int before = test_count_open_fds();
	int sock = connect_client();
	int fd = ff_tagged_memfd(0x1111, MAP_SIZE);

	for (uint16_t i = 0; i < 200; i++) {
		send_map(sock, (uint16_t)(1000 + 2 * i), iova_of(i % 8), fd);
		send_unmap(sock, (uint16_t)(1001 + 2 * i), iova_of(i % 8));
		expect_map_reply(sock, (uint16_t)(1000 + 2 * i));
		expect_unmap_reply(sock, (uint16_t)(1001 + 2 * i));
	}
	send_map(sock, 5, iova_of(0), fd);
	expect_map_reply(sock, 5);
	expect_mapped(sock, iova_of(0), 0x1111);
	close(fd);
	finish(before);
}

/* Both requests are in the socket before the server reads: the two
 * replies leave in one send, before the batch's deferred work runs. */
static void test_map_unmap_replies_leave_together(void **state)
{
	int before = test_count_open_fds();
	int sock = connect_client();
	int fd = ff_tagged_memfd(0x2222, MAP_SIZE);

	hold_server(sock);
	post_write(sock, DOORBELL);
	send_map(sock, 10, iova_of(0), fd);
	send_unmap(sock, 11, iova_of(0));
	release_server();
	assert_int_equal(replies_at_first_byte(sock), 2);
	expect_map_reply(sock, 10);
	expect_unmap_reply(sock, 11);
	answer_deferred_read(sock);
	expect_deferred_done(sock);
	expect_unmapped(sock, iova_of(0));
	close(fd);
	finish(before);
}

/* A third message with fds behind the pair: it comes with the DMA_UNMAP
 * in the second read, and its reply leaves with theirs. Each map has its
 * own memfd. */
static void test_map_unmap_map_replies_leave_together(void **state)
{
	int before = test_count_open_fds();
	int sock = connect_client();
	int fa = ff_tagged_memfd(0xaaaa, MAP_SIZE), fb = ff_tagged_memfd(0xbbbb, MAP_SIZE);

	hold_server(sock);
	post_write(sock, DOORBELL);
	send_map(sock, 20, iova_of(0), fa);
	send_unmap(sock, 21, iova_of(0));
	send_map(sock, 22, iova_of(1), fb);
	release_server();
	assert_int_equal(replies_at_first_byte(sock), 3);
	expect_map_reply(sock, 20);
	expect_unmap_reply(sock, 21);
	expect_map_reply(sock, 22);
	answer_deferred_read(sock);
	expect_deferred_done(sock);
	expect_unmapped(sock, iova_of(0));
	expect_mapped(sock, iova_of(1), 0xbbbb);
	close(fa);
	close(fb);
	finish(before);
}

/* A stream of maps, each with its fd: the server reads at most
 * SRV_MAX_EXTRA_READS more times before it answers and serves others;
 * the rest is answered, in order, in the next wake-up. */
static void test_extra_reads_are_bounded(void **state)
{
	enum { NMAPS = SRV_MAX_EXTRA_READS + 3 };
	int before = test_count_open_fds();
	int sock = connect_client();
	int fd[NMAPS];

	for (unsigned int i = 0; i < NMAPS; i++)
		fd[i] = ff_tagged_memfd(0x3000u + i, MAP_SIZE);
	hold_server(sock);
	post_write(sock, DOORBELL);
	for (unsigned int i = 0; i < NMAPS; i++)
		send_map(sock, (uint16_t)(30 + i), iova_of(i), fd[i]);
	release_server();
	/* The first read holds the doorbell and the first map. */
	assert_int_equal(replies_at_first_byte(sock), SRV_MAX_EXTRA_READS + 1);
	for (unsigned int i = 0; i <= SRV_MAX_EXTRA_READS; i++)
		expect_map_reply(sock, (uint16_t)(30 + i));
	answer_deferred_read(sock);
	for (unsigned int i = SRV_MAX_EXTRA_READS + 1; i < NMAPS; i++)
		expect_map_reply(sock, (uint16_t)(30 + i));
	expect_deferred_done(sock);
	for (unsigned int i = 0; i < NMAPS; i++) {
		expect_mapped(sock, iova_of(i), 0x3000u + i);
		close(fd[i]);
	}
	finish(before);
}

/* The client writes a map and shuts its side: the read after the map's
 * finds the end of the stream, and the map's reply still comes. */
static void test_reply_before_end_of_stream(void **state)
{
	int before = test_count_open_fds();
	int sock = connect_client();
	int fd = ff_tagged_memfd(0x4444, MAP_SIZE);
	uint8_t buf[64];

	hold_server(sock);
	send_map(sock, 40, iova_of(0), fd);
	assert_int_equal(shutdown(sock, SHUT_WR), 0);
	release_server();
	expect_map_reply(sock, 40);
	assert_int_equal(rc_recv(sock, buf, sizeof(buf), NULL, NULL), -ECONNRESET);
	close(fd);
	finish(before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_map_unmap_back_to_back, close_client),
		cmocka_unit_test_teardown(test_map_unmap_replies_leave_together, close_client),
		cmocka_unit_test_teardown(test_map_unmap_map_replies_leave_together,
					  close_client),
		cmocka_unit_test_teardown(test_extra_reads_are_bounded, close_client),
		cmocka_unit_test_teardown(test_reply_before_end_of_stream, close_client),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
