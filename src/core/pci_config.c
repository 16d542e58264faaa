/* SPDX-License-Identifier: MIT */
/*
 * Emulated PCI config space.
 *
 * Four parallel byte arrays describe the space: the current bytes, the
 * bytes as built (what reset restores), the bits software may write and
 * the bits a write of 1 clears. A guest write is applied byte by byte
 * through those masks, so BAR sizing, read-only ids and status bits all
 * fall out of the same rule and no register needs special code.
 * Build-time setters write both the current and the initial bytes.
 * Two fields need more than masks, as on hardware: a PowerState the
 * function cannot enter is discarded, and Multiple Message Enable never
 * exceeds Multiple Message Capable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pci_regs.h>

#include <vfiokit/pci_config.h>

#include "core/device_internal.h"

#define CAP_LIST_START   0x40    /* first byte after the type-0 header */
#define EXT_CAP_START    0x100
#define MAX_CAPS         48      /* (256 - 64) / 4: bounds every list walk */
#define ROM_BAR_SLOT     6

/* Command bits a PCIe function implements as read-write. */
#define COMMAND_WMASK (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
		       PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)
/* Status error bits the device sets and software clears by writing 1. */
#define STATUS_W1C (PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | \
		    PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT | \
		    PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

/* ---- little-endian byte helpers (config space is little-endian) ---- */

static void put_le(uint8_t *p, uint32_t val, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(val >> (8 * i));
}

static uint32_t get_le(const uint8_t *p, size_t len)
{
	uint32_t val = 0;

	for (size_t i = 0; i < len; i++)
		val |= (uint32_t)p[i] << (8 * i);
	return val;
}

/* Set a build-time value: the current bytes and what reset restores. */
static void cfg_set(struct vfk_pci_config *cfg, size_t off, uint32_t val, size_t len)
{
	put_le(cfg->bytes + off, val, len);
	put_le(cfg->initial + off, val, len);
}

static void cfg_set_wmask(struct vfk_pci_config *cfg, size_t off, uint32_t mask, size_t len)
{
	put_le(cfg->wmask + off, mask, len);
}

static void cfg_set_w1c(struct vfk_pci_config *cfg, size_t off, uint32_t mask, size_t len)
{
	put_le(cfg->w1cmask + off, mask, len);
}

static bool is_power_of_2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* ---- header ---- */

static void config_build_header(struct vfk_pci_config *cfg, const struct vfk_device_desc *d)
{
	cfg_set(cfg, PCI_VENDOR_ID, d->vendor_id, 2);
	cfg_set(cfg, PCI_DEVICE_ID, d->device_id, 2);
	cfg_set_wmask(cfg, PCI_COMMAND, COMMAND_WMASK, 2);
	cfg_set_w1c(cfg, PCI_STATUS, STATUS_W1C, 2);
	cfg_set(cfg, PCI_REVISION_ID, d->revision, 1);
	cfg_set(cfg, PCI_CLASS_PROG, d->class_code & 0xffffff, 3);
	cfg_set_wmask(cfg, PCI_CACHE_LINE_SIZE, 0xff, 1);
	cfg_set(cfg, PCI_HEADER_TYPE, PCI_HEADER_TYPE_NORMAL, 1);
	cfg_set(cfg, PCI_SUBSYSTEM_VENDOR_ID, d->subsys_vendor_id, 2);
	cfg_set(cfg, PCI_SUBSYSTEM_ID, d->subsys_id, 2);
	cfg_set_wmask(cfg, PCI_INTERRUPT_LINE, 0xff, 1);
	cfg_set(cfg, PCI_INTERRUPT_PIN, d->irq_pin, 1);
}

