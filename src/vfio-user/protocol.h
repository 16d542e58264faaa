/* SPDX-License-Identifier: MIT */
/*
 * vfio-user wire format, shared by the server (src/server) and the client
 * (src/client). Facts from QEMU's docs/interop/vfio-user.rst and from what
 * QEMU's client (hw/vfio-user/) really puts on the wire. Everything is in
 * host byte order. Payload structs describe the bytes after the 16-byte
 * header; they are packed where the wire has no padding.
 *
 * Where the structs of <linux/vfio.h> already have the exact wire layout
 * (vfio_region_info, vfio_irq_info, vfio_irq_set) the
 * payload *is* that struct and no copy is declared here.
 */
#ifndef VFIOKIT_VFIO_USER_PROTOCOL_H
#define VFIOKIT_VFIO_USER_PROTOCOL_H

#include <stdint.h>
#include <linux/vfio.h>

/* ---- header ---------------------------------------------------------- */

struct vfu_hdr {
	uint16_t msg_id;     /* chosen by the sender, echoed in the reply */
	uint16_t command;    /* enum vfu_command, echoed in the reply */
	uint32_t msg_size;   /* whole message, header included */
	uint32_t flags;      /* VFU_F_* */
	uint32_t error;      /* errno (positive) when VFU_F_ERROR; else 0 */
} __attribute__((packed));

#define VFU_HDR_SIZE         16u

#define VFU_F_TYPE_MASK      0x0fu
#define VFU_F_TYPE_COMMAND   0x00u
#define VFU_F_TYPE_REPLY     0x01u
#define VFU_F_NO_REPLY       0x10u   /* command: the sender wants no reply */
#define VFU_F_ERROR          0x20u   /* reply: `error` holds the errno */

enum vfu_command {
	VFU_CMD_VERSION                  = 1,
	VFU_CMD_DMA_MAP                  = 2,
	VFU_CMD_DMA_UNMAP                = 3,
	VFU_CMD_DEVICE_GET_INFO          = 4,
	VFU_CMD_DEVICE_GET_REGION_INFO   = 5,
	VFU_CMD_DEVICE_GET_REGION_IO_FDS = 6,
	VFU_CMD_DEVICE_GET_IRQ_INFO      = 7,
	VFU_CMD_DEVICE_SET_IRQS          = 8,
	VFU_CMD_REGION_READ              = 9,
	VFU_CMD_REGION_WRITE             = 10,
	VFU_CMD_DMA_READ                 = 11,   /* server -> client */
	VFU_CMD_DMA_WRITE                = 12,   /* server -> client */
	VFU_CMD_DEVICE_RESET             = 13,
	/* 14 was DIRTY_PAGES, retired */
	VFU_CMD_REGION_WRITE_MULTI       = 15,
	VFU_CMD_DEVICE_FEATURE           = 16,
	VFU_CMD_MIG_DATA_READ            = 17,
	VFU_CMD_MIG_DATA_WRITE           = 18,
};

/* ---- VERSION (1) ------------------------------------------------------ */

/* Request and reply: then a NUL-terminated JSON object (optional). */
struct vfu_version {
	uint16_t major;
	uint16_t minor;
} __attribute__((packed));

#define VFU_VERSION_MAJOR        0
#define VFU_VERSION_MINOR        0

/* JSON keys: {"capabilities": {...}} */
#define VFU_JSON_CAPABILITIES    "capabilities"
#define VFU_CAP_MAX_MSG_FDS      "max_msg_fds"
#define VFU_CAP_MAX_DATA_XFER    "max_data_xfer_size"
#define VFU_CAP_MAX_DMA_MAPS     "max_dma_maps"
#define VFU_CAP_PGSIZES          "pgsizes"
#define VFU_CAP_MIGRATION        "migration"       /* legacy object, tolerated */
#define VFU_CAP_TWIN_SOCKET      "twin_socket"
#define VFU_CAP_WRITE_MULTIPLE   "write_multiple"

/* Values a peer must assume when a key is absent (spec). */
#define VFU_DEFAULT_MAX_MSG_FDS      1u
#define VFU_DEFAULT_MAX_DATA_XFER    (1024u * 1024u)
#define VFU_DEFAULT_MAX_DMA_MAPS     65535u
#define VFU_DEFAULT_PGSIZES          4096u

/* QEMU refuses a peer's max_msg_fds above 16 and max_data_xfer_size above 64 MiB. */
#define VFU_QEMU_MAX_MSG_FDS         16u
#define VFU_QEMU_MAX_DATA_XFER       (64u * 1024u * 1024u)

/* ---- DMA_MAP (2) / DMA_UNMAP (3) -------------------------------------- */

#define VFU_DMA_FLAG_READ        (1u << 0)
#define VFU_DMA_FLAG_WRITE       (1u << 1)

/* Request; 0 or 1 fd. Reply: header only. */
struct vfu_dma_map {
	uint32_t argsz;      /* 32 */
	uint32_t flags;      /* VFU_DMA_FLAG_* */
	uint64_t offset;     /* in the fd; 0 without one */
	uint64_t address;    /* IOVA */
	uint64_t size;
} __attribute__((packed));

/* Kernel's VFIO_DMA_UNMAP_FLAG_ALL, which QEMU sends (address = size = 0). */
#define VFU_DMA_UNMAP_FLAG_ALL   (1u << 1)

