// SPDX-License-Identifier: MIT
/*
 * vfiokit selftest: small device checks for the real-peer tests, run
 * inside a guest that has nothing but busybox.
 *
 *   vfiokit selftest bar-rw FILE OFFSET VALUE
 *       mmap a sysfs resourceN file, write a 32-bit VALUE at OFFSET through
 *       the mapping and read it back. Anything but a PCI BAR in sysfs is
 *       refused before it is opened for writing.
 *   vfiokit selftest dma TARGET [--irq msix|msi|intx|all] [--len N]
 *       drive the dmaengine model (docs/models.md) through the client API:
 *       map a buffer for DMA, program a copy, wait for the interrupt on an
 *       eventfd, compare the bytes.
 *   vfiokit selftest edu TARGET
 *       the same round trip with QEMU's `edu` device (docs/specs/edu.rst in
 *       QEMU): copy a buffer into edu's 4 KiB DMA window and back, each
 *       copy ending in an MSI on an eventfd.
 * Each check prints one "selftest: ..." line; exit status 0 when all pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/pci_regs.h>

#include <vfiokit/client.h>

#include "cli_util.h"
#include "commands.h"
#include "dmaengine.h"
#include "model_args.h"

#define DMA_IOVA        0x10000000ull
#define IRQ_TIMEOUT_MS  3000
#define IRQ_POLL_MS     20

/* ---- bar-rw ---------------------------------------------------------- */

/* "resourceN" or "resourceN_wc": a BAR as sysfs hands it out. */
static bool resource_name(const char *name)
{
	size_t digits;

	if (strncmp(name, "resource", 8))
		return false;
	digits = strspn(name + 8, "0123456789");
	return digits > 0 && (!name[8 + digits] || !strcmp(name + 8 + digits, "_wc"));
}

/*
 * Is real (a realpath) a BAR of a PCI device in sysfs? Its name, its
 * place under /sys/devices, and the device's subsystem being the PCI bus:
 * a write through anything else would change a file, not a register.
 */
static bool pci_resource_path(const char *real)
{
	const char *base = strrchr(real, '/') + 1;
	char link[PATH_MAX], bus[PATH_MAX];

	if (strncmp(real, "/sys/devices/", 13) || !resource_name(base))
		return false;
	snprintf(link, sizeof(link), "%.*ssubsystem", (int)(base - real), real);
	return realpath(link, bus) && !strcmp(bus, "/sys/bus/pci");
}

/* fd, open on a sysfs file (the path could change after the check). */
static bool on_sysfs(int fd)
{
	struct statfs fs;
	struct stat st;

	return !fstatfs(fd, &fs) && fs.f_type == SYSFS_MAGIC && !fstat(fd, &st) &&
	       S_ISREG(st.st_mode);
}

/*
 * FILE opened for bar-rw when it is a PCI BAR in sysfs: the fd, -ENOENT
 * and the like as -errno (exit 1), or -EINVAL after saying why (exit 2).
 */
static int open_resource(const char *file)
{
	char real[PATH_MAX];
	int fd;

	if (!realpath(file, real))
		return -errno;
	if (!pci_resource_path(real)) {
		fprintf(stderr, "vfiokit selftest bar-rw: %s: not a PCI BAR in sysfs "
			"(/sys/bus/pci/devices/*/resourceN); nothing written\n", file);
		return -EINVAL;
	}
	fd = open(real, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!on_sysfs(fd)) {
		close(fd);
		fprintf(stderr, "vfiokit selftest bar-rw: %s: not a file of sysfs; nothing "
			"written\n", file);
		return -EINVAL;
	}
	return fd;
}

