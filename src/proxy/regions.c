// SPDX-License-Identifier: MIT
/*
 * The target's regions as the device's: each with the target's flags and
 * size, accesses forwarded (traps.c splits them), the target's mmap fd
 * and offset lent for mapping, and the target's capabilities copied raw,
 * then what subdrivers append. Mappable areas are the target's, less
 * the pages of trapped ranges (then the proxy writes SPARSE_MMAP).
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/pci_regs.h>

#include <vfiokit/caps.h>
#include <vfiokit/log.h>

#include "proxy/proxy_internal.h"

#define SETTABLE_FLAGS (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | \
			VFIO_REGION_INFO_FLAG_MMAP)

static const struct vfk_region_info *target_ri(struct vfk_device *dev, struct vfk_region *r)
{
	return proxy_of(dev)->regions[vfk_region_index(r)];
}

static ssize_t region_read(struct vfk_device *dev, struct vfk_region *r, void *buf,
			   size_t count, uint64_t offset)
{
	return proxy_access(proxy_of(dev), vfk_region_index(r), offset, buf, count, false);
}

static ssize_t region_write(struct vfk_device *dev, struct vfk_region *r, const void *buf,
			    size_t count, uint64_t offset)
{
	return proxy_access(proxy_of(dev), vfk_region_index(r), offset, (void *)buf, count, true);
}

/* Take [lo, hi) out of the areas in place; false when there is no room. */
static bool areas_cut(struct vfk_mmap_desc *d, uint64_t lo, uint64_t hi)
{
	uint32_t n = d->nr_areas;

	for (uint32_t i = 0; i < n; i++) {
		struct vfk_mmap_area a = d->areas[i];
		uint64_t end = a.offset + a.size;

		if (hi <= a.offset || lo >= end || !a.size)
			continue;
		d->areas[i].size = lo > a.offset ? lo - a.offset : 0;
		if (hi < end) {
			struct vfk_mmap_area tail = { hi, end - hi };

			if (!d->areas[i].size) {
				d->areas[i] = tail;
			} else if (d->nr_areas < VFK_MAX_MMAP_AREAS) {
				d->areas[d->nr_areas++] = tail;
			} else {
				return false;
			}
		}
	}
	return true;
}

/* Drop emptied areas; one empty area stays when nothing is left, so the
 * SPARSE_MMAP cap still says "nothing here maps" (QEMU skips empty areas). */
static void areas_compact(struct vfk_mmap_desc *d)
{
	uint32_t j = 0;

	for (uint32_t i = 0; i < d->nr_areas; i++) {
		if (d->areas[i].size)
			d->areas[j++] = d->areas[i];
	}
	d->nr_areas = j ? j : 1;
	if (!j)
		d->areas[0] = (struct vfk_mmap_area){ 0, 0 };
}

