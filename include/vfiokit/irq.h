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
 * Answer VFIO_DEVICE_GET_IRQ_INFO for info->index: flags and count as
 * vfio-pci reports them. INTx: EVENTFD|MASKABLE|AUTOMASKED, count 1 when
 * the device has an interrupt pin. Every other index: EVENTFD|NORESIZE;
 * MSI/MSI-X counts from their config space capabilities (0 without);
 * ERR count 1 (PCIe devices only: without PCIe the index is -EINVAL);
 * REQ count 1. Sets argsz to sizeof(*info). -EINVAL for an index >=
 * VFIO_PCI_NUM_IRQS.
 */
int vfk_device_irq_info(const struct vfk_device *dev, struct vfio_irq_info *info);

/**
 * VFIO_DEVICE_SET_IRQS, answered as vfio-pci does. `set` is the header
 * (argsz ignored); `data` holds data_len bytes after it: nothing for
 * DATA_NONE, count u8 for DATA_BOOL, count s32 fds for DATA_EVENTFD.
 * Checked first, all -EINVAL: no unknown flag, exactly one data type,
 * index < VFIO_PCI_NUM_IRQS, start < the index's count and start + count
 * within it (overflow-safe; an index without vectors takes nothing),
 * data_len at least count elements (more is ignored, as the kernel
 * ignores argsz slack). Then the action: MASK/UNMASK exist for INTx only;
 * elsewhere, with no action or several, and MASK by EVENTFD: -ENOTTY.
 * INTx, MSI and MSI-X exclude each other (-EINVAL while another is
 * enabled):
 * - TRIGGER + EVENTFD enables the index (INTx: its vector; MSI/MSI-X:
 *   start + count vectors, a number fixed until it is disabled; 0 is
 *   -ERANGE) or, once enabled, replaces eventfds within it. The core
 *   keeps dup()s (the caller keeps its own); an fd < 0 drops that
 *   vector's eventfd; one that is not open is -EBADF, one that is not an
 *   eventfd -EINVAL, and then nothing changes.
 * - TRIGGER + NONE with count 0 disables the enabled index (eventfds
 *   closed, mask and pending cleared); TRIGGER + NONE/BOOL signals the
 *   selected vectors of the enabled index (not INTx while the command
 *   register's Interrupt Disable is set), past masks.
 * - INTx MASK/UNMASK (start 0, count 1, INTx enabled): NONE/BOOL mask or
 *   unmask, unmasking delivers an interrupt raised while masked. UNMASK +
 *   EVENTFD installs an eventfd whose every signal unmasks (QEMU's INTx
 *   resample fd), watched with the device's event sources and checked
 *   before each INTx the model raises; -EBUSY while one is installed, an
 *   fd < 0 removes it.
 * ERR and REQ (TRIGGER only): EVENTFD sets (-1 drops, other negative fds
 * change nothing) their eventfd; NONE with count 1 or BOOL signals it,
 * NONE with count 0 drops it; NONE without an eventfd, and BOOL/EVENTFD
 * with count 0, are -EINVAL.
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
