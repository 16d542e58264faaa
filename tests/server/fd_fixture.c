/* SPDX-License-Identifier: MIT */
#include "fd_fixture.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/vfio.h>
#include <cmocka.h>

#include <vfiokit/vfiokit.h>
#include "../test_util.h"
#include "raw_client.h"
#include "vfio-user/wire.h"

int ff_tagged_memfd(uint32_t tag, size_t size)
{
	int fd = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	assert_int_equal(pwrite(fd, &tag, sizeof(tag), 0), (ssize_t)sizeof(tag));
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	return fd;
}

static struct vfu_dma_map rw_map(uint64_t iova, uint64_t size)
{
	return (struct vfu_dma_map){ sizeof(struct vfu_dma_map),
				     VFU_DMA_FLAG_READ | VFU_DMA_FLAG_WRITE, 0, iova, size };
}

void ff_dma_map_msg(uint8_t *msg, uint16_t id, uint64_t iova, uint64_t size)
{
	struct vfu_dma_map map = rw_map(iova, size);
	struct vfu_hdr h;

	vfu_hdr_init(&h, id, VFU_CMD_DMA_MAP, FF_DMA_MAP_MSG_SIZE, 0);
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + VFU_HDR_SIZE, &map, sizeof(map));
}

void ff_send_map(int sock, uint16_t id, uint64_t iova, uint64_t size, const int *fds,
		 unsigned int nfds)
{
	struct vfu_dma_map map = rw_map(iova, size);

	assert_int_equal(rc_send(sock, id, VFU_CMD_DMA_MAP, 0, &map, sizeof(map), fds, nfds), 0);
}

void ff_send_many_fds(int sock, const void *buf, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FF_MANY_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cmsg;

	memset(&ctl, 0, sizeof(ctl));   /* the kernel reads the padding too */
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int) * FF_MANY_FDS);
	for (unsigned int i = 0; i < FF_MANY_FDS; i++)
		memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &fd, sizeof(int));
	assert_int_equal(sendmsg(sock, &msg, MSG_NOSIGNAL), (ssize_t)len);
}

ssize_t ff_expect_reply(int sock, uint16_t id, uint16_t cmd, uint32_t err)
{
	uint8_t buf[256];
	struct vfu_hdr h;
	ssize_t n = rc_recv(sock, buf, sizeof(buf), NULL, NULL);

	assert_true(n >= (ssize_t)VFU_HDR_SIZE);
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.msg_id, id);
	assert_int_equal(h.command, cmd);
	assert_int_equal(h.flags & VFU_F_TYPE_MASK, VFU_F_TYPE_REPLY);
	if (err == 0) {
		assert_false(h.flags & VFU_F_ERROR);
	} else {
		assert_true(h.flags & VFU_F_ERROR);
		assert_int_equal(h.error, err);
	}
	return n;
}

void ff_connect(const char *path, int *sock)
{
	*sock = rc_connect(path);
	assert_true(*sock >= 0);
	assert_int_equal(rc_negotiate(*sock), 0);
}

void ff_connect_plain_map(const char *path, uint64_t iova, uint64_t size, int *sock)
{
	struct vfu_dma_map map = { sizeof(map), VFU_DMA_FLAG_READ, 0, iova, size };

	ff_connect(path, sock);
	assert_int_equal(rc_call(*sock, VFU_CMD_DMA_MAP, &map, sizeof(map), NULL, 0, NULL, 0,
				 NULL), 0);
}

void ff_sync_with_server(const char *path)
{
	for (int tries = 0;; tries++) {
		int sock = rc_connect(path);
		int r;

		assert_true(sock >= 0);
		r = rc_negotiate(sock);
		close(sock);
		if (r == 0)
			break;
		assert_true(tries < 100);
		usleep(20000);
	}
	usleep(50000);
}

void ff_finish(const char *path, int sock, int before)
{
	close(sock);
	ff_sync_with_server(path);
	assert_int_equal(test_count_open_fds(), before);
}

void ff_expect_dma_read(int sock, uint8_t *req, size_t cap)
{
	struct vfu_hdr h;

	assert_int_equal(rc_recv(sock, req, cap, NULL, NULL), FF_DMA_READ4_SIZE);
	memcpy(&h, req, sizeof(h));
	assert_int_equal(h.command, VFU_CMD_DMA_READ);
	assert_int_equal(h.flags & VFU_F_TYPE_MASK, VFU_F_TYPE_COMMAND);
}

