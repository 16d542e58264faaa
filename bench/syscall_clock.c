/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD shim: the user-space time of an unmodified process, measured
 * as the time between its system calls (totals layout and meaning in
 * syscall_clock.h). Each wrapper below stamps CLOCK_MONOTONIC (vDSO, no
 * system call) at entry and at return and calls the real function found
 * with dlsym(RTLD_NEXT). The stamps cost time that lands in the gaps, so
 * the constructor calibrates what the shim adds to one gap with no work in
 * it and publishes that for the reader to subtract.
 *
 * One writer: the totals are updated with plain (relaxed atomic) stores,
 * which is exact when a single thread makes the calls, as the vfiokit
 * server does. Without SYSCALL_CLOCK_ENV the wrappers only pass through.
 *
 *   LD_PRELOAD=libsyscall_clock.so VFK_SYSCALL_CLOCK_FILE=out PROGRAM...
 */
#include "syscall_clock.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define CALIBRATION_ROUNDS 5
#define CALIBRATION_CALLS 20000

enum call_kind { CALL_PLAIN, CALL_WAIT };

static struct syscall_clock_totals *totals;
static struct syscall_clock_totals calibration;
static __thread uint64_t last_exit;     /* stamp of the last return, 0: none yet */
static __thread uint64_t cycle_user;    /* user ns since the cycle began */
static __thread uint64_t cycle_calls;   /* calls since the cycle began */
static __thread int in_cycle;           /* a waiting call has been seen */

static inline uint64_t stamp(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Single writer: a load and a store, visible whole to a reader. */
static inline void bump(uint64_t *counter, uint64_t by)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + by,
			 __ATOMIC_RELAXED);
}

static void end_cycle(struct syscall_clock_totals *t)
{
	uint64_t bucket = cycle_user / SYSCALL_CLOCK_BUCKET_NS;

	if (in_cycle) {
		if (bucket >= SYSCALL_CLOCK_BUCKETS)
			bucket = SYSCALL_CLOCK_BUCKETS - 1;
		bump(&t->cycle_user[bucket], 1);
		bump(&t->cycle_calls, cycle_calls);
		bump(&t->cycles, 1);
	}
	in_cycle = 1;
	cycle_user = 0;
	cycle_calls = 0;
}

static inline uint64_t call_enter(enum call_kind kind)
{
	struct syscall_clock_totals *t = totals;
	uint64_t now = stamp();

	if (!t)
		return now;
	if (last_exit) {
		bump(&t->user_ns, now - last_exit);
		cycle_user += now - last_exit;
	}
	if (kind == CALL_WAIT)
		end_cycle(t);
	bump(&t->calls, 1);
	cycle_calls++;
	return now;
}

static inline void call_leave(uint64_t entered, enum call_kind kind)
{
	struct syscall_clock_totals *t = totals;
	int saved = errno;
	uint64_t now = stamp();

	if (t)
		bump(kind == CALL_WAIT ? &t->wait_ns : &t->call_ns, now - entered);
	last_exit = now;
	errno = saved;
}

static void *resolve(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (!fn)
		abort();   /* a wrapper with nothing to call cannot return anything true */
	return fn;
}

