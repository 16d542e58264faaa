// SPDX-License-Identifier: MIT
/* Unit tests of the DMA mapping table (src/core/dma.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <vfiokit/device.h>
#include <vfiokit/dma.h>
#include <vfiokit/transport.h>

#include "../test_util.h"

#define PAGE 4096u
#define RW (VFK_DMA_READ | VFK_DMA_WRITE)
#define MEMFD_NAME "vfk-dma-test"
#define FILE_SIZE (64u * PAGE)

struct fixture {
	struct vfk_device *dev;
	int fd;   /* memfd of FILE_SIZE bytes; byte i holds i * 7 */
};

static int setup(void **state)
{
	struct vfk_device_desc desc = { .name = "dmatest", .vendor_id = 0x1af4 };
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t *p;

	if (!f || vfk_device_create(&desc, &f->dev))
		return -1;
	f->fd = memfd_create(MEMFD_NAME, 0);
	if (f->fd < 0 || ftruncate(f->fd, FILE_SIZE))
		return -1;
	p = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
	if (p == MAP_FAILED)
		return -1;
	for (size_t i = 0; i < FILE_SIZE; i++)
		p[i] = (uint8_t)(i * 7);
	munmap(p, FILE_SIZE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vfk_device_destroy(f->dev);
	close(f->fd);
	free(f);
	return 0;
}

/* Lines of /proc/self/maps naming our memfd: how many mmaps of it exist. */
static int memfd_mmaps(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	assert_non_null(maps);
	while (fgets(line, sizeof(line), maps))
		if (strstr(line, "memfd:" MEMFD_NAME))
			n++;
	fclose(maps);
	return n;
}

static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/*
 * Unmap as the kernel's type1 (v2): a mapping is never split (-EINVAL, as
 * for size 0), everything inside the range goes, and a range with nothing
 * in it succeeds with nothing unmapped.
 */
static void test_unmap_as_type1(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	int fds = open_fds();
	uint64_t unmapped = 1;

	assert_int_equal(vfk_dma_count(dev), 0);
	assert_int_equal(vfk_dma_map(dev, 0x100000, 4 * PAGE, f->fd, 0, RW), 0);
	assert_int_equal(open_fds(), fds);   /* the fd is not kept */
	assert_int_equal(vfk_dma_count(dev), 1);
	assert_int_equal(vfk_dma_unmap(dev, 0x100000, PAGE, &unmapped), -EINVAL);
	assert_true(unmapped == 0);
	assert_int_equal(vfk_dma_unmap(dev, 0x101000, 3 * PAGE, NULL), -EINVAL);
	assert_int_equal(vfk_dma_unmap(dev, 0xff000, 4 * PAGE, NULL), -EINVAL);
	assert_int_equal(vfk_dma_unmap(dev, 0x100000, 0, NULL), -EINVAL);
	assert_int_equal(vfk_dma_unmap(dev, 0x100000, UINT64_MAX, NULL), -EINVAL);
	assert_int_equal(vfk_dma_unmap(dev, 0x900000, PAGE, &unmapped), 0);
	assert_true(unmapped == 0);
	assert_int_equal(vfk_dma_count(dev), 1);
	assert_int_equal(vfk_dma_unmap(dev, 0x100000, 4 * PAGE, &unmapped), 0);
	assert_true(unmapped == 4 * PAGE);
	assert_int_equal(vfk_dma_count(dev), 0);
	assert_int_equal(vfk_dma_unmap(dev, 0x100000, 4 * PAGE, &unmapped), 0);
	assert_true(unmapped == 0);

	/* A larger range takes every mapping inside it, up to 2^64. */
	assert_int_equal(vfk_dma_map(dev, 0x100000, 4 * PAGE, f->fd, 0, RW), 0);
	assert_int_equal(vfk_dma_map(dev, 0x200000, PAGE, -1, 0, RW), 0);
	assert_int_equal(vfk_dma_map(dev, 0x300000, PAGE, -1, 0, RW), 0);
	assert_int_equal(vfk_dma_map(dev, UINT64_MAX - PAGE + 1, PAGE, -1, 0, RW), 0);
	/* Ends on a mapping's last byte, starts inside the one below it. */
	assert_int_equal(vfk_dma_unmap(dev, 0x101000, 0x201000 - 0x101000, NULL), -EINVAL);
	assert_int_equal(vfk_dma_count(dev), 4);
	assert_int_equal(vfk_dma_unmap(dev, 0xff000, 0x202000 - 0xff000, &unmapped), 0);
	assert_true(unmapped == 5 * PAGE);
	assert_int_equal(vfk_dma_unmap(dev, 0x300000, 0 - 0x300000ull, &unmapped), 0);
	assert_true(unmapped == 2 * PAGE);
	assert_int_equal(vfk_dma_count(dev), 0);
	/* The small window stays idle until the table is cleared. */
	assert_int_equal(memfd_mmaps(), 1);
	assert_int_equal(vfk_dma_unmap_all(dev), 0);
	assert_int_equal(memfd_mmaps(), 0);
}

static void test_overlap_shapes(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	const uint64_t a = 0x10000, sz = 0x10000;   /* existing: [a, a + sz) */
	static const struct { uint64_t iova, size; } overlaps[] = {
		{ 0x10000, 0x10000 },   /* identical */
		{ 0x14000, 0x1000 },    /* inside */
		{ 0x08000, 0x20000 },   /* contains */
		{ 0x08000, 0x09000 },   /* over the start */
		{ 0x1f000, 0x02000 },   /* over the end */
		{ 0x1ffff, 0x1 },       /* the last byte */
		{ 0x10000, 0x1 },       /* the first byte */
		{ 0x0ffff, 0x2 },       /* one byte before and the first */
	};

	assert_int_equal(vfk_dma_map(dev, a, sz, -1, 0, RW), 0);
	for (size_t i = 0; i < sizeof(overlaps) / sizeof(overlaps[0]); i++) {
		assert_int_equal(vfk_dma_map(dev, overlaps[i].iova, overlaps[i].size, -1, 0, RW),
				 -EEXIST);
		assert_int_equal(vfk_dma_map(dev, overlaps[i].iova, overlaps[i].size, f->fd, 0,
					     RW), -EEXIST);
	}
	assert_int_equal(memfd_mmaps(), 0);   /* an overlap never mmaps */
	/* Touching on either side is fine. */
	assert_int_equal(vfk_dma_map(dev, a - PAGE, PAGE, -1, 0, RW), 0);
	assert_int_equal(vfk_dma_map(dev, a + sz, PAGE, -1, 0, RW), 0);
	/* Spanning the whole block of three. */
	assert_int_equal(vfk_dma_map(dev, 0, 0x100000, -1, 0, RW), -EEXIST);
	assert_int_equal(vfk_dma_count(dev), 3);
	vfk_dma_unmap_all(dev);
}

static void test_invalid_ranges(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	char path[64];
	int ro;

	assert_int_equal(vfk_dma_map(dev, 0x1000, 0, -1, 0, RW), -EINVAL);
	assert_int_equal(vfk_dma_map(dev, UINT64_MAX, 2, -1, 0, RW), -EINVAL);
	assert_int_equal(vfk_dma_map(dev, UINT64_MAX - PAGE + 2, PAGE, -1, 0, RW), -EINVAL);
	assert_int_equal(vfk_dma_map(dev, 0x1000, PAGE, -1, 0, 0), -EINVAL);
	assert_int_equal(vfk_dma_map(dev, 0x1000, PAGE, -1, 0, 4), -EINVAL);
	assert_int_equal(vfk_dma_map(dev, 0x1000, PAGE, -7, 0, RW), -EBADF);
	/* Past the end of the file, by size or by offset, overflow-safe. */
	assert_int_equal(vfk_dma_map(dev, 0x1000, FILE_SIZE + 1, f->fd, 0, RW), -EINVAL);
	assert_int_equal(vfk_dma_map(dev, 0x1000, PAGE, f->fd, FILE_SIZE - PAGE + 1, RW),
			 -EINVAL);
	assert_int_equal(vfk_dma_map(dev, 0x1000, 2, f->fd, UINT64_MAX, RW), -EINVAL);
	assert_int_equal(vfk_dma_map(dev, 0x1000, UINT64_MAX, f->fd, 2, RW), -EINVAL);
	assert_int_equal(vfk_dma_map(dev, 0x1000, PAGE, f->fd, FILE_SIZE, RW), -EINVAL);
	/* The very top of the IOVA space, and a closed fd. */
	assert_int_equal(vfk_dma_map(dev, UINT64_MAX - PAGE + 1, PAGE, -1, 0, RW), 0);
	assert_int_equal(vfk_dma_map(dev, 0x1000, PAGE, 1000, 0, RW), -EBADF);
	/* A read-only fd cannot back a writable mapping, but can a readable one. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f->fd);
	ro = open(path, O_RDONLY);
	assert_true(ro >= 0);
	assert_int_equal(vfk_dma_map(dev, 0x1000, PAGE, ro, 0, RW), -EACCES);
	assert_int_equal(vfk_dma_map(dev, 0x1000, PAGE, ro, PAGE, VFK_DMA_READ), 0);
	close(ro);
	assert_int_equal(*(uint8_t *)vfk_dma_translate(dev, 0x1001, 1, VFK_DMA_READ),
			 (uint8_t)((PAGE + 1) * 7));
	assert_int_equal(vfk_dma_count(dev), 2);
	vfk_dma_unmap_all(dev);
}

static void test_translate(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	uint8_t *p, b = 0;

	assert_int_equal(vfk_dma_map(dev, 0x200000, 2 * PAGE, f->fd, 3 * PAGE, RW), 0);
	assert_int_equal(vfk_dma_map(dev, 0x202000, PAGE, f->fd, 0, VFK_DMA_READ), 0);
	assert_int_equal(vfk_dma_map(dev, 0x300000, PAGE, -1, 0, RW), 0);

	p = vfk_dma_translate(dev, 0x200010, 16, RW);
	assert_non_null(p);
	assert_int_equal(p[0], (uint8_t)((3 * PAGE + 0x10) * 7));
	p = vfk_dma_translate(dev, 0x200000, 2 * PAGE, VFK_DMA_READ);   /* all of it */
	assert_non_null(p);
	assert_int_equal(p[2 * PAGE - 1], (uint8_t)((5 * PAGE - 1) * 7));
	/* Outside, crossing into the next mapping, or past the end. */
	assert_null(vfk_dma_translate(dev, 0x1ffff0, 4, VFK_DMA_READ));
	assert_null(vfk_dma_translate(dev, 0x1ffffe, 4, VFK_DMA_READ));
	assert_null(vfk_dma_translate(dev, 0x201ffe, 4, VFK_DMA_READ));
	assert_null(vfk_dma_translate(dev, 0x202ffe, 4, VFK_DMA_READ));
	/* Without the needed protection; fd-less; empty; overflowing. */
	assert_null(vfk_dma_translate(dev, 0x202000, 4, VFK_DMA_WRITE));
	assert_non_null(vfk_dma_translate(dev, 0x202000, 4, VFK_DMA_READ));
	assert_null(vfk_dma_translate(dev, 0x300000, 4, VFK_DMA_READ));
	assert_null(vfk_dma_translate(dev, 0x200000, 0, VFK_DMA_READ));
	assert_null(vfk_dma_translate(dev, UINT64_MAX, 2, VFK_DMA_READ));
	/* Writes through the pointer reach the file. */
	p = vfk_dma_translate(dev, 0x200000, 1, VFK_DMA_WRITE);
	assert_non_null(p);
	*p = 0xa5;
	assert_int_equal(pread(f->fd, &b, 1, 3 * PAGE), 1);
	assert_int_equal(b, 0xa5);
	vfk_dma_unmap_all(dev);
}

/* The previous hit is remembered; removing its mapping must forget it. */
static void test_translate_after_unmap(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	uint8_t b;

	assert_int_equal(vfk_dma_map(dev, 0x700000, PAGE, f->fd, 0, RW), 0);
	assert_non_null(vfk_dma_translate(dev, 0x700000, 8, VFK_DMA_READ));
	assert_int_equal(vfk_dma_unmap(dev, 0x700000, PAGE, NULL), 0);
	assert_null(vfk_dma_translate(dev, 0x700000, 8, VFK_DMA_READ));
	assert_int_equal(vfk_dma_read(dev, 0x700000, &b, 1), -EFAULT);

	assert_int_equal(vfk_dma_map(dev, 0x700000, PAGE, f->fd, 0, RW), 0);
	assert_int_equal(vfk_dma_read(dev, 0x700010, &b, 1), 0);
	vfk_dma_unmap_all(dev);
	assert_null(vfk_dma_translate(dev, 0x700010, 1, VFK_DMA_READ));
	assert_int_equal(vfk_dma_read(dev, 0x700010, &b, 1), -EFAULT);
}

static void test_rw_across_mappings(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	uint8_t out[256], in[256], back[128];

	/* Two adjacent IOVA ranges backed by non-adjacent parts of the file. */
	assert_int_equal(vfk_dma_map(dev, 0x400000, PAGE, f->fd, 10 * PAGE, RW), 0);
	assert_int_equal(vfk_dma_map(dev, 0x401000, PAGE, f->fd, 2 * PAGE, RW), 0);
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(0xc0 ^ i);
	assert_int_equal(vfk_dma_write(dev, 0x401000 - 128, out, sizeof(out)), 0);
	assert_int_equal(pread(f->fd, back, 128, 11 * PAGE - 128), 128);
	assert_memory_equal(back, out, 128);
	assert_int_equal(pread(f->fd, back, 128, 2 * PAGE), 128);
	assert_memory_equal(back, out + 128, 128);
	memset(in, 0, sizeof(in));
	assert_int_equal(vfk_dma_read(dev, 0x401000 - 128, in, sizeof(in)), 0);
	assert_memory_equal(in, out, sizeof(in));

	/* A hole after the second mapping: nothing is written at all. */
	memset(out, 0x11, sizeof(out));
	assert_int_equal(vfk_dma_write(dev, 0x402000 - 128, out, sizeof(out)), -EFAULT);
	assert_int_equal(pread(f->fd, back, 128, 3 * PAGE - 128), 128);
	assert_memory_not_equal(back, out, 128);
	assert_int_equal(vfk_dma_read(dev, 0x3fff00, in, 1), -EFAULT);
	assert_int_equal(vfk_dma_read(dev, UINT64_MAX, in, 2), -EFAULT);
	assert_int_equal(vfk_dma_read(dev, 0x400000, in, 0), 0);

	/* Protection: a read-only mapping refuses device writes. */
	assert_int_equal(vfk_dma_map(dev, 0x500000, PAGE, f->fd, 0, VFK_DMA_READ), 0);
	assert_int_equal(vfk_dma_write(dev, 0x500000, out, 4), -EACCES);
	assert_int_equal(vfk_dma_read(dev, 0x500000, in, 4), 0);
	vfk_dma_unmap_all(dev);
}

struct fake_transport {
	unsigned int calls;
	uint64_t iova;
	size_t len;
	bool write;
	int ret;
	uint8_t mem[2 * PAGE];   /* the client memory behind IOVA 0x600000 */
};

static int fake_rw(void *ctx, uint64_t iova, void *buf, size_t len, bool write)
{
	struct fake_transport *t = ctx;
	uint8_t *m = t->mem + (iova - 0x600000);

	t->calls++;
	t->iova = iova;
	t->len = len;
	t->write = write;
	if (t->ret)
		return t->ret;
	assert_true(iova >= 0x600000 && iova - 0x600000 + len <= sizeof(t->mem));
	if (write)
		memcpy(m, buf, len);
	else
		memcpy(buf, m, len);
	return 0;
}

static void test_transport_path(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	struct fake_transport *t = calloc(1, sizeof(*t));
	struct vfk_dma_transport tr = { .rw = fake_rw, .ctx = t };
	uint8_t buf[64], file_byte;

	assert_non_null(t);
	assert_int_equal(vfk_dma_map(dev, 0x600000, 2 * PAGE, -1, 0, RW), 0);
	assert_int_equal(vfk_dma_map(dev, 0x602000, PAGE, f->fd, 0, RW), 0);
	/* No transport yet: fd-less memory is unreachable. */
	assert_int_equal(vfk_dma_read(dev, 0x600000, buf, 4), -ENOTCONN);

	vfk_dma_set_transport(dev, &tr);
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(vfk_dma_write(dev, 0x600100, buf, 16), 0);
	assert_int_equal(t->calls, 1);
	assert_int_equal(t->iova, 0x600100);
	assert_int_equal(t->len, 16);
	assert_true(t->write);
	assert_int_equal(t->mem[0x100], 0x5a);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(vfk_dma_read(dev, 0x600100, buf, 16), 0);
	assert_false(t->write);
	assert_int_equal(buf[15], 0x5a);

	/* Across fd-less then fd-backed: one transport call for the first part. */
	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(vfk_dma_write(dev, 0x602000 - 32, buf, 64), 0);
	assert_int_equal(t->calls, 3);
	assert_int_equal(t->iova, 0x602000 - 32);
	assert_int_equal(t->len, 32);
	assert_int_equal(pread(f->fd, &file_byte, 1, 31), 1);
	assert_int_equal(file_byte, 0x77);

	/* The transport's error comes back. */
	t->ret = -EIO;
	assert_int_equal(vfk_dma_read(dev, 0x600000, buf, 8), -EIO);
	vfk_dma_set_transport(dev, NULL);
	assert_int_equal(vfk_dma_read(dev, 0x600000, buf, 8), -ENOTCONN);
	vfk_dma_unmap_all(dev);
	free(t);
}

static void test_one_mmap_per_file(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	char path[64];
	int ro;

	assert_int_equal(memfd_mmaps(), 0);
	for (unsigned int i = 0; i < 1000; i++)
		assert_int_equal(vfk_dma_map(dev, (uint64_t)i * PAGE, PAGE, f->fd,
					     (i % 64) * PAGE, RW), 0);
	assert_int_equal(memfd_mmaps(), 1);
	/* A read-only fd of the same file gets its own read-only mmap. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f->fd);
	ro = open(path, O_RDONLY);
	assert_true(ro >= 0);
	assert_int_equal(vfk_dma_map(dev, 0x10000000, PAGE, ro, 0, VFK_DMA_READ), 0);
	assert_int_equal(vfk_dma_map(dev, 0x10001000, PAGE, ro, PAGE, VFK_DMA_READ), 0);
	close(ro);
	assert_int_equal(memfd_mmaps(), 2);
	assert_int_equal(vfk_dma_unmap(dev, 0x10000000, PAGE, NULL), 0);
	assert_int_equal(memfd_mmaps(), 2);
	assert_int_equal(vfk_dma_unmap(dev, 0x10001000, PAGE, NULL), 0);
	/* The read-only window is idle, no longer mapped as far as the
	 * client's budget goes. */
	assert_int_equal(memfd_mmaps(), 2);
	assert_int_equal(vfk_dma_mapped_bytes(dev), FILE_SIZE);
	/* Unmapping all but one keeps the mmap; the last one leaves it idle. */
	for (unsigned int i = 1; i < 1000; i++)
		assert_int_equal(vfk_dma_unmap(dev, (uint64_t)i * PAGE, PAGE, NULL), 0);
	assert_int_equal(memfd_mmaps(), 2);
	assert_non_null(vfk_dma_translate(dev, 0, PAGE, RW));
	assert_int_equal(vfk_dma_unmap(dev, 0, PAGE, NULL), 0);
	assert_int_equal(vfk_dma_mapped_bytes(dev), 0);
	assert_int_equal(vfk_dma_unmap_all(dev), 0);
	assert_int_equal(memfd_mmaps(), 0);
}

static void test_file_grows(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	uint8_t b = 0;

	assert_int_equal(vfk_dma_map(dev, 0, PAGE, f->fd, 0, RW), 0);
	assert_int_equal(ftruncate(f->fd, 2 * FILE_SIZE), 0);
	assert_int_equal(vfk_dma_map(dev, PAGE, PAGE, f->fd, FILE_SIZE, RW), 0);
	assert_int_equal(memfd_mmaps(), 2);
	/* Later mappings use the larger mmap; the old one goes with its last user. */
	assert_int_equal(vfk_dma_map(dev, 2 * PAGE, PAGE, f->fd, 0, RW), 0);
	assert_int_equal(vfk_dma_unmap(dev, 0, PAGE, NULL), 0);
	assert_int_equal(memfd_mmaps(), 1);
	assert_int_equal(vfk_dma_write(dev, PAGE + 5, "\x42", 1), 0);
	assert_int_equal(pread(f->fd, &b, 1, FILE_SIZE + 5), 1);
	assert_int_equal(b, 0x42);
	vfk_dma_unmap_all(dev);
	assert_int_equal(memfd_mmaps(), 0);
	assert_int_equal(ftruncate(f->fd, FILE_SIZE), 0);
}

static void test_limit(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;

	vfk_dma_set_limit(dev, 3);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(vfk_dma_map(dev, (uint64_t)i * PAGE, PAGE, f->fd, 0, RW), 0);
	assert_int_equal(vfk_dma_map(dev, 10 * PAGE, PAGE, f->fd, 0, RW), -ENOSPC);
	assert_int_equal(vfk_dma_map(dev, 10 * PAGE, PAGE, -1, 0, RW), -ENOSPC);
	assert_int_equal(vfk_dma_count(dev), 3);
	assert_int_equal(vfk_dma_unmap(dev, 0, PAGE, NULL), 0);
	assert_int_equal(vfk_dma_map(dev, 10 * PAGE, PAGE, -1, 0, RW), 0);
	vfk_dma_unmap_all(dev);
	assert_int_equal(vfk_dma_count(dev), 0);
	assert_int_equal(memfd_mmaps(), 0);
	assert_null(vfk_dma_translate(dev, 10 * PAGE, 1, VFK_DMA_READ));
	vfk_dma_set_limit(dev, 65535);
}

static void test_default_limit(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	unsigned int i;

	for (i = 0; i < 65535; i++)
		assert_int_equal(vfk_dma_map(dev, (uint64_t)i * 16, 16, -1, 0, RW), 0);
	assert_int_equal(vfk_dma_map(dev, (uint64_t)i * 16, 16, -1, 0, RW), -ENOSPC);
	vfk_dma_unmap_all(dev);
}

static void test_reset_drops_mappings(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vfk_dma_map(f->dev, 0, PAGE, f->fd, 0, RW), 0);
	/* A guest reset keeps the peer's mappings; the peer leaving drops them. */
	assert_int_equal(vfk_device_reset(f->dev), 0);
	assert_int_equal(vfk_dma_count(f->dev), 1);
	assert_int_equal(vfk_device_release_peer(f->dev), 0);
	assert_int_equal(vfk_dma_count(f->dev), 0);
	assert_int_equal(memfd_mmaps(), 0);
}

