// SPDX-License-Identifier: MIT
/*
 * ring-device: a device driven from outside, not by its client's accesses.
 *
 *   ring-device SOCKET [--stdin]
 *
 * Data arrives from a timer (one record per tick) or, with --stdin, from
 * standard input, and the device writes it into a ring in its client's
 * memory by DMA, then raises MSI-X vector 0. The register map is in
 * ring.h; ring-client.c is a driver for it.
 *
 * After each batch and its interrupt the device writes nothing more until
 * the driver writes TAIL. That handshake is what lets it serve QEMU with
 * plain (not shared) guest RAM: there every record is a DMA_WRITE message
 * that QEMU answers from its main loop, which a vCPU waiting for the reply
 * to a register access holds; a device that wrote while the driver reads
 * its registers would wait for QEMU while QEMU waits for it. With the
 * handshake the driver touches registers only while the device is quiet.
 *
 * What it shows, in the order a new device needs it:
 *   - registers in BAR0 and the MSI-X table in BAR2;
 *   - event sources (a timer, a watched fd) whose handlers queue deferred
 *     work, because DMA to memory the client mapped without an fd is a
 *     message the client answers only after it got the reply it waits for;
 *   - vfk_dma_write into the ring and vfk_irq_trigger after it;
 *   - a DMA listener that stops the device when its ring is unmapped, so
 *     it never writes to memory its client gave back;
 *   - reset, and serving on a socket until SIGINT/SIGTERM.
 *
 * Build against an installed libvfiokit:
 *   cc -Wall -Wextra -o ring-device ring-device.c $(pkg-config --cflags --libs libvfiokit)
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/vfiokit.h>

#include "ring.h"

#define RING_CLASS 0x088000u   /* base system peripheral, other */

struct ring_dev {
	/* sources: made once, kept across resets */
	struct vfk_timer *timer;
	struct vfk_watch *watch;       /* --stdin only */
	int input_fd;                  /* -1 in timer mode */
	bool input_eof;

	/* registers */
	uint64_t addr;
	uint32_t entries, status, head, tail, dropped, error, period_us;

	/* work between a source and the deferred writer */
	uint64_t ticks_due;            /* timer ticks not turned into records yet */
	struct ring_record pending;    /* input read but not written yet */
	bool have_pending;
	bool work_queued;
	bool wait_ack;                 /* interrupt raised, TAIL not written since */
};

/* ---- the ring ----------------------------------------------------------- */

/* Free slots. HEAD and TAIL run freely and wrap at 2^32, so their
 * difference is the fill level; a TAIL the driver set past HEAD means a
 * confused driver, and the ring counts as full rather than overwritten. */
static uint32_t ring_free(const struct ring_dev *s)
{
	uint32_t used = s->head - s->tail;

	return used >= s->entries ? 0 : s->entries - used;
}

/* Pause or resume reading the input: one record is read at a time, and
 * only while the ring has room, so a full ring pushes back on the writer
 * instead of losing its data. */
static void input_want(struct ring_dev *s, bool want)
{
	if (s->watch)
		vfk_watch_set_events(s->watch, want ? VFK_EVENT_READ : 0);
}

static void ring_stop(struct ring_dev *s, uint32_t err)
{
	s->status &= ~RING_STATUS_RUNNING;
	if (err) {
		s->status |= RING_STATUS_ERROR;
		s->error = err;
	}
	vfk_timer_arm(s->timer, 0, 0);   /* delay 0 disarms */
	input_want(s, false);
	s->ticks_due = 0;
}

static int ring_put(struct vfk_device *dev, struct ring_dev *s, struct ring_record *rec)
{
	uint64_t slot = s->addr + (uint64_t)(s->head % s->entries) * sizeof(*rec);
	int r;

	rec->seq = s->head;
	/* A copy, not a pointer kept into the client's memory: it fails with
	 * -EFAULT if the client unmapped or shrank the memory, never faults. */
	r = vfk_dma_write(dev, slot, rec, sizeof(*rec));
	if (r) {
		vfk_warn("ring-device: DMA to %#llx: %s: stopped", (unsigned long long)slot,
			 strerror(-r));
		ring_stop(s, (uint32_t)-r);
		return r;
	}
	s->head++;
	return 0;
}

/*
 * The deferred writer: runs after the replies of the current batch went
 * out, so DMA by message (memory mapped without an fd) finds a client
 * that is ready to answer.
 */
