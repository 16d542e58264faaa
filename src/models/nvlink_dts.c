// SPDX-License-Identifier: MIT
/*
 * The guest device tree QEMU's pseries machine derived from NVLink2 caps.
 * Guest addresses follow its layout: GPU RAM from 64 TiB, one window
 * after the other; ATSD registers from 128 TiB, 64 KiB apart (at most 8,
 * the limit of known guests). GPU g gets NUMA node 1 + g.
 */
#include <inttypes.h>
#include <stdio.h>

#include "nvlink_topology.h"

#define GPU_RAM_GPA_BASE  (64ull << 40)
#define ATSD_GPA_BASE     (128ull << 40)
#define ATSD_GPA_STRIDE   (64ull << 10)
#define MAX_ATSD          8

static void cells64(FILE *out, uint64_t v)
{
	fprintf(out, "0x%" PRIx32 " 0x%" PRIx32, (uint32_t)(v >> 32), (uint32_t)v);
}

static int link_index(const struct vfk_nvl_bridge *bridges, size_t b)
{
	int idx = 0;

	for (size_t i = 0; i < b; i++)
		idx += bridges[i].gpu >= 0;
	return idx;
}

static void write_npu_links(FILE *out, const struct vfk_nvl_bridge *bridges, size_t nbridges)
{
	fprintf(out, "\tnpuphb0 {\n\t\tcompatible = \"ibm,power9-npu\";\n"
		"\t\t#address-cells = <1>;\n\t\t#size-cells = <0>;\n");
	for (size_t b = 0; b < nbridges; b++) {
		int l = link_index(bridges, b);

		if (bridges[b].gpu < 0)
			continue;
		fprintf(out, "\n\t\tnvlink%d: link@%x {\n\t\t\treg = <%d>;\n"
			"\t\t\tcompatible = \"ibm,npu-link\";\n"
			"\t\t\tibm,npu-link-index = <%d>;\n\t\t};\n", l, (unsigned int)l, l, l);
	}
	fprintf(out, "\t};\n");
}

static void write_memory(FILE *out, const struct vfk_nvl_gpu *gpus, size_t ngpus)
{
	uint64_t gpa = GPU_RAM_GPA_BASE;

	for (size_t g = 0; g < ngpus; g++) {
		unsigned int node = 1 + (unsigned int)g;

		if (!gpus[g].has_tgt)
			continue;
		fprintf(out, "\n\tgpuram%zu: memory@%" PRIx64 " {\n", g, gpa);
		fprintf(out, "\t\tdevice_type = \"memory\";\n"
			"\t\tcompatible = \"ibm,coherent-device-memory\";\n\t\treg = <");
		cells64(out, gpa);
		fprintf(out, " ");
		cells64(out, gpus[g].aperture);
		/* The guest must not use it as ordinary RAM: usable size 0. */
		fprintf(out, ">;\n\t\tlinux,usable-memory = <");
		cells64(out, gpa);
		fprintf(out, " 0x0 0x0>;\n");
		fprintf(out, "\t\tibm,associativity = <4 %u %u %u %u>;\n\t};\n",
			node, node, node, node);
		gpa += gpus[g].aperture;
	}
}

static void write_mmio_atsd(FILE *out, const struct vfk_nvl_bridge *bridges, size_t nbridges)
{
	unsigned int n = 0;

	for (size_t b = 0; b < nbridges && n < MAX_ATSD; b++)
		if (bridges[b].gpu >= 0 && bridges[b].atsd_size)
			n++;
	if (!n)
		return;
	fprintf(out, "\t\tibm,mmio-atsd = /bits/ 64 <");
	for (unsigned int i = 0; i < n; i++)
		fprintf(out, "%s0x%" PRIx64, i ? " " : "", (uint64_t)(ATSD_GPA_BASE + i * ATSD_GPA_STRIDE));
	fprintf(out, ">;\n");
}

static void write_gpu(FILE *out, size_t g, const struct vfk_nvl_bridge *bridges,
		      size_t nbridges)
{
	const char *sep = "";

	fprintf(out, "\n\t\tgpu%zu: nvidia-gpu%zu {\n\t\t\tibm,npu = <", g, g);
	for (size_t b = 0; b < nbridges; b++) {
		if (bridges[b].gpu != (int)g)
			continue;
		fprintf(out, "%s&bridge%zu", sep, b);
		sep = " ";
	}
	fprintf(out, ">;\n\t\t};\n");
}

static void write_bridge(FILE *out, const struct vfk_nvl_bridge *bridges, size_t b)
{
	const struct vfk_nvl_bridge *br = &bridges[b];

	fprintf(out, "\n\t\tbridge%zu: nvlink-bridge%zu {\n", b, b);
	fprintf(out, "\t\t\tibm,gpu = <&gpu%d>;\n", br->gpu);
	fprintf(out, "\t\t\tibm,nvlink = <&nvlink%d>;\n", link_index(bridges, b));
	fprintf(out, "\t\t\tmemory-region = <&gpuram%d>;\n", br->gpu);
	fprintf(out, "\t\t\tibm,device-tgt-addr = <");
	cells64(out, br->tgt);
	fprintf(out, ">;\n\t\t\tibm,nvlink-speed = <0x%x>;\n\t\t};\n", br->speed);
}

static void write_phb(FILE *out, const struct vfk_nvl_gpu *gpus, size_t ngpus,
		      const struct vfk_nvl_bridge *bridges, size_t nbridges)
{
	fprintf(out, "\n\tvfio-phb {\n");
	write_mmio_atsd(out, bridges, nbridges);
	for (size_t g = 0; g < ngpus; g++)
		if (gpus[g].has_tgt)
			write_gpu(out, g, bridges, nbridges);
	for (size_t b = 0; b < nbridges; b++)
		if (bridges[b].gpu >= 0)
			write_bridge(out, bridges, b);
	fprintf(out, "\t};\n");
}

void vfk_nvl_write_dts(FILE *out, const struct vfk_nvl_gpu *gpus, size_t ngpus,
		       const struct vfk_nvl_bridge *bridges, size_t nbridges)
{
	fprintf(out, "/dts-v1/;\n\n/ {\n\t#address-cells = <2>;\n\t#size-cells = <2>;\n\n");
	write_npu_links(out, bridges, nbridges);
	write_memory(out, gpus, ngpus);
	write_phb(out, gpus, ngpus, bridges, nbridges);
	fprintf(out, "};\n");
}
