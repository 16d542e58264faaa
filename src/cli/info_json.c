// SPDX-License-Identifier: MIT
/* `vfiokit info --json`: the schema is documented in docs/cli-info.md. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "info.h"

#define NFLAGS(a) (sizeof(a) / sizeof((a)[0]))
#define SCHEMA "vfiokit-info/1"

static void add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

/*
 * A 64-bit quantity, also as a "0x..." string under key_hex: JSON readers
 * that hold numbers as doubles (jq 1.6) round anything above 2^53.
 */
static void add_u64_hex(struct json_object *o, const char *key, uint64_t v)
{
	char name[64], hex[24];

	add_u64(o, key, v);
	snprintf(name, sizeof(name), "%s_hex", key);
	snprintf(hex, sizeof(hex), "0x%" PRIx64, v);
	json_object_object_add(o, name, json_object_new_string(hex));
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

static struct json_object *flag_array(uint32_t flags, const char *const *names, size_t nr)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < 32; i++)
		if ((flags & (1u << i)) && i < nr)
			json_object_array_add(a, json_object_new_string(names[i]));
	return a;
}

static void add_hex(struct json_object *o, const char *key, const uint8_t *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char buf[2 * 4096 + 1];
	size_t n = len < 4096 ? len : 4096;

	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = digits[p[i] >> 4];
		buf[2 * i + 1] = digits[p[i] & 15];
	}
	buf[2 * n] = '\0';
	add_str(o, key, buf);
}

static const char *status_name(enum vfk_cap_status st)
{
	return st == VFK_CAP_OK ? "ok" : st == VFK_CAP_UNKNOWN_ID ? "unknown-id" : "unknown-version";
}

static void add_cap_fields(struct json_object *o, const struct vfk_cap *cap)
{
	struct vfio_region_sparse_mmap_area a;
	struct json_object *areas;

	switch (cap->id) {
	case VFIO_REGION_INFO_CAP_SPARSE_MMAP:
		areas = json_object_new_array();
		for (uint32_t i = 0; vfk_cap_sparse_area(cap, i, &a); i++) {
			struct json_object *ao = json_object_new_object();

			add_u64_hex(ao, "offset", a.offset);
			add_u64_hex(ao, "size", a.size);
			json_object_array_add(areas, ao);
		}
		json_object_object_add(o, "areas", areas);
		break;
	case VFIO_REGION_INFO_CAP_TYPE:
		add_u64(o, "type", cap->u.type.type);
		add_u64(o, "subtype", cap->u.type.subtype);
		add_str(o, "type_name", vfk_region_type_name(cap->u.type.type, cap->u.type.subtype));
		break;
	case VFIO_REGION_INFO_CAP_NVLINK2_SSATGT:
		add_u64_hex(o, "tgt", cap->u.ssatgt);
		break;
	case VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD:
		add_u64(o, "link_speed", cap->u.lnkspd);
		break;
	}
}

static struct json_object *cap_json(const struct vfk_cap *cap)
{
	struct json_object *o = json_object_new_object();

	add_u64(o, "id", cap->id);
	add_u64(o, "version", cap->version);
	add_u64(o, "offset", cap->offset);
	add_u64(o, "next", cap->next);
	add_str(o, "name", vfk_cap_name(cap->id));
	add_str(o, "status", status_name(cap->status));
	add_hex(o, "raw", cap->raw, cap->raw_len);
	if (cap->status == VFK_CAP_OK)
		add_cap_fields(o, cap);
	return o;
}

static struct json_object *region_json(const struct info_region *r)
{
	const struct vfk_region_info *ri = r->ri;
	struct json_object *o = json_object_new_object(), *caps = json_object_new_array();
	char name[48];

	add_u64(o, "index", r->index);
	add_str(o, "name", info_region_name(r, name, sizeof(name)));
	add_u64(o, "flags", ri->hdr.flags);
	json_object_object_add(o, "flag_names", flag_array(ri->hdr.flags, info_region_flag_names,
							   NFLAGS(info_region_flag_names)));
	add_u64_hex(o, "size", ri->hdr.size);
	add_u64_hex(o, "offset", ri->hdr.offset);
	add_u64(o, "argsz", ri->hdr.argsz);
	add_u64(o, "cap_offset", ri->hdr.cap_offset);
	add_u64(o, "info_calls", ri->calls);
	json_object_object_add(o, "mmap_fd", json_object_new_boolean(ri->mmap_fd >= 0));
	for (unsigned int i = 0; i < ri->chain.count; i++)
		json_object_array_add(caps, cap_json(&ri->chain.caps[i]));
	json_object_object_add(o, "caps", caps);
	add_str(o, "caps_error", ri->chain_status ? ri->chain_error : NULL);
	return o;
}

static struct json_object *irq_json(uint32_t index, const struct info_irq *irq)
{
	struct json_object *o = json_object_new_object();

	add_u64(o, "index", index);
	add_str(o, "name", vfk_pci_irq_name(index));
	if (irq->err) {
		add_str(o, "error", strerror(-irq->err));
		return o;
	}
	add_u64(o, "count", irq->info.count);
	add_u64(o, "flags", irq->info.flags);
	json_object_object_add(o, "flag_names", flag_array(irq->info.flags, info_irq_flag_names,
							   NFLAGS(info_irq_flag_names)));
	return o;
}

static struct json_object *bars_json(const struct info_snapshot *s)
{
	struct json_object *a = json_object_new_array();

	struct info_bar bars[6];
	unsigned int n = info_pci_bars(s, bars);

