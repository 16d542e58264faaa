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
 * vfio-pci reports them (INTx count 1 when the device has an interrupt
 * pin; MSI/MSI-X counts from their capabilities; ERR and REQ count 1 for
 * PCIe devices). -EINVAL for an index >= VFIO_PCI_NUM_IRQS.
 */
int vfk_device_irq_info(const struct vfk_device *dev, struct vfio_irq_info *info);

/**
 * VFIO_DEVICE_SET_IRQS. `set` is the header (argsz ignored); `data` holds
 * data_len bytes after it: nothing for DATA_NONE, count u8 for DATA_BOOL,
 * count s32 fds for DATA_EVENTFD (-1 drops that vector's eventfd). Every
 * field is checked (one action, one data type, index, start + count within
 * the index's count, data_len) before anything changes. The caller keeps
 * its fds; the device dup()s the ones it keeps.
 */
int vfk_device_set_irqs(struct vfk_device *dev, const struct vfio_irq_set *set,
			const void *data, size_t data_len);

/**
 * Raise vector `vector` of IRQ index `index` from the device model: signal
 * its eventfd, or remember it pending when masked. -EINVAL for a bad
 * index/vector, -ENOENT when no eventfd is set.
 */
int vfk_irq_trigger(struct vfk_device *dev, uint32_t index, uint32_t vector);

/** For INTx: the model deasserts its line (clears a pending interrupt). */
void vfk_irq_deassert(struct vfk_device *dev, uint32_t index, uint32_t vector);

#ifdef __cplusplus
}
#endif
#endif
