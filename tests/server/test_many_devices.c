// SPDX-License-Identifier: MIT
/*
 * Two devices in one server: while device A waits on its client for the
 * answer to a server-to-client DMA_READ, device B's client is served
 * (connect, register reads, region info), A's copy completes once its
 * client answers, a B handler's own message-based DMA is refused with
 * -EBUSY while A waits (and works once nothing waits), B's deferred DMA
 * work waits for A to finish, and A's client dying mid-wait leaves B
 * working and A's socket free for the next client.
 *
 * No timing assertions: the waits are ordered by the protocol itself. A
 * server that blocked the process during A's wait would answer B only
 * after dropping A for not answering (SRV_STALL_MS), and A's later
 * requests would then fail.
 */
#include <errno.h>
#include <poll.h>
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

#define DOORBELL      0x10   /* write an IOVA: deferred copy of 16 bytes to IOVA + 16 */
#define DIRECT        0x18   /* write an IOVA: DMA_READ of 16 bytes inside the access */
#define COPIES        0x20   /* read: deferred copies run */
#define COPY_STATUS   0x24   /* read: the last copy's result */
#define DIRECT_STATUS 0x28   /* read: the last direct read's result */
#define GUEST_BASE    0x200000u
#define B_IOVA        (GUEST_BASE + 0x100u)
#define ROUNDS        5

/* One test device's state; touched only by the server thread. */
struct tdev {
	uint64_t iova;
	uint32_t copies;
	int32_t copy_status;
	int32_t direct_status;
};

static void copy_later(struct vfk_device *d, void *arg)
{
	struct tdev *t = arg;
	uint8_t tmp[16];

	t->copy_status = vfk_dma_read(d, t->iova, tmp, sizeof(tmp));
	if (!t->copy_status)
		t->copy_status = vfk_dma_write(d, t->iova + 16, tmp, sizeof(tmp));
	t->copies++;
}

static ssize_t bar_read(struct vfk_device *d, struct vfk_region *r, void *buf,
			size_t count, uint64_t off)
{
	const struct tdev *t = vfk_region_priv(r);
	uint32_t v;

	if (count != 4)
		return -EINVAL;
	if (off == COPIES)
		v = t->copies;
	else if (off == COPY_STATUS)
		v = (uint32_t)t->copy_status;
	else if (off == DIRECT_STATUS)
		v = (uint32_t)t->direct_status;
	else
		return -EINVAL;
	memcpy(buf, &v, 4);
	return 4;
}

static ssize_t bar_write(struct vfk_device *d, struct vfk_region *r, const void *buf,
			 size_t count, uint64_t off)
{
	struct tdev *t = vfk_region_priv(r);
	uint8_t tmp[16];
	int e;

	if (count != 8 || (off != DOORBELL && off != DIRECT))
		return -EINVAL;
	memcpy(&t->iova, buf, 8);
	if (off == DIRECT) {
		t->direct_status = vfk_dma_read(d, t->iova, tmp, sizeof(tmp));
		return (ssize_t)count;
	}
	e = vfk_device_defer(d, copy_later, t);
	return e ? e : (ssize_t)count;
}

static const struct vfk_region_ops bar_ops = { .read = bar_read, .write = bar_write };

/* The server: devices A and B on their own sockets, run by one thread. */
static char dir[64];
static char path[2][96];
static struct tdev state[2];
static struct vfk_device *devs[2];
static struct vfk_server *srv;
static pthread_t thread;
static uint8_t guest[0x1000];

static void *serve(void *arg)
{
	vfk_server_run(arg);
	return NULL;
}

static int setup(void **st)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/vfk-many-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(vfk_server_create(&srv), 0);
	for (int i = 0; i < 2; i++) {
		struct vfk_device_desc desc = { .name = i ? "dev-b" : "dev-a",
						.vendor_id = 0x1af4, .device_id = 0x10f7,
						.class_code = 0xff0000 };
		struct vfk_region_desc bar = { VFIO_REGION_INFO_FLAG_READ |
					       VFIO_REGION_INFO_FLAG_WRITE,
					       4096, &bar_ops, &state[i] };

		memset(&state[i], 0, sizeof(state[i]));
		snprintf(path[i], sizeof(path[i]), "%s/%c.sock", dir, 'a' + i);
		assert_int_equal(vfk_device_create(&desc, &devs[i]), 0);
		assert_int_equal(vfk_device_set_bar(devs[i], 0, &bar, 0), 0);
		assert_int_equal(vfk_server_add_device(srv, devs[i], path[i]), 0);
	}
	for (size_t i = 0; i < sizeof(guest); i++)
		guest[i] = (uint8_t)i;
	rc_dma_mem = guest;
	rc_dma_base = GUEST_BASE;
	rc_dma_len = sizeof(guest);
	rc_dma_requests = 0;
	assert_int_equal(pthread_create(&thread, NULL, serve, srv), 0);
	return 0;
}

