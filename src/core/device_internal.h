/* SPDX-License-Identifier: MIT */
/*
 * The core's private view of a device, shared by the files of src/core/.
 * Nothing outside src/core/ includes this: transports and models use the
 * public headers only.
 */
#ifndef VFIOKIT_CORE_DEVICE_INTERNAL_H
#define VFIOKIT_CORE_DEVICE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <vfiokit/device.h>
#include <vfiokit/dma.h>
#include <vfiokit/passthrough.h>
#include <vfiokit/region.h>
#include <vfiokit/transport.h>

/* Internal to libvfiokit: hidden, so the library exports only what
 * include/vfiokit/ declares (src/libvfiokit.map), and calls between its
 * files need no PLT hop. */
#pragma GCC visibility push(hidden)

struct vfk_caps;
struct vfk_dma;

struct vfk_region {
	struct vfk_device *dev;
	uint32_t index;
	bool present;
	uint32_t flags;         /* VFIO_REGION_INFO_FLAG_READ/WRITE/MMAP */
	uint64_t size;
	uint32_t type;          /* device-specific regions only */
	uint32_t subtype;
	uint32_t bar_attrs;     /* VFK_BAR_* for BAR regions */
	const struct vfk_region_ops *ops;
	void *priv;
};

struct vfk_irq_vector {
	int eventfd;            /* -1 when none */
	int unmask_fd;          /* INTx: eventfd that unmasks when signalled, or -1 */
	struct vfk_watch *unmask_watch;  /* watching unmask_fd, or NULL */
	bool masked;
	bool pending;           /* raised while masked */
};

struct vfk_irq_index {
	uint32_t count;         /* vectors the device offers */
	uint32_t active;        /* vectors the peer enabled, 0 while off */
	uint32_t flags;         /* VFIO_IRQ_INFO_* */
	struct vfk_irq_vector *vectors;  /* count entries */
};

struct vfk_pci_config {
	size_t size;            /* 256 or 4096 */
	uint8_t *bytes;         /* current contents */
	uint8_t *initial;       /* contents after build, for reset */
	uint8_t *wmask;         /* bits software may write */
	uint8_t *w1cmask;       /* bits cleared by writing 1 */
	uint32_t bar_mask[7];   /* size masks of BAR0..5 and the ROM (index 6) */
	uint8_t last_cap;       /* offset of the last standard cap, 0 if none */
	uint8_t pm_cap;         /* first PM cap, 0 if none: PowerState writes */
	uint8_t msi_cap;        /* first MSI cap, 0 if none: MME clamp, vectors */
	uint8_t next_cap_free;  /* where the next standard cap goes */
	uint16_t last_ext_cap;
	uint16_t next_ext_free;
	int msix_table_bar;     /* -1 without MSI-X */
};

/* A device's event sources (event.c). */
struct vfk_events {
	int epfd;                        /* -1 until the first source or events_fd call */
	struct vfk_watch *live;
	struct vfk_watch *dead;          /* removed during a dispatch, freed after it */
	unsigned int dispatching;        /* nesting depth of vfk_device_dispatch_events */
};

struct vfk_device {
	char *name;
	struct vfk_device_desc desc;
	struct vfk_region fixed[VFIO_PCI_NUM_REGIONS];
	struct vfk_region **extra;       /* device-specific, index 9 + i; stable pointers */
	uint32_t nr_extra;
	struct vfk_pci_config cfg;
	struct vfk_irq_index irqs[VFIO_PCI_NUM_IRQS];
	struct vfk_dma *dma;
	struct vfk_caps *caps;           /* reused by every region-info request */
	uint8_t *info_buf;               /* reused region-info reply buffer */
	size_t info_buf_size;
	struct vfk_deferred {
		vfk_deferred_fn fn;
		void *arg;
	} deferred[VFK_MAX_DEFERRED];    /* ring of queued calls */
	unsigned int deferred_head, deferred_count;
	unsigned int deferred_drops;     /* bumped by every drop (reset) */
	struct vfk_events events;
	/* Passthrough (passthrough.h): pt.ops NULL for an emulated device. */
	struct vfk_passthrough_desc pt;
};

/* region.c */
void vfk_regions_init(struct vfk_device *dev);
void vfk_regions_release(struct vfk_device *dev);
void vfk_regions_peer_gone(struct vfk_device *dev);   /* each region's peer_gone op */
/* The table slot of index (present or not), or NULL past the table. */
struct vfk_region *vfk_region_slot(struct vfk_device *dev, uint32_t index);

/* pci_config.c */
int vfk_config_init(struct vfk_device *dev);
void vfk_config_fini(struct vfk_device *dev);
void vfk_config_reset(struct vfk_device *dev);
int vfk_config_set_bar(struct vfk_device *dev, unsigned int bar, uint64_t size,
		       uint32_t bar_attrs);
int vfk_config_set_rom(struct vfk_device *dev, uint64_t size);
/* The command register's Interrupt Disable bit. */
bool vfk_config_intx_disabled(const struct vfk_device *dev);
/* Set or clear the status register's Interrupt Status bit (INTx level). */
void vfk_config_set_intx_status(struct vfk_device *dev, bool asserted);
/*
 * Whether the function may send MSI vector `vector`: while the MSI Enable
 * bit is set, only the 1 << MME vectors software allocated; while it is
 * clear (or without MSI) the config space sets no limit.
 */
bool vfk_config_msi_vector_allocated(const struct vfk_device *dev, uint32_t vector);
/* MSI per-vector Mask and Pending bits (false/no-op without per-vector masking). */
bool vfk_config_msi_vector_masked(const struct vfk_device *dev, uint32_t vector);
bool vfk_config_msi_pending(const struct vfk_device *dev, uint32_t vector);
void vfk_config_msi_set_pending(struct vfk_device *dev, uint32_t vector, bool pending);

/* irq.c */
int vfk_irqs_init(struct vfk_device *dev);
void vfk_irqs_fini(struct vfk_device *dev);
void vfk_irqs_reset(struct vfk_device *dev);     /* masks and pending only */
void vfk_irqs_release(struct vfk_device *dev);   /* closes every eventfd */
int vfk_irqs_set_count(struct vfk_device *dev, uint32_t index, uint32_t count);
/* The command register changed: deliver INTx held back by Interrupt Disable. */
void vfk_irq_intx_command_written(struct vfk_device *dev);
/* The MSI Mask Bits changed: send what was held for a vector now unmasked. */
void vfk_irq_msi_mask_written(struct vfk_device *dev);

/* defer.c */
void vfk_defer_drop(struct vfk_device *dev);

/* event.c */
void vfk_events_init(struct vfk_device *dev);
void vfk_events_fini(struct vfk_device *dev);

/* passthrough.c: whether dev is a passthrough device */
static inline bool vfk_is_passthrough(const struct vfk_device *dev)
{
	return dev->pt.ops != NULL;
}

/* dma.c */
struct vfk_dma *vfk_dma_new(void);
void vfk_dma_free(struct vfk_dma *dma);

#pragma GCC visibility pop

#endif
