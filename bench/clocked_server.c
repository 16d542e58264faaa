/* SPDX-License-Identifier: MIT */
#include "clocked_server.h"
#include "harness.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

/* Paths of the built CLI and shim, from bench/meson.build. */
#ifndef BENCH_VFIOKIT_CLI
#error "BENCH_VFIOKIT_CLI must name the vfiokit executable"
#endif
#ifndef BENCH_SYSCALL_CLOCK_SHIM
#error "BENCH_SYSCALL_CLOCK_SHIM must name the syscall_clock shim"
#endif
#ifndef BENCH_ECHO_PEER
#error "BENCH_ECHO_PEER must name the echo_peer executable"
#endif

#define CONNECT_TRIES 500   /* 10 ms apart */

/* In the forked child: pinned, stdout to /dev/null (the banner for QEMU
 * users goes nowhere; errors stay visible), the shim preloaded. */
static void prepare_clocked_child(const struct clocked_server *s, int cpu)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	bench_pin(cpu);
	if (null >= 0)
		dup2(null, STDOUT_FILENO);
	if (setenv("LD_PRELOAD", BENCH_SYSCALL_CLOCK_SHIM, 1) < 0 ||
	    setenv(SYSCALL_CLOCK_ENV, s->clock_path, 1) < 0)
		_exit(127);
}

static void exec_server(const struct clocked_server *s, int cpu)
{
	prepare_clocked_child(s, cpu);
	execl(BENCH_VFIOKIT_CLI, "vfiokit", "serve", "v100", "--socket", s->sock_path, "-q",
	      (char *)NULL);
	_exit(127);
}

/* The echo peer keeps sock across exec (the only fd it inherits). */
static void exec_echo_peer(const struct clocked_server *s, int cpu, int sock)
{
	char arg[16];

	prepare_clocked_child(s, cpu);
	if (fcntl(sock, F_SETFD, 0) < 0)
		_exit(127);
	snprintf(arg, sizeof(arg), "%d", sock);
	execl(BENCH_ECHO_PEER, "echo_peer", arg, (char *)NULL);
	_exit(127);
}

static int connect_retrying(const struct clocked_server *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(s->sock_path) >= sizeof(sa.sun_path))
		bench_die("clocked server socket path", -ENAMETOOLONG);
	strcpy(sa.sun_path, s->sock_path);
	for (int i = 0; i < CONNECT_TRIES; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			bench_die("socket", -errno);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			bench_size_buffers(fd);
			return fd;
		}
		close(fd);
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid)
			bench_die("clocked server exited", -ECHILD);
		usleep(10000);
	}
	bench_die("clocked server did not listen", -ETIMEDOUT);
}

static void make_dir(struct clocked_server *s)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/vfk-clock-XXXXXX");
	if (!mkdtemp(s->dir))
		bench_die("mkdtemp", -errno);
	snprintf(s->sock_path, sizeof(s->sock_path), "%s/gpu.sock", s->dir);
	snprintf(s->clock_path, sizeof(s->clock_path), "%s/clock", s->dir);
}

int clocked_echo_peer_start(struct clocked_server *s, int cpu)
{
	int sv[2];

	make_dir(s);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		bench_die("socketpair", -errno);
	bench_size_buffers(sv[0]);
	bench_size_buffers(sv[1]);
	s->pid = fork();
	if (s->pid < 0)
		bench_die("fork", -errno);
	if (s->pid == 0)
		exec_echo_peer(s, cpu, sv[1]);
	close(sv[1]);
	return sv[0];
}

int clocked_server_start(struct clocked_server *s, int cpu)
{
	make_dir(s);
	s->pid = fork();
	if (s->pid < 0)
		bench_die("fork", -errno);
	if (s->pid == 0)
		exec_server(s, cpu);
	return connect_retrying(s);
}

int clocked_server_totals(const struct clocked_server *s, struct syscall_clock_totals *t)
{
	int fd = open(s->clock_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -ENODATA;
	ssize_t n = pread(fd, t, sizeof(*t), 0);
	close(fd);
	if (n != (ssize_t)sizeof(*t) || t->magic != SYSCALL_CLOCK_MAGIC || t->calls == 0)
		return -ENODATA;
	return 0;
}

static void remove_files(struct clocked_server *s)
{
	unlink(s->sock_path);
	unlink(s->clock_path);
	rmdir(s->dir);
}

void clocked_server_stop(struct clocked_server *s)
{
	int status;

	kill(s->pid, SIGTERM);
	waitpid(s->pid, &status, 0);
	remove_files(s);
}

void clocked_echo_peer_stop(struct clocked_server *s, int sock)
{
	int status;

	close(sock);
	waitpid(s->pid, &status, 0);
	remove_files(s);
}
