// SPDX-License-Identifier: MIT
/*
 * IRQ bookkeeping with vfio-pci's semantics: per-index vector tables of
 * eventfds, mask and pending bits, GET_IRQ_INFO answers and SET_IRQS
 * (checked in full before anything changes). INTx also lives in config
 * space, as on hardware: the status register's Interrupt Status bit
 * follows the line (a guest's vfio-pci checks it to tell whether the
 * interrupt is ours), and the command register's Interrupt Disable bit
 * holds delivery back until it is cleared.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/irq.h>

#include "core/device_internal.h"

/* MSI-X allows 2048 vectors; nothing in vfio-pci has more. */
#define IRQ_MAX_VECTORS 2048u

static bool index_maskable(uint32_t index)
{
	return index == VFIO_PCI_INTX_IRQ_INDEX;
}

static uint32_t index_flags(uint32_t index)
{
	if (index == VFIO_PCI_INTX_IRQ_INDEX)
		return VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	return VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
}

static void vector_clear(struct vfk_irq_vector *v)
{
	if (v->eventfd >= 0)
		close(v->eventfd);
	*v = (struct vfk_irq_vector){ .eventfd = -1 };
}

int vfk_irqs_set_count(struct vfk_device *dev, uint32_t index, uint32_t count)
{
	struct vfk_irq_index *irq;
	struct vfk_irq_vector *vectors;

	if (index >= VFIO_PCI_NUM_IRQS || count > IRQ_MAX_VECTORS)
		return -EINVAL;
	irq = &dev->irqs[index];
	for (uint32_t i = count; i < irq->count; i++)
		vector_clear(&irq->vectors[i]);
	if (count == 0) {
		free(irq->vectors);
		irq->vectors = NULL;
		irq->count = 0;
		return 0;
	}
	vectors = realloc(irq->vectors, count * sizeof(*vectors));
	if (!vectors)
		return -ENOMEM;
	for (uint32_t i = irq->count; i < count; i++)
		vectors[i] = (struct vfk_irq_vector){ .eventfd = -1 };
	irq->vectors = vectors;
	irq->count = count;
	return 0;
}

int vfk_irqs_init(struct vfk_device *dev)
{
	const bool pcie = dev->desc.pcie;
	int ret;

	for (uint32_t i = 0; i < VFIO_PCI_NUM_IRQS; i++)
		dev->irqs[i] = (struct vfk_irq_index){ .flags = index_flags(i) };
	ret = vfk_irqs_set_count(dev, VFIO_PCI_INTX_IRQ_INDEX, dev->desc.irq_pin ? 1 : 0);
	if (!ret)
		ret = vfk_irqs_set_count(dev, VFIO_PCI_ERR_IRQ_INDEX, pcie ? 1 : 0);
	if (!ret)
		ret = vfk_irqs_set_count(dev, VFIO_PCI_REQ_IRQ_INDEX, 1);
	if (ret)
		vfk_irqs_fini(dev);
	return ret;
}

static void index_clear(struct vfk_irq_index *irq)
{
	for (uint32_t i = 0; i < irq->count; i++)
		vector_clear(&irq->vectors[i]);
}

void vfk_irqs_reset(struct vfk_device *dev)
{
	for (uint32_t i = 0; i < VFIO_PCI_NUM_IRQS; i++)
		for (uint32_t v = 0; v < dev->irqs[i].count; v++) {
			dev->irqs[i].vectors[v].masked = false;
			dev->irqs[i].vectors[v].pending = false;
		}
}

void vfk_irqs_release(struct vfk_device *dev)
{
	for (uint32_t i = 0; i < VFIO_PCI_NUM_IRQS; i++)
		index_clear(&dev->irqs[i]);
}

void vfk_irqs_fini(struct vfk_device *dev)
{
	for (uint32_t i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		index_clear(&dev->irqs[i]);
		free(dev->irqs[i].vectors);
		dev->irqs[i].vectors = NULL;
		dev->irqs[i].count = 0;
	}
}

int vfk_device_irq_info(const struct vfk_device *dev, struct vfio_irq_info *info)
{
	if (info->index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	info->argsz = sizeof(*info);
	info->flags = dev->irqs[info->index].flags;
	info->count = dev->irqs[info->index].count;
	return 0;
}

/*
 * Signal an eventfd. The peer shares the fd's file description and may
 * have left it blocking with its counter near the top: a write would then
 * block the device's thread (and every device served with it), so write
 * only when poll says it cannot block. A full counter already means
 * "pending" to the reader.
 */
static int signal_eventfd(int fd)
{
	const uint64_t one = 1;
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
		return 0;
	if (write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one) || errno == EAGAIN)
		return 0;
	return -errno;
}

