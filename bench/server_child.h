/* SPDX-License-Identifier: MIT */
/*
 * A vfiokit server in a forked child, pinned to its own CPU, serving
 * model devices on sockets in a temporary directory: what bench_proto
 * measures through raw vfio-user messages.
 */
#ifndef VFIOKIT_BENCH_SERVER_CHILD_H
#define VFIOKIT_BENCH_SERVER_CHILD_H

#include <sys/types.h>

struct bench_server {
	pid_t pid;
	char dir[64];          /* mkdtemp directory of the sockets */
	char gpu_path[96];     /* V100 GPU: dir/gpu0.sock */
	char npu_path[96];     /* NPU2 bridge: dir/npu0.sock */
};

/*
 * Start a server with one V100 GPU, plus one NPU2 bridge when with_npu,
 * plus extra_gpus (at most 64) more V100s (sockets gpuN.sock), and wait
 * until every socket listens.
 */
void bench_server_start(struct bench_server *s, int cpu, int with_npu, int extra_gpus);

/* bench_server_start() of one V100 whose server polls for poll_us
 * (vfk_server_set_poll_us) before it sleeps. */
void bench_server_start_polling(struct bench_server *s, int cpu, unsigned int poll_us);

/* Stop the child (SIGTERM), reap it, remove the sockets and directory. */
void bench_server_stop(struct bench_server *s);

/* User and system CPU seconds the child used so far, from /proc/<pid>/stat. */
void bench_server_cpu(const struct bench_server *s, double *user_s, double *sys_s);

/* Connect to a socket path; exits on failure. */
int bench_connect(const char *path);

#endif
