// SPDX-License-Identifier: MIT
/*
 * Resets through a proxy: a guest's DEVICE_RESET and a client leaving
 * reset the target; a target without VFIO_DEVICE_FLAGS_RESET is not asked
 * (the proxy answers -EINVAL, as the kernel does for such a device). The
 * targets are served in a thread; the second is itself a passthrough
 * device whose device info lacks RESET.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vfiokit/passthrough.h>
#include <vfiokit/proxy.h>
#include <vfiokit/region.h>
#include <vfiokit/transport.h>

#include "../server/thread_server.h"

static atomic_int resets;   /* the target's reset hook, from its server's thread */

static int count_reset(struct vfk_device *dev)
{
	atomic_fetch_add(&resets, 1);
	return 0;
}

static const struct vfk_device_ops target_ops = { .reset = count_reset };

static ssize_t cfg_read(struct vfk_device *dev, void *buf, size_t count, uint64_t offset)
{
	memset(buf, 0, count);
	return (ssize_t)count;
}

static ssize_t cfg_write(struct vfk_device *dev, const void *buf, size_t count, uint64_t offset)
{
	return (ssize_t)count;
}

static int no_irqs(struct vfk_device *dev, const struct vfio_irq_set *set, const void *data,
		   size_t len)
{
	return -EINVAL;
}

static int no_map(struct vfk_device *dev, const struct vfk_dma_region *r, int fd, uint64_t off)
{
	return -ENOTSUP;
}

static void no_unmap(struct vfk_device *dev, const struct vfk_dma_region *r)
{
}

static void gone(struct vfk_device *dev)
{
}

static const struct vfk_passthrough_ops pt_ops = {
	cfg_read, cfg_write, no_irqs, no_map, no_unmap, gone,
};

static struct vfk_device *target(bool resettable)
{
	const struct vfk_device_desc d = { .name = "target", .vendor_id = 0x1af4,
					   .device_id = 9, .ops = &target_ops };
	const struct vfk_passthrough_desc pt = {
		.device_flags = VFIO_DEVICE_FLAGS_PCI, .config_size = 256,
		.config_flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		.ops = &pt_ops,
	};
	struct vfk_device *dev;

	assert_int_equal(vfk_device_create(&d, &dev), 0);
	if (!resettable)
		assert_int_equal(vfk_device_set_passthrough(dev, &pt), 0);
	return dev;
}

static struct vfk_proxy *open_proxy(struct thread_server *ts)
{
	struct vfk_proxy *p;
	char err[256];

	assert_int_equal(vfk_proxy_open(ts->path, NULL, NULL, &p, err, sizeof(err)), 0);
	return p;
}

static void test_reset_forwarded(void **state)
{
	struct thread_server ts;
	struct vfk_proxy *p;

	ts_start(&ts, target(true), "proxy-reset");
	p = open_proxy(&ts);
	atomic_store(&resets, 0);
	assert_int_equal(vfk_device_reset(vfk_proxy_device(p)), 0);
	assert_int_equal(atomic_load(&resets), 1);
	assert_int_equal(vfk_device_release_peer(vfk_proxy_device(p)), 0);
	assert_int_equal(atomic_load(&resets), 2);
	vfk_proxy_close(p);
	ts_stop(&ts);
}

static void test_no_reset_flag(void **state)
{
	struct thread_server ts;
	struct vfio_device_info info;
	struct vfk_proxy *p;

	ts_start(&ts, target(false), "proxy-noreset");
	p = open_proxy(&ts);
	vfk_device_get_info(vfk_proxy_device(p), &info);
	assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_PCI);
	atomic_store(&resets, 0);
	assert_int_equal(vfk_device_reset(vfk_proxy_device(p)), -EINVAL);
	assert_int_equal(vfk_device_release_peer(vfk_proxy_device(p)), -EINVAL);
	assert_int_equal(atomic_load(&resets), 0);
	vfk_proxy_close(p);
	ts_stop(&ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_forwarded),
		cmocka_unit_test(test_no_reset_flag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
