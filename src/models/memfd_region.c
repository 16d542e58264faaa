// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <vfiokit/log.h>
#include <vfiokit/region.h>

#include "memfd_backing.h"
#include "memfd_region.h"

struct vfk_memfd_region {
	int fd;                /* -1 for a region of size 0 */
	uint64_t size;
	const uint8_t *mem;    /* fd mapped read-only for direct reads, or NULL */
	struct vfk_memfd_written written;   /* pages of mem known written */
	int (*add_capability)(struct vfk_caps *caps, const void *model);
	max_align_t model[];   /* the model's values, copied from the descriptor */
};

/* The core checked offset and count against the size and flags: a region
 * of size 0 (no fd) never gets here with bytes to move. */
static ssize_t region_read(struct vfk_device *dev, struct vfk_region *region,
			   void *buf, size_t count, uint64_t offset)
{
	const struct vfk_memfd_region *r = vfk_region_priv(region);

	return vfk_memfd_read(r->fd, buf, count, offset);
}

static ssize_t region_write(struct vfk_device *dev, struct vfk_region *region,
			    const void *buf, size_t count, uint64_t offset)
{
	const struct vfk_memfd_region *r = vfk_region_priv(region);

	return vfk_memfd_write(r->fd, buf, count, offset);
}

/* Asked only for a region with MMAP, i.e. one with an fd. */
static int region_mmap(struct vfk_device *dev, struct vfk_region *region,
		       struct vfk_mmap_desc *desc)
{
	const struct vfk_memfd_region *r = vfk_region_priv(region);

	desc->fd = r->fd;
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

static int region_add_capability(struct vfk_device *dev, struct vfk_region *region,
				 struct vfk_caps *caps)
{
	const struct vfk_memfd_region *r = vfk_region_priv(region);

	return r->add_capability(caps, r->model);
}

static void region_free(struct vfk_memfd_region *r)
{
	vfk_memfd_written_free(&r->written);
	if (r->mem)
		munmap((void *)r->mem, r->size);
	if (r->fd >= 0)
		close(r->fd);
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
};

/* The memfd, and what makes direct reads cheap when it can be had. */
static int region_open(struct vfk_memfd_region *r, const char *name)
{
	r->fd = vfk_memfd_open(name, r->size);
	if (r->fd < 0)
		return r->fd;
	r->mem = vfk_memfd_map_ro(r->fd, r->size);
	if (!r->mem)
		vfk_info("%s not mapped (%s): large reads are copied", name, strerror(errno));
	/* Without the bits every direct read checks its pages with mincore(). */
	else if (vfk_memfd_written_init(&r->written, r->size) < 0)
		vfk_info("%s: written-page bits not reserved: each large read checks its pages",
			 name);
	return 0;
}

int vfk_memfd_region_add(struct vfk_device *dev, const struct vfk_memfd_region_desc *desc,
			 uint32_t *index)
{
	struct vfk_region_desc rd = {
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		.size = desc->size,
		.ops = &memfd_region_ops,
	};
	struct vfk_memfd_region *r = calloc(1, sizeof(*r) + desc->model_size);
	int ret = 0;

	if (!r)
		return -ENOMEM;
	r->fd = -1;
	r->size = desc->size;
	r->add_capability = desc->add_capability;
	memcpy(r->model, desc->model, desc->model_size);
	if (desc->size) {
		rd.flags |= VFIO_REGION_INFO_FLAG_MMAP;
		ret = region_open(r, desc->name);
	}
	rd.priv = r;
	if (!ret)
		ret = vfk_device_add_region(dev, desc->type, desc->subtype, &rd, index);
	if (ret)
		region_free(r);
	return ret;
}
