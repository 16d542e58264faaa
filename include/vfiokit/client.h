/* SPDX-License-Identifier: MIT */
/*
 * One client API over a vfio-user socket and a kernel VFIO device.
 * A target is a socket path, a PCI address (0000:00:03.0 or 00:03.0,
 * bound to vfio-pci) or a group path (/dev/vfio/N).
 *
 * Functions return 0 (or a byte count) on success and a negative errno on
 * failure unless documented otherwise. A client is used from one thread.
 * Everything a peer answers is validated before use: a malformed answer
 * is -EPROTO, a vfio-user server that does not answer within the timeout
 * is -ETIMEDOUT.
 */
#ifndef VFIOKIT_CLIENT_H
#define VFIOKIT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/vfio.h>
#include <vfiokit/capchain.h>
#include <vfiokit/dma.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vfk_client;

struct vfk_client_opts {
	/* vfio-user: one deadline per call for all its messages (chunks of a
	 * split access, a batch's ops, answers to the server's DMA). */
	int timeout_ms;          /* vfio-user reply timeout; 0 = 5000 */
	bool posted_writes;      /* vfio-user: send region writes no-reply */
};

/** Region info with its raw answer and parsed chain; free with vfk_region_info_free(). */
struct vfk_region_info {
	struct vfio_region_info hdr;    /* argsz = the final size */
	uint8_t *raw;                   /* the final answer, hdr.argsz bytes (owned) */
	unsigned int calls;             /* how many requests the argsz loop took */
	/*
	 * The fd to mmap at hdr.offset (owned; -1 when none): vfio-user, the
	 * fd the server sent; kernel, a dup of the device fd.
	 */
	int mmap_fd;
	/* 0, or -EPROTO when the chain was malformed: chain is then empty. */
	int chain_status;
	char chain_error[128];          /* why, when chain_status != 0 */
	struct vfk_cap_chain chain;     /* points into raw */
};

/**
 * Open a target. On error *errmsg (if not NULL) gets a one-line reason
 * naming the cause: no such socket or device, permission denied, group
 * not viable, device bound to another driver (named), a peer that does
 * not speak vfio-user. A vfio-user device that has a client already is
 * -EBUSY ("PATH: device busy: another client is attached"), as is a
 * kernel group in use. opts may be NULL for the defaults.
 */
int vfk_client_open(const char *target, const struct vfk_client_opts *opts,
		    struct vfk_client **out, char *errmsg, size_t errmsg_len);

/** Close the connection or the device/group/container fds and free. NULL is a no-op. */
void vfk_client_close(struct vfk_client *c);

/** "vfio-user" or "kernel". */
const char *vfk_client_backend(const struct vfk_client *c);

/** VFIO_DEVICE_GET_INFO: flags, num_regions, num_irqs (cap_offset is 0). */
int vfk_client_device_info(struct vfk_client *c, struct vfio_device_info *info);

/**
 * VFIO_DEVICE_GET_REGION_INFO with the argsz-growing loop: ask with 32
 * bytes, then with the argsz the answer asks for, again while it changes
 * (at most 8 requests, at most 64 KiB + 32). The chain is parsed with
 * vfk_capchain_parse(). *out is owned by the caller.
 */
int vfk_client_region_info(struct vfk_client *c, uint32_t index, struct vfk_region_info **out);

/** Free a region info, closing its mmap fd. NULL is a no-op. */
void vfk_region_info_free(struct vfk_region_info *ri);

/** VFIO_DEVICE_GET_IRQ_INFO for index: flags and count. */
int vfk_client_irq_info(struct vfk_client *c, uint32_t index, struct vfio_irq_info *info);

/**
 * Read or write count bytes at offset of region index. vfio-user splits
 * accesses larger than the server's max_data_xfer_size; with
 * posted_writes, writes are sent no-reply. Returns count or -errno.
 */
ssize_t vfk_client_region_read(struct vfk_client *c, uint32_t index, uint64_t offset,
			       void *buf, size_t count);
ssize_t vfk_client_region_write(struct vfk_client *c, uint32_t index, uint64_t offset,
				const void *buf, size_t count);

/** PCI config space read: a read of region VFIO_PCI_CONFIG_REGION_INDEX. */
ssize_t vfk_client_config_read(struct vfk_client *c, uint64_t offset, void *buf, size_t count);

