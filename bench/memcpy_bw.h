/* SPDX-License-Identifier: MIT */
/* memcpy bandwidth: the floor for bulk transfers and mmapped access. */
#ifndef VFIOKIT_BENCH_MEMCPY_BW_H
#define VFIOKIT_BENCH_MEMCPY_BW_H

#include <stddef.h>
#include <stdint.h>

/*
 * GB/s (1e9 bytes per second) of memcpy(dst, src, size) repeated until
 * total bytes were copied, after one warm-up copy. The median of 5 runs.
 */
double bench_memcpy_gbps(void *dst, const void *src, size_t size, uint64_t total);

#endif