/* 100k mappings carved out of one file, unmapped in a scattered order. */
static void test_many_mappings(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	const unsigned int n = 100000;
	uint8_t *p;

	vfk_dma_set_limit(dev, n);
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(vfk_dma_map(dev, (uint64_t)i * PAGE, PAGE, f->fd,
					     (i % 64) * PAGE, RW), 0);
	assert_int_equal(vfk_dma_count(dev), n);
	assert_int_equal(memfd_mmaps(), 1);
	for (unsigned int i = 0; i < n; i += 997) {
		p = vfk_dma_translate(dev, (uint64_t)i * PAGE + 3, 1, VFK_DMA_READ);
		assert_non_null(p);
		assert_int_equal(*p, (uint8_t)(((i % 64) * PAGE + 3) * 7));
	}
	/* 7919 is prime and coprime to n: every index once. */
	for (unsigned int k = 0; k < n; k++) {
		unsigned int i = (unsigned int)(((uint64_t)k * 7919) % n);

		assert_int_equal(vfk_dma_unmap(dev, (uint64_t)i * PAGE, PAGE, NULL), 0);
	}
	assert_int_equal(vfk_dma_count(dev), 0);
	assert_int_equal(vfk_dma_mapped_bytes(dev), 0);
	vfk_dma_release(dev);
	assert_int_equal(memfd_mmaps(), 0);
	vfk_dma_set_limit(dev, 65535);
}

