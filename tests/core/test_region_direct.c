// SPDX-License-Identifier: MIT
/*
 * Unit tests of vfk_region_direct_read: the index, READ flag and bounds
 * checks in front of a region's direct op, and the cases that fall back
 * to NULL (no op, CONFIG, count 0, the op declining).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vfiokit/device.h>
#include <vfiokit/region.h>
#include <vfiokit/transport.h>

#define MEM_SIZE 4096u
#define HOLE_AT  2048u     /* the fake op declines ranges reaching here */

static uint8_t mem[MEM_SIZE];
static int direct_calls;

static ssize_t mem_read(struct vfk_device *dev, struct vfk_region *r, void *buf,
			size_t count, uint64_t offset)
{
	memcpy(buf, (const uint8_t *)vfk_region_priv(r) + offset, count);
	return (ssize_t)count;
}

/* Plain memory below HOLE_AT; the rest is "not memory" to the op. */
static const void *mem_direct(struct vfk_device *dev, struct vfk_region *r,
			      uint64_t offset, size_t count)
{
	direct_calls++;
	if (offset + count > HOLE_AT && r != vfk_device_region(dev, 0))
		return NULL;
	return (const uint8_t *)vfk_region_priv(r) + offset;
}

static const struct vfk_region_ops direct_ops = { .read = mem_read, .direct = mem_direct };
static const struct vfk_region_ops read_only_ops = { .read = mem_read };

static int setup(void **state)
{
	const struct vfk_device_desc desc = {
		.name = "direct", .vendor_id = 0x1af4, .device_id = 0x1234,
		.class_code = 0xff0000,
	};
	struct vfk_region_desc bar0 = { VFIO_REGION_INFO_FLAG_READ, MEM_SIZE, &direct_ops, mem };
	struct vfk_region_desc bar1 = { VFIO_REGION_INFO_FLAG_WRITE, MEM_SIZE, &direct_ops, mem };
	struct vfk_region_desc bar2 = { VFIO_REGION_INFO_FLAG_READ, MEM_SIZE, &read_only_ops, mem };
	struct vfk_region_desc extra = { VFIO_REGION_INFO_FLAG_READ, MEM_SIZE, &direct_ops, mem };
	struct vfk_device *dev;
	uint32_t index;

	for (unsigned int i = 0; i < MEM_SIZE; i++)
		mem[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(vfk_device_create(&desc, &dev), 0);
	assert_int_equal(vfk_device_set_bar(dev, 0, &bar0, 0), 0);
	assert_int_equal(vfk_device_set_bar(dev, 1, &bar1, 0), 0);
	assert_int_equal(vfk_device_set_bar(dev, 2, &bar2, 0), 0);
	assert_int_equal(vfk_device_add_region(dev, 1, 1, &extra, &index), 0);
	assert_int_equal(index, VFIO_PCI_NUM_REGIONS);
	direct_calls = 0;
	*state = dev;
	return 0;
}

static int teardown(void **state)
{
	vfk_device_destroy(*state);
	return 0;
}

static void test_points_at_the_bytes(void **state)
{
	struct vfk_device *dev = *state;
	const uint64_t offsets[] = { 0, 1, 4095, 100, 0 };
	const size_t counts[] = { MEM_SIZE, 16, 1, 3996, 1 };

	for (unsigned int i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		uint8_t copy[MEM_SIZE];
		const uint8_t *p = vfk_region_direct_read(dev, 0, offsets[i], counts[i]);

		assert_ptr_equal(p, mem + offsets[i]);
		assert_int_equal(vfk_region_read(dev, 0, copy, counts[i], offsets[i]),
				 (ssize_t)counts[i]);
		assert_memory_equal(p, copy, counts[i]);
	}
}

static void test_bounds_are_checked_before_the_op(void **state)
{
	struct vfk_device *dev = *state;

	assert_null(vfk_region_direct_read(dev, 0, 0, MEM_SIZE + 1));
	assert_null(vfk_region_direct_read(dev, 0, MEM_SIZE, 1));
	assert_null(vfk_region_direct_read(dev, 0, MEM_SIZE + 1, 0));
	assert_null(vfk_region_direct_read(dev, 0, 1, SIZE_MAX));
	assert_null(vfk_region_direct_read(dev, 0, UINT64_MAX, 2));
	assert_null(vfk_region_direct_read(dev, 0, 16, 0));
	assert_int_equal(direct_calls, 0);
	/* The last byte is in range. */
	assert_ptr_equal(vfk_region_direct_read(dev, 0, MEM_SIZE - 1, 1), mem + MEM_SIZE - 1);
	assert_int_equal(direct_calls, 1);
}

static void test_index_flag_and_op_are_checked(void **state)
{
	struct vfk_device *dev = *state;

	assert_null(vfk_region_direct_read(dev, 1, 0, 4));          /* write-only */
	assert_null(vfk_region_direct_read(dev, 2, 0, 4));          /* no direct op */
	assert_null(vfk_region_direct_read(dev, 3, 0, 4));          /* absent BAR */
	assert_null(vfk_region_direct_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, 0, 4));
	assert_null(vfk_region_direct_read(dev, VFIO_PCI_NUM_REGIONS + 1, 0, 4));
	assert_null(vfk_region_direct_read(dev, UINT32_MAX, 0, 4));
	assert_int_equal(direct_calls, 0);
}

static void test_op_may_decline(void **state)
{
	struct vfk_device *dev = *state;
	uint32_t extra = VFIO_PCI_NUM_REGIONS;

	assert_ptr_equal(vfk_region_direct_read(dev, extra, 0, HOLE_AT), mem);
	assert_null(vfk_region_direct_read(dev, extra, 0, HOLE_AT + 1));
	assert_null(vfk_region_direct_read(dev, extra, HOLE_AT, 16));
	assert_int_equal(direct_calls, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_points_at_the_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds_are_checked_before_the_op, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_index_flag_and_op_are_checked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_op_may_decline, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
