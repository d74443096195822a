/*
 * Interrupt messages from the cloud hypervisor (L0) to the interrupt server in
 * the guest virtualized system (L1): "the shadow serial device of VM TAG now
 * drives IRQ N at LEVEL". The server injects the level into that user VM with
 * KVM_IRQ_LINE (VSBypass, papers/000 sec. 4.3: interrupts carry no secrets,
 * so they may cross the untrusted L1).
 *
 * One message is IRQMSG_SIZE bytes, every field little-endian, no padding:
 *
 *   offset size  field
 *    0      4    magic    IRQMSG_MAGIC ("NVIQ" as bytes)
 *    4      2    version  IRQMSG_VERSION
 *    6      2    length   IRQMSG_SIZE (a reader of a byte stream resyncs on it)
 *    8      8    seq      per-sender sequence number, +1 per message (gaps = loss)
 *   16     24    tag      VM tag, [a-z0-9_-]{1,23}, NUL-terminated and
 *                         NUL-padded (src/common/ultracall_abi.h)
 *   40      4    irq      ISA IRQ line (4 for COM1), < IRQMSG_IRQ_LIMIT
 *   44      1    level    0 or 1
 *   45      3    reserved 0
 *
 * Transports (chosen by L0's "-object vsbypass,irq=..."): one UDP datagram per
 * message, or back-to-back messages on a virtio-serial port (a byte stream).
 */
#ifndef NVSEC_IRQMSG_H
#define NVSEC_IRQMSG_H

#include <stddef.h>
#include <stdint.h>

#define IRQMSG_MAGIC     0x5149564eu /* "NVIQ" little-endian */
#define IRQMSG_VERSION   1u
#define IRQMSG_SIZE      48u
#define IRQMSG_TAG_SIZE  24u
#define IRQMSG_IRQ_LIMIT 256u
#define IRQMSG_IRQ_COM1  4u

struct irqmsg {
    uint64_t seq;
    char tag[IRQMSG_TAG_SIZE];
    uint32_t irq;
    uint8_t level;
};

/*
 * Encode m into out[0..IRQMSG_SIZE). Returns IRQMSG_SIZE, or -EINVAL if m's tag
 * is not a valid VM tag, irq >= IRQMSG_IRQ_LIMIT or level > 1, or -ENOSPC if
 * out_len < IRQMSG_SIZE (out untouched on error).
 */
int irqmsg_encode(const struct irqmsg *m, uint8_t *out, size_t out_len);

/*
 * Decode exactly one message from buf[0..len). Returns 0 and fills *m, or
 * -EMSGSIZE if len != IRQMSG_SIZE, -EPROTO on a bad magic, version, length
 * field or reserved byte, -EINVAL on an invalid tag (unterminated, empty,
 * bad character, garbage after the NUL), irq or level (*m untouched on error).
 */
int irqmsg_decode(const uint8_t *buf, size_t len, struct irqmsg *m);

#endif
