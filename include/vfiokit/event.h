/* SPDX-License-Identifier: MIT */
/*
 * Event sources of a device: fds it watches and timers it arms, for
 * devices driven from outside (a NIC fed by a tap fd, a disk completing
 * I/O from io_uring, a device with its own clock).
 *
 * Handlers run in the loop that serves the device, between its client's
 * messages, exactly like an access handler: they may queue deferred work
 * (vfk_device_defer()), raise IRQs, and do DMA (vfk_dma_read/write;
 * message-based DMA from deferred work, as from an access handler). The
 * vfio-user server serves every device's sources from its one loop; an
 * application that drives a device without the server polls
 * vfk_device_events_fd() and calls vfk_device_dispatch_events().
 *
 * Threads: sources belong to their device and are added, changed, removed
 * and dispatched from the thread that serves the device.
 */
#ifndef VFIOKIT_EVENT_H
#define VFIOKIT_EVENT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vfk_device;
struct vfk_watch;
struct vfk_timer;

#define VFK_EVENT_READ   (1u << 0)   /* the fd is readable (or at its end) */
#define VFK_EVENT_WRITE  (1u << 1)   /* the fd is writable */
#define VFK_EVENT_ERROR  (1u << 2)   /* reported only: an error or hang-up on the fd */

/** Called with the VFK_EVENT_* bits that are ready on fd. */
typedef void (*vfk_watch_fn)(struct vfk_device *dev, int fd, uint32_t events, void *arg);

/** Called when a timer expires; expirations counts those since the last call (>= 1). */
typedef void (*vfk_timer_fn)(struct vfk_device *dev, uint64_t expirations, void *arg);

/**
 * Watch fd (borrowed: the caller keeps it open while watched and closes
 * it after vfk_watch_remove()) for events (VFK_EVENT_READ and/or WRITE;
 * 0 watches nothing until vfk_watch_set_events()). Level-triggered: fn
 * runs at every dispatch while the fd stays ready. *out is the handle.
 * -EINVAL for a NULL fn or unknown bits, -EEXIST when fd is watched
 * already for this device, -ENOMEM, or epoll's error (-EPERM for a
 * regular file, which is always ready).
 */
int vfk_watch_add(struct vfk_device *dev, int fd, uint32_t events, vfk_watch_fn fn,
		  void *arg, struct vfk_watch **out);

/** Change what w waits for; 0, -EINVAL for unknown bits, or epoll's error. */
int vfk_watch_set_events(struct vfk_watch *w, uint32_t events);

/**
 * Stop watching and free w (NULL is fine). Safe from any handler,
 * including w's own: a removed watch is never called again.
 */
void vfk_watch_remove(struct vfk_watch *w);

/** A disarmed CLOCK_MONOTONIC timer calling fn; 0 or -errno. */
int vfk_timer_add(struct vfk_device *dev, vfk_timer_fn fn, void *arg, struct vfk_timer **out);

/**
 * Arm t to expire after delay_ns, then every period_ns (0: once).
 * delay_ns 0 disarms it. Re-arming replaces the previous setting.
 * 0 or -errno.
 */
int vfk_timer_arm(struct vfk_timer *t, uint64_t delay_ns, uint64_t period_ns);

/** Disarm and free t (NULL is fine); safe from any handler, as vfk_watch_remove(). */
void vfk_timer_remove(struct vfk_timer *t);

/**
 * An fd that is readable while one of dev's sources is ready (an epoll
 * fd, owned by the device): what a loop waits on. Made at the first call
 * or the first source; -errno if it cannot be.
 */
int vfk_device_events_fd(struct vfk_device *dev);

/**
 * Run the handlers of the sources ready now, without waiting: the number
 * run, or -errno. Deferred work they queue is the caller's to run
 * (vfk_device_run_deferred()), after its client has the replies it waits
 * for, as after an access.
 */
int vfk_device_dispatch_events(struct vfk_device *dev);

#ifdef __cplusplus
}
#endif
#endif
