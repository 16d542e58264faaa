/* SPDX-License-Identifier: MIT */
/*
 * One handler per vfio-user command: check every field of the message,
 * call the core, queue the reply. Payloads may be unaligned in the
 * receive buffer, so fixed parts are copied out with memcpy.
 */
#include "server/server_internal.h"

#include <errno.h>
#include <string.h>

#include <vfiokit/device.h>
#include <vfiokit/dma.h>
#include <vfiokit/irq.h>
#include <vfiokit/log.h>
#include <vfiokit/region.h>

#define PAGE_MASK_4K (VFU_DEFAULT_PGSIZES - 1)

/* Reply with a fixed payload copied from obj. */
static int reply_with(struct srv_slot *s, const struct srv_msg *m,
		      const void *obj, uint32_t len)
{
	void *p;

	if (m->hdr.flags & VFU_F_NO_REPLY)
		return 0;
	p = vfk_srv_reply_begin(s, &m->hdr, len);
	if (!p)
		return -E2BIG;
	if (len)
		memcpy(p, obj, len);
	vfk_srv_reply_commit(s, len, -1);
	return 0;
}

static int reply_empty(struct srv_slot *s, const struct srv_msg *m)
{
	return reply_with(s, m, NULL, 0);
}

static int cmd_version(struct srv_slot *s, struct srv_msg *m)
{
	struct vfu_version v;
	struct vfu_caps peer, ours;
	char err[128] = "";
	uint8_t *p;
	int n;

	if (s->negotiated)
		return -EINVAL;
	memcpy(&v, m->payload, sizeof(v));
	if (v.major != VFU_VERSION_MAJOR) {
		vfk_warn("%s: client speaks vfio-user %u.%u, we need major %u",
			 vfk_device_name(s->dev), v.major, v.minor, VFU_VERSION_MAJOR);
		s->broken = true;   /* the spec says: close */
		return -ENOTSUP;
	}
	if (vfu_version_parse((const char *)m->payload + sizeof(v), m->len - sizeof(v),
			      &peer, err, sizeof(err))) {
		vfk_warn("%s: bad VERSION capabilities: %s", vfk_device_name(s->dev), err);
		return -EINVAL;
	}
	vfu_caps_defaults(&ours);
	ours.max_msg_fds = VFU_WIRE_MAX_FDS;
	ours.max_data_xfer_size = SRV_MAX_DATA_XFER;
	ours.max_dma_maps = peer.max_dma_maps < s->srv->dma_max_maps ?
			    peer.max_dma_maps : s->srv->dma_max_maps;
	ours.write_multiple = peer.write_multiple;
	p = vfk_srv_reply_begin(s, &m->hdr, 1024);
	if (!p)
		return -E2BIG;
	n = vfu_version_build(&ours, (char *)p + sizeof(v), 1024 - sizeof(v));
	if (n < 0)
		return n;
	v.minor = VFU_VERSION_MINOR;   /* ours is x.0, never above the offer */
	memcpy(p, &v, sizeof(v));
	s->peer = peer;
	s->negotiated = true;
	vfk_dma_set_limit(s->dev, ours.max_dma_maps);
	if (!(m->hdr.flags & VFU_F_NO_REPLY))
		vfk_srv_reply_commit(s, (uint32_t)(sizeof(v) + (size_t)n), -1);
	return 0;
}

/* Page-aligned and not empty; it may end exactly at 2^64, as in type1. */
static bool dma_range_ok(uint64_t address, uint64_t size)
{
	return size && size - 1 <= UINT64_MAX - address && !((address | size) & PAGE_MASK_4K);
}

static int dma_map_checks(const struct vfu_dma_map *d)
{
	if (d->argsz < sizeof(*d) ||
	    (d->flags & ~(VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE)) ||
	    !dma_range_ok(d->address, d->size) || (d->offset & PAGE_MASK_4K))
		return -EINVAL;
	return 0;
}

static int cmd_dma_map(struct srv_slot *s, struct srv_msg *m)
{
	struct vfu_dma_map d;
	uint32_t prot = 0;
	int r;

	memcpy(&d, m->payload, sizeof(d));
	r = dma_map_checks(&d);
	if (r)
		return r;
	if (d.flags & VFU_DMA_FLAG_READ)
		prot |= VFK_DMA_READ;
	if (d.flags & VFU_DMA_FLAG_WRITE)
		prot |= VFK_DMA_WRITE;
	r = vfk_dma_map(s->dev, d.address, d.size, m->nfds ? m->fds[0] : -1,
			d.offset, prot);
	/* Debug traces of the peer's traffic: the real-peer tests count them. */
	vfk_dbg("%s: DMA_MAP iova %#llx size %#llx fd %s: %d", vfk_device_name(s->dev),
		(unsigned long long)d.address, (unsigned long long)d.size,
		m->nfds ? "yes" : "no", r);
	return r ? r : reply_empty(s, m);
}

