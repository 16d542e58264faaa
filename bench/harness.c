/* SPDX-License-Identifier: MIT */
#include "harness.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-c client_cpu] [-s server_cpu] [-n iters] [-x scale]\n",
		prog);
	exit(2);
}

static unsigned long parse_num(const char *prog, const char *arg)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(arg, &end, 0);
	if (errno || end == arg || *end)
		usage(prog);
	return v;
}

void bench_parse_opts(int argc, char **argv, uint64_t n_default, struct bench_opts *o)
{
	int c;

	o->client_cpu = 0;
	o->server_cpu = 0;
	o->iters = n_default;
	o->scale = 1.0;
	while ((c = getopt(argc, argv, "c:s:n:x:")) != -1) {
		switch (c) {
		case 'c': o->client_cpu = (int)parse_num(argv[0], optarg); break;
		case 's': o->server_cpu = (int)parse_num(argv[0], optarg); break;
		case 'n': o->iters = parse_num(argv[0], optarg); break;
		case 'x':
			o->scale = strtod(optarg, NULL);
			if (!(o->scale > 0))
				usage(argv[0]);
			break;
		default: usage(argv[0]);
		}
	}
	if (o->iters == 0 || optind != argc)
		usage(argv[0]);
}

uint64_t bench_scaled(const struct bench_opts *o, uint64_t count, uint64_t min)
{
	uint64_t v = (uint64_t)((double)count * o->scale);
	return v < min ? min : v;
}

void bench_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		bench_die("sched_setaffinity", -errno);
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_samples_init(struct bench_samples *s, uint64_t cap)
{
	s->ns = calloc(cap, sizeof(*s->ns));
	if (!s->ns)
		bench_die("calloc samples", -ENOMEM);
	s->count = 0;
	s->cap = cap;
}

void bench_samples_free(struct bench_samples *s)
{
	free(s->ns);
	s->ns = NULL;
	s->count = s->cap = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

double bench_report_latency(const char *id, struct bench_samples *s, unsigned int per)
{
	if (s->count == 0)
		bench_die(id, -ENODATA);
	qsort(s->ns, s->count, sizeof(*s->ns), cmp_u64);
	uint64_t med = s->ns[s->count / 2];
	uint64_t p99 = s->ns[(s->count * 99) / 100];
	printf("R %s %.4f %.4f us\n", id, (double)med / 1e3 / per, (double)p99 / 1e3 / per);
	fflush(stdout);
	s->count = 0;
	return (double)med / 1e3 / per;
}

/* count timed calls of t's exchange added to s; untimed when s is NULL. */
static void turn_run(const struct bench_turn *t, uint64_t count, struct bench_samples *s)
{
	for (uint64_t i = 0; i < count; i++) {
		uint64_t t0 = bench_now_ns();
		long rc = t->exchange(t->arg);
		uint64_t t1 = bench_now_ns();

		if (rc < 0)
			bench_die(t->id, (int)rc);
		if (s)
			bench_samples_add(s, t1 - t0);
	}
}

void bench_time_in_turns(struct bench_turn *turns, size_t n, uint64_t iters)
{
	uint64_t slice = iters / BENCH_TURN_SLICES + 1;
	struct bench_samples *s = calloc(n, sizeof(*s));

	if (!s)
		bench_die("bench_time_in_turns", -ENOMEM);
	for (size_t i = 0; i < n; i++) {
		bench_samples_init(&s[i], slice * BENCH_TURN_SLICES);
		turn_run(&turns[i], iters / 10 + 1, NULL);
	}
	for (unsigned int k = 0; k < BENCH_TURN_SLICES; k++)
		for (size_t i = 0; i < n; i++)
			turn_run(&turns[i], slice, &s[i]);
	for (size_t i = 0; i < n; i++) {
		turns[i].median_us = bench_report_latency(turns[i].id, &s[i],
							  turns[i].per ? turns[i].per : 1);
		bench_samples_free(&s[i]);
	}
	free(s);
}

void bench_report_value(const char *id, double value, const char *unit)
{
	printf("R %s %.4g - %s\n", id, value, unit);
	fflush(stdout);
}

void bench_cpu_self(double *user_s, double *sys_s)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	*sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

long bench_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

void bench_die(const char *what, int neg_errno)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(-neg_errno));
	exit(1);
}
