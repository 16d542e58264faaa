// SPDX-License-Identifier: MIT
/*
 * The V100 and NPU2 models through the core API: region info byte for
 * byte as the contract's worked examples, GPU RAM through
 * vfk_region_read/write and through the fd the region hands out, the
 * BAR0 register file, a zero-size ATSD region, device memory sealed and
 * emptied when the peer leaves, and option handling.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <vfiokit/device.h>
#include <vfiokit/pci_config.h>
#include <vfiokit/region.h>
#include <vfiokit/transport.h>

#include "models.h"
#include "npu2.h"
#include "v100.h"

#define FIRST_EXTRA VFIO_PCI_NUM_REGIONS
#define GIB (1ull << 30)

static struct vfk_device *make(const char *model, const char *const *kv, size_t nkv)
{
	struct vfk_device *dev = NULL;
	char err[128] = "";

	assert_int_equal(vfk_model_create(model, model, kv, nkv, &dev, err, sizeof(err)), 0);
	assert_non_null(dev);
	return dev;
}

struct info_view {
	struct vfio_region_info hdr;
	const uint8_t *bytes;
	size_t len;
	int fd;
};

static struct info_view info(struct vfk_device *dev, uint32_t index, uint32_t argsz)
{
	struct info_view v = { .fd = -2 };
	const void *reply;

	assert_int_equal(vfk_region_info(dev, index, argsz, &reply, &v.len, &v.fd), 0);
	assert_true(v.len >= sizeof(v.hdr));
	memcpy(&v.hdr, reply, sizeof(v.hdr));
	v.bytes = reply;
	return v;
}

static void expect_cap(const uint8_t *bytes, uint32_t at, uint16_t id, uint32_t next)
{
	struct vfio_info_cap_header h;

	memcpy(&h, bytes + at, sizeof(h));
	assert_int_equal(h.id, id);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.next, next);
}

static uint64_t u64_at(const uint8_t *bytes, uint32_t at)
{
	uint64_t v;

	memcpy(&v, bytes + at, sizeof(v));
	return v;
}

static uint32_t u32_at(const uint8_t *bytes, uint32_t at)
{
	uint32_t v;

	memcpy(&v, bytes + at, sizeof(v));
	return v;
}

/* The head of every NVLink2 region's chain: TYPE (type, subtype) at 32,
 * then SSATGT at 48 holding tgt and pointing at next. */
static void expect_nvlink2_head(const uint8_t *bytes, uint32_t type, uint32_t subtype,
				uint64_t tgt, uint32_t next)
{
	expect_cap(bytes, 32, VFIO_REGION_INFO_CAP_TYPE, 48);
	assert_int_equal(u32_at(bytes, 40), type);
	assert_int_equal(u32_at(bytes, 44), subtype);
	expect_cap(bytes, 48, VFIO_REGION_INFO_CAP_NVLINK2_SSATGT, next);
	assert_true(u64_at(bytes, 56) == tgt);
}

static void test_gpu_ram_info(void **state)
{
	struct vfk_device *dev = make("v100", NULL, 0);
	const uint32_t rwm = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			     VFIO_REGION_INFO_FLAG_MMAP;
	struct info_view v = info(dev, FIRST_EXTRA, 32);

	/* The first answer only says how much room the chain needs. */
	assert_int_equal(v.len, 32);
	assert_int_equal(v.hdr.argsz, 64);
	assert_int_equal(v.hdr.cap_offset, 0);
	assert_int_equal(v.hdr.flags, rwm | VFIO_REGION_INFO_FLAG_CAPS);
	assert_int_equal(v.hdr.index, FIRST_EXTRA);
	assert_true(v.hdr.size == 128 * GIB);

	v = info(dev, FIRST_EXTRA, 64);
	assert_int_equal(v.len, 64);
	assert_int_equal(v.hdr.argsz, 64);
	assert_int_equal(v.hdr.cap_offset, 32);
	assert_int_equal(v.hdr.flags, rwm | VFIO_REGION_INFO_FLAG_CAPS);
	assert_true(v.fd >= 0);
	expect_nvlink2_head(v.bytes, 0x800010de, VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM,
			    0x3e000000000ull, 0);
	vfk_device_destroy(dev);
}