/* Turn pending input and due ticks into records while there is room;
 * returns how many were written. Stops at the first DMA error. */
static unsigned int ring_fill(struct vfk_device *dev, struct ring_dev *s)
{
	unsigned int written = 0;

	if (s->have_pending && ring_free(s)) {
		if (ring_put(dev, s, &s->pending))
			return written;
		s->have_pending = false;
		written++;
		input_want(s, !s->input_eof);
	}
	for (; s->ticks_due && ring_free(s); s->ticks_due--, written++) {
		struct ring_record rec = { .len = RING_DATA_MAX };

		for (uint32_t i = 0; i < RING_DATA_MAX; i++)
			rec.data[i] = ring_tick_byte(s->head, i);
		if (ring_put(dev, s, &rec))
			return written;
	}
	/* A clock does not wait for its reader: ticks that found the ring
	 * full are lost, and counted so the driver can tell. */
	s->dropped += (uint32_t)s->ticks_due;
	s->ticks_due = 0;
	return written;
}

/*
 * The deferred writer: runs after the replies of the current batch went
 * out, so DMA by message (memory mapped without an fd) finds a client
 * that is ready to answer.
 */
static void ring_work(struct vfk_device *dev, void *arg)
{
	struct ring_dev *s = arg;
	int r;

	s->work_queued = false;
	if (!(s->status & RING_STATUS_RUNNING) || s->wait_ack)
		return;
	/* One interrupt per batch, after its records are in memory, and one
	 * when the device stopped on an error, so the driver looks. */
	if (!ring_fill(dev, s) && !(s->status & RING_STATUS_ERROR))
		return;
	s->wait_ack = true;
	r = vfk_irq_trigger(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0);
	/* -ENOENT: the driver polls and set no eventfd; nothing is wrong. */
	if (r && r != -ENOENT)
		vfk_warn("ring-device: MSI-X: %s", strerror(-r));
}

static void ring_kick(struct vfk_device *dev, struct ring_dev *s)
{
	int r;

	if (s->work_queued)
		return;
	r = vfk_device_defer(dev, ring_work, s);
	if (r)   /* queue full: the next tick, input or TAIL write tries again */
		vfk_warn("ring-device: defer: %s", strerror(-r));
	else
		s->work_queued = true;
}

/* ---- event sources ------------------------------------------------------ */

static void on_tick(struct vfk_device *dev, uint64_t expirations, void *arg)
{
	struct ring_dev *s = arg;

	s->ticks_due += expirations;
	ring_kick(dev, s);
}

static void on_input(struct vfk_device *dev, int fd, uint32_t events, void *arg)
{
	struct ring_dev *s = arg;
	ssize_t n;

	if (s->have_pending) {   /* level-triggered: wait until it is written */
		input_want(s, false);
		return;
	}
	n = read(fd, s->pending.data, sizeof(s->pending.data));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* End of input (or an error, which ends it too): stop watching,
		 * else a level-triggered watch at EOF fires for ever. */
		vfk_info("ring-device: input ended (%s)", n ? strerror(errno) : "EOF");
		vfk_watch_remove(s->watch);
		s->watch = NULL;
		s->input_eof = true;
		return;
	}
	s->pending.len = (uint32_t)n;
	s->have_pending = true;
	input_want(s, false);
	ring_kick(dev, s);
}

/* ---- registers ---------------------------------------------------------- */

static uint32_t ring_status(const struct ring_dev *s)
{
	uint32_t st = s->status;

	/* Everything the input will ever give is in the ring: a driver that
	 * sees this bit and HEAD == TAIL has read it all. */
	if (s->input_fd >= 0 && s->input_eof && !s->have_pending)
		st |= RING_STATUS_INPUT_DONE;
	return st;
}

static uint32_t reg_read(const struct ring_dev *s, uint64_t off)
{
	switch (off) {
	case RING_REG_ID:        return RING_ID;
	case RING_REG_STATUS:    return ring_status(s);
	case RING_REG_ADDR_LO:   return (uint32_t)s->addr;
	case RING_REG_ADDR_HI:   return (uint32_t)(s->addr >> 32);
	case RING_REG_ENTRIES:   return s->entries;
	case RING_REG_CTRL:      return s->status & RING_STATUS_RUNNING ? RING_CTRL_START : 0;
	case RING_REG_HEAD:      return s->head;
	case RING_REG_TAIL:      return s->tail;
	case RING_REG_DROPPED:   return s->dropped;
	case RING_REG_ERROR:     return s->error;
	case RING_REG_PERIOD_US: return s->period_us;
	default:                 return 0;
	}
}

