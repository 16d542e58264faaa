// SPDX-License-Identifier: MIT
/* `vfiokit info` for humans, in the spirit of lspci -v. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "info.h"

#define NFLAGS(a) (sizeof(a) / sizeof((a)[0]))

static void print_hex(const uint8_t *p, size_t len, const char *indent)
{
	for (size_t i = 0; i < len; i++)
		printf("%s%02x%s", i % 16 ? "" : indent, p[i],
		       i + 1 == len || i % 16 == 15 ? "\n" : " ");
}

static void print_sparse(const struct vfk_cap *cap)
{
	struct vfio_region_sparse_mmap_area a;
	char human[32];

	printf(": %u area%s\n", cap->u.sparse.nr_areas, cap->u.sparse.nr_areas == 1 ? "" : "s");
	for (uint32_t i = 0; vfk_cap_sparse_area(cap, i, &a); i++) {
		info_human_size(a.size, human, sizeof(human));
		printf("\t\tarea %u: offset 0x%" PRIx64 " size 0x%" PRIx64 " (%s)\n", i,
		       (uint64_t)a.offset, (uint64_t)a.size, human);
	}
}

static void print_cap(const struct vfk_cap *cap, int verbose)
{
	const char *name = vfk_cap_name(cap->id), *tname;

	if (cap->status == VFK_CAP_UNKNOWN_ID) {
		printf("\tcap id 0x%x v%u @%u: unknown, %u bytes\n", cap->id, cap->version,
		       cap->offset, cap->raw_len);
		print_hex(cap->raw, cap->raw_len, "\t\t");
		return;
	}
	printf("\tcap %s v%u @%u", name, cap->version, cap->offset);
	if (cap->status == VFK_CAP_UNKNOWN_VERSION) {
		printf(": unknown version %u, %u bytes\n", cap->version, cap->raw_len);
		print_hex(cap->raw, cap->raw_len, "\t\t");
		return;
	}
	switch (cap->id) {
	case VFIO_REGION_INFO_CAP_SPARSE_MMAP:
		print_sparse(cap);
		break;
	case VFIO_REGION_INFO_CAP_TYPE:
		tname = vfk_region_type_name(cap->u.type.type, cap->u.type.subtype);
		printf(": type 0x%x subtype %u (%s)\n", cap->u.type.type, cap->u.type.subtype,
		       tname ? tname : "unknown");
		break;
	case VFIO_REGION_INFO_CAP_MSIX_MAPPABLE:
		printf(": the MSI-X table's BAR may be mapped whole\n");
		break;
	case VFIO_REGION_INFO_CAP_NVLINK2_SSATGT:
		printf(": tgt 0x%" PRIx64 "\n", cap->u.ssatgt);
		break;
	case VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD:
		printf(": link speed %u\n", cap->u.lnkspd);
		break;
	}
	if (verbose >= 2)
		print_hex(cap->raw, cap->raw_len, "\t\t");
}

static void print_region(const struct info_region *r, int verbose)
{
	const struct vfk_region_info *ri = r->ri;
	char name[48], flags[64], human[32];
	const char *n = info_region_name(r, name, sizeof(name));

	if (!ri) {
		if (verbose)
			printf("Region %u: absent (%s)\n", r->index, strerror(-r->err));
		return;
	}
	info_flag_names(ri->hdr.flags, info_region_flag_names, NFLAGS(info_region_flag_names),
			flags, sizeof(flags));
	info_human_size(ri->hdr.size, human, sizeof(human));
	printf("Region %u %s: size 0x%" PRIx64 " (%s) offset 0x%" PRIx64 " flags %s\n",
	       r->index, n, (uint64_t)ri->hdr.size, human, (uint64_t)ri->hdr.offset, flags);
	if (verbose)
		printf("\tinfo: argsz %u, %u request%s, cap_offset %u%s\n", ri->hdr.argsz,
		       ri->calls, ri->calls == 1 ? "" : "s", ri->hdr.cap_offset,
		       ri->mmap_fd >= 0 ? ", mmap fd" : "");
	if (ri->chain_status)
		printf("\tcaps: malformed chain: %s\n", ri->chain_error);
	for (unsigned int i = 0; i < ri->chain.count; i++)
		print_cap(&ri->chain.caps[i], verbose);
}

static void print_irq(uint32_t index, const struct info_irq *irq)
{
	const char *name = vfk_pci_irq_name(index);
	char flags[64];

	if (irq->err) {
		printf("IRQ %u %s: %s\n", index, name ? name : "", strerror(-irq->err));
		return;
	}
	info_flag_names(irq->info.flags, info_irq_flag_names, NFLAGS(info_irq_flag_names),
			flags, sizeof(flags));
	printf("IRQ %u %s: count %u flags %s\n", index, name ? name : "device-specific",
	       irq->info.count, flags);
}

static void print_bars(const struct info_snapshot *s)
{
	struct info_bar bars[6];
	unsigned int n = info_pci_bars(s, bars);
	char size[32] = "";

	for (unsigned int i = 0; i < n; i++) {
		const struct info_bar *b = &bars[i];

		if (b->size) {
			char human[24];

			info_human_size(b->size, human, sizeof(human));
			snprintf(size, sizeof(size), " [size=%s]", human);
		}
		if (b->io)
			printf("\tBAR%u: I/O ports at 0x%" PRIx64 "%s\n", b->index, b->address, size);
		else
			printf("\tBAR%u: memory at 0x%" PRIx64 " (%s%s)%s\n", b->index, b->address,
			       b->mem64 ? "64-bit" : "32-bit",
			       b->prefetchable ? ", prefetchable" : "", size);
	}
}

static void print_one_cap(void *ctx, uint16_t off, uint16_t id, uint8_t version)
{
	const bool *ext = ctx;
	const char *name = info_pci_cap_name(id, *ext);

	if (*ext)
		printf("\t[%03x] %s (id 0x%04x, v%u)\n", off, name ? name : "unknown", id, version);
	else
		printf("\t[%02x] %s (id 0x%02x)\n", off, name ? name : "unknown", id);
}

static void print_config_decode(const struct info_snapshot *s)
{
	uint32_t cmd = info_cfg(s, 0x04, 2), sts = info_cfg(s, 0x06, 2);

	printf("\tcommand 0x%04x: I/O%c Mem%c BusMaster%c INTxDisable%c\n", cmd,
	       cmd & 1 ? '+' : '-', cmd & 2 ? '+' : '-', cmd & 4 ? '+' : '-',
	       cmd & 0x400 ? '+' : '-');
	printf("\tstatus 0x%04x: CapList%c INTx%c\n", sts, sts & 0x10 ? '+' : '-',
	       sts & 0x8 ? '+' : '-');
	printf("\tinterrupt pin %u line %u, header type 0x%02x\n", info_cfg(s, 0x3d, 1),
	       info_cfg(s, 0x3c, 1), info_cfg(s, 0x0e, 1));
	printf("\tconfig space (%zu bytes):\n", s->config_len);
	print_hex(s->config, s->config_len < 256 ? s->config_len : 256, "\t\t");
}

static void print_config(const struct info_snapshot *s, int verbose)
{
	uint32_t class_code = info_cfg(s, 0x08, 4) >> 8;
	bool ext = false;

	printf("PCI config:\n");
	printf("\tvendor %04x device %04x subsystem %04x:%04x revision %02x\n",
	       info_cfg(s, 0, 2), info_cfg(s, 2, 2), info_cfg(s, 0x2c, 2), info_cfg(s, 0x2e, 2),
	       info_cfg(s, 0x08, 1));
	printf("\tclass %06x %s\n", class_code, info_pci_class_name(class_code));
	print_bars(s);
	printf("\tcapabilities:\n");
	info_pci_caps_walk(s, false, print_one_cap, &ext);
	ext = true;
	info_pci_caps_walk(s, true, print_one_cap, &ext);
	if (verbose >= 2)
		print_config_decode(s);
}

void info_print_text(const struct info_snapshot *s, const struct info_opts *o)
{
	char flags[96];

	info_flag_names(s->dev.flags, info_device_flag_names, NFLAGS(info_device_flag_names),
			flags, sizeof(flags));
	printf("%s (%s)", s->target, s->backend);
	if (s->config_len)
		printf(": %04x:%04x %s", info_cfg(s, 0, 2), info_cfg(s, 2, 2),
		       info_pci_class_name(info_cfg(s, 0x08, 4) >> 8));
	printf("\n\tflags %s; %u regions, %u IRQ types\n", flags, s->dev.num_regions,
	       s->dev.num_irqs);
	for (uint32_t i = 0; i < s->nr_regions; i++)
		print_region(&s->regions[i], o->verbose);
	for (uint32_t i = 0; i < s->nr_irqs; i++)
		print_irq(i, &s->irqs[i]);
	if (s->config_len)
		print_config(s, o->verbose);
}
