// SPDX-License-Identifier: MIT
/*
 * The written-page bits of a memfd mapping (memfd_backing.h): a range is
 * "written" only when every page in it holds data, checking never
 * allocates a page, and a range once found written is answered from the
 * bits (a hole punched afterwards is not seen: the documented trade).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <vfiokit/shmem.h>

#include "memfd_backing.h"

#define PAGES 200u

struct fixture {
	int fd;
	uint64_t page;
	const uint8_t *map;
	struct vfk_memfd_written w;
};

static int setup(void **state)
{
	static struct fixture f;

	f.page = vfk_host_page_size();
	f.fd = vfk_shmem_create("test-written", PAGES * f.page);
	assert_true(f.fd >= 0);
	f.map = vfk_memfd_map(f.fd, PAGES * f.page);
	assert_non_null(f.map);
	assert_int_equal(vfk_memfd_written_init(&f.w, PAGES * f.page), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vfk_memfd_written_free(&f->w);
	munmap((void *)f->map, PAGES * f->page);
	close(f->fd);
	return 0;
}

/* Write pages [first, last] with a pattern. */
static void write_pages(const struct fixture *f, uint64_t first, uint64_t last)
{
	uint8_t buf[65536];

	assert_true(f->page <= sizeof(buf));
	for (uint64_t p = first; p <= last; p++) {
		memset(buf, (int)(p + 1), f->page);
		assert_int_equal(vfk_memfd_write(f->fd, buf, f->page, p * f->page),
				 (ssize_t)f->page);
	}
}

static void punch(const struct fixture *f, uint64_t page)
{
	assert_int_equal(fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				   (off_t)(page * f->page), (off_t)f->page), 0);
}

/* Pages of memory the memfd holds. */
static uint64_t resident_pages(const struct fixture *f)
{
	struct stat st;

	assert_int_equal(fstat(f->fd, &st), 0);
	return (uint64_t)st.st_blocks * 512 / f->page;
}

static bool written(struct fixture *f, uint64_t first_page, uint64_t npages)
{
	return vfk_memfd_written_range(&f->w, f->map, first_page * f->page,
				       (size_t)(npages * f->page));
}

static void test_holes_are_not_written_and_stay_holes(void **state)
{
	struct fixture *f = *state;

	assert_false(written(f, 0, PAGES));
	assert_false(written(f, 10, 1));
	assert_int_equal(resident_pages(f), 0);
	write_pages(f, 1, 3);
	assert_true(written(f, 1, 3));
	/* Sub-page ranges inside written pages. */
	assert_true(vfk_memfd_written_range(&f->w, f->map, f->page + 5, 17));
	assert_false(written(f, 0, 4));        /* page 0 is a hole */
	assert_false(written(f, 3, 2));        /* page 4 is a hole */
	assert_int_equal(resident_pages(f), 3);
}

static void test_known_range_answered_from_bits(void **state)
{
	struct fixture *f = *state;

	write_pages(f, 60, 70);                /* across the first word's end */
	assert_true(written(f, 60, 11));
	punch(f, 65);
	assert_false(vfk_memfd_populated(f->map, 65 * f->page, (size_t)f->page));
	assert_true(written(f, 60, 11));       /* remembered */
	assert_true(written(f, 65, 1));
	assert_false(written(f, 59, 12));      /* page 59 was never written */
	/* A range partly known, the rest written since: found and remembered. */
	write_pages(f, 71, 72);
	assert_true(written(f, 68, 5));
	punch(f, 72);
	assert_true(written(f, 72, 1));
}

static void test_whole_words(void **state)
{
	struct fixture *f = *state;

	write_pages(f, 64, 127);
	assert_true(written(f, 64, 64));
	punch(f, 64);
	punch(f, 127);
	assert_true(written(f, 64, 64));
	assert_false(written(f, 63, 65));
	assert_false(written(f, 64, 65));
}

static void test_bounds(void **state)
{
	struct fixture *f = *state;

	write_pages(f, PAGES - 1, PAGES - 1);
	assert_true(written(f, PAGES - 1, 1));
	assert_false(written(f, PAGES - 1, 2));
	assert_false(written(f, PAGES, 1));
	assert_false(vfk_memfd_written_range(&f->w, f->map, 0, 0));
	assert_false(vfk_memfd_written_range(&f->w, f->map, UINT64_MAX - 1, 4));
}

/* Without bits every check is a mincore(): a punched hole is seen. */
static void test_without_bits(void **state)
{
	struct fixture *f = *state;
	struct vfk_memfd_written none;

	memset(&none, 0, sizeof(none));
	none.page_shift = (unsigned int)__builtin_ctzll(f->page);
	write_pages(f, 150, 151);
	assert_true(vfk_memfd_written_range(&none, f->map, 150 * f->page,
					    (size_t)(2 * f->page)));
	punch(f, 151);
	assert_false(vfk_memfd_written_range(&none, f->map, 150 * f->page,
					     (size_t)(2 * f->page)));
	vfk_memfd_written_free(&none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_holes_are_not_written_and_stay_holes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_range_answered_from_bits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_whole_words, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_bits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
