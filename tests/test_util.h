/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the cmocka tests (include after <cmocka.h>). */
#ifndef VFIOKIT_TEST_UTIL_H
#define VFIOKIT_TEST_UTIL_H

#include <dirent.h>

/* Entries of /proc/self/fd: open fds, plus the directory's own fd and . and .. */
static inline int test_count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

#endif
