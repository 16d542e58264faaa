/* SPDX-License-Identifier: MIT */
/*
 * A device's event sources (vfiokit/event.h): one epoll fd per device
 * holds its watched fds and its timers (timerfds), so whoever serves the
 * device waits on a single fd for all of them, and can leave them out of
 * its wait as a whole (the server does while it waits inside this
 * device's handler: sources must not run in the middle of it).
 *
 * A source removed while handlers run (by its own handler or another's)
 * is only unhooked then: the batch of ready events in hand may still
 * point at it. It is freed when the outermost dispatch ends.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <vfiokit/event.h>

#include "core/device_internal.h"

/* Ready sources handled per epoll_wait: more wait for the next dispatch. */
#define EVENTS_PER_DISPATCH 32

struct vfk_watch {
	struct vfk_device *dev;
	int fd;
	vfk_watch_fn fn;            /* NULL once removed */
	void *arg;
	struct vfk_timer *timer;    /* the timer this watch serves, or NULL */
	struct vfk_watch *next;     /* in the device's live or dead list */
};

struct vfk_timer {
	struct vfk_watch *watch;    /* on the timerfd */
	vfk_timer_fn fn;
	void *arg;
};

#define KNOWN_EVENTS (VFK_EVENT_READ | VFK_EVENT_WRITE)

static uint32_t to_epoll(uint32_t events)
{
	return (events & VFK_EVENT_READ ? EPOLLIN : 0) | (events & VFK_EVENT_WRITE ? EPOLLOUT : 0);
}

static uint32_t from_epoll(uint32_t ev)
{
	return (ev & EPOLLIN ? VFK_EVENT_READ : 0) | (ev & EPOLLOUT ? VFK_EVENT_WRITE : 0) |
	       (ev & (EPOLLERR | EPOLLHUP) ? VFK_EVENT_ERROR : 0);
}

int vfk_device_events_fd(struct vfk_device *dev)
{
	if (dev->events.epfd < 0) {
		dev->events.epfd = epoll_create1(EPOLL_CLOEXEC);
		if (dev->events.epfd < 0)
			return -errno;
	}
	return dev->events.epfd;
}

int vfk_watch_add(struct vfk_device *dev, int fd, uint32_t events, vfk_watch_fn fn,
		  void *arg, struct vfk_watch **out)
{
	struct epoll_event ev = { .events = to_epoll(events) };
	struct vfk_watch *w;
	int epfd = vfk_device_events_fd(dev);

	if (!fn || (events & ~KNOWN_EVENTS) || fd < 0)
		return fd < 0 ? -EBADF : -EINVAL;
	if (epfd < 0)
		return epfd;
	for (w = dev->events.live; w; w = w->next)
		if (w->fd == fd)
			return -EEXIST;
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct vfk_watch){ .dev = dev, .fd = fd, .fn = fn, .arg = arg,
				 .next = dev->events.live };
	ev.data.ptr = w;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		free(w);
		return err;
	}
	dev->events.live = w;
	*out = w;
	return 0;
}

int vfk_watch_set_events(struct vfk_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = to_epoll(events), .data.ptr = w };

	if (events & ~KNOWN_EVENTS)
		return -EINVAL;
	return epoll_ctl(w->dev->events.epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0 ? -errno : 0;
}

static void unlink_live(struct vfk_watch *w)
{
	struct vfk_watch **p = &w->dev->events.live;

	while (*p != w)
		p = &(*p)->next;
	*p = w->next;
}

void vfk_watch_remove(struct vfk_watch *w)
{
	struct vfk_events *e;

	if (!w)
		return;
	e = &w->dev->events;
	/* The fd may be closed already (it then left the set by itself). */
	epoll_ctl(e->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	unlink_live(w);
	if (!e->dispatching) {
		free(w);
		return;
	}
	w->fn = NULL;
	w->next = e->dead;
	e->dead = w;
}

static void timer_fired(struct vfk_device *dev, int fd, uint32_t events, void *arg)
{
	struct vfk_timer *t = arg;
	uint64_t expirations;

	/* Nothing to read: re-armed or disarmed since it became ready. */
	if (read(fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	t->fn(dev, expirations, t->arg);
}

int vfk_timer_add(struct vfk_device *dev, vfk_timer_fn fn, void *arg, struct vfk_timer **out)
{
	struct vfk_timer *t;
	int tfd, ret;

	if (!fn)
		return -EINVAL;
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ret = tfd < 0 ? -errno : vfk_watch_add(dev, tfd, VFK_EVENT_READ, timer_fired, t, &t->watch);
	if (ret) {
		if (tfd >= 0)
			close(tfd);
		free(t);
		return ret;
	}
	t->watch->timer = t;
	t->fn = fn;
	t->arg = arg;
	*out = t;
	return 0;
}

int vfk_timer_arm(struct vfk_timer *t, uint64_t delay_ns, uint64_t period_ns)
{
	struct itimerspec its = {
		.it_value = { (time_t)(delay_ns / 1000000000u), (long)(delay_ns % 1000000000u) },
		.it_interval = { (time_t)(period_ns / 1000000000u), (long)(period_ns % 1000000000u) },
	};

	if (!delay_ns)
		its.it_interval = (struct timespec){ 0, 0 };
	return timerfd_settime(t->watch->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

void vfk_timer_remove(struct vfk_timer *t)
{
	int tfd;

	if (!t)
		return;
	tfd = t->watch->fd;
	vfk_watch_remove(t->watch);
	close(tfd);
	free(t);
}

static void free_dead(struct vfk_events *e)
{
	while (e->dead) {
		struct vfk_watch *w = e->dead;

		e->dead = w->next;
		free(w);
	}
}

int vfk_device_dispatch_events(struct vfk_device *dev)
{
	struct vfk_events *e = &dev->events;
	struct epoll_event evs[EVENTS_PER_DISPATCH];
	int n, ran = 0;

	if (e->epfd < 0)
		return 0;
	n = epoll_wait(e->epfd, evs, EVENTS_PER_DISPATCH, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	e->dispatching++;
	for (int i = 0; i < n; i++) {
		struct vfk_watch *w = evs[i].data.ptr;

		if (!w->fn)
			continue;   /* removed by an earlier handler of this batch */
		w->fn(dev, w->fd, from_epoll(evs[i].events), w->arg);
		ran++;
	}
	if (--e->dispatching == 0)
		free_dead(e);
	return ran;
}

void vfk_events_init(struct vfk_device *dev)
{
	dev->events = (struct vfk_events){ .epfd = -1 };
}

void vfk_events_fini(struct vfk_device *dev)
{
	struct vfk_events *e = &dev->events;

	while (e->live) {
		struct vfk_watch *w = e->live;

		if (w->timer)
			vfk_timer_remove(w->timer);
		else
			vfk_watch_remove(w);
	}
	free_dead(e);
	if (e->epfd >= 0)
		close(e->epfd);
	e->epfd = -1;
}
