/* SPDX-License-Identifier: MIT */
/*
 * DMA: the client's memory as a device sees it, by IOVA.
 *
 * The transport records the client's mappings (vfio-user DMA_MAP, with or
 * without an fd; transport.h). A model reads and writes them here: memory
 * that came with an fd is a guarded copy away, memory that came without
 * one is reached through the transport (vfio-user DMA_READ / DMA_WRITE
 * messages). Lookups are O(log n) in the number of mappings. A listener
 * tells the model of every mapping added and, before it goes, removed.
 *
 * Threads: from the thread that serves the device.
 */
#ifndef VFIOKIT_DMA_H
#define VFIOKIT_DMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vfk_device;

#define VFK_DMA_READ   (1u << 0)   /* device may read the memory */
#define VFK_DMA_WRITE  (1u << 1)   /* device may write the memory */

/** Number of live mappings. */
uint64_t vfk_dma_count(const struct vfk_device *dev);

/**
 * A pointer to len bytes at iova when they lie inside one fd-backed
 * mapping that allows prot; NULL otherwise (also for len 0 or a span past
 * 2^64). Valid until that mapping is removed. Never allocates.
 * Accesses through it are not guarded: if the client truncates its file,
 * touching a lost page raises SIGBUS and ends the process. Use it only
 * for memory the client cannot shrink (a memfd it sealed with
 * F_SEAL_SHRINK), or copy through vfk_dma_read/write, which fail instead.
 */
void *vfk_dma_translate(struct vfk_device *dev, uint64_t iova, size_t len, uint32_t prot);

/** A mapping as the listener sees it. */
struct vfk_dma_region {
	uint64_t iova;
	uint64_t len;
	void *host;                 /* its bytes here (fd-backed), or NULL (fd-less) */
	uint32_t prot;              /* VFK_DMA_READ | VFK_DMA_WRITE */
};

/**
 * What a model hears of its client's mappings, for a model that keeps
 * pointers into them (a ring, a queue) or DMA in flight.
 * map: a mapping was added.
 * unmap: a mapping is about to go (unmap, unmap-all, or the client gone),
 * while its memory is still there. With may_wait true the model may
 * return -EBUSY to finish DMA in flight first: the client's request is
 * held (its later requests wait too) until the model calls
 * vfk_dma_quiesced(); the mapping is then announced again with may_wait
 * false, and goes. A model that takes longer than the transport allows
 * (5 s for the server) gets its client disconnected instead: the mapping
 * is announced with may_wait false and goes. Any other return is 0.
 * Either may be NULL. Called from the thread that serves the device.
 */
struct vfk_dma_listener {
	void (*map)(struct vfk_device *dev, const struct vfk_dma_region *r, void *arg);
	int (*unmap)(struct vfk_device *dev, const struct vfk_dma_region *r, bool may_wait,
		     void *arg);
	void *arg;
};

/** Set (or clear, with NULL) dev's listener; it is copied. */
void vfk_dma_set_listener(struct vfk_device *dev, const struct vfk_dma_listener *l);

/**
 * The model has no DMA in flight into the mapping(s) it answered -EBUSY
 * for: the held unmap goes on, from the loop, after the caller returns.
 * Call it from a handler, deferred work or an event source of dev.
 */
void vfk_dma_quiesced(struct vfk_device *dev);

/**
 * Copy from/to client memory; the span may cross adjacent mappings, each
 * piece served by memcpy (fd-backed) or one transport rw call (fd-less).
 * The whole span is checked before a byte moves: -EFAULT for an unmapped
 * byte (or a span past 2^64), -EACCES for a mapping without READ (read) or
 * WRITE (write), -ENOTCONN for fd-less memory with no transport; then the
 * transport's own error, if any. len 0 is 0. Never allocates.
 */
int vfk_dma_read(struct vfk_device *dev, uint64_t iova, void *buf, size_t len);
int vfk_dma_write(struct vfk_device *dev, uint64_t iova, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
