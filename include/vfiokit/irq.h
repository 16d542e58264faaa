/* SPDX-License-Identifier: MIT */
/*
 * Interrupts of a vfiokit device, with vfio-pci's semantics: indexes
 * INTx, MSI, MSI-X, ERR and REQ; eventfd triggers per vector; mask and
 * unmask where the index is maskable (INTx is, and is automasked); one of
 * INTx, MSI and MSI-X enabled at a time.
 */
#ifndef VFIOKIT_IRQ_H
#define VFIOKIT_IRQ_H

#include <stddef.h>
#include <stdint.h>
#include <linux/vfio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vfk_device;

/**
 * Raise vector `vector` of IRQ index `index` from the device model: signal
 * its eventfd, or remember it pending when masked. INTx masks itself when
 * delivered (AUTOMASKED) until the client unmasks it; it also sets the
 * config status register's Interrupt Status bit (until vfk_irq_deassert),
 * and while the command register's Interrupt Disable bit is set it is
 * held pending and delivered when the bit is cleared. While the MSI
 * capability's Enable bit is set, an MSI vector from 1 << Multiple Message
 * Enable on was not allocated by software: -EINVAL, as for a bad
 * index/vector. An MSI vector whose per-vector Mask bit is set is held in
 * its Pending bit (returns 0) and sent when software clears the mask.
 * -ENOENT when no eventfd is set, a write error as -errno.
 */
int vfk_irq_trigger(struct vfk_device *dev, uint32_t index, uint32_t vector);

/**
 * For INTx: the model deasserts its line, so an interrupt pending behind
 * the mask (or Interrupt Disable) is not delivered later, and the status
 * register's Interrupt Status bit clears. Bad index/vector: nothing happens.
 */
void vfk_irq_deassert(struct vfk_device *dev, uint32_t index, uint32_t vector);

#ifdef __cplusplus
}
#endif
#endif
