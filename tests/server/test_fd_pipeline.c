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
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "../test_util.h"

#include <vfiokit/vfiokit.h>
#include "raw_client.h"
#include "thread_server.h"
#include "server/server_internal.h"
#include "vfio-user/wire.h"

#define DOORBELL   0x10      /* write: deferred work reads 4 bytes at PLAIN_IOVA */
#define PROBE_ADDR 0x20      /* write 8 bytes: the iova PROBE reads */
#define PROBE      0x28      /* read: 4 bytes of client memory at PROBE_ADDR */
#define IRQ_FIRE   0x30      /* write a vector: raise it on MSI */
#define STATUS     0x40      /* read: the deferred read's result */
#define VALUE      0x44      /* read: what it read */
#define PLAIN_IOVA 0x1000u   /* mapped without an fd: reached by DMA_READ */
#define MAP_IOVA   0x100000u /* the pipelined maps, MAP_SIZE apart */
#define MAP_SIZE   0x1000u
#define MSI_VECS   4u
#define MANY_FDS   20u       /* more than a message may carry */
#define ANSWER     0x5a5aa5a5u

static struct thread_server ts;
static uint64_t probe_iova;
static int dma_status = 1;
static uint32_t dma_value;

static void read_later(struct vfk_device *d, void *arg)
{
	dma_status = vfk_dma_read(d, PLAIN_IOVA, &dma_value, sizeof(dma_value));
}

static ssize_t bar_write(struct vfk_device *d, struct vfk_region *r, const void *buf,
			 size_t count, uint64_t off)
{
	uint32_t v;
	int e;

	if (off == PROBE_ADDR && count == 8) {
		memcpy(&probe_iova, buf, 8);
		return 8;
	}
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
	if (count != 4)
		return -EINVAL;
	if (off == PROBE) {
		int e = vfk_dma_read(d, probe_iova, buf, 4);

		return e ? e : 4;
	}
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
	struct vfk_device_desc desc = { .name = "fdpipe", .vendor_id = 0x1af4,
					.device_id = 0x10f8, .class_code = 0xff0000 };
	struct vfk_region_desc bar = { VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
				       4096, &bar_ops, NULL };
	struct vfk_device *dev;

	assert_int_equal(vfk_device_create(&desc, &dev), 0);
	assert_int_equal(vfk_device_set_bar(dev, 0, &bar, 0), 0);
	assert_int_equal(vfk_pci_add_msi_cap(dev, MSI_VECS, true, false), 0);
	ts_start(&ts, dev, "fdpipe");
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

/* A memfd of MAP_SIZE whose first 4 bytes are tag, sealed against
 * shrinking as QEMU's guest RAM is. */
static int tagged_memfd(uint32_t tag)
{
	int fd = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, MAP_SIZE), 0);
	assert_int_equal(pwrite(fd, &tag, sizeof(tag), 0), (ssize_t)sizeof(tag));
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	return fd;
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
	struct vfu_dma_map map = { sizeof(map), VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE, 0,
				   iova, MAP_SIZE };

	assert_int_equal(rc_send(sock, id, VFU_CMD_DMA_MAP, 0, &map, sizeof(map), fds, nfds), 0);
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

/* The next message is the reply to (id, cmd), with error err (0: none). */
static void expect_reply(int sock, uint16_t id, uint16_t cmd, uint32_t err)
{
	uint8_t buf[256];
	struct vfu_hdr h;

	assert_true(rc_recv(sock, buf, sizeof(buf), NULL, NULL) >= VFU_HDR_SIZE);
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.msg_id, id);
	assert_int_equal(h.command, cmd);
	assert_int_equal(h.flags & VFU_F_TYPE_MASK, VFU_F_TYPE_REPLY);
	assert_int_equal(h.flags & VFU_F_ERROR ? h.error : 0, err);
}

static void bar_write32(int sock, uint64_t off, uint32_t v)
{
	struct vfu_region_rw rw = { off, VFIO_PCI_BAR0_REGION_INDEX, 4 };
	uint8_t w[sizeof(rw) + 4];

	memcpy(w, &rw, sizeof(rw));
	memcpy(w + sizeof(rw), &v, 4);
	assert_int_equal(rc_call(sock, VFU_CMD_REGION_WRITE, w, sizeof(w), NULL, 0, NULL, 0,
				 NULL), (ssize_t)sizeof(rw));
}

