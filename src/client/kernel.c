// SPDX-License-Identifier: MIT
/*
 * Kernel VFIO backend: the legacy container/group API with the type1
 * IOMMU (Debian's kernels have no iommufd cdev). Discovery goes through
 * sysfs.c; every ioctl answer is checked before use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "client_internal.h"
#include "sysfs.h"

/* More regions than this from the kernel is a malformed answer. */
#define KERNEL_MAX_REGIONS 1024u

struct kernel_client {
	struct vfk_client base;
	int container;
	int group;
	int device;
	uint32_t nr_regions;
	struct vfio_region_info *regions;   /* offset/size/flags per index, from open */
};

static struct kernel_client *to_kernel(struct vfk_client *c)
{
	return (struct kernel_client *)c;
}

static void kernel_close(struct vfk_client *c)
{
	struct kernel_client *k = to_kernel(c);

	if (k->device >= 0)
		close(k->device);
	if (k->group >= 0)
		close(k->group);
	if (k->container >= 0)
		close(k->container);
	free(k->regions);
	free(k);
}

static int kernel_device_info(struct vfk_client *c, struct vfio_device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	if (ioctl(to_kernel(c)->device, VFIO_DEVICE_GET_INFO, info))
		return -errno;
	info->cap_offset = 0;
	return 0;
}

static int kernel_region_info(struct vfk_client *c, uint32_t index, void *buf, uint32_t len,
			      size_t *got, int *fd)
{
	struct kernel_client *k = to_kernel(c);
	struct vfio_region_info hdr = { .argsz = len, .index = index };

	memcpy(buf, &hdr, sizeof(hdr));
	if (ioctl(k->device, VFIO_DEVICE_GET_REGION_INFO, buf))
		return -errno;
	memcpy(&hdr, buf, sizeof(hdr));
	*got = len;
	*fd = -1;
	if (hdr.flags & VFIO_REGION_INFO_FLAG_MMAP) {
		*fd = dup(k->device);
		if (*fd < 0)
			return -errno;
	}
	return 0;
}

static int kernel_irq_info(struct vfk_client *c, struct vfio_irq_info *info)
{
	uint32_t index = info->index;

	if (ioctl(to_kernel(c)->device, VFIO_DEVICE_GET_IRQ_INFO, info))
		return -errno;
	return info->index == index ? 0 : -EPROTO;
}

/* The file offset of [offset, offset + count) of region index, checked. */
static int kernel_file_offset(struct kernel_client *k, uint32_t index, uint64_t offset,
			      size_t count, off_t *pos)
{
	const struct vfio_region_info *r;

	if (index >= k->nr_regions)
		return -EINVAL;
	r = &k->regions[index];
	if (offset > r->size || count > r->size - offset)
		return -EINVAL;
	*pos = (off_t)(r->offset + offset);
	return 0;
}

/* One region access at the device fd's offset for the region: the whole count or an error. */
static ssize_t kernel_region_rw(struct vfk_client *c, uint32_t index, uint64_t offset,
				void *buf, size_t count, bool write)
{
	struct kernel_client *k = to_kernel(c);
	off_t pos;
	ssize_t n;
	int ret = kernel_file_offset(k, index, offset, count, &pos);

	if (ret)
		return ret;
	n = write ? pwrite(k->device, buf, count, pos) : pread(k->device, buf, count, pos);
	if (n < 0)
		return -errno;
	return (size_t)n == count ? n : -EIO;
}

static ssize_t kernel_region_read(struct vfk_client *c, uint32_t index, uint64_t offset,
				  void *buf, size_t count)
{
	return kernel_region_rw(c, index, offset, buf, count, false);
}

static ssize_t kernel_region_write(struct vfk_client *c, uint32_t index, uint64_t offset,
				   const void *buf, size_t count)
{
	/* pwrite only reads buf: the cast serves the shared helper. */
	return kernel_region_rw(c, index, offset, (void *)buf, count, true);
}

static int kernel_reset(struct vfk_client *c)
{
	return ioctl(to_kernel(c)->device, VFIO_DEVICE_RESET) ? -errno : 0;
}

