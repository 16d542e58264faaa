/* SPDX-License-Identifier: MIT */
/*
 * The machine's floor, independent of vfiokit: a raw AF_UNIX ping-pong at
 * the sizes of a 4-byte region access and of bulk replies, the one-way
 * rate of small no-reply messages, and memcpy bandwidth.
 */
#include "floor.h"
#include "harness.h"
#include "memcpy_bw.h"

#include <stdio.h>
#include <stdlib.h>

/* Header + {u64 offset; u32 region; u32 count}, and that plus 4 bytes. */
#define ACCESS_HDR 32
#define ACCESS4    36

static const size_t bulk_sizes[] = { 4096, 65536, 1u << 20 };

static void pingpong(const struct bench_opts *o)
{
	pid_t pid;
	int sock = bench_floor_start(o->server_cpu, &pid);
	char id[64];

	bench_floor_roundtrip("floor.pingpong36", sock, ACCESS_HDR, ACCESS4, -1, false,
			      o->iters);
	for (size_t i = 0; i < sizeof(bulk_sizes) / sizeof(bulk_sizes[0]); i++) {
		uint64_t n = o->iters * 4096 / bulk_sizes[i] / 4;
		snprintf(id, sizeof(id), "floor.pingpong_reply%zu", bulk_sizes[i]);
		bench_floor_roundtrip(id, sock, ACCESS_HDR, ACCESS_HDR + bulk_sizes[i], -1, false,
				      n < 20 ? 20 : n);
	}
	/* One write per message as QEMU sends them, and 64 per write as a
	 * client that batches would: the second shows what the reader drains. */
	bench_floor_posted("floor.posted36", sock, ACCESS4, 1, bench_scaled(o, 1000000, 1000));
	bench_floor_posted("floor.posted36_batch64", sock, ACCESS4, 64,
			   bench_scaled(o, 4000000, 1000));
	bench_floor_stop(sock, pid);
}

static void memcpy_bandwidth(const struct bench_opts *o)
{
	size_t max = bulk_sizes[sizeof(bulk_sizes) / sizeof(bulk_sizes[0]) - 1];
	char *src = malloc(max), *dst = malloc(max);
	char id[64];

	if (!src || !dst)
		bench_die("malloc", -12);
	for (size_t i = 0; i < max; i++)
		src[i] = (char)i;
	for (size_t i = 0; i < sizeof(bulk_sizes) / sizeof(bulk_sizes[0]); i++) {
		snprintf(id, sizeof(id), "floor.memcpy%zu", bulk_sizes[i]);
		bench_report_value(id, bench_memcpy_gbps(dst, src, bulk_sizes[i],
							  bench_scaled(o, 1u << 30, 1u << 20)),
				   "GB/s");
	}
	free(src);
	free(dst);
}

int main(int argc, char **argv)
{
	struct bench_opts o;

	bench_parse_opts(argc, argv, 100000, &o);
	bench_pin(o.client_cpu);
	pingpong(&o);
	memcpy_bandwidth(&o);
	return 0;
}
