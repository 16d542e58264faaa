// SPDX-License-Identifier: MIT
/*
 * Region-info capability chain parser. The answer comes from a peer (a
 * vfio-user server or the kernel): every offset, size and count in it is
 * checked before use, and fields are copied out with memcpy because the
 * buffer may sit at any alignment.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vfiokit/capchain.h>

#define INFO_SIZE ((uint32_t)sizeof(struct vfio_region_info))
#define HDR_SIZE  ((uint32_t)sizeof(struct vfio_info_cap_header))

__attribute__((format(printf, 3, 4)))
static int chain_error(char *err, size_t err_len, const char *fmt, ...)
{
	if (err && err_len) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return -EPROTO;
}

static uint16_t load_u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t load_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t load_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * The full size of a known cap of version 1, or 0 when the id is not one
 * this parser decodes. SPARSE_MMAP's size depends on nr_areas: the caller
 * checks it separately (see sparse_fits()).
 */
static uint32_t known_cap_size(uint16_t id)
{
	switch (id) {
	case VFIO_REGION_INFO_CAP_SPARSE_MMAP:
		return sizeof(struct vfio_region_info_cap_sparse_mmap);
	case VFIO_REGION_INFO_CAP_TYPE:
		return sizeof(struct vfio_region_info_cap_type);
	case VFIO_REGION_INFO_CAP_MSIX_MAPPABLE:
		return HDR_SIZE;
	case VFIO_REGION_INFO_CAP_NVLINK2_SSATGT:
		return sizeof(struct vfio_region_info_cap_nvlink2_ssatgt);
	case VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD:
		return sizeof(struct vfio_region_info_cap_nvlink2_lnkspd);
	default:
		return 0;
	}
}

/* Where a link (cap_offset or next) may point: checked before any load. */
static int check_link(uint32_t off, size_t len, char *err, size_t err_len)
{
	if (off < INFO_SIZE)
		return chain_error(err, err_len,
				   "capability offset %u points into the 32-byte region info header", off);
	if (off % 4)
		return chain_error(err, err_len, "capability offset %u is not 4-byte aligned", off);
	if (off > len || len - off < HDR_SIZE)
		return chain_error(err, err_len,
				   "capability header at %u does not fit in %zu bytes", off, len);
	return 0;
}

/* A link back to a cap already seen is a loop; into one's body, an overlap. */
static int check_unvisited(const struct vfk_cap_chain *chain, uint32_t off,
			   char *err, size_t err_len)
{
	for (unsigned int i = 0; i < chain->count; i++) {
		const struct vfk_cap *c = &chain->caps[i];

		if (c->offset == off)
			return chain_error(err, err_len, "capability chain loops back to offset %u", off);
		if (c->status == VFK_CAP_OK && off > c->offset && off - c->offset < c->raw_len)
			return chain_error(err, err_len,
					   "capability at %u overlaps the %u-byte capability at %u",
					   off, c->raw_len, c->offset);
	}
	return 0;
}

/* Bytes shown for a cap that is not decoded: up to the next cap, or the end. */
static uint32_t undecoded_len(uint32_t off, uint32_t next, size_t len)
{
	if (next > off && next <= len)
		return next - off;
	return (uint32_t)(len - off);
}

