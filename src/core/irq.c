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
#include <sys/uio.h>

#include <vfiokit/event.h>
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
	vfk_watch_remove(v->unmask_watch);
	if (v->unmask_fd >= 0)
		close(v->unmask_fd);
	if (v->eventfd >= 0)
		close(v->eventfd);
	*v = (struct vfk_irq_vector){ .eventfd = -1, .unmask_fd = -1 };
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
		vectors[i] = (struct vfk_irq_vector){ .eventfd = -1, .unmask_fd = -1 };
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
	/* Without PCIe GET_IRQ_INFO refuses ERR; SET_IRQS finds no vector. */
	if (!ret)
		ret = vfk_irqs_set_count(dev, VFIO_PCI_ERR_IRQ_INDEX, pcie ? 1 : 0);
	if (!ret)
		ret = vfk_irqs_set_count(dev, VFIO_PCI_REQ_IRQ_INDEX, 1);
	if (ret)
		vfk_irqs_fini(dev);
	return ret;
}

/* The index is off again: no eventfd kept, nothing masked or pending. */
static void index_clear(struct vfk_irq_index *irq)
{
	for (uint32_t i = 0; i < irq->count; i++)
		vector_clear(&irq->vectors[i]);
	irq->active = 0;
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
	if (vfk_is_passthrough(dev)) {
		const struct vfio_irq_info *t = &dev->pt.irqs[info->index];

		if (!t->argsz)
			return -EINVAL;
		info->argsz = sizeof(*info);
		info->flags = t->flags;
		info->count = t->count;
		return 0;
	}
	/* vfio-pci has no ERR index at all for a function that is not PCIe. */
	if (info->index == VFIO_PCI_ERR_IRQ_INDEX && !dev->desc.pcie)
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

static int intx_resample(struct vfk_device *dev);

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
	if (index == VFIO_PCI_INTX_IRQ_INDEX) {
		vfk_config_set_intx_status(dev, true);
		/* An EOI the loop has not dispatched yet still comes first; a
		 * failed delivery of what it unmasks cannot fail this one. */
		(void)intx_resample(dev);
	}
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

/*
 * What vfio core checks for every index before the driver sees the
 * request: flags, index, range, data type and length, all -EINVAL. The
 * action is the driver's to judge (-ENOTTY for one it has no handler for).
 */
static int set_irqs_check(const struct vfk_device *dev, const struct vfio_irq_set *set,
			  const void *data, size_t data_len)
{
	const uint32_t known = VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK;
	uint32_t data_type = set->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	uint32_t max;

	if ((set->flags & ~known) || set->index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	max = dev->irqs[set->index].count;
	if (set->start >= max || set->count > max - set->start)
		return -EINVAL;
	if (!exactly_one_bit(data_type))
		return -EINVAL;
	if ((size_t)set->count * data_elem_size(data_type) > data_len)
		return -EINVAL;
	if (data_type != VFIO_IRQ_SET_DATA_NONE && set->count && !data)
		return -EINVAL;
	return 0;
}

/* Whether vector start + i is selected: always for NONE, by the u8 for BOOL. */
static bool selected(uint32_t data_type, const void *data, uint32_t i)
{
	return data_type == VFIO_IRQ_SET_DATA_NONE || ((const uint8_t *)data)[i];
}

static int32_t fd_at(const void *data, uint32_t i)
{
	int32_t fd;

	memcpy(&fd, (const uint8_t *)data + i * sizeof(fd), sizeof(fd));
	return fd;
}

/* Unmasking delivers what was raised while masked. */
static int unmask_vector(const struct vfk_device *dev, uint32_t index, struct vfk_irq_vector *v)
{
	v->masked = false;
	if (v->pending && v->eventfd >= 0)
		return vector_fire(dev, index, v);
	return 0;
}

/*
 * TRIGGER with NONE/BOOL, vfio-pci's loopback test: signal the selected
 * vectors' eventfds, past masks (INTx is not automasked by it); only the
 * guest's Interrupt Disable holds INTx back.
 */
static int do_fire(const struct vfk_device *dev, const struct vfk_irq_index *irq,
		   const struct vfio_irq_set *set, uint32_t data_type, const void *data)
{
	int ret = 0;

	if (set->index == VFIO_PCI_INTX_IRQ_INDEX && vfk_config_intx_disabled(dev))
		return 0;
	for (uint32_t i = 0; i < set->count && !ret; i++) {
		const struct vfk_irq_vector *v = &irq->vectors[set->start + i];

		if (selected(data_type, data, i) && v->eventfd >= 0)
			ret = signal_eventfd(v->eventfd);
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
 * then swap them in. A negative fd drops the vector's eventfd, as in
 * vfio-pci, where any fd < 0 means "disable only".
 */
static int do_set_eventfds(struct vfk_irq_index *irq, const struct vfio_irq_set *set,
			   const void *data)
{
	int dups[IRQ_MAX_VECTORS];
	uint32_t i;

	for (i = 0; i < set->count; i++) {
		int32_t fd = fd_at(data, i);

		dups[i] = fd < 0 ? -1 : keep_eventfd(fd);
		if (fd >= 0 && dups[i] < 0) {
			int ret = dups[i];

			while (i-- > 0)
				if (dups[i] >= 0)
					close(dups[i]);
			return ret;
		}
	}
	for (i = 0; i < set->count; i++) {
		vector_clear(&irq->vectors[set->start + i]);
		irq->vectors[set->start + i].eventfd = dups[i];
	}
	return 0;
}

/* No interrupt type is enabled: INTx, MSI and MSI-X exclude each other. */
static bool irqs_off(const struct vfk_device *dev)
{
	return !dev->irqs[VFIO_PCI_INTX_IRQ_INDEX].active &&
	       !dev->irqs[VFIO_PCI_MSI_IRQ_INDEX].active &&
	       !dev->irqs[VFIO_PCI_MSIX_IRQ_INDEX].active;
}

/*
 * The count of a signalled eventfd, taken without blocking: the peer
 * shares the file description and may have made it blocking, and may
 * read it between our poll and our read.
 */
static bool take_signal(int fd)
{
	uint64_t count;
	struct iovec iov = { &count, sizeof(count) };

	return preadv2(fd, &iov, 1, -1, RWF_NOWAIT) == (ssize_t)sizeof(count);
}

/* The peer signalled the INTx unmask eventfd (its EOI): unmask. */
static int intx_resample(struct vfk_device *dev)
{
	struct vfk_irq_index *irq = &dev->irqs[VFIO_PCI_INTX_IRQ_INDEX];
	struct vfk_irq_vector *v = irq->count ? &irq->vectors[0] : NULL;

	if (!v || v->unmask_fd < 0 || !take_signal(v->unmask_fd))
		return 0;
	return unmask_vector(dev, VFIO_PCI_INTX_IRQ_INDEX, v);
}

static void unmask_fd_ready(struct vfk_device *dev, int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	/* A failed eventfd write is the trigger side's; the unmask happened. */
	(void)intx_resample(dev);
}

/*
 * UNMASK with EVENTFD (QEMU's resample fd for KVM's INTx): the eventfd
 * unmasks INTx whenever it is signalled, as vfio-pci's virqfd. One at a
 * time (-EBUSY), a negative fd drops it; a signal already there counts.
 */
static int set_unmask_fd(struct vfk_device *dev, struct vfk_irq_vector *v, int32_t fd)
{
	int dup, ret;

	if (fd < 0) {
		vfk_watch_remove(v->unmask_watch);
		v->unmask_watch = NULL;
		if (v->unmask_fd >= 0)
			close(v->unmask_fd);
		v->unmask_fd = -1;
		return 0;
	}
	dup = keep_eventfd(fd);
	if (dup < 0)
		return dup;
	ret = v->unmask_fd >= 0 ? -EBUSY :
	      vfk_watch_add(dev, dup, VFK_EVENT_READ, unmask_fd_ready, NULL, &v->unmask_watch);
	if (ret) {
		close(dup);
		return ret;
	}
	v->unmask_fd = dup;
	return intx_resample(dev);
}

/* INTx MASK/UNMASK: vector 0 of an enabled INTx only. */
static int intx_mask_unmask(struct vfk_device *dev, const struct vfio_irq_set *set,
			    uint32_t action, uint32_t data_type, const void *data)
{
	struct vfk_irq_index *irq = &dev->irqs[VFIO_PCI_INTX_IRQ_INDEX];
	struct vfk_irq_vector *v = &irq->vectors[0];

	if (!irq->active || set->start || set->count != 1)
		return -EINVAL;
	if (data_type == VFIO_IRQ_SET_DATA_EVENTFD)
		return action == VFIO_IRQ_SET_ACTION_MASK ? -ENOTTY :
		       set_unmask_fd(dev, v, fd_at(data, 0));
	if (!selected(data_type, data, 0))
		return 0;
	if (action == VFIO_IRQ_SET_ACTION_MASK) {
		v->masked = true;
		return 0;
	}
	return unmask_vector(dev, VFIO_PCI_INTX_IRQ_INDEX, v);
}

/*
 * TRIGGER on INTx, MSI or MSI-X. An eventfd enables the index when no
 * type is enabled (INTx with its one vector, MSI/MSI-X with start + count
 * vectors, fixed until disabled); NONE with count 0 disables it; firing
 * needs it enabled. Another type enabled: -EINVAL.
 */
static int intr_trigger(struct vfk_device *dev, const struct vfio_irq_set *set,
			uint32_t data_type, const void *data)
{
	struct vfk_irq_index *irq = &dev->irqs[set->index];
	bool intx = set->index == VFIO_PCI_INTX_IRQ_INDEX;
	uint32_t nvec = set->start + set->count;
	int ret;

	if (irq->active && !set->count && data_type == VFIO_IRQ_SET_DATA_NONE) {
		index_clear(irq);
		return 0;
	}
	if ((!irq->active && !irqs_off(dev)) || (intx && (set->start || set->count != 1)))
		return -EINVAL;
	if (data_type != VFIO_IRQ_SET_DATA_EVENTFD)
		return irq->active && nvec <= irq->active ? do_fire(dev, irq, set, data_type, data)
							  : -EINVAL;
	if (irq->active)
		return set->start < irq->active && nvec <= irq->active ?
		       do_set_eventfds(irq, set, data) : -EINVAL;
	if (!nvec)
		return -ERANGE;   /* the PCI core allocates no empty vector set */
	index_clear(irq);
	ret = do_set_eventfds(irq, set, data);
	if (!ret)
		irq->active = nvec;
	return ret;
}

/* ERR and REQ: one eventfd each, no enabling, vfio-pci's single trigger. */
static int single_trigger(struct vfk_device *dev, const struct vfio_irq_set *set,
			  uint32_t data_type, const void *data)
{
	struct vfk_irq_vector *v = &dev->irqs[set->index].vectors[0];
	int32_t fd;
	int dup;

	if (data_type == VFIO_IRQ_SET_DATA_NONE && v->eventfd < 0)
		return -EINVAL;
	if (data_type == VFIO_IRQ_SET_DATA_NONE && !set->count) {
		vector_clear(v);
		return 0;
	}
	if (!set->count)
		return -EINVAL;
	if (data_type != VFIO_IRQ_SET_DATA_EVENTFD)
		return selected(data_type, data, 0) && v->eventfd >= 0 ?
		       vector_fire(dev, set->index, v) : 0;
	fd = fd_at(data, 0);
	if (fd < -1)
		return 0;   /* neither an fd nor "drop": vfio-pci leaves it be */
	dup = fd < 0 ? -1 : keep_eventfd(fd);
	if (fd >= 0 && dup < 0)
		return dup;
	vector_clear(v);
	v->eventfd = dup;
	return 0;
}

int vfk_device_set_irqs(struct vfk_device *dev, const struct vfio_irq_set *set,
			const void *data, size_t data_len)
{
	uint32_t data_type = set->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	uint32_t action = set->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	bool intr = set->index <= VFIO_PCI_MSIX_IRQ_INDEX;
	int ret = set_irqs_check(dev, set, data, data_len);

	if (ret)
		return ret;
	if (vfk_is_passthrough(dev))
		return dev->pt.ops->set_irqs(dev, set, data, data_len);
	if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
		return intr ? intr_trigger(dev, set, data_type, data) :
		       single_trigger(dev, set, data_type, data);
	/* Only INTx masks; vfio-pci has no handler for the rest (nor for
	 * no action or several): -ENOTTY, as for an unknown ioctl. */
	if (set->index != VFIO_PCI_INTX_IRQ_INDEX ||
	    (action != VFIO_IRQ_SET_ACTION_MASK && action != VFIO_IRQ_SET_ACTION_UNMASK))
		return -ENOTTY;
	return intx_mask_unmask(dev, set, action, data_type, data);
}
