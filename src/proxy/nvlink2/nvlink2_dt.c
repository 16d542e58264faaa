// SPDX-License-Identifier: MIT
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nvlink2_dt.h"

static int bad(struct dt *t, const char *fmt, const char *node, uint64_t a, uint64_t b)
{
	snprintf(t->err, sizeof(t->err), fmt, node, (unsigned long long)a, (unsigned long long)b);
	return -EINVAL;
}

/* The GPU RAM node's reg: <address size>, each two cells (the
 * kernel read exactly two 64-bit values). The region is mmapped, so both
 * must be page-aligned, and the range must not wrap. */
static int read_ram(struct dt *t, const char *mem, struct nvl2_gpu *gpu)
{
	uint64_t reg[DT_PROP_MAX / 8];
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	size_t len;
	int ret = dt_prop(t, mem, "reg", reg, sizeof(reg), &len);

	if (ret)
		return ret;
	if (len != 16)
		return bad(t, "device tree: /%s/reg is %llu bytes, want %llu (address, size)", mem,
			   len, 16);
	gpu->ram_addr = be64toh(reg[0]);
	gpu->ram_size = be64toh(reg[1]);
	if (!gpu->ram_size || gpu->ram_size % page || gpu->ram_addr % page)
		return bad(t, "device tree: /%s/reg: GPU RAM at 0x%llx size 0x%llx is not whole pages",
			   mem, gpu->ram_addr, gpu->ram_size);
	if (gpu->ram_addr + gpu->ram_size < gpu->ram_addr)
		return bad(t, "device tree: /%s/reg: GPU RAM at 0x%llx size 0x%llx wraps", mem,
			   gpu->ram_addr, gpu->ram_size);
	return 0;
}

int nvl2_read_gpu(struct dt *t, const char *node, struct nvl2_gpu *gpu)
{
	char mem[DT_PATH_MAX];
	int ret = dt_phandle(t, node, "ibm,npu", gpu->npu, sizeof(gpu->npu));

	if (!ret)
		ret = dt_phandle(t, gpu->npu, "memory-region", mem, sizeof(mem));
	if (!ret)
		ret = read_ram(t, mem, gpu);
	if (!ret)
		ret = dt_u64(t, gpu->npu, "ibm,device-tgt-addr", &gpu->tgt);
	return ret;
}

/* The ATSD register of link link_index, from the PHB's list: the kernel
 * fell back to entry 0 (registers are shared by links) and went on with
 * none when the list was absent. A list that is there but malformed is
 * an error. */
static int read_atsd(struct dt *t, const char *node, struct nvl2_bridge *br)
{
	char phb[DT_PATH_MAX];
	int ret = dt_parent(t, node, phb, sizeof(phb));

	if (ret)
		return ret;
	ret = dt_u64_index(t, phb, "ibm,mmio-atsd", br->link_index, &br->mmio_atsd, NULL);
	if (ret == -ERANGE) {
		br->atsd_fallback = true;
		ret = dt_u64_index(t, phb, "ibm,mmio-atsd", 0, &br->mmio_atsd, NULL);
	}
	if (ret == -ENOENT) {
		br->mmio_atsd = 0;
		t->err[0] = '\0';
		return 0;
	}
	return ret;
}

int nvl2_read_bridge(struct dt *t, const char *node, struct nvl2_bridge *br)
{
	char path[DT_PATH_MAX];
	int ret = dt_phandle(t, node, "ibm,gpu", path, sizeof(path));

	*br = (struct nvl2_bridge){ 0 };
	if (!ret)
		ret = dt_phandle(t, node, "memory-region", path, sizeof(path));
	if (!ret)
		ret = dt_phandle(t, node, "ibm,nvlink", path, sizeof(path));
	if (!ret)
		ret = dt_u32(t, path, "ibm,npu-link-index", &br->link_index);
	if (!ret)
		ret = read_atsd(t, node, br);
	if (!ret)
		ret = dt_u64(t, node, "ibm,device-tgt-addr", &br->tgt);
	if (!ret)
		ret = dt_u32(t, node, "ibm,nvlink-speed", &br->link_speed);
	return ret;
}
