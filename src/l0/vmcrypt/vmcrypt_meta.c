/*
 * Sealing and opening VMCrypt's metadata blob (vmcrypt_meta.h): the one
 * reader of bytes that come back from an image L1 handed us.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmcrypt/vmcrypt_meta.h"

/* Header field offsets. */
#define H_MAGIC    0
#define H_VERSION  8
#define H_HDRSIZE  12
#define H_TOTAL    16
#define H_BODY     20
#define H_LINEAGE  24
#define H_IV       40
#define H_SEQ      56

/* Fixed part of the body: nexc, nregs (u32), npfn, nset (u64), nruns, pad (u32). */
#define B_FIXED    32u
#define B_EXC      24u   /* key, gpa_pfn, npages */
#define B_REGS     16u   /* cr3, rsp */
#define LEB_MAX    10u   /* bytes of a LEB128 u64 */
#define AES_BLOCK  16u

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++) {
        v |= (uint32_t)p[i] << (8 * i);
    }
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

/* Append v as LEB128 at *pos (bounded by cap). */
static int put_leb(uint8_t *buf, size_t cap, size_t *pos, uint64_t v)
{
    do {
        if (*pos >= cap) {
            return -ENOSPC;
        }
        buf[(*pos)++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return 0;
}

static int get_leb(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;

    for (unsigned i = 0; i < LEB_MAX; i++) {
        uint8_t b;

        if (*pos >= len) {
            return -EINVAL;
        }
        b = buf[(*pos)++];
        if (i == LEB_MAX - 1 && b > 1) {
            return -EINVAL; /* more than 64 bits */
        }
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -EINVAL;
}

static bool bit(const uint8_t *bits, uint64_t i)
{
    return bits[i >> 3] & (1u << (i & 7));
}

/* Encode the set as runs: (gap from the previous run's end, length). */
static int put_runs(const struct vmc_meta *m, uint8_t *buf, size_t cap, size_t *pos,
                    uint32_t *nruns)
{
    uint64_t i = 0, prev_end = 0;
    int rc;

    *nruns = 0;
    while (i < m->npfn) {
        uint64_t start;

        if (!bit(m->bits, i)) {
            i++;
            continue;
        }
        start = i;
        while (i < m->npfn && bit(m->bits, i)) {
            i++;
        }
        rc = put_leb(buf, cap, pos, start - prev_end);
        if (rc == 0) {
            rc = put_leb(buf, cap, pos, i - start);
        }
        if (rc < 0) {
            return rc;
        }
        prev_end = i;
        if (++*nruns == UINT32_MAX) {
            return -ENOSPC;
        }
    }
    return 0;
}

int vmc_meta_seal(const struct vmc_meta *m, const struct vmc_meta_crypto *c,
                  uint8_t *out, size_t cap)
{
    size_t limit = cap < VMC_META_MAX_SIZE ? cap : VMC_META_MAX_SIZE;
    size_t pos, body_len, total;
    uint8_t *body;
    uint32_t nruns;
    uint64_t nset = 0;
    int rc;

    if (m->nexc > VMC_MAX_EXC || m->nregs > VMC_META_MAX_REGS ||
        m->npfn > VMC_META_MAX_NPFN || (m->npfn && !m->bits)) {
        return -EINVAL;
    }
    if (limit < VMC_META_HDR_SIZE + VMC_META_MAC_SIZE + B_FIXED) {
        return -ENOSPC;
    }
    for (uint64_t i = 0; i < m->npfn; i++) {
        nset += bit(m->bits, i);
    }
    body = out + VMC_META_HDR_SIZE;
    cap = limit - VMC_META_HDR_SIZE - VMC_META_MAC_SIZE; /* room for the body */
    pos = B_FIXED;
    for (unsigned i = 0; i < m->nexc; i++) {
        if (pos + B_EXC > cap) {
            return -ENOSPC;
        }
        put64(body + pos, m->exc[i].key);
        put64(body + pos + 8, m->exc[i].gpa_pfn);
        put64(body + pos + 16, m->exc[i].npages);
        pos += B_EXC;
    }
    for (unsigned i = 0; i < m->nregs; i++) {
        if (pos + B_REGS > cap) {
            return -ENOSPC;
        }
        put64(body + pos, m->regs[i].cr3);
        put64(body + pos + 8, m->regs[i].rsp);
        pos += B_REGS;
    }
    rc = put_runs(m, body, cap, &pos, &nruns);
    if (rc < 0) {
        return rc;
    }
    body_len = (pos + AES_BLOCK - 1) / AES_BLOCK * AES_BLOCK;
    if (body_len > cap) {
        return -ENOSPC;
    }
    memset(body + pos, 0, body_len - pos);
    put32(body, m->nexc);
    put32(body + 4, m->nregs);
    put64(body + 8, m->npfn);
    put64(body + 16, nset);
    put32(body + 24, nruns);
    put32(body + 28, 0);

    total = VMC_META_HDR_SIZE + body_len + VMC_META_MAC_SIZE;
    memcpy(out + H_MAGIC, VMC_META_MAGIC, 8);
    put32(out + H_VERSION, VMC_META_VERSION);
    put32(out + H_HDRSIZE, VMC_META_HDR_SIZE);
    put32(out + H_TOTAL, (uint32_t)total);
    put32(out + H_BODY, (uint32_t)body_len);
    memcpy(out + H_LINEAGE, m->lineage, VMC_NONCE_SIZE);
    put64(out + H_SEQ, m->seq);
    if (c->random(c->opaque, out + H_IV, AES_BLOCK) < 0 ||
        c->encrypt(c->opaque, out + H_IV, body, body_len) < 0 ||
        c->mac(c->opaque, out, VMC_META_HDR_SIZE + body_len,
               out + VMC_META_HDR_SIZE + body_len) < 0) {
        return -EIO;
    }
    return (int)total;
}

int vmc_meta_size(const uint8_t *in, size_t len)
{
    uint32_t total, body;

    if (len < VMC_META_HDR_SIZE || memcmp(in + H_MAGIC, VMC_META_MAGIC, 8) != 0 ||
        get32(in + H_VERSION) != VMC_META_VERSION ||
        get32(in + H_HDRSIZE) != VMC_META_HDR_SIZE) {
        return -EINVAL;
    }
    total = get32(in + H_TOTAL);
    body = get32(in + H_BODY);
    if (total > VMC_META_MAX_SIZE || body % AES_BLOCK || body < B_FIXED ||
        body > VMC_META_MAX_SIZE ||
        total != VMC_META_HDR_SIZE + body + VMC_META_MAC_SIZE) {
        return -EINVAL;
    }
    return (int)total;
}

/* Constant-time comparison: the MAC check must not tell how much matched. */
static bool same(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;

    for (size_t i = 0; i < n; i++) {
        d |= a[i] ^ b[i];
    }
    return d == 0;
}

/* Parse a decrypted body into m (m->bits allocated here). */
static int parse_body(const uint8_t *b, size_t len, struct vmc_meta *m)
{
    uint32_t nruns;
    uint64_t nset, end = 0, seen = 0;
    size_t pos = B_FIXED;

    m->nexc = get32(b);
    m->nregs = get32(b + 4);
    m->npfn = get64(b + 8);
    nset = get64(b + 16);
    nruns = get32(b + 24);
    if (m->nexc > VMC_MAX_EXC || m->nregs > VMC_META_MAX_REGS ||
        m->npfn > VMC_META_MAX_NPFN || nset > m->npfn || get32(b + 28) != 0) {
        return -EINVAL;
    }
    if ((len - pos) / B_EXC < m->nexc) {
        return -EINVAL;
    }
    for (unsigned i = 0; i < m->nexc; i++, pos += B_EXC) {
        m->exc[i].key = get64(b + pos);
        m->exc[i].gpa_pfn = get64(b + pos + 8);
        m->exc[i].npages = get64(b + pos + 16);
        if (m->exc[i].npages == 0 || m->exc[i].npages > 16 ||
            m->exc[i].gpa_pfn >= (1ull << 40)) {
            return -EINVAL;
        }
    }
    if ((len - pos) / B_REGS < m->nregs) {
        return -EINVAL;
    }
    for (unsigned i = 0; i < m->nregs; i++, pos += B_REGS) {
        m->regs[i].cr3 = get64(b + pos);
        m->regs[i].rsp = get64(b + pos + 8);
    }
    m->bits = calloc(m->npfn / 8 + 1, 1);
    if (!m->bits) {
        return -ENOMEM;
    }
    for (uint32_t r = 0; r < nruns; r++) {
        uint64_t gap, n;

        if (get_leb(b, len, &pos, &gap) < 0 || get_leb(b, len, &pos, &n) < 0 ||
            n == 0 || gap > m->npfn - end || n > m->npfn - end - gap ||
            (r > 0 && gap == 0)) {
            return -EINVAL; /* runs must be separate, ordered, inside npfn */
        }
        end += gap;
        for (uint64_t i = 0; i < n; i++, end++) {
            m->bits[end >> 3] |= (uint8_t)(1u << (end & 7));
        }
        seen += n;
    }
    if (seen != nset) {
        return -EINVAL;
    }
    m->nset = nset;
    for (; pos < len; pos++) {
        if (b[pos]) {
            return -EINVAL; /* only the zero padding may follow */
        }
    }
    return 0;
}

int vmc_meta_open(const uint8_t *in, size_t len, const struct vmc_meta_crypto *c,
                  struct vmc_meta *m)
{
    uint8_t mac[VMC_META_MAC_SIZE];
    uint8_t *body;
    size_t body_len;
    int total, rc;

    memset(m, 0, sizeof(*m));
    total = vmc_meta_size(in, len);
    if (total < 0 || (size_t)total > len) {
        return -EINVAL;
    }
    body_len = (size_t)total - VMC_META_HDR_SIZE - VMC_META_MAC_SIZE;
    if (c->mac(c->opaque, in, VMC_META_HDR_SIZE + body_len, mac) < 0) {
        return -EIO;
    }
    if (!same(mac, in + VMC_META_HDR_SIZE + body_len, VMC_META_MAC_SIZE)) {
        return -EBADMSG;
    }
    body = malloc(body_len);
    if (!body) {
        return -ENOMEM;
    }
    memcpy(body, in + VMC_META_HDR_SIZE, body_len);
    if (c->decrypt(c->opaque, in + H_IV, body, body_len) < 0) {
        free(body);
        return -EIO;
    }
    memcpy(m->lineage, in + H_LINEAGE, VMC_NONCE_SIZE);
    m->seq = get64(in + H_SEQ);
    rc = parse_body(body, body_len, m);
    free(body);
    if (rc < 0) {
        vmc_meta_free(m);
    }
    return rc;
}

void vmc_meta_free(struct vmc_meta *m)
{
    free(m->bits);
    memset(m, 0, sizeof(*m));
}
