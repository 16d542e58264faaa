/* SPDX-License-Identifier: MIT */
/*
 * The core's DMA table alone, in one process (no socket): the cost of a
 * vfk_dma_map + vfk_dma_unmap pair and of vfk_dma_translate as the number
 * of live mappings grows (1, 1k, 10k, 100k, 1M), and the memory the table
 * takes (growth of this process's RSS: the memfd's pages are never
 * touched). All mappings are 4 KiB pages carved from one memfd, as a
 * guest's RAM arrives from QEMU. Also the floor of a lookup in a table
 * that outgrew the caches: the latency of one dependent cache miss.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

#include <vfiokit/device.h>
#include <vfiokit/dma.h>
#include <vfiokit/transport.h>

#define PAGE 4096u
#define RW (VFK_DMA_READ | VFK_DMA_WRITE)
/* IOVAs of the probe map/unmap pairs: far above the live mappings. */
#define PROBE_BASE (1ull << 44)
/* Translations timed together per sample (one clock read is ~20-50 ns here). */
#define TRANSLATE_BATCH 64

static const uint64_t live_counts[] = { 1, 1000, 10000, 100000, 1000000 };

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void grow_to(struct vfk_device *dev, int fd, uint64_t *live, uint64_t target)
{
	for (; *live < target; (*live)++) {
		int rc = vfk_dma_map(dev, *live * PAGE, PAGE, fd, *live * PAGE, RW);
		if (rc < 0)
			bench_die("vfk_dma_map (fill)", rc);
	}
}

static void measure_map_unmap(struct vfk_device *dev, int fd, uint64_t live, uint64_t iters)
{
	struct bench_samples s;
	uint64_t seed = 88172645463325252ull;
	char id[64];

	bench_samples_init(&s, iters);
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t iova = PROBE_BASE + (xorshift(&seed) % (1u << 20)) * PAGE;
		uint64_t t0 = bench_now_ns();
		int rc = vfk_dma_map(dev, iova, PAGE, fd, 0, RW);
		int rc2 = vfk_dma_unmap(dev, iova, PAGE, NULL);
		uint64_t t1 = bench_now_ns();
		if (rc < 0 || rc2 < 0)
			bench_die("vfk_dma_map/unmap (probe)", rc < 0 ? rc : rc2);
		bench_samples_add(&s, t1 - t0);
	}
	snprintf(id, sizeof(id), "core.dma_map_unmap_%llu", (unsigned long long)live);
	bench_report_latency(id, &s, 1);
	bench_samples_free(&s);
}

/* IOVAs drawn before timing, cycled through by the translations: as many
 * as the table's largest size, so the lookups do not settle in the caches. */
#define TRANSLATE_POOL (1u << 20)

struct translate_turn {
	struct vfk_device *dev;
	const uint64_t *iova;         /* TRANSLATE_POOL of them */
	uint32_t next;
	uintptr_t sink;               /* keeps the lookups from being optimised out */
};

/* TRANSLATE_BATCH lookups of the next IOVAs of the pool. */
static long translate_once(void *arg)
{
	struct translate_turn *t = arg;

	for (int k = 0; k < TRANSLATE_BATCH; k++)
		t->sink += (uintptr_t)vfk_dma_translate(t->dev, t->iova[t->next++ % TRANSLATE_POOL],
							4, VFK_DMA_READ);
	return 0;
}

/*
 * The memory floor of a lookup: one load whose address depends on the
 * previous one, in a buffer as large as the table at 1M mappings (a random
 * cycle through 1M cache lines, 64 MiB). Each step is a cache miss and
 * usually a TLB miss, as the leaf and the mapping of a lookup at 1M are.
 */
#define CHASE_LINES (1u << 20)

struct chase_line {
	uint32_t next;
	char pad[60];
};

struct chase_turn {
	struct chase_line *lines;
	uint32_t at;
};

/* TRANSLATE_BATCH dependent loads: as many as the lookups of a sample. */
static long chase_once(void *arg)
{
	struct chase_turn *c = arg;

	for (int k = 0; k < TRANSLATE_BATCH; k++)
		c->at = c->lines[c->at].next;
	return 0;
}

