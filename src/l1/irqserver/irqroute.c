#include "irqroute.h"

#include <errno.h>
#include <string.h>

void irqroute_init(struct irqroute *r)
{
    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < IRQROUTE_MAX_TAGS; i++)
        r->e[i].client = IRQROUTE_NO_CLIENT;
}

static struct irqroute_entry *find(struct irqroute *r, const char tag[ULTRACALL_VMTAG_SIZE])
{
    for (size_t i = 0; i < IRQROUTE_MAX_TAGS; i++)
        if (r->e[i].used && !memcmp(r->e[i].tag, tag, ULTRACALL_VMTAG_SIZE))
            return &r->e[i];
    return NULL;
}

const struct irqroute_entry *irqroute_find(const struct irqroute *r,
                                           const char tag[ULTRACALL_VMTAG_SIZE])
{
    return find((struct irqroute *)r, tag);
}

/* The tag's entry, created if new: a free slot, else the least recently used one without an injector. */
static struct irqroute_entry *find_or_add(struct irqroute *r, const char tag[ULTRACALL_VMTAG_SIZE])
{
    struct irqroute_entry *e = find(r, tag), *victim = NULL;

    if (e)
        return e;
    for (size_t i = 0; i < IRQROUTE_MAX_TAGS; i++) {
        e = &r->e[i];
        if (!e->used) {
            victim = e;
            break;
        }
        if (e->client == IRQROUTE_NO_CLIENT && (!victim || e->last_use < victim->last_use))
            victim = e;
    }
    if (!victim)
        return NULL;
    memset(victim, 0, sizeof(*victim));
    victim->used = true;
    victim->client = IRQROUTE_NO_CLIENT;
    memcpy(victim->tag, tag, ULTRACALL_VMTAG_SIZE);
    return victim;
}

int irqroute_msg(struct irqroute *r, const char tag[ULTRACALL_VMTAG_SIZE], uint64_t seq,
                 uint32_t irq, uint32_t level, struct irqroute_result *res)
{
    if (ultracall_vmtag_check(tag) || irq >= IRQROUTE_MAX_IRQ || level > 1)
        return -EINVAL;

    struct irqroute_entry *e = find(r, tag);
    if (e && e->have_seq) {
        uint64_t behind = e->last_seq - seq;    /* modulo 2^64 (RFC 1982 serial numbers) */
        if (behind < IRQROUTE_STALE_WINDOW) {
            e->stale++;
            return -EALREADY;
        }
    }
    if (!e && !(e = find_or_add(r, tag)))
        return -ENOSPC;

    uint32_t bit = 1u << irq;
    bool was_known = e->known & bit, was_high = e->level & bit;
    memset(res, 0, sizeof(*res));
    if (level && was_known && was_high)
        res->ev[res->n++] = (struct irqroute_event){ irq, 0 };  /* the lost falling edge */
    if (level || !was_known || was_high)
        res->ev[res->n++] = (struct irqroute_event){ irq, (uint8_t)level };

    e->have_seq = true;
    e->last_seq = seq;
    e->known |= bit;
    e->level = level ? e->level | bit : e->level & ~bit;
    e->last_use = ++r->clock;
    res->client = e->client;
    if (e->client == IRQROUTE_NO_CLIENT) {
        e->undelivered++;
        res->log_undelivered = !e->logged_undelivered;
        e->logged_undelivered = true;
    } else {
        e->delivered++;
    }
    return 0;
}

int irqroute_register(struct irqroute *r, const char tag[ULTRACALL_VMTAG_SIZE], int client,
                      struct irqroute_event ev[IRQROUTE_MAX_IRQ], unsigned *n)
{
    if (ultracall_vmtag_check(tag) || client < 0)
        return -EINVAL;
    struct irqroute_entry *e = find_or_add(r, tag);
    if (!e)
        return -ENOSPC;
    if (e->client != IRQROUTE_NO_CLIENT && e->client != client)
        return -EBUSY;
    e->client = client;
    e->last_use = ++r->clock;
    *n = 0;
    for (uint32_t irq = 0; irq < IRQROUTE_MAX_IRQ; irq++)
        if (e->known & (1u << irq))
            ev[(*n)++] = (struct irqroute_event){ irq, (uint8_t)!!(e->level & (1u << irq)) };
    return 0;
}

void irqroute_unregister(struct irqroute *r, int client)
{
    if (client < 0)
        return;
    for (size_t i = 0; i < IRQROUTE_MAX_TAGS; i++)
        if (r->e[i].used && r->e[i].client == client)
            r->e[i].client = IRQROUTE_NO_CLIENT;
}
