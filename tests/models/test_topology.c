// SPDX-License-Identifier: MIT
/* NVLink pairing, its inconsistency cases, the printout and --dts through dtc. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "nvlink_topology.h"

#define T0 0x3e000000000ull
#define T1 0x3c000000000ull
#define APERTURE (128ull << 30)

static struct vfk_nvl_gpu gpu(const char *name, uint64_t tgt)
{
	return (struct vfk_nvl_gpu){ name, 9, APERTURE, true, tgt };
}

static struct vfk_nvl_bridge bridge(const char *name, uint64_t tgt, uint64_t atsd)
{
	return (struct vfk_nvl_bridge){ name, 9, atsd, true, tgt, true, 0x9, -2 };
}

static void test_pairs_by_tgt(void **state)
{
	struct vfk_nvl_gpu g[2] = { gpu("g0", T0), gpu("g1", T1) };
	struct vfk_nvl_bridge b[4] = { bridge("b0", T1, 4096), bridge("b1", T0, 4096),
				       bridge("b2", T0, 0), bridge("b3", T1, 4096) };
	struct vfk_nvl_issue issues[4];

	assert_int_equal(vfk_nvl_pair(g, 2, b, 4, issues, 4), 0);
	assert_int_equal(b[0].gpu, 1);
	assert_int_equal(b[1].gpu, 0);
	assert_int_equal(b[2].gpu, 0);
	assert_int_equal(b[3].gpu, 1);
}

static void expect_one_issue(struct vfk_nvl_gpu *g, size_t ng, struct vfk_nvl_bridge *b,
			     size_t nb, enum vfk_nvl_issue_kind kind, unsigned int a,
			     const char *text)
{
	struct vfk_nvl_issue issues[4];
	char line[256];

	assert_int_equal(vfk_nvl_pair(g, ng, b, nb, issues, 4), 1);
	assert_int_equal(issues[0].kind, kind);
	assert_int_equal(issues[0].a, a);
	vfk_nvl_issue_describe(&issues[0], g, b, line, sizeof(line));
	assert_non_null(strstr(line, text));
}

static void test_bridge_without_gpu(void **state)
{
	struct vfk_nvl_gpu g[1] = { gpu("g0", T0) };
	struct vfk_nvl_bridge b[2] = { bridge("b0", T0, 4096), bridge("stray", 0x1234, 4096) };

	expect_one_issue(g, 1, b, 2, VFK_NVL_BRIDGE_WITHOUT_GPU, 1,
			 "bridge stray: tgt 0x0000000000001234 matches no GPU");
	assert_int_equal(b[1].gpu, -1);
	assert_int_equal(b[0].gpu, 0);
}

static void test_shared_tgt(void **state)
{
	struct vfk_nvl_gpu g[3] = { gpu("g0", T0), gpu("g1", T1), gpu("g2", T0) };
	struct vfk_nvl_bridge b[1] = { bridge("b0", T0, 4096) };
	struct vfk_nvl_issue issues[4];
	char line[256];

	assert_int_equal(vfk_nvl_pair(g, 3, b, 1, issues, 4), 1);
	assert_int_equal(issues[0].kind, VFK_NVL_SHARED_TGT);
	assert_int_equal(issues[0].a, 0);
	assert_int_equal(issues[0].b, 2);
	vfk_nvl_issue_describe(&issues[0], g, b, line, sizeof(line));
	assert_string_equal(line, "GPUs g0 and g2 report the same tgt 0x000003e000000000");
	assert_int_equal(b[0].gpu, 0);
}

static void test_missing_caps(void **state)
{
	struct vfk_nvl_gpu g[1] = { gpu("g0", T0) };
	struct vfk_nvl_bridge b[1] = { bridge("b0", T0, 4096) };

	g[0].has_tgt = false;
	expect_one_issue(g, 1, b, 0, VFK_NVL_GPU_NO_SSATGT, 0,
			 "GPU g0: GPU RAM region has no NVLINK2_SSATGT");
	g[0].has_tgt = true;
	b[0].has_tgt = false;
	expect_one_issue(g, 1, b, 1, VFK_NVL_BRIDGE_NO_SSATGT, 0,
			 "bridge b0: ATSD region has no NVLINK2_SSATGT");
	assert_int_equal(b[0].gpu, -1);
	b[0].has_tgt = true;
	b[0].has_speed = false;
	expect_one_issue(g, 1, b, 1, VFK_NVL_BRIDGE_NO_LNKSPD, 0,
			 "bridge b0: ATSD region has no NVLINK2_LNKSPD");
	assert_int_equal(b[0].gpu, 0);
}

static void test_issue_count_beyond_max(void **state)
{
	struct vfk_nvl_bridge b[3] = { bridge("a", 1, 0), bridge("b", 2, 0), bridge("c", 3, 0) };
	struct vfk_nvl_issue issues[1];

	assert_int_equal(vfk_nvl_pair(NULL, 0, b, 3, issues, 1), 3);
	assert_int_equal(issues[0].a, 0);
}

static char *capture(void (*fn)(FILE *, void *), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f, arg);
	fclose(f);
	return buf;
}

struct scene {
	struct vfk_nvl_gpu g[2];
	struct vfk_nvl_bridge b[5];
};

static void scene_init(struct scene *s)
{
	*s = (struct scene){
		{ gpu("g0", T0), gpu("g1", T1) },
		{ bridge("b0", T0, 4096), bridge("b1", T0, 0), bridge("b2", T1, 65536),
		  bridge("b3", T1, 4096), bridge("stray", 7, 4096) },
	};
	vfk_nvl_pair(s->g, 2, s->b, 5, NULL, 0);
}

static void print_scene(FILE *f, void *arg)
{
	struct scene *s = arg;

	vfk_nvl_print(f, s->g, 2, s->b, 5);
}

static void test_print(void **state)
{
	struct scene s;
	char *text;

	scene_init(&s);
	text = capture(print_scene, &s);
	assert_non_null(strstr(text, "GPU g0\n    tgt   0x000003e000000000\n"
				     "    RAM   128 GiB aperture (region 9)\n"
				     "    link  b0  speed 0x9  ATSD 4 KiB (region 9)\n"
				     "    link  b1  speed 0x9  ATSD none (region 9, size 0)\n"
				     "GPU g1\n"));
	assert_non_null(strstr(text, "    link  b2  speed 0x9  ATSD 64 KiB (region 9)\n"));
	assert_non_null(strstr(text, "unpaired bridge\n    link  stray"));
	free(text);
}

static void dts_scene(FILE *f, void *arg)
{
	struct scene *s = arg;

	vfk_nvl_write_dts(f, s->g, 2, s->b, 5);
}

/* Compile source with dtc, then decompile: the canonical text to check. */
static char *dtc_roundtrip(const char *source)
{
	char dir[] = "/tmp/vfk-dts-XXXXXX", src[64], dtb[64], cmd[256];
	char *out = NULL;
	size_t len = 0;
	FILE *f, *p;
	int c;

	assert_non_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/t.dts", dir);
	snprintf(dtb, sizeof(dtb), "%s/t.dtb", dir);
	f = fopen(src, "w");
	assert_non_null(f);
	fputs(source, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "dtc -q -I dts -O dtb -o %s %s && dtc -q -I dtb -O dts %s",
		 dtb, src, dtb);
	p = popen(cmd, "r");
	assert_non_null(p);
	f = open_memstream(&out, &len);
	while ((c = fgetc(p)) != EOF)
		fputc(c, f);
	fclose(f);
	assert_int_equal(pclose(p), 0);
	unlink(src);
	unlink(dtb);
	rmdir(dir);
	return out;
}