static int teardown(void **st)
{
	vfk_server_stop(srv);
	pthread_join(thread, NULL);
	vfk_server_destroy(srv);
	for (int i = 0; i < 2; i++) {
		vfk_device_destroy(devs[i]);
		unlink(path[i]);
	}
	rmdir(dir);
	return 0;
}

/* A negotiated client of device i whose reads fail rather than hang. */
static int connect_dev(int i)
{
	struct timeval tv = { .tv_sec = 10 };
	int fd = rc_connect(path[i]);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(rc_negotiate(fd), 0);
	return fd;
}

/* Client memory without an fd: reached with DMA_READ/DMA_WRITE. */
static void map_fdless(int fd)
{
	struct vfu_dma_map map = { 32, VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE, 0,
				   GUEST_BASE, sizeof(guest) };

	assert_int_equal(rc_call(fd, VFU_CMD_DMA_MAP, &map, 32, NULL, 0, NULL, 0, NULL), 0);
}

/* A 4-byte register, or -errno as a huge value the asserts reject. */
static uint32_t reg_read(int fd, uint64_t off)
{
	struct vfu_region_rw rw = { off, VFIO_PCI_BAR0_REGION_INDEX, 4 };
	uint8_t out[sizeof(rw) + 4];
	uint32_t v;

	assert_int_equal(rc_call(fd, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, out,
				 sizeof(out), NULL), sizeof(out));
	memcpy(&v, out + sizeof(rw), 4);
	return v;
}

static void reg_write(int fd, uint64_t off, uint64_t v)
{
	struct vfu_region_rw rw = { off, VFIO_PCI_BAR0_REGION_INDEX, 8 };
	uint8_t msg[sizeof(rw) + 8];
	uint8_t out[sizeof(rw)];

	memcpy(msg, &rw, sizeof(rw));
	memcpy(msg + sizeof(rw), &v, 8);
	assert_true(rc_call(fd, VFU_CMD_REGION_WRITE, msg, sizeof(msg), NULL, 0, out,
			    sizeof(out), NULL) >= 0);
}

/* Round trips a client of B makes: register reads and region info. */
static void b_round_trips(int fd, uint32_t copies)
{
	for (int i = 0; i < ROUNDS; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri),
					       .index = VFIO_PCI_BAR0_REGION_INDEX };
		struct vfio_region_info got;

		assert_int_equal(reg_read(fd, COPIES), copies);
		assert_true(rc_call(fd, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL,
				    0, &got, sizeof(got), NULL) >= (ssize_t)sizeof(got));
		assert_int_equal(got.size, 4096);
	}
}

/* A rings its doorbell; the server's DMA_READ (left unanswered) is
 * returned in h and rw. From here the server waits on A's client. */
static int a_starts_waiting(struct vfu_hdr *h, struct vfu_dma_rw *rw)
{
	uint8_t msg[VFU_HDR_SIZE + sizeof(*rw)];
	int fd = connect_dev(0);

	map_fdless(fd);
	reg_write(fd, DOORBELL, GUEST_BASE);
	assert_int_equal(rc_recv(fd, msg, sizeof(msg), NULL, NULL), sizeof(msg));
	memcpy(h, msg, sizeof(*h));
	memcpy(rw, msg + VFU_HDR_SIZE, sizeof(*rw));
	assert_int_equal(h->flags & VFU_F_TYPE_MASK, VFU_F_TYPE_COMMAND);
	assert_int_equal(h->command, VFU_CMD_DMA_READ);
	assert_int_equal(rw->address, GUEST_BASE);
	assert_int_equal(rw->count, 16);
	return fd;
}

/* A's client answers the DMA_READ with 16 bytes of 0xc3, not what guest holds. */
static void a_answers(int fd, struct vfu_hdr h, const struct vfu_dma_rw *rw)
{
	uint8_t msg[VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE + 16];

	h.flags = VFU_F_TYPE_REPLY;
	h.msg_size = sizeof(msg);
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + VFU_HDR_SIZE, rw, sizeof(*rw));
	memset(msg + VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE, 0xc3, 16);
	assert_int_equal(send(fd, msg, sizeof(msg), MSG_NOSIGNAL), sizeof(msg));
}

