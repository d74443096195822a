/* sources: src/l0/vmcrypt/vmcrypt_meta.c */
/*
 * VMCrypt's sealed metadata, the one parser of bytes that come back from an
 * image: round trips, tampering anywhere (refused before the body is read),
 * another key, truncation, size limits, hostile bodies that authenticate
 * (runs out of range, overlapping, miscounted, junk padding, overlong
 * LEB128), and a seeded mutation loop over authenticated bodies. Blobs sit
 * in exactly sized heap blocks (unit_exact) so any over-read trips ASan.
 *
 * The cipher and MAC are toys keyed by a byte (the real ones, QEMU's
 * AES-256-CBC and HMAC-SHA256, are exercised by the integration tests); the
 * parser's behaviour does not depend on which.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "vmcrypt/vmcrypt_meta.h"

struct toy {
    uint8_t key;
};

static int toy_xor(void *o, const uint8_t iv[16], uint8_t *buf, size_t len)
{
    const struct toy *k = o;

    for (size_t i = 0; i < len; i++) {
        buf[i] ^= (uint8_t)(iv[i % 16] + k->key + i * 31);
    }
    return 0;
}

static int toy_mac(void *o, const uint8_t *buf, size_t len, uint8_t out[32])
{
    const struct toy *k = o;
    uint64_t h = 0xcbf29ce484222325ull ^ k->key;

    for (int r = 0; r < 4; r++) {
        for (size_t i = 0; i < len; i++) {
            h = (h ^ buf[i]) * 0x100000001b3ull;
        }
        h ^= (uint64_t)r;
        memcpy(out + 8 * r, &h, 8);
    }
    return 0;
}

static int toy_random(void *o, uint8_t *buf, size_t len)
{
    (void)o;
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(rand() & 0xff);
    }
    return 0;
}

static struct toy k1 = { 1 }, k2 = { 2 };
static const struct vmc_meta_crypto c1 = { &k1, toy_xor, toy_xor, toy_mac, toy_random };
static const struct vmc_meta_crypto c2 = { &k2, toy_xor, toy_xor, toy_mac, toy_random };

static uint8_t blob[VMC_META_MAX_SIZE];
static uint8_t bits[4096];

static void sample(struct vmc_meta *m)
{
    memset(m, 0, sizeof(*m));
    memset(bits, 0, sizeof(bits));
    for (unsigned i = 0; i < 16; i++) {
        m->lineage[i] = (uint8_t)(0xa0 + i);
    }
    m->seq = 3;
    m->nexc = 2;
    m->exc[0] = (struct vmc_exc){ .key = 1ull << 56, .gpa_pfn = 0x2a40, .npages = 1 };
    m->exc[1] = (struct vmc_exc){ .key = 3ull << 56, .gpa_pfn = 0x7fe0c, .npages = 2 };
    m->nregs = 1;
    m->regs[0] = (struct vmc_meta_regs){ .cr3 = 0x1234000, .rsp = 0xffffc90000013f28 };
    m->npfn = sizeof(bits) * 8;
    m->bits = bits;
    for (unsigned i = 0; i < 100; i++) {
        bits[i] = 0xff;              /* one long run */
    }
    bits[200] = 0x5a;                /* short runs */
    bits[sizeof(bits) - 1] = 0x80;   /* the last page */
}

static int opened_equals(const struct vmc_meta *a, const struct vmc_meta *b)
{
    return memcmp(a->lineage, b->lineage, 16) == 0 && a->seq == b->seq &&
           a->nexc == b->nexc && memcmp(a->exc, b->exc, sizeof(a->exc[0]) * a->nexc) == 0 &&
           a->nregs == b->nregs && memcmp(a->regs, b->regs, sizeof(a->regs[0]) * a->nregs) == 0 &&
           a->npfn == b->npfn && memcmp(a->bits, b->bits, (a->npfn + 7) / 8) == 0;
}

