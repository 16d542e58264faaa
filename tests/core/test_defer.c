// SPDX-License-Identifier: MIT
/*
 * Unit tests of deferred device work: order, capacity, calls that queue
 * more, and reset dropping the queue.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vfiokit/device.h>
#include <vfiokit/transport.h>

static char order[64];

static void note(struct vfk_device *dev, void *arg)
{
	size_t n = strlen(order);

	order[n] = *(const char *)arg;
	order[n + 1] = '\0';
}

static void note_and_requeue(struct vfk_device *dev, void *arg)
{
	note(dev, arg);
	assert_int_equal(vfk_device_defer(dev, note, arg), 0);
}

static void note_and_reset(struct vfk_device *dev, void *arg)
{
	note(dev, arg);
	assert_int_equal(vfk_device_reset(dev), 0);
}

static int setup(void **state)
{
	struct vfk_device_desc desc = { .name = "defer", .vendor_id = 0x1234 };
	struct vfk_device *dev;

	order[0] = '\0';
	assert_int_equal(vfk_device_create(&desc, &dev), 0);
	*state = dev;
	return 0;
}

static int teardown(void **state)
{
	vfk_device_destroy(*state);
	return 0;
}

/* One run of the queue calls n functions; all notes taken so far then read notes. */
static void expect_run(struct vfk_device *dev, int n, const char *notes)
{
	assert_int_equal(vfk_device_run_deferred(dev), n);
	assert_string_equal(order, notes);
}

static void test_runs_in_order_once(void **state)
{
	struct vfk_device *dev = *state;

	assert_int_equal(vfk_device_defer(dev, note, "a"), 0);
	assert_int_equal(vfk_device_defer(dev, note, "b"), 0);
	assert_int_equal(vfk_device_defer(dev, note, "c"), 0);
	assert_int_equal(vfk_device_deferred_count(dev), 3);
	assert_string_equal(order, "");   /* nothing runs at queue time */
	expect_run(dev, 3, "abc");
	assert_int_equal(vfk_device_deferred_count(dev), 0);
	expect_run(dev, 0, "abc");
}

static void test_capacity_and_wraparound(void **state)
{
	struct vfk_device *dev = *state;
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz";

	assert_int_equal(vfk_device_defer(dev, NULL, NULL), -EINVAL);
	/* Move the ring's head first, so the full queue wraps around. */
	assert_int_equal(vfk_device_defer(dev, note, "-"), 0);
	assert_int_equal(vfk_device_run_deferred(dev), 1);
	for (unsigned int i = 0; i < VFK_MAX_DEFERRED; i++)
		assert_int_equal(vfk_device_defer(dev, note, (void *)&letters[i]), 0);
	assert_int_equal(vfk_device_defer(dev, note, "z"), -ENOSPC);
	assert_int_equal(vfk_device_run_deferred(dev), VFK_MAX_DEFERRED);
	assert_int_equal(strlen(order), 1 + VFK_MAX_DEFERRED);
	assert_memory_equal(order + 1, letters, VFK_MAX_DEFERRED);
}

static void test_requeue_waits_for_next_run(void **state)
{
	struct vfk_device *dev = *state;

	assert_int_equal(vfk_device_defer(dev, note_and_requeue, "r"), 0);
	expect_run(dev, 1, "r");
	assert_int_equal(vfk_device_deferred_count(dev), 1);
	expect_run(dev, 1, "rr");
}

static void test_reset_drops_queue(void **state)
{
	struct vfk_device *dev = *state;

	assert_int_equal(vfk_device_defer(dev, note, "a"), 0);
	assert_int_equal(vfk_device_reset(dev), 0);
	assert_int_equal(vfk_device_deferred_count(dev), 0);
	expect_run(dev, 0, "");

	/* A call that resets the device drops the calls behind it. */
	assert_int_equal(vfk_device_defer(dev, note_and_reset, "x"), 0);
	assert_int_equal(vfk_device_defer(dev, note, "y"), 0);
	expect_run(dev, 1, "x");
	assert_int_equal(vfk_device_deferred_count(dev), 0);

	assert_int_equal(vfk_device_defer(dev, note, "p"), 0);
	assert_int_equal(vfk_device_release_peer(dev), 0);
	assert_int_equal(vfk_device_deferred_count(dev), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_runs_in_order_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capacity_and_wraparound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requeue_waits_for_next_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_drops_queue, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
