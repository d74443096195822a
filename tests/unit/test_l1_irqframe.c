/* sources: src/l1/irqserver/irqframe.c src/common/irqmsg.c */
/*
 * The vport transport's stream framer: whole, split, back-to-back, truncated
 * and corrupt frames, garbage before, between and inside, and a seeded fuzz
 * run that checks every valid frame is recovered in order.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/l1/irqserver/irqframe.h"

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

static size_t make_frame(uint8_t *out, uint64_t seq, const char *tag, uint32_t level)
{
    struct irqmsg m = { .seq = seq, .irq = IRQMSG_IRQ_COM1, .level = (uint8_t)level };
    strncpy(m.tag, tag, sizeof(m.tag) - 1);
    int n = irqmsg_encode(&m, out, IRQMSG_SIZE);
    if (n != IRQMSG_SIZE) {
        fprintf(stderr, "test bug: encode failed\n");
        exit(2);
    }
    return IRQMSG_SIZE;
}

/* Feed the stream in chunks of `chunk` bytes (0: all at once); collect seqs. */
static size_t feed(struct irqframe *f, const uint8_t *data, size_t len, size_t chunk,
                   uint64_t *seqs, size_t max)
{
    size_t got = 0, off = 0;
    /* Exact-size heap copy: ASan catches any read past the end. */
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, data, len);
    while (off < len) {
        size_t n = chunk && chunk < len - off ? chunk : len - off;
        size_t pos = 0;
        while (pos < n) {
            pos += irqframe_push(f, copy + off + pos, n - pos);
            struct irqmsg m;
            while (irqframe_next(f, &m) == 0)
                if (got < max)
                    seqs[got++] = m.seq;
                else
                    got++;
        }
        off += n;
    }
    free(copy);
    return got;
}

struct streamcase {
    const char *name;
    size_t chunk;
    size_t want_msgs;
    uint64_t want_skipped;      /* UINT64_MAX: do not check */
    uint64_t want_rejected;
};

