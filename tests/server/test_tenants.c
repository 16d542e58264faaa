/* SPDX-License-Identifier: MIT */
/*
 * One device, many would-be clients, and the socket files a server owns
 * (docs/robustness.md, "Tenants"): a client reconnecting before its old
 * hang-up is read is served; a second live client gets an EBUSY refusal
 * the client library reports as such; a live server's path is never taken
 * over, a replaced path never unlinked; socket modes and groups hold for
 * a client of another user.
 *
 * The reconnect and refusal tests step the server with
 * vfk_server_run_once() from the test's own thread, so the order in which
 * it sees events is the order in which the test makes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <vfiokit/client.h>
#include <vfiokit/device.h>
#include <vfiokit/dma.h>
#include <vfiokit/region.h>
#include <vfiokit/server.h>
#include "raw_client.h"
#include "thread_server.h"
#include "vfio-user/wire.h"

/* A uid and gid no account uses: the client of another user. */
#define OTHER_UID 54321
#define OTHER_GID 54321
#define SOCK_GID  54322

struct stepped {
	char dir[64], path[96];
	struct vfk_device *dev;
	struct vfk_server *srv;
	pthread_t thread;
	bool running;
};

static void *serve(void *arg)
{
	vfk_server_run(arg);
	return NULL;
}

static void st_start(struct stepped *t)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(t->dir, sizeof(t->dir), "/tmp/vfk-tenants-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/dev.sock", t->dir);
	t->dev = ts_bar0_device("tenant", 0x10f0, TS_BAR_RW, 4096, NULL);
	assert_int_equal(vfk_server_create(&t->srv), 0);
	assert_int_equal(vfk_server_add_device(t->srv, t->dev, t->path), 0);
	t->running = false;
}

/* From here on the server runs by itself. */
static void st_run(struct stepped *t)
{
	assert_int_equal(pthread_create(&t->thread, NULL, serve, t->srv), 0);
	t->running = true;
}

static void st_stop(struct stepped *t)
{
	if (t->running) {
		vfk_server_stop(t->srv);
		pthread_join(t->thread, NULL);
	}
	vfk_server_destroy(t->srv);
	vfk_device_destroy(t->dev);
	rmdir(t->dir);
}

/* A client that negotiates and gets DEVICE_GET_INFO answered: served. */
static void assert_served(int fd)
{
	struct vfu_device_info info = { .argsz = sizeof(info) };

	assert_int_equal(rc_negotiate(fd), 0);
	assert_int_equal(rc_call(fd, VFU_CMD_DEVICE_GET_INFO, &info, sizeof(info), NULL, 0,
				 &info, sizeof(info), NULL), sizeof(info));
}

/* QEMU restarted: the new connection is queued before the old one hangs
 * up, so the server meets the accept first. The old connection is gone:
 * the new client is served, not refused as a second one. */
static void test_reconnect_before_hangup_is_read(void **state)
{
	struct stepped t;
	int old, fresh;

	st_start(&t);
	old = rc_connect(t.path);
	assert_true(old >= 0);
	assert_int_equal(vfk_server_run_once(t.srv, 1000), 0);   /* accepts old */
	fresh = rc_connect(t.path);
	assert_true(fresh >= 0);
	close(old);
	assert_int_equal(vfk_server_run_once(t.srv, 1000), 0);   /* accept, then hang-up */
	st_run(&t);
	assert_served(fresh);
	close(fresh);
	st_stop(&t);
}

/* A device whose BAR0 write at 0 reads 16 bytes of client memory from the
 * access handler itself: the server waits on the client in that frame. */
static ssize_t dma_on_write(struct vfk_device *d, struct vfk_region *r, const void *buf,
			    size_t count, uint64_t off)
{
	uint8_t tmp[16];
	uint64_t iova;
	int e;

	if (off != 0 || count != 8)
		return -EINVAL;
	memcpy(&iova, buf, 8);
	e = vfk_dma_read(d, iova, tmp, sizeof(tmp));
	return e ? e : (ssize_t)count;
}

static const struct vfk_region_ops dma_on_write_ops = { .write = dma_on_write };

