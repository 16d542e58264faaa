// SPDX-License-Identifier: MIT
/*
 * Opening a proxy: the target opened with the client API, its answers
 * read once (device info, config header, every region's info, IRQ info)
 * and a passthrough device built from them; closing undoes it in reverse.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include <vfiokit/log.h>

#include "proxy/proxy_internal.h"

/* More than this many regions from a target is a malformed answer. */
#define PROXY_MAX_REGIONS (VFIO_PCI_NUM_REGIONS + VFK_MAX_DEVICE_REGIONS)

struct vfk_proxy *proxy_of(struct vfk_device *dev)
{
	return vfk_device_priv(dev);
}

long proxy_target_ret(struct vfk_proxy *p, long ret)
{
	if ((ret == -EPIPE || ret == -ECONNRESET) && !p->lost) {
		p->lost = true;
		vfk_err("%s: the target %s is gone (%s): every request fails from now on",
			vfk_device_name(p->dev), p->target_name, strerror((int)-ret));
	}
	return ret;
}

bool vfk_proxy_target_lost(const struct vfk_proxy *p)
{
	return p->lost;
}

/*
 * A guest reset (DEVICE_RESET) and the reset after a client left. A
 * target without FLAGS_RESET answers -EINVAL as the kernel would, without
 * being asked (a log line for every client that leaves would say nothing).
 */
static int proxy_reset(struct vfk_device *dev)
{
	struct vfk_proxy *p = proxy_of(dev);
	int ret;

	if (!(p->info.flags & VFIO_DEVICE_FLAGS_RESET)) {
		vfk_dbg("%s: %s cannot be reset (no FLAGS_RESET)", vfk_device_name(dev),
			p->target_name);
		return -EINVAL;
	}
	ret = (int)proxy_target_ret(p, vfk_client_reset(p->target));

	vfk_dbg("%s: reset of %s: %d", vfk_device_name(dev), p->target_name, ret);
	if (ret)
		vfk_warn("%s: reset of %s: %s", vfk_device_name(dev), p->target_name,
			 strerror(-ret));
	return ret;
}

static const struct vfk_device_ops proxy_device_ops = {
	.reset = proxy_reset,
};

static const struct vfk_passthrough_ops proxy_pt_ops = {
	.config_read = proxy_config_read,
	.config_write = proxy_config_write,
	.set_irqs = proxy_set_irqs,
	.dma_map = proxy_dma_map,
	.dma_unmap = proxy_dma_unmap,
	.peer_gone = proxy_irqs_off,
};

static int fail(char *errmsg, size_t len, int err, const char *target, const char *what)
{
	if (errmsg && len)
		snprintf(errmsg, len, "%s: %s: %s", target, what, strerror(-err));
	return err;
}

static int read_regions(struct vfk_proxy *p, char *errmsg, size_t len)
{
	uint32_t n = p->info.num_regions;

	if (n < VFIO_PCI_NUM_REGIONS || n > PROXY_MAX_REGIONS)
		return fail(errmsg, len, -EPROTO, p->target_name, "device info: region count");
	p->regions = calloc(n, sizeof(*p->regions));
	if (!p->regions)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		int ret = vfk_client_region_info(p->target, i, &p->regions[i]);

		/* VGA (and nothing else) may be absent: the kernel says -EINVAL. */
		if (ret == -EINVAL && i == VFIO_PCI_VGA_REGION_INDEX)
			continue;
		if (ret)
			return fail(errmsg, len, ret, p->target_name, "region info");
		if (p->regions[i]->chain_status) {
			if (errmsg && len)
				snprintf(errmsg, len, "%s: region %u: %s", p->target_name, i,
					 p->regions[i]->chain_error);
			return -EPROTO;
		}
	}
	if (!p->regions[VFIO_PCI_CONFIG_REGION_INDEX])
		return fail(errmsg, len, -EPROTO, p->target_name, "no config space");
	return 0;
}

static uint16_t le16_at(const uint8_t *b, size_t off)
{
	return (uint16_t)(b[off] | b[off + 1] << 8);
}

/* The identity a device needs at creation, from the target's config header. */
static int read_identity(struct vfk_proxy *p, struct vfk_device_desc *d, char *errmsg,
			 size_t len)
{
	uint8_t hdr[64];
	ssize_t n = vfk_client_config_read(p->target, 0, hdr, sizeof(hdr));

	if (n != (ssize_t)sizeof(hdr))
		return fail(errmsg, len, n < 0 ? (int)n : -EIO, p->target_name,
			    "config space read");
	p->vendor_id = le16_at(hdr, PCI_VENDOR_ID);
	p->device_id = le16_at(hdr, PCI_DEVICE_ID);
	d->vendor_id = p->vendor_id;
	d->device_id = p->device_id;
	d->subsys_vendor_id = le16_at(hdr, PCI_SUBSYSTEM_VENDOR_ID);
	d->subsys_id = le16_at(hdr, PCI_SUBSYSTEM_ID);
	d->revision = hdr[PCI_REVISION_ID];
	d->class_code = (uint32_t)hdr[PCI_CLASS_PROG] | (uint32_t)le16_at(hdr, PCI_CLASS_DEVICE) << 8;
	d->irq_pin = hdr[PCI_INTERRUPT_PIN] <= 4 ? hdr[PCI_INTERRUPT_PIN] : 0;
	d->pcie = p->regions[VFIO_PCI_CONFIG_REGION_INDEX]->hdr.size > 256;
	return 0;
}

