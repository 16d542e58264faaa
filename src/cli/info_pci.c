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

size_t info_hex_len(const struct info_snapshot *s, int hex)
{
	size_t want = hex >= 4 ? 4096 : hex == 3 ? 256 : 64;

	return want < s->config_len ? want : s->config_len;
}
