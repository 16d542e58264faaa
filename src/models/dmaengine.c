// SPDX-License-Identifier: MIT
/*
 * The example model (see dmaengine.h for the register map). The parts a
 * new device needs, in order: state, register read/write, the work a
 * doorbell starts (deferred: it uses DMA, which over vfio-user messages
 * must not run while the client waits for the doorbell's reply), the
 * interrupt, reset, and construction.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vfiokit/dma.h>
#include <vfiokit/irq.h>
#include <vfiokit/log.h>
#include <vfiokit/pci_config.h>
#include <vfiokit/region.h>

#include "dmaengine.h"

#define DMAE_CLASS_SYSTEM_OTHER 0x088000u
#define DMAE_CHUNK              4096u
#define DMAE_MSIX_PBA           0x800u

struct dmaengine {
	uint32_t scratch, len, status, irq_status, copies, error;
	uint64_t src, dst;
	bool irq_on_done;
	uint8_t bounce[DMAE_CHUNK];   /* allocated with the device, not per copy */
};

/* ---- interrupts ------------------------------------------------------ */

/* Deliver on whichever index the client enabled: it set eventfds there. */
static void dmae_interrupt(struct vfk_device *dev)
{
	static const uint32_t order[] = {
		VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX,
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		int r = vfk_irq_trigger(dev, order[i], 0);

		if (r != -ENOENT) {
			vfk_dbg("%s: interrupt on IRQ index %u: %d", vfk_device_name(dev),
				order[i], r);
			if (r)
				vfk_warn("%s: interrupt: %s", vfk_device_name(dev), strerror(-r));
			return;
		}
	}
	vfk_dbg("%s: no interrupt enabled", vfk_device_name(dev));
}

static void dmae_raise(struct vfk_device *dev, struct dmaengine *e, uint32_t bits)
{
	e->irq_status |= bits;
	if (bits)
		dmae_interrupt(dev);
}

static void dmae_ack(struct vfk_device *dev, struct dmaengine *e, uint32_t bits)
{
	e->irq_status &= ~bits;
	if (!e->irq_status)
		vfk_irq_deassert(dev, VFIO_PCI_INTX_IRQ_INDEX, 0);
}

/* ---- the copy, run after the doorbell write was answered -------------- */

static int dmae_copy(struct vfk_device *dev, struct dmaengine *e)
{
	for (uint32_t done = 0; done < e->len; done += DMAE_CHUNK) {
		uint32_t n = e->len - done < DMAE_CHUNK ? e->len - done : DMAE_CHUNK;
		int r = vfk_dma_read(dev, e->src + done, e->bounce, n);

		if (!r)
			r = vfk_dma_write(dev, e->dst + done, e->bounce, n);
		if (r)
			return r;
	}
	return 0;
}

static void dmae_run(struct vfk_device *dev, void *arg)
{
	struct dmaengine *e = vfk_device_priv(dev);
	int r = dmae_copy(dev, e);

	vfk_dbg("%s: copy %#llx -> %#llx (%u bytes): %d", vfk_device_name(dev),
		(unsigned long long)e->src, (unsigned long long)e->dst, e->len, r);
	e->status = r ? VFK_DMAE_STATUS_ERROR : VFK_DMAE_STATUS_DONE;
	e->error = (uint32_t)-r;
	if (!r)
		e->copies++;
	else
		vfk_info("%s: copy %#llx -> %#llx (%u bytes) failed: %s", vfk_device_name(dev),
			 (unsigned long long)e->src, (unsigned long long)e->dst, e->len,
			 strerror(-r));
	if (e->irq_on_done)
		dmae_raise(dev, e, VFK_DMAE_IRQ_DMA);
}

static int dmae_start(struct vfk_device *dev, struct dmaengine *e, uint32_t cmd)
{
	if (!(cmd & VFK_DMAE_CMD_START))
		return 0;
	if (e->status & VFK_DMAE_STATUS_BUSY)
		return 0;   /* as hardware would: a START while busy is ignored */
	if (e->len > VFK_DMAE_MAX_LEN) {
		e->status = VFK_DMAE_STATUS_ERROR;
		e->error = EINVAL;
		return 0;
	}
	e->irq_on_done = cmd & VFK_DMAE_CMD_IRQ;
	e->status = VFK_DMAE_STATUS_BUSY;
	return vfk_device_defer(dev, dmae_run, NULL);
}

/* ---- registers ------------------------------------------------------- */

static void set_lo(uint64_t *r, uint32_t v) { *r = (*r & ~0xffffffffull) | v; }
static void set_hi(uint64_t *r, uint32_t v) { *r = (*r & 0xffffffffull) | (uint64_t)v << 32; }

static uint32_t dmae_reg_read(const struct dmaengine *e, uint64_t off)
{
	switch (off) {
	case VFK_DMAE_REG_ID:         return VFK_DMAE_ID;
	case VFK_DMAE_REG_SCRATCH:    return e->scratch;
	case VFK_DMAE_REG_SRC_LO:     return (uint32_t)e->src;
	case VFK_DMAE_REG_SRC_HI:     return (uint32_t)(e->src >> 32);
	case VFK_DMAE_REG_DST_LO:     return (uint32_t)e->dst;
	case VFK_DMAE_REG_DST_HI:     return (uint32_t)(e->dst >> 32);
	case VFK_DMAE_REG_LEN:        return e->len;
	case VFK_DMAE_REG_STATUS:     return e->status;
	case VFK_DMAE_REG_IRQ_STATUS: return e->irq_status;
	case VFK_DMAE_REG_COPIES:     return e->copies;
	case VFK_DMAE_REG_ERROR:      return e->error;
	default:                      return 0;   /* unimplemented: reads 0 */
	}
}

