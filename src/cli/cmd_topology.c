// SPDX-License-Identifier: MIT
/*
 * vfiokit topology TARGET...: the NVLink2 topology of GPUs and NPU2
 * bridges from their device-specific regions' capabilities, paired by
 * tgt; --dts prints the guest device-tree fragment instead, --json the
 * same as a documented JSON object.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <vfiokit/client.h>
#include <vfiokit/log.h>
#include <vfiokit/region.h>

#include "cli_util.h"
#include "commands.h"
#include "nvlink_topology.h"

#define MAX_TARGETS 64
#define MAX_ISSUES 128
#define NVIDIA_RAM_TYPE VFK_REGION_TYPE_PCI_VENDOR(0x10de)
#define IBM_ATSD_TYPE VFK_REGION_TYPE_PCI_VENDOR(0x1014)

struct scan {
	struct vfk_nvl_gpu gpus[MAX_TARGETS];
	struct vfk_nvl_bridge bridges[MAX_TARGETS];
	size_t ngpus, nbridges;
};

static const struct vfk_cap *decoded_cap(const struct vfk_region_info *ri, uint16_t id)
{
	const struct vfk_cap *cap = vfk_capchain_find(&ri->chain, id);

	return cap && cap->status == VFK_CAP_OK ? cap : NULL;
}

/* The region of (type, subtype) and its info, or -ENOENT. */
static int find_region(struct vfk_client *c, uint32_t type, uint32_t subtype,
		       struct vfk_region_info **ri)
{
	int index = vfk_client_find_region(c, type, subtype);

	if (index < 0)
		return index;
	return vfk_client_region_info(c, (uint32_t)index, ri);
}

static void add_gpu(struct scan *s, const char *name, const struct vfk_region_info *ri)
{
	const struct vfk_cap *tgt = decoded_cap(ri, VFIO_REGION_INFO_CAP_NVLINK2_SSATGT);

	s->gpus[s->ngpus++] = (struct vfk_nvl_gpu){
		.name = name, .region = ri->hdr.index, .aperture = ri->hdr.size,
		.has_tgt = tgt != NULL, .tgt = tgt ? tgt->u.ssatgt : 0,
	};
}

static void add_bridge(struct scan *s, const char *name, const struct vfk_region_info *ri)
{
	const struct vfk_cap *tgt = decoded_cap(ri, VFIO_REGION_INFO_CAP_NVLINK2_SSATGT);
	const struct vfk_cap *spd = decoded_cap(ri, VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD);

	s->bridges[s->nbridges++] = (struct vfk_nvl_bridge){
		.name = name, .region = ri->hdr.index, .atsd_size = ri->hdr.size,
		.has_tgt = tgt != NULL, .tgt = tgt ? tgt->u.ssatgt : 0,
		.has_speed = spd != NULL, .speed = spd ? spd->u.lnkspd : 0, .gpu = -1,
	};
}

/* Classify one target as GPU or bridge; -ENOENT when it is neither. */
static int scan_client(struct scan *s, struct vfk_client *c, const char *name)
{
	struct vfk_region_info *ri = NULL;
	int ret = find_region(c, NVIDIA_RAM_TYPE, VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM, &ri);

	if (!ret) {
		add_gpu(s, name, ri);
	} else if (ret == -ENOENT) {
		ret = find_region(c, IBM_ATSD_TYPE, VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD, &ri);
		if (!ret)
			add_bridge(s, name, ri);
	}
	if (ri && ri->chain_status)
		vfk_warn("%s: region %u: %s", name, ri->hdr.index, ri->chain_error);
	vfk_region_info_free(ri);
	return ret;
}

static int scan_target(struct scan *s, const char *target)
{
	struct vfk_client *c;
	char err[256] = "";
	int ret = vfk_client_open(target, NULL, &c, err, sizeof(err));

	if (ret) {
		/* The client library's reason names the target already. */
		fprintf(stderr, "vfiokit topology: %s\n", err);
		return ret;
	}
	ret = scan_client(s, c, target);
	if (ret == -ENOENT)
		fprintf(stderr, "vfiokit topology: %s: neither an NVLink2 GPU (GPU RAM region) "
			"nor an NVLink2 bridge (ATSD region)\n", target);
	else if (ret)
		fprintf(stderr, "vfiokit topology: %s: %s\n", target,
			cli_cause(ret, 0, err, sizeof(err)));
	vfk_client_close(c);
	return ret;
}

/* Each inconsistency on stderr, and into issues (a JSON array) when not NULL. */
static int report_issues(struct scan *s, struct json_object *issues_json)
{
	struct vfk_nvl_issue issues[MAX_ISSUES];
	size_t n = vfk_nvl_pair(s->gpus, s->ngpus, s->bridges, s->nbridges, issues, MAX_ISSUES);
	char line[256];

	for (size_t i = 0; i < n && i < MAX_ISSUES; i++) {
		vfk_nvl_issue_describe(&issues[i], s->gpus, s->bridges, line, sizeof(line));
		fprintf(stderr, "inconsistent: %s\n", line);
		if (issues_json)
			json_object_array_add(issues_json, json_object_new_string(line));
	}
	return n ? -EINVAL : 0;
}