static int cmd_dma_unmap(struct srv_slot *s, struct srv_msg *m)
{
	struct vfu_dma_unmap d;
	uint64_t unmapped = 0;
	int r = 0;

	memcpy(&d, m->payload, sizeof(d));
	if (d.argsz < sizeof(d) || (d.flags & ~VFU_DMA_UNMAP_FLAG_ALL))
		return -EINVAL;
	if (d.flags & VFU_DMA_UNMAP_FLAG_ALL) {
		if (d.address || d.size)
			return -EINVAL;
		r = vfk_dma_unmap_all(s->dev);
	} else if (!dma_range_ok(d.address, d.size)) {
		r = -EINVAL;
	} else {
		/* Ranges never mapped are routine with a vIOMMU: success, size 0,
		 * as from type1 (QEMU reports every error reply). */
		r = vfk_dma_unmap(s->dev, d.address, d.size, &unmapped);
	}
	vfk_dbg("%s: DMA_UNMAP iova %#llx size %#llx flags %#x: %d", vfk_device_name(s->dev),
		(unsigned long long)d.address, (unsigned long long)d.size, d.flags, r);
	if (r == -EBUSY)   /* the model finishes DMA in flight first */
		return SRV_HOLD;
	if (r)
		return r;
	d.argsz = sizeof(d);
	d.size = unmapped;
	return reply_with(s, m, &d, sizeof(d));
}

static int cmd_device_info(struct srv_slot *s, struct srv_msg *m)
{
	struct vfu_device_info w;
	struct vfio_device_info info;

	memcpy(&w, m->payload, sizeof(w));
	if (w.argsz < sizeof(w))
		return -EINVAL;
	vfk_device_get_info(s->dev, &info);
	w.argsz = sizeof(w);
	w.flags = info.flags;
	w.num_regions = info.num_regions;
	w.num_irqs = info.num_irqs;
	return reply_with(s, m, &w, sizeof(w));
}

static int cmd_region_info(struct srv_slot *s, struct srv_msg *m)
{
	struct vfio_region_info req;
	const void *ans;
	size_t len;
	uint8_t *p;
	int fd, r;

	memcpy(&req, m->payload, sizeof(req));
	/* A huge argsz only means the client has room; the answer is small. */
	if (req.argsz > SRV_MAX_REGION_INFO)
		req.argsz = SRV_MAX_REGION_INFO;
	r = vfk_region_info(s->dev, req.index, req.argsz, &ans, &len, &fd);
	if (r)
		return r;
	if (m->hdr.flags & VFU_F_NO_REPLY)
		return 0;
	p = vfk_srv_reply_begin(s, &m->hdr, (uint32_t)len);
	if (!p)
		return -E2BIG;
	memcpy(p, ans, len);
	vfk_srv_reply_commit(s, (uint32_t)len, fd);
	return 0;
}

static int cmd_region_io_fds(struct srv_slot *s, struct srv_msg *m)
{
	struct vfu_region_io_fds q;

	memcpy(&q, m->payload, sizeof(q));
	if (q.argsz < sizeof(q) || q.flags || !vfk_device_region(s->dev, q.index))
		return -EINVAL;
	/* We offer no ioeventfds: count 0, no fds. */
	q.argsz = sizeof(q);
	q.count = 0;
	return reply_with(s, m, &q, sizeof(q));
}

static int cmd_irq_info(struct srv_slot *s, struct srv_msg *m)
{
	struct vfio_irq_info info;
	int r;

	memcpy(&info, m->payload, sizeof(info));
	if (info.argsz < sizeof(info))
		return -EINVAL;
	r = vfk_device_irq_info(s->dev, &info);
	if (r)
		return r;
	info.argsz = sizeof(info);
	return reply_with(s, m, &info, sizeof(info));
}

