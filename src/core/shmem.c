// SPDX-License-Identifier: MIT
/* Device memory handed to clients: sealed memfds, scrubbed between clients. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vfiokit/shmem.h>

/*
 * F_SEAL_SEAL too: without it a client could add F_SEAL_WRITE or
 * F_SEAL_FUTURE_WRITE to the device's memory and no one could write it
 * again, the device and later clients included.
 */
#define SHMEM_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

int vfk_shmem_create(const char *name, uint64_t size)
{
	int fd;

	if (!name || size > (uint64_t)INT64_MAX)
		return -EINVAL;
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS, SHMEM_SEALS) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int vfk_shmem_scrub(int fd)
{
	struct stat st;
	int ret;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size == 0)
		return 0;
	do {
		ret = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, st.st_size);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}
