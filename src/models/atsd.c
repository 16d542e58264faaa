// SPDX-License-Identifier: MIT
#include <vfiokit/caps.h>
#include <vfiokit/region.h>

#include "atsd.h"
#include "memfd_backing.h"
#include "memfd_region.h"

#define IBM_PCI_VENDOR_ID 0x1014u

/* What the ATSD region has of its own: the values its capabilities report. */
struct atsd {
	uint64_t tgt;
	uint32_t link_speed;
};

static int atsd_add_capability(struct vfk_caps *caps, const void *model)
{
	const struct atsd *a = model;
	int ret = vfk_caps_add_nvlink2_ssatgt(caps, a->tgt);

	return ret ? ret : vfk_caps_add_nvlink2_lnkspd(caps, a->link_speed);
}

int vfk_atsd_add(struct vfk_device *dev, bool present, uint64_t tgt, uint32_t link_speed,
		 uint32_t *index)
{
	const struct atsd a = { .tgt = tgt, .link_speed = link_speed };
	const struct vfk_memfd_region_desc desc = {
		.name = "vfiokit-npu2-atsd",
		.type = VFK_REGION_TYPE_PCI_VENDOR(IBM_PCI_VENDOR_ID),
		.subtype = VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD,
		/* No register assigned: size 0 (flags kept), caps still there. */
		.size = present ? vfk_host_page_size() : 0,
		.add_capability = atsd_add_capability,
		.model = &a,
		.model_size = sizeof(a),
	};

	return vfk_memfd_region_add(dev, &desc, index);
}
