// SPDX-License-Identifier: MIT
/*
 * Unit tests of IRQ info and SET_IRQS: validation, eventfd delivery,
 * INTx automask, mask/unmask with pending delivery, and that every dup'd
 * eventfd is closed on reset and destroy.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/pci_regs.h>

#include "../test_util.h"

#include <vfiokit/device.h>
#include <vfiokit/event.h>
#include <vfiokit/irq.h>
#include <vfiokit/pci_config.h>
#include <vfiokit/region.h>
#include <vfiokit/transport.h>

#define MSI_VECTORS 4
#define MSIX_VECTORS 8

static struct vfk_device *make_device(uint8_t irq_pin, bool pcie)
{
	const struct vfk_device_desc desc = {
		.name = "irq", .vendor_id = 0x1af4, .device_id = 1, .irq_pin = irq_pin, .pcie = pcie,
	};
	const struct vfk_region_desc bar = {
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE, .size = 0x1000,
	};
	struct vfk_device *dev;

	assert_int_equal(vfk_device_create(&desc, &dev), 0);
	assert_int_equal(vfk_device_set_bar(dev, 0, &bar, 0), 0);
	assert_int_equal(vfk_pci_add_msi_cap(dev, MSI_VECTORS, true, false), 0);
	assert_int_equal(vfk_pci_add_msix_cap(dev, MSIX_VECTORS, 0, 0, 0, 0x800), 0);
	return dev;
}

static int setup(void **state)
{
	*state = make_device(1, true);
	return 0;
}

static int teardown(void **state)
{
	vfk_device_destroy(*state);
	return 0;
}

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* How many times fd was signalled since the last look (0 when none). */
static uint64_t take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		assert_int_equal(errno, EAGAIN);
	return v;
}

static int set_irqs(struct vfk_device *dev, uint32_t flags, uint32_t index, uint32_t start,
		    uint32_t count, const void *data, size_t len)
{
	const struct vfio_irq_set set = {
		.argsz = (uint32_t)(sizeof(set) + len), .flags = flags, .index = index,
		.start = start, .count = count,
	};

	return vfk_device_set_irqs(dev, &set, data, len);
}

static int set_fds(struct vfk_device *dev, uint32_t index, uint32_t start, uint32_t count,
		   const int32_t *fds)
{
	return set_irqs(dev, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
			index, start, count, fds, count * sizeof(int32_t));
}

static void check_info(struct vfk_device *dev, uint32_t index, uint32_t flags, uint32_t count)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = index };

	assert_int_equal(vfk_device_irq_info(dev, &info), 0);
	assert_int_equal(info.index, index);
	assert_int_equal(info.flags, flags);
	assert_int_equal(info.count, count);
}

static void test_irq_info_each_index(void **state)
{
	struct vfk_device *dev = *state;
	const uint32_t intx = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
			      VFIO_IRQ_INFO_AUTOMASKED;
	const uint32_t other = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = VFIO_PCI_NUM_IRQS };

	check_info(dev, VFIO_PCI_INTX_IRQ_INDEX, intx, 1);
	check_info(dev, VFIO_PCI_MSI_IRQ_INDEX, other, MSI_VECTORS);
	check_info(dev, VFIO_PCI_MSIX_IRQ_INDEX, other, MSIX_VECTORS);
	check_info(dev, VFIO_PCI_ERR_IRQ_INDEX, other, 1);
	check_info(dev, VFIO_PCI_REQ_IRQ_INDEX, other, 1);
	assert_int_equal(vfk_device_irq_info(dev, &info), -EINVAL);
	info.index = UINT32_MAX;
	assert_int_equal(vfk_device_irq_info(dev, &info), -EINVAL);
}

