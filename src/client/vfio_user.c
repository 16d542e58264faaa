// SPDX-License-Identifier: MIT
/*
 * vfio-user backend: the VFIO operations as messages (user_conn.c carries
 * them). Replies are checked field by field against what was asked.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "user_conn.h"

#define USER_DEFAULT_TIMEOUT_MS 5000
/* Answers above these are malformed (QEMU accepts 100 regions and 50 IRQ types). */
#define USER_MAX_REGIONS 1024u
#define USER_MAX_IRQS    64u

static struct user_client *to_user(struct vfk_client *c)
{
	return (struct user_client *)c;
}

/* Every operation below is one API call: its messages share one deadline. */
static struct user_client *start_call(struct vfk_client *c)
{
	struct user_client *uc = to_user(c);

	user_begin(uc);
	return uc;
}

static void user_close(struct vfk_client *c)
{
	struct user_client *uc = to_user(c);

	if (uc->sock >= 0)
		close(uc->sock);
	free(uc->buf);
	free(uc->dma);
	free(uc);
}

static int user_device_info(struct vfk_client *c, struct vfio_device_info *info)
{
	struct vfu_device_info req = { .argsz = sizeof(req) }, rep;
	struct user_reply r;
	int ret = user_call(start_call(c), VFU_CMD_DEVICE_GET_INFO,
			    &(struct iovec){ &req, sizeof(req) }, 1, NULL, 0, false, 0, &r);

	if (ret)
		return ret;
	if (r.len != sizeof(rep))
		return -EPROTO;
	memcpy(&rep, r.payload, sizeof(rep));
	if (rep.argsz < sizeof(rep) || rep.num_regions > USER_MAX_REGIONS ||
	    rep.num_irqs > USER_MAX_IRQS)
		return -EPROTO;
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->flags = rep.flags;
	info->num_regions = rep.num_regions;
	info->num_irqs = rep.num_irqs;
	return 0;
}

static int user_region_info(struct vfk_client *c, uint32_t index, void *buf, uint32_t len,
			    size_t *got, int *fd)
{
	struct vfio_region_info req = { .argsz = len, .index = index };
	struct user_reply r;
	int ret = user_call(start_call(c), VFU_CMD_DEVICE_GET_REGION_INFO,
			    &(struct iovec){ &req, sizeof(req) }, 1, NULL, 0, false, 1, &r);

	if (ret)
		return ret;
	if (r.len < sizeof(req) || r.len > len) {
		vfu_wire_close_fds(r.fds, r.nfds);
		return -EPROTO;
	}
	memcpy(buf, r.payload, r.len);
	*got = r.len;
	*fd = r.nfds ? r.fds[0] : -1;
	return 0;
}

static int user_irq_info(struct vfk_client *c, struct vfio_irq_info *info)
{
	struct vfio_irq_info rep;
	struct user_reply r;
	int ret = user_call(start_call(c), VFU_CMD_DEVICE_GET_IRQ_INFO,
			    &(struct iovec){ info, sizeof(*info) }, 1, NULL, 0, false, 0, &r);

	if (ret)
		return ret;
	if (r.len != sizeof(rep))
		return -EPROTO;
	memcpy(&rep, r.payload, sizeof(rep));
	if (rep.index != info->index)
		return -EPROTO;
	*info = rep;
	return 0;
}

/* One REGION_READ of at most xfer_max bytes; the reply must echo the request. */
static int read_chunk(struct user_client *uc, uint32_t index, uint64_t offset, void *buf,
		      uint32_t count)
{
	struct vfu_region_rw req = { .offset = offset, .region = index, .count = count }, rep;
	struct user_reply r;
	int ret = user_call(uc, VFU_CMD_REGION_READ, &(struct iovec){ &req, sizeof(req) }, 1,
			    NULL, 0, false, 0, &r);

	if (ret)
		return ret;
	if (r.len != sizeof(rep) + count)
		return -EPROTO;
	memcpy(&rep, r.payload, sizeof(rep));
	if (rep.offset != offset || rep.region != index || rep.count != count)
		return -EPROTO;
	memcpy(buf, r.payload + sizeof(rep), count);
	return 0;
}

