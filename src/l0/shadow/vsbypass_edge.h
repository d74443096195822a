/*
 * What L0 tells L1 about one shadow UART's interrupt line (VSBypass): the
 * decisions of vsbypass_irq.c, pure so the host unit tests can drive them.
 *
 * COM1 is an ISA interrupt, edge-triggered in the user VM's PIC and IOAPIC:
 * only a rise makes it interrupt, and its handler reads the UART until
 * nothing is pending. So a fall is never sent; it only marks that the next
 * rise must be (L1's interrupt server injects "1 while high" as a fresh
 * edge, irqroute.c). A user VM that programs its COM1 pin level-triggered
 * sees the line stay high: interrupts of its own making, at its own cost.
 *
 * A rise at the end of a guest write of the transmit register may be
 * deferred, until L1 next runs or the caller's timer ends the wait: it is
 * dropped if the line falls first, and sent at the end of the wait if the
 * line is still high. The case is Linux's 8250 handler under an output
 * flood: each pass reads IIR (the line falls), refills the 16-byte FIFO
 * (QEMU's 16550 sends each byte at once, so every write leaves it empty
 * and the line high) and reads IIR again.
 * Sent at once, every pass cost L1 a message, a wake-up of its server and
 * of the VM's injector, and the user VM an exit to L1, for an edge its
 * handler was about to see by reading IIR. Any other rise is sent at once:
 * input arriving, the UART's own timers, and the write of IER with which
 * the driver starts a transmission (an echo's latency). No edge the guest
 * needs is lost, only moved: what it misses is an interrupt for a cause it
 * has already read, the one a real 16550 would have raised before the read.
 */
#ifndef NVSEC_VSBYPASS_EDGE_H
#define NVSEC_VSBYPASS_EDGE_H

#include <stdbool.h>
#include <stdint.h>

struct vsbypass_edge {
    int sent;                   /* last level sent to L1, -1 if none */
    bool fell;                  /* the line fell since a 1 was sent */
    bool waiting;               /* a deferred rise waits for its timer */
    uint64_t deferred;          /* rises deferred */
    uint64_t dropped;           /* of them, dropped because the line fell */
};

enum vsbypass_edge_action {
    VSB_EDGE_NONE,              /* nothing to send or to time */
    VSB_EDGE_SEND_RISE,         /* send a 1 now, then vsbypass_edge_sent() */
    VSB_EDGE_START_WAIT,        /* arm the deferral timer */
    VSB_EDGE_STOP_WAIT,         /* disarm it: the rise is dropped */
};

void vsbypass_edge_init(struct vsbypass_edge *e);

/*
 * The line is at level (0 or 1) after it changed, or at the end of a guest
 * access; may_wait: a rise now may be deferred (the caller allows it for
 * the end of a guest write of the transmit register). What the caller must
 * do; e is updated as if it did.
 */
enum vsbypass_edge_action vsbypass_edge_line(struct vsbypass_edge *e, int level,
                                             bool may_wait);

/* The deferral timer fired with the line at level. */
enum vsbypass_edge_action vsbypass_edge_expired(struct vsbypass_edge *e, int level);

/* A message with level went to L1 (any path: a rise, tagging, retire); no wait remains. */
void vsbypass_edge_sent(struct vsbypass_edge *e, int level);

#endif