static void test_irq_info_plain_pci_without_pin(void **state)
{
	const struct vfk_device_desc desc = { .name = "plain" };
	struct vfk_device *dev;

	(void)state;
	assert_int_equal(vfk_device_create(&desc, &dev), 0);
	check_info(dev, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
		   VFIO_IRQ_INFO_AUTOMASKED, 0);
	check_info(dev, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 0);
	check_info(dev, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 0);
	check_info(dev, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 1);
	/* Nothing to set on an index without vectors. */
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL, 0), -EINVAL);
	vfk_device_destroy(dev);
}

static void test_set_irqs_validation(void **state)
{
	struct vfk_device *dev = *state;
	const uint32_t trig = VFIO_IRQ_SET_ACTION_TRIGGER;
	int32_t fds[MSIX_VECTORS + 1];
	uint8_t bools[MSIX_VECTORS] = { 0 };
	int efd = new_eventfd();

	for (int i = 0; i < MSIX_VECTORS + 1; i++)
		fds[i] = efd;
	/* Flags: exactly one data type and nothing unknown (-EINVAL); no
	 * action or several is a request vfio-pci has no handler for. */
	assert_int_equal(set_irqs(dev, trig, 1, 0, 1, NULL, 0), -EINVAL);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_NONE, 1, 0, 1, NULL, 0), -ENOTTY);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | trig,
				  1, 0, 1, bools, 1), -EINVAL);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | trig | VFIO_IRQ_SET_ACTION_MASK,
				  0, 0, 1, NULL, 0), -ENOTTY);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | trig | (1u << 6),
				  1, 0, 1, NULL, 0), -EINVAL);
	/* Index and range, overflow-safe. */
	assert_int_equal(set_fds(dev, VFIO_PCI_NUM_IRQS, 0, 1, fds), -EINVAL);
	assert_int_equal(set_fds(dev, VFIO_PCI_MSI_IRQ_INDEX, MSI_VECTORS, 1, fds), -EINVAL);
	assert_int_equal(set_fds(dev, VFIO_PCI_MSI_IRQ_INDEX, 0, MSI_VECTORS + 1, fds), -EINVAL);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | trig, VFIO_PCI_MSI_IRQ_INDEX,
				  1, UINT32_MAX, NULL, 0), -EINVAL);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | trig, VFIO_PCI_MSI_IRQ_INDEX,
				  UINT32_MAX, 2, NULL, 0), -EINVAL);
	/* Data length against count. */
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_EVENTFD | trig, VFIO_PCI_MSI_IRQ_INDEX,
				  0, 2, fds, sizeof(int32_t) * 2 - 1), -EINVAL);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_BOOL | trig, VFIO_PCI_MSI_IRQ_INDEX,
				  0, 2, bools, 1), -EINVAL);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_BOOL | trig, VFIO_PCI_MSI_IRQ_INDEX,
				  0, 2, NULL, 2), -EINVAL);
	/* INTx masks only once enabled. */
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds, 4), -EINVAL);
	/* None of the above installed anything. */
	for (uint32_t i = 0; i < MSI_VECTORS; i++)
		assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSI_IRQ_INDEX, i), -ENOENT);
	close(efd);
}

static void test_bad_fd_changes_nothing(void **state)
{
	struct vfk_device *dev = *state;
	int a = new_eventfd(), b = new_eventfd();
	int32_t first[2] = { a, a };
	int32_t closed[2] = { b, INT32_MAX };   /* a number that is no open fd */
	int baseline;

	assert_int_equal(set_fds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, first), 0);
	baseline = test_count_open_fds();
	assert_int_equal(set_fds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, closed), -EBADF);
	assert_int_equal(test_count_open_fds(), baseline);   /* the dup of b was closed again */
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0), 0);
	assert_int_equal(take(a), 1);
	assert_int_equal(take(b), 0);
	close(a);
	close(b);
}