static int bar_rw(const char *file, uint64_t offset, uint32_t value)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	const uint64_t base = offset & ~(page - 1);
	volatile uint32_t *reg;
	uint32_t got;
	void *map;
	int fd;

	if (offset % 4) {
		fprintf(stderr, "vfiokit selftest bar-rw: OFFSET %#" PRIx64 ": expected a "
			"multiple of 4\n", offset);
		return CLI_USAGE;
	}
	fd = open_resource(file);
	if (fd == -EINVAL)
		return CLI_USAGE;
	if (fd < 0) {
		fprintf(stderr, "vfiokit selftest bar-rw: %s: %s\n", file, strerror(-fd));
		return CLI_FAILED;
	}
	map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)base);
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, "vfiokit selftest bar-rw: %s: mmap: %s\n", file, strerror(errno));
		return 1;
	}
	reg = (volatile uint32_t *)((uint8_t *)map + (offset - base));
	*reg = value;
	got = *reg;
	munmap(map, page);
	printf("selftest: bar-rw %s+%#" PRIx64 " wrote %#x read %#x %s\n", file, offset,
	       value, got, got == value ? "ok" : "MISMATCH");
	return got == value ? 0 : 1;
}

/* ---- dma ------------------------------------------------------------- */

/*
 * DMA memory of len bytes: anonymous, or with memfd a shared memfd whose
 * fd goes with the DMA_MAP (a proxy refuses memory without one). *fd is
 * -1 or the memfd, which the caller closes. MAP_FAILED with errno.
 */
static void *dma_alloc(size_t len, bool memfd, int *fd)
{
	void *p;

	*fd = -1;
	if (!memfd)
		return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	*fd = memfd_create("vfiokit-selftest", MFD_CLOEXEC);
	if (*fd < 0 || ftruncate(*fd, (off_t)len))
		return MAP_FAILED;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	return p;
}

struct dma_ctx {
	struct vfk_client *c;
	uint8_t *buf;        /* source half, then destination half */
	uint32_t len;
	int efd;
};

static int reg_write(struct dma_ctx *d, uint32_t reg, uint32_t v)
{
	ssize_t n = vfk_client_region_write(d->c, VFIO_PCI_BAR0_REGION_INDEX, reg, &v, 4);

	return n == 4 ? 0 : n < 0 ? (int)n : -EIO;
}

static int reg_read(struct dma_ctx *d, uint32_t reg, uint32_t *v)
{
	ssize_t n = vfk_client_region_read(d->c, VFIO_PCI_BAR0_REGION_INDEX, reg, v, 4);

	return n == 4 ? 0 : n < 0 ? (int)n : -EIO;
}

/*
 * Wait for the eventfd; 0, -ETIMEDOUT or -errno. Between polls it reads
 * STATUS: a vfio-user client serves the device's DMA_READ/DMA_WRITE only
 * while it waits for a reply of its own.
 */
static int wait_irq(struct dma_ctx *d)
{
	struct pollfd p = { .fd = d->efd, .events = POLLIN };
	uint32_t status;
	uint64_t v;

	for (int waited = 0; waited < IRQ_TIMEOUT_MS; waited += IRQ_POLL_MS) {
		int r = poll(&p, 1, IRQ_POLL_MS);

		if (r < 0)
			return -errno;
		if (r > 0)
			return read(d->efd, &v, sizeof(v)) == sizeof(v) ? 0 : -errno;
		r = reg_read(d, VFK_DMAE_REG_STATUS, &status);
		if (r)
			return r;
	}
	return -ETIMEDOUT;
}

/* Program one copy of the source half to the destination half. */
static int program_copy(struct dma_ctx *d, unsigned int round)
{
	int r = 0;

	for (uint32_t i = 0; i < d->len; i++)
		d->buf[i] = (uint8_t)(i * 7 + round * 13 + 1);
	memset(d->buf + d->len, 0, d->len);
	r = r ? r : reg_write(d, VFK_DMAE_REG_SRC_LO, (uint32_t)DMA_IOVA);
	r = r ? r : reg_write(d, VFK_DMAE_REG_SRC_HI, (uint32_t)(DMA_IOVA >> 32));
	r = r ? r : reg_write(d, VFK_DMAE_REG_DST_LO, (uint32_t)(DMA_IOVA + d->len));
	r = r ? r : reg_write(d, VFK_DMAE_REG_DST_HI, (uint32_t)((DMA_IOVA + d->len) >> 32));
	r = r ? r : reg_write(d, VFK_DMAE_REG_LEN, d->len);
	return r ? r : reg_write(d, VFK_DMAE_REG_CMD, VFK_DMAE_CMD_START | VFK_DMAE_CMD_IRQ);
}

