// SPDX-License-Identifier: MIT
/*
 * Unit tests of the device life cycle, device info, reset, the region
 * table setters and the checked region read/write path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <linux/pci_regs.h>

#include <vfiokit/device.h>
#include <vfiokit/dma.h>
#include <vfiokit/pci_config.h>
#include <vfiokit/region.h>
#include <vfiokit/transport.h>

/* What the fake ops saw, in order. */
struct trace {
	char log[256];
	int reads, writes;
	uint64_t last_offset;
	size_t last_count;
	ssize_t ret_override;   /* when non-zero, read/write return this */
	int reset_ret;
	struct vfk_device *dev;
	uint16_t command_at_reset;
	uint64_t dma_at_reset;
	uint64_t dma_at_gone;
};

static struct trace tr;

static void trace_add(const char *what)
{
	strncat(tr.log, what, sizeof(tr.log) - strlen(tr.log) - 1);
}

static ssize_t fake_read(struct vfk_device *dev, struct vfk_region *r, void *buf,
			 size_t count, uint64_t offset)
{
	tr.reads++;
	tr.last_offset = offset;
	tr.last_count = count;
	memset(buf, 0xab, count);
	return tr.ret_override ? tr.ret_override : (ssize_t)count;
}

static ssize_t fake_write(struct vfk_device *dev, struct vfk_region *r, const void *buf,
			  size_t count, uint64_t offset)
{
	tr.writes++;
	tr.last_offset = offset;
	tr.last_count = count;
	return tr.ret_override ? tr.ret_override : (ssize_t)count;
}

static int fake_mmap(struct vfk_device *dev, struct vfk_region *r, struct vfk_mmap_desc *d)
{
	d->fd = 0;
	return 0;
}

static void fake_release(struct vfk_device *dev, struct vfk_region *r)
{
	char s[16];

	snprintf(s, sizeof(s), "rel%u,", vfk_region_index(r));
	trace_add(s);
}

static void fake_peer_gone(struct vfk_device *dev, struct vfk_region *r)
{
	char s[16];

	snprintf(s, sizeof(s), "gone%u,", vfk_region_index(r));
	trace_add(s);
	/* Before the reset: the peer's DMA mappings are gone already. */
	tr.dma_at_gone = vfk_dma_count(dev);
}

static void model_destroy(struct vfk_device *dev)
{
	assert_ptr_equal(vfk_device_priv(dev), &tr);
	trace_add("destroy,");
}

static int model_reset(struct vfk_device *dev)
{
	uint16_t cmd;

	trace_add("reset,");
	/* The core has already restored config space and dropped DMA. */
	assert_int_equal(vfk_pci_config_read(dev, &cmd, 2, PCI_COMMAND), 2);
	tr.command_at_reset = cmd;
	tr.dma_at_reset = vfk_dma_count(dev);
	return tr.reset_ret;
}

static const struct vfk_region_ops rw_ops = {
	.read = fake_read, .write = fake_write, .release = fake_release,
};
static const struct vfk_region_ops mmap_ops = {
	.read = fake_read, .mmap = fake_mmap, .release = fake_release,
};
static const struct vfk_region_ops gone_ops = {
	.read = fake_read, .peer_gone = fake_peer_gone,
};
static const struct vfk_device_ops model_ops = {
	.reset = model_reset, .destroy = model_destroy,
};

static const uint32_t RW = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;

static int setup(void **state)
{
	const struct vfk_device_desc desc = {
		.name = "dev0", .vendor_id = 0x1af4, .device_id = 0x1234,
		.class_code = 0x020000, .irq_pin = 1, .ops = &model_ops, .priv = &tr,
	};
	struct vfk_device *dev;

	memset(&tr, 0, sizeof(tr));
	assert_int_equal(vfk_device_create(&desc, &dev), 0);
	tr.dev = dev;
	*state = dev;
	return 0;
}

static int teardown(void **state)
{
	vfk_device_destroy(*state);
	return 0;
}

static struct vfk_region_desc rdesc(uint32_t flags, uint64_t size, const struct vfk_region_ops *ops)
{
	return (struct vfk_region_desc){ .flags = flags, .size = size, .ops = ops, .priv = &tr };
}

