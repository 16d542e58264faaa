// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <vfiokit/vfiokit.h>
#include "doorbell.h"
#include "raw_client.h"
#include "vfio-user/wire.h"

static void copy_later(struct vfk_device *d, void *arg)
{
	struct doorbell *db = arg;
	uint8_t tmp[16];

	db->copy_status = vfk_dma_read(d, db->iova, tmp, sizeof(tmp));
	if (!db->copy_status)
		db->copy_status = vfk_dma_write(d, db->iova + 16, tmp, sizeof(tmp));
	db->copies++;
}

static ssize_t bar_read(struct vfk_device *d, struct vfk_region *r, void *buf,
			size_t count, uint64_t off)
{
	struct doorbell *db = vfk_region_priv(r);

	if (count != 4 || (off != DB_COPIES && off != DB_POSTED))
		return -EINVAL;
	memcpy(buf, off == DB_COPIES ? &db->copies : &db->posted, 4);
	return 4;
}

static ssize_t bar_write(struct vfk_device *d, struct vfk_region *r, const void *buf,
			 size_t count, uint64_t off)
{
	struct doorbell *db = vfk_region_priv(r);
	int e;

	if (off == DB_SCRATCH && count == 4) {
		db->posted++;
		return 4;
	}
	if (off != DB_DOORBELL || count != 8)
		return -EINVAL;
	memcpy(&db->iova, buf, 8);
	e = vfk_device_defer(d, copy_later, db);
	return e ? e : (ssize_t)count;
}

static const struct vfk_region_ops bar_ops = { .read = bar_read, .write = bar_write };

struct vfk_device *db_device(struct doorbell *db, const char *name)
{
	struct vfk_device_desc desc = { .name = name, .vendor_id = 0x1af4,
					.device_id = 0x10f8, .class_code = 0xff0000 };
	struct vfk_region_desc bar = { VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
				       4096, &bar_ops, db };

	*db = (struct doorbell){ 0 };
	assert_int_equal(vfk_device_create(&desc, &db->dev), 0);
	assert_int_equal(vfk_device_set_bar(db->dev, 0, &bar, 0), 0);
	return db->dev;
}

size_t db_write_size(uint64_t off)
{
	return VFU_HDR_SIZE + sizeof(struct vfu_region_rw) + (off == DB_DOORBELL ? 8 : 4);
}

size_t db_put_write(uint8_t *buf, uint16_t id, uint64_t off, uint64_t value, bool posted)
{
	uint32_t count = off == DB_DOORBELL ? 8 : 4;
	struct vfu_region_rw rw = { off, 0, count };
	struct vfu_hdr h;

	vfu_hdr_init(&h, id, VFU_CMD_REGION_WRITE, (uint32_t)db_write_size(off),
		     VFU_F_TYPE_COMMAND | (posted ? VFU_F_NO_REPLY : 0));
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + VFU_HDR_SIZE, &rw, sizeof(rw));
	memcpy(buf + VFU_HDR_SIZE + sizeof(rw), &value, count);
	return h.msg_size;
}

size_t db_put_maps(uint8_t *buf, uint64_t iova, unsigned int count)
{
	size_t len = 0;

	for (unsigned int k = 0; k < count; k++) {
		struct vfu_dma_map m = { sizeof(m), VFU_DMA_FLAG_READ, 0, iova + k * 4096ull, 4096 };
		struct vfu_hdr h;

		vfu_hdr_init(&h, (uint16_t)k, VFU_CMD_DMA_MAP, VFU_HDR_SIZE + sizeof(m),
			     VFU_F_TYPE_COMMAND);
		memcpy(buf + len, &h, sizeof(h));
		memcpy(buf + len + VFU_HDR_SIZE, &m, sizeof(m));
		len += VFU_HDR_SIZE + sizeof(m);
	}
	return len;
}

uint32_t db_read(int fd, uint64_t off)
{
	struct vfu_region_rw rw = { off, 0, 4 };
	uint8_t out[sizeof(rw) + 4];
	uint32_t v;

	assert_int_equal(rc_call(fd, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, out,
				 sizeof(out), NULL), sizeof(out));
	memcpy(&v, out + sizeof(rw), 4);
	return v;
}

void db_send_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		assert_true(n > 0);
		buf += n;
		len -= (size_t)n;
	}
}

int db_sparse_memfd(const char *name, uint64_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

long db_dma_map(int fd, uint64_t iova, uint64_t size, int mem_fd, uint64_t offset)
{
	struct vfu_dma_map m = { sizeof(m), VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE,
				 offset, iova, size };

	return rc_call(fd, VFU_CMD_DMA_MAP, &m, sizeof(m), mem_fd >= 0 ? &mem_fd : NULL,
		       mem_fd >= 0 ? 1 : 0, NULL, 0, NULL);
}
