/*
 * Sealing a user VM's shadow-device state for migration (USShadow,
 * papers/002 sec. 4.3; the paper XORs and names AES with key management as
 * future work). AES-256-GCM: confidentiality against the L1 administrator
 * who carries the blob, integrity against one who edits it.
 *
 * Cipher: nettle's gcm_aes256 (<nettle/gcm.h>). QEMU's own crypto API has no
 * AEAD in 7.2 (qcrypto_cipher offers ECB/CBC/CTR/XTS only, no GCM), and this
 * L0 is configured --enable-nettle, so nettle is the library QEMU already
 * links for its ciphers; gnutls is not built in (--without-default-features).
 * The nonce comes from QEMU's crypto API (qcrypto_random_bytes) in L0.
 *
 * Blob layout (all integers little-endian), the whole header being GCM's
 * authenticated data, so no field can be changed without failing auth:
 *   off  0  magic "NVUSSHD1"                        8 bytes
 *       8  VM identity: its tag field             24 bytes (ULTRACALL_VMTAG_SIZE)
 *      32  sequence number                         8 bytes, monotonic per VM
 *      40  nonce                                  12 bytes, fresh per seal
 *      52  ciphertext length                       4 bytes
 *      56  ciphertext, then the 16-byte GCM tag
 * Pure C (nettle only): unit-tested on the host (tests/unit/test_usshadow_seal.c).
 */
#ifndef NVSEC_USSHADOW_SEAL_H
#define NVSEC_USSHADOW_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "ultracall_abi.h"

#define USSHADOW_KEY_SIZE    32
#define USSHADOW_NONCE_SIZE  12
#define USSHADOW_MAC_SIZE    16
#define USSHADOW_MAGIC       "NVUSSHD1"
#define USSHADOW_MAGIC_SIZE  8
#define USSHADOW_HDR_SIZE    (USSHADOW_MAGIC_SIZE + ULTRACALL_VMTAG_SIZE + 8 + \
                              USSHADOW_NONCE_SIZE + 4)
#define USSHADOW_OVERHEAD    (USSHADOW_HDR_SIZE + USSHADOW_MAC_SIZE)
/* The largest plaintext sealed (bounded by the ultracall buffer). */
#define USSHADOW_PT_MAX      (ULTRACALL_BUF_MAX - ULTRACALL_VMTAG_SIZE - USSHADOW_OVERHEAD)

struct usshadow_key {
    uint8_t k[USSHADOW_KEY_SIZE];
};

/* Seal without encryption: the attack demo's "unencrypted" carrier only. */
enum usshadow_mode {
    USSHADOW_AES_GCM,
    USSHADOW_PLAINTEXT_DEMO,
};

/*
 * A key file's content: 64 hex digits, optionally followed by one newline.
 * Returns 0, or -EINVAL for anything else (the key is left zeroed).
 */
int usshadow_key_parse(const char *text, size_t len, struct usshadow_key *key);

/*
 * Seal pt[0..ptlen) for the VM named by tag (a valid tag field) at sequence
 * seq with the given fresh nonce into out (cap bytes). Returns the blob
 * length (ptlen + USSHADOW_OVERHEAD), -ENOSPC if cap is too small, -EINVAL
 * for ptlen > USSHADOW_PT_MAX or a bad tag.
 */
long usshadow_seal(const struct usshadow_key *key, enum usshadow_mode mode,
                   const char tag[ULTRACALL_VMTAG_SIZE], uint64_t seq,
                   const uint8_t nonce[USSHADOW_NONCE_SIZE],
                   const uint8_t *pt, size_t ptlen, uint8_t *out, size_t cap);

/*
 * Open a blob for the VM named by expect_tag. Order of checks: format
 * (-EINVAL: truncated, trailing bytes, bad magic, length field), then
 * authentication (-EBADMSG), then identity (-EACCES: sealed for another
 * VM). Replay is the caller's check on *seq (usshadow_replay_*). On success
 * returns the plaintext length, written to pt (cap bytes; -ENOSPC if short).
 * pt may be written on failure too; callers discard it.
 */
long usshadow_unseal(const struct usshadow_key *key, enum usshadow_mode mode,
                     const char expect_tag[ULTRACALL_VMTAG_SIZE],
                     const uint8_t *blob, size_t len, uint64_t *seq,
                     uint8_t *pt, size_t cap);

/*
 * Replay guard: per VM tag, the highest sequence number this L0 has sealed
 * or restored. A blob is fresh only if its number is above that, so neither
 * an old blob of a VM nor the blob a host itself sealed can be restored
 * twice. Not thread-safe (L0 calls it under the BQL).
 */
struct usshadow_replay_entry {
    char tag[ULTRACALL_VMTAG_SIZE];
    uint64_t seq;
};

struct usshadow_replay {
    struct usshadow_replay_entry *e;
    size_t n, cap;
};

/* 0 if seq is fresh for tag, -ESTALE if not. */
int usshadow_replay_check(const struct usshadow_replay *g,
                          const char tag[ULTRACALL_VMTAG_SIZE], uint64_t seq);

/* Record seq for tag (kept if not higher). 0 or -ENOMEM. */
int usshadow_replay_commit(struct usshadow_replay *g,
                           const char tag[ULTRACALL_VMTAG_SIZE], uint64_t seq);

/* The highest sequence number recorded for tag, 0 if none. */
uint64_t usshadow_replay_last(const struct usshadow_replay *g,
                              const char tag[ULTRACALL_VMTAG_SIZE]);

void usshadow_replay_free(struct usshadow_replay *g);

/*
 * The sealed plaintext: what a shadow device carries across a migration.
 *   off 0  magic "USS2"            4
 *       4  VMState length V        4   (QEMU's vmstate_serial stream)
 *       8  VMState                 V
 *   8+V    output ring length R    4   (console bytes not yet delivered)
 *  12+V    ring bytes              R
 *  12+V+R  ring drop counter       8
 *  20+V+R  input length I          4   (typed bytes the UART has not taken)
 *  24+V+R  input bytes             I
 * Decoded only after authentication, but still checked field by field. The
 * first format ("USST", no input block) is refused: both hosts run one L0.
 */
#define USSHADOW_STATE_MAGIC "USS2"

struct usshadow_state_view {
    const uint8_t *vmstate;
    size_t vmstate_len;
    const uint8_t *ring;
    size_t ring_len;
    uint64_t ring_dropped;
    const uint8_t *input;
    size_t input_len;
};

/* Bytes usshadow_state_encode needs for these lengths. */
size_t usshadow_state_size(size_t vmstate_len, size_t ring_len, size_t input_len);

/* Encode into out (cap bytes). Returns the length, or -ENOSPC / -EINVAL. */
long usshadow_state_encode(const struct usshadow_state_view *s, uint8_t *out,
                           size_t cap);

/* Decode (pointers into buf). 0 or -EINVAL (truncated, trailing bytes, magic). */
int usshadow_state_decode(const uint8_t *buf, size_t len,
                          struct usshadow_state_view *s);

#endif