static int kernel_set_irqs(struct vfk_client *c, uint32_t index, uint32_t start, uint32_t count,
			   const int *fds)
{
	size_t size = sizeof(struct vfio_irq_set) + (size_t)count * sizeof(int);
	struct vfio_irq_set *set;
	int ret = 0;

	if (count > 4096 || (count && !fds))
		return -EINVAL;
	set = calloc(1, size);
	if (!set)
		return -ENOMEM;
	set->argsz = (uint32_t)size;
	set->flags = (count ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE) |
		     VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = index;
	set->start = start;
	set->count = count;
	if (count)
		memcpy(set->data, fds, (size_t)count * sizeof(int));
	if (ioctl(to_kernel(c)->device, VFIO_DEVICE_SET_IRQS, set))
		ret = -errno;
	free(set);
	return ret;
}

/* data holds data_len bytes, checked by client.c against count and type. */
static int kernel_set_irqs_raw(struct vfk_client *c, const struct vfio_irq_set *hdr,
			       const void *data, size_t data_len)
{
	size_t size = sizeof(struct vfio_irq_set) + data_len;
	struct vfio_irq_set *set = calloc(1, size);
	int ret = 0;

	if (!set)
		return -ENOMEM;
	*set = *hdr;
	set->argsz = (uint32_t)size;
	if (data_len)
		memcpy(set->data, data, data_len);
	if (ioctl(to_kernel(c)->device, VFIO_DEVICE_SET_IRQS, set))
		ret = -errno;
	free(set);
	return ret;
}

static int kernel_dma_map(struct vfk_client *c, uint64_t iova, uint64_t size, void *vaddr,
			  int fd, uint64_t fd_offset, uint32_t prot)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = ((prot & VFK_DMA_READ) ? VFIO_DMA_MAP_FLAG_READ : 0) |
			 ((prot & VFK_DMA_WRITE) ? VFIO_DMA_MAP_FLAG_WRITE : 0),
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(to_kernel(c)->container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

static int kernel_dma_unmap(struct vfk_client *c, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};

	if (ioctl(to_kernel(c)->container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return -errno;
	return unmap.size == size ? 0 : -ENOENT;
}

static const struct vfk_client_ops kernel_ops = {
	.name = "kernel",
	.close = kernel_close,
	.device_info = kernel_device_info,
	.region_info = kernel_region_info,
	.irq_info = kernel_irq_info,
	.region_read = kernel_region_read,
	.region_write = kernel_region_write,
	.reset = kernel_reset,
	.set_irqs = kernel_set_irqs,
	.set_irqs_raw = kernel_set_irqs_raw,
	.dma_map = kernel_dma_map,
	.dma_unmap = kernel_dma_unmap,
};

static int open_node(const char *path, char *errmsg, size_t errmsg_len)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == EACCES || errno == EPERM)
		return vfk_client_fail(errmsg, errmsg_len, -errno, "%s: permission denied", path);
	if (errno == ENOENT)
		return vfk_client_fail(errmsg, errmsg_len, -ENOENT,
				       "%s does not exist (is the vfio-pci module loaded?)", path);
	if (errno == EBUSY)
		return vfk_client_fail(errmsg, errmsg_len, -EBUSY,
				       "%s is in use by another process", path);
	return vfk_client_fail(errmsg, errmsg_len, -errno, "%s: %s", path, strerror(errno));
}

