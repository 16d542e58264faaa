/* SPDX-License-Identifier: MIT */
/*
 * The V100's device-specific GPU RAM region: the NVLink2-coherent GPU
 * memory aperture, R|W|MMAP, backed by a sparse memfd, with an
 * NVLINK2_SSATGT capability from its add_capability hook.
 */
#ifndef VFIOKIT_MODELS_GPU_RAM_H
#define VFIOKIT_MODELS_GPU_RAM_H

#include <stdint.h>

#include <vfiokit/device.h>

/**
 * Add the GPU RAM region of `aperture` bytes reporting `tgt` to dev; its
 * index goes to *index when not NULL. The region owns its memfd from here
 * on (released with the device); on error nothing is left behind.
 */
int vfk_gpu_ram_add(struct vfk_device *dev, uint64_t aperture, uint64_t tgt, uint32_t *index);

#endif
