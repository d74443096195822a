/*
 * Framing of interrupt messages on a byte stream (the vport transport: a
 * virtio-serial port in L1 carrying back-to-back IRQMSG_SIZE-byte messages,
 * src/common/irqmsg.h). The message is the frame. After a byte that cannot
 * start a valid message (lost or corrupt bytes, a reader that attached
 * mid-message), the framer scans forward to the next occurrence of the magic
 * and tries again there. Pure (no syscalls); unit-tested.
 *
 * Use: irqframe_push() bytes in; then irqframe_next() until it returns
 * -EAGAIN; repeat while input remains (push may take fewer bytes than given).
 */
#ifndef NVSEC_IRQFRAME_H
#define NVSEC_IRQFRAME_H

#include <stddef.h>
#include <stdint.h>

#include "../../common/irqmsg.h"

struct irqframe {
    uint8_t buf[IRQMSG_SIZE];
    size_t len;
    uint64_t skipped;           /* bytes dropped while resynchronising */
    uint64_t rejected;          /* frames with the magic that did not decode */
};

void irqframe_init(struct irqframe *f);

/* Drop any partial message (the stream was reopened); the counters stay. */
void irqframe_reset(struct irqframe *f);

/* Append up to n bytes of the stream. Returns how many were taken (0 only if n is 0 or a message is waiting). */
size_t irqframe_push(struct irqframe *f, const uint8_t *data, size_t n);

/* Returns 0 and the next message in *m, or -EAGAIN if the bytes so far hold no complete message. */
int irqframe_next(struct irqframe *f, struct irqmsg *m);

#endif