static void test_create_arguments(void **state)
{
	char name[] = "mutable";
	struct vfk_device_desc desc = { .name = name };
	struct vfk_device *dev = NULL;

	(void)state;
	assert_int_equal(vfk_device_create(NULL, &dev), -EINVAL);
	assert_int_equal(vfk_device_create(&desc, NULL), -EINVAL);
	desc.irq_pin = 5;
	assert_int_equal(vfk_device_create(&desc, &dev), -EINVAL);
	assert_null(dev);
	desc.irq_pin = 4;
	assert_int_equal(vfk_device_create(&desc, &dev), 0);
	name[0] = 'X';  /* the device keeps its own copy */
	assert_string_equal(vfk_device_name(dev), "mutable");
	assert_null(vfk_device_priv(dev));
	vfk_device_destroy(dev);

	desc.name = NULL;
	assert_int_equal(vfk_device_create(&desc, &dev), 0);
	assert_non_null(vfk_device_name(dev));
	vfk_device_destroy(dev);
	vfk_device_destroy(NULL);
}

static void test_destroy_hook_then_release(void **state)
{
	struct vfk_device *dev = *state;
	struct vfk_region_desc bar = rdesc(RW, 0x1000, &rw_ops);

	assert_int_equal(vfk_device_set_bar(dev, 1, &bar, 0), 0);
	assert_int_equal(vfk_device_add_region(dev, 1, 1, &bar, NULL), 0);
	vfk_device_destroy(dev);
	*state = NULL;
	assert_string_equal(tr.log, "destroy,rel1,rel9,");
}

static void test_device_info(void **state)
{
	struct vfk_device *dev = *state;
	struct vfk_region_desc d = rdesc(0, 0, NULL);
	struct vfio_device_info info;
	uint32_t index = 0;

	memset(&info, 0xff, sizeof(info));
	vfk_device_get_info(dev, &info);
	assert_int_equal(info.argsz, sizeof(info));
	assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	assert_int_equal(info.num_regions, VFIO_PCI_NUM_REGIONS);
	assert_int_equal(info.num_irqs, VFIO_PCI_NUM_IRQS);
	assert_int_equal(info.cap_offset, 0);

	assert_int_equal(vfk_device_add_region(dev, 1, 1, &d, &index), 0);
	assert_int_equal(index, 9);
	assert_int_equal(vfk_device_add_region(dev, 1, 2, &d, &index), 0);
	assert_int_equal(index, 10);
	vfk_device_get_info(dev, &info);
	assert_int_equal(info.num_regions, VFIO_PCI_NUM_REGIONS + 2);
}

static void test_reset_order_and_effects(void **state)
{
	struct vfk_device *dev = *state;
	const uint16_t mem = PCI_COMMAND_MEMORY;
	uint16_t cmd;

	assert_int_equal(vfk_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX, &mem, 2,
					  PCI_COMMAND), 2);
	assert_int_equal(vfk_pci_config_read(dev, &cmd, 2, PCI_COMMAND), 2);
	assert_int_equal(cmd, PCI_COMMAND_MEMORY);
	assert_int_equal(vfk_dma_map(dev, 0x100000, 0x1000, -1, 0, VFK_DMA_READ), 0);
	assert_int_equal(vfk_dma_count(dev), 1);

	assert_int_equal(vfk_device_reset(dev), 0);
	assert_string_equal(tr.log, "reset,");
	assert_int_equal(tr.command_at_reset, 0);
	/* A function-level reset keeps the peer's DMA mappings. */
	assert_int_equal(tr.dma_at_reset, 1);

	tr.log[0] = '\0';
	assert_int_equal(vfk_device_release_peer(dev), 0);
	assert_string_equal(tr.log, "reset,");
	assert_int_equal(tr.dma_at_reset, 0);

	tr.reset_ret = -EBUSY;
	assert_int_equal(vfk_device_reset(dev), -EBUSY);
}

/* Only a departing peer reaches the regions' peer_gone op; a guest reset does not. */
static void test_peer_gone_op(void **state)
{
	struct vfk_device *dev = *state;
	struct vfk_region_desc gone = rdesc(VFIO_REGION_INFO_FLAG_READ, 0x1000, &gone_ops);
	struct vfk_region_desc plain = rdesc(RW, 0x1000, &rw_ops);

	assert_int_equal(vfk_device_set_bar(dev, 2, &gone, 0), 0);
	assert_int_equal(vfk_device_add_region(dev, 1, 1, &plain, NULL), 0);
	assert_int_equal(vfk_device_add_region(dev, 1, 2, &gone, NULL), 0);
	assert_int_equal(vfk_dma_map(dev, 0x100000, 0x1000, -1, 0, VFK_DMA_READ), 0);

	assert_int_equal(vfk_device_reset(dev), 0);
	assert_string_equal(tr.log, "reset,");
	tr.log[0] = '\0';
	tr.dma_at_gone = 1;
	assert_int_equal(vfk_device_release_peer(dev), 0);
	assert_string_equal(tr.log, "gone2,gone10,reset,");
	assert_int_equal(tr.dma_at_gone, 0);
}

