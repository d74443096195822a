/* sources: src/common/irqmsg.c */
/*
 * The L0 -> L1 interrupt message: the exact wire bytes of a known message,
 * round trips, and hostile inputs (every truncation, bad magic/version/
 * length/reserved, unterminated or malformed tags, out-of-range irq/level,
 * and every single-byte corruption of a valid message). Decoding reads
 * from exactly-sized heap copies so any over-read trips ASan.
 */
#include <errno.h>
#include <string.h>

#include "irqmsg.h"
#include "unit.h"

/* seq 0x0102030405060708, tag "vm0", irq 4, level 1. */
static const uint8_t golden[IRQMSG_SIZE] = {
    0x4e, 0x56, 0x49, 0x51,  0x01, 0x00,  0x30, 0x00,
    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
    'v', 'm', '0', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0x04, 0x00, 0x00, 0x00,  0x01,  0x00, 0x00, 0x00,
};

static int decode_exact(const uint8_t *buf, size_t len, struct irqmsg *m)
{
    uint8_t *copy = unit_exact(buf, len);
    int rc = irqmsg_decode(copy, len, m);

    free(copy);
    return rc;
}

static struct irqmsg golden_msg(void)
{
    struct irqmsg m = { .seq = 0x0102030405060708ull, .irq = 4, .level = 1 };

    memcpy(m.tag, "vm0", 4);
    return m;
}

/* One-byte edits of the golden message and the error each must give. */
static const struct {
    const char *name;
    size_t off;
    uint8_t val;
    int rc;
} edits[] = {
    { "decode_bad_magic", 0, 0x4f, -EPROTO },
    { "decode_bad_version", 4, 0x02, -EPROTO },
    { "decode_version_high_byte", 5, 0x01, -EPROTO },
    { "decode_bad_length_field", 6, 0x2f, -EPROTO },
    { "decode_reserved_set", 45, 0x01, -EPROTO },
    { "decode_reserved_last_set", 47, 0x80, -EPROTO },
    { "decode_tag_uppercase", 16, 'V', -EINVAL },
    { "decode_tag_slash", 17, '/', -EINVAL },
    { "decode_tag_dot", 18, '.', -EINVAL },
    { "decode_tag_empty", 16, 0, -EINVAL },
    { "decode_tag_garbage_after_nul", 30, 'x', -EINVAL },
    { "decode_tag_unterminated", 39, 'z', -EINVAL },
    { "decode_tag_high_byte", 20, 0xc3, -EINVAL },
    { "decode_irq_256", 41, 0x01, -EINVAL },
    { "decode_irq_huge", 43, 0xff, -EINVAL },
    { "decode_level_2", 44, 0x02, -EINVAL },
    { "decode_level_ff", 44, 0xff, -EINVAL },
    { "decode_seq_any", 8, 0xff, 0 },
    { "decode_tag_longer_valid", 19, '_', 0 },
};

static void golden_cases(void)
{
    struct irqmsg m = golden_msg(), d;
    uint8_t out[IRQMSG_SIZE + 4];
    int rc;

    memset(out, 0xaa, sizeof(out));
    rc = irqmsg_encode(&m, out, sizeof(out));
    unit_check("encode_golden_bytes", rc == IRQMSG_SIZE &&
               memcmp(out, golden, IRQMSG_SIZE) == 0 && out[IRQMSG_SIZE] == 0xaa,
               "rc %d or bytes differ", rc);
    memset(&d, 0, sizeof(d));
    rc = decode_exact(golden, sizeof(golden), &d);
    unit_check("decode_golden", rc == 0 && d.seq == m.seq && d.irq == 4 &&
               d.level == 1 && memcmp(d.tag, m.tag, IRQMSG_TAG_SIZE) == 0,
               "rc %d", rc);
}

