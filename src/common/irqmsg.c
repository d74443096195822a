/*
 * Encode/decode of the L0 -> L1 interrupt message (irqmsg.h). Pure C11, no
 * host byte-order assumptions: every field goes through put/get helpers.
 */
#include <errno.h>
#include <string.h>

#include "irqmsg.h"
#include "nvsec_le.h"
#include "ultracall_abi.h"

_Static_assert(IRQMSG_TAG_SIZE == ULTRACALL_VMTAG_SIZE,
               "irqmsg carries the ultracall's VM tag field as is");

enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 4,
    OFF_LENGTH = 6,
    OFF_SEQ = 8,
    OFF_TAG = 16,
    OFF_IRQ = OFF_TAG + IRQMSG_TAG_SIZE,
    OFF_LEVEL = OFF_IRQ + 4,
    OFF_RESERVED = OFF_LEVEL + 1,
};
_Static_assert(OFF_RESERVED + 3 == IRQMSG_SIZE, "layout adds up to IRQMSG_SIZE");

static int fields_valid(const char tag[IRQMSG_TAG_SIZE], uint32_t irq,
                        uint32_t level)
{
    return ultracall_vmtag_check(tag) == 0 && irq < IRQMSG_IRQ_LIMIT &&
           level <= 1;
}

int irqmsg_encode(const struct irqmsg *m, uint8_t *out, size_t out_len)
{
    if (out_len < IRQMSG_SIZE) {
        return -ENOSPC;
    }
    if (!fields_valid(m->tag, m->irq, m->level)) {
        return -EINVAL;
    }
    memset(out, 0, IRQMSG_SIZE);
    nvsec_put_le(out + OFF_MAGIC, IRQMSG_MAGIC, 4);
    nvsec_put_le(out + OFF_VERSION, IRQMSG_VERSION, 2);
    nvsec_put_le(out + OFF_LENGTH, IRQMSG_SIZE, 2);
    nvsec_put_le(out + OFF_SEQ, m->seq, 8);
    memcpy(out + OFF_TAG, m->tag, IRQMSG_TAG_SIZE);
    nvsec_put_le(out + OFF_IRQ, m->irq, 4);
    out[OFF_LEVEL] = m->level;
    return IRQMSG_SIZE;
}

int irqmsg_decode(const uint8_t *buf, size_t len, struct irqmsg *m)
{
    char tag[IRQMSG_TAG_SIZE];
    uint32_t irq;
    uint8_t level;

    if (len != IRQMSG_SIZE) {
        return -EMSGSIZE;
    }
    if (nvsec_get_le(buf + OFF_MAGIC, 4) != IRQMSG_MAGIC ||
        nvsec_get_le(buf + OFF_VERSION, 2) != IRQMSG_VERSION ||
        nvsec_get_le(buf + OFF_LENGTH, 2) != IRQMSG_SIZE ||
        buf[OFF_RESERVED] || buf[OFF_RESERVED + 1] || buf[OFF_RESERVED + 2]) {
        return -EPROTO;
    }
    memcpy(tag, buf + OFF_TAG, IRQMSG_TAG_SIZE);
    irq = (uint32_t)nvsec_get_le(buf + OFF_IRQ, 4);
    level = buf[OFF_LEVEL];
    if (!fields_valid(tag, irq, level)) {
        return -EINVAL;
    }
    m->seq = nvsec_get_le(buf + OFF_SEQ, 8);
    memcpy(m->tag, tag, IRQMSG_TAG_SIZE);
    m->irq = irq;
    m->level = level;
    return 0;
}
