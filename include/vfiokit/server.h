/* SPDX-License-Identifier: MIT */
/*
 * vfio-user server: serves vfiokit devices over UNIX stream sockets,
 * each device on its own socket, all from one epoll event loop.
 * One client per device at a time; when it goes away the device is reset
 * and the socket accepts the next one.
 *
 * Threads: a server and the devices added to it belong to the thread that
 * runs it; call its functions (and the devices', device.h) from that
 * thread only, or from another one while it is not running. Servers in
 * different threads share nothing, so N servers in N threads serve on N
 * cores (vfiokit serve --threads). vfk_server_stop() is the exception:
 * any thread, or a signal handler. The log level (log.h) is one for the
 * process, read and set from any thread.
 */
#ifndef VFIOKIT_SERVER_H
#define VFIOKIT_SERVER_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vfk_server;
struct vfk_device;

/** Create an empty server (no sockets yet). */
int vfk_server_create(struct vfk_server **out);

/**
 * Serve dev on a new socket at path. A socket file there on which a
 * server listens is -EADDRINUSE, left alone; a stale one (nobody listens)
 * is replaced; any other file is -EEXIST. The socket gets the mode and
 * group of vfk_server_set_socket_perms() (default 0600: only this
 * process's user may connect). vfk_server_destroy() removes the file
 * only if it is still the one created here. The server does not own dev.
 */
int vfk_server_add_device(struct vfk_server *srv, struct vfk_device *dev,
			  const char *path);

/**
 * Permissions of the sockets vfk_server_add_device() creates from now on:
 * mode, permission bits only (a client needs write permission to
 * connect; 0 restores the default 0600), and group gid ((gid_t)-1: the
 * process's). A QEMU run as another user (libvirt) connects with 0660 and
 * a group it is in. They are set before the socket listens, so no client
 * sees others. -EINVAL for bits outside 0777.
 */
int vfk_server_set_socket_perms(struct vfk_server *srv, unsigned int mode, gid_t gid);

/** Serve dev on an already-listening socket fd (socket activation); takes the fd. */
int vfk_server_add_device_fd(struct vfk_server *srv, struct vfk_device *dev,
			     int listen_fd);

/**
 * Limits on each client's DMA mappings, applied from its next connection
 * on: at most max_maps live mappings (also offered as max_dma_maps in
 * VERSION, lowered to what the client asks) and max_bytes of this
 * process's address space for the windows of its files that are mapped
 * (vfk_dma_set_byte_limit()). A DMA_MAP past either is answered ENOSPC.
 * Defaults VFK_DMA_DEFAULT_MAX_MAPS and VFK_DMA_DEFAULT_MAX_BYTES: a guest
 * with more than 1 TiB of RAM needs more.
 */
void vfk_server_set_dma_limits(struct vfk_server *srv, uint64_t max_maps,
			       uint64_t max_bytes);

/**
 * How many DMA windows (one mmap each, see vfk_dma_map()) the clients of
 * all devices may hold together; each connection gets an equal share,
 * this budget divided by the number of devices served by every server of
 * the process (they share its mmaps), so no client can
 * use up the process's mmaps (vm.max_map_count) that the others, and the
 * process itself, need. Default: vm.max_map_count less 8192 for the rest
 * of the process. Applies from each next connection on.
 */
void vfk_server_set_map_budget(struct vfk_server *srv, uint64_t windows);

/** The longest polling window vfk_server_set_poll_us() takes: 1 s. */
#define VFK_SERVER_MAX_POLL_US 1000000u

/**
 * Polling mode, off by default (us = 0). After each batch of work the
 * server keeps checking its sockets, without sleeping, for up to us
 * microseconds before it sleeps in epoll_wait(): a client that sends its
 * next request within that window is served without a wake-up, which on
 * another CPU saves most of a round trip's latency, at the price of the
 * server's CPU while it polls. After us microseconds with nothing to do
 * the server sleeps as usual: an idle server burns no CPU. Applies to
 * vfk_server_run() and vfk_server_run_once() with a timeout other than 0
 * (the window never outlasts that timeout); vfk_server_dispatch() never
 * polls. Each server polls on its own thread. -EINVAL above
 * VFK_SERVER_MAX_POLL_US.
 */
int vfk_server_set_poll_us(struct vfk_server *srv, unsigned int us);

/**
 * For an application with its own event loop (glib, libevent, a poller):
 * an fd that is readable whenever the server has work (an epoll fd,
 * owned by the server). Wait for it to be readable, or for
 * vfk_server_timeout_ms() to pass, then call vfk_server_dispatch().
 */
int vfk_server_fd(const struct vfk_server *srv);

/** Milliseconds until the server must run even if its fd stays quiet
 * (a client's deadline), or -1 for none. */
int vfk_server_timeout_ms(const struct vfk_server *srv);

/** Handle what is ready without waiting: vfk_server_run_once(srv, 0). */
int vfk_server_dispatch(struct vfk_server *srv);

/** Run one loop iteration, waiting at most timeout_ms (-1 = forever). */
int vfk_server_run_once(struct vfk_server *srv, int timeout_ms);

/** Run until vfk_server_stop(); returns 0 or a negative errno. */
int vfk_server_run(struct vfk_server *srv);

/** Ask vfk_server_run() to return (at once if called before it starts);
 * async-signal-safe, from any thread. */
void vfk_server_stop(struct vfk_server *srv);

/** Close every connection and listening socket, unlink socket files it created, free. */
void vfk_server_destroy(struct vfk_server *srv);

#ifdef __cplusplus
}
#endif
#endif
