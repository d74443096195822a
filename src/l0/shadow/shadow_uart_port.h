/*
 * Which port accesses forced passthrough takes, and how an access of 1, 2 or
 * 4 bytes maps onto the 8 one-byte registers of a 16550 at COM1.
 *
 * Policy (the 16550 is an 8-bit ISA device; an ISA bridge splits a wider
 * cycle into byte cycles at ascending addresses):
 *  - An access is claimed if any of its bytes [port, port+size) falls in
 *    COM1 (0x3f8..0x3ff). The whole access is claimed, so no byte of it ever
 *    reaches L1, even one that straddles COM1's edge.
 *  - Byte i goes to the UART register (port + i - 0x3f8) when that is inside
 *    COM1, in ascending order (a 16-bit read at 0x3f8 reads RBR then IER,
 *    with RBR's side effects), like the bridge's byte cycles.
 *  - Bytes outside COM1 are not forwarded anywhere: writes are dropped and
 *    reads return 0xff, what an unclaimed ISA address floats to.
 * Pure C, unit-tested on the host.
 */
#ifndef NVSEC_SHADOW_UART_PORT_H
#define NVSEC_SHADOW_UART_PORT_H

#include <stdbool.h>
#include <stdint.h>

#define SHADOW_UART_COM1_BASE 0x3f8u
#define SHADOW_UART_NREGS     8u
#define SHADOW_UART_MAX_ACCESS 4u
/* The value of a byte read from outside the UART (floating ISA data bus). */
#define SHADOW_UART_FLOAT     0xffu

/* True if an access of size bytes at port touches COM1 (size 1, 2 or 4). */
bool shadow_uart_port_claims(uint32_t port, unsigned size);

/*
 * Map each byte of an access onto a register: regs[i] = register offset
 * 0..7, or -1 if byte i lies outside COM1. Returns 0, or -EINVAL if size is
 * not 1, 2 or 4 or port > 0xffff (regs untouched).
 */
int shadow_uart_port_split(uint32_t port, unsigned size,
                           int regs[SHADOW_UART_MAX_ACCESS]);

/*
 * The access size in bytes from an SVM IOIO exit-info word (AMD APM vol. 2,
 * 15.10.2: SZ8/SZ16/SZ32 one-hot in bits 4..6). Returns 1, 2 or 4, or
 * -EINVAL if not exactly one size bit is set.
 */
int shadow_uart_ioio_size(uint32_t ioio_info);

#endif
