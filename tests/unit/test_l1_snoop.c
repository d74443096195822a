/* sources: attacks/console-snoop/pkt.c attacks/console-snoop/flow.c attacks/console-snoop/secret.c */
/*
 * console-snoop's pure parts: the Ethernet/IPv4/TCP parser (valid variants,
 * every truncation of a valid frame, inconsistent headers), the per
 * connection reassembly (retransmission, overlap, gaps, SYN, wrap-around,
 * eviction) and the secret matcher (table plus a comparison with a naive
 * search on seeded random streams).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../attacks/console-snoop/flow.h"
#include "../../attacks/console-snoop/pkt.h"
#include "../../attacks/console-snoop/secret.h"

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

/* --- frame builder --------------------------------------------------------- */

struct frame_spec {
    bool vlan;
    uint16_t ethertype;         /* 0: IPv4 */
    uint8_t version;            /* 0: 4 */
    uint8_t ihl_words;          /* 0: 5 */
    int tot_len_delta;          /* added to the true total length */
    uint16_t frag;              /* flags+offset field */
    uint8_t proto;              /* 0: TCP */
    uint8_t doff_words;         /* 0: 5 */
    uint16_t sport, dport;
    uint32_t seq;
    uint8_t flags;
    const char *payload;
    size_t pad;                 /* Ethernet padding after the IP datagram */
};

static size_t build(uint8_t *f, const struct frame_spec *s)
{
    size_t off = 12;
    memset(f, 0, 2048);
    for (int i = 0; i < 12; i++)
        f[i] = (uint8_t)(0x10 + i);
    if (s->vlan) {
        f[off++] = 0x81; f[off++] = 0x00; f[off++] = 0x00; f[off++] = 0x05;
    }
    uint16_t et = s->ethertype ? s->ethertype : 0x0800;
    f[off++] = (uint8_t)(et >> 8);
    f[off++] = (uint8_t)et;
    uint8_t *ip = f + off;
    size_t ihl = (s->ihl_words ? s->ihl_words : 5) * 4u;
    size_t doff = (s->doff_words ? s->doff_words : 5) * 4u;
    size_t plen = s->payload ? strlen(s->payload) : 0;
    size_t real_ihl = ihl < 20 ? 20 : ihl, real_doff = doff < 20 ? 20 : doff;
    size_t tot = real_ihl + real_doff + plen;
    ip[0] = (uint8_t)((s->version ? s->version : 4) << 4 | (ihl / 4));
    int t = (int)tot + s->tot_len_delta;
    ip[2] = (uint8_t)(t >> 8); ip[3] = (uint8_t)t;
    ip[6] = (uint8_t)(s->frag >> 8); ip[7] = (uint8_t)s->frag;
    ip[8] = 64;
    ip[9] = s->proto ? s->proto : 6;
    ip[12] = 10; ip[13] = 0; ip[14] = 2; ip[15] = 2;       /* 10.0.2.2 */
    ip[16] = 10; ip[17] = 0; ip[18] = 2; ip[19] = 15;      /* 10.0.2.15 */
    uint8_t *tcp = ip + real_ihl;
    tcp[0] = (uint8_t)(s->sport >> 8); tcp[1] = (uint8_t)s->sport;
    tcp[2] = (uint8_t)(s->dport >> 8); tcp[3] = (uint8_t)s->dport;
    tcp[4] = (uint8_t)(s->seq >> 24); tcp[5] = (uint8_t)(s->seq >> 16);
    tcp[6] = (uint8_t)(s->seq >> 8); tcp[7] = (uint8_t)s->seq;
    tcp[12] = (uint8_t)((doff / 4) << 4);
    tcp[13] = s->flags ? s->flags : 0x18;                  /* PSH|ACK */
    memcpy(tcp + real_doff, s->payload ? s->payload : "", plen);
    return off + tot + s->pad;
}

/* Parse from an exact-size heap copy, so ASan reports any read past the frame. */
static int parse_exact(const uint8_t *frame, size_t len, struct snoop_seg *seg, char *payload, size_t cap)
{
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, frame, len);
    int rc = snoop_parse_eth(copy, len, seg);
    if (rc == 0) {
        size_t n = seg->payload_len < cap - 1 ? seg->payload_len : cap - 1;
        memcpy(payload, seg->payload, n);
        payload[n] = '\0';
    }
    free(copy);
    return rc;
}

struct pcase {
    const char *name;
    struct frame_spec spec;
    int want;
    const char *want_payload;
};

