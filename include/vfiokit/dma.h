/* SPDX-License-Identifier: MIT */
/*
 * DMA: the client's memory as a device sees it, by IOVA.
 *
 * The transport records the client's mappings here (vfio-user DMA_MAP,
 * with or without an fd). fd-backed memory is mmapped once per backing
 * file and mappings are carved out of it, so a million mappings cost no
 * more than one mmap each of the few files behind them. Memory that came
 * without an fd is reached through the transport (vfio-user DMA_READ /
 * DMA_WRITE messages). Lookups are O(log n) in the number of mappings.
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

/** Per-connection defaults: the kernel's type1 default dma_entry_limit, and
 * 1 TiB of address space (64 devices at the limit still fit in x86-64's
 * 128 TiB of user address space). */
#define VFK_DMA_DEFAULT_MAX_MAPS  65535u
#define VFK_DMA_DEFAULT_MAX_BYTES (1ull << 40)

/** How a transport reaches client memory, and hears that it is gone. */
struct vfk_dma_transport {
	/* Copy len bytes between buf and the client's iova (memory that
	 * came without an fd); 0 or -errno. */
	int (*rw)(void *ctx, uint64_t iova, void *buf, size_t len, bool write);
	/* The client took away memory behind an fd-backed mapping (it
	 * shrank the file): drop that client. May be NULL. */
	void (*memory_lost)(void *ctx);
	/* The model called vfk_dma_quiesced(): retry the unmap that returned
	 * -EBUSY (not from inside this call: the model is on the stack).
	 * May be NULL. */
	void (*quiesced)(void *ctx);
	void *ctx;
};

/** Set (or clear, with NULL) the transport used for fd-less mappings. */
void vfk_dma_set_transport(struct vfk_device *dev, const struct vfk_dma_transport *t);

/**
 * Record a mapping of [iova, iova + size). fd (borrowed; -1 for none) and
 * fd_offset give the backing memory; prot is VFK_DMA_READ|VFK_DMA_WRITE.
 * The core requires no alignment of iova, size or fd_offset: the
 * transport enforces the page sizes it advertised. The fd is not kept:
 * only the window of its file that the range needs is mmapped (aligned to
 * 2 MiB, or to the file's huge page size, and shared with other mappings
 * of the same file that fit in it), and the caller may close it at once.
 * A client that truncates the file under a live mapping makes
 * vfk_dma_read/write fail with -EFAULT and its transport's memory_lost
 * run; the process gets no SIGBUS from them. Accesses through pointers
 * from vfk_dma_translate() are not guarded (see there).
 * -EINVAL for size 0, iova + size past 2^64, prot 0 or unknown bits, an fd
 * that is not a regular file, or a range past the end of fd (overflow-safe);
 * -EBADF for a bad fd; -EACCES for WRITE on a read-only fd (or a write-only
 * fd); -EEXIST when it overlaps an existing mapping; -ENOSPC past the
 * limits of vfk_dma_set_limit(), vfk_dma_set_byte_limit() or
 * vfk_dma_set_window_limit(); -ENOMEM, or mmap's error.
 */
int vfk_dma_map(struct vfk_device *dev, uint64_t iova, uint64_t size, int fd,
		uint64_t fd_offset, uint32_t prot);

/**
 * Remove the mappings within [iova, iova + size), as the kernel's type1
 * (v2) IOMMU does: a mapping is never split, so one that straddles either
 * end makes it -EINVAL and nothing goes, as do size 0 and a range past
 * 2^64; a range with no mapping in it is 0 with nothing removed. The bytes
 * removed go to *unmapped (may be NULL; 0 on error). The listener hears
 * of each mapping first and may answer -EBUSY: then nothing is removed
 * and this returns -EBUSY; the transport holds the client's request and
 * calls again once the transport's quiesced op ran.
 */
int vfk_dma_unmap(struct vfk_device *dev, uint64_t iova, uint64_t size, uint64_t *unmapped);

/** Remove every mapping: 0, or -EBUSY as vfk_dma_unmap() (none removed). */
int vfk_dma_unmap_all(struct vfk_device *dev);

/** Remove every mapping now (the client is gone): the listener is told
 * it cannot wait. */
void vfk_dma_release(struct vfk_device *dev);

/**
 * Limit on live mappings (default VFK_DMA_DEFAULT_MAX_MAPS). Lowering it
 * below the current count keeps the mappings; only new ones fail.
 */
void vfk_dma_set_limit(struct vfk_device *dev, uint64_t max_mappings);

/**
 * Limit on the address space the mapped windows of client files take in
 * this process (default VFK_DMA_DEFAULT_MAX_BYTES); see
 * vfk_dma_mapped_bytes(). Lowering it keeps the mappings.
 */
void vfk_dma_set_byte_limit(struct vfk_device *dev, uint64_t max_bytes);

/**
 * Limit on the windows (one mmap each) the fd-backed mappings take
 * (default: none). A process has vm.max_map_count mmaps in all; a server
 * gives each connection its share (vfk_server_set_map_budget()).
 */
void vfk_dma_set_window_limit(struct vfk_device *dev, uint64_t max_windows);

/** Number of live mappings. */
uint64_t vfk_dma_count(const struct vfk_device *dev);

/** Address space taken by the windows of fd-backed mappings now. */
uint64_t vfk_dma_mapped_bytes(const struct vfk_device *dev);

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
