/* SPDX-License-Identifier: MIT */
/*
 * The register map of the ring example device (ring-device.c), shared
 * with its driver (ring-client.c), as a hardware datasheet would be.
 *
 * The device fills a ring of fixed-size records in its client's memory,
 * by DMA, with data it produces itself: one record per timer tick, or
 * what arrives on an input fd. After each batch of records it raises
 * MSI-X vector 0. The driver consumes records and tells the device how
 * far it got by writing TAIL; the device never overwrites a record the
 * driver has not consumed (it counts what it had to drop instead).
 * After an interrupt the device writes no record until the driver writes
 * TAIL: between the interrupt and that write the driver may read
 * registers while no DMA of the device is under way. A driver writes
 * TAIL last, then waits for the next interrupt.
 *
 * BAR0 (4 KiB): 32-bit registers, 4-byte accesses.
 * BAR2 (4 KiB): the MSI-X table (offset 0) and PBA (offset 0x800).
 */
#ifndef VFK_EXAMPLE_RING_H
#define VFK_EXAMPLE_RING_H

#include <stdint.h>

#define RING_VENDOR          0x1af4u
#define RING_DEVICE          0x10f2u
#define RING_ID              0x474e4952u  /* "RING" in memory order */

#define RING_REG_ID          0x00u  /* RO: RING_ID */
#define RING_REG_STATUS      0x04u  /* RO: RING_STATUS_* */
#define RING_REG_ADDR_LO     0x08u  /* RW: ring IOVA, low 32 bits (64-byte aligned) */
#define RING_REG_ADDR_HI     0x0cu  /* RW: ring IOVA, high 32 bits */
#define RING_REG_ENTRIES     0x10u  /* RW: records in the ring, 1..RING_MAX_ENTRIES */
#define RING_REG_CTRL        0x14u  /* RW: RING_CTRL_* */
#define RING_REG_HEAD        0x18u  /* RO: records written so far (wraps at 2^32) */
#define RING_REG_TAIL        0x1cu  /* RW: records the driver consumed so far; writing it
                                     * also acknowledges the interrupt (see below) */
#define RING_REG_DROPPED     0x20u  /* RO: records lost: the ring was full */
#define RING_REG_ERROR       0x24u  /* RO: errno of the DMA that stopped the device */
#define RING_REG_PERIOD_US   0x28u  /* RW: timer period in microseconds (timer mode) */

#define RING_STATUS_RUNNING  (1u << 0)
#define RING_STATUS_ERROR    (1u << 1)  /* DMA failed, or the ring was unmapped: stopped */
#define RING_STATUS_INPUT_DONE (1u << 2) /* input mode: the input ended and all of it is in the ring */

#define RING_CTRL_START      (1u << 0)  /* 1: HEAD, TAIL, DROPPED to 0, produce records; 0: stop */

#define RING_MAX_ENTRIES     4096u
#define RING_DEFAULT_PERIOD_US 1000u

#define RING_BAR_SIZE        0x1000u
#define RING_MSIX_PBA        0x800u

/* One record, as it lands in the ring: slot (HEAD % ENTRIES). */
#define RING_DATA_MAX 56u
struct ring_record {
	uint32_t seq;                  /* HEAD when it was written */
	uint32_t len;                  /* bytes of data used */
	uint8_t data[RING_DATA_MAX];   /* timer mode: ring_tick_byte(seq, i) */
};

/* The bytes of a timer-mode record, so a driver can check them. */
static inline uint8_t ring_tick_byte(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 31u + i * 7u + 1u);
}

#endif
