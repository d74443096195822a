/* sources: src/l1/irqserver/irqroute.c */
/*
 * Interrupt routing decisions: unknown tags, late registration, stale and
 * duplicate sequence numbers (wrap-around, sender restart), lost falling
 * edges, bad input leaving state alone, one injector per tag, a full table.
 * Each case is a script of steps run on a fresh table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../../src/l1/irqserver/irqroute.h"

enum op { MSG, REG, UNREG, END };

struct step {
    enum op op;
    const char *tag;
    uint64_t seq;               /* MSG */
    uint32_t irq, level;        /* MSG */
    int client;                 /* REG, UNREG; for MSG: expected res.client */
    int rc;                     /* expected return */
    const char *ev;             /* expected events "irq:level,..." ("" none); NULL: do not check */
    int log;                    /* MSG: expected log_undelivered (0/1), -1 do not check */
};

struct rcase {
    const char *name;
    struct step steps[12];
};

#define NC IRQROUTE_NO_CLIENT
static const struct rcase cases[] = {
    { "unknown_tag_kept_and_logged_once", {
        { MSG, "vm0", 1, 4, 1, NC, 0, "4:1", 1 },
        { MSG, "vm0", 2, 4, 0, NC, 0, "4:0", 0 },
        { MSG, "vm0", 3, 4, 1, NC, 0, "4:1", 0 },
        { .op = END } } },
    { "late_injector_gets_current_level", {
        { MSG, "vm0", 1, 4, 1, NC, 0, "4:1", 1 },
        { REG, "vm0", 0, 0, 0, 5, 0, "4:1", 0 },
        { MSG, "vm0", 2, 4, 0, 5, 0, "4:0", 0 },
        { .op = END } } },
    { "register_before_any_message", {
        { REG, "vm1", 0, 0, 0, 2, 0, "", 0 },
        { MSG, "vm1", 7, 4, 1, 2, 0, "4:1", 0 },
        { .op = END } } },
    { "duplicate_and_older_seq_dropped", {
        { REG, "vm0", 0, 0, 0, 1, 0, "", 0 },
        { MSG, "vm0", 10, 4, 1, 1, 0, "4:1", 0 },
        { MSG, "vm0", 10, 4, 1, 0, -EALREADY, NULL, -1 },
        { MSG, "vm0", 9, 4, 0, 0, -EALREADY, NULL, -1 },
        { MSG, "vm0", (uint64_t)10 - IRQROUTE_STALE_WINDOW + 1, 4, 0, 0, -EALREADY, NULL, -1 },
        { MSG, "vm0", 12, 4, 0, 1, 0, "4:0", 0 },
        { MSG, "vm0", (uint64_t)12 - IRQROUTE_STALE_WINDOW, 4, 1, 1, 0, "4:1", 0 },
        { .op = END } } },
    { "sender_restart_far_behind_accepted", {
        { MSG, "vm0", 100000, 4, 1, NC, 0, "4:1", 1 },
        { MSG, "vm0", 1, 4, 0, NC, 0, "4:0", 0 },
        { .op = END } } },
    { "seq_wraps_around", {
        { MSG, "vm0", UINT64_MAX, 4, 1, NC, 0, "4:1", 1 },
        { MSG, "vm0", 0, 4, 0, NC, 0, "4:0", 0 },
        { MSG, "vm0", UINT64_MAX, 4, 1, 0, -EALREADY, NULL, -1 },
        { .op = END } } },
    { "seq_is_per_tag", {
        { MSG, "vm0", 5, 4, 1, NC, 0, "4:1", 1 },
        { MSG, "vm1", 3, 4, 1, NC, 0, "4:1", 1 },
        { .op = END } } },
    { "lost_falling_edge_becomes_pulse", {
        { REG, "vm0", 0, 0, 0, 3, 0, "", 0 },
        { MSG, "vm0", 1, 4, 1, 3, 0, "4:1", 0 },
        { MSG, "vm0", 3, 4, 1, 3, 0, "4:0,4:1", 0 },
        { .op = END } } },
    { "low_on_low_line_sends_nothing", {
        { REG, "vm0", 0, 0, 0, 3, 0, "", 0 },
        { MSG, "vm0", 1, 4, 0, 3, 0, "4:0", 0 },
        { MSG, "vm0", 2, 4, 0, 3, 0, "", 0 },
        { .op = END } } },
    { "bad_input_changes_nothing", {
        { MSG, "vm0", 1, 4, 1, NC, 0, "4:1", 1 },
        { MSG, "vm0", 2, IRQROUTE_MAX_IRQ, 1, 0, -EINVAL, NULL, -1 },
        { MSG, "vm0", 2, 4, 2, 0, -EINVAL, NULL, -1 },
        { MSG, "VM0", 2, 4, 0, 0, -EINVAL, NULL, -1 },
        { MSG, "", 2, 4, 0, 0, -EINVAL, NULL, -1 },
        { REG, "vm0", 0, 0, 0, 1, 0, "4:1", 0 },
        { MSG, "vm0", 2, 4, 0, 1, 0, "4:0", 0 },
        { .op = END } } },
    { "second_injector_busy_until_first_leaves", {
        { REG, "vm0", 0, 0, 0, 1, 0, "", 0 },
        { REG, "vm0", 0, 0, 0, 2, -EBUSY, NULL, 0 },
        { MSG, "vm0", 1, 4, 1, 1, 0, "4:1", 0 },
        { REG, "vm0", 0, 0, 0, 1, 0, "4:1", 0 },
        { UNREG, NULL, 0, 0, 0, 1, 0, NULL, 0 },
        { REG, "vm0", 0, 0, 0, 2, 0, "4:1", 0 },
        { MSG, "vm0", 2, 4, 0, 2, 0, "4:0", 0 },
        { .op = END } } },
    { "unregistered_tag_undelivered_again", {
        { REG, "vm0", 0, 0, 0, 1, 0, "", 0 },
        { MSG, "vm0", 1, 4, 1, 1, 0, "4:1", 0 },
        { UNREG, NULL, 0, 0, 0, 1, 0, NULL, 0 },
        { MSG, "vm0", 2, 4, 0, NC, 0, "4:0", 1 },
        { .op = END } } },
    { "several_lines_per_tag_in_irq_order", {
        { MSG, "vm0", 1, 4, 1, NC, 0, "4:1", 1 },
        { MSG, "vm0", 2, 3, 1, NC, 0, "3:1", 0 },
        { MSG, "vm0", 3, 3, 0, NC, 0, "3:0", 0 },
        { REG, "vm0", 0, 0, 0, 9, 0, "3:0,4:1", 0 },
        { .op = END } } },
    { "bad_register_refused", {
        { REG, "Vm0", 0, 0, 0, 1, -EINVAL, NULL, 0 },
        { REG, "vm0", 0, 0, 0, -1, -EINVAL, NULL, 0 },
        { .op = END } } },
};

