// SPDX-License-Identifier: MIT
/* Unit tests of a device's event sources (src/core/event.c). */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <vfiokit/device.h>
#include <vfiokit/event.h>

#include "../test_util.h"

struct fixture {
	struct vfk_device *dev;
	int p[2], q[2];             /* two pipes: read ends watched */
};

/* What the handlers saw. */
static struct {
	unsigned int calls[2];
	uint32_t events[2];
	struct vfk_watch *w[2];
	bool remove_other;          /* the first handler removes the second watch */
	bool remove_self;
	uint64_t expirations;
	unsigned int timer_calls;
	struct vfk_timer *timer;
} seen;

static int setup(void **state)
{
	struct vfk_device_desc desc = { .name = "events", .vendor_id = 0x1af4 };
	struct fixture *f = calloc(1, sizeof(*f));

	memset(&seen, 0, sizeof(seen));
	if (!f || vfk_device_create(&desc, &f->dev) || pipe(f->p) || pipe(f->q))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vfk_device_destroy(f->dev);   /* frees whatever sources are left */
	close(f->p[0]);
	close(f->p[1]);
	close(f->q[0]);
	close(f->q[1]);
	free(f);
	return 0;
}

static void on_ready(struct vfk_device *dev, int fd, uint32_t events, void *arg)
{
	int i = (int)(intptr_t)arg;
	char c;

	seen.calls[i]++;
	seen.events[i] = events;
	if (events & VFK_EVENT_READ)
		assert_int_equal(read(fd, &c, 1), 1);
	if (seen.remove_other && i == 0) {
		vfk_watch_remove(seen.w[1]);
		seen.w[1] = NULL;
	}
	if (seen.remove_self) {
		vfk_watch_remove(seen.w[i]);
		seen.w[i] = NULL;
	}
}

/* Whether the device's events fd is readable now. */
static bool events_fd_ready(struct vfk_device *dev, int timeout_ms)
{
	struct pollfd p = { .fd = vfk_device_events_fd(dev), .events = POLLIN };

	assert_true(p.fd >= 0);
	return poll(&p, 1, timeout_ms) == 1;
}

static void test_watch_read(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vfk_watch_add(f->dev, f->p[0], VFK_EVENT_READ, on_ready, (void *)0,
				       &seen.w[0]), 0);
	assert_false(events_fd_ready(f->dev, 0));
	assert_int_equal(vfk_device_dispatch_events(f->dev), 0);
	assert_int_equal(write(f->p[1], "x", 1), 1);
	assert_true(events_fd_ready(f->dev, 1000));
	assert_int_equal(vfk_device_dispatch_events(f->dev), 1);
	assert_int_equal(seen.calls[0], 1);
	assert_int_equal(seen.events[0], VFK_EVENT_READ);
	/* Level-triggered: ready again while data waits; not after it is read. */
	assert_int_equal(vfk_device_dispatch_events(f->dev), 0);
	/* Events 0: watched for nothing. */
	assert_int_equal(vfk_watch_set_events(seen.w[0], 0), 0);
	assert_int_equal(write(f->p[1], "y", 1), 1);
	assert_false(events_fd_ready(f->dev, 0));
	assert_int_equal(vfk_watch_set_events(seen.w[0], VFK_EVENT_READ), 0);
	assert_int_equal(vfk_device_dispatch_events(f->dev), 1);
	assert_int_equal(seen.calls[0], 2);
	vfk_watch_remove(seen.w[0]);
	assert_int_equal(write(f->p[1], "z", 1), 1);
	assert_int_equal(vfk_device_dispatch_events(f->dev), 0);
}

static void test_watch_write_and_hangup(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vfk_watch_add(f->dev, f->p[1], VFK_EVENT_WRITE, on_ready, (void *)1,
				       &seen.w[1]), 0);
	assert_int_equal(vfk_device_dispatch_events(f->dev), 1);
	assert_int_equal(seen.events[1], VFK_EVENT_WRITE);
	/* The reader gone: the write end reports an error. */
	close(f->p[0]);
	f->p[0] = dup(f->q[0]);   /* teardown closes it */
	assert_int_equal(vfk_device_dispatch_events(f->dev), 1);
	assert_true(seen.events[1] & VFK_EVENT_ERROR);
}

static void test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct vfk_watch *w;
	struct vfk_timer *t;

	assert_int_equal(vfk_watch_add(f->dev, f->p[0], VFK_EVENT_READ, NULL, NULL, &w), -EINVAL);
	assert_int_equal(vfk_watch_add(f->dev, f->p[0], 8, on_ready, NULL, &w), -EINVAL);
	assert_int_equal(vfk_watch_add(f->dev, -1, VFK_EVENT_READ, on_ready, NULL, &w), -EBADF);
	assert_int_equal(vfk_watch_add(f->dev, 999, VFK_EVENT_READ, on_ready, NULL, &w), -EBADF);
	assert_int_equal(vfk_watch_add(f->dev, f->p[0], VFK_EVENT_READ, on_ready, NULL, &w), 0);
	assert_int_equal(vfk_watch_add(f->dev, f->p[0], VFK_EVENT_WRITE, on_ready, NULL, &w), -EEXIST);
	assert_int_equal(vfk_timer_add(f->dev, NULL, NULL, &t), -EINVAL);
	vfk_watch_remove(NULL);
	vfk_timer_remove(NULL);
}

