/* Sealing shadow-device state (usshadow_seal.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/gcm.h>
#include <nettle/memops.h>

#include "nvsec_hex.h"
#include "nvsec_le.h"
#include "usshadow_seal.h"

#define OFF_TAG   USSHADOW_MAGIC_SIZE
#define OFF_SEQ   (OFF_TAG + ULTRACALL_VMTAG_SIZE)
#define OFF_NONCE (OFF_SEQ + 8)
#define OFF_CTLEN (OFF_NONCE + USSHADOW_NONCE_SIZE)

_Static_assert(OFF_CTLEN + 4 == USSHADOW_HDR_SIZE, "header layout");
_Static_assert(USSHADOW_NONCE_SIZE == GCM_IV_SIZE, "GCM's 96-bit IV");
_Static_assert(USSHADOW_MAC_SIZE == GCM_DIGEST_SIZE, "full-length GCM tag");
_Static_assert(USSHADOW_KEY_SIZE == AES256_KEY_SIZE, "AES-256");

int usshadow_key_parse(const char *text, size_t len, struct usshadow_key *key)
{
    memset(key, 0, sizeof(*key));
    if (len == 2 * USSHADOW_KEY_SIZE + 1 && text[len - 1] == '\n') {
        len--;
    }
    if (len != 2 * USSHADOW_KEY_SIZE) {
        return -EINVAL;
    }
    for (size_t i = 0; i < USSHADOW_KEY_SIZE; i++) {
        int hi = nvsec_hex_digit(text[2 * i]), lo = nvsec_hex_digit(text[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            memset(key, 0, sizeof(*key));
            return -EINVAL;
        }
        key->k[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static void gcm_start(struct gcm_aes256_ctx *ctx, const struct usshadow_key *key,
                      const uint8_t *hdr)
{
    gcm_aes256_set_key(ctx, key->k);
    gcm_aes256_set_iv(ctx, USSHADOW_NONCE_SIZE, hdr + OFF_NONCE);
    /* The whole header is authenticated: identity, sequence, nonce, length. */
    gcm_aes256_update(ctx, USSHADOW_HDR_SIZE, hdr);
}

long usshadow_seal(const struct usshadow_key *key, enum usshadow_mode mode,
                   const char tag[ULTRACALL_VMTAG_SIZE], uint64_t seq,
                   const uint8_t nonce[USSHADOW_NONCE_SIZE],
                   const uint8_t *pt, size_t ptlen, uint8_t *out, size_t cap)
{
    struct gcm_aes256_ctx ctx;

    if (ptlen > USSHADOW_PT_MAX || ultracall_vmtag_check(tag) != 0) {
        return -EINVAL;
    }
    if (cap < ptlen + USSHADOW_OVERHEAD) {
        return -ENOSPC;
    }
    memcpy(out, USSHADOW_MAGIC, USSHADOW_MAGIC_SIZE);
    memcpy(out + OFF_TAG, tag, ULTRACALL_VMTAG_SIZE);
    nvsec_put_le(out + OFF_SEQ, seq, 8);
    memcpy(out + OFF_NONCE, nonce, USSHADOW_NONCE_SIZE);
    nvsec_put_le(out + OFF_CTLEN, ptlen, 4);
    if (mode == USSHADOW_PLAINTEXT_DEMO) {
        memcpy(out + USSHADOW_HDR_SIZE, pt, ptlen);
        memset(out + USSHADOW_HDR_SIZE + ptlen, 0, USSHADOW_MAC_SIZE);
        return (long)(ptlen + USSHADOW_OVERHEAD);
    }
    gcm_start(&ctx, key, out);
    gcm_aes256_encrypt(&ctx, ptlen, out + USSHADOW_HDR_SIZE, pt);
    gcm_aes256_digest(&ctx, USSHADOW_MAC_SIZE, out + USSHADOW_HDR_SIZE + ptlen);
    memset(&ctx, 0, sizeof(ctx));
    return (long)(ptlen + USSHADOW_OVERHEAD);
}

long usshadow_unseal(const struct usshadow_key *key, enum usshadow_mode mode,
                     const char expect_tag[ULTRACALL_VMTAG_SIZE],
                     const uint8_t *blob, size_t len, uint64_t *seq,
                     uint8_t *pt, size_t cap)
{
    struct gcm_aes256_ctx ctx;
    uint8_t mac[USSHADOW_MAC_SIZE];
    size_t ctlen;
    bool ok;

    if (len < USSHADOW_OVERHEAD || memcmp(blob, USSHADOW_MAGIC, USSHADOW_MAGIC_SIZE)) {
        return -EINVAL;
    }
    ctlen = nvsec_get_le(blob + OFF_CTLEN, 4);
    if (ctlen > USSHADOW_PT_MAX || len != ctlen + USSHADOW_OVERHEAD) {
        return -EINVAL;                     /* truncated, or bytes appended */
    }
    if (cap < ctlen) {
        return -ENOSPC;
    }
    if (mode == USSHADOW_PLAINTEXT_DEMO) {
        memcpy(pt, blob + USSHADOW_HDR_SIZE, ctlen);
    } else {
        gcm_start(&ctx, key, blob);
        gcm_aes256_decrypt(&ctx, ctlen, pt, blob + USSHADOW_HDR_SIZE);
        gcm_aes256_digest(&ctx, USSHADOW_MAC_SIZE, mac);
        memset(&ctx, 0, sizeof(ctx));
        ok = memeql_sec(mac, blob + USSHADOW_HDR_SIZE + ctlen, USSHADOW_MAC_SIZE);
        if (!ok) {
            memset(pt, 0, ctlen);
            return -EBADMSG;
        }
    }
    /* Authentic, but is it this VM's? (A blob of VM A offered as VM B.) */
    if (memcmp(blob + OFF_TAG, expect_tag, ULTRACALL_VMTAG_SIZE) != 0) {
        memset(pt, 0, ctlen);
        return -EACCES;
    }
    *seq = nvsec_get_le(blob + OFF_SEQ, 8);
    return (long)ctlen;
}