/* Group viable, attached to the container, type1 IOMMU set. */
static int attach_group(struct kernel_client *k, int group_nr, char *errmsg, size_t errmsg_len)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int type;

	if (ioctl(k->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return vfk_client_fail(errmsg, errmsg_len, -EPROTO,
				       "/dev/vfio/vfio speaks an unknown VFIO API version");
	if (ioctl(k->group, VFIO_GROUP_GET_STATUS, &status))
		return vfk_client_fail(errmsg, errmsg_len, -errno, "group %d: status: %s",
				       group_nr, strerror(errno));
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return vfk_client_fail(errmsg, errmsg_len, -EPERM,
				       "IOMMU group %d is not viable: bind every device in it to vfio-pci",
				       group_nr);
	if (ioctl(k->group, VFIO_GROUP_SET_CONTAINER, &k->container))
		return vfk_client_fail(errmsg, errmsg_len, -errno, "group %d: set container: %s",
				       group_nr, strerror(errno));
	type = ioctl(k->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0 ?
	       VFIO_TYPE1v2_IOMMU : VFIO_TYPE1_IOMMU;
	if (ioctl(k->container, VFIO_SET_IOMMU, type))
		return vfk_client_fail(errmsg, errmsg_len, -errno, "type1 IOMMU: %s",
				       strerror(errno));
	return 0;
}

/* Cache each region's offset/size/flags so read/write need no ioctl. */
static int load_regions(struct kernel_client *k, char *errmsg, size_t errmsg_len)
{
	struct vfio_device_info info;
	int ret = kernel_device_info(&k->base, &info);

	if (ret)
		return vfk_client_fail(errmsg, errmsg_len, ret, "device info: %s", strerror(-ret));
	if (info.num_regions > KERNEL_MAX_REGIONS)
		return vfk_client_fail(errmsg, errmsg_len, -EPROTO, "device reports %u regions",
				       info.num_regions);
	k->regions = calloc(info.num_regions ? info.num_regions : 1, sizeof(*k->regions));
	if (!k->regions)
		return -ENOMEM;
	k->nr_regions = info.num_regions;
	for (uint32_t i = 0; i < info.num_regions; i++) {
		k->regions[i].argsz = sizeof(k->regions[i]);
		k->regions[i].index = i;
		/* Absent regions (VGA on most devices) fail: leave them size 0. */
		if (ioctl(k->device, VFIO_DEVICE_GET_REGION_INFO, &k->regions[i]))
			k->regions[i].size = 0;
	}
	return 0;
}

static int kernel_open(int group_nr, const char *addr, const struct vfk_client_opts *opts,
		       struct vfk_client **out, char *errmsg, size_t errmsg_len)
{
	struct kernel_client *k = calloc(1, sizeof(*k));
	char path[32];
	int ret;

	if (!k)
		return -ENOMEM;
	k->base.ops = &kernel_ops;
	k->base.opts = *opts;
	k->group = k->device = -1;
	k->container = open_node("/dev/vfio/vfio", errmsg, errmsg_len);
	ret = k->container < 0 ? k->container : 0;
	if (!ret) {
		snprintf(path, sizeof(path), "/dev/vfio/%d", group_nr);
		k->group = open_node(path, errmsg, errmsg_len);
		ret = k->group < 0 ? k->group : 0;
	}
	if (!ret)
		ret = attach_group(k, group_nr, errmsg, errmsg_len);
	if (!ret) {
		k->device = ioctl(k->group, VFIO_GROUP_GET_DEVICE_FD, addr);
		if (k->device < 0)
			ret = vfk_client_fail(errmsg, errmsg_len, -errno, "%s: get device fd: %s",
					      addr, strerror(errno));
	}
	if (!ret)
		ret = load_regions(k, errmsg, errmsg_len);
	if (ret) {
		kernel_close(&k->base);
		return ret;
	}
	*out = &k->base;
	return 0;
}

int vfk_kernel_open_pci(const char *pci_addr, const struct vfk_client_opts *opts,
			struct vfk_client **out, char *errmsg, size_t errmsg_len)
{
	char msg[256];
	int group, ret = vfk_sysfs_pci_group(pci_addr, &group, msg, sizeof(msg));

	if (ret)
		return vfk_client_fail(errmsg, errmsg_len, ret, "%s", msg);
	return kernel_open(group, pci_addr, opts, out, errmsg, errmsg_len);
}

int vfk_kernel_open_group(const char *group_path, const struct vfk_client_opts *opts,
			  struct vfk_client **out, char *errmsg, size_t errmsg_len)
{
	const char *num = group_path + strlen("/dev/vfio/");
	char addr[VFK_PCI_ADDR_LEN], msg[256], *end;
	long group;
	int ret;

	errno = 0;
	group = strtol(num, &end, 10);
	if (errno || end == num || *end || group < 0 || group > 0x7fffffff)
		return vfk_client_fail(errmsg, errmsg_len, -EINVAL,
				       "%s is not a VFIO group path (/dev/vfio/N)", group_path);
	ret = vfk_sysfs_group_device((int)group, addr, msg, sizeof(msg));
	if (ret)
		return vfk_client_fail(errmsg, errmsg_len, ret, "%s", msg);
	return kernel_open((int)group, addr, opts, out, errmsg, errmsg_len);
}