static int write_chunk(struct user_client *uc, uint32_t index, uint64_t offset,
		       const void *buf, uint32_t count)
{
	struct vfu_region_rw req = { .offset = offset, .region = index, .count = count }, rep;
	struct iovec iov[2] = { { &req, sizeof(req) }, { (void *)buf, count } };
	bool posted = uc->base.opts.posted_writes;
	struct user_reply r;
	int ret = user_call(uc, VFU_CMD_REGION_WRITE, iov, 2, NULL, 0, posted, 0, &r);

	if (ret || posted)
		return ret;
	if (r.len != sizeof(rep))
		return -EPROTO;
	memcpy(&rep, r.payload, sizeof(rep));
	if (rep.offset != offset || rep.region != index || rep.count != count)
		return -EPROTO;
	return 0;
}

/* Split [offset, offset + count) into pieces the server accepts. */
static ssize_t user_region_rw(struct user_client *uc, uint32_t index, uint64_t offset,
			      uint8_t *buf, size_t count, bool write)
{
	size_t done = 0;

	if (offset + count < offset || count > SSIZE_MAX)
		return -EINVAL;
	while (done < count) {
		uint32_t n = (uint32_t)(count - done < uc->xfer_max ? count - done : uc->xfer_max);
		int ret = write ? write_chunk(uc, index, offset + done, buf + done, n) :
			  read_chunk(uc, index, offset + done, buf + done, n);

		if (ret)
			return ret;
		done += n;
	}
	return (ssize_t)count;
}

static ssize_t user_region_read(struct vfk_client *c, uint32_t index, uint64_t offset,
				void *buf, size_t count)
{
	return user_region_rw(start_call(c), index, offset, buf, count, false);
}

static ssize_t user_region_write(struct vfk_client *c, uint32_t index, uint64_t offset,
				 const void *buf, size_t count)
{
	return user_region_rw(start_call(c), index, offset, (uint8_t *)buf, count, true);
}

static int user_reset(struct vfk_client *c)
{
	struct user_reply r;

	return user_call(start_call(c), VFU_CMD_DEVICE_RESET, NULL, 0, NULL, 0, false, 0, &r);
}

/* One SET_IRQS: count fds, or none (fds NULL) to drop count vectors' eventfds. */
static int set_irqs_once(struct user_client *uc, uint32_t index, uint32_t start,
			 uint32_t count, const int *fds)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = (count ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE) |
			 VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = index,
		.start = start,
		.count = count,
	};
	struct user_reply r;

	return user_call(uc, VFU_CMD_DEVICE_SET_IRQS, &(struct iovec){ &set, sizeof(set) }, 1,
			 fds, fds ? count : 0, false, 0, &r);
}

/*
 * -1 cannot travel as SCM_RIGHTS: send runs of real fds (at most the
 * server's max_msg_fds each) and runs of -1 (no fds) separately.
 */
static int user_set_irqs(struct vfk_client *c, uint32_t index, uint32_t start, uint32_t count,
			 const int *fds)
{
	struct user_client *uc = start_call(c);
	/* The server may offer more fds per message than the wire sends. */
	uint32_t max_fds = uc->server.max_msg_fds < VFU_WIRE_MAX_FDS ?
			   uc->server.max_msg_fds : VFU_WIRE_MAX_FDS;
	uint32_t i = 0;

	if (!count)
		return set_irqs_once(uc, index, start, 0, NULL);
	if (!fds)
		return -EINVAL;
	while (i < count) {
		bool unset = fds[i] < 0;
		uint32_t n = 1;
		int ret;

		while (i + n < count && (fds[i + n] < 0) == unset &&
		       (unset || n < max_fds))
			n++;
		ret = set_irqs_once(uc, index, start + i, n, unset ? NULL : fds + i);
		if (ret)
			return ret;
		i += n;
	}
	return 0;
}

/*
 * Any SET_IRQS. BOOL data travels in the payload, eventfds as SCM_RIGHTS.
 * An eventfd of -1 cannot travel: a TRIGGER with some goes in runs as
 * vfk_client_set_irq_eventfds does; other actions take all fds or none
 * (the server reads "no fds" as every vector -1).
 */
