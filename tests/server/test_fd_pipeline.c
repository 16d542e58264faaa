/* SPDX-License-Identifier: MIT */
/*
 * A client that pipelines messages with fds (DMA_MAP with a memfd,
 * SET_IRQS with eventfds) while the server waits for its answer to a
 * DMA_READ, as QEMU does when guest RAM changes during device DMA. Each
 * buffered message must be handled after the answer, in order, with its
 * own fds; past the per-connection caps the client is dropped, and no fd
 * is left behind either way.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "../test_util.h"

#include <vfiokit/vfiokit.h>
#include "fd_fixture.h"
#include "raw_client.h"
#include "thread_server.h"
#include "server/server_internal.h"
#include "vfio-user/wire.h"

#define DOORBELL   0x10      /* write: deferred work reads 4 bytes at PLAIN_IOVA */
/* 0x20, 0x28: FF_PROBE_ADDR, FF_PROBE (fd_fixture.h) */
#define IRQ_FIRE   0x30      /* write a vector: raise it on MSI */
#define STATUS     0x40      /* read: the deferred read's result */
#define VALUE      0x44      /* read: what it read */
#define PLAIN_IOVA 0x1000u   /* mapped without an fd: reached by DMA_READ */
#define MAP_IOVA   0x100000u /* the pipelined maps, MAP_SIZE apart */
#define MAP_SIZE   0x1000u
#define MSI_VECS   4u
#define ANSWER     0x5a5aa5a5u

static struct thread_server ts;
static int dma_status = 1;
static uint32_t dma_value;

static void read_later(struct vfk_device *d, void *arg)
{
	dma_status = vfk_dma_read(d, PLAIN_IOVA, &dma_value, sizeof(dma_value));
}

static ssize_t bar_write(struct vfk_device *d, struct vfk_region *r, const void *buf,
			 size_t count, uint64_t off)
{
	ssize_t probed = ff_probe_bar_write(off, buf, count);
	uint32_t v;
	int e;

	if (probed)
		return probed;
	if (count != 4)
		return -EINVAL;
	memcpy(&v, buf, 4);
	if (off == DOORBELL)
		e = vfk_device_defer(d, read_later, NULL);
	else if (off == IRQ_FIRE)
		e = vfk_irq_trigger(d, VFIO_PCI_MSI_IRQ_INDEX, v);
	else
		e = -EINVAL;
	return e ? e : 4;
}

/* Runs in the server's thread: no race with the deferred read. */
static ssize_t bar_read(struct vfk_device *d, struct vfk_region *r, void *buf,
			size_t count, uint64_t off)
{
	ssize_t probed = ff_probe_bar_read(d, off, buf, count);

	if (probed)
		return probed;
	if (count != 4)
		return -EINVAL;
	if (off == STATUS)
		memcpy(buf, &dma_status, 4);
	else if (off == VALUE)
		memcpy(buf, &dma_value, 4);
	else
		return -EINVAL;
	return 4;
}

static const struct vfk_region_ops bar_ops = { .read = bar_read, .write = bar_write };

static int setup(void **state)
{
	struct vfk_device *dev = ts_bar0_device("fdpipe", 0x10f8, TS_BAR_RW, 4096, &bar_ops);

	assert_int_equal(vfk_pci_add_msi_cap(dev, MSI_VECS, true, false), 0);
	ts_start(&ts, dev, "fdpipe");
	return 0;
}

static int teardown(void **state)
{
	ts_stop(&ts);
	return 0;
}

static uint32_t tag_of(unsigned int i)
{
	return 0x1000u + i * 0x11u;
}

static uint64_t iova_of(unsigned int i)
{
	return MAP_IOVA + (uint64_t)i * MAP_SIZE;
}

static void send_map(int sock, uint16_t id, uint64_t iova, const int *fds, unsigned int nfds)
{
	ff_send_map(sock, id, iova, MAP_SIZE, fds, nfds);
}

static void send_set_irqs(int sock, uint16_t id, const int *fds)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSI_IRQ_INDEX, .start = 0, .count = MSI_VECS,
	};

	assert_int_equal(rc_send(sock, id, VFU_CMD_DEVICE_SET_IRQS, 0, &set, sizeof(set), fds,
				 MSI_VECS), 0);
}

