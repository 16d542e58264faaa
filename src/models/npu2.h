/* SPDX-License-Identifier: MIT */
/*
 * IBM POWER9 NPU2 NVLink2 bridge function (1014:04ea), as vfio-pci's
 * NVLink2 subdriver presented it: an emulated bridge whose device-specific
 * ATSD region (PCI_VENDOR_TYPE | 0x1014, IBM_NVLINK2_ATSD) is one page
 * when an ATSD register is assigned and zero-sized otherwise, and always
 * carries NVLINK2_SSATGT (its GPU's tgt) and NVLINK2_LNKSPD.
 */
#ifndef VFIOKIT_MODELS_NPU2_H
#define VFIOKIT_MODELS_NPU2_H

#include <stdbool.h>
#include <stdint.h>

#include <vfiokit/device.h>

#define VFK_NPU2_BAR_SIZE (128ull << 10)   /* NTL (BAR0) and GENID (BAR2) windows */

struct vfk_npu2_params {
	uint16_t vendor_id, device_id;
	uint64_t tgt;          /* the tgt of the GPU this link goes to */
	uint32_t link_speed;   /* firmware's ibm,nvlink-speed code */
	bool atsd;             /* an ATSD register is assigned: region is one page */
};

/** Defaults: a Witherspoon link to GPU 0 (tgt 0x3e000000000, speed 0x9, ATSD assigned). */
void vfk_npu2_params_default(struct vfk_npu2_params *p);

/** Build the device; vfk_device_destroy() releases it. */
int vfk_npu2_create(const char *name, const struct vfk_npu2_params *p, struct vfk_device **out);

#endif
