/* SPDX-License-Identifier: MIT */
/*
 * A flattened-out device tree as Linux shows it in
 * /sys/firmware/devicetree/base (and /proc/device-tree): a node is a
 * directory, a property a file holding its raw big-endian bytes. Every
 * byte read from such a folder goes through the accessors here, which
 * check what a property must look like (its length, a phandle that
 * resolves, a path that stays inside the root) before a caller sees a
 * value: a missing or malformed property is an error with a message
 * naming the node and the property, never a crash.
 *
 * Node paths are relative to the root, without a leading '/' ("" is the
 * root itself), and never hold "." or ".." components.
 */
#ifndef VFIOKIT_PROXY_NVLINK2_DT_H
#define VFIOKIT_PROXY_NVLINK2_DT_H

#include <stddef.h>
#include <stdint.h>

/** Longest node path accepted (real trees stay far below). */
#define DT_PATH_MAX 512

/** Largest property read; longer ones are refused (-E2BIG). */
#define DT_PROP_MAX 4096

/** An open device-tree folder and where the last error is described. */
struct dt {
	int rootfd;                 /* O_PATH directory of the root */
	char err[DT_PATH_MAX + 160]; /* the last error, one line, no newline */
};

/**
 * Open the tree rooted at dir. 0, or a negative errno with t->err set
 * (dir missing or not a directory). dt_close() releases it either way.
 */
int dt_open(struct dt *t, const char *dir);

/** Close what dt_open() opened; safe on a closed or failed tree. */
void dt_close(struct dt *t);

/**
 * Read property `name` of `node` into buf (up to cap bytes, at most
 * DT_PROP_MAX); its length goes to *len. -ENOENT when the node or the
 * property does not exist, -E2BIG when it is longer than cap, -EINVAL for
 * something that is not a regular file; t->err says which.
 */
int dt_prop(struct dt *t, const char *node, const char *name, void *buf, size_t cap,
	    size_t *len);

/** A property of exactly 4 bytes, as a big-endian cell. Errors as dt_prop(), -EINVAL for another length. */
int dt_u32(struct dt *t, const char *node, const char *name, uint32_t *out);

/** A property of exactly 8 bytes (two cells), big-endian. Errors as dt_u32(). */
int dt_u64(struct dt *t, const char *node, const char *name, uint64_t *out);

/**
 * Element `index` of a property that is a list of 64-bit values (its
 * length a non-zero multiple of 8). -ERANGE when the list is shorter;
 * *count (if not NULL) gets the list's length either way when the
 * property is well formed.
 */
int dt_u64_index(struct dt *t, const char *node, const char *name, uint32_t index,
		 uint64_t *out, uint32_t *count);

/**
 * Resolve the first phandle of property `name` of `node` (a non-zero
 * multiple of 4 bytes) to the path of the node whose `phandle` (or
 * `linux,phandle`) property holds it. -ENOENT when no node does, -EINVAL
 * when two do or the property is malformed.
 */
int dt_phandle(struct dt *t, const char *node, const char *name, char *path, size_t len);

/** The parent of node path `node` ("" for a child of the root). -EINVAL for the root. */
int dt_parent(struct dt *t, const char *node, char *path, size_t len);

/**
 * The node of PCI function dom:bus:devfn by the PCI bus binding: under
 * the node whose `linux,pci-domain` is dom, the node whose `reg` starts
 * with the configuration-space address of bus/devfn (phys.hi =
 * bus << 16 | devfn << 8). -ENOENT when none matches, -EINVAL when two do.
 */
int dt_find_pci(struct dt *t, uint32_t dom, uint32_t bus, uint32_t devfn, char *path,
		size_t len);

/**
 * The node a sysfs `of_node` link points at, relative to `base` (the
 * real tree's root, /sys/firmware/devicetree/base): link is resolved,
 * and must lie below base. -ENOENT when there is no link (not a
 * device-tree platform), -EINVAL when it points elsewhere.
 */
int dt_node_from_link(struct dt *t, const char *link, const char *base, char *path,
		      size_t len);

#endif
