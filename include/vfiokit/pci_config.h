/* SPDX-License-Identifier: MIT */
/*
 * Emulated PCI config space of a vfiokit device (region index 7).
 *
 * The core builds the type-0 header from the device descriptor and the
 * BARs; models add capabilities. Every byte has a write mask and
 * write-1-to-clear bits, so a guest can only change what real hardware
 * lets it change. BAR registers answer sizing (all-ones, read back the
 * size mask). Accesses of any size and alignment within the space work.
 */
#ifndef VFIOKIT_PCI_CONFIG_H
#define VFIOKIT_PCI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vfk_device;

#define VFK_PCI_CONFIG_SIZE      256
#define VFK_PCIE_CONFIG_SIZE     4096

/**
 * Append a standard capability (id in byte 0, next pointer in byte 1) to
 * the list at 0x34. `body` is the capability's bytes from byte 2 on, `len`
 * its size; `wmask` (len bytes, may be NULL = read-only) says which bits
 * software may write. Caps are placed dword-aligned from 0x40 on and the
 * status register's capability-list bit is set. The offset used is stored
 * in *offset when not NULL. -EINVAL for body NULL with len > 0; -ENOSPC
 * when the cap does not fit in the 256-byte space.
 */
int vfk_pci_add_cap(struct vfk_device *dev, uint8_t cap_id, const void *body,
		    size_t len, const uint8_t *wmask, uint8_t *offset);

/**
 * Append a PCIe extended capability (from 0x100 on; PCIe devices only).
 * body/len/wmask as above, for the bytes after the 4-byte header. Without
 * any, 0x100 reads 0. -EINVAL for a conventional device, cap_id 0 or
 * version > 15; -ENOSPC past 4 KiB.
 */
int vfk_pci_add_ext_cap(struct vfk_device *dev, uint16_t cap_id, uint8_t version,
			const void *body, size_t len, const uint8_t *wmask,
			uint16_t *offset);

/**
 * Power management capability v3: D0/D3hot, no PME, No_Soft_Reset set,
 * the PMCSR power state writable. -EEXIST when there is one already.
 * A PowerState write the function cannot follow (D1/D2 not in PMC, or from
 * a low-power state to a shallower one but D0) completes and changes
 * nothing, as the PCI PM spec has it.
 */
int vfk_pci_add_pm_cap(struct vfk_device *dev);

/**
 * MSI capability with nvec (1..32, power of two) vectors, 32- or 64-bit
 * address, optional per-vector mask bits (one writable bit per vector; the
 * pending bits are the device's, see vfk_irq_trigger());
 * sets the MSI IRQ count. Multiple Message Enable written above Multiple
 * Message Capable reads back as capable (as vfio-pci clamps it).
 * -EINVAL, -EEXIST, -ENOSPC, or the IRQ count's error.
 */
int vfk_pci_add_msi_cap(struct vfk_device *dev, unsigned int nvec, bool addr64,
			bool per_vector_mask);

/**
 * MSI-X capability with nvec (1..2048) vectors, table and PBA in the given
 * BARs at the given offsets; sets the MSI-X IRQ count. The BARs must be
 * set first (memory BARs, offsets 8-byte aligned, table and PBA inside
 * them) else -EINVAL. Enable and function-mask bits are writable. The BAR
 * holding the table reports MSIX_MAPPABLE when it is mappable.
 */
int vfk_pci_add_msix_cap(struct vfk_device *dev, unsigned int nvec,
			 unsigned int table_bar, uint32_t table_offset,
			 unsigned int pba_bar, uint32_t pba_offset);

/**
 * PCI Express capability v2 (endpoint), PCIe devices only: link_speed 1..6
 * (2.5 to 64 GT/s) and link_width 1, 2, 4, 8, 12, 16 or 32 in Link
 * Capabilities/Status, supported speeds in Link Capabilities 2; Device
 * Control writable but for what Device Capabilities does not offer
 * (extended tags, phantom functions, FLR, Aux Power PM: read 0), Device
 * Status error bits write-1-to-clear.
 */
int vfk_pci_add_pcie_cap(struct vfk_device *dev, uint8_t link_speed, uint8_t link_width);

/**
 * Vendor-specific capability (id 9) with len bytes of data after the
 * length byte (which holds 3 + len); read-only. -ENOSPC when it does not fit.
 */
int vfk_pci_add_vendor_cap(struct vfk_device *dev, const void *data, size_t len);

/**
 * Config space access as the CONFIG region does it: any size and
 * alignment inside the space (256 B, or 4 KiB for PCIe). A write changes
 * only the writable bits of each byte, clears the write-1-to-clear bits
 * written as 1, applies the PowerState and Multiple Message Enable rules
 * above, then calls the model's config_written hook. Returns count
 * (0 for count 0) or -EINVAL when [offset, offset + count) leaves the
 * space. Never allocates.
 */
ssize_t vfk_pci_config_read(struct vfk_device *dev, void *buf, size_t count, uint64_t offset);
ssize_t vfk_pci_config_write(struct vfk_device *dev, const void *buf, size_t count,
			     uint64_t offset);

/**
 * Read-only view of the current config space bytes, for models (e.g. the
 * command register or a BAR address); size from vfk_pci_config_size().
 * Valid for the device's lifetime.
 */
const uint8_t *vfk_pci_config_bytes(const struct vfk_device *dev);
size_t vfk_pci_config_size(const struct vfk_device *dev);

#ifdef __cplusplus
}
#endif
#endif
