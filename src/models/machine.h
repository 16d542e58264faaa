/* SPDX-License-Identifier: MIT */
/*
 * A machine: several devices served from one process, each with a name,
 * a model, a socket path and model options. Built in (the default
 * Witherspoon-like machine) or read from a JSON file (docs/models.md).
 */
#ifndef VFIOKIT_MODELS_MACHINE_H
#define VFIOKIT_MODELS_MACHINE_H

#include <stddef.h>

#define VFK_MACHINE_MAX_DEVICES 64
#define VFK_MACHINE_MAX_OPTIONS 16

struct vfk_machine_device {
	char *name;            /* for logs and LISTEN_FDNAMES */
	char *model;
	char *socket;          /* absolute or relative to the cwd */
	char *kv[VFK_MACHINE_MAX_OPTIONS];   /* "key=value" */
	size_t nkv;
};

struct vfk_machine {
	struct vfk_machine_device devices[VFK_MACHINE_MAX_DEVICES];
	size_t count;
	/* The sockets' mode and group as a machine file gives them ("": not
	 * given), parsed by serve as its --socket-mode/--socket-group. */
	char socket_mode[8];
	char socket_group[64];
};

/**
 * The default machine: two V100 GPUs (tgt 0x3e000000000 and
 * 0x3c000000000, GPUs 0 and 1 of POWER9 chip 0) with two NPU2 bridges
 * each, sockets gpu0.sock, gpu0-nvlink0.sock, ... in dir.
 */
int vfk_machine_default(struct vfk_machine *m, const char *dir);

/**
 * Read a JSON machine file; relative socket paths are taken relative to
 * the file's directory. -EINVAL with a reason in err ("PATH:LINE:COLUMN:
 * ...") for a file that is not strict JSON, has an unknown or repeated
 * key, or two devices with one socket path or one name; -errno (-EFBIG
 * past 1 MiB) when it cannot be read. Unnamed devices are "MODEL-N".
 */
int vfk_machine_load_json(const char *path, struct vfk_machine *m, char *err, size_t err_len);

/**
 * Append one device (strings copied; kv may be NULL when nkv is 0).
 * -ENOSPC when full, -E2BIG with too many options, -ENOMEM.
 */
int vfk_machine_add(struct vfk_machine *m, const char *name, const char *model,
		    const char *socket, const char *const *kv, size_t nkv);

/** Free every string; the machine is empty afterwards. */
void vfk_machine_free(struct vfk_machine *m);

#endif
