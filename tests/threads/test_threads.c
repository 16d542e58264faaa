// SPDX-License-Identifier: MIT
/*
 * Servers in threads (server.h, Threads): NSRV servers, each run by a
 * thread of its own with DEVS doorbell devices (tests/server/doorbell.h),
 * and one client thread per device speaking through the client library.
 * Each client, ROUNDS times: connects, writes and reads BAR0, has its
 * device copy by DMA in fd-less memory (DMA_READ/WRITE messages) and in
 * fd-backed memory (the server's own mapping), and disconnects; every
 * fourth round (the last too) it truncates the fd-backed memory before
 * the copy, so the SIGBUS guard catches faults in several server threads
 * at once and each such client is dropped. Suite threads: make check runs it under
 * ThreadSanitizer too (scripts/sanitize-check.sh tsan).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <cmocka.h>

#include <vfiokit/vfiokit.h>

#include "server/doorbell.h"

#define NSRV 3
#define DEVS 2
#define ROUNDS 32
#define SCRATCH_WRITES 4
#define MEM_SIZE 65536u
#define FD_IOVA 0x100000000ull      /* fd-backed: the server maps it */
#define LESS_IOVA 0x200000000ull    /* fd-less: reached by messages */

/* One client thread. cmocka's asserts belong to the main thread: a
 * client records its first failed check and the main thread asserts. */
struct tclient {
	char path[128];
	pthread_t thread;
	const char *failed;
	int line;
	long value;                 /* what the failed call returned */
	uint32_t posted;            /* scratch writes the device counted */
	uint32_t copies;            /* doorbell rings */
};

/* The first failure is kept: later ones follow from it. */
#define CHECK(c, cond, v) \
	do { \
		if (!(cond)) { \
			if (!(c)->failed) { \
				(c)->failed = #cond; \
				(c)->line = __LINE__; \
				(c)->value = (long)(v); \
			} \
			return -1; \
		} \
	} while (0)

struct tserver {
	char dir[64];
	struct vfk_server *srv;
	struct doorbell db[DEVS];
	pthread_t thread;
	int result;
};

static void *run_server(void *arg)
{
	struct tserver *ts = arg;

	ts->result = vfk_server_run(ts->srv);
	return NULL;
}

/* Server k with its devices, not running yet. */
static void server_setup(struct tserver *ts, struct tclient *clients, unsigned int k,
			 uint64_t map_budget)
{
	snprintf(ts->dir, sizeof(ts->dir), "/tmp/vfk-threads-XXXXXX");
	assert_non_null(mkdtemp(ts->dir));
	assert_int_equal(vfk_server_create(&ts->srv), 0);
	if (map_budget)
		vfk_server_set_map_budget(ts->srv, map_budget);
	for (unsigned int d = 0; d < DEVS; d++) {
		struct tclient *c = &clients[k * DEVS + d];
		char name[32];

		snprintf(name, sizeof(name), "db%u.%u", k, d);
		snprintf(c->path, sizeof(c->path), "%s/%s.sock", ts->dir, name);
		assert_int_equal(vfk_server_add_device(ts->srv, db_device(&ts->db[d], name),
						       c->path), 0);
	}
}

static void servers_start(struct tserver *ts, unsigned int n, struct tclient *clients,
			  uint64_t map_budget)
{
	signal(SIGPIPE, SIG_IGN);   /* a dropped client's sends must not kill us */
	for (unsigned int k = 0; k < n; k++)
		server_setup(&ts[k], clients, k, map_budget);
	for (unsigned int k = 0; k < n; k++)
		assert_int_equal(pthread_create(&ts[k].thread, NULL, run_server, &ts[k]), 0);
}

/* Stopped from this thread, not theirs; each cleaned up after its join. */
static void servers_stop(struct tserver *ts, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++)
		vfk_server_stop(ts[k].srv);
	for (unsigned int k = 0; k < n; k++) {
		assert_int_equal(pthread_join(ts[k].thread, NULL), 0);
		assert_int_equal(ts[k].result, 0);
		vfk_server_destroy(ts[k].srv);
		for (unsigned int d = 0; d < DEVS; d++)
			vfk_device_destroy(ts[k].db[d].dev);
		assert_int_equal(rmdir(ts[k].dir), 0);   /* the sockets are gone */
	}
}

