// SPDX-License-Identifier: MIT
/* The real `vfiokit info` binary ($VFIOKIT_BIN) against the fixture device. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <pci/pci.h>

#include <vfiokit/client.h>

#include "fixture.h"

static struct fixture fix;
static char out[1 << 20];

static int setup(void **state)
{
	return fixture_start(&fix);
}

static int teardown(void **state)
{
	fixture_stop(&fix);
	return 0;
}

/* Run `vfiokit info ARGS` (ARGS from the printf format) with stderr folded
 * into out; the exit status. */
static int __attribute__((format(printf, 1, 2))) run_info(const char *fmt, ...)
{
	char args[256], cmd[512];
	va_list ap;
	size_t n;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s' info %s 2>&1", getenv("VFIOKIT_BIN"), args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect(const char *line)
{
	if (!strstr(out, line))
		fail_msg("missing \"%s\" in:\n%s", line, out);
}

static void quiet(char *msg, ...)
{
	(void)msg;
}

static void __attribute__((noreturn)) die(char *msg, ...)
{
	fail_msg("libpci: %s", msg);
	abort();
}

/* libpci for names from pci.ids, as vfiokit looks them up (udev's hwdb off). */
static struct pci_access *names_open(void)
{
	struct pci_access *a = pci_alloc();
	char param[] = "hwdb.disable", value[] = "1";

	assert_non_null(a);
	a->warning = quiet;
	a->debug = quiet;
	a->error = die;
	pci_set_param(a, param, value);
	return a;
}

/*
 * The fixture's names as libpci gives them in lspci's numeric mode n (0
 * names, 1 ids, 2 both): the class, vendor+device and subsystem, each
 * into its buffer. The names are checked to be real pci.ids entries, so
 * the test is about names and not about libpci's "Device 1db1" fallback.
 */
static void pci_names(int n, char cls[128], char dev[256], char sub[256])
{
	struct pci_access *a = names_open();
	char exact[256];

	a->numeric_ids = 0;
	assert_non_null(pci_lookup_name(a, exact, sizeof(exact), PCI_LOOKUP_DEVICE |
					PCI_LOOKUP_NO_NUMBERS, 0x10de, 0x1db1));
	assert_non_null(pci_lookup_name(a, exact, sizeof(exact), PCI_LOOKUP_VENDOR |
					PCI_LOOKUP_NO_NUMBERS, 0x10de));
	assert_non_null(pci_lookup_name(a, exact, sizeof(exact), PCI_LOOKUP_CLASS |
					PCI_LOOKUP_NO_NUMBERS, 0x0302));
	a->numeric_ids = n;
	pci_lookup_name(a, cls, 128, PCI_LOOKUP_CLASS, 0x0302);
	pci_lookup_name(a, dev, 256, PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE, 0x10de, 0x1db1);
	pci_lookup_name(a, sub, 256, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE,
			0x10de, 0x1db1, 0x10de, 0x1212);
	pci_cleanup(a);
}

/* The device line and Subsystem: line in numeric mode n, as lspci prints them. */
static void expect_device_line(int n)
{
	char cls[128], dev[256], sub[256], line[800];

	pci_names(n, cls, dev, sub);
	snprintf(line, sizeof(line), "(vfio-user): %s: %s (rev a1)\n", cls, dev);
	expect(line);
	snprintf(line, sizeof(line), "\tSubsystem: %s\n", sub);
	expect(line);
}

static void test_text(void **state)
{
	assert_int_equal(run_info("-vv %s", fix.sock), 0);
	expect_device_line(0);
	expect("flags RESET PCI; 11 regions, 5 IRQ types");
	expect("Region 0 BAR0: size 0x400000 (4 MiB) offset 0x0 flags READ WRITE MMAP CAPS");
	expect("\tcap SPARSE_MMAP v1 @32: 2 areas");
	expect("\t\tarea 0: offset 0x0 size 0x1000 (4 KiB)");
	expect("\t\tarea 1: offset 0x2000 size 0x3fe000 (4.0 MiB)");
	expect("Region 3 BAR3: size 0x4000 (16 KiB)");
	expect("\tcap MSIX_MAPPABLE v1 @32");
	expect("Region 7 CONFIG: size 0x1000 (4 KiB)");
	expect("Region 8: absent");
	expect("Region 9 NVIDIA NVLink2 RAM: size 0x10000 (64 KiB)");
	expect("\tcap TYPE v1 @32: type 0x800010de subtype 1 (NVIDIA NVLink2 RAM)");
	expect("\tcap NVLINK2_SSATGT v1 @48: tgt 0x3e0000000000");
	expect("\tcap id 0x4242 v3 @64: unknown, 16 bytes");
	expect("\t\t42 42 03 00 00 00 00 00 01 02 03 04 05 06 07 08");
	expect("Region 10 IBM NVLink2 ATSD: size 0x0 (0 B)");
	expect("\tcap NVLINK2_LNKSPD v1 @64: link speed 9");
	expect("\tinfo: argsz 80, 2 requests, cap_offset 32");
	expect("IRQ 0 INTx: count 1 flags EVENTFD MASKABLE AUTOMASKED");
	expect("IRQ 2 MSI-X: count 8");
	expect("\tvendor 10de device 1db1 subsystem 10de:1212 revision a1");
	expect("\tclass 030200 ");
	expect("\tBAR0: memory at 0x0 (64-bit) [size=4 MiB]\n");
	expect("\tBAR3: memory at 0x0 (32-bit) [size=16 KiB]\n");
	/* Only implemented BARs: not the upper half of BAR0, nor empty slots. */
	assert_null(strstr(out, "\tBAR1:"));
	assert_null(strstr(out, "\tBAR2:"));
	assert_null(strstr(out, "\tBAR4:"));
	assert_null(strstr(out, "\tBAR5:"));
	expect("] MSI-X: Enable- Count=8 Masked-\n\t\tVector table: BAR=3 offset=00000000\n"
	       "\t\tPBA: BAR=3 offset=00000800\n");
	expect("] Power Management version 3\n");
	expect("] MSI: Enable- Count=1/4 Maskable- 64bit+\n");
	expect("] Express (v2) Endpoint, MSI 00\n");
	expect("\t\tLnkCap:\tPort #0, Speed 8GT/s, Width x8, ASPM not supported\n");
	expect("\t\tLnkSta:\tSpeed 8GT/s, Width x8\n");
	expect("\tControl: I/O- Mem- BusMaster- ");
}

/* The fixture's config space as the client API reads it, the reference for the dumps. */
static void read_config(uint8_t *cfg, size_t len)
{
	struct vfk_client *c;
	char err[256];

	assert_int_equal(vfk_client_open(fix.sock, NULL, &c, err, sizeof(err)), 0);
	assert_int_equal(vfk_client_config_read(c, 0, cfg, len), (ssize_t)len);
	vfk_client_close(c);
}

/* -x dumps n bytes, lspci's way: "%02x:" then " %02x" per byte, 16 a line, then a blank line. */
static void expect_dump(const uint8_t *cfg, size_t n)
{
	char line[80], *at, *dump = strstr(out, "\n00: ");

	assert_non_null(dump);
	at = dump + 1;
	for (size_t off = 0; off < n; off += 16) {
		int used = snprintf(line, sizeof(line), "%02zx:", off);

		for (size_t i = off; i < off + 16; i++)
			used += snprintf(line + used, sizeof(line) - (size_t)used, " %02x", cfg[i]);
		snprintf(line + used, sizeof(line) - (size_t)used, "\n");
		if (strncmp(at, line, strlen(line)))
			fail_msg("expected \"%s\" at offset 0x%zx of the dump, got:\n%.200s", line, off,
				 at);
		at += strlen(line);
	}
	assert_string_equal(at, "\n");     /* nothing after it but lspci's blank line */
}

static void test_hex(void **state)
{
	static uint8_t cfg[4096];

	read_config(cfg, sizeof(cfg));
	assert_int_equal(run_info("-x %s", fix.sock), 0);
	expect_dump(cfg, 64);
	assert_int_equal(run_info("-xxx %s", fix.sock), 0);
	expect_dump(cfg, 256);
	assert_int_equal(run_info("-xxxx %s", fix.sock), 0);
	expect_dump(cfg, 4096);
	expect("\n100: ");
	expect("\nff0: ");
	assert_int_equal(run_info("--hex --hex --hex %s", fix.sock), 0);
	expect_dump(cfg, 256);
	/* Not a PCI address: a slot line for lspci -F precedes the dump. */
	expect("\n00:00.0 ");
	assert_int_equal(run_info("%s", fix.sock), 0);
	assert_null(strstr(out, "\n00: "));
}

/* lspci reads the dump and decodes what vfiokit decodes, line for line. */
static void test_lspci_reads_dump(void **state)
{
	static char lspci[1 << 16];
	char path[128], cmd[400], *line, *save;
	int checked = 0;
	FILE *f, *p;
	size_t n;

	assert_int_equal(run_info("-vv -xxx %s", fix.sock), 0);
	snprintf(path, sizeof(path), "%s/info.out", fix.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(out, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "lspci -O hwdb.disable=1 -F '%s' -vv 2>/dev/null", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(lspci, 1, sizeof(lspci) - 1, p);
	lspci[n] = '\0';
	assert_int_equal(pclose(p), 0);
	/* One device, and it is ours: its line ends as our device line does. */
	line = strchr(out, ':');
	assert_non_null(line);
	assert_int_equal(strncmp(lspci, "00:00.0 ", 8), 0);
	assert_int_equal(strncmp(lspci + 8, line + 2, strcspn(line + 2, "\n")), 0);
	for (line = strtok_r(lspci, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* Our lines: Subsystem, Control, Status, Interrupt, every capability
		 * line of PM, MSI, MSI-X and the Express registers we decode. */
		if (!strncmp(line, "\tRegion ", 8) || !strncmp(line, "\t\t\t ", 4))
			continue;
		if (strstr(line, "DevCap2:") || strstr(line, "Ctl2:") || strstr(line, "Sta2:"))
			continue;
		if (!strncmp(line, "00:00.0 ", 8))
			continue;
		expect(line);
		checked++;
	}
	/* Subsystem, Control, Status, Interrupt; PM 1+2 lines, MSI 1+1, MSI-X 1+2,
	 * Express 1 + DevCap 2, DevCtl 3, DevSta 1, LnkCap 2, LnkCtl 2, LnkSta 2, LnkCap2 1. */
	if (checked < 26)
		fail_msg("only %d of lspci's lines compared:\n%s", checked, lspci);
	expect("\tCapabilities: [");
}

static void test_names(void **state)
{
	char cls[128], dev[256], sub[256], line[800];

	assert_int_equal(run_info("%s", fix.sock), 0);
	expect_device_line(0);
	assert_int_equal(run_info("-n %s", fix.sock), 0);
	expect_device_line(1);
	expect("(vfio-user): 0302: 10de:1db1 (rev a1)\n");
	expect("\tclass 030200\n");
	assert_int_equal(run_info("-nn %s", fix.sock), 0);
	expect_device_line(2);
	pci_names(0, cls, dev, sub);
	snprintf(line, sizeof(line), "(vfio-user): %s [0302]: %s [10de:1db1] (rev a1)\n", cls, dev);
	expect(line);
	assert_int_equal(run_info("--numeric --numeric %s", fix.sock), 0);
	expect(line);
}

static void test_kernel_vfio_user(void **state)
{
	assert_int_equal(run_info("-k %s", fix.sock), 0);
	expect("\tKernel driver in use: none (a vfio-user device: its server drives it, "
	       "no IOMMU group)\n");
	assert_int_equal(run_info("%s", fix.sock), 0);
	assert_null(strstr(out, "Kernel driver"));
}

static void test_one_region(void **state)
{
	assert_int_equal(run_info("--region 10 %s", fix.sock), 0);
	expect("Region 10 IBM NVLink2 ATSD");
	assert_null(strstr(out, "Region 9"));
	assert_null(strstr(out, "IRQ 0"));
	/* A region the device lacks is bad input. */
	assert_int_equal(run_info("--region 11 %s", fix.sock), 2);
	expect("no region 11 (the device has 11)");
	assert_int_equal(run_info("--region 0 -x %s", fix.sock), 2);
	assert_string_equal(out, "vfiokit info: -x dumps config space, which --region leaves out\n");
}

static struct json_object *get(struct json_object *o, const char *path)
{
	char key[64];
	const char *dot;

	while (o && *path) {
		dot = strchr(path, '.');
		snprintf(key, sizeof(key), "%.*s", (int)(dot ? dot - path : (long)strlen(path)), path);
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)atoi(key));
		else if (!json_object_object_get_ex(o, key, &o))
			o = NULL;
		path = dot ? dot + 1 : "";
	}
	if (!o)
		fail_msg("no %s", path);
	return o;
}

/* Whether o has key, with the value null. */
static bool null_member(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && !v;
}

static uint64_t num(struct json_object *root, const char *path)
{
	return json_object_get_uint64(get(root, path));
}

static const char *str(struct json_object *root, const char *path)
{
	return json_object_get_string(get(root, path));
}

/* Regions are listed present ones only: 0..7, then 9 and 10 at positions 8, 9. */
static void test_json(void **state)
{
	char class_name[128], vendor_name[128], device_name[256];
	struct pci_access *a = names_open();
	struct json_object *j;

	assert_non_null(pci_lookup_name(a, class_name, sizeof(class_name), PCI_LOOKUP_CLASS |
					PCI_LOOKUP_NO_NUMBERS, 0x0302));
	assert_non_null(pci_lookup_name(a, vendor_name, sizeof(vendor_name), PCI_LOOKUP_VENDOR |
					PCI_LOOKUP_NO_NUMBERS, 0x10de));
	assert_non_null(pci_lookup_name(a, device_name, sizeof(device_name), PCI_LOOKUP_DEVICE |
					PCI_LOOKUP_NO_NUMBERS, 0x10de, 0x1db1));
	pci_cleanup(a);

	assert_int_equal(run_info("--json %s", fix.sock), 0);
	j = json_tokener_parse(out);
	assert_non_null(j);
	assert_string_equal(str(j, "schema"), "vfiokit-info/1");
	assert_string_equal(str(j, "backend"), "vfio-user");
	assert_int_equal(num(j, "device.num_regions"), 11);
	assert_string_equal(str(j, "device.flag_names.1"), "PCI");
	assert_int_equal(json_object_array_length(get(j, "regions")), 10);
	assert_string_equal(str(j, "regions.0.name"), "BAR0");
	assert_int_equal(num(j, "regions.0.size"), 0x400000);
	assert_string_equal(str(j, "regions.0.caps.0.name"), "SPARSE_MMAP");
	assert_int_equal(num(j, "regions.0.caps.0.areas.1.offset"), 0x2000);
	assert_int_equal(num(j, "regions.0.caps.0.areas.1.size"), 0x3fe000);
	assert_string_equal(str(j, "regions.3.caps.0.name"), "MSIX_MAPPABLE");
	assert_int_equal(num(j, "regions.8.index"), 9);
	assert_string_equal(str(j, "regions.8.name"), "NVIDIA NVLink2 RAM");
	assert_int_equal(num(j, "regions.8.caps.0.type"), 0x800010de);
	assert_int_equal(num(j, "regions.8.caps.1.tgt"), 0x3e0000000000ull);
	assert_string_equal(str(j, "regions.8.caps.2.status"), "unknown-id");
	assert_int_equal(num(j, "regions.8.caps.2.id"), 0x4242);
	assert_int_equal(num(j, "regions.8.caps.2.version"), 3);
	assert_string_equal(str(j, "regions.8.caps.2.raw"), "4242030000000000" "0102030405060708");
	assert_int_equal(num(j, "regions.9.size"), 0);
	assert_int_equal(num(j, "regions.9.argsz"), 80);
	assert_int_equal(num(j, "regions.9.info_calls"), 2);
	assert_int_equal(num(j, "regions.9.caps.2.link_speed"), 9);
	assert_int_equal(num(j, "irqs.2.count"), 8);
	assert_string_equal(str(j, "irqs.0.name"), "INTx");
	assert_int_equal(num(j, "pci.vendor_id"), 0x10de);
	assert_int_equal(num(j, "pci.class_code"), 0x030200);
	assert_string_equal(str(j, "pci.class_name"), class_name);
	assert_string_equal(str(j, "pci.vendor_name"), vendor_name);
	assert_string_equal(str(j, "pci.device_name"), device_name);
	assert_string_equal(str(j, "pci.capabilities.0.name"), "Power Management");
	assert_int_equal(num(j, "pci.capabilities.0.version"), 3);
	assert_string_equal(str(j, "pci.capabilities.1.name"), "MSI");
	assert_int_equal(num(j, "pci.capabilities.1.vectors_max"), 4);
	assert_int_equal(num(j, "pci.capabilities.1.vectors"), 1);
	assert_false(json_object_get_boolean(get(j, "pci.capabilities.1.enabled")));
	assert_true(json_object_get_boolean(get(j, "pci.capabilities.1.addr64")));
	assert_string_equal(str(j, "pci.capabilities.2.name"), "MSI-X");
	assert_int_equal(num(j, "pci.capabilities.2.table_size"), 8);
	assert_int_equal(num(j, "pci.capabilities.2.table_bar"), 3);
	assert_int_equal(num(j, "pci.capabilities.2.pba_offset"), 0x800);
	assert_string_equal(str(j, "pci.capabilities.3.name"), "Express");
	assert_string_equal(str(j, "pci.capabilities.3.link_speed"), "8GT/s");
	assert_string_equal(str(j, "pci.capabilities.3.link_speed_max"), "8GT/s");
	assert_int_equal(num(j, "pci.capabilities.3.link_width"), 8);
	assert_int_equal(num(j, "pci.capabilities.3.port_type"), 0);
	assert_true(null_member(get(j, "pci"), "capabilities_error"));   /* a whole list */
	assert_string_equal(str(j, "regions.8.caps.1.tgt_hex"), "0x3e0000000000");
	assert_string_equal(str(j, "regions.0.size_hex"), "0x400000");
	assert_string_equal(str(j, "pci.bars.0.kind"), "mem64");
	assert_int_equal(num(j, "pci.bars.0.size"), 0x400000);
	assert_int_equal(num(j, "pci.bars.1.index"), 3);
	assert_int_equal(json_object_array_length(get(j, "pci.bars")), 2);
	json_object_put(j);
}

static void test_errors(void **state)
{
	assert_int_equal(run_info("%s/none.sock", fix.dir), 1);
	expect("vfiokit info: ");
	expect("none.sock: no such socket\n");
	assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));   /* one line */
	assert_int_equal(run_info("%s", ""), 2);   /* no socket named */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_one_region),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_lspci_reads_dump),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_kernel_vfio_user),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_errors),
	};

	if (!getenv("VFIOKIT_BIN"))
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