/* A handler removes a watch whose event is in the same batch: it is not
 * called, and freed only after the batch (ASan/valgrind would see a use
 * after free otherwise). */
static void test_remove_during_dispatch(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vfk_watch_add(f->dev, f->p[0], VFK_EVENT_READ, on_ready, (void *)0,
				       &seen.w[0]), 0);
	assert_int_equal(vfk_watch_add(f->dev, f->q[0], VFK_EVENT_READ, on_ready, (void *)1,
				       &seen.w[1]), 0);
	assert_int_equal(write(f->p[1], "a", 1), 1);
	assert_int_equal(write(f->q[1], "b", 1), 1);
	seen.remove_other = true;
	/* Either order: whichever runs first, exactly one handler runs when
	 * the first removes the second; if the second ran first, both run. */
	vfk_device_dispatch_events(f->dev);
	assert_int_equal(seen.calls[0], 1);
	assert_null(seen.w[1]);
	seen.remove_other = false;
	seen.remove_self = true;
	assert_int_equal(write(f->p[1], "c", 1), 1);
	assert_int_equal(vfk_device_dispatch_events(f->dev), 1);
	assert_null(seen.w[0]);
	assert_int_equal(write(f->p[1], "d", 1), 1);
	assert_int_equal(vfk_device_dispatch_events(f->dev), 0);
}

static void on_timer(struct vfk_device *dev, uint64_t expirations, void *arg)
{
	seen.timer_calls++;
	seen.expirations += expirations;
	if (arg) {   /* remove itself */
		vfk_timer_remove(seen.timer);
		seen.timer = NULL;
	}
}

static void test_timer_once_and_periodic(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vfk_timer_add(f->dev, on_timer, NULL, &seen.timer), 0);
	assert_false(events_fd_ready(f->dev, 50));   /* disarmed */
	assert_int_equal(vfk_timer_arm(seen.timer, 1000000, 0), 0);   /* 1 ms, once */
	assert_true(events_fd_ready(f->dev, 2000));
	assert_int_equal(vfk_device_dispatch_events(f->dev), 1);
	assert_int_equal(seen.expirations, 1);
	assert_false(events_fd_ready(f->dev, 50));
	/* Every 2 ms: after 30 ms, several expirations in few calls. */
	assert_int_equal(vfk_timer_arm(seen.timer, 2000000, 2000000), 0);
	usleep(30000);
	assert_int_equal(vfk_device_dispatch_events(f->dev), 1);
	assert_true(seen.expirations >= 1 + 5);
	/* Disarmed: no more. */
	assert_int_equal(vfk_timer_arm(seen.timer, 0, 2000000), 0);
	vfk_device_dispatch_events(f->dev);   /* one may have been pending */
	seen.timer_calls = 0;
	assert_false(events_fd_ready(f->dev, 30));
	assert_int_equal(seen.timer_calls, 0);
	vfk_timer_remove(seen.timer);
}

static void test_timer_removes_itself(void **state)
{
	struct fixture *f = *state;
	int fds;

	assert_true(vfk_device_events_fd(f->dev) >= 0);
	fds = test_count_open_fds();
	assert_int_equal(vfk_timer_add(f->dev, on_timer, (void *)1, &seen.timer), 0);
	assert_int_equal(test_count_open_fds(), fds + 1);   /* its timerfd */
	assert_int_equal(vfk_timer_arm(seen.timer, 1000, 1000), 0);
	assert_true(events_fd_ready(f->dev, 2000));
	assert_int_equal(vfk_device_dispatch_events(f->dev), 1);
	assert_null(seen.timer);
	assert_int_equal(test_count_open_fds(), fds);
	assert_false(events_fd_ready(f->dev, 20));
}

/* Destroying a device with live sources frees them and closes their fds
 * (the watched fds stay the caller's). */
static void test_destroy_with_sources(void **state)
{
	struct fixture *f = *state;
	struct vfk_timer *t;
	struct vfk_watch *w;
	int fds = test_count_open_fds();

	assert_int_equal(vfk_timer_add(f->dev, on_timer, NULL, &t), 0);
	assert_int_equal(vfk_timer_arm(t, 1000000000, 0), 0);
	assert_int_equal(vfk_watch_add(f->dev, f->p[0], VFK_EVENT_READ, on_ready, NULL, &w), 0);
	assert_true(test_count_open_fds() > fds);
	vfk_device_destroy(f->dev);
	f->dev = NULL;
	assert_int_equal(test_count_open_fds(), fds);   /* timerfd and epoll fd closed */
	assert_int_equal(write(f->p[1], "x", 1), 1);   /* still ours, still open */
	{
		struct vfk_device_desc desc = { .name = "again", .vendor_id = 0x1af4 };

		assert_int_equal(vfk_device_create(&desc, &f->dev), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_watch_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_write_and_hangup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_during_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_once_and_periodic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_removes_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_with_sources, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