/* Serve a dma_on_write device on path in a child process; its pid. */
static pid_t fork_dma_server(const char *path)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct vfk_device *dev = ts_bar0_device("waiter", 0x10f3, TS_BAR_RW, 4096,
							&dma_on_write_ops);
		struct vfk_server *srv;

		/* A failed check ends the test without killing us: go with it. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || vfk_server_create(&srv) || vfk_server_add_device(srv, dev, path))
			_exit(1);
		vfk_server_run(srv);
		_exit(0);
	}
	return pid;
}

/* QEMU restarted while the server waits on its DMA answer inside a
 * handler: the old connection is gone and the new one already queued when
 * the wait wakes. The waiting slot keeps its connection until its frame
 * has seen the hang-up; the new client waits in the queue and is served,
 * not refused. The server is stopped (SIGSTOP) while the test makes both
 * events, so the wait meets them together. */
static void test_reconnect_while_server_waits_on_old_client(void **state)
{
	struct vfu_dma_map map = { 32, VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE, 0, 0x200000, 4096 };
	struct { struct vfu_region_rw rw; uint64_t iova; } __attribute__((packed)) ring = {
		{ .offset = 0, .region = 0, .count = 8 }, 0x200000 };
	char dir[] = "/tmp/vfk-waiter-XXXXXX", path[64];
	uint8_t msg[64];
	struct vfu_hdr h;
	int old, fresh, status;
	pid_t pid;

	signal(SIGPIPE, SIG_IGN);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	pid = fork_dma_server(path);
	for (int i = 0; i < 2000 && (old = rc_connect(path)) < 0; i++)
		usleep(5000);
	assert_true(old >= 0);
	assert_int_equal(rc_negotiate(old), 0);
	assert_int_equal(rc_call(old, VFU_CMD_DMA_MAP, &map, 32, NULL, 0, NULL, 0, NULL), 0);
	assert_int_equal(rc_send(old, 7, VFU_CMD_REGION_WRITE, 0, &ring, sizeof(ring), NULL, 0), 0);
	assert_true(rc_recv(old, msg, sizeof(msg), NULL, NULL) > 0);   /* the DMA_READ */
	memcpy(&h, msg, sizeof(h));
	assert_int_equal(h.command, VFU_CMD_DMA_READ);
	assert_int_equal(kill(pid, SIGSTOP), 0);
	assert_int_equal(waitpid(pid, &status, WUNTRACED), pid);
	assert_true(WIFSTOPPED(status));
	close(old);
	fresh = rc_connect(path);
	assert_true(fresh >= 0);
	assert_int_equal(kill(pid, SIGCONT), 0);
	assert_served(fresh);
	close(fresh);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(path);
	rmdir(dir);
}

/* A second client while the first is live: an EBUSY error reply to
 * VERSION carrying the id of the VERSION it sent, then the end; the first
 * client is undisturbed. */
static void test_second_client_refused_by_id(void **state)
{
	struct vfu_version v = { 0, 0 };
	struct stepped t;
	struct vfu_hdr h;
	int first, second;

	st_start(&t);
	first = rc_connect(t.path);
	assert_true(first >= 0);
	assert_int_equal(vfk_server_run_once(t.srv, 1000), 0);   /* accepts first */
	second = rc_connect(t.path);
	assert_true(second >= 0);
	assert_int_equal(rc_send(second, 0x4242, VFU_CMD_VERSION, 0, &v, sizeof(v), NULL, 0), 0);
	assert_int_equal(vfk_server_run_once(t.srv, 1000), 0);   /* refuses second */
	assert_int_equal(rc_recv(second, &h, sizeof(h), NULL, NULL), sizeof(h));
	assert_int_equal(h.msg_id, 0x4242);
	assert_int_equal(h.command, VFU_CMD_VERSION);
	assert_int_equal(h.flags, VFU_F_TYPE_REPLY | VFU_F_ERROR);
	assert_int_equal(h.error, EBUSY);
	assert_int_equal(h.msg_size, sizeof(h));
	assert_true(rc_recv(second, &h, sizeof(h), NULL, NULL) < 0);
	close(second);
	st_run(&t);
	assert_served(first);
	close(first);
	st_stop(&t);
}

/* The client library: a busy device is -EBUSY with a message saying so,
 * not a peer that does not speak vfio-user. */
