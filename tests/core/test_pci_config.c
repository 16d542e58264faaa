// SPDX-License-Identifier: MIT
/* Unit tests of the emulated PCI config space (src/core/pci_config.c). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <linux/pci_regs.h>

#include <vfiokit/device.h>
#include <vfiokit/irq.h>
#include <vfiokit/pci_config.h>
#include <vfiokit/region.h>
#include <vfiokit/transport.h>

/* Only to play the device setting status bits the guest then clears. */
#include "core/device_internal.h"

static unsigned int written_calls;
static uint64_t written_offset;
static size_t written_count;

static void on_config_written(struct vfk_device *dev, uint64_t offset, size_t count)
{
	(void)dev;
	written_calls++;
	written_offset = offset;
	written_count = count;
}

static const struct vfk_device_ops test_ops = { .config_written = on_config_written };

static struct vfk_device *make_dev(bool pcie)
{
	struct vfk_device_desc desc = {
		.name = "cfgtest", .vendor_id = 0x10de, .device_id = 0x1db1,
		.subsys_vendor_id = 0x10de, .subsys_id = 0x1212,
		.class_code = 0x030200, .revision = 0xa1, .irq_pin = 1,
		.pcie = pcie, .ops = &test_ops,
	};
	struct vfk_device *dev = NULL;

	assert_int_equal(vfk_device_create(&desc, &dev), 0);
	return dev;
}

static void set_bar(struct vfk_device *dev, unsigned int bar, uint64_t size, uint32_t attrs)
{
	struct vfk_region_desc desc = {
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE, .size = size,
	};

	assert_int_equal(vfk_device_set_bar(dev, bar, &desc, attrs), 0);
}

static uint32_t rd(struct vfk_device *dev, uint64_t off, size_t len)
{
	uint8_t b[4] = { 0 };
	uint32_t v = 0;

	assert_int_equal(vfk_pci_config_read(dev, b, len, off), (ssize_t)len);
	for (size_t i = 0; i < len; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

static void wr(struct vfk_device *dev, uint64_t off, uint32_t v, size_t len)
{
	uint8_t b[4];

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	assert_int_equal(vfk_pci_config_write(dev, b, len, off), (ssize_t)len);
}

static void test_ids(void **state)
{
	struct vfk_device *dev = make_dev(false);

	(void)state;
	assert_int_equal(vfk_pci_config_size(dev), 256);
	assert_int_equal(rd(dev, PCI_VENDOR_ID, 2), 0x10de);
	assert_int_equal(rd(dev, PCI_DEVICE_ID, 2), 0x1db1);
	assert_int_equal(rd(dev, PCI_REVISION_ID, 1), 0xa1);
	assert_int_equal(rd(dev, PCI_CLASS_PROG, 1), 0x00);
	assert_int_equal(rd(dev, PCI_CLASS_DEVICE, 2), 0x0302);
	assert_int_equal(rd(dev, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(rd(dev, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x10de);
	assert_int_equal(rd(dev, PCI_SUBSYSTEM_ID, 2), 0x1212);
	assert_int_equal(rd(dev, PCI_INTERRUPT_PIN, 1), 1);
	/* No caps yet: no list bit, no pointer. */
	assert_int_equal(rd(dev, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
	assert_int_equal(rd(dev, PCI_CAPABILITY_LIST, 1), 0);
	assert_memory_equal(vfk_pci_config_bytes(dev), "\xde\x10\xb1\x1d", 4);
	vfk_device_destroy(dev);

	dev = make_dev(true);
	assert_int_equal(vfk_pci_config_size(dev), 4096);
	vfk_device_destroy(dev);
}

/* Write all-ones, read back the size mask, as a BIOS or Linux sizes a BAR. */
static uint32_t size_bar(struct vfk_device *dev, uint64_t off)
{
	wr(dev, off, 0xffffffff, 4);
	return rd(dev, off, 4);
}

static void test_bar_sizing(void **state)
{
	struct vfk_device *dev = make_dev(false);
	struct vfk_region_desc rom = { .flags = VFIO_REGION_INFO_FLAG_READ, .size = 0x10000 };

	(void)state;
	set_bar(dev, 0, 0x1000, 0);                                  /* 32-bit memory */
	set_bar(dev, 2, 8ull << 30, VFK_BAR_MEM64 | VFK_BAR_PREFETCH);  /* 8 GiB */
	set_bar(dev, 4, 256, VFK_BAR_IO);
	set_bar(dev, 5, 0x100000, VFK_BAR_PREFETCH);                 /* 32-bit prefetchable */
	assert_int_equal(vfk_device_set_rom(dev, &rom), 0);

	assert_int_equal(rd(dev, PCI_BASE_ADDRESS_0, 4), 0);
	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_0), 0xfffff000);
	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_1), 0);       /* unimplemented */
	assert_int_equal(rd(dev, PCI_BASE_ADDRESS_2, 4), 0xc);         /* 64-bit, prefetch */
	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_2), 0xc);      /* no low address bits */
	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_3), 0xfffffffe);
	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_4), 0xffffff01);
	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_5), 0xfff00008);
	wr(dev, PCI_ROM_ADDRESS, ~(uint32_t)PCI_ROM_ADDRESS_ENABLE, 4);
	assert_int_equal(rd(dev, PCI_ROM_ADDRESS, 4), 0xffff0000);
	assert_int_equal(size_bar(dev, PCI_ROM_ADDRESS), 0xffff0001);

	/* Programming addresses keeps only the decoded bits. */
	wr(dev, PCI_BASE_ADDRESS_0, 0xfebf1234, 4);
	assert_int_equal(rd(dev, PCI_BASE_ADDRESS_0, 4), 0xfebf1000);
	wr(dev, PCI_BASE_ADDRESS_3, 0x00000003, 4);
	assert_int_equal(rd(dev, PCI_BASE_ADDRESS_3, 4), 0x2);
	wr(dev, PCI_BASE_ADDRESS_4, 0xc001, 4);
	assert_int_equal(rd(dev, PCI_BASE_ADDRESS_4, 4), 0xc001);
	vfk_device_destroy(dev);
}