static void test_atsd_info(void **state)
{
	const char *kv[] = { "tgt=0x3c000000000", "link_speed=0x8" };
	struct vfk_device *dev = make("npu2", kv, 2);
	struct info_view v = info(dev, FIRST_EXTRA, 32);

	assert_int_equal(v.hdr.argsz, 80);
	assert_int_equal(v.hdr.cap_offset, 0);
	v = info(dev, FIRST_EXTRA, 80);
	assert_int_equal(v.len, 80);
	assert_int_equal(v.hdr.cap_offset, 32);
	assert_int_equal(v.hdr.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				      VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS);
	assert_true(v.hdr.size == (uint64_t)sysconf(_SC_PAGESIZE));
	assert_true(v.fd >= 0);
	expect_nvlink2_head(v.bytes, 0x80001014, VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD,
			    0x3c000000000ull, 64);
	expect_cap(v.bytes, 64, VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD, 0);
	assert_int_equal(u32_at(v.bytes, 72), 0x8);
	assert_int_equal(u32_at(v.bytes, 76), 0);
	vfk_device_destroy(dev);
}

static void test_atsd_zero_size(void **state)
{
	const char *kv[] = { "atsd=no" };
	struct vfk_device *dev = make("npu2", kv, 1);
	struct info_view v = info(dev, FIRST_EXTRA, 80);
	uint8_t byte;

	/* vfio-pci keeps READ|WRITE|MMAP at size 0; nothing to map: no fd. */
	assert_true(v.hdr.size == 0);
	assert_int_equal(v.hdr.flags & VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_MMAP);
	assert_int_equal(v.hdr.flags & VFIO_REGION_INFO_FLAG_CAPS, VFIO_REGION_INFO_FLAG_CAPS);
	assert_int_equal(v.hdr.argsz, 80);
	assert_int_equal(v.fd, -1);
	expect_cap(v.bytes, 64, VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD, 0);
	assert_int_equal(u32_at(v.bytes, 72), 0x9);
	assert_true(vfk_region_read(dev, FIRST_EXTRA, &byte, 1, 0) < 0);
	vfk_device_destroy(dev);
}

/*
 * Stores through a mapping of the region fd and through vfk_region_write
 * meet. Each offset maps just its page, as a client mapping a window
 * would (and as valgrind can follow, unlike a 128 GiB mapping).
 */
static void check_ram_at(struct vfk_device *dev, int fd, uint64_t region_offset,
			 uint64_t offset)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	const uint64_t base = offset & ~(page - 1);
	uint64_t in = 0x1122334455667700ull | (offset & 0xff), out = 0;
	uint8_t *map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			    (off_t)(region_offset + base));

	assert_true(map != MAP_FAILED);
	memcpy(map + (offset - base), &in, sizeof(in));
	assert_int_equal(vfk_region_read(dev, FIRST_EXTRA, &out, sizeof(out), offset), 8);
	assert_true(out == in);
	in = ~in;
	assert_int_equal(vfk_region_write(dev, FIRST_EXTRA, &in, sizeof(in), offset), 8);
	memcpy(&out, map + (offset - base), sizeof(out));
	assert_true(out == in);
	munmap(map, page);
}

static void test_gpu_ram_coherent(void **state)
{
	struct vfk_device *dev = make("v100", NULL, 0);
	struct info_view v = info(dev, FIRST_EXTRA, 64);
	const uint64_t size = 128 * GIB, page = (uint64_t)sysconf(_SC_PAGESIZE);
	const uint64_t offsets[] = { 0, 8, page - 8, 1ull << 20, 17 * GIB + 24, size - page,
				     size - 8 };
	uint64_t past = 0;

	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++)
		check_ram_at(dev, v.fd, v.hdr.offset, offsets[i]);
	/* Untouched memory reads zero; the end is the end. */
	assert_int_equal(vfk_region_read(dev, FIRST_EXTRA, &past, 8, 64 * GIB), 8);
	assert_true(past == 0);
	assert_true(vfk_region_read(dev, FIRST_EXTRA, &past, 8, size - 4) < 0);
	vfk_device_destroy(dev);
}