static void bar_write32(int sock, uint64_t off, uint32_t v)
{
	ff_bar_write(sock, off, &v, 4);
}

/* A client with PLAIN_IOVA mapped without an fd. */
static int connect_client(void)
{
	int sock;

	ff_connect_plain_map(ts.path, PLAIN_IOVA, MAP_SIZE, &sock);
	return sock;
}

/* Ring the doorbell: its reply comes, then the deferred work's DMA_READ,
 * which req receives; the server now waits for its answer. */
static void start_dma_wait(int sock, uint8_t *req, size_t cap)
{
	dma_status = 1;
	bar_write32(sock, DOORBELL, 1);
	ff_expect_dma_read(sock, req, cap);
}

/* Answer the DMA_READ in req with ANSWER: the result of the send. */
static ssize_t answer_dma(int sock, const uint8_t *req)
{
	return ff_answer_dma_read(sock, req, ANSWER, -1);
}

static void expect_dma_done(int sock)
{
	assert_int_equal(ff_bar_read32(sock, STATUS), 0);
	assert_int_equal(ff_bar_read32(sock, VALUE), ANSWER);
}

/* The server dropped the connection without another reply. */
static void expect_dropped(int sock)
{
	uint8_t buf[256];

	assert_int_equal(rc_recv(sock, buf, sizeof(buf), NULL, NULL), -ECONNRESET);
}

static void close_all(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);
}

/* As many fd sets as a connection may hold: maps, each with its own
 * memfd, and a SET_IRQS with eventfds, all sent before the DMA answer. */
static void test_pipelined_fd_messages_during_dma_wait(void **state)
{
	enum { NMAPS = SRV_MAX_FD_SETS - 1 };
	int before = test_count_open_fds();
	int sock = connect_client();
	int mem[NMAPS], efd[MSI_VECS];
	uint8_t req[256];
	uint64_t count;

	for (unsigned int i = 0; i < NMAPS; i++)
		mem[i] = ff_tagged_memfd(tag_of(i), MAP_SIZE);
	for (unsigned int v = 0; v < MSI_VECS; v++) {
		efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		assert_true(efd[v] >= 0);
	}
	start_dma_wait(sock, req, sizeof(req));
	for (unsigned int i = 0; i < NMAPS; i++)
		send_map(sock, (uint16_t)(10 + i), iova_of(i), &mem[i], 1);
	send_set_irqs(sock, 50, efd);
	assert_int_equal(answer_dma(sock, req), FF_DMA_READ4_REPLY_SIZE);

	for (unsigned int i = 0; i < NMAPS; i++)
		ff_expect_reply(sock, (uint16_t)(10 + i), VFU_CMD_DMA_MAP, 0);
	ff_expect_reply(sock, 50, VFU_CMD_DEVICE_SET_IRQS, 0);
	expect_dma_done(sock);
	/* Each mapping is its own file, each vector its own eventfd. */
	for (unsigned int i = 0; i < NMAPS; i++)
		assert_int_equal(ff_probe(sock, iova_of(i)), tag_of(i));
	for (unsigned int v = 0; v < MSI_VECS; v++) {
		bar_write32(sock, IRQ_FIRE, v);
		for (unsigned int w = 0; w < MSI_VECS; w++) {
			ssize_t n = read(efd[w], &count, sizeof(count));

			if (w == v) {
				assert_int_equal(n, (ssize_t)sizeof(count));
				assert_int_equal(count, 1);
			} else {
				assert_int_equal(n, -1);
				assert_int_equal(errno, EAGAIN);
			}
		}
	}
	close_all(mem, NMAPS);
	close_all(efd, MSI_VECS);
	ff_finish(ts.path, sock, before);
}

/* The DMA_READ comes from an access handler this time: the REGION_READ
 * that started it stays in rx under the handler while the pipelined
 * messages queue behind it, one of them split with its fd on the first
 * bytes. The read's reply comes first, then theirs, in order. */