/* Open n bytes of buf from an exactly sized copy. */
static int open_exact(const uint8_t *buf, size_t n, const struct vmc_meta_crypto *c,
                      struct vmc_meta *out)
{
    uint8_t *copy = unit_exact(buf, n);
    int rc = vmc_meta_open(copy, n, c, out);

    free(copy);
    return rc;
}

/* A blob around a raw plaintext body, authenticated with c1. */
static size_t forge(const uint8_t *body, size_t body_len, uint8_t *out)
{
    size_t total = VMC_META_HDR_SIZE + body_len + VMC_META_MAC_SIZE;
    uint32_t v;

    memset(out, 0, VMC_META_HDR_SIZE);
    memcpy(out, VMC_META_MAGIC, 8);
    v = VMC_META_VERSION; memcpy(out + 8, &v, 4);
    v = VMC_META_HDR_SIZE; memcpy(out + 12, &v, 4);
    v = (uint32_t)total; memcpy(out + 16, &v, 4);
    v = (uint32_t)body_len; memcpy(out + 20, &v, 4);
    memcpy(out + VMC_META_HDR_SIZE, body, body_len);
    toy_xor(&k1, out + 40, out + VMC_META_HDR_SIZE, body_len);
    toy_mac(&k1, out, VMC_META_HDR_SIZE + body_len, out + VMC_META_HDR_SIZE + body_len);
    return total;
}

/* A body: fixed part, then LEB128 runs given as (gap, len) pairs. */
static size_t body_with_runs(uint8_t *b, uint64_t npfn, uint64_t nset,
                             const uint8_t *runs, size_t nbytes, uint32_t nruns)
{
    size_t len = 32 + nbytes;

    memset(b, 0, 64 + nbytes);
    memcpy(b + 8, &npfn, 8);
    memcpy(b + 16, &nset, 8);
    memcpy(b + 24, &nruns, 4);
    memcpy(b + 32, runs, nbytes);
    return (len + 15) / 16 * 16;
}

static const char *c_round_trip(void)
{
    struct vmc_meta m, o;
    int n;

    sample(&m);
    n = vmc_meta_seal(&m, &c1, blob, sizeof(blob));
    if (n <= 0) {
        return "seal failed";
    }
    if (vmc_meta_size(blob, VMC_META_HDR_SIZE) != n) {
        return "size from the header differs";
    }
    if (open_exact(blob, (size_t)n, &c1, &o) != 0) {
        return "open failed";
    }
    n = opened_equals(&m, &o) && o.nset == 800 + 4 + 1;
    vmc_meta_free(&o);
    return n ? NULL : "content differs";
}

static const char *c_empty(void)
{
    struct vmc_meta m, o;
    int n;

    memset(&m, 0, sizeof(m));
    n = vmc_meta_seal(&m, &c1, blob, sizeof(blob));
    if (n != VMC_META_HDR_SIZE + 32 + VMC_META_MAC_SIZE) {
        return "unexpected size";
    }
    if (open_exact(blob, (size_t)n, &c1, &o) != 0) {
        return "open failed";
    }
    n = o.npfn == 0 && o.nexc == 0 && o.nregs == 0;
    vmc_meta_free(&o);
    return n ? NULL : "not empty";
}

static const char *c_tamper_everywhere(void)
{
    struct vmc_meta m, o;
    int n = (sample(&m), vmc_meta_seal(&m, &c1, blob, sizeof(blob)));

    /* Every byte but the magic/version/sizes (which fail the format check). */
    for (int i = 24; i < n; i++) {
        int rc;

        blob[i] ^= 0x01;
        rc = open_exact(blob, (size_t)n, &c1, &o);
        blob[i] ^= 0x01;
        if (rc != -EBADMSG) {
            static char msg[64];
            snprintf(msg, sizeof(msg), "flip at byte %d gave %d", i, rc);
            vmc_meta_free(&o);
            return msg;
        }
    }
    return NULL;
}