/* The target's areas: its SPARSE_MMAP, else the whole region. */
static int target_areas(const struct vfk_region_info *ri, struct vfk_mmap_desc *d)
{
	const struct vfk_cap *cap = vfk_capchain_find(&ri->chain, VFIO_REGION_INFO_CAP_SPARSE_MMAP);

	if (!cap) {
		d->areas[0] = (struct vfk_mmap_area){ 0, ri->hdr.size };
		d->nr_areas = 1;
		return 0;
	}
	if (cap->u.sparse.nr_areas > VFK_MAX_MMAP_AREAS)
		return -E2BIG;
	for (uint32_t i = 0; i < cap->u.sparse.nr_areas; i++) {
		struct vfio_region_sparse_mmap_area a;

		vfk_cap_sparse_area(cap, i, &a);
		d->areas[i] = (struct vfk_mmap_area){ a.offset, a.size };
	}
	d->nr_areas = cap->u.sparse.nr_areas;
	return 0;
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

/* The areas less the pages of every trap on this region. */
static int cut_traps(const struct vfk_proxy *p, uint32_t index, struct vfk_mmap_desc *d)
{
	for (unsigned int i = 0; i < p->nr_traps; i++) {
		const struct proxy_trap *t = &p->traps[i];
		uint64_t lo = align_down(t->offset, p->page_size);
		uint64_t hi = align_down(t->last, p->page_size) + p->page_size;

		if (t->index != index)
			continue;
		if (hi < lo)
			hi = UINT64_MAX;   /* the last page of a region ending at 2^64 */
		if (!areas_cut(d, lo, hi))
			return -E2BIG;
	}
	return 0;
}

static int region_mmap(struct vfk_device *dev, struct vfk_region *r, struct vfk_mmap_desc *d)
{
	struct vfk_proxy *p = proxy_of(dev);
	const struct vfk_region_info *ri = target_ri(dev, r);
	uint32_t index = vfk_region_index(r);
	int ret;

	d->fd = ri->mmap_fd;
	d->fd_offset = ri->hdr.offset;
	/* Untrapped: as the target says (its SPARSE_MMAP, if any, is copied raw). */
	if (!proxy_trapped(p, index, 0, UINT64_MAX))
		return 0;
	ret = target_areas(ri, d);
	if (!ret)
		ret = cut_traps(p, index, d);
	if (ret) {
		vfk_err("%s: region %u: more than %u mappable areas (the target's, less the traps)",
			vfk_device_name(dev), index, VFK_MAX_MMAP_AREAS);
		return ret;
	}
	areas_compact(d);
	return 0;
}

/*
 * The target's caps, raw, in its order. The core added TYPE (a
 * device-specific region) already, and SPARSE_MMAP when traps changed the
 * areas (region_mmap); without mmap there is no SPARSE_MMAP to repeat.
 */
static int copy_target_caps(const struct vfk_proxy *p, const struct vfk_region_info *ri,
			    uint32_t index, struct vfk_caps *caps)
{
	bool own_sparse = p->no_mmap || proxy_trapped(p, index, 0, UINT64_MAX);

	for (unsigned int i = 0; i < ri->chain.count; i++) {
		const struct vfk_cap *c = &ri->chain.caps[i];
		int ret;

		if ((c->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP && own_sparse) ||
		    (c->id == VFIO_REGION_INFO_CAP_TYPE && index >= VFIO_PCI_NUM_REGIONS))
			continue;
		ret = vfk_caps_add(caps, c->id, c->version, c->raw + sizeof(struct vfio_info_cap_header),
				   c->raw_len - sizeof(struct vfio_info_cap_header));
		if (ret)
			return ret;
	}
	return 0;
}

static int region_add_caps(struct vfk_device *dev, struct vfk_region *r, struct vfk_caps *caps)
{
	struct vfk_proxy *p = proxy_of(dev);
	uint32_t index = vfk_region_index(r);
	int ret = copy_target_caps(p, target_ri(dev, r), index, caps);

	for (unsigned int i = 0; !ret && i < p->nr_hooks; i++) {
		if (p->hooks[i].index == index)
			ret = p->hooks[i].fn(p, index, caps, p->hooks[i].arg);
	}
	return ret;
}

static const struct vfk_region_ops forward_ops = {
	.read = region_read,
	.write = region_write,
	.mmap = region_mmap,
	.add_capability = region_add_caps,
};

/* The region as the core takes it; MMAP only with an fd to map. */
static struct vfk_region_desc desc_of(const struct vfk_proxy *p, const struct vfk_region_info *ri)
{
	uint32_t flags = ri->hdr.flags & SETTABLE_FLAGS;

	if (p->no_mmap || ri->mmap_fd < 0 || !ri->hdr.size)
		flags &= ~VFIO_REGION_INFO_FLAG_MMAP;
	return (struct vfk_region_desc){ flags, ri->hdr.size, &forward_ops, (void *)p };
}

/* BAR attributes from the target's BAR register (a 64-bit BAR takes the next slot). */
static int bar_attrs(struct vfk_proxy *p, uint32_t bar, uint32_t *attrs)
{
	uint32_t reg;
	ssize_t n = vfk_client_config_read(p->target, PCI_BASE_ADDRESS_0 + 4 * bar, &reg,
					   sizeof(reg));

	if (n != (ssize_t)sizeof(reg))
		return n < 0 ? (int)n : -EIO;
	reg = le32toh(reg);
	*attrs = 0;
	if (reg & PCI_BASE_ADDRESS_SPACE_IO) {
		*attrs = VFK_BAR_IO;
		return 0;
	}
	if ((reg & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64)
		*attrs |= VFK_BAR_MEM64;
	if (reg & PCI_BASE_ADDRESS_MEM_PREFETCH)
		*attrs |= VFK_BAR_PREFETCH;
	return 0;
}

static int add_fixed(struct vfk_proxy *p, uint32_t i, const struct vfk_region_info *ri)
{
	struct vfk_region_desc d = desc_of(p, ri);
	uint32_t attrs = 0;
	int ret;

	if (!ri->hdr.size)
		return 0;   /* unimplemented: the core answers size 0, flags 0 */
	switch (i) {
	case VFIO_PCI_ROM_REGION_INDEX:
		return vfk_device_set_rom(p->dev, &d);
	case VFIO_PCI_CONFIG_REGION_INDEX:
		return 0;   /* the passthrough hooks */
	case VFIO_PCI_VGA_REGION_INDEX:
		return vfk_device_set_vga(p->dev, &d);
	default:
		ret = bar_attrs(p, i, &attrs);
		return ret ? ret : vfk_device_set_bar(p->dev, i, &d, attrs);
	}
}

static int add_specific(struct vfk_proxy *p, uint32_t i, const struct vfk_region_info *ri)
{
	const struct vfk_cap *type = vfk_capchain_find(&ri->chain, VFIO_REGION_INFO_CAP_TYPE);
	struct vfk_region_desc d = desc_of(p, ri);
	uint32_t index;
	int ret;

	if (!type)
		return -EPROTO;   /* every device-specific region has one */
	ret = vfk_device_add_region(p->dev, type->u.type.type, type->u.type.subtype, &d, &index);
	return !ret && index != i ? -EPROTO : ret;
}

int proxy_regions_build(struct vfk_proxy *p, char *errmsg, size_t errmsg_len)
{
	for (uint32_t i = 0; i < p->info.num_regions; i++) {
		const struct vfk_region_info *ri = p->regions[i];
		int ret;

		if (!ri)
			continue;
		ret = i < VFIO_PCI_NUM_REGIONS ? add_fixed(p, i, ri) : add_specific(p, i, ri);
		if (ret) {
			if (errmsg && errmsg_len)
				snprintf(errmsg, errmsg_len,
					 "%s: region %u (flags %#x, size %#llx) cannot be served: %s",
					 p->target_name, i, ri->hdr.flags,
					 (unsigned long long)ri->hdr.size, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int vfk_proxy_add_caps(struct vfk_proxy *p, uint32_t index, vfk_proxy_caps_fn fn, void *arg)
{
	if (!fn || index >= p->info.num_regions || !p->regions[index] ||
	    index == VFIO_PCI_CONFIG_REGION_INDEX || !vfk_device_region(p->dev, index))
		return -EINVAL;
	if (p->nr_hooks == PROXY_MAX_CAPS_HOOKS)
		return -ENOSPC;
	p->hooks[p->nr_hooks++] = (struct proxy_caps_hook){ index, fn, arg };
	return 0;
}
