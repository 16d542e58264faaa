/* SPDX-License-Identifier: MIT */
/*
 * dmaengine: the example device model. A copy engine in the spirit of
 * QEMU's `edu`: program a source and destination IOVA and a length, ring
 * the doorbell, and the device copies through the client's DMA mappings
 * and interrupts (MSI-X, else MSI, else INTx) when done. Small on purpose:
 * it is the device users copy to write their own (docs/models.md).
 *
 * BAR0 (4 KiB, not mappable, so every access reaches the model): 32-bit
 * little-endian registers, accessed 4 bytes at a time (8 for the
 * address pairs). BAR2 (4 KiB) holds the MSI-X table and PBA, which the
 * client (QEMU) emulates itself.
 */
#ifndef VFIOKIT_MODELS_DMAENGINE_H
#define VFIOKIT_MODELS_DMAENGINE_H

#include <stdint.h>

#include <vfiokit/device.h>

#define VFK_DMAE_REG_ID         0x00u   /* RO: VFK_DMAE_ID */
#define VFK_DMAE_REG_SCRATCH    0x04u   /* RW: no effect */
#define VFK_DMAE_REG_SRC_LO     0x08u   /* RW: source IOVA, low 32 bits */
#define VFK_DMAE_REG_SRC_HI     0x0cu
#define VFK_DMAE_REG_DST_LO     0x10u   /* RW: destination IOVA */
#define VFK_DMAE_REG_DST_HI     0x14u
#define VFK_DMAE_REG_LEN        0x18u   /* RW: bytes to copy, at most VFK_DMAE_MAX_LEN */
#define VFK_DMAE_REG_CMD        0x1cu   /* W: VFK_DMAE_CMD_* */
#define VFK_DMAE_REG_STATUS     0x20u   /* RO: VFK_DMAE_STATUS_* */
#define VFK_DMAE_REG_IRQ_STATUS 0x24u   /* RO: VFK_DMAE_IRQ_* bits pending */
#define VFK_DMAE_REG_IRQ_RAISE  0x28u   /* W: set these IRQ_STATUS bits, interrupt */
#define VFK_DMAE_REG_IRQ_ACK    0x2cu   /* W: clear these IRQ_STATUS bits */
#define VFK_DMAE_REG_COPIES     0x30u   /* RO: copies completed since reset */
#define VFK_DMAE_REG_ERROR      0x34u   /* RO: errno of the last failed copy, 0 */

#define VFK_DMAE_ID             0x444d4131u  /* "DMA1" */
#define VFK_DMAE_CMD_START      (1u << 0)    /* copy LEN bytes from SRC to DST; ignored while BUSY */
#define VFK_DMAE_CMD_IRQ        (1u << 1)    /* interrupt when the copy ends */
#define VFK_DMAE_STATUS_BUSY    (1u << 0)
#define VFK_DMAE_STATUS_DONE    (1u << 1)    /* the last copy ended well */
#define VFK_DMAE_STATUS_ERROR   (1u << 2)    /* the last copy failed: see ERROR */
#define VFK_DMAE_IRQ_DMA        (1u << 0)    /* a copy ended */
#define VFK_DMAE_IRQ_SOFT       (1u << 1)    /* raised through IRQ_RAISE */

#define VFK_DMAE_MAX_LEN        (1u << 20)
#define VFK_DMAE_BAR_SIZE       4096u
#define VFK_DMAE_VENDOR         0x1234u
#define VFK_DMAE_DEVICE         0x10d0u

struct vfk_dmaengine_params {
	uint16_t vendor_id, device_id;
};

/** Defaults: VFK_DMAE_VENDOR:VFK_DMAE_DEVICE. */
void vfk_dmaengine_params_default(struct vfk_dmaengine_params *p);

/** Build the device; vfk_device_destroy() frees it. */
int vfk_dmaengine_create(const char *name, const struct vfk_dmaengine_params *p,
			 struct vfk_device **out);

#endif