static const char *c_other_key(void)
{
    struct vmc_meta m, o;
    int n = (sample(&m), vmc_meta_seal(&m, &c1, blob, sizeof(blob)));

    return open_exact(blob, (size_t)n, &c2, &o) == -EBADMSG ? NULL : "opened with another key";
}

static const char *c_format_errors(void)
{
    struct vmc_meta m, o;
    int n = (sample(&m), vmc_meta_seal(&m, &c1, blob, sizeof(blob)));

    if (open_exact(blob, (size_t)n - 1, &c1, &o) != -EINVAL) {
        return "truncated blob accepted";
    }
    if (vmc_meta_size(blob, VMC_META_HDR_SIZE - 1) != -EINVAL) {
        return "size from a short header";
    }
    blob[0] ^= 0xff;
    n = open_exact(blob, (size_t)n, &c1, &o);
    blob[0] ^= 0xff;
    if (n != -EINVAL) {
        return "bad magic accepted";
    }
    blob[20] ^= 0x10; /* body size no longer matches the total */
    n = vmc_meta_size(blob, sizeof(blob));
    blob[20] ^= 0x10;
    if (n != -EINVAL) {
        return "inconsistent sizes accepted";
    }
    memset(blob, 0, VMC_META_HDR_SIZE);
    return vmc_meta_size(blob, sizeof(blob)) == -EINVAL ? NULL : "zero page taken for a blob";
}

static const char *c_limits(void)
{
    struct vmc_meta m;
    static uint8_t many[1 << 17];
    uint8_t small[100];

    sample(&m);
    if (vmc_meta_seal(&m, &c1, small, sizeof(small)) != -ENOSPC) {
        return "seal into 100 bytes";
    }
    m.nexc = VMC_MAX_EXC + 1;
    if (vmc_meta_seal(&m, &c1, blob, sizeof(blob)) != -EINVAL) {
        return "too many shared ranges sealed";
    }
    sample(&m);
    m.npfn = VMC_META_MAX_NPFN + 1;
    if (vmc_meta_seal(&m, &c1, blob, sizeof(blob)) != -EINVAL) {
        return "set beyond the limit sealed";
    }
    /* Every other page: 2^19 runs do not fit the metadata range. */
    memset(many, 0x55, sizeof(many));
    sample(&m);
    m.bits = many;
    m.npfn = sizeof(many) * 8;
    return vmc_meta_seal(&m, &c1, blob, sizeof(blob)) == -ENOSPC ? NULL : "huge set sealed";
}

