// SPDX-License-Identifier: MIT
/*
 * example-region: gives any device a device-specific region of the
 * device's own vendor type (VFK_REGION_TYPE_PCI_VENDOR(vendor), subtype
 * from the options): size bytes of memory the client reads and writes,
 * whose add_capability hook appends a capability of its own (id 0xf001:
 * the magic "XCAP", the region's size and subtype), and appends that
 * capability to a region of the target too (option cap_on=INDEX). It is
 * the seed's kernel hook done in userspace, on a real device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/caps.h>
#include <vfiokit/region.h>

#include "subdrivers.h"

#define EXR_CAP_ID      0xf001u
#define EXR_CAP_VERSION 1u
#define EXR_CAP_MAGIC   0x50414358u   /* "XCAP" in memory order */
#define EXR_MAX_SIZE    (1u << 20)

/* The capability's body, little-endian as every VFIO cap. */
struct exr_cap {
	uint32_t magic;
	uint32_t subtype;
	uint64_t size;
};

struct exr {
	uint8_t *mem;
	uint64_t size;
	uint32_t subtype;
};

static int add_cap(struct exr *e, struct vfk_caps *caps)
{
	struct exr_cap cap = { htole32(EXR_CAP_MAGIC), htole32(e->subtype), htole64(e->size) };

	return vfk_caps_add(caps, EXR_CAP_ID, EXR_CAP_VERSION, &cap, sizeof(cap));
}

static ssize_t exr_read(struct vfk_device *dev, struct vfk_region *r, void *buf, size_t count,
			uint64_t offset)
{
	struct exr *e = vfk_region_priv(r);

	memcpy(buf, e->mem + offset, count);
	return (ssize_t)count;
}

static ssize_t exr_write(struct vfk_device *dev, struct vfk_region *r, const void *buf,
			 size_t count, uint64_t offset)
{
	struct exr *e = vfk_region_priv(r);

	memcpy(e->mem + offset, buf, count);
	return (ssize_t)count;
}

static int exr_add_capability(struct vfk_device *dev, struct vfk_region *r,
			      struct vfk_caps *caps)
{
	return add_cap(vfk_region_priv(r), caps);
}

/* The next client must not read what this one wrote. */
static void exr_peer_gone(struct vfk_device *dev, struct vfk_region *r)
{
	struct exr *e = vfk_region_priv(r);

	memset(e->mem, 0, e->size);
}

static const struct vfk_region_ops exr_ops = {
	.read = exr_read,
	.write = exr_write,
	.add_capability = exr_add_capability,
	.peer_gone = exr_peer_gone,
};

static int target_cap(struct vfk_proxy *proxy, uint32_t index, struct vfk_caps *caps,
		      void *arg)
{
	return add_cap(arg, caps);
}

static int read_options(const struct vfk_proxy_args *args, struct exr *e, uint64_t *cap_on,
			char *err, size_t err_len)
{
	uint64_t subtype = 0;
	int ret = vfk_proxy_arg_u64(args, "size", EXR_MAX_SIZE, &e->size);

	if (ret || !e->size) {
		snprintf(err, err_len, "example-region: size must be 1..%u bytes", EXR_MAX_SIZE);
		return -EINVAL;
	}
	if (vfk_proxy_arg_u64(args, "subtype", UINT32_MAX, &subtype)) {
		snprintf(err, err_len, "example-region: subtype must be 0..0xffffffff");
		return -EINVAL;
	}
	e->subtype = (uint32_t)subtype;
	ret = vfk_proxy_arg_u64(args, "cap_on", UINT32_MAX, cap_on);
	if (ret == -ENOENT)
		*cap_on = UINT64_MAX;
	else if (ret) {
		snprintf(err, err_len, "example-region: cap_on must be a region index");
		return -EINVAL;
	}
	return 0;
}

static int exr_setup(struct vfk_proxy *proxy, struct exr *e, uint64_t cap_on, char *err,
		     size_t err_len)
{
	struct vfk_region_desc d = { VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
				     e->size, &exr_ops, e };
	uint32_t type = VFK_REGION_TYPE_PCI_VENDOR(vfk_proxy_vendor_id(proxy));
	int ret;

	if (cap_on != UINT64_MAX) {
		ret = vfk_proxy_add_caps(proxy, (uint32_t)cap_on, target_cap, e);
		if (ret) {
			snprintf(err, err_len, "example-region: cap_on=%llu: %s has no such region",
				 (unsigned long long)cap_on, vfk_proxy_target_name(proxy));
			return ret;
		}
	}
	ret = vfk_device_add_region(vfk_proxy_device(proxy), type, e->subtype, &d, NULL);
	if (ret)
		snprintf(err, err_len, "example-region: adding the region: %s", strerror(-ret));
	return ret;
}

static int exr_attach(struct vfk_proxy *proxy, const struct vfk_proxy_args *args, void **priv,
		      char *err, size_t err_len)
{
	struct exr *e = calloc(1, sizeof(*e));
	uint64_t cap_on;
	int ret;

	if (!e)
		return -ENOMEM;
	ret = read_options(args, e, &cap_on, err, err_len);
	if (!ret) {
		e->mem = calloc(1, e->size);
		ret = e->mem ? exr_setup(proxy, e, cap_on, err, err_len) : -ENOMEM;
	}
	if (ret) {
		free(e->mem);
		free(e);
		return ret;
	}
	*priv = e;
	return 0;
}

/* After the device stopped being served; its region is never used again. */
static void exr_detach(struct vfk_proxy *proxy, void *priv)
{
	struct exr *e = priv;

	free(e->mem);
	free(e);
}

static const struct vfk_proxy_option exr_options[] = {
	{ "size", "4096", "bytes of the added region (at most 1 MiB)" },
	{ "subtype", "1", "its subtype within the device vendor's region type" },
	{ "cap_on", NULL, "also append the capability to this region of the target" },
	{ NULL, NULL, NULL },
};

const struct vfk_proxy_subdriver vfk_subdriver_example_region = {
	.name = "example-region",
	.summary = "adds a device-specific memory region with a capability of its own",
	.ids = NULL,
	.options = exr_options,
	.attach = exr_attach,
	.detach = exr_detach,
};