/* SET_IRQS with DATA_EVENTFD: count fds, or none to drop count vectors. */
static int set_irq_eventfds(struct srv_slot *s, struct srv_msg *m,
			    const struct vfio_irq_set *set)
{
	int r;

	if (set->count > SRV_MAX_IRQ_VECTORS)
		return -EINVAL;
	if (m->nfds == 0) {
		for (uint32_t i = 0; i < set->count; i++)
			s->irq_fds[i] = -1;
		return vfk_device_set_irqs(s->dev, set, s->irq_fds,
					   set->count * sizeof(int));
	}
	if (m->nfds != set->count)
		return -EINVAL;
	r = vfk_device_set_irqs(s->dev, set, m->fds, m->nfds * sizeof(int));
	return r;   /* the core dup()ed what it keeps; ours are closed after */
}

static int cmd_set_irqs(struct srv_slot *s, struct srv_msg *m)
{
	struct vfio_irq_set set;
	uint32_t type;
	int r;

	memcpy(&set, m->payload, sizeof(set));
	if (set.argsz < sizeof(set))
		return -EINVAL;
	type = set.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	if (type == VFIO_IRQ_SET_DATA_EVENTFD) {
		r = set_irq_eventfds(s, m, &set);
	} else if (m->nfds) {
		r = -EINVAL;
	} else if (type == VFIO_IRQ_SET_DATA_BOOL) {
		if (m->len - sizeof(set) < set.count)
			return -EINVAL;
		r = vfk_device_set_irqs(s->dev, &set, m->payload + sizeof(set), set.count);
	} else {
		r = vfk_device_set_irqs(s->dev, &set, NULL, 0);
	}
	return r ? r : reply_empty(s, m);
}

/*
 * A large read of plain memory: the reply's header and rw struct are built
 * in tx, the data goes from the region's memory in the same sendmsg.
 * false when the region has no direct memory there (copy instead).
 */
static bool region_read_direct(struct srv_slot *s, const struct srv_msg *m,
			       const struct vfu_region_rw *rw)
{
	const void *data;
	uint8_t *p;

	if (rw->count < SRV_DIRECT_READ_MIN || (m->hdr.flags & VFU_F_NO_REPLY))
		return false;
	data = vfk_region_direct_read(s->dev, rw->region, rw->offset, rw->count);
	if (!data)
		return false;
	p = vfk_srv_reply_begin(s, &m->hdr, (uint32_t)sizeof(*rw) + rw->count);
	if (!p)
		return false;
	memcpy(p, rw, sizeof(*rw));
	vfk_srv_reply_commit_ext(s, sizeof(*rw), data, rw->count);
	if (s->tracing)
		vfk_dbg("%s: REGION_READ region %u offset %#llx count %u: direct",
			vfk_device_name(s->dev), rw->region, (unsigned long long)rw->offset,
			rw->count);
	return true;
}

static int cmd_region_read(struct srv_slot *s, struct srv_msg *m)
{
	struct vfu_region_rw rw;
	uint8_t *p;
	ssize_t n;

	memcpy(&rw, m->payload, sizeof(rw));
	if (rw.count > SRV_MAX_DATA_XFER)
		return -E2BIG;
	if (region_read_direct(s, m, &rw))
		return 0;
	/* A no-reply read still happens (reads may have side effects). */
	p = vfk_srv_reply_begin(s, &m->hdr, (uint32_t)sizeof(rw) + rw.count);
	if (!p)
		return -E2BIG;
	n = vfk_region_read(s->dev, rw.region, p + sizeof(rw), rw.count, rw.offset);
	if (s->tracing)
		vfk_dbg("%s: REGION_READ region %u offset %#llx count %u: %zd",
			vfk_device_name(s->dev), rw.region, (unsigned long long)rw.offset,
			rw.count, n);
	if (n < 0)
		return (int)n;
	if (m->hdr.flags & VFU_F_NO_REPLY)
		return 0;
	rw.count = (uint32_t)n;
	memcpy(p, &rw, sizeof(rw));
	vfk_srv_reply_commit(s, (uint32_t)(sizeof(rw) + (size_t)n), -1);
	return 0;
}

static int cmd_region_write(struct srv_slot *s, struct srv_msg *m)
{
	struct vfu_region_rw rw;
	ssize_t n;

	memcpy(&rw, m->payload, sizeof(rw));
	if (rw.count > SRV_MAX_DATA_XFER)
		return -E2BIG;
	if (m->len - sizeof(rw) != rw.count)
		return -EINVAL;
	n = vfk_region_write(s->dev, rw.region, m->payload + sizeof(rw), rw.count,
			     rw.offset);
	if (s->tracing)
		vfk_dbg("%s: REGION_WRITE region %u offset %#llx count %u: %zd",
			vfk_device_name(s->dev), rw.region, (unsigned long long)rw.offset,
			rw.count, n);
	if (n < 0)
		return (int)n;
	rw.count = (uint32_t)n;
	return reply_with(s, m, &rw, sizeof(rw));
}

