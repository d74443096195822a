/* sources: src/l0/shadow/vsbypass_ring.c */
/*
 * The console ring: bytes come out in order, the oldest are dropped and
 * counted on overflow, wrap-around, oversize pushes, empty and clamped ops.
 * Each case is a script of pushes/consumes and the expected final state.
 */
#include <errno.h>
#include <string.h>

#include "unit.h"
#include "vsbypass_ring.h"

/* Drain the ring entirely into out (size >= r->len); returns the byte count. */
static size_t drain_all(struct vsbypass_ring *r, char *out)
{
    size_t total = 0;
    const uint8_t *p;
    size_t n;

    while ((n = vsbypass_ring_peek(r, &p)) > 0) {
        memcpy(out + total, p, n);
        total += n;
        vsbypass_ring_consume(r, n);
    }
    return total;
}

struct op {
    char kind;          /* 'p' push text, 'c' consume n, 'x' clear, 0 end */
    const char *text;
    size_t n;
};

static const struct {
    const char *name;
    size_t cap;
    struct op ops[8];
    const char *want;       /* content, oldest first */
    uint64_t want_dropped;
} cases[] = {
    { "ring_empty", 8, { { 0, NULL, 0 } }, "", 0 },
    { "ring_fits", 8, { { 'p', "abc", 0 }, { 'p', "de", 0 } }, "abcde", 0 },
    { "ring_exact_full", 4, { { 'p', "abcd", 0 } }, "abcd", 0 },
    { "ring_overflow_drops_oldest", 4, { { 'p', "abc", 0 }, { 'p', "de", 0 } }, "bcde", 1 },
    { "ring_oversize_push_keeps_newest", 4, { { 'p', "abcdefghij", 0 } }, "ghij", 6 },
    { "ring_oversize_after_content", 4, { { 'p', "xy", 0 }, { 'p', "abcdef", 0 } }, "cdef", 4 },
    { "ring_wraparound", 5, { { 'p', "abcd", 0 }, { 'c', NULL, 3 }, { 'p', "efgh", 0 } }, "defgh", 0 },
    { "ring_wrap_then_overflow", 5, { { 'p', "abcd", 0 }, { 'c', NULL, 2 }, { 'p', "efghij", 0 } }, "fghij", 3 },
    { "ring_consume_more_than_held", 8, { { 'p', "ab", 0 }, { 'c', NULL, 100 }, { 'p', "z", 0 } }, "z", 0 },
    { "ring_clear_keeps_drop_count", 2, { { 'p', "abc", 0 }, { 'x', NULL, 0 }, { 'p', "q", 0 } }, "q", 1 },
    { "ring_cap1", 1, { { 'p', "ab", 0 }, { 'p', "c", 0 } }, "c", 2 },
    { "ring_zero_length_push", 3, { { 'p', "", 0 }, { 'p', "a", 0 } }, "a", 0 },
};

static void run_case(size_t i)
{
    struct vsbypass_ring r;
    char out[64];
    size_t got;
    int rc = vsbypass_ring_init(&r, cases[i].cap);

    if (rc != 0) {
        unit_check(cases[i].name, 0, "init: %d", rc);
        return;
    }
    for (const struct op *o = cases[i].ops; o->kind; o++) {
        if (o->kind == 'p') {
            size_t n = strlen(o->text);
            uint8_t *exact = unit_exact(o->text, n);

            vsbypass_ring_push(&r, exact, n);
            free(exact);
        } else if (o->kind == 'c') {
            vsbypass_ring_consume(&r, o->n);
        } else {
            vsbypass_ring_clear(&r);
        }
    }
    got = drain_all(&r, out);
    out[got] = '\0';
    unit_check(cases[i].name,
               strcmp(out, cases[i].want) == 0 && r.dropped == cases[i].want_dropped,
               "content '%s' dropped %llu, want '%s' dropped %llu", out,
               (unsigned long long)r.dropped, cases[i].want,
               (unsigned long long)cases[i].want_dropped);
    vsbypass_ring_destroy(&r);
}

/* A flood far beyond capacity, in odd-sized pushes: the newest cap bytes survive. */
static void flood(void)
{
    enum { CAP = 4096, TOTAL = 1000003 };
    struct vsbypass_ring r;
    uint8_t chunk[997];
    static char out[CAP];
    size_t pushed = 0, got, bad = 0;
    uint64_t dropped = 0;

    vsbypass_ring_init(&r, CAP);
    while (pushed < TOTAL) {
        size_t n = TOTAL - pushed < sizeof(chunk) ? TOTAL - pushed : sizeof(chunk);

        for (size_t k = 0; k < n; k++) {
            chunk[k] = (uint8_t)((pushed + k) % 251);
        }
        dropped += vsbypass_ring_push(&r, chunk, n);
        pushed += n;
    }
    got = drain_all(&r, out);
    for (size_t k = 0; k < got; k++) {
        if ((uint8_t)out[k] != (uint8_t)((TOTAL - CAP + k) % 251)) {
            bad++;
        }
    }
    unit_check("ring_flood_keeps_newest", got == CAP && bad == 0 &&
               dropped == TOTAL - CAP && r.dropped == dropped,
               "got %zu bytes, %zu wrong, dropped %llu", got, bad,
               (unsigned long long)dropped);
    vsbypass_ring_destroy(&r);
}