/* One wrapper: stamp, call the next definition of name, stamp. */
#define WRAP(ret, name, kind, params, args)                                   \
	ret name params                                                       \
	{                                                                     \
		static ret (*real) params;                                    \
		ret (*fn) params = __atomic_load_n(&real, __ATOMIC_RELAXED);  \
		if (!fn) {                                                    \
			fn = (ret (*) params)resolve(#name);                  \
			__atomic_store_n(&real, fn, __ATOMIC_RELAXED);        \
		}                                                             \
		uint64_t entered = call_enter(kind);                          \
		ret r = fn args;                                              \
		call_leave(entered, kind);                                    \
		return r;                                                     \
	}

WRAP(int, epoll_wait, CALL_WAIT, (int epfd, struct epoll_event *ev, int max, int ms),
     (epfd, ev, max, ms))
WRAP(int, epoll_pwait, CALL_WAIT,
     (int epfd, struct epoll_event *ev, int max, int ms, const sigset_t *mask),
     (epfd, ev, max, ms, mask))
WRAP(int, poll, CALL_WAIT, (struct pollfd *fds, nfds_t n, int ms), (fds, n, ms))
WRAP(int, ppoll, CALL_WAIT,
     (struct pollfd *fds, nfds_t n, const struct timespec *tmo, const sigset_t *mask),
     (fds, n, tmo, mask))
WRAP(int, epoll_ctl, CALL_PLAIN, (int epfd, int op, int fd, struct epoll_event *ev),
     (epfd, op, fd, ev))
WRAP(int, accept4, CALL_PLAIN, (int fd, struct sockaddr *sa, socklen_t *len, int flags),
     (fd, sa, len, flags))
WRAP(ssize_t, recvmsg, CALL_PLAIN, (int fd, struct msghdr *msg, int flags), (fd, msg, flags))
WRAP(ssize_t, recv, CALL_PLAIN, (int fd, void *buf, size_t n, int flags), (fd, buf, n, flags))
WRAP(ssize_t, recvfrom, CALL_PLAIN,
     (int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *len),
     (fd, buf, n, flags, sa, len))
WRAP(ssize_t, read, CALL_PLAIN, (int fd, void *buf, size_t n), (fd, buf, n))
WRAP(ssize_t, readv, CALL_PLAIN, (int fd, const struct iovec *iov, int n), (fd, iov, n))
WRAP(ssize_t, sendmsg, CALL_PLAIN, (int fd, const struct msghdr *msg, int flags),
     (fd, msg, flags))
WRAP(ssize_t, send, CALL_PLAIN, (int fd, const void *buf, size_t n, int flags),
     (fd, buf, n, flags))
WRAP(ssize_t, sendto, CALL_PLAIN,
     (int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len),
     (fd, buf, n, flags, sa, len))
WRAP(ssize_t, write, CALL_PLAIN, (int fd, const void *buf, size_t n), (fd, buf, n))
WRAP(ssize_t, writev, CALL_PLAIN, (int fd, const struct iovec *iov, int n), (fd, iov, n))

/* Stands for the real function in calibration: a call that does nothing. */
static void __attribute__((noinline)) empty_call(void)
{
	__asm__ volatile("" ::: "memory");
}

/* What a wrapper does around a call, with an empty call in its place. */
static void __attribute__((noinline)) calibration_wrapper(void)
{
	uint64_t entered = call_enter(CALL_PLAIN);
	empty_call();
	call_leave(entered, CALL_PLAIN);
}

/* Least user time per wrapped call the shim measures when there is no work. */
static uint64_t calibrate_overhead_ps(void)
{
	uint64_t best = UINT64_MAX;

	totals = &calibration;
	for (int round = 0; round < CALIBRATION_ROUNDS; round++) {
		calibration.user_ns = 0;
		calibration.calls = 0;
		last_exit = 0;
		for (int i = 0; i < CALIBRATION_CALLS; i++)
			calibration_wrapper();
		/* The first call has no gap before it. */
		uint64_t ps = calibration.user_ns * 1000 / (calibration.calls - 1);
		best = ps < best ? ps : best;
	}
	totals = NULL;
	last_exit = 0;
	in_cycle = 0;
	cycle_user = 0;
	cycle_calls = 0;
	return best;
}

/* Least cost of one clock_gettime(). */
static uint64_t clock_cost_ps(void)
{
	uint64_t best = UINT64_MAX;

	for (int round = 0; round < CALIBRATION_ROUNDS; round++) {
		uint64_t t0 = stamp();
		for (int i = 0; i < CALIBRATION_CALLS; i++)
			(void)stamp();
		uint64_t ps = (stamp() - t0) * 1000 / (CALIBRATION_CALLS + 1);
		best = ps < best ? ps : best;
	}
	return best;
}

static void __attribute__((constructor)) syscall_clock_init(void)
{
	const char *path = getenv(SYSCALL_CLOCK_ENV);
	size_t size = sizeof(struct syscall_clock_totals);

	if (!path)
		return;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	void *map = ftruncate(fd, (off_t)size) == 0 ?
		mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
	close(fd);
	if (map == MAP_FAILED)
		return;
	struct syscall_clock_totals *t = map;
	t->clock_ps = clock_cost_ps();
	t->overhead_ps = calibrate_overhead_ps();
	__atomic_store_n(&t->magic, SYSCALL_CLOCK_MAGIC, __ATOMIC_RELEASE);
	totals = t;
	last_exit = stamp();
}
