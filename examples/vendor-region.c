// SPDX-License-Identifier: MIT
/*
 * vendor-region: the smallest vfiokit device with a device-specific region.
 *
 *   vendor-region SOCKET
 *
 * A PCI function with one BAR of registers and one device-specific region
 * (index 9) whose add_capability hook appends a capability of its own to
 * the region-info answer, after the TYPE capability the library adds to
 * every device-specific region. The region here is a small "info page" a
 * driver reads and may scribble on; the capability tells the driver the
 * page's layout version and how often it was written since the client
 * came, so it is rebuilt on every region-info request.
 *
 * Build against an installed libvfiokit:
 *   cc -Wall -Wextra -o vendor-region vendor-region.c $(pkg-config --cflags --libs libvfiokit)
 * Look at it:
 *   ./vendor-region /tmp/vr.sock &
 *   vfiokit info /tmp/vr.sock -vv
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/vfiokit.h>

/* A vendor id from the PCI SIG's list and a device id of our choosing;
 * a real device uses its vendor's ids. */
#define EX_VENDOR     0x1af4u
#define EX_DEVICE     0x10f1u
#define EX_CLASS      0xff0000u     /* unclassified device */

#define EX_BAR0_SIZE  0x1000u
#define EX_REG_ID     0x00u         /* RO: EX_ID */
#define EX_REG_SCRATCH 0x04u        /* RW: any value, reads back */
#define EX_ID         0x56464b41u   /* "AKFV" in memory order */

#define EX_INFO_SIZE  0x1000u       /* the device-specific region */
#define EX_INFO_SUBTYPE 1u          /* our numbering within our vendor type */

/*
 * The capability. VFIO has no range of ids set aside for vendors, so a
 * device and its driver agree on one that the kernel does not use (it uses
 * 1 to 5 today). A client that does not know the id still walks past it:
 * every capability carries the offset of the next one.
 */
#define EX_CAP_ID      0xf001u
#define EX_CAP_VERSION 1u
#define EX_CAP_MAGIC   0x50414358u  /* "XCAP" in memory order */

/* The capability's body, after the 8-byte header the library writes.
 * Fixed-width fields in little endian, as a driver reads them. */
struct ex_info_cap {
	uint32_t magic;
	uint16_t layout;       /* version of the info page's layout */
	uint16_t reserved;
	uint32_t writes;       /* writes to the info page by this client */
	uint32_t page_size;
};

struct ex_state {
	uint32_t scratch;
	uint32_t writes;
	uint8_t info[EX_INFO_SIZE];
};

/* ---- BAR0: two registers ------------------------------------------------ */

static ssize_t bar0_read(struct vfk_device *dev, struct vfk_region *r, void *buf,
			 size_t count, uint64_t off)
{
	struct ex_state *s = vfk_device_priv(dev);
	uint32_t v;

	/* The library checked off + count against the size; the register
	 * layout is ours to check: 4-byte aligned accesses only. */
	if (count != 4 || off % 4)
		return -EINVAL;
	v = off == EX_REG_ID ? EX_ID : off == EX_REG_SCRATCH ? s->scratch : 0;
	memcpy(buf, &v, 4);
	return 4;
}

static ssize_t bar0_write(struct vfk_device *dev, struct vfk_region *r, const void *buf,
			  size_t count, uint64_t off)
{
	struct ex_state *s = vfk_device_priv(dev);

	if (count != 4 || off % 4)
		return -EINVAL;
	if (off == EX_REG_SCRATCH)
		memcpy(&s->scratch, buf, 4);
	return 4;     /* writes to read-only registers are dropped, as in hardware */
}

static const struct vfk_region_ops bar0_ops = { .read = bar0_read, .write = bar0_write };

/* ---- region 9: the info page and its capability ------------------------- */

static ssize_t info_read(struct vfk_device *dev, struct vfk_region *r, void *buf,
			 size_t count, uint64_t off)
{
	struct ex_state *s = vfk_device_priv(dev);

	memcpy(buf, s->info + off, count);   /* bounds checked by the library */
	return (ssize_t)count;
}

static ssize_t info_write(struct vfk_device *dev, struct vfk_region *r, const void *buf,
			  size_t count, uint64_t off)
{
	struct ex_state *s = vfk_device_priv(dev);

	memcpy(s->info + off, buf, count);
	s->writes++;
	return (ssize_t)count;
}