static const char *c_hostile_bodies(void)
{
    static const struct {
        const char *what;
        uint64_t npfn, nset;
        uint32_t nruns;
        uint8_t runs[8];
        size_t nbytes;
    } bad[] = {
        { "run past npfn", 10, 5, 1, { 8, 5 }, 2 },
        { "gap past npfn", 10, 1, 1, { 11, 1 }, 2 },
        { "zero-length run", 10, 0, 1, { 1, 0 }, 2 },
        { "adjacent runs (gap 0)", 10, 4, 2, { 0, 2, 0, 2 }, 4 },
        { "miscounted set", 10, 3, 1, { 0, 2 }, 2 },
        { "more runs than bytes", 10, 2, 3, { 0, 2 }, 2 },
        { "overlong LEB128", 10, 1, 1, { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80 }, 8 },
        { "set larger than npfn", 2, 3, 0, { 0 }, 0 },
        { "npfn over the limit", VMC_META_MAX_NPFN + 1, 0, 0, { 0 }, 0 },
    };
    uint8_t body[128], out[512];
    struct vmc_meta o;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t bl = body_with_runs(body, bad[i].npfn, bad[i].nset, bad[i].runs,
                                   bad[i].nbytes, bad[i].nruns);
        size_t n = forge(body, bl, out);

        if (open_exact(out, n, &c1, &o) != -EINVAL) {
            vmc_meta_free(&o);
            return bad[i].what;
        }
    }
    /* Junk in the padding after a valid body. */
    {
        static const uint8_t runs[] = { 1, 2 };
        size_t bl = body_with_runs(body, 10, 2, runs, 2, 1);
        size_t n;

        body[bl - 1] = 7;
        n = forge(body, bl, out);
        if (open_exact(out, n, &c1, &o) != -EINVAL) {
            vmc_meta_free(&o);
            return "junk padding accepted";
        }
        body[bl - 1] = 0;
        n = forge(body, bl, out);
        if (open_exact(out, n, &c1, &o) != 0 || o.nset != 2 || o.bits[0] != 0x06) {
            vmc_meta_free(&o);
            return "the valid variant was refused";
        }
        vmc_meta_free(&o);
    }
    /* Counts that claim more records than the body holds. */
    {
        uint32_t v = VMC_MAX_EXC;

        memset(body, 0, 48);
        memcpy(body, &v, 4);
        if (open_exact(out, forge(body, 48, out), &c1, &o) != -EINVAL) {
            return "exceptions beyond the body accepted";
        }
        v = 0;
        memcpy(body, &v, 4);
        v = VMC_META_MAX_REGS;
        memcpy(body + 4, &v, 4);
        if (open_exact(out, forge(body, 48, out), &c1, &o) != -EINVAL) {
            return "registers beyond the body accepted";
        }
    }
    return NULL;
}

/* Authenticated but mutated bodies: parse or refuse, never crash. */
static const char *c_mutations(void)
{
    struct vmc_meta m, o;
    uint8_t *body = malloc(VMC_META_MAX_SIZE);
    uint8_t *out = malloc(VMC_META_MAX_SIZE);
    int n, accepted = 0;

    srand(12345);
    sample(&m);
    n = vmc_meta_seal(&m, &c1, blob, sizeof(blob));
    for (int iter = 0; iter < 3000; iter++) {
        size_t bl = (size_t)n - VMC_META_HDR_SIZE - VMC_META_MAC_SIZE;
        int flips = 1 + rand() % 4, rc;

        memcpy(body, blob + VMC_META_HDR_SIZE, bl);
        toy_xor(&k1, blob + 40, body, bl); /* back to plaintext */
        for (int f = 0; f < flips; f++) {
            body[rand() % bl] ^= (uint8_t)(1u << (rand() % 8));
        }
        if (rand() % 8 == 0) {
            bl = (bl - 16) / 16 * 16 + 16 * (size_t)(rand() % 2); /* shorten */
        }
        rc = open_exact(out, forge(body, bl, out), &c1, &o);
        if (rc == 0) {
            accepted++;
            if (o.npfn > VMC_META_MAX_NPFN || o.nexc > VMC_MAX_EXC ||
                o.nregs > VMC_META_MAX_REGS) {
                vmc_meta_free(&o);
                free(body);
                free(out);
                return "accepted out-of-bounds content";
            }
            vmc_meta_free(&o);
        } else if (rc != -EINVAL && rc != -ENOMEM) {
            free(body);
            free(out);
            return "unexpected error code";
        }
    }
    free(body);
    free(out);
    return accepted < 3000 ? NULL : "no mutation was refused";
}

int main(void)
{
    static const struct {
        const char *name;
        const char *(*fn)(void);
    } cases[] = {
        { "meta/round trip", c_round_trip },
        { "meta/empty set", c_empty },
        { "meta/any flipped bit refused before parsing", c_tamper_everywhere },
        { "meta/another key refused", c_other_key },
        { "meta/format errors", c_format_errors },
        { "meta/limits", c_limits },
        { "meta/hostile authenticated bodies", c_hostile_bodies },
        { "meta/mutation loop", c_mutations },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *err = cases[i].fn();

        unit_check(cases[i].name, err == NULL, "%s", err ? err : "");
    }
    return unit_exit();
}