static void test_bar64_small_both_dwords(void **state)
{
	struct vfk_device *dev = make_dev(false);

	(void)state;
	set_bar(dev, 0, 0x10000, VFK_BAR_MEM64);
	assert_int_equal(rd(dev, PCI_BASE_ADDRESS_0, 4), 0x4);
	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_0), 0xffff0004);
	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_1), 0xffffffff);
	wr(dev, PCI_BASE_ADDRESS_0, 0x12340000, 4);
	wr(dev, PCI_BASE_ADDRESS_1, 0x00000080, 4);
	assert_int_equal(rd(dev, PCI_BASE_ADDRESS_0, 4), 0x12340004);
	assert_int_equal(rd(dev, PCI_BASE_ADDRESS_1, 4), 0x80);
	vfk_device_destroy(dev);
}

static void test_bar_invalid(void **state)
{
	struct vfk_device *dev = make_dev(false);
	struct vfk_region_desc big_io = {
		.flags = VFIO_REGION_INFO_FLAG_READ, .size = 0x20000,
	};

	(void)state;
	/* Above the 64 KiB port space: the config space refuses it. */
	assert_int_equal(vfk_device_set_bar(dev, 0, &big_io, VFK_BAR_IO), -EINVAL);
	assert_int_equal(size_bar(dev, PCI_BASE_ADDRESS_0), 0);
	vfk_device_destroy(dev);
}

