/* SPDX-License-Identifier: MIT */
/*
 * Many devices, many cores: the aggregate rate of 4-byte REGION_READs
 * with 1, 2 and 4 clients, each on a device of its own (V100s of one
 * server process), served by one server thread or by two (as `vfiokit
 * serve --threads 2` deals them: device i to thread i % 2, each thread
 * pinned to a CPU of its own). The floor: as many raw echo peers (floor.c),
 * one per client, each a process the scheduler places. Clients are
 * processes, not pinned (vCPU threads move too), each doing round trips
 * one at a time for the same wall-clock window; the figure is the sum of
 * their rates.
 *
 * Output: proto.scale_read4_c<K>_t<T> and floor.scale_read4_c<K>, ops/s.
 */
#include "floor.h"
#include "harness.h"
#include "server_child.h"
#include "wire.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <vfiokit/device.h>
#include <vfiokit/server.h>

#include "v100.h"
#include "vfio-user/protocol.h"

#define MAX_CLIENTS 4
#define MAX_THREADS 2
#define REQ_LEN (VFU_HDR_SIZE + sizeof(struct vfu_region_rw))

static const unsigned int client_counts[] = { 1, 2, 4 };

/* ---- the server: MAX_CLIENTS V100s dealt among nthreads servers ---- */

struct scale_server {
	pid_t pid;
	char dir[64];
};

static struct vfk_server *servers[MAX_THREADS];
static unsigned int nservers;

static void on_term(int sig)
{
	for (unsigned int i = 0; i < nservers; i++)
		vfk_server_stop(servers[i]);
}

struct serve_arg {
	struct vfk_server *srv;
	int cpu;
};

static void *serve_thread(void *p)
{
	struct serve_arg *a = p;

	bench_pin(a->cpu);
	vfk_server_run(a->srv);
	return NULL;
}

static void socket_path(char *buf, size_t len, const char *dir, unsigned int i)
{
	snprintf(buf, len, "%s/gpu%u.sock", dir, i);
}