static int user_set_irqs_raw(struct vfk_client *c, const struct vfio_irq_set *hdr,
			     const void *data, size_t data_len)
{
	uint32_t type = hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	uint32_t action = hdr->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	struct vfio_irq_set set = *hdr;
	const int *fds = data;
	unsigned int nfds = 0;
	struct iovec iov[2] = { { &set, sizeof(set) }, { (void *)data, data_len } };
	struct user_reply r;

	set.argsz = sizeof(set);
	if (type == VFIO_IRQ_SET_DATA_EVENTFD) {
		bool any = false, all = true;

		for (uint32_t i = 0; i < hdr->count; i++) {
			any |= fds[i] >= 0;
			all &= fds[i] >= 0;
		}
		if (action == VFIO_IRQ_SET_ACTION_TRIGGER && any && !all)
			return user_set_irqs(c, hdr->index, hdr->start, hdr->count, fds);
		if (any && !all)
			return -EINVAL;
		if (hdr->count > VFU_WIRE_MAX_FDS)
			return -E2BIG;
		nfds = any ? hdr->count : 0;
		data_len = 0;
	}
	return user_call(start_call(c), VFU_CMD_DEVICE_SET_IRQS, iov, data_len ? 2 : 1,
			 nfds ? fds : NULL, nfds, false, 0, &r);
}

