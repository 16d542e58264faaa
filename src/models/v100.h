/* SPDX-License-Identifier: MIT */
/*
 * NVIDIA Tesla V100 SXM2 (GV100, 10de:1db1) as vfio-pci's NVLink2
 * subdriver presented it on an IBM POWER9 "Witherspoon": a PCIe 3D
 * controller with BAR0 registers, BAR1 and BAR3 prefetchable apertures,
 * and a device-specific GPU RAM region (PCI_VENDOR_TYPE | 0x10de,
 * NVIDIA_NVLINK2_RAM) carrying NVLINK2_SSATGT.
 */
#ifndef VFIOKIT_MODELS_V100_H
#define VFIOKIT_MODELS_V100_H

#include <stdint.h>

#include <vfiokit/device.h>

/* BAR0 registers the model implements. */
#define VFK_V100_REG_BOOT0     0x000000u   /* chip id, read-only */
#define VFK_V100_REG_SCRATCH   0x001400u   /* read/write, 0 after reset */
#define VFK_V100_BOOT0_VALUE   0x140000a1u /* GV100 architecture/implementation/revision */

#define VFK_V100_BAR0_SIZE     (16ull << 20)
#define VFK_V100_BAR3_SIZE     (32ull << 20)

struct vfk_v100_params {
	uint16_t vendor_id, device_id, subsys_vendor_id, subsys_id;
	uint64_t tgt;          /* NVLink target address reported in SSATGT */
	uint64_t aperture;     /* GPU RAM region size: page multiple, > 0 */
	uint64_t bar1_size;    /* power of two, >= 16 MiB */
};

/** Defaults: GPU 0 of a Witherspoon (tgt 0x3e000000000, 128 GiB aperture, 16 GiB BAR1). */
void vfk_v100_params_default(struct vfk_v100_params *p);

/** Build the device; vfk_device_destroy() releases it and its memfd. */
int vfk_v100_create(const char *name, const struct vfk_v100_params *p, struct vfk_device **out);

#endif
