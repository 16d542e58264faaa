// SPDX-License-Identifier: MIT
/*
 * Unit tests of vfk_region_info(): every rule of
 * docs/regions-and-capabilities.md, byte for byte where it matters.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <vfiokit/caps.h>
#include <vfiokit/device.h>
#include <vfiokit/pci_config.h>
#include <vfiokit/region.h>
#include <vfiokit/transport.h>

#define TYPE_IBM_NPU    0x80001014u
#define TYPE_NVIDIA     0x800010deu
#define SUBTYPE_NVLINK2 1u
#define TGT             0x0000200000000000ull
#define LNKSPD          9u
#define GPU_RAM_SIZE    (128ull << 30)

/* What a test region's ops do, through the region's priv. */
struct fake {
	int calls;              /* add_capability calls */
	int fail_with;          /* add_capability returns this after appending */
	int fd;                 /* mmap op */
	uint64_t fd_offset;
	uint32_t nr_areas;
	struct vfk_mmap_area areas[VFK_MAX_MMAP_AREAS + 1];
	int mmap_ret;
};

static int atsd_caps(struct vfk_device *dev, struct vfk_region *r, struct vfk_caps *caps)
{
	struct fake *f = vfk_region_priv(r);
	int ret;

	f->calls++;
	ret = vfk_caps_add_nvlink2_ssatgt(caps, TGT);
	if (!ret)
		ret = vfk_caps_add_nvlink2_lnkspd(caps, LNKSPD);
	return ret ? ret : f->fail_with;
}

static int gpu_caps(struct vfk_device *dev, struct vfk_region *r, struct vfk_caps *caps)
{
	struct fake *f = vfk_region_priv(r);

	f->calls++;
	return vfk_caps_add_nvlink2_ssatgt(caps, TGT);
}

static int fake_mmap(struct vfk_device *dev, struct vfk_region *r, struct vfk_mmap_desc *d)
{
	struct fake *f = vfk_region_priv(r);

	/* The core hands a clean descriptor. */
	assert_int_equal(d->fd, -1);
	assert_int_equal(d->nr_areas, 0);
	if (f->mmap_ret)
		return f->mmap_ret;
	d->fd = f->fd;
	d->fd_offset = f->fd_offset;
	d->nr_areas = f->nr_areas;
	memcpy(d->areas, f->areas, sizeof(d->areas));
	return 0;
}

/* Appends a cap whose body counts the calls, and one more cap per call. */
static int counting_caps(struct vfk_device *dev, struct vfk_region *r, struct vfk_caps *caps)
{
	struct fake *f = vfk_region_priv(r);
	uint32_t n = (uint32_t)++f->calls;
	int ret = 0;

	for (uint32_t i = 0; i < n && !ret; i++)
		ret = vfk_caps_add(caps, 0x100, 1, &n, sizeof(n));
	return ret;
}

/* A vendor cap with a 5-byte body, then MSIX_MAPPABLE right behind its padding. */
static int odd_caps(struct vfk_device *dev, struct vfk_region *r, struct vfk_caps *caps)
{
	static const uint8_t body[5] = { 1, 2, 3, 4, 5 };
	int ret = vfk_caps_add(caps, 0x4242, 3, body, sizeof(body));

	return ret ? ret : vfk_caps_add_msix_mappable(caps);
}

static int huge_caps(struct vfk_device *dev, struct vfk_region *r, struct vfk_caps *caps)
{
	static uint8_t body[VFK_CAPS_MAX_SIZE];

	return vfk_caps_add(caps, 0x100, 1, body, sizeof(body));
}

static const struct vfk_region_ops atsd_ops = { .add_capability = atsd_caps };
static const struct vfk_region_ops gpu_ops = { .mmap = fake_mmap, .add_capability = gpu_caps };
static const struct vfk_region_ops mmap_ops = { .mmap = fake_mmap };
static const struct vfk_region_ops counting_ops = { .add_capability = counting_caps };
static const struct vfk_region_ops odd_ops = { .add_capability = odd_caps };
static const struct vfk_region_ops huge_ops = { .add_capability = huge_caps };

