/* SPDX-License-Identifier: MIT */
/*
 * The JSON of a vfio-user VERSION message, both ends:
 * {"capabilities": {"max_msg_fds": N, "max_data_xfer_size": N,
 *  "max_dma_maps": N, "pgsizes": N, "write_multiple": true}}.
 */
#ifndef VFIOKIT_VFIO_USER_VERSION_H
#define VFIOKIT_VFIO_USER_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal to libvfiokit: hidden, so the library exports only what
 * include/vfiokit/ declares (src/libvfiokit.map), and calls between its
 * files need no PLT hop. */
#pragma GCC visibility push(hidden)

/** One side's capabilities. */
struct vfu_caps {
	uint32_t max_msg_fds;        /* fds the sender accepts per message */
	uint64_t max_data_xfer_size; /* largest data count it accepts */
	uint64_t max_dma_maps;
	uint64_t pgsizes;            /* page sizes OR'ed together */
	bool write_multiple;         /* REGION_WRITE_MULTI supported */
	bool has_migration;          /* parse only: the legacy key was present */
	bool twin_socket;            /* parse only: twin_socket.supported */
};

/** The spec's values for absent keys (write_multiple false). */
void vfu_caps_defaults(struct vfu_caps *caps);

/**
 * Write the compact JSON of caps, NUL included, to buf (len bytes).
 * write_multiple is emitted only when true. Returns the bytes written
 * (NUL included) or -ENOSPC / -ENOMEM.
 */
int vfu_version_build(const struct vfu_caps *caps, char *buf, size_t len);

/**
 * Parse the JSON part of a VERSION message: len bytes that must hold a
 * NUL-terminated object (len 0 means no JSON: every default). Starts
 * from the defaults; known keys must have the right type and range
 * (numbers non-negative integers, max_msg_fds <= UINT32_MAX,
 * max_data_xfer_size > 0, pgsizes non-zero, write_multiple a boolean);
 * unknown keys and "migration" are ignored. -EINVAL with a reason in err
 * (if not NULL) on malformed input.
 */
int vfu_version_parse(const char *json, size_t len, struct vfu_caps *caps,
		      char *err, size_t err_len);

#pragma GCC visibility pop

#endif
