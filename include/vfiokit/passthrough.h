/* SPDX-License-Identifier: MIT */
/*
 * A passthrough device: a vfiokit device whose identity, config space,
 * interrupts and DMA belong to another device, a proxy's target (see
 * proxy.h). The core still answers every request and validates what the
 * client sends (region bounds and flags, SET_IRQS ranges and data, DMA
 * ranges, limits and overlaps) exactly as for an emulated device; only
 * then does it hand the request to these hooks instead of its own
 * emulation. Regions stay ordinary regions (region.h), with ops that
 * forward.
 *
 * Threads: as device.h.
 */
#ifndef VFIOKIT_PASSTHROUGH_H
#define VFIOKIT_PASSTHROUGH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/vfio.h>

#include <vfiokit/dma.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vfk_device;

/**
 * What a passthrough device does instead of the core's emulation. Every
 * member is required.
 * config_read/config_write: CONFIG accesses, after the core checked them
 * against config_size; return count or -errno, as a region op.
 * set_irqs: VFIO_DEVICE_SET_IRQS after the core's checks (flags, one data
 * type, index, start + count within the index's count, data length):
 * data holds count elements of the data type. Eventfds in data are
 * borrowed for the call (the caller closes them after); hand them on
 * (the target dup()s or keeps them) or dup() what is kept.
 * dma_map: a mapping arrived and is recorded; fd (-1 for none) and
 * fd_offset are the client's, valid for this call only; r->host is its
 * memory in this process (NULL without an fd). A negative return refuses
 * the mapping: the core removes it again and the client's DMA_MAP fails
 * with that errno.
 * dma_unmap: a mapping dma_map accepted goes (unmap, unmap-all, client
 * gone); its memory is still mapped during the call.
 * peer_gone: the client left (vfk_device_release_peer()), before its
 * mappings are removed and the device is reset: stop the target's
 * interrupts.
 */
struct vfk_passthrough_ops {
	ssize_t (*config_read)(struct vfk_device *dev, void *buf, size_t count,
			       uint64_t offset);
	ssize_t (*config_write)(struct vfk_device *dev, const void *buf, size_t count,
				uint64_t offset);
	int (*set_irqs)(struct vfk_device *dev, const struct vfio_irq_set *set,
			const void *data, size_t data_len);
	int (*dma_map)(struct vfk_device *dev, const struct vfk_dma_region *r, int fd,
		       uint64_t fd_offset);
	void (*dma_unmap)(struct vfk_device *dev, const struct vfk_dma_region *r);
	void (*peer_gone)(struct vfk_device *dev);
};

/** The target's answers the core repeats; copied by vfk_device_set_passthrough(). */
struct vfk_passthrough_desc {
	uint32_t device_flags;    /* VFIO_DEVICE_GET_INFO flags, as the target gave them */
	uint64_t config_size;     /* CONFIG region size (256 or 4096, the target's) */
	uint32_t config_flags;    /* CONFIG region flags (READ | WRITE) */
	/* GET_IRQ_INFO of each index as the target answered (flags, count);
	 * argsz 0 marks an index the target refused (answered -EINVAL). */
	struct vfio_irq_info irqs[VFIO_PCI_NUM_IRQS];
	const struct vfk_passthrough_ops *ops;
};

/**
 * Make dev a passthrough device: from now on device info, CONFIG region
 * info and accesses, IRQ info, SET_IRQS and DMA mappings go as the
 * descriptor says. Call it once, before the device is served. -EINVAL for
 * a missing op, a config_size other than 256 or 4096 or an IRQ count
 * above 2048; -EEXIST when already set; -ENOMEM.
 */
int vfk_device_set_passthrough(struct vfk_device *dev, const struct vfk_passthrough_desc *desc);

#ifdef __cplusplus
}
#endif
#endif
