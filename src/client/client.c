// SPDX-License-Identifier: MIT
/*
 * The client API over its backends: target dispatch, the region-info
 * argsz loop, mmap checks and the region lookup by type.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client_internal.h"
#include "sysfs.h"

int vfk_client_fail(char *errmsg, size_t errmsg_len, int err, const char *fmt, ...)
{
	if (errmsg && errmsg_len) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(errmsg, errmsg_len, fmt, ap);
		va_end(ap);
	}
	return err;
}

int vfk_client_open(const char *target, const struct vfk_client_opts *opts,
		    struct vfk_client **out, char *errmsg, size_t errmsg_len)
{
	static const struct vfk_client_opts defaults;
	char addr[VFK_PCI_ADDR_LEN];

	if (!target || !out)
		return vfk_client_fail(errmsg, errmsg_len, -EINVAL, "no target given");
	if (!opts)
		opts = &defaults;
	if (!strncmp(target, "/dev/vfio/", strlen("/dev/vfio/")))
		return vfk_kernel_open_group(target, opts, out, errmsg, errmsg_len);
	if (vfk_pci_addr_normalize(target, addr))
		return vfk_kernel_open_pci(addr, opts, out, errmsg, errmsg_len);
	return vfk_user_open(target, opts, out, errmsg, errmsg_len);
}

void vfk_client_close(struct vfk_client *c)
{
	if (c)
		c->ops->close(c);
}

const char *vfk_client_backend(const struct vfk_client *c)
{
	return c->ops->name;
}

int vfk_client_device_info(struct vfk_client *c, struct vfio_device_info *info)
{
	return c->ops->device_info(c, info);
}

int vfk_client_irq_info(struct vfk_client *c, uint32_t index, struct vfio_irq_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return c->ops->irq_info(c, info);
}

void vfk_region_info_free(struct vfk_region_info *ri)
{
	if (!ri)
		return;
	if (ri->mmap_fd >= 0)
		close(ri->mmap_fd);
	free(ri->raw);
	free(ri);
}

/* One request of the argsz loop, into ri->raw of len bytes. */
static int region_info_once(struct vfk_client *c, uint32_t index, struct vfk_region_info *ri,
			    uint32_t len, size_t *got)
{
	uint8_t *buf = realloc(ri->raw, len);
	int fd = -1, ret;

	if (!buf)
		return -ENOMEM;
	ri->raw = buf;
	memset(buf, 0, len);
	if (ri->mmap_fd >= 0)
		close(ri->mmap_fd);
	ri->mmap_fd = -1;
	ret = c->ops->region_info(c, index, buf, len, got, &fd);
	ri->calls++;
	if (ret)
		return ret;
	ri->mmap_fd = fd;
	if (*got < sizeof(ri->hdr))
		return -EPROTO;
	memcpy(&ri->hdr, buf, sizeof(ri->hdr));
	if (ri->hdr.argsz < sizeof(ri->hdr) || ri->hdr.argsz > VFK_REGION_INFO_MAX ||
	    ri->hdr.index != index)
		return -EPROTO;
	return 0;
}

/* A malformed chain does not fail the call: it is reported, and left empty. */
static void parse_chain(struct vfk_region_info *ri, size_t got)
{
	size_t used = ri->hdr.argsz < got ? ri->hdr.argsz : got;

	ri->chain_status = vfk_capchain_parse(ri->raw, used, &ri->chain, ri->chain_error,
					      sizeof(ri->chain_error));
	if (ri->chain_status)
		ri->chain.count = 0;
}

/*
 * Ask with 32 bytes, then with the size the answer says it needs, until
 * it fits: caps are rebuilt per request, so the size may change again.
 */
static int region_info_loop(struct vfk_client *c, uint32_t index, struct vfk_region_info *ri)
{
	uint32_t len = sizeof(struct vfio_region_info);
	size_t got;

	while (ri->calls < VFK_REGION_INFO_MAX_CALLS) {
		int ret = region_info_once(c, index, ri, len, &got);

		if (ret)
			return ret;
		if (ri->hdr.argsz <= len) {
			parse_chain(ri, got);
			return 0;
		}
		len = ri->hdr.argsz;
	}
	return -EPROTO;
}

int vfk_client_region_info(struct vfk_client *c, uint32_t index, struct vfk_region_info **out)
{
	struct vfk_region_info *ri = calloc(1, sizeof(*ri));
	int ret;

	if (!ri)
		return -ENOMEM;
	ri->mmap_fd = -1;
	ret = region_info_loop(c, index, ri);
	if (ret) {
		vfk_region_info_free(ri);
		return ret;
	}
	*out = ri;
	return 0;
}

ssize_t vfk_client_region_read(struct vfk_client *c, uint32_t index, uint64_t offset,
			       void *buf, size_t count)
{
	return c->ops->region_read(c, index, offset, buf, count);
}

ssize_t vfk_client_region_write(struct vfk_client *c, uint32_t index, uint64_t offset,
				const void *buf, size_t count)
{
	return c->ops->region_write(c, index, offset, buf, count);
}

ssize_t vfk_client_config_read(struct vfk_client *c, uint64_t offset, void *buf, size_t count)
{
	return c->ops->region_read(c, VFIO_PCI_CONFIG_REGION_INDEX, offset, buf, count);
}

