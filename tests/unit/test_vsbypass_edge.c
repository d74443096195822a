/* sources: src/l0/shadow/vsbypass_edge.c */
/*
 * What L0 tells L1 of a shadow UART's line (vsbypass_edge.c): each case is a
 * script of line events, played against a model of the caller (its deferral
 * timer armed or not, the messages it sends), and the actions expected.
 *
 * Events: u/d  the line rises/falls: any change but the two below
 *         U/D  a guest write of the transmit register ends with the line
 *              high/low (a rise there may wait)
 *         T    the deferral timer fires (only while armed, as QEMU's does)
 *         F    the timer callback runs although disarmed (a stale firing)
 *         z    a 0 goes to L1 by another path (tagging, retire)
 * Actions: S a rise sent, W wait started, X wait stopped (rise dropped),
 *          . nothing
 */
#include <stdbool.h>
#include <string.h>

#include "unit.h"
#include "vsbypass_edge.h"

struct model {
    struct vsbypass_edge e;
    int level;
    bool armed;
    bool defer;
    unsigned sent_rises;
};

static char model_act(struct model *m, enum vsbypass_edge_action a)
{
    switch (a) {
    case VSB_EDGE_SEND_RISE:
        m->armed = false;               /* no wait remains */
        vsbypass_edge_sent(&m->e, 1);
        m->sent_rises++;
        return 'S';
    case VSB_EDGE_START_WAIT:
        m->armed = true;
        return 'W';
    case VSB_EDGE_STOP_WAIT:
        m->armed = false;
        return 'X';
    case VSB_EDGE_NONE:
        return '.';
    }
    return '?';
}

/* Play script; out gets one action per event that ran. */
static void model_play(struct model *m, const char *script, char *out)
{
    size_t n = 0;

    for (const char *c = script; *c; c++) {
        char got = '?';

        switch (*c) {
        case 'u': case 'd': case 'U': case 'D':
            m->level = *c == 'u' || *c == 'U';
            got = model_act(m, vsbypass_edge_line(&m->e, m->level,
                                                  (*c == 'U' || *c == 'D') && m->defer));
            break;
        case 'T':
            if (!m->armed) {
                continue;
            }
            m->armed = false;
            got = model_act(m, vsbypass_edge_expired(&m->e, m->level));
            break;
        case 'F':
            got = model_act(m, vsbypass_edge_expired(&m->e, m->level));
            break;
        case 'z':
            m->armed = false;
            vsbypass_edge_sent(&m->e, 0);
            got = '.';
            break;
        }
        out[n++] = got;
    }
    out[n] = '\0';
}

static const struct {
    const char *name;
    bool defer;
    const char *script;
    const char *want;
    unsigned want_deferred, want_dropped;
} cases[] = {
    { "edge_first_rise_outside_access_sent", true, "u", "S", 0, 0 },
    { "edge_fall_not_sent_next_rise_is", true, "udu", "S.S", 0, 0 },
    { "edge_high_line_again_nothing", true, "uU", "S.", 0, 0 },
    { "edge_access_rise_waits_then_sent", true, "UT", "WS", 1, 0 },
    { "edge_access_rise_dropped_when_guest_lowers", true, "UD", "WX", 1, 1 },
    { "edge_flood_passes_cost_no_message", true, "UDUDUDUD", "WXWXWXWX", 4, 4 },
    { "edge_flood_then_refill_sent_once", true, "UDUDUT", "WXWXWS", 3, 2 },
    { "edge_fall_outside_access_drops_wait", true, "Ud", "WX", 1, 1 },
    { "edge_rise_outside_access_while_waiting_sent", true, "Uu", "WS", 1, 0 },
    { "edge_second_access_rise_keeps_one_wait", true, "UUT", "W.S", 1, 0 },
    { "edge_stale_firing_after_drop_nothing", true, "UDF", "WX.", 1, 1 },
    { "edge_stale_firing_after_send_nothing", true, "UTF", "WS.", 1, 0 },
    { "edge_sent_rise_then_access_high_nothing", true, "UTUU", "WS..", 1, 0 },
    { "edge_zero_message_then_rise_waits", true, "uzUT", "S.WS", 1, 0 },
    { "edge_defer_off_access_rise_sent", false, "UDU", "S.S", 0, 0 },
    { "edge_defer_off_never_waits", false, "UUDUT", "S..S", 0, 0 },
    { "edge_low_line_at_access_end_nothing", true, "DD", "..", 0, 0 },
};

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct model m = { .defer = cases[i].defer };
        char got[32];

        vsbypass_edge_init(&m.e);
        model_play(&m, cases[i].script, got);
        unit_check(cases[i].name,
                   !strcmp(got, cases[i].want) && m.e.deferred == cases[i].want_deferred &&
                   m.e.dropped == cases[i].want_dropped,
                   "script %s: actions %s (want %s), deferred %llu (want %u), dropped %llu (want %u)",
                   cases[i].script, got, cases[i].want, (unsigned long long)m.e.deferred,
                   cases[i].want_deferred, (unsigned long long)m.e.dropped, cases[i].want_dropped);
    }
    {
        /* The whole point, counted: a 4 KiB burst in 16-byte passes, one rise sent. */
        struct model m = { .defer = true };
        char got[2 * 256 + 2];
        char script[2 * 256 + 2];
        size_t n = 0;

        vsbypass_edge_init(&m.e);
        for (int pass = 0; pass < 256; pass++) {
            script[n++] = 'U';
            script[n++] = pass < 255 ? 'D' : 'T';
        }
        script[n] = '\0';
        model_play(&m, script, got);
        unit_check("edge_4k_burst_one_message", m.sent_rises == 1 && m.e.dropped == 255,
                   "%u rises sent, %llu dropped", m.sent_rises, (unsigned long long)m.e.dropped);
    }
    return unit_exit();
}
