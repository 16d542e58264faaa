/* SPDX-License-Identifier: MIT */
/*
 * Copies that survive a peer shrinking its memory.
 *
 * Client memory reached through DMA mappings is a MAP_SHARED view of a
 * file the client still holds. If the client truncates that file, the
 * next access to the lost pages raises SIGBUS, which would end the whole
 * process and every device in it. Sealing cannot prevent it for every
 * set-up (QEMU's memory-backend-file on hugetlbfs or tmpfs cannot be
 * sealed), so the library's own accesses go through vfk_copy_guarded():
 * a SIGBUS inside the guarded range unwinds to the copy's caller, which
 * gets -EFAULT. Internal to src/core/.
 */
#ifndef VFIOKIT_CORE_FAULT_GUARD_H
#define VFIOKIT_CORE_FAULT_GUARD_H

#include <stddef.h>

/* Internal to libvfiokit: hidden, so the library exports only what
 * include/vfiokit/ declares (src/libvfiokit.map), and calls between its
 * files need no PLT hop. */
#pragma GCC visibility push(hidden)

/*
 * Make sure the SIGBUS handler is installed (again, if someone replaced
 * it since). A SIGBUS outside a guarded copy is passed on to the handler
 * that was installed before, or ends the process as it would have.
 * 0 or -errno. Called before each new mmap of client memory, from any
 * thread (several at once).
 */
int vfk_fault_guard_install(void);

/*
 * memcpy(dst, src, n), where [peer, peer + n) is the side in client
 * memory (dst or src). 0, or -EFAULT when a page of it is gone (dst may
 * then be partly written). Faults elsewhere are not caught.
 */
int vfk_copy_guarded(void *dst, const void *src, size_t n, const void *peer);

#pragma GCC visibility pop

#endif