static void hostile_lengths(void)
{
    struct irqmsg d;
    uint8_t big[IRQMSG_SIZE * 2];
    unsigned wrong = 0;

    memcpy(big, golden, IRQMSG_SIZE);
    memcpy(big + IRQMSG_SIZE, golden, IRQMSG_SIZE);
    for (size_t len = 0; len <= sizeof(big); len++) {
        int rc = decode_exact(big, len, &d);

        wrong += (len == IRQMSG_SIZE) ? rc != 0 : rc != -EMSGSIZE;
    }
    unit_check("decode_every_length_but_48_rejected", wrong == 0,
               "%u lengths answered wrongly", wrong);
}

static void hostile_edits(void)
{
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        uint8_t buf[IRQMSG_SIZE];
        struct irqmsg d = { .seq = 77 };
        int rc;

        memcpy(buf, golden, sizeof(buf));
        buf[edits[i].off] = edits[i].val;
        rc = decode_exact(buf, sizeof(buf), &d);
        unit_check(edits[i].name, rc == edits[i].rc &&
                   (rc == 0 || d.seq == 77),
                   "rc %d want %d (or output touched on error)", rc, edits[i].rc);
    }
}

/* Every value of every byte: decode never crashes, and accepts only valid fields. */
static void exhaustive_byte_flips(void)
{
    unsigned accepted_bad = 0;

    for (size_t off = 0; off < IRQMSG_SIZE; off++) {
        for (unsigned v = 0; v < 256; v++) {
            uint8_t buf[IRQMSG_SIZE];
            uint8_t again[IRQMSG_SIZE];
            struct irqmsg d;

            memcpy(buf, golden, sizeof(buf));
            buf[off] = (uint8_t)v;
            if (decode_exact(buf, sizeof(buf), &d) != 0) {
                continue;
            }
            /* Accepted: it must re-encode to the very same bytes. */
            if (irqmsg_encode(&d, again, sizeof(again)) != IRQMSG_SIZE ||
                memcmp(again, buf, IRQMSG_SIZE) != 0) {
                accepted_bad++;
            }
        }
    }
    unit_check("decode_all_single_byte_values", accepted_bad == 0,
               "%u accepted messages do not re-encode identically", accepted_bad);
}

static void encode_rejects(void)
{
    struct irqmsg m = golden_msg();
    uint8_t out[IRQMSG_SIZE];

    unit_check("encode_short_buffer", irqmsg_encode(&m, out, IRQMSG_SIZE - 1) == -ENOSPC,
               "short buffer accepted");
    m.level = 2;
    unit_check("encode_level_2", irqmsg_encode(&m, out, sizeof(out)) == -EINVAL,
               "level 2 accepted");
    m = golden_msg();
    m.irq = IRQMSG_IRQ_LIMIT;
    unit_check("encode_irq_limit", irqmsg_encode(&m, out, sizeof(out)) == -EINVAL,
               "irq 256 accepted");
    m = golden_msg();
    memset(m.tag, 'a', sizeof(m.tag));
    unit_check("encode_unterminated_tag", irqmsg_encode(&m, out, sizeof(out)) == -EINVAL,
               "24-char tag accepted");
    m = golden_msg();
    memset(m.tag, 0, sizeof(m.tag));
    unit_check("encode_empty_tag", irqmsg_encode(&m, out, sizeof(out)) == -EINVAL,
               "empty tag accepted");
    m = golden_msg();
    memset(m.tag, 'b', IRQMSG_TAG_SIZE - 1);
    m.tag[IRQMSG_TAG_SIZE - 1] = 0;
    m.level = 0;
    m.irq = 255;
    {
        struct irqmsg d;
        int rc = irqmsg_encode(&m, out, sizeof(out));

        unit_check("roundtrip_longest_tag", rc == IRQMSG_SIZE &&
                   decode_exact(out, sizeof(out), &d) == 0 &&
                   memcmp(d.tag, m.tag, IRQMSG_TAG_SIZE) == 0 && d.irq == 255 &&
                   d.level == 0, "rc %d", rc);
    }
}

int main(void)
{
    golden_cases();
    hostile_lengths();
    hostile_edits();
    exhaustive_byte_flips();
    encode_rejects();
    return unit_exit();
}
