// SPDX-License-Identifier: MIT
/* Capability chain parser against crafted, hostile region-info answers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <vfiokit/capchain.h>

#define BUF_SIZE 4096

/* A region-info answer under construction; +1 so it can be used misaligned. */
struct answer {
	uint8_t storage[BUF_SIZE + 8];
	uint8_t *buf;
	size_t len;
};

static void answer_init(struct answer *a, size_t len, uint32_t cap_offset, size_t shift)
{
	struct vfio_region_info hdr = {
		.argsz = (uint32_t)len,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_CAPS,
		.cap_offset = cap_offset,
		.size = 0x1000,
	};

	memset(a->storage, 0, sizeof(a->storage));
	a->buf = a->storage + shift;
	a->len = len;
	memcpy(a->buf, &hdr, sizeof(hdr));
}

static void put_hdr(struct answer *a, uint32_t off, uint16_t id, uint16_t version, uint32_t next)
{
	struct vfio_info_cap_header h = { .id = id, .version = version, .next = next };

	memcpy(a->buf + off, &h, sizeof(h));
}

static void put_u32(struct answer *a, uint32_t off, uint32_t v)
{
	memcpy(a->buf + off, &v, sizeof(v));
}

static void put_u64(struct answer *a, uint32_t off, uint64_t v)
{
	memcpy(a->buf + off, &v, sizeof(v));
}

static struct vfk_cap_chain chain;

