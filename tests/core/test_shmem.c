// SPDX-License-Identifier: MIT
/*
 * Device memory (vfiokit/shmem.h): created sealed so that whoever holds
 * the fd can neither resize it nor seal it further, yet can write it
 * through pwrite and a shared mapping; scrubbed back to zeros (and no
 * memory) through pread and through a mapping made before the scrub.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <vfiokit/shmem.h>

#define PAGES 8

static long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

static void test_create_sealed(void **state)
{
	const off_t size = PAGES * page_size();
	int fd = vfk_shmem_create("test-shmem", (uint64_t)size);
	struct stat st;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_size == size);
	assert_int_equal(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* Neither shrinking nor growing, through ftruncate or fallocate. */
	assert_int_equal(ftruncate(fd, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(fd, size * 2), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(fallocate(fd, 0, size, page_size()), -1);
	assert_int_equal(errno, EPERM);
	/* No seal that would lock writers out can be added. */
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_size == size);
	close(fd);
}

static void test_create_sizes(void **state)
{
	int fd = vfk_shmem_create("test-shmem-empty", 0);
	struct stat st;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(ftruncate(fd, 1), -1);
	assert_int_equal(vfk_shmem_scrub(fd), 0);
	close(fd);
	/* Sparse: a size far beyond memory costs nothing until written. */
	fd = vfk_shmem_create("test-shmem-big", 1ull << 40);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vfk_shmem_create("test-shmem", (uint64_t)INT64_MAX + 1), -EINVAL);
	assert_int_equal(vfk_shmem_create(NULL, 4096), -EINVAL);
}

static void test_scrub(void **state)
{
	const size_t size = (size_t)(PAGES * page_size());
	int fd = vfk_shmem_create("test-shmem", size);
	uint8_t buf[64], zeros[sizeof(buf)] = { 0 };
	uint8_t *map;
	struct stat st;

	assert_true(fd >= 0);
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	memset(map, 0x5a, size);
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(pwrite(fd, buf, sizeof(buf), (off_t)size - (off_t)sizeof(buf)),
			 sizeof(buf));
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_blocks > 0);

	assert_int_equal(vfk_shmem_scrub(fd), 0);
	/* No memory left, same size; zeros through pread, then through the
	 * mapping made before (reading there allocates zeroed pages again). */
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_size == (off_t)size);
	assert_int_equal(st.st_blocks, 0);
	assert_int_equal(pread(fd, buf, sizeof(buf), (off_t)size - (off_t)sizeof(buf)),
			 sizeof(buf));
	assert_memory_equal(buf, zeros, sizeof(buf));
	for (size_t i = 0; i < size; i++)
		assert_int_equal(map[i], 0);
	/* Still device memory: writable and sealed as before. */
	map[1] = 7;
	assert_int_equal(pread(fd, buf, 2, 0), 2);
	assert_int_equal(buf[1], 7);
	assert_int_equal(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	munmap(map, size);
	close(fd);
}

static void test_scrub_errors(void **state)
{
	int fd = memfd_create("test-shmem-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_int_equal(vfk_shmem_scrub(-1), -EBADF);
	/* Write-sealed memory cannot be punched: the error says so. */
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, page_size()), 0);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
	assert_int_equal(vfk_shmem_scrub(fd), -EPERM);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_sealed),
		cmocka_unit_test(test_create_sizes),
		cmocka_unit_test(test_scrub),
		cmocka_unit_test(test_scrub_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
