// SPDX-License-Identifier: MIT
/*
 * info_caps.c and info_kernel.c on crafted config spaces and a fake sysfs:
 * capabilities decoded as lspci -vv decodes the same bytes (lspci -F on a
 * dump of them), malformed capability lists that must end, and -k's lines.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <linux/pci_regs.h>

#include "info.h"

static struct info_snapshot snap;
static char out[1 << 16];
static char tmpdir[64];

static void put(size_t off, uint32_t v, unsigned int width)
{
	for (unsigned int i = 0; i < width; i++)
		snap.config[off + i] = (uint8_t)(v >> (8 * i));
}

/* A type-0 header of a PCIe device (4 KiB) with its capability list starting at first. */
static void header(uint8_t first)
{
	memset(&snap, 0, sizeof(snap));
	snap.config_len = 4096;
	put(0x00, 0x1234, 2);
	put(0x02, 0x5678, 2);
	put(0x06, first ? 0x10 : 0, 2);      /* status: capabilities list */
	put(0x0a, 0x0880, 2);
	put(0x34, first, 1);
}

static void cap(uint8_t off, uint8_t id, uint8_t next)
{
	put(off, id, 1);
	put(off + 1u, next, 1);
}

static void ext_cap(uint16_t off, uint16_t id, uint8_t ver, uint16_t next)
{
	put(off, id | (uint32_t)ver << 16 | (uint32_t)next << 20, 4);
}

/* What fn printed on stdout, into out. */
static void capture(void (*fn)(void))
{
	char path[128];
	int saved = dup(1), fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stdout", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stdout);
	dup2(fd, 1);
	fn();
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	assert_true(n >= 0);
	out[n] = '\0';
	close(fd);
}

static void print_vv(void)
{
	info_caps_print(&snap, 2);
}

/* lspci -vv's output for the snapshot, via a dump file in lspci -x format. */
static void run_lspci(char *buf, size_t len)
{
	char path[128], cmd[256];
	FILE *f, *p;
	size_t n;

	snprintf(path, sizeof(path), "%s/dump", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "00:00.0 crafted\n");
	for (size_t off = 0; off < snap.config_len; off += 16) {
		fprintf(f, "%02zx:", off);
		for (size_t i = off; i < off + 16; i++)
			fprintf(f, " %02x", snap.config[i]);
		fprintf(f, "\n");
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd), "lspci -F '%s' -vv 2>/dev/null", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(buf, 1, len - 1, p);
	buf[n] = '\0';
	assert_int_equal(pclose(p), 0);
	if (!strstr(buf, "\tCapabilities: "))
		fail_msg("lspci decoded no capabilities (is pciutils installed?):\n%s", buf);
}

static bool has_line(const char *text, const char *line, bool prefix)
{
	size_t len = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (prefix || p[len] == '\n'))
			return true;
	return false;
}

/* Registers we do not decode: these blocks of lspci's are skipped. */
static bool undecoded_block(const char *line)
{
	static const char *const blocks[] = {
		"\t\tDevCap2:", "\t\tDevCtl2:", "\t\tLnkCtl2:", "\t\tLnkSta2:",
		"\t\tSltCap:", "\t\tSltCtl:", "\t\tSltSta:", "\t\tRootCap:", "\t\tRootCtl:",
		"\t\tRootSta:",
	};

	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
		if (!strncmp(line, blocks[i], strlen(blocks[i])))
			return true;
	return false;
}

/*
 * Every capability line lspci prints is ours: a capability's first line
 * (ours may stop before lspci's decoding of an extended capability's
 * contents), and every detail line of PM, MSI, MSI-X, Express and
 * vendor-specific capabilities. Returns how many lines were compared.
 */
