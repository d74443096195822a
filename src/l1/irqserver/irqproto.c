#include "irqproto.h"

#include <errno.h>
#include <string.h>

enum { OFF_MAGIC = 0, OFF_VERSION = 4, OFF_LENGTH = 6, OFF_TAG = 8 };
_Static_assert(OFF_TAG + ULTRACALL_VMTAG_SIZE == IRQPROTO_HELLO_SIZE, "hello layout adds up");

static void put_le(uint8_t *p, uint32_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le(const uint8_t *p, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

int irqproto_hello_encode(const char *tag, uint8_t *out, size_t out_len)
{
    char field[ULTRACALL_VMTAG_SIZE] = { 0 };
    size_t n = 0;

    while (n < ULTRACALL_VMTAG_SIZE && tag[n])     /* strnlen is POSIX, not C11 */
        n++;

    if (out_len < IRQPROTO_HELLO_SIZE)
        return -ENOSPC;
    if (n >= ULTRACALL_VMTAG_SIZE)
        return -EINVAL;
    memcpy(field, tag, n);
    if (ultracall_vmtag_check(field))
        return -EINVAL;
    put_le(out + OFF_MAGIC, IRQPROTO_HELLO_MAGIC, 4);
    put_le(out + OFF_VERSION, IRQPROTO_VERSION, 2);
    put_le(out + OFF_LENGTH, IRQPROTO_HELLO_SIZE, 2);
    memcpy(out + OFF_TAG, field, ULTRACALL_VMTAG_SIZE);
    return IRQPROTO_HELLO_SIZE;
}

int irqproto_hello_decode(const uint8_t *buf, size_t len, char tag[ULTRACALL_VMTAG_SIZE])
{
    if (len != IRQPROTO_HELLO_SIZE)
        return -EMSGSIZE;
    if (get_le(buf + OFF_MAGIC, 4) != IRQPROTO_HELLO_MAGIC ||
        get_le(buf + OFF_VERSION, 2) != IRQPROTO_VERSION ||
        get_le(buf + OFF_LENGTH, 2) != IRQPROTO_HELLO_SIZE)
        return -EPROTO;
    if (ultracall_vmtag_check((const char *)buf + OFF_TAG))
        return -EINVAL;
    memcpy(tag, buf + OFF_TAG, ULTRACALL_VMTAG_SIZE);
    return 0;
}
