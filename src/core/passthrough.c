// SPDX-License-Identifier: MIT
/*
 * Passthrough devices (passthrough.h): the descriptor is checked and kept
 * here; device.c, region.c, irq.c and dma.c consult it where an emulated
 * device would use the core's own state, after their usual checks.
 */
#include <errno.h>

#include <vfiokit/passthrough.h>

#include "core/device_internal.h"

#define PT_MAX_IRQ_COUNT 2048u

static bool ops_complete(const struct vfk_passthrough_ops *ops)
{
	return ops && ops->config_read && ops->config_write && ops->set_irqs &&
	       ops->dma_map && ops->dma_unmap && ops->peer_gone;
}

static int check_desc(const struct vfk_passthrough_desc *desc)
{
	if (!desc || !ops_complete(desc->ops))
		return -EINVAL;
	if (desc->config_size != 256 && desc->config_size != 4096)
		return -EINVAL;
	for (uint32_t i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		if (desc->irqs[i].argsz && desc->irqs[i].count > PT_MAX_IRQ_COUNT)
			return -EINVAL;
	}
	return 0;
}

/* The core's vector tables sized as the target's, so SET_IRQS is checked
 * against the target's counts before the hook sees it. */
static int size_irqs(struct vfk_device *dev, const struct vfk_passthrough_desc *desc)
{
	for (uint32_t i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		uint32_t count = desc->irqs[i].argsz ? desc->irqs[i].count : 0;
		int ret = vfk_irqs_set_count(dev, i, count);

		if (ret)
			return ret;
	}
	return 0;
}

int vfk_device_set_passthrough(struct vfk_device *dev, const struct vfk_passthrough_desc *desc)
{
	struct vfk_region *config = &dev->fixed[VFIO_PCI_CONFIG_REGION_INDEX];
	int ret = check_desc(desc);

	if (ret)
		return ret;
	if (vfk_is_passthrough(dev))
		return -EEXIST;
	ret = size_irqs(dev, desc);
	if (ret)
		return ret;
	dev->pt = *desc;
	config->size = desc->config_size;
	config->flags = desc->config_flags &
			(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
	return 0;
}
