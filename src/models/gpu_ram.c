// SPDX-License-Identifier: MIT
#include <vfiokit/caps.h>
#include <vfiokit/region.h>

#include "gpu_ram.h"
#include "memfd_region.h"

/* What the GPU RAM region has of its own: the tgt its capability reports. */
struct gpu_ram {
	uint64_t tgt;
};

static int gpu_ram_add_capability(struct vfk_caps *caps, const void *model)
{
	const struct gpu_ram *ram = model;

	return vfk_caps_add_nvlink2_ssatgt(caps, ram->tgt);
}

int vfk_gpu_ram_add(struct vfk_device *dev, uint64_t aperture, uint64_t tgt, uint32_t *index)
{
	const struct gpu_ram ram = { .tgt = tgt };
	const struct vfk_memfd_region_desc desc = {
		.name = "vfiokit-v100-gpu-ram",
		.type = VFK_REGION_TYPE_PCI_VENDOR(0x10de),
		.subtype = VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM,
		.size = aperture,
		.add_capability = gpu_ram_add_capability,
		.model = &ram,
		.model_size = sizeof(ram),
	};

	return vfk_memfd_region_add(dev, &desc, index);
}
