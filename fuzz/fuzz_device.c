// SPDX-License-Identifier: MIT
/* The fuzz targets' device: see fuzz_device.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vfiokit/caps.h>
#include <vfiokit/pci_config.h>
#include <vfiokit/region.h>

#include "fuzz_device.h"

/* The memory behind a region's read/write ops: heap, or a memfd's shared
 * mapping for the mappable BAR, so that mmap and the ops see one set of bytes. */
struct mem_region {
	uint8_t *bytes;
	size_t size;
	int fd;   /* the memfd behind bytes, or -1 for heap memory */
};

static ssize_t mem_read(struct vfk_device *dev, struct vfk_region *region,
			void *buf, size_t count, uint64_t offset)
{
	struct mem_region *m = vfk_region_priv(region);

	memcpy(buf, m->bytes + offset, count);
	return (ssize_t)count;
}

static ssize_t mem_write(struct vfk_device *dev, struct vfk_region *region,
			 const void *buf, size_t count, uint64_t offset)
{
	struct mem_region *m = vfk_region_priv(region);

	memcpy(m->bytes + offset, buf, count);
	return (ssize_t)count;
}

/* The mappable BAR's bytes are plain memory: large REGION_WRITEs land
 * there straight from the socket (the server's direct path). */
static void *mem_direct_write(struct vfk_device *dev, struct vfk_region *region,
			      uint64_t offset, size_t count)
{
	struct mem_region *m = vfk_region_priv(region);

	return m->bytes + offset;
}

static void mem_free(struct mem_region *m)
{
	if (!m)
		return;
	if (m->fd >= 0) {
		if (m->bytes != MAP_FAILED)
			munmap(m->bytes, m->size);
		close(m->fd);
	} else {
		free(m->bytes);
	}
	free(m);
}

static void mem_release(struct vfk_device *dev, struct vfk_region *region)
{
	mem_free(vfk_region_priv(region));
}

/* The device-specific region's hook: caps the core does not add itself. */
static int extra_add_caps(struct vfk_device *dev, struct vfk_region *region,
			  struct vfk_caps *caps)
{
	int ret = vfk_caps_add_nvlink2_ssatgt(caps, 0x2000000000ull);

	return ret ? ret : vfk_caps_add_nvlink2_lnkspd(caps, 9);
}

/* Two mappable windows with a trapped gap between them. */
static int memfd_mmap(struct vfk_device *dev, struct vfk_region *region,
		      struct vfk_mmap_desc *desc)
{
	struct mem_region *m = vfk_region_priv(region);

	desc->fd = m->fd;
	desc->fd_offset = 0;
	desc->nr_areas = 2;
	desc->areas[0] = (struct vfk_mmap_area){ .offset = 0, .size = 0x4000 };
	desc->areas[1] = (struct vfk_mmap_area){ .offset = 0x8000, .size = 0x8000 };
	return 0;
}

static const struct vfk_region_ops ram_ops = {
	.read = mem_read,
	.write = mem_write,
	.release = mem_release,
};

static const struct vfk_region_ops extra_ops = {
	.read = mem_read,
	.write = mem_write,
	.release = mem_release,
	.add_capability = extra_add_caps,
};

static const struct vfk_region_ops memfd_ops = {
	.read = mem_read,
	.write = mem_write,
	.mmap = memfd_mmap,
	.release = mem_release,
	.direct_write = mem_direct_write,
};

/* size zeroed bytes on the heap; NULL when out of memory. */
static struct mem_region *ram_new(size_t size)
{
	struct mem_region *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->fd = -1;
	m->size = size;
	m->bytes = calloc(1, size);
	if (!m->bytes) {
		free(m);
		return NULL;
	}
	return m;
}

/* size bytes of a fresh memfd, mapped shared; NULL on failure. */
static struct mem_region *memfd_new(size_t size)
{
	struct mem_region *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->size = size;
	m->fd = memfd_create("fuzz-bar2", MFD_CLOEXEC);
	if (m->fd < 0) {
		free(m);
		return NULL;
	}
	m->bytes = MAP_FAILED;
	if (ftruncate(m->fd, (off_t)size) == 0)
		m->bytes = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (m->bytes == MAP_FAILED) {
		mem_free(m);
		return NULL;
	}
	return m;
}