static uint32_t bar_read32(int sock, uint64_t off)
{
	struct vfu_region_rw rw = { off, VFIO_PCI_BAR0_REGION_INDEX, 4 };
	uint8_t out[sizeof(rw) + 4];
	uint32_t v;

	assert_int_equal(rc_call(sock, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, out,
				 sizeof(out), NULL), (ssize_t)sizeof(out));
	memcpy(&v, out + sizeof(rw), 4);
	return v;
}

/* The device reads 4 bytes at iova through its DMA mapping into *val:
 * the REGION_READ's result (its payload length, or -error). */
static ssize_t try_probe(int sock, uint64_t iova, uint32_t *val)
{
	struct vfu_region_rw rw = { PROBE_ADDR, VFIO_PCI_BAR0_REGION_INDEX, 8 };
	uint8_t w[sizeof(rw) + 8], out[sizeof(rw) + 4];
	ssize_t n;

	memcpy(w, &rw, sizeof(rw));
	memcpy(w + sizeof(rw), &iova, 8);
	assert_true(rc_call(sock, VFU_CMD_REGION_WRITE, w, sizeof(w), NULL, 0, NULL, 0,
			    NULL) >= 0);
	rw = (struct vfu_region_rw){ PROBE, VFIO_PCI_BAR0_REGION_INDEX, 4 };
	n = rc_call(sock, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, out, sizeof(out),
		    NULL);
	memcpy(val, out + sizeof(rw), 4);
	return n;
}

static uint32_t probe(int sock, uint64_t iova)
{
	uint32_t v;

	assert_int_equal(try_probe(sock, iova, &v), (ssize_t)(sizeof(struct vfu_region_rw) + 4));
	return v;
}

/* A client with PLAIN_IOVA mapped without an fd. */
static int connect_client(void)
{
	struct vfu_dma_map map = { sizeof(map), VFU_DMA_FLAG_READ, 0, PLAIN_IOVA, MAP_SIZE };
	int sock = rc_connect(ts.path);

	assert_true(sock >= 0);
	assert_int_equal(rc_negotiate(sock), 0);
	assert_int_equal(rc_call(sock, VFU_CMD_DMA_MAP, &map, sizeof(map), NULL, 0, NULL, 0,
				 NULL), 0);
	return sock;
}

/* Ring the doorbell: its reply comes, then the deferred work's DMA_READ,
 * which req receives; the server now waits for its answer. */
static void start_dma_wait(int sock, uint8_t *req, size_t cap)
{
	struct vfu_hdr h;

	dma_status = 1;
	bar_write32(sock, DOORBELL, 1);
	assert_int_equal(rc_recv(sock, req, cap, NULL, NULL),
			 VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE);
	memcpy(&h, req, sizeof(h));
	assert_int_equal(h.command, VFU_CMD_DMA_READ);
	assert_int_equal(h.flags & VFU_F_TYPE_MASK, VFU_F_TYPE_COMMAND);
}

/* Answer the DMA_READ in req with ANSWER, fd (-1: none) along; the
 * result of the send. */
static ssize_t answer_dma_with(int sock, const uint8_t *req, int fd)
{
	uint8_t out[VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE + 4];
	uint32_t v = ANSWER;
	struct vfu_hdr h;
	struct iovec iov = { out, sizeof(out) };

	memcpy(&h, req, sizeof(h));
	vfu_hdr_init(&h, h.msg_id, VFU_CMD_DMA_READ, sizeof(out), VFU_F_TYPE_REPLY);
	memcpy(out, &h, sizeof(h));
	memcpy(out + VFU_HDR_SIZE, req + VFU_HDR_SIZE, VFU_DMA_RW_HDR_SIZE);
	memcpy(out + VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE, &v, 4);
	return vfu_wire_sendmsg(sock, &iov, 1, fd >= 0 ? &fd : NULL, fd >= 0);
}

static ssize_t answer_dma(int sock, const uint8_t *req)
{
	return answer_dma_with(sock, req, -1);
}

