/* SPDX-License-Identifier: MIT */
/*
 * The tenants soak: one server process with two doorbell devices. For
 * SECONDS, a hostile client of device A keeps mapping huge sparse files,
 * truncating mapped memory, pipelining megabytes of posted writes ahead
 * of a DMA answer, hanging up mid-message and reconnecting at once, and
 * filling its mapping table; meanwhile a victim process drives device B
 * (a doorbell, then the DMA it starts, then a read) and must get every
 * answer. At the end the server's fd count must equal its count before
 * any client came and its anonymous RSS be within 10% of it (64 KiB at
 * least: see rss_slack()).
 *
 * Usage: soak_tenants SECONDS. Prints one summary line; exit 0 when every
 * rule held. docs/robustness.md reports a 60-second run.
 */
#include <errno.h>
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <vfiokit/vfiokit.h>
#include "../test_util.h"
#include "doorbell.h"
#include "raw_client.h"
#include "vfio-user/wire.h"

#define PAGE       4096u
#define GUEST_BASE 0x200000u

static char dir[64], path_a[96], path_b[96];
static struct vfk_server *server;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void stop_server(int sig)
{
	vfk_server_stop(server);
}

/* The server process: devices A and B until SIGTERM. */
static int run_server(void)
{
	static struct doorbell a, b;
	struct sigaction sa = { .sa_handler = stop_server };
	int r;

	signal(SIGPIPE, SIG_IGN);
	vfk_log_set_level(VFK_LOG_ERROR);
	sigaction(SIGTERM, &sa, NULL);
	if (vfk_server_create(&server) ||
	    vfk_server_add_device(server, db_device(&a, "soak-a"), path_a) ||
	    vfk_server_add_device(server, db_device(&b, "soak-b"), path_b))
		return 1;
	r = vfk_server_run(server);
	vfk_server_destroy(server);
	vfk_device_destroy(a.dev);
	vfk_device_destroy(b.dev);
	return r ? 1 : 0;
}

