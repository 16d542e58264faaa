/* SPDX-License-Identifier: MIT */
/* A raw vfio-user test client: builds messages by hand, no client library. */
#ifndef VFIOKIT_TEST_RAW_CLIENT_H
#define VFIOKIT_TEST_RAW_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "vfio-user/protocol.h"

/* Connect to path; the fd, or -errno. */
int rc_connect(const char *path);

/* Send a command (header built here) with payload and fds; 0 or -errno. */
int rc_send(int fd, uint16_t id, uint16_t cmd, uint32_t flags,
	    const void *payload, size_t len, const int *fds, unsigned int nfds);

/* Receive one message into buf (cap); its size or -errno; fds optional. */
ssize_t rc_recv(int fd, void *buf, size_t cap, int *fds, unsigned int *nfds);

/* Send a command and read its reply; payload of the reply copied to out
 * (out_cap). Returns the reply's payload length, or -error from the reply,
 * or another -errno. Answers the server's DMA_READ/WRITE from dma_mem
 * (dma_base .. + dma_len) meanwhile. */
ssize_t rc_call(int fd, uint16_t cmd, const void *payload, size_t len,
		const int *fds, unsigned int nfds, void *out, size_t out_cap,
		int *rfd);

/* Answer the server's DMA_READ/DMA_WRITE request msg from dma_mem. */
void rc_answer_dma(int fd, const uint8_t *msg);

/* VERSION 0.0 with QEMU's capabilities; 0 or -errno. */
int rc_negotiate(int fd);

/* Memory the test client offers for message-based DMA. */
extern uint8_t *rc_dma_mem;
extern uint64_t rc_dma_base;
extern size_t rc_dma_len;
extern unsigned int rc_dma_requests;

#endif
