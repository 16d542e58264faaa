/* SPDX-License-Identifier: MIT */
/*
 * Sparse memory behind a region: a memfd of the region's size, made with
 * vfk_shmem_create() (<vfiokit/shmem.h>). Pages cost memory only once
 * written (through mmap or pwrite); reading a hole returns zeros without
 * allocating. The same fd is handed to the peer for mmap, so mapped
 * stores and REGION_READ see the same bytes.
 */
#ifndef VFIOKIT_MODELS_MEMFD_BACKING_H
#define VFIOKIT_MODELS_MEMFD_BACKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** pread/pwrite until count bytes moved; count or a negative errno (-EIO on a short file). */
ssize_t vfk_memfd_read(int fd, void *buf, size_t count, uint64_t offset);
ssize_t vfk_memfd_write(int fd, const void *buf, size_t count, uint64_t offset);

/**
 * Map the whole memfd read-write (MAP_SHARED | MAP_NORESERVE: address
 * space only, no memory is committed): the server reads large
 * REGION_READs from it and receives large REGION_WRITEs into it. The
 * address or NULL with errno set. size must be > 0. Unmap with
 * munmap(addr, size).
 */
void *vfk_memfd_map(int fd, uint64_t size);

/**
 * Whether every page of [offset, offset + count) of a mapping from
 * vfk_memfd_map() has been written (no hole in it). Reading a hole
 * through a shared mapping would allocate the page, where pread returns
 * zeros for free, so direct reads through the mapping are for populated
 * ranges only. mincore() over the range: its cost grows with count only.
 */
bool vfk_memfd_populated(const void *map, uint64_t offset, size_t count);

/**
 * Pages of a vfk_memfd_map() mapping known to be written: a bit per
 * page, set once mincore() has found every page of a range resident. A
 * written memfd page stays until a hole is punched through the fd, so a
 * range read before is checked with a few word tests instead of another
 * mincore() walk of its page tables (~2 us per MiB here). The bits are
 * reserved address space, touched only where pages are known (no memory
 * for the rest), and set with atomic ORs.
 *
 * If the peer that holds the fd punches a hole in a known range, the next
 * direct read through the mapping allocates those pages again (zeros, as
 * the hole reads): memory the peer had written before, never more.
 */
struct vfk_memfd_written {
	uint64_t *bits;         /* NULL when not set up: every check is a mincore() */
	uint64_t pages;         /* pages covered by bits */
	unsigned int page_shift;
};

/** Set up w for a mapping of size bytes; 0 or a negative errno. */
int vfk_memfd_written_init(struct vfk_memfd_written *w, uint64_t size);

/** Release w's bits (a zeroed or released w is fine too). */
void vfk_memfd_written_free(struct vfk_memfd_written *w);

/**
 * vfk_memfd_populated() for [offset, offset + count) of map, answered from
 * w when every page there is known written; a range found written is
 * remembered. false for an empty range or one past w's end.
 */
bool vfk_memfd_written_range(struct vfk_memfd_written *w, const void *map,
			     uint64_t offset, size_t count);

/** The host page size, the unit the ATSD register window is given in. */
uint64_t vfk_host_page_size(void);

#endif