static const struct pcase pcases[] = {
    { "tcp_payload", { .sport = 40000, .dport = 5000, .payload = "root\r" }, 0, "root\r" },
    { "tcp_no_payload", { .sport = 40000, .dport = 5000 }, 0, "" },
    { "vlan_tagged", { .vlan = true, .sport = 1, .dport = 5001, .payload = "pw" }, 0, "pw" },
    { "ip_options", { .ihl_words = 6, .sport = 1, .dport = 5000, .payload = "x" }, 0, "x" },
    { "tcp_options", { .doff_words = 8, .sport = 1, .dport = 5000, .payload = "abc" }, 0, "abc" },
    { "ethernet_padding_ignored", { .sport = 1, .dport = 5000, .payload = "a", .pad = 5 }, 0, "a" },
    { "arp", { .ethertype = 0x0806 }, -EPROTONOSUPPORT, NULL },
    { "ipv6", { .ethertype = 0x86dd }, -EPROTONOSUPPORT, NULL },
    { "udp", { .proto = 17, .payload = "x" }, -EPROTONOSUPPORT, NULL },
    { "fragment_more", { .frag = 0x2000, .payload = "x" }, -EPROTONOSUPPORT, NULL },
    { "fragment_offset", { .frag = 0x0010, .payload = "x" }, -EPROTONOSUPPORT, NULL },
    { "dont_fragment_ok", { .frag = 0x4000, .sport = 1, .dport = 2, .payload = "df" }, 0, "df" },
    { "ip_version_6_in_ipv4", { .version = 6 }, -EINVAL, NULL },
    { "ihl_below_5", { .ihl_words = 4 }, -EINVAL, NULL },
    { "tot_len_beyond_frame", { .tot_len_delta = 1, .payload = "abc" }, -EINVAL, NULL },
    { "tot_len_below_ihl", { .tot_len_delta = -21 }, -EINVAL, NULL },
    { "tcp_shorter_than_header", { .tot_len_delta = -1 }, -EINVAL, NULL },
    { "doff_below_5", { .doff_words = 4 }, -EINVAL, NULL },
    { "doff_beyond_segment", { .doff_words = 15, .tot_len_delta = -20 }, -EINVAL, NULL },
};

static void test_parser(void)
{
    uint8_t frame[2048];
    char payload[64], err[200];
    for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
        const struct pcase *c = &pcases[i];
        size_t len = build(frame, &c->spec);
        struct snoop_seg seg;
        int rc = parse_exact(frame, len, &seg, payload, sizeof(payload));
        err[0] = '\0';
        if (rc != c->want)
            snprintf(err, sizeof(err), "rc %d, want %d", rc, c->want);
        else if (rc == 0 && strcmp(payload, c->want_payload))
            snprintf(err, sizeof(err), "payload '%.60s', want '%.60s'", payload, c->want_payload);
        else if (rc == 0 && (seg.sport != c->spec.sport || seg.dport != c->spec.dport ||
                             seg.saddr != 0x0a000202u || seg.daddr != 0x0a00020fu))
            snprintf(err, sizeof(err), "addresses/ports wrong");
        report(c->name, err[0] ? err : NULL);
    }

    /* Every proper prefix of a valid frame (with options) is truncated: -EINVAL, never a read past it. */
    struct frame_spec s = { .vlan = true, .ihl_words = 7, .doff_words = 9, .sport = 3, .dport = 5000,
                            .payload = "secret-bytes" };
    size_t len = build(frame, &s);
    int bad = -1;
    for (size_t cut = 0; cut < len && bad < 0; cut++) {
        struct snoop_seg seg;
        if (parse_exact(frame, cut, &seg, payload, sizeof(payload)) != -EINVAL)
            bad = (int)cut;
    }
    snprintf(err, sizeof(err), "prefix of %d bytes not refused as truncated", bad);
    report("every_truncation_refused", bad < 0 ? NULL : err);
}

/* --- flows ------------------------------------------------------------------ */

static struct snoop_seg seg_of(uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags, const char *data)
{
    struct snoop_seg s = { .saddr = sport >= 5000 && sport < 5100 ? 0x0a00020f : 0x0a000202,
                           .daddr = dport >= 5000 && dport < 5100 ? 0x0a00020f : 0x0a000202,
                           .sport = sport, .dport = dport, .seq = seq, .flags = flags,
                           .payload = (const uint8_t *)data, .payload_len = data ? strlen(data) : 0 };
    return s;
}

struct fstep {
    uint16_t sport, dport;
    uint32_t seq;
    uint8_t flags;
    const char *data;
    int want_rc;
    const char *want;           /* bytes returned */
    int want_dir;
};

struct fcase {
    const char *name;
    struct fstep steps[8];
};

