/* SPDX-License-Identifier: MIT */
/*
 * Regions: the BARs, ROM, CONFIG, VGA and device-specific regions of a
 * device, each with an ops table, as vfio-pci's struct vfio_pci_regops.
 *
 * Fixed indexes follow vfio-pci (VFIO_PCI_BAR0_REGION_INDEX ..
 * VFIO_PCI_VGA_REGION_INDEX). CONFIG is always present and served by the
 * core's config space emulation. Device-specific regions get indexes from
 * VFIO_PCI_NUM_REGIONS on, in the order they are added, and always carry a
 * TYPE capability before anything their add_capability hook appends.
 */
#ifndef VFIOKIT_REGION_H
#define VFIOKIT_REGION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/vfio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vfk_device;
struct vfk_region;
struct vfk_caps;

/*
 * The region type of a PCI vendor's device-specific region: the uapi's
 * VFIO_REGION_TYPE_PCI_VENDOR_TYPE | vendor, spelled unsigned because the
 * uapi's (1 << 31) overflows int (undefined behaviour in C).
 */
#define VFK_REGION_TYPE_PCI_VENDOR(vendor) (UINT32_C(0x80000000) | (uint32_t)(vendor))

/** One mappable area of a region, relative to the region's start. */
struct vfk_mmap_area {
	uint64_t offset;
	uint64_t size;
};

#define VFK_MAX_MMAP_AREAS 16

/** Most device-specific regions one device may have. */
#define VFK_MAX_DEVICE_REGIONS 1024

/** How a mappable region is mapped, filled by the region's mmap op. */
struct vfk_mmap_desc {
	int fd;                /* borrowed: stays owned by the region */
	uint64_t fd_offset;    /* region offset 0 lives at this offset of fd */
	uint32_t nr_areas;     /* 0: the whole region; else only these areas */
	struct vfk_mmap_area areas[VFK_MAX_MMAP_AREAS];
};

/**
 * A region's operations; any member may be NULL.
 * read/write: offset and count are already checked against the region's
 * size and flags; return count or a negative errno.
 * mmap: describe how to map the region (called on every region-info
 * request of a region with VFIO_REGION_INFO_FLAG_MMAP, which requires
 * this op); desc comes zeroed with fd = -1. The op must give an fd >= 0
 * and at most VFK_MAX_MMAP_AREAS areas inside the region, else the
 * request fails with -EINVAL. The core reports desc->fd_offset as the
 * region offset and emits SPARSE_MMAP when nr_areas > 0.
 * release: from vfk_device_destroy(); free what priv holds.
 * add_capability: the seed's hook, called on every region-info request
 * after the core's own capabilities; it may only append to caps (the
 * vfk_caps_add* functions). A negative return fails the request with that
 * errno (a positive one with -EIO) and drops whatever was appended.
 * direct: for regions whose bytes are plain memory that reading has no
 * side effects on (e.g. a RAM aperture): the address of the bytes at
 * [offset, offset + count), checked against the size like read, or NULL
 * when that range is not plain memory (the caller then uses read). The
 * memory must stay mapped until release; reads through it must return
 * what the read op would. Used by vfk_region_direct_read().
 * direct_write: the write side of direct, for regions whose bytes are
 * plain memory that writing has no effect on but storing them: the
 * writable address of the bytes at [offset, offset + count), checked
 * against the size like write, or NULL when that range is not plain
 * memory (the caller then uses write). Bytes stored there must be what
 * reads return after. The memory must stay mapped until release or
 * peer_gone. Used by vfk_region_direct_write().
 * peer_gone: from vfk_device_release_peer(), before the device reset: the
 * peer left, the next one may be another tenant. Drop what this peer left
 * in the region and whatever of it the peer may still hold, e.g. scrub
 * device memory (vfk_shmem_scrub) and give the next peer a new fd. Not
 * called on a guest reset (vfk_device_reset): the peer stays.
 */
