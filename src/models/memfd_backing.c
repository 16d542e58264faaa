// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memfd_backing.h"

/* The whole count at offset, retrying short transfers and EINTR. */
static ssize_t memfd_rw(int fd, void *buf, size_t count, uint64_t offset, bool write)
{
	size_t done = 0;

	while (done < count) {
		uint8_t *p = (uint8_t *)buf + done;
		off_t at = (off_t)(offset + done);
		ssize_t n = write ? pwrite(fd, p, count - done, at) : pread(fd, p, count - done, at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return (ssize_t)count;
}

ssize_t vfk_memfd_read(int fd, void *buf, size_t count, uint64_t offset)
{
	return memfd_rw(fd, buf, count, offset, false);
}

ssize_t vfk_memfd_write(int fd, const void *buf, size_t count, uint64_t offset)
{
	/* pwrite only reads buf: the cast serves the shared helper. */
	return memfd_rw(fd, (void *)buf, count, offset, true);
}

void *vfk_memfd_map(int fd, uint64_t size)
{
	void *p;

	if (size == 0 || size > SIZE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

bool vfk_memfd_populated(const void *map, uint64_t offset, size_t count)
{
	const uintptr_t page = (uintptr_t)vfk_host_page_size();
	uintptr_t at = ((uintptr_t)map + (uintptr_t)offset) & ~(page - 1);
	const uintptr_t end = (uintptr_t)map + (uintptr_t)offset + count;
	unsigned char resident[256];

	while (at < end) {
		size_t pages = (end - at + page - 1) / page;

		if (pages > sizeof(resident))
			pages = sizeof(resident);
		if (mincore((void *)at, pages * page, resident) < 0)
			return false;
		for (size_t i = 0; i < pages; i++) {
			if (!(resident[i] & 1))
				return false;
		}
		at += pages * page;
	}
	return true;
}

int vfk_memfd_written_init(struct vfk_memfd_written *w, uint64_t size)
{
	const uint64_t page = vfk_host_page_size();
	uint64_t words;
	void *bits;

	w->bits = NULL;
	w->pages = 0;
	w->page_shift = (unsigned int)__builtin_ctzll(page);
	if (size == 0 || size > SIZE_MAX)
		return -EINVAL;
	w->pages = (size + page - 1) >> w->page_shift;
	words = (w->pages + 63) / 64;
	/* Address space only: a page of bits gets memory once a bit in it is set. */
	bits = mmap(NULL, (size_t)(words * sizeof(uint64_t)), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (bits == MAP_FAILED) {
		w->pages = 0;
		return -errno;
	}
	w->bits = bits;
	return 0;
}

void vfk_memfd_written_free(struct vfk_memfd_written *w)
{
	if (w->bits)
		munmap(w->bits, (size_t)((w->pages + 63) / 64 * sizeof(uint64_t)));
	w->bits = NULL;
	w->pages = 0;
}

/* Bits [from % 64, to % 64] of a word, from and to in the same word. */
static uint64_t word_mask(uint64_t from, uint64_t to)
{
	uint64_t hi = to % 64 == 63 ? ~0ull : (1ull << (to % 64 + 1)) - 1;

	return hi & ~((1ull << (from % 64)) - 1);
}

/* Whether pages [first, last] all have their bit set. */
static bool pages_known(const struct vfk_memfd_written *w, uint64_t first, uint64_t last)
{
	for (uint64_t p = first; p <= last; p = (p | 63) + 1) {
		uint64_t end = (p | 63) < last ? (p | 63) : last, mask = word_mask(p, end);

		if ((__atomic_load_n(&w->bits[p / 64], __ATOMIC_RELAXED) & mask) != mask)
			return false;
	}
	return true;
}

static void pages_mark(struct vfk_memfd_written *w, uint64_t first, uint64_t last)
{
	for (uint64_t p = first; p <= last; p = (p | 63) + 1) {
		uint64_t end = (p | 63) < last ? (p | 63) : last;

		__atomic_fetch_or(&w->bits[p / 64], word_mask(p, end), __ATOMIC_RELAXED);
	}
}

bool vfk_memfd_written_range(struct vfk_memfd_written *w, const void *map,
			     uint64_t offset, size_t count)
{
	uint64_t first, last;

	if (count == 0 || offset + count < offset)
		return false;
	first = offset >> w->page_shift;
	last = (offset + count - 1) >> w->page_shift;
	if (!w->bits)
		return vfk_memfd_populated(map, offset, count);
	if (last >= w->pages)
		return false;
	if (pages_known(w, first, last))
		return true;
	if (!vfk_memfd_populated(map, offset, count))
		return false;
	pages_mark(w, first, last);
	return true;
}

uint64_t vfk_host_page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (uint64_t)ps : 4096;
}
