// SPDX-License-Identifier: MIT
/* Names and decoding shared by both forms of `vfiokit info`. */
#include <stdio.h>
#include <string.h>

#include "info.h"

const char *const info_region_flag_names[4] = { "READ", "WRITE", "MMAP", "CAPS" };
const char *const info_irq_flag_names[4] = { "EVENTFD", "MASKABLE", "AUTOMASKED", "NORESIZE" };
const char *const info_device_flag_names[9] = {
	"RESET", "PCI", "PLATFORM", "AMBA", "CCW", "AP", "FSL_MC", "CAPS", "CDX",
};

const char *info_region_name(const struct info_region *r, char *buf, size_t len)
{
	const struct vfk_cap *type;
	const char *name = vfk_pci_region_name(r->index);

	if (name)
		return name;
	type = r->ri ? vfk_capchain_find(&r->ri->chain, VFIO_REGION_INFO_CAP_TYPE) : NULL;
	if (!type)
		return "device-specific";
	name = vfk_region_type_name(type->u.type.type, type->u.type.subtype);
	if (name)
		return name;
	snprintf(buf, len, "type 0x%x/%u", type->u.type.type, type->u.type.subtype);
	return buf;
}

void info_flag_names(uint32_t flags, const char *const *names, size_t nr, char *buf,
		     size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < 32 && used < len; i++) {
		if (!(flags & (1u << i)))
			continue;
		if (i < nr)
			used += snprintf(buf + used, len - used, "%s%s", used ? " " : "", names[i]);
		else
			used += snprintf(buf + used, len - used, "%sbit%zu", used ? " " : "", i);
	}
	if (!used)
		snprintf(buf, len, "none");
}

void info_human_size(uint64_t size, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned int u = 0;
	uint64_t whole = size;

	while (whole >= 1024 && u < 6) {
		whole /= 1024;
		u++;
	}
	if (u && size % (1ull << (10 * u)))
		snprintf(buf, len, "%.1f %s", (double)size / (double)(1ull << (10 * u)), units[u]);
	else
		snprintf(buf, len, "%llu %s", (unsigned long long)whole, units[u]);
}

struct class_name {
	uint32_t code;     /* base << 8 | sub */
	const char *name;
};

static const struct class_name class_names[] = {
	{ 0x0000, "Non-VGA unclassified device" }, { 0x0001, "VGA compatible unclassified device" },
	{ 0x0100, "SCSI storage controller" }, { 0x0101, "IDE interface" },
	{ 0x0106, "SATA controller" }, { 0x0108, "Non-Volatile memory controller" },
	{ 0x0180, "Mass storage controller" }, { 0x0200, "Ethernet controller" },
	{ 0x0280, "Network controller" }, { 0x0207, "Infiniband controller" },
	{ 0x0300, "VGA compatible controller" }, { 0x0302, "3D controller" },
	{ 0x0380, "Display controller" }, { 0x0401, "Audio device" },
	{ 0x0403, "Audio device" }, { 0x0500, "RAM memory" }, { 0x0580, "Memory controller" },
	{ 0x0600, "Host bridge" }, { 0x0601, "ISA bridge" }, { 0x0604, "PCI bridge" },
	{ 0x0680, "Bridge" }, { 0x0880, "System peripheral" }, { 0x0c03, "USB controller" },
	{ 0x0c05, "SMBus" }, { 0x1080, "Encryption controller" },
	{ 0x1200, "Processing accelerators" }, { 0xff00, "Unassigned class" },
};

static const char *const base_names[] = {
	"Unclassified device", "Mass storage controller", "Network controller",
	"Display controller", "Multimedia controller", "Memory controller", "Bridge",
	"Communication controller", "Generic system peripheral", "Input device controller",
	"Docking station", "Processor", "Serial bus controller", "Wireless controller",
	"Intelligent controller", "Satellite communications controller",
	"Encryption controller", "Signal processing controller", "Processing accelerators",
	"Non-Essential Instrumentation",
};

const char *info_pci_class_name(uint32_t class_code)
{
	uint32_t sub = (class_code >> 8) & 0xffff, base = sub >> 8;

	for (size_t i = 0; i < sizeof(class_names) / sizeof(class_names[0]); i++)
		if (class_names[i].code == sub)
			return class_names[i].name;
	if (base < sizeof(base_names) / sizeof(base_names[0]))
		return base_names[base];
	return "Unknown class";
}

