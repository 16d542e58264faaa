// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <vfiokit/caps.h>
#include <vfiokit/log.h>
#include <vfiokit/region.h>

#include "gpu_ram.h"
#include "memfd_backing.h"

struct gpu_ram {
	int fd;
	uint64_t tgt;
	uint64_t size;
	const uint8_t *mem;    /* the memfd mapped read-only, for direct reads */
	struct vfk_memfd_written written;   /* pages of mem known written */
};

static ssize_t gpu_ram_read(struct vfk_device *dev, struct vfk_region *region,
			    void *buf, size_t count, uint64_t offset)
{
	const struct gpu_ram *ram = vfk_region_priv(region);

	return vfk_memfd_read(ram->fd, buf, count, offset);
}

static ssize_t gpu_ram_write(struct vfk_device *dev, struct vfk_region *region,
			     const void *buf, size_t count, uint64_t offset)
{
	const struct gpu_ram *ram = vfk_region_priv(region);

	return vfk_memfd_write(ram->fd, buf, count, offset);
}

static int gpu_ram_mmap(struct vfk_device *dev, struct vfk_region *region,
			struct vfk_mmap_desc *desc)
{
	const struct gpu_ram *ram = vfk_region_priv(region);

	desc->fd = ram->fd;
	desc->fd_offset = 0;
	desc->nr_areas = 0;
	return 0;
}

/* Written ranges only: a hole read through the mapping would allocate it. */
static const void *gpu_ram_direct(struct vfk_device *dev, struct vfk_region *region,
				  uint64_t offset, size_t count)
{
	struct gpu_ram *ram = vfk_region_priv(region);

	if (!ram->mem || !vfk_memfd_written_range(&ram->written, ram->mem, offset, count))
		return NULL;
	return ram->mem + offset;
}

static void gpu_ram_free(struct gpu_ram *ram)
{
	vfk_memfd_written_free(&ram->written);
	if (ram->mem)
		munmap((void *)ram->mem, ram->size);
	if (ram->fd >= 0)
		close(ram->fd);
	free(ram);
}

static void gpu_ram_release(struct vfk_device *dev, struct vfk_region *region)
{
	gpu_ram_free(vfk_region_priv(region));
}

static int gpu_ram_add_capability(struct vfk_device *dev, struct vfk_region *region,
				  struct vfk_caps *caps)
{
	const struct gpu_ram *ram = vfk_region_priv(region);

	return vfk_caps_add_nvlink2_ssatgt(caps, ram->tgt);
}

static const struct vfk_region_ops gpu_ram_ops = {
	.read = gpu_ram_read,
	.write = gpu_ram_write,
	.mmap = gpu_ram_mmap,
	.release = gpu_ram_release,
	.add_capability = gpu_ram_add_capability,
	.direct = gpu_ram_direct,
};

int vfk_gpu_ram_add(struct vfk_device *dev, uint64_t aperture, uint64_t tgt, uint32_t *index)
{
	struct vfk_region_desc desc = {
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			 VFIO_REGION_INFO_FLAG_MMAP,
		.size = aperture,
		.ops = &gpu_ram_ops,
	};
	struct gpu_ram *ram = calloc(1, sizeof(*ram));
	int ret;

	if (!ram)
		return -ENOMEM;
	ram->tgt = tgt;
	ram->size = aperture;
	ram->fd = vfk_memfd_open("vfiokit-v100-gpu-ram", aperture);
	if (ram->fd < 0) {
		ret = ram->fd;
		free(ram);
		return ret;
	}
	/* Only a speed-up: without the mapping (an empty aperture, or an
	 * address space too small, as under valgrind) reads copy with pread. */
	if (aperture) {
		ram->mem = vfk_memfd_map_ro(ram->fd, aperture);
		if (!ram->mem)
			vfk_info("GPU RAM not mapped (%s): large reads are copied",
				 strerror(errno));
		/* Without it every direct read checks its pages with mincore(). */
		else if (vfk_memfd_written_init(&ram->written, aperture) < 0)
			vfk_info("GPU RAM written-page bits not reserved: each large read "
				 "checks its pages");
	}
	desc.priv = ram;
	ret = vfk_device_add_region(dev, VFK_REGION_TYPE_PCI_VENDOR(0x10de),
				    VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM, &desc, index);
	if (ret)
		gpu_ram_free(ram);
	return ret;
}