/* Deliver or remember one interrupt of vector v of index. */
static int vector_fire(const struct vfk_device *dev, uint32_t index,
		       struct vfk_irq_vector *v)
{
	if (v->masked || (index == VFIO_PCI_INTX_IRQ_INDEX && vfk_config_intx_disabled(dev))) {
		v->pending = true;
		return 0;
	}
	v->pending = false;
	if (index_maskable(index))
		v->masked = true;    /* INTx is automasked until unmasked */
	return signal_eventfd(v->eventfd);
}

int vfk_irq_trigger(struct vfk_device *dev, uint32_t index, uint32_t vector)
{
	struct vfk_irq_vector *v;

	if (index >= VFIO_PCI_NUM_IRQS || vector >= dev->irqs[index].count)
		return -EINVAL;
	/* Software allocated fewer MSI vectors than the device offers. */
	if (index == VFIO_PCI_MSI_IRQ_INDEX && !vfk_config_msi_vector_allocated(dev, vector))
		return -EINVAL;
	/* A masked MSI vector is held in its Pending bit, listener or not. */
	if (index == VFIO_PCI_MSI_IRQ_INDEX && vfk_config_msi_vector_masked(dev, vector)) {
		vfk_config_msi_set_pending(dev, vector, true);
		return 0;
	}
	v = &dev->irqs[index].vectors[vector];
	/* The line is the device's state, whether or not anyone listens. */
	if (index == VFIO_PCI_INTX_IRQ_INDEX)
		vfk_config_set_intx_status(dev, true);
	if (v->eventfd < 0)
		return -ENOENT;
	return vector_fire(dev, index, v);
}

void vfk_irq_deassert(struct vfk_device *dev, uint32_t index, uint32_t vector)
{
	if (index >= VFIO_PCI_NUM_IRQS || vector >= dev->irqs[index].count)
		return;
	dev->irqs[index].vectors[vector].pending = false;
	if (index == VFIO_PCI_INTX_IRQ_INDEX)
		vfk_config_set_intx_status(dev, false);
}

void vfk_irq_intx_command_written(struct vfk_device *dev)
{
	struct vfk_irq_index *irq = &dev->irqs[VFIO_PCI_INTX_IRQ_INDEX];
	struct vfk_irq_vector *v = irq->count ? &irq->vectors[0] : NULL;

	/* A failed eventfd write cannot fail the config write that caused
	 * it; the line stays asserted and the status bit says so. */
	if (v && v->pending && v->eventfd >= 0 && !vfk_config_intx_disabled(dev))
		(void)vector_fire(dev, VFIO_PCI_INTX_IRQ_INDEX, v);
}

void vfk_irq_msi_mask_written(struct vfk_device *dev)
{
	struct vfk_irq_index *irq = &dev->irqs[VFIO_PCI_MSI_IRQ_INDEX];

	/* As for Interrupt Disable, a failed eventfd write cannot fail the
	 * config write; the message was sent as far as the device goes. */
	for (uint32_t v = 0; v < irq->count; v++) {
		if (!vfk_config_msi_pending(dev, v) || vfk_config_msi_vector_masked(dev, v))
			continue;
		vfk_config_msi_set_pending(dev, v, false);
		if (irq->vectors[v].eventfd >= 0)
			(void)vector_fire(dev, VFIO_PCI_MSI_IRQ_INDEX, &irq->vectors[v]);
	}
}

/* Bytes of data per vector for the data type, or 0 for DATA_NONE. */
static size_t data_elem_size(uint32_t data_type)
{
	switch (data_type) {
	case VFIO_IRQ_SET_DATA_BOOL:
		return sizeof(uint8_t);
	case VFIO_IRQ_SET_DATA_EVENTFD:
		return sizeof(int32_t);
	default:
		return 0;
	}
}