static void fmt_events(char *out, size_t len, const struct irqroute_event *ev, unsigned n)
{
    size_t off = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < n && off < len; i++)
        off += (size_t)snprintf(out + off, len - off, "%s%u:%u", i ? "," : "", ev[i].irq, ev[i].level);
}

static void field(char out[ULTRACALL_VMTAG_SIZE], const char *tag)
{
    memset(out, 0, ULTRACALL_VMTAG_SIZE);
    strncpy(out, tag, ULTRACALL_VMTAG_SIZE - 1);
}

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

static void run_case(const struct rcase *c)
{
    static struct irqroute r;
    char err[256] = "", evs[128], tag[ULTRACALL_VMTAG_SIZE];
    irqroute_init(&r);
    for (int i = 0; c->steps[i].op != END && !err[0]; i++) {
        const struct step *s = &c->steps[i];
        if (s->op == MSG) {
            struct irqroute_result res;
            field(tag, s->tag);
            int rc = irqroute_msg(&r, tag, s->seq, s->irq, s->level, &res);
            if (rc != s->rc) {
                snprintf(err, sizeof(err), "step %d: rc %d, want %d", i, rc, s->rc);
                break;
            }
            if (rc < 0)
                continue;
            fmt_events(evs, sizeof(evs), res.ev, res.n);
            if (res.client != s->client)
                snprintf(err, sizeof(err), "step %d: client %d, want %d", i, res.client, s->client);
            else if (s->ev && strcmp(evs, s->ev))
                snprintf(err, sizeof(err), "step %d: events '%s', want '%s'", i, evs, s->ev);
            else if (s->log >= 0 && res.log_undelivered != (s->log == 1))
                snprintf(err, sizeof(err), "step %d: log_undelivered %d, want %d", i, res.log_undelivered, s->log);
        } else if (s->op == REG) {
            struct irqroute_event ev[IRQROUTE_MAX_IRQ];
            unsigned n = 0;
            field(tag, s->tag);
            int rc = irqroute_register(&r, tag, s->client, ev, &n);
            if (rc != s->rc) {
                snprintf(err, sizeof(err), "step %d: register rc %d, want %d", i, rc, s->rc);
                break;
            }
            if (rc < 0)
                continue;
            fmt_events(evs, sizeof(evs), ev, n);
            if (s->ev && strcmp(evs, s->ev))
                snprintf(err, sizeof(err), "step %d: levels '%s', want '%s'", i, evs, s->ev);
        } else {
            irqroute_unregister(&r, s->client);
        }
    }
    report(c->name, err[0] ? err : NULL);
}

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);

    /* A full table: tags without an injector are evicted least recently used first. */
    {
        static struct irqroute r;
        struct irqroute_result res;
        struct irqroute_event ev[IRQROUTE_MAX_IRQ];
        char tag[ULTRACALL_VMTAG_SIZE], err[128] = "";
        unsigned n;
        irqroute_init(&r);
        for (int i = 0; i < IRQROUTE_MAX_TAGS; i++) {
            char name[16];
            snprintf(name, sizeof(name), "t%d", i);
            field(tag, name);
            if (i > 0)
                irqroute_register(&r, tag, i, ev, &n);
            else
                irqroute_msg(&r, tag, 1, 4, 1, &res);
        }
        field(tag, "newcomer");
        int rc = irqroute_msg(&r, tag, 1, 4, 1, &res);
        field(tag, "t0");
        if (rc != 0)
            snprintf(err, sizeof(err), "newcomer rc %d with one evictable entry", rc);
        else if (irqroute_find(&r, tag))
            snprintf(err, sizeof(err), "t0 (no injector) was not the one evicted");
        field(tag, "another");
        if (!err[0] && (rc = irqroute_msg(&r, tag, 1, 4, 1, &res)) != 0)
            snprintf(err, sizeof(err), "second newcomer rc %d, newcomer has no injector", rc);
        field(tag, "another");
        irqroute_register(&r, tag, 100, ev, &n);
        field(tag, "third");
        if (!err[0] && (rc = irqroute_msg(&r, tag, 1, 4, 1, &res)) != -ENOSPC)
            snprintf(err, sizeof(err), "all slots registered: rc %d, want -ENOSPC", rc);
        if (!err[0] && irqroute_register(&r, tag, 200, ev, &n) != -ENOSPC)
            snprintf(err, sizeof(err), "register into a full table did not fail");
        report("full_table_evicts_only_unregistered", err[0] ? err : NULL);
    }
    return failures ? 1 : 0;
}