static void test_client_api_reports_busy(void **state)
{
	struct thread_server ts;
	struct vfk_client *a, *b = NULL;
	char err[256] = "";

	ts_start(&ts, ts_bar0_device("busy", 0x10f1, TS_BAR_RW, 4096, NULL), "busy");
	assert_int_equal(vfk_client_open(ts.path, NULL, &a, err, sizeof(err)), 0);
	assert_int_equal(vfk_client_open(ts.path, NULL, &b, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, ": device busy: another client is attached"));
	assert_null(b);
	vfk_client_close(a);
	ts_stop(&ts);
}

/* A server that refuses at once, without reading: the refusal's id is not
 * the request's, and the server may close before the client's VERSION is
 * sent (its send then fails with EPIPE, the refusal waits unread). Both
 * are -EBUSY. */
#define REFUSALS 50

static void *refuse_all(void *arg)
{
	int lfd = *(int *)arg;
	struct vfu_hdr h;

	vfu_hdr_init(&h, 0x7777, VFU_CMD_VERSION, sizeof(h), VFU_F_TYPE_REPLY | VFU_F_ERROR);
	h.error = EBUSY;
	for (int i = 0; i < REFUSALS; i++) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			fail_msg("accept: %s", strerror(errno));
		if (send(fd, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h))
			fail_msg("refusal not sent");
		close(fd);
	}
	return NULL;
}

static void test_client_takes_refusal_of_any_id(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/vfk-refuse-XXXXXX";
	pthread_t thread;
	int lfd;

	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	assert_int_equal(pthread_create(&thread, NULL, refuse_all, &lfd), 0);
	for (int i = 0; i < REFUSALS; i++) {
		struct vfk_client *c = NULL;
		char err[256] = "";

		assert_int_equal(vfk_client_open(sa.sun_path, NULL, &c, err, sizeof(err)), -EBUSY);
		assert_non_null(strstr(err, "device busy"));
	}
	pthread_join(thread, NULL);
	close(lfd);
	unlink(sa.sun_path);
	rmdir(dir);
}

/* ---- socket files ------------------------------------------------------ */

static struct vfk_device *plain_device(void)
{
	return ts_bar0_device("sock", 0x10f2, TS_BAR_RW, 4096, NULL);
}

static void inode_of(const char *path, struct stat *st)
{
	assert_int_equal(lstat(path, st), 0);
	assert_true(S_ISSOCK(st->st_mode));
}

/* A socket file nobody listens on (a server killed) is replaced; any
 * other file is not touched. */
static void stale_socket_replaced_other_file_kept(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/vfk-stale-XXXXXX";
	struct vfk_server *srv;
	struct vfk_device *dev = plain_device();
	struct stat st;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(vfk_server_create(&srv), 0);
	assert_int_equal(vfk_server_add_device(srv, dev, sa.sun_path), 0);
	fd = rc_connect(sa.sun_path);
	assert_true(fd >= 0);
	close(fd);
	vfk_server_destroy(srv);
	assert_int_equal(lstat(sa.sun_path, &st), -1);   /* ours: removed */
	fd = open(sa.sun_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vfk_server_create(&srv), 0);
	assert_int_equal(vfk_server_add_device(srv, dev, sa.sun_path), -EEXIST);
	vfk_server_destroy(srv);
	assert_int_equal(lstat(sa.sun_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	vfk_device_destroy(dev);
	unlink(sa.sun_path);
	rmdir(dir);
}

/* A path on which a server listens is refused and left as it is; the
 * first server still takes clients there. A stale one is replaced. */
static void test_live_path_refused_stale_replaced(void **state)
{
	struct stepped t;
	struct vfk_server *srv2;
	struct vfk_device *dev2 = plain_device();
	struct stat before, after;
	int fd;

	st_start(&t);
	inode_of(t.path, &before);
	assert_int_equal(vfk_server_create(&srv2), 0);
	assert_int_equal(vfk_server_add_device(srv2, dev2, t.path), -EADDRINUSE);
	vfk_server_destroy(srv2);
	vfk_device_destroy(dev2);
	inode_of(t.path, &after);
	assert_true(before.st_ino == after.st_ino);
	st_run(&t);
	fd = rc_connect(t.path);
	assert_true(fd >= 0);
	assert_served(fd);
	close(fd);
	st_stop(&t);
	stale_socket_replaced_other_file_kept();
}

/* The first server's socket was removed and a second server made its own
 * on the path: destroying the first leaves the second's socket alone. */
static void test_replaced_path_not_unlinked(void **state)
{
	struct stepped t;
	struct vfk_server *srv2;
	struct vfk_device *dev2 = plain_device();
	struct stat st2, now;
	int fd;

	st_start(&t);
	assert_int_equal(unlink(t.path), 0);
	assert_int_equal(vfk_server_create(&srv2), 0);
	assert_int_equal(vfk_server_add_device(srv2, dev2, t.path), 0);
	inode_of(t.path, &st2);
	vfk_server_destroy(t.srv);
	vfk_device_destroy(t.dev);
	inode_of(t.path, &now);
	assert_true(now.st_ino == st2.st_ino);
	fd = rc_connect(t.path);   /* the second server's, still listening */
	assert_true(fd >= 0);
	close(fd);
	vfk_server_destroy(srv2);
	vfk_device_destroy(dev2);
	assert_int_equal(lstat(t.path, &now), -1);
	rmdir(t.dir);
}

/* connect() to path as OTHER_UID with groups (none when ngroups is 0),
 * in a child: 0 or the errno. */
static int connect_as_other(const char *path, const gid_t *groups, size_t ngroups)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;

		/* Saved uid 0: root again before exit, so that what a checker
		 * made for this child (valgrind's vgdb FIFOs) can be removed. */
		if (setgroups(ngroups, groups) || setresgid(OTHER_GID, OTHER_GID, 0) ||
		    setresuid(OTHER_UID, OTHER_UID, 0))
			_exit(100);
		fd = rc_connect(path);
		if (setresuid((uid_t)-1, 0, (uid_t)-1))
			_exit(100);
		_exit(fd >= 0 ? 0 : -fd);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 100);
	return WEXITSTATUS(status);
}

