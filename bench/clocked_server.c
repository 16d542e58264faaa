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

#define CONNECT_TRIES 500   /* 10 ms apart */

static void exec_server(const struct clocked_server *s, int cpu)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	bench_pin(cpu);
	/* The banner for QEMU users goes nowhere; errors stay visible. */
	if (null >= 0)
		dup2(null, STDOUT_FILENO);
	if (setenv("LD_PRELOAD", BENCH_SYSCALL_CLOCK_SHIM, 1) < 0 ||
	    setenv(SYSCALL_CLOCK_ENV, s->clock_path, 1) < 0)
		_exit(127);
	execl(BENCH_VFIOKIT_CLI, "vfiokit", "serve", "v100", "--socket", s->sock_path, "-q",
	      (char *)NULL);
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

int clocked_server_start(struct clocked_server *s, int cpu)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/vfk-clock-XXXXXX");
	if (!mkdtemp(s->dir))
		bench_die("mkdtemp", -errno);
	snprintf(s->sock_path, sizeof(s->sock_path), "%s/gpu.sock", s->dir);
	snprintf(s->clock_path, sizeof(s->clock_path), "%s/clock", s->dir);
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

void clocked_server_stop(struct clocked_server *s)
{
	int status;

	kill(s->pid, SIGTERM);
	waitpid(s->pid, &status, 0);
	unlink(s->sock_path);
	unlink(s->clock_path);
	rmdir(s->dir);
}
