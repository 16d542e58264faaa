// SPDX-License-Identifier: MIT
/*
 * ring-client: a userspace driver for ring-device (register map: ring.h),
 * written against libvfiokit's client API, so the same program drives the
 * device over its vfio-user socket or, in a VM, bound to the kernel's
 * vfio-pci (TARGET is then a PCI address such as 0000:00:04.0).
 *
 *   ring-client TARGET [--records N] [--period-us N] [--no-fd] [--dump] [--unmap-running]
 *
 * It does what any VFIO driver does for a DMA device: turn on bus
 * mastering, give the device memory (a DMA mapping at an IOVA of our
 * choosing), wire MSI-X vector 0 to an eventfd, program the ring and start
 * the device. Then it consumes records as interrupts come in:
 *   - timer mode (default): N records, each checked against the pattern
 *     ring.h defines; prints "ring-client: N records ok, ...";
 *   - --dump (the device reads stdin): every record's data to stdout until
 *     the device reports its input done and the ring is empty.
 * --no-fd maps anonymous memory without an fd (vfio-user only; the kernel
 * ignores fds): the device then reaches it with DMA_WRITE messages, which
 * this client answers while it waits for its own replies, so it polls a
 * register between waits rather than sleeping on the eventfd alone.
 * --unmap-running last unmaps the ring while the device runs and checks
 * that the device stopped with an error rather than writing on.
 * Exit status 0 when every check passed.
 *
 * Build against an installed libvfiokit:
 *   cc -Wall -Wextra -o ring-client ring-client.c $(pkg-config --cflags --libs libvfiokit)
 */
#define _GNU_SOURCE   /* memfd_create */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>

#include <vfiokit/vfiokit.h>

#include "ring.h"

#define RING_IOVA     0x10000000ull  /* any IOVA; the device only sees this one */
#define RING_ENTRIES  16u            /* small, so a run wraps around it often */
#define POLL_MS       10
#define TIMEOUT_MS    10000

struct drv {
	struct vfk_client *c;
	bool poll_regs;                 /* --no-fd: we must answer the device's DMA */
	struct ring_record *ring;
	size_t map_len;
	int memfd, efd;
	uint32_t tail;
	unsigned int irqs;
};

static int reg_read(struct drv *d, uint32_t reg, uint32_t *v)
{
	ssize_t n = vfk_client_region_read(d->c, VFIO_PCI_BAR0_REGION_INDEX, reg, v, 4);

	return n == 4 ? 0 : n < 0 ? (int)n : -EIO;
}

static int reg_write(struct drv *d, uint32_t reg, uint32_t v)
{
	ssize_t n = vfk_client_region_write(d->c, VFIO_PCI_BAR0_REGION_INDEX, reg, &v, 4);

	return n == 4 ? 0 : n < 0 ? (int)n : -EIO;
}

/* Memory decoding and bus mastering on: without bus mastering a platform
 * (QEMU's included) drops the device's DMA and its MSI-X writes. */
static int enable_bus_master(struct drv *d)
{
	uint16_t cmd;
	ssize_t n = vfk_client_config_read(d->c, PCI_COMMAND, &cmd, sizeof(cmd));

	if (n != sizeof(cmd))
		return n < 0 ? (int)n : -EIO;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	n = vfk_client_region_write(d->c, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, &cmd,
				    sizeof(cmd));
	return n == sizeof(cmd) ? 0 : n < 0 ? (int)n : -EIO;
}

/* The ring's memory: a memfd the server can map (no copies, no messages),
 * or anonymous memory it reaches through us. Whole pages: DMA mappings are. */
static int ring_alloc(struct drv *d, bool no_fd)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	d->map_len = (RING_ENTRIES * sizeof(struct ring_record) + page - 1) & ~(page - 1);
	d->memfd = -1;
	if (!no_fd) {
		d->memfd = memfd_create("ring-client", MFD_CLOEXEC);
		if (d->memfd < 0 || ftruncate(d->memfd, (off_t)d->map_len))
			return -errno;
	}
	d->ring = mmap(NULL, d->map_len, PROT_READ | PROT_WRITE,
		       no_fd ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED, d->memfd, 0);
	if (d->ring == MAP_FAILED) {
		d->ring = NULL;
		return -errno;
	}
	return vfk_client_dma_map(d->c, RING_IOVA, d->map_len, d->ring, d->memfd, 0);
}

