// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memfd_backing.h"

int vfk_memfd_open(const char *name, uint64_t size)
{
	int fd;

	if (size > (uint64_t)INT64_MAX)
		return -EINVAL;
	fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

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

const void *vfk_memfd_map_ro(int fd, uint64_t size)
{
	void *p;

	if (size == 0 || size > SIZE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED | MAP_NORESERVE, fd, 0);
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

uint64_t vfk_host_page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (uint64_t)ps : 4096;
}
