// SPDX-License-Identifier: MIT
/*
 * The subdriver interface of vfiokit/proxy.h, against a target served in
 * a thread (BAR0 and BAR2 of 16 KiB, mappable from a memfd, BAR2 in two
 * areas only): id matching, option checks and defaults, traps (splitting,
 * overlap and bounds, SPARSE_MMAP around trapped pages, an empty area
 * when no page is left), the target's own SPARSE_MMAP repeated byte for
 * byte and then cut, caps hooks after the target's caps, detach in
 * reverse order at close.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <vfiokit/caps.h>
#include <vfiokit/capchain.h>
#include <vfiokit/proxy.h>
#include <vfiokit/region.h>
#include <vfiokit/transport.h>

#include "../server/thread_server.h"

#define BAR_SIZE 0x4000u

static int bar_fd = -1;

/* The target's BAR0: byte i reads as i & 0xff (a memfd, also mapped). */
static ssize_t bar_read(struct vfk_device *dev, struct vfk_region *r, void *buf, size_t count,
			uint64_t offset)
{
	return pread(bar_fd, buf, count, (off_t)offset);
}

static ssize_t bar_write(struct vfk_device *dev, struct vfk_region *r, const void *buf,
			 size_t count, uint64_t offset)
{
	return pwrite(bar_fd, buf, count, (off_t)offset);
}

static int bar_mmap(struct vfk_device *dev, struct vfk_region *r, struct vfk_mmap_desc *d)
{
	d->fd = bar_fd;
	return 0;
}

static const struct vfk_region_ops bar_ops = {
	.read = bar_read, .write = bar_write, .mmap = bar_mmap,
};

/* BAR2: the same memory, mappable only in [0x1000, 0x2000) and [0x3000, 0x4000). */
static int bar2_mmap(struct vfk_device *dev, struct vfk_region *r, struct vfk_mmap_desc *d)
{
	d->fd = bar_fd;
	d->nr_areas = 2;
	d->areas[0] = (struct vfk_mmap_area){ 0x1000, 0x1000 };
	d->areas[1] = (struct vfk_mmap_area){ 0x3000, 0x1000 };
	return 0;
}

static const struct vfk_region_ops bar2_ops = {
	.read = bar_read, .write = bar_write, .mmap = bar2_mmap,
};

static struct thread_server ts;
static struct vfk_proxy *proxy;

static int setup(void **state)
{
	uint8_t pattern[BAR_SIZE];
	struct vfk_region_desc bar2 = { TS_BAR_RW | VFIO_REGION_INFO_FLAG_MMAP, BAR_SIZE,
					&bar2_ops, NULL };
	struct vfk_device *dev;
	char err[256];

	for (unsigned int i = 0; i < BAR_SIZE; i++)
		pattern[i] = (uint8_t)i;
	bar_fd = memfd_create("bar", MFD_CLOEXEC);
	assert_true(bar_fd >= 0);
	assert_int_equal(pwrite(bar_fd, pattern, BAR_SIZE, 0), BAR_SIZE);
	dev = ts_bar0_device("target", 0x1234, TS_BAR_RW | VFIO_REGION_INFO_FLAG_MMAP, BAR_SIZE,
			     &bar_ops);
	assert_int_equal(vfk_device_set_bar(dev, 2, &bar2, 0), 0);
	ts_start(&ts, dev, "proxy-api");
	assert_int_equal(vfk_proxy_open(ts.path, "proxy", NULL, &proxy, err, sizeof(err)), 0);
	return 0;
}

static int teardown(void **state)
{
	vfk_proxy_close(proxy);
	ts_stop(&ts);
	close(bar_fd);
	return 0;
}

/* ---- a test subdriver ---- */

static int detached[4], nr_detached;

static int t_attach(struct vfk_proxy *p, const struct vfk_proxy_args *args, void **priv,
		    char *err, size_t len)
{
	uint64_t n = 0;
	int ret = vfk_proxy_arg_u64(args, "n", 3, &n);

	if (ret) {
		snprintf(err, len, "n: %d", ret);
		return ret;
	}
	*priv = (void *)(uintptr_t)n;
	return 0;
}

static void t_detach(struct vfk_proxy *p, void *priv)
{
	detached[nr_detached++] = (int)(uintptr_t)priv;
}

static const struct vfk_proxy_option t_options[] = {
	{ "n", "2", "a number up to 3" },
	{ "s", NULL, "text" },
	{ NULL, NULL, NULL },
};

static const struct vfk_proxy_id ours[] = { { 0x1af4, 0x1234 }, { 0, 0 } };
static const struct vfk_proxy_id vendor_only[] = { { 0x1af4, VFK_PROXY_ANY_ID }, { 0, 0 } };
static const struct vfk_proxy_id other[] = { { 0x1af4, 0x1235 }, { 0x10de, 0x1234 }, { 0, 0 } };

