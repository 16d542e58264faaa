// SPDX-License-Identifier: MIT
/*
 * Ranges of the target's regions that subdrivers serve. An access is
 * split at the traps' ends: each piece inside a trap goes to its handler
 * (or to the target when the trap has none for that direction), each
 * piece outside to the target.
 */
#include <errno.h>

#include "proxy/proxy_internal.h"

/* The trap of region index holding offset, or NULL. */
static const struct proxy_trap *trap_at(const struct vfk_proxy *p, uint32_t index,
					uint64_t offset)
{
	for (unsigned int i = 0; i < p->nr_traps; i++) {
		const struct proxy_trap *t = &p->traps[i];

		if (t->index == index && offset >= t->offset && offset <= t->last)
			return t;
	}
	return NULL;
}

/* Where the untrapped stretch from offset ends (inclusive), before the next trap. */
static uint64_t untrapped_last(const struct vfk_proxy *p, uint32_t index, uint64_t offset,
			       uint64_t last)
{
	for (unsigned int i = 0; i < p->nr_traps; i++) {
		const struct proxy_trap *t = &p->traps[i];

		if (t->index == index && t->offset > offset && t->offset - 1 < last)
			last = t->offset - 1;
	}
	return last;
}

bool proxy_trapped(const struct vfk_proxy *p, uint32_t index, uint64_t offset, uint64_t last)
{
	for (unsigned int i = 0; i < p->nr_traps; i++) {
		const struct proxy_trap *t = &p->traps[i];

		if (t->index == index && t->offset <= last && offset <= t->last)
			return true;
	}
	return false;
}

static ssize_t target_access(struct vfk_proxy *p, uint32_t index, uint64_t offset, void *buf,
			     size_t count, bool write)
{
	return proxy_target_ret(p, write ? vfk_client_region_write(p->target, index, offset,
								   buf, count) :
				    vfk_client_region_read(p->target, index, offset, buf, count));
}

static ssize_t piece(struct vfk_proxy *p, uint32_t index, uint64_t offset, void *buf,
		     size_t count, bool write)
{
	const struct proxy_trap *t = trap_at(p, index, offset);

	if (t && write && t->ops->write)
		return t->ops->write(p, index, offset, buf, count, t->arg);
	if (t && !write && t->ops->read)
		return t->ops->read(p, index, offset, buf, count, t->arg);
	return target_access(p, index, offset, buf, count, write);
}

ssize_t proxy_access(struct vfk_proxy *p, uint32_t index, uint64_t offset, void *buf,
		     size_t count, bool write)
{
	uint8_t *b = buf;
	size_t done = 0;

	if (!p->nr_traps || !proxy_trapped(p, index, offset, offset + count - 1))
		return target_access(p, index, offset, buf, count, write);
	while (done < count) {
		uint64_t at = offset + done, last = offset + count - 1;
		const struct proxy_trap *t = trap_at(p, index, at);
		uint64_t end = t ? (t->last < last ? t->last : last) :
			       untrapped_last(p, index, at, last);
		size_t n = (size_t)(end - at + 1);
		ssize_t ret = piece(p, index, at, b + done, n, write);

		if (ret < 0)
			return ret;
		if ((size_t)ret != n)
			return -EIO;
		done += n;
	}
	return (ssize_t)count;
}

int vfk_proxy_trap(struct vfk_proxy *p, uint32_t index, uint64_t offset, uint64_t size,
		   const struct vfk_proxy_trap_ops *ops, void *arg)
{
	const struct vfk_region_info *ri = vfk_proxy_target_region(p, index);

	if (!ri || !ops || (!ops->read && !ops->write) || !size ||
	    offset > ri->hdr.size || size > ri->hdr.size - offset)
		return -EINVAL;
	if (proxy_trapped(p, index, offset, offset + size - 1))
		return -EEXIST;
	if (p->nr_traps == PROXY_MAX_TRAPS)
		return -ENOSPC;
	p->traps[p->nr_traps++] = (struct proxy_trap){ index, offset, offset + size - 1, ops, arg };
	return 0;
}