/* A mapping of the reference table of test_random_against_reference. */
struct ref_range {
	uint64_t iova, last;
};

static uint64_t test_xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Index of the reference range holding [iova, last] whole, -1 if none. */
static int ref_containing(const struct ref_range *ref, int n, uint64_t iova, uint64_t last)
{
	for (int i = 0; i < n; i++)
		if (ref[i].iova <= iova && last <= ref[i].last)
			return i;
	return -1;
}

static bool ref_overlaps(const struct ref_range *ref, int n, uint64_t iova, uint64_t last)
{
	for (int i = 0; i < n; i++)
		if (ref[i].iova <= last && iova <= ref[i].last)
			return true;
	return false;
}

/*
 * Random fd-less maps, unmaps and 1-byte reads in three crowded windows
 * (at 0, at 2^40 and ending at 2^64 - 1), checked against a plain list:
 * overlap refusal, exact-range unmap, and which bytes are mapped (a read
 * of a mapped byte fails with -ENOTCONN, there being no transport; of an
 * unmapped one with -EFAULT).
 */
static void test_random_against_reference(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	static const uint64_t windows[] = { 0, 1ull << 40, UINT64_MAX - 0xffff };
	enum { MAX_REF = 512, OPS = 20000 };
	struct ref_range *ref = calloc(MAX_REF, sizeof(*ref));
	uint64_t seed = 0xdeadbeefcafef00dull;
	int n = 0;

	assert_non_null(ref);
	for (int op = 0; op < OPS; op++) {
		uint64_t r = test_xorshift(&seed);
		uint64_t iova = windows[r % 3] + (test_xorshift(&seed) & 0xffff);
		uint64_t size = 1 + test_xorshift(&seed) % 0x800;
		uint8_t byte;

		if (size - 1 > UINT64_MAX - iova)
			size = UINT64_MAX - iova + 1;
		if (r % 7 < 3 && n < MAX_REF) {
			bool overlap = ref_overlaps(ref, n, iova, iova + (size - 1));

			assert_int_equal(vfk_dma_map(dev, iova, size, -1, 0, RW),
					 overlap ? -EEXIST : 0);
			if (!overlap)
				ref[n++] = (struct ref_range){ iova, iova + (size - 1) };
		} else if (r % 7 < 5 && n) {
			int i = (int)(test_xorshift(&seed) % (uint64_t)n);

			/* One byte short first: a mapping is never split. */
			assert_int_equal(vfk_dma_unmap(dev, ref[i].iova, ref[i].last - ref[i].iova,
						       NULL), -EINVAL);
			assert_int_equal(vfk_dma_unmap(dev, ref[i].iova,
						       ref[i].last - ref[i].iova + 1, NULL), 0);
			ref[i] = ref[--n];
		} else {
			bool mapped = ref_containing(ref, n, iova, iova) >= 0;

			assert_int_equal(vfk_dma_read(dev, iova, &byte, 1),
					 mapped ? -ENOTCONN : -EFAULT);
		}
		assert_int_equal(vfk_dma_count(dev), n);
	}
	vfk_dma_unmap_all(dev);
	assert_int_equal(vfk_dma_count(dev), 0);
	free(ref);
}