static void test_eventfd_delivery(void **state)
{
	struct vfk_device *dev = *state;
	int a = new_eventfd(), b = new_eventfd();
	int32_t fds[2] = { a, b };
	int32_t drop[1] = { -1 };

	assert_int_equal(set_fds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 2, 2, fds), 0);
	/* The device keeps its own dup: the caller may close its copy. */
	close(b);
	b = -1;
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSIX_IRQ_INDEX, 2), 0);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSIX_IRQ_INDEX, 2), 0);
	assert_int_equal(take(a), 2);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSIX_IRQ_INDEX, 3), 0);
	assert_int_equal(take(a), 0);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSIX_IRQ_INDEX, 1), -ENOENT);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSIX_IRQ_INDEX, MSIX_VECTORS), -EINVAL);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_NUM_IRQS, 0), -EINVAL);

	/* -1 drops one vector's eventfd. */
	assert_int_equal(set_fds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 2, 1, drop), 0);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSIX_IRQ_INDEX, 2), -ENOENT);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSIX_IRQ_INDEX, 3), 0);
	close(a);
}

/* Only eventfds are taken, as by vfio-pci: not a pipe, not a regular fd. */
static void test_only_eventfds(void **state)
{
	struct vfk_device *dev = *state;
	int a = new_eventfd(), p[2];
	int32_t good[1] = { a };
	int32_t pipe_fd[1];
	int baseline;

	assert_int_equal(pipe(p), 0);
	pipe_fd[0] = p[1];
	assert_int_equal(set_fds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, good), 0);
	baseline = test_count_open_fds();
	assert_int_equal(set_fds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, pipe_fd), -EINVAL);
	assert_int_equal(test_count_open_fds(), baseline);
	/* The failed call changed nothing: the old eventfd still fires. */
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0), 0);
	assert_int_equal(take(a), 1);
	close(p[0]);
	close(p[1]);
	close(a);
}

/*
 * A peer that hands over a blocking eventfd with its counter one below the
 * top must not block the device's thread: a write of 1 would wait for a
 * reader. The interrupt stays undelivered until the peer reads.
 */
static void test_full_blocking_eventfd_never_blocks(void **state)
{
	struct vfk_device *dev = *state;
	int a = eventfd(0, EFD_CLOEXEC);          /* blocking, as a hostile peer may leave it */
	const uint64_t nearly_full = UINT64_MAX - 1;
	int32_t fds[1] = { a };
	uint64_t v;

	assert_true(a >= 0);
	assert_int_equal(write(a, &nearly_full, sizeof(nearly_full)), sizeof(nearly_full));
	assert_int_equal(set_fds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, fds), 0);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0), 0);   /* returns */
	assert_int_equal(read(a, &v, sizeof(v)), sizeof(v));
	assert_true(v == nearly_full);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0), 0);
	assert_int_equal(read(a, &v, sizeof(v)), sizeof(v));
	assert_true(v == 1);
	close(a);
}

static void test_trigger_by_set_irqs(void **state)
{
	struct vfk_device *dev = *state;
	int a = new_eventfd(), b = new_eventfd();
	int32_t fds[2] = { a, b };
	uint8_t which[2] = { 0, 1 };

	assert_int_equal(set_fds(dev, VFIO_PCI_MSI_IRQ_INDEX, 0, 2, fds), 0);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_MSI_IRQ_INDEX, 0, 2, NULL, 0), 0);
	assert_int_equal(take(a), 1);
	assert_int_equal(take(b), 1);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_MSI_IRQ_INDEX, 0, 2, which, sizeof(which)), 0);
	assert_int_equal(take(a), 0);
	assert_int_equal(take(b), 1);
	close(a);
	close(b);
}

static uint8_t msi_cap_offset(struct vfk_device *dev)
{
	const uint8_t *cfg = vfk_pci_config_bytes(dev);

	for (uint8_t off = cfg[PCI_CAPABILITY_LIST]; off; off = cfg[off + 1])
		if (cfg[off] == PCI_CAP_ID_MSI)
			return off;
	fail_msg("no MSI capability");
	return 0;
}