static const char *irq_name(uint32_t index)
{
	return index == VFIO_PCI_MSIX_IRQ_INDEX ? "msix" :
	       index == VFIO_PCI_MSI_IRQ_INDEX ? "msi" : "intx";
}

/* The evidence a failed copy needs: where the bytes first differ, what
 * was expected there and what arrived, and how many bytes differ. */
static void print_first_difference(const struct dma_ctx *d)
{
	const uint8_t *src = d->buf, *dst = d->buf + d->len;
	uint32_t first = d->len, differ = 0;

	for (uint32_t i = 0; i < d->len; i++) {
		if (src[i] == dst[i])
			continue;
		if (first == d->len)
			first = i;
		differ++;
	}
	if (!differ)
		return;
	printf("selftest: %u of %u bytes differ, first at %#x: expected", differ, d->len, first);
	for (uint32_t i = first; i < first + 8 && i < d->len; i++)
		printf(" %02x", src[i]);
	printf(", got");
	for (uint32_t i = first; i < first + 8 && i < d->len; i++)
		printf(" %02x", dst[i]);
	printf("\n");
}

/* One copy with the interrupt on `index`; prints its line. */
static int dma_round(struct dma_ctx *d, uint32_t index, unsigned int round)
{
	uint32_t status = 0, irq = 0;
	char cause[64];
	int r = vfk_client_set_irq_eventfds(d->c, index, 0, 1, &d->efd);

	r = r ? r : program_copy(d, round);
	r = r ? r : wait_irq(d);
	r = r ? r : reg_read(d, VFK_DMAE_REG_STATUS, &status);
	r = r ? r : reg_read(d, VFK_DMAE_REG_IRQ_STATUS, &irq);
	r = r ? r : reg_write(d, VFK_DMAE_REG_IRQ_ACK, irq);
	vfk_client_set_irq_eventfds(d->c, index, 0, 0, NULL);
	if (r) {
		printf("selftest: dma irq=%s FAILED: %s\n", irq_name(index),
		       cli_cause(r, 0, cause, sizeof(cause)));
		return 1;
	}
	if (status != VFK_DMAE_STATUS_DONE || !(irq & VFK_DMAE_IRQ_DMA) ||
	    memcmp(d->buf, d->buf + d->len, d->len)) {
		printf("selftest: dma irq=%s FAILED: status %#x irq_status %#x bytes %s\n",
		       irq_name(index), status, irq,
		       memcmp(d->buf, d->buf + d->len, d->len) ? "differ" : "match");
		print_first_difference(d);
		return 1;
	}
	printf("selftest: dma irq=%s copied %u bytes ok\n", irq_name(index), d->len);
	return 0;
}

/*
 * Turn on memory decoding and bus mastering, as any driver does: without
 * bus mastering the platform (QEMU included) drops the device's DMA and
 * MSI writes.
 */
static int enable_bus_master(struct dma_ctx *d)
{
	uint16_t cmd;
	ssize_t n = vfk_client_config_read(d->c, PCI_COMMAND, &cmd, sizeof(cmd));

	if (n != sizeof(cmd))
		return n < 0 ? (int)n : -EIO;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	cmd &= (uint16_t)~PCI_COMMAND_INTX_DISABLE;
	n = vfk_client_region_write(d->c, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, &cmd,
				    sizeof(cmd));
	return n == sizeof(cmd) ? 0 : n < 0 ? (int)n : -EIO;
}

/* One line for a target that did not open; the client library's reason
 * (err) names the target already. */
static void open_failed(const char *check, const char *target, const char *err, int r)
{
	char cause[64];

	if (err[0])
		fprintf(stderr, "vfiokit selftest %s: %s\n", check, err);
	else
		fprintf(stderr, "vfiokit selftest %s: %s: %s\n", check, target,
			cli_cause(r, 0, cause, sizeof(cause)));
}