int main(void)
{
    uint8_t fr[3][IRQMSG_SIZE], buf[4096];
    make_frame(fr[0], 1, "vm0", 1);
    make_frame(fr[1], 2, "vm0", 0);
    make_frame(fr[2], 3, "vm-long_tag-23-chars-xy", 1);
    uint64_t seqs[64];
    char err[200];

    /* Table: stream built by each case's builder below, expected outcome. */
    enum { ONE, TWO, THREE, GARBAGE_PREFIX, PARTIAL_MAGIC, TRUNCATED_THEN_GOOD, BAD_VERSION,
           BAD_TAG, BAD_RESERVED, ONLY_GARBAGE, MAGIC_ONLY_TAIL, FRAME_IN_FRAME, NCASES };
    static const struct streamcase cases[NCASES] = {
        [ONE] = { "frame_whole", 0, 1, 0, 0 },
        [TWO] = { "frames_back_to_back", 0, 2, 0, 0 },
        [THREE] = { "frames_byte_by_byte", 1, 3, 0, 0 },
        [GARBAGE_PREFIX] = { "garbage_prefix_skipped", 7, 1, 10, 0 },
        [PARTIAL_MAGIC] = { "partial_magic_before_frame", 0, 1, 3, 0 },
        [TRUNCATED_THEN_GOOD] = { "truncated_frame_then_good", 5, 1, 20, 1 },
        [BAD_VERSION] = { "bad_version_rejected_then_good", 0, 1, IRQMSG_SIZE, 1 },
        [BAD_TAG] = { "bad_tag_rejected_then_good", 13, 1, IRQMSG_SIZE, 1 },
        [BAD_RESERVED] = { "bad_reserved_rejected", 0, 0, UINT64_MAX, 1 },
        [ONLY_GARBAGE] = { "garbage_without_magic", 100, 0, 1000, 0 },
        [MAGIC_ONLY_TAIL] = { "magic_split_across_pushes", 1, 1, 5, 0 },
        [FRAME_IN_FRAME] = { "valid_frame_inside_rejected_one", 0, 1, 16, 1 },
    };
    for (int c = 0; c < NCASES; c++) {
        size_t len = 0;
        switch (c) {
        case ONE:
            memcpy(buf, fr[0], IRQMSG_SIZE); len = IRQMSG_SIZE; break;
        case TWO:
            memcpy(buf, fr[0], IRQMSG_SIZE); memcpy(buf + IRQMSG_SIZE, fr[1], IRQMSG_SIZE);
            len = 2 * IRQMSG_SIZE; break;
        case THREE:
            for (int i = 0; i < 3; i++) memcpy(buf + i * IRQMSG_SIZE, fr[i], IRQMSG_SIZE);
            len = 3 * IRQMSG_SIZE; break;
        case GARBAGE_PREFIX:
            memset(buf, 0xa5, 10); memcpy(buf + 10, fr[0], IRQMSG_SIZE); len = 10 + IRQMSG_SIZE; break;
        case PARTIAL_MAGIC:
            memcpy(buf, "NVI", 3); memcpy(buf + 3, fr[0], IRQMSG_SIZE); len = 3 + IRQMSG_SIZE; break;
        case TRUNCATED_THEN_GOOD:       /* a reader that lost the rest of a frame */
            memcpy(buf, fr[0], 20); memcpy(buf + 20, fr[1], IRQMSG_SIZE); len = 20 + IRQMSG_SIZE; break;
        case BAD_VERSION:
            memcpy(buf, fr[0], IRQMSG_SIZE); buf[4] = 9;
            memcpy(buf + IRQMSG_SIZE, fr[1], IRQMSG_SIZE); len = 2 * IRQMSG_SIZE; break;
        case BAD_TAG:
            memcpy(buf, fr[0], IRQMSG_SIZE); buf[16] = 'V';          /* uppercase: not a tag */
            memcpy(buf + IRQMSG_SIZE, fr[1], IRQMSG_SIZE); len = 2 * IRQMSG_SIZE; break;
        case BAD_RESERVED:
            memcpy(buf, fr[0], IRQMSG_SIZE); buf[IRQMSG_SIZE - 1] = 1; len = IRQMSG_SIZE; break;
        case ONLY_GARBAGE:
            for (int i = 0; i < 1000; i++) buf[i] = (uint8_t)(i * 7 % 61);  /* no 'N' (78) */
            len = 1000; break;
        case MAGIC_ONLY_TAIL:
            memcpy(buf, "xxxNV", 5);    /* "NV" fails at the next push, which starts "NV" again */
            memcpy(buf + 5, fr[0], IRQMSG_SIZE); len = 5 + IRQMSG_SIZE; break;
        case FRAME_IN_FRAME:            /* a corrupt frame whose tail holds a good one's start */
            memcpy(buf, fr[0], 16); memcpy(buf + 16, fr[1], IRQMSG_SIZE); len = 16 + IRQMSG_SIZE; break;
        }
        struct irqframe f;
        irqframe_init(&f);
        size_t got = feed(&f, buf, len, cases[c].chunk, seqs, 64);
        err[0] = '\0';
        if (got != cases[c].want_msgs)
            snprintf(err, sizeof(err), "%zu messages, want %zu", got, cases[c].want_msgs);
        else if (cases[c].want_skipped != UINT64_MAX && f.skipped != cases[c].want_skipped)
            snprintf(err, sizeof(err), "skipped %llu bytes, want %llu",
                     (unsigned long long)f.skipped, (unsigned long long)cases[c].want_skipped);
        else if (f.rejected != cases[c].want_rejected)
            snprintf(err, sizeof(err), "rejected %llu, want %llu",
                     (unsigned long long)f.rejected, (unsigned long long)cases[c].want_rejected);
        else if (c == THREE && (seqs[0] != 1 || seqs[1] != 2 || seqs[2] != 3))
            snprintf(err, sizeof(err), "order %llu %llu %llu", (unsigned long long)seqs[0],
                     (unsigned long long)seqs[1], (unsigned long long)seqs[2]);
        report(cases[c].name, err[0] ? err : NULL);
    }

    /* Partial input yields nothing until the last byte. */
    {
        struct irqframe f;
        struct irqmsg m;
        irqframe_init(&f);
        irqframe_push(&f, fr[0], IRQMSG_SIZE - 1);
        bool early = irqframe_next(&f, &m) != -EAGAIN;
        irqframe_push(&f, fr[0] + IRQMSG_SIZE - 1, 1);
        bool last = irqframe_next(&f, &m) == 0 && m.seq == 1 && m.level == 1 && !strcmp(m.tag, "vm0");
        report("no_message_before_last_byte", early ? "message before the frame was complete"
                                                    : !last ? "frame not decoded" : NULL);
    }

    /* push() never takes more than fits while a message waits. */
    {
        struct irqframe f;
        irqframe_init(&f);
        memcpy(buf, fr[0], IRQMSG_SIZE);
        memcpy(buf + IRQMSG_SIZE, fr[1], IRQMSG_SIZE);
        size_t a = irqframe_push(&f, buf, 2 * IRQMSG_SIZE);
        size_t b = irqframe_push(&f, buf + a, 2 * IRQMSG_SIZE - a);
        report("push_bounded_by_buffer", a != IRQMSG_SIZE || b != 0 ? "took more than one frame" : NULL);
    }

    /* reset() drops a partial message (stream reopened) but keeps the counters. */
    {
        struct irqframe f;
        struct irqmsg m;
        irqframe_init(&f);
        irqframe_push(&f, (const uint8_t *)"xx", 2);
        irqframe_push(&f, fr[0], 30);
        irqframe_next(&f, &m);
        irqframe_reset(&f);
        irqframe_push(&f, fr[1], IRQMSG_SIZE);
        int rc = irqframe_next(&f, &m);
        report("reset_drops_partial_keeps_counters",
               rc != 0 || m.seq != 2 ? "message after reset not decoded"
               : f.skipped != 2 ? "counters lost" : NULL);
    }

    /* Seeded fuzz: valid frames separated by garbage that never holds 'N'; chunks of random size. */
    {
        static uint8_t stream[200000];
        uint32_t x = 12345;
#define RND() (x ^= x << 13, x ^= x >> 17, x ^= x << 5, x)
        size_t len = 0, nframes = 0;
        while (len + 200 < sizeof(stream)) {
            size_t g = RND() % 60;
            for (size_t i = 0; i < g; i++) {
                uint8_t b = (uint8_t)RND();
                stream[len++] = b == 'N' ? 'n' : b;
            }
            if (RND() % 5 == 0) {       /* a truncated frame: cut short, the rest lost */
                make_frame(stream + len, 0, "lost", 1);
                len += 1 + RND() % (IRQMSG_SIZE - 1);
            }
            nframes++;
            make_frame(stream + len, nframes, "vm3", (uint32_t)(nframes & 1));
            len += IRQMSG_SIZE;
        }
        struct irqframe f;
        irqframe_init(&f);
        size_t off = 0, got = 0;
        bool order_ok = true;
        while (off < len) {
            size_t n = 1 + RND() % 97;
            if (n > len - off)
                n = len - off;
            size_t pos = 0;
            while (pos < n) {
                pos += irqframe_push(&f, stream + off + pos, n - pos);
                struct irqmsg m;
                while (irqframe_next(&f, &m) == 0) {
                    if (m.seq != got + 1)    /* a "lost" (seq 0) frame decoding is an error too */
                        order_ok = false;
                    got++;
                }
            }
            off += n;
        }
        snprintf(err, sizeof(err), "recovered %zu of %zu frames%s", got, nframes, order_ok ? "" : ", out of order");
        report("fuzz_resync_recovers_every_frame", got == nframes && order_ok ? NULL : err);
    }
    return failures ? 1 : 0;
}
