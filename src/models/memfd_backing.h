/* SPDX-License-Identifier: MIT */
/*
 * Sparse memory behind a region: a memfd truncated to the region's size.
 * Pages cost memory only once written (through mmap or pwrite); reading
 * a hole returns zeros without allocating. The same fd is handed to the
 * peer for mmap, so mapped stores and REGION_READ see the same bytes.
 */
#ifndef VFIOKIT_MODELS_MEMFD_BACKING_H
#define VFIOKIT_MODELS_MEMFD_BACKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** A new close-on-exec memfd of size bytes; the fd or a negative errno. */
int vfk_memfd_open(const char *name, uint64_t size);

/** pread/pwrite until count bytes moved; count or a negative errno (-EIO on a short file). */
ssize_t vfk_memfd_read(int fd, void *buf, size_t count, uint64_t offset);
ssize_t vfk_memfd_write(int fd, const void *buf, size_t count, uint64_t offset);

/**
 * Map the whole memfd read-only (MAP_SHARED | MAP_NORESERVE: address space
 * only, no memory is committed); the address or NULL with errno set.
 * size must be > 0. Unmap with munmap(addr, size).
 */
const void *vfk_memfd_map_ro(int fd, uint64_t size);

/**
 * Whether every page of [offset, offset + count) of a mapping from
 * vfk_memfd_map_ro() has been written (no hole in it). Reading a hole
 * through a shared mapping would allocate the page, where pread returns
 * zeros for free, so direct reads through the mapping are for populated
 * ranges only. mincore() over the range: its cost grows with count only.
 */
bool vfk_memfd_populated(const void *map, uint64_t offset, size_t count);

/** The host page size, the unit the ATSD register window is given in. */
uint64_t vfk_host_page_size(void);

#endif
