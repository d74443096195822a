/*
 * Bounded byte ring for a shadow console's output (and its typed input, which
 * the caller keeps from overflowing). The UART must never wait
 * for a console reader (an absent reader would stall the user VM, a slow one
 * could stall L0's vCPU thread), so output always goes in here and the oldest
 * bytes are dropped, and counted, when no reader drains it in time.
 * Pure C; not thread-safe (the caller serializes, in L0 under the BQL).
 */
#ifndef NVSEC_VSBYPASS_RING_H
#define NVSEC_VSBYPASS_RING_H

#include <stddef.h>
#include <stdint.h>

struct vsbypass_ring {
    uint8_t *buf;
    size_t cap;
    size_t head;        /* index of the oldest byte */
    size_t len;         /* bytes held */
    uint64_t dropped;   /* bytes lost to overflow since init */
};

/* Allocate a ring of cap bytes. Returns 0, -EINVAL if cap == 0, -ENOMEM. */
int vsbypass_ring_init(struct vsbypass_ring *r, size_t cap);

/* Free the storage; the ring may be initialised again. */
void vsbypass_ring_destroy(struct vsbypass_ring *r);

/*
 * Append n bytes, dropping the oldest held (or the oldest of data itself when
 * n > cap) to make room. Returns how many bytes were dropped by this call.
 */
size_t vsbypass_ring_push(struct vsbypass_ring *r, const uint8_t *data, size_t n);

/* Point *p at the oldest bytes; returns how many are contiguous there (0 if empty). */
size_t vsbypass_ring_peek(const struct vsbypass_ring *r, const uint8_t **p);

/* Remove the n oldest bytes (n is clamped to the bytes held). */
void vsbypass_ring_consume(struct vsbypass_ring *r, size_t n);

/* Forget all held bytes (the drop counter is kept). */
void vsbypass_ring_clear(struct vsbypass_ring *r);

/*
 * Move everything from holds to the end of to, oldest first, leaving from
 * empty (its drop counter is kept). Bytes to has no room for are dropped
 * from its oldest end, as a push would. Returns how many to dropped.
 */
size_t vsbypass_ring_move(struct vsbypass_ring *to, struct vsbypass_ring *from);

/*
 * Copy up to cap of the held bytes, oldest first, into out without removing
 * them. Returns how many were copied.
 */
size_t vsbypass_ring_copy_out(const struct vsbypass_ring *r, uint8_t *out, size_t cap);

#endif
