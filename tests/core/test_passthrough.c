// SPDX-License-Identifier: MIT
/*
 * Passthrough devices (vfiokit/passthrough.h): the core keeps checking
 * what the client sends and hands only checked requests to the hooks;
 * device info, CONFIG and IRQ info are the target's; a mapping the hook
 * refuses is gone again; every accepted mapping is announced as going on
 * each path; peer_gone runs before the mappings go.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <vfiokit/device.h>
#include <vfiokit/dma.h>
#include <vfiokit/passthrough.h>
#include <vfiokit/region.h>
#include <vfiokit/transport.h>

/* What the hooks saw. */
static struct {
	int config_reads, config_writes, set_irqs, maps, unmaps, peer_gone;
	uint64_t last_offset;
	int last_fd;
	void *last_host;
	int map_result;
	int unmaps_at_peer_gone;      /* unmaps seen when peer_gone ran */
	struct vfio_irq_set last_set;
} seen;

static ssize_t cfg_read(struct vfk_device *dev, void *buf, size_t count, uint64_t offset)
{
	seen.config_reads++;
	seen.last_offset = offset;
	memset(buf, 0xa5, count);
	return (ssize_t)count;
}

static ssize_t cfg_write(struct vfk_device *dev, const void *buf, size_t count, uint64_t offset)
{
	seen.config_writes++;
	seen.last_offset = offset;
	return (ssize_t)count;
}

static int set_irqs(struct vfk_device *dev, const struct vfio_irq_set *set, const void *data,
		    size_t data_len)
{
	seen.set_irqs++;
	seen.last_set = *set;
	return 0;
}

static int dma_map(struct vfk_device *dev, const struct vfk_dma_region *r, int fd,
		   uint64_t fd_offset)
{
	seen.maps++;
	seen.last_fd = fd;
	seen.last_host = r->host;
	return seen.map_result;
}

static void dma_unmap(struct vfk_device *dev, const struct vfk_dma_region *r)
{
	seen.unmaps++;
}

static void peer_gone(struct vfk_device *dev)
{
	seen.peer_gone++;
	seen.unmaps_at_peer_gone = seen.unmaps;
}

static const struct vfk_passthrough_ops ops = {
	cfg_read, cfg_write, set_irqs, dma_map, dma_unmap, peer_gone,
};

static struct vfk_device *make(void)
{
	const struct vfk_device_desc d = { .name = "pt", .vendor_id = 1, .device_id = 2 };
	struct vfk_passthrough_desc pt = {
		.device_flags = VFIO_DEVICE_FLAGS_PCI,    /* no RESET: the target has none */
		.config_size = 4096,
		.config_flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		.ops = &ops,
	};
	struct vfk_device *dev;

	pt.irqs[VFIO_PCI_MSIX_IRQ_INDEX] = (struct vfio_irq_info){
		.argsz = sizeof(struct vfio_irq_info), .flags = VFIO_IRQ_INFO_EVENTFD,
		.index = VFIO_PCI_MSIX_IRQ_INDEX, .count = 3 };
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(vfk_device_create(&d, &dev), 0);
	assert_int_equal(vfk_device_set_passthrough(dev, &pt), 0);
	assert_int_equal(vfk_device_set_passthrough(dev, &pt), -EEXIST);
	return dev;
}

static void test_desc_checked(void **state)
{
	const struct vfk_device_desc d = { .name = "pt" };
	struct vfk_passthrough_ops partial = ops;
	struct vfk_passthrough_desc pt = { .config_size = 256, .ops = &ops };
	struct vfk_device *dev;

	assert_int_equal(vfk_device_create(&d, &dev), 0);
	partial.peer_gone = NULL;
	pt.ops = &partial;
	assert_int_equal(vfk_device_set_passthrough(dev, &pt), -EINVAL);
	pt.ops = &ops;
	pt.config_size = 512;
	assert_int_equal(vfk_device_set_passthrough(dev, &pt), -EINVAL);
	pt.config_size = 256;
	pt.irqs[1] = (struct vfio_irq_info){ .argsz = 16, .index = 1, .count = 4096 };
	assert_int_equal(vfk_device_set_passthrough(dev, &pt), -EINVAL);
	assert_int_equal(vfk_device_set_passthrough(dev, NULL), -EINVAL);
	vfk_device_destroy(dev);
}

static void test_info_is_the_targets(void **state)
{
	struct vfk_device *dev = make();
	struct vfio_device_info di;
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	const void *reply;
	struct vfio_region_info ri;
	size_t len;
	int fd;

	vfk_device_get_info(dev, &di);
	assert_int_equal(di.flags, VFIO_DEVICE_FLAGS_PCI);
	assert_int_equal(vfk_device_irq_info(dev, &ii), 0);
	assert_int_equal(ii.count, 3);
	assert_int_equal(ii.flags, VFIO_IRQ_INFO_EVENTFD);
	ii.index = VFIO_PCI_INTX_IRQ_INDEX;   /* argsz 0 in the desc: absent */
	assert_int_equal(vfk_device_irq_info(dev, &ii), -EINVAL);
	assert_int_equal(vfk_region_info(dev, VFIO_PCI_CONFIG_REGION_INDEX, 32, &reply, &len, &fd),
			 0);
	memcpy(&ri, reply, sizeof(ri));
	assert_int_equal(ri.size, 4096);
	vfk_device_destroy(dev);
}

