// SPDX-License-Identifier: MIT
/*
 * The example dmaengine model through the core API: registers, a copy
 * that runs only as deferred work, its interrupt on MSI-X/MSI/INTx, a
 * failed copy, the software interrupt, reset.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <cmocka.h>

#include <vfiokit/vfiokit.h>

#include "dmaengine.h"

#define IOVA 0x40000000ull
#define MEM  8192u

struct fixture {
	struct vfk_device *dev;
	int memfd, efd;
	uint8_t *mem;
};

static int setup(void **state)
{
	static struct fixture f;
	struct vfk_dmaengine_params p;

	vfk_dmaengine_params_default(&p);
	assert_int_equal(vfk_dmaengine_create("dmae", &p, &f.dev), 0);
	f.memfd = memfd_create("guest", MFD_CLOEXEC);
	assert_int_equal(ftruncate(f.memfd, MEM), 0);
	f.mem = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_SHARED, f.memfd, 0);
	assert_true(f.mem != MAP_FAILED);
	assert_int_equal(vfk_dma_map(f.dev, IOVA, MEM, f.memfd, 0,
				     VFK_DMA_READ | VFK_DMA_WRITE), 0);
	f.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vfk_device_destroy(f->dev);
	munmap(f->mem, MEM);
	close(f->memfd);
	close(f->efd);
	return 0;
}

static void wr(struct vfk_device *dev, uint32_t reg, uint32_t v)
{
	assert_int_equal(vfk_region_write(dev, 0, &v, 4, reg), 4);
}

static uint32_t rd(struct vfk_device *dev, uint32_t reg)
{
	uint32_t v;

	assert_int_equal(vfk_region_read(dev, 0, &v, 4, reg), 4);
	return v;
}

static void set_eventfd(struct fixture *f, uint32_t index, int fd)
{
	struct vfio_irq_set set = {
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = index, .count = 1,
	};

	assert_int_equal(vfk_device_set_irqs(f->dev, &set, &fd, sizeof(fd)), 0);
}

/* SET_IRQS TRIGGER, NONE, count 0: the index is off again. */
static void disable_index(struct fixture *f, uint32_t index)
{
	struct vfio_irq_set set = {
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, .index = index,
	};

	assert_int_equal(vfk_device_set_irqs(f->dev, &set, NULL, 0), 0);
}

