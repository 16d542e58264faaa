// SPDX-License-Identifier: MIT
/*
 * The region table of a device: the fixed vfio-pci indexes 0..8 and the
 * device-specific regions from index 9 on, their setters and accessors,
 * and the checked read/write path (no allocation there).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>

#include <vfiokit/pci_config.h>
#include <vfiokit/region.h>

#include "core/device_internal.h"

#define REGION_FLAGS_SETTABLE (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | \
			       VFIO_REGION_INFO_FLAG_MMAP)
#define BAR_ATTRS_ALL (VFK_BAR_IO | VFK_BAR_MEM64 | VFK_BAR_PREFETCH)
#define BAR_MEM_MIN_SIZE 16u
#define BAR_IO_MIN_SIZE 4u
#define BAR32_MAX_SIZE (1ull << 31)
#define ROM_MIN_SIZE 2048u

void vfk_regions_init(struct vfk_device *dev)
{
	for (uint32_t i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		dev->fixed[i] = (struct vfk_region){ .dev = dev, .index = i };
	}
	/* CONFIG is always there and served by the config space emulation. */
	dev->fixed[VFIO_PCI_CONFIG_REGION_INDEX].present = true;
	dev->fixed[VFIO_PCI_CONFIG_REGION_INDEX].flags =
		VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	dev->fixed[VFIO_PCI_CONFIG_REGION_INDEX].size = dev->cfg.size;
}

static void region_release(struct vfk_device *dev, struct vfk_region *region)
{
	if (region->present && region->ops && region->ops->release)
		region->ops->release(dev, region);
	region->present = false;
}

void vfk_regions_release(struct vfk_device *dev)
{
	for (uint32_t i = 0; i < VFIO_PCI_NUM_REGIONS; i++)
		region_release(dev, &dev->fixed[i]);
	for (uint32_t i = 0; i < dev->nr_extra; i++) {
		region_release(dev, dev->extra[i]);
		free(dev->extra[i]);
	}
	free(dev->extra);
	dev->extra = NULL;
	dev->nr_extra = 0;
}

static void region_peer_gone(struct vfk_device *dev, struct vfk_region *region)
{
	if (region->present && region->ops && region->ops->peer_gone)
		region->ops->peer_gone(dev, region);
}

void vfk_regions_peer_gone(struct vfk_device *dev)
{
	for (uint32_t i = 0; i < VFIO_PCI_NUM_REGIONS; i++)
		region_peer_gone(dev, &dev->fixed[i]);
	for (uint32_t i = 0; i < dev->nr_extra; i++)
		region_peer_gone(dev, dev->extra[i]);
}

/* Static, so the per-access path inlines it rather than calling the
 * exported functions below through the library's PLT. */
static struct vfk_region *slot_at(struct vfk_device *dev, uint32_t index)
{
	if (index < VFIO_PCI_NUM_REGIONS)
		return &dev->fixed[index];
	if (index - VFIO_PCI_NUM_REGIONS < dev->nr_extra)
		return dev->extra[index - VFIO_PCI_NUM_REGIONS];
	return NULL;
}

static struct vfk_region *present_at(struct vfk_device *dev, uint32_t index)
{
	struct vfk_region *region = slot_at(dev, index);

	return region && region->present ? region : NULL;
}

struct vfk_region *vfk_region_slot(struct vfk_device *dev, uint32_t index)
{
	return slot_at(dev, index);
}

struct vfk_region *vfk_device_region(struct vfk_device *dev, uint32_t index)
{
	return present_at(dev, index);
}

void *vfk_region_priv(const struct vfk_region *region)
{
	return region->priv;
}

uint32_t vfk_region_index(const struct vfk_region *region)
{
	return region->index;
}

uint64_t vfk_region_size(const struct vfk_region *region)
{
	return region->size;
}

uint32_t vfk_region_flags(const struct vfk_region *region)
{
	return region->flags;
}