static void ring_start(struct vfk_device *dev, struct ring_dev *s)
{
	if (s->status & RING_STATUS_RUNNING)
		return;
	/* Checked once here, so the writer can trust them while running. */
	if (!s->entries || s->entries > RING_MAX_ENTRIES ||
	    s->addr % sizeof(struct ring_record) || !s->period_us) {
		ring_stop(s, EINVAL);
		return;
	}
	/* A start begins a new ring: the driver's view and ours agree again. */
	s->status = RING_STATUS_RUNNING;
	s->error = 0;
	s->head = s->tail = s->dropped = 0;
	s->ticks_due = 0;
	s->wait_ack = false;
	if (s->input_fd < 0)
		vfk_timer_arm(s->timer, (uint64_t)s->period_us * 1000,
			      (uint64_t)s->period_us * 1000);
	else if (s->have_pending)
		ring_kick(dev, s);
	else
		input_want(s, !s->input_eof);
}

static void reg_write(struct vfk_device *dev, struct ring_dev *s, uint64_t off, uint32_t v)
{
	bool running = s->status & RING_STATUS_RUNNING;

	switch (off) {
	/* The ring's place and size are latched while running, as a DMA
	 * engine's would be: changing them under the writer makes no sense. */
	case RING_REG_ADDR_LO:
		if (!running)
			s->addr = (s->addr & ~0xffffffffull) | v;
		break;
	case RING_REG_ADDR_HI:
		if (!running)
			s->addr = (s->addr & 0xffffffffull) | (uint64_t)v << 32;
		break;
	case RING_REG_ENTRIES:
		if (!running)
			s->entries = v;
		break;
	case RING_REG_PERIOD_US:
		if (!running)
			s->period_us = v;
		break;
	case RING_REG_CTRL:
		if (v & RING_CTRL_START)
			ring_start(dev, s);
		else
			ring_stop(s, 0);
		break;
	case RING_REG_TAIL:
		/* The acknowledgement: room again, and the driver is done
		 * reading registers for this batch. What waited goes in now
		 * (from deferred work: after this write's reply). */
		s->tail = v;
		s->wait_ack = false;
		if (running && (s->have_pending || s->ticks_due))
			ring_kick(dev, s);
		break;
	default:
		break;   /* read-only registers ignore writes */
	}
}

static ssize_t bar0_read(struct vfk_device *dev, struct vfk_region *r, void *buf,
			 size_t count, uint64_t off)
{
	uint32_t v;

	if (count != 4 || off % 4)
		return -EINVAL;
	v = reg_read(vfk_device_priv(dev), off);
	memcpy(buf, &v, 4);
	return 4;
}

static ssize_t bar0_write(struct vfk_device *dev, struct vfk_region *r, const void *buf,
			  size_t count, uint64_t off)
{
	uint32_t v;

	if (count != 4 || off % 4)
		return -EINVAL;
	memcpy(&v, buf, 4);
	reg_write(dev, vfk_device_priv(dev), off, v);
	return 4;
}

/* The MSI-X table and PBA live in BAR2 for the client to emulate (QEMU
 * and the kernel's vfio-pci do): the device only has to accept accesses. */
static ssize_t bar2_read(struct vfk_device *dev, struct vfk_region *r, void *buf,
			 size_t count, uint64_t off)
{
	memset(buf, 0, count);
	return (ssize_t)count;
}

static ssize_t bar2_write(struct vfk_device *dev, struct vfk_region *r, const void *buf,
			  size_t count, uint64_t off)
{
	return (ssize_t)count;
}

static const struct vfk_region_ops bar0_ops = { .read = bar0_read, .write = bar0_write };
static const struct vfk_region_ops bar2_ops = { .read = bar2_read, .write = bar2_write };

/* ---- DMA listener ------------------------------------------------------- */

/*
 * A mapping is about to go. If the ring lies in it, stop: the next tick
 * would write memory the client gave back. Nothing is in flight (DMA is
 * done synchronously from deferred work), so there is never a reason to
 * answer -EBUSY and hold the unmap.
 */
static int on_unmap(struct vfk_device *dev, const struct vfk_dma_region *m, bool may_wait,
		    void *arg)
{
	struct ring_dev *s = arg;
	uint64_t end = s->addr + (uint64_t)s->entries * sizeof(struct ring_record);

	if ((s->status & RING_STATUS_RUNNING) && s->addr < m->iova + m->len && m->iova < end) {
		vfk_info("ring-device: ring unmapped while running: stopped");
		ring_stop(s, EFAULT);
	}
	return 0;
}