static int dma_open(struct dma_ctx *d, const char *target)
{
	char err[256] = "";
	uint32_t id = 0;
	int r = vfk_client_open(target, NULL, &d->c, err, sizeof(err));

	if (r) {
		open_failed("dma", target, err, r);
		return r;
	}
	r = enable_bus_master(d);
	r = r ? r : reg_read(d, VFK_DMAE_REG_ID, &id);
	if (!r && id != VFK_DMAE_ID) {
		fprintf(stderr, "vfiokit selftest dma: %s: ID register %#x, not a dmaengine\n",
			target, id);
		r = -ENODEV;
	}
	return r;
}

static int dma_test(const char *target, const char *irqs, uint32_t len, bool memfd)
{
	static const uint32_t all[] = {
		VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX,
	};
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	/* DMA mappings are whole pages. */
	const size_t map_len = (2 * (size_t)len + page - 1) & ~(page - 1);
	struct dma_ctx d = { .len = len, .efd = -1 };
	char cause[64];
	int failed = 0, r, mfd;

	if (dma_open(&d, target)) {
		vfk_client_close(d.c);
		return 1;
	}
	d.buf = dma_alloc(map_len, memfd, &mfd);
	d.efd = eventfd(0, EFD_CLOEXEC);
	r = d.buf == MAP_FAILED || d.efd < 0 ? -errno :
	    vfk_client_dma_map(d.c, DMA_IOVA, map_len, d.buf, mfd, 0);
	if (r) {
		printf("selftest: dma map of %zu bytes FAILED: %s\n", map_len,
		       cli_cause(r, 0, cause, sizeof(cause)));
		failed = 1;
	}
	for (unsigned int i = 0; !failed && i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(irqs, "all") || !strcmp(irqs, irq_name(all[i])))
			failed |= dma_round(&d, all[i], i);
	if (!r && vfk_client_dma_unmap(d.c, DMA_IOVA, map_len)) {
		printf("selftest: dma unmap FAILED\n");
		failed = 1;
	}
	if (d.efd >= 0)
		close(d.efd);
	if (d.buf != MAP_FAILED)
		munmap(d.buf, map_len);
	if (mfd >= 0)
		close(mfd);
	vfk_client_close(d.c);
	return failed;
}

/* ---- edu (QEMU's teaching device) ------------------------------------ */

#define EDU_ID          0x00u
#define EDU_IRQ_STATUS  0x24u
#define EDU_IRQ_ACK     0x64u
#define EDU_DMA_SRC     0x80u
#define EDU_DMA_DST     0x88u
#define EDU_DMA_COUNT   0x90u
#define EDU_DMA_CMD     0x98u
#define EDU_CMD_START   1u
#define EDU_CMD_TO_RAM  2u          /* else RAM to the device's window */
#define EDU_CMD_IRQ     4u
#define EDU_IRQ_DMA     0x100u
#define EDU_WINDOW      0x40000u    /* the device's 4 KiB DMA buffer */
/* QEMU 7.2's edu refuses a copy that ends exactly at its window's end
 * (a hardware error that aborts QEMU), so use half the window. */
#define EDU_LEN         2048u
#define EDU_IOVA        0x100000ull /* edu masks DMA addresses to 28 bits */

/* One edu copy of EDU_LEN bytes with an MSI at the end. */
static int edu_copy(struct dma_ctx *d, uint64_t src, uint64_t dst, uint32_t cmd)
{
	uint32_t irq = 0;
	int r = reg_write(d, EDU_DMA_SRC, (uint32_t)src);

	r = r ? r : reg_write(d, EDU_DMA_DST, (uint32_t)dst);
	r = r ? r : reg_write(d, EDU_DMA_COUNT, EDU_LEN);
	r = r ? r : reg_write(d, EDU_DMA_CMD, cmd | EDU_CMD_START | EDU_CMD_IRQ);
	r = r ? r : wait_irq(d);
	r = r ? r : reg_read(d, EDU_IRQ_STATUS, &irq);
	r = r ? r : reg_write(d, EDU_IRQ_ACK, irq);
	return r ? r : irq & EDU_IRQ_DMA ? 0 : -EIO;
}

