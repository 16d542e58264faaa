// SPDX-License-Identifier: MIT
/*
 * Out of memory while a region-info answer is built. This executable
 * links the library's objects itself (not libvfiokit.so) with
 * -Wl,--wrap=malloc,calloc,realloc,free,strdup, so every allocation the
 * core and the server make goes through the wrappers below: they count
 * live blocks and, once armed, fail the n-th allocation from then on
 * (only that one, or that one and every later one). No hook in the
 * production code.
 *
 * Each n up to the number of allocations the request makes is tried: the
 * request fails with -ENOMEM, no block is left behind, and the next
 * request on the same device answers exactly what a device that never
 * failed answers. Through the server: the client gets an error reply and
 * its connection keeps working.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <vfiokit/caps.h>
#include <vfiokit/device.h>
#include <vfiokit/log.h>
#include <vfiokit/region.h>
#include <vfiokit/server.h>
#include <vfiokit/transport.h>

#include "fuzz_device.h"
#include "../server/raw_client.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);

/* Blocks handed out by the wrapped functions and not freed yet. */
static atomic_long live_blocks;
/* Allocations left before the failing one; -1 when disarmed. */
static atomic_long countdown = -1;
/* Fail every allocation after the first failure too, not only that one. */
static atomic_bool sticky;
static atomic_bool failed_any;

/* Whether this allocation must fail. */
static bool should_fail(void)
{
	long left = atomic_load(&countdown);

	while (left >= 0) {
		if (left == 0) {
			atomic_store(&failed_any, true);
			if (!atomic_load(&sticky))
				atomic_store(&countdown, -1);
			return true;
		}
		if (atomic_compare_exchange_weak(&countdown, &left, left - 1))
			return false;
	}
	return false;
}

static void *counted(void *p)
{
	if (p)
		atomic_fetch_add(&live_blocks, 1);
	return p;
}

void *__wrap_malloc(size_t size)
{
	return should_fail() ? NULL : counted(__real_malloc(size));
}

void *__wrap_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : counted(__real_calloc(n, size));
}

void *__wrap_realloc(void *p, size_t size)
{
	void *q;

	if (should_fail())
		return NULL;
	q = __real_realloc(p, size);
	/* A new block from NULL counts; a moved one does not; realloc(p, 0)
	 * is not used by the library. */
	if (q && !p)
		atomic_fetch_add(&live_blocks, 1);
	return q;
}

void __wrap_free(void *p)
{
	if (p)
		atomic_fetch_sub(&live_blocks, 1);
	__real_free(p);
}

char *__wrap_strdup(const char *s)
{
	return should_fail() ? NULL : counted(__real_strdup(s));
}

static void arm(long n, bool fail_all_after)
{
	atomic_store(&failed_any, false);
	atomic_store(&sticky, fail_all_after);
	atomic_store(&countdown, n);
}

/* Disarm; whether an allocation was failed since arm(). */
static bool disarm(void)
{
	atomic_store(&countdown, -1);
	return atomic_load(&failed_any);
}

/*
 * The device-specific region's hook: a small cap, then caps of 2 KiB and
 * 24 KiB, so the builder grows three times (256 bytes at first) and the
 * device's reply buffer has to grow past its first size too.
 */
#define BIG_CAP_ID 0x7f00
static int big_caps(struct vfk_device *dev, struct vfk_region *region, struct vfk_caps *caps)
{
	static uint8_t body[24 * 1024];
	static const size_t sizes[] = { 64, 2048, sizeof(body) };
	int ret = 0;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && !ret; i++) {
		memset(body, (int)i + 1, sizes[i]);
		ret = vfk_caps_add(caps, BIG_CAP_ID + (uint16_t)i, 1, body, sizes[i]);
	}
	return ret;
}

static const struct vfk_region_ops big_ops = { .add_capability = big_caps };

/* The fuzz device plus a region with big caps; its index in *index. */
static struct vfk_device *oom_device(uint32_t *index)
{
	struct vfk_region_desc d = { .flags = VFIO_REGION_INFO_FLAG_READ, .size = 0x1000,
				     .ops = &big_ops };
	struct vfk_device *dev = fuzz_device_create();

	assert_non_null(dev);
	assert_int_equal(vfk_device_add_region(dev, 0x8086, 7, &d, index), 0);
	return dev;
}

/* What a device that never failed answers: copied into ref (cap), its length. */
static uint8_t ref[64 * 1024];
static size_t ref_len;

static void take_reference(void)
{
	struct vfk_device *dev;
	const void *ans;
	uint32_t index;
	int fd;

	dev = oom_device(&index);
	assert_int_equal(vfk_region_info(dev, index, sizeof(ref), &ans, &ref_len, &fd), 0);
	assert_true(ref_len > 26 * 1024 && ref_len <= sizeof(ref));
	memcpy(ref, ans, ref_len);
	vfk_device_destroy(dev);
}