/* Every byte outside the writable registers keeps its value under all-ones. */
static void test_read_only_bits(void **state)
{
	struct vfk_device *dev = make_dev(true);
	uint8_t before[4096], after[4096], ones[4096];
	static const size_t ro[][2] = {
		{ 0x00, 4 }, { 0x08, 4 }, { 0x0d, 3 }, { 0x28, 8 }, { 0x34, 1 },
		{ 0x3d, 3 },
	};

	(void)state;
	set_bar(dev, 0, 0x4000, 0);
	assert_int_equal(vfk_pci_add_pm_cap(dev), 0);
	assert_int_equal(vfk_pci_add_msi_cap(dev, 4, true, true), 0);
	assert_int_equal(vfk_pci_add_msix_cap(dev, 16, 0, 0x2000, 0, 0x3000), 0);
	assert_int_equal(vfk_pci_add_pcie_cap(dev, 3, 16), 0);
	assert_int_equal(vfk_pci_add_vendor_cap(dev, "abc", 3), 0);
	assert_int_equal(vfk_pci_add_ext_cap(dev, 0x000b, 1, "\1\0\0\0", 4, NULL, NULL), 0);
	memcpy(before, vfk_pci_config_bytes(dev), sizeof(before));
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(vfk_pci_config_write(dev, ones, sizeof(ones), 0), 4096);
	memcpy(after, vfk_pci_config_bytes(dev), sizeof(after));

	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		assert_memory_equal(before + ro[i][0], after + ro[i][0], ro[i][1]);
	/* Every capability's id and next pointer, and the MSI-X table size. */
	for (uint8_t off = before[PCI_CAPABILITY_LIST]; off; off = before[off + 1])
		assert_memory_equal(before + off, after + off, 2);
	/* The extended space past the one ext cap stays zero. */
	for (size_t i = 0x108; i < sizeof(after); i++)
		assert_int_equal(after[i], 0);
	assert_memory_equal(before + 0x100, after + 0x100, 8);
	/* Status: only the cap-list bit (the w1c bits were 0 and stay 0). */
	assert_int_equal(rd(dev, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	vfk_device_destroy(dev);
}

static void test_command_writable_bits(void **state)
{
	struct vfk_device *dev = make_dev(false);

	(void)state;
	wr(dev, PCI_COMMAND, 0xffff, 2);
	assert_int_equal(rd(dev, PCI_COMMAND, 2),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			 PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	wr(dev, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	assert_int_equal(rd(dev, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	wr(dev, PCI_INTERRUPT_LINE, 0x0b, 1);
	assert_int_equal(rd(dev, PCI_INTERRUPT_LINE, 1), 0x0b);
	wr(dev, PCI_CACHE_LINE_SIZE, 0x10, 1);
	assert_int_equal(rd(dev, PCI_CACHE_LINE_SIZE, 1), 0x10);
	vfk_device_destroy(dev);
}

static void test_status_w1c(void **state)
{
	struct vfk_device *dev = make_dev(false);
	uint16_t errs = PCI_STATUS_DETECTED_PARITY | PCI_STATUS_REC_MASTER_ABORT |
			PCI_STATUS_SIG_TARGET_ABORT;

	(void)state;
	assert_int_equal(vfk_pci_add_pm_cap(dev), 0);
	/* The device model raised three error bits. */
	dev->cfg.bytes[PCI_STATUS] |= (uint8_t)errs;
	dev->cfg.bytes[PCI_STATUS + 1] |= (uint8_t)(errs >> 8);
	wr(dev, PCI_STATUS, 0, 2);                      /* 0 clears nothing */
	assert_int_equal(rd(dev, PCI_STATUS, 2), errs | PCI_STATUS_CAP_LIST);
	wr(dev, PCI_STATUS, PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_CAP_LIST, 2);
	assert_int_equal(rd(dev, PCI_STATUS, 2),
			 PCI_STATUS_DETECTED_PARITY | PCI_STATUS_SIG_TARGET_ABORT |
			 PCI_STATUS_CAP_LIST);
	wr(dev, PCI_STATUS + 1, 0xff, 1);               /* byte write to the high half */
	assert_int_equal(rd(dev, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	vfk_device_destroy(dev);
}

static void test_cap_list_walk(void **state)
{
	struct vfk_device *dev = make_dev(true);
	static const uint8_t want[] = {
		PCI_CAP_ID_PM, PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX, PCI_CAP_ID_EXP, PCI_CAP_ID_VNDR,
		0x42,
	};
	uint8_t seen[8], off, custom_off = 0;
	struct vfio_irq_info info = { .argsz = sizeof(info) };
	size_t n = 0;

	(void)state;
	set_bar(dev, 2, 0x1000, VFK_BAR_MEM64);
	assert_int_equal(vfk_pci_add_pm_cap(dev), 0);
	assert_int_equal(vfk_pci_add_msi_cap(dev, 8, false, false), 0);
	assert_int_equal(vfk_pci_add_msix_cap(dev, 64, 2, 0, 2, 0x800), 0);
	assert_int_equal(vfk_pci_add_pcie_cap(dev, 4, 8), 0);
	assert_int_equal(vfk_pci_add_vendor_cap(dev, "xyz!", 4), 0);
	assert_int_equal(vfk_pci_add_cap(dev, 0x42, "\x01\x02\x03", 3, NULL, &custom_off), 0);

	assert_true(rd(dev, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (off = (uint8_t)rd(dev, PCI_CAPABILITY_LIST, 1); off && n < sizeof(seen);
	     off = (uint8_t)rd(dev, off + 1, 1)) {
		assert_true(off >= 0x40);
		assert_int_equal(off & 3, 0);
		seen[n++] = (uint8_t)rd(dev, off, 1);
		if (seen[n - 1] == PCI_CAP_ID_VNDR)
			assert_int_equal(rd(dev, off + 2, 1), 7);   /* length byte */
		if (seen[n - 1] == 0x42) {
			assert_int_equal(off, custom_off);
			assert_int_equal(rd(dev, off + 2, 3), 0x030201);
		}
	}
	assert_int_equal(off, 0);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(seen, want, sizeof(want));

	info.index = VFIO_PCI_MSI_IRQ_INDEX;
	assert_int_equal(vfk_device_irq_info(dev, &info), 0);
	assert_int_equal(info.count, 8);
	info.index = VFIO_PCI_MSIX_IRQ_INDEX;
	assert_int_equal(vfk_device_irq_info(dev, &info), 0);
	assert_int_equal(info.count, 64);
	assert_int_equal(dev->cfg.msix_table_bar, 2);
	/* Each standard capability only once. */
	assert_int_equal(vfk_pci_add_pm_cap(dev), -EEXIST);
	assert_int_equal(vfk_pci_add_msi_cap(dev, 1, false, false), -EEXIST);
	assert_int_equal(vfk_pci_add_msix_cap(dev, 1, 2, 0, 2, 0x800), -EEXIST);
	assert_int_equal(vfk_pci_add_pcie_cap(dev, 1, 1), -EEXIST);
	vfk_device_destroy(dev);
}

static uint8_t find_cap(struct vfk_device *dev, uint8_t id)
{
	for (uint8_t off = (uint8_t)rd(dev, PCI_CAPABILITY_LIST, 1); off;
	     off = (uint8_t)rd(dev, off + 1, 1))
		if (rd(dev, off, 1) == id)
			return off;
	fail_msg("capability %#x not found", id);
	return 0;
}

static void test_msi_layouts(void **state)
{
	struct vfk_device *dev = make_dev(false);
	uint8_t m;

	(void)state;
	assert_int_equal(vfk_pci_add_msi_cap(dev, 3, false, false), -EINVAL);
	assert_int_equal(vfk_pci_add_msi_cap(dev, 64, false, false), -EINVAL);
	assert_int_equal(vfk_pci_add_msi_cap(dev, 4, true, true), 0);
	m = find_cap(dev, PCI_CAP_ID_MSI);
	assert_int_equal(rd(dev, m + PCI_MSI_FLAGS, 2),
			 PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | (2 << 1));
	/* Enable and multiple-message-enable (up to capable) are writable, the rest is not. */
	wr(dev, m + PCI_MSI_FLAGS, 0xffff, 2);
	assert_int_equal(rd(dev, m + PCI_MSI_FLAGS, 2),
			 PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | (2 << 1) |
			 PCI_MSI_FLAGS_ENABLE | (2 << 4));
	wr(dev, m + PCI_MSI_ADDRESS_LO, 0xfee00003, 4);
	assert_int_equal(rd(dev, m + PCI_MSI_ADDRESS_LO, 4), 0xfee00000);
	wr(dev, m + PCI_MSI_ADDRESS_HI, 0x1, 4);
	assert_int_equal(rd(dev, m + PCI_MSI_ADDRESS_HI, 4), 1);
	wr(dev, m + PCI_MSI_DATA_64, 0x4041, 2);
	assert_int_equal(rd(dev, m + PCI_MSI_DATA_64, 2), 0x4041);
	/* One mask bit per vector; pending bits are read-only. */
	wr(dev, m + PCI_MSI_MASK_64, 0xffffffff, 4);
	assert_int_equal(rd(dev, m + PCI_MSI_MASK_64, 4), 0xf);
	wr(dev, m + PCI_MSI_MASK_64 + 4, 0xffffffff, 4);
	assert_int_equal(rd(dev, m + PCI_MSI_MASK_64 + 4, 4), 0);
	vfk_device_destroy(dev);

	/* 32-bit without masking: 10 bytes, so a following cap sits at +12. */
	dev = make_dev(false);
	assert_int_equal(vfk_pci_add_msi_cap(dev, 1, false, false), 0);
	assert_int_equal(vfk_pci_add_pm_cap(dev), 0);
	m = find_cap(dev, PCI_CAP_ID_MSI);
	assert_int_equal(rd(dev, m + PCI_MSI_FLAGS, 2), 0);
	assert_int_equal(find_cap(dev, PCI_CAP_ID_PM), m + 12);
	wr(dev, m + PCI_MSI_DATA_32, 0xbeef, 2);
	assert_int_equal(rd(dev, m + PCI_MSI_DATA_32, 2), 0xbeef);
	vfk_device_destroy(dev);
}

/* Multiple Message Enable above Multiple Message Capable reads back as capable. */
static void test_msi_mme_clamped_to_mmc(void **state)
{
	struct vfk_device *dev = make_dev(false);
	const uint32_t mmc4 = 2 << 1;   /* 4 vectors capable */
	uint8_t m;

	(void)state;
	assert_int_equal(vfk_pci_add_msi_cap(dev, 4, false, false), 0);
	m = find_cap(dev, PCI_CAP_ID_MSI);
	wr(dev, m + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | 1 << 4, 2);   /* 2 of 4: kept */
	assert_int_equal(rd(dev, m + PCI_MSI_FLAGS, 2), mmc4 | PCI_MSI_FLAGS_ENABLE | 1 << 4);
	wr(dev, m + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | 3 << 4, 2);   /* 8 of 4 */
	assert_int_equal(rd(dev, m + PCI_MSI_FLAGS, 2), mmc4 | PCI_MSI_FLAGS_ENABLE | 2 << 4);
	wr(dev, m + PCI_MSI_FLAGS, 7 << 4, 1);                          /* reserved, byte write */
	assert_int_equal(rd(dev, m + PCI_MSI_FLAGS, 2), mmc4 | 2 << 4);
	wr(dev, m + PCI_MSI_FLAGS, 0, 2);
	assert_int_equal(rd(dev, m + PCI_MSI_FLAGS, 2), mmc4);
	/* A dword write from the cap's start reaches Message Control too. */
	wr(dev, m, 0x00500000, 4);
	assert_int_equal(rd(dev, m + PCI_MSI_FLAGS, 2), mmc4 | 2 << 4);
	vfk_device_destroy(dev);

	/* One vector capable: every MME reads 0. */
	dev = make_dev(false);
	assert_int_equal(vfk_pci_add_msi_cap(dev, 1, true, false), 0);
	m = find_cap(dev, PCI_CAP_ID_MSI);
	wr(dev, m + PCI_MSI_FLAGS, 0xff, 1);
	assert_int_equal(rd(dev, m + PCI_MSI_FLAGS, 2), PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_ENABLE);
	vfk_device_destroy(dev);
}

static uint32_t pm_state(struct vfk_device *dev, uint8_t pm)
{
	return rd(dev, pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK;
}

/*
 * PowerState writes of a state PMC does not advertise complete but change
 * nothing (PCI PM spec); D0 and D3hot always exist.
 */
static void test_pm_unsupported_state_discarded(void **state)
{
	struct vfk_device *dev = make_dev(false);
	uint8_t p;

	(void)state;
	assert_int_equal(vfk_pci_add_pm_cap(dev), 0);
	p = find_cap(dev, PCI_CAP_ID_PM);
	assert_int_equal(rd(dev, p + PCI_PM_PMC, 2) & (PCI_PM_CAP_D1 | PCI_PM_CAP_D2), 0);
	wr(dev, p + PCI_PM_CTRL, 1, 2);
	assert_int_equal(pm_state(dev, p), 0);
	wr(dev, p + PCI_PM_CTRL, 2, 1);
	assert_int_equal(pm_state(dev, p), 0);
	wr(dev, p + PCI_PM_CTRL, 3, 2);
	assert_int_equal(pm_state(dev, p), 3);
	wr(dev, p + PCI_PM_CTRL, 0xfffffffe, 4);   /* D2, dword write */
	assert_int_equal(pm_state(dev, p), 3);
	assert_int_equal(rd(dev, p + PCI_PM_CTRL, 2),
			 PCI_PM_CTRL_NO_SOFT_RESET | PCI_PM_CTRL_STATE_MASK);
	wr(dev, p + PCI_PM_CTRL, 0, 2);
	assert_int_equal(pm_state(dev, p), 0);
	vfk_device_destroy(dev);
}

/*
 * With D1 and D2 advertised: from a low-power state only D0 or a deeper
 * state (as Linux's pci_set_power_state and the PM spec's transitions).
 */
static void test_pm_transitions(void **state)
{
	struct vfk_device *dev = make_dev(false);
	uint8_t body[6] = { 0 }, wmask[6] = { 0 }, p = 0;
	static const uint8_t steps[][2] = {   /* written, then read */
		{ 2, 2 }, { 1, 2 }, { 3, 3 }, { 1, 3 }, { 2, 3 }, { 0, 0 },
		{ 1, 1 }, { 2, 2 }, { 0, 0 }, { 1, 1 }, { 3, 3 }, { 0, 0 },
	};

	(void)state;
	body[0] = 3;                                                 /* PMC: v3 */
	body[1] = (PCI_PM_CAP_D1 | PCI_PM_CAP_D2) >> 8;
	wmask[2] = PCI_PM_CTRL_STATE_MASK;
	assert_int_equal(vfk_pci_add_cap(dev, PCI_CAP_ID_PM, body, sizeof(body), wmask, &p), 0);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		wr(dev, p + PCI_PM_CTRL, steps[i][0], 1);
		assert_int_equal(pm_state(dev, p), steps[i][1]);
	}
	vfk_device_destroy(dev);
}

static void test_msix(void **state)
{
	struct vfk_device *dev = make_dev(false);
	uint8_t x;

	(void)state;
	set_bar(dev, 0, 0x1000, 0);
	set_bar(dev, 1, 0x100, VFK_BAR_IO);
	/* Table past the BAR, in an I/O BAR, in an absent BAR, misaligned. */
	assert_int_equal(vfk_pci_add_msix_cap(dev, 257, 0, 0x0, 0, 0x800), -EINVAL);
	assert_int_equal(vfk_pci_add_msix_cap(dev, 4, 1, 0, 0, 0x800), -EINVAL);
	assert_int_equal(vfk_pci_add_msix_cap(dev, 4, 3, 0, 0, 0x800), -EINVAL);
	assert_int_equal(vfk_pci_add_msix_cap(dev, 4, 0, 0x4, 0, 0x800), -EINVAL);
	assert_int_equal(vfk_pci_add_msix_cap(dev, 0, 0, 0, 0, 0x800), -EINVAL);
	assert_int_equal(vfk_pci_add_msix_cap(dev, 4096, 0, 0, 0, 0x800), -EINVAL);
	/* A 64-bit BAR's size comes from both dwords: 4 KiB, not 4 GiB. */
	set_bar(dev, 2, 0x1000, VFK_BAR_MEM64);
	assert_int_equal(vfk_pci_add_msix_cap(dev, 257, 2, 0, 0, 0x800), -EINVAL);
	assert_int_equal(vfk_pci_add_msix_cap(dev, 4, 3, 0, 0, 0x800), -EINVAL);  /* upper half */
	assert_int_equal(rd(dev, PCI_CAPABILITY_LIST, 1), 0);
	assert_int_equal(dev->cfg.msix_table_bar, -1);

	assert_int_equal(vfk_pci_add_msix_cap(dev, 128, 0, 0, 0, 0x800), 0);
	x = find_cap(dev, PCI_CAP_ID_MSIX);
	assert_int_equal(rd(dev, x + PCI_MSIX_FLAGS, 2), 127);
	assert_int_equal(rd(dev, x + PCI_MSIX_TABLE, 4), 0);
	assert_int_equal(rd(dev, x + PCI_MSIX_PBA, 4), 0x800);
	wr(dev, x + PCI_MSIX_FLAGS, 0xffff, 2);
	assert_int_equal(rd(dev, x + PCI_MSIX_FLAGS, 2),
			 127 | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	wr(dev, x + PCI_MSIX_TABLE, 0xffffffff, 4);
	assert_int_equal(rd(dev, x + PCI_MSIX_TABLE, 4), 0);
	assert_int_equal(dev->cfg.msix_table_bar, 0);
	vfk_device_destroy(dev);
}

static void test_pcie_cap(void **state)
{
	struct vfk_device *dev = make_dev(false);
	uint8_t e;

	(void)state;
	assert_int_equal(vfk_pci_add_pcie_cap(dev, 3, 16), -EINVAL);   /* not PCIe */
	vfk_device_destroy(dev);
	dev = make_dev(true);
	assert_int_equal(vfk_pci_add_pcie_cap(dev, 3, 3), -EINVAL);
	assert_int_equal(vfk_pci_add_pcie_cap(dev, 7, 4), -EINVAL);
	assert_int_equal(vfk_pci_add_pcie_cap(dev, 3, 16), 0);
	e = find_cap(dev, PCI_CAP_ID_EXP);
	assert_int_equal(rd(dev, e + PCI_EXP_FLAGS, 2), 2);   /* v2 endpoint */
	assert_int_equal(rd(dev, e + PCI_EXP_LNKCAP, 4) & 0x3ff, 3 | 16 << 4);
	assert_int_equal(rd(dev, e + PCI_EXP_LNKSTA, 2) & 0x3ff, 3 | 16 << 4);
	assert_int_equal(rd(dev, e + PCI_EXP_LNKCAP2, 4), PCI_EXP_LNKCAP2_SLS_2_5GB |
			 PCI_EXP_LNKCAP2_SLS_5_0GB | PCI_EXP_LNKCAP2_SLS_8_0GB);
	/* Device status error bits are write-1-to-clear. */
	dev->cfg.bytes[e + PCI_EXP_DEVSTA] |= PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_URD;
	wr(dev, e + PCI_EXP_DEVSTA, PCI_EXP_DEVSTA_URD, 2);
	assert_int_equal(rd(dev, e + PCI_EXP_DEVSTA, 2), PCI_EXP_DEVSTA_CED);
	wr(dev, e + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_READRQ_4096B | PCI_EXP_DEVCTL_BCR_FLR, 2);
	assert_int_equal(rd(dev, e + PCI_EXP_DEVCTL, 2), PCI_EXP_DEVCTL_READRQ_4096B);
	/*
	 * Device Capabilities offers no extended tags, phantom functions or
	 * FLR, so their control bits are hardwired 0, as is Aux Power PM.
	 */
	assert_int_equal(rd(dev, e + PCI_EXP_DEVCAP, 4) &
			 (PCI_EXP_DEVCAP_EXT_TAG | PCI_EXP_DEVCAP_PHANTOM | PCI_EXP_DEVCAP_FLR), 0);
	wr(dev, e + PCI_EXP_DEVCTL, 0xffff, 2);
	assert_int_equal(rd(dev, e + PCI_EXP_DEVCTL, 2),
			 PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE | PCI_EXP_DEVCTL_FERE |
			 PCI_EXP_DEVCTL_URRE | PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_PAYLOAD |
			 PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ);
	vfk_device_destroy(dev);
}

static void test_ext_cap_list(void **state)
{
	struct vfk_device *dev = make_dev(true);
	uint16_t off1 = 0, off2 = 0;
	uint32_t h;
	uint8_t wmask[6] = { 0, 0, 0xff, 0xff, 0, 0 };

	(void)state;
	assert_int_equal(rd(dev, 0x100, 4), 0);   /* no extended caps */
	assert_int_equal(vfk_pci_add_ext_cap(dev, 0x000b, 1, "\x34\x12\0\0\0\0", 6, wmask,
					     &off1), 0);
	assert_int_equal(vfk_pci_add_ext_cap(dev, 0x0001, 2, NULL, 0, NULL, &off2), 0);
	assert_int_equal(vfk_pci_add_ext_cap(dev, 0, 1, NULL, 0, NULL, NULL), -EINVAL);
	assert_int_equal(vfk_pci_add_ext_cap(dev, 1, 16, NULL, 0, NULL, NULL), -EINVAL);
	assert_int_equal(off1, 0x100);
	assert_int_equal(off2, 0x10c);   /* 4 + 6 bytes, rounded to a dword */

	h = rd(dev, 0x100, 4);
	assert_int_equal(PCI_EXT_CAP_ID(h), 0x000b);
	assert_int_equal(PCI_EXT_CAP_VER(h), 1);
	assert_int_equal(PCI_EXT_CAP_NEXT(h), 0x10c);
	h = rd(dev, PCI_EXT_CAP_NEXT(h), 4);
	assert_int_equal(PCI_EXT_CAP_ID(h), 0x0001);
	assert_int_equal(PCI_EXT_CAP_VER(h), 2);
	assert_int_equal(PCI_EXT_CAP_NEXT(h), 0);
	/* Headers are read-only; the body follows its wmask. */
	wr(dev, 0x100, 0xffffffff, 4);
	assert_int_equal(PCI_EXT_CAP_NEXT(rd(dev, 0x100, 4)), 0x10c);
	wr(dev, 0x104, 0xffffffff, 4);
	assert_int_equal(rd(dev, 0x104, 4), 0xffff1234);
	vfk_device_destroy(dev);

	dev = make_dev(false);
	assert_int_equal(vfk_pci_add_ext_cap(dev, 0x000b, 1, NULL, 0, NULL, NULL), -EINVAL);
	vfk_device_destroy(dev);
}

static void test_cap_space_full(void **state)
{
	struct vfk_device *dev = make_dev(false);
	uint8_t data[200] = { 0 };   /* 2 + 30 = 32-byte caps: six fill 0x40..0xff */
	uint8_t off = 0;
	int n = 0;

	(void)state;
	while (vfk_pci_add_cap(dev, 0x09, data, 30, NULL, &off) == 0)
		n++;
	assert_int_equal(n, 6);
	assert_int_equal(off, 0xe0);
	assert_int_equal(vfk_pci_add_cap(dev, 0x09, NULL, 0, NULL, NULL), -ENOSPC);
	assert_int_equal(vfk_pci_add_pm_cap(dev), -ENOSPC);
	assert_int_equal(vfk_pci_add_vendor_cap(dev, data, 1), -ENOSPC);
	assert_int_equal(rd(dev, 0xe1, 1), 0);   /* the list still ends */
	vfk_device_destroy(dev);

	dev = make_dev(false);
	assert_int_equal(vfk_pci_add_vendor_cap(dev, data, 186), 0);   /* 0x40..0xfc */
	assert_int_equal(vfk_pci_add_cap(dev, 0x09, NULL, 0, NULL, NULL), -ENOSPC);
	assert_int_equal(vfk_pci_add_vendor_cap(dev, data, 200), -ENOSPC);
	assert_int_equal(vfk_pci_add_cap(dev, 0x09, NULL, 1, NULL, NULL), -EINVAL);
	vfk_device_destroy(dev);
}

static void test_unaligned_access(void **state)
{
	struct vfk_device *dev = make_dev(false);
	uint8_t buf[8];

	(void)state;
	set_bar(dev, 0, 0x1000, 0);
	set_bar(dev, 1, 0x10, 0);
	wr(dev, PCI_COMMAND, 0x0506, 2);
	/* 3 bytes at 0x3: device id high byte, then command. */
	assert_int_equal(vfk_pci_config_read(dev, buf, 3, 0x3), 3);
	assert_memory_equal(buf, "\x1d\x06\x05", 3);
	/* 2 bytes straddling BAR0's top byte and BAR1's bottom byte. */
	wr(dev, 0x13, 0xffff, 2);
	assert_int_equal(rd(dev, PCI_BASE_ADDRESS_0, 4), 0xff000000);
	assert_int_equal(rd(dev, PCI_BASE_ADDRESS_1, 4), 0xf0);
	assert_int_equal(written_offset, 0x13);
	assert_int_equal(written_count, 2);
	/* 7 bytes at an odd offset across the vendor/device/command/status. */
	assert_int_equal(vfk_pci_config_read(dev, buf, 7, 0x1), 7);
	assert_memory_equal(buf, "\x10\xb1\x1d\x06\x05\x00\x00", 7);
	/* Last byte of the space. */
	assert_int_equal(vfk_pci_config_read(dev, buf, 1, 0xff), 1);
	vfk_device_destroy(dev);
}

static void test_out_of_range(void **state)
{
	struct vfk_device *dev = make_dev(false);
	uint8_t buf[8] = { 0 };

	(void)state;
	assert_int_equal(vfk_pci_config_read(dev, buf, 1, 256), -EINVAL);
	assert_int_equal(vfk_pci_config_read(dev, buf, 2, 255), -EINVAL);
	assert_int_equal(vfk_pci_config_write(dev, buf, 4, 0x100), -EINVAL);
	assert_int_equal(vfk_pci_config_read(dev, buf, 2, UINT64_MAX), -EINVAL);
	assert_int_equal(vfk_pci_config_read(dev, buf, SIZE_MAX, 1), -EINVAL);
	assert_int_equal(vfk_pci_config_write(dev, buf, 2, UINT64_MAX - 1), -EINVAL);
	assert_int_equal(vfk_pci_config_read(dev, buf, 0, 0), 0);
	vfk_device_destroy(dev);

	dev = make_dev(true);
	assert_int_equal(vfk_pci_config_read(dev, buf, 4, 0xffc), 4);
	assert_int_equal(vfk_pci_config_read(dev, buf, 4, 0xffe), -EINVAL);
	assert_int_equal(vfk_pci_config_read(dev, buf, 1, 4096), -EINVAL);
	vfk_device_destroy(dev);
}

static void test_reset_restores(void **state)
{
	struct vfk_device *dev = make_dev(false);
	uint8_t before[256];
	uint8_t m;

	(void)state;
	set_bar(dev, 0, 0x1000, 0);
	assert_int_equal(vfk_pci_add_msi_cap(dev, 2, true, false), 0);
	memcpy(before, vfk_pci_config_bytes(dev), sizeof(before));
	m = find_cap(dev, PCI_CAP_ID_MSI);
	wr(dev, PCI_COMMAND, 0x0407, 2);
	wr(dev, PCI_BASE_ADDRESS_0, 0xfe000000, 4);
	wr(dev, PCI_INTERRUPT_LINE, 10, 1);
	wr(dev, m + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
	assert_memory_not_equal(vfk_pci_config_bytes(dev), before, sizeof(before));
	assert_int_equal(vfk_device_reset(dev), 0);
	assert_memory_equal(vfk_pci_config_bytes(dev), before, sizeof(before));
	vfk_device_destroy(dev);
}

static void test_config_written_hook(void **state)
{
	struct vfk_device *dev = make_dev(false);
	unsigned int calls = written_calls;

	(void)state;
	wr(dev, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(written_calls, calls + 1);
	assert_int_equal(written_offset, PCI_COMMAND);
	assert_int_equal(written_count, 2);
	wr(dev, PCI_VENDOR_ID, 0, 2);   /* read-only, still reported as written */
	assert_int_equal(written_calls, calls + 2);
	vfk_device_destroy(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_bar_sizing),
		cmocka_unit_test(test_bar64_small_both_dwords),
		cmocka_unit_test(test_bar_invalid),
		cmocka_unit_test(test_read_only_bits),
		cmocka_unit_test(test_command_writable_bits),
		cmocka_unit_test(test_status_w1c),
		cmocka_unit_test(test_cap_list_walk),
		cmocka_unit_test(test_msi_layouts),
		cmocka_unit_test(test_msi_mme_clamped_to_mmc),
		cmocka_unit_test(test_pm_unsupported_state_discarded),
		cmocka_unit_test(test_pm_transitions),
		cmocka_unit_test(test_msix),
		cmocka_unit_test(test_pcie_cap),
		cmocka_unit_test(test_ext_cap_list),
		cmocka_unit_test(test_cap_space_full),
		cmocka_unit_test(test_unaligned_access),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_reset_restores),
		cmocka_unit_test(test_config_written_hook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
