/*
 * libFuzzer target: VMCrypt's metadata parser (src/l0/vmcrypt/vmcrypt_meta.c),
 * the one reader of bytes that come back from a suspend image. The input is
 * used twice: as a whole blob (almost always refused at the MAC), and as the
 * plaintext body of a blob this harness authenticates with a toy MAC, so the
 * body parser itself is explored. tests/unit/test_vmcrypt_meta.c runs the same
 * parser under ASan with a seeded mutation loop.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/l0 \
 *       tests/fuzz/fuzz_vmcrypt_meta.c src/l0/vmcrypt/vmcrypt_meta.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmcrypt/vmcrypt_meta.h"

static int toy_crypt(void *o, const uint8_t iv[16], uint8_t *buf, size_t len)
{
    (void)o;
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= iv[i % 16];
    }
    return 0;
}

static int toy_mac(void *o, const uint8_t *buf, size_t len, uint8_t out[32])
{
    uint64_t h = 0xcbf29ce484222325ull;

    (void)o;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ buf[i]) * 0x100000001b3ull;
    }
    for (int i = 0; i < 4; i++) {
        memcpy(out + 8 * i, &h, 8);
    }
    return 0;
}

static int toy_random(void *o, uint8_t *buf, size_t len)
{
    (void)o;
    memset(buf, 0x5a, len);
    return 0;
}

static const struct vmc_meta_crypto ops = { NULL, toy_crypt, toy_crypt, toy_mac, toy_random };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vmc_meta m;
    size_t body_len = (size + 15) / 16 * 16, total;
    uint8_t *blob;
    uint32_t v;

    if (vmc_meta_open(data, size, &ops, &m) == 0) {
        vmc_meta_free(&m);
    }
    if (body_len < 32 || body_len > VMC_META_MAX_SIZE - 96) {
        return 0;
    }
    total = 64 + body_len + 32;
    blob = calloc(1, total);
    if (!blob) {
        return 0;
    }
    memcpy(blob, VMC_META_MAGIC, 8);
    v = VMC_META_VERSION; memcpy(blob + 8, &v, 4);
    v = 64; memcpy(blob + 12, &v, 4);
    v = (uint32_t)total; memcpy(blob + 16, &v, 4);
    v = (uint32_t)body_len; memcpy(blob + 20, &v, 4);
    memcpy(blob + 64, data, size);
    toy_crypt(NULL, blob + 40, blob + 64, body_len);
    toy_mac(NULL, blob, 64 + body_len, blob + 64 + body_len);
    if (vmc_meta_open(blob, total, &ops, &m) == 0) {
        vmc_meta_free(&m);
    }
    free(blob);
    return 0;
}
