/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the cmocka tests (include after <cmocka.h>). */
#ifndef VFIOKIT_TEST_UTIL_H
#define VFIOKIT_TEST_UTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

/* Bytes of every mmap in this process of files whose /proc/self/maps name
 * contains name (a memfd: "memfd:NAME"). */
static inline uint64_t test_mapped_bytes(const char *name)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t total = 0;

	assert_non_null(maps);
	while (fgets(line, sizeof(line), maps)) {
		unsigned long long lo, hi;

		if (strstr(line, name) && sscanf(line, "%llx-%llx", &lo, &hi) == 2)
			total += hi - lo;
	}
	fclose(maps);
	return total;
}

/* Whether RSS figures are the plain allocator's to judge: not under ASan
 * (its quarantine keeps freed memory) nor valgrind (its own allocator). */
static inline bool test_plain_allocator(void)
{
	const char *preload = getenv("LD_PRELOAD");

#if defined(__SANITIZE_ADDRESS__)
	return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return false;
#endif
#endif
	return !(preload && strstr(preload, "vgpreload"));
}

#endif
