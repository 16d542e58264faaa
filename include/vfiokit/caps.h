/* SPDX-License-Identifier: MIT */
/*
 * Region capability chain builder with the Linux kernel's behaviour:
 * capabilities are appended in order, each zero-padded to a multiple of
 * 8 bytes, each new one linked from the previous one's `next`. Offsets in
 * the builder start at 0; vfk_region_info() shifts them by
 * sizeof(struct vfio_region_info) when it assembles the answer.
 */
#ifndef VFIOKIT_CAPS_H
#define VFIOKIT_CAPS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/vfio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vfk_caps;
struct vfk_mmap_area;

/** Largest chain a builder holds, in bytes (padding included). */
#define VFK_CAPS_MAX_SIZE 65536u

/** A new, empty builder. Returns NULL when out of memory. */
struct vfk_caps *vfk_caps_new(void);

/** Free a builder; NULL is a no-op. */
void vfk_caps_free(struct vfk_caps *caps);

/**
 * Empty the builder, keeping its buffer for reuse. The core does this
 * before each region-info request; add_capability hooks only append.
 */
void vfk_caps_reset(struct vfk_caps *caps);

/** Bytes used by the chain so far (a multiple of 8). */
size_t vfk_caps_size(const struct vfk_caps *caps);

/**
 * The chain's bytes (vfk_caps_size() of them, owned by the builder and
 * valid until the next add, reset or free); offsets in `next` are
 * relative to the first cap, and the last cap's `next` is 0.
 */
const void *vfk_caps_data(const struct vfk_caps *caps);

/**
 * Append a capability with any id/version and body (the bytes after the
 * 8-byte header; NULL when body_len is 0). The cap is zero-padded to a
 * multiple of 8 and linked from the previous one. -EINVAL when body is
 * NULL with a length or the chain would exceed VFK_CAPS_MAX_SIZE, -ENOMEM
 * when out of memory; on error the chain is unchanged.
 */
int vfk_caps_add(struct vfk_caps *caps, uint16_t id, uint16_t version,
		 const void *body, size_t body_len);

/**
 * VFIO_REGION_INFO_CAP_SPARSE_MMAP v1 with nr_areas areas (16 + 16 *
 * nr_areas bytes). Errors as vfk_caps_add().
 */
int vfk_caps_add_sparse_mmap(struct vfk_caps *caps,
			     const struct vfk_mmap_area *areas, uint32_t nr_areas);

/** VFIO_REGION_INFO_CAP_TYPE v1. */
int vfk_caps_add_type(struct vfk_caps *caps, uint32_t type, uint32_t subtype);

/** VFIO_REGION_INFO_CAP_MSIX_MAPPABLE v1 (header only). */
int vfk_caps_add_msix_mappable(struct vfk_caps *caps);

/** VFIO_REGION_INFO_CAP_NVLINK2_SSATGT v1: the GPU's NVLink target address. */
int vfk_caps_add_nvlink2_ssatgt(struct vfk_caps *caps, uint64_t tgt);

/** VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD v1: the link speed. */
int vfk_caps_add_nvlink2_lnkspd(struct vfk_caps *caps, uint32_t link_speed);

#ifdef __cplusplus
}
#endif
#endif
