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

		size[0] = '\0';
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

/* lspci -vv's Control: and Status: lines. */
static void print_command_status(const struct info_snapshot *s)
{
	static const char *const devsel[4] = { "fast", "medium", "slow", "??" };
	uint32_t c = info_cfg(s, 0x04, 2), t = info_cfg(s, 0x06, 2);

#define F(v, bit) ((v) & (bit) ? '+' : '-')
	printf("\tControl: I/O%c Mem%c BusMaster%c SpecCycle%c MemWINV%c VGASnoop%c ParErr%c "
	       "Stepping%c SERR%c FastB2B%c DisINTx%c\n", F(c, 0x1), F(c, 0x2), F(c, 0x4),
	       F(c, 0x8), F(c, 0x10), F(c, 0x20), F(c, 0x40), F(c, 0x80), F(c, 0x100),
	       F(c, 0x200), F(c, 0x400));
	printf("\tStatus: Cap%c 66MHz%c UDF%c FastB2B%c ParErr%c DEVSEL=%s >TAbort%c <TAbort%c "
	       "<MAbort%c >SERR%c <PERR%c INTx%c\n", F(t, 0x10), F(t, 0x20), F(t, 0x40),
	       F(t, 0x80), F(t, 0x100), devsel[(t >> 9) & 3], F(t, 0x800), F(t, 0x1000),
	       F(t, 0x2000), F(t, 0x4000), F(t, 0x8000), F(t, 0x8));
#undef F
}

/* lspci -v's Interrupt: line: the pin, and the line register as the IRQ. */
static void print_interrupt(const struct info_snapshot *s)
{
	unsigned int pin = info_cfg(s, 0x3d, 1), line = info_cfg(s, 0x3c, 1);

	if (pin || line)
		printf("\tInterrupt: pin %c routed to IRQ %u\n", pin && pin <= 4 ? 'A' + pin - 1 : '?',
		       line);
}

static void print_config(const struct info_snapshot *s, int verbose, int numeric)
{
	uint32_t class_code = info_cfg(s, 0x08, 4) >> 8;
	char buf[256];
	/* -n: numbers only, as lspci -n. */
	const char *name = numeric == 1 ? NULL :
			   info_name(s->names, INFO_NAME_CLASS, s, true, buf, sizeof(buf));

	printf("PCI config:\n");
	printf("\tvendor %04x device %04x subsystem %04x:%04x revision %02x\n",
	       info_cfg(s, 0, 2), info_cfg(s, 2, 2), info_cfg(s, 0x2c, 2), info_cfg(s, 0x2e, 2),
	       info_cfg(s, 0x08, 1));
	printf("\tclass %06x%s%s\n", class_code, name ? " " : "", name ? name : "");
	printf("\tSubsystem: %s\n", info_name(s->names, INFO_NAME_SUBSYSTEM, s, false, buf,
					       sizeof(buf)));
	if (verbose >= 2)
		print_command_status(s);
	print_interrupt(s);
	print_bars(s);
	info_caps_print(s, verbose);
}

/* lspci's device line after the slot: "3D controller: NVIDIA ... (rev a1)". */
static void print_device_line(const struct info_snapshot *s, int verbose)
{
	char cls[128], dev[256], progif[128];
	unsigned int rev = info_cfg(s, 0x08, 1), pi = info_cfg(s, 0x09, 1);
	const char *pname;

	printf("%s: %s", info_name(s->names, INFO_NAME_CLASS, s, false, cls, sizeof(cls)),
	       info_name(s->names, INFO_NAME_DEVICE, s, false, dev, sizeof(dev)));
	if (rev)
		printf(" (rev %02x)", rev);
	if (verbose && pi) {
		pname = info_name(s->names, INFO_NAME_PROGIF, s, false, progif, sizeof(progif));
		printf(" (prog-if %02x%s%s%s)", pi, pname ? " [" : "", pname ? pname : "",
		       pname ? "]" : "");
	}
	printf("\n");
}

/* Whether text starts as lspci -F's slot line does ("BB:DD.F " or "DDDD:BB:DD.F "). */
static bool is_slot_line(const char *text)
{
	static const char *const forms[] = { "##:##.# ", "####:##:##.# " };

	for (size_t f = 0; f < 2; f++) {
		size_t i;

		for (i = 0; forms[f][i]; i++) {
			char c = text[i];

			if (forms[f][i] == '#' ? !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
						  (c >= 'A' && c <= 'F')) : c != forms[f][i])
				break;
		}
		if (!forms[f][i])
			return true;
	}
	return false;
}

void info_hex_dump(const struct info_snapshot *s, int hex)
{
	size_t len = info_hex_len(s, hex);
	char line[512];

	/*
	 * lspci -F starts a device at a slot line. The device line already is
	 * one when the target is a PCI address; any other target (its guest
	 * address is QEMU's choice) gets 00:00.0.
	 */
	snprintf(line, sizeof(line), "%s ", s->target);
	if (!is_slot_line(line)) {
		printf("00:00.0 ");
		print_device_line(s, 0);
	}
	for (size_t off = 0; off < len; off += 16) {
		printf("%02zx:", off);
		for (size_t i = off; i < off + 16 && i < len; i++)
			printf(" %02x", s->config[i]);
		printf("\n");
	}
	printf("\n");
}

void info_print_text(const struct info_snapshot *s, const struct info_opts *o)
{
	char flags[96];

	info_flag_names(s->dev.flags, info_device_flag_names, NFLAGS(info_device_flag_names),
			flags, sizeof(flags));
	printf("%s (%s)", s->target, s->backend);
	if (s->config_len) {
		printf(": ");
		print_device_line(s, o->verbose);
	} else {
		printf("\n");
	}
	printf("\tflags %s; %u regions, %u IRQ types\n", flags, s->dev.num_regions,
	       s->dev.num_irqs);
	if (o->kernel)
		info_kernel_print(stdout, s->target, s->backend);
	for (uint32_t i = 0; i < s->nr_regions; i++)
		print_region(&s->regions[i], o->verbose);
	for (uint32_t i = 0; i < s->nr_irqs; i++)
		print_irq(i, &s->irqs[i]);
	if (s->config_len)
		print_config(s, o->verbose, o->numeric);
	if (o->hex && s->config_len)
		info_hex_dump(s, o->hex);
}
