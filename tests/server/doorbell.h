/* SPDX-License-Identifier: MIT */
/*
 * A test device whose doorbell starts deferred DMA, and the messages a
 * raw client sends it. Shared by the isolation test and the soak.
 *
 * BAR0: write an IOVA (8 bytes) to DB_DOORBELL and the device copies 16
 * bytes from IOVA to IOVA + 16 after the reply; DB_COPIES reads the
 * copies run; 4-byte writes to DB_SCRATCH are counted in DB_POSTED.
 */
#ifndef VFIOKIT_TEST_DOORBELL_H
#define VFIOKIT_TEST_DOORBELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DB_DOORBELL 0x10
#define DB_COPIES   0x20
#define DB_SCRATCH  0x30
#define DB_POSTED   0x34

struct vfk_device;

struct doorbell {
	struct vfk_device *dev;
	uint64_t iova;
	uint32_t copies;
	uint32_t posted;
	int copy_status;            /* of the last copy */
};

/* A device named name whose BAR0 is db's (db must outlive it). */
struct vfk_device *db_device(struct doorbell *db, const char *name);

/* A REGION_WRITE of value to off (DB_DOORBELL: 8 bytes, else 4) at buf,
 * posted when no reply is wanted; the message's size. */
size_t db_put_write(uint8_t *buf, uint16_t id, uint64_t off, uint64_t value, bool posted);

/* count fd-less, read-only DMA_MAPs of consecutive 4 KiB pages from iova
 * at buf (ids 0, 1, ...); their total size. */
size_t db_put_maps(uint8_t *buf, uint64_t iova, unsigned int count);

/* The size of a db_put_write() message to off. */
size_t db_write_size(uint64_t off);

/* Read a 4-byte register through rc_call (asserts it is answered). */
uint32_t db_read(int fd, uint64_t off);

/* send() all of buf (asserts). */
void db_send_all(int fd, const uint8_t *buf, size_t len);

/* A close-on-exec memfd truncated to size (sparse). */
int db_sparse_memfd(const char *name, uint64_t size);

/* DMA_MAP through rc_call with mem_fd (-1: none); the reply's result. */
long db_dma_map(int fd, uint64_t iova, uint64_t size, int mem_fd, uint64_t offset);

#endif