static uint64_t fired(int efd)
{
	uint64_t v = 0;

	return read(efd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

static void program(struct vfk_device *dev, uint64_t src, uint64_t dst, uint32_t len)
{
	uint64_t pair = src;

	/* 8-byte access for the source pair, two 4-byte ones for the destination. */
	assert_int_equal(vfk_region_write(dev, 0, &pair, 8, VFK_DMAE_REG_SRC_LO), 8);
	wr(dev, VFK_DMAE_REG_DST_LO, (uint32_t)dst);
	wr(dev, VFK_DMAE_REG_DST_HI, (uint32_t)(dst >> 32));
	wr(dev, VFK_DMAE_REG_LEN, len);
	wr(dev, VFK_DMAE_REG_CMD, VFK_DMAE_CMD_START | VFK_DMAE_CMD_IRQ);
}

static void test_registers(void **state)
{
	struct fixture *f = *state;
	uint16_t ids[2];
	uint8_t byte;

	assert_int_equal(rd(f->dev, VFK_DMAE_REG_ID), VFK_DMAE_ID);
	wr(f->dev, VFK_DMAE_REG_ID, 0);   /* read-only */
	assert_int_equal(rd(f->dev, VFK_DMAE_REG_ID), VFK_DMAE_ID);
	wr(f->dev, VFK_DMAE_REG_SCRATCH, 0xfeedbeef);
	assert_int_equal(rd(f->dev, VFK_DMAE_REG_SCRATCH), 0xfeedbeef);
	assert_int_equal(vfk_region_read(f->dev, 0, &byte, 1, 0), -EINVAL);
	assert_int_equal(vfk_region_read(f->dev, 0, ids, 4, 2), -EINVAL);
	assert_int_equal(vfk_pci_config_read(f->dev, ids, 4, 0), 4);
	assert_int_equal(ids[0], VFK_DMAE_VENDOR);
	assert_int_equal(ids[1], VFK_DMAE_DEVICE);
	assert_int_equal(vfk_device_reset(f->dev), 0);
	assert_int_equal(rd(f->dev, VFK_DMAE_REG_SCRATCH), 0);
}

static void test_copy_is_deferred_then_interrupts(void **state)
{
	static const uint32_t order[] = {
		VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX,
	};
	struct fixture *f = *state;

	for (unsigned int i = 0; i < 3; i++) {
		/* One interrupt type at a time, as vfio-pci allows. */
		set_eventfd(f, order[i], f->efd);
		for (unsigned int j = 0; j < MEM / 2; j++)
			f->mem[j] = (uint8_t)(j + i);
		memset(f->mem + MEM / 2, 0, MEM / 2);
		program(f->dev, IOVA, IOVA + MEM / 2, MEM / 2);
		/* Nothing moved yet: the copy waits for the deferred run. */
		assert_int_equal(rd(f->dev, VFK_DMAE_REG_STATUS), VFK_DMAE_STATUS_BUSY);
		assert_int_equal(f->mem[MEM / 2 + 1], 0);
		assert_int_equal(fired(f->efd), 0);
		wr(f->dev, VFK_DMAE_REG_CMD, VFK_DMAE_CMD_START);   /* busy: refused */
		assert_int_equal(vfk_device_run_deferred(f->dev), 1);
		assert_memory_equal(f->mem, f->mem + MEM / 2, MEM / 2);
		assert_int_equal(rd(f->dev, VFK_DMAE_REG_STATUS), VFK_DMAE_STATUS_DONE);
		assert_int_equal(rd(f->dev, VFK_DMAE_REG_IRQ_STATUS), VFK_DMAE_IRQ_DMA);
		assert_int_equal(rd(f->dev, VFK_DMAE_REG_COPIES), i + 1);
		assert_int_equal(fired(f->efd), 1);
		wr(f->dev, VFK_DMAE_REG_IRQ_ACK, VFK_DMAE_IRQ_DMA);
		assert_int_equal(rd(f->dev, VFK_DMAE_REG_IRQ_STATUS), 0);
		disable_index(f, order[i]);
	}
}

static void test_failed_copy_and_soft_irq(void **state)
{
	struct fixture *f = *state;

	set_eventfd(f, VFIO_PCI_MSI_IRQ_INDEX, f->efd);
	program(f->dev, IOVA, IOVA + MEM - 16, 64);   /* runs past the mapping */
	assert_int_equal(vfk_device_run_deferred(f->dev), 1);
	assert_int_equal(rd(f->dev, VFK_DMAE_REG_STATUS), VFK_DMAE_STATUS_ERROR);
	assert_int_equal(rd(f->dev, VFK_DMAE_REG_ERROR), EFAULT);
	assert_int_equal(rd(f->dev, VFK_DMAE_REG_COPIES), 0);
	assert_int_equal(fired(f->efd), 1);
	wr(f->dev, VFK_DMAE_REG_IRQ_ACK, ~0u);

	program(f->dev, IOVA, IOVA + 4096, VFK_DMAE_MAX_LEN + 1);
	assert_int_equal(vfk_device_deferred_count(f->dev), 0);
	assert_int_equal(rd(f->dev, VFK_DMAE_REG_STATUS), VFK_DMAE_STATUS_ERROR);
	assert_int_equal(rd(f->dev, VFK_DMAE_REG_ERROR), EINVAL);

	wr(f->dev, VFK_DMAE_REG_IRQ_RAISE, VFK_DMAE_IRQ_SOFT | VFK_DMAE_IRQ_DMA);
	assert_int_equal(rd(f->dev, VFK_DMAE_REG_IRQ_STATUS), VFK_DMAE_IRQ_SOFT);
	assert_int_equal(fired(f->efd), 1);

	/* A reset drops a queued copy. */
	program(f->dev, IOVA, IOVA + 4096, 16);
	assert_int_equal(vfk_device_reset(f->dev), 0);
	assert_int_equal(vfk_device_run_deferred(f->dev), 0);
	assert_int_equal(rd(f->dev, VFK_DMAE_REG_STATUS), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_is_deferred_then_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_copy_and_soft_irq, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
