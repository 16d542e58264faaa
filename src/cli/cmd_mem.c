// SPDX-License-Identifier: MIT
/*
 * vfiokit mem: read and write registers or memory in a region of any
 * target, 1, 2, 4 or 8 bytes at a time (little-endian), through region
 * read/write requests (--via region, the default) or a mapping of the
 * region (--via mmap). Several accesses run in order on one connection:
 * the device is reset when its client leaves, so a write and the read
 * that checks it must share one.
 *
 *   vfiokit mem [OPTIONS] TARGET ACCESS...      ACCESS: OFFSET[.B|.W|.L|.Q][=VALUE]
 *   vfiokit mem [OPTIONS] TARGET REGION read OFFSET
 *   vfiokit mem [OPTIONS] TARGET REGION write OFFSET VALUE
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <json-c/json.h>

#include <vfiokit/client.h>

#include "cli_util.h"
#include "commands.h"
#include "model_args.h"

#define MAX_ACCESSES 256
#define DEFAULT_WIDTH 8   /* what mem did before widths: keeps old scripts */

struct mem_access {
	uint64_t offset;
	uint64_t value;     /* to write, or read */
	unsigned int width; /* bytes: 1, 2, 4 or 8 */
	bool write;
	bool done;
};

struct mem_req {
	bool via_mmap;
	bool json;
	bool region_given;          /* by --region: the old form's REGION may not differ */
	uint32_t region;
	unsigned int width;         /* for accesses without a suffix */
	struct mem_access acc[MAX_ACCESSES];
	size_t n;
};

/* ---- the accesses ------------------------------------------------------ */