static int compare_with_lspci(void)
{
	static char lspci[1 << 16];
	char *line, *save;
	bool detailed = false, skip = false;
	int compared = 0;

	capture(print_vv);
	run_lspci(lspci, sizeof(lspci));
	for (line = strtok_r(lspci, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "\tCapabilities: ", 15)) {
			char head[256];
			const char *close = strchr(line, ']');

			/* Ours is the same line, or for extended caps its start. */
			snprintf(head, sizeof(head), "%s", line);
			if (!has_line(out, head, false) && !(close && close - line > 18 &&
							     (head[close - line + 1] = '\0',
							      has_line(out, head, true))))
				fail_msg("lspci's \"%s\" not in:\n%s", line, out);
			detailed = strstr(line, "Power Management") || strstr(line, "MSI") ||
				   strstr(line, "Express") || strstr(line, "Vendor Specific");
			skip = false;
			compared++;
			continue;
		}
		if (strncmp(line, "\t\t", 2) || !detailed)
			continue;
		if (!strncmp(line, "\t\t\t", 3) ? skip : (skip = undecoded_block(line)))
			continue;
		if (!has_line(out, line, false))
			fail_msg("lspci's \"%s\" not in:\n%s", line, out);
		compared++;
	}
	return compared;
}

/* An endpoint with a bit of everything set. */
static void test_endpoint_like_lspci(void **state)
{
	header(0x40);
	cap(0x40, 0x01, 0x48);                          /* PM v3, PME from D3hot/cold, 375 mA */
	put(0x42, 0x0003 | 0x0008 | 0x01c0 | 0x0200 | 0xc000, 2);
	put(0x44, 0x0003 | 0x0008 | 0x0100 | 0x8000, 2);
	cap(0x48, 0x05, 0x60);                          /* MSI 32-bit, 8 vectors, masking */
	put(0x4a, 0x0001 | 0x0006 | 0x0020 | 0x0100, 2);
	put(0x4c, 0xfee00000, 4);
	put(0x50, 0x4021, 2);
	put(0x54, 0x0000000f, 4);
	put(0x58, 0x00000002, 4);
	cap(0x60, 0x11, 0x6c);                          /* MSI-X, 64 vectors, enabled, masked */
	put(0x62, 0x8000 | 0x4000 | 63, 2);
	put(0x64, 0x00002004, 4);
	put(0x68, 0x00003004, 4);
	cap(0x6c, 0x09, 0x78);                          /* vendor specific, 8 bytes */
	put(0x6e, 0x08, 1);
	put(0x6f, 0x04030201, 4);
	cap(0x78, 0x10, 0x00);                          /* PCIe v2 endpoint */
	put(0x7a, 0x0002 | 0x0000 | 0x0200, 2);
	/* DevCap: 512 B payload, ext tag, L0s <1us, L1 <8us, RBE, FLR, 25 W */
	put(0x7c, 0x2 | 0x20 | (4u << 6) | (3u << 9) | (1u << 15) | (1u << 28) | (250u << 18), 4);
	put(0x80, 0x000f | 0x0010 | 0x0020 | 0x0800 | (1u << 5) | (2u << 12) | 0x8000, 2);
	put(0x82, 0x0001 | 0x0004 | 0x0020, 2);
	/* LnkCap: port 3, 16GT/s x16, L0s and L1 with exit latencies, ClockPM, BwNot */
	put(0x84, 4 | (16u << 4) | (3u << 10) | (2u << 12) | (5u << 15) | (1u << 18) |
	    (1u << 21) | (3u << 24), 4);
	put(0x88, 0x0002 | 0x0008 | 0x0040 | 0x0100, 2);
	put(0x8a, 1 | (4u << 4) | 0x1000 | 0x2000, 2);  /* 2.5GT/s x4: downgraded */
	put(0x9c, 0x1e, 4);                             /* LnkCap2: 2.5 to 16GT/s */
	ext_cap(0x100, 0x0001, 2, 0x140);               /* AER */
	ext_cap(0x140, 0x0003, 1, 0x150);               /* serial number */
	put(0x144, 0x01020304, 4);
	put(0x148, 0x05060708, 4);
	ext_cap(0x150, 0x0b, 1, 0x000);                 /* vendor specific */
	assert_true(compare_with_lspci() >= 20);
	assert_non_null(strstr(out, "\t\tLnkSta:\tSpeed 2.5GT/s (downgraded), Width x4 (downgraded)\n"));
	assert_non_null(strstr(out, "\t\tData: 01 02 03 04 00\n"));
}

