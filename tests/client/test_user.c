// SPDX-License-Identifier: MIT
/* The vfio-user client against a real vfiokit server and against bad peers. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <vfiokit/client.h>
#include "fixture.h"

static struct fixture fix;

static int setup(void **state)
{
	return fixture_start(&fix);
}

static int teardown(void **state)
{
	fixture_stop(&fix);
	return 0;
}

static struct vfk_client *open_fixture(const struct vfk_client_opts *opts)
{
	struct vfk_client *c = NULL;
	char msg[256] = "";

	assert_int_equal(vfk_client_open(fix.sock, opts, &c, msg, sizeof(msg)), 0);
	assert_string_equal(vfk_client_backend(c), "vfio-user");
	return c;
}

static void test_region_info_and_mmap(void **state)
{
	struct vfk_client *c = open_fixture(NULL);
	struct vfk_region_info *ri;
	uint8_t *p;

	assert_int_equal(vfk_client_region_info(c, 0, &ri), 0);
	assert_int_equal(ri->calls, 2);
	assert_int_equal(ri->chain.count, 1);
	assert_int_equal(ri->chain.caps[0].u.sparse.nr_areas, 2);
	assert_true(ri->mmap_fd >= 0);
	p = vfk_client_region_mmap(c, ri, 0x2000, 0x1000, PROT_READ);
	assert_non_null(p);
	munmap(p, 0x1000);
	/* The hole between the areas, and a range spanning it, are refused. */
	assert_null(vfk_client_region_mmap(c, ri, 0x1000, 0x1000, PROT_READ));
	assert_int_equal(errno, EACCES);
	assert_null(vfk_client_region_mmap(c, ri, 0, 0x3000, PROT_READ));
	assert_null(vfk_client_region_mmap(c, ri, FIX_BAR0_SIZE - 0x1000, 0x2000, PROT_READ));
	assert_int_equal(errno, EINVAL);
	vfk_region_info_free(ri);

	/* The zero-size ATSD region (index 10) has caps but is never mapped. */
	assert_int_equal(vfk_client_region_info(c, 10, &ri), 0);
	assert_int_equal(ri->hdr.size, 0);
	assert_int_equal(ri->chain.count, 3);
	assert_null(vfk_client_region_mmap(c, ri, 0, 0x1000, PROT_READ));
	vfk_region_info_free(ri);

	/* CONFIG is not mappable. */
	assert_int_equal(vfk_client_region_info(c, VFIO_PCI_CONFIG_REGION_INDEX, &ri), 0);
	assert_null(vfk_client_region_mmap(c, ri, 0, 0x100, PROT_READ));
	vfk_region_info_free(ri);
	vfk_client_close(c);
}

static void test_find_region_and_config(void **state)
{
	struct vfk_client *c = open_fixture(NULL);
	uint16_t ids[2];

	assert_int_equal(vfk_client_find_region(c, 0x800010de, 1), 9);
	assert_int_equal(vfk_client_find_region(c, 0x80001014, 1), 10);
	assert_int_equal(vfk_client_find_region(c, 0x80008086, 1), -ENOENT);
	assert_int_equal(vfk_client_config_read(c, 0, ids, sizeof(ids)), 4);
	assert_int_equal(ids[0], 0x10de);
	assert_int_equal(ids[1], 0x1db1);
	vfk_client_close(c);
}

/* 3 MiB + 5 bytes through a 1 MiB max_data_xfer_size: 4 messages each way. */
static void test_large_access_split(void **state)
{
	const size_t len = (3u << 20) + 5;
	struct vfk_client_opts opts[2] = { { 0 }, { .posted_writes = true } };
	uint8_t *out = malloc(len), *in = malloc(len);

	for (int round = 0; round < 2; round++) {
		struct vfk_client *c = open_fixture(&opts[round]);
		unsigned long before;

		for (size_t i = 0; i < len; i++)
			out[i] = (uint8_t)(i * 7 + round);
		assert_int_equal(vfk_client_region_write(c, 0, 3, out, len), (ssize_t)len);
		before = *fix.bar0_reads;
		assert_int_equal(vfk_client_region_read(c, 0, 3, in, len), (ssize_t)len);
		assert_int_equal(*fix.bar0_reads - before, 4);
		assert_memory_equal(in, out, len);
		vfk_client_close(c);
	}
	free(out);
	free(in);
}

