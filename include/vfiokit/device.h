/* SPDX-License-Identifier: MIT */
/*
 * vfiokit device: a PCI function built in a process.
 *
 * A device owns a region table (fixed vfio-pci indexes 0..8 plus
 * device-specific regions from index 9 on), an emulated PCI config space,
 * IRQ state and a DMA mapping table. It knows nothing of transports: the
 * vfio-user server (or a test) calls the functions declared here.
 *
 * All functions return 0 (or a byte count) on success and a negative errno
 * on failure unless documented otherwise.
 *
 * Threads: a device is not locked. Use it from one thread at a time: the
 * thread of the server it is added to (server.h), its ops and deferred
 * work run there too; before it is added, or after that server stopped,
 * from any one thread. Different devices may be used in different
 * threads at once; they share nothing but read-only tables.
 */
#ifndef VFIOKIT_DEVICE_H
#define VFIOKIT_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/vfio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vfk_device;

/** Hooks a device model may provide; every member may be NULL. */
struct vfk_device_ops {
	/* After the core restored config space, IRQs and DMA to their initial
	 * state: put the model's own state back to power-on. */
	int (*reset)(struct vfk_device *dev);
	/* From vfk_device_destroy(), before the regions' release ops. */
	void (*destroy)(struct vfk_device *dev);
	/* After a config space write was applied (offset/count as written). */
	void (*config_written)(struct vfk_device *dev, uint64_t offset, size_t count);
};

/** What a device is; copied by vfk_device_create(). */
struct vfk_device_desc {
	const char *name;          /* for logs; copied */
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsys_vendor_id;
	uint16_t subsys_id;
	uint32_t class_code;       /* 24 bits: base, sub, prog-if */
	uint8_t revision;
	uint8_t irq_pin;           /* 0 = no INTx, 1..4 = INTA..INTD */
	bool pcie;                 /* 4 KiB config space with extended caps */
	const struct vfk_device_ops *ops;
	void *priv;
};

/**
 * Create a device with an initial config header and no regions but CONFIG.
 * A NULL name becomes "vfiokit". -EINVAL for a NULL desc/out or an
 * irq_pin > 4, -ENOMEM.
 */
int vfk_device_create(const struct vfk_device_desc *desc, struct vfk_device **out);

/** Release every region, close every fd the device holds, free it. NULL is a no-op. */
void vfk_device_destroy(struct vfk_device *dev);

/** The model's private pointer from the descriptor. */
void *vfk_device_priv(const struct vfk_device *dev);

/** The name given at creation. */
const char *vfk_device_name(const struct vfk_device *dev);

/** Work a model runs later, outside the current access; see vfk_device_defer(). */
typedef void (*vfk_deferred_fn)(struct vfk_device *dev, void *arg);

/** How many deferred calls one device can have queued at once. */
#define VFK_MAX_DEFERRED 16

/**
 * Queue fn(dev, arg) to run after the access being handled has been
 * answered. A model uses it for work that talks to the peer, above all
 * DMA over vfio-user messages: QEMU waits for the reply to an MMIO write
 * before it serves the server's DMA_READ/DMA_WRITE requests, so DMA done
 * inside the write handler would wait on a peer that waits on us.
 * The vfio-user server runs the queue once the replies of the current
 * batch are sent; other transports (and tests) call
 * vfk_device_run_deferred(). Calls run in queue order. A reset drops
 * what is queued. Never allocates. -EINVAL for a NULL fn, -ENOSPC when
 * VFK_MAX_DEFERRED calls are already queued.
 */
int vfk_device_defer(struct vfk_device *dev, vfk_deferred_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif
