// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include <vfiokit/device.h>
#include <vfiokit/region.h>
#include <vfiokit/server.h>

#include "thread_server.h"

static void *serve(void *arg)
{
	struct thread_server *ts = arg;

	vfk_server_run(ts->srv);
	return NULL;
}

struct vfk_device *ts_bar0_device(const char *name, uint16_t device_id, uint32_t flags,
				  uint64_t size, const struct vfk_region_ops *ops)
{
	struct vfk_device_desc desc = { .name = name, .vendor_id = 0x1af4,
					.device_id = device_id, .class_code = 0xff0000 };
	struct vfk_region_desc bar = { flags, size, ops, NULL };
	struct vfk_device *dev;

	assert_int_equal(vfk_device_create(&desc, &dev), 0);
	assert_int_equal(vfk_device_set_bar(dev, 0, &bar, 0), 0);
	return dev;
}

void ts_start(struct thread_server *ts, struct vfk_device *dev, const char *tag)
{
	ts_start_polling(ts, dev, tag, 0);
}

void ts_start_polling(struct thread_server *ts, struct vfk_device *dev, const char *tag,
		      unsigned int poll_us)
{
	signal(SIGPIPE, SIG_IGN);   /* a test client that hangs up must not kill us */
	snprintf(ts->dir, sizeof(ts->dir), "/tmp/vfk-%s-XXXXXX", tag);
	assert_non_null(mkdtemp(ts->dir));
	snprintf(ts->path, sizeof(ts->path), "%s/dev.sock", ts->dir);
	ts->dev = dev;
	assert_int_equal(vfk_server_create(&ts->srv), 0);
	assert_int_equal(vfk_server_add_device(ts->srv, dev, ts->path), 0);
	assert_int_equal(vfk_server_set_poll_us(ts->srv, poll_us), 0);
	assert_int_equal(pthread_create(&ts->thread, NULL, serve, ts), 0);
}

void ts_stop(struct thread_server *ts)
{
	vfk_server_stop(ts->srv);
	pthread_join(ts->thread, NULL);
	vfk_server_destroy(ts->srv);
	vfk_device_destroy(ts->dev);
	unlink(ts->path);
	rmdir(ts->dir);
}
