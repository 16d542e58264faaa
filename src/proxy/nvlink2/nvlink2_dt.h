/* SPDX-License-Identifier: MIT */
/*
 * What the nvlink2 subdriver needs from a POWER9 device tree, read as
 * Linux's vfio_pci_nvlink2.c read it, validated here and nowhere else:
 *
 * V100 GPU: its node's `ibm,npu` (first phandle) names its NVLink bridge
 * (an NPU2 link); that node's `memory-region` names the GPU RAM node,
 * whose `reg` is <address size> (two 64-bit values), and its
 * `ibm,device-tgt-addr` is the tgt the SSATGT capability reports.
 *
 * NPU2 bridge: its node needs `ibm,gpu` and `memory-region` (both must
 * resolve); `ibm,nvlink` names its link node, whose `ibm,npu-link-index`
 * picks this bridge's ATSD register from `ibm,mmio-atsd` on the bridge's
 * parent (the NPU's PHB) — entry 0 when the list is shorter, none when
 * it is absent; `ibm,device-tgt-addr` and `ibm,nvlink-speed` give the
 * SSATGT and LNKSPD capabilities.
 */
#ifndef VFIOKIT_PROXY_NVLINK2_NVLINK2_DT_H
#define VFIOKIT_PROXY_NVLINK2_NVLINK2_DT_H

#include <stdbool.h>
#include <stdint.h>

#include "dt.h"

struct nvl2_gpu {
	uint64_t tgt;
	uint64_t ram_addr;      /* the GPU RAM's system address */
	uint64_t ram_size;      /* non-zero, a multiple of the host page size */
	char npu[DT_PATH_MAX];  /* the bridge node it was read from */
};

struct nvl2_bridge {
	uint64_t tgt;
	uint32_t link_speed;
	uint32_t link_index;
	uint64_t mmio_atsd;     /* the ATSD register's address; 0: none */
	bool atsd_fallback;     /* entry 0 taken: the list had no entry link_index */
};

/** Read a GPU's properties from its node. 0, or a negative errno with t->err set. */
int nvl2_read_gpu(struct dt *t, const char *node, struct nvl2_gpu *gpu);

/** Read an NPU2 bridge's properties from its node. As nvl2_read_gpu(). */
int nvl2_read_bridge(struct dt *t, const char *node, struct nvl2_bridge *br);

#endif
