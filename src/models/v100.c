// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include <vfiokit/pci_config.h>
#include <vfiokit/region.h>

#include "gpu_ram.h"
#include "memfd_backing.h"
#include "regfile.h"
#include "v100.h"

#define V100_CLASS_3D_CONTROLLER 0x030200u
#define V100_SUBSYS_SXM2_16GB    0x1212u

static const struct vfk_reg_def v100_bar0_regs[] = {
	{ VFK_V100_REG_BOOT0, VFK_V100_BOOT0_VALUE, false },
	{ VFK_V100_REG_SCRATCH, 0, true },
};

#define V100_NR_REGS (sizeof(v100_bar0_regs) / sizeof(v100_bar0_regs[0]))

struct v100 {
	struct vfk_regfile bar0;
	uint32_t bar0_values[V100_NR_REGS];
};

void vfk_v100_params_default(struct vfk_v100_params *p)
{
	*p = (struct vfk_v100_params){
		.vendor_id = 0x10de,
		.device_id = 0x1db1,
		.subsys_vendor_id = 0x10de,
		.subsys_id = V100_SUBSYS_SXM2_16GB,
		/* GPU 0 of chip 0: skiboot's GPU_MEM_4T_DOWN window 0 at
		 * 0x3e000000000; the NPU's address compression leaves an
		 * address below 4 TiB unchanged, so tgt equals it. */
		.tgt = 0x3e000000000ull,
		.aperture = 128ull << 30,
		/* A 16 GB V100 shows its whole memory through BAR1. */
		.bar1_size = 16ull << 30,
	};
}

static int v100_check(const struct vfk_v100_params *p)
{
	uint64_t page = vfk_host_page_size();

	if (!p->aperture || p->aperture % page)
		return -EINVAL;
	if (p->bar1_size < (16ull << 20) || (p->bar1_size & (p->bar1_size - 1)))
		return -EINVAL;
	return 0;
}

static int v100_reset(struct vfk_device *dev)
{
	struct v100 *gpu = vfk_device_priv(dev);

	vfk_regfile_reset(&gpu->bar0);
	return 0;
}

static void v100_destroy(struct vfk_device *dev)
{
	free(vfk_device_priv(dev));
}

static const struct vfk_device_ops v100_ops = {
	.reset = v100_reset,
	.destroy = v100_destroy,
};

static int v100_add_bars(struct vfk_device *dev, struct v100 *gpu, uint64_t bar1_size)
{
	const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	struct vfk_region_desc bar0 = { rw, VFK_V100_BAR0_SIZE, &vfk_regfile_ops, &gpu->bar0 };
	/* BAR1 (framebuffer) and BAR3 (RAMIN) have no registers the model
	 * implements: their bytes read 0 and ignore writes. */
	struct vfk_region_desc bar1 = { rw, bar1_size, &vfk_regfile_ops, NULL };
	struct vfk_region_desc bar3 = { rw, VFK_V100_BAR3_SIZE, &vfk_regfile_ops, NULL };
	int ret;

	ret = vfk_device_set_bar(dev, 0, &bar0, 0);
	if (!ret)
		ret = vfk_device_set_bar(dev, 1, &bar1, VFK_BAR_MEM64 | VFK_BAR_PREFETCH);
	if (!ret)
		ret = vfk_device_set_bar(dev, 3, &bar3, VFK_BAR_MEM64 | VFK_BAR_PREFETCH);
	return ret;
}

static int v100_add_caps(struct vfk_device *dev)
{
	int ret = vfk_pci_add_pm_cap(dev);

	/* One 64-bit MSI vector without masking, Gen3 x16, as lspci shows a V100. */
	if (!ret)
		ret = vfk_pci_add_msi_cap(dev, 1, true, false);
	if (!ret)
		ret = vfk_pci_add_pcie_cap(dev, 3, 16);
	return ret;
}

int vfk_v100_create(const char *name, const struct vfk_v100_params *p, struct vfk_device **out)
{
	struct vfk_device_desc desc = {
		.name = name,
		.vendor_id = p->vendor_id,
		.device_id = p->device_id,
		.subsys_vendor_id = p->subsys_vendor_id,
		.subsys_id = p->subsys_id,
		.class_code = V100_CLASS_3D_CONTROLLER,
		.revision = 0xa1,
		.irq_pin = 1,
		.pcie = true,
		.ops = &v100_ops,
	};
	struct vfk_device *dev;
	struct v100 *gpu;
	int ret = v100_check(p);

	if (ret)
		return ret;
	gpu = calloc(1, sizeof(*gpu));
	if (!gpu)
		return -ENOMEM;
	gpu->bar0 = (struct vfk_regfile){ v100_bar0_regs, V100_NR_REGS, gpu->bar0_values };
	vfk_regfile_reset(&gpu->bar0);
	desc.priv = gpu;
	ret = vfk_device_create(&desc, &dev);
	if (ret) {
		free(gpu);
		return ret;
	}
	ret = v100_add_bars(dev, gpu, p->bar1_size);
	if (!ret)
		ret = v100_add_caps(dev);
	if (!ret)
		ret = vfk_gpu_ram_add(dev, p->aperture, p->tgt, NULL);
	if (ret) {
		vfk_device_destroy(dev);
		return ret;
	}
	*out = dev;
	return 0;
}
