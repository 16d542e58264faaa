/* SPDX-License-Identifier: MIT */
/*
 * The client's private side: a backend ops table behind struct
 * vfk_client. client.c holds what is common (the region-info argsz loop,
 * mmap checks, find_region); each backend does one request per call.
 */
#ifndef VFIOKIT_CLIENT_INTERNAL_H
#define VFIOKIT_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vfiokit/client.h>

/* Internal to libvfiokit: hidden, so the library exports only what
 * include/vfiokit/ declares (src/libvfiokit.map), and calls between its
 * files need no PLT hop. */
#pragma GCC visibility push(hidden)

/* Region-info answers larger than this are refused (the core's cap limit is 64 KiB). */
#define VFK_REGION_INFO_MAX  (64u * 1024u + 32u)
/* The argsz loop gives up after this many requests. */
#define VFK_REGION_INFO_MAX_CALLS  8u
/* Most vectors one SET_IRQS names (vfk_client_set_irqs). */
#define VFK_CLIENT_MAX_IRQ_SET  4096u

struct vfk_client_ops {
	const char *name;
	void (*close)(struct vfk_client *c);
	int (*device_info)(struct vfk_client *c, struct vfio_device_info *info);
	/*
	 * One GET_REGION_INFO with argsz = len into buf. *got = bytes of the
	 * answer actually received (<= len); *fd = an fd the caller now owns
	 * for mmap, or -1.
	 */
	int (*region_info)(struct vfk_client *c, uint32_t index, void *buf, uint32_t len,
			   size_t *got, int *fd);
	int (*irq_info)(struct vfk_client *c, struct vfio_irq_info *info);
	ssize_t (*region_read)(struct vfk_client *c, uint32_t index, uint64_t offset,
			       void *buf, size_t count);
	ssize_t (*region_write)(struct vfk_client *c, uint32_t index, uint64_t offset,
				const void *buf, size_t count);
	int (*reset)(struct vfk_client *c);
	int (*set_irqs)(struct vfk_client *c, uint32_t index, uint32_t start, uint32_t count,
			const int *fds);
	/* Any SET_IRQS, checked by client.c: data holds count elements. */
	int (*set_irqs_raw)(struct vfk_client *c, const struct vfio_irq_set *set,
			    const void *data, size_t data_len);
	/* prot: VFK_DMA_READ | VFK_DMA_WRITE, checked by client.c. */
	int (*dma_map)(struct vfk_client *c, uint64_t iova, uint64_t size, void *vaddr,
		       int fd, uint64_t fd_offset, uint32_t prot);
	int (*dma_unmap)(struct vfk_client *c, uint64_t iova, uint64_t size);
	/* Optional: a pipelined vfk_client_dma_batch (checked ops); NULL
	 * means one dma_map/dma_unmap after the other. */
	int (*dma_batch)(struct vfk_client *c, struct vfk_client_dma_op *ops, size_t n);
};

/* Embedded first in each backend's own state. */
struct vfk_client {
	const struct vfk_client_ops *ops;
	struct vfk_client_opts opts;
};

/* Backends' constructors; errmsg gets a one-line reason on failure. */
int vfk_kernel_open_pci(const char *pci_addr, const struct vfk_client_opts *opts,
			struct vfk_client **out, char *errmsg, size_t errmsg_len);
int vfk_kernel_open_group(const char *group_path, const struct vfk_client_opts *opts,
			  struct vfk_client **out, char *errmsg, size_t errmsg_len);
int vfk_user_open(const char *socket_path, const struct vfk_client_opts *opts,
		  struct vfk_client **out, char *errmsg, size_t errmsg_len);

/* printf into errmsg (if not NULL) and return err. */
int vfk_client_fail(char *errmsg, size_t errmsg_len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#pragma GCC visibility pop

#endif
