// SPDX-License-Identifier: MIT
/*
 * PCI and PCIe capabilities of `vfiokit info`, walked and decoded from
 * the config space the device gave us, the way lspci -vv prints them.
 *
 * Every pointer and length here comes from the device, which may be a
 * hostile vfio-user server: the walks stop at a pointer into the header or
 * past the space and at the first offset seen twice (so a looping list
 * ends), a decoder prints only a capability whose registers fit inside the
 * standard 256 bytes, and every read goes through info_cfg(), which reads
 * nothing outside the snapshot.
 */
#include <stdio.h>

#include <linux/pci_regs.h>

#include "info.h"

#define STD_END   0x100
#define EXT_START 0x100

static char flag(uint32_t v, uint32_t bit)
{
	return v & bit ? '+' : '-';
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

/* A dword offset seen before in this walk: a loop. */
static bool seen(uint32_t *visited, uint32_t off)
{
	uint32_t bit = 1u << ((off >> 2) & 31), *word = &visited[off >> 7];
	bool was = *word & bit;

	*word |= bit;
	return was;
}

static enum info_chain_end walk_std(const struct info_snapshot *s, info_cap_fn fn, void *ctx,
				    uint16_t *where)
{
	uint32_t visited[STD_END / 128] = { 0 };
	uint32_t off;

	if (!(info_cfg(s, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return INFO_CHAIN_OK;
	/* The low two bits of a pointer are reserved: masked, as the spec says. */
	for (off = info_cfg(s, PCI_CAPABILITY_LIST, 1) & 0xfc; off;
	     off = info_cfg(s, off + PCI_CAP_LIST_NEXT, 1) & 0xfc) {
		*where = (uint16_t)off;
		/* A short snapshot (a server's small CONFIG region) ends the list too. */
		if (off < PCI_STD_HEADER_SIZEOF || off + 2 > s->config_len)
			return INFO_CHAIN_BAD_POINTER;
		if (seen(visited, off))
			return INFO_CHAIN_LOOP;
		/* All-ones: nothing answers there (lspci calls it broken too). */
		if (info_cfg(s, off, 1) == 0xff)
			return INFO_CHAIN_BAD_POINTER;
		fn(ctx, (uint16_t)off, (uint16_t)info_cfg(s, off, 1), 0);
	}
	return INFO_CHAIN_OK;
}

static enum info_chain_end walk_ext(const struct info_snapshot *s, info_cap_fn fn, void *ctx,
				    uint16_t *where)
{
	uint32_t visited[4096 / 128] = { 0 };
	uint32_t off = EXT_START;

	if (s->config_len < EXT_START + 4)
		return INFO_CHAIN_OK;
	do {
		uint32_t hdr;

		*where = (uint16_t)off;
		if (off < EXT_START || off + 4 > s->config_len)
			return INFO_CHAIN_BAD_POINTER;
		if (seen(visited, off))
			return INFO_CHAIN_LOOP;
		hdr = info_cfg(s, off, 4);
		/* No extended caps at all reads 0 (or all-ones when not there). */
		if (!hdr || hdr == 0xffffffffu)
			return INFO_CHAIN_OK;
		fn(ctx, (uint16_t)off, PCI_EXT_CAP_ID(hdr), PCI_EXT_CAP_VER(hdr));
		off = PCI_EXT_CAP_NEXT(hdr);
	} while (off);
	return INFO_CHAIN_OK;
}

enum info_chain_end info_pci_caps_walk(const struct info_snapshot *s, bool ext, info_cap_fn fn,
				       void *ctx, uint16_t *where)
{
	uint16_t dummy;

	return (ext ? walk_ext : walk_std)(s, fn, ctx, where ? where : &dummy);
}

const char *info_chain_end_name(enum info_chain_end end)
{
	switch (end) {
	case INFO_CHAIN_LOOP:
		return "chain looped";
	case INFO_CHAIN_BAD_POINTER:
		return "chain broken";
	case INFO_CHAIN_OK:
		break;
	}
	return "ok";
}

/* ---- decoders, one per capability, in lspci -vv's words ---- */

struct caps_print {
	const struct info_snapshot *s;
	int verbose;
};

/* Whether len bytes of the capability at off lie inside the standard space. */
static bool fits(uint16_t off, unsigned int len)
{
	if (off + len <= STD_END)
		return true;
	printf("\t\t<truncated: %u bytes from 0x%02x pass the end of the standard space>\n", len,
	       off);
	return false;
}

static void print_pm(const struct info_snapshot *s, uint16_t off, int verbose)
{
	static const unsigned int aux_ma[8] = { 0, 55, 100, 160, 220, 270, 320, 375 };
	uint32_t pmc = info_cfg(s, off + PCI_PM_PMC, 2), ctrl;

	printf("Power Management version %u\n", pmc & PCI_PM_CAP_VER_MASK);
	if (verbose < 2 || !fits(off, PCI_PM_SIZEOF))
		return;
	printf("\t\tFlags: PMEClk%c DSI%c D1%c D2%c AuxCurrent=%umA "
	       "PME(D0%c,D1%c,D2%c,D3hot%c,D3cold%c)\n",
	       flag(pmc, PCI_PM_CAP_PME_CLOCK), flag(pmc, PCI_PM_CAP_DSI),
	       flag(pmc, PCI_PM_CAP_D1), flag(pmc, PCI_PM_CAP_D2),
	       aux_ma[(pmc & PCI_PM_CAP_AUX_POWER) >> 6], flag(pmc, PCI_PM_CAP_PME_D0),
	       flag(pmc, PCI_PM_CAP_PME_D1), flag(pmc, PCI_PM_CAP_PME_D2),
	       flag(pmc, PCI_PM_CAP_PME_D3hot), flag(pmc, PCI_PM_CAP_PME_D3cold));
	ctrl = info_cfg(s, off + PCI_PM_CTRL, 2);
	printf("\t\tStatus: D%u NoSoftRst%c PME-Enable%c DSel=%u DScale=%u PME%c\n",
	       ctrl & PCI_PM_CTRL_STATE_MASK, flag(ctrl, PCI_PM_CTRL_NO_SOFT_RESET),
	       flag(ctrl, PCI_PM_CTRL_PME_ENABLE), (ctrl & PCI_PM_CTRL_DATA_SEL_MASK) >> 9,
	       (ctrl & PCI_PM_CTRL_DATA_SCALE_MASK) >> 13, flag(ctrl, PCI_PM_CTRL_PME_STATUS));
}

static void print_msi(const struct info_snapshot *s, uint16_t off, int verbose)
{
	uint32_t ctl = info_cfg(s, off + PCI_MSI_FLAGS, 2);
	bool is64 = ctl & PCI_MSI_FLAGS_64BIT, mask = ctl & PCI_MSI_FLAGS_MASKBIT;
	/* Address, data, then mask and pending bits when per-vector masking is there. */
	unsigned int len = (is64 ? 14 : 10) + (mask ? 10 : 0), data = is64 ? 12 : 8;

	printf("MSI: Enable%c Count=%u/%u Maskable%c 64bit%c\n", flag(ctl, PCI_MSI_FLAGS_ENABLE),
	       1u << ((ctl & PCI_MSI_FLAGS_QSIZE) >> 4), 1u << ((ctl & PCI_MSI_FLAGS_QMASK) >> 1),
	       flag(ctl, PCI_MSI_FLAGS_MASKBIT), flag(ctl, PCI_MSI_FLAGS_64BIT));
	if (verbose < 2 || !fits(off, len))
		return;
	printf("\t\tAddress: ");
	if (is64)
		printf("%08x%08x", info_cfg(s, off + PCI_MSI_ADDRESS_HI, 4),
		       info_cfg(s, off + PCI_MSI_ADDRESS_LO, 4));
	else
		printf("%08x", info_cfg(s, off + PCI_MSI_ADDRESS_LO, 4));
	printf("  Data: %04x\n", info_cfg(s, off + data, 2));
	if (mask)
		printf("\t\tMasking: %08x  Pending: %08x\n", info_cfg(s, off + data + 4, 4),
		       info_cfg(s, off + data + 8, 4));
}

static void print_msix(const struct info_snapshot *s, uint16_t off, int verbose)
{
	uint32_t ctl = info_cfg(s, off + PCI_MSIX_FLAGS, 2), t;

	printf("MSI-X: Enable%c Count=%u Masked%c\n", flag(ctl, PCI_MSIX_FLAGS_ENABLE),
	       (ctl & PCI_MSIX_FLAGS_QSIZE) + 1, flag(ctl, PCI_MSIX_FLAGS_MASKALL));
	if (verbose < 2 || !fits(off, PCI_CAP_MSIX_SIZEOF))
		return;
	t = info_cfg(s, off + PCI_MSIX_TABLE, 4);
	printf("\t\tVector table: BAR=%u offset=%08x\n", t & PCI_MSIX_TABLE_BIR,
	       t & PCI_MSIX_TABLE_OFFSET);
	t = info_cfg(s, off + PCI_MSIX_PBA, 4);
	printf("\t\tPBA: BAR=%u offset=%08x\n", t & PCI_MSIX_PBA_BIR, t & PCI_MSIX_PBA_OFFSET);
}

static void print_vendor(const struct info_snapshot *s, uint16_t off, int verbose)
{
	/* Byte 2 is the length of the whole capability, header included. */
	unsigned int len = info_cfg(s, off + 2, 1);

	printf("Vendor Specific Information: Len=%02x <?>\n", len);
	if (verbose < 2 || len <= 3)
		return;
	if (!fits(off, len))
		return;
	printf("\t\tData:");
	for (unsigned int i = 3; i < len; i++)
		printf(" %02x", info_cfg(s, off + i, 1));
	printf("\n");
}

static const char *link_speed(unsigned int code)
{
	static const char *const speeds[] = {
		"unknown", "2.5GT/s", "5GT/s", "8GT/s", "16GT/s", "32GT/s", "64GT/s",
	};

	return code < sizeof(speeds) / sizeof(speeds[0]) ? speeds[code] : "unknown";
}

static const char *latency_l0s(unsigned int code)
{
	static const char *const l0s[8] = {
		"<64ns", "<128ns", "<256ns", "<512ns", "<1us", "<2us", "<4us", "unlimited",
	};

	return l0s[code & 7];
}

static const char *latency_l1(unsigned int code)
{
	static const char *const l1[8] = {
		"<1us", "<2us", "<4us", "<8us", "<16us", "<32us", "<64us", "unlimited",
	};

	return l1[code & 7];
}

static bool is_endpoint(unsigned int type)
{
	return type == PCI_EXP_TYPE_ENDPOINT || type == PCI_EXP_TYPE_LEG_END;
}

static bool is_function(unsigned int type)
{
	return is_endpoint(type) || type == PCI_EXP_TYPE_RC_END;
}

static bool has_slot_power(unsigned int type)
{
	return type == PCI_EXP_TYPE_ENDPOINT || type == PCI_EXP_TYPE_UPSTREAM ||
	       type == PCI_EXP_TYPE_PCI_BRIDGE;
}

/*
 * Slot Power Limit: value times 1, 0.1, 0.01 or 0.001 W; at scale 1, values
 * from F0h on count 250 W and 25 W a step (the encoding beyond 239 W).
 */
static void print_power_limit(uint32_t devcap)
{
	static const double scale[4] = { 1.0, 0.1, 0.01, 0.001 };
	unsigned int value = (devcap & PCI_EXP_DEVCAP_PWR_VAL) >> 18;
	unsigned int sc = (devcap & PCI_EXP_DEVCAP_PWR_SCL) >> 26;

	if (!sc && value >= 0xf0)
		value = 250 + 25 * (value - 0xf0);
	printf(" SlotPowerLimit %gW", value * scale[sc]);
}

static void print_pcie_dev(const struct info_snapshot *s, uint16_t off, unsigned int type)
{
	uint32_t cap = info_cfg(s, off + PCI_EXP_DEVCAP, 4);
	uint32_t ctl = info_cfg(s, off + PCI_EXP_DEVCTL, 2), sta;

	printf("\t\tDevCap:\tMaxPayload %u bytes, PhantFunc %u", 128u << (cap & PCI_EXP_DEVCAP_PAYLOAD),
	       (1u << ((cap & PCI_EXP_DEVCAP_PHANTOM) >> 3)) - 1);
	if (is_endpoint(type))
		printf(", Latency L0s %s, L1 %s", latency_l0s((cap & PCI_EXP_DEVCAP_L0S) >> 6),
		       latency_l1((cap & PCI_EXP_DEVCAP_L1) >> 9));
	printf("\n\t\t\tExtTag%c", flag(cap, PCI_EXP_DEVCAP_EXT_TAG));
	if (is_endpoint(type) || type == PCI_EXP_TYPE_UPSTREAM || type == PCI_EXP_TYPE_PCI_BRIDGE)
		printf(" AttnBtn%c AttnInd%c PwrInd%c", flag(cap, 1u << 12), flag(cap, 1u << 13),
		       flag(cap, 1u << 14));
	printf(" RBE%c", flag(cap, PCI_EXP_DEVCAP_RBER));
	if (is_function(type))
		printf(" FLReset%c", flag(cap, PCI_EXP_DEVCAP_FLR));
	if (has_slot_power(type))
		print_power_limit(cap);
	printf("\n\t\tDevCtl:\tCorrErr%c NonFatalErr%c FatalErr%c UnsupReq%c\n",
	       flag(ctl, PCI_EXP_DEVCTL_CERE), flag(ctl, PCI_EXP_DEVCTL_NFERE),
	       flag(ctl, PCI_EXP_DEVCTL_FERE), flag(ctl, PCI_EXP_DEVCTL_URRE));
	printf("\t\t\tRlxdOrd%c ExtTag%c PhantFunc%c AuxPwr%c NoSnoop%c",
	       flag(ctl, PCI_EXP_DEVCTL_RELAX_EN), flag(ctl, PCI_EXP_DEVCTL_EXT_TAG),
	       flag(ctl, PCI_EXP_DEVCTL_PHANTOM), flag(ctl, PCI_EXP_DEVCTL_AUX_PME),
	       flag(ctl, PCI_EXP_DEVCTL_NOSNOOP_EN));
	if (type == PCI_EXP_TYPE_PCI_BRIDGE)
		printf(" BrConfRtry%c", flag(ctl, PCI_EXP_DEVCTL_BCR_FLR));
	if (is_function(type) && (cap & PCI_EXP_DEVCAP_FLR))
		printf(" FLReset%c", flag(ctl, PCI_EXP_DEVCTL_BCR_FLR));
	printf("\n\t\t\tMaxPayload %u bytes, MaxReadReq %u bytes\n",
	       128u << ((ctl & PCI_EXP_DEVCTL_PAYLOAD) >> 5),
	       128u << ((ctl & PCI_EXP_DEVCTL_READRQ) >> 12));
	sta = info_cfg(s, off + PCI_EXP_DEVSTA, 2);
	printf("\t\tDevSta:\tCorrErr%c NonFatalErr%c FatalErr%c UnsupReq%c AuxPwr%c TransPend%c\n",
	       flag(sta, PCI_EXP_DEVSTA_CED), flag(sta, PCI_EXP_DEVSTA_NFED),
	       flag(sta, PCI_EXP_DEVSTA_FED), flag(sta, PCI_EXP_DEVSTA_URD),
	       flag(sta, PCI_EXP_DEVSTA_AUXPD), flag(sta, PCI_EXP_DEVSTA_TRPND));
}

static const char *aspm_support(unsigned int code)
{
	static const char *const names[4] = { "not supported", "L0s", "L1", "L0s L1" };

	return names[code & 3];
}

static const char *aspm_enabled(unsigned int code)
{
	static const char *const names[4] = {
		"Disabled", "L0s Enabled", "L1 Enabled", "L0s L1 Enabled",
	};

	return names[code & 3];
}

/* A link slower or narrower than it can be is "downgraded", except on downstream ports. */
static const char *link_compare(unsigned int type, unsigned int sta, unsigned int cap)
{
	if (sta > cap)
		return " (overdriven)";
	if (sta == cap || type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_DOWNSTREAM ||
	    type == PCI_EXP_TYPE_PCIE_BRIDGE)
		return "";
	return " (downgraded)";
}

static void print_pcie_link(const struct info_snapshot *s, uint16_t off, unsigned int type)
{
	uint32_t cap = info_cfg(s, off + PCI_EXP_LNKCAP, 4), ctl, sta;
	unsigned int aspm = (cap & PCI_EXP_LNKCAP_ASPMS) >> 10;
	unsigned int cap_speed = cap & PCI_EXP_LNKCAP_SLS, cap_width = (cap & PCI_EXP_LNKCAP_MLW) >> 4;
	unsigned int sta_speed, sta_width;

	printf("\t\tLnkCap:\tPort #%u, Speed %s, Width x%u, ASPM %s", cap >> 24, link_speed(cap_speed),
	       cap_width, aspm_support(aspm));
	if (aspm) {
		printf(", Exit Latency ");
		if (aspm & 1)
			printf("L0s %s", latency_l0s((cap & PCI_EXP_LNKCAP_L0SEL) >> 12));
		if (aspm & 2)
			printf("%sL1 %s", aspm & 1 ? ", " : "",
			       latency_l1((cap & PCI_EXP_LNKCAP_L1EL) >> 15));
	}
	printf("\n\t\t\tClockPM%c Surprise%c LLActRep%c BwNot%c ASPMOptComp%c\n",
	       flag(cap, PCI_EXP_LNKCAP_CLKPM), flag(cap, PCI_EXP_LNKCAP_SDERC),
	       flag(cap, PCI_EXP_LNKCAP_DLLLARC), flag(cap, PCI_EXP_LNKCAP_LBNC),
	       flag(cap, 1u << 22));
	ctl = info_cfg(s, off + PCI_EXP_LNKCTL, 2);
	printf("\t\tLnkCtl:\tASPM %s;", aspm_enabled(ctl & PCI_EXP_LNKCTL_ASPMC));
	if (is_endpoint(type) || type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_PCI_BRIDGE)
		printf(" RCB %u bytes,", ctl & PCI_EXP_LNKCTL_RCB ? 128 : 64);
	printf(" Disabled%c CommClk%c\n\t\t\tExtSynch%c ClockPM%c AutWidDis%c BWInt%c AutBWInt%c\n",
	       flag(ctl, PCI_EXP_LNKCTL_LD), flag(ctl, PCI_EXP_LNKCTL_CCC),
	       flag(ctl, PCI_EXP_LNKCTL_ES), flag(ctl, PCI_EXP_LNKCTL_CLKREQ_EN),
	       flag(ctl, PCI_EXP_LNKCTL_HAWD), flag(ctl, PCI_EXP_LNKCTL_LBMIE),
	       flag(ctl, PCI_EXP_LNKCTL_LABIE));
	sta = info_cfg(s, off + PCI_EXP_LNKSTA, 2);
	sta_speed = sta & PCI_EXP_LNKSTA_CLS;
	sta_width = (sta & PCI_EXP_LNKSTA_NLW) >> PCI_EXP_LNKSTA_NLW_SHIFT;
	printf("\t\tLnkSta:\tSpeed %s%s, Width x%u%s\n", link_speed(sta_speed),
	       link_compare(type, sta_speed, cap_speed), sta_width,
	       link_compare(type, sta_width, cap_width));
	printf("\t\t\tTrErr%c Train%c SlotClk%c DLActive%c BWMgmt%c ABWMgmt%c\n",
	       flag(sta, 1u << 10), flag(sta, PCI_EXP_LNKSTA_LT), flag(sta, PCI_EXP_LNKSTA_SLC),
	       flag(sta, PCI_EXP_LNKSTA_DLLLA), flag(sta, PCI_EXP_LNKSTA_LBMS),
	       flag(sta, PCI_EXP_LNKSTA_LABS));
}

/* Supported Link Speeds vector: every rate from 2.5GT/s up to the highest set. */
static const char *link2_speeds(unsigned int vector)
{
	static const char *const ranges[] = {
		"2.5GT/s", "2.5-5GT/s", "2.5-8GT/s", "2.5-16GT/s", "2.5-32GT/s", "2.5-64GT/s",
	};

	if (vector & ~0x3fu)
		return "RsvdP";
	for (int bit = 5; bit >= 0; bit--)
		if (vector & (1u << bit))
			return ranges[bit];
	return "Unknown";
}

/* Link Capabilities 2 (capability version 2 on), when not zero. */
static void print_pcie_link2(const struct info_snapshot *s, uint16_t off)
{
	uint32_t cap2 = info_cfg(s, off + PCI_EXP_LNKCAP2, 4);

	if (!cap2)
		return;
	printf("\t\tLnkCap2: Supported Link Speeds: %s, Crosslink%c Retimer%c 2Retimers%c DRS%c\n",
	       link2_speeds((cap2 & 0xfeu) >> 1), flag(cap2, 1u << 8),
	       flag(cap2, 1u << 23), flag(cap2, 1u << 24), flag(cap2, 1u << 31));
}

static void print_pcie_type(unsigned int type, uint32_t flags)
{
	static const char *const names[] = {
		[PCI_EXP_TYPE_ENDPOINT] = "Endpoint",
		[PCI_EXP_TYPE_LEG_END] = "Legacy Endpoint",
		[PCI_EXP_TYPE_ROOT_PORT] = "Root Port",
		[PCI_EXP_TYPE_UPSTREAM] = "Upstream Port",
		[PCI_EXP_TYPE_DOWNSTREAM] = "Downstream Port",
		[PCI_EXP_TYPE_PCI_BRIDGE] = "PCI-Express to PCI/PCI-X Bridge",
		[PCI_EXP_TYPE_PCIE_BRIDGE] = "PCI/PCI-X to PCI-Express Bridge",
		[PCI_EXP_TYPE_RC_END] = "Root Complex Integrated Endpoint",
		[PCI_EXP_TYPE_RC_EC] = "Root Complex Event Collector",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		printf("%s", names[type]);
	else
		printf("Unknown type %u", type);
	if (type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_DOWNSTREAM)
		printf(" (Slot%c)", flag(flags, PCI_EXP_FLAGS_SLOT));
}

static void print_pcie(const struct info_snapshot *s, uint16_t off, int verbose)
{
	uint32_t flags = info_cfg(s, off + PCI_EXP_FLAGS, 2);
	unsigned int type = (flags & PCI_EXP_FLAGS_TYPE) >> 4;
	/* Root complex integrated endpoints and event collectors have no link. */
	bool link = type != PCI_EXP_TYPE_RC_END && type != PCI_EXP_TYPE_RC_EC;

	printf("Express ");
	if (verbose >= 2)
		printf("(v%u) ", flags & PCI_EXP_FLAGS_VERS);
	print_pcie_type(type, flags);
	printf(", MSI %02x\n", (flags & PCI_EXP_FLAGS_IRQ) >> 9);
	if (verbose < 2 || !fits(off, link ? PCI_EXP_LNKSTA + 2 : PCI_EXP_DEVSTA + 2))
		return;
	print_pcie_dev(s, off, type);
	if (link)
		print_pcie_link(s, off, type);
	if (link && (flags & PCI_EXP_FLAGS_VERS) >= 2 && fits(off, PCI_EXP_LNKCAP2 + 4))
		print_pcie_link2(s, off);
}

static void print_std_cap(void *ctx, uint16_t off, uint16_t id, uint8_t version)
{
	const struct caps_print *p = ctx;
	const char *name;

	printf("\tCapabilities: [%02x] ", off);
	switch (id) {
	case PCI_CAP_ID_PM:
		print_pm(p->s, off, p->verbose);
		break;
	case PCI_CAP_ID_MSI:
		print_msi(p->s, off, p->verbose);
		break;
	case PCI_CAP_ID_MSIX:
		print_msix(p->s, off, p->verbose);
		break;
	case PCI_CAP_ID_EXP:
		print_pcie(p->s, off, p->verbose);
		break;
	case PCI_CAP_ID_VNDR:
		print_vendor(p->s, off, p->verbose);
		break;
	default:
		name = info_pci_cap_name(id, false);
		if (name)
			printf("%s\n", name);
		else
			printf("Capability ID %#02x\n", id);
	}
}

static void print_ext_cap(void *ctx, uint16_t off, uint16_t id, uint8_t version)
{
	const char *name = info_pci_cap_name(id, true);

	printf("\tCapabilities: [%03x v%u] ", off, version);
	if (name)
		printf("%s\n", name);
	else
		printf("Extended Capability ID %#x\n", id);
}

static void print_chain_end(enum info_chain_end end, uint16_t where, bool ext)
{
	if (end == INFO_CHAIN_OK)
		return;
	printf(ext ? "\tCapabilities: [%03x] <%s>\n" : "\tCapabilities: [%02x] <%s>\n", where,
	       info_chain_end_name(end));
}

void info_caps_print(const struct info_snapshot *s, int verbose)
{
	struct caps_print p = { .s = s, .verbose = verbose };
	enum info_chain_end end;
	uint16_t where;

	end = info_pci_caps_walk(s, false, print_std_cap, &p, &where);
	print_chain_end(end, where, false);
	end = info_pci_caps_walk(s, true, print_ext_cap, &p, &where);
	print_chain_end(end, where, true);
}

/* ---- the same decoding for --json: the fields scripts ask for ---- */

static void add_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static void add_bool(struct json_object *o, const char *key, bool v)
{
	json_object_object_add(o, key, json_object_new_boolean(v));
}

static void json_msi(struct json_object *o, const struct info_snapshot *s, uint16_t off)
{
	uint32_t ctl = info_cfg(s, off + PCI_MSI_FLAGS, 2);

	add_bool(o, "enabled", ctl & PCI_MSI_FLAGS_ENABLE);
	add_int(o, "vectors", 1 << ((ctl & PCI_MSI_FLAGS_QSIZE) >> 4));
	add_int(o, "vectors_max", 1 << ((ctl & PCI_MSI_FLAGS_QMASK) >> 1));
	add_bool(o, "addr64", ctl & PCI_MSI_FLAGS_64BIT);
	add_bool(o, "maskable", ctl & PCI_MSI_FLAGS_MASKBIT);
}

static void json_msix(struct json_object *o, const struct info_snapshot *s, uint16_t off)
{
	uint32_t ctl = info_cfg(s, off + PCI_MSIX_FLAGS, 2);
	uint32_t table = info_cfg(s, off + PCI_MSIX_TABLE, 4), pba = info_cfg(s, off + PCI_MSIX_PBA, 4);

	add_bool(o, "enabled", ctl & PCI_MSIX_FLAGS_ENABLE);
	add_bool(o, "masked", ctl & PCI_MSIX_FLAGS_MASKALL);
	add_int(o, "table_size", (ctl & PCI_MSIX_FLAGS_QSIZE) + 1);
	if (off + PCI_CAP_MSIX_SIZEOF > STD_END)
		return;
	add_int(o, "table_bar", table & PCI_MSIX_TABLE_BIR);
	add_int(o, "table_offset", table & PCI_MSIX_TABLE_OFFSET);
	add_int(o, "pba_bar", pba & PCI_MSIX_PBA_BIR);
	add_int(o, "pba_offset", pba & PCI_MSIX_PBA_OFFSET);
}

static void json_pcie(struct json_object *o, const struct info_snapshot *s, uint16_t off)
{
	uint32_t flags = info_cfg(s, off + PCI_EXP_FLAGS, 2);
	uint32_t devcap = info_cfg(s, off + PCI_EXP_DEVCAP, 4), devctl;
	uint32_t lnkcap = info_cfg(s, off + PCI_EXP_LNKCAP, 4), lnksta;
	unsigned int type = (flags & PCI_EXP_FLAGS_TYPE) >> 4;

	add_int(o, "version", flags & PCI_EXP_FLAGS_VERS);
	add_int(o, "port_type", type);
	if (off + PCI_EXP_LNKSTA + 2 > STD_END)
		return;
	devctl = info_cfg(s, off + PCI_EXP_DEVCTL, 2);
	add_int(o, "max_payload_supported", 128 << (devcap & PCI_EXP_DEVCAP_PAYLOAD));
	add_int(o, "max_payload", 128 << ((devctl & PCI_EXP_DEVCTL_PAYLOAD) >> 5));
	add_int(o, "max_read_request", 128 << ((devctl & PCI_EXP_DEVCTL_READRQ) >> 12));
	if (type == PCI_EXP_TYPE_RC_END || type == PCI_EXP_TYPE_RC_EC)
		return;
	lnksta = info_cfg(s, off + PCI_EXP_LNKSTA, 2);
	json_object_object_add(o, "link_speed_max",
			       json_object_new_string(link_speed(lnkcap & PCI_EXP_LNKCAP_SLS)));
	add_int(o, "link_width_max", (lnkcap & PCI_EXP_LNKCAP_MLW) >> 4);
	json_object_object_add(o, "link_speed",
			       json_object_new_string(link_speed(lnksta & PCI_EXP_LNKSTA_CLS)));
	add_int(o, "link_width", (lnksta & PCI_EXP_LNKSTA_NLW) >> PCI_EXP_LNKSTA_NLW_SHIFT);
}

void info_cap_json(struct json_object *o, const struct info_snapshot *s, uint16_t off, uint16_t id)
{
	if (off >= STD_END)
		return;
	switch (id) {
	case PCI_CAP_ID_PM:
		add_int(o, "version", info_cfg(s, off + PCI_PM_PMC, 2) & PCI_PM_CAP_VER_MASK);
		break;
	case PCI_CAP_ID_MSI:
		json_msi(o, s, off);
		break;
	case PCI_CAP_ID_MSIX:
		json_msix(o, s, off);
		break;
	case PCI_CAP_ID_EXP:
		json_pcie(o, s, off);
		break;
	case PCI_CAP_ID_VNDR:
		add_int(o, "length", info_cfg(s, off + 2, 1));
		break;
	}
}