/* With SPARSE_MMAP only the listed areas may be mapped: [offset, +len) must sit in one. */
static bool inside_sparse_area(const struct vfk_cap *sparse, uint64_t offset, size_t len)
{
	struct vfio_region_sparse_mmap_area area;

	for (uint32_t i = 0; vfk_cap_sparse_area(sparse, i, &area); i++)
		if (offset >= area.offset && offset - area.offset <= area.size &&
		    len <= area.size - (offset - area.offset))
			return true;
	return false;
}

void *vfk_client_region_mmap(struct vfk_client *c, const struct vfk_region_info *ri,
			     uint64_t offset, size_t len, int prot)
{
	const struct vfk_cap *sparse;
	void *p;

	if (!(ri->hdr.flags & VFIO_REGION_INFO_FLAG_MMAP) || ri->mmap_fd < 0 ||
	    !ri->hdr.size || !len || offset > ri->hdr.size || len > ri->hdr.size - offset ||
	    ri->hdr.offset + offset < ri->hdr.offset) {
		errno = EINVAL;
		return NULL;
	}
	sparse = vfk_capchain_find(&ri->chain, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	if (sparse && !inside_sparse_area(sparse, offset, len)) {
		errno = EACCES;
		return NULL;
	}
	p = mmap(NULL, len, prot, MAP_SHARED, ri->mmap_fd, (off_t)(ri->hdr.offset + offset));
	return p == MAP_FAILED ? NULL : p;
}

int vfk_client_find_region(struct vfk_client *c, uint32_t type, uint32_t subtype)
{
	struct vfio_device_info info;
	int ret = vfk_client_device_info(c, &info);

	if (ret)
		return ret;
	for (uint32_t i = VFIO_PCI_NUM_REGIONS; i < info.num_regions; i++) {
		struct vfk_region_info *ri;
		const struct vfk_cap *cap;
		bool match;

		if (vfk_client_region_info(c, i, &ri))
			continue;
		cap = vfk_capchain_find(&ri->chain, VFIO_REGION_INFO_CAP_TYPE);
		match = cap && cap->u.type.type == type && cap->u.type.subtype == subtype;
		vfk_region_info_free(ri);
		if (match)
			return (int)i;
	}
	return -ENOENT;
}

int vfk_client_reset(struct vfk_client *c)
{
	return c->ops->reset(c);
}

int vfk_client_set_irq_eventfds(struct vfk_client *c, uint32_t index, uint32_t start,
				uint32_t count, const int *fds)
{
	return c->ops->set_irqs(c, index, start, count, fds);
}

/* Bytes per vector of a SET_IRQS data type, or -1 for none or several. */
static int irq_data_elem(uint32_t flags)
{
	switch (flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		return 0;
	case VFIO_IRQ_SET_DATA_BOOL:
		return (int)sizeof(uint8_t);
	case VFIO_IRQ_SET_DATA_EVENTFD:
		return (int)sizeof(int32_t);
	default:
		return -1;
	}
}

int vfk_client_set_irqs(struct vfk_client *c, const struct vfio_irq_set *set,
			const void *data, size_t data_len)
{
	const uint32_t known = VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK;
	int elem = irq_data_elem(set->flags);

	if ((set->flags & ~known) || elem < 0 || set->count > VFK_CLIENT_MAX_IRQ_SET)
		return -EINVAL;
	if ((size_t)set->count * (size_t)elem > data_len || (elem && set->count && !data))
		return -EINVAL;
	return c->ops->set_irqs_raw(c, set, data, (size_t)set->count * (size_t)elem);
}

int vfk_client_dma_map(struct vfk_client *c, uint64_t iova, uint64_t size, void *vaddr,
		       int fd, uint64_t fd_offset)
{
	if (!size || iova + size < iova)
		return -EINVAL;
	return c->ops->dma_map(c, iova, size, vaddr, fd, fd_offset, VFK_DMA_READ | VFK_DMA_WRITE);
}

int vfk_client_dma_map_prot(struct vfk_client *c, uint64_t iova, uint64_t size, void *vaddr,
			    int fd, uint64_t fd_offset, uint32_t prot)
{
	if (!size || iova + size < iova || !prot || (prot & ~(VFK_DMA_READ | VFK_DMA_WRITE)))
		return -EINVAL;
	return c->ops->dma_map(c, iova, size, vaddr, fd, fd_offset, prot);
}

int vfk_client_dma_unmap(struct vfk_client *c, uint64_t iova, uint64_t size)
{
	return c->ops->dma_unmap(c, iova, size);
}

int vfk_client_dma_batch(struct vfk_client *c, struct vfk_client_dma_op *ops, size_t n)
{
	int first = 0;

	if (n && !ops)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!ops[i].size || ops[i].iova + ops[i].size < ops[i].iova ||
		    (!ops[i].unmap && !ops[i].vaddr && ops[i].fd < 0))
			return -EINVAL;
	if (c->ops->dma_batch)
		return c->ops->dma_batch(c, ops, n);
	for (size_t i = 0; i < n; i++) {
		struct vfk_client_dma_op *op = &ops[i];

		op->result = op->unmap ? c->ops->dma_unmap(c, op->iova, op->size) :
			     c->ops->dma_map(c, op->iova, op->size, op->vaddr, op->fd,
					     op->fd_offset, VFK_DMA_READ | VFK_DMA_WRITE);
		if (op->result && !first)
			first = op->result;
	}
	return first;
}