/* Program the ring and start; the interrupt first, so none is missed. */
static int ring_start(struct drv *d, uint32_t period_us)
{
	int r = vfk_client_set_irq_eventfds(d->c, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &d->efd);

	r = r ? r : reg_write(d, RING_REG_ADDR_LO, (uint32_t)RING_IOVA);
	r = r ? r : reg_write(d, RING_REG_ADDR_HI, (uint32_t)(RING_IOVA >> 32));
	r = r ? r : reg_write(d, RING_REG_ENTRIES, RING_ENTRIES);
	r = r ? r : reg_write(d, RING_REG_PERIOD_US, period_us);
	return r ? r : reg_write(d, RING_REG_CTRL, RING_CTRL_START);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * Wait for the interrupt; the caller then reads HEAD. Without an fd for
 * the ring (--no-fd) a vfio-user client answers the device's DMA_WRITE
 * messages only while it waits for a reply of its own, so it wakes every
 * POLL_MS to read a register. Otherwise it only sleeps on the eventfd, as
 * a driver should: it reads registers only after an interrupt, while the
 * device waits for TAIL and does no DMA (see ring.h).
 */
static int wait_irq(struct drv *d, long deadline)
{
	struct pollfd p = { .fd = d->efd, .events = POLLIN };
	uint32_t status;
	uint64_t n;
	long left = deadline - now_ms();
	int r = poll(&p, 1, d->poll_regs ? POLL_MS : left > 0 ? (int)left : 0);

	if (r < 0)
		return -errno;
	if (r > 0 && read(d->efd, &n, sizeof(n)) == sizeof(n)) {
		d->irqs++;
		return 0;
	}
	if (!d->poll_regs)
		return -ETIMEDOUT;
	return reg_read(d, RING_REG_STATUS, &status);
}

/* Check one timer-mode record; prints what is wrong. */
static bool record_ok(const struct ring_record *rec, uint32_t seq)
{
	if (rec->seq != seq || rec->len != RING_DATA_MAX) {
		printf("ring-client: record %u: seq %u len %u\n", seq, rec->seq, rec->len);
		return false;
	}
	for (uint32_t i = 0; i < RING_DATA_MAX; i++) {
		if (rec->data[i] != ring_tick_byte(seq, i)) {
			printf("ring-client: record %u: byte %u is %#x, expected %#x\n", seq, i,
			       rec->data[i], ring_tick_byte(seq, i));
			return false;
		}
	}
	return true;
}

/*
 * Consume records: until `want` were read (timer mode) or, with dump,
 * until the input is done and the ring empty. Returns 0 or -errno
 * (-EIO for a bad record or a device error, -ETIMEDOUT).
 */
static int consume(struct drv *d, uint32_t want, bool dump)
{
	long deadline = now_ms() + TIMEOUT_MS;
	uint32_t head, status;
	int r;

	while (now_ms() < deadline) {
		uint32_t consumed = d->tail;

		r = wait_irq(d, deadline);
		r = r ? r : reg_read(d, RING_REG_STATUS, &status);
		r = r ? r : reg_read(d, RING_REG_HEAD, &head);
		if (r)
			return r;
		if (status & RING_STATUS_ERROR) {
			uint32_t err = 0;

			reg_read(d, RING_REG_ERROR, &err);
			printf("ring-client: device stopped: %s\n", strerror((int)err));
			return -EIO;
		}
		for (; d->tail != head && (dump || d->tail != want); d->tail++) {
			/* volatile-free is fine: the DMA is complete before HEAD
			 * moved, and the register read above ordered us after it. */
			const struct ring_record *rec = &d->ring[d->tail % RING_ENTRIES];

			if (dump)
				fwrite(rec->data, 1, rec->len < RING_DATA_MAX ? rec->len : RING_DATA_MAX,
				       stdout);
			else if (!record_ok(rec, d->tail))
				return -EIO;
		}
		/* Done: stop here, without the TAIL write that would let the
		 * device write (and DMA) again while we go on with registers. */
		if (dump ? (status & RING_STATUS_INPUT_DONE) && d->tail == head : d->tail == want)
			return 0;
		/* Slots up to TAIL are free again, and the batch is acknowledged:
		 * last, as from here on the device may DMA again. */
		if (d->tail != consumed) {
			r = reg_write(d, RING_REG_TAIL, d->tail);
			if (r)
				return r;
		}
	}
	return -ETIMEDOUT;
}

/* The DMA listener's job in the device: the ring goes while it runs, and
 * the device must stop with an error rather than write on. */
static int unmap_running(struct drv *d, uint32_t period_us)
{
	long deadline;
	uint32_t status = 0, err = 0;
	int r = ring_start(d, period_us);

	/* Running, and quiet after its first batch: unmap now. */
	r = r ? r : consume(d, 1, false);
	r = r ? r : vfk_client_dma_unmap(d->c, RING_IOVA, d->map_len);
	if (r)
		return r;
	/* A kernel peer's unmap reaches the device through the IOMMU a
	 * little later; give it time. */
	for (deadline = now_ms() + TIMEOUT_MS; now_ms() < deadline; usleep(POLL_MS * 1000)) {
		r = reg_read(d, RING_REG_STATUS, &status);
		if (r || !(status & RING_STATUS_RUNNING))
			break;
	}
	r = r ? r : reg_read(d, RING_REG_ERROR, &err);
	if (r)
		return r;
	if ((status & RING_STATUS_RUNNING) || !(status & RING_STATUS_ERROR)) {
		printf("ring-client: unmapped while running: status %#x, expected stopped with an error\n",
		       status);
		return -EIO;
	}
	printf("ring-client: unmapped while running: device stopped (%s)\n", strerror((int)err));
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s TARGET [--records N] [--period-us N] [--no-fd] [--dump] "
		"[--unmap-running]\n", prog);
}

