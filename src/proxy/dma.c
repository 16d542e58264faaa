// SPDX-License-Identifier: MIT
/*
 * DMA: the client's mappings programmed into the target. The core mapped
 * the client's file here (r->host); a kernel target gets a type1
 * VFIO_IOMMU_MAP_DMA of that memory at the client's IOVA, so the device
 * reaches the client's pages through the IOMMU; a vfio-user target gets
 * DMA_MAP with the client's fd. Memory without an fd is refused: the
 * target could reach it only through this process, message by message.
 */
#include <errno.h>
#include <string.h>

#include <vfiokit/log.h>

#include "proxy/proxy_internal.h"

int proxy_dma_map(struct vfk_device *dev, const struct vfk_dma_region *r, int fd,
		  uint64_t fd_offset)
{
	struct vfk_proxy *p = proxy_of(dev);
	int ret;

	if (fd < 0) {
		vfk_err("%s: DMA_MAP iova %#llx size %#llx refused: memory without an fd "
			"cannot be reached by %s (share the guest's memory: a memfd or "
			"share=on backend)", vfk_device_name(dev), (unsigned long long)r->iova,
			(unsigned long long)r->len, p->target_name);
		return -ENOTSUP;
	}
	if (p->kernel)
		ret = vfk_client_dma_map_prot(p->target, r->iova, r->len, r->host, -1, 0, r->prot);
	else
		ret = vfk_client_dma_map_prot(p->target, r->iova, r->len, NULL, fd, fd_offset,
					      r->prot);
	ret = (int)proxy_target_ret(p, ret);
	vfk_dbg("%s: DMA_MAP iova %#llx size %#llx prot %#x to %s: %d", vfk_device_name(dev),
		(unsigned long long)r->iova, (unsigned long long)r->len, r->prot,
		p->target_name, ret);
	if (ret)
		vfk_warn("%s: DMA_MAP iova %#llx size %#llx: %s refused it: %s",
			 vfk_device_name(dev), (unsigned long long)r->iova,
			 (unsigned long long)r->len, p->target_name, strerror(-ret));
	return ret;
}

void proxy_dma_unmap(struct vfk_device *dev, const struct vfk_dma_region *r)
{
	struct vfk_proxy *p = proxy_of(dev);
	int ret = (int)proxy_target_ret(p, vfk_client_dma_unmap(p->target, r->iova, r->len));

	vfk_dbg("%s: DMA_UNMAP iova %#llx size %#llx to %s: %d", vfk_device_name(dev),
		(unsigned long long)r->iova, (unsigned long long)r->len, p->target_name, ret);
	if (ret)
		vfk_warn("%s: DMA_UNMAP iova %#llx size %#llx at %s: %s", vfk_device_name(dev),
			 (unsigned long long)r->iova, (unsigned long long)r->len,
			 p->target_name, strerror(-ret));
}
