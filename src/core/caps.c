// SPDX-License-Identifier: MIT
/*
 * The region capability chain builder (see include/vfiokit/caps.h).
 *
 * One growing byte buffer holds the chain exactly as it goes on the wire,
 * minus the 32-byte region-info header in front: caps are appended in
 * order, each zero-padded to a multiple of 8, and each new cap's offset is
 * written into the previous cap's `next`. The buffer is kept across
 * vfk_caps_reset() so a warm builder does not allocate.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/caps.h>
#include <vfiokit/region.h>

#define CAPS_INITIAL_CAPACITY 256
#define CAP_ALIGN 8

struct vfk_caps {
	uint8_t *buf;
	size_t size;       /* bytes used, a multiple of 8 */
	size_t capacity;
	size_t last;       /* offset of the last cap; meaningful when size > 0 */
};

struct vfk_caps *vfk_caps_new(void)
{
	return calloc(1, sizeof(struct vfk_caps));
}

void vfk_caps_free(struct vfk_caps *caps)
{
	if (!caps)
		return;
	free(caps->buf);
	free(caps);
}

void vfk_caps_reset(struct vfk_caps *caps)
{
	caps->size = 0;
	caps->last = 0;
}

size_t vfk_caps_size(const struct vfk_caps *caps)
{
	return caps->size;
}

const void *vfk_caps_data(const struct vfk_caps *caps)
{
	return caps->buf;
}

static int caps_reserve(struct vfk_caps *caps, size_t needed)
{
	size_t capacity = caps->capacity ? caps->capacity : CAPS_INITIAL_CAPACITY;
	uint8_t *buf;

	if (needed <= caps->capacity)
		return 0;
	while (capacity < needed)
		capacity *= 2;
	buf = realloc(caps->buf, capacity);
	if (!buf)
		return -ENOMEM;
	caps->buf = buf;
	caps->capacity = capacity;
	return 0;
}

/*
 * Append a zeroed cap of 8 + body_len bytes (padded to 8), link it, and
 * hand back where its body goes. Nothing changes on failure.
 */
static int caps_append(struct vfk_caps *caps, uint16_t id, uint16_t version,
		       size_t body_len, uint8_t **body)
{
	struct vfio_info_cap_header hdr = { .id = id, .version = version, .next = 0 };
	size_t cap_len, offset = caps->size;
	int ret;

	if (body_len > VFK_CAPS_MAX_SIZE - sizeof(hdr))
		return -EINVAL;
	cap_len = (sizeof(hdr) + body_len + CAP_ALIGN - 1) & ~(size_t)(CAP_ALIGN - 1);
	if (cap_len > VFK_CAPS_MAX_SIZE - offset)
		return -EINVAL;
	ret = caps_reserve(caps, offset + cap_len);
	if (ret)
		return ret;

	memset(caps->buf + offset, 0, cap_len);
	memcpy(caps->buf + offset, &hdr, sizeof(hdr));
	if (offset > 0) {
		uint32_t next = (uint32_t)offset;

		memcpy(caps->buf + caps->last + offsetof(struct vfio_info_cap_header, next),
		       &next, sizeof(next));
	}
	caps->last = offset;
	caps->size = offset + cap_len;
	*body = caps->buf + offset + sizeof(hdr);
	return 0;
}

int vfk_caps_add(struct vfk_caps *caps, uint16_t id, uint16_t version,
		 const void *body, size_t body_len)
{
	uint8_t *dst;
	int ret;

	if (body_len && !body)
		return -EINVAL;
	ret = caps_append(caps, id, version, body_len, &dst);
	if (ret)
		return ret;
	if (body_len)
		memcpy(dst, body, body_len);
	return 0;
}

int vfk_caps_add_sparse_mmap(struct vfk_caps *caps,
			     const struct vfk_mmap_area *areas, uint32_t nr_areas)
{
	const size_t fixed = sizeof(struct vfio_region_info_cap_sparse_mmap) -
			     sizeof(struct vfio_info_cap_header);
	const size_t area_len = sizeof(struct vfio_region_sparse_mmap_area);
	uint32_t reserved = 0;
	uint8_t *dst;
	int ret;

	if (nr_areas && !areas)
		return -EINVAL;
	/* Checked before multiplying so the size cannot wrap. */
	if (nr_areas > (VFK_CAPS_MAX_SIZE - sizeof(struct vfio_region_info_cap_sparse_mmap)) / area_len)
		return -EINVAL;
	ret = caps_append(caps, VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1,
			  fixed + (size_t)nr_areas * area_len, &dst);
	if (ret)
		return ret;
	memcpy(dst, &nr_areas, sizeof(nr_areas));
	memcpy(dst + sizeof(nr_areas), &reserved, sizeof(reserved));
	dst += fixed;
	for (uint32_t i = 0; i < nr_areas; i++, dst += area_len) {
		struct vfio_region_sparse_mmap_area a = {
			.offset = areas[i].offset,
			.size = areas[i].size,
		};

		memcpy(dst, &a, area_len);
	}
	return 0;
}

/* Add a fixed-layout uapi cap struct, given whole with its header. */
static int caps_add_struct(struct vfk_caps *caps, uint16_t id, const void *cap, size_t len)
{
	const size_t hdr_len = sizeof(struct vfio_info_cap_header);

	return vfk_caps_add(caps, id, 1, (const uint8_t *)cap + hdr_len, len - hdr_len);
}

int vfk_caps_add_type(struct vfk_caps *caps, uint32_t type, uint32_t subtype)
{
	struct vfio_region_info_cap_type cap = { .type = type, .subtype = subtype };

	return caps_add_struct(caps, VFIO_REGION_INFO_CAP_TYPE, &cap, sizeof(cap));
}

int vfk_caps_add_msix_mappable(struct vfk_caps *caps)
{
	return vfk_caps_add(caps, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 1, NULL, 0);
}

int vfk_caps_add_nvlink2_ssatgt(struct vfk_caps *caps, uint64_t tgt)
{
	struct vfio_region_info_cap_nvlink2_ssatgt cap = { .tgt = tgt };

	return caps_add_struct(caps, VFIO_REGION_INFO_CAP_NVLINK2_SSATGT, &cap, sizeof(cap));
}

int vfk_caps_add_nvlink2_lnkspd(struct vfk_caps *caps, uint32_t link_speed)
{
	struct vfio_region_info_cap_nvlink2_lnkspd cap = { .link_speed = link_speed };

	return caps_add_struct(caps, VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD, &cap, sizeof(cap));
}
