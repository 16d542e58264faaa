/* SPDX-License-Identifier: MIT */
/*
 * An ordered map from uint64_t keys to non-NULL pointers, kept as a
 * B+-tree: a lookup visits a handful of wide nodes whose keys sit next to
 * each other, instead of ~20 scattered binary-tree nodes at a million
 * entries. Internal to src/core/ (the DMA table's index); not public API.
 *
 * Not thread-safe: the caller serialises every call on one tree. Lookups
 * never allocate; insert allocates at most one node per level.
 */
#ifndef VFIOKIT_CORE_RANGE_TREE_H
#define VFIOKIT_CORE_RANGE_TREE_H

#include <stddef.h>
#include <stdint.h>

/* Internal to libvfiokit: hidden, so the library exports only what
 * include/vfiokit/ declares (src/libvfiokit.map), and calls between its
 * files need no PLT hop. */
#pragma GCC visibility push(hidden)

struct vfk_range_node;

/* A tree; zero-initialised (or VFK_RANGE_TREE_INIT) is a valid empty tree. */
struct vfk_range_tree {
	struct vfk_range_node *root;   /* NULL when empty */
	unsigned int height;           /* levels above the leaves */
	size_t count;                  /* entries */
};

#define VFK_RANGE_TREE_INIT { .root = NULL, .height = 0, .count = 0 }

/*
 * Add key -> value. value must not be NULL (-EINVAL). -EEXIST when key is
 * already present, -ENOMEM when a node cannot be allocated; on any error
 * the tree is unchanged.
 */
int vfk_range_tree_insert(struct vfk_range_tree *t, uint64_t key, void *value);

/*
 * Remove key. Its value is stored in *value when value is not NULL.
 * -ENOENT when key is absent. Never allocates; frees nodes that empty.
 */
int vfk_range_tree_remove(struct vfk_range_tree *t, uint64_t key, void **value);

/*
 * The value of the entry with the greatest key <= key, or NULL when every
 * key is greater (or the tree is empty). That entry's key is stored in
 * *found_key when found_key is not NULL and an entry is found.
 */
void *vfk_range_tree_floor(const struct vfk_range_tree *t, uint64_t key, uint64_t *found_key);

/* The number of entries. */
size_t vfk_range_tree_count(const struct vfk_range_tree *t);

/*
 * Free every node, calling destroy(value) for each entry first when
 * destroy is not NULL, in key order. The tree is empty afterwards.
 * destroy must not touch this tree.
 */
void vfk_range_tree_destroy(struct vfk_range_tree *t, void (*destroy)(void *value));

#pragma GCC visibility pop

#endif
