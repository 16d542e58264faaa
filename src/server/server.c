/* SPDX-License-Identifier: MIT */
/*
 * The vfio-user server: one epoll loop over every device's listening
 * socket and connection. One client per device; a second one gets an
 * EBUSY answer to VERSION and is closed, leaving the first undisturbed,
 * unless the first has hung up already (accept_client()).
 */
#include "server/server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <vfiokit/device.h>
#include <vfiokit/event.h>
#include <vfiokit/log.h>

int64_t vfk_srv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The clock of the polling window, in ns (vDSO: no system call). */
static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int epoll_add(int epfd, int fd, uint32_t events, struct srv_tag *tag)
{
	struct epoll_event ev = { .events = events, .data.ptr = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

void vfk_srv_update_events(struct srv_slot *s)
{
	struct epoll_event ev = { .data.ptr = &s->conn_tag };

	if (s->reading && !s->deferred_postponed && !s->quiescing)
		ev.events |= EPOLLIN;
	if (s->want_out)
		ev.events |= EPOLLOUT;
	epoll_ctl(s->srv->epfd, EPOLL_CTL_MOD, s->conn_fd, &ev);
}

/* The process's mmap budget (vm.max_map_count) less SRV_MAP_HEADROOM. */
static uint64_t default_map_budget(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
	unsigned long long count = 65530;   /* the kernel's default */

	if (f) {
		if (fscanf(f, "%llu", &count) != 1)
			count = 65530;
		fclose(f);
	}
	return count > 2 * SRV_MAP_HEADROOM ? count - SRV_MAP_HEADROOM : count / 2;
}

/* Devices served by every server of the process, in any thread: the
 * windows' budget is one for the process (its mmaps), so each connection's
 * share counts them all. */
static atomic_uint served_devices;

uint64_t vfk_srv_window_share(const struct vfk_server *srv)
{
	unsigned int n = atomic_load_explicit(&served_devices, memory_order_relaxed);

	return srv->map_budget / (n ? n : 1);
}

int vfk_server_create(struct vfk_server **out)
{
	struct vfk_server *srv = calloc(1, sizeof(*srv));
	int r;

	if (!srv)
		return -ENOMEM;
	srv->wake_fd = -1;
	srv->dma_max_maps = VFK_DMA_DEFAULT_MAX_MAPS;
	srv->dma_max_bytes = VFK_DMA_DEFAULT_MAX_BYTES;
	srv->map_budget = default_map_budget();
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epfd < 0) {
		r = -errno;
		free(srv);
		return r;
	}
	srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	srv->wake_tag.kind = SRV_TAG_WAKE;
	if (srv->wake_fd < 0 ||
	    (r = epoll_add(srv->epfd, srv->wake_fd, EPOLLIN, &srv->wake_tag)) < 0) {
		r = srv->wake_fd < 0 ? -errno : r;
		vfk_server_destroy(srv);
		return r;
	}
	*out = srv;
	return 0;
}

/* A connection buffer: anonymous memory the kernel fills on first touch,
 * so pages can be given back (vfk_srv_conn_close) and reserved space
 * costs nothing until used. NULL on failure. */
static uint8_t *buffer_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void slot_free(struct srv_slot *s)
{
	if (s->rx)
		munmap(s->rx, SRV_RX_RESERVE);
	if (s->tx)
		munmap(s->tx, s->tx_cap);
	if (s->dma_buf)
		munmap(s->dma_buf, s->dma_cap);
	free(s->path);
	free(s);
}

static struct srv_slot *slot_new(struct vfk_server *srv, struct vfk_device *dev)
{
	struct srv_slot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->srv = srv;
	s->dev = dev;
	s->listen_fd = -1;
	s->conn_fd = -1;
	s->tx_fd = -1;
	s->stall_since_ms = -1;
	s->listen_tag = (struct srv_tag){ SRV_TAG_LISTEN, s };
	s->conn_tag = (struct srv_tag){ SRV_TAG_CONN, s };
	s->events_tag = (struct srv_tag){ SRV_TAG_EVENTS, s };
	s->dma_transport.rw = vfk_srv_dma_rw;
	s->dma_transport.memory_lost = vfk_srv_dma_memory_lost;
	s->dma_transport.quiesced = vfk_srv_dma_quiesced;
	s->dma_transport.ctx = s;
	/* Room to batch many small messages behind a maximal one. */
	s->rx_cap = 2 * SRV_MAX_MSG;
	s->tx_cap = 2 * SRV_MAX_REPLY;
	s->dma_cap = VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE + SRV_MAX_DATA_XFER;
	s->rx = buffer_map(SRV_RX_RESERVE);
	s->tx = buffer_map(s->tx_cap);
	s->dma_buf = buffer_map(s->dma_cap);
	if (!s->rx || !s->tx || !s->dma_buf) {
		slot_free(s);
		return NULL;
	}
	return s;
}

static int slot_attach(struct vfk_server *srv, struct srv_slot *s, int listen_fd)
{
	int flags = fcntl(listen_fd, F_GETFL);
	int r;

	if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	s->events_fd = vfk_device_events_fd(s->dev);
	if (s->events_fd < 0)
		return s->events_fd;
	r = epoll_add(srv->epfd, s->events_fd, EPOLLIN, &s->events_tag);
	if (r)
		return r;
	r = epoll_add(srv->epfd, listen_fd, EPOLLIN, &s->listen_tag);
	if (r) {
		epoll_ctl(srv->epfd, EPOLL_CTL_DEL, s->events_fd, NULL);
		return r;
	}
	s->listen_fd = listen_fd;
	s->next = srv->slots;
	srv->slots = s;
	atomic_fetch_add_explicit(&served_devices, 1, memory_order_relaxed);
	return 0;
}

int vfk_server_add_device_fd(struct vfk_server *srv, struct vfk_device *dev,
			     int listen_fd)
{
	struct srv_slot *s = slot_new(srv, dev);
	int r;

	if (!s) {
		close(listen_fd);
		return -ENOMEM;
	}
	r = slot_attach(srv, s, listen_fd);
	if (r) {
		close(listen_fd);
		slot_free(s);
	}
	return r;
}

/*
 * Whether a server listens at sa: 1, 0 when the socket file is stale (no
 * one listens), or -errno when we cannot tell (-EACCES). Only a connect()
 * sees the listener. The probe is, for that server, a client that hangs
 * up at once or a second client it refuses: both harmless.
 */
static int server_listens(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r;

	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 1;
	close(fd);
	if (r == -ECONNREFUSED)
		return 0;
	/* A full backlog refuses a non-blocking connect(): a listener too. */
	return r == -EAGAIN ? 1 : r;
}

/* Make room at sa's path: nothing there, or a stale socket file, removed.
 * -EADDRINUSE when a server listens there, -EEXIST for any other file. */
static int clear_path(const struct sockaddr_un *sa)
{
	struct stat st;
	int r;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	r = server_listens(sa);
	if (r)
		return r > 0 ? -EADDRINUSE : r;
	return unlink(sa->sun_path) < 0 && errno != ENOENT ? -errno : 0;
}

/*
 * Give the new socket file its group and mode, between bind() and
 * listen(): until listen() every connect() is refused, so no client ever
 * meets other permissions. (umask would set the mode in bind() itself,
 * but it is per process: other threads' new files would get it too.)
 * Neither call follows a symlink, so a file swapped in by someone who can
 * write the directory cannot turn them onto another file.
 */
static int set_socket_perms(const struct vfk_server *srv, const char *path)
{
	mode_t mode = srv->sock_mode ? srv->sock_mode : SRV_SOCK_MODE;

	if (srv->sock_gid_set && lchown(path, (uid_t)-1, srv->sock_gid) < 0)
		return -errno;
	return fchmodat(AT_FDCWD, path, mode, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/*
 * Remove the socket file we created, unless it was replaced since: a
 * server started on the same path after ours removed it and now listens
 * there, and deleting its socket would orphan it.
 */
static void unlink_own(const struct srv_slot *s)
{
	struct stat st;

	if (s->path && !lstat(s->path, &st) && st.st_dev == s->path_dev &&
	    st.st_ino == s->path_ino)
		unlink(s->path);
}

/* Bind s->path, set its permissions, listen: the fd, or -errno. */
static int listen_on(struct vfk_server *srv, struct srv_slot *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (strlen(s->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, s->path);
	r = clear_path(&sa);
	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || lstat(s->path, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	s->path_dev = st.st_dev;
	s->path_ino = st.st_ino;
	r = set_socket_perms(srv, s->path);
	if (!r && listen(fd, 16) < 0)
		r = -errno;
	if (r) {
		unlink_own(s);
		close(fd);
		return r;
	}
	return fd;
}

int vfk_server_set_socket_perms(struct vfk_server *srv, unsigned int mode, gid_t gid)
{
	if (mode & ~0777u)
		return -EINVAL;
	srv->sock_mode = (mode_t)mode;
	srv->sock_gid_set = gid != (gid_t)-1;
	srv->sock_gid = gid;
	return 0;
}

int vfk_server_add_device(struct vfk_server *srv, struct vfk_device *dev,
			  const char *path)
{
	struct srv_slot *s = slot_new(srv, dev);
	int fd, r;

	if (!s)
		return -ENOMEM;
	s->path = strdup(path);
	fd = s->path ? listen_on(srv, s) : -ENOMEM;
	if (fd < 0) {
		slot_free(s);
		return fd;
	}
	r = slot_attach(srv, s, fd);
	if (r) {
		close(fd);
		unlink_own(s);
		slot_free(s);
	}
	return r;
}

/*
 * Raise the socket buffers to SRV_SOCK_BUF: the default (~208 KiB) cuts a
 * maximal reply into many sends and wake-ups. FORCE passes
 * net.core.wmem_max/rmem_max when we are allowed to; otherwise the kernel
 * caps the plain request there. Best effort: the defaults still work.
 */
static void size_socket_buffers(int fd)
{
	int len = SRV_SOCK_BUF;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &len, sizeof(len)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &len, sizeof(len));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &len, sizeof(len)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &len, sizeof(len));
}

/* The hang-up bits (POLLHUP, POLLRDHUP, POLLERR) fd shows now; no wait. */
static short hangup_events(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	if (poll(&p, 1, 0) != 1)
		return 0;
	return p.revents & (POLLHUP | POLLRDHUP | POLLERR);
}

/*
 * Refuse a client while another is attached: an error reply to VERSION
 * with EBUSY, which the client library reports as a busy device, then
 * close. The reply carries the id of the client's first header if that
 * has arrived (peeked, not waited for: the loop serves other devices).
 */
static void refuse_client(struct srv_slot *s, int fd)
{
	struct vfu_hdr req = { 0 }, rep;

	vfk_warn("%s: refusing a second client (one client per device)",
		 vfk_device_name(s->dev));
	if (recv(fd, &req, sizeof(req), MSG_DONTWAIT | MSG_PEEK) != (ssize_t)sizeof(req))
		req.msg_id = 0;
	vfu_hdr_init(&rep, req.msg_id, VFU_CMD_VERSION, VFU_HDR_SIZE,
		     VFU_F_TYPE_REPLY | VFU_F_ERROR);
	rep.error = EBUSY;
	/* A new socket has room for 16 bytes; if not, the close alone refuses. */
	if (send(fd, &rep, sizeof(rep), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		vfk_dbg("%s: refusal not sent: %s", vfk_device_name(s->dev), strerror(errno));
	close(fd);
}

/*
 * A client that reconnects at once (QEMU restarted) can be accepted before
 * the hang-up of its old connection is read: that connection is closed
 * first, so only a client next to a live one is refused. The slot that
 * waits on its client in a nested wait keeps its connection, whose
 * handler frame is still running: the new client stays queued, and once
 * the wait has seen the hang-up (a poll reports POLLHUP always) and the
 * top level has closed the connection, it is accepted.
 */
static void accept_client(struct srv_slot *s)
{
	bool waiter = s == s->srv->waiter;
	int fd;

	if (waiter && (hangup_events(s->conn_fd) & (POLLHUP | POLLERR)))
		return;
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (s->conn_fd >= 0 && !waiter && hangup_events(s->conn_fd))
		vfk_srv_conn_close(s, "hung up");
	if (s->conn_fd >= 0) {
		refuse_client(s, fd);
		return;
	}
	if (epoll_add(s->srv->epfd, fd, EPOLLIN, &s->conn_tag)) {
		close(fd);
		return;
	}
	size_socket_buffers(fd);
	vfk_srv_conn_open(s, fd);
}

static void handle_event(struct vfk_server *srv, const struct epoll_event *ev)
{
	struct srv_tag *tag = ev->data.ptr;
	struct srv_slot *s = tag->slot;
	uint64_t v;

	switch (tag->kind) {
	case SRV_TAG_WAKE:
		if (read(srv->wake_fd, &v, sizeof(v)) < 0)
			vfk_dbg("server wake read: %s", strerror(errno));
		break;
	case SRV_TAG_LISTEN:
		accept_client(s);
		break;
	case SRV_TAG_EVENTS:
		vfk_device_dispatch_events(s->dev);
		vfk_srv_conn_after_events(s);
		break;
	case SRV_TAG_CONN:
		if (s->conn_fd < 0)
			break;
		/* Not read until its postponed work ran; but epoll reports a
		 * hang-up whatever the mask: end it rather than spin on it.
		 * The socket is asked, not the event: that may be a stale one
		 * of the connection a nested level closed before accepting
		 * this one, which would close a live client. */
		if ((s->deferred_postponed || s->quiescing) && (ev->events & (EPOLLHUP | EPOLLERR))) {
			if (hangup_events(s->conn_fd) & (POLLHUP | POLLERR))
				vfk_srv_conn_close(s, "hung up");
			break;
		}
		if (ev->events & EPOLLOUT)
			vfk_srv_conn_writable(s);
		if (s->conn_fd >= 0 && (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			vfk_srv_conn_readable(s);
		break;
	}
}

/* Milliseconds until the first stalled client's deadline, or -1. The
 * waiting slot is left out: its own deadline bounds its wait. */
static int stall_timeout(const struct vfk_server *srv, int64_t now)
{
	int64_t best = -1;

	for (const struct srv_slot *s = srv->slots; s; s = s->next) {
		int64_t left, deadline = vfk_srv_conn_deadline(s);

		if (s->conn_fd < 0 || deadline < 0 || s == srv->waiter)
			continue;
		left = deadline - now;
		if (left < 0)
			left = 0;
		if (best < 0 || left < best)
			best = left;
	}
	return (int)best;
}

/* Disconnect the clients whose stall ran out; never the waiting slot,
 * which a frame below us still uses. */
static void check_stalls(struct vfk_server *srv)
{
	int64_t now = vfk_srv_now_ms();

	for (struct srv_slot *s = srv->slots; s && srv->stalled; s = s->next)
		if (s != srv->waiter)
			vfk_srv_conn_check_stall(s, now);
}

/* One epoll_wait and its events, at the top level or nested: how many
 * events were served, or -errno. */
static int serve_events(struct vfk_server *srv, int timeout_ms)
{
	struct epoll_event evs[64];
	int n = epoll_wait(srv->epfd, evs, 64, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++)
		handle_event(srv, &evs[i]);
	if (srv->stalled)
		check_stalls(srv);
	return n;
}

/*
 * Polling: serve what comes without sleeping until poll_ns have passed
 * since the last batch (or until the caller's timeout, limit_ns), so a
 * client's next request finds the server awake on its CPU rather than
 * paying a wake-up. After poll_ns of silence the caller sleeps in
 * epoll_wait: an idle server costs nothing. Events served (> 0), 0 when
 * the window closed with none, or -errno.
 */
static int poll_window(struct vfk_server *srv, int64_t limit_ns)
{
	int64_t end = srv->busy_ns + srv->poll_ns;

	if (limit_ns >= 0 && limit_ns < end)
		end = limit_ns;
	while (!atomic_load_explicit(&srv->stop, memory_order_relaxed)) {
		int n = serve_events(srv, 0);

		if (n != 0)
			return n;
		if (now_ns() >= end)
			return 0;
	}
	return 0;
}

/* Wait up to timeout_ms (-1: forever) and serve what came, polling first
 * when the server polls and may wait. Events served, or -errno. */
static int wait_and_serve(struct vfk_server *srv, int timeout_ms)
{
	int64_t start, limit = -1;
	int n;

	if (!srv->poll_ns || timeout_ms == 0)
		return serve_events(srv, timeout_ms);
	start = now_ns();
	if (timeout_ms > 0)
		limit = start + (int64_t)timeout_ms * 1000000;
	n = srv->busy_ns + srv->poll_ns > start ? poll_window(srv, limit) : 0;
	if (n == 0) {
		if (timeout_ms > 0) {
			int64_t left = limit - now_ns();

			timeout_ms = left > 0 ? (int)((left + 999999) / 1000000) : 0;
		}
		n = serve_events(srv, timeout_ms);
	}
	if (n > 0)
		srv->busy_ns = now_ns();
	return n;
}

/* Deferred work postponed while a slot waited runs now, at the top level;
 * it may itself wait and postpone others' work, hence the loop. */
static void run_postponed(struct vfk_server *srv)
{
	while (srv->postponed) {
		for (struct srv_slot *s = srv->slots; s; s = s->next)
			if (s->deferred_postponed)
				vfk_srv_conn_run_postponed(s);
	}
}

/* One wait and its events; static so that vfk_server_run's loop calls it
 * directly rather than through the exported symbol's PLT entry. */
static int run_once(struct vfk_server *srv, int timeout_ms)
{
	int r;

	/* The clock is read only while a client is stalled: the common
	 * request/reply turn has no deadline to compute. */
	if (srv->stalled) {
		int st = stall_timeout(srv, vfk_srv_now_ms());

		if (st >= 0 && (timeout_ms < 0 || st < timeout_ms))
			timeout_ms = st;
	}
	r = wait_and_serve(srv, timeout_ms);
	if (srv->postponed)
		run_postponed(srv);
	return r < 0 ? r : 0;
}

/*
 * A slot that must wait on its client inside a handler (a DMA reply, room
 * for a DMA request) does not block the process: its socket leaves the
 * epoll set while one poll() watches it and the epoll fd, and whatever
 * else became ready is served here, one level down. The nested level
 * handles other slots' messages, accepts and hang-ups as usual, but it
 * never sees the waiting slot (its buffers and the handler frame pointing
 * into its rx stay untouched; its events stay pending in the socket and
 * epoll reports them again once re-armed: level-triggered), never closes
 * it for a stall, and never waits itself: other slots' deferred work is
 * postponed to the top level and a handler's own message-based DMA is
 * refused (vfk_srv_dma_rw), so the nesting depth is at most one.
 */
int vfk_srv_wait_conn(struct srv_slot *s, short events, int64_t deadline_ms)
{
	struct vfk_server *srv = s->srv;
	struct pollfd pfd[2] = { { .fd = s->conn_fd, .events = events },
				 { .fd = srv->epfd, .events = POLLIN } };
	struct epoll_event ev = { .data.ptr = &s->conn_tag };
	int64_t now = vfk_srv_now_ms();
	int64_t left = deadline_ms - now;
	int r, err;

	if (left <= 0)
		return -ETIMEDOUT;
	srv->waiter = s;
	if (srv->stalled) {
		int st = stall_timeout(srv, now);

		if (st >= 0 && st < left)
			left = st;
	}
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, s->conn_fd, NULL);
	/* The device's own sources wait too: its handler is on the stack. */
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, s->events_fd, NULL);
	r = poll(pfd, 2, (int)left);
	err = errno;
	if (r > 0 && pfd[1].revents)
		serve_events(srv, 0);
	else if (srv->stalled)
		check_stalls(srv);
	srv->waiter = NULL;
	if (epoll_add(srv->epfd, s->events_fd, EPOLLIN, &s->events_tag))
		vfk_warn("%s: its event sources are no longer served", vfk_device_name(s->dev));
	ev.events = (s->reading ? EPOLLIN : 0) | (s->want_out ? EPOLLOUT : 0);
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, s->conn_fd, &ev) < 0) {
		/* Out of the set for good, it would never be read again. */
		s->broken = true;
		return -errno;
	}
	if (r < 0)
		return err == EINTR ? 0 : -err;
	if (r == 0 && vfk_srv_now_ms() >= deadline_ms)
		return -ETIMEDOUT;
	return 0;
}

void vfk_server_set_dma_limits(struct vfk_server *srv, uint64_t max_maps,
			       uint64_t max_bytes)
{
	srv->dma_max_maps = max_maps;
	srv->dma_max_bytes = max_bytes;
}

int vfk_server_set_poll_us(struct vfk_server *srv, unsigned int us)
{
	if (us > VFK_SERVER_MAX_POLL_US)
		return -EINVAL;
	srv->poll_ns = (int64_t)us * 1000;
	return 0;
}

void vfk_server_set_map_budget(struct vfk_server *srv, uint64_t windows)
{
	srv->map_budget = windows;
}

int vfk_server_fd(const struct vfk_server *srv)
{
	return srv->epfd;
}

int vfk_server_timeout_ms(const struct vfk_server *srv)
{
	return srv->stalled ? stall_timeout(srv, vfk_srv_now_ms()) : -1;
}

int vfk_server_dispatch(struct vfk_server *srv)
{
	return run_once(srv, 0);
}

int vfk_server_run_once(struct vfk_server *srv, int timeout_ms)
{
	return run_once(srv, timeout_ms);
}

int vfk_server_run(struct vfk_server *srv)
{
	while (!atomic_load(&srv->stop)) {
		int r = run_once(srv, -1);

		if (r)
			return r;
	}
	atomic_store(&srv->stop, 0);
	return 0;
}

void vfk_server_stop(struct vfk_server *srv)
{
	uint64_t one = 1;

	atomic_store(&srv->stop, 1);
	/* A full counter still wakes epoll; nothing to do on failure. */
	if (write(srv->wake_fd, &one, sizeof(one)) < 0)
		return;
}

void vfk_server_destroy(struct vfk_server *srv)
{
	if (!srv)
		return;
	while (srv->slots) {
		struct srv_slot *s = srv->slots;

		srv->slots = s->next;
		if (s->conn_fd >= 0)
			vfk_srv_conn_close(s, "server shutting down");
		close(s->listen_fd);
		unlink_own(s);
		slot_free(s);
		atomic_fetch_sub_explicit(&served_devices, 1, memory_order_relaxed);
	}
	if (srv->wake_fd >= 0)
		close(srv->wake_fd);
	close(srv->epfd);
	free(srv);
}
