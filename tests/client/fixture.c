// SPDX-License-Identifier: MIT
/* The test device and its forked server (see fixture.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfiokit/vfiokit.h>

#include "fixture.h"

static uint8_t *bar0_mem;
static int bar0_fd = -1;
static unsigned long *reads;

static ssize_t bar0_read(struct vfk_device *dev, struct vfk_region *region, void *buf,
			 size_t count, uint64_t offset)
{
	(*reads)++;
	memcpy(buf, bar0_mem + offset, count);
	return (ssize_t)count;
}

static ssize_t bar0_write(struct vfk_device *dev, struct vfk_region *region, const void *buf,
			  size_t count, uint64_t offset)
{
	memcpy(bar0_mem + offset, buf, count);
	return (ssize_t)count;
}

/* Two mappable areas: the middle page stays trapped. */
static int bar0_mmap(struct vfk_device *dev, struct vfk_region *region, struct vfk_mmap_desc *d)
{
	d->fd = bar0_fd;
	d->fd_offset = 0;
	d->nr_areas = 2;
	d->areas[0] = (struct vfk_mmap_area){ 0, 0x1000 };
	d->areas[1] = (struct vfk_mmap_area){ 0x2000, FIX_BAR0_SIZE - 0x2000 };
	return 0;
}

static int bar3_mmap(struct vfk_device *dev, struct vfk_region *region, struct vfk_mmap_desc *d)
{
	d->fd = bar0_fd;
	d->fd_offset = 0;
	d->nr_areas = 0;
	return 0;
}

static int ram_caps(struct vfk_device *dev, struct vfk_region *region, struct vfk_caps *caps)
{
	static const uint8_t custom[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	int ret = vfk_caps_add_nvlink2_ssatgt(caps, FIX_SSATGT);

	return ret ? ret : vfk_caps_add(caps, FIX_CUSTOM_ID, FIX_CUSTOM_VER, custom, sizeof(custom));
}

static int atsd_caps(struct vfk_device *dev, struct vfk_region *region, struct vfk_caps *caps)
{
	int ret = vfk_caps_add_nvlink2_ssatgt(caps, FIX_SSATGT);

	return ret ? ret : vfk_caps_add_nvlink2_lnkspd(caps, FIX_LNKSPD);
}

static struct vfk_device *build_device(void)
{
	static const struct vfk_region_ops bar0_ops = {
		.read = bar0_read, .write = bar0_write, .mmap = bar0_mmap,
	};
	static const struct vfk_region_ops bar3_ops = { .mmap = bar3_mmap };
	static const struct vfk_region_ops ram_ops = { .add_capability = ram_caps };
	static const struct vfk_region_ops atsd_ops = { .add_capability = atsd_caps };
	const struct vfk_device_desc desc = {
		.name = "fixture", .vendor_id = 0x10de, .device_id = 0x1db1,
		.subsys_vendor_id = 0x10de, .subsys_id = 0x1212, .class_code = 0x030200,
		.revision = 0xa1, .irq_pin = 1, .pcie = true,
	};
	struct vfk_region_desc bar0 = {
		VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP,
		FIX_BAR0_SIZE, &bar0_ops, NULL,
	};
	struct vfk_region_desc bar3 = {
		VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP,
		0x4000, &bar3_ops, NULL,
	};
	struct vfk_region_desc ram = { VFIO_REGION_INFO_FLAG_READ, 0x10000, &ram_ops, NULL };
	struct vfk_region_desc atsd = { VFIO_REGION_INFO_FLAG_READ, 0, &atsd_ops, NULL };
	struct vfk_device *dev;

	if (vfk_device_create(&desc, &dev) ||
	    vfk_device_set_bar(dev, 0, &bar0, VFK_BAR_MEM64) ||
	    vfk_device_set_bar(dev, 3, &bar3, 0) ||
	    vfk_pci_add_pm_cap(dev) || vfk_pci_add_msi_cap(dev, 4, true, false) ||
	    vfk_pci_add_msix_cap(dev, 8, 3, 0, 3, 0x800) || vfk_pci_add_pcie_cap(dev, 3, 8) ||
	    vfk_device_add_region(dev, 0x800010de, 1, &ram, NULL) ||
	    vfk_device_add_region(dev, 0x80001014, 1, &atsd, NULL))
		return NULL;
	return dev;
}

static void serve(const char *sock)
{
	struct vfk_server *srv;
	struct vfk_device *dev;

	bar0_fd = memfd_create("bar0", 0);
	if (bar0_fd < 0 || ftruncate(bar0_fd, FIX_BAR0_SIZE))
		_exit(2);
	bar0_mem = mmap(NULL, FIX_BAR0_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, bar0_fd, 0);
	dev = build_device();
	if (bar0_mem == MAP_FAILED || !dev || vfk_server_create(&srv) ||
	    vfk_server_add_device(srv, dev, sock))
		_exit(3);
	vfk_server_run(srv);
	_exit(0);
}

int fixture_start(struct fixture *f)
{
	strcpy(f->dir, "/tmp/vfk-fixture-XXXXXX");
	if (!mkdtemp(f->dir))
		return -errno;
	snprintf(f->sock, sizeof(f->sock), "%s/dev.sock", f->dir);
	reads = mmap(NULL, sizeof(*reads), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (reads == MAP_FAILED)
		return -errno;
	f->bar0_reads = reads;
	f->server = fork();
	if (f->server < 0)
		return -errno;
	if (!f->server) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		serve(f->sock);
	}
	for (int i = 0; i < 200 && access(f->sock, F_OK); i++)
		usleep(10000);
	return access(f->sock, F_OK) ? -ETIMEDOUT : 0;
}

void fixture_stop(struct fixture *f)
{
	kill(f->server, SIGKILL);
	waitpid(f->server, NULL, 0);
	unlink(f->sock);
	rmdir(f->dir);
	munmap(f->bar0_reads, sizeof(*f->bar0_reads));
}
