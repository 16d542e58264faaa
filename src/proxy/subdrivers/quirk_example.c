// SPDX-License-Identifier: MIT
/*
 * quirk-example: traps one register of a region (a BAR, config space or
 * a device-specific region) and makes reads of it return a value of the
 * subdriver's choosing, as the kernel's vfio-pci quirks do for registers
 * a guest must not see as they are. Writes still reach the device. On a
 * mappable region the register's page is left out of the mappable areas
 * (SPARSE_MMAP), so the client's reads of it arrive at the proxy.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subdrivers.h"

struct quirk {
	uint32_t index;
	uint64_t offset;
	uint64_t width;
	uint8_t value[8];   /* little-endian, as the register reads */
};

static ssize_t quirk_read(struct vfk_proxy *proxy, uint32_t index, uint64_t offset, void *buf,
			  size_t count, void *arg)
{
	const struct quirk *q = arg;

	/* The proxy hands us only bytes inside the trapped register. */
	memcpy(buf, q->value + (offset - q->offset), count);
	return (ssize_t)count;
}

static const struct vfk_proxy_trap_ops quirk_ops = { .read = quirk_read };

static int quirk_options(const struct vfk_proxy_args *args, struct quirk *q, char *err,
			 size_t err_len)
{
	uint64_t index = 0, value = 0;

	if (vfk_proxy_arg_u64(args, "region", UINT32_MAX, &index)) {
		snprintf(err, err_len, "quirk-example: region must be a region index");
		return -EINVAL;
	}
	if (vfk_proxy_arg_u64(args, "width", 8, &q->width) ||
	    (q->width != 1 && q->width != 2 && q->width != 4 && q->width != 8)) {
		snprintf(err, err_len, "quirk-example: width must be 1, 2, 4 or 8");
		return -EINVAL;
	}
	if (vfk_proxy_arg_u64(args, "offset", UINT64_MAX, &q->offset) ||
	    q->offset % q->width) {
		snprintf(err, err_len, "quirk-example: offset must be a multiple of width");
		return -EINVAL;
	}
	if (vfk_proxy_arg_u64(args, "value", UINT64_MAX, &value)) {
		snprintf(err, err_len, "quirk-example: value=N is required (what reads return)");
		return -EINVAL;
	}
	value = htole64(value);
	memcpy(q->value, &value, sizeof(value));
	q->index = (uint32_t)index;
	return 0;
}

static int quirk_attach(struct vfk_proxy *proxy, const struct vfk_proxy_args *args,
			void **priv, char *err, size_t err_len)
{
	struct quirk *q = calloc(1, sizeof(*q));
	int ret;

	if (!q)
		return -ENOMEM;
	ret = quirk_options(args, q, err, err_len);
	if (!ret) {
		ret = vfk_proxy_trap(proxy, q->index, q->offset, q->width, &quirk_ops, q);
		if (ret)
			snprintf(err, err_len,
				 "quirk-example: cannot trap %#llx+%llu of region %u of %s: %s",
				 (unsigned long long)q->offset, (unsigned long long)q->width,
				 q->index, vfk_proxy_target_name(proxy),
				 ret == -EINVAL ? "no such range" : strerror(-ret));
	}
	if (ret) {
		free(q);
		return ret;
	}
	*priv = q;
	return 0;
}

static void quirk_detach(struct vfk_proxy *proxy, void *priv)
{
	free(priv);
}

static const struct vfk_proxy_option quirk_options_table[] = {
	{ "region", "0", "the region index holding the register (7: config space)" },
	{ "offset", "0", "the register's offset in it" },
	{ "width", "4", "the register's width in bytes: 1, 2, 4 or 8" },
	{ "value", NULL, "what reads of the register return (required)" },
	{ NULL, NULL, NULL },
};

const struct vfk_proxy_subdriver vfk_subdriver_quirk_example = {
	.name = "quirk-example",
	.summary = "traps one register and changes what the client reads there",
	.ids = NULL,
	.options = quirk_options_table,
	.attach = quirk_attach,
	.detach = quirk_detach,
};
