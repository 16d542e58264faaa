// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <vfiokit/log.h>
#include <vfiokit/region.h>
#include <vfiokit/shmem.h>

#include "memfd_backing.h"
#include "memfd_region.h"

struct vfk_memfd_region {
	char *name;            /* the memfd's name, for making it again */
	int fd;                /* -1 for a region of size 0, or while it could not be made */
	uint64_t size;
	uint8_t *mem;          /* fd mapped for direct reads and writes, or NULL */
	struct vfk_memfd_written written;   /* pages of mem known written */
	int (*add_capability)(struct vfk_caps *caps, const void *model);
	max_align_t model[];   /* the model's values, copied from the descriptor */
};

/* The memfd (sealed device memory), and what makes direct reads cheap
 * when it can be had. 0 or a negative errno, with fd -1. */
static int backing_open(struct vfk_memfd_region *r)
{
	int fd = vfk_shmem_create(r->name, r->size);

	if (fd < 0)
		return fd;
	r->fd = fd;
	r->mem = vfk_memfd_map(r->fd, r->size);
	if (!r->mem)
		vfk_info("%s not mapped (%s): large reads and writes are copied", r->name,
			 strerror(errno));
	/* Without the bits every direct read checks its pages with mincore(). */
	else if (vfk_memfd_written_init(&r->written, r->size) < 0)
		vfk_info("%s: written-page bits not reserved: each large read checks its pages",
			 r->name);
	return 0;
}

static void backing_close(struct vfk_memfd_region *r)
{
	vfk_memfd_written_free(&r->written);
	if (r->mem)
		munmap(r->mem, r->size);
	r->mem = NULL;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* The memfd, made now if the last peer's departure could not make it. The
 * core checked offset and count against the size and flags: a region of
 * size 0 (no fd) never gets here with bytes to move or to map. */
static int backing_fd(struct vfk_memfd_region *r)
{
	int ret = r->fd < 0 ? backing_open(r) : 0;

	return ret < 0 ? ret : r->fd;
}


/* Asked only for a region with bytes, i.e. one with an fd. */
static int region_mmap(struct vfk_device *dev, struct vfk_region *region,
		       struct vfk_mmap_desc *desc)
{
	int fd = backing_fd(vfk_region_priv(region));

	if (fd < 0)
		return fd;
	desc->fd = fd;
	desc->fd_offset = 0;
	desc->nr_areas = 0;
	return 0;
}

/* Written ranges only: a hole read through the mapping would allocate it. */
static const void *region_direct(struct vfk_device *dev, struct vfk_region *region,
				 uint64_t offset, size_t count)
{
	struct vfk_memfd_region *r = vfk_region_priv(region);

	if (!r->mem || !vfk_memfd_written_range(&r->written, r->mem, offset, count))
		return NULL;
	return r->mem + offset;
}

/* Any range: a store through the shared mapping fills a hole as pwrite
 * would (and the written-page bits learn it at the next direct read). */
static void *region_direct_write(struct vfk_device *dev, struct vfk_region *region,
				 uint64_t offset, size_t count)
{
	struct vfk_memfd_region *r = vfk_region_priv(region);

	return r->mem ? r->mem + offset : NULL;
}

/* Written pages are copied from the mapping, saving a system call per
 * access; holes are read with pread, which returns zeros for them
 * without allocating. */
static ssize_t region_read(struct vfk_device *dev, struct vfk_region *region,
			   void *buf, size_t count, uint64_t offset)
{
	const void *mem = region_direct(dev, region, offset, count);
	int fd;

	if (mem) {
		memcpy(buf, mem, count);
		return (ssize_t)count;
	}
	fd = backing_fd(vfk_region_priv(region));
	return fd < 0 ? fd : vfk_memfd_read(fd, buf, count, offset);
}

/* A store through the mapping, as a direct write lands: one system call
 * less than pwrite. The memfd lives on the kernel's internal shm mount,
 * which has no size limit, and its size is sealed, so the store cannot
 * meet a truncated page or a full file system. */
static ssize_t region_write(struct vfk_device *dev, struct vfk_region *region,
			    const void *buf, size_t count, uint64_t offset)
{
	void *mem = region_direct_write(dev, region, offset, count);
	int fd;

	if (mem) {
		memcpy(mem, buf, count);
		return (ssize_t)count;
	}
	fd = backing_fd(vfk_region_priv(region));
	return fd < 0 ? fd : vfk_memfd_write(fd, buf, count, offset);
}

static int region_add_capability(struct vfk_device *dev, struct vfk_region *region,
				 struct vfk_caps *caps)
{
	const struct vfk_memfd_region *r = vfk_region_priv(region);

	return r->add_capability(caps, r->model);
}

/*
 * The peer left; the next one may be another tenant. The scrub empties
 * the memory and frees it now, also under the departed peer, which may
 * still hold the fd or a mapping of it; the new memfd keeps what the next
 * peer writes out of that old fd. Dropping the old mapping drops its
 * written-page bits with it: they describe pages that are gone. A guest
 * reset (DEVICE_RESET) does not come here and keeps the memory: the peer
 * is the same, and a GPU's memory outlives a function-level reset too.
 * If no new memfd can be made the region fails its accesses (and hands
 * out no fd) until one can: never the old memory.
 */
static void region_peer_gone(struct vfk_device *dev, struct vfk_region *region)
{
	struct vfk_memfd_region *r = vfk_region_priv(region);
	int ret;

	if (!r->size)
		return;
	if (r->fd >= 0) {
		ret = vfk_shmem_scrub(r->fd);
		if (ret < 0)
			vfk_warn("%s: not scrubbed (%s): its memory is freed only once the last peer closes it",
				 r->name, strerror(-ret));
	}
	backing_close(r);
	ret = backing_open(r);
	if (ret < 0)
		vfk_err("%s: no new memory for the next peer (%s): accesses fail until there is",
			r->name, strerror(-ret));
}

static void region_free(struct vfk_memfd_region *r)
{
	backing_close(r);
	free(r->name);
	free(r);
}

static void region_release(struct vfk_device *dev, struct vfk_region *region)
{
	region_free(vfk_region_priv(region));
}

static const struct vfk_region_ops memfd_region_ops = {
	.read = region_read,
	.write = region_write,
	.mmap = region_mmap,
	.release = region_release,
	.add_capability = region_add_capability,
	.direct = region_direct,
	.peer_gone = region_peer_gone,
	.direct_write = region_direct_write,
};

int vfk_memfd_region_add(struct vfk_device *dev, const struct vfk_memfd_region_desc *desc,
			 uint32_t *index)
{
	struct vfk_region_desc rd = {
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			 VFIO_REGION_INFO_FLAG_MMAP,
		.size = desc->size,
		.ops = &memfd_region_ops,
	};
	struct vfk_memfd_region *r = calloc(1, sizeof(*r) + desc->model_size);
	int ret;

	if (!r)
		return -ENOMEM;
	r->fd = -1;
	r->size = desc->size;
	r->add_capability = desc->add_capability;
	memcpy(r->model, desc->model, desc->model_size);
	r->name = strdup(desc->name);
	ret = r->name ? 0 : -ENOMEM;
	if (!ret && desc->size)
		ret = backing_open(r);
	rd.priv = r;
	if (!ret)
		ret = vfk_device_add_region(dev, desc->type, desc->subtype, &rd, index);
	if (ret)
		region_free(r);
	return ret;
}
