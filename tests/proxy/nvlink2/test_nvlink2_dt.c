// SPDX-License-Identifier: MIT
/*
 * The nvlink2 subdriver's device-tree reading against the fixture
 * (tests/proxy/nvlink2/dt-fixture, described in README.md beside it),
 * and against broken copies of it: each case copies the fixture, breaks
 * one thing and checks the errno and that the message names the culprit.
 * argv[1]: the fixture folder.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "dt.h"
#include "nvlink2_dt.h"
#include "../../test_util.h"

#define GPU_NODE    "pci@0/3d-controller@4"
#define BRIDGE_NODE "pci@0/bridge@5"
#define TGT         0x3c000000000ull
#define RAM_ADDR    0x240000000000ull
#define RAM_SIZE    (128ull << 30)
#define ATSD1       0x6030201010000ull
#define ATSD0       0x6030201000000ull

extern char **environ;
static const char *fixture;

struct tree {
	char dir[64];     /* the temp folder */
	char root[96];    /* its copy of the fixture */
	struct dt t;
};

static void run(char *const argv[])
{
	pid_t pid;
	int status;

	assert_int_equal(posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int setup(void **state)
{
	struct tree *tr = calloc(1, sizeof(*tr));

	assert_non_null(tr);
	snprintf(tr->dir, sizeof(tr->dir), "/tmp/vfk-dt-XXXXXX");
	assert_non_null(mkdtemp(tr->dir));
	snprintf(tr->root, sizeof(tr->root), "%s/dt", tr->dir);
	run((char *const[]){ "cp", "-R", (char *)fixture, tr->root, NULL });
	tr->t.rootfd = -1;
	*state = tr;
	return 0;
}

static int teardown(void **state)
{
	struct tree *tr = *state;

	dt_close(&tr->t);
	run((char *const[]){ "rm", "-rf", tr->dir, NULL });
	free(tr);
	return 0;
}

static void put(struct tree *tr, const char *rel, const void *bytes, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tr->root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	close(fd);
}

static void put_u32(struct tree *tr, const char *rel, uint32_t v)
{
	uint32_t be = htobe32(v);

	put(tr, rel, &be, sizeof(be));
}

static void put_u64s(struct tree *tr, const char *rel, const uint64_t *v, size_t n)
{
	uint64_t be[4];

	for (size_t i = 0; i < n; i++)
		be[i] = htobe64(v[i]);
	put(tr, rel, be, n * 8);
}

static void drop(struct tree *tr, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tr->root, rel);
	assert_int_equal(unlink(path), 0);
}

static void make_dir(struct tree *tr, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tr->root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static struct dt *open_tree(struct tree *tr)
{
	assert_int_equal(dt_open(&tr->t, tr->root), 0);
	return &tr->t;
}

/* ---- the fixture as it is ---- */

static void test_gpu(void **state)
{
	struct dt *t = open_tree(*state);
	char node[DT_PATH_MAX];
	struct nvl2_gpu gpu;

	assert_int_equal(dt_find_pci(t, 0, 0, 4 << 3, node, sizeof(node)), 0);
	assert_string_equal(node, GPU_NODE);
	assert_int_equal(nvl2_read_gpu(t, node, &gpu), 0);
	assert_int_equal(gpu.tgt, TGT);
	assert_int_equal(gpu.ram_addr, RAM_ADDR);
	assert_int_equal(gpu.ram_size, RAM_SIZE);
	assert_string_equal(gpu.npu, BRIDGE_NODE);
}

static void test_bridge(void **state)
{
	struct dt *t = open_tree(*state);
	char node[DT_PATH_MAX];
	struct nvl2_bridge br;

	assert_int_equal(dt_find_pci(t, 0, 0, 5 << 3, node, sizeof(node)), 0);
	assert_string_equal(node, BRIDGE_NODE);
	assert_int_equal(nvl2_read_bridge(t, node, &br), 0);
	assert_int_equal(br.tgt, TGT);
	assert_int_equal(br.link_speed, 0x9);
	assert_int_equal(br.link_index, 1);
	assert_int_equal(br.mmio_atsd, ATSD1);
	assert_false(br.atsd_fallback);
}

/* Link 1 with a one-entry list takes entry 0, as the kernel did. */
static void test_atsd_fallback(void **state)
{
	struct tree *tr = *state;
	const uint64_t one = ATSD0;
	struct nvl2_bridge br;

	put_u64s(tr, "pci@0/ibm,mmio-atsd", &one, 1);
	assert_int_equal(nvl2_read_bridge(open_tree(tr), BRIDGE_NODE, &br), 0);
	assert_int_equal(br.mmio_atsd, ATSD0);
	assert_true(br.atsd_fallback);
}

/* No list at all: no register, the region is size 0, not an error. */
static void test_atsd_absent(void **state)
{
	struct tree *tr = *state;
	struct nvl2_bridge br;

	drop(tr, "pci@0/ibm,mmio-atsd");
	assert_int_equal(nvl2_read_bridge(open_tree(tr), BRIDGE_NODE, &br), 0);
	assert_int_equal(br.mmio_atsd, 0);
	assert_int_equal(br.tgt, TGT);
	assert_string_equal(tr->t.err, "");
}

static void test_no_such_pci(void **state)
{
	struct dt *t = open_tree(*state);
	char node[DT_PATH_MAX];

	assert_int_equal(dt_find_pci(t, 0, 0, 6 << 3, node, sizeof(node)), -ENOENT);
	assert_non_null(strstr(t->err, "0000:00:06.0"));
	assert_int_equal(dt_find_pci(t, 1, 0, 4 << 3, node, sizeof(node)), -ENOENT);
	assert_non_null(strstr(t->err, "linux,pci-domain = <1>"));
}

static void test_two_functions(void **state)
{
	struct tree *tr = *state;
	const uint32_t reg[5] = { htobe32(0x2000) };
	char node[DT_PATH_MAX];

	make_dir(tr, "pci@0/other@4");
	put(tr, "pci@0/other@4/reg", reg, sizeof(reg));
	assert_int_equal(dt_find_pci(open_tree(tr), 0, 0, 4 << 3, node, sizeof(node)), -EINVAL);
	assert_non_null(strstr(tr->t.err, "2 nodes"));
}

static void test_of_node_link(void **state)
{
	struct tree *tr = *state;
	struct dt *t = open_tree(tr);
	char link[160], target[160], node[DT_PATH_MAX];

	snprintf(link, sizeof(link), "%s/of_node", tr->dir);
	snprintf(target, sizeof(target), "dt/%s", GPU_NODE);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(dt_node_from_link(t, link, tr->root, node, sizeof(node)), 0);
	assert_string_equal(node, GPU_NODE);
	/* A link leaving the tree is refused, a missing one is -ENOENT. */
	assert_int_equal(dt_node_from_link(t, link, fixture, node, sizeof(node)), -EINVAL);
	assert_non_null(strstr(t->err, "outside the device tree"));
	unlink(link);
	assert_int_equal(dt_node_from_link(t, link, tr->root, node, sizeof(node)), -ENOENT);
}

static void test_missing_root(void **state)
{
	struct tree *tr = *state;

	assert_int_equal(dt_open(&tr->t, "/nonexistent/dt"), -ENOENT);
	assert_non_null(strstr(tr->t.err, "/nonexistent/dt"));
}

static void test_bad_paths(void **state)
{
	struct dt *t = open_tree(*state);
	uint32_t v;
	struct nvl2_gpu gpu;

	assert_int_equal(dt_u32(t, "../dt", "x", &v), -EINVAL);
	assert_non_null(strstr(t->err, "bad node path"));
	assert_int_equal(dt_u32(t, "pci@0/./bridge@5", "ibm,gpu", &v), -EINVAL);
	assert_int_equal(dt_u32(t, "pci@0//bridge@5", "ibm,gpu", &v), -EINVAL);
	assert_int_equal(nvl2_read_gpu(t, "pci@0/nothing@9", &gpu), -ENOENT);
	assert_non_null(strstr(t->err, "no node /pci@0/nothing@9"));
}

/* ---- broken fixtures ---- */

enum what { GPU, BRIDGE };

struct breakage {
	const char *name;
	enum what what;
	void (*apply)(struct tree *tr);
	int err;
	const char *says;   /* in the message */
};

static void no_npu(struct tree *tr) { drop(tr, GPU_NODE "/ibm,npu"); }
static void short_npu(struct tree *tr) { put(tr, GPU_NODE "/ibm,npu", "\0\0\0", 3); }
static void empty_npu(struct tree *tr) { put(tr, GPU_NODE "/ibm,npu", "", 0); }
static void dangling_npu(struct tree *tr) { put_u32(tr, GPU_NODE "/ibm,npu", 0x99); }
static void twin_phandle(struct tree *tr) { put_u32(tr, "npu@5011000/link@0/phandle", 0x10); }
static void no_memory_region(struct tree *tr) { drop(tr, BRIDGE_NODE "/memory-region"); }
static void short_ram_reg(struct tree *tr) { put(tr, "memory@240000000000/reg", "0123456789ab", 12); }
static void long_ram_reg(struct tree *tr)
{
	const uint64_t reg[3] = { RAM_ADDR, RAM_SIZE, 0 };

	put_u64s(tr, "memory@240000000000/reg", reg, 3);
}
static void zero_ram(struct tree *tr)
{
	const uint64_t reg[2] = { RAM_ADDR, 0 };

	put_u64s(tr, "memory@240000000000/reg", reg, 2);
}
static void odd_ram(struct tree *tr)
{
	const uint64_t reg[2] = { RAM_ADDR, 0x1001 };

	put_u64s(tr, "memory@240000000000/reg", reg, 2);
}
static void wrapping_ram(struct tree *tr)
{
	const uint64_t reg[2] = { 0xffffffffffff0000ull, 0x20000 };

	put_u64s(tr, "memory@240000000000/reg", reg, 2);
}
static void no_tgt(struct tree *tr) { drop(tr, BRIDGE_NODE "/ibm,device-tgt-addr"); }
static void short_tgt(struct tree *tr) { put_u32(tr, BRIDGE_NODE "/ibm,device-tgt-addr", 1); }
static void long_tgt(struct tree *tr)
{
	const uint64_t v[2] = { TGT, TGT };

	put_u64s(tr, BRIDGE_NODE "/ibm,device-tgt-addr", v, 2);
}
static void dir_tgt(struct tree *tr)
{
	drop(tr, BRIDGE_NODE "/ibm,device-tgt-addr");
	make_dir(tr, BRIDGE_NODE "/ibm,device-tgt-addr");
}
static void link_tgt(struct tree *tr)
{
	char path[256];

	drop(tr, BRIDGE_NODE "/ibm,device-tgt-addr");
	snprintf(path, sizeof(path), "%s/%s/ibm,device-tgt-addr", tr->root, BRIDGE_NODE);
	assert_int_equal(symlink("/etc/passwd", path), 0);
}
static void huge_npu(struct tree *tr)
{
	static const uint8_t big[DT_PROP_MAX + 8];

	put(tr, GPU_NODE "/ibm,npu", big, sizeof(big));
}
static void no_speed(struct tree *tr) { drop(tr, BRIDGE_NODE "/ibm,nvlink-speed"); }
static void long_speed(struct tree *tr)
{
	const uint64_t v = 9;

	put_u64s(tr, BRIDGE_NODE "/ibm,nvlink-speed", &v, 1);
}
static void no_gpu(struct tree *tr) { drop(tr, BRIDGE_NODE "/ibm,gpu"); }
static void dangling_gpu(struct tree *tr) { put_u32(tr, BRIDGE_NODE "/ibm,gpu", 0x77); }
static void no_nvlink(struct tree *tr) { drop(tr, BRIDGE_NODE "/ibm,nvlink"); }
static void no_link_index(struct tree *tr) { drop(tr, "npu@5011000/link@1/ibm,npu-link-index"); }
static void odd_atsd(struct tree *tr) { put(tr, "pci@0/ibm,mmio-atsd", "0123456789ab", 12); }
static void empty_atsd(struct tree *tr) { put(tr, "pci@0/ibm,mmio-atsd", "", 0); }

/* 40 nested nodes: the phandle walk stops at its depth limit. */
static void deep_tree(struct tree *tr)
{
	char rel[256] = "deep";

	make_dir(tr, rel);
	for (int i = 0; i < 40; i++) {
		strcat(rel, "/d");
		make_dir(tr, rel);
	}
}

static const struct breakage breakages[] = {
	{ "ibm,npu missing", GPU, no_npu, -ENOENT, "/" GPU_NODE " has no property ibm,npu" },
	{ "ibm,npu 3 bytes", GPU, short_npu, -EINVAL, "ibm,npu is 3 bytes" },
	{ "ibm,npu empty", GPU, empty_npu, -EINVAL, "ibm,npu is 0 bytes" },
	{ "ibm,npu too long", GPU, huge_npu, -E2BIG, "ibm,npu is longer than 4096 bytes" },
	{ "ibm,npu dangling", GPU, dangling_npu, -ENOENT, "no node has phandle 0x99" },
	{ "phandle twice", GPU, twin_phandle, -EINVAL, "2 nodes have phandle 0x10" },
	{ "memory-region missing", GPU, no_memory_region, -ENOENT, "has no property memory-region" },
	{ "memory-region missing (bridge)", BRIDGE, no_memory_region, -ENOENT, "memory-region" },
	{ "RAM reg 12 bytes", GPU, short_ram_reg, -EINVAL, "reg is 12 bytes, want 16" },
	{ "RAM reg 24 bytes", GPU, long_ram_reg, -EINVAL, "reg is 24 bytes, want 16" },
	{ "RAM size 0", GPU, zero_ram, -EINVAL, "not whole pages" },
	{ "RAM size odd", GPU, odd_ram, -EINVAL, "size 0x1001 is not whole pages" },
	{ "RAM wraps", GPU, wrapping_ram, -EINVAL, "wraps" },
	{ "tgt missing", GPU, no_tgt, -ENOENT, "no property ibm,device-tgt-addr" },
	{ "tgt 4 bytes", GPU, short_tgt, -EINVAL, "ibm,device-tgt-addr is 4 bytes, want 8" },
	{ "tgt 16 bytes", BRIDGE, long_tgt, -EINVAL, "ibm,device-tgt-addr is longer than 8 bytes" },
	{ "tgt a directory", BRIDGE, dir_tgt, -EINVAL, "is not a property" },
	{ "tgt a symlink", BRIDGE, link_tgt, -EINVAL, "is a symbolic link" },
	{ "speed missing", BRIDGE, no_speed, -ENOENT, "no property ibm,nvlink-speed" },
	{ "speed 8 bytes", BRIDGE, long_speed, -EINVAL, "ibm,nvlink-speed is longer than 4 bytes" },
	{ "ibm,gpu missing", BRIDGE, no_gpu, -ENOENT, "no property ibm,gpu" },
	{ "ibm,gpu dangling", BRIDGE, dangling_gpu, -ENOENT, "no node has phandle 0x77" },
	{ "ibm,nvlink missing", BRIDGE, no_nvlink, -ENOENT, "no property ibm,nvlink" },
	{ "link index missing", BRIDGE, no_link_index, -ENOENT, "ibm,npu-link-index" },
	{ "mmio-atsd 12 bytes", BRIDGE, odd_atsd, -EINVAL, "ibm,mmio-atsd is 12 bytes" },
	{ "mmio-atsd empty", BRIDGE, empty_atsd, -EINVAL, "ibm,mmio-atsd is 0 bytes" },
	{ "tree too deep", GPU, deep_tree, -ELOOP, "deeper than 32 levels" },
};

static void test_breakages(void **state)
{
	for (size_t i = 0; i < sizeof(breakages) / sizeof(breakages[0]); i++) {
		const struct breakage *b = &breakages[i];
		void *tree_state;
		struct tree *tr;
		struct nvl2_gpu gpu;
		struct nvl2_bridge br;
		int fds = test_count_open_fds();
		int ret;

		setup(&tree_state);
		tr = tree_state;
		b->apply(tr);
		open_tree(tr);
		ret = b->what == GPU ? nvl2_read_gpu(&tr->t, GPU_NODE, &gpu)
				     : nvl2_read_bridge(&tr->t, BRIDGE_NODE, &br);
		if (ret != b->err || !strstr(tr->t.err, b->says))
			fail_msg("%s: got %d '%s', want %d with '%s'", b->name, ret, tr->t.err,
				 b->err, b->says);
		teardown(&tree_state);
		assert_int_equal(test_count_open_fds(), fds);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bridge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atsd_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atsd_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_such_pci, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_functions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_of_node_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_paths, setup, teardown),
		cmocka_unit_test(test_breakages),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s FIXTURE\n", argv[0]);
		return 2;
	}
	fixture = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