static void write_msi_flags(struct vfk_device *dev, uint16_t flags)
{
	const uint8_t b[2] = { (uint8_t)flags, (uint8_t)(flags >> 8) };

	assert_int_equal(vfk_pci_config_write(dev, b, 2, msi_cap_offset(dev) + PCI_MSI_FLAGS), 2);
}

/*
 * While MSI is enabled the device sends only the 1 << MME vectors software
 * allocated (MME clamped to what the capability offers); disabled, the
 * config space does not limit SET_IRQS-driven clients.
 */
static void test_msi_trigger_follows_mme(void **state)
{
	struct vfk_device *dev = *state;
	int a = new_eventfd();
	int32_t fds[MSI_VECTORS] = { a, a, a, a };

	assert_int_equal(set_fds(dev, VFIO_PCI_MSI_IRQ_INDEX, 0, MSI_VECTORS, fds), 0);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSI_IRQ_INDEX, 3), 0);
	assert_int_equal(take(a), 1);
	/* 128 asked, 4 capable: all 4 usable. */
	write_msi_flags(dev, PCI_MSI_FLAGS_ENABLE | 7 << 4);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSI_IRQ_INDEX, 3), 0);
	assert_int_equal(take(a), 1);
	/* 2 allocated: vectors 2 and 3 are not the device's to send. */
	write_msi_flags(dev, PCI_MSI_FLAGS_ENABLE | 1 << 4);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSI_IRQ_INDEX, 1), 0);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSI_IRQ_INDEX, 2), -EINVAL);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSI_IRQ_INDEX, 3), -EINVAL);
	assert_int_equal(take(a), 1);
	/* MSI disabled again: the config space no longer decides. */
	write_msi_flags(dev, 1 << 4);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSI_IRQ_INDEX, 2), 0);
	assert_int_equal(take(a), 1);
	close(a);
}

static void write_cfg32(struct vfk_device *dev, uint64_t off, uint32_t v)
{
	const uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	assert_int_equal(vfk_pci_config_write(dev, b, 4, off), 4);
}

static uint32_t read_cfg32(struct vfk_device *dev, uint64_t off)
{
	const uint8_t *b = vfk_pci_config_bytes(dev) + off;

	return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/*
 * A masked MSI vector is not sent: its Pending bit is set instead, and
 * clearing the mask bit sends it (PCI spec, per-vector masking).
 */
static void test_msi_per_vector_mask_holds_pending(void **state)
{
	const struct vfk_device_desc desc = { .name = "msimask", .vendor_id = 0x1af4 };
	struct vfk_device *dev;
	int a = new_eventfd(), b = new_eventfd();
	int32_t fds[2] = { a, b };
	uint8_t m;

	(void)state;
	assert_int_equal(vfk_device_create(&desc, &dev), 0);
	assert_int_equal(vfk_pci_add_msi_cap(dev, 2, true, true), 0);
	m = msi_cap_offset(dev);
	assert_int_equal(set_fds(dev, VFIO_PCI_MSI_IRQ_INDEX, 0, 2, fds), 0);
	write_msi_flags(dev, PCI_MSI_FLAGS_ENABLE | 1 << 4);
	write_cfg32(dev, m + PCI_MSI_MASK_64, 0x2);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSI_IRQ_INDEX, 1), 0);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSI_IRQ_INDEX, 0), 0);
	assert_int_equal(take(b), 0);
	assert_int_equal(take(a), 1);
	assert_int_equal(read_cfg32(dev, m + PCI_MSI_PENDING_64), 0x2);
	/* Software cannot clear a pending bit; unmasking sends the message. */
	write_cfg32(dev, m + PCI_MSI_PENDING_64, 0);
	assert_int_equal(read_cfg32(dev, m + PCI_MSI_PENDING_64), 0x2);
	write_cfg32(dev, m + PCI_MSI_MASK_64, 0);
	assert_int_equal(take(b), 1);
	assert_int_equal(read_cfg32(dev, m + PCI_MSI_PENDING_64), 0);
	write_cfg32(dev, m + PCI_MSI_MASK_64, 0);   /* nothing pending: nothing sent */
	assert_int_equal(take(b), 0);
	/* SET_IRQS triggers, as vfio-pci's, do not go through the device's mask. */
	write_cfg32(dev, m + PCI_MSI_MASK_64, 0x3);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_MSI_IRQ_INDEX, 0, 1, NULL, 0), 0);
	assert_int_equal(take(a), 1);
	vfk_device_destroy(dev);
	close(a);
	close(b);
}

