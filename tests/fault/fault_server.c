// SPDX-License-Identifier: MIT
/* The fault tests' server process: see fault_server.h. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfiokit/log.h>
#include <vfiokit/server.h>

#include "fault_server.h"
#include "fuzz_device.h"
#include "../server/raw_client.h"

static struct vfk_server *child_srv;
static fs_device_fn child_make;

static void on_term(int sig)
{
	vfk_server_stop(child_srv);
}

/* The child: build, listen, say ready on `ready`, serve until SIGTERM. */
static int child_main(struct fault_server *fs, int ready)
{
	struct vfk_device *devs[FS_MAX_DEVICES] = { 0 };
	int ret = 1;

	vfk_log_set_level(VFK_LOG_ERROR);
	if (vfk_server_create(&child_srv))
		return 1;
	for (unsigned int i = 0; i < fs->ndev; i++) {
		devs[i] = child_make();
		if (!devs[i] || vfk_server_add_device(child_srv, devs[i], fs->path[i]))
			goto out;
	}
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	if (write(ready, "r", 1) != 1)
		goto out;
	close(ready);
	ret = vfk_server_run(child_srv) ? 1 : 0;
out:
	vfk_server_destroy(child_srv);
	for (unsigned int i = 0; i < fs->ndev; i++)
		vfk_device_destroy(devs[i]);
	return ret;
}

int fs_start(struct fault_server *fs, unsigned int ndev)
{
	return fs_start_with(fs, ndev, fuzz_device_create);
}

int fs_start_with(struct fault_server *fs, unsigned int ndev, fs_device_fn make)
{
	int p[2];
	char c;

	memset(fs, 0, sizeof(*fs));
	child_make = make;
	snprintf(fs->dir, sizeof(fs->dir), "/tmp/vfiokit-fault-XXXXXX");
	if (ndev > FS_MAX_DEVICES || !mkdtemp(fs->dir) || pipe(p) < 0)
		return -errno ? -errno : -EINVAL;
	fs->ndev = ndev;
	for (unsigned int i = 0; i < ndev; i++)
		snprintf(fs->path[i], sizeof(fs->path[i]), "%s/dev%u.sock", fs->dir, i);
	fs->pid = fork();
	if (fs->pid < 0)
		return -errno;
	if (fs->pid == 0) {
		/* A test that dies (a sanitizer report) must not leave a server
		 * holding meson's output pipe open. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		_exit(child_main(fs, p[1]));
	}
	close(p[1]);
	/* "r", then end of file once the child closed its end: its fd count
	 * is final from here on. */
	if (read(p[0], &c, 1) != 1 || read(p[0], &c, 1) != 0) {
		close(p[0]);
		fs_stop(fs);
		return -EIO;
	}
	close(p[0]);
	return 0;
}

int fs_stop(struct fault_server *fs)
{
	int status = -1;

	if (fs->pid > 0) {
		kill(fs->pid, SIGTERM);
		waitpid(fs->pid, &status, 0);
		fs->pid = 0;
	}
	for (unsigned int i = 0; i < fs->ndev; i++)
		unlink(fs->path[i]);
	rmdir(fs->dir);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int fs_fd_count(const struct fault_server *fs)
{
	char path[64];
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)fs->pid);
	d = opendir(path);
	if (!d)
		return -errno;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

long fs_rss_kib(const struct fault_server *fs)
{
	char path[64], line[128];
	long kib = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)fs->pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int fs_answers(const struct fault_server *fs, unsigned int i)
{
	struct vfu_device_info info = { .argsz = sizeof(info) };
	int fd = rc_connect(fs->path[i]);
	ssize_t r;

	if (fd < 0)
		return fd;
	r = rc_negotiate(fd);
	if (r == 0)
		r = rc_call(fd, VFU_CMD_DEVICE_GET_INFO, &info, sizeof(info), NULL, 0,
			    &info, sizeof(info), NULL);
	close(fd);
	if (r < 0)
		return (int)r;
	return info.num_regions >= VFIO_PCI_NUM_REGIONS ? 0 : -EPROTO;
}

int fs_answers_soon(const struct fault_server *fs, unsigned int i)
{
	int r = -1;

	for (int tries = 0; tries < 300 && r; tries++) {
		r = fs_answers(fs, i);
		if (r)
			usleep(10000);
	}
	return r;
}

int fs_fds_settle(const struct fault_server *fs, int want)
{
	int n = -1;

	for (int tries = 0; tries < 300 && n != want; tries++) {
		n = fs_fd_count(fs);
		if (n != want)
			usleep(10000);
	}
	return n;
}