/*
 * edu's identification register, through a mapping of BAR0 when the
 * region is mappable (one 4-byte load: edu answers nothing else below
 * 0x80), else by region I/O. Through `vfiokit proxy` the mapping is the
 * kernel's own, so the load reaches no process (tests/peers/kernel-proxy.sh
 * counts the proxy's REGION_READs).
 */
static int edu_id(struct dma_ctx *d, uint32_t *id, const char **how)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct vfk_region_info *ri;
	void *map;
	int r = vfk_client_region_info(d->c, VFIO_PCI_BAR0_REGION_INDEX, &ri);

	*how = "region I/O";
	if (r)
		return r;
	if (!(ri->hdr.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		vfk_region_info_free(ri);
		return reg_read(d, EDU_ID, id);
	}
	map = vfk_client_region_mmap(d->c, ri, 0, page, PROT_READ);
	r = map == NULL ? -errno : 0;
	vfk_region_info_free(ri);
	if (r)
		return r;
	*id = *(volatile const uint32_t *)map;
	munmap(map, page);
	*how = "a mapping of BAR0";
	return 0;
}

/* RAM to the device's window and back, each copy ending in an MSI. */
static int edu_round_trip(struct dma_ctx *d)
{
	const char *how;
	uint32_t id = 0;
	int r = enable_bus_master(d);

	r = r ? r : edu_id(d, &id, &how);
	if (!r)
		printf("selftest: edu id %#010x read through %s\n", id, how);
	if (!r && (id & 0xff) != 0xed)
		return -ENODEV;
	r = r ? r : vfk_client_set_irq_eventfds(d->c, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &d->efd);
	for (uint32_t i = 0; i < d->len; i++)
		d->buf[i] = (uint8_t)(i * 5 + 3);
	memset(d->buf + d->len, 0, d->len);
	r = r ? r : edu_copy(d, EDU_IOVA, EDU_WINDOW, 0);
	r = r ? r : edu_copy(d, EDU_WINDOW, EDU_IOVA + d->len, EDU_CMD_TO_RAM);
	vfk_client_set_irq_eventfds(d->c, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL);
	return r;
}

/* The buffer is a memfd mapped shared and handed over with its fd: a
 * kernel target maps its pages (type1), a vfio-user target maps the fd
 * (vfiokit proxy refuses memory without one: it could not give it to the
 * device). */
static int edu_buffer(struct dma_ctx *d, int *fd)
{
	*fd = memfd_create("vfiokit-selftest-edu", MFD_CLOEXEC);
	if (*fd < 0 || ftruncate(*fd, 2 * EDU_LEN))
		return -errno;
	d->buf = mmap(NULL, 2 * EDU_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	return d->buf == MAP_FAILED ? -errno : 0;
}

static int edu_test(const char *target)
{
	char err[256] = "";
	struct dma_ctx d = { .len = EDU_LEN, .efd = -1, .buf = MAP_FAILED };
	int memfd = -1;
	int r = vfk_client_open(target, NULL, &d.c, err, sizeof(err));

	if (r) {
		open_failed("edu", target, err, r);
		return 1;
	}
	r = edu_buffer(&d, &memfd);
	d.efd = eventfd(0, EFD_CLOEXEC);
	r = r ? r : d.efd < 0 ? -errno :
	    vfk_client_dma_map(d.c, EDU_IOVA, 2 * EDU_LEN, d.buf, memfd, 0);
	if (!r) {
		r = edu_round_trip(&d);
		if (vfk_client_dma_unmap(d.c, EDU_IOVA, 2 * EDU_LEN) && !r)
			r = -EIO;
	}
	if (!r && memcmp(d.buf, d.buf + d.len, d.len)) {
		print_first_difference(&d);
		r = -EILSEQ;
	}
	if (r)
		printf("selftest: edu FAILED: %s\n", cli_cause(r, 0, err, sizeof(err)));
	else
		printf("selftest: edu copied %u bytes to the device and back, 2 MSIs ok\n", d.len);
	if (d.efd >= 0)
		close(d.efd);
	if (d.buf != MAP_FAILED)
		munmap(d.buf, 2 * EDU_LEN);
	if (memfd >= 0)
		close(memfd);
	vfk_client_close(d.c);
	return r ? 1 : 0;
}

/* ---- command line ---------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vfiokit selftest bar-rw FILE OFFSET VALUE\n"
		"       vfiokit selftest dma TARGET [--irq msix|msi|intx|all] [--len N] [--memfd]\n"
		"       vfiokit selftest edu TARGET\n"
		"  bar-rw  write and read back a 32-bit value through an mmap of FILE,\n"
		"          a PCI BAR in sysfs (/sys/bus/pci/devices/*/resourceN); any\n"
		"          other file is refused (for a VFIO target: 'vfiokit mem')\n"
		"  dma     copy a buffer with the dmaengine model and wait for its\n"
		"          interrupt (default: every kind in turn, 4096 bytes)\n"
		"  edu     copy a buffer into QEMU's edu device and back, on MSI\n"
		"  --memfd dma's buffer is a memfd mapped with its fd (as QEMU's shared\n"
		"          guest RAM; a proxy serves only such memory)\n");
}

