/* SPDX-License-Identifier: MIT */
#include "memcpy_bw.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define RUNS 5

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_memcpy_gbps(void *dst, const void *src, size_t size, uint64_t total)
{
	uint64_t reps = total / size ? total / size : 1;
	double runs[RUNS];

	memcpy(dst, src, size);
	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = bench_now_ns();
		for (uint64_t i = 0; i < reps; i++) {
			memcpy(dst, src, size);
			/* Keep the compiler from folding the repeated copies. */
			__asm__ volatile("" : : "r"(dst), "r"(src) : "memory");
		}
		uint64_t t1 = bench_now_ns();
		runs[r] = (double)(reps * size) / (double)(t1 - t0);
	}
	qsort(runs, RUNS, sizeof(runs[0]), cmp_double);
	return runs[RUNS / 2];
}
