/* SPDX-License-Identifier: MIT */
/*
 * `vfiokit info`: what one VFIO device answers, gathered once
 * (cmd_info.c), then printed for humans (info_text.c) or as JSON
 * (info_json.c, schema in docs/cli-info.md). info_pci.c decodes the PCI
 * config header for both, info_caps.c its capabilities as lspci -vv does,
 * info_names.c names ids through libpci, info_kernel.c reads sysfs for -k.
 */
#ifndef VFIOKIT_CLI_INFO_H
#define VFIOKIT_CLI_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>
#include <vfiokit/client.h>

struct info_region {
	uint32_t index;
	struct vfk_region_info *ri;   /* NULL when the region is absent (err) */
	int err;
};

struct info_irq {
	struct vfio_irq_info info;
	int err;
};

struct info_names;

struct info_snapshot {
	const char *target;
	struct info_names *names;
	const char *backend;
	struct vfio_device_info dev;
	struct info_region *regions;  /* dev.num_regions, or the one asked for */
	uint32_t nr_regions;
	struct info_irq *irqs;        /* dev.num_irqs (none with --region) */
	uint32_t nr_irqs;
	uint8_t config[4096];
	size_t config_len;            /* 0 when unread (not PCI, or --region) */
};

struct info_opts {
	int verbose;                  /* -v count */
	bool json;
	long region;                  /* -1: all */
	int hex;                      /* -x count: 1 dumps 64 bytes, 3: 256, 4: 4096 */
	int numeric;                  /* -n count: 1 ids only, 2 names and ids */
	bool kernel;                  /* -k: kernel driver and IOMMU group */
};

/* Region name: BAR0.., ROM, CONFIG, VGA, a device-specific type name, or "region". */
const char *info_region_name(const struct info_region *r, char *buf, size_t len);

/* "READ WRITE MMAP CAPS" style names of set bits; names[i] for bit i. */
void info_flag_names(uint32_t flags, const char *const *names, size_t nr, char *buf,
		     size_t len);
extern const char *const info_region_flag_names[4];
extern const char *const info_irq_flag_names[4];
extern const char *const info_device_flag_names[9];

/* Size in human units: "128 KiB". */
void info_human_size(uint64_t size, char *buf, size_t len);

/*
 * Names from pci.ids through libpci. numeric is lspci's -n count: 0 names
 * (numbers where pci.ids has none), 1 numbers only, 2 both. NULL when out
 * of memory.
 */
struct info_names *info_names_open(int numeric);
void info_names_close(struct info_names *n);

enum info_name {
	INFO_NAME_VENDOR,             /* "NVIDIA Corporation" */
	INFO_NAME_DEVICE,             /* vendor and device, as lspci's device line */
	INFO_NAME_DEVICE_ONLY,        /* "GV100GL [Tesla V100 SXM2 16GB]" */
	INFO_NAME_SUBSYSTEM,          /* as lspci's Subsystem: line */
	INFO_NAME_SUBSYSTEM_VENDOR,
	INFO_NAME_CLASS,              /* base class and subclass */
	INFO_NAME_PROGIF,             /* NULL unless pci.ids names it */
};

/*
 * The name of what of the device in s's config header, into buf. Not
 * exact: as lspci prints it in the numeric mode opened (numbers where
 * pci.ids lacks a name). Exact: pci.ids's name alone, or NULL.
 */
const char *info_name(struct info_names *n, enum info_name what, const struct info_snapshot *s,
		      bool exact, char *buf, size_t len);

/* The name of a standard (ext false) or extended PCI capability id, or NULL. */
const char *info_pci_cap_name(uint16_t id, bool ext);

/* Little-endian loads from the config snapshot, 0 outside it. */
uint32_t info_cfg(const struct info_snapshot *s, size_t off, unsigned int width);

/* One implemented BAR, decoded from the config header and its region's size. */
struct info_bar {
	unsigned int index;
	bool io, mem64, prefetchable;
	uint64_t address;
	uint64_t size;                /* from region info; 0 when unknown */
};

/*
 * The implemented BARs, at most 6. A BAR counts when its region reports a
 * non-zero size; without region info (--region), when its register is
 * non-zero. The upper half of a 64-bit BAR is not a BAR of its own.
 */
unsigned int info_pci_bars(const struct info_snapshot *s, struct info_bar bars[6]);

/* One capability of a walk: its offset, id, and version (extended caps only). */
typedef void (*info_cap_fn)(void *ctx, uint16_t offset, uint16_t id, uint8_t version);

enum info_chain_end {
	INFO_CHAIN_OK,
	INFO_CHAIN_LOOP,              /* an offset came round again */
	INFO_CHAIN_BAD_POINTER,       /* into the header, past the space, or all-ones */
};

/*
 * Walk the standard (ext false) or extended capability list, calling fn
 * per capability; how the walk ended, and in *where (may be NULL) the
 * offset it ended at when not OK. Ends after at most one call per dword.
 */
enum info_chain_end info_pci_caps_walk(const struct info_snapshot *s, bool ext, info_cap_fn fn,
				       void *ctx, uint16_t *where);

/* "chain looped", "chain broken", "ok". */
const char *info_chain_end_name(enum info_chain_end end);

/*
 * Decoded fields of the standard capability id at off for --json (PM,
 * MSI, MSI-X, PCI Express, vendor-specific; see docs/cli-info.md), added
 * to o. Extended capabilities (off >= 0x100) get none.
 */
void info_cap_json(struct json_object *o, const struct info_snapshot *s, uint16_t off, uint16_t id);

/* The capabilities as lspci -v (verbose < 2) or -vv prints them, one tab in. */
void info_caps_print(const struct info_snapshot *s, int verbose);

#define INFO_PCI_ADDR_LEN 13

/* "DDDD:BB:DD.F" or "BB:DD.F" (hex) as the full lower-case form; false when s is not one. */
bool info_pci_address(const char *s, char out[INFO_PCI_ADDR_LEN]);

struct info_kernel {
	char addr[INFO_PCI_ADDR_LEN];
	char driver[64];              /* "" when unbound */
	int iommu_group;              /* -1 when none */
};

/* Driver and IOMMU group of PCI device addr from sysfs; -ENODEV when there is no such device. */
int info_kernel_read(const char *addr, struct info_kernel *k);

/* -k's lines for the target: driver and IOMMU group, or why there are none. */
void info_kernel_print(FILE *out, const char *target, const char *backend);

/*
 * -k in JSON: pci_address, driver (null when unbound), iommu_group (null
 * when none), all null for a vfio-user target; for /dev/vfio/N
 * iommu_group and group_devices [{pci_address, driver}] instead.
 */
struct json_object *info_kernel_json(const char *target, const char *backend);

/* Bytes -x (hex 1 or 2), -xxx (3), -xxxx (4) show: 64, 256, 4096, at most config_len. */
size_t info_hex_len(const struct info_snapshot *s, int hex);

/* -x: the first 64, 256 (-xxx) or 4096 (-xxxx) bytes as lspci prints them,
 * after an lspci device line, so that `lspci -F` reads the output. */
void info_hex_dump(const struct info_snapshot *s, int hex);

void info_print_text(const struct info_snapshot *s, const struct info_opts *o);

/* The snapshot as the documented JSON object (caller puts it). */
struct json_object *info_to_json(const struct info_snapshot *s, const struct info_opts *o);

#endif