const char *info_pci_cap_name(uint16_t id, bool ext)
{
	static const char *const std_names[] = {
		[0x01] = "Power Management", [0x02] = "AGP", [0x03] = "Vital Product Data",
		[0x04] = "Slot Identification", [0x05] = "MSI", [0x06] = "CompactPCI Hot Swap",
		[0x07] = "PCI-X", [0x08] = "HyperTransport", [0x09] = "Vendor Specific",
		[0x0a] = "Debug port", [0x0b] = "CompactPCI central resource control",
		[0x0c] = "PCI Hot-plug", [0x0d] = "Bridge subsystem vendor/device ID",
		[0x0e] = "AGP 8x", [0x0f] = "Secure device", [0x10] = "Express",
		[0x11] = "MSI-X", [0x12] = "SATA HBA", [0x13] = "PCI Advanced Features",
		[0x14] = "Enhanced Allocation", [0x15] = "Flattening Portal Bridge",
	};
	static const char *const ext_names[] = {
		[0x01] = "Advanced Error Reporting", [0x02] = "Virtual Channel",
		[0x03] = "Device Serial Number", [0x04] = "Power Budgeting",
		[0x0b] = "Vendor Specific", [0x0d] = "Access Control Services",
		[0x0e] = "Alternative Routing-ID", [0x0f] = "Address Translation Service",
		[0x10] = "Single Root I/O Virtualization", [0x13] = "Page Request",
		[0x15] = "Resizable BAR", [0x17] = "TPH Requester", [0x18] = "Latency Tolerance",
		[0x19] = "Secondary PCI Express", [0x1b] = "Process Address Space ID",
		[0x1e] = "L1 PM Substates", [0x23] = "Designated Vendor-Specific",
	};

	if (ext)
		return id < sizeof(ext_names) / sizeof(ext_names[0]) ? ext_names[id] : NULL;
	return id < sizeof(std_names) / sizeof(std_names[0]) ? std_names[id] : NULL;
}

uint32_t info_cfg(const struct info_snapshot *s, size_t off, unsigned int width)
{
	uint32_t v = 0;

	if (off > s->config_len || width > s->config_len - off)
		return 0;
	for (unsigned int i = 0; i < width; i++)
		v |= (uint32_t)s->config[off + i] << (8 * i);
	return v;
}

static uint64_t bar_region_size(const struct info_snapshot *s, unsigned int bar, bool *known)
{
	for (uint32_t i = 0; i < s->nr_regions; i++) {
		const struct info_region *r = &s->regions[i];

		if (r->index == bar && r->ri) {
			*known = true;
			return r->ri->hdr.size;
		}
	}
	*known = false;
	return 0;
}

unsigned int info_pci_bars(const struct info_snapshot *s, struct info_bar bars[6])
{
	unsigned int n = 0;

	for (unsigned int bar = 0; bar < 6; bar++) {
		uint32_t v = info_cfg(s, 0x10 + 4 * bar, 4);
		struct info_bar b = { .index = bar, .io = v & 1 };
		bool known;

		b.mem64 = !b.io && ((v >> 1) & 3) == 2 && bar < 5;
		b.prefetchable = !b.io && (v & 8);
		b.address = b.io ? v & ~3u : v & ~0xfu;
		if (b.mem64)
			b.address |= (uint64_t)info_cfg(s, 0x14 + 4 * bar, 4) << 32;
		b.size = bar_region_size(s, bar, &known);
		if (known ? b.size != 0 : v != 0)
			bars[n++] = b;
		if (b.mem64)
			bar++;
	}
	return n;
}

/*
 * The lists come from the device: a cap may point anywhere, even at
 * itself. Stop at pointers out of range or into the header, and after as
 * many steps as caps could fit.
 */
void info_pci_caps_walk(const struct info_snapshot *s, bool ext,
			void (*fn)(void *ctx, uint16_t offset, uint16_t id, uint8_t version),
			void *ctx)
{
	unsigned int steps = ext ? (4096 - 256) / 4 : (256 - 64) / 4;
	uint32_t off;

	if (!ext) {
		if (!(info_cfg(s, 0x06, 2) & 0x10))  /* status: capabilities list */
			return;
		for (off = info_cfg(s, 0x34, 1) & 0xfc; off >= 0x40 && off < 256 && steps--;
		     off = info_cfg(s, off + 1, 1) & 0xfc)
			fn(ctx, (uint16_t)off, (uint16_t)info_cfg(s, off, 1), 0);
		return;
	}
	for (off = 0x100; off >= 0x100 && off + 4 <= s->config_len && steps--;) {
		uint32_t hdr = info_cfg(s, off, 4);

		if (!hdr || hdr == 0xffffffffu)
			return;
		fn(ctx, (uint16_t)off, hdr & 0xffff, (hdr >> 16) & 0xf);
		off = (hdr >> 20) & 0xffc;
	}
}