#define SYN SNOOP_TCP_SYN
#define ACK 0x10
static const struct fcase fcases[] = {
    { "in_order_both_directions", {
        { 40000, 5000, 100, SYN, NULL, 0, "", SNOOP_TO_VM },
        { 5000, 40000, 900, SYN | ACK, NULL, 0, "", SNOOP_FROM_VM },
        { 40000, 5000, 101, ACK, "ro", 0, "ro", SNOOP_TO_VM },
        { 40000, 5000, 103, ACK, "ot", 0, "ot", SNOOP_TO_VM },
        { 5000, 40000, 901, ACK, "login:", 0, "login:", SNOOP_FROM_VM },
        { 0 } } },
    { "retransmission_returned_once", {
        { 40000, 5000, 100, SYN, NULL, 0, "", SNOOP_TO_VM },
        { 40000, 5000, 101, ACK, "abc", 0, "abc", SNOOP_TO_VM },
        { 40000, 5000, 101, ACK, "abc", 0, "", SNOOP_TO_VM },
        { 0 } } },
    { "overlap_trimmed", {
        { 40000, 5000, 100, SYN, NULL, 0, "", SNOOP_TO_VM },
        { 40000, 5000, 101, ACK, "abc", 0, "abc", SNOOP_TO_VM },
        { 40000, 5000, 102, ACK, "bcdef", 0, "def", SNOOP_TO_VM },
        { 0 } } },
    { "gap_taken_as_is", {
        { 40000, 5000, 100, SYN, NULL, 0, "", SNOOP_TO_VM },
        { 40000, 5000, 105, ACK, "xyz", 0, "xyz", SNOOP_TO_VM },
        { 40000, 5000, 108, ACK, "w", 0, "w", SNOOP_TO_VM },
        { 0 } } },
    { "mid_connection_sync", {
        { 40000, 5000, 7777, ACK, "pass", 0, "pass", SNOOP_TO_VM },
        { 40000, 5000, 7781, ACK, "word", 0, "word", SNOOP_TO_VM },
        { 0 } } },
    { "seq_wraps", {
        { 40000, 5000, 0xfffffffeu, ACK, "abcd", 0, "abcd", SNOOP_TO_VM },
        { 40000, 5000, 2, ACK, "ef", 0, "ef", SNOOP_TO_VM },
        { 40000, 5000, 0xffffffffu, ACK, "bcd", 0, "", SNOOP_TO_VM },
        { 0 } } },
    { "ports_outside_range_ignored", {
        { 40000, 22, 1, ACK, "ssh", -ENOENT, NULL, 0 },
        { 22, 40000, 1, ACK, "ssh", -ENOENT, NULL, 0 },
        { 0 } } },
    { "new_syn_restarts_connection", {
        { 40000, 5000, 100, SYN, NULL, 0, "", SNOOP_TO_VM },
        { 40000, 5000, 101, ACK, "old", 0, "old", SNOOP_TO_VM },
        { 40000, 5000, 50, SYN, NULL, 0, "", SNOOP_TO_VM },
        { 40000, 5000, 51, ACK, "new", 0, "new", SNOOP_TO_VM },
        { 0 } } },
    { "fin_and_acks_carry_nothing", {
        { 40000, 5000, 100, ACK, "a", 0, "a", SNOOP_TO_VM },
        { 40000, 5000, 101, 0x11, NULL, 0, "", SNOOP_TO_VM },
        { 40000, 5000, 102, ACK, NULL, 0, "", SNOOP_TO_VM },
        { 0 } } },
};

static void test_flows(void)
{
    static struct snoop_flows t;
    char err[200], got[64];
    for (size_t i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++) {
        const struct fcase *c = &fcases[i];
        snoop_flows_init(&t, 5000, 5007);
        err[0] = '\0';
        for (int k = 0; c->steps[k].sport && !err[0]; k++) {
            const struct fstep *s = &c->steps[k];
            struct snoop_seg seg = seg_of(s->sport, s->dport, s->seq, s->flags, s->data);
            struct snoop_flow *f;
            enum snoop_dir d;
            const uint8_t *p;
            size_t n;
            int rc = snoop_flows_add(&t, &seg, &f, &d, &p, &n);
            if (rc != s->want_rc) {
                snprintf(err, sizeof(err), "step %d: rc %d, want %d", k, rc, s->want_rc);
                break;
            }
            if (rc < 0)
                continue;
            snprintf(got, sizeof(got), "%.*s", (int)n, (const char *)p);
            if (strcmp(got, s->want))
                snprintf(err, sizeof(err), "step %d: bytes '%s', want '%s'", k, got, s->want);
            else if ((int)d != s->want_dir)
                snprintf(err, sizeof(err), "step %d: direction %d, want %d", k, d, s->want_dir);
        }
        report(c->name, err[0] ? err : NULL);
    }

    /* More connections than slots: the least recently used is reused, nothing crashes. */
    snoop_flows_init(&t, 5000, 5007);
    struct snoop_flow *first = NULL, *f;
    enum snoop_dir d;
    const uint8_t *p;
    size_t n;
    for (int i = 0; i <= SNOOP_MAX_FLOWS; i++) {
        struct snoop_seg seg = seg_of((uint16_t)(30000 + i), 5000, 1, ACK, "k");
        snoop_flows_add(&t, &seg, &f, &d, &p, &n);
        if (i == 0)
            first = f;
    }
    report("eviction_reuses_least_recent",
           t.evicted == 1 && f == first && f->client_port == 30000 + SNOOP_MAX_FLOWS ? NULL
                                                                                  : "wrong slot reused");
}