static struct vfk_proxy_subdriver sd = {
	.name = "t", .summary = "test", .ids = ours, .options = t_options,
	.attach = t_attach, .detach = t_detach,
};

static void test_identity(void **state)
{
	assert_int_equal(vfk_proxy_vendor_id(proxy), 0x1af4);
	assert_int_equal(vfk_proxy_device_id(proxy), 0x1234);
	assert_string_equal(vfk_proxy_target_name(proxy), ts.path);
	assert_non_null(vfk_proxy_target(proxy));
	assert_non_null(vfk_proxy_target_region(proxy, 0));
	assert_null(vfk_proxy_target_region(proxy, 9));
}

static void test_ids(void **state)
{
	assert_true(vfk_proxy_subdriver_matches(&sd, 0x1af4, 0x1234));
	sd.ids = vendor_only;
	assert_true(vfk_proxy_subdriver_matches(&sd, 0x1af4, 0x9999));
	assert_false(vfk_proxy_subdriver_matches(&sd, 0x10de, 0x1234));
	sd.ids = NULL;
	assert_true(vfk_proxy_subdriver_matches(&sd, 0x10de, 0x1234));
	sd.ids = other;
	assert_false(vfk_proxy_subdriver_matches(&sd, 0x1af4, 0x1234));
}

