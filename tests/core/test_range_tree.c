// SPDX-License-Identifier: MIT
/*
 * Unit tests of the B+-tree (src/core/range_tree.c), against a sorted
 * array doing the same operations. The source is included so the checker
 * below can read the nodes; meson builds this file twice, with the real
 * fanout and with RANGE_FANOUT=4, whose small nodes reach many levels and
 * exercise every split, borrow and merge path with few entries.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Node allocations of the tree fail once this many more have succeeded. */
static long allocs_before_failure = -1;
/* Nodes the tree holds: the checker finds exactly these in it. */
static size_t live_nodes;

static void *fallible_malloc(size_t size)
{
	void *p;

	if (allocs_before_failure == 0)
		return NULL;
	if (allocs_before_failure > 0)
		allocs_before_failure--;
	p = malloc(size);
	live_nodes += p != NULL;
	return p;
}

static void counted_free(void *p)
{
	live_nodes -= p != NULL;
	free(p);
}

#define malloc(size) fallible_malloc(size)
#define free(p) counted_free(p)
#include "core/range_tree.c"
#undef malloc
#undef free

/* ---- the reference: a sorted array of keys ---- */

struct reference {
	uint64_t *keys;
	size_t count;
	size_t cap;
};

/* How many reference keys are <= key. */
static size_t ref_rank(const struct reference *r, uint64_t key)
{
	size_t lo = 0, hi = r->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->keys[mid] <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool ref_insert(struct reference *r, uint64_t key)
{
	size_t pos = ref_rank(r, key);

	if (pos && r->keys[pos - 1] == key)
		return false;
	if (r->count == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 1024;
		r->keys = realloc(r->keys, r->cap * sizeof(r->keys[0]));
		assert_non_null(r->keys);
	}
	memmove(&r->keys[pos + 1], &r->keys[pos], (r->count - pos) * sizeof(r->keys[0]));
	r->keys[pos] = key;
	r->count++;
	return true;
}

static bool ref_remove(struct reference *r, uint64_t key)
{
	size_t pos = ref_rank(r, key);

	if (!pos || r->keys[pos - 1] != key)
		return false;
	memmove(&r->keys[pos - 1], &r->keys[pos], (r->count - pos) * sizeof(r->keys[0]));
	r->count--;
	return true;
}

/* Each key's value is derived from it, so a lookup's pair can be checked. */
static void *value_of(uint64_t key)
{
	return (void *)(uintptr_t)(key * 2 + 1);
}

/* ---- the invariant checker ---- */

struct check_state {
	size_t entries;
	size_t leaves;
	size_t nodes;
	bool seen_any;
	uint64_t prev_key;
};

/*
 * n at height (0 = leaf): fill bounds, strictly increasing keys, exact
 * least keys in parents, equal leaf depth, every value matching its key,
 * and the leaves' keys in global order.
 */
static void check_node(const struct vfk_range_node *n, unsigned int height, bool is_root,
		       bool rightmost, struct check_state *st)
{
	st->nodes++;
	assert_true(n->count >= 1 && n->count <= RANGE_FANOUT);
	if (is_root && height)
		assert_true(n->count >= 2);
	if (!is_root && !rightmost)
		assert_true(n->count >= RANGE_MIN);
	for (unsigned int i = 1; i < n->count; i++)
		assert_true(n->keys[i - 1] < n->keys[i]);
	for (unsigned int i = 0; i < n->count; i++) {
		if (height) {
			assert_true(n->keys[i] == n->slots[i].child->keys[0]);
			check_node(n->slots[i].child, height - 1, false,
				   rightmost && i == n->count - 1, st);
			continue;
		}
		assert_true(!st->seen_any || st->prev_key < n->keys[i]);
		assert_ptr_equal(n->slots[i].value, value_of(n->keys[i]));
		st->seen_any = true;
		st->prev_key = n->keys[i];
		st->entries++;
	}
	if (!height)
		st->leaves++;
}

/* Check t's shape and that it holds exactly the reference's keys. */
static struct check_state check_tree(const struct vfk_range_tree *t, const struct reference *r)
{
	struct check_state st = { 0 };

	assert_int_equal(vfk_range_tree_count(t), r->count);
	if (!t->root) {
		assert_int_equal(r->count, 0);
		assert_int_equal(t->height, 0);
		assert_int_equal(live_nodes, 0);
		return st;
	}
	check_node(t->root, t->height, true, true, &st);
	assert_int_equal(st.entries, r->count);
	/* Nothing allocated is left outside the tree. */
	assert_int_equal(st.nodes, live_nodes);
	/* Same keys in the same order: first, last, and a lookup of each. */
	for (size_t i = 0; i < r->count; i++) {
		uint64_t found;

		assert_ptr_equal(vfk_range_tree_floor(t, r->keys[i], &found), value_of(r->keys[i]));
		assert_true(found == r->keys[i]);
	}
	return st;
}

/* ---- key generation ---- */

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Keys that collide often (a small range), boundary keys, and keys
 * anywhere in the 64-bit space.
 */
static uint64_t random_key(uint64_t *seed, uint64_t dense_range)
{
	static const uint64_t boundary[] = { 0, 1, 2, UINT64_MAX, UINT64_MAX - 1,
					     UINT64_MAX / 2, UINT64_MAX / 2 + 1 };
	uint64_t pick = xorshift(seed) % 16, x = xorshift(seed);

	if (pick == 0)
		return boundary[x % (sizeof(boundary) / sizeof(boundary[0]))];
	if (pick < 4)
		return x;
	if (pick < 6)
		return UINT64_MAX - x % dense_range;
	return x % dense_range;
}

/* One floor lookup of key compared with the reference. */
static void check_floor(const struct vfk_range_tree *t, const struct reference *r, uint64_t key)
{
	size_t rank = ref_rank(r, key);
	uint64_t found = 0;
	void *value = vfk_range_tree_floor(t, key, &found);

	if (!rank) {
		assert_null(value);
		return;
	}
	assert_ptr_equal(value, value_of(r->keys[rank - 1]));
	assert_true(found == r->keys[rank - 1]);
}

/* One random operation, its result compared with the reference. */
static void random_op(struct vfk_range_tree *t, struct reference *r, uint64_t *seed,
		      uint64_t dense_range, unsigned int insert_percent)
{
	uint64_t choice = xorshift(seed) % 100, key = random_key(seed, dense_range);

	if (choice < insert_percent) {
		bool fresh = ref_insert(r, key);

		assert_int_equal(vfk_range_tree_insert(t, key, value_of(key)), fresh ? 0 : -EEXIST);
	} else if (choice < insert_percent + (100 - insert_percent) / 2) {
		bool present;
		void *value = NULL;

		/* Mostly keys that are there: random ones would rarely be. */
		if (r->count && choice % 4)
			key = r->keys[xorshift(seed) % r->count];
		present = ref_remove(r, key);

		assert_int_equal(vfk_range_tree_remove(t, key, &value), present ? 0 : -ENOENT);
		if (present)
			assert_ptr_equal(value, value_of(key));
	} else if (r->count && choice % 2) {
		/* A present key or its neighbours: hits and near misses. */
		uint64_t near = r->keys[xorshift(seed) % r->count];

		check_floor(t, r, near);
		check_floor(t, r, near - 1);
		check_floor(t, r, near + 1);
	} else {
		check_floor(t, r, key);
	}
}

/* Entries the random phase grows to: 4 levels at the real fanout. */
#define GROW_TO (RANGE_FANOUT == 4 ? 6000u : 24000u)
#define CHECK_EVERY 997u

/* Grow with random operations to GROW_TO entries, then shrink to empty. */
static void test_random_grow_shrink(void **state)
{
	struct vfk_range_tree t = VFK_RANGE_TREE_INIT;
	struct reference r = { 0 };
	uint64_t seed = 0x2545f4914f6cdd1dull, ops = 0;
	unsigned int max_height = 0;

	while (r.count < GROW_TO) {
		random_op(&t, &r, &seed, 4 * GROW_TO, 65);
		if (t.height > max_height)
			max_height = t.height;
		if (++ops % CHECK_EVERY == 0)
			check_tree(&t, &r);
	}
	check_tree(&t, &r);
	/* 4 levels at the real fanout; many more at the narrow one. */
	assert_true(max_height >= (RANGE_FANOUT == 4 ? 6u : 3u));
	while (r.count) {
		random_op(&t, &r, &seed, 4 * GROW_TO, 20);
		if (++ops % CHECK_EVERY == 0)
			check_tree(&t, &r);
	}
	check_tree(&t, &r);
	assert_null(t.root);
	assert_null(vfk_range_tree_floor(&t, UINT64_MAX, NULL));
	free(r.keys);
}

/*
 * Keys in ascending order, as a guest's RAM arrives: the leaves fill up
 * (only the rightmost may be partly empty), then random removal shrinks
 * the tree, which keeps at least half-full nodes, down to nothing.
 */
static void test_ascending_fill_then_remove(void **state)
{
	const size_t n = 8 * RANGE_FANOUT * RANGE_FANOUT + 3;
	struct vfk_range_tree t = VFK_RANGE_TREE_INIT;
	struct reference r = { 0 };
	struct check_state st;
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < n; i++) {
		uint64_t key = 0x100000 + i * 4096;

		assert_true(ref_insert(&r, key));
		assert_int_equal(vfk_range_tree_insert(&t, key, value_of(key)), 0);
	}
	st = check_tree(&t, &r);
	assert_int_equal(st.leaves, (n + RANGE_FANOUT - 1) / RANGE_FANOUT);
	while (r.count) {
		uint64_t key = r.keys[xorshift(&seed) % r.count];

		assert_true(ref_remove(&r, key));
		assert_int_equal(vfk_range_tree_remove(&t, key, NULL), 0);
		if (r.count % 101 == 0) {
			st = check_tree(&t, &r);
			/* At most one partly empty node per level besides the root. */
			assert_true(st.leaves <= r.count / RANGE_MIN + 1);
		}
	}
	assert_null(t.root);
	free(r.keys);
}

