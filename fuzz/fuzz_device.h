/* SPDX-License-Identifier: MIT */
/*
 * The device behind the fuzz targets: built on the public API with every
 * feature the core has (a PCIe config space with standard and extended
 * capabilities, MSI and MSI-X, 32-bit, 64-bit, I/O and ROM BARs, a
 * mappable memfd BAR with sparse areas, a device-specific region with
 * capabilities from a hook), so fuzzed accesses reach all of its code.
 */
#ifndef VFIOKIT_FUZZ_DEVICE_H
#define VFIOKIT_FUZZ_DEVICE_H

#include <vfiokit/device.h>

/* Region sizes, for targets that aim accesses at them. */
#define FUZZ_BAR0_SIZE   0x1000u   /* 32-bit memory, MSI-X table at 0x800 */
#define FUZZ_BAR2_SIZE   0x10000u  /* 64-bit prefetchable, mappable memfd */
#define FUZZ_BAR4_SIZE   0x100u    /* I/O */
#define FUZZ_ROM_SIZE    0x800u
#define FUZZ_EXTRA_SIZE  0x100u    /* device-specific region, index 9 */

/* Build the device; NULL when the core refused (the target then aborts). */
struct vfk_device *fuzz_device_create(void);

#endif