static int read_reg(struct tclient *c, struct vfk_client *vc, uint64_t off, uint32_t *v)
{
	ssize_t n = vfk_client_region_read(vc, 0, off, v, 4);

	CHECK(c, n == 4, n);
	return 0;
}

static int scratch_writes(struct tclient *c, struct vfk_client *vc)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < SCRATCH_WRITES; i++) {
		ssize_t n = vfk_client_region_write(vc, 0, DB_SCRATCH, &i, 4);

		CHECK(c, n == 4, n);
		c->posted++;
	}
	if (read_reg(c, vc, DB_POSTED, &v))
		return -1;
	CHECK(c, v == c->posted, v);
	return 0;
}

/* Ring the doorbell for a copy at iova; the read after it returns once
 * the copy ran (the server runs it after the write's reply and before the
 * next message), answering the copy's DMA messages meanwhile. */
static int ring(struct tclient *c, struct vfk_client *vc, uint64_t iova)
{
	uint32_t v = 0;
	ssize_t n = vfk_client_region_write(vc, 0, DB_DOORBELL, &iova, 8);

	CHECK(c, n == 8, n);
	c->copies++;
	if (read_reg(c, vc, DB_COPIES, &v))
		return -1;
	CHECK(c, v == c->copies, v);
	return 0;
}

/* 16 bytes the device is to copy to mem + 16; distinct per round. */
static void put_pattern(uint8_t *mem, unsigned int round)
{
	for (unsigned int i = 0; i < 16; i++)
		mem[i] = (uint8_t)(round * 31 + i + 1);
	memset(mem + 16, 0, 16);
}

static int copy_fd_less(struct tclient *c, struct vfk_client *vc, unsigned int round)
{
	uint8_t *mem = calloc(1, 4096);
	int r;

	CHECK(c, mem, 0);
	put_pattern(mem, round);
	r = vfk_client_dma_map(vc, LESS_IOVA, 4096, mem, -1, 0);
	if (r || ring(c, vc, LESS_IOVA) || memcmp(mem, mem + 16, 16))
		r = -1;
	if (!r)
		r = vfk_client_dma_unmap(vc, LESS_IOVA, 4096);
	free(mem);
	CHECK(c, !r, r);
	return 0;
}

/* Truncated: the device's copy faults in the server's mapping, the
 * server drops the client, and the read after the doorbell fails. */
static int copy_truncated(struct tclient *c, struct vfk_client *vc, int fd)
{
	uint32_t v;
	ssize_t n;

	CHECK(c, ftruncate(fd, 0) == 0, errno);
	n = vfk_client_region_write(vc, 0, DB_DOORBELL, &(uint64_t){ FD_IOVA }, 8);
	CHECK(c, n == 8, n);
	c->copies++;
	n = vfk_client_region_read(vc, 0, DB_COPIES, &v, 4);
	CHECK(c, n < 0, n);
	return 0;
}

static int copy_fd_backed(struct tclient *c, struct vfk_client *vc, unsigned int round,
			  int fd, uint8_t *mem)
{
	int r;

	put_pattern(mem, round);
	r = vfk_client_dma_map(vc, FD_IOVA, MEM_SIZE, mem, fd, 0);
	CHECK(c, !r, r);
	if (round % 4 == 3)
		return copy_truncated(c, vc, fd);
	if (ring(c, vc, FD_IOVA))
		return -1;
	CHECK(c, !memcmp(mem, mem + 16, 16), round);
	r = vfk_client_dma_unmap(vc, FD_IOVA, MEM_SIZE);
	CHECK(c, !r, r);
	return 0;
}

