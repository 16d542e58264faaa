// SPDX-License-Identifier: MIT
/*
 * 10,000 connect/kill cycles against a real server process: its fds come
 * back to where they were and its resident memory does not grow (a few
 * hundred KiB of slack for allocator noise). Suite 'slow': under
 * valgrind's slowdown this alone would take minutes.
 */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "fault_server.h"
#include "../server/raw_client.h"

#define CYCLES        10000
#define WARMUP        500
#define RSS_SLACK_KIB 512

/* Connect, send `cut` bytes of a VERSION request, hang up (RST on odd
 * cycles). false when the connection was not made. */
static bool one_cycle(const char *path, unsigned int i)
{
	static const char json[] = "{\"capabilities\":{}}";
	uint8_t msg[16 + 4 + sizeof(json)] = { 0 };
	struct vfu_hdr h = { .msg_id = 1, .command = VFU_CMD_VERSION, .msg_size = sizeof(msg) };
	size_t cuts[] = { 0, 7, 16, 20, sizeof(msg) };
	size_t cut = cuts[i % 5];
	int fd = rc_connect(path);

	if (fd < 0)
		return false;
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + 20, json, sizeof(json));
	if (cut)
		(void)send(fd, msg, cut, MSG_NOSIGNAL);
	if (i & 1) {
		struct linger l = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(fd);
	return true;
}

static struct fault_server fs;

static int stop_server(void **state)
{
	if (fs.pid > 0)
		fs_stop(&fs);
	return 0;
}

static void test_connect_kill_cycles(void **state)
{
	unsigned int connected = 0;
	long rss0, rss1;
	int fds0, fds1;

	assert_int_equal(fs_start(&fs, 1), 0);
	fds0 = fs_fd_count(&fs);   /* listening only */
	for (unsigned int i = 0; i < WARMUP; i++)
		one_cycle(fs.path[0], i);
	assert_int_equal(fs_answers_soon(&fs, 0), 0);
	rss0 = fs_rss_kib(&fs);
	assert_true(fds0 > 0 && rss0 > 0);
	for (unsigned int i = 0; i < CYCLES; i++)
		connected += one_cycle(fs.path[0], i);
	assert_int_equal(fs_answers_soon(&fs, 0), 0);
	fds1 = fs_fds_settle(&fs, fds0);
	rss1 = fs_rss_kib(&fs);
	print_message("%u of %u cycles connected; server fds %d -> %d, VmRSS %ld -> %ld KiB\n",
		      connected, CYCLES, fds0, fds1, rss0, rss1);
	assert_int_equal(connected, CYCLES);
	assert_int_equal(fds1, fds0);
	if (RSS_MEANINGFUL)
		assert_true(rss1 <= rss0 + RSS_SLACK_KIB);
	assert_int_equal(fs_stop(&fs), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_connect_kill_cycles, stop_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
