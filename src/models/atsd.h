/* SPDX-License-Identifier: MIT */
/*
 * The NPU2 bridge's device-specific ATSD region (address translation
 * shootdown register). With a register assigned it is one host page,
 * R|W|MMAP over a memfd; without, it is size 0 and not mappable but still
 * answers region info with its capabilities: NVLINK2_SSATGT, NVLINK2_LNKSPD.
 */
#ifndef VFIOKIT_MODELS_ATSD_H
#define VFIOKIT_MODELS_ATSD_H

#include <stdbool.h>
#include <stdint.h>

#include <vfiokit/device.h>

/** Add the ATSD region to dev; index to *index when not NULL. On error nothing is left behind. */
int vfk_atsd_add(struct vfk_device *dev, bool present, uint64_t tgt, uint32_t link_speed,
		 uint32_t *index);

#endif