/* Port types print other fields: a root port with a slot, 64-bit MSI with masking. */
static void test_root_port_like_lspci(void **state)
{
	header(0x40);
	cap(0x40, 0x05, 0x60);
	put(0x42, 0x0080 | 0x0100 | 0x0004, 2);
	put(0x44, 0xfee01000, 4);
	put(0x48, 0x00000001, 4);
	put(0x4c, 0x1234, 2);
	put(0x50, 0x3, 4);
	put(0x54, 0x1, 4);
	cap(0x60, 0x10, 0x00);
	put(0x62, 0x0002 | (PCI_EXP_TYPE_ROOT_PORT << 4) | 0x0100 | (5u << 9), 2);
	put(0x64, 0x1 | (1u << 15), 4);
	put(0x6c, 3 | (8u << 4) | (1u << 10) | (1u << 20) | (1u << 24), 4);
	put(0x70, 0x0001, 2);
	put(0x72, 3 | (8u << 4) | 0x2000, 2);
	assert_true(compare_with_lspci() >= 10);
	assert_non_null(strstr(out, "Express (v2) Root Port (Slot+), MSI 05\n"));
}

static unsigned int calls;

static void count(void *ctx, uint16_t off, uint16_t id, uint8_t version)
{
	assert_true(off < snap.config_len);
	calls++;
}

static enum info_chain_end walk(bool ext, uint16_t *where)
{
	calls = 0;
	return info_pci_caps_walk(&snap, ext, count, NULL, where);
}

static void test_malformed_std(void **state)
{
	uint16_t where;

	header(0x40);                                   /* 0x40 -> 0x48 -> 0x40 */
	cap(0x40, 0x01, 0x48);
	cap(0x48, 0x05, 0x40);
	assert_int_equal(walk(false, &where), INFO_CHAIN_LOOP);
	assert_int_equal(calls, 2);
	assert_int_equal(where, 0x40);
	capture(print_vv);
	assert_non_null(strstr(out, "\tCapabilities: [40] <chain looped>\n"));

	header(0x40);                                   /* itself */
	cap(0x40, 0x09, 0x41);                          /* low bits are masked: 0x40 */
	assert_int_equal(walk(false, &where), INFO_CHAIN_LOOP);
	assert_int_equal(calls, 1);

	header(0x10);                                   /* into the header */
	assert_int_equal(walk(false, &where), INFO_CHAIN_BAD_POINTER);
	assert_int_equal(calls, 0);
	assert_int_equal(where, 0x10);
	capture(print_vv);
	assert_string_equal(out, "\tCapabilities: [10] <chain broken>\n");

	header(0x40);                                   /* all-ones: nothing there */
	cap(0x40, 0x01, 0x80);
	memset(snap.config + 0x80, 0xff, 0x80);
	assert_int_equal(walk(false, &where), INFO_CHAIN_BAD_POINTER);
	assert_int_equal(calls, 1);
	assert_int_equal(where, 0x80);

	header(0x80);                                   /* a short space from the server */
	snap.config_len = 64;
	assert_int_equal(walk(false, &where), INFO_CHAIN_BAD_POINTER);
	assert_int_equal(calls, 0);

	header(0x40);                                   /* no capability-list bit: no list */
	put(0x06, 0, 2);
	cap(0x40, 0x01, 0x00);
	assert_int_equal(walk(false, &where), INFO_CHAIN_OK);
	assert_int_equal(calls, 0);
}

static void expect_truncated(uint8_t off, const char *first_line)
{
	char want[256];

	capture(print_vv);
	snprintf(want, sizeof(want), "\tCapabilities: [%02x] %s\n\t\t<truncated: ", off, first_line);
	if (!strstr(out, want))
		fail_msg("no \"%s\" in:\n%s", want, out);
}