/*
 * With every node on the rightmost path full, one more ascending key
 * splits each level into a full node and a new one-entry node (and adds a
 * root); removing that key empties the new nodes, which must go.
 */
static void test_append_split_then_remove(void **state)
{
	for (unsigned int levels = 1; levels <= 3; levels++) {
		struct vfk_range_tree t = VFK_RANGE_TREE_INIT;
		struct reference r = { 0 };
		uint64_t key = 0;
		size_t full = 1;

		for (unsigned int i = 0; i < levels; i++)
			full *= RANGE_FANOUT;
		for (; r.count < full; key++) {
			assert_true(ref_insert(&r, key));
			assert_int_equal(vfk_range_tree_insert(&t, key, value_of(key)), 0);
		}
		assert_int_equal(t.height, levels - 1);
		assert_int_equal(vfk_range_tree_insert(&t, key, value_of(key)), 0);
		assert_int_equal(t.height, levels);
		assert_int_equal(vfk_range_tree_remove(&t, key, NULL), 0);
		check_tree(&t, &r);
		vfk_range_tree_destroy(&t, NULL);
		assert_int_equal(live_nodes, 0);
		free(r.keys);
	}
}

/* Descending order: every insert is a new least key, down every level. */
static void test_descending_fill(void **state)
{
	const size_t n = 4 * RANGE_FANOUT * RANGE_FANOUT;
	struct vfk_range_tree t = VFK_RANGE_TREE_INIT;
	struct reference r = { 0 };

	for (size_t i = 0; i < n; i++) {
		uint64_t key = UINT64_MAX - i * 3;

		assert_true(ref_insert(&r, key));
		assert_int_equal(vfk_range_tree_insert(&t, key, value_of(key)), 0);
	}
	check_tree(&t, &r);
	check_floor(&t, &r, 0);
	check_floor(&t, &r, UINT64_MAX - 3 * n);
	/* Remove the least key each time: parents' keys[0] must follow. */
	for (size_t i = n; i-- > 0;) {
		assert_int_equal(vfk_range_tree_remove(&t, UINT64_MAX - i * 3, NULL), 0);
		assert_true(ref_remove(&r, UINT64_MAX - i * 3));
		if (i % 61 == 0)
			check_tree(&t, &r);
	}
	assert_null(t.root);
	free(r.keys);
}