int vfk_config_init(struct vfk_device *dev)
{
	struct vfk_pci_config *cfg = &dev->cfg;
	size_t size = dev->desc.pcie ? VFK_PCIE_CONFIG_SIZE : VFK_PCI_CONFIG_SIZE;
	uint8_t *block;

	if (dev->desc.irq_pin > 4)
		return -EINVAL;
	/* One block for the four arrays: one allocation, one free. */
	block = calloc(4, size);
	if (!block)
		return -ENOMEM;
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = size;
	cfg->bytes = block;
	cfg->initial = block + size;
	cfg->wmask = block + 2 * size;
	cfg->w1cmask = block + 3 * size;
	cfg->next_cap_free = CAP_LIST_START;
	cfg->next_ext_free = EXT_CAP_START;
	cfg->msix_table_bar = -1;
	config_build_header(cfg, &dev->desc);
	return 0;
}

void vfk_config_fini(struct vfk_device *dev)
{
	free(dev->cfg.bytes);   /* the start of the block holding all four arrays */
	memset(&dev->cfg, 0, sizeof(dev->cfg));
	dev->cfg.msix_table_bar = -1;
}

void vfk_config_reset(struct vfk_device *dev)
{
	memcpy(dev->cfg.bytes, dev->cfg.initial, dev->cfg.size);
}

/* ---- BARs ---- */

static size_t bar_offset(unsigned int bar)
{
	return PCI_BASE_ADDRESS_0 + 4 * bar;
}

