// SPDX-License-Identifier: MIT
/* `vfiokit info TARGET`: open, gather everything the device answers, print it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "info.h"

static void info_usage(FILE *out)
{
	fprintf(out,
		"usage: vfiokit info TARGET [-v|-vv] [-x|-xxx|-xxxx] [-n|-nn] [-k] [--json] [--region N]\n"
		"  TARGET: a vfio-user socket path, a PCI address (0000:00:03.0) or /dev/vfio/N\n"
		"  -v          request counts, absent regions; -vv: raw cap bytes, capabilities\n"
		"              decoded as lspci -vv does\n"
		"  -x          hex dump of config space as lspci -x prints it (64 bytes; -xxx 256,\n"
		"              -xxxx 4096), readable by lspci -F\n"
		"  -n          numeric ids only; -nn names and ids (names from pci.ids via libpci)\n"
		"  -k          kernel driver and IOMMU group (kernel targets)\n"
		"  --json      machine-readable output (schema: docs/cli-info.md)\n"
		"  --region N  only region N\n"
		"  --timeout MS  vfio-user reply timeout (default 5000)\n");
}

/* A number from min to max, else one line naming the option and the range. */
static int parse_ranged(const char *opt, const char *text, long min, long max, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(text, &end, 0);
	if (!errno && *end == '\0' && end != text && *v >= min && *v <= max)
		return 0;
	fprintf(stderr, "vfiokit info: --%s %s: expected a number from %ld to %ld\n", opt, text,
		min, max);
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct info_opts *o, int *timeout_ms)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "region", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "hex", no_argument, NULL, 'x' },
		{ "numeric", no_argument, NULL, 'n' },
		{ "kernel", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	long ms;
	int c;

	optind = 1;
	while ((c = cli_getopt("info", argc, argv, ":vhjxnk", longopts)) != -1) {
		switch (c) {
		case 'v':
			o->verbose++;
			break;
		case 'j':
			o->json = true;
			break;
		case 'x':
			o->hex++;
			break;
		case 'n':
			o->numeric++;
			break;
		case 'k':
			o->kernel = true;
			break;
		case 'r':
			if (parse_ranged("region", optarg, 0, UINT32_MAX, &o->region))
				return -EINVAL;
			break;
		case 't':
			if (parse_ranged("timeout", optarg, 1, INT_MAX, &ms))
				return -EINVAL;
			*timeout_ms = (int)ms;
			break;
		case 'h':
			info_usage(stdout);
			exit(CLI_OK);
		default:
			return -EINVAL;
		}
	}
	if (o->hex && o->region >= 0) {
		fprintf(stderr, "vfiokit info: -x dumps config space, which --region leaves out\n");
		return -EINVAL;
	}
	if (optind + 1 == argc)
		return optind;
	fprintf(stderr, "vfiokit info: expected one TARGET (see 'vfiokit info --help')\n");
	return -EINVAL;
}

static int gather_regions(struct vfk_client *c, struct info_snapshot *s, long only)
{
	uint32_t first = only >= 0 ? (uint32_t)only : 0;

	s->nr_regions = only >= 0 ? 1 : s->dev.num_regions;
	s->regions = calloc(s->nr_regions ? s->nr_regions : 1, sizeof(*s->regions));
	if (!s->regions)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->nr_regions; i++) {
		struct info_region *r = &s->regions[i];

		r->index = first + i;
		r->err = vfk_client_region_info(c, r->index, &r->ri);
		/* An absent region (VGA on most devices) is -EINVAL; a dead peer is not. */
		if (r->err && r->err != -EINVAL && r->err != -ENOENT)
			return r->err;
	}
	return 0;
}

static int gather_irqs(struct vfk_client *c, struct info_snapshot *s)
{
	s->nr_irqs = s->dev.num_irqs;
	s->irqs = calloc(s->nr_irqs ? s->nr_irqs : 1, sizeof(*s->irqs));
	if (!s->irqs)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->nr_irqs; i++) {
		s->irqs[i].err = vfk_client_irq_info(c, i, &s->irqs[i].info);
		if (s->irqs[i].err && s->irqs[i].err != -EINVAL)
			return s->irqs[i].err;
	}
	return 0;
}

/* Config space: as much as the CONFIG region has, up to 4 KiB. */
static int gather_config(struct vfk_client *c, struct info_snapshot *s)
{
	struct vfk_region_info *ri;
	size_t len;
	ssize_t n;

	if (!(s->dev.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    vfk_client_region_info(c, VFIO_PCI_CONFIG_REGION_INDEX, &ri))
		return 0;
	len = ri->hdr.size < sizeof(s->config) ? (size_t)ri->hdr.size : sizeof(s->config);
	vfk_region_info_free(ri);
	n = vfk_client_config_read(c, 0, s->config, len);
	if (n < 0)
		return (int)n;
	s->config_len = len;
	return 0;
}

static int gather(struct vfk_client *c, struct info_snapshot *s, const struct info_opts *o)
{
	int ret = vfk_client_device_info(c, &s->dev);

	if (!ret && o->region >= 0 && o->region >= s->dev.num_regions)
		return -ERANGE;
	if (!ret)
		ret = gather_regions(c, s, o->region);
	if (!ret && o->region < 0)
		ret = gather_irqs(c, s);
	if (!ret && o->region < 0)
		ret = gather_config(c, s);
	return ret;
}

static void snapshot_free(struct info_snapshot *s)
{
	for (uint32_t i = 0; s->regions && i < s->nr_regions; i++)
		vfk_region_info_free(s->regions[i].ri);
	free(s->regions);
	free(s->irqs);
}

static int print_json(const struct info_snapshot *s, const struct info_opts *o)
{
	struct json_object *j = info_to_json(s, o);
	const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE);

	puts(text);
	json_object_put(j);
	return 0;
}

int cmd_info(int argc, char **argv)
{
	struct info_opts o = { .region = -1 };
	struct vfk_client_opts copts = { 0 };
	struct info_snapshot s = { 0 };
	struct vfk_client *c;
	char err[512];
	int arg = parse_args(argc, argv, &o, &copts.timeout_ms), ret;

	if (arg < 0)
		return CLI_USAGE;
	s.target = argv[arg];
	ret = vfk_client_open(s.target, &copts, &c, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "vfiokit info: %s\n", err);
		return CLI_FAILED;
	}
	s.backend = vfk_client_backend(c);
	s.names = info_names_open(o.numeric);
	ret = s.names ? gather(c, &s, &o) : -ENOMEM;
	if (ret == -ERANGE)
		fprintf(stderr, "vfiokit info: %s: no region %ld (the device has %u)\n", s.target,
			o.region, s.dev.num_regions);
	else if (ret)
		fprintf(stderr, "vfiokit info: %s: %s\n", s.target,
			cli_cause(ret, copts.timeout_ms, err, sizeof(err)));
	else if (o.json)
		print_json(&s, &o);
	else
		info_print_text(&s, &o);
	snapshot_free(&s);
	info_names_close(s.names);
	vfk_client_close(c);
	/* Asking for a region the device lacks is bad input, not a failure. */
	return ret == -ERANGE ? CLI_USAGE : ret ? CLI_FAILED : CLI_OK;
}