/* A width-byte value from little-endian bytes, and back. */
static uint64_t from_le(const uint8_t *b, unsigned int width)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < width; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static void to_le(uint8_t *b, uint64_t v, unsigned int width)
{
	for (unsigned int i = 0; i < width; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* One access of exactly its width: a register may act on the width. */
static uint64_t mmio_read(const uint8_t *p, unsigned int width)
{
	switch (width) {
	case 1:
		return *(const volatile uint8_t *)p;
	case 2:
		return *(const volatile uint16_t *)(const void *)p;
	case 4:
		return *(const volatile uint32_t *)(const void *)p;
	default:
		return *(const volatile uint64_t *)(const void *)p;
	}
}

static void mmio_write(uint8_t *p, unsigned int width, uint64_t v)
{
	switch (width) {
	case 1:
		*(volatile uint8_t *)p = (uint8_t)v;
		break;
	case 2:
		*(volatile uint16_t *)(void *)p = (uint16_t)v;
		break;
	case 4:
		*(volatile uint32_t *)(void *)p = (uint32_t)v;
		break;
	default:
		*(volatile uint64_t *)(void *)p = v;
		break;
	}
}

/*
 * Map the page holding the access and do it there. Accesses are
 * naturally aligned (check_access()), so one never straddles pages. A
 * write is not read back: reading a register may have effects of its own.
 */
static int access_mmap(struct vfk_client *c, const struct vfk_region_info *ri,
		       struct mem_access *a)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	const uint64_t base = a->offset & ~(page - 1);
	const size_t len = (size_t)(ri->hdr.size - base < page ? ri->hdr.size - base : page);
	uint8_t *map = vfk_client_region_mmap(c, ri, base, len, PROT_READ | PROT_WRITE);

	if (!map)
		return -errno;
	if (a->write)
		mmio_write(map + (a->offset - base), a->width, a->value);
	else
		a->value = mmio_read(map + (a->offset - base), a->width);
	munmap(map, len);
	return 0;
}

static int access_region(struct vfk_client *c, uint32_t region, struct mem_access *a)
{
	uint8_t b[8];
	ssize_t n;

	if (a->write) {
		to_le(b, a->value, a->width);
		n = vfk_client_region_write(c, region, a->offset, b, a->width);
	} else {
		n = vfk_client_region_read(c, region, a->offset, b, a->width);
		if (n == (ssize_t)a->width)
			a->value = from_le(b, a->width);
	}
	if (n < 0)
		return (int)n;
	return n == (ssize_t)a->width ? 0 : -EIO;
}

/* ---- what the device lacks --------------------------------------------- */

/*
 * The region's info when the device has it and it can take accesses the
 * way asked: 0 and *ri; -ERANGE with why when not (bad input); another
 * error when asking failed.
 */
static int check_region(struct vfk_client *c, const struct mem_req *r,
			struct vfk_region_info **ri, char *why, size_t len)
{
	struct vfio_device_info dev;
	int ret = vfk_client_device_info(c, &dev);

	if (!ret && r->region >= dev.num_regions) {
		snprintf(why, len, "no region %u (the device has %u)", r->region, dev.num_regions);
		return -ERANGE;
	}
	ret = ret ? ret : vfk_client_region_info(c, r->region, ri);
	if (ret == -EINVAL || ret == -ENOENT) {
		snprintf(why, len, "no region %u (the device leaves that index empty)", r->region);
		return -ERANGE;
	}
	if (ret)
		return ret;
	if (!(*ri)->hdr.size)
		snprintf(why, len, "region %u is empty (size 0)", r->region);
	else if (r->via_mmap && !((*ri)->hdr.flags & VFIO_REGION_INFO_FLAG_MMAP))
		snprintf(why, len, "region %u not mappable (try --via region)", r->region);
	else
		return 0;
	vfk_region_info_free(*ri);
	*ri = NULL;
	return -ERANGE;
}

/* One access against the region's size; 0, or -ERANGE with why. */
static int check_access(const struct mem_req *r, const struct mem_access *a, uint64_t size,
			char *why, size_t len)
{
	if (size < a->width || a->offset > size - a->width) {
		snprintf(why, len, "region %u: offset 0x%" PRIx64 " is past the end of a 0x%"
			 PRIx64 " region (%u byte%s from it needed)", r->region, a->offset, size,
			 a->width, a->width == 1 ? "" : "s");
		return -ERANGE;
	}
	if (r->via_mmap && a->offset % a->width) {
		snprintf(why, len, "region %u: offset 0x%" PRIx64 " is not a multiple of %u "
			 "(a mapped access must be aligned to its width; try --via region)",
			 r->region, a->offset, a->width);
		return -ERANGE;
	}
	return 0;
}

/* The cause of a failed access in words, once the request was found sound. */
static const char *access_cause(int err, const struct mem_req *r, const struct mem_access *a,
				char *buf, size_t len)
{
	if (err == -EINVAL && !r->via_mmap) {
		snprintf(buf, len, "the device refused %s %u-byte access here (width or alignment "
			 "not supported by this register)", a->width == 8 ? "an" : "a", a->width);
		return buf;
	}
	if (err == -EACCES && r->via_mmap)
		return "offset outside the region's mappable areas (try --via region)";
	return cli_cause(err, 0, buf, len);
}

/*
 * The accesses in order on an open client, after checking them all, so
 * a bad one in the list does nothing. The exit status, and why when not 0.
 */
static int run_accesses(struct vfk_client *c, struct mem_req *r, char *why, size_t len)
{
	struct vfk_region_info *ri = NULL;
	char cause[160];
	int ret = check_region(c, r, &ri, why, len);

	for (size_t i = 0; !ret && i < r->n; i++)
		ret = check_access(r, &r->acc[i], ri->hdr.size, why, len);
	if (ret) {
		vfk_region_info_free(ri);
		if (ret == -ERANGE)
			return CLI_USAGE;
		snprintf(why, len, "%s", cli_cause(ret, 0, cause, sizeof(cause)));
		return CLI_FAILED;
	}
	for (size_t i = 0; !ret && i < r->n; i++) {
		struct mem_access *a = &r->acc[i];

		ret = r->via_mmap ? access_mmap(c, ri, a) : access_region(c, r->region, a);
		a->done = !ret;
		if (ret)
			snprintf(why, len, "region %u offset 0x%" PRIx64 ": %s", r->region, a->offset,
				 access_cause(ret, r, a, cause, sizeof(cause)));
	}
	vfk_region_info_free(ri);
	if (!ret)
		return CLI_OK;
	/* A width the register does not take is bad input too. */
	return ret == -EINVAL && !r->via_mmap ? CLI_USAGE : CLI_FAILED;
}

/* ---- output ------------------------------------------------------------ */

static void print_text(const struct mem_req *r)
{
	for (size_t i = 0; i < r->n && r->acc[i].done; i++) {
		const struct mem_access *a = &r->acc[i];

		printf("%s region %u offset 0x%" PRIx64 " via %s: 0x%0*" PRIx64 "\n",
		       a->write ? "wrote" : "read", r->region, a->offset,
		       r->via_mmap ? "mmap" : "region", (int)(2 * a->width), a->value);
	}
}

static json_object *hex(uint64_t v, unsigned int digits)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%0*" PRIx64, (int)digits, v);
	return json_object_new_string(buf);
}

/* The accesses done, and the error when one failed: numbers also as hex
 * strings, since a JSON reader may keep 64-bit numbers only as doubles. */
