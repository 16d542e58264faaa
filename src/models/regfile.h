/* SPDX-License-Identifier: MIT */
/*
 * A small MMIO register file for a BAR: a few 32-bit little-endian
 * registers, read-only or read/write; every other byte reads 0 and
 * ignores writes. Accesses of any size and alignment work byte by byte,
 * so a 64-bit read spanning two registers sees both.
 */
#ifndef VFIOKIT_MODELS_REGFILE_H
#define VFIOKIT_MODELS_REGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfiokit/region.h>

struct vfk_reg_def {
	uint32_t offset;       /* 4-byte aligned */
	uint32_t reset_value;
	bool writable;
};

struct vfk_regfile {
	const struct vfk_reg_def *defs;
	unsigned int count;
	uint32_t *values;      /* count entries, owned by whoever owns the file */
};

/**
 * Region ops over a register file: region priv is a struct vfk_regfile *
 * (borrowed, must outlive the region), or NULL for a BAR with no
 * registers at all (reads 0, writes ignored).
 */
extern const struct vfk_region_ops vfk_regfile_ops;

/** Put every register back to its reset value. */
void vfk_regfile_reset(struct vfk_regfile *rf);

#endif
