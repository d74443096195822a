/*
 * XTS over a whole-buffer ECB (vmcrypt_xts.h): whiten with the tweak
 * sequence, one ECB call for the whole buffer, whiten again. The tweak
 * is kept as two 64-bit halves of XTS's little-endian 128-bit number, so a
 * whitening step is two XORs and the alpha step two shifts.
 */
#include <errno.h>
#include <string.h>

#include "vmcrypt/vmcrypt_xts.h"

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static void store_le64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, sizeof(v));
}

/* (lo, hi) <- (lo, hi) * alpha */
static inline void next64(uint64_t *lo, uint64_t *hi)
{
    uint64_t carry = *hi >> 63;

    *hi = (*hi << 1) | (*lo >> 63);
    *lo = (*lo << 1) ^ (carry * 0x87);
}

void vmc_xts_next(uint8_t t[VMC_XTS_BLOCK])
{
    uint64_t lo = load_le64(t), hi = load_le64(t + 8);

    next64(&lo, &hi);
    store_le64(t, lo);
    store_le64(t + 8, hi);
}

/* XOR the tweak sequence T_0, T_1, ... into buf's blocks. */
static void whiten(const uint8_t t0[VMC_XTS_BLOCK], uint8_t *buf, size_t len)
{
    uint64_t lo = load_le64(t0), hi = load_le64(t0 + 8);

    for (size_t off = 0; off < len; off += VMC_XTS_BLOCK) {
        store_le64(buf + off, load_le64(buf + off) ^ lo);
        store_le64(buf + off + 8, load_le64(buf + off + 8) ^ hi);
        next64(&lo, &hi);
    }
}

int vmc_xts_crypt(vmc_ecb_fn ecb, void *opaque, const uint8_t t0[VMC_XTS_BLOCK],
                  uint8_t *buf, size_t len)
{
    int rc;

    if (len == 0 || len % VMC_XTS_BLOCK) {
        return -EINVAL;
    }
    whiten(t0, buf, len);
    rc = ecb(opaque, buf, len);
    if (rc < 0) {
        return rc;
    }
    whiten(t0, buf, len);
    return 0;
}