/* Fail the n-th allocation of one request on a fresh device; false once
 * n is past the request's last allocation. */
static bool request_fails_cleanly(long n, bool fail_all_after)
{
	long before = atomic_load(&live_blocks);
	struct vfk_device *dev;
	const void *ans;
	size_t len;
	uint32_t index;
	int fd, r;

	dev = oom_device(&index);
	arm(n, fail_all_after);
	r = vfk_region_info(dev, index, sizeof(ref), &ans, &len, &fd);
	if (!disarm()) {
		assert_int_equal(r, 0);
		vfk_device_destroy(dev);
		return false;
	}
	assert_int_equal(r, -ENOMEM);
	/* The same device answers the next request whole. */
	assert_int_equal(vfk_region_info(dev, index, sizeof(ref), &ans, &len, &fd), 0);
	assert_int_equal(len, ref_len);
	assert_memory_equal(ans, ref, len);
	/* Other regions too: the half-built chain is gone. */
	assert_int_equal(vfk_region_info(dev, 9, sizeof(ref), &ans, &len, &fd), 0);
	vfk_device_destroy(dev);
	assert_int_equal(atomic_load(&live_blocks), before);
	return true;
}

static void test_region_info_out_of_memory(void **state)
{
	for (int mode = 0; mode < 2; mode++) {
		long n = 0;

		while (request_fails_cleanly(n, mode))
			n++;
		/* Three builder growths and the reply buffer, at least. */
		assert_true(n >= 4);
	}
}

/* A server with one device in a thread of this process. */
struct thread_server {
	char dir[64], path[96];
	struct vfk_server *srv;
	struct vfk_device *dev;
	uint32_t index;
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct thread_server *ts = arg;

	return (void *)(intptr_t)vfk_server_run(ts->srv);
}

static void ts_start(struct thread_server *ts)
{
	snprintf(ts->dir, sizeof(ts->dir), "/tmp/vfiokit-oom-XXXXXX");
	assert_non_null(mkdtemp(ts->dir));
	snprintf(ts->path, sizeof(ts->path), "%s/dev.sock", ts->dir);
	ts->dev = oom_device(&ts->index);
	assert_int_equal(vfk_server_create(&ts->srv), 0);
	assert_int_equal(vfk_server_add_device(ts->srv, ts->dev, ts->path), 0);
	assert_int_equal(pthread_create(&ts->thread, NULL, serve, ts), 0);
}

static void ts_stop(struct thread_server *ts)
{
	void *ret;

	vfk_server_stop(ts->srv);
	assert_int_equal(pthread_join(ts->thread, &ret), 0);
	assert_int_equal((intptr_t)ret, 0);
	vfk_server_destroy(ts->srv);
	vfk_device_destroy(ts->dev);
	rmdir(ts->dir);
}

static ssize_t get_region_info(int fd, uint32_t index, void *out, size_t cap)
{
	struct vfio_region_info req = { .argsz = (uint32_t)cap, .index = index };

	return rc_call(fd, VFU_CMD_DEVICE_GET_REGION_INFO, &req, sizeof(req), NULL, 0,
		       out, cap, NULL);
}

/* One connection: the n-th allocation fails while GET_REGION_INFO is
 * handled. False once n is past the request's allocations. */
static bool server_request_fails_cleanly(long n)
{
	static uint8_t out[64 * 1024];
	struct vfu_device_info info = { .argsz = sizeof(info) };
	long before = atomic_load(&live_blocks);
	struct thread_server ts;
	bool fired;
	ssize_t r;
	int fd;

	ts_start(&ts);
	fd = rc_connect(ts.path);
	assert_true(fd >= 0);
	assert_int_equal(rc_negotiate(fd), 0);
	arm(n, true);
	r = get_region_info(fd, ts.index, out, sizeof(out));
	fired = disarm();
	if (fired) {
		assert_int_equal(r, -ENOMEM);
		/* The connection stays usable: the same request, then another. */
		r = get_region_info(fd, ts.index, out, sizeof(out));
	}
	assert_int_equal(r, (ssize_t)ref_len);
	assert_memory_equal(out, ref, ref_len);
	assert_true(rc_call(fd, VFU_CMD_DEVICE_GET_INFO, &info, sizeof(info), NULL, 0,
			    &info, sizeof(info), NULL) >= 0);
	close(fd);
	ts_stop(&ts);
	assert_int_equal(atomic_load(&live_blocks), before);
	return fired;
}

static void test_server_region_info_out_of_memory(void **state)
{
	long n = 0;

	while (server_request_fails_cleanly(n))
		n++;
	assert_true(n >= 4);
}

static int setup(void **state)
{
	vfk_log_set_level(VFK_LOG_ERROR);
	take_reference();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_region_info_out_of_memory),
		cmocka_unit_test(test_server_region_info_out_of_memory),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, NULL);
}
