// SPDX-License-Identifier: MIT
/* Kernel VFIO discovery against a fake sysfs tree in a temp dir. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <vfiokit/client.h>
#include "client/sysfs.h"

static char root[PATH_MAX];

static void mkdirs(const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	mkdir(path, 0755);
}

static void link_to(const char *target, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* A PCI device in the fake tree; drv and group may be NULL (absent links). */
static void add_device(const char *addr, const char *drv, const char *group)
{
	char rel[256], target[256];

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", addr);
	mkdirs(rel);
	if (drv) {
		snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", drv);
		snprintf(rel, sizeof(rel), "bus/pci/devices/%s/driver", addr);
		link_to(target, rel);
	}
	if (group) {
		snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%s", group);
		snprintf(rel, sizeof(rel), "bus/pci/devices/%s/iommu_group", addr);
		link_to(target, rel);
		snprintf(rel, sizeof(rel), "kernel/iommu_groups/%s/devices/%s", group, addr);
		mkdirs(rel);
	}
}

static int setup(void **state)
{
	strcpy(root, "/tmp/vfk-sysfs-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	add_device("0000:00:03.0", "vfio-pci", "5");
	add_device("0000:00:04.0", "e1000e", "6");
	add_device("0000:00:05.0", NULL, "7");
	add_device("0000:00:06.0", "vfio-pci", NULL);
	add_device("0000:00:07.0", "e1000e", "8");
	add_device("0000:00:08.0", "mlx5_vfio_pci", "8");
	add_device("0000:00:09.0", "nvme", "9");
	vfk_sysfs_set_root(root);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	vfk_sysfs_set_root(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_normalize(void **state)
{
	char out[VFK_PCI_ADDR_LEN];

	assert_true(vfk_pci_addr_normalize("0000:00:03.0", out));
	assert_string_equal(out, "0000:00:03.0");
	assert_true(vfk_pci_addr_normalize("3A:1F.7", out));
	assert_string_equal(out, "0000:3a:1f.7");
	assert_false(vfk_pci_addr_normalize("00:20.0", out));    /* device > 0x1f */
	assert_false(vfk_pci_addr_normalize("00:03.8", out));    /* function > 7 */
	assert_false(vfk_pci_addr_normalize("0000:00:03.0x", out));
	assert_false(vfk_pci_addr_normalize("0x00:00:03.0", out));
	assert_false(vfk_pci_addr_normalize("/tmp/dev.sock", out));
	assert_false(vfk_pci_addr_normalize("", out));
}

static void test_bound_to_vfio(void **state)
{
	char msg[256] = "";
	int group = -1;

	assert_int_equal(vfk_sysfs_pci_group("0000:00:03.0", &group, msg, sizeof(msg)), 0);
	assert_int_equal(group, 5);
}

static void test_bound_to_other_driver(void **state)
{
	char msg[256] = "", drv[64];
	int group = -1;

	assert_int_equal(vfk_sysfs_pci_group("0000:00:04.0", &group, msg, sizeof(msg)), -EBUSY);
	assert_non_null(strstr(msg, "bound to e1000e, not vfio-pci"));
	assert_int_equal(group, -1);
	assert_int_equal(vfk_sysfs_pci_driver("0000:00:04.0", drv, sizeof(drv)), 0);
	assert_string_equal(drv, "e1000e");
}

static void test_unbound(void **state)
{
	char msg[256] = "", drv[64] = "x";
	int group = -1;

	assert_int_equal(vfk_sysfs_pci_group("0000:00:05.0", &group, msg, sizeof(msg)), -EBUSY);
	assert_non_null(strstr(msg, "not bound to any driver"));
	assert_int_equal(vfk_sysfs_pci_driver("0000:00:05.0", drv, sizeof(drv)), 0);
	assert_string_equal(drv, "");
}

static void test_no_iommu_group(void **state)
{
	char msg[256] = "";
	int group = -1;

	assert_int_equal(vfk_sysfs_pci_group("0000:00:06.0", &group, msg, sizeof(msg)), -ENOENT);
	assert_non_null(strstr(msg, "no IOMMU group"));
}

static void test_no_such_device(void **state)
{
	char msg[256] = "", drv[64];
	int group = -1;

	assert_int_equal(vfk_sysfs_pci_group("0000:00:1f.0", &group, msg, sizeof(msg)), -ENODEV);
	assert_non_null(strstr(msg, "no such PCI device 0000:00:1f.0"));
	assert_int_equal(vfk_sysfs_pci_driver("0000:00:1f.0", drv, sizeof(drv)), -ENODEV);
}

static void test_group_device(void **state)
{
	char addr[VFK_PCI_ADDR_LEN], msg[256] = "";

	assert_int_equal(vfk_sysfs_group_device(5, addr, msg, sizeof(msg)), 0);
	assert_string_equal(addr, "0000:00:03.0");
	/* Group 8: e1000e first in order, then a vfio-pci variant driver. */
	assert_int_equal(vfk_sysfs_group_device(8, addr, msg, sizeof(msg)), 0);
	assert_string_equal(addr, "0000:00:08.0");
	assert_int_equal(vfk_sysfs_group_device(9, addr, msg, sizeof(msg)), -ENODEV);
	assert_non_null(strstr(msg, "no device of IOMMU group 9 is bound to vfio-pci"));
	assert_int_equal(vfk_sysfs_group_device(42, addr, msg, sizeof(msg)), -ENOENT);
}

/* The whole open path reports sysfs problems before touching /dev/vfio. */
static void test_client_open_messages(void **state)
{
	struct vfk_client *c = NULL;
	char msg[256] = "";

	assert_int_equal(vfk_client_open("00:04.0", NULL, &c, msg, sizeof(msg)), -EBUSY);
	assert_string_equal(msg, "0000:00:04.0 is bound to e1000e, not vfio-pci; bind it to vfio-pci");
	assert_null(c);
	assert_int_equal(vfk_client_open("/dev/vfio/9", NULL, &c, msg, sizeof(msg)), -ENODEV);
	assert_int_equal(vfk_client_open("/dev/vfio/abc", NULL, &c, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "not a VFIO group path"));
}

static void test_env_root(void **state)
{
	char msg[256] = "";
	int group = -1;

	vfk_sysfs_set_root(NULL);
	setenv("VFIOKIT_SYSFS_ROOT", root, 1);
	assert_int_equal(vfk_sysfs_pci_group("0000:00:03.0", &group, msg, sizeof(msg)), 0);
	assert_int_equal(group, 5);
	unsetenv("VFIOKIT_SYSFS_ROOT");
	vfk_sysfs_set_root(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_bound_to_vfio),
		cmocka_unit_test(test_bound_to_other_driver),
		cmocka_unit_test(test_unbound),
		cmocka_unit_test(test_no_iommu_group),
		cmocka_unit_test(test_no_such_device),
		cmocka_unit_test(test_group_device),
		cmocka_unit_test(test_client_open_messages),
		cmocka_unit_test(test_env_root),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