/* Whether this process can map the 128 GiB aperture (not under valgrind). */
static bool can_map_aperture(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);

	if (p == MAP_FAILED)
		return false;
	munmap(p, size);
	return true;
}

/*
 * Direct reads point at the bytes vfk_region_read returns, for written
 * ranges only: a range with a never-written page in it is NULL (reading
 * a hole through the mapping would allocate it).
 */
static void check_direct(struct vfk_device *dev, uint32_t index, uint64_t offset,
			 uint64_t page, bool mapped)
{
	static uint8_t data[2 * 65536], copy[2 * 65536];
	const uint8_t *p;

	assert_true(page <= 65536);
	assert_null(vfk_region_direct_read(dev, index, offset, page));
	for (uint64_t i = 0; i < page; i++)
		data[i] = (uint8_t)(i * 13 + offset);
	assert_int_equal(vfk_region_write(dev, index, data, page, offset), (ssize_t)page);
	p = vfk_region_direct_read(dev, index, offset, page);
	if (!mapped) {
		assert_null(p);
		return;
	}
	assert_non_null(p);
	assert_int_equal(vfk_region_read(dev, index, copy, page, offset), (ssize_t)page);
	assert_memory_equal(p, copy, page);
	assert_memory_equal(p, data, page);
	p = vfk_region_direct_read(dev, index, offset + 3, page - 5);
	assert_non_null(p);
	assert_memory_equal(p, data + 3, page - 5);
}

static void test_direct_reads(void **state)
{
	struct vfk_device *gpu = make("v100", NULL, 0), *npu = make("npu2", NULL, 0);
	const uint64_t size = 128 * GIB, page = (uint64_t)sysconf(_SC_PAGESIZE);
	const bool mapped = can_map_aperture(size);

	check_direct(gpu, FIRST_EXTRA, 0, page, mapped);
	check_direct(gpu, FIRST_EXTRA, 5 * GIB, page, mapped);
	check_direct(gpu, FIRST_EXTRA, size - page, page, mapped);
	/* Written page followed by a hole. */
	assert_null(vfk_region_direct_read(gpu, FIRST_EXTRA, 0, 2 * page));
	assert_null(vfk_region_direct_read(gpu, FIRST_EXTRA, size - page, page + 1));
	check_direct(npu, FIRST_EXTRA, 0, page, true);
	vfk_device_destroy(gpu);
	vfk_device_destroy(npu);
}

/*
 * GPU RAM and ATSD answer direct reads by one rule: a range once found
 * written is remembered, so a hole the peer punches through the region's
 * fd afterwards is not seen (the read goes through the mapping and gets
 * the zeros the hole holds). A region checking with mincore() alone would
 * answer NULL here.
 */
static void check_direct_remembered(struct vfk_device *dev, uint32_t argsz)
{
	static uint8_t data[65536], copy[65536];
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct info_view v = info(dev, FIRST_EXTRA, argsz);
	const uint8_t *p;

	assert_true(page <= sizeof(data));
	memset(data, 0x5a, page);
	assert_int_equal(vfk_region_write(dev, FIRST_EXTRA, data, page, 0), (ssize_t)page);
	assert_non_null(vfk_region_direct_read(dev, FIRST_EXTRA, 0, page));
	assert_int_equal(fallocate(v.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				   (off_t)page), 0);
	p = vfk_region_direct_read(dev, FIRST_EXTRA, 0, page);
	assert_non_null(p);
	assert_int_equal(vfk_region_read(dev, FIRST_EXTRA, copy, page, 0), (ssize_t)page);
	assert_memory_equal(p, copy, page);
	assert_int_equal(copy[0], 0);
}

static void test_direct_reads_remember_written(void **state)
{
	struct vfk_device *gpu = make("v100", NULL, 0), *npu = make("npu2", NULL, 0);

	if (can_map_aperture(128 * GIB))
		check_direct_remembered(gpu, 64);
	check_direct_remembered(npu, 80);
	vfk_device_destroy(gpu);
	vfk_device_destroy(npu);
}

static blkcnt_t blocks_of(int fd);

/*
 * Accesses below the direct sizes go through the mapping where that is
 * safe and land in the same memory as the fd's: a write is seen by pread
 * on the fd, and a read of a never-written range allocates nothing (it
 * is answered from the fd, whose holes read as zeros).
 */
