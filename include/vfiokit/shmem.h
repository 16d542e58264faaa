/* SPDX-License-Identifier: MIT */
/*
 * Device memory a model hands to clients as an fd (region info of a
 * mappable region): a memfd whose size the device owns.
 *
 * A client that receives the fd can do with it what the file allows. An
 * unsealed memfd lets it ftruncate the device's memory away under the
 * device (reads then fail, or fault in a mapping, while region info still
 * reports the old size), or add F_SEAL_WRITE and lock everyone out of
 * writing. So the fd is sealed against shrinking and growing, and the
 * seals themselves are sealed, before anyone else sees it; writing and
 * punching holes stay allowed, as for memory. And what one client wrote
 * must not reach the next: vfk_shmem_scrub() empties it between clients.
 */
#ifndef VFIOKIT_SHMEM_H
#define VFIOKIT_SHMEM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Create device memory: a close-on-exec memfd called `name` (for
 * /proc/PID/fd and logs; at most 249 bytes) of `size` bytes (0 allowed),
 * sparse (pages cost memory once written), sealed with F_SEAL_SHRINK,
 * F_SEAL_GROW and F_SEAL_SEAL. Returns the fd, owned by the caller (close
 * it), or a negative errno: -EINVAL for a NULL name or a size past
 * INT64_MAX, else what memfd_create, ftruncate or F_ADD_SEALS returned;
 * on error nothing is left open.
 */
int vfk_shmem_create(const char *name, uint64_t size);

/**
 * Empty device memory: punch the whole file out (FALLOC_FL_PUNCH_HOLE,
 * size kept), so every byte reads 0 again, through pread and through any
 * mapping of it, the device's and every client's, and the pages' memory
 * is freed. For an fd from vfk_shmem_create() (the fd stays the
 * caller's). 0 or a negative errno: what fstat or fallocate returned
 * (-EPERM when the file is write-sealed, -EOPNOTSUPP for a file that
 * cannot punch holes).
 */
int vfk_shmem_scrub(int fd);

#ifdef __cplusplus
}
#endif
#endif