/* Request; the reply echoes it (24 bytes). */
struct vfu_dma_unmap {
	uint32_t argsz;      /* 24 */
	uint32_t flags;      /* 0 or VFU_DMA_UNMAP_FLAG_ALL */
	uint64_t address;
	uint64_t size;
} __attribute__((packed));

/* ---- DEVICE_GET_INFO (4) --------------------------------------------- */

/* Both ways. The wire stops before the kernel struct's cap_offset: the
 * kernel's struct vfio_device_info grew to 24 bytes, the message did not. */
struct vfu_device_info {
	uint32_t argsz;      /* request: reply room; reply: 16 */
	uint32_t flags;      /* VFIO_DEVICE_FLAGS_* */
	uint32_t num_regions;
	uint32_t num_irqs;
} __attribute__((packed));

/* ---- DEVICE_GET_REGION_INFO (5): struct vfio_region_info (32) both ways;
 *      the reply may carry the cap chain after it and 1 fd for mmap.
 * ---- DEVICE_GET_IRQ_INFO (7): struct vfio_irq_info (16) both ways.
 * ---- DEVICE_SET_IRQS (8): struct vfio_irq_set (20), then count bytes for
 *      DATA_BOOL; for DATA_EVENTFD the fds come as SCM_RIGHTS (count of
 *      them, or none to drop count vectors' eventfds). Reply: header only.
 */

/* ---- DEVICE_GET_REGION_IO_FDS (6) ------------------------------------- */

/* Request is this struct; the reply is it followed by `count` sub-regions
 * (count 0 and no fds: the server offers none). */
struct vfu_region_io_fds {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
} __attribute__((packed));

#define VFU_IO_FD_TYPE_IOEVENTFD     0u
#define VFU_IO_FD_TYPE_IOREGIONFD    1u

struct vfu_sub_region_io_fd {
	uint64_t offset;
	uint64_t size;
	uint32_t fd_index;
	uint32_t type;
	uint32_t flags;
	uint32_t padding;
	uint64_t datamatch;  /* ioregionfd: user_data */
} __attribute__((packed));

/* ---- REGION_READ (9) / REGION_WRITE (10) ------------------------------ */

/* READ request: this; reply: this + count data bytes.
 * WRITE request: this + count data bytes; reply: this. */
struct vfu_region_rw {
	uint64_t offset;
	uint32_t region;
	uint32_t count;      /* <= the receiver's max_data_xfer_size */
} __attribute__((packed));

/* ---- DMA_READ (11) / DMA_WRITE (12), server -> client ----------------
 * {u64 address; u64 count; data at 16}, as the spec says. QEMU's source
 * declares {u64 address; u32 count; char data[]} (data at 12), but the
 * QEMU 11.1 that runs in tests/peers/qemu11-dma.sh reads a DMA_WRITE's
 * data from, and puts a DMA_READ reply's data at, payload offset 16:
 * with data at 12 every copy arrived shifted by 4 bytes. A count written
 * as u64 (high half zero) also reads right as a u32, so this layout suits
 * both. Sizes: DMA_READ request 16 (msg_size 32), reply 16 + count;
 * DMA_WRITE request 16 + count, reply header only.
 */
struct vfu_dma_rw {
	uint64_t address;
	uint64_t count;
} __attribute__((packed));

#define VFU_DMA_RW_HDR_SIZE      16u   /* data starts here in the payload */

/* ---- DEVICE_RESET (13): no payload either way. ---------------------- */

/* ---- REGION_WRITE_MULTI (15) ------------------------------------------ */

#define VFU_WRITE_MULTI_DATA     8u      /* bytes of data per write */
#define VFU_WRITE_MULTI_MAX      200u    /* QEMU's most per message */

struct vfu_write_one {
	uint64_t offset;
	uint32_t region;
	uint32_t count;      /* <= 8 */
	uint8_t data[VFU_WRITE_MULTI_DATA];
} __attribute__((packed));

/* Request: this, then wr_cnt struct vfu_write_one; reply: this. */
struct vfu_write_multi {
	uint64_t wr_cnt;
} __attribute__((packed));

/* ---- sizes checked at compile time ---------------------------------- */

_Static_assert(sizeof(struct vfu_hdr) == VFU_HDR_SIZE, "header");
_Static_assert(sizeof(struct vfu_version) == 4, "version");
_Static_assert(sizeof(struct vfu_dma_map) == 32, "dma_map");
_Static_assert(sizeof(struct vfu_dma_unmap) == 24, "dma_unmap");
_Static_assert(sizeof(struct vfu_region_io_fds) == 16, "io_fds");
_Static_assert(sizeof(struct vfu_sub_region_io_fd) == 40, "sub_region");
_Static_assert(sizeof(struct vfu_region_rw) == 16, "region_rw");
_Static_assert(sizeof(struct vfu_dma_rw) == VFU_DMA_RW_HDR_SIZE, "dma_rw");
_Static_assert(sizeof(struct vfu_write_one) == 24, "write_one");
_Static_assert(sizeof(struct vfu_write_multi) == 8, "write_multi");
_Static_assert(sizeof(struct vfu_device_info) == 16, "device_info");
_Static_assert(sizeof(struct vfio_region_info) == 32, "region_info");
_Static_assert(sizeof(struct vfio_irq_info) == 16, "irq_info");
_Static_assert(sizeof(struct vfio_irq_set) == 20, "irq_set");

#endif
