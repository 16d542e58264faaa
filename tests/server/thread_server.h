/* SPDX-License-Identifier: MIT */
/* A vfio-user server in a thread, serving one test device on a socket in a temp dir. */
#ifndef VFIOKIT_TEST_THREAD_SERVER_H
#define VFIOKIT_TEST_THREAD_SERVER_H

#include <pthread.h>

#include <stdint.h>
#include <linux/vfio.h>

struct vfk_device;
struct vfk_region_ops;
struct vfk_server;

struct thread_server {
	char dir[64];
	char path[96];              /* the device's socket */
	struct vfk_device *dev;
	struct vfk_server *srv;
	pthread_t thread;
};

/* A BAR that is read and written. */
#define TS_BAR_RW (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)

/* A test device (vendor 0x1af4, class 0xff0000) named name, with a BAR0
 * of size bytes, flags VFIO_REGION_INFO_FLAG_*, served by ops. */
struct vfk_device *ts_bar0_device(const char *name, uint16_t device_id, uint32_t flags,
				  uint64_t size, const struct vfk_region_ops *ops);

/* Serve dev (owned by ts from now on) on ts->path in a new dir named after tag. */
void ts_start(struct thread_server *ts, struct vfk_device *dev, const char *tag);

/* ts_start() with the server polling for poll_us (vfk_server_set_poll_us)
 * from the start: set before its thread runs. */
void ts_start_polling(struct thread_server *ts, struct vfk_device *dev, const char *tag,
		      unsigned int poll_us);

/* Stop the server, destroy it and the device, remove the socket and dir. */
void ts_stop(struct thread_server *ts);

#endif
