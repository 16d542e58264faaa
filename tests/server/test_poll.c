/* SPDX-License-Identifier: MIT */
/*
 * Polling mode (vfk_server_set_poll_us): requests are served as without
 * it, by two servers in two threads polling each on its own, and a
 * polling server that no client talks to goes to sleep: over a second of
 * silence its thread uses well under half a core. (Only that property is
 * checked, with a wide margin: timing is never asserted.) Out-of-range
 * windows are refused.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include <vfiokit/vfiokit.h>
#include "raw_client.h"
#include "thread_server.h"

#define MEM_SIZE  4096u
#define POLL_US   2000u      /* 2 ms: far shorter than the idle second */
#define REQUESTS  2000u

struct bar_mem {
	uint8_t bytes[MEM_SIZE];
};

static struct bar_mem mems[2];
static struct thread_server servers[2];

/* Device "poll0" or "poll1": its memory, by the name's last digit. */
static struct bar_mem *mem_of(const struct vfk_device *d)
{
	const char *name = vfk_device_name(d);

	return &mems[name[strlen(name) - 1] == '1'];
}

static ssize_t mem_read(struct vfk_device *d, struct vfk_region *r, void *buf,
			size_t count, uint64_t off)
{
	struct bar_mem *m = mem_of(d);

	memcpy(buf, m->bytes + off, count);
	return (ssize_t)count;
}

static ssize_t mem_write(struct vfk_device *d, struct vfk_region *r, const void *buf,
			 size_t count, uint64_t off)
{
	struct bar_mem *m = mem_of(d);

	memcpy(m->bytes + off, buf, count);
	return (ssize_t)count;
}

static const struct vfk_region_ops mem_ops = { .read = mem_read, .write = mem_write };

static int setup(void **state)
{
	for (int i = 0; i < 2; i++) {
		struct vfk_device *dev = ts_bar0_device(i ? "poll1" : "poll0", 0x10f8,
							TS_BAR_RW, MEM_SIZE, &mem_ops);

		ts_start_polling(&servers[i], dev, i ? "poll1" : "poll0", POLL_US);
	}
	return 0;
}

static int teardown(void **state)
{
	ts_stop(&servers[0]);
	ts_stop(&servers[1]);
	return 0;
}

static int open_client(const struct thread_server *ts)
{
	int fd = rc_connect(ts->path);

	assert_true(fd >= 0);
	assert_int_equal(rc_negotiate(fd), 0);
	return fd;
}

static void write32(int fd, uint64_t off, uint32_t v)
{
	uint8_t msg[sizeof(struct vfu_region_rw) + 4], out[64];
	struct vfu_region_rw rw = { off, 0, 4 };

	memcpy(msg, &rw, sizeof(rw));
	memcpy(msg + sizeof(rw), &v, 4);
	assert_int_equal(rc_call(fd, VFU_CMD_REGION_WRITE, msg, sizeof(msg), NULL, 0, out,
				 sizeof(out), NULL), (ssize_t)sizeof(rw));
}

static uint32_t read32(int fd, uint64_t off)
{
	struct vfu_region_rw rw = { off, 0, 4 };
	uint8_t out[64];
	uint32_t v;

	assert_int_equal(rc_call(fd, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, out,
				 sizeof(out), NULL), (ssize_t)(sizeof(rw) + 4));
	memcpy(&v, out + sizeof(rw), 4);
	return v;
}

/* CPU seconds the server's thread has used so far. */
static double thread_cpu_s(const struct thread_server *ts)
{
	clockid_t cid;
	struct timespec t;

	assert_int_equal(pthread_getcpuclockid(ts->thread, &cid), 0);
	assert_int_equal(clock_gettime(cid, &t), 0);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Threads of this process other than the main one that are running or
 * runnable ('R' in /proc/self/task/TID/stat): a sleeping server is 'S'. */
static int other_threads_running(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int running = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[300], buf[512];
		const char *p;
		FILE *f;

		if (e->d_name[0] == '.' || atoi(e->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ' &&
		    p[2] == 'R')
			running++;
		fclose(f);
	}
	closedir(d);
	return running;
}

/* Writes and reads on both devices, interleaved: each server answers its
 * own client, every value as written. */
static void test_served_while_polling(void **state)
{
	int fd[2] = { open_client(&servers[0]), open_client(&servers[1]) };

	for (uint32_t i = 0; i < REQUESTS; i++) {
		for (int d = 0; d < 2; d++) {
			uint64_t off = (i * 4u) % MEM_SIZE;
			uint32_t v = i * 2654435761u + (uint32_t)d;

			write32(fd[d], off, v);
			assert_int_equal(read32(fd[d], off), v);
			assert_int_equal(mems[d].bytes[off], (uint8_t)v);
		}
	}
	close(fd[0]);
	close(fd[1]);
}

/*
 * After the last request a polling server sleeps: over one idle second
 * with its client still connected, each thread uses < 0.5 s of CPU (a
 * server that kept polling would use about 1 s), and sampled every
 * 100 ms the server threads are asleep most of the time (one that kept
 * polling is runnable at every sample, however loaded the machine).
 */
static void test_idle_server_sleeps(void **state)
{
	int fd[2] = { open_client(&servers[0]), open_client(&servers[1]) };
	double before[2];
	int asleep = 0;

	for (int d = 0; d < 2; d++)
		write32(fd[d], 0, 7);
	for (int d = 0; d < 2; d++)
		before[d] = thread_cpu_s(&servers[d]);
	for (int i = 0; i < 10; i++) {
		usleep(100000);
		asleep += other_threads_running() == 0;
	}
	print_message("both servers asleep at %d of 10 samples\n", asleep);
	assert_true(asleep >= 5);
	for (int d = 0; d < 2; d++) {
		double used = thread_cpu_s(&servers[d]) - before[d];

		print_message("server %d: %.4f s of CPU over 1 s idle\n", d, used);
		assert_true(used < 0.5);
		/* And it wakes up for the next request. */
		assert_int_equal(read32(fd[d], 0), 7);
	}
	close(fd[0]);
	close(fd[1]);
}

static void test_window_range(void **state)
{
	struct vfk_server *srv;

	assert_int_equal(vfk_server_create(&srv), 0);
	assert_int_equal(vfk_server_set_poll_us(srv, VFK_SERVER_MAX_POLL_US + 1), -EINVAL);
	assert_int_equal(vfk_server_set_poll_us(srv, VFK_SERVER_MAX_POLL_US), 0);
	assert_int_equal(vfk_server_set_poll_us(srv, 0), 0);
	/* A bounded wait still ends with polling on: the window never outlasts it. */
	assert_int_equal(vfk_server_set_poll_us(srv, VFK_SERVER_MAX_POLL_US), 0);
	assert_int_equal(vfk_server_run_once(srv, 10), 0);
	vfk_server_destroy(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_served_while_polling),
		cmocka_unit_test(test_idle_server_sleeps),
		cmocka_unit_test(test_window_range),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