static void test_boundary_keys(void **state)
{
	struct vfk_range_tree t = VFK_RANGE_TREE_INIT;
	uint64_t found = 7;

	assert_null(vfk_range_tree_floor(&t, UINT64_MAX, &found));
	assert_true(found == 7);   /* untouched when nothing is found */
	assert_int_equal(vfk_range_tree_remove(&t, 0, NULL), -ENOENT);
	assert_int_equal(vfk_range_tree_insert(&t, UINT64_MAX, value_of(UINT64_MAX)), 0);
	assert_null(vfk_range_tree_floor(&t, UINT64_MAX - 1, NULL));
	assert_int_equal(vfk_range_tree_insert(&t, 0, value_of(0)), 0);
	assert_int_equal(vfk_range_tree_insert(&t, 0, value_of(0)), -EEXIST);
	assert_int_equal(vfk_range_tree_insert(&t, UINT64_MAX, value_of(0)), -EEXIST);
	assert_ptr_equal(vfk_range_tree_floor(&t, 0, &found), value_of(0));
	assert_true(found == 0);
	assert_ptr_equal(vfk_range_tree_floor(&t, UINT64_MAX - 1, &found), value_of(0));
	assert_ptr_equal(vfk_range_tree_floor(&t, UINT64_MAX, &found), value_of(UINT64_MAX));
	assert_true(found == UINT64_MAX);
	assert_int_equal(vfk_range_tree_count(&t), 2);
	assert_int_equal(vfk_range_tree_remove(&t, 1, NULL), -ENOENT);
	assert_int_equal(vfk_range_tree_remove(&t, 0, NULL), 0);
	assert_null(vfk_range_tree_floor(&t, 0, NULL));
	assert_int_equal(vfk_range_tree_remove(&t, UINT64_MAX, NULL), 0);
	assert_int_equal(vfk_range_tree_count(&t), 0);
	assert_null(t.root);
}