static void test_set_bar_rules(void **state)
{
	struct vfk_device *dev = *state;
	struct vfk_region_desc d = rdesc(RW, 0x1000, &rw_ops);
	struct vfk_region_desc mm = rdesc(RW | VFIO_REGION_INFO_FLAG_MMAP, 0x1000, &rw_ops);
	struct vfk_region_desc caps = rdesc(RW | VFIO_REGION_INFO_FLAG_CAPS, 0x1000, &rw_ops);
	struct vfk_region_desc odd = rdesc(RW, 0x1800, &rw_ops);
	struct vfk_region_desc tiny = rdesc(RW, 8, &rw_ops);
	struct vfk_region_desc io4 = rdesc(RW, 4, &rw_ops);
	struct vfk_region_desc big = rdesc(RW, 1ull << 32, &rw_ops);

	assert_int_equal(vfk_device_set_bar(dev, 6, &d, 0), -EINVAL);
	assert_int_equal(vfk_device_set_bar(dev, 0, NULL, 0), -EINVAL);
	assert_int_equal(vfk_device_set_bar(dev, 0, &mm, 0), -EINVAL);    /* MMAP, no mmap op */
	assert_int_equal(vfk_device_set_bar(dev, 0, &caps, 0), -EINVAL);  /* CAPS is computed */
	assert_int_equal(vfk_device_set_bar(dev, 0, &odd, 0), -EINVAL);
	assert_int_equal(vfk_device_set_bar(dev, 0, &tiny, 0), -EINVAL);
	assert_int_equal(vfk_device_set_bar(dev, 0, &big, 0), -EINVAL);
	assert_int_equal(vfk_device_set_bar(dev, 0, &d, VFK_BAR_IO | VFK_BAR_MEM64), -EINVAL);
	assert_int_equal(vfk_device_set_bar(dev, 0, &d, VFK_BAR_IO | VFK_BAR_PREFETCH), -EINVAL);
	assert_int_equal(vfk_device_set_bar(dev, 0, &d, 1u << 7), -EINVAL);
	assert_int_equal(vfk_device_set_bar(dev, 5, &d, VFK_BAR_MEM64), -EINVAL);
	for (uint32_t i = 0; i < VFIO_PCI_NUM_REGIONS; i++)
		if (i != VFIO_PCI_CONFIG_REGION_INDEX)
			assert_null(vfk_device_region(dev, i));

	assert_int_equal(vfk_device_set_bar(dev, 0, &big, VFK_BAR_MEM64 | VFK_BAR_PREFETCH), 0);
	assert_int_equal(vfk_device_set_bar(dev, 1, &d, 0), -EEXIST);  /* upper half of BAR0 */
	assert_int_equal(vfk_device_set_bar(dev, 0, &d, 0), -EEXIST);
	assert_int_equal(vfk_device_set_bar(dev, 2, &io4, VFK_BAR_IO), 0);
	assert_int_equal(vfk_device_set_bar(dev, 3, &d, 0), 0);
	assert_int_equal(vfk_device_set_bar(dev, 2, &d, VFK_BAR_MEM64), -EEXIST);
	assert_int_equal(vfk_device_set_bar(dev, 1, &d, VFK_BAR_MEM64), -EEXIST);
	assert_null(vfk_device_region(dev, 1));
	assert_non_null(vfk_device_region(dev, 2));
	assert_true(vfk_region_size(vfk_device_region(dev, 0)) == 1ull << 32);
}

