/* SPDX-License-Identifier: MIT */
/*
 * A B+-tree of uint64_t keys (src/core/range_tree.h).
 *
 * Every node, leaf or internal, is the same RANGE_FANOUT-wide array of
 * keys followed by as many slots: a leaf's slots are values, an internal
 * node's are children. keys[i] of an internal node is the least key of
 * child i, so keys[0] of any node is the least key under it, and "the
 * greatest key <= k" is found by taking, on every level, the last slot
 * whose key is <= k. The keys of a node are contiguous (256 bytes), so a
 * level costs one or two cache misses, not one per binary-tree level.
 *
 * Nodes other than the root hold at least RANGE_MIN entries, except the
 * nodes on the rightmost path, which hold at least one: a full node on
 * that path that receives a key greater than all of its own keeps its
 * entries and hands only the new one to its new right sibling. Mappings
 * mostly arrive in ascending order (a guest's RAM, page after page), and
 * the usual half-half split would leave every node half empty. Deletion
 * borrows from or merges with a sibling when a node falls below
 * RANGE_MIN, so memory follows the number of entries down again.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/range_tree.h"

/* Entries per node. Tests build a narrow copy (4) to reach many levels. */
#ifndef RANGE_FANOUT
#define RANGE_FANOUT 32
#endif
#define RANGE_MIN (RANGE_FANOUT / 2)
/*
 * Levels a path can have. The root's leftmost child is not on the
 * rightmost path, so it and everything under it hold RANGE_MIN entries
 * or more: a tree this tall would hold at least 16^23 entries, more than
 * the address space.
 */
#define RANGE_MAX_LEVELS 24

union range_slot {
	void *value;                   /* leaves */
	struct vfk_range_node *child;  /* internal nodes */
};

/* count first: it is read before the keys, so it shares their first line. */
struct vfk_range_node {
	unsigned int count;
	uint64_t keys[RANGE_FANOUT];
	union range_slot slots[RANGE_FANOUT];
};

/* One level of a root-to-leaf walk: the node and the slot taken in it. */
struct range_step {
	struct vfk_range_node *node;
	unsigned int idx;
};

/* Ask for every cache line of [p, p + len) at once. */
static void prefetch_lines(const void *p, size_t len)
{
	for (size_t off = 0; off < len; off += 64)
		__builtin_prefetch((const char *)p + off);
	__builtin_prefetch((const char *)p + len - 1);
}

/*
 * How many keys of n are <= key (0..count). Branch-free binary search:
 * random keys would mispredict every branch of the usual one.
 */
static unsigned int node_rank(const struct vfk_range_node *n, uint64_t key)
{
	const uint64_t *base = n->keys;
	unsigned int len = n->count;

	/*
	 * The search's probes depend on each other: fetch the count's and
	 * every key's line together, so a node costs about one miss, not three.
	 */
	prefetch_lines(n, offsetof(struct vfk_range_node, slots));

	while (len > 1) {
		unsigned int half = len / 2;

		base = base[half] <= key ? base + half : base;
		len -= half;
	}
	return (unsigned int)(base - n->keys) + (*base <= key);
}

/* The slot of an internal node to descend into for key. */
static unsigned int node_child_idx(const struct vfk_range_node *n, uint64_t key)
{
	unsigned int rank = node_rank(n, key);

	return rank ? rank - 1 : 0;
}

static struct vfk_range_node *node_new(void)
{
	struct vfk_range_node *n = malloc(sizeof(*n));

	if (n)
		n->count = 0;
	return n;
}

/* Make room at pos and put (key, slot) there; n has room. */
static void node_insert_at(struct vfk_range_node *n, unsigned int pos, uint64_t key,
			   union range_slot slot)
{
	unsigned int tail = n->count - pos;

	memmove(&n->keys[pos + 1], &n->keys[pos], tail * sizeof(n->keys[0]));
	memmove(&n->slots[pos + 1], &n->slots[pos], tail * sizeof(n->slots[0]));
	n->keys[pos] = key;
	n->slots[pos] = slot;
	n->count++;
}

static void node_remove_at(struct vfk_range_node *n, unsigned int pos)
{
	unsigned int tail = n->count - pos - 1;

	memmove(&n->keys[pos], &n->keys[pos + 1], tail * sizeof(n->keys[0]));
	memmove(&n->slots[pos], &n->slots[pos + 1], tail * sizeof(n->slots[0]));
	n->count--;
}

/* Append n entries of src starting at from to the end of dst. */
static void node_append(struct vfk_range_node *dst, const struct vfk_range_node *src,
			unsigned int from, unsigned int n)
{
	memcpy(&dst->keys[dst->count], &src->keys[from], n * sizeof(src->keys[0]));
	memcpy(&dst->slots[dst->count], &src->slots[from], n * sizeof(src->slots[0]));
	dst->count += n;
}

/*
 * Split the full node n, with (key, slot) going in at pos, into n and the
 * empty node right. On the rightmost path an append leaves n full.
 */