/* The child: servers[t] on CPU cpus[t] serves devices t, t + n, ... */
static void server_main(const char *dir, unsigned int nthreads, const int *cpus, int ready)
{
	struct vfk_device *devs[MAX_CLIENTS];
	struct serve_arg args[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	struct vfk_v100_params p;
	char path[128];
	sigset_t block, old;

	vfk_v100_params_default(&p);
	for (unsigned int t = 0; t < nthreads; t++)
		if (vfk_server_create(&servers[t]) < 0)
			_exit(1);
	nservers = nthreads;
	for (unsigned int i = 0; i < MAX_CLIENTS; i++) {
		socket_path(path, sizeof(path), dir, i);
		if (vfk_v100_create("scale-gpu", &p, &devs[i]) < 0 ||
		    vfk_server_add_device(servers[i % nthreads], devs[i], path) < 0)
			_exit(1);
	}
	/* Only the main thread takes SIGTERM: the others start with it blocked. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (unsigned int t = 1; t < nthreads; t++) {
		args[t] = (struct serve_arg){ servers[t], cpus[t] };
		if (pthread_create(&tids[t], NULL, serve_thread, &args[t]))
			_exit(1);
	}
	signal(SIGTERM, on_term);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (write(ready, "r", 1) != 1)
		_exit(1);
	args[0] = (struct serve_arg){ servers[0], cpus[0] };
	serve_thread(&args[0]);
	for (unsigned int t = 1; t < nthreads; t++)
		pthread_join(tids[t], NULL);
	for (unsigned int t = 0; t < nthreads; t++)
		vfk_server_destroy(servers[t]);
	for (unsigned int i = 0; i < MAX_CLIENTS; i++)
		vfk_device_destroy(devs[i]);
	_exit(0);
}

static void server_start(struct scale_server *s, unsigned int nthreads, const int *cpus)
{
	int pfd[2];
	char c;

	snprintf(s->dir, sizeof(s->dir), "/tmp/vfk-scale-XXXXXX");
	if (!mkdtemp(s->dir) || pipe(pfd) < 0)
		bench_die("server dir", -errno);
	s->pid = fork();
	if (s->pid < 0)
		bench_die("fork", -errno);
	if (s->pid == 0) {
		close(pfd[0]);
		server_main(s->dir, nthreads, cpus, pfd[1]);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1)
		bench_die("scale server did not start", -EPIPE);
	close(pfd[0]);
}

static void server_stop(struct scale_server *s)
{
	char path[128];

	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
	for (unsigned int i = 0; i < MAX_CLIENTS; i++) {
		socket_path(path, sizeof(path), s->dir, i);
		unlink(path);
	}
	rmdir(s->dir);
}

/* ---- clients ---- */

static size_t put_read(uint8_t *buf, bool floor)
{
	struct vfu_hdr h = { .command = VFU_CMD_REGION_READ, .msg_size = REQ_LEN };
	struct vfu_region_rw rw = { .offset = VFK_V100_REG_SCRATCH,
				    .region = VFIO_PCI_BAR0_REGION_INDEX, .count = 4 };

	if (floor)   /* the floor peer answers with the size `error` names */
		h.error = REQ_LEN + 4;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + VFU_HDR_SIZE, &rw, sizeof(rw));
	return REQ_LEN;
}

static void handshake(int sock)
{
	static const char json[] = "{\"capabilities\":{\"max_msg_fds\":8}}";
	struct vfu_version v = { VFU_VERSION_MAJOR, VFU_VERSION_MINOR };
	struct vfu_hdr h = { .command = VFU_CMD_VERSION,
			     .msg_size = VFU_HDR_SIZE + sizeof(v) + sizeof(json) };
	uint8_t req[256], rep[1024];

	memcpy(req, &h, sizeof(h));
	memcpy(req + VFU_HDR_SIZE, &v, sizeof(v));
	memcpy(req + VFU_HDR_SIZE + sizeof(v), json, sizeof(json));
	if (bench_roundtrip(sock, req, h.msg_size, -1, rep, sizeof(rep), NULL) < 0)
		bench_die("VERSION", -EPROTO);
}

/*
 * One client process: wait for the go byte, do round trips on sock for
 * window_ns, write the count to out. The socket is ready (negotiated).
 */
static void client_main(int sock, bool floor, uint64_t window_ns, int go, int out)
{
	uint8_t req[64], rep[256];
	size_t len = put_read(req, floor);
	uint64_t n = 0, end;
	char c;

	if (read(go, &c, 1) != 1)
		_exit(1);
	end = bench_now_ns() + window_ns;
	while (bench_now_ns() < end) {
		if (bench_roundtrip(sock, req, len, -1, rep, sizeof(rep), NULL) < 0)
			_exit(1);
		n++;
	}
	if (write(out, &n, sizeof(n)) != (ssize_t)sizeof(n))
		_exit(1);
	_exit(0);
}

/* k clients on socks at once for window_ns: their summed rate, ops/s. */
static double run_clients(const int *socks, unsigned int k, bool floor, uint64_t window_ns)
{
	int go[2], out[2];
	pid_t pids[MAX_CLIENTS];
	uint64_t total = 0;

	if (pipe(go) < 0 || pipe(out) < 0)
		bench_die("pipe", -errno);
	for (unsigned int i = 0; i < k; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			bench_die("fork", -errno);
		if (pids[i] == 0) {
			close(go[1]);
			close(out[0]);
			client_main(socks[i], floor, window_ns, go[0], out[1]);
		}
	}
	close(go[0]);
	close(out[1]);
	for (unsigned int i = 0; i < k; i++)
		if (write(go[1], "g", 1) != 1)
			bench_die("go", -errno);
	for (unsigned int i = 0; i < k; i++) {
		uint64_t n;

		if (read(out[0], &n, sizeof(n)) != (ssize_t)sizeof(n))
			bench_die("a client failed", -EPROTO);
		total += n;
	}
	for (unsigned int i = 0; i < k; i++)
		waitpid(pids[i], NULL, 0);
	close(go[1]);
	close(out[0]);
	return (double)total * 1e9 / (double)window_ns;
}

static void measure_server(unsigned int nthreads, const int *cpus, uint64_t window_ns)
{
	struct scale_server srv;
	int socks[MAX_CLIENTS];
	char path[128], id[64];

	server_start(&srv, nthreads, cpus);
	for (unsigned int i = 0; i < MAX_CLIENTS; i++) {
		socket_path(path, sizeof(path), srv.dir, i);
		socks[i] = bench_connect(path);
		handshake(socks[i]);
	}
	for (size_t c = 0; c < sizeof(client_counts) / sizeof(client_counts[0]); c++) {
		unsigned int k = client_counts[c];

		snprintf(id, sizeof(id), "proto.scale_read4_c%u_t%u", k, nthreads);
		bench_report_value(id, run_clients(socks, k, false, window_ns), "ops/s");
	}
	for (unsigned int i = 0; i < MAX_CLIENTS; i++)
		close(socks[i]);
	server_stop(&srv);
}

/* k echo peers, peer i on cpus[i % 2]: the machine's aggregate floor. */
static void measure_floor(const int *cpus, uint64_t window_ns)
{
	int socks[MAX_CLIENTS];
	pid_t pids[MAX_CLIENTS];
	char id[64];

	for (unsigned int i = 0; i < MAX_CLIENTS; i++)
		socks[i] = bench_floor_start(cpus[i % 2], &pids[i]);
	for (size_t c = 0; c < sizeof(client_counts) / sizeof(client_counts[0]); c++) {
		unsigned int k = client_counts[c];

		snprintf(id, sizeof(id), "floor.scale_read4_c%u", k);
		bench_report_value(id, run_clients(socks, k, true, window_ns), "ops/s");
	}
	/* Newest first: each peer holds the client ends made before it was
	 * forked, so an older peer sees its end only once the newer ones left. */
	for (unsigned int i = MAX_CLIENTS; i-- > 0;)
		bench_floor_stop(socks[i], pids[i]);
}

int main(int argc, char **argv)
{
	struct bench_opts o;

	bench_parse_opts(argc, argv, 100000, &o);
	/* Server thread 0 on the server CPU, thread 1 on the client CPU (on
	 * two CPUs: both); the clients float. */
	int cpus[MAX_THREADS] = { o.server_cpu, o.client_cpu };
	uint64_t window_ns = bench_scaled(&o, 2000, 1) * 1000000ull;

	measure_floor(cpus, window_ns);
	measure_server(1, cpus, window_ns);
	measure_server(2, cpus, window_ns);
	return 0;
}