#define HUGE_NAME "vfk-dma-huge"
#define WINDOW (2u << 20)

/* A sparse memfd of size bytes (no memory until written). */
static int sparse_memfd(const char *name, uint64_t size)
{
	int fd = memfd_create(name, 0);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* A 4 KiB mapping of a huge file takes a 2 MiB window, never the file. */
static void test_maps_only_the_window(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	int fd[4];

	for (int i = 0; i < 4; i++) {
		fd[i] = sparse_memfd(HUGE_NAME, 32ull << 40);   /* 32 TiB each */
		assert_int_equal(vfk_dma_map(dev, (uint64_t)i << 30, PAGE, fd[i],
					     (16ull << 40) + 5 * WINDOW + PAGE, RW), 0);
	}
	assert_int_equal(test_mapped_bytes("memfd:" HUGE_NAME), 4 * WINDOW);
	assert_int_equal(vfk_dma_mapped_bytes(dev), 4 * WINDOW);
	/* The pointer lands at the asked offset inside the window. */
	assert_int_equal(pwrite(fd[2], "\x5e", 1, (off_t)((16ull << 40) + 5 * WINDOW + PAGE + 9)), 1);
	assert_int_equal(*(uint8_t *)vfk_dma_translate(dev, (2ull << 30) + 9, 1, VFK_DMA_READ), 0x5e);
	/* A mapping that straddles two windows gets one window around both. */
	assert_int_equal(vfk_dma_map(dev, 8ull << 30, 2 * PAGE, fd[0], 3 * WINDOW - PAGE, RW), 0);
	assert_int_equal(vfk_dma_mapped_bytes(dev), 6 * WINDOW);
	vfk_dma_unmap_all(dev);
	assert_int_equal(test_mapped_bytes("memfd:" HUGE_NAME), 0);
	assert_int_equal(vfk_dma_mapped_bytes(dev), 0);
	for (int i = 0; i < 4; i++)
		close(fd[i]);
}

/* Mappings that fit in a window share it; the window goes with the last. */
static void test_window_shared(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	int fd = sparse_memfd(HUGE_NAME, 8 * WINDOW);

	for (unsigned int i = 0; i < 512; i++)
		assert_int_equal(vfk_dma_map(dev, 0x100000000ull + i * PAGE, PAGE, fd,
					     WINDOW + i * PAGE, RW), 0);
	assert_int_equal(test_mapped_bytes("memfd:" HUGE_NAME), WINDOW);
	/* A longer window at the same start takes over; the old one stays for
	 * its mappings until they go. */
	assert_int_equal(vfk_dma_map(dev, 0x200000000ull, 2 * WINDOW, fd, WINDOW, RW), 0);
	assert_int_equal(vfk_dma_mapped_bytes(dev), 3 * WINDOW);
	assert_int_equal(vfk_dma_map(dev, 0x300000000ull, PAGE, fd, 2 * WINDOW, RW), 0);
	assert_int_equal(vfk_dma_mapped_bytes(dev), 3 * WINDOW);
	for (unsigned int i = 0; i < 512; i++)
		assert_int_equal(vfk_dma_unmap(dev, 0x100000000ull + i * PAGE, PAGE, NULL), 0);
	assert_int_equal(vfk_dma_mapped_bytes(dev), 2 * WINDOW);
	assert_int_equal(vfk_dma_unmap(dev, 0x200000000ull, 2 * WINDOW, NULL), 0);
	assert_int_equal(vfk_dma_mapped_bytes(dev), 2 * WINDOW);
	assert_int_equal(vfk_dma_unmap(dev, 0x300000000ull, PAGE, NULL), 0);
	assert_int_equal(vfk_dma_mapped_bytes(dev), 0);
	assert_int_equal(test_mapped_bytes("memfd:" HUGE_NAME), 0);
	close(fd);
}

/* The byte limit counts window address space; past it, ENOSPC. */
static void test_byte_limit(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	int fd = sparse_memfd(HUGE_NAME, 1ull << 40);

	vfk_dma_set_byte_limit(dev, 3 * WINDOW);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(vfk_dma_map(dev, (uint64_t)i * PAGE, PAGE, fd,
					     (uint64_t)i * 100 * WINDOW, RW), 0);
	assert_int_equal(vfk_dma_map(dev, 3 * PAGE, PAGE, fd, 300ull * WINDOW, RW), -ENOSPC);
	/* Inside a window already mapped: no new address space, allowed. */
	assert_int_equal(vfk_dma_map(dev, 3 * PAGE, PAGE, fd, 100ull * WINDOW + PAGE, RW), 0);
	/* fd-less mappings take none either. */
	assert_int_equal(vfk_dma_map(dev, 1ull << 32, 1ull << 40, -1, 0, RW), 0);
	assert_int_equal(vfk_dma_mapped_bytes(dev), 3 * WINDOW);
	assert_int_equal(vfk_dma_unmap(dev, 0, PAGE, NULL), 0);
	assert_int_equal(vfk_dma_map(dev, 4 * PAGE, PAGE, fd, 300ull * WINDOW, RW), 0);
	vfk_dma_unmap_all(dev);
	vfk_dma_set_byte_limit(dev, VFK_DMA_DEFAULT_MAX_BYTES);
	/* The window limit counts mmaps, whatever their size. */
	vfk_dma_set_window_limit(dev, 2);
	assert_int_equal(vfk_dma_map(dev, 0, PAGE, fd, 0, RW), 0);
	assert_int_equal(vfk_dma_map(dev, PAGE, PAGE, fd, 10ull * WINDOW, RW), 0);
	assert_int_equal(vfk_dma_map(dev, 2 * PAGE, PAGE, fd, 20ull * WINDOW, RW), -ENOSPC);
	assert_int_equal(vfk_dma_map(dev, 2 * PAGE, PAGE, fd, 10ull * WINDOW + PAGE, RW), 0);
	assert_int_equal(vfk_dma_unmap(dev, 0, PAGE, NULL), 0);
	assert_int_equal(vfk_dma_map(dev, 3 * PAGE, PAGE, fd, 20ull * WINDOW, RW), 0);
	vfk_dma_unmap_all(dev);
	vfk_dma_set_window_limit(dev, UINT64_MAX);
	close(fd);
}

static unsigned int lost_calls;

static void count_lost(void *ctx)
{
	lost_calls++;
}

/* A client that shrinks its file: copies fail, the transport hears of
 * it, and no SIGBUS reaches the process. */
static void test_truncated_file(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	struct vfk_dma_transport tr = { .memory_lost = count_lost };
	int fd = sparse_memfd(HUGE_NAME, 4 * PAGE);
	uint8_t buf[2 * PAGE];

	lost_calls = 0;
	vfk_dma_set_transport(dev, &tr);
	assert_int_equal(vfk_dma_map(dev, 0x10000, 4 * PAGE, fd, 0, RW), 0);
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(vfk_dma_write(dev, 0x10000 + PAGE, buf, sizeof(buf)), 0);
	assert_int_equal(ftruncate(fd, PAGE), 0);
	assert_int_equal(vfk_dma_read(dev, 0x10000 + PAGE, buf, sizeof(buf)), -EFAULT);
	assert_int_equal(vfk_dma_write(dev, 0x10000 + 3 * PAGE, buf, 8), -EFAULT);
	assert_int_equal(lost_calls, 2);
	/* The page still in the file is served as before. */
	assert_int_equal(vfk_dma_read(dev, 0x10000, buf, 16), 0);
	assert_int_equal(lost_calls, 2);
	vfk_dma_set_transport(dev, NULL);
	/* Without a transport it fails the same way. */
	assert_int_equal(vfk_dma_read(dev, 0x10000 + 2 * PAGE, buf, 1), -EFAULT);
	vfk_dma_unmap_all(dev);
	close(fd);
}

/* Only the library's own copies are guarded: any other SIGBUS (here a
 * truncated mapping of the process's own) ends the process as before.
 * In a child whose SIGBUS is the default (cmocka sets its own). */
static void test_other_sigbus_not_swallowed(void **state)
{
	struct fixture *f = *state;
	int fd = sparse_memfd(HUGE_NAME, 2 * PAGE);
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		volatile uint8_t *p = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);

		signal(SIGBUS, SIG_DFL);
		/* A mapping installs the handler, passing on to the default. */
		if (p == MAP_FAILED || vfk_dma_map(f->dev, 0, PAGE, fd, 0, RW) ||
		    ftruncate(fd, 0))
			_exit(2);
		(void)p[PAGE];
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGBUS);
	close(fd);
}