/* A ring of cap holding text, its head moved on by skip bytes first (so it wraps). */
static void ring_with(struct vsbypass_ring *r, size_t cap, size_t skip, const char *text)
{
    static const uint8_t filler[16];

    vsbypass_ring_init(r, cap);
    vsbypass_ring_push(r, filler, skip);
    vsbypass_ring_consume(r, skip);
    vsbypass_ring_push(r, (const uint8_t *)text, strlen(text));
}

/*
 * Move from a ring of from_cap holding from_text (head moved on by from_skip)
 * to one of to_cap holding to_text (head moved on by to_skip): to must end as
 * want with want_dropped dropped, from empty with its own drop count kept.
 */
static void check_move(const char *name, size_t to_cap, size_t to_skip, const char *to_text,
                       size_t from_cap, size_t from_skip, const char *from_text,
                       const char *want, size_t want_dropped)
{
    struct vsbypass_ring to, from;
    char out[64];
    size_t dropped, got;

    ring_with(&to, to_cap, to_skip, to_text);
    ring_with(&from, from_cap, from_skip, from_text);
    from.dropped = 7;
    dropped = vsbypass_ring_move(&to, &from);
    got = drain_all(&to, out);
    out[got] = '\0';
    unit_check(name, !strcmp(out, want) && dropped == want_dropped &&
               to.dropped == want_dropped && from.len == 0 && from.dropped == 7,
               "to '%s' dropped %zu/%llu, from len %zu dropped %llu", out, dropped,
               (unsigned long long)to.dropped, from.len, (unsigned long long)from.dropped);
    vsbypass_ring_destroy(&to);
    vsbypass_ring_destroy(&from);
}

static void move_cases(void)
{
    check_move("ring_move_appends_in_order", 8, 6, "abc", 5, 3, "defg", "abcdefg", 0);
    check_move("ring_move_overflow_drops_oldest", 4, 3, "abc", 8, 7, "defgh", "efgh", 4);
    check_move("ring_move_from_empty", 4, 0, "ab", 4, 0, "", "ab", 0);
}

/* Copy out: oldest first across the wrap, bounded by cap, the ring untouched. */
static void copy_out_cases(void)
{
    struct vsbypass_ring r;
    uint8_t *out = unit_exact("--------", 8);
    uint8_t none[1] = { '=' };
    size_t n;

    ring_with(&r, 6, 4, "abcde");
    n = vsbypass_ring_copy_out(&r, out, 8);
    unit_check("ring_copy_out_wraps", n == 5 && !memcmp(out, "abcde---", 8) && r.len == 5,
               "copied %zu '%.8s', ring len %zu", n, (char *)out, r.len);
    memcpy(out, "--------", 8);
    n = vsbypass_ring_copy_out(&r, out, 3);
    unit_check("ring_copy_out_bounded", n == 3 && !memcmp(out, "abc-----", 8),
               "copied %zu '%.8s'", n, (char *)out);
    n = vsbypass_ring_copy_out(&r, none, 0);
    unit_check("ring_copy_out_zero_cap", n == 0 && none[0] == '=', "copied %zu", n);
    vsbypass_ring_clear(&r);
    n = vsbypass_ring_copy_out(&r, none, 1);
    unit_check("ring_copy_out_empty", n == 0 && none[0] == '=', "copied %zu", n);
    vsbypass_ring_destroy(&r);
    free(out);
}

int main(void)
{
    struct vsbypass_ring r;
    const uint8_t *p;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(i);
    }
    flood();
    move_cases();
    copy_out_cases();
    unit_check("ring_init_zero_cap", vsbypass_ring_init(&r, 0) == -EINVAL,
               "cap 0 accepted");
    unit_check("ring_peek_empty", vsbypass_ring_peek(&r, &p) == 0 && p == NULL,
               "peek of an empty ring returned bytes");
    vsbypass_ring_push(&r, (const uint8_t *)"x", 1);
    unit_check("ring_push_zero_cap", r.len == 0, "zero-capacity ring held bytes");
    vsbypass_ring_destroy(&r);
    return unit_exit();
}