static void test_disable_index_with_count_zero(void **state)
{
	struct vfk_device *dev = *state;
	int a = new_eventfd();
	int32_t fds[2] = { a, a };
	int before = test_count_open_fds();

	assert_int_equal(set_fds(dev, VFIO_PCI_MSI_IRQ_INDEX, 0, 2, fds), 0);
	assert_int_equal(test_count_open_fds(), before + 2);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL, 0), 0);
	assert_int_equal(test_count_open_fds(), before);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSI_IRQ_INDEX, 0), -ENOENT);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSI_IRQ_INDEX, 1), -ENOENT);
	assert_int_equal(take(a), 0);
	close(a);
}

static void test_intx_automask_and_unmask(void **state)
{
	struct vfk_device *dev = *state;
	const uint32_t unmask = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK;
	int a = new_eventfd();
	int32_t fds[1] = { a };

	assert_int_equal(set_fds(dev, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds), 0);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_int_equal(take(a), 1);
	/* Automasked: the next one waits. */
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_int_equal(take(a), 0);
	/* Unmask delivers the pending one (and masks again). */
	assert_int_equal(set_irqs(dev, unmask, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), 0);
	assert_int_equal(take(a), 1);
	assert_int_equal(set_irqs(dev, unmask, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), 0);
	assert_int_equal(take(a), 0);

	/* A deasserted line is not delivered on unmask. */
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_int_equal(take(a), 1);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	vfk_irq_deassert(dev, VFIO_PCI_INTX_IRQ_INDEX, 0);
	assert_int_equal(set_irqs(dev, unmask, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), 0);
	assert_int_equal(take(a), 0);
	close(a);
}

static void test_mask_then_pending_on_unmask(void **state)
{
	struct vfk_device *dev = *state;
	const uint8_t yes = 1, no = 0;
	int a = new_eventfd();
	int32_t fds[1] = { a };

	assert_int_equal(set_fds(dev, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds), 0);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_MASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &yes, 1), 0);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_int_equal(take(a), 0);
	/* A false bool leaves the vector as it is. */
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_UNMASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &no, 1), 0);
	assert_int_equal(take(a), 0);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_UNMASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &yes, 1), 0);
	assert_int_equal(take(a), 1);
	close(a);
}

static void test_reset_closes_eventfds(void **state)
{
	struct vfk_device *dev = *state;
	int a = new_eventfd();
	int32_t fds[MSIX_VECTORS];
	int before = test_count_open_fds();

	for (int i = 0; i < MSIX_VECTORS; i++)
		fds[i] = a;
	assert_int_equal(set_fds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, MSIX_VECTORS, fds), 0);
	assert_int_equal(set_fds(dev, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, fds), 0);
	assert_int_equal(set_fds(dev, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, fds), 0);
	assert_int_equal(test_count_open_fds(), before + MSIX_VECTORS + 2);
	/* A function-level reset keeps the peer's eventfds... */
	assert_int_equal(vfk_device_reset(dev), 0);
	assert_int_equal(test_count_open_fds(), before + MSIX_VECTORS + 2);
	/* ...and the peer leaving closes them. */
	assert_int_equal(vfk_device_release_peer(dev), 0);
	assert_int_equal(test_count_open_fds(), before);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0), -ENOENT);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_ERR_IRQ_INDEX, 0), -ENOENT);
	/* ...and the index is off: the next peer may enable any type. */
	assert_int_equal(set_fds(dev, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds), 0);
	/* Counts are properties of the device and survive the reset. */
	check_info(dev, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE,
		   MSIX_VECTORS);
	close(a);
}