	for (unsigned int i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		add_u64(o, "index", bars[i].index);
		add_str(o, "kind", bars[i].io ? "io" : bars[i].mem64 ? "mem64" : "mem32");
		json_object_object_add(o, "prefetchable",
				       json_object_new_boolean(bars[i].prefetchable));
		add_u64_hex(o, "address", bars[i].address);
		add_u64_hex(o, "size", bars[i].size);
		json_object_array_add(a, o);
	}
	return a;
}

struct cap_ctx {
	const struct info_snapshot *s;
	struct json_object *list;
};

static void add_pci_cap(void *ctx, uint16_t off, uint16_t id, uint8_t version)
{
	struct cap_ctx *c = ctx;
	struct json_object *o = json_object_new_object();
	bool ext = off >= 0x100;

	add_u64(o, "offset", off);
	add_u64(o, "id", id);
	if (ext)
		add_u64(o, "version", version);
	add_str(o, "name", info_pci_cap_name(id, ext));
	if (!ext)
		info_cap_json(o, c->s, off, id);
	json_object_array_add(c->list, o);
}

/* null for a whole list, else "chain looped at 0x40" and the like. */
static void add_chain_end(struct json_object *o, const char *key, enum info_chain_end end,
			  uint16_t where)
{
	char text[64];

	if (end == INFO_CHAIN_OK) {
		add_str(o, key, NULL);
		return;
	}
	snprintf(text, sizeof(text), "%s at 0x%x", info_chain_end_name(end), where);
	add_str(o, key, text);
}

/* Names from pci.ids, null where it has none (never numbers: the ids are beside them). */
static void add_names(struct json_object *o, const struct info_snapshot *s)
{
	static const struct {
		const char *key;
		enum info_name what;
	} names[] = {
		{ "vendor_name", INFO_NAME_VENDOR },
		{ "device_name", INFO_NAME_DEVICE_ONLY },
		{ "subsystem_vendor_name", INFO_NAME_SUBSYSTEM_VENDOR },
		{ "class_name", INFO_NAME_CLASS },
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		add_str(o, names[i].key, info_name(s->names, names[i].what, s, true, buf,
						   sizeof(buf)));
}

static struct json_object *pci_json(const struct info_snapshot *s)
{
	struct json_object *o = json_object_new_object();
	struct json_object *caps = json_object_new_array(), *ext = json_object_new_array();
	uint32_t class_code = info_cfg(s, 0x08, 4) >> 8;
	struct cap_ctx std_ctx = { s, caps }, ext_ctx = { s, ext };
	uint16_t where;

	add_u64(o, "vendor_id", info_cfg(s, 0, 2));
	add_u64(o, "device_id", info_cfg(s, 2, 2));
	add_u64(o, "subsystem_vendor_id", info_cfg(s, 0x2c, 2));
	add_u64(o, "subsystem_id", info_cfg(s, 0x2e, 2));
	add_names(o, s);
	add_u64(o, "class_code", class_code);
	add_u64(o, "revision", info_cfg(s, 0x08, 1));
	add_u64(o, "header_type", info_cfg(s, 0x0e, 1));
	add_u64(o, "command", info_cfg(s, 0x04, 2));
	add_u64(o, "status", info_cfg(s, 0x06, 2));
	add_u64(o, "interrupt_pin", info_cfg(s, 0x3d, 1));
	json_object_object_add(o, "bars", bars_json(s));
	json_object_object_add(o, "capabilities", caps);
	add_chain_end(o, "capabilities_error",
		      info_pci_caps_walk(s, false, add_pci_cap, &std_ctx, &where), where);
	json_object_object_add(o, "extended_capabilities", ext);
	add_chain_end(o, "extended_capabilities_error",
		      info_pci_caps_walk(s, true, add_pci_cap, &ext_ctx, &where), where);
	add_u64(o, "config_size", s->config_len);
	return o;
}

struct json_object *info_to_json(const struct info_snapshot *s, const struct info_opts *o)
{
	struct json_object *root = json_object_new_object(), *dev = json_object_new_object();
	struct json_object *regions = json_object_new_array(), *irqs = json_object_new_array();

	add_str(root, "schema", SCHEMA);
	add_str(root, "target", s->target);
	add_str(root, "backend", s->backend);
	add_u64(dev, "flags", s->dev.flags);
	json_object_object_add(dev, "flag_names",
			       flag_array(s->dev.flags, info_device_flag_names,
					  NFLAGS(info_device_flag_names)));
	add_u64(dev, "num_regions", s->dev.num_regions);
	add_u64(dev, "num_irqs", s->dev.num_irqs);
	json_object_object_add(root, "device", dev);
	for (uint32_t i = 0; i < s->nr_regions; i++)
		if (s->regions[i].ri)
			json_object_array_add(regions, region_json(&s->regions[i]));
	json_object_object_add(root, "regions", regions);
	for (uint32_t i = 0; i < s->nr_irqs; i++)
		json_object_array_add(irqs, irq_json(i, &s->irqs[i]));
	json_object_object_add(root, "irqs", irqs);
	json_object_object_add(root, "pci", s->config_len ? pci_json(s) : NULL);
	if (o->kernel)
		json_object_object_add(root, "kernel", info_kernel_json(s->target, s->backend));
	if (o->hex && s->config_len)
		add_hex(root, "config_raw", s->config, info_hex_len(s, o->hex));
	else if (o->verbose >= 2 && s->config_len)
		add_hex(root, "config_raw", s->config, s->config_len);
	return root;
}