static bool bar_is_mem64(const struct vfk_pci_config *cfg, unsigned int bar)
{
	uint8_t low = cfg->initial[bar_offset(bar)];

	return !(low & PCI_BASE_ADDRESS_SPACE_IO) &&
	       (low & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
}

/*
 * A 32-bit BAR is implemented when it has address bits; a 64-bit BAR of
 * 4 GiB or more has none in its low dword, so its type says it.
 */
static bool bar_implemented(const struct vfk_pci_config *cfg, unsigned int bar)
{
	return cfg->bar_mask[bar] || bar_is_mem64(cfg, bar);
}

/* Bytes decoded by BAR `bar` (0..5), 0 when it is not implemented. */
static uint64_t bar_size(const struct vfk_pci_config *cfg, unsigned int bar)
{
	uint64_t mask = 0xffffffff00000000ull | cfg->bar_mask[bar];

	if (bar_is_mem64(cfg, bar))
		mask = (uint64_t)cfg->bar_mask[bar + 1] << 32 | cfg->bar_mask[bar];
	else if (!cfg->bar_mask[bar])
		return 0;
	return -mask;
}

static void bar_clear(struct vfk_pci_config *cfg, unsigned int bar)
{
	cfg_set(cfg, bar_offset(bar), 0, 4);
	cfg_set_wmask(cfg, bar_offset(bar), 0, 4);
	cfg->bar_mask[bar] = 0;
}

static int bar_check(const struct vfk_pci_config *cfg, unsigned int bar, uint64_t size,
		     uint32_t attrs)
{
	bool io = attrs & VFK_BAR_IO, mem64 = attrs & VFK_BAR_MEM64;

	if (bar >= PCI_STD_NUM_BARS || (attrs & ~(VFK_BAR_IO | VFK_BAR_MEM64 | VFK_BAR_PREFETCH)))
		return -EINVAL;
	if (io && (attrs & (VFK_BAR_MEM64 | VFK_BAR_PREFETCH)))
		return -EINVAL;
	if (mem64 && bar + 1 >= PCI_STD_NUM_BARS)
		return -EINVAL;
	/* Neither half of an existing 64-bit BAR may be taken over. */
	if (bar > 0 && bar_is_mem64(cfg, bar - 1))
		return -EBUSY;
	if (mem64 && bar_implemented(cfg, bar + 1) && !bar_is_mem64(cfg, bar))
		return -EBUSY;
	if (size == 0)
		return 0;
	if (!is_power_of_2(size))
		return -EINVAL;
	if (io)   /* x86 port space is 64 KiB */
		return size >= 4 && size <= 0x10000 ? 0 : -EINVAL;
	if (mem64)
		return size >= 16 ? 0 : -EINVAL;
	return size >= 16 && size <= (1ull << 31) ? 0 : -EINVAL;
}

int vfk_config_set_bar(struct vfk_device *dev, unsigned int bar, uint64_t size,
		       uint32_t bar_attrs)
{
	struct vfk_pci_config *cfg = &dev->cfg;
	uint64_t mask = ~(size - 1);
	uint32_t low;
	int ret = bar_check(cfg, bar, size, bar_attrs);

	if (ret)
		return ret;
	if (bar_is_mem64(cfg, bar))
		bar_clear(cfg, bar + 1);
	bar_clear(cfg, bar);
	if (size == 0)
		return 0;
	if (bar_attrs & VFK_BAR_IO) {
		low = PCI_BASE_ADDRESS_SPACE_IO;
	} else {
		low = (bar_attrs & VFK_BAR_MEM64) ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0;
		if (bar_attrs & VFK_BAR_PREFETCH)
			low |= PCI_BASE_ADDRESS_MEM_PREFETCH;
	}
	/* Sizing is the write mask: address bits below the size stay 0. */
	cfg_set(cfg, bar_offset(bar), low, 4);
	cfg->bar_mask[bar] = (uint32_t)mask;
	cfg_set_wmask(cfg, bar_offset(bar), (uint32_t)mask, 4);
	if (bar_attrs & VFK_BAR_MEM64) {
		cfg->bar_mask[bar + 1] = (uint32_t)(mask >> 32);
		cfg_set_wmask(cfg, bar_offset(bar + 1), (uint32_t)(mask >> 32), 4);
	}
	return 0;
}

int vfk_config_set_rom(struct vfk_device *dev, uint64_t size)
{
	struct vfk_pci_config *cfg = &dev->cfg;

	if (size && (!is_power_of_2(size) || size < 2048 || size > (1ull << 31)))
		return -EINVAL;
	cfg_set(cfg, PCI_ROM_ADDRESS, 0, 4);
	cfg->bar_mask[ROM_BAR_SLOT] = size ? (uint32_t)~(size - 1) : 0;
	cfg_set_wmask(cfg, PCI_ROM_ADDRESS,
		      size ? cfg->bar_mask[ROM_BAR_SLOT] | PCI_ROM_ADDRESS_ENABLE : 0, 4);
	return 0;
}

/* ---- standard capability list ---- */

/*
 * next_cap_free is a byte: 0 means a capability ended exactly at the end
 * of the 256-byte space (it starts at 0x40 and never returns to 0 else).
 */
static size_t cap_free_start(const struct vfk_pci_config *cfg)
{
	if (!cfg->next_cap_free)
		return VFK_PCI_CONFIG_SIZE;
	return ((size_t)cfg->next_cap_free + 3) & ~(size_t)3;
}

static bool cap_fits(const struct vfk_pci_config *cfg, size_t total)
{
	return total <= VFK_PCI_CONFIG_SIZE - cap_free_start(cfg);
}

/* Offset of the first capability with this id, 0 when there is none. */
static uint8_t cap_find(const struct vfk_pci_config *cfg, uint8_t cap_id)
{
	uint8_t off = cfg->initial[PCI_CAPABILITY_LIST];

	for (int n = 0; off && n < MAX_CAPS; n++) {
		if (cfg->initial[off] == cap_id)
			return off;
		off = cfg->initial[off + 1];
	}
	return 0;
}

/*
 * Append a capability: body/wmask/w1c are the len bytes after the id and
 * next bytes (wmask and w1c may be NULL). The caller checked cap_fits().
 */
static uint8_t cap_append(struct vfk_pci_config *cfg, uint8_t cap_id, const void *body,
			  size_t len, const uint8_t *wmask, const uint8_t *w1c)
{
	size_t off = cap_free_start(cfg);
	size_t end = off + 2 + len;

	cfg_set(cfg, off, cap_id, 1);
	cfg_set(cfg, off + 1, 0, 1);
	if (len) {
		memcpy(cfg->bytes + off + 2, body, len);
		memcpy(cfg->initial + off + 2, body, len);
	}
	if (wmask && len)
		memcpy(cfg->wmask + off + 2, wmask, len);
	if (w1c && len)
		memcpy(cfg->w1cmask + off + 2, w1c, len);
	cfg_set(cfg, cfg->last_cap ? cfg->last_cap + 1u : PCI_CAPABILITY_LIST, off, 1);
	/* The first of each, as a driver's capability search finds it. */
	if (cap_id == PCI_CAP_ID_PM && !cfg->pm_cap)
		cfg->pm_cap = (uint8_t)off;
	if (cap_id == PCI_CAP_ID_MSI && !cfg->msi_cap)
		cfg->msi_cap = (uint8_t)off;
	cfg_set(cfg, PCI_STATUS, get_le(cfg->initial + PCI_STATUS, 2) | PCI_STATUS_CAP_LIST, 2);
	cfg->last_cap = (uint8_t)off;
	cfg->next_cap_free = (uint8_t)end;   /* 256 wraps to 0: see cap_free_start() */
	return (uint8_t)off;
}

int vfk_pci_add_cap(struct vfk_device *dev, uint8_t cap_id, const void *body,
		    size_t len, const uint8_t *wmask, uint8_t *offset)
{
	uint8_t off;

	if (len && !body)
		return -EINVAL;
	if (len > VFK_PCI_CONFIG_SIZE || !cap_fits(&dev->cfg, 2 + len))
		return -ENOSPC;
	off = cap_append(&dev->cfg, cap_id, body, len, wmask, NULL);
	if (offset)
		*offset = off;
	return 0;
}

/* ---- extended capability list ---- */

int vfk_pci_add_ext_cap(struct vfk_device *dev, uint16_t cap_id, uint8_t version,
			const void *body, size_t len, const uint8_t *wmask,
			uint16_t *offset)
{
	struct vfk_pci_config *cfg = &dev->cfg;
	size_t off = ((size_t)cfg->next_ext_free + 3) & ~(size_t)3;
	uint32_t header;

	/* id 0 with version 0 would read as the end of the list */
	if (!dev->desc.pcie || !cap_id || version > 0xf || (len && !body))
		return -EINVAL;
	if (off > VFK_PCIE_CONFIG_SIZE || len > VFK_PCIE_CONFIG_SIZE - off ||
	    4 + len > VFK_PCIE_CONFIG_SIZE - off)
		return -ENOSPC;
	cfg_set(cfg, off, (uint32_t)cap_id | (uint32_t)version << 16, 4);
	if (len) {
		memcpy(cfg->bytes + off + 4, body, len);
		memcpy(cfg->initial + off + 4, body, len);
		if (wmask)
			memcpy(cfg->wmask + off + 4, wmask, len);
	}
	if (cfg->last_ext_cap) {
		header = get_le(cfg->initial + cfg->last_ext_cap, 4);
		cfg_set(cfg, cfg->last_ext_cap, (header & 0xfffff) | (uint32_t)off << 20, 4);
	}
	cfg->last_ext_cap = (uint16_t)off;
	cfg->next_ext_free = (uint16_t)(off + 4 + len);
	if (offset)
		*offset = (uint16_t)off;
	return 0;
}

/* ---- standard capabilities ---- */

int vfk_pci_add_pm_cap(struct vfk_device *dev)
{
	/* PMC: version 3, D0/D3hot only, no PME; PMCSR: NoSoftReset, state RW. */
	uint8_t body[6] = { 0 }, wmask[6] = { 0 };

	if (cap_find(&dev->cfg, PCI_CAP_ID_PM))
		return -EEXIST;
	if (!cap_fits(&dev->cfg, PCI_PM_SIZEOF))
		return -ENOSPC;
	put_le(body + PCI_PM_PMC - 2, 3, 2);
	put_le(body + PCI_PM_CTRL - 2, PCI_PM_CTRL_NO_SOFT_RESET, 2);
	put_le(wmask + PCI_PM_CTRL - 2, PCI_PM_CTRL_STATE_MASK, 2);
	cap_append(&dev->cfg, PCI_CAP_ID_PM, body, sizeof(body), wmask, NULL);
	return 0;
}

static unsigned int log2_u32(uint32_t v)
{
	unsigned int n = 0;

	while (v >>= 1)
		n++;
	return n;
}

/* MSI capability bytes (after id/next): size depends on addr64 and masking. */
static size_t msi_layout(unsigned int nvec, bool addr64, bool per_vector_mask,
			 uint8_t *body, uint8_t *wmask)
{
	size_t data = addr64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32;
	size_t mask = addr64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32;
	uint16_t flags = (uint16_t)(log2_u32(nvec) << 1);
	uint32_t vec_bits = nvec == 32 ? 0xffffffffu : (1u << nvec) - 1;

	if (addr64)
		flags |= PCI_MSI_FLAGS_64BIT;
	if (per_vector_mask)
		flags |= PCI_MSI_FLAGS_MASKBIT;
	put_le(body, flags, 2);
	put_le(wmask, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE, 2);
	put_le(wmask + PCI_MSI_ADDRESS_LO - 2, 0xfffffffc, 4);
	if (addr64)
		put_le(wmask + PCI_MSI_ADDRESS_HI - 2, 0xffffffff, 4);
	put_le(wmask + data - 2, 0xffff, 2);
	if (!per_vector_mask)
		return data + 2 - 2;
	put_le(wmask + mask - 2, vec_bits, 4);
	return mask + 8 - 2;   /* mask bits and pending bits */
}

int vfk_pci_add_msi_cap(struct vfk_device *dev, unsigned int nvec, bool addr64,
			bool per_vector_mask)
{
	uint8_t body[24] = { 0 }, wmask[24] = { 0 };
	size_t len;
	int ret;

	if (nvec < 1 || nvec > 32 || !is_power_of_2(nvec))
		return -EINVAL;
	if (cap_find(&dev->cfg, PCI_CAP_ID_MSI))
		return -EEXIST;
	len = msi_layout(nvec, addr64, per_vector_mask, body, wmask);
	if (!cap_fits(&dev->cfg, 2 + len))
		return -ENOSPC;
	ret = vfk_irqs_set_count(dev, VFIO_PCI_MSI_IRQ_INDEX, nvec);
	if (ret)
		return ret;
	cap_append(&dev->cfg, PCI_CAP_ID_MSI, body, len, wmask, NULL);
	return 0;
}

/* The MSI-X table or PBA must lie inside an implemented memory BAR. */
static int msix_check_area(const struct vfk_pci_config *cfg, unsigned int bar,
			   uint32_t offset, uint64_t len)
{
	uint64_t size;

	if (bar >= PCI_STD_NUM_BARS || (offset & PCI_MSIX_TABLE_BIR))
		return -EINVAL;
	if (bar > 0 && bar_is_mem64(cfg, bar - 1))
		return -EINVAL;   /* the upper half of a 64-bit BAR */
	size = bar_size(cfg, bar);
	if (cfg->initial[bar_offset(bar)] & PCI_BASE_ADDRESS_SPACE_IO)
		return -EINVAL;
	return offset <= size && len <= size - offset ? 0 : -EINVAL;
}

int vfk_pci_add_msix_cap(struct vfk_device *dev, unsigned int nvec,
			 unsigned int table_bar, uint32_t table_offset,
			 unsigned int pba_bar, uint32_t pba_offset)
{
	struct vfk_pci_config *cfg = &dev->cfg;
	uint8_t body[10] = { 0 }, wmask[10] = { 0 };
	int ret;

	if (nvec < 1 || nvec > PCI_MSIX_FLAGS_QSIZE + 1u)
		return -EINVAL;
	ret = msix_check_area(cfg, table_bar, table_offset, (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE);
	if (!ret)
		ret = msix_check_area(cfg, pba_bar, pba_offset, (nvec + 63u) / 64 * 8);
	if (ret)
		return ret;
	if (cap_find(cfg, PCI_CAP_ID_MSIX))
		return -EEXIST;
	if (!cap_fits(cfg, PCI_CAP_MSIX_SIZEOF))
		return -ENOSPC;
	put_le(body, nvec - 1, 2);
	put_le(wmask, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	put_le(body + PCI_MSIX_TABLE - 2, table_offset | table_bar, 4);
	put_le(body + PCI_MSIX_PBA - 2, pba_offset | pba_bar, 4);
	ret = vfk_irqs_set_count(dev, VFIO_PCI_MSIX_IRQ_INDEX, nvec);
	if (ret)
		return ret;
	cap_append(cfg, PCI_CAP_ID_MSIX, body, sizeof(body), wmask, NULL);
	cfg->msix_table_bar = (int)table_bar;
	return 0;
}

static bool link_width_valid(uint8_t width)
{
	static const uint8_t widths[] = { 1, 2, 4, 8, 12, 16, 32 };

	for (size_t i = 0; i < sizeof(widths); i++)
		if (widths[i] == width)
			return true;
	return false;
}

#define PCIE_CAP_V2_SIZEOF 0x3c   /* through Slot Status 2 */

int vfk_pci_add_pcie_cap(struct vfk_device *dev, uint8_t link_speed, uint8_t link_width)
{
	uint8_t body[PCIE_CAP_V2_SIZEOF - 2] = { 0 };
	uint8_t wmask[PCIE_CAP_V2_SIZEOF - 2] = { 0 }, w1c[PCIE_CAP_V2_SIZEOF - 2] = { 0 };
	uint32_t lnkcap = link_speed | (uint32_t)link_width << 4;

	/* Speeds 1..6 are 2.5 to 64 GT/s; the extended space needs a PCIe device. */
	if (!dev->desc.pcie || link_speed < 1 || link_speed > 6 || !link_width_valid(link_width))
		return -EINVAL;
	if (cap_find(&dev->cfg, PCI_CAP_ID_EXP))
		return -EEXIST;
	if (!cap_fits(&dev->cfg, PCIE_CAP_V2_SIZEOF))
		return -ENOSPC;
	put_le(body + PCI_EXP_FLAGS - 2, 2 | PCI_EXP_TYPE_ENDPOINT << 4, 2);
	put_le(body + PCI_EXP_DEVCAP - 2, PCI_EXP_DEVCAP_RBER, 4);
	/* Device Control as after reset: relaxed ordering, no snoop, 512 B reads. */
	put_le(body + PCI_EXP_DEVCTL - 2, PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_NOSNOOP_EN |
	       PCI_EXP_DEVCTL_READRQ_512B, 2);
	/* Extended Tag stays 0: Device Capabilities does not offer it (PCIe spec). */
	put_le(wmask + PCI_EXP_DEVCTL - 2, PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE |
	       PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE | PCI_EXP_DEVCTL_RELAX_EN |
	       PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ, 2);
	put_le(w1c + PCI_EXP_DEVSTA - 2, PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED |
	       PCI_EXP_DEVSTA_FED | PCI_EXP_DEVSTA_URD, 2);
	put_le(body + PCI_EXP_LNKCAP - 2, lnkcap, 4);
	put_le(wmask + PCI_EXP_LNKCTL - 2, PCI_EXP_LNKCTL_RCB | PCI_EXP_LNKCTL_CCC |
	       PCI_EXP_LNKCTL_ES, 2);
	put_le(body + PCI_EXP_LNKSTA - 2, lnkcap | PCI_EXP_LNKSTA_SLC, 2);
	/* Supported Link Speeds vector: every speed up to the maximum. */
	put_le(body + PCI_EXP_LNKCAP2 - 2, ((1u << link_speed) - 1) << 1, 4);
	put_le(body + PCI_EXP_LNKCTL2 - 2, link_speed, 2);
	cap_append(&dev->cfg, PCI_CAP_ID_EXP, body, sizeof(body), wmask, w1c);
	return 0;
}

int vfk_pci_add_vendor_cap(struct vfk_device *dev, const void *data, size_t len)
{
	uint8_t body[VFK_PCI_CONFIG_SIZE];

	if (len && !data)
		return -EINVAL;
	if (len > VFK_PCI_CONFIG_SIZE - CAP_LIST_START - 3 || !cap_fits(&dev->cfg, 3 + len))
		return -ENOSPC;
	body[0] = (uint8_t)(3 + len);   /* the length byte counts the whole capability */
	if (len)
		memcpy(body + 1, data, len);
	cap_append(&dev->cfg, PCI_CAP_ID_VNDR, body, 1 + len, NULL, NULL);
	return 0;
}

/* ---- INTx in the command and status registers ---- */

bool vfk_config_intx_disabled(const struct vfk_device *dev)
{
	return get_le(dev->cfg.bytes + PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE;
}

void vfk_config_set_intx_status(struct vfk_device *dev, bool asserted)
{
	uint32_t status = get_le(dev->cfg.bytes + PCI_STATUS, 2);

	if (asserted)
		status |= PCI_STATUS_INTERRUPT;
	else
		status &= ~(uint32_t)PCI_STATUS_INTERRUPT;
	put_le(dev->cfg.bytes + PCI_STATUS, status, 2);
}

/* Whether [offset, offset + count) covers the byte at `at`. */
static bool write_covers(size_t count, uint64_t offset, uint64_t at)
{
	return offset <= at && at < offset + count;
}

/* ---- power management: PowerState (PMCSR bits 1:0) ---- */

static uint8_t pm_state(const struct vfk_pci_config *cfg)
{
	if (!cfg->pm_cap)
		return 0;
	return cfg->bytes[cfg->pm_cap + PCI_PM_CTRL] & PCI_PM_CTRL_STATE_MASK;
}

/*
 * D0 and D3hot always exist, D1 and D2 only when PMC says so. From a
 * low-power state the function goes back to D0 or deeper, never to a
 * shallower one (D3hot only to D0), as Linux's pci_set_power_state
 * enforces for vfio-pci's users.
 */
static bool pm_transition_allowed(const struct vfk_pci_config *cfg, uint8_t from, uint8_t to)
{
	uint32_t pmc = get_le(cfg->initial + cfg->pm_cap + PCI_PM_PMC, 2);

	if ((to == 1 && !(pmc & PCI_PM_CAP_D1)) || (to == 2 && !(pmc & PCI_PM_CAP_D2)))
		return false;
	return to == 0 || to >= from;
}

/* A refused PowerState write completes, but its data is discarded. */
static void pm_state_written(struct vfk_pci_config *cfg, uint8_t before, size_t count,
			     uint64_t offset)
{
	uint8_t *pmcsr;

	if (!cfg->pm_cap || !write_covers(count, offset, cfg->pm_cap + PCI_PM_CTRL))
		return;
	pmcsr = &cfg->bytes[cfg->pm_cap + PCI_PM_CTRL];
	if (!pm_transition_allowed(cfg, before, *pmcsr & PCI_PM_CTRL_STATE_MASK))
		*pmcsr = (uint8_t)((*pmcsr & ~PCI_PM_CTRL_STATE_MASK) | before);
}

/* ---- MSI: Multiple Message Enable ---- */

/* MME above MMC reads back as MMC, as vfio-pci and QEMU clamp it. */
static void msi_flags_written(struct vfk_pci_config *cfg, size_t count, uint64_t offset)
{
	uint8_t *flags, mmc, mme;

	if (!cfg->msi_cap || !write_covers(count, offset, cfg->msi_cap + PCI_MSI_FLAGS))
		return;
	flags = &cfg->bytes[cfg->msi_cap + PCI_MSI_FLAGS];
	mmc = (*flags & PCI_MSI_FLAGS_QMASK) >> 1;
	mme = (*flags & PCI_MSI_FLAGS_QSIZE) >> 4;
	if (mme > mmc)
		*flags = (uint8_t)((*flags & ~PCI_MSI_FLAGS_QSIZE) | mmc << 4);
}

/* ---- MSI per-vector Mask and Pending bits ---- */

/* Offset of the Mask Bits register (Pending Bits follow), 0 without. */
static size_t msi_mask_at(const struct vfk_pci_config *cfg)
{
	uint32_t flags;

	if (!cfg->msi_cap)
		return 0;
	flags = get_le(cfg->initial + cfg->msi_cap + PCI_MSI_FLAGS, 2);
	if (!(flags & PCI_MSI_FLAGS_MASKBIT))
		return 0;
	return cfg->msi_cap + (flags & PCI_MSI_FLAGS_64BIT ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
}

bool vfk_config_msi_vector_masked(const struct vfk_device *dev, uint32_t vector)
{
	size_t at = msi_mask_at(&dev->cfg);

	return at && vector < 32 && (get_le(dev->cfg.bytes + at, 4) >> vector & 1);
}

bool vfk_config_msi_pending(const struct vfk_device *dev, uint32_t vector)
{
	size_t at = msi_mask_at(&dev->cfg);

	return at && vector < 32 && (get_le(dev->cfg.bytes + at + 4, 4) >> vector & 1);
}

void vfk_config_msi_set_pending(struct vfk_device *dev, uint32_t vector, bool pending)
{
	size_t at = msi_mask_at(&dev->cfg);
	uint32_t bits;

	if (!at || vector >= 32)
		return;
	bits = get_le(dev->cfg.bytes + at + 4, 4) & ~(1u << vector);
	put_le(dev->cfg.bytes + at + 4, bits | (uint32_t)pending << vector, 4);
}

/* Whether the write reached the Mask Bits register. */
static bool msi_mask_written(const struct vfk_pci_config *cfg, size_t count, uint64_t offset)
{
	size_t at = msi_mask_at(cfg);

	return at && offset < at + 4 && at < offset + count;
}

bool vfk_config_msi_vector_allocated(const struct vfk_device *dev, uint32_t vector)
{
	const struct vfk_pci_config *cfg = &dev->cfg;
	uint8_t flags;

	if (!cfg->msi_cap)
		return true;
	flags = cfg->bytes[cfg->msi_cap + PCI_MSI_FLAGS];
	if (!(flags & PCI_MSI_FLAGS_ENABLE))
		return true;
	return vector < 1u << ((flags & PCI_MSI_FLAGS_QSIZE) >> 4);
}

/* ---- accesses ---- */

static bool access_in_range(const struct vfk_pci_config *cfg, size_t count, uint64_t offset)
{
	return offset <= cfg->size && count <= cfg->size - offset;
}

ssize_t vfk_pci_config_read(struct vfk_device *dev, void *buf, size_t count, uint64_t offset)
{
	if (!access_in_range(&dev->cfg, count, offset))
		return -EINVAL;
	memcpy(buf, dev->cfg.bytes + offset, count);
	return (ssize_t)count;
}

ssize_t vfk_pci_config_write(struct vfk_device *dev, const void *buf, size_t count,
			     uint64_t offset)
{
	struct vfk_pci_config *cfg = &dev->cfg;
	const uint8_t *src = buf;
	uint8_t power_state;

	if (!access_in_range(cfg, count, offset))
		return -EINVAL;
	power_state = pm_state(cfg);
	for (size_t i = 0; i < count; i++) {
		size_t at = offset + i;
		uint8_t val = src[i];

		cfg->bytes[at] = (uint8_t)((cfg->bytes[at] & ~cfg->wmask[at]) | (val & cfg->wmask[at]));
		cfg->bytes[at] &= (uint8_t)~(val & cfg->w1cmask[at]);
	}
	pm_state_written(cfg, power_state, count, offset);
	msi_flags_written(cfg, count, offset);
	if (msi_mask_written(cfg, count, offset))
		vfk_irq_msi_mask_written(dev);
	if (write_covers(count, offset, PCI_COMMAND + 1))   /* Interrupt Disable, bit 10 */
		vfk_irq_intx_command_written(dev);
	if (dev->desc.ops && dev->desc.ops->config_written)
		dev->desc.ops->config_written(dev, offset, count);
	return (ssize_t)count;
}

const uint8_t *vfk_pci_config_bytes(const struct vfk_device *dev)
{
	return dev->cfg.bytes;
}

size_t vfk_pci_config_size(const struct vfk_device *dev)
{
	return dev->cfg.size;
}
