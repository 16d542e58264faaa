/* SPDX-License-Identifier: MIT */
/*
 * `vfiokit info`: what one VFIO device answers, gathered once
 * (cmd_info.c), then printed for humans (info_text.c) or as JSON
 * (info_json.c, schema in docs/cli-info.md). info_pci.c decodes the PCI
 * config header for both.
 */
#ifndef VFIOKIT_CLI_INFO_H
#define VFIOKIT_CLI_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

struct info_snapshot {
	const char *target;
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

/* The PCI class name of a 24-bit class code, never NULL. */
const char *info_pci_class_name(uint32_t class_code);

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

/* Walk the standard capability list: fn(offset, id) per cap, loops bounded. */
void info_pci_caps_walk(const struct info_snapshot *s, bool ext,
			void (*fn)(void *ctx, uint16_t offset, uint16_t id, uint8_t version),
			void *ctx);

void info_print_text(const struct info_snapshot *s, const struct info_opts *o);

/* The snapshot as the documented JSON object (caller puts it). */
struct json_object *info_to_json(const struct info_snapshot *s, const struct info_opts *o);

#endif
