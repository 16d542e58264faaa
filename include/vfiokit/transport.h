/* SPDX-License-Identifier: MIT */
/*
 * For transports: the code that carries a client's requests to a device
 * (the vfio-user server, a proxy, a test harness). A device model never
 * needs these; it uses device.h, region.h, irq.h, dma.h and event.h.
 *
 * The transport answers the client's requests with the core's answers
 * (device, region and IRQ info, SET_IRQS), records its DMA mappings and
 * says how its memory is reached, runs the device's deferred work once
 * its replies are out, and resets the device when the client goes.
 *
 * Threads: from the thread that serves the device, as everything else.
 */
#ifndef VFIOKIT_TRANSPORT_H
#define VFIOKIT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/vfio.h>

#include <vfiokit/device.h>
#include <vfiokit/dma.h>
#include <vfiokit/irq.h>
#include <vfiokit/region.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the device ---- */

/**
 * Answer VFIO_DEVICE_GET_INFO: flags (PCI, RESET), num_regions (9 plus the
 * device-specific regions), num_irqs (VFIO_PCI_NUM_IRQS). argsz is set to
 * sizeof(*info) and cap_offset to 0.
 */
void vfk_device_get_info(const struct vfk_device *dev, struct vfio_device_info *info);

/**
 * Function-level reset, as VFIO_DEVICE_RESET: config space as built, IRQ
 * masks and pending interrupts cleared, then the model's reset hook, whose
 * result is returned. Queued deferred calls are dropped. The peer's IRQ eventfds and DMA mappings stay: they
 * belong to the peer, which does not set them up again after a guest
 * reset (as the kernel keeps a container's mappings across a reset).
 */
int vfk_device_reset(struct vfk_device *dev);

/**
 * The peer is gone: close every IRQ eventfd it set, remove its DMA
 * mappings, call each region's peer_gone op (device memory is scrubbed
 * there), then vfk_device_reset(). The device is ready for a new peer.
 */
int vfk_device_release_peer(struct vfk_device *dev);

/**
 * Run the calls queued so far, in order; calls they queue themselves
 * wait for the next run. Returns how many ran.
 */
unsigned int vfk_device_run_deferred(struct vfk_device *dev);

/** Number of queued deferred calls. */
unsigned int vfk_device_deferred_count(const struct vfk_device *dev);

/* ---- regions ---- */

/**
 * Answer VFIO_DEVICE_GET_REGION_INFO for `index` with the caller's argsz,
 * as the vfio-user reply carries it: byte for byte the kernel's answer but
 * for argsz and offset (docs/regions-and-capabilities.md says where).
 * Caps, in this order: TYPE (index >= 9), SPARSE_MMAP (mmap op gave
 * areas), MSIX_MAPPABLE (the mappable BAR holding the MSI-X table), then
 * whatever add_capability appends; `next` offsets are from the start of
 * the reply. The reply's argsz is the size the full answer needs (32
 * without caps). With caps that do not fit in argsz: success, FLAG_CAPS,
 * cap_offset 0 and only the 32-byte header. Offset: the mmap op's
 * fd_offset for a mappable region, else index << 40.
 * On success *reply points at *reply_len bytes (a struct vfio_region_info
 * followed by the chain when it fits) inside the device's reusable buffer,
 * valid until the next call on this device; *fd is the fd to hand to the
 * peer for mmap (borrowed) or -1. Errors: -EINVAL for argsz < 32, an index
 * past the table or the VGA index without VGA, or a bad mmap op answer;
 * -ENOMEM; what a hook returned. On error nothing leaks and *reply, *fd
 * are untouched.
 */
int vfk_region_info(struct vfk_device *dev, uint32_t index, uint32_t argsz,
		    const void **reply, size_t *reply_len, int *fd);

/**
 * Where count bytes at offset of region index can be read directly, for
 * a caller that would otherwise copy them out with vfk_region_read (e.g.
 * the server sending a large REGION_READ straight from the region). Same
 * index, READ flag and bounds checks as vfk_region_read; NULL when they
 * fail, for count 0, CONFIG, a region without a direct op, or when the op
 * returns NULL. The bytes may change under the caller only by what changes
 * the region itself (its writes, the peer's mmap), so a caller must finish
 * with them before it handles anything that could write the region.
 * Never allocates.
 */