/* A memfd of FILE_SIZE bytes, each byte fill. */
static int filled_memfd(uint8_t fill)
{
	uint8_t page[PAGE];
	int fd = memfd_create(MEMFD_NAME, 0);

	assert_true(fd >= 0);
	memset(page, fill, sizeof(page));
	for (unsigned int i = 0; i < FILE_SIZE / PAGE; i++)
		assert_int_equal(pwrite(fd, page, PAGE, (off_t)i * PAGE), PAGE);
	return fd;
}

/*
 * A page mapped and unmapped alone, again and again (QEMU's DMA_MAP +
 * DMA_UNMAP pairs under a vIOMMU): its window stays mapped, idle, and the
 * next pair finds it (same bytes, same address, one mmap throughout).
 */
static void test_idle_window_reused(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	uint8_t *first = NULL;

	for (unsigned int i = 0; i < 100; i++) {
		uint64_t iova = 0x40000000 + (uint64_t)(i % 7) * PAGE;
		uint8_t *p;

		assert_int_equal(vfk_dma_map(dev, iova, PAGE, f->fd, 5 * PAGE, RW), 0);
		p = vfk_dma_translate(dev, iova, PAGE, RW);
		assert_non_null(p);
		assert_int_equal(p[1], (uint8_t)((5 * PAGE + 1) * 7));
		if (!first)
			first = p;
		assert_ptr_equal(p, first);
		assert_int_equal(vfk_dma_unmap(dev, iova, PAGE, NULL), 0);
		assert_int_equal(memfd_mmaps(), 1);
		assert_int_equal(vfk_dma_mapped_bytes(dev), 0);
	}
	/* The client leaves: nothing of its files stays mapped. */
	vfk_dma_release(dev);
	assert_int_equal(memfd_mmaps(), 0);
}