static void check_small_accesses(struct vfk_device *dev, uint32_t argsz)
{
	static const uint8_t data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	int fd = info(dev, FIRST_EXTRA, argsz).fd;
	uint8_t copy[4096];

	assert_int_equal(blocks_of(fd), 0);
	memset(copy, 0xff, sizeof(copy));
	assert_int_equal(vfk_region_read(dev, FIRST_EXTRA, copy, 4, 12), 4);
	assert_int_equal(copy[0] | copy[1] | copy[2] | copy[3], 0);
	assert_int_equal(vfk_region_read(dev, FIRST_EXTRA, copy, sizeof(copy), 0), 4096);
	assert_int_equal(blocks_of(fd), 0);
	assert_int_equal(vfk_region_write(dev, FIRST_EXTRA, data, sizeof(data), 16), 8);
	assert_int_equal(pread(fd, copy, sizeof(data), 16), 8);
	assert_memory_equal(copy, data, sizeof(data));
	assert_true(blocks_of(fd) > 0);
	memset(copy, 0, sizeof(copy));
	assert_int_equal(vfk_region_read(dev, FIRST_EXTRA, copy, 4, 20), 4);
	assert_memory_equal(copy, data + 4, 4);
}

static void test_small_accesses(void **state)
{
	struct vfk_device *gpu = make("v100", NULL, 0), *npu = make("npu2", NULL, 0);

	if (can_map_aperture(128 * GIB))
		check_small_accesses(gpu, 64);
	check_small_accesses(npu, 80);
	vfk_device_destroy(gpu);
	vfk_device_destroy(npu);
}

static ino_t inode_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static blkcnt_t blocks_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_blocks;
}

/*
 * The region's memory is the device's: sealed (no resizing, no further
 * seals), kept across a guest reset, and when the peer leaves scrubbed
 * (the old fd, which the peer may keep, reads zeros and holds no memory)
 * and replaced (what the next peer writes never shows in the old fd). The
 * written-page bits go with the old memory: a direct read of a range
 * written before is not answered from a hole afterwards.
 */