static void test_rom_and_vga(void **state)
{
	struct vfk_device *dev = *state;
	struct vfk_region_desc rw = rdesc(RW, 0x8000, &rw_ops);
	struct vfk_region_desc small = rdesc(VFIO_REGION_INFO_FLAG_READ, 1024, &rw_ops);
	struct vfk_region_desc rom = rdesc(VFIO_REGION_INFO_FLAG_READ, 0x8000, &rw_ops);
	struct vfk_region_desc vga_mmap = rdesc(RW | VFIO_REGION_INFO_FLAG_MMAP, 0xc0000, &mmap_ops);
	struct vfk_region_desc vga = rdesc(RW, 0xc0000, &rw_ops);
	uint8_t b;

	assert_int_equal(vfk_device_set_rom(dev, &rw), -EINVAL);
	assert_int_equal(vfk_device_set_rom(dev, &small), -EINVAL);
	assert_int_equal(vfk_device_set_rom(dev, &rom), 0);
	assert_int_equal(vfk_device_set_rom(dev, &rom), -EEXIST);
	assert_int_equal(vfk_region_flags(vfk_device_region(dev, VFIO_PCI_ROM_REGION_INDEX)),
			 VFIO_REGION_INFO_FLAG_READ);

	assert_int_equal(vfk_region_read(dev, VFIO_PCI_VGA_REGION_INDEX, &b, 1, 0), -EINVAL);
	assert_int_equal(vfk_device_set_vga(dev, &vga_mmap), -EINVAL);
	assert_int_equal(vfk_device_set_vga(dev, &vga), 0);
	assert_int_equal(vfk_device_set_vga(dev, &vga), -EEXIST);
	assert_int_equal(vfk_region_read(dev, VFIO_PCI_VGA_REGION_INDEX, &b, 1, 0xa0000), 1);
	assert_int_equal(b, 0xab);
}

static void test_region_accessors(void **state)
{
	struct vfk_device *dev = *state;
	struct vfk_region_desc d = rdesc(RW, 0x2000, &rw_ops);
	struct vfk_region *r;
	uint32_t index;

	r = vfk_device_region(dev, VFIO_PCI_CONFIG_REGION_INDEX);
	assert_non_null(r);
	assert_int_equal(vfk_region_flags(r), RW);
	assert_int_equal(vfk_region_size(r), VFK_PCI_CONFIG_SIZE);
	assert_int_equal(vfk_region_index(r), VFIO_PCI_CONFIG_REGION_INDEX);

	assert_int_equal(vfk_device_add_region(dev, 0x80001014, 1, &d, &index), 0);
	r = vfk_device_region(dev, index);
	assert_non_null(r);
	assert_ptr_equal(vfk_region_priv(r), &tr);
	/* Pointers stay valid when more regions are added. */
	for (int i = 0; i < 64; i++)
		assert_int_equal(vfk_device_add_region(dev, 1, 1, &d, NULL), 0);
	assert_ptr_equal(vfk_device_region(dev, index), r);
	assert_null(vfk_device_region(dev, index + 65));
	assert_null(vfk_device_region(dev, UINT32_MAX));
	assert_int_equal(vfk_device_add_region(dev, 1, 1, NULL, NULL), -EINVAL);
}

static void test_region_limit(void **state)
{
	struct vfk_device *dev = *state;
	struct vfk_region_desc d = rdesc(0, 0, NULL);

	for (int i = 0; i < VFK_MAX_DEVICE_REGIONS; i++)
		assert_int_equal(vfk_device_add_region(dev, 1, 1, &d, NULL), 0);
	assert_int_equal(vfk_device_add_region(dev, 1, 1, &d, NULL), -ENOSPC);
}

static void test_read_write_bounds(void **state)
{
	struct vfk_device *dev = *state;
	struct vfk_region_desc d = rdesc(RW, 0x1000, &rw_ops);
	uint8_t buf[16];

	assert_int_equal(vfk_device_set_bar(dev, 0, &d, 0), 0);
	assert_int_equal(vfk_region_read(dev, 0, buf, 4, 0xffc), 4);
	assert_int_equal(tr.last_offset, 0xffc);
	assert_int_equal(tr.last_count, 4);
	assert_int_equal(vfk_region_read(dev, 0, buf, 4, 0xffd), -EINVAL);
	assert_int_equal(vfk_region_read(dev, 0, buf, 1, 0x1000), -EINVAL);
	assert_int_equal(vfk_region_write(dev, 0, buf, 4, UINT64_MAX - 1), -EINVAL);
	assert_int_equal(vfk_region_read(dev, 0, buf, SIZE_MAX, 8), -EINVAL);
	assert_int_equal(vfk_region_write(dev, 0, buf, 16, 0xff8), -EINVAL);
	assert_int_equal(tr.reads, 1);
	assert_int_equal(tr.writes, 0);
	/* Empty accesses succeed without reaching the model. */
	assert_int_equal(vfk_region_read(dev, 0, buf, 0, 0x1000), 0);
	assert_int_equal(tr.reads, 1);
	assert_int_equal(vfk_region_write(dev, 0, buf, 16, 0xff0), 16);
	assert_int_equal(tr.writes, 1);
}