/*
 * Called for every region-info request of region 9, after the library
 * appended TYPE. It may only append; an error fails the request, so the
 * client never sees half a chain.
 */
static int info_add_capability(struct vfk_device *dev, struct vfk_region *r,
			       struct vfk_caps *caps)
{
	const struct ex_state *s = vfk_device_priv(dev);
	const struct ex_info_cap cap = {
		.magic = EX_CAP_MAGIC,
		.layout = 1,
		.writes = s->writes,
		.page_size = EX_INFO_SIZE,
	};

	return vfk_caps_add(caps, EX_CAP_ID, EX_CAP_VERSION, &cap, sizeof(cap));
}

static const struct vfk_region_ops info_ops = {
	.read = info_read,
	.write = info_write,
	.add_capability = info_add_capability,
};

/* ---- life cycle --------------------------------------------------------- */

/* The power-on contents of the info page: a greeting a driver can check. */
static void ex_fill_info(struct ex_state *s)
{
	static const char hello[] = "vfiokit vendor-region example";

	memset(s->info, 0, sizeof(s->info));
	memcpy(s->info, hello, sizeof(hello));
}

/* A reset (and a client leaving, which resets too) restores power-on state,
 * so one client's writes never reach the next. */
static int ex_reset(struct vfk_device *dev)
{
	struct ex_state *s = vfk_device_priv(dev);

	s->scratch = 0;
	s->writes = 0;
	ex_fill_info(s);
	return 0;
}

static const struct vfk_device_ops ex_ops = { .reset = ex_reset };

static int ex_create(struct ex_state *s, struct vfk_device **out)
{
	const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	const struct vfk_device_desc desc = {
		.name = "vendor-region",
		.vendor_id = EX_VENDOR, .device_id = EX_DEVICE,
		.subsys_vendor_id = EX_VENDOR, .subsys_id = EX_DEVICE,
		.class_code = EX_CLASS,
		.ops = &ex_ops,
		.priv = s,
	};
	const struct vfk_region_desc bar0 = { rw, EX_BAR0_SIZE, &bar0_ops, NULL };
	const struct vfk_region_desc info = { rw, EX_INFO_SIZE, &info_ops, NULL };
	struct vfk_device *dev;
	uint32_t index;
	int ret = vfk_device_create(&desc, &dev);

	if (ret)
		return ret;
	ex_fill_info(s);
	ret = vfk_device_set_bar(dev, 0, &bar0, 0);
	/* The type names the vendor whose subtypes these are; the library
	 * gives the region the first free index from 9 on and sets
	 * VFIO_REGION_INFO_FLAG_CAPS, since TYPE is always there. */
	if (!ret)
		ret = vfk_device_add_region(dev, VFK_REGION_TYPE_PCI_VENDOR(EX_VENDOR),
					    EX_INFO_SUBTYPE, &info, &index);
	if (ret) {
		vfk_device_destroy(dev);
		return ret;
	}
	vfk_info("vendor-region: info page is region %u", index);
	*out = dev;
	return 0;
}

/* ---- serving ------------------------------------------------------------ */

static struct vfk_server *g_srv;

/* vfk_server_stop() is async-signal-safe: the loop returns, main cleans up
 * (and the socket file goes with the server). */
static void on_signal(int sig)
{
	(void)sig;
	vfk_server_stop(g_srv);
}

int main(int argc, char **argv)
{
	static struct ex_state state;
	struct sigaction sa = { .sa_handler = on_signal };
	struct vfk_device *dev = NULL;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
		return 2;
	}
	ret = ex_create(&state, &dev);
	if (!ret)
		ret = vfk_server_create(&g_srv);
	if (!ret)
		ret = vfk_server_add_device(g_srv, dev, argv[1]);
	if (!ret) {
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		printf("vendor-region: serving on %s (libvfiokit %s)\n", argv[1], vfk_version());
		fflush(stdout);
		ret = vfk_server_run(g_srv);
	}
	if (ret)
		fprintf(stderr, "vendor-region: %s\n", strerror(-ret));
	vfk_server_destroy(g_srv);
	vfk_device_destroy(dev);
	return ret ? 1 : 0;
}
