// SPDX-License-Identifier: MIT
/*
 * VFIO_DEVICE_GET_REGION_INFO, answered as the kernel's vfio-pci does:
 * the core's caps, then the region's add_capability hook, assembled behind
 * the 32-byte header with `next` shifted by 32, or only the header with
 * the needed argsz when the caller's buffer is too small. The reply is
 * built into a per-device buffer that is reused across requests.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/caps.h>
#include <vfiokit/log.h>
#include <vfiokit/region.h>

#include "core/device_internal.h"

#define INFO_HDR_SIZE ((uint32_t)sizeof(struct vfio_region_info))
#define VFIO_PCI_OFFSET_SHIFT 40

/* Where the answer starts when the caller must not assume it. */
static uint64_t default_offset(uint32_t index)
{
	return (uint64_t)index << VFIO_PCI_OFFSET_SHIFT;
}

static int check_mmap_desc(const struct vfk_region *region, const struct vfk_mmap_desc *desc)
{
	if (desc->fd < 0 || desc->nr_areas > VFK_MAX_MMAP_AREAS)
		return -EINVAL;
	for (uint32_t i = 0; i < desc->nr_areas; i++) {
		const struct vfk_mmap_area *a = &desc->areas[i];

		if (a->offset > region->size || a->size > region->size - a->offset)
			return -EINVAL;
	}
	return 0;
}

/* Ask the mmap op how the region maps; SPARSE_MMAP when it names areas. */
static int add_mmap_caps(struct vfk_device *dev, struct vfk_region *region,
			 uint64_t *offset, int *fd)
{
	struct vfk_mmap_desc desc = { .fd = -1 };
	int ret = region->ops->mmap(dev, region, &desc);

	if (ret)
		return ret < 0 ? ret : -EIO;
	ret = check_mmap_desc(region, &desc);
	if (ret) {
		vfk_err("%s: region %u: mmap op gave fd %d, %u areas outside the region or too many",
			dev->name, region->index, desc.fd, desc.nr_areas);
		return ret;
	}
	*offset = desc.fd_offset;
	*fd = desc.fd;
	if (desc.nr_areas)
		return vfk_caps_add_sparse_mmap(dev->caps, desc.areas, desc.nr_areas);
	return 0;
}

/* The core's caps, in the documented order. */
static int add_core_caps(struct vfk_device *dev, struct vfk_region *region,
			 uint64_t *offset, int *fd)
{
	/* MMAP on an empty region (vfio-pci's ATSD without a register) maps nothing. */
	bool mappable = (region->flags & VFIO_REGION_INFO_FLAG_MMAP) && region->size;
	int ret = 0;

	if (region->index >= VFIO_PCI_NUM_REGIONS)
		ret = vfk_caps_add_type(dev->caps, region->type, region->subtype);
	if (!ret && mappable)
		ret = add_mmap_caps(dev, region, offset, fd);
	if (!ret && mappable && region->index <= VFIO_PCI_BAR5_REGION_INDEX &&
	    dev->cfg.msix_table_bar == (int)region->index)
		ret = vfk_caps_add_msix_mappable(dev->caps);
	return ret;
}

static int add_hook_caps(struct vfk_device *dev, struct vfk_region *region)
{
	int ret;

	if (!region->ops || !region->ops->add_capability)
		return 0;
	ret = region->ops->add_capability(dev, region, dev->caps);
	return ret > 0 ? -EIO : ret;
}

static int collect_caps(struct vfk_device *dev, struct vfk_region *region,
			uint64_t *offset, int *fd)
{
	int ret = add_core_caps(dev, region, offset, fd);

	return ret ? ret : add_hook_caps(dev, region);
}

static int reserve_info_buf(struct vfk_device *dev, size_t size)
{
	uint8_t *buf;

	if (size <= dev->info_buf_size)
		return 0;
	buf = realloc(dev->info_buf, size);
	if (!buf)
		return -ENOMEM;
	dev->info_buf = buf;
	dev->info_buf_size = size;
	return 0;
}

/* Copy the chain behind the header, shifting every non-zero next by 32. */
static void copy_shifted_chain(const struct vfk_caps *caps, uint8_t *dst)
{
	const uint8_t *src = vfk_caps_data(caps);
	uint32_t off = 0;

	memcpy(dst, src, vfk_caps_size(caps));
	for (;;) {
		struct vfio_info_cap_header hdr;

		memcpy(&hdr, src + off, sizeof(hdr));
		if (!hdr.next)
			return;
		hdr.next += INFO_HDR_SIZE;
		memcpy(dst + off, &hdr, sizeof(hdr));
		off = hdr.next - INFO_HDR_SIZE;
	}
}

/* Build the reply into dev->info_buf; returns its length. */
static size_t assemble_reply(struct vfk_device *dev, const struct vfk_region *region,
			     uint32_t argsz, uint64_t offset)
{
	size_t caps_size = vfk_caps_size(dev->caps);
	struct vfio_region_info info = {
		.argsz = INFO_HDR_SIZE + (uint32_t)caps_size,
		.flags = region->present ? region->flags : 0,
		.index = region->index,
		.cap_offset = 0,
		.size = region->present ? region->size : 0,
		.offset = offset,
	};
	size_t len = INFO_HDR_SIZE;

	if (caps_size) {
		info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (argsz >= info.argsz) {
			info.cap_offset = INFO_HDR_SIZE;
			copy_shifted_chain(dev->caps, dev->info_buf + INFO_HDR_SIZE);
			len += caps_size;
		}
	}
	memcpy(dev->info_buf, &info, sizeof(info));
	return len;
}

/*
 * The slot to describe. BAR and ROM slots always answer (size 0, flags 0
 * when unset: QEMU asks for every BAR and gives up on an error); VGA
 * exists only when set; CONFIG and device-specific regions always exist.
 */
static struct vfk_region *info_region(struct vfk_device *dev, uint32_t index)
{
	struct vfk_region *region = vfk_region_slot(dev, index);

	if (region && !region->present && index == VFIO_PCI_VGA_REGION_INDEX)
		return NULL;
	return region;
}

int vfk_region_info(struct vfk_device *dev, uint32_t index, uint32_t argsz,
		    const void **reply, size_t *reply_len, int *fd)
{
	struct vfk_region *region = info_region(dev, index);
	uint64_t offset = default_offset(index);
	int map_fd = -1;
	int ret;

	if (argsz < INFO_HDR_SIZE || !region)
		return -EINVAL;
	vfk_caps_reset(dev->caps);
	ret = region->present ? collect_caps(dev, region, &offset, &map_fd) : 0;
	if (!ret)
		ret = reserve_info_buf(dev, INFO_HDR_SIZE + vfk_caps_size(dev->caps));
	if (ret) {
		/* Drop a half-built chain so the next request starts clean. */
		vfk_caps_reset(dev->caps);
		return ret;
	}
	*reply_len = assemble_reply(dev, region, argsz, offset);
	*reply = dev->info_buf;
	*fd = map_fd;
	return 0;
}