static void expect_dma_done(int sock)
{
	assert_int_equal(bar_read32(sock, STATUS), 0);
	assert_int_equal(bar_read32(sock, VALUE), ANSWER);
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
		mem[i] = tagged_memfd(tag_of(i));
	for (unsigned int v = 0; v < MSI_VECS; v++) {
		efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		assert_true(efd[v] >= 0);
	}
	start_dma_wait(sock, req, sizeof(req));
	for (unsigned int i = 0; i < NMAPS; i++)
		send_map(sock, (uint16_t)(10 + i), iova_of(i), &mem[i], 1);
	send_set_irqs(sock, 50, efd);
	assert_int_equal(answer_dma(sock, req), VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE + 4);

	for (unsigned int i = 0; i < NMAPS; i++)
		expect_reply(sock, (uint16_t)(10 + i), VFU_CMD_DMA_MAP, 0);
	expect_reply(sock, 50, VFU_CMD_DEVICE_SET_IRQS, 0);
	expect_dma_done(sock);
	/* Each mapping is its own file, each vector its own eventfd. */
	for (unsigned int i = 0; i < NMAPS; i++)
		assert_int_equal(probe(sock, iova_of(i)), tag_of(i));
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
	close(sock);
	sync_with_server();
	assert_int_equal(test_count_open_fds(), before);
}

/* The DMA_READ comes from an access handler this time: the REGION_READ
 * that started it stays in rx under the handler while the pipelined
 * messages queue behind it, one of them split with its fd on the first
 * bytes. The read's reply comes first, then theirs, in order. */
static void test_pipelined_behind_a_handler_waiting(void **state)
{
	struct vfu_region_rw rw = { PROBE_ADDR, VFIO_PCI_BAR0_REGION_INDEX, 8 };
	uint64_t plain = PLAIN_IOVA;
	int before = test_count_open_fds();
	int sock = connect_client();
	int mem[3];
	uint8_t w[sizeof(rw) + 8], req[256], out[256];
	struct vfu_dma_map map = { sizeof(map), VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE, 0,
				   iova_of(1), MAP_SIZE };
	uint8_t split[VFU_HDR_SIZE + sizeof(map)];
	struct iovec iov[2] = { { split, 8 }, { split + 8, sizeof(split) - 8 } };
	struct vfu_hdr h;

	for (unsigned int i = 0; i < 3; i++)
		mem[i] = tagged_memfd(tag_of(i));
	memcpy(w, &rw, sizeof(rw));
	memcpy(w + sizeof(rw), &plain, 8);
	assert_int_equal(rc_call(sock, VFU_CMD_REGION_WRITE, w, sizeof(w), NULL, 0, NULL, 0,
				 NULL), (ssize_t)sizeof(rw));
	rw = (struct vfu_region_rw){ PROBE, VFIO_PCI_BAR0_REGION_INDEX, 4 };
	assert_int_equal(rc_send(sock, 5, VFU_CMD_REGION_READ, 0, &rw, sizeof(rw), NULL, 0), 0);
	assert_int_equal(rc_recv(sock, req, sizeof(req), NULL, NULL),
			 VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE);
	memcpy(&h, req, sizeof(h));
	assert_int_equal(h.command, VFU_CMD_DMA_READ);

	send_map(sock, 10, iova_of(0), &mem[0], 1);
	vfu_hdr_init(&h, 11, VFU_CMD_DMA_MAP, sizeof(split), 0);
	memcpy(split, &h, sizeof(h));
	memcpy(split + VFU_HDR_SIZE, &map, sizeof(map));
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
		expect_reply(sock, (uint16_t)(10 + i), VFU_CMD_DMA_MAP, 0);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(probe(sock, iova_of(i)), tag_of(i));
	close_all(mem, 3);
	close(sock);
	sync_with_server();
	assert_int_equal(test_count_open_fds(), before);
}

/* The answer itself carries an fd, behind queued messages with theirs:
 * the answer's fd is dropped with it, the others stay with their own. */
static void test_fd_on_the_answer_behind_queued_sets(void **state)
{
	int before = test_count_open_fds();
	int sock = connect_client();
	int mem[2], stray = tagged_memfd(0xdead);
	uint8_t req[256];

	for (unsigned int i = 0; i < 2; i++)
		mem[i] = tagged_memfd(tag_of(i));
	start_dma_wait(sock, req, sizeof(req));
	send_map(sock, 10, iova_of(0), &mem[0], 1);
	send_map(sock, 11, iova_of(1), &mem[1], 1);
	assert_true(answer_dma_with(sock, req, stray) > 0);
	expect_reply(sock, 10, VFU_CMD_DMA_MAP, 0);
	expect_reply(sock, 11, VFU_CMD_DMA_MAP, 0);
	expect_dma_done(sock);
	assert_int_equal(probe(sock, iova_of(0)), tag_of(0));
	assert_int_equal(probe(sock, iova_of(1)), tag_of(1));
	close_all(mem, 2);
	close(stray);
	close(sock);
	sync_with_server();
	assert_int_equal(test_count_open_fds(), before);
}

