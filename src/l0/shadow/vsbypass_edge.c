/* Interrupt-line decisions of a shadow UART (see vsbypass_edge.h). Pure. */
#include "vsbypass_edge.h"

void vsbypass_edge_init(struct vsbypass_edge *e)
{
    *e = (struct vsbypass_edge){ .sent = -1 };
}

/* A rise L1 has not heard of: nothing sent yet, a 0 last, or a fall since. */
static bool vsb_edge_rise_unsent(const struct vsbypass_edge *e)
{
    return e->sent != 1 || e->fell;
}

enum vsbypass_edge_action vsbypass_edge_line(struct vsbypass_edge *e, int level,
                                             bool may_wait)
{
    if (!level) {
        e->fell = true;
        if (e->waiting) {
            e->waiting = false;
            e->dropped++;
            return VSB_EDGE_STOP_WAIT;
        }
        return VSB_EDGE_NONE;
    }
    if (!vsb_edge_rise_unsent(e)) {
        return VSB_EDGE_NONE;
    }
    if (may_wait) {
        if (e->waiting) {
            return VSB_EDGE_NONE;
        }
        e->waiting = true;
        e->deferred++;
        return VSB_EDGE_START_WAIT;
    }
    return VSB_EDGE_SEND_RISE;
}

enum vsbypass_edge_action vsbypass_edge_expired(struct vsbypass_edge *e, int level)
{
    if (!e->waiting) {
        return VSB_EDGE_NONE;           /* sent or dropped since it was armed */
    }
    e->waiting = false;
    return level && vsb_edge_rise_unsent(e) ? VSB_EDGE_SEND_RISE : VSB_EDGE_NONE;
}

void vsbypass_edge_sent(struct vsbypass_edge *e, int level)
{
    e->sent = level ? 1 : 0;
    e->waiting = false;
    if (level) {
        e->fell = false;
    }
}
