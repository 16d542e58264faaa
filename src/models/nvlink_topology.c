// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>

#include "nvlink_topology.h"

static void note(struct vfk_nvl_issue *issues, size_t max, size_t *n,
		 enum vfk_nvl_issue_kind kind, unsigned int a, unsigned int b)
{
	if (*n < max)
		issues[*n] = (struct vfk_nvl_issue){ kind, a, b };
	(*n)++;
}

static int gpu_of_tgt(const struct vfk_nvl_gpu *gpus, size_t ngpus, uint64_t tgt)
{
	for (size_t g = 0; g < ngpus; g++)
		if (gpus[g].has_tgt && gpus[g].tgt == tgt)
			return (int)g;
	return -1;
}

static void check_gpus(const struct vfk_nvl_gpu *gpus, size_t ngpus,
		       struct vfk_nvl_issue *issues, size_t max, size_t *n)
{
	for (size_t g = 0; g < ngpus; g++) {
		if (!gpus[g].has_tgt) {
			note(issues, max, n, VFK_NVL_GPU_NO_SSATGT, (unsigned int)g, 0);
			continue;
		}
		for (size_t h = 0; h < g; h++)
			if (gpus[h].has_tgt && gpus[h].tgt == gpus[g].tgt)
				note(issues, max, n, VFK_NVL_SHARED_TGT, (unsigned int)h,
				     (unsigned int)g);
	}
}

size_t vfk_nvl_pair(const struct vfk_nvl_gpu *gpus, size_t ngpus,
		    struct vfk_nvl_bridge *bridges, size_t nbridges,
		    struct vfk_nvl_issue *issues, size_t max_issues)
{
	size_t n = 0;

	check_gpus(gpus, ngpus, issues, max_issues, &n);
	for (size_t b = 0; b < nbridges; b++) {
		struct vfk_nvl_bridge *br = &bridges[b];

		br->gpu = -1;
		if (!br->has_speed)
			note(issues, max_issues, &n, VFK_NVL_BRIDGE_NO_LNKSPD, (unsigned int)b, 0);
		if (!br->has_tgt) {
			note(issues, max_issues, &n, VFK_NVL_BRIDGE_NO_SSATGT, (unsigned int)b, 0);
			continue;
		}
		br->gpu = gpu_of_tgt(gpus, ngpus, br->tgt);
		if (br->gpu < 0)
			note(issues, max_issues, &n, VFK_NVL_BRIDGE_WITHOUT_GPU, (unsigned int)b, 0);
	}
	return n;
}

void vfk_nvl_issue_describe(const struct vfk_nvl_issue *issue,
			    const struct vfk_nvl_gpu *gpus, const struct vfk_nvl_bridge *bridges,
			    char *buf, size_t len)
{
	switch (issue->kind) {
	case VFK_NVL_GPU_NO_SSATGT:
		snprintf(buf, len, "GPU %s: GPU RAM region has no NVLINK2_SSATGT capability",
			 gpus[issue->a].name);
		break;
	case VFK_NVL_BRIDGE_NO_SSATGT:
		snprintf(buf, len, "bridge %s: ATSD region has no NVLINK2_SSATGT capability",
			 bridges[issue->a].name);
		break;
	case VFK_NVL_BRIDGE_NO_LNKSPD:
		snprintf(buf, len, "bridge %s: ATSD region has no NVLINK2_LNKSPD capability",
			 bridges[issue->a].name);
		break;
	case VFK_NVL_SHARED_TGT:
		snprintf(buf, len, "GPUs %s and %s report the same tgt 0x%016" PRIx64,
			 gpus[issue->a].name, gpus[issue->b].name, gpus[issue->a].tgt);
		break;
	case VFK_NVL_BRIDGE_WITHOUT_GPU:
		snprintf(buf, len, "bridge %s: tgt 0x%016" PRIx64 " matches no GPU",
			 bridges[issue->a].name, bridges[issue->a].tgt);
		break;
	}
}

static void print_size(FILE *out, uint64_t bytes)
{
	if (bytes && !(bytes % (1ull << 30)))
		fprintf(out, "%" PRIu64 " GiB", bytes >> 30);
	else if (bytes && !(bytes % (1ull << 10)))
		fprintf(out, "%" PRIu64 " KiB", bytes >> 10);
	else
		fprintf(out, "%" PRIu64 " bytes", bytes);
}

static void print_link(FILE *out, const struct vfk_nvl_bridge *br)
{
	fprintf(out, "    link  %s  speed ", br->name);
	if (br->has_speed)
		fprintf(out, "0x%x", br->speed);
	else
		fprintf(out, "?");
	fprintf(out, "  ATSD ");
	if (br->atsd_size) {
		print_size(out, br->atsd_size);
		fprintf(out, " (region %u)\n", br->region);
	} else {
		fprintf(out, "none (region %u, size 0)\n", br->region);
	}
}

void vfk_nvl_print(FILE *out, const struct vfk_nvl_gpu *gpus, size_t ngpus,
		   const struct vfk_nvl_bridge *bridges, size_t nbridges)
{
	for (size_t g = 0; g < ngpus; g++) {
		fprintf(out, "GPU %s\n    tgt   ", gpus[g].name);
		if (gpus[g].has_tgt)
			fprintf(out, "0x%016" PRIx64 "\n", gpus[g].tgt);
		else
			fprintf(out, "(no SSATGT)\n");
		fprintf(out, "    RAM   ");
		print_size(out, gpus[g].aperture);
		fprintf(out, " aperture (region %u)\n", gpus[g].region);
		for (size_t b = 0; b < nbridges; b++)
			if (bridges[b].gpu == (int)g)
				print_link(out, &bridges[b]);
	}
	for (size_t b = 0; b < nbridges; b++) {
		if (bridges[b].gpu >= 0)
			continue;
		fprintf(out, "unpaired bridge\n");
		print_link(out, &bridges[b]);
	}
}