static void test_read_write_index_and_flags(void **state)
{
	struct vfk_device *dev = *state;
	struct vfk_region_desc ro = rdesc(VFIO_REGION_INFO_FLAG_READ, 0x100, &rw_ops);
	struct vfk_region_desc wo = rdesc(VFIO_REGION_INFO_FLAG_WRITE, 0x100, &rw_ops);
	struct vfk_region_desc noops = rdesc(RW, 0x100, NULL);
	uint8_t buf[4] = { 0 };

	assert_int_equal(vfk_device_set_bar(dev, 0, &ro, 0), 0);
	assert_int_equal(vfk_device_set_bar(dev, 1, &wo, 0), 0);
	assert_int_equal(vfk_device_set_bar(dev, 2, &noops, 0), 0);
	assert_int_equal(vfk_region_write(dev, 0, buf, 4, 0), -EINVAL);
	assert_int_equal(vfk_region_read(dev, 1, buf, 4, 0), -EINVAL);
	assert_int_equal(tr.reads + tr.writes, 0);
	assert_int_equal(vfk_region_read(dev, 2, buf, 4, 0), -EINVAL);
	assert_int_equal(vfk_region_write(dev, 2, buf, 4, 0), -EINVAL);
	assert_int_equal(vfk_region_read(dev, 3, buf, 4, 0), -EINVAL);      /* unset BAR */
	assert_int_equal(vfk_region_read(dev, 9, buf, 4, 0), -EINVAL);      /* no such region */
	assert_int_equal(vfk_region_read(dev, UINT32_MAX, buf, 4, 0), -EINVAL);
	assert_int_equal(vfk_region_read(dev, 0, buf, 4, 0), 4);
	assert_int_equal(vfk_region_write(dev, 1, buf, 4, 0), 4);
}

static void test_op_results_checked(void **state)
{
	struct vfk_device *dev = *state;
	struct vfk_region_desc d = rdesc(RW, 0x100, &rw_ops);
	uint8_t buf[4];

	assert_int_equal(vfk_device_set_bar(dev, 0, &d, 0), 0);
	tr.ret_override = 8;      /* more than asked: a model bug */
	assert_int_equal(vfk_region_read(dev, 0, buf, 4, 0), -EIO);
	tr.ret_override = -ENXIO;
	assert_int_equal(vfk_region_write(dev, 0, buf, 4, 0), -ENXIO);
	tr.ret_override = 2;      /* short access passes through */
	assert_int_equal(vfk_region_read(dev, 0, buf, 4, 0), 2);
}

static void test_config_region_routed(void **state)
{
	struct vfk_device *dev = *state;
	const uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	uint16_t ids[2], got;
	uint32_t class_rev;

	assert_int_equal(vfk_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, ids, 4, 0), 4);
	assert_int_equal(ids[0], 0x1af4);
	assert_int_equal(ids[1], 0x1234);
	assert_int_equal(vfk_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, &class_rev, 4,
					 PCI_CLASS_REVISION), 4);
	assert_int_equal(class_rev >> 8, 0x020000);
	assert_int_equal(vfk_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX, &cmd, 2,
					  PCI_COMMAND), 2);
	assert_int_equal(vfk_pci_config_read(dev, &got, 2, PCI_COMMAND), 2);
	assert_int_equal(got, cmd);
	assert_int_equal(vfk_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, ids, 4,
					 VFK_PCI_CONFIG_SIZE - 2), -EINVAL);
	assert_int_equal(tr.reads + tr.writes, 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_arguments),
		T(test_destroy_hook_then_release),
		T(test_device_info),
		T(test_reset_order_and_effects),
		T(test_peer_gone_op),
		T(test_set_bar_rules),
		T(test_rom_and_vga),
		T(test_region_accessors),
		T(test_region_limit),
		T(test_read_write_bounds),
		T(test_read_write_index_and_flags),
		T(test_op_results_checked),
		T(test_config_region_routed),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
