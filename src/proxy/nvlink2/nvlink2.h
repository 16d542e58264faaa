/* SPDX-License-Identifier: MIT */
/*
 * The nvlink2 subdriver: what Linux's vfio_pci_nvlink2.c added to a V100
 * GPU or an NPU2 bridge on a POWER9 host, done by the proxy from the
 * host's device tree (docs/proxy.md, "The nvlink2 subdriver").
 *
 * Options: dt=DIR, the device tree's root (default the running system's,
 * /sys/firmware/devicetree/base); node=PATH, the device's node below it.
 * Without node=, the device is found by its PCI address (the target must
 * be one): through its sysfs `of_node` link when dt= is not given, else
 * in DIR by the PCI bus binding (dt.h, dt_find_pci()).
 */
#ifndef VFIOKIT_PROXY_NVLINK2_NVLINK2_H
#define VFIOKIT_PROXY_NVLINK2_NVLINK2_H

#include <vfiokit/proxy.h>

extern const struct vfk_proxy_subdriver vfk_nvlink2_subdriver;

#endif
