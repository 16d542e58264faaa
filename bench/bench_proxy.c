// SPDX-License-Identifier: MIT
/*
 * vfiokit proxy against the device opened directly: the same client API
 * calls, once on a served V100 and once through `vfiokit proxy` in front
 * of it. Figures floor.proxied_* are the direct ones, proxy.proxied_*
 * the same through the proxy; bench/run.py prints their ratio.
 *   proxied_cfg_read4      a 4-byte config space read (one hop more)
 *   proxied_dma_pair       DMA_MAP + DMA_UNMAP of a memfd page (the proxy
 *                          maps the page and programs the target)
 *   proxied_load<size>     loads from GPU RAM through the client's mapping
 *                          (the target's fd: no hop, target ratio >= 0.95)
 * The host has no kernel VFIO device, so the target is vfio-user; the
 * kernel target takes the same paths but for the IOMMU call.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfiokit/client.h>

#include "harness.h"
#include "memcpy_bw.h"
#include "server_child.h"

#define GPU_RAM_INDEX VFIO_PCI_NUM_REGIONS
#define DMA_IOVA 0x100000000ull
#define LOAD_SIZE (1u << 20)

static struct vfk_client *open_client(const char *path)
{
	struct vfk_client *c;
	char err[256];
	int rc = vfk_client_open(path, NULL, &c, err, sizeof(err));

	if (rc < 0)
		bench_die(err, rc);
	return c;
}

static void cfg_reads(const char *id, struct vfk_client *c, uint64_t iters)
{
	struct bench_samples s;
	uint32_t v;

	bench_samples_init(&s, iters);
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t t0 = bench_now_ns();

		if (vfk_client_config_read(c, 0, &v, sizeof(v)) != sizeof(v))
			bench_die("config read", -EIO);
		bench_samples_add(&s, bench_now_ns() - t0);
	}
	bench_report_latency(id, &s, 1);
	bench_samples_free(&s);
}

static void dma_pairs(const char *id, struct vfk_client *c, int memfd, uint64_t iters)
{
	struct bench_samples s;

	bench_samples_init(&s, iters);
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t t0 = bench_now_ns();
		int rc = vfk_client_dma_map(c, DMA_IOVA, 4096, NULL, memfd, 0);

		if (!rc)
			rc = vfk_client_dma_unmap(c, DMA_IOVA, 4096);
		if (rc)
			bench_die("DMA_MAP + DMA_UNMAP", rc);
		bench_samples_add(&s, bench_now_ns() - t0);
	}
	bench_report_latency(id, &s, 1);
	bench_samples_free(&s);
}

static void loads(const char *id, struct vfk_client *c, uint64_t total)
{
	struct vfk_region_info *ri;
	uint8_t *map, *buf = malloc(LOAD_SIZE);
	int rc = vfk_client_region_info(c, GPU_RAM_INDEX, &ri);

	if (rc < 0 || !buf)
		bench_die("GPU RAM region info", rc < 0 ? rc : -ENOMEM);
	map = vfk_client_region_mmap(c, ri, 0, LOAD_SIZE, PROT_READ | PROT_WRITE);
	if (!map)
		bench_die("mmap GPU RAM", -errno);
	memset(map, 3, LOAD_SIZE);
	bench_report_value(id, bench_memcpy_gbps(buf, map, LOAD_SIZE, total), "GB/s");
	munmap(map, LOAD_SIZE);
	vfk_region_info_free(ri);
	free(buf);
}

static void measure(const char *area, const char *path, int memfd, const struct bench_opts *o)
{
	struct vfk_client *c = open_client(path);
	char id[64];

	snprintf(id, sizeof(id), "%s.proxied_cfg_read4", area);
	cfg_reads(id, c, o->iters);
	snprintf(id, sizeof(id), "%s.proxied_dma_pair", area);
	dma_pairs(id, c, memfd, o->iters / 10 + 10);
	snprintf(id, sizeof(id), "%s.proxied_load%u", area, LOAD_SIZE);
	loads(id, c, bench_scaled(o, 1ull << 32, LOAD_SIZE));
	vfk_client_close(c);
}

/* The proxy binds its socket before it listens, and under valgrind the
 * gap is long: wait until a client is accepted (60 s), not for the file. */
static void wait_listening(const char *path, pid_t pid)
{
	for (int i = 0; i < 6000; i++) {
		struct vfk_client *c;
		char err[256];
		int rc = vfk_client_open(path, NULL, &c, err, sizeof(err));

		if (rc == 0) {
			vfk_client_close(c);
			return;
		}
		if ((rc != -ECONNREFUSED && rc != -ENOENT) || waitpid(pid, NULL, WNOHANG) == pid) {
			kill(pid, SIGTERM);
			bench_die("vfiokit proxy did not start", rc);
		}
		usleep(10000);
	}
	kill(pid, SIGTERM);
	bench_die("vfiokit proxy did not listen", -ETIMEDOUT);
}

/* `vfiokit proxy TARGET --socket PATH` on cpu; returns when PATH answers.
 * The proxy dies with this process, so a benchmark that fails leaves none
 * behind (holding the test's output pipe open). */
static pid_t start_proxy(const char *target, const char *path, int cpu)
{
	pid_t pid = fork();

	if (pid < 0)
		bench_die("fork", -errno);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		bench_pin(cpu);
		if (null >= 0)
			dup2(null, 1);
		execl(BENCH_VFIOKIT_CLI, BENCH_VFIOKIT_CLI, "proxy", target, "--socket", path,
		      "-q", (char *)NULL);
		_exit(127);
	}
	wait_listening(path, pid);
	return pid;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_server srv;
	char proxy_path[128];
	int memfd, status;
	pid_t proxy;

	bench_parse_opts(argc, argv, 100000, &o);
	bench_pin(o.client_cpu);
	signal(SIGPIPE, SIG_IGN);
	memfd = memfd_create("bench-proxy", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, 4096))
		bench_die("memfd", -errno);
	bench_server_start(&srv, o.server_cpu, 0, 0);
	measure("floor", srv.gpu_path, memfd, &o);
	snprintf(proxy_path, sizeof(proxy_path), "%s/proxy.sock", srv.dir);
	proxy = start_proxy(srv.gpu_path, proxy_path, o.server_cpu);
	measure("proxy", proxy_path, memfd, &o);
	kill(proxy, SIGTERM);
	waitpid(proxy, &status, 0);
	bench_server_stop(&srv);
	close(memfd);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