static void test_attach_checks(void **state)
{
	const char *unknown[] = { "x=1" }, *twice[] = { "n=1", "n=2" }, *nokv[] = { "n" };
	const char *big[] = { "n=4" }, *one[] = { "n=1", "s=hello" };
	char err[256];

	sd.ids = other;
	assert_int_equal(vfk_proxy_attach(proxy, &sd, NULL, 0, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "1af4:1234"));
	sd.ids = ours;
	assert_int_equal(vfk_proxy_attach(proxy, &sd, unknown, 1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown option 'x' (options: n, s)"));
	assert_int_equal(vfk_proxy_attach(proxy, &sd, twice, 2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "given twice"));
	assert_int_equal(vfk_proxy_attach(proxy, &sd, nokv, 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(vfk_proxy_attach(proxy, &sd, big, 1, err, sizeof(err)), -ERANGE);
	assert_string_equal(err, "n: -34");
	/* Attached: the default n=2, then n=1; detached last first at close. */
	assert_int_equal(vfk_proxy_attach(proxy, &sd, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(vfk_proxy_attach(proxy, &sd, one, 2, err, sizeof(err)), 0);
}

static ssize_t trap_read(struct vfk_proxy *p, uint32_t index, uint64_t offset, void *buf,
			 size_t count, void *arg)
{
	memset(buf, *(const int *)arg, count);
	return (ssize_t)count;
}

static int trap_writes;

static ssize_t trap_write(struct vfk_proxy *p, uint32_t index, uint64_t offset,
			  const void *buf, size_t count, void *arg)
{
	trap_writes += (int)count;
	return (ssize_t)count;
}

static const struct vfk_proxy_trap_ops read_ops = { .read = trap_read };
static const struct vfk_proxy_trap_ops write_ops = { .write = trap_write };
static const int aa = 0xaa, bb = 0xbb;

static void test_traps(void **state)
{
	struct vfk_device *dev = vfk_proxy_device(proxy);
	uint8_t b[16];

	assert_int_equal(vfk_proxy_trap(proxy, 0, 0x10, 4, &read_ops, (void *)&aa), 0);
	assert_int_equal(vfk_proxy_trap(proxy, 0, 0x14, 2, &read_ops, (void *)&bb), 0);
	assert_int_equal(vfk_proxy_trap(proxy, 0, 0x13, 2, &read_ops, (void *)&aa), -EEXIST);
	assert_int_equal(vfk_proxy_trap(proxy, 0, BAR_SIZE - 2, 4, &read_ops, NULL), -EINVAL);
	assert_int_equal(vfk_proxy_trap(proxy, 0, 0, 0, &read_ops, NULL), -EINVAL);
	assert_int_equal(vfk_proxy_trap(proxy, 9, 0, 4, &read_ops, NULL), -EINVAL);
	assert_int_equal(vfk_proxy_trap(proxy, 0, 0x100, 4, &(struct vfk_proxy_trap_ops){ 0 },
					NULL), -EINVAL);
	/* 0x0e..0x1d: 2 device bytes, 4 of one trap, 2 of the next, 8 device bytes. */
	assert_int_equal(vfk_region_read(dev, 0, b, 16, 0x0e), 16);
	assert_int_equal(b[0], 0x0e);
	assert_int_equal(b[1], 0x0f);
	for (int i = 2; i < 6; i++)
		assert_int_equal(b[i], 0xaa);
	assert_int_equal(b[6], 0xbb);
	assert_int_equal(b[7], 0xbb);
	for (int i = 8; i < 16; i++)
		assert_int_equal(b[i], 0x0e + i);
	/* A write trap: the write stays here, the device keeps its byte. */
	assert_int_equal(vfk_proxy_trap(proxy, 0, 0x2000, 1, &write_ops, NULL), 0);
	memset(b, 0x55, sizeof(b));
	assert_int_equal(vfk_region_write(dev, 0, b, 2, 0x2000), 2);
	assert_int_equal(trap_writes, 1);
	assert_int_equal(vfk_region_read(dev, 0, b, 2, 0x2000), 2);
	assert_int_equal(b[0], 0x00);    /* read goes to the device: unchanged */
	assert_int_equal(b[1], 0x55);    /* written through */
}

static struct vfk_cap_chain chain_of(uint32_t index, struct vfio_region_info *hdr)
{
	struct vfk_cap_chain chain;
	const void *reply;
	size_t len;
	int fd;

	assert_int_equal(vfk_region_info(vfk_proxy_device(proxy), index, 4096, &reply, &len, &fd),
			 0);
	memcpy(hdr, reply, sizeof(*hdr));
	assert_int_equal(vfk_capchain_parse(reply, len, &chain, NULL, 0), 0);
	return chain;
}

static int hook(struct vfk_proxy *p, uint32_t index, struct vfk_caps *caps, void *arg)
{
	return vfk_caps_add(caps, 0xf00d, 1, arg, 4);
}

static void test_sparse_and_caps(void **state)
{
	struct vfio_region_info hdr;
	struct vfio_region_sparse_mmap_area a;
	struct vfk_cap_chain c;

	assert_int_equal(vfk_proxy_add_caps(proxy, 0, hook, (void *)"abcd"), 0);
	assert_int_equal(vfk_proxy_add_caps(proxy, 7, hook, NULL), -EINVAL);
	assert_int_equal(vfk_proxy_add_caps(proxy, 3, hook, NULL), -EINVAL);
	assert_int_equal(vfk_proxy_add_caps(proxy, 0, NULL, NULL), -EINVAL);
	/* Traps at 0x10..0x15 and 0x2000: pages 0 and 2 leave, page 1 and 3 stay. */
	c = chain_of(0, &hdr);
	assert_true(hdr.flags & VFIO_REGION_INFO_FLAG_MMAP);
	assert_int_equal(c.count, 2);
	assert_int_equal(c.caps[0].id, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	assert_int_equal(c.caps[0].u.sparse.nr_areas, 2);
	assert_true(vfk_cap_sparse_area(&c.caps[0], 0, &a));
	assert_int_equal(a.offset, 0x1000);
	assert_int_equal(a.size, 0x1000);
	assert_true(vfk_cap_sparse_area(&c.caps[0], 1, &a));
	assert_int_equal(a.offset, 0x3000);
	assert_int_equal(a.size, 0x1000);
	assert_int_equal(c.caps[1].id, 0xf00d);
	/* The remaining pages trapped: one empty area. */
	assert_int_equal(vfk_proxy_trap(proxy, 0, 0x1000, 0x1000, &read_ops, (void *)&aa), 0);
	assert_int_equal(vfk_proxy_trap(proxy, 0, 0x3ffc, 4, &read_ops, (void *)&aa), 0);
	c = chain_of(0, &hdr);
	assert_int_equal(c.caps[0].u.sparse.nr_areas, 1);
	assert_true(vfk_cap_sparse_area(&c.caps[0], 0, &a));
	assert_int_equal(a.size, 0);
}

/* The target's own SPARSE_MMAP: repeated byte for byte, then cut by a trap. */
static void test_target_sparse(void **state)
{
	const struct vfk_region_info *t = vfk_proxy_target_region(proxy, 2);
	struct vfio_region_sparse_mmap_area a;
	struct vfio_region_info hdr;
	struct vfk_cap_chain c;
	const void *reply;
	size_t len;
	int fd;

	assert_int_equal(vfk_region_info(vfk_proxy_device(proxy), 2, 4096, &reply, &len, &fd), 0);
	assert_int_equal(len, t->hdr.argsz);
	assert_memory_equal((const uint8_t *)reply + 32, t->raw + 32, len - 32);
	assert_int_equal(vfk_proxy_trap(proxy, 2, 0x3800, 8, &read_ops, (void *)&aa), 0);
	c = chain_of(2, &hdr);
	assert_int_equal(c.caps[0].u.sparse.nr_areas, 1);
	assert_true(vfk_cap_sparse_area(&c.caps[0], 0, &a));
	assert_int_equal(a.offset, 0x1000);
	assert_int_equal(a.size, 0x1000);
}

static void test_detach_order(void **state)
{
	vfk_proxy_close(proxy);
	proxy = NULL;
	assert_int_equal(nr_detached, 2);
	assert_int_equal(detached[0], 1);
	assert_int_equal(detached[1], 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_attach_checks),
		cmocka_unit_test(test_traps),
		cmocka_unit_test(test_sparse_and_caps),
		cmocka_unit_test(test_target_sparse),
		cmocka_unit_test(test_detach_order),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