void ff_dma_read_reply(const uint8_t *req, uint32_t value, uint8_t *out)
{
	struct vfu_hdr h;

	memcpy(&h, req, sizeof(h));
	vfu_hdr_init(&h, h.msg_id, VFU_CMD_DMA_READ, FF_DMA_READ4_REPLY_SIZE, VFU_F_TYPE_REPLY);
	memcpy(out, &h, sizeof(h));
	memcpy(out + VFU_HDR_SIZE, req + VFU_HDR_SIZE, VFU_DMA_RW_HDR_SIZE);
	memcpy(out + FF_DMA_READ4_SIZE, &value, 4);
}

ssize_t ff_answer_dma_read(int sock, const uint8_t *req, uint32_t value, int fd)
{
	uint8_t out[FF_DMA_READ4_REPLY_SIZE];
	struct iovec iov = { out, sizeof(out) };

	ff_dma_read_reply(req, value, out);
	return vfu_wire_sendmsg(sock, &iov, 1, fd >= 0 ? &fd : NULL, fd >= 0);
}

/* A REGION_WRITE's payload: where, then the data (len bytes). */
static size_t region_write_payload(uint8_t *w, uint64_t off, const void *data, uint32_t len)
{
	struct vfu_region_rw rw = { off, VFIO_PCI_BAR0_REGION_INDEX, len };

	memcpy(w, &rw, sizeof(rw));
	memcpy(w + sizeof(rw), data, len);
	return sizeof(rw) + len;
}

void ff_bar_write(int sock, uint64_t off, const void *data, uint32_t len)
{
	uint8_t w[sizeof(struct vfu_region_rw) + 8];
	size_t n;

	assert_true(len <= 8);
	n = region_write_payload(w, off, data, len);
	assert_int_equal(rc_call(sock, VFU_CMD_REGION_WRITE, w, n, NULL, 0, NULL, 0, NULL),
			 (ssize_t)sizeof(struct vfu_region_rw));
}

void ff_bar_post_write32(int sock, uint16_t id, uint64_t off)
{
	uint8_t w[sizeof(struct vfu_region_rw) + 4];
	size_t len = region_write_payload(w, off, &(uint32_t){ 0 }, 4);

	assert_int_equal(rc_send(sock, id, VFU_CMD_REGION_WRITE, VFU_F_NO_REPLY, w, len, NULL,
				 0), 0);
}

/* A 4-byte REGION_READ at off in BAR0: its result, the value in *v. */
static ssize_t try_read32(int sock, uint64_t off, uint32_t *v)
{
	struct vfu_region_rw rw = { off, VFIO_PCI_BAR0_REGION_INDEX, 4 };
	uint8_t out[sizeof(rw) + 4] = { 0 };
	ssize_t n = rc_call(sock, VFU_CMD_REGION_READ, &rw, sizeof(rw), NULL, 0, out,
			    sizeof(out), NULL);

	memcpy(v, out + sizeof(rw), 4);
	return n;
}

uint32_t ff_bar_read32(int sock, uint64_t off)
{
	uint32_t v;

	assert_int_equal(try_read32(sock, off, &v), (ssize_t)(sizeof(struct vfu_region_rw) + 4));
	return v;
}

/* Written and read in the server's thread only (BAR handlers). */
static uint64_t probe_iova;

ssize_t ff_probe_bar_write(uint64_t off, const void *buf, size_t count)
{
	if (off != FF_PROBE_ADDR || count != 8)
		return 0;
	memcpy(&probe_iova, buf, 8);
	return 8;
}

ssize_t ff_probe_bar_read(struct vfk_device *d, uint64_t off, void *buf, size_t count)
{
	int e;

	if (off != FF_PROBE || count != 4)
		return 0;
	e = vfk_dma_read(d, probe_iova, buf, 4);
	return e ? e : 4;
}

ssize_t ff_try_probe(int sock, uint64_t iova, uint32_t *val)
{
	ff_bar_write(sock, FF_PROBE_ADDR, &iova, 8);
	return try_read32(sock, FF_PROBE, val);
}

uint32_t ff_probe(int sock, uint64_t iova)
{
	uint32_t v;

	assert_int_equal(ff_try_probe(sock, iova, &v),
			 (ssize_t)(sizeof(struct vfu_region_rw) + 4));
	return v;
}
