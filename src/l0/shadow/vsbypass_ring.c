/* Bounded console output ring (vsbypass_ring.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vsbypass_ring.h"

int vsbypass_ring_init(struct vsbypass_ring *r, size_t cap)
{
    memset(r, 0, sizeof(*r));
    if (cap == 0) {
        return -EINVAL;
    }
    r->buf = malloc(cap);
    if (!r->buf) {
        return -ENOMEM;
    }
    r->cap = cap;
    return 0;
}

void vsbypass_ring_destroy(struct vsbypass_ring *r)
{
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

size_t vsbypass_ring_push(struct vsbypass_ring *r, const uint8_t *data, size_t n)
{
    size_t dropped = 0, tail, first;

    if (n == 0 || r->cap == 0) {
        return 0;
    }
    if (n > r->cap) {
        /* Only the newest cap bytes can survive; older ones are lost at once. */
        dropped = n - r->cap;
        data += dropped;
        n = r->cap;
    }
    if (r->len + n > r->cap) {
        size_t evict = r->len + n - r->cap;

        vsbypass_ring_consume(r, evict);
        dropped += evict;
    }
    tail = (r->head + r->len) % r->cap;
    first = r->cap - tail < n ? r->cap - tail : n;
    memcpy(r->buf + tail, data, first);
    memcpy(r->buf, data + first, n - first);
    r->len += n;
    r->dropped += dropped;
    return dropped;
}

size_t vsbypass_ring_peek(const struct vsbypass_ring *r, const uint8_t **p)
{
    size_t run;

    if (r->len == 0) {
        *p = NULL;
        return 0;
    }
    run = r->cap - r->head;
    *p = r->buf + r->head;
    return r->len < run ? r->len : run;
}

void vsbypass_ring_consume(struct vsbypass_ring *r, size_t n)
{
    if (n > r->len) {
        n = r->len;
    }
    r->len -= n;
    r->head = r->len ? (r->head + n) % r->cap : 0;
}

void vsbypass_ring_clear(struct vsbypass_ring *r)
{
    r->head = 0;
    r->len = 0;
}

size_t vsbypass_ring_move(struct vsbypass_ring *to, struct vsbypass_ring *from)
{
    size_t dropped = 0, n;
    const uint8_t *p;

    while ((n = vsbypass_ring_peek(from, &p)) > 0) {
        dropped += vsbypass_ring_push(to, p, n);
        vsbypass_ring_consume(from, n);
    }
    return dropped;
}

size_t vsbypass_ring_copy_out(const struct vsbypass_ring *r, uint8_t *out, size_t cap)
{
    size_t first, n = r->len < cap ? r->len : cap;

    if (n == 0) {
        return 0;
    }
    /* At most two runs: from head to the end of buf, then from its start. */
    first = r->cap - r->head < n ? r->cap - r->head : n;
    memcpy(out, r->buf + r->head, first);
    memcpy(out + first, r->buf, n - first);
    return n;
}