static void test_null_value_refused(void **state)
{
	struct vfk_range_tree t = VFK_RANGE_TREE_INIT;

	assert_int_equal(vfk_range_tree_insert(&t, 5, NULL), -EINVAL);
	assert_int_equal(vfk_range_tree_count(&t), 0);
	assert_null(t.root);
}

static size_t destroyed;
static uint64_t destroyed_last;

/* Values are value_of(key): recover the key to check the order. */
static void count_destroy(void *value)
{
	uint64_t key = ((uintptr_t)value - 1) / 2;

	assert_true(!destroyed || destroyed_last < key);
	destroyed_last = key;
	destroyed++;
}

static void test_destroy_calls_back_in_order(void **state)
{
	struct vfk_range_tree t = VFK_RANGE_TREE_INIT;
	uint64_t seed = 12345;
	size_t inserted = 0;

	for (int i = 0; i < 5000; i++) {
		uint64_t key = xorshift(&seed) % (1ull << 40);

		inserted += vfk_range_tree_insert(&t, key, value_of(key)) == 0;
	}
	destroyed = 0;
	vfk_range_tree_destroy(&t, count_destroy);
	assert_int_equal(destroyed, inserted);
	assert_null(t.root);
	assert_int_equal(live_nodes, 0);
	assert_int_equal(vfk_range_tree_count(&t), 0);
	/* Reusable, and destroying an empty tree without a callback is fine. */
	assert_int_equal(vfk_range_tree_insert(&t, 1, value_of(1)), 0);
	vfk_range_tree_destroy(&t, NULL);
	vfk_range_tree_destroy(&t, NULL);
	assert_null(t.root);
}

/*
 * An insert that splits every level needs a node per level plus a new
 * root; whichever allocation fails, the insert reports -ENOMEM and the
 * tree is exactly as before.
 */
static void test_enomem_leaves_tree_unchanged(void **state)
{
	struct vfk_range_tree t = VFK_RANGE_TREE_INIT;
	struct reference r = { 0 };
	uint64_t key = 0;
	unsigned int height;
	long fail_at;

	/* Ascending keys leave full nodes; stop when the rightmost path is full. */
	for (;;) {
		struct range_step path[RANGE_MAX_LEVELS];
		unsigned int level = 0;

		assert_true(ref_insert(&r, key));
		assert_int_equal(vfk_range_tree_insert(&t, key, value_of(key)), 0);
		key += 16;
		tree_walk(&t, key, path);
		while (level <= t.height && path[level].node->count == RANGE_FANOUT)
			level++;
		if (level > t.height && t.height >= 2)
			break;
	}
	height = t.height;
	for (fail_at = 0; fail_at <= (long)height + 1; fail_at++) {
		allocs_before_failure = fail_at;
		assert_int_equal(vfk_range_tree_insert(&t, key, value_of(key)), -ENOMEM);
		allocs_before_failure = -1;
		assert_int_equal(t.height, height);
		check_tree(&t, &r);
	}
	allocs_before_failure = fail_at;
	assert_int_equal(vfk_range_tree_insert(&t, key, value_of(key)), 0);
	allocs_before_failure = -1;
	assert_true(ref_insert(&r, key));
	assert_int_equal(t.height, height + 1);
	check_tree(&t, &r);
	vfk_range_tree_destroy(&t, NULL);
	assert_int_equal(live_nodes, 0);
	free(r.keys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boundary_keys),
		cmocka_unit_test(test_null_value_refused),
		cmocka_unit_test(test_random_grow_shrink),
		cmocka_unit_test(test_ascending_fill_then_remove),
		cmocka_unit_test(test_append_split_then_remove),
		cmocka_unit_test(test_descending_fill),
		cmocka_unit_test(test_destroy_calls_back_in_order),
		cmocka_unit_test(test_enomem_leaves_tree_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