static int build_passthrough(struct vfk_proxy *p, char *errmsg, size_t len)
{
	const struct vfk_region_info *cfg = p->regions[VFIO_PCI_CONFIG_REGION_INDEX];
	struct vfk_passthrough_desc pt = {
		.device_flags = p->info.flags,
		.config_size = cfg->hdr.size,
		.config_flags = cfg->hdr.flags,
		.ops = &proxy_pt_ops,
	};
	int ret;

	for (uint32_t i = 0; i < VFIO_PCI_NUM_IRQS && i < p->info.num_irqs; i++) {
		/* An index the target refuses is absent here too (argsz 0). */
		bool ok = vfk_client_irq_info(p->target, i, &pt.irqs[i]) == 0;

		pt.irqs[i].argsz = ok ? sizeof(pt.irqs[i]) : 0;
	}
	ret = vfk_device_set_passthrough(p->dev, &pt);
	if (ret)
		return fail(errmsg, len, ret, p->target_name,
			    "config space size or IRQ counts the proxy cannot repeat");
	return 0;
}

static int build_device(struct vfk_proxy *p, const char *name, char *errmsg, size_t len)
{
	struct vfk_device_desc d = {
		.name = name ? name : p->target_name,
		.ops = &proxy_device_ops,
		.priv = p,
	};
	int ret = read_identity(p, &d, errmsg, len);

	if (ret)
		return ret;
	ret = vfk_device_create(&d, &p->dev);
	if (ret)
		return fail(errmsg, len, ret, p->target_name, "device");
	ret = build_passthrough(p, errmsg, len);
	return ret ? ret : proxy_regions_build(p, errmsg, len);
}

static int proxy_init(struct vfk_proxy *p, const char *target, const char *name,
		      const struct vfk_proxy_opts *opts, char *errmsg, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	int ret;

	p->page_size = page > 0 ? (uint64_t)page : 4096;
	p->target_name = strdup(target);
	if (!p->target_name)
		return -ENOMEM;
	p->no_mmap = opts && opts->no_mmap;
	ret = vfk_client_open(target, opts ? &opts->client : NULL, &p->target, errmsg, len);
	if (ret)
		return ret;
	p->kernel = strcmp(vfk_client_backend(p->target), "kernel") == 0;
	ret = vfk_client_device_info(p->target, &p->info);
	if (ret)
		return fail(errmsg, len, ret, target, "device info");
	if (!(p->info.flags & VFIO_DEVICE_FLAGS_PCI))
		return fail(errmsg, len, -ENOTSUP, target, "not a PCI device");
	ret = read_regions(p, errmsg, len);
	return ret ? ret : build_device(p, name, errmsg, len);
}

int vfk_proxy_open(const char *target, const char *name, const struct vfk_proxy_opts *opts,
		   struct vfk_proxy **out, char *errmsg, size_t errmsg_len)
{
	struct vfk_proxy *p;
	int ret;

	if (!target || !out)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	ret = proxy_init(p, target, name, opts, errmsg, errmsg_len);
	if (ret) {
		vfk_proxy_close(p);
		return ret;
	}
	*out = p;
	return 0;
}

void vfk_proxy_close(struct vfk_proxy *p)
{
	if (!p)
		return;
	proxy_subdrivers_detach(p);
	vfk_device_destroy(p->dev);
	if (p->regions) {
		for (uint32_t i = 0; i < p->info.num_regions; i++)
			vfk_region_info_free(p->regions[i]);
	}
	free(p->regions);
	vfk_client_close(p->target);
	free(p->target_name);
	free(p);
}

struct vfk_device *vfk_proxy_device(struct vfk_proxy *p)
{
	return p->dev;
}

struct vfk_client *vfk_proxy_target(struct vfk_proxy *p)
{
	return p->target;
}

const char *vfk_proxy_target_name(const struct vfk_proxy *p)
{
	return p->target_name;
}

uint16_t vfk_proxy_vendor_id(const struct vfk_proxy *p)
{
	return p->vendor_id;
}

uint16_t vfk_proxy_device_id(const struct vfk_proxy *p)
{
	return p->device_id;
}

const struct vfk_region_info *vfk_proxy_target_region(const struct vfk_proxy *p,
							uint32_t index)
{
	return index < p->info.num_regions ? p->regions[index] : NULL;
}
