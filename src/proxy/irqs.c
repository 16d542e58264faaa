// SPDX-License-Identifier: MIT
/*
 * Interrupts: SET_IRQS goes to the target as the client sent it, its
 * eventfds included, so the target (the kernel's vfio-pci, or a vfio-user
 * server) signals the client's eventfds itself and no interrupt passes
 * through this process; that holds for INTx's UNMASK eventfd (QEMU's
 * resample fd) too. The core checked the request against the target's
 * IRQ info first. When the client leaves, every index is disabled.
 */
#include <string.h>

#include <vfiokit/log.h>
#include <vfiokit/transport.h>

#include "proxy/proxy_internal.h"

int proxy_set_irqs(struct vfk_device *dev, const struct vfio_irq_set *set, const void *data,
		   size_t data_len)
{
	struct vfk_proxy *p = proxy_of(dev);
	int ret = (int)proxy_target_ret(p, vfk_client_set_irqs(p->target, set, data, data_len));

	vfk_dbg("%s: SET_IRQS index %u start %u count %u flags %#x to %s: %d",
		vfk_device_name(dev), set->index, set->start, set->count, set->flags,
		p->target_name, ret);
	return ret;
}

void proxy_irqs_off(struct vfk_device *dev)
{
	struct vfk_proxy *p = proxy_of(dev);

	for (uint32_t i = 0; i < VFIO_PCI_NUM_IRQS && i < p->info.num_irqs; i++) {
		struct vfio_irq_info info = { .argsz = sizeof(info), .index = i };
		int ret;

		if (vfk_device_irq_info(dev, &info) || !info.count)
			continue;
		/* An index that was never enabled may refuse: nothing to stop. */
		ret = (int)proxy_target_ret(p, vfk_client_set_irq_eventfds(p->target, i, 0, 0,
									     NULL));
		if (ret)
			vfk_dbg("%s: disabling IRQ index %u of %s: %s", vfk_device_name(dev), i,
				p->target_name, strerror(-ret));
	}
}
