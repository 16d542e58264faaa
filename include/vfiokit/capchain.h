/* SPDX-License-Identifier: MIT */
/*
 * A region-info capability chain parser that trusts nothing. It serves
 * answers from vfio-user servers and from the kernel alike.
 */
#ifndef VFIOKIT_CAPCHAIN_H
#define VFIOKIT_CAPCHAIN_H

#include <stddef.h>
#include <stdint.h>
#include <linux/vfio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Why a capability could not be decoded though the chain was sound. */
enum vfk_cap_status {
	VFK_CAP_OK,              /* known id and version, fully decoded */
	VFK_CAP_UNKNOWN_ID,      /* kept as raw bytes */
	VFK_CAP_UNKNOWN_VERSION, /* known id, version not understood: raw only */
};

struct vfk_cap {
	uint16_t id;
	uint16_t version;
	uint32_t offset;         /* from the start of struct vfio_region_info */
	enum vfk_cap_status status;
	const uint8_t *raw;      /* the header and body, inside the parsed buffer */
	uint32_t raw_len;        /* up to the next cap or the end of argsz */
	union {
		struct { uint32_t type, subtype; } type;
		struct {
			uint32_t nr_areas;
			const struct vfio_region_sparse_mmap_area *areas; /* unaligned-safe copy */
		} sparse;
		uint64_t ssatgt;
		uint32_t lnkspd;
	} u;
};

#define VFK_MAX_CAPS 64

struct vfk_cap_chain {
	unsigned int count;
	struct vfk_cap caps[VFK_MAX_CAPS];
	/* Storage for decoded sparse areas (aligned copies). */
	struct vfio_region_sparse_mmap_area area_store[256];
	unsigned int area_used;
};

/**
 * Parse the capability chain of a region-info answer of len bytes (the
 * reply's argsz, clipped to what was received). Checks: cap_offset and
 * every next >= 32, 4-byte aligned, header and full known-cap size inside
 * len; no loops; at most (len - 32) / 8 steps. -EPROTO (with a message in
 * err, if not NULL) on a malformed chain; 0 with chain->count = 0 when
 * the region has no caps.
 */
int vfk_capchain_parse(const void *info, size_t len, struct vfk_cap_chain *chain,
		       char *err, size_t err_len);

/** The first cap with this id, or NULL. */
const struct vfk_cap *vfk_capchain_find(const struct vfk_cap_chain *chain, uint16_t id);

/** Human name of a region capability id ("SPARSE_MMAP", ...), or NULL. */
const char *vfk_cap_name(uint16_t id);

/** Human name of a device-specific region (type, subtype), or NULL. */
const char *vfk_region_type_name(uint32_t type, uint32_t subtype);

#ifdef __cplusplus
}
#endif
#endif
