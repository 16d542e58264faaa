/* SPDX-License-Identifier: MIT */
/*
 * The benchmark harness shared by every bench_* program: CPU pinning,
 * a monotonic clock, latency statistics, process CPU and memory figures,
 * and the one output format the runner (bench/run.py) reads.
 *
 * Output: one line per figure on stdout,
 *     R <id> <median> <p99> <unit>
 * (p99 is "-" for figures without a distribution). Everything else a
 * program prints goes to stderr.
 */
#ifndef VFIOKIT_BENCH_HARNESS_H
#define VFIOKIT_BENCH_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Command-line options every program takes. */
struct bench_opts {
	int client_cpu;        /* -c: CPU of the measuring side */
	int server_cpu;        /* -s: CPU of the peer (server) side */
	uint64_t iters;        /* -n: round trips per latency figure */
	double scale;          /* -x: multiplies the other per-program counts */
};

/*
 * Parse -c, -s, -n, -x (defaults: CPU 0 for both, n_default iterations,
 * scale 1). Exits with a usage message on a bad option.
 */
void bench_parse_opts(int argc, char **argv, uint64_t n_default, struct bench_opts *o);

/* Scale a count by o->scale, never below min. */
uint64_t bench_scaled(const struct bench_opts *o, uint64_t count, uint64_t min);

/* Pin the calling thread (or process) to one CPU; exits when it cannot. */
void bench_pin(int cpu);

/* Nanoseconds of CLOCK_MONOTONIC. */
uint64_t bench_now_ns(void);

/* Samples of one latency figure, in ns; allocated once before the loop. */
struct bench_samples {
	uint64_t *ns;
	uint64_t count;
	uint64_t cap;
};

void bench_samples_init(struct bench_samples *s, uint64_t cap);
void bench_samples_free(struct bench_samples *s);
static inline void bench_samples_add(struct bench_samples *s, uint64_t ns)
{
	if (s->count < s->cap)
		s->ns[s->count++] = ns;
}

/*
 * Sort the samples and print "R id median p99 us", each sample divided
 * by per (the operations timed together in one sample); empties the set.
 * Returns the median in microseconds.
 */
double bench_report_latency(const char *id, struct bench_samples *s, unsigned int per);

/* One figure of a set timed in turns (bench_time_in_turns). */
struct bench_turn {
	const char *id;               /* reported as "R id ..." */
	long (*exchange)(void *arg);  /* one timed operation; negative errno fails */
	void *arg;
	double median_us;             /* set by bench_time_in_turns() */
	unsigned int per;             /* operations per exchange, reported each (0: one) */
};

/* Rounds of bench_time_in_turns(). */
#define BENCH_TURN_SLICES 8

/*
 * Time every turn iters times (after iters / 10 + 1 untimed warm-up calls
 * each) in BENCH_TURN_SLICES rounds, each round running every turn's share
 * in order, then report each turn and set its median_us; dies on the first
 * failed exchange. Figures compared as a ratio are timed this way: timed
 * one after the other, they see different moments of a shared VM, whose
 * speed drifts by tens of percent within a minute.
 */
void bench_time_in_turns(struct bench_turn *turns, size_t n, uint64_t iters);

/* Print "R id value - unit" for a figure without a distribution. */
void bench_report_value(const char *id, double value, const char *unit);

/* User and system CPU seconds of RUSAGE_SELF. */
void bench_cpu_self(double *user_s, double *sys_s);

/* Resident set size of pid in KiB from /proc/<pid>/status; -1 on error. */
long bench_rss_kib(pid_t pid);

/* Exit with a message naming what failed and the negative errno. */
void bench_die(const char *what, int neg_errno) __attribute__((noreturn));

#endif