static void test_pipelined_behind_a_handler_waiting(void **state)
{
	struct vfu_region_rw rw = { FF_PROBE, VFIO_PCI_BAR0_REGION_INDEX, 4 };
	uint64_t plain = PLAIN_IOVA;
	int before = test_count_open_fds();
	int sock = connect_client();
	int mem[3];
	uint8_t req[256], out[256];
	uint8_t split[FF_DMA_MAP_MSG_SIZE];
	struct iovec iov[2] = { { split, 8 }, { split + 8, sizeof(split) - 8 } };
	struct vfu_hdr h;

	for (unsigned int i = 0; i < 3; i++)
		mem[i] = ff_tagged_memfd(tag_of(i), MAP_SIZE);
	ff_bar_write(sock, FF_PROBE_ADDR, &plain, 8);
	assert_int_equal(rc_send(sock, 5, VFU_CMD_REGION_READ, 0, &rw, sizeof(rw), NULL, 0), 0);
	ff_expect_dma_read(sock, req, sizeof(req));

	send_map(sock, 10, iova_of(0), &mem[0], 1);
	ff_dma_map_msg(split, 11, iova_of(1), MAP_SIZE);
	assert_int_equal(vfu_wire_sendmsg(sock, &iov[0], 1, &mem[1], 1), 8);
	assert_int_equal(vfu_wire_sendmsg(sock, &iov[1], 1, NULL, 0), (ssize_t)iov[1].iov_len);
	send_map(sock, 12, iova_of(2), &mem[2], 1);
	assert_true(answer_dma(sock, req) > 0);

	assert_int_equal(rc_recv(sock, out, sizeof(out), NULL, NULL),
			 VFU_HDR_SIZE + sizeof(rw) + 4);
	memcpy(&h, out, sizeof(h));
	assert_int_equal(h.msg_id, 5);
	assert_false(h.flags & VFU_F_ERROR);
	assert_memory_equal(out + VFU_HDR_SIZE + sizeof(rw), &(uint32_t){ ANSWER }, 4);
	for (unsigned int i = 0; i < 3; i++)
		ff_expect_reply(sock, (uint16_t)(10 + i), VFU_CMD_DMA_MAP, 0);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(ff_probe(sock, iova_of(i)), tag_of(i));
	close_all(mem, 3);
	ff_finish(ts.path, sock, before);
}

/* The answer itself carries an fd, behind queued messages with theirs:
 * the answer's fd is dropped with it, the others stay with their own. */
static void test_fd_on_the_answer_behind_queued_sets(void **state)
{
	int before = test_count_open_fds();
	int sock = connect_client();
	int mem[2], stray = ff_tagged_memfd(0xdead, MAP_SIZE);
	uint8_t req[256];

	for (unsigned int i = 0; i < 2; i++)
		mem[i] = ff_tagged_memfd(tag_of(i), MAP_SIZE);
	start_dma_wait(sock, req, sizeof(req));
	send_map(sock, 10, iova_of(0), &mem[0], 1);
	send_map(sock, 11, iova_of(1), &mem[1], 1);
	assert_true(ff_answer_dma_read(sock, req, ANSWER, stray) > 0);
	ff_expect_reply(sock, 10, VFU_CMD_DMA_MAP, 0);
	ff_expect_reply(sock, 11, VFU_CMD_DMA_MAP, 0);
	expect_dma_done(sock);
	assert_int_equal(ff_probe(sock, iova_of(0)), tag_of(0));
	assert_int_equal(ff_probe(sock, iova_of(1)), tag_of(1));
	close_all(mem, 2);
	close(stray);
	ff_finish(ts.path, sock, before);
}

/* One sendmsg of a DMA_MAP with FF_MANY_FDS copies of fd, past the wire layer's cap. */
static void send_map_many_fds(int sock, uint16_t id, uint64_t iova, int fd)
{
	uint8_t m[FF_DMA_MAP_MSG_SIZE];

	ff_dma_map_msg(m, id, iova, MAP_SIZE);
	ff_send_many_fds(sock, m, sizeof(m), fd);
}

/* The middle message of three carries more fds than fit: it alone is
 * refused, its neighbours map their own files. */
