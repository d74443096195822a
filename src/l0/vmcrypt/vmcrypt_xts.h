/*
 * XTS (IEEE 1619-2007, the XEX form for whole 16-byte blocks) built on a
 * block cipher that transforms a whole buffer at once (ECB), for VMCrypt's
 * page cipher (vmcrypt.c).
 *
 * Why not QEMU's own XTS mode: its nettle backend calls AES once per 16-byte
 * block (nettle's xts_encrypt_message), 10.6 us per 4 KiB page on the
 * machines this artifact runs on, against 1.4 us for AES-NI ECB over the same
 * 4 KiB in one call. The map/unmap cost the paper measures is dominated by
 * that per-page cipher. The output is bit for bit the same XTS:
 *   T_0 = E_K2(tweak), T_{j+1} = T_j * alpha in GF(2^128),
 *   C_j = E_K1(P_j xor T_j) xor T_j    (decryption: D_K1 in the middle).
 * The caller computes T_0 with the tweak key; this file does the rest.
 *
 * Pure C; tests/unit/test_vmcrypt_xts.c checks it against a per-block
 * reference with a toy block cipher.
 */
#ifndef NVSEC_VMCRYPT_XTS_H
#define NVSEC_VMCRYPT_XTS_H

#include <stddef.h>
#include <stdint.h>

#define VMC_XTS_BLOCK 16u

/* The data key's ECB over buf, in place (len a multiple of 16): 0 or -EIO. */
typedef int (*vmc_ecb_fn)(void *opaque, uint8_t *buf, size_t len);

/* T <- T * alpha (the XTS tweak update, little-endian, polynomial 0x87). */
void vmc_xts_next(uint8_t t[VMC_XTS_BLOCK]);

/*
 * Encrypt or decrypt buf (len a multiple of 16, not 0) in place: ecb is the
 * data key's encryption or decryption, t0 the encrypted tweak. Returns 0,
 * -EINVAL for a bad length, or ecb's error (buf is then undefined).
 */
int vmc_xts_crypt(vmc_ecb_fn ecb, void *opaque, const uint8_t t0[VMC_XTS_BLOCK],
                  uint8_t *buf, size_t len);

#endif