static void test_destroy_closes_eventfds(void **state)
{
	int before = test_count_open_fds();
	struct vfk_device *dev = make_device(1, false);
	int a = new_eventfd();
	int32_t fds[MSI_VECTORS] = { a, a, a, a };

	(void)state;
	assert_int_equal(set_fds(dev, VFIO_PCI_MSI_IRQ_INDEX, 0, MSI_VECTORS, fds), 0);
	close(a);
	vfk_device_destroy(dev);
	assert_int_equal(test_count_open_fds(), before);
}

/* Without PCIe vfio-pci has no ERR index: GET_IRQ_INFO and SET_IRQS refuse it. */
static void test_err_index_needs_pcie(void **state)
{
	struct vfk_device *dev = make_device(1, false);
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = VFIO_PCI_ERR_IRQ_INDEX };
	int32_t fds[1] = { new_eventfd() };

	(void)state;
	assert_int_equal(vfk_device_irq_info(dev, &info), -EINVAL);
	assert_int_equal(set_fds(dev, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, fds), -EINVAL);
	check_info(dev, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 1);
	vfk_device_destroy(dev);
	close(fds[0]);
}

/*
 * vfio-pci masks INTx only: MASK/UNMASK of another index, or MASK by
 * eventfd, has no handler there (-ENOTTY), once the checks every request
 * gets (-EINVAL) passed.
 */
static void test_mask_unmask_enotty(void **state)
{
	struct vfk_device *dev = *state;
	const uint32_t actions[] = { VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_UNMASK };
	const uint32_t off = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	int a = new_eventfd();
	int32_t fds[MSI_VECTORS] = { a, a, a, a };

	assert_int_equal(set_fds(dev, VFIO_PCI_MSI_IRQ_INDEX, 0, MSI_VECTORS, fds), 0);
	for (int i = 0; i < 2; i++) {
		const uint32_t f = VFIO_IRQ_SET_DATA_NONE | actions[i];

		for (uint32_t index = VFIO_PCI_MSI_IRQ_INDEX; index < VFIO_PCI_NUM_IRQS; index++)
			assert_int_equal(set_irqs(dev, f, index, 0, 1, NULL, 0), -ENOTTY);
		assert_int_equal(set_irqs(dev, f, VFIO_PCI_MSI_IRQ_INDEX, MSI_VECTORS, 1, NULL, 0),
				 -EINVAL);
	}
	assert_int_equal(set_irqs(dev, off, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL, 0), 0);
	assert_int_equal(set_fds(dev, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds), 0);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_MASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds, 4), -ENOTTY);
	close(a);
}

/*
 * INTx, MSI and MSI-X exclude each other, as in vfio-pci: an eventfd
 * enables an index only while none is enabled; an index that is not
 * enabled can be neither disabled, fired nor masked; MSI/MSI-X keep the
 * number of vectors they were enabled with until disabled.
 */