static void check_departure(struct vfk_device *dev, uint32_t argsz)
{
	static uint8_t data[65536], copy[65536];
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int kept = dup(info(dev, FIRST_EXTRA, argsz).fd);
	uint8_t *map;

	assert_true(kept >= 0 && page <= sizeof(data));
	assert_int_equal(fcntl(kept, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	assert_int_equal(ftruncate(kept, 0), -1);
	assert_int_equal(errno, EPERM);
	map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, kept, 0);
	assert_true(map != MAP_FAILED);
	memset(data, 0x5a, page);
	assert_int_equal(vfk_region_write(dev, FIRST_EXTRA, data, page, 0), (ssize_t)page);
	assert_non_null(vfk_region_direct_read(dev, FIRST_EXTRA, 0, page));
	assert_int_equal(vfk_device_reset(dev), 0);
	assert_int_equal(map[page - 1], 0x5a);

	assert_int_equal(vfk_device_release_peer(dev), 0);
	assert_int_equal(blocks_of(kept), 0);
	assert_true(inode_of(info(dev, FIRST_EXTRA, argsz).fd) != inode_of(kept));
	assert_null(vfk_region_direct_read(dev, FIRST_EXTRA, 0, page));
	assert_int_equal(vfk_region_read(dev, FIRST_EXTRA, copy, page, 0), (ssize_t)page);
	memset(data, 0, page);
	assert_memory_equal(copy, data, page);
	/* The next peer's bytes are not the old fd's. */
	memset(data, 0xc3, page);
	assert_int_equal(vfk_region_write(dev, FIRST_EXTRA, data, page, 0), (ssize_t)page);
	assert_int_equal(map[0], 0);
	assert_int_equal(map[page - 1], 0);
	munmap(map, page);
	close(kept);
}

static void test_memory_left_by_peer(void **state)
{
	static const char *const small[] = { "aperture=16M" };
	struct vfk_device *gpu = make("v100", small, 1), *npu = make("npu2", NULL, 0);

	check_departure(gpu, 64);
	check_departure(npu, 80);
	vfk_device_destroy(gpu);
	vfk_device_destroy(npu);
}

/*
 * No new memfd when the peer leaves (here: no fd number free): the old
 * memory is not handed out again; the region fails until a memfd can be
 * made, then starts from zeros.
 */
static void test_no_memory_for_next_peer(void **state)
{
	const uint64_t pattern = 0x0123456789abcdefull;
	struct vfk_device *npu = make("npu2", NULL, 0);
	const int fd = info(npu, FIRST_EXTRA, 80).fd;
	const void *reply;
	struct rlimit was, low;
	uint64_t v = pattern;
	size_t len;
	int out;

	assert_int_equal(vfk_region_write(npu, FIRST_EXTRA, &v, 8, 0), 8);
	/* Every fd below the region's is taken: once it is closed, none is left. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &was), 0);
	low = was;
	low.rlim_cur = (rlim_t)fd;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_int_equal(vfk_device_release_peer(npu), 0);
	assert_int_equal(vfk_region_read(npu, FIRST_EXTRA, &v, 8, 0), -EMFILE);
	assert_int_equal(vfk_region_write(npu, FIRST_EXTRA, &v, 8, 0), -EMFILE);
	assert_int_equal(vfk_region_info(npu, FIRST_EXTRA, 80, &reply, &len, &out), -EMFILE);
	assert_null(vfk_region_direct_read(npu, FIRST_EXTRA, 0, 8));
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
	assert_int_equal(vfk_region_read(npu, FIRST_EXTRA, &v, 8, 0), 8);
	assert_true(v == 0);
	assert_true(info(npu, FIRST_EXTRA, 80).fd >= 0);
	vfk_device_destroy(npu);
}

static void test_bar0_registers(void **state)
{
	struct vfk_device *dev = make("v100", NULL, 0);
	uint32_t v = 0, w = 0xdeadbeef;
	uint64_t both = 0;

	assert_int_equal(vfk_region_read(dev, 0, &v, 4, VFK_V100_REG_BOOT0), 4);
	assert_int_equal(v, VFK_V100_BOOT0_VALUE);
	assert_int_equal(vfk_region_write(dev, 0, &w, 4, VFK_V100_REG_BOOT0), 4);
	assert_int_equal(vfk_region_read(dev, 0, &v, 4, VFK_V100_REG_BOOT0), 4);
	assert_int_equal(v, VFK_V100_BOOT0_VALUE);
	assert_int_equal(vfk_region_write(dev, 0, &w, 4, VFK_V100_REG_SCRATCH), 4);
	assert_int_equal(vfk_region_read(dev, 0, &v, 4, VFK_V100_REG_SCRATCH), 4);
	assert_int_equal(v, 0xdeadbeef);
	/* Byte access into the middle of the register. */
	assert_int_equal(vfk_region_read(dev, 0, &v, 1, VFK_V100_REG_SCRATCH + 1), 1);
	assert_int_equal(v & 0xff, 0xbe);
	/* A wide read spanning the register and the empty space after it. */
	assert_int_equal(vfk_region_read(dev, 0, &both, 8, VFK_V100_REG_SCRATCH), 8);
	assert_true(both == 0xdeadbeefull);
	assert_int_equal(vfk_region_write(dev, 0, &w, 4, 0x100), 4);
	assert_int_equal(vfk_region_read(dev, 0, &v, 4, 0x100), 4);
	assert_int_equal(v, 0);
	/* Reset brings the scratch register back to 0. */
	assert_int_equal(vfk_device_reset(dev), 0);
	assert_int_equal(vfk_region_read(dev, 0, &v, 4, VFK_V100_REG_SCRATCH), 4);
	assert_int_equal(v, 0);
	vfk_device_destroy(dev);
}

static void test_v100_identity_and_bars(void **state)
{
	struct vfk_device *dev = make("v100", NULL, 0);
	struct info_view v;
	uint8_t cfg[64];

	assert_int_equal(vfk_pci_config_read(dev, cfg, sizeof(cfg), 0), sizeof(cfg));
	assert_int_equal(cfg[0] | cfg[1] << 8, 0x10de);
	assert_int_equal(cfg[2] | cfg[3] << 8, 0x1db1);
	assert_int_equal(cfg[0x0b], 0x03);
	assert_int_equal(cfg[0x0a], 0x02);
	assert_int_equal(cfg[0x2e] | cfg[0x2f] << 8, 0x1212);
	assert_int_equal(cfg[0x10] & 0x7, 0);            /* BAR0: 32-bit memory */
	assert_int_equal(cfg[0x14] & 0xf, 0xc);          /* BAR1: 64-bit prefetchable */
	assert_int_equal(cfg[0x1c] & 0xf, 0xc);          /* BAR3: 64-bit prefetchable */
	v = info(dev, 0, 32);
	assert_true(v.hdr.size == 16ull << 20);
	v = info(dev, 1, 32);
	assert_true(v.hdr.size == 16 * GIB);
	v = info(dev, 3, 32);
	assert_true(v.hdr.size == 32ull << 20);
	vfk_device_destroy(dev);
}

static void test_options(void **state)
{
	const char *ok[] = { "aperture=1G", "tgt=0x1000", "bar1=32G", "device=0x1db5" };
	const char *bad_aperture[] = { "aperture=12345" };
	const char *bad_bar1[] = { "bar1=3G" };
	const char *unknown[] = { "colour=red" };
	const char *not_kv[] = { "tgt" };
	struct vfk_device *dev = make("v100", ok, 4);
	struct info_view v = info(dev, FIRST_EXTRA, 64);
	char err[128];

	assert_true(v.hdr.size == GIB);
	assert_true(u64_at(v.bytes, 56) == 0x1000);
	v = info(dev, 1, 32);
	assert_true(v.hdr.size == 32 * GIB);
	vfk_device_destroy(dev);

	dev = NULL;
	assert_int_equal(vfk_model_create("v100", "x", bad_aperture, 1, &dev, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(vfk_model_create("v100", "x", bad_bar1, 1, &dev, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(vfk_model_create("npu2", "x", unknown, 1, &dev, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "unknown option 'colour'"));
	assert_int_equal(vfk_model_create("npu2", "x", not_kv, 1, &dev, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(vfk_model_create("h100", "x", NULL, 0, &dev, err, sizeof(err)), -ENOENT);
	assert_null(dev);
}

/* Every option a model lists is one it takes, with its listed default. */
static void test_listed_options_taken(void **state)
{
	size_t n;
	const struct vfk_model *m = vfk_models(&n);

	for (size_t i = 0; i < n; i++) {
		char kv[16][96];
		const char *args[16];
		size_t nkv = 0;
		struct vfk_device *dev = NULL;
		char err[128] = "";

		for (const struct vfk_model_option *o = m[i].options; o->key; o++) {
			assert_true(nkv < 16);
			snprintf(kv[nkv], sizeof(kv[nkv]), "%s=%s", o->key, o->def);
			args[nkv] = kv[nkv];
			nkv++;
		}
		assert_true(nkv > 0);
		assert_int_equal(vfk_model_create(m[i].name, "x", args, nkv, &dev, err,
						  sizeof(err)), 0);
		vfk_device_destroy(dev);
	}
}

static void test_registry(void **state)
{
	size_t n;
	const struct vfk_model *m = vfk_models(&n);

	assert_int_equal(n, 3);
	assert_string_equal(m[0].name, "v100");
	assert_ptr_equal(vfk_model_find("npu2"), &m[1]);
	assert_ptr_equal(vfk_model_find("dmaengine"), &m[2]);
	assert_string_equal(m[1].options[0].key, "tgt");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpu_ram_info),
		cmocka_unit_test(test_atsd_info),
		cmocka_unit_test(test_atsd_zero_size),
		cmocka_unit_test(test_gpu_ram_coherent),
		cmocka_unit_test(test_direct_reads),
		cmocka_unit_test(test_direct_reads_remember_written),
		cmocka_unit_test(test_small_accesses),
		cmocka_unit_test(test_memory_left_by_peer),
		cmocka_unit_test(test_no_memory_for_next_peer),
		cmocka_unit_test(test_bar0_registers),
		cmocka_unit_test(test_v100_identity_and_bars),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_listed_options_taken),
		cmocka_unit_test(test_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