static int dmae_reg_write(struct vfk_device *dev, struct dmaengine *e, uint64_t off,
			  uint32_t v)
{
	switch (off) {
	case VFK_DMAE_REG_SCRATCH:   e->scratch = v; break;
	case VFK_DMAE_REG_SRC_LO:    set_lo(&e->src, v); break;
	case VFK_DMAE_REG_SRC_HI:    set_hi(&e->src, v); break;
	case VFK_DMAE_REG_DST_LO:    set_lo(&e->dst, v); break;
	case VFK_DMAE_REG_DST_HI:    set_hi(&e->dst, v); break;
	case VFK_DMAE_REG_LEN:       e->len = v; break;
	case VFK_DMAE_REG_CMD:       return dmae_start(dev, e, v);
	case VFK_DMAE_REG_IRQ_RAISE: dmae_raise(dev, e, v & VFK_DMAE_IRQ_SOFT); break;
	case VFK_DMAE_REG_IRQ_ACK:   dmae_ack(dev, e, v); break;
	default:                     break;   /* read-only or unimplemented */
	}
	return 0;
}

/* 4-byte accesses, or 8 bytes as two registers (a 64-bit address). */
static bool access_ok(size_t count, uint64_t off)
{
	return (count == 4 || count == 8) && off % count == 0;
}

static ssize_t bar0_read(struct vfk_device *dev, struct vfk_region *r, void *buf,
			 size_t count, uint64_t off)
{
	struct dmaengine *e = vfk_device_priv(dev);

	if (!access_ok(count, off))
		return -EINVAL;
	for (size_t i = 0; i < count; i += 4) {
		uint32_t v = dmae_reg_read(e, off + i);

		memcpy((uint8_t *)buf + i, &v, 4);
	}
	return (ssize_t)count;
}

static ssize_t bar0_write(struct vfk_device *dev, struct vfk_region *r, const void *buf,
			  size_t count, uint64_t off)
{
	struct dmaengine *e = vfk_device_priv(dev);

	if (!access_ok(count, off))
		return -EINVAL;
	for (size_t i = 0; i < count; i += 4) {
		uint32_t v;
		int ret;

		memcpy(&v, (const uint8_t *)buf + i, 4);
		ret = dmae_reg_write(dev, e, off + i, v);
		if (ret)
			return ret;
	}
	return (ssize_t)count;
}

/* BAR2 backs the MSI-X table and PBA, which the client emulates: the
 * model only has to accept the accesses. */
static ssize_t bar2_read(struct vfk_device *dev, struct vfk_region *r, void *buf,
			 size_t count, uint64_t off)
{
	memset(buf, 0, count);
	return (ssize_t)count;
}

static ssize_t bar2_write(struct vfk_device *dev, struct vfk_region *r, const void *buf,
			  size_t count, uint64_t off)
{
	return (ssize_t)count;
}

static const struct vfk_region_ops bar0_ops = { .read = bar0_read, .write = bar0_write };
static const struct vfk_region_ops bar2_ops = { .read = bar2_read, .write = bar2_write };

/* ---- life cycle ------------------------------------------------------ */

static int dmae_reset(struct vfk_device *dev)
{
	struct dmaengine *e = vfk_device_priv(dev);

	/* The core dropped a queued copy; forget everything else. */
	memset(e, 0, sizeof(*e));
	return 0;
}

static void dmae_destroy(struct vfk_device *dev)
{
	free(vfk_device_priv(dev));
}

static const struct vfk_device_ops dmae_ops = {
	.reset = dmae_reset,
	.destroy = dmae_destroy,
};

void vfk_dmaengine_params_default(struct vfk_dmaengine_params *p)
{
	p->vendor_id = VFK_DMAE_VENDOR;
	p->device_id = VFK_DMAE_DEVICE;
}

static int dmae_build(struct vfk_device *dev)
{
	const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	struct vfk_region_desc bar0 = { rw, VFK_DMAE_BAR_SIZE, &bar0_ops, NULL };
	struct vfk_region_desc bar2 = { rw, VFK_DMAE_BAR_SIZE, &bar2_ops, NULL };
	int ret = vfk_device_set_bar(dev, 0, &bar0, 0);

	if (!ret)
		ret = vfk_device_set_bar(dev, 2, &bar2, 0);
	if (!ret)
		ret = vfk_pci_add_msi_cap(dev, 1, true, false);
	if (!ret)
		ret = vfk_pci_add_msix_cap(dev, 1, 2, 0, 2, DMAE_MSIX_PBA);
	return ret;
}

int vfk_dmaengine_create(const char *name, const struct vfk_dmaengine_params *p,
			 struct vfk_device **out)
{
	struct vfk_device_desc desc = {
		.name = name,
		.vendor_id = p->vendor_id,
		.device_id = p->device_id,
		.subsys_vendor_id = p->vendor_id,
		.subsys_id = p->device_id,
		.class_code = DMAE_CLASS_SYSTEM_OTHER,
		.irq_pin = 1,
		.ops = &dmae_ops,
	};
	struct vfk_device *dev;
	struct dmaengine *e = calloc(1, sizeof(*e));
	int ret;

	if (!e)
		return -ENOMEM;
	desc.priv = e;
	ret = vfk_device_create(&desc, &dev);
	if (ret) {
		free(e);
		return ret;
	}
	ret = dmae_build(dev);
	if (ret) {
		vfk_device_destroy(dev);
		return ret;
	}
	*out = dev;
	return 0;
}
