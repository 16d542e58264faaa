/* SPDX-License-Identifier: MIT */
/*
 * A device driven from outside, through the server: bytes arriving on a
 * pipe it watches are written into client memory by DMA (fd-less and
 * fd-backed), a timer ticks, and DMA notifications tell it of every map
 * and unmap, with a quiesce step that holds the client's DMA_UNMAP until
 * the device is done. The server runs in a thread driven the way an
 * application with its own loop would: poll(vfk_server_fd()) and
 * vfk_server_dispatch().
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <cmocka.h>

#include <vfiokit/vfiokit.h>
#include "doorbell.h"
#include "raw_client.h"
#include "vfio-user/wire.h"

#define PAGE        4096u
#define GUEST_BASE  0x200000u
/* BAR0 of the test device. */
#define REG_RING    0x00     /* write 8: IOVA where arriving bytes go */
#define REG_TIMER   0x08     /* write 4: tick period in us, 0 stops */
#define REG_TICKS   0x0c     /* read 4: timer expirations */
#define REG_BUSY    0x10     /* write 4: 1 quiesce 20 ms on unmap, 2 never */
#define REG_MAPS    0x14     /* read 4: map notifications */
#define REG_WAITS   0x18     /* read 4: unmap notifications that could wait */
#define REG_GONE    0x1c     /* read 4: unmap notifications that could not */
#define REG_COPIED  0x20     /* read 4: bytes written by DMA */

static struct {
	struct vfk_device *dev;
	struct vfk_watch *watch;
	struct vfk_timer *ticker, *quiesce;
	int pipe[2];
	uint64_t ring;
	uint8_t pending[64];
	size_t npending;
	uint32_t ticks, busy, maps, waits, gone, copied;
	bool holding;
} d;

static struct {
	char dir[64], path[96];
	struct vfk_server *srv;
	pthread_t thread;
	volatile bool stop;
} fx;

static void write_ring(struct vfk_device *dev, void *arg)
{
	if (vfk_dma_write(dev, d.ring, d.pending, d.npending) == 0)
		d.copied += (uint32_t)d.npending;
	d.npending = 0;
}

static void on_pipe(struct vfk_device *dev, int fd, uint32_t events, void *arg)
{
	ssize_t n = read(fd, d.pending + d.npending, sizeof(d.pending) - d.npending);

	if (n > 0) {
		d.npending += (size_t)n;
		vfk_device_defer(dev, write_ring, NULL);
	}
}

static void on_tick(struct vfk_device *dev, uint64_t expirations, void *arg)
{
	d.ticks += (uint32_t)expirations;
}

static void on_quiesced(struct vfk_device *dev, uint64_t expirations, void *arg)
{
	d.holding = false;
	vfk_dma_quiesced(dev);
}

static void on_map(struct vfk_device *dev, const struct vfk_dma_region *r, void *arg)
{
	d.maps++;
}

static int on_unmap(struct vfk_device *dev, const struct vfk_dma_region *r, bool may_wait,
		    void *arg)
{
	if (!may_wait) {
		d.gone++;
		return 0;
	}
	d.waits++;
	if (!d.busy || d.holding)
		return d.holding ? -EBUSY : 0;
	d.holding = true;
	if (d.busy == 1)
		vfk_timer_arm(d.quiesce, 20 * 1000000ull, 0);
	return -EBUSY;
}

static ssize_t bar_read(struct vfk_device *dev, struct vfk_region *r, void *buf,
			size_t count, uint64_t off)
{
	const uint32_t *regs[] = { [REG_TICKS / 4] = &d.ticks, [REG_MAPS / 4] = &d.maps,
				   [REG_WAITS / 4] = &d.waits, [REG_GONE / 4] = &d.gone,
				   [REG_COPIED / 4] = &d.copied };

	if (count != 4 || off % 4 || off / 4 >= sizeof(regs) / sizeof(regs[0]) || !regs[off / 4])
		return -EINVAL;
	memcpy(buf, regs[off / 4], 4);
	return 4;
}

static ssize_t bar_write(struct vfk_device *dev, struct vfk_region *r, const void *buf,
			 size_t count, uint64_t off)
{
	uint32_t v = 0;

	if (off == REG_RING && count == 8) {
		memcpy(&d.ring, buf, 8);
		return 8;
	}
	if (count != 4)
		return -EINVAL;
	memcpy(&v, buf, 4);
	if (off == REG_TIMER)
		return vfk_timer_arm(d.ticker, v * 1000ull, v * 1000ull) ?: 4;
	if (off == REG_BUSY) {
		d.busy = v;
		return 4;
	}
	return -EINVAL;
}

static const struct vfk_region_ops bar_ops = { .read = bar_read, .write = bar_write };

