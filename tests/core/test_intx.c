// SPDX-License-Identifier: MIT
/*
 * INTx in config space: the status register's Interrupt Status bit
 * follows the line (set by vfk_irq_trigger, cleared by vfk_irq_deassert),
 * and the command register's Interrupt Disable bit holds delivery back
 * until it is cleared, as on hardware and in the kernel's vfio-pci.
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

#include <vfiokit/device.h>
#include <vfiokit/irq.h>
#include <vfiokit/pci_config.h>
#include <vfiokit/transport.h>

struct fixture {
	struct vfk_device *dev;
	int efd;
};

static int setup(void **state)
{
	static struct fixture f;
	const struct vfk_device_desc desc = {
		.name = "intx", .vendor_id = 0x1af4, .device_id = 2, .irq_pin = 1,
	};
	const struct vfio_irq_set set = {
		.argsz = sizeof(set) + 4, .index = VFIO_PCI_INTX_IRQ_INDEX, .count = 1,
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
	};

	assert_int_equal(vfk_device_create(&desc, &f.dev), 0);
	f.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(f.efd >= 0);
	assert_int_equal(vfk_device_set_irqs(f.dev, &set, &f.efd, sizeof(f.efd)), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vfk_device_destroy(f->dev);
	close(f->efd);
	return 0;
}

/* How many times fd was signalled since the last look. */
static uint64_t take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		assert_int_equal(errno, EAGAIN);
	return v;
}

static uint16_t cfg16(struct vfk_device *dev, uint64_t off)
{
	uint16_t v;

	assert_int_equal(vfk_pci_config_read(dev, &v, 2, off), 2);
	return v;
}

static void set_command(struct vfk_device *dev, uint16_t cmd)
{
	assert_int_equal(vfk_pci_config_write(dev, &cmd, 2, PCI_COMMAND), 2);
}

static int unmask(struct vfk_device *dev)
{
	const struct vfio_irq_set set = {
		.argsz = sizeof(set), .index = VFIO_PCI_INTX_IRQ_INDEX, .count = 1,
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
	};

	return vfk_device_set_irqs(dev, &set, NULL, 0);
}

static void test_status_follows_the_line(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg16(f->dev, PCI_STATUS) & PCI_STATUS_INTERRUPT, 0);
	assert_int_equal(vfk_irq_trigger(f->dev, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_int_equal(take(f->efd), 1);
	assert_int_equal(cfg16(f->dev, PCI_STATUS) & PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT);
	/* Read-only to software: writing 1 neither clears nor sets it. */
	{
		uint16_t one = PCI_STATUS_INTERRUPT;

		assert_int_equal(vfk_pci_config_write(f->dev, &one, 2, PCI_STATUS), 2);
	}
	assert_int_equal(cfg16(f->dev, PCI_STATUS) & PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT);
	vfk_irq_deassert(f->dev, VFIO_PCI_INTX_IRQ_INDEX, 0);
	assert_int_equal(cfg16(f->dev, PCI_STATUS) & PCI_STATUS_INTERRUPT, 0);
}

static void test_status_set_without_a_listener(void **state)
{
	struct fixture *f = *state;
	const struct vfio_irq_set off = {
		.argsz = sizeof(off), .index = VFIO_PCI_INTX_IRQ_INDEX, .count = 0,
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
	};

	assert_int_equal(vfk_device_set_irqs(f->dev, &off, NULL, 0), 0);
	assert_int_equal(vfk_irq_trigger(f->dev, VFIO_PCI_INTX_IRQ_INDEX, 0), -ENOENT);
	assert_int_equal(cfg16(f->dev, PCI_STATUS) & PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT);
	/* A function reset deasserts everything. */
	assert_int_equal(vfk_device_reset(f->dev), 0);
	assert_int_equal(cfg16(f->dev, PCI_STATUS) & PCI_STATUS_INTERRUPT, 0);
}

static void test_interrupt_disable_holds_delivery(void **state)
{
	struct fixture *f = *state;

	set_command(f->dev, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(vfk_irq_trigger(f->dev, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_int_equal(take(f->efd), 0);
	/* The status bit still shows the line. */
	assert_int_equal(cfg16(f->dev, PCI_STATUS) & PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT);
	/* A write that leaves the bit set delivers nothing. */
	set_command(f->dev, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(take(f->efd), 0);
	/* Cleared while still asserted: delivered now, and automasked. */
	set_command(f->dev, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(take(f->efd), 1);
	set_command(f->dev, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	set_command(f->dev, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(take(f->efd), 0);
	vfk_irq_deassert(f->dev, VFIO_PCI_INTX_IRQ_INDEX, 0);
	assert_int_equal(unmask(f->dev), 0);
}

static void test_deasserted_while_disabled_is_dropped(void **state)
{
	struct fixture *f = *state;

	set_command(f->dev, PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(vfk_irq_trigger(f->dev, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	vfk_irq_deassert(f->dev, VFIO_PCI_INTX_IRQ_INDEX, 0);
	/* A one-byte write of the command's high byte clears the bit too. */
	{
		uint8_t high = 0;

		assert_int_equal(vfk_pci_config_write(f->dev, &high, 1, PCI_COMMAND + 1), 1);
	}
	assert_int_equal(cfg16(f->dev, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE, 0);
	assert_int_equal(take(f->efd), 0);
}

static void test_disable_and_mask_both_hold(void **state)
{
	struct fixture *f = *state;

	/* Delivered once, automasked; the line stays up. */
	assert_int_equal(vfk_irq_trigger(f->dev, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_int_equal(take(f->efd), 1);
	/* Raised again behind the mask, then the guest sets Interrupt Disable. */
	assert_int_equal(vfk_irq_trigger(f->dev, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	set_command(f->dev, PCI_COMMAND_INTX_DISABLE);
	/* Unmasking alone does not deliver while disabled... */
	assert_int_equal(unmask(f->dev), 0);
	assert_int_equal(take(f->efd), 0);
	/* ...clearing Interrupt Disable does. */
	set_command(f->dev, 0);
	assert_int_equal(take(f->efd), 1);
	vfk_irq_deassert(f->dev, VFIO_PCI_INTX_IRQ_INDEX, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_follows_the_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_set_without_a_listener, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_disable_holds_delivery, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_deasserted_while_disabled_is_dropped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_disable_and_mask_both_hold, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