/* ---- life cycle --------------------------------------------------------- */

/* Registers to power-on values; the sources stay, stopped. The library
 * already dropped queued deferred work. Input read but not delivered
 * stays pending: it came from outside and is not the client's to lose. */
static int ring_reset(struct vfk_device *dev)
{
	struct ring_dev *s = vfk_device_priv(dev);

	ring_stop(s, 0);
	s->addr = 0;
	s->entries = s->status = s->head = s->tail = s->dropped = s->error = 0;
	s->period_us = RING_DEFAULT_PERIOD_US;
	s->work_queued = false;
	s->wait_ack = false;
	return 0;
}

static void ring_destroy(struct vfk_device *dev)
{
	struct ring_dev *s = vfk_device_priv(dev);

	vfk_timer_remove(s->timer);
	vfk_watch_remove(s->watch);
}

static const struct vfk_device_ops ring_ops = { .reset = ring_reset, .destroy = ring_destroy };

static int ring_create(struct ring_dev *s, int input_fd, struct vfk_device **out)
{
	const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	const struct vfk_device_desc desc = {
		.name = "ring-device",
		.vendor_id = RING_VENDOR, .device_id = RING_DEVICE,
		.subsys_vendor_id = RING_VENDOR, .subsys_id = RING_DEVICE,
		.class_code = RING_CLASS,
		.ops = &ring_ops,
		.priv = s,
	};
	const struct vfk_region_desc bar0 = { rw, RING_BAR_SIZE, &bar0_ops, NULL };
	const struct vfk_region_desc bar2 = { rw, RING_BAR_SIZE, &bar2_ops, NULL };
	const struct vfk_dma_listener listener = { .unmap = on_unmap, .arg = s };
	struct vfk_device *dev;
	int ret = vfk_device_create(&desc, &dev);

	if (ret)
		return ret;
	s->input_fd = input_fd;
	s->period_us = RING_DEFAULT_PERIOD_US;
	ret = vfk_device_set_bar(dev, 0, &bar0, 0);
	if (!ret)
		ret = vfk_device_set_bar(dev, 2, &bar2, 0);
	/* One MSI-X vector, table at BAR2 offset 0, PBA behind it. The BARs
	 * come first: the capability points into them. */
	if (!ret)
		ret = vfk_pci_add_msix_cap(dev, 1, 2, 0, 2, RING_MSIX_PBA);
	if (!ret)
		ret = vfk_timer_add(dev, on_tick, s, &s->timer);
	/* Added with no events: nothing is read before the driver starts us. */
	if (!ret && input_fd >= 0)
		ret = vfk_watch_add(dev, input_fd, 0, on_input, s, &s->watch);
	if (ret) {
		vfk_device_destroy(dev);
		return ret;
	}
	vfk_dma_set_listener(dev, &listener);
	*out = dev;
	return 0;
}

/* ---- serving ------------------------------------------------------------ */

static struct vfk_server *g_srv;

static void on_signal(int sig)
{
	(void)sig;
	vfk_server_stop(g_srv);   /* async-signal-safe */
}

int main(int argc, char **argv)
{
	static struct ring_dev state;
	struct sigaction sa = { .sa_handler = on_signal };
	struct vfk_device *dev = NULL;
	int input_fd = -1, ret;

	if (argc == 3 && !strcmp(argv[2], "--stdin"))
		input_fd = STDIN_FILENO;
	else if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET [--stdin]\n", argv[0]);
		return 2;
	}
	ret = ring_create(&state, input_fd, &dev);
	if (!ret)
		ret = vfk_server_create(&g_srv);
	if (!ret)
		ret = vfk_server_add_device(g_srv, dev, argv[1]);
	if (!ret) {
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		/* A reader that closes early must not kill us with SIGPIPE. */
		signal(SIGPIPE, SIG_IGN);
		printf("ring-device: serving on %s, data from %s\n", argv[1],
		       input_fd < 0 ? "a timer" : "stdin");
		fflush(stdout);
		ret = vfk_server_run(g_srv);
	}
	if (ret)
		fprintf(stderr, "ring-device: %s\n", strerror(-ret));
	vfk_server_destroy(g_srv);
	vfk_device_destroy(dev);
	return ret ? 1 : 0;
}