static int cmd_write_multi(struct srv_slot *s, struct srv_msg *m)
{
	struct vfu_write_multi wm;
	const uint8_t *p = m->payload + sizeof(wm);

	memcpy(&wm, m->payload, sizeof(wm));
	if (wm.wr_cnt == 0 || wm.wr_cnt > VFU_WRITE_MULTI_MAX ||
	    m->len - sizeof(wm) != wm.wr_cnt * sizeof(struct vfu_write_one))
		return -EINVAL;
	for (uint64_t i = 0; i < wm.wr_cnt; i++) {
		struct vfu_write_one w;
		ssize_t n;

		memcpy(&w, p + i * sizeof(w), sizeof(w));
		if (w.count > VFU_WRITE_MULTI_DATA)
			return -EINVAL;
		n = vfk_region_write(s->dev, w.region, w.data, w.count, w.offset);
		if (n < 0)
			return (int)n;
	}
	return reply_with(s, m, &wm, sizeof(wm));
}

static int cmd_reset(struct srv_slot *s, struct srv_msg *m)
{
	int r = vfk_device_reset(s->dev);

	return r ? r : reply_empty(s, m);
}

/*
 * What every command may carry, checked here for all of them before its
 * handler runs: the fixed part of the payload and the fds allowed. The
 * handlers check what depends on the payload's own fields.
 */
struct srv_command {
	int (*handle)(struct srv_slot *s, struct srv_msg *m);
	uint32_t min_len;
	unsigned int max_fds;
};

static const struct srv_command commands[] = {
	[VFU_CMD_VERSION] = { cmd_version, sizeof(struct vfu_version), 0 },
	[VFU_CMD_DMA_MAP] = { cmd_dma_map, sizeof(struct vfu_dma_map), 1 },
	[VFU_CMD_DMA_UNMAP] = { cmd_dma_unmap, sizeof(struct vfu_dma_unmap), 0 },
	[VFU_CMD_DEVICE_GET_INFO] = { cmd_device_info, sizeof(struct vfu_device_info), 0 },
	[VFU_CMD_DEVICE_GET_REGION_INFO] = { cmd_region_info, sizeof(struct vfio_region_info), 0 },
	[VFU_CMD_DEVICE_GET_REGION_IO_FDS] = { cmd_region_io_fds,
					       sizeof(struct vfu_region_io_fds), 0 },
	[VFU_CMD_DEVICE_GET_IRQ_INFO] = { cmd_irq_info, sizeof(struct vfio_irq_info), 0 },
	[VFU_CMD_DEVICE_SET_IRQS] = { cmd_set_irqs, sizeof(struct vfio_irq_set),
				      VFU_WIRE_MAX_FDS },
	[VFU_CMD_REGION_READ] = { cmd_region_read, sizeof(struct vfu_region_rw), 0 },
	[VFU_CMD_REGION_WRITE] = { cmd_region_write, sizeof(struct vfu_region_rw), 0 },
	[VFU_CMD_DEVICE_RESET] = { cmd_reset, 0, 0 },
	[VFU_CMD_REGION_WRITE_MULTI] = { cmd_write_multi, sizeof(struct vfu_write_multi), 0 },
};

int vfk_srv_dispatch(struct srv_slot *s, struct srv_msg *m)
{
	uint16_t cmd = m->hdr.command;
	const struct srv_command *c;

	if (!s->negotiated && cmd != VFU_CMD_VERSION)
		return -EINVAL;
	if (cmd >= sizeof(commands) / sizeof(commands[0]) || !commands[cmd].handle) {
		if (cmd == VFU_CMD_DEVICE_FEATURE || cmd == VFU_CMD_MIG_DATA_READ ||
		    cmd == VFU_CMD_MIG_DATA_WRITE)
			return -ENOTSUP;
		return -EINVAL;
	}
	c = &commands[cmd];
	if (m->len < c->min_len || m->nfds > c->max_fds || m->fds_truncated)
		return -EINVAL;
	return c->handle(s, m);
}
