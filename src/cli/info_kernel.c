// SPDX-License-Identifier: MIT
/*
 * `vfiokit info -k`: what the kernel says of a kernel target, from sysfs
 * (the driver link and the iommu_group link of the PCI device), as lspci
 * -k does. The sysfs root is $VFIOKIT_SYSFS_ROOT when set (a fake tree,
 * as the client library's tests use), else /sys.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "info.h"

bool info_pci_address(const char *s, char out[INFO_PCI_ADDR_LEN])
{
	unsigned int dom = 0, bus, dev, fn;
	char tail;

	if (sscanf(s, "%4x:%2x:%2x.%1u%c", &dom, &bus, &dev, &fn, &tail) != 4) {
		dom = 0;
		if (sscanf(s, "%2x:%2x.%1u%c", &bus, &dev, &fn, &tail) != 3)
			return false;
	}
	/* sscanf takes signs and short fields: only the canonical text counts. */
	if (dev > 0x1f || fn > 7 || strspn(s, "0123456789abcdefABCDEF:.") != strlen(s))
		return false;
	snprintf(out, INFO_PCI_ADDR_LEN, "%04x:%02x:%02x.%u", dom, bus, dev, fn);
	return true;
}

static const char *sysfs_root(void)
{
	const char *env = getenv("VFIOKIT_SYSFS_ROOT");

	return env && *env ? env : "/sys";
}

/* The last component of the symlink root/rel into name; -errno (ENOENT: no link). */
static int link_name(const char *rel, char *name, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", sysfs_root(), rel) >= sizeof(path))
		return -ENAMETOOLONG;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	memcpy(name, base, strlen(base) + 1);
	return 0;
}

static bool __attribute__((format(printf, 1, 2))) sysfs_exists(const char *fmt, ...)
{
	char path[PATH_MAX], rel[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	return (size_t)snprintf(path, sizeof(path), "%s/%s", sysfs_root(), rel) < sizeof(path) &&
	       access(path, F_OK) == 0;
}

int info_kernel_read(const char *addr, struct info_kernel *k)
{
	char rel[128], group[32], *end;
	long nr;
	int ret;

	memset(k, 0, sizeof(*k));
	k->iommu_group = -1;
	snprintf(k->addr, sizeof(k->addr), "%s", addr);
	if (!sysfs_exists("bus/pci/devices/%s", addr))
		return -ENODEV;
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/driver", addr);
	ret = link_name(rel, k->driver, sizeof(k->driver));
	if (ret && ret != -ENOENT)
		return ret;
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/iommu_group", addr);
	ret = link_name(rel, group, sizeof(group));
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	errno = 0;
	nr = strtol(group, &end, 10);
	if (!errno && end != group && !*end && nr >= 0 && nr <= INT_MAX)
		k->iommu_group = (int)nr;
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void print_device(FILE *out, const struct info_kernel *k)
{
	fprintf(out, "\tKernel driver in use: %s\n", k->driver[0] ? k->driver : "none");
	if (k->iommu_group >= 0)
		fprintf(out, "\tIOMMU group: %d\n", k->iommu_group);
	else
		fprintf(out, "\tIOMMU group: none\n");
}

static bool group_number(const char *num)
{
	return *num && strspn(num, "0123456789") == strlen(num) && strlen(num) <= 10;
}

/* The devices of IOMMU group num, in address order, each with its driver: fn per device. */
static int group_devices(const char *num, void (*fn)(void *ctx, const struct info_kernel *k),
			 void *ctx)
{
	struct dirent **names;
	struct info_kernel k;
	char path[PATH_MAX];
	int n;

	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%s/devices", sysfs_root(), num);
	n = scandir(path, &names, NULL, by_name);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && !info_kernel_read(names[i]->d_name, &k))
			fn(ctx, &k);
		free(names[i]);
	}
	free(names);
	return 0;
}

static void print_group_device(void *ctx, const struct info_kernel *k)
{
	fprintf(ctx, "\tIOMMU group device %s: kernel driver in use: %s\n", k->addr,
		k->driver[0] ? k->driver : "none");
}

/* /dev/vfio/N: the group's devices, each with its driver (the client took the
 * first bound to vfio-pci). */
static void print_group(FILE *out, const char *num)
{
	int ret;

	if (!group_number(num)) {
		fprintf(out, "\tIOMMU group: unknown (%s is not a group number)\n", num);
		return;
	}
	fprintf(out, "\tIOMMU group: %s\n", num);
	ret = group_devices(num, print_group_device, out);
	if (ret)
		fprintf(out, "\tIOMMU group devices: unknown (%s)\n", strerror(-ret));
}

void info_kernel_print(FILE *out, const char *target, const char *backend)
{
	char addr[INFO_PCI_ADDR_LEN];
	struct info_kernel k;
	int ret;

	if (strcmp(backend, "kernel")) {
		fprintf(out, "\tKernel driver in use: none (a vfio-user device: its server "
			"drives it, no IOMMU group)\n");
		return;
	}
	if (!strncmp(target, "/dev/vfio/", strlen("/dev/vfio/"))) {
		print_group(out, target + strlen("/dev/vfio/"));
		return;
	}
	if (!info_pci_address(target, addr)) {
		fprintf(out, "\tKernel driver in use: unknown (%s is not a PCI address)\n", target);
		return;
	}
	ret = info_kernel_read(addr, &k);
	if (ret)
		fprintf(out, "\tKernel driver in use: unknown (%s: %s)\n", addr, strerror(-ret));
	else
		print_device(out, &k);
}

static void add_device_json(struct json_object *o, const struct info_kernel *k)
{
	json_object_object_add(o, "pci_address", json_object_new_string(k->addr));
	json_object_object_add(o, "driver", k->driver[0] ? json_object_new_string(k->driver) : NULL);
}

static void add_group_device(void *ctx, const struct info_kernel *k)
{
	struct json_object *d = json_object_new_object();

	add_device_json(d, k);
	json_object_array_add(ctx, d);
}

struct json_object *info_kernel_json(const char *target, const char *backend)
{
	struct json_object *o = json_object_new_object(), *devs;
	const char *num = target + strlen("/dev/vfio/");
	char addr[INFO_PCI_ADDR_LEN];
	struct info_kernel k;

	/* vfio-user, or what sysfs does not tell: nulls. */
	json_object_object_add(o, "pci_address", NULL);
	json_object_object_add(o, "driver", NULL);
	json_object_object_add(o, "iommu_group", NULL);
	if (strcmp(backend, "kernel"))
		return o;
	if (!strncmp(target, "/dev/vfio/", strlen("/dev/vfio/")) && group_number(num)) {
		json_object_object_add(o, "iommu_group", json_object_new_int(atoi(num)));
		devs = json_object_new_array();
		group_devices(num, add_group_device, devs);
		json_object_object_add(o, "group_devices", devs);
	} else if (info_pci_address(target, addr) && !info_kernel_read(addr, &k)) {
		add_device_json(o, &k);
		json_object_object_add(o, "iommu_group", k.iommu_group >= 0 ?
				       json_object_new_int(k.iommu_group) : NULL);
	}
	return o;
}