/* CHASE_LINES lines in one random cycle (Sattolo's shuffle). */
static struct chase_line *chase_lines_new(void)
{
	struct chase_line *lines = malloc(sizeof(*lines) * CHASE_LINES);
	uint64_t seed = 0x2545f4914f6cdd1dull;

	if (!lines)
		bench_die("malloc (pointer chase)", -ENOMEM);
	for (uint32_t i = 0; i < CHASE_LINES; i++)
		lines[i].next = i;
	for (uint32_t i = CHASE_LINES - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(xorshift(&seed) % i), t = lines[i].next;

		lines[i].next = lines[j].next;
		lines[j].next = t;
	}
	return lines;
}

/*
 * core.dma_translate_<live>; with_floor also the dependent miss
 * (floor.dependent_miss_64mib), timed in turns with it: timed apart, on
 * this shared VM, the lookup at 1M read 1.25 x the miss in one run and
 * 2.1-2.4 x in the next two, when the whole first minute ran slow.
 */
static void measure_translate(struct vfk_device *dev, uint64_t live, bool with_floor,
			      uint64_t iters)
{
	uint64_t *iova = malloc(sizeof(*iova) * TRANSLATE_POOL), seed = 0x9e3779b97f4a7c15ull;
	struct chase_turn chase = { with_floor ? chase_lines_new() : NULL, 0 };
	char id[64];

	if (!iova)
		bench_die("malloc (IOVA pool)", -ENOMEM);
	for (uint32_t i = 0; i < TRANSLATE_POOL; i++)
		iova[i] = (xorshift(&seed) % live) * PAGE + 8;
	struct translate_turn t = { dev, iova, 0, 0 };
	snprintf(id, sizeof(id), "core.dma_translate_%llu", (unsigned long long)live);
	struct bench_turn turns[] = {
		{ .id = id, .exchange = translate_once, .arg = &t, .per = TRANSLATE_BATCH },
		{ .id = "floor.dependent_miss_64mib", .exchange = chase_once, .arg = &chase,
		  .per = TRANSLATE_BATCH },
	};
	bench_time_in_turns(turns, with_floor ? 2 : 1, iters);
	if (t.sink == 0)
		bench_die("vfk_dma_translate found nothing", -ENOENT);
	if (with_floor && chase.at >= CHASE_LINES)
		bench_die("pointer chase left the buffer", -EFAULT);
	free(chase.lines);
	free(iova);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct vfk_device_desc desc = { .name = "bench-dma", .vendor_id = 0x1af4,
					.device_id = 0x10f0, .class_code = 0xff0000 };
	struct vfk_device *dev;
	uint64_t max_live, live = 0;

	bench_parse_opts(argc, argv, 100000, &o);
	bench_pin(o.client_cpu);
	max_live = bench_scaled(&o, live_counts[4], 1000);
	int rc = vfk_device_create(&desc, &dev);
	if (rc < 0)
		bench_die("vfk_device_create", rc);
	vfk_dma_set_limit(dev, max_live + 16);
	/* Sealed as QEMU's RAM is, so the core has nothing to warn about. */
	int fd = memfd_create("bench-dma", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, (off_t)(max_live * PAGE)) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		bench_die("memfd", -errno);
	long rss0 = bench_rss_kib(getpid());
	for (size_t i = 0; i < sizeof(live_counts) / sizeof(live_counts[0]); i++) {
		char id[64];

		if (live_counts[i] > max_live)
			break;
		grow_to(dev, fd, &live, live_counts[i]);
		snprintf(id, sizeof(id), "mem.core_dma_table_%llu_maps_kib", (unsigned long long)live);
		bench_report_value(id, (double)(bench_rss_kib(getpid()) - rss0), "KiB");
		measure_map_unmap(dev, fd, live, o.iters);
		/* The floor goes with the largest table this run builds. */
		bool largest = i + 1 == sizeof(live_counts) / sizeof(live_counts[0]) ||
			       live_counts[i + 1] > max_live;
		measure_translate(dev, live, largest, o.iters / 10 + 1);
	}
	vfk_device_destroy(dev);
	close(fd);
	return 0;
}
