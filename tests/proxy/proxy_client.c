// SPDX-License-Identifier: MIT
/*
 * A client of `vfiokit proxy` for tests/proxy/test_proxy.sh, on the public
 * client API:
 *   proxy_client leave-mapped SOCKET   map memfd memory for DMA, enable
 *                                      MSI with an eventfd, and exit
 *                                      without undoing either
 *   proxy_client hold SOCKET           map memfd memory, enable MSI with an
 *                                      eventfd, print "ready" and wait for
 *                                      stdin to close
 *   proxy_client hostile SOCKET        requests the proxy must refuse
 *                                      (and survive): exit 0 when each
 *                                      one was refused
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vfiokit/client.h>

#define IOVA 0x20000000ull
#define PAGE 4096ull

static struct vfk_client *open_or_die(const char *target)
{
	struct vfk_client *c;
	char err[256];

	if (vfk_client_open(target, NULL, &c, err, sizeof(err))) {
		fprintf(stderr, "proxy_client: %s\n", err);
		exit(2);
	}
	return c;
}

static int leave_mapped(const char *target, bool hold)
{
	struct vfk_client *c = open_or_die(target);
	int mfd = memfd_create("proxy-test", MFD_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC);
	void *mem;
	int r;

	if (mfd < 0 || efd < 0 || ftruncate(mfd, 4 * PAGE))
		return 2;
	mem = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (mem == MAP_FAILED)
		return 2;
	r = vfk_client_dma_map(c, IOVA, 2 * PAGE, mem, mfd, 0);
	if (!r)
		r = vfk_client_dma_map(c, IOVA + 2 * PAGE, 2 * PAGE, (char *)mem + 2 * PAGE, mfd,
				       2 * PAGE);
	if (!r)
		r = vfk_client_set_irq_eventfds(c, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &efd);
	printf("leave-mapped: %s\n", r ? strerror(-r) : "2 mappings, MSI on");
	if (hold && !r) {
		char byte;

		printf("ready\n");
		fflush(stdout);
		while (read(0, &byte, 1) > 0)
			;
	}
	/* Exit with both in place: the proxy must undo them at the target. */
	vfk_client_close(c);
	return r ? 1 : 0;
}

static int refused(const char *what, long r)
{
	printf("hostile: %s: %s\n", what, r < 0 ? strerror((int)-r) : "ACCEPTED");
	return r < 0 ? 0 : 1;
}

static int hostile(const char *target)
{
	struct vfk_client *c = open_or_die(target);
	int mfd = memfd_create("proxy-test", MFD_CLOEXEC);
	int pfd[2];
	uint8_t b[8];
	int bad = 0;
	void *mem;

	if (mfd < 0 || pipe(pfd) || ftruncate(mfd, PAGE))
		return 2;
	mem = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (mem == MAP_FAILED)
		return 2;
	bad |= refused("DMA_MAP of a pipe", vfk_client_dma_map(c, IOVA, PAGE, NULL, pfd[0], 0));
	bad |= refused("DMA_MAP past the end of the memfd",
		       vfk_client_dma_map(c, IOVA, 4 * PAGE, NULL, mfd, 0));
	bad |= refused("DMA_MAP without an fd", vfk_client_dma_map(c, IOVA, PAGE, mem, -1, 0));
	bad |= refused("SET_IRQS with a pipe as eventfd",
		       vfk_client_set_irq_eventfds(c, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &pfd[0]));
	bad |= refused("SET_IRQS past the vectors",
		       vfk_client_set_irq_eventfds(c, VFIO_PCI_MSI_IRQ_INDEX, 1000, 1, &pfd[0]));
	bad |= refused("config read past the end", vfk_client_config_read(c, 4096, b, 8));
	bad |= refused("BAR0 read past the end",
		       vfk_client_region_read(c, VFIO_PCI_BAR0_REGION_INDEX, UINT64_MAX - 3, b, 8));
	bad |= refused("DMA_UNMAP of half a mapping",
		       vfk_client_dma_map(c, IOVA, PAGE, mem, mfd, 0) ? -1 :
		       vfk_client_dma_unmap(c, IOVA, PAGE / 2));
	vfk_client_close(c);
	return bad;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "leave-mapped"))
		return leave_mapped(argv[2], false);
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return leave_mapped(argv[2], true);
	if (argc == 3 && !strcmp(argv[1], "hostile"))
		return hostile(argv[2]);
	fprintf(stderr, "usage: proxy_client leave-mapped|hold|hostile SOCKET\n");
	return 2;
}
