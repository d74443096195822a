/*
 * Little-endian field access for the wire formats shared across the trust
 * line (irqmsg, vmet_proto): explicit byte order, no alignment assumptions,
 * so the same bytes decode the same on every side.
 */
#ifndef NVSEC_LE_H
#define NVSEC_LE_H

#include <stdint.h>

/* Store the low n bytes of v at p, least significant first. */
static inline void nvsec_put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Load n bytes at p, least significant first. */
static inline uint64_t nvsec_get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

#endif