static void test_truncated_set_in_the_queue(void **state)
{
	int before = test_count_open_fds();
	int sock = connect_client();
	int mem[3];
	uint8_t req[256];
	uint32_t tag;

	for (unsigned int i = 0; i < 3; i++)
		mem[i] = ff_tagged_memfd(tag_of(i), MAP_SIZE);
	start_dma_wait(sock, req, sizeof(req));
	send_map(sock, 10, iova_of(0), &mem[0], 1);
	send_map_many_fds(sock, 11, iova_of(1), mem[1]);
	send_map(sock, 12, iova_of(2), &mem[2], 1);
	assert_true(answer_dma(sock, req) > 0);

	ff_expect_reply(sock, 10, VFU_CMD_DMA_MAP, 0);
	ff_expect_reply(sock, 11, VFU_CMD_DMA_MAP, EINVAL);
	ff_expect_reply(sock, 12, VFU_CMD_DMA_MAP, 0);
	expect_dma_done(sock);
	assert_int_equal(ff_probe(sock, iova_of(0)), tag_of(0));
	assert_int_equal(ff_probe(sock, iova_of(2)), tag_of(2));
	/* Nothing was mapped for the refused message. */
	assert_int_equal(ff_try_probe(sock, iova_of(1), &tag), -EFAULT);
	close_all(mem, 3);
	ff_finish(ts.path, sock, before);
}

/* One fd set more than a connection may hold: the client is dropped and
 * every fd it sent is closed. */
static void test_one_set_too_many_disconnects(void **state)
{
	enum { NMAPS = SRV_MAX_FD_SETS + 1 };
	int before = test_count_open_fds();
	int sock = connect_client();
	int mem[NMAPS];
	uint8_t req[256];

	for (unsigned int i = 0; i < NMAPS; i++)
		mem[i] = ff_tagged_memfd(tag_of(i), MAP_SIZE);
	start_dma_wait(sock, req, sizeof(req));
	for (unsigned int i = 0; i < NMAPS; i++)
		send_map(sock, (uint16_t)(10 + i), iova_of(i), &mem[i], 1);
	answer_dma(sock, req);   /* may find the socket closed */
	expect_dropped(sock);
	close_all(mem, NMAPS);
	ff_finish(ts.path, sock, before);
}

/* Messages with the most fds each: SRV_MAX_HELD_FDS in all are held (the
 * maps are refused, each for carrying more than one fd, the connection
 * lives); one message more and the client is dropped, its fds closed. */
static void test_too_many_fds_held_disconnects(void **state)
{
	enum { FULL = SRV_MAX_HELD_FDS / VFU_WIRE_MAX_FDS };
	int before = test_count_open_fds();
	int sock = connect_client();
	int fds[VFU_WIRE_MAX_FDS];
	uint8_t req[256];

	fds[0] = ff_tagged_memfd(0, MAP_SIZE);
	for (unsigned int i = 1; i < VFU_WIRE_MAX_FDS; i++)
		fds[i] = fds[0];
	start_dma_wait(sock, req, sizeof(req));
	for (unsigned int i = 0; i < FULL; i++)
		send_map(sock, (uint16_t)(10 + i), iova_of(i), fds, VFU_WIRE_MAX_FDS);
	assert_true(answer_dma(sock, req) > 0);
	for (unsigned int i = 0; i < FULL; i++)
		ff_expect_reply(sock, (uint16_t)(10 + i), VFU_CMD_DMA_MAP, EINVAL);
	expect_dma_done(sock);

	start_dma_wait(sock, req, sizeof(req));
	for (unsigned int i = 0; i <= FULL; i++)
		send_map(sock, (uint16_t)(20 + i), iova_of(i), fds, VFU_WIRE_MAX_FDS);
	answer_dma(sock, req);   /* may find the socket closed */
	expect_dropped(sock);
	close(fds[0]);
	ff_finish(ts.path, sock, before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined_fd_messages_during_dma_wait),
		cmocka_unit_test(test_pipelined_behind_a_handler_waiting),
		cmocka_unit_test(test_fd_on_the_answer_behind_queued_sets),
		cmocka_unit_test(test_truncated_set_in_the_queue),
		cmocka_unit_test(test_one_set_too_many_disconnects),
		cmocka_unit_test(test_too_many_fds_held_disconnects),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
