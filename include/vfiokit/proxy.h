/* SPDX-License-Identifier: MIT */
/*
 * A proxy: a device opened with the client API (client.h: a PCI function
 * bound to vfio-pci, a VFIO group, or a vfio-user socket), the target,
 * served again as a vfiokit device (a passthrough device, passthrough.h)
 * that a vfio-user server (server.h) offers to one client at a time.
 *
 * What the client sees is the target's: device info, every region's
 * flags, size and capabilities (each copied raw), IRQ info. What
 * the client does goes to the target: config space and region accesses
 * (forwarded), SET_IRQS (the client's eventfds handed to the target, so
 * interrupts reach the client without this process), DMA_MAP of memory
 * that comes with an fd (mapped here and programmed into the target:
 * type1 VFIO_IOMMU_MAP_DMA at the same IOVA, or DMA_MAP with the fd to a
 * vfio-user target), DMA_UNMAP, reset. A mappable region is mapped by the
 * client straight from the target: region info hands out the target's fd
 * (for a kernel target, a duplicate of the VFIO device fd; see no_mmap)
 * and offset, so MMIO never passes through the proxy. fd-less DMA_MAP is
 * refused (-ENOTSUP, logged): the target could not reach such memory.
 * When the client leaves, the target's interrupts are disabled, every
 * mapping is removed and the target is reset.
 *
 * Subdrivers change what the client sees: they add device-specific
 * regions (vfk_device_add_region() on vfk_proxy_device(), with their own
 * ops and add_capability hook), append capabilities to the target's
 * regions (vfk_proxy_add_caps()) and trap ranges of BARs and config space
 * (vfk_proxy_trap()): the proxy then serves those bytes itself, and
 * region info announces SPARSE_MMAP areas around trapped ranges of a
 * mappable region.
 *
 * Ownership: the proxy owns its client of the target (and with it the
 * VFIO device, group and container fds, or the socket) and the region
 * infos it read (their mmap fds, which region info lends to the server to
 * send). Eventfds and DMA fds of a request are borrowed: the target (the
 * kernel, or a vfio-user server) keeps its own references, the proxy
 * keeps none. The client's DMA memory is mapped by the device core
 * (dma.h) for as long as the mapping lives.
 *
 * Functions return 0 or a negative errno unless documented otherwise.
 * Threads: a proxy is used from one thread, the one of the server that
 * serves its device.
 */
#ifndef VFIOKIT_PROXY_H
#define VFIOKIT_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vfiokit/caps.h>
#include <vfiokit/client.h>
#include <vfiokit/device.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vfk_proxy;

/** How a proxy opens and serves its target; zeroed means the defaults. */
struct vfk_proxy_opts {
	struct vfk_client_opts client;   /* for opening the target */
	/*
	 * Serve no region as mappable: every access becomes a message the
	 * proxy forwards, and no fd of the target reaches the client. For a
	 * kernel target that fd is the VFIO device fd itself, with which a
	 * client could bypass traps and keep reaching the device after it
	 * left (docs/proxy.md, security model). Region info then lacks
	 * FLAG_MMAP and SPARSE_MMAP where the target has them.
	 */
	bool no_mmap;
};

/**
 * Open target (as vfk_client_open(): a PCI address, a group path or a
 * socket path) and build its passthrough device, named name (NULL: the
 * target). opts may be NULL. On error *errmsg gets one line naming the
 * cause and the fix (the client's reason: not bound to vfio-pci, group
 * not viable, device busy, ...).
 */
int vfk_proxy_open(const char *target, const char *name, const struct vfk_proxy_opts *opts,
		   struct vfk_proxy **out, char *errmsg, size_t errmsg_len);

/**
 * Detach every subdriver (in reverse order), destroy the device and close
 * the target. Call it once the server no longer serves the device. NULL
 * is a no-op.
 */
void vfk_proxy_close(struct vfk_proxy *proxy);

/** The device to serve (vfk_server_add_device()); owned by the proxy. */
struct vfk_device *vfk_proxy_device(struct vfk_proxy *proxy);

/**
 * The target's client, for a subdriver that reads or writes the target
 * itself (bypassing every trap); owned by the proxy.
 */
struct vfk_client *vfk_proxy_target(struct vfk_proxy *proxy);

/** The target as given to vfk_proxy_open(). */
const char *vfk_proxy_target_name(const struct vfk_proxy *proxy);

/**
 * Whether the target is gone: a vfio-user target closed the connection
 * or stopped answering (a call failed with -EPIPE or -ECONNRESET; the
 * proxy logs it once). Every request the proxy forwards fails from then
 * on; a program serving the proxy should stop. A kernel target is never
 * lost.
 */
bool vfk_proxy_target_lost(const struct vfk_proxy *proxy);

/** The target's vendor and device ID, read from its config space at open. */
uint16_t vfk_proxy_vendor_id(const struct vfk_proxy *proxy);
uint16_t vfk_proxy_device_id(const struct vfk_proxy *proxy);

/**
 * The target's own region info for index (what the proxy repeats), or
 * NULL for an index the target does not have. Owned by the proxy.
 */
const struct vfk_region_info *vfk_proxy_target_region(const struct vfk_proxy *proxy,
							uint32_t index);

/* ---- what subdrivers use ---- */

