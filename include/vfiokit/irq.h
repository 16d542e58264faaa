/* SPDX-License-Identifier: MIT */
/*
 * Interrupts of a vfiokit device, with vfio-pci's semantics: indexes
 * INTx, MSI, MSI-X, ERR and REQ; eventfd triggers per vector; mask and
 * unmask where the index is maskable (INTx is, and is automasked).
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
 * Answer VFIO_DEVICE_GET_IRQ_INFO for info->index: flags and count as
 * vfio-pci reports them. INTx: EVENTFD|MASKABLE|AUTOMASKED, count 1 when
 * the device has an interrupt pin. Every other index: EVENTFD|NORESIZE;
 * MSI/MSI-X counts from their config space capabilities (0 without);
 * ERR count 1 on PCIe devices, else 0; REQ count 1. Sets argsz to
 * sizeof(*info). -EINVAL for an index >= VFIO_PCI_NUM_IRQS.
 */
int vfk_device_irq_info(const struct vfk_device *dev, struct vfio_irq_info *info);

/**
 * VFIO_DEVICE_SET_IRQS. `set` is the header (argsz ignored); `data` holds
 * data_len bytes after it: nothing for DATA_NONE, count u8 for DATA_BOOL,
 * count s32 fds for DATA_EVENTFD (-1 drops that vector's eventfd). Every
 * field is checked before anything changes, all -EINVAL: no unknown flag,
 * exactly one data type and one action, index < VFIO_PCI_NUM_IRQS, start <
 * the index's count and start + count within it (overflow-safe; an index
 * without vectors takes nothing), data_len at least count elements (more
 * is ignored, as the kernel ignores argsz slack).
 * Actions: TRIGGER + EVENTFD installs dup()s of the fds (the caller keeps
 * its own; an fd < -1 is -EINVAL, one that is not open -EBADF, and then
 * no vector changes); TRIGGER + NONE/BOOL fires the selected vectors that
 * have an eventfd; TRIGGER + NONE with count 0 disables the index (every
 * eventfd closed, mask and pending cleared). MASK/UNMASK with NONE/BOOL
 * exist only for INTx (elsewhere, or with EVENTFD: -EINVAL); unmasking
 * delivers an interrupt raised while masked.
 */
int vfk_device_set_irqs(struct vfk_device *dev, const struct vfio_irq_set *set,
			const void *data, size_t data_len);

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