static bool exactly_one_bit(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* Every header field and the data length, before anything changes. */
static int set_irqs_check(const struct vfk_device *dev, const struct vfio_irq_set *set,
			  const void *data, size_t data_len)
{
	const uint32_t known = VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK;
	uint32_t data_type = set->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	uint32_t action = set->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	uint32_t max;

	if ((set->flags & ~known) || !exactly_one_bit(data_type) || !exactly_one_bit(action))
		return -EINVAL;
	if (set->index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	max = dev->irqs[set->index].count;
	if (set->start >= max || set->count > max - set->start)
		return -EINVAL;
	if ((size_t)set->count * data_elem_size(data_type) > data_len)
		return -EINVAL;
	if (data_type != VFIO_IRQ_SET_DATA_NONE && set->count && !data)
		return -EINVAL;
	if (action != VFIO_IRQ_SET_ACTION_TRIGGER &&
	    (!index_maskable(set->index) || data_type == VFIO_IRQ_SET_DATA_EVENTFD))
		return -EINVAL;
	return 0;
}

/* Whether vector start + i is selected: always for NONE, by the u8 for BOOL. */
static bool selected(uint32_t data_type, const void *data, uint32_t i)
{
	return data_type == VFIO_IRQ_SET_DATA_NONE || ((const uint8_t *)data)[i];
}

static void do_mask(struct vfk_irq_index *irq, const struct vfio_irq_set *set,
		    uint32_t data_type, const void *data)
{
	for (uint32_t i = 0; i < set->count; i++)
		if (selected(data_type, data, i))
			irq->vectors[set->start + i].masked = true;
}

/* Unmasking delivers what was raised while masked. */
static int do_unmask(const struct vfk_device *dev, struct vfk_irq_index *irq,
		     const struct vfio_irq_set *set, uint32_t data_type, const void *data)
{
	int ret = 0;

	for (uint32_t i = 0; i < set->count; i++) {
		struct vfk_irq_vector *v = &irq->vectors[set->start + i];

		if (!selected(data_type, data, i))
			continue;
		v->masked = false;
		if (v->pending && v->eventfd >= 0 && !ret)
			ret = vector_fire(dev, set->index, v);
	}
	return ret;
}

/* TRIGGER with NONE/BOOL: fire the selected vectors that have an eventfd. */
static int do_fire(const struct vfk_device *dev, struct vfk_irq_index *irq,
		   const struct vfio_irq_set *set, uint32_t data_type, const void *data)
{
	int ret = 0;

	for (uint32_t i = 0; i < set->count && !ret; i++) {
		struct vfk_irq_vector *v = &irq->vectors[set->start + i];

		if (selected(data_type, data, i) && v->eventfd >= 0)
			ret = vector_fire(dev, set->index, v);
	}
	return ret;
}

/*
 * Our own reference to a peer's eventfd, or -errno. Like vfio-pci, only
 * eventfds are taken: anything else (a pipe, a socket) could behave in
 * ways an interrupt must not. Without /proc the type cannot be checked,
 * and signal_eventfd() still never blocks.
 */
static int keep_eventfd(int fd)
{
	static const char eventfd_link[] = "anon_inode:[eventfd]";
	char path[40], target[sizeof(eventfd_link)];
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	ssize_t n;

	if (dup < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", dup);
	n = readlink(path, target, sizeof(target));
	if (n < 0 && errno == ENOENT && access("/proc/self", F_OK) != 0)
		return dup;
	if (n != (ssize_t)sizeof(target) - 1 || memcmp(target, eventfd_link, (size_t)n)) {
		close(dup);
		return -EINVAL;
	}
	return dup;
}

/*
 * TRIGGER with EVENTFD: take every fd first so a bad one changes nothing,
 * then swap them in; -1 drops the vector's eventfd.
 */
static int do_set_eventfds(struct vfk_irq_index *irq, const struct vfio_irq_set *set,
			   const void *data)
{
	int dups[IRQ_MAX_VECTORS];
	int ret = 0;
	uint32_t i;

	for (i = 0; i < set->count; i++) {
		int32_t fd;

		memcpy(&fd, (const uint8_t *)data + i * sizeof(fd), sizeof(fd));
		dups[i] = -1;
		if (fd < -1) {
			ret = -EINVAL;
			break;
		}
		if (fd >= 0 && (dups[i] = keep_eventfd(fd)) < 0) {
			ret = dups[i];
			dups[i] = -1;
			break;
		}
	}
	if (ret) {
		while (i-- > 0)
			if (dups[i] >= 0)
				close(dups[i]);
		return ret;
	}
	for (i = 0; i < set->count; i++) {
		vector_clear(&irq->vectors[set->start + i]);
		irq->vectors[set->start + i].eventfd = dups[i];
	}
	return 0;
}

int vfk_device_set_irqs(struct vfk_device *dev, const struct vfio_irq_set *set,
			const void *data, size_t data_len)
{
	uint32_t data_type = set->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	uint32_t action = set->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	struct vfk_irq_index *irq;
	int ret = set_irqs_check(dev, set, data, data_len);

	if (ret)
		return ret;
	irq = &dev->irqs[set->index];
	switch (action) {
	case VFIO_IRQ_SET_ACTION_MASK:
		do_mask(irq, set, data_type, data);
		return 0;
	case VFIO_IRQ_SET_ACTION_UNMASK:
		return do_unmask(dev, irq, set, data_type, data);
	default:
		break;
	}
	if (data_type == VFIO_IRQ_SET_DATA_EVENTFD)
		return do_set_eventfds(irq, set, data);
	if (data_type == VFIO_IRQ_SET_DATA_NONE && set->count == 0) {
		index_clear(irq);    /* the kernel's "disable this index" */
		return 0;
	}
	return do_fire(dev, irq, set, data_type, data);
}
