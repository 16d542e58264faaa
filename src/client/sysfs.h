/* SPDX-License-Identifier: MIT */
/*
 * Kernel VFIO discovery through sysfs: a PCI address to its IOMMU group
 * and driver, a group to its devices. The sysfs root is /sys unless
 * $VFIOKIT_SYSFS_ROOT or vfk_sysfs_set_root() names a fake tree laid out
 * the same way (ROOT/bus/pci/devices/..., ROOT/kernel/iommu_groups/...).
 */
#ifndef VFIOKIT_CLIENT_SYSFS_H
#define VFIOKIT_CLIENT_SYSFS_H

#include <stdbool.h>
#include <stddef.h>

/* Internal to libvfiokit: hidden, so the library exports only what
 * include/vfiokit/ declares (src/libvfiokit.map), and calls between its
 * files need no PLT hop. */
#pragma GCC visibility push(hidden)

/* "0000:00:03.0" plus NUL. */
#define VFK_PCI_ADDR_LEN 13

/** Use root (copied; NULL = back to $VFIOKIT_SYSFS_ROOT or the real /sys). */
void vfk_sysfs_set_root(const char *root);

/**
 * Accept "DDDD:BB:DD.F" or "BB:DD.F" (hex, device <= 0x1f, function <= 7)
 * and write the full lower-case form into out. false when s is not one.
 */
bool vfk_pci_addr_normalize(const char *s, char out[VFK_PCI_ADDR_LEN]);

/**
 * The name of the driver bound to PCI device addr into drv; drv[0] = 0
 * when unbound. -ENODEV when the device does not exist.
 */
int vfk_sysfs_pci_driver(const char *addr, char *drv, size_t drv_len);

/** Whether a driver name is vfio-pci or a vfio-pci variant driver. */
bool vfk_is_vfio_driver(const char *drv);

/**
 * Check that addr exists and is bound to a vfio-pci driver, and give its
 * IOMMU group number. -ENODEV (no such device), -EBUSY (bound to another
 * driver or to none: errmsg names it), -ENOENT (no IOMMU group).
 */
int vfk_sysfs_pci_group(const char *addr, int *group, char *errmsg, size_t errmsg_len);

/**
 * The first device of IOMMU group `group`, in address order, that is
 * bound to vfio-pci, into addr. -ENOENT when the group does not exist,
 * -ENODEV when no device in it is bound to vfio-pci (errmsg says so).
 */
int vfk_sysfs_group_device(int group, char addr[VFK_PCI_ADDR_LEN], char *errmsg,
			   size_t errmsg_len);

#pragma GCC visibility pop

#endif
