#include "irqframe.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define MAGIC_LEN 4

static uint8_t magic_byte(size_t i) { return (uint8_t)(IRQMSG_MAGIC >> (8 * i)); }

/* Could a message start at buf[at]? (All of the magic that is already there matches.) */
static bool magic_at(const struct irqframe *f, size_t at)
{
    for (size_t i = 0; i < MAGIC_LEN && at + i < f->len; i++)
        if (f->buf[at + i] != magic_byte(i))
            return false;
    return true;
}

static void drop(struct irqframe *f, size_t n)
{
    memmove(f->buf, f->buf + n, f->len - n);
    f->len -= n;
    f->skipped += n;
}

/* Drop bytes up to the next position where a message could start, searching from buf[from]. */
static void resync(struct irqframe *f, size_t from)
{
    size_t at = from;
    while (at < f->len && !magic_at(f, at))
        at++;
    drop(f, at);
}

void irqframe_init(struct irqframe *f)
{
    memset(f, 0, sizeof(*f));
}

void irqframe_reset(struct irqframe *f)
{
    f->len = 0;
}

size_t irqframe_push(struct irqframe *f, const uint8_t *data, size_t n)
{
    size_t room = sizeof(f->buf) - f->len;
    if (n > room)
        n = room;
    memcpy(f->buf + f->len, data, n);
    f->len += n;
    return n;
}

int irqframe_next(struct irqframe *f, struct irqmsg *m)
{
    resync(f, 0);
    while (f->len == IRQMSG_SIZE) {
        if (irqmsg_decode(f->buf, IRQMSG_SIZE, m) == 0) {
            f->len = 0;
            return 0;
        }
        f->rejected++;
        resync(f, 1);
    }
    return -EAGAIN;
}
