// SPDX-License-Identifier: MIT
/* Unit tests of the capability chain builder (src/core/caps.c). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vfiokit/caps.h>
#include <vfiokit/region.h>

static struct vfio_info_cap_header cap_at(const struct vfk_caps *caps, size_t off)
{
	struct vfio_info_cap_header h;

	assert_true(off + sizeof(h) <= vfk_caps_size(caps));
	memcpy(&h, (const uint8_t *)vfk_caps_data(caps) + off, sizeof(h));
	return h;
}

static void test_empty(void **state)
{
	struct vfk_caps *caps = vfk_caps_new();

	(void)state;
	assert_non_null(caps);
	assert_int_equal(vfk_caps_size(caps), 0);
	vfk_caps_free(caps);
	vfk_caps_free(NULL);
}

static void test_order_and_links(void **state)
{
	struct vfk_caps *caps = vfk_caps_new();
	struct vfio_info_cap_header h;
	uint64_t tgt;
	uint32_t w[2];

	(void)state;
	assert_int_equal(vfk_caps_add_type(caps, 0x80001014, 1), 0);
	assert_int_equal(vfk_caps_add_nvlink2_ssatgt(caps, 0x123456789abcdef0ull), 0);
	assert_int_equal(vfk_caps_add_nvlink2_lnkspd(caps, 9), 0);
	assert_int_equal(vfk_caps_size(caps), 48);

	h = cap_at(caps, 0);
	assert_int_equal(h.id, VFIO_REGION_INFO_CAP_TYPE);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.next, 16);
	memcpy(w, (const uint8_t *)vfk_caps_data(caps) + 8, sizeof(w));
	assert_int_equal(w[0], 0x80001014);
	assert_int_equal(w[1], 1);

	h = cap_at(caps, 16);
	assert_int_equal(h.id, VFIO_REGION_INFO_CAP_NVLINK2_SSATGT);
	assert_int_equal(h.next, 32);
	memcpy(&tgt, (const uint8_t *)vfk_caps_data(caps) + 24, sizeof(tgt));
	assert_true(tgt == 0x123456789abcdef0ull);

	h = cap_at(caps, 32);
	assert_int_equal(h.id, VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD);
	assert_int_equal(h.next, 0);
	memcpy(w, (const uint8_t *)vfk_caps_data(caps) + 40, sizeof(w));
	assert_int_equal(w[0], 9);
	assert_int_equal(w[1], 0);
	vfk_caps_free(caps);
}

static void test_odd_size_padded_with_zeros(void **state)
{
	static const uint8_t body[5] = { 0xff, 0xff, 0xff, 0xff, 0xff };
	struct vfk_caps *caps = vfk_caps_new();
	const uint8_t *data;

	(void)state;
	/* Dirty the buffer first so stale bytes would show through padding. */
	assert_int_equal(vfk_caps_add(caps, 0x7777, 1, (uint8_t[16]){
		[0 ... 15] = 0xee }, 16), 0);
	vfk_caps_reset(caps);

	assert_int_equal(vfk_caps_add(caps, 0x1234, 2, body, sizeof(body)), 0);
	assert_int_equal(vfk_caps_size(caps), 16);
	assert_int_equal(vfk_caps_add_msix_mappable(caps), 0);
	assert_int_equal(vfk_caps_size(caps), 24);
	data = vfk_caps_data(caps);
	assert_memory_equal(data + 8, body, sizeof(body));
	for (size_t i = 8 + sizeof(body); i < 16; i++)
		assert_int_equal(data[i], 0);
	assert_int_equal(cap_at(caps, 0).id, 0x1234);
	assert_int_equal(cap_at(caps, 0).version, 2);
	assert_int_equal(cap_at(caps, 0).next, 16);
	assert_int_equal(cap_at(caps, 16).id, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
	assert_int_equal(cap_at(caps, 16).next, 0);
	vfk_caps_free(caps);
}

