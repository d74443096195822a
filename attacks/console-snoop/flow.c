#include "flow.h"

#include <errno.h>
#include <string.h>

static bool in_range(const struct snoop_flows *t, uint16_t port)
{
    return port >= t->port_lo && port <= t->port_hi;
}

void snoop_flows_init(struct snoop_flows *t, uint16_t port_lo, uint16_t port_hi)
{
    memset(t, 0, sizeof(*t));
    t->port_lo = port_lo;
    t->port_hi = port_hi;
}

static struct snoop_flow *lookup(struct snoop_flows *t, uint32_t caddr, uint16_t cport,
                                 uint32_t saddr, uint16_t sport)
{
    struct snoop_flow *victim = &t->f[0];

    for (size_t i = 0; i < SNOOP_MAX_FLOWS; i++) {
        struct snoop_flow *f = &t->f[i];
        if (f->used && f->client_addr == caddr && f->client_port == cport &&
            f->server_addr == saddr && f->server_port == sport)
            return f;
        if (!f->used ? victim->used : (victim->used && f->last_use < victim->last_use))
            victim = f;
    }
    if (victim->used)
        t->evicted++;
    memset(victim, 0, sizeof(*victim));
    victim->used = true;
    victim->client_addr = caddr;
    victim->client_port = cport;
    victim->server_addr = saddr;
    victim->server_port = sport;
    return victim;
}

int snoop_flows_add(struct snoop_flows *t, const struct snoop_seg *seg,
                    struct snoop_flow **flow, enum snoop_dir *dir,
                    const uint8_t **data, size_t *n)
{
    struct snoop_flow *f;
    enum snoop_dir d;

    if (in_range(t, seg->dport)) {
        d = SNOOP_TO_VM;
        f = lookup(t, seg->saddr, seg->sport, seg->daddr, seg->dport);
    } else if (in_range(t, seg->sport)) {
        d = SNOOP_FROM_VM;
        f = lookup(t, seg->daddr, seg->dport, seg->saddr, seg->sport);
    } else {
        return -ENOENT;
    }
    f->last_use = ++t->clock;

    struct snoop_half *h = &f->half[d];
    uint32_t seq = seg->seq;
    const uint8_t *p = seg->payload;
    size_t len = seg->payload_len;

    if (seg->flags & SNOOP_TCP_SYN) {
        if (d == SNOOP_TO_VM) {         /* a new connection on this 4-tuple */
            memset(f->half, 0, sizeof(f->half));
            f->match_state = 0;
        }
        h->synced = true;
        h->next_seq = seq + 1;          /* SYN occupies one sequence number */
        seq++;
    }
    if (!h->synced) {
        h->synced = true;
        h->next_seq = seq;
    }

    *flow = f;
    *dir = d;
    *data = p;
    *n = 0;
    if (len == 0)               /* SYN, ACK, FIN: no bytes (a FIN's sequence number is never followed) */
        return 0;

    /* Serial-number arithmetic (RFC 1982): how far the segment starts past next_seq. */
    int32_t ahead = (int32_t)(seq - h->next_seq);
    if (ahead > 0) {
        h->gaps++;
    } else {
        size_t old = (size_t)-(int64_t)ahead;
        if (old >= len)                 /* nothing new: a retransmission */
            return 0;
        p += old;
        len -= old;
    }
    h->next_seq = seq + (uint32_t)(p - seg->payload) + (uint32_t)len;
    h->bytes += len;
    *data = p;
    *n = len;
    return 0;
}
