// SPDX-License-Identifier: MIT
#include <endian.h>
#include <string.h>

#include "regfile.h"

/* The part of register r covering [offset, offset + count), as a byte range. */
static bool overlap(uint32_t reg_off, uint64_t offset, size_t count,
		    uint64_t *first, uint64_t *last)
{
	uint64_t start = offset > reg_off ? offset : reg_off;
	uint64_t end = offset + count < (uint64_t)reg_off + 4 ? offset + count
							       : (uint64_t)reg_off + 4;

	if (start >= end)
		return false;
	*first = start;
	*last = end;
	return true;
}

/* Registers are 4-byte aligned and 4 bytes long, so an aligned 32-bit
 * access touches at most the one register at exactly its offset. */
static bool whole_word(size_t count, uint64_t offset)
{
	return count == 4 && (offset & 3) == 0;
}

/* The register at offset, or -1: the fast path of a whole-word access. */
static int reg_at(const struct vfk_regfile *rf, uint64_t offset)
{
	for (unsigned int i = 0; rf && i < rf->count; i++)
		if (rf->defs[i].offset == offset)
			return (int)i;
	return -1;
}

static ssize_t regfile_read(struct vfk_device *dev, struct vfk_region *region,
			    void *buf, size_t count, uint64_t offset)
{
	const struct vfk_regfile *rf = vfk_region_priv(region);
	uint8_t *out = buf;
	uint64_t a, b;

	if (whole_word(count, offset)) {
		int i = reg_at(rf, offset);
		uint32_t le = htole32(i < 0 ? 0 : rf->values[i]);

		memcpy(buf, &le, sizeof(le));
		return 4;
	}
	memset(buf, 0, count);
	for (unsigned int i = 0; rf && i < rf->count; i++) {
		uint32_t off = rf->defs[i].offset;
		uint32_t v = rf->values[i];

		if (!overlap(off, offset, count, &a, &b))
			continue;
		for (uint64_t p = a; p < b; p++)
			out[p - offset] = (uint8_t)(v >> (8 * (p - off)));
	}
	return (ssize_t)count;
}

static ssize_t regfile_write(struct vfk_device *dev, struct vfk_region *region,
			     const void *buf, size_t count, uint64_t offset)
{
	struct vfk_regfile *rf = vfk_region_priv(region);
	const uint8_t *in = buf;
	uint64_t a, b;

	if (whole_word(count, offset)) {
		int i = reg_at(rf, offset);
		uint32_t le;

		memcpy(&le, buf, sizeof(le));
		if (i >= 0 && rf->defs[i].writable)
			rf->values[i] = le32toh(le);
		return 4;
	}
	for (unsigned int i = 0; rf && i < rf->count; i++) {
		uint32_t off = rf->defs[i].offset;

		if (!rf->defs[i].writable || !overlap(off, offset, count, &a, &b))
			continue;
		for (uint64_t p = a; p < b; p++) {
			unsigned int shift = 8 * (unsigned int)(p - off);

			rf->values[i] = (rf->values[i] & ~(0xffu << shift)) |
					((uint32_t)in[p - offset] << shift);
		}
	}
	return (ssize_t)count;
}

const struct vfk_region_ops vfk_regfile_ops = {
	.read = regfile_read,
	.write = regfile_write,
};

void vfk_regfile_reset(struct vfk_regfile *rf)
{
	for (unsigned int i = 0; i < rf->count; i++)
		rf->values[i] = rf->defs[i].reset_value;
}
