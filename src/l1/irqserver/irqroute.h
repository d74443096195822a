/*
 * Interrupt routing in the L1 interrupt server (VSBypass): which injector
 * gets a message, the latest line levels per user VM, stale and duplicate
 * messages, and the edges the injector must see. Pure (no syscalls); the
 * daemon (irqserver.c) owns sockets, this owns decisions. Unit-tested.
 *
 * Levels. L0's shadow 16550 sends the changes of its interrupt output; the
 * user VM's in-kernel PIC/IOAPIC takes ISA IRQs edge-triggered, so a rising
 * edge is what raises an interrupt. A level-1 message while the line is
 * already high means a falling edge was lost on the way (UDP): it is handed on
 * as the pulse 0,1 so the edge is not lost too. A level-0 message on a low line
 * changes nothing.
 *
 * Sequence numbers. A message whose sequence number is at most the last one
 * accepted for its tag, and less than IRQROUTE_STALE_WINDOW behind it, is a
 * duplicate or reordered datagram and is dropped. A jump further back is taken
 * as a sender that started again (a VM tag reused by a new L0 binding). The
 * sequence numbers of one tag need only increase: a sender may number all its
 * tags from one counter.
 *
 * Unknown tags. A message for a tag with no injector registered is kept (its
 * level becomes the tag's current level, handed to the injector when it
 * registers) and counted as undelivered; the first one per tag asks the caller
 * to log it.
 */
#ifndef NVSEC_IRQROUTE_H
#define NVSEC_IRQROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "../../common/ultracall_abi.h"

#define IRQROUTE_MAX_TAGS 64
#define IRQROUTE_MAX_IRQ 24             /* IOAPIC pins 0..23: KVM_IRQ_LINE's GSIs on x86 */
#define IRQROUTE_STALE_WINDOW 4096u
#define IRQROUTE_NO_CLIENT (-1)

struct irqroute_entry {
    bool used;
    char tag[ULTRACALL_VMTAG_SIZE];     /* NUL-padded, checked by ultracall_vmtag_check */
    int client;                         /* the caller's injector id, or IRQROUTE_NO_CLIENT */
    bool have_seq;
    uint64_t last_seq;
    uint32_t known;                     /* bit i: level of irq i known */
    uint32_t level;                     /* bit i: irq i high */
    bool logged_undelivered;
    uint64_t delivered, undelivered, stale;
    uint64_t last_use;
};

struct irqroute {
    struct irqroute_entry e[IRQROUTE_MAX_TAGS];
    uint64_t clock;
};

struct irqroute_event {
    uint32_t irq;
    uint8_t level;
};

/* What to do with one message: send ev[0..n) to client, in order. */
struct irqroute_result {
    int client;                         /* IRQROUTE_NO_CLIENT: nobody to send to */
    bool log_undelivered;               /* first undelivered message for this tag */
    unsigned n;
    struct irqroute_event ev[2];
};

void irqroute_init(struct irqroute *r);

/*
 * Route one decoded message. Returns 0 with *res filled; -EINVAL for a bad tag,
 * irq >= IRQROUTE_MAX_IRQ or level > 1; -EALREADY for a stale or duplicate
 * message; -ENOSPC when the tag is new and every slot belongs to a registered
 * injector. Only a return of 0 changes state.
 */
int irqroute_msg(struct irqroute *r, const char tag[ULTRACALL_VMTAG_SIZE], uint64_t seq,
                 uint32_t irq, uint32_t level, struct irqroute_result *res);

/*
 * Register injector `client` (>= 0) for tag. ev[0..*n) are the tag's known
 * levels, to send first. One injector per tag: while another holds it, the
 * call fails with -EBUSY and changes nothing (the caller keeps the newcomer
 * waiting and registers it when the holder leaves; two QEMUs that each take
 * the tag from the other would flap forever). Registering the holder again is
 * a no-op that returns the levels. Returns 0, -EINVAL bad tag or client,
 * -EBUSY held by another, -ENOSPC table full.
 */
int irqroute_register(struct irqroute *r, const char tag[ULTRACALL_VMTAG_SIZE], int client,
                      struct irqroute_event ev[IRQROUTE_MAX_IRQ], unsigned *n);

/* Forget injector `client` (its tag keeps its levels). No-op if unknown. */
void irqroute_unregister(struct irqroute *r, int client);

/* The entry that holds tag, or NULL. */
const struct irqroute_entry *irqroute_find(const struct irqroute *r,
                                           const char tag[ULTRACALL_VMTAG_SIZE]);

#endif