/* Capabilities whose registers would pass 0xff are named, not decoded. */
static void test_truncated_caps(void **state)
{
	header(0xf0);
	cap(0xf0, 0x10, 0);                             /* Express needs 0x14 bytes */
	put(0xf2, 0x0002, 2);
	expect_truncated(0xf0, "Express (v2) Endpoint, MSI 00");
	assert_null(strstr(out, "DevCap"));

	header(0xec);
	cap(0xec, 0x05, 0);                             /* MSI 64-bit + mask needs 24 */
	put(0xee, 0x0180, 2);
	expect_truncated(0xec, "MSI: Enable- Count=1/1 Maskable+ 64bit+");

	header(0xf8);
	cap(0xf8, 0x11, 0);                             /* MSI-X needs 12 */
	expect_truncated(0xf8, "MSI-X: Enable- Count=1 Masked-");

	header(0xfc);
	cap(0xfc, 0x09, 0);                             /* vendor data past the end */
	put(0xfe, 0x20, 1);
	expect_truncated(0xfc, "Vendor Specific Information: Len=20 <?>");

	header(0xfc);
	cap(0xfc, 0x01, 0);                             /* PM needs 8 */
	put(0xfe, 0x0003, 2);
	expect_truncated(0xfc, "Power Management version 3");
}

static void test_malformed_ext(void **state)
{
	uint16_t where;

	header(0);
	ext_cap(0x100, 0x0001, 1, 0x100);               /* itself */
	assert_int_equal(walk(true, &where), INFO_CHAIN_LOOP);
	assert_int_equal(calls, 1);
	assert_int_equal(where, 0x100);
	capture(print_vv);
	assert_string_equal(out, "\tCapabilities: [100 v1] Advanced Error Reporting\n"
			    "\tCapabilities: [100] <chain looped>\n");

	header(0);                                      /* back into standard space */
	ext_cap(0x100, 0x0003, 1, 0x040);
	assert_int_equal(walk(true, &where), INFO_CHAIN_BAD_POINTER);
	assert_int_equal(calls, 1);
	assert_int_equal(where, 0x40);

	header(0);                                      /* 0x100 -> 0x200 -> 0x104 -> 0x200 */
	ext_cap(0x100, 0x0002, 1, 0x200);
	ext_cap(0x200, 0x0004, 1, 0x104);
	ext_cap(0x104, 0x0005, 1, 0x200);
	assert_int_equal(walk(true, &where), INFO_CHAIN_LOOP);
	assert_int_equal(calls, 3);

	header(0);                                      /* no extended space at all */
	snap.config_len = 256;
	ext_cap(0x100, 0x0001, 1, 0);
	assert_int_equal(walk(true, &where), INFO_CHAIN_OK);
	assert_int_equal(calls, 0);

	header(0);                                      /* ends at the last dword */
	ext_cap(0x100, 0x0001, 1, 0xffc);
	ext_cap(0xffc, 0x000b, 1, 0);
	assert_int_equal(walk(true, &where), INFO_CHAIN_OK);
	assert_int_equal(calls, 2);
}

/* Random bytes: every walk ends, within one call per dword, inside the space. */
static void test_random_chains(void **state)
{
	unsigned int seed = 12345;

	for (int round = 0; round < 3000; round++) {
		header(0);
		for (size_t i = 0; i < sizeof(snap.config); i++)
			snap.config[i] = (uint8_t)rand_r(&seed);
		snap.config_len = round % 3 ? 4096 : (size_t)(rand_r(&seed) % 4097);
		put(0x06, 0x10, 2);
		walk(false, NULL);
		assert_true(calls <= (256 - 64) / 4);
		walk(true, NULL);
		assert_true(calls <= (4096 - 256) / 4);
		capture(print_vv);
	}
}

/* ---- -k against a fake sysfs tree ---- */