static void test_errors_from_server(void **state)
{
	struct vfk_client *c = open_fixture(NULL);
	struct vfk_region_info *ri = NULL;
	uint8_t b[8];

	assert_int_equal(vfk_client_region_info(c, 8, &ri), -EINVAL);   /* no VGA */
	assert_null(ri);
	assert_int_equal(vfk_client_region_read(c, 0, FIX_BAR0_SIZE - 4, b, 8), -EINVAL);
	/* An error reply leaves the connection usable. */
	assert_int_equal(vfk_client_region_read(c, 0, 0, b, 8), 8);
	vfk_client_close(c);
}

/* A peer that accepts and then says nothing, or says something else. */
struct bad_peer {
	int listen_fd;
	const char *says;    /* NULL: silent */
	char path[108];
};

static void *bad_peer_run(void *arg)
{
	struct bad_peer *bp = arg;
	int fd = accept(bp->listen_fd, NULL, NULL);
	char buf[256];

	if (fd >= 0 && bp->says) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0 && write(fd, bp->says, strlen(bp->says)) < 0)
			n = -1;
	}
	if (fd >= 0) {
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
	return NULL;
}

static int open_bad_peer(const char *says, int timeout_ms, char *msg, size_t len)
{
	struct bad_peer bp = { .says = says };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vfk_client_opts opts = { .timeout_ms = timeout_ms };
	struct vfk_client *c = NULL;
	pthread_t t;
	int ret;

	snprintf(bp.path, sizeof(bp.path), "%s/bad.sock", fix.dir);
	strcpy(sa.sun_path, bp.path);
	bp.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(bp.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(bp.listen_fd, 1), 0);
	assert_int_equal(pthread_create(&t, NULL, bad_peer_run, &bp), 0);
	ret = vfk_client_open(bp.path, &opts, &c, msg, len);
	assert_null(c);
	pthread_join(t, NULL);
	close(bp.listen_fd);
	unlink(bp.path);
	return ret;
}

static void test_silent_server_times_out(void **state)
{
	char msg[256] = "";

	assert_int_equal(open_bad_peer(NULL, 200, msg, sizeof(msg)), -ETIMEDOUT);
	assert_non_null(strstr(msg, "no VERSION reply within 200 ms"));
}

static void test_other_protocol(void **state)
{
	char msg[256] = "";

	assert_int_equal(open_bad_peer("HTTP/1.1 400 Bad Request\r\n\r\n", 1000, msg, sizeof(msg)),
			 -EPROTO);
	assert_non_null(strstr(msg, "does not speak vfio-user"));
}

static void test_no_such_socket(void **state)
{
	struct vfk_client *c = NULL;
	char msg[256] = "", path[128];

	snprintf(path, sizeof(path), "%s/missing.sock", fix.dir);
	assert_int_equal(vfk_client_open(path, NULL, &c, msg, sizeof(msg)), -ENOENT);
	assert_non_null(strstr(msg, "no such socket"));
	assert_int_equal(vfk_client_open(fix.dir, NULL, &c, msg, sizeof(msg)), -ENOTSOCK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_region_info_and_mmap),
		cmocka_unit_test(test_find_region_and_config),
		cmocka_unit_test(test_large_access_split),
		cmocka_unit_test(test_errors_from_server),
		cmocka_unit_test(test_silent_server_times_out),
		cmocka_unit_test(test_other_protocol),
		cmocka_unit_test(test_no_such_socket),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