static void print_json(const char *target, const struct mem_req *r, const char *error)
{
	json_object *root = json_object_new_object(), *list = json_object_new_array();

	json_object_object_add(root, "target", json_object_new_string(target));
	json_object_object_add(root, "region", json_object_new_int64(r->region));
	json_object_object_add(root, "via",
			       json_object_new_string(r->via_mmap ? "mmap" : "region"));
	for (size_t i = 0; i < r->n && r->acc[i].done; i++) {
		const struct mem_access *a = &r->acc[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "op", json_object_new_string(a->write ? "write" : "read"));
		json_object_object_add(o, "offset", json_object_new_uint64(a->offset));
		json_object_object_add(o, "offset_hex", hex(a->offset, 1));
		json_object_object_add(o, "width", json_object_new_int((int)a->width));
		json_object_object_add(o, "value", json_object_new_uint64(a->value));
		json_object_object_add(o, "value_hex", hex(a->value, 2 * a->width));
		json_object_array_add(list, o);
	}
	json_object_object_add(root, "accesses", list);
	if (error)
		json_object_object_add(root, "error", json_object_new_string(error));
	printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

/* ---- command line ------------------------------------------------------ */

static void mem_usage(FILE *out)
{
	fprintf(out,
		"usage: vfiokit mem [OPTIONS] TARGET ACCESS...\n"
		"       vfiokit mem [OPTIONS] TARGET REGION read OFFSET\n"
		"       vfiokit mem [OPTIONS] TARGET REGION write OFFSET VALUE\n"
		"ACCESS: OFFSET[.B|.W|.L|.Q] reads, OFFSET[.B|.W|.L|.Q]=VALUE writes 1, 2, 4\n"
		"or 8 bytes (little-endian) at OFFSET of the region. The accesses run in\n"
		"order on one connection, so a read sees the writes before it. The device\n"
		"is reset when its client leaves: a second 'vfiokit mem' does not see\n"
		"what the first one wrote.\n"
		"options:\n"
		"  --region N         region index (default 0, BAR0)\n"
		"  --width 1|2|4|8    bytes of an access without a suffix (default 8)\n"
		"  --via region|mmap  region read/write requests (default), or a mapping\n"
		"                     of the region (accesses aligned to their width)\n"
		"  --json             the accesses as JSON (numbers also as hex strings)\n"
		"Numbers take 0x and K/M/G/T suffixes. Exit status: 0 done, 1 failed,\n"
		"2 bad usage or an access the device cannot take.\n");
}

/* One line naming the argument and what it takes; -EINVAL. */
static int bad_arg(const char *name, const char *text, const char *expected)
{
	fprintf(stderr, "vfiokit mem: %s %s: expected %s\n", name, text, expected);
	return -EINVAL;
}

/* 1, 2, 4, 8 from a setpci suffix letter or a number; 0 for neither. */
static unsigned int parse_width(const char *text)
{
	static const char *const names[] = { "B", "W", "L", "Q", "1", "2", "4", "8" };

	for (unsigned int i = 0; i < 8; i++)
		if (!strcasecmp(text, names[i]))
			return 1u << (i % 4);
	return 0;
}

/* A value that fits the access's width. */
static int parse_value(const char *text, struct mem_access *a)
{
	char range[64];

	snprintf(range, sizeof(range), "a number from 0 to 0x%" PRIx64 " (%u byte%s)",
		 a->width == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * a->width)) - 1, a->width,
		 a->width == 1 ? "" : "s");
	if (vfk_parse_u64(text, &a->value) ||
	    (a->width < 8 && a->value >> (8 * a->width)))
		return bad_arg("VALUE", text, range);
	a->write = true;
	return 0;
}

/* OFFSET[.WIDTH][=VALUE], as setpci takes them. */
static int parse_access(const char *text, unsigned int width, struct mem_access *a)
{
	char buf[128];
	char *eq, *dot;

	if (strlen(text) >= sizeof(buf))
		return bad_arg("access", text, "OFFSET[.B|.W|.L|.Q][=VALUE]");
	strcpy(buf, text);
	eq = strchr(buf, '=');
	if (eq)
		*eq++ = '\0';
	dot = strchr(buf, '.');
	if (dot)
		*dot++ = '\0';
	a->width = dot ? parse_width(dot) : width;
	if (!a->width)
		return bad_arg("width", dot, "B, W, L or Q (1, 2, 4 or 8 bytes)");
	if (vfk_parse_u64(buf, &a->offset)) {
		if (!dot && !eq)
			return bad_arg("access", text, "OFFSET[.B|.W|.L|.Q][=VALUE]");
		return bad_arg("OFFSET", buf, "a number from 0 to 2^64-1 (0x, K/M/G/T)");
	}
	return eq ? parse_value(eq, a) : 0;
}