int main(int argc, char **argv)
{
	struct drv d = { .memfd = -1, .efd = -1 };
	uint32_t want = 64, period_us = 500, id = 0, dropped = 0;
	bool no_fd = false, dump = false, unmap = false, mapped = false;
	char err[256] = "";
	int r;

	if (argc < 2) {
		usage(argv[0]);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--records") && i + 1 < argc)
			want = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--period-us") && i + 1 < argc)
			period_us = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--no-fd"))
			no_fd = true;
		else if (!strcmp(argv[i], "--dump"))
			dump = true;
		else if (!strcmp(argv[i], "--unmap-running"))
			unmap = true;
		else {
			usage(argv[0]);
			return 2;
		}
	}

	d.poll_regs = no_fd;
	r = vfk_client_open(argv[1], NULL, &d.c, err, sizeof(err));
	if (r) {
		fprintf(stderr, "ring-client: %s\n", err[0] ? err : strerror(-r));
		return 1;
	}
	r = enable_bus_master(&d);
	r = r ? r : reg_read(&d, RING_REG_ID, &id);
	if (!r && id != RING_ID) {
		fprintf(stderr, "ring-client: ID register %#x: not a ring-device\n", id);
		r = -ENODEV;
	}
	if (!r) {
		d.efd = eventfd(0, EFD_CLOEXEC);
		r = d.efd < 0 ? -errno : ring_alloc(&d, no_fd);
		mapped = !r;
	}
	r = r ? r : ring_start(&d, period_us);
	r = r ? r : consume(&d, want, dump);
	r = r ? r : reg_read(&d, RING_REG_DROPPED, &dropped);
	/* Stop before the memory goes: a device must never DMA into memory
	 * its driver freed. */
	if (d.c)
		reg_write(&d, RING_REG_CTRL, 0);
	if (!r)
		fprintf(dump ? stderr : stdout,
			"ring-client: %u records ok, %u interrupts, %u dropped (%s memory)\n",
			d.tail, d.irqs, dropped, no_fd ? "fd-less" : "memfd");
	if (!r && unmap) {
		d.tail = 0;
		r = unmap_running(&d, period_us);
		mapped = false;
	}
	vfk_client_set_irq_eventfds(d.c, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL);
	if (mapped && vfk_client_dma_unmap(d.c, RING_IOVA, d.map_len) && !r)
		r = -EIO;
	if (r)
		printf("ring-client: FAILED: %s\n", strerror(-r));
	if (d.ring)
		munmap(d.ring, d.map_len);
	if (d.memfd >= 0)
		close(d.memfd);
	if (d.efd >= 0)
		close(d.efd);
	vfk_client_close(d.c);
	return r ? 1 : 0;
}
