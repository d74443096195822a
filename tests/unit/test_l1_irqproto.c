/* sources: src/l1/irqserver/irqproto.c */
/*
 * The injector's hello to the interrupt server: round trip, and every way a
 * hello can be wrong (size, magic, version, length field, tag rules).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/l1/irqserver/irqproto.h"

static int failures;

static void report(const char *name, const char *err)
{
    if (err) {
        printf("FAIL %s: %s\n", name, err);
        failures++;
    } else {
        printf("PASS %s\n", name);
    }
}

struct enc_case {
    const char *name;
    const char *tag;
    size_t out_len;
    int want;
};

static const struct enc_case enc_cases[] = {
    { "encode_short_tag", "vm0", IRQPROTO_HELLO_SIZE, IRQPROTO_HELLO_SIZE },
    { "encode_23_chars", "abcdefghijklmnopqrstu-_", IRQPROTO_HELLO_SIZE, IRQPROTO_HELLO_SIZE },
    { "encode_24_chars_refused", "abcdefghijklmnopqrstuvwx", IRQPROTO_HELLO_SIZE, -EINVAL },
    { "encode_empty_refused", "", IRQPROTO_HELLO_SIZE, -EINVAL },
    { "encode_uppercase_refused", "Vm0", IRQPROTO_HELLO_SIZE, -EINVAL },
    { "encode_space_refused", "vm 0", IRQPROTO_HELLO_SIZE, -EINVAL },
    { "encode_slash_refused", "../vm0", IRQPROTO_HELLO_SIZE, -EINVAL },
    { "encode_small_buffer", "vm0", IRQPROTO_HELLO_SIZE - 1, -ENOSPC },
};

/* Decode cases: a valid hello for "vm7", one byte changed (or a length changed). */
struct dec_case {
    const char *name;
    int offset;                 /* byte to change, -1 none */
    uint8_t value;
    size_t len;
    int want;
};

static const struct dec_case dec_cases[] = {
    { "decode_valid", -1, 0, IRQPROTO_HELLO_SIZE, 0 },
    { "decode_short", -1, 0, IRQPROTO_HELLO_SIZE - 1, -EMSGSIZE },
    { "decode_long", -1, 0, IRQPROTO_HELLO_SIZE + 1, -EMSGSIZE },
    { "decode_empty", -1, 0, 0, -EMSGSIZE },
    { "decode_bad_magic", 0, 'X', IRQPROTO_HELLO_SIZE, -EPROTO },
    { "decode_irqmsg_magic", 3, 'Q', IRQPROTO_HELLO_SIZE, -EPROTO },
    { "decode_bad_version", 4, 2, IRQPROTO_HELLO_SIZE, -EPROTO },
    { "decode_bad_length_field", 6, 33, IRQPROTO_HELLO_SIZE, -EPROTO },
    { "decode_tag_uppercase", 8, 'V', IRQPROTO_HELLO_SIZE, -EINVAL },
    { "decode_tag_empty", 8, 0, IRQPROTO_HELLO_SIZE, -EINVAL },
    { "decode_garbage_after_nul", 20, 'x', IRQPROTO_HELLO_SIZE, -EINVAL },
    { "decode_unterminated_tag", 31, 'x', IRQPROTO_HELLO_SIZE, -EINVAL },
};

int main(void)
{
    char err[128];
    for (size_t i = 0; i < sizeof(enc_cases) / sizeof(enc_cases[0]); i++) {
        const struct enc_case *c = &enc_cases[i];
        uint8_t *out = malloc(c->out_len ? c->out_len : 1);     /* exact size: ASan sees overruns */
        int rc = irqproto_hello_encode(c->tag, out, c->out_len);
        err[0] = '\0';
        if (rc != c->want) {
            snprintf(err, sizeof(err), "rc %d, want %d", rc, c->want);
        } else if (rc > 0) {
            char tag[ULTRACALL_VMTAG_SIZE];
            int d = irqproto_hello_decode(out, (size_t)rc, tag);
            if (d != 0 || strcmp(tag, c->tag))
                snprintf(err, sizeof(err), "round trip: decode rc %d", d);
        }
        free(out);
        report(c->name, err[0] ? err : NULL);
    }

    uint8_t good[IRQPROTO_HELLO_SIZE + 1] = { 0 };
    irqproto_hello_encode("vm7", good, IRQPROTO_HELLO_SIZE);
    for (size_t i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
        const struct dec_case *c = &dec_cases[i];
        uint8_t *buf = malloc(c->len ? c->len : 1);
        memcpy(buf, good, c->len < sizeof(good) ? c->len : sizeof(good));
        if (c->offset >= 0)
            buf[c->offset] = c->value;
        char tag[ULTRACALL_VMTAG_SIZE];
        memset(tag, '#', sizeof(tag));
        int rc = irqproto_hello_decode(buf, c->len, tag);
        err[0] = '\0';
        if (rc != c->want)
            snprintf(err, sizeof(err), "rc %d, want %d", rc, c->want);
        else if (rc == 0 && strcmp(tag, "vm7"))
            snprintf(err, sizeof(err), "tag '%.24s'", tag);
        else if (rc < 0 && tag[0] != '#')
            snprintf(err, sizeof(err), "tag written on error");
        free(buf);
        report(c->name, err[0] ? err : NULL);
    }
    return failures ? 1 : 0;
}