static void test_one_interrupt_type_at_a_time(void **state)
{
	struct vfk_device *dev = *state;
	const uint32_t off = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	int a = new_eventfd();
	int32_t fds[MSIX_VECTORS];

	for (int i = 0; i < MSIX_VECTORS; i++)
		fds[i] = a;
	assert_int_equal(set_irqs(dev, off, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL, 0), -EINVAL);
	assert_int_equal(set_irqs(dev, off, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), -EINVAL);
	assert_int_equal(set_fds(dev, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds), 0);
	assert_int_equal(set_fds(dev, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, fds), -EINVAL);
	assert_int_equal(set_fds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, fds), -EINVAL);
	assert_int_equal(set_irqs(dev, off, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL, 0), -EINVAL);
	assert_int_equal(set_irqs(dev, off, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL, 0), 0);
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), -EINVAL);

	assert_int_equal(set_fds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, fds), 0);
	assert_int_equal(set_fds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 2, 1, fds), -EINVAL);
	assert_int_equal(set_fds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 1, 2, fds), -EINVAL);
	assert_int_equal(set_irqs(dev, off, VFIO_PCI_MSIX_IRQ_INDEX, 0, 3, NULL, 0), -EINVAL);
	assert_int_equal(set_fds(dev, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds), -EINVAL);
	assert_int_equal(set_fds(dev, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, fds), -EINVAL);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_MSIX_IRQ_INDEX, 1), 0);
	assert_int_equal(take(a), 1);
	assert_int_equal(set_irqs(dev, off, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL, 0), 0);
	assert_int_equal(set_fds(dev, VFIO_PCI_MSI_IRQ_INDEX, 0, MSI_VECTORS, fds), 0);
	close(a);
}

static void signal_fd(int fd)
{
	const uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

/*
 * QEMU with KVM hands over INTx's resample eventfd as UNMASK + EVENTFD:
 * each signal (the guest's EOI) unmasks INTx and delivers what waited,
 * from the device's event sources or, at the latest, before the next
 * interrupt. One at a time; -1 drops it; disabling INTx closes it.
 */
static void test_intx_unmask_eventfd(void **state)
{
	struct vfk_device *dev = *state;
	const uint32_t by_fd = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK;
	int a = new_eventfd(), r = new_eventfd(), other = new_eventfd();
	int32_t fds[1] = { a }, rfd[1] = { r }, ofd[1] = { other }, drop[1] = { -1 };
	int before = test_count_open_fds();

	assert_int_equal(set_fds(dev, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, fds), 0);
	assert_int_equal(set_irqs(dev, by_fd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, rfd, 4), 0);
	assert_int_equal(set_irqs(dev, by_fd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, ofd, 4), -EBUSY);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_int_equal(take(a), 1);
	signal_fd(r);
	assert_int_equal(vfk_device_dispatch_events(dev), 1);
	assert_int_equal(take(a), 1);
	assert_int_equal(take(r), 0);
	/* An EOI not dispatched yet unmasks before the next interrupt. */
	signal_fd(r);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_int_equal(take(a), 1);

	assert_int_equal(set_irqs(dev, by_fd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, drop, 4), 0);
	assert_int_equal(vfk_irq_trigger(dev, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	signal_fd(r);
	assert_int_equal(vfk_device_dispatch_events(dev), 0);
	assert_int_equal(take(a), 0);
	/* A signal already there when the fd comes counts. */
	assert_int_equal(set_irqs(dev, by_fd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, rfd, 4), 0);
	assert_int_equal(take(a), 1);
	assert_int_equal(test_count_open_fds(), before + 3);   /* and the device's epoll fd */
	assert_int_equal(set_irqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL, 0), 0);
	assert_int_equal(test_count_open_fds(), before + 1);
	close(a);
	close(r);
	close(other);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_irq_info_each_index),
		cmocka_unit_test(test_irq_info_plain_pci_without_pin),
		T(test_set_irqs_validation),
		T(test_bad_fd_changes_nothing),
		T(test_eventfd_delivery),
		T(test_only_eventfds),
		T(test_full_blocking_eventfd_never_blocks),
		T(test_trigger_by_set_irqs),
		T(test_msi_trigger_follows_mme),
		cmocka_unit_test(test_msi_per_vector_mask_holds_pending),
		T(test_disable_index_with_count_zero),
		T(test_intx_automask_and_unmask),
		T(test_mask_then_pending_on_unmask),
		T(test_reset_closes_eventfds),
		cmocka_unit_test(test_destroy_closes_eventfds),
		cmocka_unit_test(test_err_index_needs_pcie),
		T(test_mask_unmask_enotty),
		T(test_one_interrupt_type_at_a_time),
		T(test_intx_unmask_eventfd),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