/* The application's loop: wait on the server's fd, then dispatch. */
static void *serve(void *arg)
{
	while (!fx.stop) {
		struct pollfd p = { .fd = vfk_server_fd(fx.srv), .events = POLLIN };
		int timeout = vfk_server_timeout_ms(fx.srv);

		poll(&p, 1, timeout < 0 || timeout > 20 ? 20 : timeout);
		assert_int_equal(vfk_server_dispatch(fx.srv), 0);
	}
	return NULL;
}

static int setup(void **state)
{
	struct vfk_device_desc desc = { .name = "events", .vendor_id = 0x1af4,
					.device_id = 0x10f9, .class_code = 0xff0000 };
	struct vfk_region_desc bar = { VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
				       4096, &bar_ops, NULL };
	struct vfk_dma_listener l = { .map = on_map, .unmap = on_unmap };

	signal(SIGPIPE, SIG_IGN);
	memset(&d, 0, sizeof(d));
	fx.stop = false;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/vfk-events-XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof(fx.path), "%s/dev.sock", fx.dir);
	assert_int_equal(pipe(d.pipe), 0);
	assert_int_equal(vfk_device_create(&desc, &d.dev), 0);
	assert_int_equal(vfk_device_set_bar(d.dev, 0, &bar, 0), 0);
	assert_int_equal(vfk_watch_add(d.dev, d.pipe[0], VFK_EVENT_READ, on_pipe, NULL,
				       &d.watch), 0);
	assert_int_equal(vfk_timer_add(d.dev, on_tick, NULL, &d.ticker), 0);
	assert_int_equal(vfk_timer_add(d.dev, on_quiesced, NULL, &d.quiesce), 0);
	vfk_dma_set_listener(d.dev, &l);
	assert_int_equal(vfk_server_create(&fx.srv), 0);
	assert_int_equal(vfk_server_add_device(fx.srv, d.dev, fx.path), 0);
	assert_int_equal(pthread_create(&fx.thread, NULL, serve, NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	fx.stop = true;
	pthread_join(fx.thread, NULL);
	vfk_server_destroy(fx.srv);
	vfk_device_destroy(d.dev);   /* frees the watch and timers */
	close(d.pipe[0]);
	close(d.pipe[1]);
	rmdir(fx.dir);
	return 0;
}

static int client(void)
{
	struct timeval tv = { .tv_sec = 10 };
	int fd = rc_connect(fx.path);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(rc_negotiate(fd), 0);
	return fd;
}

static void reg_write(int fd, uint64_t off, uint64_t v, uint32_t count)
{
	uint8_t msg[sizeof(struct vfu_region_rw) + 8];
	struct vfu_region_rw rw = { off, VFIO_PCI_BAR0_REGION_INDEX, count };

	memcpy(msg, &rw, sizeof(rw));
	memcpy(msg + sizeof(rw), &v, count);
	assert_true(rc_call(fd, VFU_CMD_REGION_WRITE, msg, sizeof(rw) + count, NULL, 0, NULL, 0,
			    NULL) >= 0);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Bytes on the pipe reach fd-less client memory: the server sends a
 * DMA_WRITE of its own accord, which the client answers. */
static void test_fd_source_fdless_dma(void **state)
{
	static uint8_t guest[PAGE];
	uint8_t msg[256];
	int fd = client();

	rc_dma_mem = guest;
	rc_dma_base = GUEST_BASE;
	rc_dma_len = sizeof(guest);
	assert_int_equal(db_dma_map(fd, GUEST_BASE, sizeof(guest), -1, 0), 0);
	reg_write(fd, REG_RING, GUEST_BASE + 64, 8);
	assert_int_equal(write(d.pipe[1], "hello", 5), 5);
	assert_true(rc_recv(fd, msg, sizeof(msg), NULL, NULL) > 0);
	rc_answer_dma(fd, msg);
	assert_memory_equal(guest + 64, "hello", 5);
	assert_int_equal(db_read(fd, REG_COPIED), 5);
	close(fd);
}

/* The same into fd-backed memory: no message, a copy. */
static void test_fd_source_fd_backed_dma(void **state)
{
	int fd = client(), mem = db_sparse_memfd("vfk-events", 4 * PAGE);
	char got[6] = { 0 };

	assert_int_equal(db_dma_map(fd, GUEST_BASE, 4 * PAGE, mem, 0), 0);
	reg_write(fd, REG_RING, GUEST_BASE + 128, 8);
	assert_int_equal(write(d.pipe[1], "world", 5), 5);
	for (int i = 0; i < 500 && db_read(fd, REG_COPIED) < 5; i++)
		usleep(2000);
	assert_int_equal(pread(mem, got, 5, 128), 5);
	assert_string_equal(got, "world");
	close(fd);
	close(mem);
}

static void test_timer_ticks(void **state)
{
	int fd = client();
	uint32_t ticks;

	reg_write(fd, REG_TIMER, 1000, 4);   /* every 1 ms */
	usleep(60000);
	reg_write(fd, REG_TIMER, 0, 4);
	ticks = db_read(fd, REG_TICKS);
	assert_true(ticks >= 10);
	usleep(20000);
	assert_int_equal(db_read(fd, REG_TICKS), ticks);
	close(fd);
}

/*
 * The model asks for time on unmap: the DMA_UNMAP reply waits for its
 * quiesce (a 20 ms timer), and the read pipelined behind it is answered
 * after it, in order; the mapping is announced again, unable to wait.
 */
static void test_unmap_waits_for_quiesce(void **state)
{
	int fd = client(), mem = db_sparse_memfd("vfk-events", 4 * PAGE);
	struct vfu_dma_unmap u = { sizeof(u), 0, GUEST_BASE, 4 * PAGE };
	struct vfu_region_rw rw = { REG_WAITS, VFIO_PCI_BAR0_REGION_INDEX, 4 };
	uint8_t msg[256];
	struct vfu_hdr h;
	uint32_t waits;
	double t0;

	assert_int_equal(db_dma_map(fd, GUEST_BASE, 4 * PAGE, mem, 0), 0);
	assert_int_equal(db_read(fd, REG_MAPS), 1);
	reg_write(fd, REG_BUSY, 1, 4);
	t0 = now_ms();
	assert_int_equal(rc_send(fd, 500, VFU_CMD_DMA_UNMAP, VFU_F_TYPE_COMMAND, &u, sizeof(u),
				 NULL, 0), 0);
	assert_int_equal(rc_send(fd, 501, VFU_CMD_REGION_READ, VFU_F_TYPE_COMMAND, &rw, sizeof(rw),
				 NULL, 0), 0);
	assert_true(rc_recv(fd, msg, sizeof(msg), NULL, NULL) > 0);
	memcpy(&h, msg, sizeof(h));
	assert_int_equal(h.msg_id, 500);
	assert_int_equal(h.flags & VFU_F_ERROR, 0);
	assert_true(now_ms() - t0 >= 19);
	assert_true(rc_recv(fd, msg, sizeof(msg), NULL, NULL) > 0);
	memcpy(&h, msg, sizeof(h));
	assert_int_equal(h.msg_id, 501);
	memcpy(&waits, msg + VFU_HDR_SIZE + sizeof(rw), 4);
	assert_int_equal(waits, 1);
	assert_int_equal(db_read(fd, REG_GONE), 1);   /* the final announcement */
	close(fd);
	close(mem);
}

/* A model that never quiesces: its client is dropped (after 5 s), and
 * the mapping is announced as going. */
static void test_unmap_quiesce_deadline(void **state)
{
	int fd = client(), mem = db_sparse_memfd("vfk-events", 4 * PAGE);
	struct vfu_dma_unmap u = { sizeof(u), 0, GUEST_BASE, 4 * PAGE };
	uint8_t msg[256];
	double t0;

	assert_int_equal(db_dma_map(fd, GUEST_BASE, 4 * PAGE, mem, 0), 0);
	reg_write(fd, REG_BUSY, 2, 4);
	t0 = now_ms();
	assert_int_equal(rc_send(fd, 600, VFU_CMD_DMA_UNMAP, VFU_F_TYPE_COMMAND, &u, sizeof(u),
				 NULL, 0), 0);
	assert_true(rc_recv(fd, msg, sizeof(msg), NULL, NULL) <= 0);   /* dropped, no reply */
	assert_true(now_ms() - t0 >= 4900);
	close(fd);
	close(mem);
	fd = client();
	assert_int_equal(db_read(fd, REG_GONE), 1);
	close(fd);
}

/* Unmap-all and a client that goes: every mapping announced first. */
static void test_unmap_all_and_client_gone(void **state)
{
	int fd = client(), mem = db_sparse_memfd("vfk-events", 4 * PAGE);
	struct vfu_dma_unmap all = { sizeof(all), VFU_DMA_UNMAP_FLAG_ALL, 0, 0 };

	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(db_dma_map(fd, GUEST_BASE + i * PAGE, PAGE, mem, i * PAGE), 0);
	assert_true(rc_call(fd, VFU_CMD_DMA_UNMAP, &all, sizeof(all), NULL, 0, NULL, 0, NULL) >= 0);
	assert_int_equal(db_read(fd, REG_WAITS), 3);
	for (unsigned int i = 0; i < 2; i++)
		assert_int_equal(db_dma_map(fd, GUEST_BASE + i * PAGE, PAGE, -1, 0), 0);
	assert_int_equal(db_read(fd, REG_MAPS), 5);
	close(fd);
	fd = client();
	assert_int_equal(db_read(fd, REG_GONE), 2);
	close(fd);
	close(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fd_source_fdless_dma, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_source_fd_backed_dma, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_ticks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_waits_for_quiesce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_quiesce_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_all_and_client_gone, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
