// SPDX-License-Identifier: MIT
/*
 * vfiokit topology TARGET...: the NVLink2 topology of GPUs and NPU2
 * bridges from their device-specific regions' capabilities, paired by
 * tgt; --dts prints the guest device-tree fragment instead.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int report_issues(struct scan *s)
{
	struct vfk_nvl_issue issues[MAX_ISSUES];
	size_t n = vfk_nvl_pair(s->gpus, s->ngpus, s->bridges, s->nbridges, issues, MAX_ISSUES);
	char line[256];

	for (size_t i = 0; i < n && i < MAX_ISSUES; i++) {
		vfk_nvl_issue_describe(&issues[i], s->gpus, s->bridges, line, sizeof(line));
		fprintf(stderr, "inconsistent: %s\n", line);
	}
	return n ? -EINVAL : 0;
}

static void topology_usage(FILE *out)
{
	fprintf(out, "usage: vfiokit topology [--dts] TARGET...\n"
		"  TARGET: a vfio-user socket, a PCI address bound to vfio-pci, /dev/vfio/N\n"
		"  --dts   print the guest device-tree fragment (dtc source) instead\n"
		"Exit status 1 when the devices are inconsistent (each reason on stderr).\n");
}

int cmd_topology(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dts", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct scan s;
	bool dts = false;
	int c, failed = 0;

	optind = 1;
	while ((c = cli_getopt("topology", argc, argv, ":h", longopts)) != -1) {
		if (c == 'h') {
			topology_usage(stdout);
			return CLI_OK;
		}
		if (c != 'd')
			return CLI_USAGE;
		dts = true;
	}
	if (optind == argc || argc - optind > MAX_TARGETS) {
		fprintf(stderr, "vfiokit topology: expected 1 to %d TARGETs (see "
			"'vfiokit topology --help')\n", MAX_TARGETS);
		return CLI_USAGE;
	}
	memset(&s, 0, sizeof(s));
	for (int i = optind; i < argc; i++)
		failed |= scan_target(&s, argv[i]) != 0;
	failed |= report_issues(&s) != 0;
	if (dts)
		vfk_nvl_write_dts(stdout, s.gpus, s.ngpus, s.bridges, s.nbridges);
	else
		vfk_nvl_print(stdout, s.gpus, s.ngpus, s.bridges, s.nbridges);
	return failed ? CLI_FAILED : CLI_OK;
}
