/* SPDX-License-Identifier: MIT */
/*
 * The totals of bench/syscall_clock.c, an LD_PRELOAD shim that times a
 * process's user-space execution as the time between system calls. The
 * shim keeps this struct live in a shared mapping of the file named by
 * SYSCALL_CLOCK_ENV, so a reader takes snapshots with pread() at any time
 * and measures a window as the difference of two snapshots.
 *
 * Every wrapped call (see syscall_clock.c) takes a CLOCK_MONOTONIC stamp
 * at entry and at return. The time from one call's return to the next
 * call's entry is user time; the time from entry to return is time in the
 * call (kernel work, blocking, and whatever else the CPU ran meanwhile).
 * A cycle runs from one waiting call (epoll_wait, epoll_pwait, poll,
 * ppoll) to the next: with one request per wake-up, one cycle per request.
 */
#ifndef VFIOKIT_BENCH_SYSCALL_CLOCK_H
#define VFIOKIT_BENCH_SYSCALL_CLOCK_H

#include <stdint.h>

#define SYSCALL_CLOCK_ENV "VFK_SYSCALL_CLOCK_FILE"
#define SYSCALL_CLOCK_MAGIC 0x6b6c63736b6676ull   /* "vfkscl" */
#define SYSCALL_CLOCK_BUCKET_NS 5u               /* histogram resolution */
#define SYSCALL_CLOCK_BUCKETS 2048u              /* last bucket: >= 10.235 us */

struct syscall_clock_totals {
	uint64_t magic;          /* SYSCALL_CLOCK_MAGIC once the shim is ready */
	uint64_t clock_ps;       /* cost of one clock_gettime(), picoseconds */
	uint64_t overhead_ps;    /* user time the shim adds per wrapped call (calibrated) */
	uint64_t calls;          /* wrapped calls entered */
	uint64_t user_ns;        /* sum of the gaps between calls */
	uint64_t call_ns;        /* time inside non-waiting calls */
	uint64_t wait_ns;        /* time inside waiting calls */
	uint64_t cycles;         /* completed cycles (entries in cycle_user) */
	uint64_t cycle_calls;    /* wrapped calls in completed cycles */
	/* User time per completed cycle, SYSCALL_CLOCK_BUCKET_NS per bucket. */
	uint64_t cycle_user[SYSCALL_CLOCK_BUCKETS];
};

#endif
