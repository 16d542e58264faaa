// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

#include <vfiokit/caps.h>
#include <vfiokit/region.h>

#include "atsd.h"
#include "memfd_backing.h"

#define IBM_PCI_VENDOR_ID 0x1014u

struct atsd {
	int fd;                /* -1 when no register is assigned */
	const uint8_t *mem;    /* fd mapped read-only when fd >= 0, for direct reads */
	uint64_t size;
	uint64_t tgt;
	uint32_t link_speed;
};

static ssize_t atsd_read(struct vfk_device *dev, struct vfk_region *region,
			 void *buf, size_t count, uint64_t offset)
{
	const struct atsd *a = vfk_region_priv(region);

	return vfk_memfd_read(a->fd, buf, count, offset);
}

static ssize_t atsd_write(struct vfk_device *dev, struct vfk_region *region,
			  const void *buf, size_t count, uint64_t offset)
{
	const struct atsd *a = vfk_region_priv(region);

	return vfk_memfd_write(a->fd, buf, count, offset);
}

static int atsd_mmap(struct vfk_device *dev, struct vfk_region *region,
		     struct vfk_mmap_desc *desc)
{
	const struct atsd *a = vfk_region_priv(region);

	/* The core asks only when the region has MMAP, i.e. when fd exists. */
	desc->fd = a->fd;
	desc->fd_offset = 0;
	desc->nr_areas = 0;
	return 0;
}

/* Written ranges only: a hole read through the mapping would allocate it. */
static const void *atsd_direct(struct vfk_device *dev, struct vfk_region *region,
			       uint64_t offset, size_t count)
{
	const struct atsd *a = vfk_region_priv(region);

	/* The core checked the range against the size: 0 when no register. */
	return vfk_memfd_populated(a->mem, offset, count) ? a->mem + offset : NULL;
}

static void atsd_free(struct atsd *a)
{
	if (a->mem)
		munmap((void *)a->mem, a->size);
	if (a->fd >= 0)
		close(a->fd);
	free(a);
}

static void atsd_release(struct vfk_device *dev, struct vfk_region *region)
{
	atsd_free(vfk_region_priv(region));
}

static int atsd_add_capability(struct vfk_device *dev, struct vfk_region *region,
			       struct vfk_caps *caps)
{
	const struct atsd *a = vfk_region_priv(region);
	int ret = vfk_caps_add_nvlink2_ssatgt(caps, a->tgt);

	return ret ? ret : vfk_caps_add_nvlink2_lnkspd(caps, a->link_speed);
}

static const struct vfk_region_ops atsd_ops = {
	.read = atsd_read,
	.write = atsd_write,
	.mmap = atsd_mmap,
	.release = atsd_release,
	.add_capability = atsd_add_capability,
	.direct = atsd_direct,
};

int vfk_atsd_add(struct vfk_device *dev, bool present, uint64_t tgt, uint32_t link_speed,
		 uint32_t *index)
{
	struct vfk_region_desc desc = {
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		.ops = &atsd_ops,
	};
	struct atsd *a = calloc(1, sizeof(*a));
	int ret;

	if (!a)
		return -ENOMEM;
	*a = (struct atsd){ .fd = -1, .tgt = tgt, .link_speed = link_speed };
	if (present) {
		desc.size = vfk_host_page_size();
		desc.flags |= VFIO_REGION_INFO_FLAG_MMAP;
		a->size = desc.size;
		a->fd = vfk_memfd_open("vfiokit-npu2-atsd", desc.size);
		if (a->fd < 0) {
			ret = a->fd;
			free(a);
			return ret;
		}
		a->mem = vfk_memfd_map_ro(a->fd, desc.size);
		if (!a->mem) {
			ret = -errno;
			atsd_free(a);
			return ret;
		}
	}
	desc.priv = a;
	ret = vfk_device_add_region(dev, VFK_REGION_TYPE_PCI_VENDOR(IBM_PCI_VENDOR_ID),
				    VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD, &desc, index);
	if (ret)
		atsd_free(a);
	return ret;
}