/**
 * Map [offset, offset + len) of a region (offset relative to the region)
 * through ri->mmap_fd at ri->hdr.offset + offset: the reported offset,
 * never a computed one. Refused (NULL, errno EINVAL) for regions without
 * FLAG_MMAP, of size 0, or ranges past the end; with a SPARSE_MMAP cap,
 * only a range inside one listed area is allowed (else EACCES). Undo with
 * munmap(). NULL with errno on failure.
 */
void *vfk_client_region_mmap(struct vfk_client *c, const struct vfk_region_info *ri,
			     uint64_t offset, size_t len, int prot);

/** Find the first device-specific region of (type, subtype); its index or -ENOENT. */
int vfk_client_find_region(struct vfk_client *c, uint32_t type, uint32_t subtype);

/** VFIO_DEVICE_RESET. */
int vfk_client_reset(struct vfk_client *c);

/**
 * VFIO_DEVICE_SET_IRQS, ACTION_TRIGGER with DATA_EVENTFD: count eventfds
 * (-1 to unset a vector) for index, from start. count 0 with fds NULL
 * disables the index. The caller keeps its fds.
 */
int vfk_client_set_irq_eventfds(struct vfk_client *c, uint32_t index, uint32_t start,
				uint32_t count, const int *fds);

/**
 * VFIO_DEVICE_SET_IRQS as given: any action and data type (MASK/UNMASK,
 * BOOL, an UNMASK eventfd for INTx resampling). data holds set->count
 * elements of the data type (u8 for BOOL, s32 fds for EVENTFD, none for
 * NONE) in data_len bytes; set->argsz is ignored. Eventfds of -1 drop a
 * vector's eventfd. The caller keeps its fds. -EINVAL for an unknown
 * flag, not exactly one data type, count above 4096 or data_len short.
 */
int vfk_client_set_irqs(struct vfk_client *c, const struct vfio_irq_set *set,
			const void *data, size_t data_len);

/**
 * Make [vaddr, vaddr + size) of this process visible to the device at
 * iova, readable and writable. vfio-user: with fd >= 0 the server maps
 * fd at fd_offset (the caller keeps fd); with fd -1 the server reaches
 * the memory with DMA_READ/DMA_WRITE messages, which this client answers
 * from vaddr while it waits for its own replies. Kernel: a type1 map of
 * vaddr (fd ignored). vaddr must stay valid until unmapped.
 */
int vfk_client_dma_map(struct vfk_client *c, uint64_t iova, uint64_t size, void *vaddr,
		       int fd, uint64_t fd_offset);

/**
 * vfk_client_dma_map() with the access the device gets: prot is
 * VFK_DMA_READ and/or VFK_DMA_WRITE (dma.h); -EINVAL for 0 or other bits.
 * A read-only mapping of memory the client may only read (QEMU maps ROM
 * so) works where a READ|WRITE one would be refused.
 */
int vfk_client_dma_map_prot(struct vfk_client *c, uint64_t iova, uint64_t size, void *vaddr,
			    int fd, uint64_t fd_offset, uint32_t prot);

/** Remove the mapping that is exactly [iova, iova + size). */
int vfk_client_dma_unmap(struct vfk_client *c, uint64_t iova, uint64_t size);

/** One DMA_MAP or DMA_UNMAP of vfk_client_dma_batch(). */
struct vfk_client_dma_op {
	bool unmap;            /* false: map as vfk_client_dma_map; true: unmap */
	uint64_t iova;
	uint64_t size;
	void *vaddr;           /* map only */
	int fd;                /* map only; -1 for none */
	uint64_t fd_offset;    /* map only */
	int result;            /* out: 0 or this operation's -errno */
};

/**
 * Apply n maps and unmaps in order, each with the meaning of
 * vfk_client_dma_map/unmap. vfio-user: the requests go out without
 * waiting for each reply (up to 16 in flight, as QEMU sends DMA requests
 * inside a memory transaction) and the replies are collected in order, so
 * a batch costs about one round trip rather than n. Kernel: one ioctl
 * after the other. Every op gets its result; returns 0 when all
 * succeeded, else the first failure's -errno. -EINVAL, with nothing
 * sent, when a map has neither vaddr nor fd or a range is empty or wraps.
 * After a transport failure (timeout, closed stream) the later ops fail too.
 */
int vfk_client_dma_batch(struct vfk_client *c, struct vfk_client_dma_op *ops, size_t n);

#ifdef __cplusplus
}
#endif
#endif