/* One line for option o refused (cli_getopt named unknown ones); exit status 2. */
static int bad_dma_option(int o, const char *value)
{
	if (o == 'i')
		fprintf(stderr, "vfiokit selftest dma: --irq %s: expected msix, msi, intx or all\n",
			value);
	else if (o == 'l')
		fprintf(stderr, "vfiokit selftest dma: --len %s: expected a length from 1 to %u\n",
			value, VFK_DMAE_MAX_LEN);
	return CLI_USAGE;
}

static int cmd_dma(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "irq", required_argument, NULL, 'i' },
		{ "len", required_argument, NULL, 'l' },
		{ "memfd", no_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *irqs = "all";
	uint32_t len = 4096;
	bool memfd = false;
	int o;

	optind = 1;
	while ((o = cli_getopt("selftest dma", argc, argv, ":", opts)) != -1) {
		if (o == 'm')
			memfd = true;
		else if (o == 'i' && (!strcmp(optarg, "all") || !strcmp(optarg, "msix") ||
				 !strcmp(optarg, "msi") || !strcmp(optarg, "intx")))
			irqs = optarg;
		else if (o == 'l' && !vfk_parse_u32(optarg, &len) && len > 0 &&
			 len <= VFK_DMAE_MAX_LEN)
			continue;
		else
			return bad_dma_option(o, optarg);
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	return dma_test(argv[optind], irqs, len, memfd);
}

static int cmd_bar_rw(int argc, char **argv)
{
	uint64_t offset;
	uint32_t value;

	if (argc != 4) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (vfk_parse_u64(argv[2], &offset)) {
		fprintf(stderr, "vfiokit selftest bar-rw: OFFSET %s: expected a number from 0 "
			"to 2^64-1\n", argv[2]);
		return CLI_USAGE;
	}
	if (vfk_parse_u32(argv[3], &value)) {
		fprintf(stderr, "vfiokit selftest bar-rw: VALUE %s: expected a number from 0 "
			"to 0xffffffff\n", argv[3]);
		return CLI_USAGE;
	}
	return bar_rw(argv[1], offset, value);
}

/* An unknown check: one line, with the closest of them. */
static int unknown_check(const char *name)
{
	static const char *const checks[] = { "bar-rw", "dma", "edu" };
	const char *near = cli_suggest(name, checks, sizeof(checks) / sizeof(checks[0]));

	if (near)
		fprintf(stderr, "vfiokit selftest: unknown check '%s' (did you mean '%s'?)\n",
			name, near);
	else
		fprintf(stderr, "vfiokit selftest: unknown check '%s' (bar-rw, dma or edu)\n",
			name);
	return CLI_USAGE;
}

int cmd_selftest(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return CLI_OK;
	}
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!strcmp(argv[1], "dma"))
		return cmd_dma(argc - 1, argv + 1);
	if (!strcmp(argv[1], "bar-rw"))
		return cmd_bar_rw(argc - 1, argv + 1);
	if (strcmp(argv[1], "edu"))
		return unknown_check(argv[1]);
	if (argc != 3) {
		usage(stderr);
		return CLI_USAGE;
	}
	return edu_test(argv[2]);
}