struct ctx {
	struct vfk_device *dev;
	struct fake fake;
	int memfd;
};

static int setup(void **state)
{
	static struct ctx c;
	const struct vfk_device_desc desc = {
		.name = "test", .vendor_id = 0x10de, .device_id = 0x1db1, .pcie = true,
	};

	memset(&c, 0, sizeof(c));
	c.memfd = memfd_create("test_region_info", MFD_CLOEXEC);
	assert_true(c.memfd >= 0);
	c.fake.fd = c.memfd;
	assert_int_equal(vfk_device_create(&desc, &c.dev), 0);
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	vfk_device_destroy(c->dev);
	close(c->memfd);
	return 0;
}

static uint32_t add_region(struct ctx *c, uint32_t type, uint32_t flags, uint64_t size,
			   const struct vfk_region_ops *ops)
{
	const struct vfk_region_desc d = { .flags = flags, .size = size, .ops = ops, .priv = &c->fake };
	uint32_t index = 0;

	assert_int_equal(vfk_device_add_region(c->dev, type, SUBTYPE_NVLINK2, &d, &index), 0);
	return index;
}

static struct vfio_region_info header(const void *reply)
{
	struct vfio_region_info info;

	memcpy(&info, reply, sizeof(info));
	return info;
}

static struct vfio_info_cap_header cap_at(const void *reply, size_t off)
{
	struct vfio_info_cap_header h;

