// SPDX-License-Identifier: MIT
/*
 * Deferred device work: a fixed ring of calls per device, so queueing
 * from an access handler never allocates.
 */
#include <errno.h>

#include "core/device_internal.h"

int vfk_device_defer(struct vfk_device *dev, vfk_deferred_fn fn, void *arg)
{
	unsigned int slot;

	if (!fn)
		return -EINVAL;
	if (dev->deferred_count == VFK_MAX_DEFERRED)
		return -ENOSPC;
	slot = (dev->deferred_head + dev->deferred_count) % VFK_MAX_DEFERRED;
	dev->deferred[slot].fn = fn;
	dev->deferred[slot].arg = arg;
	dev->deferred_count++;
	return 0;
}

unsigned int vfk_device_run_deferred(struct vfk_device *dev)
{
	/* Only what is queued now: a call that queues more must not make
	 * this loop endless. */
	unsigned int left = dev->deferred_count, ran = 0;
	unsigned int drops = dev->deferred_drops;

	while (left > 0 && dev->deferred_drops == drops) {
		struct vfk_deferred d = dev->deferred[dev->deferred_head];

		/* Dequeue first: the call may queue again or reset the device,
		 * and a reset drops what was queued behind it. */
		dev->deferred_head = (dev->deferred_head + 1) % VFK_MAX_DEFERRED;
		dev->deferred_count--;
		left--;
		ran++;
		d.fn(dev, d.arg);
	}
	return ran;
}

unsigned int vfk_device_deferred_count(const struct vfk_device *dev)
{
	return dev->deferred_count;
}

void vfk_defer_drop(struct vfk_device *dev)
{
	dev->deferred_head = 0;
	dev->deferred_count = 0;
	dev->deferred_drops++;
}