static void node_split_insert(struct vfk_range_node *n, struct vfk_range_node *right,
			      unsigned int pos, uint64_t key, union range_slot slot,
			      bool rightmost)
{
	unsigned int keep = rightmost && pos == RANGE_FANOUT ? RANGE_FANOUT
							     : (RANGE_FANOUT + 1) / 2;

	if (pos < keep) {
		node_append(right, n, keep - 1, RANGE_FANOUT - keep + 1);
		n->count = keep - 1;
		node_insert_at(n, pos, key, slot);
	} else {
		node_append(right, n, keep, RANGE_FANOUT - keep);
		n->count = keep;
		node_insert_at(right, pos - keep, key, slot);
	}
}

/*
 * Walk from the root to the leaf where key belongs, filling path[0] (the
 * leaf) .. path[height] (the root); the leaf's idx is key's rank in it.
 * Returns whether the walk stayed on the rightmost path all the way down.
 */
static bool tree_walk(const struct vfk_range_tree *t, uint64_t key, struct range_step *path)
{
	struct vfk_range_node *n = t->root;
	bool rightmost = true;

	for (unsigned int level = t->height; level > 0; level--) {
		unsigned int idx = node_child_idx(n, key);

		rightmost = rightmost && idx == n->count - 1;
		path[level] = (struct range_step){ n, idx };
		n = n->slots[idx].child;
	}
	path[0] = (struct range_step){ n, node_rank(n, key) };
	return rightmost;
}

/* Allocate the n nodes an insert will need, all or none. */
static int nodes_reserve(struct vfk_range_node **spare, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		spare[i] = node_new();
		if (!spare[i]) {
			while (i--)
				free(spare[i]);
			return -ENOMEM;
		}
	}
	return 0;
}

static int tree_insert_first(struct vfk_range_tree *t, uint64_t key, void *value)
{
	struct vfk_range_node *leaf = node_new();

	if (!leaf)
		return -ENOMEM;
	node_insert_at(leaf, 0, key, (union range_slot){ .value = value });
	t->root = leaf;
	t->height = 0;
	t->count = 1;
	return 0;
}

/* Put a new root above the old one and its new right sibling. */
static void tree_grow(struct vfk_range_tree *t, struct vfk_range_node *root,
		      struct vfk_range_node *old, struct vfk_range_node *sibling)
{
	node_insert_at(root, 0, old->keys[0], (union range_slot){ .child = old });
	node_insert_at(root, 1, sibling->keys[0], (union range_slot){ .child = sibling });
	t->root = root;
	t->height++;
}

int vfk_range_tree_insert(struct vfk_range_tree *t, uint64_t key, void *value)
{
	struct range_step path[RANGE_MAX_LEVELS];
	struct vfk_range_node *spare[RANGE_MAX_LEVELS + 1];
	union range_slot slot = { .value = value };
	unsigned int full = 0, used = 0, level;
	bool rightmost;
	int ret;

	if (!value)
		return -EINVAL;
	if (!t->root)
		return tree_insert_first(t, key, value);
	rightmost = tree_walk(t, key, path);
	if (path[0].idx && path[0].node->keys[path[0].idx - 1] == key)
		return -EEXIST;
	while (full <= t->height && path[full].node->count == RANGE_FANOUT)
		full++;
	/* A sibling per full level, and a new root when every level is full. */
	ret = nodes_reserve(spare, full + (full > t->height));
	if (ret)
		return ret;
	/* A new least key: it becomes keys[0] all along the leftmost path. */
	for (level = 1; level <= t->height; level++)
		if (key < path[level].node->keys[0])
			path[level].node->keys[0] = key;
	for (level = 0;; level++) {
		struct vfk_range_node *n = path[level].node, *sibling;
		unsigned int pos = level ? path[level].idx + 1 : path[0].idx;

		if (n->count < RANGE_FANOUT) {
			node_insert_at(n, pos, key, slot);
			break;
		}
		sibling = spare[used++];
		node_split_insert(n, sibling, pos, key, slot, rightmost);
		key = sibling->keys[0];
		slot.child = sibling;
		if (level == t->height) {
			tree_grow(t, spare[used], n, sibling);
			break;
		}
	}
	t->count++;
	return 0;
}

/*
 * Even out parent's children left (slot li) and right (li + 1) after one
 * of them fell below RANGE_MIN while the other has entries to spare:
 * move what brings them closest without taking the giver below RANGE_MIN
 * (a right node on the rightmost path may have been nearly empty).
 */
