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
static int access_mmap(struct vfk_client *c, const struct vfk_region_info *ri,
		       struct mem_op *op)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	const uint64_t base = op->offset & ~(page - 1);
	/* A value may straddle a page boundary: map both pages then. */
	const size_t len = (size_t)((op->offset - base + sizeof(op->value) + page - 1) &
				    ~(page - 1));
	uint8_t *map = vfk_client_region_mmap(c, ri, base, len, PROT_READ | PROT_WRITE);

	if (!map)
		return -errno;
	if (op->write)
		memcpy(map + (op->offset - base), &op->value, sizeof(op->value));
	else
		memcpy(&op->value, map + (op->offset - base), sizeof(op->value));
	munmap(map, len);
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

/*
 * What the device's answers show wrong with the request, in why: no such
 * region, past its end, not mappable. -ERANGE then (bad input), another
 * error when asking failed, 0 with *ri the region's info.
 */
static int check_op(struct vfk_client *c, const struct mem_op *op,
		    struct vfk_region_info **ri, char *why, size_t len)
{
	struct vfio_device_info dev;
	uint64_t size;
	int ret = vfk_client_device_info(c, &dev);

	if (!ret && op->region >= dev.num_regions) {
		snprintf(why, len, "no region %u (the device has %u)", op->region, dev.num_regions);
		return -ERANGE;
	}
	ret = ret ? ret : vfk_client_region_info(c, op->region, ri);
	if (ret == -EINVAL || ret == -ENOENT) {
		snprintf(why, len, "no region %u (the device leaves that index empty)",
			 op->region);
		return -ERANGE;
	}
	if (ret)
		return ret;
	size = (*ri)->hdr.size;
	if (!size)
		snprintf(why, len, "region %u is empty (size 0)", op->region);
	else if (size < sizeof(op->value) || op->offset > size - sizeof(op->value))
		snprintf(why, len, "region %u: offset 0x%" PRIx64 " is past the end of a 0x%"
			 PRIx64 " region (8 bytes from it needed)", op->region, op->offset, size);
	else if (op->via_mmap && !((*ri)->hdr.flags & VFIO_REGION_INFO_FLAG_MMAP))
		snprintf(why, len, "region %u not mappable (try --via region)", op->region);
	else
		return 0;
	vfk_region_info_free(*ri);
	*ri = NULL;
	return -ERANGE;
}

/* The cause of a failed access, once check_op() found the request sound. */
static const char *access_cause(int err, const struct mem_op *op, char *buf, size_t len)
{
	if (err == -EINVAL && !op->via_mmap)
		return "the device refused an 8-byte access here (width or alignment not "
		       "supported by this register)";
	if (err == -EACCES && op->via_mmap)
		return "offset outside the region's mappable areas (try --via region)";
	return cli_cause(err, 0, buf, len);
}

/* The access on an open client: the exit status, and why when not 0. */
static int run_op(struct vfk_client *c, struct mem_op *op, char *why, size_t len)
{
	struct vfk_region_info *ri = NULL;
	char cause[64];
	int ret = check_op(c, op, &ri, why, len);

	if (ret == -ERANGE)
		return CLI_USAGE;
	if (ret) {
		snprintf(why, len, "%s", cli_cause(ret, 0, cause, sizeof(cause)));
		return CLI_FAILED;
	}
	ret = op->via_mmap ? access_mmap(c, ri, op) : access_region(c, op);
	vfk_region_info_free(ri);
	if (!ret)
		return CLI_OK;
	snprintf(why, len, "region %u offset 0x%" PRIx64 ": %s", op->region, op->offset,
		 access_cause(ret, op, cause, sizeof(cause)));
	/* A width the register does not take is bad input too. */
	return ret == -EINVAL && !op->via_mmap ? CLI_USAGE : CLI_FAILED;
}

static void mem_usage(FILE *out)
{
	fprintf(out, "usage: vfiokit mem [--via mmap|region] TARGET REGION read OFFSET\n"
		"       vfiokit mem [--via mmap|region] TARGET REGION write OFFSET VALUE\n"
		"One 64-bit little-endian value at OFFSET of region index REGION;\n"
		"numbers take 0x and K/M/G/T suffixes.\n");
}

/* One line naming the argument and what it takes; -EINVAL. */
static int bad_arg(const char *name, const char *text, const char *expected)
{
	fprintf(stderr, "vfiokit mem: %s %s: expected %s\n", name, text, expected);
	return -EINVAL;
}

static int parse_op(int argc, char **argv, struct mem_op *op)
{
	op->write = argc > 2 && !strcmp(argv[2], "write");
	if (argc > 2 && !op->write && strcmp(argv[2], "read"))
		return bad_arg("operation", argv[2], "read or write");
	if (argc != (op->write ? 5 : 4)) {
		fprintf(stderr, "vfiokit mem: expected TARGET REGION read OFFSET or TARGET "
			"REGION write OFFSET VALUE (see 'vfiokit mem --help')\n");
		return -EINVAL;
	}
	if (vfk_parse_u32(argv[1], &op->region))
		return bad_arg("REGION", argv[1], "an index from 0 to 4294967295");
	if (vfk_parse_u64(argv[3], &op->offset))
		return bad_arg("OFFSET", argv[3], "a number from 0 to 2^64-1 (0x, K/M/G/T)");
	if (op->write && vfk_parse_u64(argv[4], &op->value))
		return bad_arg("VALUE", argv[4], "a number from 0 to 2^64-1 (0x, K/M/G/T)");
	return 0;
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
	if (parse_op(argc - optind, argv + optind, &op))
		return CLI_USAGE;
	ret = vfk_client_open(argv[optind], NULL, &c, err, sizeof(err));
	if (ret) {
		/* The client library's reason names the target already. */
		fprintf(stderr, "vfiokit mem: %s\n", err);
		return CLI_FAILED;
	}
	ret = run_op(c, &op, err, sizeof(err));
	vfk_client_close(c);
	if (ret) {
		fprintf(stderr, "vfiokit mem: %s: %s\n", argv[optind], err);
		return ret;
	}
	printf("%s region %u offset 0x%" PRIx64 " via %s: 0x%016" PRIx64 "\n",
	       op.write ? "wrote" : "read", op.region, op.offset,
	       op.via_mmap ? "mmap" : "region", op.value);
	return CLI_OK;
}