/* TARGET REGION read OFFSET | TARGET REGION write OFFSET VALUE. */
static int parse_old_form(int argc, char **argv, struct mem_req *r)
{
	struct mem_access *a = &r->acc[0];
	bool write = !strcmp(argv[2], "write");
	uint32_t region;

	if (argc != (write ? 5 : 4)) {
		fprintf(stderr, "vfiokit mem: expected TARGET REGION read OFFSET or TARGET "
			"REGION write OFFSET VALUE (see 'vfiokit mem --help')\n");
		return -EINVAL;
	}
	if (vfk_parse_u32(argv[1], &region))
		return bad_arg("REGION", argv[1], "an index from 0 to 4294967295");
	if (r->region_given && region != r->region) {
		fprintf(stderr, "vfiokit mem: REGION %s and --region %u: give one\n", argv[1],
			r->region);
		return -EINVAL;
	}
	r->region = region;
	r->n = 1;
	a->width = r->width;
	if (vfk_parse_u64(argv[3], &a->offset))
		return bad_arg("OFFSET", argv[3], "a number from 0 to 2^64-1 (0x, K/M/G/T)");
	return write ? parse_value(argv[4], a) : 0;
}

/* argv: TARGET and what follows it. */
static int parse_accesses(int argc, char **argv, struct mem_req *r)
{
	if (argc < 2) {
		fprintf(stderr, "vfiokit mem: expected TARGET and at least one ACCESS "
			"(see 'vfiokit mem --help')\n");
		return -EINVAL;
	}
	if (argc >= 4 && (!strcmp(argv[2], "read") || !strcmp(argv[2], "write")))
		return parse_old_form(argc, argv, r);
	if (argc - 1 > MAX_ACCESSES) {
		fprintf(stderr, "vfiokit mem: %d accesses: expected at most %d in one run\n",
			argc - 1, MAX_ACCESSES);
		return -EINVAL;
	}
	for (int i = 1; i < argc; i++)
		if (parse_access(argv[i], r->width, &r->acc[r->n++]))
			return -EINVAL;
	return 0;
}

/* The options; 0, or -EINVAL after one line (or -1 after --help). */
static int parse_options(int argc, char **argv, struct mem_req *r)
{
	static const struct option longopts[] = {
		{ "via", required_argument, NULL, 'v' },
		{ "region", required_argument, NULL, 'r' },
		{ "width", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	while ((ch = cli_getopt("mem", argc, argv, ":h", longopts)) != -1) {
		if (ch == 'h') {
			mem_usage(stdout);
			return -1;
		} else if (ch == 'v' && (!strcmp(optarg, "mmap") || !strcmp(optarg, "region"))) {
			r->via_mmap = !strcmp(optarg, "mmap");
		} else if (ch == 'v') {
			return bad_arg("--via", optarg, "mmap or region");
		} else if (ch == 'r' && vfk_parse_u32(optarg, &r->region)) {
			return bad_arg("--region", optarg, "an index from 0 to 4294967295");
		} else if (ch == 'r') {
			r->region_given = true;
		} else if (ch == 'w' && !(r->width = parse_width(optarg))) {
			return bad_arg("--width", optarg, "1, 2, 4 or 8 (or B, W, L, Q)");
		} else if (ch == 'j') {
			r->json = true;
		} else if (ch == '?') {
			return -EINVAL;
		}
	}
	return 0;
}

int cmd_mem(int argc, char **argv)
{
	struct mem_req req;
	struct vfk_client *c;
	char err[320] = "";
	int ret;

	memset(&req, 0, sizeof(req));
	req.width = DEFAULT_WIDTH;
	ret = parse_options(argc, argv, &req);
	if (ret)
		return ret == -1 ? CLI_OK : CLI_USAGE;
	if (parse_accesses(argc - optind, argv + optind, &req))
		return CLI_USAGE;
	ret = vfk_client_open(argv[optind], NULL, &c, err, sizeof(err));
	if (ret) {
		/* The client library's reason names the target already. */
		fprintf(stderr, "vfiokit mem: %s\n", err);
		return CLI_FAILED;
	}
	ret = run_accesses(c, &req, err, sizeof(err));
	vfk_client_close(c);
	if (req.json)
		print_json(argv[optind], &req, ret ? err : NULL);
	else
		print_text(&req);
	if (ret)
		fprintf(stderr, "vfiokit mem: %s: %s\n", argv[optind], err);
	return ret;
}
