/* SPDX-License-Identifier: MIT */
/*
 * A device-specific region whose bytes are a sparse memfd: device memory
 * from vfk_shmem_create() (sealed: a peer cannot resize it), REGION_READ/
 * WRITE with pread/pwrite, the whole fd handed out for mmap, direct reads
 * through a read-only mapping of it for ranges whose pages are all
 * written (memfd_backing.h: the written-page bits, mincore() for ranges
 * not seen yet). When the peer leaves, the memfd is scrubbed and replaced
 * by a new one, so the next peer starts from zeros and the one that left
 * keeps no view of it; the fd and mapping are released with the device. The GPU RAM and ATSD regions are this; what tells them apart is
 * in the descriptor: (type, subtype), size, and the capabilities their
 * hook appends from their own values.
 */
#ifndef VFIOKIT_MODELS_MEMFD_REGION_H
#define VFIOKIT_MODELS_MEMFD_REGION_H

#include <stddef.h>
#include <stdint.h>

#include <vfiokit/caps.h>
#include <vfiokit/device.h>

struct vfk_memfd_region_desc {
	const char *name;          /* the memfd's name (copied); also in logs */
	uint32_t type, subtype;    /* the device-specific region's identity */
	/* Bytes of memory; flags R|W|MMAP either way, as vfio-pci's NVLink2
	 * regions. 0: no memfd, nothing to map (no fd handed out), accesses
	 * fail; the region still answers info with its capabilities. */
	uint64_t size;
	/* Required: append the model's capabilities after the core's, from
	 * `model`, the region's copy of the model's values. */
	int (*add_capability)(struct vfk_caps *caps, const void *model);
	const void *model;         /* model_size (> 0) bytes, copied */
	size_t model_size;
};

/**
 * Add the region desc describes to dev; its index goes to *index when not
 * NULL. The region owns its memfd and mapping until the device releases
 * it. The mapping is only a speed-up: when it (or the written-page bits)
 * cannot be had, as under valgrind for a large size, direct reads answer
 * NULL (or check with mincore()) and large reads are copied. Errors: what
 * creating the memfd or adding the region returned, -ENOMEM; on error
 * nothing is left behind.
 */
int vfk_memfd_region_add(struct vfk_device *dev, const struct vfk_memfd_region_desc *desc,
			 uint32_t *index);

#endif