static void mkpath(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/sys/%s", tmpdir, rel);
	for (char *p = path + strlen(tmpdir) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	mkdir(path, 0755);
}

static void add_device(const char *addr, const char *drv, const char *group)
{
	char rel[256], target[256], path[PATH_MAX];

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", addr);
	mkpath(rel);
	if (drv) {
		snprintf(target, sizeof(target), "../../../../bus/pci/drivers/%s", drv);
		snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/driver", tmpdir, addr);
		assert_int_equal(symlink(target, path), 0);
	}
	if (group) {
		snprintf(target, sizeof(target), "../../../../kernel/iommu_groups/%s", group);
		snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/iommu_group", tmpdir, addr);
		assert_int_equal(symlink(target, path), 0);
		snprintf(rel, sizeof(rel), "kernel/iommu_groups/%s/devices/%s", group, addr);
		mkpath(rel);
	}
}

static const char *k_target, *k_backend;

static void print_k(void)
{
	info_kernel_print(stdout, k_target, k_backend);
}

static const char *kernel_lines(const char *target, const char *backend)
{
	k_target = target;
	k_backend = backend;
	capture(print_k);
	return out;
}

static void test_kernel(void **state)
{
	char root[PATH_MAX], addr[INFO_PCI_ADDR_LEN];
	struct info_kernel k;

	snprintf(root, sizeof(root), "%s/sys", tmpdir);
	setenv("VFIOKIT_SYSFS_ROOT", root, 1);
	add_device("0000:01:00.0", "vfio-pci", "7");
	add_device("0000:01:00.1", "snd_hda_intel", "7");
	add_device("0000:02:00.0", NULL, NULL);

	assert_int_equal(info_kernel_read("0000:01:00.0", &k), 0);
	assert_string_equal(k.driver, "vfio-pci");
	assert_int_equal(k.iommu_group, 7);
	assert_int_equal(info_kernel_read("0000:02:00.0", &k), 0);
	assert_string_equal(k.driver, "");
	assert_int_equal(k.iommu_group, -1);
	assert_int_equal(info_kernel_read("0000:09:00.0", &k), -ENODEV);

	assert_string_equal(kernel_lines("0000:01:00.0", "kernel"),
			    "\tKernel driver in use: vfio-pci\n\tIOMMU group: 7\n");
	assert_string_equal(kernel_lines("01:00.0", "kernel"),
			    "\tKernel driver in use: vfio-pci\n\tIOMMU group: 7\n");
	assert_string_equal(kernel_lines("0000:02:00.0", "kernel"),
			    "\tKernel driver in use: none\n\tIOMMU group: none\n");
	assert_string_equal(kernel_lines("/dev/vfio/7", "kernel"),
			    "\tIOMMU group: 7\n"
			    "\tIOMMU group device 0000:01:00.0: kernel driver in use: vfio-pci\n"
			    "\tIOMMU group device 0000:01:00.1: kernel driver in use: snd_hda_intel\n");
	assert_non_null(strstr(kernel_lines("0000:09:00.0", "kernel"), "unknown (0000:09:00.0: "));
	assert_non_null(strstr(kernel_lines("/tmp/x.sock", "vfio-user"),
			       "\tKernel driver in use: none (a vfio-user device"));
	unsetenv("VFIOKIT_SYSFS_ROOT");

	assert_true(info_pci_address("0000:3b:1f.7", addr));
	assert_string_equal(addr, "0000:3b:1f.7");
	assert_true(info_pci_address("3B:00.1", addr));
	assert_string_equal(addr, "0000:3b:00.1");
	assert_false(info_pci_address("00:20.0", addr));    /* device > 0x1f */
	assert_false(info_pci_address("00:03.8", addr));
	assert_false(info_pci_address("00:03.0x", addr));
	assert_false(info_pci_address("/tmp/dev.sock", addr));
	assert_false(info_pci_address("-1:03.0", addr));
}

static int setup(void **state)
{
	strcpy(tmpdir, "/tmp/vfk-info-caps-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint_like_lspci),
		cmocka_unit_test(test_root_port_like_lspci),
		cmocka_unit_test(test_malformed_std),
		cmocka_unit_test(test_truncated_caps),
		cmocka_unit_test(test_malformed_ext),
		cmocka_unit_test(test_random_chains),
		cmocka_unit_test(test_kernel),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
