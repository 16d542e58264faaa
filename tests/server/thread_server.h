/* SPDX-License-Identifier: MIT */
/* A vfio-user server in a thread, serving one test device on a socket in a temp dir. */
#ifndef VFIOKIT_TEST_THREAD_SERVER_H
#define VFIOKIT_TEST_THREAD_SERVER_H

#include <pthread.h>

struct vfk_device;
struct vfk_server;

struct thread_server {
	char dir[64];
	char path[96];              /* the device's socket */
	struct vfk_device *dev;
	struct vfk_server *srv;
	pthread_t thread;
};

/* Serve dev (owned by ts from now on) on ts->path in a new dir named after tag. */
void ts_start(struct thread_server *ts, struct vfk_device *dev, const char *tag);

/* Stop the server, destroy it and the device, remove the socket and dir. */
void ts_stop(struct thread_server *ts);

#endif