/**
 * Called on every region-info request of region index, after the target's
 * capabilities (and an earlier hook's): append with the vfk_caps_add*
 * functions only. A negative return fails the request with that errno.
 */
typedef int (*vfk_proxy_caps_fn)(struct vfk_proxy *proxy, uint32_t index,
				 struct vfk_caps *caps, void *arg);

/**
 * Append capabilities to the target's region index (a BAR, ROM, VGA or
 * one of the target's device-specific regions; not CONFIG) with fn. Regions a subdriver adds
 * itself use their own add_capability op instead. -EINVAL for an index
 * the target does not have or a NULL fn, -ENOSPC past 16 hooks.
 */
int vfk_proxy_add_caps(struct vfk_proxy *proxy, uint32_t index, vfk_proxy_caps_fn fn,
		       void *arg);

/**
 * A trap's handlers. offset is relative to the region's start and the
 * access [offset, offset + count) lies inside the trapped range (an access
 * that crosses the range's ends is split: the bytes outside go to the
 * target, or to a neighbouring trap). Return count or -errno. A NULL
 * handler lets that direction through to the target.
 */
struct vfk_proxy_trap_ops {
	ssize_t (*read)(struct vfk_proxy *proxy, uint32_t index, uint64_t offset,
			void *buf, size_t count, void *arg);
	ssize_t (*write)(struct vfk_proxy *proxy, uint32_t index, uint64_t offset,
			 const void *buf, size_t count, void *arg);
};

/**
 * Serve [offset, offset + size) of the target's region index (a BAR, ROM,
 * VGA, CONFIG or a device-specific region of the target) with ops instead
 * of the target. On a mappable region the pages holding the range are
 * left out of the mappable areas (SPARSE_MMAP), so the client's accesses
 * there arrive as messages; a region left with no mappable page loses
 * FLAG_MMAP. -EINVAL for an index the target does not have, an empty
 * range, one past the region's end, or ops without handlers; -EEXIST
 * when it overlaps another trap; -ENOSPC past 64 traps.
 */
int vfk_proxy_trap(struct vfk_proxy *proxy, uint32_t index, uint64_t offset, uint64_t size,
		   const struct vfk_proxy_trap_ops *ops, void *arg);

/* ---- subdrivers ---- */

/** A vendor/device pair a subdriver drives; VFK_PROXY_ANY_ID matches any device. */
struct vfk_proxy_id {
	uint16_t vendor;
	uint16_t device;
};

#define VFK_PROXY_ANY_ID 0xffffu

/** One option of a subdriver, given as key=value. */
struct vfk_proxy_option {
	const char *key;
	const char *def;     /* the default as text, or NULL: none (vfk_proxy_arg() gives NULL) */
	const char *help;
};

/** The options given to a subdriver, checked against its table. */
struct vfk_proxy_args;

/**
 * A subdriver: a small piece of userspace that changes the device the
 * proxy serves, as a vfio-pci variant driver does in the kernel.
 * name: how --subdriver names it; summary: one line for listings.
 * ids: the devices it drives, ending with vendor 0; NULL: any device.
 * options: its keys, ending with key NULL; NULL: none.
 * attach: set the subdriver up on proxy (add regions, caps, traps);
 * *priv is handed to detach. args are valid during the call only (copy
 * what is kept). Return 0, or a negative errno with a one-line reason in
 * err (what is wrong and how to fix it): -ENODEV when the device is not
 * one it can drive. On failure attach frees what it allocated itself;
 * regions, caps and traps it added stay, so the caller should close the
 * proxy rather than serve it.
 * detach: free what attach made; from vfk_proxy_close(), after the
 * device stopped being served and before it is destroyed (region release
 * ops run after detach). May be NULL.
 */
struct vfk_proxy_subdriver {
	const char *name;
	const char *summary;
	const struct vfk_proxy_id *ids;
	const struct vfk_proxy_option *options;
	int (*attach)(struct vfk_proxy *proxy, const struct vfk_proxy_args *args, void **priv,
		      char *err, size_t err_len);
	void (*detach)(struct vfk_proxy *proxy, void *priv);
};

/** Whether sd's id table names vendor:device (true for a NULL table). */
bool vfk_proxy_subdriver_matches(const struct vfk_proxy_subdriver *sd, uint16_t vendor,
				 uint16_t device);

/**
 * Attach sd with nkv "key=value" options. Checked first: the target's
 * vendor:device against sd's ids (-ENODEV), every key known to sd's
 * option table and given once (-EINVAL; err names the key and the known
 * ones). Then sd->attach; its error and reason are returned. Attach every
 * subdriver before the device is served.
 */
int vfk_proxy_attach(struct vfk_proxy *proxy, const struct vfk_proxy_subdriver *sd,
		     const char *const *kv, size_t nkv, char *err, size_t err_len);

/** The value given for key, else the option's default, else NULL. */
const char *vfk_proxy_arg(const struct vfk_proxy_args *args, const char *key);

/**
 * The value of key as a number (decimal, 0x hex, 0 octal): 0, -ENOENT
 * when neither given nor defaulted (*out unchanged), -EINVAL when not a
 * number, -ERANGE when it exceeds max.
 */
int vfk_proxy_arg_u64(const struct vfk_proxy_args *args, const char *key, uint64_t max,
		      uint64_t *out);

#ifdef __cplusplus
}
#endif
#endif
