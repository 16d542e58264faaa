// SPDX-License-Identifier: MIT

#include <vfiokit/pci_config.h>
#include <vfiokit/region.h>

#include "atsd.h"
#include "npu2.h"
#include "regfile.h"

#define NPU2_CLASS_BRIDGE_OTHER 0x068000u

void vfk_npu2_params_default(struct vfk_npu2_params *p)
{
	*p = (struct vfk_npu2_params){
		.vendor_id = 0x1014,
		.device_id = 0x04ea,
		.tgt = 0x3e000000000ull,   /* GPU 0 of chip 0, see v100.c */
		/* The NVLink speed code Witherspoon firmware passes on
		 * (ibm,nvlink-speed); the GPU driver needs it verbatim. */
		.link_speed = 0x9,
		.atsd = true,
	};
}

/* The NTL and GENID windows firmware exposes; the model implements no
 * registers in them (reads 0, writes ignored). */
static int npu2_add_bars(struct vfk_device *dev)
{
	const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	struct vfk_region_desc bar = { rw, VFK_NPU2_BAR_SIZE, &vfk_regfile_ops, NULL };
	int ret = vfk_device_set_bar(dev, 0, &bar, VFK_BAR_MEM64);

	return ret ? ret : vfk_device_set_bar(dev, 2, &bar, VFK_BAR_MEM64);
}

/* skiboot's emulated NPU2 functions carry a vendor capability (version 1). */
static int npu2_add_caps(struct vfk_device *dev)
{
	static const uint8_t vendor_data[13] = { 0x01 };

	return vfk_pci_add_vendor_cap(dev, vendor_data, sizeof(vendor_data));
}

int vfk_npu2_create(const char *name, const struct vfk_npu2_params *p, struct vfk_device **out)
{
	const struct vfk_device_desc desc = {
		.name = name,
		.vendor_id = p->vendor_id,
		.device_id = p->device_id,
		.subsys_vendor_id = p->vendor_id,
		.subsys_id = p->device_id,
		.class_code = NPU2_CLASS_BRIDGE_OTHER,
		.revision = 0,
		.pcie = false,
	};
	struct vfk_device *dev;
	int ret = vfk_device_create(&desc, &dev);

	if (ret)
		return ret;
	ret = npu2_add_bars(dev);
	if (!ret)
		ret = npu2_add_caps(dev);
	if (!ret)
		ret = vfk_atsd_add(dev, p->atsd, p->tgt, p->link_speed, NULL);
	if (ret) {
		vfk_device_destroy(dev);
		return ret;
	}
	*out = dev;
	return 0;
}