/* --- replay guard ---------------------------------------------------------- */

static struct usshadow_replay_entry *replay_find(const struct usshadow_replay *g,
                                                 const char tag[ULTRACALL_VMTAG_SIZE])
{
    for (size_t i = 0; i < g->n; i++) {
        if (memcmp(g->e[i].tag, tag, ULTRACALL_VMTAG_SIZE) == 0) {
            return &g->e[i];
        }
    }
    return NULL;
}

uint64_t usshadow_replay_last(const struct usshadow_replay *g,
                              const char tag[ULTRACALL_VMTAG_SIZE])
{
    const struct usshadow_replay_entry *e = replay_find(g, tag);

    return e ? e->seq : 0;
}

int usshadow_replay_check(const struct usshadow_replay *g,
                          const char tag[ULTRACALL_VMTAG_SIZE], uint64_t seq)
{
    const struct usshadow_replay_entry *e = replay_find(g, tag);

    return (e && seq <= e->seq) ? -ESTALE : 0;
}

int usshadow_replay_commit(struct usshadow_replay *g,
                           const char tag[ULTRACALL_VMTAG_SIZE], uint64_t seq)
{
    struct usshadow_replay_entry *e = replay_find(g, tag);

    if (e) {
        if (seq > e->seq) {
            e->seq = seq;
        }
        return 0;
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        struct usshadow_replay_entry *ne = realloc(g->e, cap * sizeof(*ne));

        if (!ne) {
            return -ENOMEM;
        }
        g->e = ne;
        g->cap = cap;
    }
    memcpy(g->e[g->n].tag, tag, ULTRACALL_VMTAG_SIZE);
    g->e[g->n].seq = seq;
    g->n++;
    return 0;
}

void usshadow_replay_free(struct usshadow_replay *g)
{
    free(g->e);
    memset(g, 0, sizeof(*g));
}

/* --- the sealed plaintext -------------------------------------------------- */

size_t usshadow_state_size(size_t vmstate_len, size_t ring_len, size_t input_len)
{
    return 4 + 4 + vmstate_len + 4 + ring_len + 8 + 4 + input_len;
}

/* A length-prefixed block at *off (room checked by the caller). */
static void put_block(uint8_t *out, size_t *off, const uint8_t *p, size_t n)
{
    nvsec_put_le(out + *off, n, 4);
    *off += 4;
    if (n) {
        memcpy(out + *off, p, n);
    }
    *off += n;
}

/* Take a length-prefixed block at *off of buf[0..len); false if it overruns. */
static bool get_block(const uint8_t *buf, size_t len, size_t *off,
                      const uint8_t **p, size_t *n)
{
    if (len - *off < 4) {
        return false;
    }
    *n = nvsec_get_le(buf + *off, 4);
    *off += 4;
    if (*n > len - *off) {
        return false;
    }
    *p = buf + *off;
    *off += *n;
    return true;
}

long usshadow_state_encode(const struct usshadow_state_view *s, uint8_t *out,
                           size_t cap)
{
    size_t need, off = 4;

    if (s->vmstate_len > UINT32_MAX || s->ring_len > UINT32_MAX ||
        s->input_len > UINT32_MAX) {
        return -EINVAL;
    }
    need = usshadow_state_size(s->vmstate_len, s->ring_len, s->input_len);
    if (cap < need) {
        return -ENOSPC;
    }
    memcpy(out, USSHADOW_STATE_MAGIC, 4);
    put_block(out, &off, s->vmstate, s->vmstate_len);
    put_block(out, &off, s->ring, s->ring_len);
    nvsec_put_le(out + off, s->ring_dropped, 8);
    off += 8;
    put_block(out, &off, s->input, s->input_len);
    return (long)need;
}

int usshadow_state_decode(const uint8_t *buf, size_t len,
                          struct usshadow_state_view *s)
{
    size_t off = 4;

    if (len < usshadow_state_size(0, 0, 0) || memcmp(buf, USSHADOW_STATE_MAGIC, 4) ||
        !get_block(buf, len, &off, &s->vmstate, &s->vmstate_len) ||
        !get_block(buf, len, &off, &s->ring, &s->ring_len) || len - off < 8) {
        goto bad;
    }
    s->ring_dropped = nvsec_get_le(buf + off, 8);
    off += 8;
    if (!get_block(buf, len, &off, &s->input, &s->input_len) || off != len) {
        goto bad;
    }
    return 0;
bad:
    memset(s, 0, sizeof(*s));
    return -EINVAL;
}