/* One sendmsg of a DMA_MAP with nfds copies of fd, past the wire layer's cap. */
static void send_map_many_fds(int sock, uint16_t id, uint64_t iova, int fd,
			      unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MANY_FDS)];
		struct cmsghdr align;
	} ctl;
	struct vfu_dma_map map = { sizeof(map), VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE, 0,
				   iova, MAP_SIZE };
	uint8_t m[VFU_HDR_SIZE + sizeof(map)];
	struct iovec iov = { m, sizeof(m) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = CMSG_SPACE(sizeof(int) * nfds) };
	struct cmsghdr *cmsg;
	struct vfu_hdr h;

	vfu_hdr_init(&h, id, VFU_CMD_DMA_MAP, sizeof(m), 0);
	memcpy(m, &h, sizeof(h));
	memcpy(m + VFU_HDR_SIZE, &map, sizeof(map));
	memset(&ctl, 0, sizeof(ctl));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	for (unsigned int i = 0; i < nfds; i++)
		memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &fd, sizeof(int));
	assert_int_equal(sendmsg(sock, &msg, MSG_NOSIGNAL), (ssize_t)sizeof(m));
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
		mem[i] = tagged_memfd(tag_of(i));
	start_dma_wait(sock, req, sizeof(req));
	send_map(sock, 10, iova_of(0), &mem[0], 1);
	send_map_many_fds(sock, 11, iova_of(1), mem[1], MANY_FDS);
	send_map(sock, 12, iova_of(2), &mem[2], 1);
	assert_true(answer_dma(sock, req) > 0);

	expect_reply(sock, 10, VFU_CMD_DMA_MAP, 0);
	expect_reply(sock, 11, VFU_CMD_DMA_MAP, EINVAL);
	expect_reply(sock, 12, VFU_CMD_DMA_MAP, 0);
	expect_dma_done(sock);
	assert_int_equal(probe(sock, iova_of(0)), tag_of(0));
	assert_int_equal(probe(sock, iova_of(2)), tag_of(2));
	/* Nothing was mapped for the refused message. */
	assert_int_equal(try_probe(sock, iova_of(1), &tag), -EFAULT);
	close_all(mem, 3);
	close(sock);
	sync_with_server();
	assert_int_equal(test_count_open_fds(), before);
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
		mem[i] = tagged_memfd(tag_of(i));
	start_dma_wait(sock, req, sizeof(req));
	for (unsigned int i = 0; i < NMAPS; i++)
		send_map(sock, (uint16_t)(10 + i), iova_of(i), &mem[i], 1);
	answer_dma(sock, req);   /* may find the socket closed */
	expect_dropped(sock);
	close_all(mem, NMAPS);
	close(sock);
	sync_with_server();
	assert_int_equal(test_count_open_fds(), before);
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

	fds[0] = tagged_memfd(0);
	for (unsigned int i = 1; i < VFU_WIRE_MAX_FDS; i++)
		fds[i] = fds[0];
	start_dma_wait(sock, req, sizeof(req));
	for (unsigned int i = 0; i < FULL; i++)
		send_map(sock, (uint16_t)(10 + i), iova_of(i), fds, VFU_WIRE_MAX_FDS);
	assert_true(answer_dma(sock, req) > 0);
	for (unsigned int i = 0; i < FULL; i++)
		expect_reply(sock, (uint16_t)(10 + i), VFU_CMD_DMA_MAP, EINVAL);
	expect_dma_done(sock);

	start_dma_wait(sock, req, sizeof(req));
	for (unsigned int i = 0; i <= FULL; i++)
		send_map(sock, (uint16_t)(20 + i), iova_of(i), fds, VFU_WIRE_MAX_FDS);
	answer_dma(sock, req);   /* may find the socket closed */
	expect_dropped(sock);
	close(fds[0]);
	close(sock);
	sync_with_server();
	assert_int_equal(test_count_open_fds(), before);
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
