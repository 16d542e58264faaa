/* SPDX-License-Identifier: MIT */
/*
 * One client API over a vfio-user socket and a kernel VFIO device.
 * A target is a socket path, a PCI address (0000:00:03.0, bound to
 * vfio-pci) or a group path (/dev/vfio/N).
 */
#ifndef VFIOKIT_CLIENT_H
#define VFIOKIT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/vfio.h>
#include <vfiokit/capchain.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vfk_client;

struct vfk_client_opts {
	int timeout_ms;          /* vfio-user reply timeout; 0 = 5000 */
	bool posted_writes;      /* vfio-user: send region writes no-reply */
};

/** Region info with its raw answer and parsed chain; free with vfk_region_info_free(). */
struct vfk_region_info {
	struct vfio_region_info hdr;    /* argsz = the final size */
	uint8_t *raw;                   /* hdr.argsz bytes as answered */
	unsigned int calls;             /* how many requests the argsz loop took */
	int mmap_fd;                    /* vfio-user: fd for mmap, or -1; kernel: device fd */
	struct vfk_cap_chain chain;
};

/** Open a target. On error *errmsg (if not NULL) gets a one-line reason. */
int vfk_client_open(const char *target, const struct vfk_client_opts *opts,
		    struct vfk_client **out, char *errmsg, size_t errmsg_len);
void vfk_client_close(struct vfk_client *c);

/** "vfio-user" or "kernel". */
const char *vfk_client_backend(const struct vfk_client *c);

int vfk_client_device_info(struct vfk_client *c, struct vfio_device_info *info);
int vfk_client_region_info(struct vfk_client *c, uint32_t index, struct vfk_region_info **out);
void vfk_region_info_free(struct vfk_region_info *ri);
int vfk_client_irq_info(struct vfk_client *c, uint32_t index, struct vfio_irq_info *info);

ssize_t vfk_client_region_read(struct vfk_client *c, uint32_t index, uint64_t offset,
			       void *buf, size_t count);
ssize_t vfk_client_region_write(struct vfk_client *c, uint32_t index, uint64_t offset,
				const void *buf, size_t count);

/** Map [offset, offset + len) of a mappable region; NULL with errno on failure. */
void *vfk_client_region_mmap(struct vfk_client *c, const struct vfk_region_info *ri,
			     uint64_t offset, size_t len, int prot);

/** Find the first device-specific region of (type, subtype); its index or -ENOENT. */
int vfk_client_find_region(struct vfk_client *c, uint32_t type, uint32_t subtype);

int vfk_client_reset(struct vfk_client *c);

/** SET_IRQS with count eventfds (-1 to unset) for index, from start. */
int vfk_client_set_irq_eventfds(struct vfk_client *c, uint32_t index, uint32_t start,
				uint32_t count, const int *fds);

/** Map process memory [vaddr, vaddr + size) at iova for device DMA; fd may be -1. */
int vfk_client_dma_map(struct vfk_client *c, uint64_t iova, uint64_t size, void *vaddr,
		       int fd, uint64_t fd_offset);
int vfk_client_dma_unmap(struct vfk_client *c, uint64_t iova, uint64_t size);

#ifdef __cplusplus
}
#endif
#endif
