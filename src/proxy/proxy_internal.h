/* SPDX-License-Identifier: MIT */
/*
 * The proxy's private state, shared by the files of src/proxy/: proxy.c
 * (open, close, the target's answers), regions.c (the target's regions
 * as the device's, their caps and mappable areas), traps.c (ranges a
 * subdriver serves), config.c (config space), irqs.c, dma.c, and
 * subdriver.c (attaching subdrivers, their options).
 */
#ifndef VFIOKIT_PROXY_INTERNAL_H
#define VFIOKIT_PROXY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <vfiokit/passthrough.h>
#include <vfiokit/proxy.h>
#include <vfiokit/region.h>

#pragma GCC visibility push(hidden)

#define PROXY_MAX_TRAPS 64u
#define PROXY_MAX_CAPS_HOOKS 16u
#define PROXY_MAX_SUBDRIVERS 16u

struct proxy_trap {
	uint32_t index;
	uint64_t offset;
	uint64_t last;                      /* inclusive */
	const struct vfk_proxy_trap_ops *ops;
	void *arg;
};

struct proxy_caps_hook {
	uint32_t index;
	vfk_proxy_caps_fn fn;
	void *arg;
};

struct proxy_subdriver {
	const struct vfk_proxy_subdriver *sd;
	void *priv;
};

struct vfk_proxy {
	char *target_name;
	struct vfk_client *target;
	bool kernel;                        /* the target is a kernel VFIO device */
	bool no_mmap;                       /* vfk_proxy_opts.no_mmap */
	bool lost;                          /* vfk_proxy_target_lost() */
	struct vfk_device *dev;
	struct vfio_device_info info;       /* the target's */
	struct vfk_region_info **regions;   /* the target's, info.num_regions; NULL: absent */
	uint16_t vendor_id, device_id;
	uint64_t page_size;
	struct proxy_trap traps[PROXY_MAX_TRAPS];
	unsigned int nr_traps;
	struct proxy_caps_hook hooks[PROXY_MAX_CAPS_HOOKS];
	unsigned int nr_hooks;
	struct proxy_subdriver subs[PROXY_MAX_SUBDRIVERS];
	unsigned int nr_subs;
};

/* proxy.c: the proxy behind a device it built. */
struct vfk_proxy *proxy_of(struct vfk_device *dev);
/* A target call's result, passed through; notes (and logs once) a target gone. */
long proxy_target_ret(struct vfk_proxy *p, long ret);

/* regions.c: give dev every region of the target. */
int proxy_regions_build(struct vfk_proxy *p, char *errmsg, size_t errmsg_len);

/* traps.c: an access of region index, split between traps and the target. */
ssize_t proxy_access(struct vfk_proxy *p, uint32_t index, uint64_t offset, void *buf,
		     size_t count, bool write);
/* Whether a trap lies in [offset, last] of region index. */
bool proxy_trapped(const struct vfk_proxy *p, uint32_t index, uint64_t offset, uint64_t last);

/* config.c, irqs.c, dma.c: the passthrough hooks. */
ssize_t proxy_config_read(struct vfk_device *dev, void *buf, size_t count, uint64_t offset);
ssize_t proxy_config_write(struct vfk_device *dev, const void *buf, size_t count,
			   uint64_t offset);
int proxy_set_irqs(struct vfk_device *dev, const struct vfio_irq_set *set, const void *data,
		   size_t data_len);
void proxy_irqs_off(struct vfk_device *dev);
int proxy_dma_map(struct vfk_device *dev, const struct vfk_dma_region *r, int fd,
		  uint64_t fd_offset);
void proxy_dma_unmap(struct vfk_device *dev, const struct vfk_dma_region *r);

/* subdriver.c: detach every subdriver, the last attached first. */
void proxy_subdrivers_detach(struct vfk_proxy *p);

#pragma GCC visibility pop

#endif