/*
 * An idle window serves only its own file: another file at the same
 * offset gets its own window and its own bytes. At most 4 stay idle,
 * the oldest unmapped first.
 */
static void test_idle_window_per_file_and_bounded(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	int fds[6];

	for (int i = 0; i < 6; i++) {
		uint8_t *p;

		fds[i] = filled_memfd((uint8_t)(0xa0 + i));
		assert_int_equal(vfk_dma_map(dev, 0x1000000, PAGE, fds[i], 3 * PAGE, RW), 0);
		p = vfk_dma_translate(dev, 0x1000000, PAGE, RW);
		assert_non_null(p);
		assert_int_equal(p[0], 0xa0 + i);
		assert_int_equal(p[PAGE - 1], 0xa0 + i);
		assert_int_equal(vfk_dma_unmap(dev, 0x1000000, PAGE, NULL), 0);
		assert_int_equal(memfd_mmaps(), i < 4 ? i + 1 : 4);
	}
	/* The newest files' windows are the idle ones: the oldest were dropped
	 * and are mapped anew, the newest found again. */
	for (int i = 5; i >= 0; i--) {
		assert_int_equal(vfk_dma_map(dev, 0x2000000, PAGE, fds[i], 3 * PAGE, RW), 0);
		assert_int_equal(*(uint8_t *)vfk_dma_translate(dev, 0x2000000, 1, RW), 0xa0 + i);
		assert_int_equal(vfk_dma_unmap(dev, 0x2000000, PAGE, NULL), 0);
		assert_true(memfd_mmaps() <= 4);
	}
	for (int i = 0; i < 6; i++)
		close(fds[i]);
	assert_int_equal(vfk_dma_unmap_all(dev), 0);
	assert_int_equal(memfd_mmaps(), 0);
}