struct vfk_region_ops {
	ssize_t (*read)(struct vfk_device *dev, struct vfk_region *region,
			void *buf, size_t count, uint64_t offset);
	ssize_t (*write)(struct vfk_device *dev, struct vfk_region *region,
			 const void *buf, size_t count, uint64_t offset);
	int (*mmap)(struct vfk_device *dev, struct vfk_region *region,
		    struct vfk_mmap_desc *desc);
	void (*release)(struct vfk_device *dev, struct vfk_region *region);
	int (*add_capability)(struct vfk_device *dev, struct vfk_region *region,
			      struct vfk_caps *caps);
	const void *(*direct)(struct vfk_device *dev, struct vfk_region *region,
			      uint64_t offset, size_t count);
	void (*peer_gone)(struct vfk_device *dev, struct vfk_region *region);
	void *(*direct_write)(struct vfk_device *dev, struct vfk_region *region,
			      uint64_t offset, size_t count);
};

/**
 * What a region is; copied when the region is added. If adding fails the
 * region was not added and its release op is not called.
 */
struct vfk_region_desc {
	uint32_t flags;        /* VFIO_REGION_INFO_FLAG_READ | _WRITE | _MMAP only */
	uint64_t size;         /* may be 0: the region still answers info */
	const struct vfk_region_ops *ops;
	void *priv;
};

/* BAR attributes for vfk_device_set_bar(); memory 32-bit when none. */
#define VFK_BAR_IO        (1u << 0)
#define VFK_BAR_MEM64     (1u << 1)
#define VFK_BAR_PREFETCH  (1u << 2)

/**
 * Give the device BAR `bar` (0..5). size must be 0 or a power of two
 * (at least 16 for memory, 4 for I/O, at most 2 GiB unless 64-bit); a
 * 64-bit BAR also takes bar + 1 (so not BAR5). I/O excludes MEM64 and
 * PREFETCH. The config space BAR register becomes sizeable and
 * programmable. -EINVAL for bad arguments, -EEXIST when the slot is taken.
 * A BAR never set answers region info as the kernel does for an
 * unimplemented one: size 0, flags 0, no caps.
 */
int vfk_device_set_bar(struct vfk_device *dev, unsigned int bar,
		       const struct vfk_region_desc *desc, uint32_t bar_attrs);

/**
 * The expansion ROM (index 6); size a power of two from 2 KiB to 2 GiB;
 * flags READ only (the ROM is read-only, as in vfio-pci). Unset, the ROM
 * answers region info with size 0 and flags 0.
 */
int vfk_device_set_rom(struct vfk_device *dev, const struct vfk_region_desc *desc);

/**
 * The legacy VGA region (index 8); flags READ/WRITE (no MMAP). Without
 * it, index 8 is -EINVAL everywhere.
 */
int vfk_device_set_vga(struct vfk_device *dev, const struct vfk_region_desc *desc);

/**
 * Add a device-specific region of (type, subtype); its index (>= 9) is
 * stored in *index when index is not NULL. Indexes are handed out in
 * order. -ENOSPC past VFK_MAX_DEVICE_REGIONS.
 */
int vfk_device_add_region(struct vfk_device *dev, uint32_t type, uint32_t subtype,
			  const struct vfk_region_desc *desc, uint32_t *index);

/** The region at index, or NULL when absent; valid until the device is destroyed. */
struct vfk_region *vfk_device_region(struct vfk_device *dev, uint32_t index);

/** A region's priv pointer, index, size and flags, as it was added. */
void *vfk_region_priv(const struct vfk_region *region);
uint32_t vfk_region_index(const struct vfk_region *region);
uint64_t vfk_region_size(const struct vfk_region *region);
uint32_t vfk_region_flags(const struct vfk_region *region);

/**
 * Read or write count bytes at offset of region index. Checks the index,
 * the READ/WRITE flag and offset + count against the size (overflow-safe),
 * all -EINVAL, as is a missing read/write op. CONFIG goes to
 * vfk_pci_config_read/write. count 0 returns 0 without calling the op;
 * an op returning more than count gives -EIO. Returns count (or what the
 * op returned) or a negative errno. Never allocates.
 */
ssize_t vfk_region_read(struct vfk_device *dev, uint32_t index,
			void *buf, size_t count, uint64_t offset);
ssize_t vfk_region_write(struct vfk_device *dev, uint32_t index,
			 const void *buf, size_t count, uint64_t offset);

#ifdef __cplusplus
}
#endif
#endif