static void test_config_goes_to_hooks_checked(void **state)
{
	struct vfk_device *dev = make();
	uint8_t b[8];

	assert_int_equal(vfk_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, b, 4, 0x100), 4);
	assert_int_equal(b[0], 0xa5);
	assert_int_equal(seen.last_offset, 0x100);
	assert_int_equal(vfk_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX, b, 2, 0xffe), 2);
	assert_int_equal(seen.config_writes, 1);
	/* Past the target's 4 KiB: refused before any hook. */
	assert_int_equal(vfk_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, b, 8, 0xffc), -EINVAL);
	assert_int_equal(vfk_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX, b, 1, 4096), -EINVAL);
	assert_int_equal(seen.config_reads, 1);
	assert_int_equal(seen.config_writes, 1);
	vfk_device_destroy(dev);
}

static void test_set_irqs_checked_first(void **state)
{
	struct vfk_device *dev = make();
	struct vfio_irq_set set = {
		.argsz = sizeof(set), .index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 1, .count = 2,
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
	};
	int fds[2] = { -1, -1 };

	assert_int_equal(vfk_device_set_irqs(dev, &set, NULL, 0), 0);
	assert_int_equal(seen.set_irqs, 1);
	assert_int_equal(seen.last_set.start, 1);
	set.count = 3;   /* past the target's 3 vectors */
	assert_int_equal(vfk_device_set_irqs(dev, &set, NULL, 0), -EINVAL);
	set.count = 2;
	set.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	assert_int_equal(vfk_device_set_irqs(dev, &set, fds, 4), -EINVAL);  /* short data */
	set.index = VFIO_PCI_INTX_IRQ_INDEX;                                /* no vectors */
	assert_int_equal(vfk_device_set_irqs(dev, &set, fds, 8), -EINVAL);
	set.index = VFIO_PCI_MSIX_IRQ_INDEX;
	set.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER;
	assert_int_equal(vfk_device_set_irqs(dev, &set, fds, 8), -EINVAL);
	assert_int_equal(seen.set_irqs, 1);
	vfk_device_destroy(dev);
}

static int memfd_of(size_t size)
{
	int fd = memfd_create("pt", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static void test_dma_refused_is_gone(void **state)
{
	struct vfk_device *dev = make();
	int fd = memfd_of(0x4000);

	seen.map_result = -ENOTSUP;
	assert_int_equal(vfk_dma_map(dev, 0x10000, 0x1000, fd, 0, VFK_DMA_READ), -ENOTSUP);
	assert_int_equal(seen.maps, 1);
	assert_int_equal(seen.last_fd, fd);
	assert_non_null(seen.last_host);
	assert_int_equal(vfk_dma_count(dev), 0);
	/* A positive return is not an errno: -EIO. */
	seen.map_result = 1;
	assert_int_equal(vfk_dma_map(dev, 0x10000, 0x1000, -1, 0, VFK_DMA_READ), -EIO);
	assert_null(seen.last_host);
	assert_int_equal(vfk_dma_count(dev), 0);
	/* Nothing was accepted, so nothing is announced as going. */
	vfk_device_release_peer(dev);
	assert_int_equal(seen.unmaps, 0);
	close(fd);
	vfk_device_destroy(dev);
}

static void test_dma_unmaps_on_every_path(void **state)
{
	struct vfk_device *dev = make();
	int fd = memfd_of(0x4000);
	uint64_t gone;

	for (int i = 0; i < 4; i++)
		assert_int_equal(vfk_dma_map(dev, 0x10000 + 0x1000 * (uint64_t)i, 0x1000, fd,
					     0x1000 * (uint64_t)i, VFK_DMA_READ | VFK_DMA_WRITE), 0);
	assert_int_equal(seen.maps, 4);
	/* A straddling unmap is refused before the target hears of it. */
	assert_int_equal(vfk_dma_unmap(dev, 0x10000, 0x800, &gone), -EINVAL);
	assert_int_equal(seen.unmaps, 0);
	assert_int_equal(vfk_dma_unmap(dev, 0x10000, 0x1000, &gone), 0);
	assert_int_equal(seen.unmaps, 1);
	assert_int_equal(vfk_dma_unmap_all(dev), 0);
	assert_int_equal(seen.unmaps, 4);
	assert_int_equal(vfk_dma_map(dev, 0x20000, 0x1000, fd, 0, VFK_DMA_READ), 0);
	vfk_device_release_peer(dev);
	assert_int_equal(seen.peer_gone, 1);
	assert_int_equal(seen.unmaps_at_peer_gone, 4);   /* interrupts stop first */
	assert_int_equal(seen.unmaps, 5);
	close(fd);
	vfk_device_destroy(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_desc_checked),
		cmocka_unit_test(test_info_is_the_targets),
		cmocka_unit_test(test_config_goes_to_hooks_checked),
		cmocka_unit_test(test_set_irqs_checked_first),
		cmocka_unit_test(test_dma_refused_is_gone),
		cmocka_unit_test(test_dma_unmaps_on_every_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