static int decode_sparse(struct vfk_cap *cap, size_t avail, char *err, size_t err_len)
{
	uint32_t fixed = known_cap_size(VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	uint32_t nr = load_u32(cap->raw + HDR_SIZE);
	size_t room = (avail - fixed) / sizeof(struct vfio_region_sparse_mmap_area);

	/* Compare counts, not byte sizes, so a huge nr_areas cannot wrap. */
	if (nr > room)
		return chain_error(err, err_len,
				   "SPARSE_MMAP at %u claims %u areas, room for %zu",
				   cap->offset, nr, room);
	cap->u.sparse.nr_areas = nr;
	cap->raw_len = fixed + nr * (uint32_t)sizeof(struct vfio_region_sparse_mmap_area);
	return 0;
}

/* Decode the body of a known version-1 cap; avail = bytes from its start to len. */
static int decode_known(struct vfk_cap *cap, size_t avail, char *err, size_t err_len)
{
	uint32_t size = known_cap_size(cap->id);

	if (avail < size)
		return chain_error(err, err_len, "%s capability at %u needs %u bytes, %zu left",
				   vfk_cap_name(cap->id), cap->offset, size, avail);
	cap->status = VFK_CAP_OK;
	cap->raw_len = size;
	switch (cap->id) {
	case VFIO_REGION_INFO_CAP_SPARSE_MMAP:
		return decode_sparse(cap, avail, err, err_len);
	case VFIO_REGION_INFO_CAP_TYPE:
		cap->u.type.type = load_u32(cap->raw + HDR_SIZE);
		cap->u.type.subtype = load_u32(cap->raw + HDR_SIZE + 4);
		break;
	case VFIO_REGION_INFO_CAP_NVLINK2_SSATGT:
		cap->u.ssatgt = load_u64(cap->raw + HDR_SIZE);
		break;
	case VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD:
		cap->u.lnkspd = load_u32(cap->raw + HDR_SIZE);
		break;
	default:
		break;
	}
	return 0;
}

/* Read and decode the cap at off, which check_link() accepted. */
static int parse_one(const uint8_t *buf, size_t len, uint32_t off, struct vfk_cap *cap,
		     char *err, size_t err_len)
{
	memset(cap, 0, sizeof(*cap));
	cap->offset = off;
	cap->raw = buf + off;
	cap->id = load_u16(cap->raw);
	cap->version = load_u16(cap->raw + 2);
	cap->next = load_u32(cap->raw + 4);

	if (!known_cap_size(cap->id)) {
		cap->status = VFK_CAP_UNKNOWN_ID;
	} else if (cap->version != 1) {
		cap->status = VFK_CAP_UNKNOWN_VERSION;
	} else {
		return decode_known(cap, len - off, err, err_len);
	}
	cap->raw_len = undecoded_len(off, cap->next, len);
	return 0;
}

int vfk_capchain_parse(const void *info, size_t len, struct vfk_cap_chain *chain,
		       char *err, size_t err_len)
{
	struct vfio_region_info hdr;
	size_t max_steps;
	uint32_t off;

	if (!info || !chain)
		return -EINVAL;
	chain->count = 0;
	if (len < INFO_SIZE)
		return chain_error(err, err_len, "region info is %zu bytes, less than %u", len,
				   INFO_SIZE);
	memcpy(&hdr, info, sizeof(hdr));
	if (!(hdr.flags & VFIO_REGION_INFO_FLAG_CAPS) || !hdr.cap_offset)
		return 0;

	max_steps = (len - INFO_SIZE) / HDR_SIZE;
	for (off = hdr.cap_offset; off; off = chain->caps[chain->count - 1].next) {
		int ret = check_link(off, len, err, err_len);

		if (ret)
			return ret;
		ret = check_unvisited(chain, off, err, err_len);
		if (ret)
			return ret;
		if (chain->count >= max_steps)
			return chain_error(err, err_len,
					   "capability chain longer than %zu steps for %zu bytes",
					   max_steps, len);
		if (chain->count >= VFK_MAX_CAPS)
			return chain_error(err, err_len, "more than %d capabilities", VFK_MAX_CAPS);
		ret = parse_one(info, len, off, &chain->caps[chain->count], err, err_len);
		if (ret)
			return ret;
		chain->count++;
	}
	return 0;
}

const struct vfk_cap *vfk_capchain_find(const struct vfk_cap_chain *chain, uint16_t id)
{
	for (unsigned int i = 0; chain && i < chain->count; i++)
		if (chain->caps[i].id == id && chain->caps[i].status == VFK_CAP_OK)
			return &chain->caps[i];
	return NULL;
}

bool vfk_cap_sparse_area(const struct vfk_cap *cap, uint32_t i,
			 struct vfio_region_sparse_mmap_area *area)
{
	size_t at;

	if (!cap || cap->id != VFIO_REGION_INFO_CAP_SPARSE_MMAP || cap->status != VFK_CAP_OK ||
	    i >= cap->u.sparse.nr_areas)
		return false;
	at = sizeof(struct vfio_region_info_cap_sparse_mmap) + (size_t)i * sizeof(*area);
	memcpy(area, cap->raw + at, sizeof(*area));
	return true;
}
