/* SPDX-License-Identifier: MIT */
#include "server_child.h"
#include "harness.h"
#include "wire.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <vfiokit/dma.h>
#include <vfiokit/server.h>
#include <vfiokit/transport.h>

#include "npu2.h"
#include "v100.h"

static struct vfk_server *child_srv;
/* The child's devices, destroyed after the server that serves them. */
static struct vfk_device *child_devs[66];
static unsigned int child_ndevs;

static void on_term(int sig)
{
	vfk_server_stop(child_srv);
}

static void add_gpu(struct vfk_server *srv, const char *path)
{
	struct vfk_v100_params p;
	struct vfk_device *dev;

	vfk_v100_params_default(&p);
	int rc = vfk_v100_create("bench-gpu", &p, &dev);
	if (rc == 0)
		child_devs[child_ndevs++] = dev;
	if (rc == 0)
		rc = vfk_server_add_device(srv, dev, path);
	if (rc < 0)
		bench_die("server child: V100", rc);
}

static void child_main(struct bench_server *s, int cpu, int with_npu, int extra_gpus,
		       unsigned int poll_us, int ready_fd)
{
	struct vfk_npu2_params np;
	struct vfk_device *npu;
	char path[128];

	bench_pin(cpu);
	int rc = vfk_server_create(&child_srv);
	if (rc < 0)
		bench_die("vfk_server_create", rc);
	/* The DMA figures go to a million live mappings. */
	vfk_server_set_dma_limits(child_srv, 1u << 20, VFK_DMA_DEFAULT_MAX_BYTES);
	rc = vfk_server_set_poll_us(child_srv, poll_us);
	if (rc < 0)
		bench_die("vfk_server_set_poll_us", rc);
	add_gpu(child_srv, s->gpu_path);
	for (int i = 1; i <= extra_gpus; i++) {
		snprintf(path, sizeof(path), "%s/gpu%d.sock", s->dir, i);
		add_gpu(child_srv, path);
	}
	if (with_npu) {
		vfk_npu2_params_default(&np);
		rc = vfk_npu2_create("bench-npu", &np, &npu);
		if (rc == 0)
			child_devs[child_ndevs++] = npu;
		if (rc == 0)
			rc = vfk_server_add_device(child_srv, npu, s->npu_path);
		if (rc < 0)
			bench_die("server child: NPU2", rc);
	}
	signal(SIGTERM, on_term);
	if (write(ready_fd, "r", 1) != 1)
		_exit(1);
	close(ready_fd);
	rc = vfk_server_run(child_srv);
	vfk_server_destroy(child_srv);
	while (child_ndevs > 0)
		vfk_device_destroy(child_devs[--child_ndevs]);
	_exit(rc < 0 ? 1 : 0);
}

static void server_start(struct bench_server *s, int cpu, int with_npu, int extra_gpus,
			 unsigned int poll_us)
{
	int pfd[2];
	char c;

	if (extra_gpus < 0 || extra_gpus > 64)
		bench_die("bench_server_start: extra_gpus", -EINVAL);
	snprintf(s->dir, sizeof(s->dir), "/tmp/vfk-bench-XXXXXX");
	if (!mkdtemp(s->dir))
		bench_die("mkdtemp", -errno);
	snprintf(s->gpu_path, sizeof(s->gpu_path), "%s/gpu0.sock", s->dir);
	snprintf(s->npu_path, sizeof(s->npu_path), "%s/npu0.sock", s->dir);
	if (pipe(pfd) < 0)
		bench_die("pipe", -errno);
	s->pid = fork();
	if (s->pid < 0)
		bench_die("fork", -errno);
	if (s->pid == 0) {
		/* A benchmark that dies leaves no server holding its output pipe. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pfd[0]);
		child_main(s, cpu, with_npu, extra_gpus, poll_us, pfd[1]);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1)
		bench_die("server child did not start", -EPIPE);
	close(pfd[0]);
}

void bench_server_start(struct bench_server *s, int cpu, int with_npu, int extra_gpus)
{
	server_start(s, cpu, with_npu, extra_gpus, 0);
}

void bench_server_start_polling(struct bench_server *s, int cpu, unsigned int poll_us)
{
	server_start(s, cpu, 0, 0, poll_us);
}

void bench_server_stop(struct bench_server *s)
{
	char path[128];
	int status;

	kill(s->pid, SIGTERM);
	waitpid(s->pid, &status, 0);
	unlink(s->gpu_path);
	unlink(s->npu_path);
	for (int i = 1; i <= 64; i++) {
		snprintf(path, sizeof(path), "%s/gpu%d.sock", s->dir, i);
		unlink(path);
	}
	rmdir(s->dir);
}

void bench_server_cpu(const struct bench_server *s, double *user_s, double *sys_s)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)s->pid);
	FILE *f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		bench_die("read /proc/<server>/stat", -errno);
	fclose(f);
	/* Fields after the parenthesised name: state is field 3, utime 14, stime 15. */
	const char *p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		bench_die("parse /proc/<server>/stat", -EPROTO);
	long hz = sysconf(_SC_CLK_TCK);
	*user_s = (double)ut / (double)hz;
	*sys_s = (double)st / (double)hz;
}

int bench_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		bench_die("socket", -errno);
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		bench_die(path, -errno);
	bench_size_buffers(fd);
	return fd;
}