static bool is_power_of_two(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Flags a model may give, and MMAP only with an mmap op to describe it. */
static int check_desc(const struct vfk_region_desc *desc, uint32_t allowed_flags)
{
	if (!desc || (desc->flags & ~allowed_flags))
		return -EINVAL;
	if ((desc->flags & VFIO_REGION_INFO_FLAG_MMAP) && !(desc->ops && desc->ops->mmap))
		return -EINVAL;
	return 0;
}

static void region_fill(struct vfk_region *region, const struct vfk_region_desc *desc)
{
	region->present = true;
	region->flags = desc->flags;
	region->size = desc->size;
	region->ops = desc->ops;
	region->priv = desc->priv;
}

static int check_bar_size(uint64_t size, uint32_t attrs)
{
	uint64_t min = (attrs & VFK_BAR_IO) ? BAR_IO_MIN_SIZE : BAR_MEM_MIN_SIZE;

	if (size == 0)
		return 0;
	if (!is_power_of_two(size) || size < min)
		return -EINVAL;
	if (!(attrs & VFK_BAR_MEM64) && size > BAR32_MAX_SIZE)
		return -EINVAL;
	return 0;
}

/* A BAR slot is taken when set, or when it is the upper half of a 64-bit BAR. */
static bool bar_slot_taken(const struct vfk_device *dev, unsigned int bar)
{
	if (dev->fixed[bar].present)
		return true;
	return bar > 0 && dev->fixed[bar - 1].present &&
	       (dev->fixed[bar - 1].bar_attrs & VFK_BAR_MEM64);
}

static int check_bar(const struct vfk_device *dev, unsigned int bar, uint64_t size,
		     uint32_t attrs)
{
	if (bar > VFIO_PCI_BAR5_REGION_INDEX || (attrs & ~BAR_ATTRS_ALL))
		return -EINVAL;
	if ((attrs & VFK_BAR_IO) && (attrs & (VFK_BAR_MEM64 | VFK_BAR_PREFETCH)))
		return -EINVAL;
	if ((attrs & VFK_BAR_MEM64) && bar == VFIO_PCI_BAR5_REGION_INDEX)
		return -EINVAL;
	if (check_bar_size(size, attrs))
		return -EINVAL;
	if (bar_slot_taken(dev, bar))
		return -EEXIST;
	if ((attrs & VFK_BAR_MEM64) && dev->fixed[bar + 1].present)
		return -EEXIST;
	return 0;
}

int vfk_device_set_bar(struct vfk_device *dev, unsigned int bar,
		       const struct vfk_region_desc *desc, uint32_t bar_attrs)
{
	int ret = check_desc(desc, REGION_FLAGS_SETTABLE);

	if (ret)
		return ret;
	ret = check_bar(dev, bar, desc->size, bar_attrs);
	if (ret)
		return ret;
	ret = vfk_config_set_bar(dev, bar, desc->size, bar_attrs);
	if (ret)
		return ret;
	region_fill(&dev->fixed[bar], desc);
	dev->fixed[bar].bar_attrs = bar_attrs;
	return 0;
}

int vfk_device_set_rom(struct vfk_device *dev, const struct vfk_region_desc *desc)
{
	struct vfk_region *rom = &dev->fixed[VFIO_PCI_ROM_REGION_INDEX];
	int ret = check_desc(desc, VFIO_REGION_INFO_FLAG_READ);

	if (ret)
		return ret;
	if (!is_power_of_two(desc->size) || desc->size < ROM_MIN_SIZE ||
	    desc->size > BAR32_MAX_SIZE)
		return -EINVAL;
	if (rom->present)
		return -EEXIST;
	ret = vfk_config_set_rom(dev, desc->size);
	if (ret)
		return ret;
	region_fill(rom, desc);
	return 0;
}

int vfk_device_set_vga(struct vfk_device *dev, const struct vfk_region_desc *desc)
{
	struct vfk_region *vga = &dev->fixed[VFIO_PCI_VGA_REGION_INDEX];
	int ret = check_desc(desc, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);

	if (ret)
		return ret;
	if (vga->present)
		return -EEXIST;
	region_fill(vga, desc);
	return 0;
}

int vfk_device_add_region(struct vfk_device *dev, uint32_t type, uint32_t subtype,
			  const struct vfk_region_desc *desc, uint32_t *index)
{
	struct vfk_region **table, *region;
	int ret = check_desc(desc, REGION_FLAGS_SETTABLE);

	if (ret)
		return ret;
	if (dev->nr_extra >= VFK_MAX_DEVICE_REGIONS)
		return -ENOSPC;
	region = calloc(1, sizeof(*region));
	if (!region)
		return -ENOMEM;
	table = realloc(dev->extra, (dev->nr_extra + 1) * sizeof(*table));
	if (!table) {
		free(region);
		return -ENOMEM;
	}
	dev->extra = table;
	region->dev = dev;
	region->index = VFIO_PCI_NUM_REGIONS + dev->nr_extra;
	region->type = type;
	region->subtype = subtype;
	region_fill(region, desc);
	table[dev->nr_extra++] = region;
	if (index)
		*index = region->index;
	return 0;
}

/*
 * The region for an access of count bytes at offset needing flag
 * (READ or WRITE), or NULL (the access is -EINVAL). Overflow-safe bounds.
 */
static struct vfk_region *region_for_access(struct vfk_device *dev, uint32_t index,
					    uint32_t flag, size_t count, uint64_t offset)
{
	struct vfk_region *region = present_at(dev, index);

	if (!region || !(region->flags & flag))
		return NULL;
	if (count > SSIZE_MAX || offset > region->size || count > region->size - offset)
		return NULL;
	return region;
}

/* A model's op must return at most count bytes or a negative errno. */
static ssize_t checked_result(ssize_t ret, size_t count)
{
	return ret > (ssize_t)count ? -EIO : ret;
}

ssize_t vfk_region_read(struct vfk_device *dev, uint32_t index,
			void *buf, size_t count, uint64_t offset)
{
	struct vfk_region *region =
		region_for_access(dev, index, VFIO_REGION_INFO_FLAG_READ, count, offset);

	if (!region)
		return -EINVAL;
	if (count == 0)
		return 0;
	if (index == VFIO_PCI_CONFIG_REGION_INDEX && vfk_is_passthrough(dev))
		return checked_result(dev->pt.ops->config_read(dev, buf, count, offset), count);
	if (index == VFIO_PCI_CONFIG_REGION_INDEX)
		return vfk_pci_config_read(dev, buf, count, offset);
	if (!region->ops || !region->ops->read)
		return -EINVAL;
	return checked_result(region->ops->read(dev, region, buf, count, offset), count);
}

ssize_t vfk_region_write(struct vfk_device *dev, uint32_t index,
			 const void *buf, size_t count, uint64_t offset)
{
	struct vfk_region *region =
		region_for_access(dev, index, VFIO_REGION_INFO_FLAG_WRITE, count, offset);

	if (!region)
		return -EINVAL;
	if (count == 0)
		return 0;
	if (index == VFIO_PCI_CONFIG_REGION_INDEX && vfk_is_passthrough(dev))
		return checked_result(dev->pt.ops->config_write(dev, buf, count, offset), count);
	if (index == VFIO_PCI_CONFIG_REGION_INDEX)
		return vfk_pci_config_write(dev, buf, count, offset);
	if (!region->ops || !region->ops->write)
		return -EINVAL;
	return checked_result(region->ops->write(dev, region, buf, count, offset), count);
}

const void *vfk_region_direct_read(struct vfk_device *dev, uint32_t index,
				   uint64_t offset, size_t count)
{
	struct vfk_region *region =
		region_for_access(dev, index, VFIO_REGION_INFO_FLAG_READ, count, offset);

	if (!region || count == 0 || index == VFIO_PCI_CONFIG_REGION_INDEX)
		return NULL;
	if (!region->ops || !region->ops->direct)
		return NULL;
	return region->ops->direct(dev, region, offset, count);
}

void *vfk_region_direct_write(struct vfk_device *dev, uint32_t index, uint64_t offset,
			      size_t count)
{
	struct vfk_region *region =
		region_for_access(dev, index, VFIO_REGION_INFO_FLAG_WRITE, count, offset);

	if (!region || count == 0 || index == VFIO_PCI_CONFIG_REGION_INDEX)
		return NULL;
	if (!region->ops || !region->ops->direct_write)
		return NULL;
	return region->ops->direct_write(dev, region, offset, count);
}