/* The result of giving m to the core as a region's priv: the core takes
 * m only when it accepts the region, so a refusal frees it here. */
static int free_if_refused(int ret, struct mem_region *m)
{
	if (ret)
		mem_free(m);
	return ret;
}

static int add_ram_bar(struct vfk_device *dev, unsigned int bar, size_t size,
		       uint32_t flags, uint32_t attrs)
{
	struct vfk_region_desc d = { .flags = flags, .size = size, .ops = &ram_ops };

	d.priv = ram_new(size);
	return d.priv ? free_if_refused(vfk_device_set_bar(dev, bar, &d, attrs), d.priv) : -1;
}

static int add_memfd_bar(struct vfk_device *dev)
{
	struct vfk_region_desc d = {
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			 VFIO_REGION_INFO_FLAG_MMAP,
		.size = FUZZ_BAR2_SIZE,
		.ops = &memfd_ops,
	};
	const uint32_t attrs = VFK_BAR_MEM64 | VFK_BAR_PREFETCH;

	d.priv = memfd_new(FUZZ_BAR2_SIZE);
	return d.priv ? free_if_refused(vfk_device_set_bar(dev, 2, &d, attrs), d.priv) : -1;
}

static int add_rom_and_extra(struct vfk_device *dev)
{
	struct vfk_region_desc rom = { .flags = VFIO_REGION_INFO_FLAG_READ,
				       .size = FUZZ_ROM_SIZE, .ops = &ram_ops };
	struct vfk_region_desc extra = { .flags = VFIO_REGION_INFO_FLAG_READ |
						  VFIO_REGION_INFO_FLAG_WRITE,
					 .size = FUZZ_EXTRA_SIZE, .ops = &extra_ops };

	rom.priv = ram_new(FUZZ_ROM_SIZE);
	if (!rom.priv || free_if_refused(vfk_device_set_rom(dev, &rom), rom.priv))
		return -1;
	extra.priv = ram_new(FUZZ_EXTRA_SIZE);
	if (!extra.priv)
		return -1;
	return free_if_refused(vfk_device_add_region(dev, 0x10de, 1, &extra, NULL), extra.priv);
}

static int add_pci_caps(struct vfk_device *dev)
{
	static const uint8_t vendor[6] = { 1, 2, 3, 4, 5, 6 };
	static const uint8_t ext_body[8] = { 0 };
	static const uint8_t ext_wmask[8] = { 0xff, 0xff, 0, 0, 0x0f, 0, 0, 0 };

	if (vfk_pci_add_pm_cap(dev) || vfk_pci_add_msi_cap(dev, 4, true, true) ||
	    vfk_pci_add_msix_cap(dev, 16, 0, 0x800, 0, 0xc00) ||
	    vfk_pci_add_pcie_cap(dev, 3, 16) || vfk_pci_add_vendor_cap(dev, vendor, sizeof(vendor)))
		return -1;
	return vfk_pci_add_ext_cap(dev, 0x000b, 1, ext_body, sizeof(ext_body), ext_wmask, NULL);
}

struct vfk_device *fuzz_device_create(void)
{
	const struct vfk_device_desc desc = {
		.name = "fuzzdev",
		.vendor_id = 0x1af4, .device_id = 0x10f0,
		.subsys_vendor_id = 0x1af4, .subsys_id = 1,
		.class_code = 0x020000, .revision = 1, .irq_pin = 1, .pcie = true,
	};
	const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	struct vfk_device *dev;

	if (vfk_device_create(&desc, &dev))
		return NULL;
	if (add_ram_bar(dev, 0, FUZZ_BAR0_SIZE, rw, 0) || add_memfd_bar(dev) ||
	    add_ram_bar(dev, 4, FUZZ_BAR4_SIZE, rw, VFK_BAR_IO) || add_rom_and_extra(dev) ||
	    add_pci_caps(dev)) {
		vfk_device_destroy(dev);
		return NULL;
	}
	return dev;
}