/* Serve a device on a fresh socket with mode and gid; check the file. */
static void serve_with_perms(struct vfk_server **srv, struct vfk_device *dev, const char *path,
			     unsigned int mode, gid_t gid)
{
	struct stat st;

	assert_int_equal(vfk_server_create(srv), 0);
	if (mode || gid != (gid_t)-1)
		assert_int_equal(vfk_server_set_socket_perms(*srv, mode, gid), 0);
	assert_int_equal(vfk_server_add_device(*srv, dev, path), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode ? mode : 0600);
	if (gid != (gid_t)-1)
		assert_int_equal(st.st_gid, gid);
}

/* The default socket admits its owner only; 0666 anyone; 0660 with a
 * group that group's members, not others. Checked with a client of
 * another user, which needs root to become. */
static void test_socket_mode_and_group(void **state)
{
	char dir[] = "/tmp/vfk-perms-XXXXXX", path[64];
	const gid_t member = SOCK_GID;
	struct vfk_device *dev = plain_device();
	struct vfk_server *srv;

	assert_int_equal(vfk_server_create(&srv), 0);
	assert_int_equal(vfk_server_set_socket_perms(srv, 01777, (gid_t)-1), -EINVAL);
	vfk_server_destroy(srv);
	if (geteuid() != 0) {
		vfk_device_destroy(dev);
		skip();
	}
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0711), 0);   /* the other user may reach the socket */
	snprintf(path, sizeof(path), "%s/s", dir);

	serve_with_perms(&srv, dev, path, 0, (gid_t)-1);
	assert_int_equal(connect_as_other(path, NULL, 0), EACCES);
	vfk_server_destroy(srv);

	serve_with_perms(&srv, dev, path, 0666, (gid_t)-1);
	assert_int_equal(connect_as_other(path, NULL, 0), 0);
	vfk_server_destroy(srv);

	serve_with_perms(&srv, dev, path, 0660, SOCK_GID);
	assert_int_equal(connect_as_other(path, &member, 1), 0);
	assert_int_equal(connect_as_other(path, NULL, 0), EACCES);
	vfk_server_destroy(srv);

	vfk_device_destroy(dev);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reconnect_before_hangup_is_read),
		cmocka_unit_test(test_reconnect_while_server_waits_on_old_client),
		cmocka_unit_test(test_second_client_refused_by_id),
		cmocka_unit_test(test_client_api_reports_busy),
		cmocka_unit_test(test_client_takes_refusal_of_any_id),
		cmocka_unit_test(test_live_path_refused_stale_replaced),
		cmocka_unit_test(test_replaced_path_not_unlinked),
		cmocka_unit_test(test_socket_mode_and_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
