/* SPDX-License-Identifier: MIT */
/*
 * What the server tests that send fds share: QEMU-like guest memory
 * (sealed memfds), DMA_MAP messages carrying fds, the replies checked,
 * the server's DMA_READ answered by hand, and 4-byte BAR accesses. Every
 * helper asserts with cmocka, so a failure fails the calling test.
 */
#ifndef VFIOKIT_TEST_FD_FIXTURE_H
#define VFIOKIT_TEST_FD_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "vfio-user/protocol.h"

/* More fds than a message may carry: what ff_send_many_fds sends. */
#define FF_MANY_FDS 20u

/* A DMA_MAP command as bytes on the wire (ff_dma_map_msg). */
#define FF_DMA_MAP_MSG_SIZE (VFU_HDR_SIZE + sizeof(struct vfu_dma_map))

/* A server DMA_READ of 4 bytes, and the reply that answers it. */
#define FF_DMA_READ4_SIZE       (VFU_HDR_SIZE + VFU_DMA_RW_HDR_SIZE)
#define FF_DMA_READ4_REPLY_SIZE (FF_DMA_READ4_SIZE + 4)

/* A memfd of size bytes whose first 4 bytes are tag, sealed against
 * shrinking as QEMU's guest RAM is. */
int ff_tagged_memfd(uint32_t tag, size_t size);

/* The bytes of a read/write DMA_MAP (id) of size bytes at iova into msg
 * (FF_DMA_MAP_MSG_SIZE bytes). */
void ff_dma_map_msg(uint8_t *msg, uint16_t id, uint64_t iova, uint64_t size);

/* Send a read/write DMA_MAP (id) of size bytes at iova in one write with
 * fds (nfds of them) along. */
void ff_send_map(int sock, uint16_t id, uint64_t iova, uint64_t size, const int *fds,
		 unsigned int nfds);

/* One sendmsg of buf (len bytes) with FF_MANY_FDS copies of fd: past the
 * wire layer's cap, which a client of the library could not send. */
void ff_send_many_fds(int sock, const void *buf, size_t len, int fd);

/* The next message is the reply to (id, cmd); with err 0 it has no error
 * flag, else the error err. Returns its size (at least a header). */
ssize_t ff_expect_reply(int sock, uint16_t id, uint16_t cmd, uint32_t err);

/* Connect to path and negotiate; *sock is set as soon as the socket is
 * connected (so a teardown can close it if a later step fails). */
void ff_connect(const char *path, int *sock);

/* ff_connect, then map [iova, iova + size) for reading without an fd:
 * the device reaches it with DMA_READ messages. */
void ff_connect_plain_map(const char *path, uint64_t iova, uint64_t size, int *sock);

/* After a client's hang-up: the server handles it asynchronously, so wait
 * for a new connection's VERSION to be answered. One that comes too early
 * is refused as a second client: try again, for about two seconds. */
void ff_sync_with_server(const char *path);

/* Close the client sock, ff_sync_with_server, then check that as many
 * fds are open as before (test_count_open_fds): none left behind by the
 * client or the server. */
void ff_finish(const char *path, int sock, int before);

/* The next message is the server's DMA_READ of 4 bytes, into req (cap). */
void ff_expect_dma_read(int sock, uint8_t *req, size_t cap);

/* The reply to the DMA_READ in req with value as its data, into out
 * (FF_DMA_READ4_REPLY_SIZE bytes). */
void ff_dma_read_reply(const uint8_t *req, uint32_t value, uint8_t *out);

/* Send that reply in one sendmsg with fd (-1: none) along: the result of
 * the send (the reply's size, or -1 with errno). */
ssize_t ff_answer_dma_read(int sock, const uint8_t *req, uint32_t value, int fd);

/* A write of len (at most 8) bytes from data at off in BAR0, waiting for
 * its reply. */
void ff_bar_write(int sock, uint64_t off, const void *data, uint32_t len);

/* A posted (no reply) 4-byte write of zero at off in BAR0, as id. */
void ff_bar_post_write32(int sock, uint16_t id, uint64_t off);

/* The 4 bytes at off in BAR0. */
uint32_t ff_bar_read32(int sock, uint64_t off);

/*
 * The probe registers, which a test device's BAR0 handlers hand to
 * ff_probe_bar_write/read: write an iova (8 bytes) at FF_PROBE_ADDR, then
 * a 4-byte read at FF_PROBE reads client memory there through the
 * device's DMA mappings. They tell which file an iova is mapped to.
 */
#define FF_PROBE_ADDR 0x20
#define FF_PROBE      0x28

struct vfk_device;

/* In a BAR0 write handler: an 8-byte write at FF_PROBE_ADDR is taken
 * (8); any other access is not a probe access (0). */
ssize_t ff_probe_bar_write(uint64_t off, const void *buf, size_t count);

/* In a BAR0 read handler: a 4-byte read at FF_PROBE reads client memory
 * (4, or the DMA's -errno); any other access is not a probe access (0). */
ssize_t ff_probe_bar_read(struct vfk_device *d, uint64_t off, void *buf, size_t count);

/* The client side: the device reads 4 bytes at iova. The REGION_READ's
 * result (payload length, or -error); the value in *val. */
ssize_t ff_try_probe(int sock, uint64_t iova, uint32_t *val);

/* ff_try_probe that must succeed: the value read. */
uint32_t ff_probe(int sock, uint64_t iova);

#endif
