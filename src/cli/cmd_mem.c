// SPDX-License-Identifier: MIT
/*
 * vfiokit mem: read or write one 64-bit little-endian value in a region
 * of any target, either through a mapping of the region (--via mmap) or
 * through region read/write requests (--via region, the default).
 *
 *   vfiokit mem [--via mmap|region] TARGET REGION read OFFSET
 *   vfiokit mem [--via mmap|region] TARGET REGION write OFFSET VALUE
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vfiokit/client.h>

#include "cli_util.h"
#include "commands.h"
#include "model_args.h"

struct mem_op {
	bool via_mmap;
	bool write;
	uint32_t region;
	uint64_t offset;
	uint64_t value;
};

/* Map the page(s) holding the value and access it there. */
static int access_mmap(struct vfk_client *c, struct mem_op *op)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	const uint64_t base = op->offset & ~(page - 1);
	/* A value may straddle a page boundary: map both pages then. */
	const size_t len = (size_t)((op->offset - base + sizeof(op->value) + page - 1) &
				    ~(page - 1));
	struct vfk_region_info *ri;
	uint8_t *map;
	int ret = vfk_client_region_info(c, op->region, &ri);

	if (ret)
		return ret;
	map = vfk_client_region_mmap(c, ri, base, len, PROT_READ | PROT_WRITE);
	if (!map) {
		ret = -errno;
		vfk_region_info_free(ri);
		return ret;
	}
	if (op->write)
		memcpy(map + (op->offset - base), &op->value, sizeof(op->value));
	else
		memcpy(&op->value, map + (op->offset - base), sizeof(op->value));
	munmap(map, len);
	vfk_region_info_free(ri);
	return 0;
}

static int access_region(struct vfk_client *c, struct mem_op *op)
{
	ssize_t n = op->write
		? vfk_client_region_write(c, op->region, op->offset, &op->value, sizeof(op->value))
		: vfk_client_region_read(c, op->region, op->offset, &op->value, sizeof(op->value));

	if (n < 0)
		return (int)n;
	return n == sizeof(op->value) ? 0 : -EIO;
}

static void mem_usage(FILE *out)
{
	fprintf(out, "usage: vfiokit mem [--via mmap|region] TARGET REGION read OFFSET\n"
		"       vfiokit mem [--via mmap|region] TARGET REGION write OFFSET VALUE\n"
		"One 64-bit little-endian value at OFFSET of region index REGION;\n"
		"numbers take 0x and K/M/G/T suffixes.\n");
}

static int parse_op(int argc, char **argv, struct mem_op *op)
{
	const char *what;

	if (argc < 4)
		return -EINVAL;
	what = argv[2];
	op->write = !strcmp(what, "write");
	if (vfk_parse_u32(argv[1], &op->region) || vfk_parse_u64(argv[3], &op->offset))
		return -EINVAL;
	if (op->write)
		return argc == 5 && !vfk_parse_u64(argv[4], &op->value) ? 0 : -EINVAL;
	return !strcmp(what, "read") && argc == 4 ? 0 : -EINVAL;
}

int cmd_mem(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "via", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mem_op op = { 0 };
	struct vfk_client *c;
	char err[256] = "";
	int ch, ret;

	optind = 1;
	while ((ch = cli_getopt("mem", argc, argv, "+:h", longopts)) != -1) {
		if (ch == 'h') {
			mem_usage(stdout);
			return CLI_OK;
		}
		if (ch != 'v')
			return CLI_USAGE;
		if (strcmp(optarg, "mmap") && strcmp(optarg, "region")) {
			fprintf(stderr, "vfiokit mem: --via %s: expected mmap or region\n", optarg);
			return CLI_USAGE;
		}
		op.via_mmap = !strcmp(optarg, "mmap");
	}
	if (parse_op(argc - optind, argv + optind, &op)) {
		mem_usage(stderr);
		return 2;
	}
	ret = vfk_client_open(argv[optind], NULL, &c, err, sizeof(err));
	if (ret) {
		/* The client library's reason names the target already. */
		fprintf(stderr, "vfiokit mem: %s\n", err);
		return 1;
	}
	ret = op.via_mmap ? access_mmap(c, &op) : access_region(c, &op);
	vfk_client_close(c);
	if (ret) {
		fprintf(stderr, "vfiokit mem: region %u offset 0x%" PRIx64 ": %s\n", op.region,
			op.offset, strerror(-ret));
		return 1;
	}
	printf("%s region %u offset 0x%" PRIx64 " via %s: 0x%016" PRIx64 "\n",
	       op.write ? "wrote" : "read", op.region, op.offset,
	       op.via_mmap ? "mmap" : "region", op.value);
	return 0;
}