	memcpy(&h, (const uint8_t *)reply + off, sizeof(h));
	return h;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void put_hdr(uint8_t *p, uint16_t id, uint16_t ver, uint32_t next)
{
	memcpy(p, &id, 2);
	memcpy(p + 2, &ver, 2);
	put32(p + 4, next);
}

static void test_atsd_layout_and_retry(void **state)
{
	struct ctx *c = *state;
	const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	uint32_t idx = add_region(c, TYPE_IBM_NPU, rw, 0, &atsd_ops);
	uint8_t expect[80] = { 0 };
	const void *reply;
	size_t len;
	int fd = 7;

	assert_int_equal(idx, VFIO_PCI_NUM_REGIONS);
	/* First call with the bare header: success, needed size, no chain. */
	assert_int_equal(vfk_region_info(c->dev, idx, 32, &reply, &len, &fd), 0);
	assert_int_equal(len, 32);
	assert_int_equal(fd, -1);
	assert_int_equal(header(reply).argsz, 80);
	assert_int_equal(header(reply).flags, rw | VFIO_REGION_INFO_FLAG_CAPS);
	assert_int_equal(header(reply).cap_offset, 0);
	assert_int_equal(header(reply).size, 0);
	/* One byte short of the chain is still "too small". */
	assert_int_equal(vfk_region_info(c->dev, idx, 79, &reply, &len, &fd), 0);
	assert_int_equal(len, 32);
	assert_int_equal(header(reply).cap_offset, 0);

	assert_int_equal(vfk_region_info(c->dev, idx, 80, &reply, &len, &fd), 0);
	assert_int_equal(len, 80);
	put32(expect + 0, 80);
	put32(expect + 4, rw | VFIO_REGION_INFO_FLAG_CAPS);
	put32(expect + 8, idx);
	put32(expect + 12, 32);
	put64(expect + 16, 0);
	put64(expect + 24, (uint64_t)idx << 40);
	put_hdr(expect + 32, VFIO_REGION_INFO_CAP_TYPE, 1, 48);
	put32(expect + 40, TYPE_IBM_NPU);
	put32(expect + 44, SUBTYPE_NVLINK2);
	put_hdr(expect + 48, VFIO_REGION_INFO_CAP_NVLINK2_SSATGT, 1, 64);
	put64(expect + 56, TGT);
	put_hdr(expect + 64, VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD, 1, 0);
	put32(expect + 72, LNKSPD);
	assert_memory_equal(reply, expect, sizeof(expect));
	/* A bigger buffer than needed gets the same answer. */
	assert_int_equal(vfk_region_info(c->dev, idx, 4096, &reply, &len, &fd), 0);
	assert_int_equal(len, 80);
	assert_memory_equal(reply, expect, sizeof(expect));
	assert_int_equal(c->fake.calls, 4);
}

static void test_gpu_ram_layout(void **state)
{
	struct ctx *c = *state;
	const uint32_t flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			       VFIO_REGION_INFO_FLAG_MMAP;
	uint32_t idx = add_region(c, TYPE_NVIDIA, flags, GPU_RAM_SIZE, &gpu_ops);
	struct vfio_region_info info;
	const void *reply;
	uint64_t tgt;
	size_t len;
	int fd = -1;

	c->fake.fd_offset = 0x10000;
	assert_int_equal(vfk_region_info(c->dev, idx, 32, &reply, &len, &fd), 0);
	assert_int_equal(header(reply).argsz, 64);
	assert_int_equal(vfk_region_info(c->dev, idx, 64, &reply, &len, &fd), 0);
	assert_int_equal(len, 64);
	info = header(reply);
	assert_int_equal(info.argsz, 64);
	assert_int_equal(info.flags, flags | VFIO_REGION_INFO_FLAG_CAPS);
	assert_int_equal(info.index, idx);
	assert_int_equal(info.cap_offset, 32);
	assert_true(info.size == GPU_RAM_SIZE);
	/* A mappable region reports where the mmap op says it lives. */
	assert_true(info.offset == 0x10000);
	assert_int_equal(fd, c->memfd);
	assert_int_equal(cap_at(reply, 32).id, VFIO_REGION_INFO_CAP_TYPE);
	assert_int_equal(cap_at(reply, 32).next, 48);
	assert_int_equal(cap_at(reply, 48).id, VFIO_REGION_INFO_CAP_NVLINK2_SSATGT);
	assert_int_equal(cap_at(reply, 48).next, 0);
	memcpy(&tgt, (const uint8_t *)reply + 56, sizeof(tgt));
	assert_true(tgt == TGT);
}

static void test_argsz_below_header(void **state)
{
	struct ctx *c = *state;
	const void *reply = NULL;
	size_t len = 0;
	int fd = 5;

	assert_int_equal(vfk_region_info(c->dev, VFIO_PCI_CONFIG_REGION_INDEX, 31,
					 &reply, &len, &fd), -EINVAL);
	assert_int_equal(vfk_region_info(c->dev, VFIO_PCI_CONFIG_REGION_INDEX, 0,
					 &reply, &len, &fd), -EINVAL);
	assert_null(reply);
	assert_int_equal(fd, 5);
	assert_int_equal(vfk_region_info(c->dev, VFIO_PCI_CONFIG_REGION_INDEX, 32,
					 &reply, &len, &fd), 0);
}

static void test_failing_hook(void **state)
{
	struct ctx *c = *state;
	uint32_t idx = add_region(c, TYPE_IBM_NPU, VFIO_REGION_INFO_FLAG_READ, 0, &atsd_ops);
	const void *reply = NULL;
	size_t len;
	int fd = 3;

	c->fake.fail_with = -EIO;
	assert_int_equal(vfk_region_info(c->dev, idx, 4096, &reply, &len, &fd), -EIO);
	assert_null(reply);
	assert_int_equal(fd, 3);
	/* A positive return is a failure too, reported as -EIO. */
	c->fake.fail_with = 1;
	assert_int_equal(vfk_region_info(c->dev, idx, 32, &reply, &len, &fd), -EIO);

	/* The device is still usable, and no cap of the failed call is left over. */
	assert_int_equal(vfk_region_info(c->dev, VFIO_PCI_CONFIG_REGION_INDEX, 4096,
					 &reply, &len, &fd), 0);
	assert_int_equal(len, 32);
	assert_int_equal(header(reply).argsz, 32);
	assert_int_equal(header(reply).flags & VFIO_REGION_INFO_FLAG_CAPS, 0);
	c->fake.fail_with = 0;
	assert_int_equal(vfk_region_info(c->dev, idx, 4096, &reply, &len, &fd), 0);
	assert_int_equal(header(reply).argsz, 80);
}

static void test_hook_over_limit_fails(void **state)
{
	struct ctx *c = *state;
	uint32_t idx = add_region(c, TYPE_IBM_NPU, VFIO_REGION_INFO_FLAG_READ, 0, &huge_ops);
	const void *reply;
	size_t len;
	int fd;

	assert_int_equal(vfk_region_info(c->dev, idx, 32, &reply, &len, &fd), -EINVAL);
}

static void test_zero_size_region_with_caps(void **state)
{
	struct ctx *c = *state;
	uint32_t idx = add_region(c, TYPE_IBM_NPU, 0, 0, &atsd_ops);
	const void *reply;
	size_t len;
	int fd;

	assert_int_equal(vfk_region_info(c->dev, idx, 80, &reply, &len, &fd), 0);
	assert_int_equal(header(reply).size, 0);
	assert_int_equal(header(reply).flags, VFIO_REGION_INFO_FLAG_CAPS);
	assert_int_equal(header(reply).cap_offset, 32);
	assert_int_equal(len, 80);
}

static void test_invalid_and_vga_indexes(void **state)
{
	struct ctx *c = *state;
	const struct vfk_region_desc vga = {
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		.size = 0xc0000,
	};
	const void *reply;
	size_t len;
	int fd;

	assert_int_equal(vfk_region_info(c->dev, VFIO_PCI_VGA_REGION_INDEX, 32,
					 &reply, &len, &fd), -EINVAL);
	assert_int_equal(vfk_region_info(c->dev, VFIO_PCI_NUM_REGIONS, 32,
					 &reply, &len, &fd), -EINVAL);
	assert_int_equal(vfk_region_info(c->dev, UINT32_MAX, 32, &reply, &len, &fd), -EINVAL);
	add_region(c, TYPE_IBM_NPU, 0, 0, NULL);
	assert_int_equal(vfk_region_info(c->dev, VFIO_PCI_NUM_REGIONS + 1, 32,
					 &reply, &len, &fd), -EINVAL);

	assert_int_equal(vfk_device_set_vga(c->dev, &vga), 0);
	assert_int_equal(vfk_region_info(c->dev, VFIO_PCI_VGA_REGION_INDEX, 32,
					 &reply, &len, &fd), 0);
	assert_int_equal(header(reply).size, 0xc0000);
	assert_int_equal(header(reply).index, VFIO_PCI_VGA_REGION_INDEX);
}

static void test_unset_bar_and_rom_answer_empty(void **state)
{
	struct ctx *c = *state;
	const void *reply;
	size_t len;
	int fd;

	for (uint32_t i = 0; i <= VFIO_PCI_ROM_REGION_INDEX; i++) {
		struct vfio_region_info info;

		assert_int_equal(vfk_region_info(c->dev, i, 32, &reply, &len, &fd), 0);
		info = header(reply);
		assert_int_equal(info.index, i);
		assert_int_equal(info.flags, 0);
		assert_int_equal(info.size, 0);
		assert_int_equal(info.argsz, 32);
		assert_true(info.offset == (uint64_t)i << 40);
	}
}

static void test_config_region(void **state)
{
	struct ctx *c = *state;
	struct vfio_region_info info;
	const void *reply;
	size_t len;
	int fd;

	assert_int_equal(vfk_region_info(c->dev, VFIO_PCI_CONFIG_REGION_INDEX, 32,
					 &reply, &len, &fd), 0);
	info = header(reply);
	assert_int_equal(info.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
	assert_int_equal(info.size, VFK_PCIE_CONFIG_SIZE);
	assert_true(info.offset == (uint64_t)VFIO_PCI_CONFIG_REGION_INDEX << 40);
	assert_int_equal(fd, -1);
}

static void test_odd_custom_cap_padding(void **state)
{
	struct ctx *c = *state;
	uint32_t atsd = add_region(c, TYPE_IBM_NPU, VFIO_REGION_INFO_FLAG_READ, 0, &atsd_ops);
	uint32_t idx = add_region(c, TYPE_IBM_NPU, VFIO_REGION_INFO_FLAG_READ, 0, &odd_ops);
	const uint8_t *r;
	const void *reply;
	size_t len;
	int fd;

	/* Leave SSATGT's non-zero byte 0x20 where the padding will go (61). */
	assert_int_equal(vfk_region_info(c->dev, atsd, 4096, &reply, &len, &fd), 0);
	assert_int_equal(((const uint8_t *)reply)[61], 0x20);
	assert_int_equal(vfk_region_info(c->dev, idx, 4096, &reply, &len, &fd), 0);
	r = reply;
	/* TYPE 32..47, custom 48..63 (8 header + 5 body + 3 zero), MSIX_MAPPABLE 64..71. */
	assert_int_equal(len, 72);
	assert_int_equal(header(reply).argsz, 72);
	assert_int_equal(cap_at(reply, 32).next, 48);
	assert_int_equal(cap_at(reply, 48).id, 0x4242);
	assert_int_equal(cap_at(reply, 48).version, 3);
	assert_int_equal(cap_at(reply, 48).next, 64);
	assert_memory_equal(r + 56, ((uint8_t[]){ 1, 2, 3, 4, 5 }), 5);
	assert_int_equal(r[61], 0);
	assert_int_equal(r[62], 0);
	assert_int_equal(r[63], 0);
	assert_int_equal(cap_at(reply, 64).id, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
	assert_int_equal(cap_at(reply, 64).next, 0);
}

static void test_no_caps_cap_offset_zero(void **state)
{
	struct ctx *c = *state;
	const struct vfk_region_desc bar = {
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE, .size = 0x1000,
	};
	uint32_t idx = add_region(c, TYPE_IBM_NPU, 0, 0, &atsd_ops);
	const void *reply;
	size_t len;
	int fd;

	assert_int_equal(vfk_device_set_bar(c->dev, 0, &bar, 0), 0);
	/* A reply with a chain first, so stale bytes would show. */
	assert_int_equal(vfk_region_info(c->dev, idx, 4096, &reply, &len, &fd), 0);
	assert_int_equal(header(reply).cap_offset, 32);

	assert_int_equal(vfk_region_info(c->dev, 0, 4096, &reply, &len, &fd), 0);
	assert_int_equal(len, 32);
	assert_int_equal(header(reply).argsz, 32);
	assert_int_equal(header(reply).cap_offset, 0);
	assert_int_equal(header(reply).flags, bar.flags);
	assert_int_equal(header(reply).size, 0x1000);
	assert_true(header(reply).offset == 0);
}

static void test_sparse_mmap_from_mmap_op(void **state)
{
	struct ctx *c = *state;
	const struct vfk_region_desc bar = {
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			 VFIO_REGION_INFO_FLAG_MMAP,
		.size = 0x10000, .ops = &mmap_ops, .priv = &c->fake,
	};
	struct vfio_region_info_cap_sparse_mmap sp;
	struct vfio_region_sparse_mmap_area a[2];
	const uint8_t *r;
	const void *reply;
	size_t len;
	int fd;

	c->fake.nr_areas = 2;
	c->fake.areas[0] = (struct vfk_mmap_area){ 0, 0x2000 };
	c->fake.areas[1] = (struct vfk_mmap_area){ 0x4000, 0xc000 };
	c->fake.fd_offset = 0x200000;
	assert_int_equal(vfk_device_set_bar(c->dev, 2, &bar, VFK_BAR_MEM64), 0);
	assert_int_equal(vfk_region_info(c->dev, 2, 32, &reply, &len, &fd), 0);
	assert_int_equal(header(reply).argsz, 32 + 16 + 32);
	assert_int_equal(vfk_region_info(c->dev, 2, 80, &reply, &len, &fd), 0);
	r = reply;
	assert_int_equal(len, 80);
	assert_int_equal(fd, c->memfd);
	assert_true(header(reply).offset == 0x200000);
	assert_int_equal(header(reply).cap_offset, 32);
	memcpy(&sp, r + 32, sizeof(sp));
	assert_int_equal(sp.header.id, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	assert_int_equal(sp.header.next, 0);
	assert_int_equal(sp.nr_areas, 2);
	memcpy(a, r + 32 + sizeof(sp), sizeof(a));
	assert_int_equal(a[0].offset, 0);
	assert_int_equal(a[0].size, 0x2000);
	assert_int_equal(a[1].offset, 0x4000);
	assert_int_equal(a[1].size, 0xc000);

	/* Without areas the whole region maps: no SPARSE_MMAP. */
	c->fake.nr_areas = 0;
	assert_int_equal(vfk_region_info(c->dev, 2, 80, &reply, &len, &fd), 0);
	assert_int_equal(len, 32);
	assert_int_equal(header(reply).cap_offset, 0);
	assert_int_equal(header(reply).flags & VFIO_REGION_INFO_FLAG_CAPS, 0);
}

static void test_bad_mmap_answers_fail(void **state)
{
	struct ctx *c = *state;
	const uint32_t flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP;
	uint32_t idx = add_region(c, TYPE_NVIDIA, flags, 0x1000, &mmap_ops);
	const void *reply;
	size_t len;
	int fd;

	c->fake.fd = -1;
	assert_int_equal(vfk_region_info(c->dev, idx, 32, &reply, &len, &fd), -EINVAL);
	c->fake.fd = c->memfd;
	c->fake.nr_areas = 1;
	c->fake.areas[0] = (struct vfk_mmap_area){ 0x800, 0x1000 };
	assert_int_equal(vfk_region_info(c->dev, idx, 32, &reply, &len, &fd), -EINVAL);
	c->fake.areas[0] = (struct vfk_mmap_area){ 0x1000, UINT64_MAX };
	assert_int_equal(vfk_region_info(c->dev, idx, 32, &reply, &len, &fd), -EINVAL);
	c->fake.areas[0] = (struct vfk_mmap_area){ 0, 0x1000 };
	c->fake.nr_areas = VFK_MAX_MMAP_AREAS + 1;
	assert_int_equal(vfk_region_info(c->dev, idx, 32, &reply, &len, &fd), -EINVAL);
	c->fake.nr_areas = 0;
	c->fake.mmap_ret = -ENODEV;
	assert_int_equal(vfk_region_info(c->dev, idx, 32, &reply, &len, &fd), -ENODEV);
	c->fake.mmap_ret = 0;
	assert_int_equal(vfk_region_info(c->dev, idx, 32, &reply, &len, &fd), 0);
	assert_int_equal(header(reply).argsz, 48);
}

static void test_msix_mappable(void **state)
{
	struct ctx *c = *state;
	const struct vfk_region_desc mappable = {
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			 VFIO_REGION_INFO_FLAG_MMAP,
		.size = 0x4000, .ops = &mmap_ops, .priv = &c->fake,
	};
	const void *reply;
	size_t len;
	int fd;

	assert_int_equal(vfk_device_set_bar(c->dev, 0, &mappable, 0), 0);
	assert_int_equal(vfk_device_set_bar(c->dev, 3, &mappable, 0), 0);
	assert_int_equal(vfk_pci_add_msix_cap(c->dev, 5, 3, 0, 3, 0x2000), 0);

	/* As vfio-pci on an e1000e: BAR3 with one MSIX_MAPPABLE, 32 then 40. */
	assert_int_equal(vfk_region_info(c->dev, 3, 32, &reply, &len, &fd), 0);
	assert_int_equal(header(reply).argsz, 40);
	assert_int_equal(header(reply).flags, mappable.flags | VFIO_REGION_INFO_FLAG_CAPS);
	assert_int_equal(vfk_region_info(c->dev, 3, 40, &reply, &len, &fd), 0);
	assert_int_equal(len, 40);
	assert_int_equal(header(reply).cap_offset, 32);
	assert_int_equal(cap_at(reply, 32).id, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
	assert_int_equal(cap_at(reply, 32).version, 1);
	assert_int_equal(cap_at(reply, 32).next, 0);

	/* Another mappable BAR does not get it. */
	assert_int_equal(vfk_region_info(c->dev, 0, 40, &reply, &len, &fd), 0);
	assert_int_equal(header(reply).flags & VFIO_REGION_INFO_FLAG_CAPS, 0);
}

static void test_msix_bar_not_mappable(void **state)
{
	struct ctx *c = *state;
	const struct vfk_region_desc plain = {
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE, .size = 0x4000,
	};
	const void *reply;
	size_t len;
	int fd;

	assert_int_equal(vfk_device_set_bar(c->dev, 1, &plain, 0), 0);
	assert_int_equal(vfk_pci_add_msix_cap(c->dev, 4, 1, 0, 1, 0x1000), 0);
	assert_int_equal(vfk_region_info(c->dev, 1, 64, &reply, &len, &fd), 0);
	assert_int_equal(header(reply).argsz, 32);
	assert_int_equal(header(reply).cap_offset, 0);
}

static void test_hook_called_every_request(void **state)
{
	struct ctx *c = *state;
	uint32_t idx = add_region(c, TYPE_IBM_NPU, 0, 0, &counting_ops);
	const void *reply;
	uint32_t n;
	size_t len;
	int fd;

	/* Call 1: TYPE + 1 cap = 32 + 16 + 16. */
	assert_int_equal(vfk_region_info(c->dev, idx, 32, &reply, &len, &fd), 0);
	assert_int_equal(header(reply).argsz, 64);
	/* Call 2 rebuilt with 2 caps: the size from call 1 is too small now. */
	assert_int_equal(vfk_region_info(c->dev, idx, 64, &reply, &len, &fd), 0);
	assert_int_equal(len, 32);
	assert_int_equal(header(reply).argsz, 80);
	assert_int_equal(header(reply).cap_offset, 0);
	/* Call 3: 3 caps, 96 bytes, each body saying 3. */
	assert_int_equal(vfk_region_info(c->dev, idx, 96, &reply, &len, &fd), 0);
	assert_int_equal(len, 96);
	assert_int_equal(cap_at(reply, 48).next, 64);
	assert_int_equal(cap_at(reply, 64).next, 80);
	assert_int_equal(cap_at(reply, 80).next, 0);
	memcpy(&n, (const uint8_t *)reply + 88, sizeof(n));
	assert_int_equal(n, 3);
	assert_int_equal(c->fake.calls, 3);
}

static void test_reply_buffer_reused(void **state)
{
	struct ctx *c = *state;
	uint32_t idx = add_region(c, TYPE_IBM_NPU, 0, 0, &atsd_ops);
	const void *first, *reply;
	size_t len;
	int fd;

	assert_int_equal(vfk_region_info(c->dev, idx, 80, &first, &len, &fd), 0);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(vfk_region_info(c->dev, i % 2 ? idx : 7, 80, &reply, &len, &fd), 0);
		assert_ptr_equal(reply, first);
	}
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_atsd_layout_and_retry),
		T(test_gpu_ram_layout),
		T(test_argsz_below_header),
		T(test_failing_hook),
		T(test_hook_over_limit_fails),
		T(test_zero_size_region_with_caps),
		T(test_invalid_and_vga_indexes),
		T(test_unset_bar_and_rom_answer_empty),
		T(test_config_region),
		T(test_odd_custom_cap_padding),
		T(test_no_caps_cap_offset_zero),
		T(test_sparse_mmap_from_mmap_op),
		T(test_bad_mmap_answers_fail),
		T(test_msix_mappable),
		T(test_msix_bar_not_mappable),
		T(test_hook_called_every_request),
		T(test_reply_buffer_reused),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
