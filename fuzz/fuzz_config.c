// SPDX-License-Identifier: MIT
/*
 * Fuzz target: config space emulation. An input is a sequence of accesses
 * of any size, alignment and offset (inside the space, across its end, at
 * offsets that wrap), through vfk_pci_config_read/write and through
 * region index 7, then a device reset. Checked: accesses inside the space
 * succeed whole, the others fail; both paths read the same bytes; the IDs
 * never change; reset restores the space byte for byte.
 */
#include <string.h>

#include <vfiokit/log.h>
#include <vfiokit/pci_config.h>
#include <vfiokit/region.h>
#include <vfiokit/transport.h>

#include "fuzz.h"
#include "fuzz_device.h"

enum op { OP_CFG_READ, OP_CFG_WRITE, OP_REGION_READ, OP_REGION_WRITE, OP_RESET, OP_COUNT };

static struct vfk_device *dev;
static uint8_t initial[VFK_PCIE_CONFIG_SIZE];
static uint8_t buf[0x10000 + 16], other[0x10000 + 16];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	vfk_log_set_level(VFK_LOG_ERROR);
	dev = fuzz_device_create();
	FUZZ_CHECK(dev != NULL);
	FUZZ_CHECK(vfk_pci_config_size(dev) == sizeof(initial));
	memcpy(initial, vfk_pci_config_bytes(dev), sizeof(initial));
	return 0;
}

/* Sizes 0..8 mostly; around the whole space's size, or up to 64 KiB, sometimes. */
static size_t pick_count(struct fuzz_input *in)
{
	uint8_t b = (uint8_t)fuzz_uint(in, 1);

	if (b == 0xff)
		return (size_t)fuzz_uint(in, 2) + 1;
	if (b >= 0xf0)
		return VFK_PCIE_CONFIG_SIZE + b - 0xf8;
	return b % 9;
}

/* Offsets inside and past the space; bit 7 of flags wraps near 2^64. */
static uint64_t pick_offset(struct fuzz_input *in, uint8_t flags)
{
	uint64_t off = fuzz_uint(in, 2);

	return (flags & 0x80) ? UINT64_MAX - off : off;
}

static bool inside(uint64_t offset, size_t count)
{
	return offset < VFK_PCIE_CONFIG_SIZE && count <= VFK_PCIE_CONFIG_SIZE - offset;
}

static void check_result(ssize_t ret, uint64_t offset, size_t count)
{
	if (count == 0)
		FUZZ_CHECK(ret <= 0);   /* empty: either answer is sound */
	else if (inside(offset, count))
		FUZZ_CHECK(ret == (ssize_t)count);
	else
		FUZZ_CHECK(ret < 0);
}

static void do_read(uint64_t offset, size_t count, bool via_region)
{
	ssize_t a, b;

	a = via_region ? vfk_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, buf, count, offset)
		       : vfk_pci_config_read(dev, buf, count, offset);
	check_result(a, offset, count);
	if (a <= 0)
		return;
	/* Reads have no side effects in config space: the other path agrees. */
	b = via_region ? vfk_pci_config_read(dev, other, count, offset)
		       : vfk_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, other, count, offset);
	FUZZ_CHECK(a == b);
	FUZZ_CHECK(memcmp(buf, other, count) == 0);
}

static void do_write(struct fuzz_input *in, uint64_t offset, size_t count, bool via_region)
{
	size_t got;
	const uint8_t *data = fuzz_bytes(in, count, &got);
	ssize_t ret;

	memcpy(buf, data, got);
	memset(buf + got, 0xff, count - got);
	ret = via_region ? vfk_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX, buf, count, offset)
			 : vfk_pci_config_write(dev, buf, count, offset);
	check_result(ret, offset, count);
	FUZZ_CHECK(memcmp(vfk_pci_config_bytes(dev), initial, 4) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { .data = data, .size = size };

	while (fuzz_left(&in) >= 4) {
		uint8_t flags = (uint8_t)fuzz_uint(&in, 1);
		size_t count = pick_count(&in);
		uint64_t offset = pick_offset(&in, flags);

		switch ((flags & 0x7f) % OP_COUNT) {
		case OP_CFG_READ: do_read(offset, count, false); break;
		case OP_REGION_READ: do_read(offset, count, true); break;
		case OP_CFG_WRITE: do_write(&in, offset, count, false); break;
		case OP_REGION_WRITE: do_write(&in, offset, count, true); break;
		case OP_RESET: FUZZ_CHECK(vfk_device_reset(dev) == 0); break;
		}
	}
	FUZZ_CHECK(vfk_device_reset(dev) == 0);
	FUZZ_CHECK(memcmp(vfk_pci_config_bytes(dev), initial, sizeof(initial)) == 0);
	return 0;
}
