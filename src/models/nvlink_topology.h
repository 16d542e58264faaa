/* SPDX-License-Identifier: MIT */
/*
 * NVLink2 topology from region capabilities: GPUs (a GPU RAM region with
 * SSATGT) and bridges (an ATSD region with SSATGT and LNKSPD), paired by
 * tgt as QEMU's pseries machine did. Pure functions: no devices, no
 * sockets, so every inconsistency can be tested directly.
 */
#ifndef VFIOKIT_MODELS_NVLINK_TOPOLOGY_H
#define VFIOKIT_MODELS_NVLINK_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct vfk_nvl_gpu {
	const char *name;
	uint32_t region;       /* index of its GPU RAM region */
	uint64_t aperture;     /* that region's size */
	bool has_tgt;          /* SSATGT found */
	uint64_t tgt;
};

struct vfk_nvl_bridge {
	const char *name;
	uint32_t region;       /* index of its ATSD region */
	uint64_t atsd_size;    /* 0: no ATSD register assigned */
	bool has_tgt;          /* SSATGT found */
	uint64_t tgt;
	bool has_speed;        /* LNKSPD found */
	uint32_t speed;
	int gpu;               /* set by vfk_nvl_pair(): GPU index or -1 */
};

enum vfk_nvl_issue_kind {
	VFK_NVL_GPU_NO_SSATGT,       /* a: GPU */
	VFK_NVL_BRIDGE_NO_SSATGT,    /* a: bridge */
	VFK_NVL_BRIDGE_NO_LNKSPD,    /* a: bridge */
	VFK_NVL_SHARED_TGT,          /* a, b: two GPUs with one tgt */
	VFK_NVL_BRIDGE_WITHOUT_GPU,  /* a: bridge whose tgt matches no GPU */
};

struct vfk_nvl_issue {
	enum vfk_nvl_issue_kind kind;
	unsigned int a, b;
};

/**
 * Pair every bridge with the GPU of its tgt (bridges[i].gpu; the first
 * such GPU when two share it) and list what is inconsistent. Up to
 * max_issues go to issues; returns how many there are in all.
 */
size_t vfk_nvl_pair(const struct vfk_nvl_gpu *gpus, size_t ngpus,
		    struct vfk_nvl_bridge *bridges, size_t nbridges,
		    struct vfk_nvl_issue *issues, size_t max_issues);

/** One line (no newline) describing an issue, naming the devices. */
void vfk_nvl_issue_describe(const struct vfk_nvl_issue *issue,
			    const struct vfk_nvl_gpu *gpus, const struct vfk_nvl_bridge *bridges,
			    char *buf, size_t len);

/** Human-readable topology: each GPU, its aperture and links; then unpaired bridges. */
void vfk_nvl_print(FILE *out, const struct vfk_nvl_gpu *gpus, size_t ngpus,
		   const struct vfk_nvl_bridge *bridges, size_t nbridges);

/**
 * The guest device-tree fragment QEMU's pseries machine built from these
 * caps, as dtc source: per paired bridge ibm,device-tgt-addr,
 * ibm,nvlink-speed, memory-region, ibm,gpu, ibm,nvlink; per GPU ibm,npu;
 * a memory@ node per GPU (ibm,coherent-device-memory, its own NUMA node);
 * ibm,mmio-atsd for up to 8 ATSD registers. GPUs without tgt and
 * unpaired bridges are left out.
 */
void vfk_nvl_write_dts(FILE *out, const struct vfk_nvl_gpu *gpus, size_t ngpus,
		       const struct vfk_nvl_bridge *bridges, size_t nbridges);

#endif