const void *vfk_region_direct_read(struct vfk_device *dev, uint32_t index,
				   uint64_t offset, size_t count);

/**
 * Where count bytes for offset of region index can be stored directly,
 * for a caller that would otherwise copy them in with vfk_region_write
 * (e.g. the server receiving a large REGION_WRITE's data from the socket
 * straight into the region). Same index, WRITE flag and bounds checks as
 * vfk_region_write; NULL when they fail, for count 0, CONFIG, a region
 * without a direct_write op, or when the op returns NULL. The caller
 * stores exactly the bytes the write would have carried, and may stop
 * part-way only when the write cannot complete (its peer left). Never
 * allocates.
 */
void *vfk_region_direct_write(struct vfk_device *dev, uint32_t index, uint64_t offset,
			      size_t count);

/* ---- interrupts ---- */

/**
 * Answer VFIO_DEVICE_GET_IRQ_INFO for info->index: flags and count as
 * vfio-pci reports them. INTx: EVENTFD|MASKABLE|AUTOMASKED, count 1 when
 * the device has an interrupt pin. Every other index: EVENTFD|NORESIZE;
 * MSI/MSI-X counts from their config space capabilities (0 without);
 * ERR count 1 (PCIe devices only: without PCIe the index is -EINVAL);
 * REQ count 1. Sets argsz to sizeof(*info). -EINVAL for an index >=
 * VFIO_PCI_NUM_IRQS.
 */
int vfk_device_irq_info(const struct vfk_device *dev, struct vfio_irq_info *info);

/**
 * VFIO_DEVICE_SET_IRQS, answered as vfio-pci does. `set` is the header
 * (argsz ignored); `data` holds data_len bytes after it: nothing for
 * DATA_NONE, count u8 for DATA_BOOL, count s32 fds for DATA_EVENTFD.
 * Checked first, all -EINVAL: no unknown flag, exactly one data type,
 * index < VFIO_PCI_NUM_IRQS, start < the index's count and start + count
 * within it (overflow-safe; an index without vectors takes nothing),
 * data_len at least count elements (more is ignored, as the kernel
 * ignores argsz slack). Then the action: MASK/UNMASK exist for INTx only;
 * elsewhere, with no action or several, and MASK by EVENTFD: -ENOTTY.
 * INTx, MSI and MSI-X exclude each other (-EINVAL while another is
 * enabled):
 * - TRIGGER + EVENTFD enables the index (INTx: its vector; MSI/MSI-X:
 *   start + count vectors, a number fixed until it is disabled; 0 is
 *   -ERANGE) or, once enabled, replaces eventfds within it. The core
 *   keeps dup()s (the caller keeps its own); an fd < 0 drops that
 *   vector's eventfd; one that is not open is -EBADF, one that is not an
 *   eventfd -EINVAL, and then nothing changes.
 * - TRIGGER + NONE with count 0 disables the enabled index (eventfds
 *   closed, mask and pending cleared); TRIGGER + NONE/BOOL signals the
 *   selected vectors of the enabled index (not INTx while the command
 *   register's Interrupt Disable is set), past masks.
 * - INTx MASK/UNMASK (start 0, count 1, INTx enabled): NONE/BOOL mask or
 *   unmask, unmasking delivers an interrupt raised while masked. UNMASK +
 *   EVENTFD installs an eventfd whose every signal unmasks (QEMU's INTx
 *   resample fd), watched with the device's event sources and checked
 *   before each INTx the model raises; -EBUSY while one is installed, an
 *   fd < 0 removes it.
 * ERR and REQ (TRIGGER only): EVENTFD sets (-1 drops, other negative fds
 * change nothing) their eventfd; NONE with count 1 or BOOL signals it,
 * NONE with count 0 drops it; NONE without an eventfd, and BOOL/EVENTFD
 * with count 0, are -EINVAL.
 */
int vfk_device_set_irqs(struct vfk_device *dev, const struct vfio_irq_set *set,
			const void *data, size_t data_len);

/* ---- DMA: the client's mappings ---- */

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

/** Address space taken by the windows of live fd-backed mappings now. Up
 * to 4 small windows whose mappings are gone stay mapped for reuse by the
 * same file (not counted here; they give way to new windows at the
 * limits and go when the table is cleared). */
uint64_t vfk_dma_mapped_bytes(const struct vfk_device *dev);

#ifdef __cplusplus
}
#endif
#endif
