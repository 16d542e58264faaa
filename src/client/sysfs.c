// SPDX-License-Identifier: MIT
/* Kernel VFIO discovery through sysfs (see sysfs.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysfs.h"

static char root_override[PATH_MAX];
static bool root_overridden;

void vfk_sysfs_set_root(const char *root)
{
	root_overridden = root != NULL;
	if (root)
		snprintf(root_override, sizeof(root_override), "%s", root);
}

static const char *sysfs_root(void)
{
	const char *env;

	if (root_overridden)
		return root_override;
	env = getenv("VFIOKIT_SYSFS_ROOT");
	return env && *env ? env : "/sys";
}

/* ROOT + the formatted rest into path; -ENAMETOOLONG when it does not fit. */
__attribute__((format(printf, 2, 3)))
static int sysfs_path(char path[PATH_MAX], const char *fmt, ...)
{
	const char *root = sysfs_root();
	size_t used = strlen(root);
	va_list ap;
	int n;

	if (used >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(path, root, used);
	va_start(ap, fmt);
	n = vsnprintf(path + used, PATH_MAX - used, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= PATH_MAX - used ? -ENAMETOOLONG : 0;
}

/* s has exactly the shape of pattern: 'h' a hex digit, 'd' 0-7, else itself. */
static bool matches(const char *s, const char *pattern)
{
	for (; *pattern; s++, pattern++) {
		if (*pattern == 'h' ? !isxdigit((unsigned char)*s) :
		    *pattern == 'd' ? (*s < '0' || *s > '7') : *s != *pattern)
			return false;
	}
	return !*s;
}

bool vfk_pci_addr_normalize(const char *s, char out[VFK_PCI_ADDR_LEN])
{
	unsigned long dom = 0, bus, dev, fn;
	char *end;

	if (matches(s, "hhhh:hh:hh.d")) {
		dom = strtoul(s, &end, 16);
		s = end + 1;
	} else if (!matches(s, "hh:hh.d")) {
		return false;
	}
	bus = strtoul(s, &end, 16);
	dev = strtoul(end + 1, &end, 16);
	fn = strtoul(end + 1, NULL, 10);
	if (dev > 0x1f)
		return false;
	snprintf(out, VFK_PCI_ADDR_LEN, "%04lx:%02lx:%02lx.%lu", dom, bus, dev, fn);
	return true;
}

/* The last path component of the symlink at path, or -errno. */
static int link_basename(const char *path, char *name, size_t name_len)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *base;

	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= name_len)
		return -ENAMETOOLONG;
	strcpy(name, base);
	return 0;
}

static bool pci_device_exists(const char *addr)
{
	char path[PATH_MAX];
	struct stat st;

	return !sysfs_path(path, "/bus/pci/devices/%s", addr) && stat(path, &st) == 0;
}

int vfk_sysfs_pci_driver(const char *addr, char *drv, size_t drv_len)
{
	char path[PATH_MAX];
	int ret;

	if (!pci_device_exists(addr))
		return -ENODEV;
	ret = sysfs_path(path, "/bus/pci/devices/%s/driver", addr);
	if (ret)
		return ret;
	ret = link_basename(path, drv, drv_len);
	if (ret == -ENOENT) {
		drv[0] = '\0';
		return 0;
	}
	return ret;
}

bool vfk_is_vfio_driver(const char *drv)
{
	/* Variant drivers (mlx5_vfio_pci, nvgrace-gpu-vfio-pci, ...) serve the same uAPI. */
	return strstr(drv, "vfio-pci") || strstr(drv, "vfio_pci");
}

static int check_vfio_bound(const char *addr, char *errmsg, size_t errmsg_len)
{
	char drv[NAME_MAX + 1];
	int ret = vfk_sysfs_pci_driver(addr, drv, sizeof(drv));

	if (ret == -ENODEV) {
		snprintf(errmsg, errmsg_len, "no such PCI device %s", addr);
		return ret;
	}
	if (ret) {
		snprintf(errmsg, errmsg_len, "cannot read the driver of %s: %s", addr,
			 strerror(-ret));
		return ret;
	}
	if (!drv[0]) {
		snprintf(errmsg, errmsg_len,
			 "%s is not bound to any driver; bind it to vfio-pci", addr);
		return -EBUSY;
	}
	if (!vfk_is_vfio_driver(drv)) {
		snprintf(errmsg, errmsg_len,
			 "%s is bound to %s, not vfio-pci; bind it to vfio-pci", addr, drv);
		return -EBUSY;
	}
	return 0;
}

int vfk_sysfs_pci_group(const char *addr, int *group, char *errmsg, size_t errmsg_len)
{
	char path[PATH_MAX], name[NAME_MAX + 1], *end;
	long n;
	int ret = check_vfio_bound(addr, errmsg, errmsg_len);

	if (ret)
		return ret;
	ret = sysfs_path(path, "/bus/pci/devices/%s/iommu_group", addr);
	if (!ret)
		ret = link_basename(path, name, sizeof(name));
	if (ret) {
		snprintf(errmsg, errmsg_len,
			 "%s has no IOMMU group (is the IOMMU enabled?)", addr);
		return -ENOENT;
	}
	errno = 0;
	n = strtol(name, &end, 10);
	if (errno || *end || end == name || n < 0 || n > INT_MAX) {
		snprintf(errmsg, errmsg_len, "%s has a malformed IOMMU group '%s'", addr, name);
		return -ENOENT;
	}
	*group = (int)n;
	return 0;
}

static int only_pci_names(const struct dirent *d)
{
	char addr[VFK_PCI_ADDR_LEN];

	return vfk_pci_addr_normalize(d->d_name, addr);
}

int vfk_sysfs_group_device(int group, char addr[VFK_PCI_ADDR_LEN], char *errmsg,
			   size_t errmsg_len)
{
	char path[PATH_MAX], drv[NAME_MAX + 1];
	struct dirent **names;
	int n, ret = -ENODEV;

	n = sysfs_path(path, "/kernel/iommu_groups/%d/devices", group) ? -1 :
	    scandir(path, &names, only_pci_names, alphasort);
	if (n < 0) {
		snprintf(errmsg, errmsg_len, "no IOMMU group %d", group);
		return -ENOENT;
	}
	for (int i = 0; i < n; i++) {
		if (ret && !vfk_sysfs_pci_driver(names[i]->d_name, drv, sizeof(drv)) &&
		    vfk_is_vfio_driver(drv)) {
			vfk_pci_addr_normalize(names[i]->d_name, addr);
			ret = 0;
		}
		free(names[i]);
	}
	free(names);
	if (ret)
		snprintf(errmsg, errmsg_len, "no device of IOMMU group %d is bound to vfio-pci",
			 group);
	return ret;
}
