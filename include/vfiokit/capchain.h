/* SPDX-License-Identifier: MIT */
/*
 * A region-info capability chain parser that trusts nothing. It serves
 * answers from vfio-user servers and from the kernel alike.
 *
 * The parser never allocates and never dereferences an unaligned pointer:
 * every field is copied out of the buffer with memcpy. Decoded caps point
 * into the parsed buffer (raw), so the buffer must outlive the chain.
 */
#ifndef VFIOKIT_CAPCHAIN_H
#define VFIOKIT_CAPCHAIN_H

#include <stdbool.h>
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

/** One capability of a chain. */
struct vfk_cap {
	uint16_t id;
	uint16_t version;
	uint32_t offset;         /* from the start of struct vfio_region_info */
	uint32_t next;           /* as found in the header (0 ends the chain) */
	enum vfk_cap_status status;
	const uint8_t *raw;      /* the header and body, inside the parsed buffer */
	/*
	 * Bytes of raw: the full size for a decoded cap; otherwise up to the
	 * next cap when it follows this one, else up to the end of the buffer.
	 */
	uint32_t raw_len;
	union {
		struct { uint32_t type, subtype; } type;     /* TYPE */
		struct { uint32_t nr_areas; } sparse;        /* SPARSE_MMAP: see vfk_cap_sparse_area() */
		uint64_t ssatgt;                             /* NVLINK2_SSATGT tgt */
		uint32_t lnkspd;                             /* NVLINK2_LNKSPD link_speed */
	} u;
};

/** At most this many caps per chain; a longer chain is rejected. */
#define VFK_MAX_CAPS 64

/** A parsed chain, in chain order. */
struct vfk_cap_chain {
	unsigned int count;
	struct vfk_cap caps[VFK_MAX_CAPS];
};

/**
 * Parse the capability chain of a region-info answer of len bytes (the
 * reply's argsz, clipped to what was received). Checks: len >= 32;
 * cap_offset and every next >= 32, 4-byte aligned, header and full
 * known-cap size inside len (SPARSE_MMAP: 16 + 16 * nr_areas, computed
 * without overflow); a next landing inside a cap already seen (a loop or
 * an overlap) is an error; at most (len - 32) / 8 steps and VFK_MAX_CAPS
 * caps. Unknown ids and known ids with an unknown version are kept raw
 * with their status set. Without VFIO_REGION_INFO_FLAG_CAPS, or with
 * cap_offset 0 (the answer was too small to carry the chain), the result
 * is an empty chain. Returns 0, or -EPROTO with a one-line reason in err
 * (when err is not NULL).
 */
int vfk_capchain_parse(const void *info, size_t len, struct vfk_cap_chain *chain,
		       char *err, size_t err_len);

/** The first cap with this id that was fully decoded, or NULL. */
const struct vfk_cap *vfk_capchain_find(const struct vfk_cap_chain *chain, uint16_t id);

/**
 * Area i (< cap->u.sparse.nr_areas) of a decoded SPARSE_MMAP cap, copied
 * out of the raw bytes. false when cap is not a decoded SPARSE_MMAP or i
 * is out of range.
 */
bool vfk_cap_sparse_area(const struct vfk_cap *cap, uint32_t i,
			 struct vfio_region_sparse_mmap_area *area);

/** Human name of a region capability id ("SPARSE_MMAP", ...), or NULL. */
const char *vfk_cap_name(uint16_t id);

/**
 * Human name of a device-specific region (type, subtype), such as
 * "NVIDIA NVLink2 RAM" or "GFX EDID", or NULL when unknown.
 */
const char *vfk_region_type_name(uint32_t type, uint32_t subtype);

/** Name of a fixed vfio-pci region index ("BAR0".."BAR5", "ROM", "CONFIG", "VGA"), or NULL. */
const char *vfk_pci_region_name(uint32_t index);

/** Name of a vfio-pci IRQ index ("INTx", "MSI", "MSI-X", "ERR", "REQ"), or NULL. */
const char *vfk_pci_irq_name(uint32_t index);

#ifdef __cplusplus
}
#endif
#endif