static int remember_dma(struct user_client *uc, uint64_t iova, uint64_t size, void *vaddr)
{
	if (uc->nr_dma == uc->dma_cap) {
		size_t cap = uc->dma_cap ? uc->dma_cap * 2 : 8;
		struct user_dma *d = realloc(uc->dma, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		uc->dma = d;
		uc->dma_cap = cap;
	}
	uc->dma[uc->nr_dma++] = (struct user_dma){ iova, size, vaddr };
	return 0;
}

static int user_dma_map(struct vfk_client *c, uint64_t iova, uint64_t size, void *vaddr,
			int fd, uint64_t fd_offset, uint32_t prot)
{
	struct user_client *uc = start_call(c);
	struct vfu_dma_map req = {
		.argsz = sizeof(req),
		.flags = ((prot & VFK_DMA_READ) ? VFU_DMA_FLAG_READ : 0) |
			 ((prot & VFK_DMA_WRITE) ? VFU_DMA_FLAG_WRITE : 0),
		.offset = fd >= 0 ? fd_offset : 0,
		.address = iova,
		.size = size,
	};
	struct user_reply r;
	int ret;

	if (!vaddr && fd < 0)
		return -EINVAL;
	/* Room first: once the server has the mapping, we must be able to serve it. */
	if (vaddr) {
		ret = remember_dma(uc, iova, size, vaddr);
		if (ret)
			return ret;
	}
	ret = user_call(uc, VFU_CMD_DMA_MAP, &(struct iovec){ &req, sizeof(req) }, 1,
			fd >= 0 ? &fd : NULL, fd >= 0, false, 0, &r);
	if (ret && vaddr)
		uc->nr_dma--;
	return ret;
}

static void forget_dma(struct user_client *uc, uint64_t iova, uint64_t size)
{
	for (size_t i = 0; i < uc->nr_dma; i++) {
		if (uc->dma[i].iova == iova && uc->dma[i].size == size) {
			uc->dma[i] = uc->dma[--uc->nr_dma];
			return;
		}
	}
}

/* The kernel backend's rule: 0 only when all of size went (the server
 * answers a range never mapped with success and size 0, as type1). */
static int unmap_answer(const struct user_reply *r, uint64_t size)
{
	struct vfu_dma_unmap ans;

	if (r->len < sizeof(ans))
		return 0;   /* an older server: success meant unmapped */
	memcpy(&ans, r->payload, sizeof(ans));
	return ans.size == size ? 0 : -ENOENT;
}

static int user_dma_unmap(struct vfk_client *c, uint64_t iova, uint64_t size)
{
	struct user_client *uc = start_call(c);
	struct vfu_dma_unmap req = { .argsz = sizeof(req), .address = iova, .size = size };
	struct user_reply r;
	int ret = user_call(uc, VFU_CMD_DMA_UNMAP, &(struct iovec){ &req, sizeof(req) }, 1,
			    NULL, 0, false, 0, &r);

	/* Once answered, the server no longer touches the memory. */
	if (!ret)
		forget_dma(uc, iova, size);
	return ret ? ret : unmap_answer(&r, size);
}

/* Requests of a vfk_client_dma_batch kept in flight at once. */
#define USER_DMA_WINDOW 16u

/* Drop the entry a failed map added (the latest with these fields). */
static void forget_failed_map(struct user_client *uc, const struct vfk_client_dma_op *op)
{
	for (size_t i = uc->nr_dma; i-- > 0;) {
		const struct user_dma *d = &uc->dma[i];

		if (d->iova == op->iova && d->size == op->size && d->vaddr == op->vaddr) {
			uc->dma[i] = uc->dma[--uc->nr_dma];
			return;
		}
	}
}

/* Send one op of a batch without waiting; 0 or -errno. */
static int batch_send(struct user_client *uc, const struct vfk_client_dma_op *op, uint16_t *id)
{
	struct vfu_dma_unmap un = { .argsz = sizeof(un), .address = op->iova, .size = op->size };
	struct vfu_dma_map map = {
		.argsz = sizeof(map), .flags = VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE,
		.offset = op->fd >= 0 ? op->fd_offset : 0, .address = op->iova, .size = op->size,
	};
	int ret;

	if (op->unmap)
		return user_send(uc, VFU_CMD_DMA_UNMAP, &(struct iovec){ &un, sizeof(un) }, 1,
				 NULL, 0, false, id);
	/* Room first: once the server has the mapping, we must be able to serve it. */
	if (op->vaddr && (ret = remember_dma(uc, op->iova, op->size, op->vaddr)))
		return ret;
	ret = user_send(uc, VFU_CMD_DMA_MAP, &(struct iovec){ &map, sizeof(map) }, 1,
			op->fd >= 0 ? &op->fd : NULL, op->fd >= 0, false, id);
	if (ret && op->vaddr)
		forget_failed_map(uc, op);
	return ret;
}

/* Collect the reply of a sent op; 0 or -errno. */
static int batch_finish(struct user_client *uc, const struct vfk_client_dma_op *op,
			uint16_t id)
{
	struct user_reply r;
	int ret = user_wait(uc, id, op->unmap ? VFU_CMD_DMA_UNMAP : VFU_CMD_DMA_MAP, 0, &r);

	if (op->unmap && !ret)
		forget_dma(uc, op->iova, op->size);
	else if (!op->unmap && ret && op->vaddr)
		forget_failed_map(uc, op);
	return !ret && op->unmap ? unmap_answer(&r, op->size) : ret;
}

static int user_dma_batch(struct vfk_client *c, struct vfk_client_dma_op *ops, size_t n)
{
	struct user_client *uc = start_call(c);
	uint16_t ids[USER_DMA_WINDOW];
	size_t sent = 0, done = 0;
	int first = 0;

	while (done < n) {
		if (sent < n && sent - done < USER_DMA_WINDOW) {
			ops[sent].result = batch_send(uc, &ops[sent], &ids[sent % USER_DMA_WINDOW]);
			sent++;
			continue;
		}
		if (!ops[done].result)   /* sent: its reply is due */
			ops[done].result = batch_finish(uc, &ops[done],
							ids[done % USER_DMA_WINDOW]);
		if (ops[done].result && !first)
			first = ops[done].result;
		done++;
	}
	return first;
}

static const struct vfk_client_ops user_ops = {
	.name = "vfio-user",
	.close = user_close,
	.device_info = user_device_info,
	.region_info = user_region_info,
	.irq_info = user_irq_info,
	.region_read = user_region_read,
	.region_write = user_region_write,
	.reset = user_reset,
	.set_irqs = user_set_irqs,
	.set_irqs_raw = user_set_irqs_raw,
	.dma_map = user_dma_map,
	.dma_unmap = user_dma_unmap,
	.dma_batch = user_dma_batch,
};

int vfk_user_open(const char *socket_path, const struct vfk_client_opts *opts,
		  struct vfk_client **out, char *errmsg, size_t errmsg_len)
{
	struct user_client *uc = calloc(1, sizeof(*uc));
	int ret;

	if (!uc)
		return -ENOMEM;
	uc->base.ops = &user_ops;
	uc->base.opts = *opts;
	uc->sock = -1;
	uc->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : USER_DEFAULT_TIMEOUT_MS;
	/* The largest message we accept: a region-info answer or a full data
	 * transfer (REGION_READ reply or DMA_WRITE request: 16-byte prefix). */
	uc->buf_size = VFU_HDR_SIZE + sizeof(struct vfu_region_rw) + USER_MAX_DATA_XFER;
	uc->buf = malloc(uc->buf_size);
	if (!uc->buf) {
		free(uc);
		return -ENOMEM;
	}
	ret = user_connect(uc, socket_path, errmsg, errmsg_len);
	if (ret) {
		user_close(&uc->base);
		return ret;
	}
	*out = &uc->base;
	return 0;
}