static void test_sparse_mmap(void **state)
{
	const struct vfk_mmap_area areas[2] = { { 0, 0x1000 }, { 0x3000, 0x2000 } };
	struct vfk_caps *caps = vfk_caps_new();
	struct vfio_region_info_cap_sparse_mmap sp;
	struct vfio_region_sparse_mmap_area a[2];
	const uint8_t *data;

	(void)state;
	assert_int_equal(vfk_caps_add_sparse_mmap(caps, areas, 2), 0);
	assert_int_equal(vfk_caps_size(caps), 16 + 2 * 16);
	data = vfk_caps_data(caps);
	memcpy(&sp, data, sizeof(sp));
	assert_int_equal(sp.header.id, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	assert_int_equal(sp.header.version, 1);
	assert_int_equal(sp.header.next, 0);
	assert_int_equal(sp.nr_areas, 2);
	assert_int_equal(sp.reserved, 0);
	memcpy(a, data + sizeof(sp), sizeof(a));
	assert_int_equal(a[0].offset, 0);
	assert_int_equal(a[0].size, 0x1000);
	assert_int_equal(a[1].offset, 0x3000);
	assert_int_equal(a[1].size, 0x2000);
	vfk_caps_free(caps);
}

static void test_limits_leave_chain_unchanged(void **state)
{
	static uint8_t big[VFK_CAPS_MAX_SIZE];
	const struct vfk_mmap_area area = { 0, 0x1000 };
	struct vfk_caps *caps = vfk_caps_new();
	uint8_t before[16];

	(void)state;
	assert_int_equal(vfk_caps_add_type(caps, 1, 1), 0);
	memcpy(before, vfk_caps_data(caps), sizeof(before));

	assert_int_equal(vfk_caps_add(caps, 9, 1, big, sizeof(big)), -EINVAL);
	assert_int_equal(vfk_caps_add(caps, 9, 1, big, VFK_CAPS_MAX_SIZE - 16), -EINVAL);
	assert_int_equal(vfk_caps_add(caps, 9, 1, big, SIZE_MAX), -EINVAL);
	assert_int_equal(vfk_caps_add(caps, 9, 1, NULL, 4), -EINVAL);
	assert_int_equal(vfk_caps_add_sparse_mmap(caps, NULL, 1), -EINVAL);
	assert_int_equal(vfk_caps_add_sparse_mmap(caps, &area, UINT32_MAX), -EINVAL);
	assert_int_equal(vfk_caps_size(caps), 16);
	assert_memory_equal(vfk_caps_data(caps), before, sizeof(before));
	assert_int_equal(cap_at(caps, 0).next, 0);

	/* Exactly the limit still fits. */
	assert_int_equal(vfk_caps_add(caps, 9, 1, big, VFK_CAPS_MAX_SIZE - 16 - 8), 0);
	assert_int_equal(vfk_caps_size(caps), VFK_CAPS_MAX_SIZE);
	assert_int_equal(cap_at(caps, 0).next, 16);
	assert_int_equal(vfk_caps_add_msix_mappable(caps), -EINVAL);
	vfk_caps_free(caps);
}

static void test_reset_reuses_and_relinks(void **state)
{
	struct vfk_caps *caps = vfk_caps_new();
	const void *buf;

	(void)state;
	for (int i = 0; i < 8; i++)
		assert_int_equal(vfk_caps_add_type(caps, 1, (uint32_t)i), 0);
	buf = vfk_caps_data(caps);
	vfk_caps_reset(caps);
	assert_int_equal(vfk_caps_size(caps), 0);
	assert_int_equal(vfk_caps_add_msix_mappable(caps), 0);
	assert_ptr_equal(vfk_caps_data(caps), buf);
	/* The first cap after a reset starts a new chain: next is 0. */
	assert_int_equal(cap_at(caps, 0).next, 0);
	assert_int_equal(cap_at(caps, 0).id, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
	vfk_caps_free(caps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_order_and_links),
		cmocka_unit_test(test_odd_size_padded_with_zeros),
		cmocka_unit_test(test_sparse_mmap),
		cmocka_unit_test(test_limits_leave_chain_unchanged),
		cmocka_unit_test(test_reset_reuses_and_relinks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