static void children_borrow(struct vfk_range_node *parent, unsigned int li)
{
	struct vfk_range_node *left = parent->slots[li].child;
	struct vfk_range_node *right = parent->slots[li + 1].child;

	if (left->count > right->count) {
		unsigned int move = (left->count - right->count) / 2;

		if (left->count - move < RANGE_MIN)
			move = left->count - RANGE_MIN;
		memmove(&right->keys[move], right->keys, right->count * sizeof(right->keys[0]));
		memmove(&right->slots[move], right->slots, right->count * sizeof(right->slots[0]));
		memcpy(right->keys, &left->keys[left->count - move], move * sizeof(left->keys[0]));
		memcpy(right->slots, &left->slots[left->count - move], move * sizeof(left->slots[0]));
		right->count += move;
		left->count -= move;
	} else {
		/* left is not on the rightmost path: it lacks one entry at most. */
		unsigned int move = (right->count - left->count) / 2;

		node_append(left, right, 0, move);
		right->count -= move;
		memmove(right->keys, &right->keys[move], right->count * sizeof(right->keys[0]));
		memmove(right->slots, &right->slots[move], right->count * sizeof(right->slots[0]));
	}
	parent->keys[li] = left->keys[0];
	parent->keys[li + 1] = right->keys[0];
}

/* Move parent's child li + 1 into child li and drop it. */
static void children_merge(struct vfk_range_node *parent, unsigned int li)
{
	struct vfk_range_node *left = parent->slots[li].child;
	struct vfk_range_node *right = parent->slots[li + 1].child;

	node_append(left, right, 0, right->count);
	free(right);
	node_remove_at(parent, li + 1);
}

/*
 * Child idx of parent has fewer than RANGE_MIN entries: borrow from a
 * sibling that can spare some, else merge with it (the two then fit one
 * node: fewer than RANGE_MIN plus at most RANGE_MIN).
 */
static void child_rebalance(struct vfk_range_node *parent, unsigned int idx)
{
	unsigned int li = idx ? idx - 1 : 0;
	unsigned int sibling = idx ? idx - 1 : 1;

	if (parent->slots[sibling].child->count > RANGE_MIN)
		children_borrow(parent, li);
	else
		children_merge(parent, li);
}

/*
 * After an entry left the leaf of path: restore the least keys and the
 * fill of every level, bottom-up. A node alone under its parent (only on
 * the rightmost path) has no sibling: it stays as it is, or goes when
 * empty.
 */
static void tree_fix_up(struct vfk_range_tree *t, struct range_step *path)
{
	for (unsigned int level = 0; level < t->height; level++) {
		struct vfk_range_node *n = path[level].node, *parent = path[level + 1].node;
		unsigned int idx = path[level + 1].idx;

		if (n->count)
			parent->keys[idx] = n->keys[0];
		if (n->count >= RANGE_MIN)
			continue;
		if (parent->count > 1) {
			child_rebalance(parent, idx);
		} else if (!n->count) {
			free(n);
			parent->count = 0;
		}
	}
}

/* Drop roots with a single child, and the root leaf once empty. */
static void tree_shrink(struct vfk_range_tree *t)
{
	while (t->height && t->root->count == 1) {
		struct vfk_range_node *old = t->root;

		t->root = old->slots[0].child;
		t->height--;
		free(old);
	}
	if (!t->height && !t->root->count) {
		free(t->root);
		t->root = NULL;
	}
}

int vfk_range_tree_remove(struct vfk_range_tree *t, uint64_t key, void **value)
{
	struct range_step path[RANGE_MAX_LEVELS];
	struct vfk_range_node *leaf;
	unsigned int idx;

	if (!t->root)
		return -ENOENT;
	tree_walk(t, key, path);
	leaf = path[0].node;
	idx = path[0].idx;
	if (!idx || leaf->keys[idx - 1] != key)
		return -ENOENT;
	if (value)
		*value = leaf->slots[idx - 1].value;
	node_remove_at(leaf, idx - 1);
	tree_fix_up(t, path);
	tree_shrink(t);
	t->count--;
	return 0;
}

void *vfk_range_tree_floor(const struct vfk_range_tree *t, uint64_t key, uint64_t *found_key)
{
	const struct vfk_range_node *n = t->root;
	unsigned int idx;

	if (!n || key < n->keys[0])
		return NULL;
	for (unsigned int level = t->height; level > 0; level--)
		n = n->slots[node_child_idx(n, key)].child;
	/* The value's line too, while the keys are searched. */
	prefetch_lines(n->slots, sizeof(n->slots));
	idx = node_rank(n, key) - 1;
	if (found_key)
		*found_key = n->keys[idx];
	return n->slots[idx].value;
}

size_t vfk_range_tree_count(const struct vfk_range_tree *t)
{
	return t->count;
}

static void node_destroy(struct vfk_range_node *n, unsigned int height,
			 void (*destroy)(void *value))
{
	for (unsigned int i = 0; i < n->count; i++) {
		if (height)
			node_destroy(n->slots[i].child, height - 1, destroy);
		else if (destroy)
			destroy(n->slots[i].value);
	}
	free(n);
}

void vfk_range_tree_destroy(struct vfk_range_tree *t, void (*destroy)(void *value))
{
	if (t->root)
		node_destroy(t->root, t->height, destroy);
	*t = (struct vfk_range_tree)VFK_RANGE_TREE_INIT;
}
