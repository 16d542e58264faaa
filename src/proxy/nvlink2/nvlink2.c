// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <vfiokit/log.h>
#include <vfiokit/proxy.h>

#include "atsd.h"
#include "gpu_ram.h"
#include "nvlink2.h"
#include "nvlink2_dt.h"

#define NVIDIA_VENDOR 0x10deu
#define IBM_VENDOR    0x1014u

#define SYSTEM_DT  "/sys/firmware/devicetree/base"
#define SYSFS_PCI  "/sys/bus/pci/devices"

/* A PCI address of exactly len characters, hex digits, ':' and '.'. */
static bool pci_form(const char *s, size_t len)
{
	return strlen(s) == len && strspn(s, "0123456789abcdefABCDEF:.") == len;
}

/* "DDDD:BB:DD.F" or "BB:DD.F" (domain 0), as PCI targets are named. */
static int parse_bdf(const char *s, uint32_t *dom, uint32_t *bus, uint32_t *devfn)
{
	unsigned int d = 0, b = 0, dev = 0, fn = 0;
	int end = 0;
	bool ok = false;

	if (pci_form(s, 7))
		ok = sscanf(s, "%2x:%2x.%1x%n", &b, &dev, &fn, &end) == 3;
	else if (pci_form(s, 12))
		ok = sscanf(s, "%4x:%2x:%2x.%1x%n", &d, &b, &dev, &fn, &end) == 4;
	if (!ok || s[end] || dev > 31 || fn > 7)
		return -EINVAL;
	*dom = d;
	*bus = b;
	*devfn = dev << 3 | fn;
	return 0;
}

/* The device's node: node= if given; else by the target's PCI address,
 * through sysfs of_node on the running system, by the PCI bus binding
 * in a tree given with dt=. */
static int find_node(struct dt *t, struct vfk_proxy *proxy, const struct vfk_proxy_args *args,
		     char *node, size_t len)
{
	const char *given = vfk_proxy_arg(args, "node");
	const char *target = vfk_proxy_target_name(proxy);
	char link[sizeof(SYSFS_PCI) + 32];
	uint32_t dom, bus, devfn;

	if (given) {
		snprintf(node, len, "%s", given + (*given == '/'));
		return strlen(given) < len ? 0 : -ENAMETOOLONG;
	}
	if (parse_bdf(target, &dom, &bus, &devfn)) {
		snprintf(t->err, sizeof(t->err),
			 "%s is no PCI address: name the device's node with node=PATH", target);
		return -EINVAL;
	}
	if (vfk_proxy_arg(args, "dt"))
		return dt_find_pci(t, dom, bus, devfn, node, len);
	snprintf(link, sizeof(link), "%s/%04x:%02x:%02x.%x/of_node", SYSFS_PCI, dom, bus,
		 devfn >> 3, devfn & 7);
	return dt_node_from_link(t, link, SYSTEM_DT, node, len);
}

/* The GPU RAM region, as the kernel added it: NVIDIA's NVLINK2_RAM type,
 * R|W|MMAP, the size of the RAM node's reg, SSATGT from the bridge. */
static int add_gpu(struct dt *t, struct vfk_proxy *proxy, const char *node)
{
	struct nvl2_gpu gpu;
	uint32_t index;
	int ret = nvl2_read_gpu(t, node, &gpu);

	if (ret)
		return ret;
	ret = vfk_gpu_ram_add(vfk_proxy_device(proxy), gpu.ram_size, gpu.tgt, &index);
	if (ret) {
		snprintf(t->err, sizeof(t->err), "adding the GPU RAM region: %s", strerror(-ret));
		return ret;
	}
	vfk_info("nvlink2: %s: GPU RAM region %" PRIu32 " of 0x%" PRIx64 " bytes, tgt 0x%" PRIx64
		 " (device tree /%s, bridge /%s); served from stand-in memory, not the GPU RAM at 0x%"
		 PRIx64, vfk_proxy_target_name(proxy), index, gpu.ram_size, gpu.tgt, node, gpu.npu,
		 gpu.ram_addr);
	return 0;
}

/* The ATSD region, as the kernel added it: IBM's NVLINK2_ATSD type, one
 * page when the bridge has an ATSD register (else size 0), SSATGT and
 * LNKSPD either way. */
static int add_bridge(struct dt *t, struct vfk_proxy *proxy, const char *node)
{
	struct nvl2_bridge br;
	uint32_t index;
	int ret = nvl2_read_bridge(t, node, &br);

	if (ret)
		return ret;
	if (br.atsd_fallback)
		vfk_warn("nvlink2: %s: no ATSD register for link %" PRIu32 ", using entry 0",
			 vfk_proxy_target_name(proxy), br.link_index);
	if (!br.mmio_atsd)
		vfk_warn("nvlink2: %s: no ibm,mmio-atsd: ATSD region of size 0",
			 vfk_proxy_target_name(proxy));
	ret = vfk_atsd_add(vfk_proxy_device(proxy), br.mmio_atsd != 0, br.tgt, br.link_speed,
			   &index);
	if (ret) {
		snprintf(t->err, sizeof(t->err), "adding the ATSD region: %s", strerror(-ret));
		return ret;
	}
	vfk_info("nvlink2: %s: ATSD region %" PRIu32 ", tgt 0x%" PRIx64 ", link speed 0x%" PRIx32
		 ", register 0x%" PRIx64 " (device tree /%s); served from stand-in memory",
		 vfk_proxy_target_name(proxy), index, br.tgt, br.link_speed, br.mmio_atsd, node);
	return 0;
}

static int nvl2_attach(struct vfk_proxy *proxy, const struct vfk_proxy_args *args, void **priv,
		       char *err, size_t err_len)
{
	const char *dir = vfk_proxy_arg(args, "dt");
	char node[DT_PATH_MAX];
	struct dt t;
	int ret = dt_open(&t, dir ? dir : SYSTEM_DT);

	*priv = NULL;
	if (ret == -ENOENT && !dir)
		snprintf(t.err, sizeof(t.err), "this system has no device tree (%s): not a POWER "
			 "host? Give one with dt=DIR", SYSTEM_DT);
	if (!ret)
		ret = find_node(&t, proxy, args, node, sizeof(node));
	if (!ret && vfk_proxy_vendor_id(proxy) == NVIDIA_VENDOR)
		ret = add_gpu(&t, proxy, node);
	else if (!ret)
		ret = add_bridge(&t, proxy, node);
	if (ret)
		snprintf(err, err_len, "nvlink2: %s", t.err[0] ? t.err : strerror(-ret));
	dt_close(&t);
	return ret;
}

static const struct vfk_proxy_id nvl2_ids[] = {
	{ NVIDIA_VENDOR, VFK_PROXY_ANY_ID },
	{ IBM_VENDOR, VFK_PROXY_ANY_ID },
	{ 0, 0 },
};

static const struct vfk_proxy_option nvl2_options[] = {
	{ "dt", NULL, "the device tree's root folder (default " SYSTEM_DT ")" },
	{ "node", NULL, "the device's node below it (default: found by PCI address)" },
	{ NULL, NULL, NULL },
};

const struct vfk_proxy_subdriver vfk_nvlink2_subdriver = {
	.name = "nvlink2",
	.summary = "POWER9 NVLink2: GPU RAM region of a V100, ATSD region of an NPU2 bridge, "
		   "from the device tree",
	.ids = nvl2_ids,
	.options = nvl2_options,
	.attach = nvl2_attach,
};
