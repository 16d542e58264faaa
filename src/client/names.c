// SPDX-License-Identifier: MIT
/* Human names for region capability ids, region types, fixed regions and IRQs. */
#include <stddef.h>

#include <vfiokit/capchain.h>
#include <vfiokit/region.h>

#define PCI_VENDOR_INTEL  0x8086
#define PCI_VENDOR_NVIDIA 0x10de
#define PCI_VENDOR_IBM    0x1014

const char *vfk_cap_name(uint16_t id)
{
	switch (id) {
	case VFIO_REGION_INFO_CAP_SPARSE_MMAP:   return "SPARSE_MMAP";
	case VFIO_REGION_INFO_CAP_TYPE:          return "TYPE";
	case VFIO_REGION_INFO_CAP_MSIX_MAPPABLE: return "MSIX_MAPPABLE";
	case VFIO_REGION_INFO_CAP_NVLINK2_SSATGT: return "NVLINK2_SSATGT";
	case VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD: return "NVLINK2_LNKSPD";
	default:                                 return NULL;
	}
}

struct type_name {
	uint32_t type;
	uint32_t subtype;
	const char *name;
};

static const struct type_name type_names[] = {
	{ VFK_REGION_TYPE_PCI_VENDOR(PCI_VENDOR_INTEL),
	  VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION, "Intel IGD OpRegion" },
	{ VFK_REGION_TYPE_PCI_VENDOR(PCI_VENDOR_INTEL),
	  VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG, "Intel IGD host config" },
	{ VFK_REGION_TYPE_PCI_VENDOR(PCI_VENDOR_INTEL),
	  VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG, "Intel IGD LPC config" },
	{ VFK_REGION_TYPE_PCI_VENDOR(PCI_VENDOR_NVIDIA),
	  VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM, "NVIDIA NVLink2 RAM" },
	{ VFK_REGION_TYPE_PCI_VENDOR(PCI_VENDOR_IBM),
	  VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD, "IBM NVLink2 ATSD" },
	{ VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID, "GFX EDID" },
	{ VFIO_REGION_TYPE_CCW, VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD, "CCW async command" },
	{ VFIO_REGION_TYPE_CCW, VFIO_REGION_SUBTYPE_CCW_SCHIB, "CCW SCHIB" },
	{ VFIO_REGION_TYPE_CCW, VFIO_REGION_SUBTYPE_CCW_CRW, "CCW CRW" },
	{ VFIO_REGION_TYPE_MIGRATION_DEPRECATED, VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED,
	  "migration (deprecated v1)" },
};

const char *vfk_region_type_name(uint32_t type, uint32_t subtype)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == type && type_names[i].subtype == subtype)
			return type_names[i].name;
	return NULL;
}

const char *vfk_pci_region_name(uint32_t index)
{
	static const char *const names[VFIO_PCI_NUM_REGIONS] = {
		"BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM", "CONFIG", "VGA",
	};

	return index < VFIO_PCI_NUM_REGIONS ? names[index] : NULL;
}

const char *vfk_pci_irq_name(uint32_t index)
{
	static const char *const names[VFIO_PCI_NUM_IRQS] = {
		"INTx", "MSI", "MSI-X", "ERR", "REQ",
	};

	return index < VFIO_PCI_NUM_IRQS ? names[index] : NULL;
}