/* The fd-backed copy, in memory of the client's own for this round. */
static int fd_backed_round(struct tclient *c, struct vfk_client *vc, unsigned int round)
{
	int fd = memfd_create("vfk-threads", MFD_CLOEXEC);
	uint8_t *mem;
	int r;

	CHECK(c, fd >= 0, errno);
	mem = ftruncate(fd, MEM_SIZE) ? MAP_FAILED :
		mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	r = mem == MAP_FAILED ? -errno : copy_fd_backed(c, vc, round, fd, mem);
	if (mem != MAP_FAILED)
		munmap(mem, MEM_SIZE);
	close(fd);
	CHECK(c, r == 0, r);
	return 0;
}

static int one_round(struct tclient *c, unsigned int round)
{
	struct vfk_client *vc;
	int r = vfk_client_open(c->path, NULL, &vc, NULL, 0);

	CHECK(c, r == 0, r);
	r = scratch_writes(c, vc);
	if (!r)
		r = copy_fd_less(c, vc, round);
	if (!r)
		r = fd_backed_round(c, vc, round);
	vfk_client_close(vc);
	return r;
}

static void *run_client(void *arg)
{
	struct tclient *c = arg;

	for (unsigned int round = 0; round < ROUNDS && !one_round(c, round); round++)
		;
	return NULL;
}

static void assert_client_ok(const struct tclient *c)
{
	if (c->failed)
		fail_msg("%s: line %d: %s (%ld)", c->path, c->line, c->failed, c->value);
}

/* Every device saw its client's writes and rings, the last copy (into
 * truncated memory) failed and nothing else did. */
static void test_servers_in_threads(void **state)
{
	static struct tserver ts[NSRV];
	static struct tclient clients[NSRV * DEVS];

	memset(clients, 0, sizeof(clients));
	servers_start(ts, NSRV, clients, 0);
	for (unsigned int i = 0; i < NSRV * DEVS; i++)
		assert_int_equal(pthread_create(&clients[i].thread, NULL, run_client,
						&clients[i]), 0);
	for (unsigned int i = 0; i < NSRV * DEVS; i++)
		assert_int_equal(pthread_join(clients[i].thread, NULL), 0);
	servers_stop(ts, NSRV);
	for (unsigned int i = 0; i < NSRV * DEVS; i++) {
		const struct doorbell *db = &ts[i / DEVS].db[i % DEVS];

		assert_client_ok(&clients[i]);
		assert_int_equal(db->posted, ROUNDS * SCRATCH_WRITES);
		assert_int_equal(db->copies, ROUNDS * 2);
		assert_int_equal(db->copy_status, -EFAULT);
	}
}

/* A stop that comes before the run (a signal while threads start) is
 * not lost: the run returns at once. */
static void test_stop_before_run(void **state)
{
	struct vfk_server *srv;

	assert_int_equal(vfk_server_create(&srv), 0);
	vfk_server_stop(srv);
	assert_int_equal(vfk_server_run(srv), 0);
	vfk_server_destroy(srv);
}

/* Both servers' budget of 4 windows is the process's: 4 devices in two
 * servers leave each connection one window, not two. */
static void test_window_share_across_servers(void **state)
{
	static struct tserver ts[2];
	static struct tclient clients[2 * DEVS];
	int fd = memfd_create("vfk-threads-share", MFD_CLOEXEC);
	struct vfk_client *vc;

	memset(clients, 0, sizeof(clients));
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 30), 0);
	servers_start(ts, 2, clients, 4);
	assert_int_equal(vfk_client_open(clients[0].path, NULL, &vc, NULL, 0), 0);
	assert_int_equal(vfk_client_dma_map(vc, FD_IOVA, 4096, NULL, fd, 0), 0);
	assert_int_equal(vfk_client_dma_map(vc, 2 * FD_IOVA, 4096, NULL, fd, 1 << 29),
			 -ENOSPC);
	vfk_client_close(vc);
	close(fd);
	servers_stop(ts, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_servers_in_threads),
		cmocka_unit_test(test_stop_before_run),
		cmocka_unit_test(test_window_share_across_servers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