/* The answer parses into chain with count caps. */
static void expect_parsed(struct answer *a, unsigned int count)
{
	char err[128] = "";

	if (vfk_capchain_parse(a->buf, a->len, &chain, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	assert_int_equal(chain.count, count);
}

/* The answer is refused as malformed, saying why (NULL: whatever it says). */
static void expect_refused(struct answer *a, const char *why)
{
	char err[128] = "";

	assert_int_equal(vfk_capchain_parse(a->buf, a->len, &chain, err, sizeof(err)), -EPROTO);
	if (why && !strstr(err, why))
		fail_msg("\"%s\" not in \"%s\"", why, err);
}

/* An answer of len bytes that points at cap_offset and has no cap: refused. */
static void expect_cap_offset_refused(size_t len, uint32_t cap_offset, const char *why)
{
	struct answer a;

	answer_init(&a, len, cap_offset, 0);
	expect_refused(&a, why);
}

/* An answer of len bytes whose only cap, at 32, is id with next: refused. */
static void expect_lone_cap_refused(size_t len, uint16_t id, uint32_t next, const char *why)
{
	struct answer a;

	answer_init(&a, len, 32, 0);
	put_hdr(&a, 32, id, 1, next);
	expect_refused(&a, why);
}

static void test_no_caps(void **state)
{
	struct answer a;

	answer_init(&a, 32, 0, 0);
	expect_parsed(&a, 0);

	/* cap_offset is meaningless without FLAG_CAPS: it must not be followed. */
	answer_init(&a, 32, 64, 0);
	a.buf[4] = VFIO_REGION_INFO_FLAG_READ;
	expect_parsed(&a, 0);
}

static void test_short_info(void **state)
{
	struct answer a;

	answer_init(&a, 32, 0, 0);
	a.len = 31;
	expect_refused(&a, "less than 32");
}

/* The ATSD layout of the contract: TYPE, SSATGT, LNKSPD; parsed misaligned. */
static void test_atsd_layout_misaligned(void **state)
{
	struct answer a;

	answer_init(&a, 80, 32, 1);
	put_hdr(&a, 32, VFIO_REGION_INFO_CAP_TYPE, 1, 48);
	put_u32(&a, 40, 0x80001014);
	put_u32(&a, 44, 1);
	put_hdr(&a, 48, VFIO_REGION_INFO_CAP_NVLINK2_SSATGT, 1, 64);
	put_u64(&a, 56, 0x123456789abcdef0ull);
	put_hdr(&a, 64, VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD, 1, 0);
	put_u32(&a, 72, 9);

	expect_parsed(&a, 3);
	assert_int_equal(chain.caps[0].status, VFK_CAP_OK);
	assert_int_equal(chain.caps[0].u.type.type, 0x80001014);
	assert_int_equal(chain.caps[0].u.type.subtype, 1);
	assert_int_equal(chain.caps[0].raw_len, 16);
	assert_ptr_equal(chain.caps[0].raw, a.buf + 32);
	assert_int_equal(chain.caps[1].u.ssatgt, 0x123456789abcdef0ull);
	assert_int_equal(chain.caps[1].offset, 48);
	assert_int_equal(chain.caps[2].u.lnkspd, 9);
	assert_ptr_equal(vfk_capchain_find(&chain, VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD),
			 &chain.caps[2]);
	assert_null(vfk_capchain_find(&chain, VFIO_REGION_INFO_CAP_SPARSE_MMAP));
	assert_string_equal(vfk_region_type_name(0x80001014, 1), "IBM NVLink2 ATSD");
}

static void test_msix_mappable(void **state)
{
	struct answer a;

	answer_init(&a, 40, 32, 0);
	put_hdr(&a, 32, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 1, 0);
	expect_parsed(&a, 1);
	assert_int_equal(chain.caps[0].status, VFK_CAP_OK);
	assert_int_equal(chain.caps[0].raw_len, 8);
	assert_string_equal(vfk_cap_name(chain.caps[0].id), "MSIX_MAPPABLE");
}

static void test_sparse_valid(void **state)
{
	struct vfio_region_sparse_mmap_area area;
	struct answer a;

	answer_init(&a, 32 + 16 + 32, 32, 3);
	put_hdr(&a, 32, VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1, 0);
	put_u32(&a, 40, 2);
	put_u64(&a, 48, 0x0);
	put_u64(&a, 56, 0x1000);
	put_u64(&a, 64, 0x3000);
	put_u64(&a, 72, 0x1000);
	expect_parsed(&a, 1);
	assert_int_equal(chain.caps[0].u.sparse.nr_areas, 2);
	assert_int_equal(chain.caps[0].raw_len, 48);
	assert_true(vfk_cap_sparse_area(&chain.caps[0], 1, &area));
	assert_int_equal(area.offset, 0x3000);
	assert_int_equal(area.size, 0x1000);
	assert_false(vfk_cap_sparse_area(&chain.caps[0], 2, &area));
}

static void test_sparse_oversized_nr_areas(void **state)
{
	static const uint32_t counts[] = { 2, 0x10000000u, 0xffffffffu };
	struct answer a;

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		answer_init(&a, 32 + 16 + 16, 32, 0);
		put_hdr(&a, 32, VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1, 0);
		put_u32(&a, 40, counts[i]);
		expect_refused(&a, "room for 1");
	}
}

static void test_truncated_known_cap(void **state)
{
	/* TYPE needs 16 bytes, the answer stops 8 bytes in. */
	expect_lone_cap_refused(40, VFIO_REGION_INFO_CAP_TYPE, 0,
				"TYPE capability at 32 needs 16 bytes");
}

static void test_truncated_header(void **state)
{
	expect_cap_offset_refused(36, 32, "does not fit");

	/* A next pointing past the end. */
	expect_lone_cap_refused(48, VFIO_REGION_INFO_CAP_TYPE, 0x7ffffff0, "does not fit");
}

static void test_misaligned(void **state)
{
	expect_cap_offset_refused(64, 34, "not 4-byte aligned");
	expect_lone_cap_refused(64, VFIO_REGION_INFO_CAP_TYPE, 50,
				"offset 50 is not 4-byte aligned");
}

static void test_next_into_header(void **state)
{
	expect_lone_cap_refused(64, VFIO_REGION_INFO_CAP_TYPE, 8,
				"offset 8 points into the 32-byte");
	/* cap_offset itself inside the header. */
	expect_cap_offset_refused(64, 16, NULL);
}

static void test_loop(void **state)
{
	struct answer a;

	answer_init(&a, 64, 32, 0);
	put_hdr(&a, 32, VFIO_REGION_INFO_CAP_TYPE, 1, 48);
	put_hdr(&a, 48, VFIO_REGION_INFO_CAP_NVLINK2_SSATGT, 1, 32);
	expect_refused(&a, "loops back to offset 32");

	/* A cap that names itself as next. */
	expect_lone_cap_refused(40, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 32, NULL);
}

static void test_overlap_into_known_body(void **state)
{
	expect_lone_cap_refused(64, VFIO_REGION_INFO_CAP_TYPE, 40, "overlaps");
}

/* Unknown caps 4 bytes apart: no loop, but more steps than 8-byte caps allow. */
static void test_step_limit(void **state)
{
	struct answer a;

	/* Headers overlap: the cap at 36 is {id 36, version 0, next 40}. */
	answer_init(&a, 48, 32, 0);
	put_hdr(&a, 32, 0x77, 1, 36);
	put_u32(&a, 40, 40);
	put_u32(&a, 44, 0);
	expect_refused(&a, "longer than 2 steps");

	/* Two steps are fine: the cap at 36 now ends the chain. */
	put_u32(&a, 40, 0);
	expect_parsed(&a, 2);
}

static void test_too_many_caps(void **state)
{
	struct answer a;
	uint32_t off = 32;

	answer_init(&a, 32 + 8 * (VFK_MAX_CAPS + 1), 32, 0);
	for (int i = 0; i <= VFK_MAX_CAPS; i++, off += 8)
		put_hdr(&a, off, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 1, i == VFK_MAX_CAPS ? 0 : off + 8);
	expect_refused(&a, "more than 64");
}

static void test_unknown_id(void **state)
{
	struct answer a;

	answer_init(&a, 32 + 24 + 8, 32, 0);
	put_hdr(&a, 32, 0x4242, 3, 56);
	put_u64(&a, 40, 0xdeadbeefcafef00dull);
	put_hdr(&a, 56, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 1, 0);
	expect_parsed(&a, 2);
	assert_int_equal(chain.caps[0].status, VFK_CAP_UNKNOWN_ID);
	assert_int_equal(chain.caps[0].id, 0x4242);
	assert_int_equal(chain.caps[0].version, 3);
	assert_int_equal(chain.caps[0].raw_len, 24);
	assert_memory_equal(chain.caps[0].raw + 8, "\x0d\xf0\xfe\xca\xef\xbe\xad\xde", 8);
	assert_null(vfk_cap_name(0x4242));
	assert_int_equal(chain.caps[1].status, VFK_CAP_OK);

	/* The last unknown cap runs to the end of the answer. */
	answer_init(&a, 60, 32, 0);
	put_hdr(&a, 32, 0x4242, 1, 0);
	expect_parsed(&a, 1);
	assert_int_equal(chain.caps[0].raw_len, 28);
}

/* SPARSE_MMAP v2 with a huge nr_areas must be reported, not decoded. */
static void test_unknown_version(void **state)
{
	struct answer a;

	answer_init(&a, 48, 32, 0);
	put_hdr(&a, 32, VFIO_REGION_INFO_CAP_SPARSE_MMAP, 2, 0);
	put_u32(&a, 40, 0xffffffffu);
	expect_parsed(&a, 1);
	assert_int_equal(chain.caps[0].status, VFK_CAP_UNKNOWN_VERSION);
	assert_int_equal(chain.caps[0].u.sparse.nr_areas, 0);
	assert_int_equal(chain.caps[0].raw_len, 16);
	assert_null(vfk_capchain_find(&chain, VFIO_REGION_INFO_CAP_SPARSE_MMAP));
}

static void test_names(void **state)
{
	assert_string_equal(vfk_region_type_name(0x800010de, 1), "NVIDIA NVLink2 RAM");
	assert_string_equal(vfk_region_type_name(VFIO_REGION_TYPE_GFX, 1), "GFX EDID");
	assert_string_equal(vfk_region_type_name(0x80008086, 1), "Intel IGD OpRegion");
	assert_string_equal(vfk_region_type_name(0x80008086, 2), "Intel IGD host config");
	assert_string_equal(vfk_region_type_name(0x80008086, 3), "Intel IGD LPC config");
	assert_string_equal(vfk_region_type_name(VFIO_REGION_TYPE_CCW, 2), "CCW SCHIB");
	assert_non_null(vfk_region_type_name(VFIO_REGION_TYPE_CCW, 1));
	assert_non_null(vfk_region_type_name(VFIO_REGION_TYPE_CCW, 3));
	assert_non_null(vfk_region_type_name(VFIO_REGION_TYPE_MIGRATION_DEPRECATED, 1));
	assert_null(vfk_region_type_name(0x80001234, 1));
	assert_string_equal(vfk_cap_name(1), "SPARSE_MMAP");
	assert_string_equal(vfk_cap_name(4), "NVLINK2_SSATGT");
	assert_string_equal(vfk_pci_region_name(7), "CONFIG");
	assert_null(vfk_pci_region_name(9));
	assert_string_equal(vfk_pci_irq_name(2), "MSI-X");
	assert_null(vfk_pci_irq_name(5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_caps),
		cmocka_unit_test(test_short_info),
		cmocka_unit_test(test_atsd_layout_misaligned),
		cmocka_unit_test(test_msix_mappable),
		cmocka_unit_test(test_sparse_valid),
		cmocka_unit_test(test_sparse_oversized_nr_areas),
		cmocka_unit_test(test_truncated_known_cap),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_misaligned),
		cmocka_unit_test(test_next_into_header),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_overlap_into_known_body),
		cmocka_unit_test(test_step_limit),
		cmocka_unit_test(test_too_many_caps),
		cmocka_unit_test(test_unknown_id),
		cmocka_unit_test(test_unknown_version),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
