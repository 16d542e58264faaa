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
#include <vfiokit/server.h>

#include "thread_server.h"

static void *serve(void *arg)
{
	struct thread_server *ts = arg;

	vfk_server_run(ts->srv);
	return NULL;
}

void ts_start(struct thread_server *ts, struct vfk_device *dev, const char *tag)
{
	signal(SIGPIPE, SIG_IGN);   /* a test client that hangs up must not kill us */
	snprintf(ts->dir, sizeof(ts->dir), "/tmp/vfk-%s-XXXXXX", tag);
	assert_non_null(mkdtemp(ts->dir));
	snprintf(ts->path, sizeof(ts->path), "%s/dev.sock", ts->dir);
	ts->dev = dev;
	assert_int_equal(vfk_server_create(&ts->srv), 0);
	assert_int_equal(vfk_server_add_device(ts->srv, dev, ts->path), 0);
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