/* Idle windows give way when a new window would pass the client's limits. */
static void test_idle_windows_yield_to_limits(void **state)
{
	struct fixture *f = *state;
	struct vfk_device *dev = f->dev;
	int other = filled_memfd(0x5a);

	vfk_dma_set_window_limit(dev, 1);
	assert_int_equal(vfk_dma_map(dev, 0x1000000, PAGE, f->fd, 0, RW), 0);
	assert_int_equal(vfk_dma_unmap(dev, 0x1000000, PAGE, NULL), 0);
	assert_int_equal(memfd_mmaps(), 1);
	assert_int_equal(vfk_dma_map(dev, 0x1000000, PAGE, other, 0, RW), 0);
	assert_int_equal(*(uint8_t *)vfk_dma_translate(dev, 0x1000000, 1, RW), 0x5a);
	assert_int_equal(memfd_mmaps(), 1);
	/* With a mapping live the limit holds as before. */
	assert_int_equal(vfk_dma_map(dev, 0x2000000, PAGE, f->fd, 0, RW), -ENOSPC);
	close(other);
	vfk_dma_set_window_limit(dev, UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unmap_as_type1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_translate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_translate_after_unmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rw_across_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transport_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_mmap_per_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_grows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_drops_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_against_reference, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maps_only_the_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_sigbus_not_swallowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_window_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_window_per_file_and_bounded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_idle_windows_yield_to_limits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
