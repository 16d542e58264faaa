// SPDX-License-Identifier: MIT
/*
 * Config space: every access goes to the target (the kernel virtualises
 * the function's config space already; a vfio-user target emulates its
 * own), but for ranges a subdriver trapped. The core checked the bounds.
 */
#include "proxy/proxy_internal.h"

ssize_t proxy_config_read(struct vfk_device *dev, void *buf, size_t count, uint64_t offset)
{
	return proxy_access(proxy_of(dev), VFIO_PCI_CONFIG_REGION_INDEX, offset, buf, count,
			    false);
}

ssize_t proxy_config_write(struct vfk_device *dev, const void *buf, size_t count,
			   uint64_t offset)
{
	return proxy_access(proxy_of(dev), VFIO_PCI_CONFIG_REGION_INDEX, offset, (void *)buf,
			    count, true);
}