/* A 64-bit value as a number and as "0x..." under key_hex (jq 1.6 rounds above 2^53). */
static void add_u64(struct json_object *o, const char *key, bool has, uint64_t v)
{
	char name[64], hex[24];

	snprintf(name, sizeof(name), "%s_hex", key);
	snprintf(hex, sizeof(hex), "0x%" PRIx64, v);
	json_object_object_add(o, key, has ? json_object_new_uint64(v) : NULL);
	json_object_object_add(o, name, has ? json_object_new_string(hex) : NULL);
}

static struct json_object *gpu_json(const struct scan *s, size_t g)
{
	struct json_object *o = json_object_new_object(), *links = json_object_new_array();
	const struct vfk_nvl_gpu *gpu = &s->gpus[g];

	json_object_object_add(o, "target", json_object_new_string(gpu->name));
	json_object_object_add(o, "region", json_object_new_int64(gpu->region));
	add_u64(o, "aperture", true, gpu->aperture);
	add_u64(o, "tgt", gpu->has_tgt, gpu->tgt);
	for (size_t b = 0; b < s->nbridges; b++)
		if (s->bridges[b].gpu == (int)g)
			json_object_array_add(links, json_object_new_int64((int64_t)b));
	json_object_object_add(o, "bridges", links);
	return o;
}

static struct json_object *bridge_json(const struct vfk_nvl_bridge *br)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "target", json_object_new_string(br->name));
	json_object_object_add(o, "region", json_object_new_int64(br->region));
	add_u64(o, "atsd_size", true, br->atsd_size);
	add_u64(o, "tgt", br->has_tgt, br->tgt);
	json_object_object_add(o, "link_speed",
			       br->has_speed ? json_object_new_int64(br->speed) : NULL);
	json_object_object_add(o, "gpu", br->gpu >= 0 ? json_object_new_int(br->gpu) : NULL);
	return o;
}

/* The documented "vfiokit-topology/1" object (docs/cli-info.md). */
static void print_json(const struct scan *s, struct json_object *issues, bool complete,
		       bool consistent)
{
	struct json_object *root = json_object_new_object();
	struct json_object *gpus = json_object_new_array(), *bridges = json_object_new_array();

	json_object_object_add(root, "schema", json_object_new_string("vfiokit-topology/1"));
	for (size_t g = 0; g < s->ngpus; g++)
		json_object_array_add(gpus, gpu_json(s, g));
	for (size_t b = 0; b < s->nbridges; b++)
		json_object_array_add(bridges, bridge_json(&s->bridges[b]));
	json_object_object_add(root, "gpus", gpus);
	json_object_object_add(root, "bridges", bridges);
	json_object_object_add(root, "issues", issues);
	json_object_object_add(root, "complete", json_object_new_boolean(complete));
	json_object_object_add(root, "consistent", json_object_new_boolean(consistent));
	puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

static void topology_usage(FILE *out)
{
	fprintf(out, "usage: vfiokit topology [--dts|--json] TARGET...\n"
		"  TARGET: a vfio-user socket, a PCI address bound to vfio-pci, /dev/vfio/N\n"
		"  --dts   print the guest device-tree fragment (dtc source) instead\n"
		"  --json  machine-readable output (schema: docs/cli-info.md)\n"
		"Exit status 1 when the devices are inconsistent (each reason on stderr).\n");
}

int cmd_topology(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dts", no_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct scan s;
	struct json_object *issues = NULL;
	bool dts = false, json = false;
	int c, failed = 0, inconsistent;

	optind = 1;
	while ((c = cli_getopt("topology", argc, argv, ":h", longopts)) != -1) {
		if (c == 'h') {
			topology_usage(stdout);
			return CLI_OK;
		}
		if (c != 'd' && c != 'j')
			return CLI_USAGE;
		dts |= c == 'd';
		json |= c == 'j';
	}
	if (dts && json) {
		fprintf(stderr, "vfiokit topology: --dts and --json exclude each other\n");
		return CLI_USAGE;
	}
	if (optind == argc || argc - optind > MAX_TARGETS) {
		fprintf(stderr, "vfiokit topology: expected 1 to %d TARGETs (see "
			"'vfiokit topology --help')\n", MAX_TARGETS);
		return CLI_USAGE;
	}
	memset(&s, 0, sizeof(s));
	for (int i = optind; i < argc; i++)
		failed |= scan_target(&s, argv[i]) != 0;
	if (json)
		issues = json_object_new_array();
	inconsistent = report_issues(&s, issues) != 0;
	if (json)
		print_json(&s, issues, !failed, !inconsistent);
	else if (dts)
		vfk_nvl_write_dts(stdout, s.gpus, s.ngpus, s.bridges, s.nbridges);
	else
		vfk_nvl_print(stdout, s.gpus, s.ngpus, s.bridges, s.nbridges);
	return failed || inconsistent ? CLI_FAILED : CLI_OK;
}