/* A's copy finished with the answered bytes (its DMA_WRITE is answered
 * by rc_call from guest), and A serves requests again. */
static void a_copy_done(int fd)
{
	assert_int_equal(reg_read(fd, COPIES), 1);
	assert_int_equal(reg_read(fd, COPY_STATUS), 0);
	for (int i = 16; i < 32; i++)
		assert_int_equal(guest[i], 0xc3);
}

static void test_other_device_served_while_one_waits(void **st)
{
	struct vfu_hdr h;
	struct vfu_dma_rw rw;
	int a = a_starts_waiting(&h, &rw);
	int b = connect_dev(1);   /* accepted while A waits */

	b_round_trips(b, 0);
	a_answers(a, h, &rw);
	a_copy_done(a);
	assert_int_equal(rc_dma_requests, 1);   /* A's DMA_WRITE */
	b_round_trips(b, 0);
	close(a);
	close(b);
}

static void test_nested_dma_refused_deferred_postponed(void **st)
{
	struct vfu_hdr h;
	struct vfu_dma_rw rw;
	int a = a_starts_waiting(&h, &rw);
	int b = connect_dev(1);
	struct vfu_region_rw copies_rw = { COPIES, VFIO_PCI_BAR0_REGION_INDEX, 4 };
	struct pollfd b_in = { .fd = b, .events = POLLIN };
	struct vfu_hdr reply;
	uint8_t msg[256];
	uint32_t copies;

	map_fdless(b);
	/* Inside B's access, while A waits: refused, the access still answered. */
	reg_write(b, DIRECT, B_IOVA);
	assert_int_equal(reg_read(b, DIRECT_STATUS), (uint32_t)-EBUSY);
	/* B's deferred work waits for the top level: no DMA to B's client
	 * yet, and B's next message waits behind that work, unread. */
	reg_write(b, DOORBELL, B_IOVA);
	assert_int_equal(rc_send(b, 900, VFU_CMD_REGION_READ,
				 VFU_F_TYPE_COMMAND, &copies_rw, sizeof(copies_rw), NULL, 0), 0);
	assert_int_equal(poll(&b_in, 1, 200), 0);
	assert_int_equal(rc_dma_requests, 0);

	a_answers(a, h, &rw);
	a_copy_done(a);
	/* Then B's postponed copy runs (answering its DMA_READ/WRITE here),
	 * and only then is B's read handled: it sees the copy. */
	for (int i = 0; i < 2; i++) {
		assert_true(rc_recv(b, msg, sizeof(msg), NULL, NULL) > 0);
		rc_answer_dma(b, msg);
	}
	assert_true(rc_recv(b, msg, sizeof(msg), NULL, NULL) > 0);
	memcpy(&reply, msg, sizeof(reply));
	assert_int_equal(reply.msg_id, 900);
	memcpy(&copies, msg + VFU_HDR_SIZE + sizeof(copies_rw), 4);
	assert_int_equal(copies, 1);
	assert_int_equal(reg_read(b, COPY_STATUS), 0);
	assert_memory_equal(guest + 0x110, guest + 0x100, 16);
	assert_int_equal(rc_dma_requests, 3);
	/* With nothing waiting, B's direct DMA is served. */
	reg_write(b, DIRECT, B_IOVA);
	assert_int_equal(reg_read(b, DIRECT_STATUS), 0);
	assert_int_equal(rc_dma_requests, 4);
	close(a);
	close(b);
}

static void test_waiting_client_dies_other_goes_on(void **st)
{
	struct vfu_hdr h;
	struct vfu_dma_rw rw;
	int a = a_starts_waiting(&h, &rw);
	int b = connect_dev(1);

	b_round_trips(b, 0);
	close(a);
	b_round_trips(b, 0);
	/* A's socket takes a new client (a second one would be refused), and
	 * the copy A's old client left failed. */
	a = connect_dev(0);
	assert_int_equal(reg_read(a, COPIES), 1);
	assert_int_equal(reg_read(a, COPY_STATUS), (uint32_t)-ECONNRESET);
	b_round_trips(b, 0);
	assert_int_equal(rc_dma_requests, 0);
	close(a);
	close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_other_device_served_while_one_waits,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_dma_refused_deferred_postponed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiting_client_dies_other_goes_on,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
