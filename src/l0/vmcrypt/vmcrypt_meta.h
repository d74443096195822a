/*
 * VMCrypt's metadata, sealed into the user VM's memory so that it travels
 * inside L1's suspend image (papers/003 sec. 4.4: "the bitmap is embedded in
 * the domain's memory ... and encrypted, so the privileged VM cannot alter
 * it"), and opened by L0 when the image is resumed (sec. 4.5).
 *
 * What it carries:
 *   - the VM lineage's nonce, from which its page key is derived (the key
 *     itself never leaves L0);
 *   - which pages the image holds as ciphertext (a set of L2-physical page
 *     numbers, as runs): all others are plaintext (shared pages, pages the VM
 *     never touched) or zero;
 *   - the pages the VM shares with its hypervisor (vmcrypt_pv.h), so L1 can
 *     go on reading them after the resume;
 *   - the vCPUs' CR3 and RSP when the VM was stopped: a resume presents them
 *     at its first VMRUN, so metadata from another save of the same VM (a
 *     replay) is refused.
 *
 * Blob layout (little-endian), at most VMC_META_MAX_SIZE bytes:
 *   header  64 bytes, plaintext   magic "NVSVMC\0\1", version, header size,
 *                                 total size, body size, lineage[16], iv[16],
 *                                 seq
 *   body    body size bytes       AES-256-CBC(k_enc, iv) of: nexc, nregs,
 *                                 npfn, nset, nruns, exc[], regs[], runs as
 *                                 LEB128 (gap, length) pairs, zero padding
 *   mac     32 bytes              HMAC-SHA256(k_mac, header || body)
 * The MAC is checked before anything past the header is interpreted; the
 * body is then parsed as if it were hostile anyway (style rule 5: this is
 * the one parser of images, and tests/fuzz/fuzz_vmcrypt_meta.c drives it).
 *
 * Pure C: the cipher and MAC are callbacks (vmcrypt.c gives QEMU's crypto
 * API, the unit tests a toy), so tests/unit/test_vmcrypt_meta.c runs on the
 * host.
 */
#ifndef NVSEC_VMCRYPT_META_H
#define NVSEC_VMCRYPT_META_H

#include <stddef.h>
#include <stdint.h>

#include "vmcrypt/vmcrypt_pages.h"

#define VMC_META_MAGIC      "NVSVMC\0\1"
#define VMC_META_VERSION    1u
#define VMC_META_HDR_SIZE   64u
#define VMC_META_MAC_SIZE   32u
#define VMC_META_MAX_SIZE   (VMC_META_PAGES * VMC_PAGE_SIZE)
#define VMC_META_MAX_REGS   8u
/* L2-physical space the set may cover: 2^26 pages, 256 GiB. */
#define VMC_META_MAX_NPFN   (1ull << 26)
#define VMC_NONCE_SIZE      16u

struct vmc_meta_regs {
    uint64_t cr3, rsp;
};

struct vmc_meta {
    uint8_t lineage[VMC_NONCE_SIZE];
    uint64_t seq;
    unsigned nexc;
    struct vmc_exc exc[VMC_MAX_EXC];
    unsigned nregs;
    struct vmc_meta_regs regs[VMC_META_MAX_REGS];
    uint64_t npfn;      /* bits covers L2-physical pfns [0, npfn) */
    uint64_t nset;      /* bits set */
    uint8_t *bits;      /* (npfn + 7) / 8 bytes */
};

/* The cryptography, supplied by the caller. Each returns 0 or -EIO. */
struct vmc_meta_crypto {
    void *opaque;
    /* AES-256-CBC in place; len is a multiple of 16. */
    int (*encrypt)(void *opaque, const uint8_t iv[16], uint8_t *buf, size_t len);
    int (*decrypt)(void *opaque, const uint8_t iv[16], uint8_t *buf, size_t len);
    /* HMAC-SHA256 of buf. */
    int (*mac)(void *opaque, const uint8_t *buf, size_t len, uint8_t out[VMC_META_MAC_SIZE]);
    /* Fresh random bytes (the body's IV). */
    int (*random)(void *opaque, uint8_t *buf, size_t len);
};

/*
 * Seal m into out (cap bytes). m->bits may be NULL when m->npfn is 0.
 * Returns the blob's size, or -ENOSPC (does not fit cap or
 * VMC_META_MAX_SIZE), -EINVAL (m out of bounds), -EIO (crypto failed).
 */
int vmc_meta_seal(const struct vmc_meta *m, const struct vmc_meta_crypto *c,
                  uint8_t *out, size_t cap);

/*
 * From the first len bytes of a candidate blob (at least the header), its
 * total size, so the caller knows how many pages to read. Returns the size
 * (<= VMC_META_MAX_SIZE) or -EINVAL if this is no blob of ours.
 */
int vmc_meta_size(const uint8_t *in, size_t len);

/*
 * Authenticate and parse a blob of len bytes. On success m holds the
 * content (m->bits allocated: vmc_meta_free) and 0 is returned. Errors:
 * -EINVAL not a blob or malformed, -EBADMSG authentication failed, -ENOMEM,
 * -EIO crypto failed. On error m is left empty.
 */
int vmc_meta_open(const uint8_t *in, size_t len, const struct vmc_meta_crypto *c,
                  struct vmc_meta *m);

void vmc_meta_free(struct vmc_meta *m);

#endif
