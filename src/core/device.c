// SPDX-License-Identifier: MIT
/*
 * Device life cycle: create (config space, region table, IRQs, DMA table,
 * the reusable region-info buffers), destroy, device info and reset.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/caps.h>
#include <vfiokit/device.h>
#include <vfiokit/dma.h>

#include "core/device_internal.h"

#define DEFAULT_NAME "vfiokit"
#define MAX_IRQ_PIN 4

/* Undo whatever part of create succeeded; every step tolerates "not done". */
static void device_free(struct vfk_device *dev)
{
	vfk_regions_release(dev);
	vfk_irqs_fini(dev);
	/* Last: regions and IRQs remove the sources they watch (INTx's unmask fd). */
	vfk_events_fini(dev);
	vfk_dma_free(dev->dma);
	if (dev->cfg.bytes)
		vfk_config_fini(dev);
	vfk_caps_free(dev->caps);
	free(dev->info_buf);
	free(dev->name);
	free(dev);
}

static int device_init(struct vfk_device *dev, const struct vfk_device_desc *desc)
{
	int ret;

	dev->desc = *desc;
	vfk_events_init(dev);
	dev->name = strdup(desc->name ? desc->name : DEFAULT_NAME);
	if (!dev->name)
		return -ENOMEM;
	dev->desc.name = dev->name;
	ret = vfk_config_init(dev);
	if (ret)
		return ret;
	vfk_regions_init(dev);
	ret = vfk_irqs_init(dev);
	if (ret)
		return ret;
	dev->dma = vfk_dma_new();
	dev->caps = vfk_caps_new();
	if (!dev->dma || !dev->caps)
		return -ENOMEM;
	return 0;
}

int vfk_device_create(const struct vfk_device_desc *desc, struct vfk_device **out)
{
	struct vfk_device *dev;
	int ret;

	if (!desc || !out || desc->irq_pin > MAX_IRQ_PIN)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	ret = device_init(dev, desc);
	if (ret) {
		device_free(dev);
		return ret;
	}
	*out = dev;
	return 0;
}

void vfk_device_destroy(struct vfk_device *dev)
{
	if (!dev)
		return;
	if (dev->desc.ops && dev->desc.ops->destroy)
		dev->desc.ops->destroy(dev);
	device_free(dev);
}

void *vfk_device_priv(const struct vfk_device *dev)
{
	return dev->desc.priv;
}

const char *vfk_device_name(const struct vfk_device *dev)
{
	return dev->name;
}

void vfk_device_get_info(const struct vfk_device *dev, struct vfio_device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->flags = vfk_is_passthrough(dev) ? dev->pt.device_flags :
		      VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	info->num_regions = VFIO_PCI_NUM_REGIONS + dev->nr_extra;
	info->num_irqs = VFIO_PCI_NUM_IRQS;
	info->cap_offset = 0;
}

int vfk_device_reset(struct vfk_device *dev)
{
	vfk_config_reset(dev);
	vfk_irqs_reset(dev);
	vfk_defer_drop(dev);
	if (dev->desc.ops && dev->desc.ops->reset)
		return dev->desc.ops->reset(dev);
	return 0;
}

int vfk_device_release_peer(struct vfk_device *dev)
{
	/* The target's interrupts stop before the memory they may announce goes. */
	if (vfk_is_passthrough(dev))
		dev->pt.ops->peer_gone(dev);
	vfk_irqs_release(dev);
	vfk_dma_release(dev);
	vfk_regions_peer_gone(dev);
	return vfk_device_reset(dev);
}