/* A client of path with a receive timeout, or -1. */
static int connect_to(const char *path, bool negotiate)
{
	struct timeval tv = { .tv_sec = 10 };
	int fd = rc_connect(path);

	if (fd < 0)
		return -1;
	/* Neither side may hang the soak: a stuck send fails as a read does. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (negotiate && rc_negotiate(fd)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The victim: every request on B answered and every doorbell's copy done
 * before the next request is handled, or exit 1. While the hostile
 * client's DMA is awaited, B waits (one event loop): the slowest round
 * trip is reported.
 */
static int run_victim(double until)
{
	static uint8_t guest[PAGE];
	unsigned long requests = 0;
	uint32_t copies0;
	double worst = 0;
	uint8_t msg[64];
	int fd = connect_to(path_b, true);

	if (fd < 0) {
		printf("victim: not served\n");
		return 1;
	}
	rc_dma_mem = guest;
	rc_dma_base = GUEST_BASE;
	rc_dma_len = sizeof(guest);
	if (db_dma_map(fd, GUEST_BASE, sizeof(guest), -1, 0))
		return 1;
	db_put_write(msg, 0, DB_DOORBELL, GUEST_BASE, false);
	copies0 = db_read(fd, DB_COPIES);   /* the device's count outlives clients */
	while (now_s() < until) {
		double t0 = now_s();
		ssize_t r;

		guest[0]++;
		r = rc_call(fd, VFU_CMD_REGION_WRITE, msg + VFU_HDR_SIZE,
			    db_write_size(DB_DOORBELL) - VFU_HDR_SIZE, NULL, 0, NULL, 0, NULL);
		if (r < 0) {
			printf("victim: doorbell %lu not answered: %s\n", requests, strerror((int)-r));
			return 1;
		}
		/* Answers the copy's DMA first; asserts an answer. */
		if (db_read(fd, DB_COPIES) - copies0 != ++requests) {
			printf("victim: doorbell %lu not copied before the next request\n", requests);
			return 1;
		}
		if (now_s() - t0 > worst)
			worst = now_s() - t0;
	}
	if (db_read(fd, DB_COPIES) - copies0 != requests || guest[16] != guest[0]) {
		printf("victim: %lu doorbells, %u copies, last byte %u copied as %u\n", requests,
		       db_read(fd, DB_COPIES) - copies0, guest[0], guest[16]);
		return 1;
	}
	close(fd);
	printf("victim: %lu doorbells answered and copied, slowest round trip %.1f ms\n",
	       requests, worst * 1e3);
	return 0;
}

static bool send_quietly(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* Read until the server hangs up (or the timeout passes). */
static void drain(int fd)
{
	uint8_t buf[256];

	while (rc_recv(fd, buf, sizeof(buf), NULL, NULL) > 0)
		;
}

/* 4 KiB of each of 8 sparse 16 TiB files, left mapped at hang-up. */
static bool hostile_huge_files(void)
{
	int fd = connect_to(path_a, true);
	bool ok = fd >= 0;

	for (int i = 0; ok && i < 8; i++) {
		int mem = db_sparse_memfd("soak-huge", 16ull << 40);

		ok = db_dma_map(fd, (uint64_t)i << 32, PAGE, mem, (uint64_t)i << 40) == 0;
		close(mem);
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Map memory, shrink it, ring the doorbell: the server drops us. */
static bool hostile_truncate(void)
{
	int fd = connect_to(path_a, true), mem = db_sparse_memfd("soak-trunc", 4 * PAGE);
	uint8_t msg[64];
	bool ok = fd >= 0 && db_dma_map(fd, GUEST_BASE, 4 * PAGE, mem, 0) == 0 &&
		  ftruncate(mem, 0) == 0;

	if (ok) {
		db_put_write(msg, 1, DB_DOORBELL, GUEST_BASE, false);
		ok = send_quietly(fd, msg, db_write_size(DB_DOORBELL));
		drain(fd);
	}
	if (fd >= 0)
		close(fd);
	close(mem);
	return ok;
}

/* 1 MiB of posted writes, the doorbell, 3 MiB more, then the DMA answer. */
static bool hostile_backlog(void)
{
	static uint8_t guest[PAGE];
	size_t per = db_write_size(DB_SCRATCH), n = (4u << 20) / per, len = 0;
	uint8_t *buf = malloc(n * per + 64);
	int fd = connect_to(path_a, true);
	bool ok = buf && fd >= 0;
	uint32_t posted0;

	rc_dma_mem = guest;
	rc_dma_base = GUEST_BASE;
	rc_dma_len = sizeof(guest);
	ok = ok && db_dma_map(fd, GUEST_BASE, sizeof(guest), -1, 0) == 0;
	posted0 = ok ? db_read(fd, DB_POSTED) : 0;   /* the device's count outlives clients */
	for (size_t k = 0; ok && k < n; k++) {
		if (k == n / 4)
			len += db_put_write(buf + len, 5, DB_DOORBELL, GUEST_BASE, false);
		len += db_put_write(buf + len, 6, DB_SCRATCH, k, true);
	}
	ok = ok && send_quietly(fd, buf, len);
	free(buf);
	if (ok) {
		uint8_t reply[64];
		struct vfu_region_rw rw = { DB_POSTED, 0, 4 };
		uint8_t out[sizeof(rw) + 4];
		uint32_t posted = 0;

		ok = rc_recv(fd, reply, sizeof(reply), NULL, NULL) >= (ssize_t)VFU_HDR_SIZE &&
		     rc_call(fd, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, out, sizeof(out),
			     NULL) == sizeof(out);
		memcpy(&posted, out + sizeof(rw), 4);
		ok = ok && posted - posted0 == n;
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Hang up in the middle of a message, then reconnect at once: served. */
static bool hostile_reconnect(void)
{
	uint8_t msg[64];
	int fd = connect_to(path_a, false);

	if (fd < 0)
		return false;
	send_quietly(fd, msg, db_put_write(msg, 3, DB_SCRATCH, 1, true) - 4);
	close(fd);
	fd = connect_to(path_a, true);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Pipeline 5000 fd-less maps and hang up with them all live. */
static bool hostile_many_maps(void)
{
	static uint8_t batch[5000 * (VFU_HDR_SIZE + sizeof(struct vfu_dma_map))];
	int fd = connect_to(path_a, true);
	bool ok;

	if (fd < 0)
		return false;
	ok = send_quietly(fd, batch, db_put_maps(batch, 0, 5000));
	close(fd);
	return ok;
}

static unsigned int count_fds(pid_t pid)
{
	char p[64];
	DIR *d;
	unsigned int n = 0;

	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	d = opendir(p);
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The server's anonymous resident memory (what it allocated; the pages
 * of library code it runs are not a client's doing), in KiB. */
static long rss_anon_kib(pid_t pid)
{
	char p[64], line[128];
	long kib = -1;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/*
 * How far the end may be above the start: 10%, but at least 64 KiB, as
 * glibc keeps freed memory at the top of its heap until more than its
 * trim threshold (128 KiB) is free there: a high-water mark, not a leak
 * (a leak grows with the steps; valgrind runs the same paths in
 * test_isolation).
 */
static long rss_slack(long start)
{
	return start / 10 > 64 ? start / 10 : 64;
}

/* Both devices take a client and answer a doorbell and its DMA: every
 * earlier client is gone, and each path has run once. */
static bool both_serve(void)
{
	static uint8_t guest[PAGE];
	uint8_t msg[64];

	rc_dma_mem = guest;
	rc_dma_base = GUEST_BASE;
	rc_dma_len = sizeof(guest);
	for (int i = 0; i < 2; i++) {
		int fd = connect_to(i ? path_b : path_a, true);
		bool ok = fd >= 0 && db_dma_map(fd, GUEST_BASE, sizeof(guest), -1, 0) == 0;

		db_put_write(msg, 0, DB_DOORBELL, GUEST_BASE, false);
		ok = ok && rc_call(fd, VFU_CMD_REGION_WRITE, msg + VFU_HDR_SIZE,
				   db_write_size(DB_DOORBELL) - VFU_HDR_SIZE, NULL, 0, NULL, 0,
				   NULL) >= 0;
		if (ok)
			db_read(fd, DB_COPIES);
		if (fd >= 0)
			close(fd);
		if (!ok) {
			printf("soak: device %c did not serve a plain client\n", 'a' + i);
			return false;
		}
	}
	return true;
}

static pid_t start(int (*fn)(double), double arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		int r;

		/* A soak that dies (an assertion, a sanitizer) takes its
		 * children with it rather than leave them holding its output. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		r = fn(arg);

		fflush(stdout);
		_exit(r);
	}
	return pid;
}

static int server_main(double unused)
{
	return run_server();
}

int main(int argc, char **argv)
{
	static bool (*const hostile[])(void) = {
		hostile_huge_files, hostile_truncate, hostile_backlog, hostile_reconnect,
		hostile_many_maps,
	};
	double seconds = argc > 1 ? atof(argv[1]) : 60, until;
	unsigned long cycles = 0, failed = 0;
	unsigned int fds0, fds1;
	long rss0, rss1;
	int vstatus = 0, sstatus = 0, fd = -1;
	pid_t srv, victim;

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/vfk-soak-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(path_a, sizeof(path_a), "%s/a.sock", dir);
	snprintf(path_b, sizeof(path_b), "%s/b.sock", dir);
	srv = start(server_main, 0);
	for (int i = 0; i < 500 && (fd = rc_connect(path_b)) < 0; i++)
		usleep(10000);
	if (fd < 0)
		return 1;
	close(fd);
	/* The start: each device has served one ordinary client and each
	 * hostile step once, so first-use growth (stack depth, heap arenas)
	 * is in the start value; what the soak adds over thousands of steps
	 * is what it measures. */
	if (!both_serve())
		return 1;
	for (unsigned int i = 0; i < 5; i++)
		if (!hostile[i]())
			return 1;
	usleep(100000);
	fds0 = count_fds(srv);
	rss0 = rss_anon_kib(srv);
	until = now_s() + seconds;
	victim = start(run_victim, until);
	while (now_s() < until) {
		if (!hostile[cycles % 5]()) {
			if (!failed)
				printf("soak: hostile step %lu (kind %lu) failed\n", cycles, cycles % 5);
			failed++;
		}
		cycles++;
	}
	waitpid(victim, &vstatus, 0);
	if (!both_serve())
		failed++;
	usleep(100000);
	fds1 = count_fds(srv);
	rss1 = rss_anon_kib(srv);
	kill(srv, SIGTERM);
	waitpid(srv, &sstatus, 0);
	rmdir(dir);
	printf("soak: %.0f s, %lu hostile steps (%lu failed), victim %s, server fds %u -> %u, "
	       "anonymous RSS %ld -> %ld KiB%s, server exit %d\n", seconds, cycles, failed,
	       WIFEXITED(vstatus) && !WEXITSTATUS(vstatus) ? "served" : "FAILED",
	       fds0, fds1, rss0, rss1, test_plain_allocator() ? "" : " (not judged under ASan)",
	       WIFEXITED(sstatus) ? WEXITSTATUS(sstatus) : -1);
	return failed || !WIFEXITED(vstatus) || WEXITSTATUS(vstatus) || fds1 != fds0 ||
	       (test_plain_allocator() && rss1 > rss0 + rss_slack(rss0)) || !WIFEXITED(sstatus) ||
	       WEXITSTATUS(sstatus);
}