static void test_dts_compiles(void **state)
{
	struct scene s;
	char *src, *dts;

	scene_init(&s);
	src = capture(dts_scene, &s);
	dts = dtc_roundtrip(src);
	/* The bridge b2 of GPU g1: its tgt, speed and the memory it points at. */
	assert_non_null(strstr(dts, "memory@400000000000 {"));
	assert_non_null(strstr(dts, "memory@402000000000 {"));
	assert_non_null(strstr(dts, "compatible = \"ibm,coherent-device-memory\";"));
	assert_non_null(strstr(dts, "ibm,associativity = <0x04 0x02 0x02 0x02 0x02>;"));
	assert_non_null(strstr(dts, "reg = <0x4000 0x00 0x20 0x00>;"));
	assert_non_null(strstr(dts, "ibm,device-tgt-addr = <0x3c0 0x00>;"));
	assert_non_null(strstr(dts, "ibm,device-tgt-addr = <0x3e0 0x00>;"));
	assert_non_null(strstr(dts, "ibm,nvlink-speed = <0x09>;"));
	assert_non_null(strstr(dts, "ibm,npu = <"));
	assert_non_null(strstr(dts, "ibm,gpu = <"));
	assert_non_null(strstr(dts, "ibm,nvlink = <"));
	assert_non_null(strstr(dts, "memory-region = <"));
	assert_non_null(strstr(dts, "compatible = \"ibm,npu-link\";"));
	/* Three ATSD registers among the paired bridges (b1 has none). */
	assert_non_null(strstr(dts, "ibm,mmio-atsd = <0x8000 0x00 0x8000 0x10000 0x8000 0x20000>;"));
	/* The stray bridge is left out: four bridges, four links. */
	assert_null(strstr(src, "bridge4"));
	assert_non_null(strstr(dts, "link@3 {"));
	assert_null(strstr(dts, "link@4 {"));
	free(src);
	free(dts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs_by_tgt),
		cmocka_unit_test(test_bridge_without_gpu),
		cmocka_unit_test(test_shared_tgt),
		cmocka_unit_test(test_missing_caps),
		cmocka_unit_test(test_issue_count_beyond_max),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_dts_compiles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