/* --- secret ------------------------------------------------------------------ */

struct scase {
    const char *name;
    const char *secret;
    const char *chunks[4];      /* fed in order to one stream */
    size_t want;
};

static const struct scase scases[] = {
    { "whole_secret_in_stream", "hunter2", { "root\rhunter2\r" }, 7 },
    { "secret_across_keystrokes", "hunter2", { "h", "unt", "er", "2" }, 7 },
    { "prefix_only", "hunter2", { "xxhuntyy" }, 4 },
    { "nothing", "hunter2", { "ls -l\r" }, 0 },
    { "empty_stream", "hunter2", { "" }, 0 },
    { "restart_inside_match", "hunter2", { "hhunhunter2" }, 7 },
    { "kmp_border", "aab", { "aaab" }, 3 },
    { "kmp_border_2", "abacabab", { "abacabacabab" }, 8 },
    { "match_after_full_match", "abab", { "ababab" }, 4 },
    { "typo_breaks_contiguity", "hunter2", { "hunt", "\x7f", "er2" }, 4 },
    { "binary_secret", "\x01\xff", { "\x01\x01\xff" }, 2 },
};

static size_t naive_best(const char *sec, size_t slen, const char *s, size_t len)
{
    size_t best = 0;
    for (size_t i = 0; i < len; i++) {
        size_t k = 0;
        while (k < slen && i + k < len && s[i + k] == sec[k])
            k++;
        if (k > best)
            best = k;
    }
    return best;
}

static void test_secret(void)
{
    static struct secret sec;
    char err[128];
    for (size_t i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
        const struct scase *c = &scases[i];
        secret_init(&sec, (const uint8_t *)c->secret, strlen(c->secret));
        size_t state = 0, best = 0;
        for (int k = 0; k < 4 && c->chunks[k]; k++) {
            size_t got = secret_feed(&sec, &state, (const uint8_t *)c->chunks[k], strlen(c->chunks[k]));
            if (got > best)
                best = got;
        }
        snprintf(err, sizeof(err), "captured %zu, want %zu", best, c->want);
        report(c->name, best == c->want ? NULL : err);
    }

    uint8_t big[SECRET_MAX + 1] = { 0 };
    report("init_refuses_empty", secret_init(&sec, big, 0) == -EINVAL ? NULL : "accepted");
    report("init_refuses_too_long", secret_init(&sec, big, SECRET_MAX + 1) == -EINVAL ? NULL : "accepted");
    report("init_takes_max", secret_init(&sec, big, SECRET_MAX) == 0 ? NULL : "refused");

    /* Seeded random streams over a 2-letter alphabet (many partial matches), random chunking. */
    uint32_t x = 99;
#define RND() (x ^= x << 13, x ^= x >> 17, x ^= x << 5, x)
    int bad = -1;
    for (int iter = 0; iter < 2000 && bad < 0; iter++) {
        char s[12], stream[200];
        size_t slen = 1 + RND() % 10, len = RND() % 200;
        for (size_t i = 0; i < slen; i++)
            s[i] = (char)('a' + RND() % 2);
        for (size_t i = 0; i < len; i++)
            stream[i] = (char)('a' + RND() % 2);
        secret_init(&sec, (const uint8_t *)s, slen);
        size_t state = 0, best = 0, off = 0;
        while (off < len) {
            size_t n = 1 + RND() % 7;
            if (n > len - off)
                n = len - off;
            size_t got = secret_feed(&sec, &state, (const uint8_t *)stream + off, n);
            if (got > best)
                best = got;
            off += n;
        }
        if (best != naive_best(s, slen, stream, len))
            bad = iter;
    }
    snprintf(err, sizeof(err), "differs from the naive search at iteration %d", bad);
    report("agrees_with_naive_search", bad < 0 ? NULL : err);
}

int main(void)
{
    test_parser();
    test_flows();
    test_secret();
    return failures ? 1 : 0;
}
