/*
 * Interrupt forwarding (papers/000 sec. 4.3): each rise of a shadow UART's
 * IRQ line (falls are not sent, see vsbypass_edge.h) becomes an irqmsg
 * (src/common/irqmsg.h) to L1's interrupt server, which injects it into the
 * user VM named by the tag. Two transports:
 *  - net:   a UDP datagram to 127.0.0.1:irq-port from L0's process; L0's
 *           user-mode network forwards that port into L1 (hostfwd=udp:...),
 *           as the paper sends over the network;
 *  - vport: the same bytes pushed into a chardev of ours that backs a
 *           virtio-serial port of L1 (org.nvsec.irq), bypassing L1's network
 *           stack (the paper's future work, sec. 7).
 * A VM without a tag cannot be routed: its level is kept and sent as soon as
 * the tag is set (vsbypass_vmtag_set). Everything here runs under the BQL.
 *
 * vport flow control: L1 takes bytes only as fast as its reader frees port
 * buffers (each message fills a whole one), far slower than a UART flood
 * toggles its line (two edges per FIFO of output). A queue of every edge
 * overflowed and dropped messages; a dropped rising edge left the user VM's
 * line low in L1 while the shadow UART's was high, so the VM never got
 * another THRE interrupt and its output stalled for good. So the vport
 * keeps, per tag, only the latest level not yet sent (VsbIrqPending) and
 * encodes it when the port has room: lossless, bounded by the number of
 * VMs. Merging keeps what the VM needs: a final 1 after a 1 sent earlier
 * reaches L1 as "1 while high", which the interrupt server injects as a
 * fresh edge (irqroute.c). A 0 is sent only when a VM is tagged (its level
 * then) and when its device is retired.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "chardev/char.h"
#include "chardev/char-fe.h"
#include "qemu/timer.h"

#include "core/nvsec_log.h"
#include "irqmsg.h"
#include "shadow/vsbypass_int.h"

typedef struct VsbIrqChardev {
    Chardev parent;
    VsbState *vsb;
} VsbIrqChardev;

DECLARE_INSTANCE_CHECKER(VsbIrqChardev, VSB_IRQ_CHARDEV, TYPE_CHARDEV_VSBYPASS_IRQ)

/* How soon a port that could not take our bytes is offered them again. */
#define VSB_IRQ_RETRY_NS (1 * SCALE_MS)

/* Encode a message for tag at level into buf; false (logged) if it cannot be. */
static bool vsb_irq_encode(VsbState *v, const char *tag, int level,
                           uint8_t buf[IRQMSG_SIZE])
{
    struct irqmsg m = { .irq = IRQMSG_IRQ_COM1, .level = level };
    int rc;

    memcpy(m.tag, tag, sizeof(m.tag));
    m.seq = v->irq_seq++;
    rc = irqmsg_encode(&m, buf, IRQMSG_SIZE);
    if (rc < 0) {
        nvsec_log("vsbypass", "irq message for %s: %s", tag, strerror(-rc));
        return false;
    }
    return true;
}

/*
 * Hand L1's port what it has buffers for: the rest of the message in
 * progress, then one message per pending tag, oldest first.
 */
static void vsb_irq_flush(VsbState *v)
{
    for (;;) {
        int room;

        if (!v->irq_queue->len) {
            VsbIrqPending p;
            uint8_t buf[IRQMSG_SIZE];

            if (!v->irq_pending->len) {
                return;
            }
            p = g_array_index(v->irq_pending, VsbIrqPending, 0);
            g_array_remove_index(v->irq_pending, 0);
            if (vsb_irq_encode(v, p.tag, p.level, buf)) {
                g_byte_array_append(v->irq_queue, buf, sizeof(buf));
            }
            continue;
        }
        room = qemu_chr_be_can_write(v->irq_chr);
        if (room <= 0) {
            /*
             * chr_accept_input resumes us when L1 adds buffers, but only
             * while virtio-serial sees guest and host connected; the timer
             * covers any other way of getting room back.
             */
            if (!timer_pending(v->irq_retry)) {
                timer_mod(v->irq_retry, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
                          VSB_IRQ_RETRY_NS);
            }
            return;
        }
        room = MIN((guint)room, v->irq_queue->len);
        qemu_chr_be_write(v->irq_chr, v->irq_queue->data, room);
        g_byte_array_remove_range(v->irq_queue, 0, room);
    }
}

/* vport: make level the next thing L1 hears about d's tag. */
static void vsb_irq_post(VsbState *v, VsbDevice *d, int level)
{
    for (guint i = 0; i < v->irq_pending->len; i++) {
        VsbIrqPending *p = &g_array_index(v->irq_pending, VsbIrqPending, i);

        if (!strncmp(p->tag, d->tag, sizeof(p->tag))) {
            p->level = level;
            v->irq_coalesced++;
            return;
        }
    }
    {
        VsbIrqPending p = { .level = level };

        memcpy(p.tag, d->tag, sizeof(p.tag));
        g_array_append_val(v->irq_pending, p);
    }
}

static void vsb_irq_retry(void *opaque)
{
    vsb_irq_flush(opaque);
}

static int vsb_irq_chr_write(Chardev *chr, const uint8_t *buf, int len)
{
    /* L1 -> L0 on this port carries nothing we read. */
    return len;
}

static void vsb_irq_chr_accept_input(Chardev *chr)
{
    VsbState *v = VSB_IRQ_CHARDEV(chr)->vsb;

    if (v) {
        vsb_irq_flush(v);
    }
}

void vsbypass_irq_send(VsbDevice *d, int level)
{
    VsbState *v = d->vsb;
    struct sockaddr_in dst = {
        .sin_family = AF_INET,
        .sin_port = htons(v->irq_port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    uint8_t buf[IRQMSG_SIZE];

    /* Whatever waited is what this message says, or moot (the timer finds so). */
    vsbypass_edge_sent(&d->edge, level);
    switch (v->irq_transport) {
    case VSB_IRQ_NET:
        if (!vsb_irq_encode(v, d->tag, level, buf)) {
            break;
        }
        if (sendto(v->irq_fd, buf, sizeof(buf), MSG_DONTWAIT,
                   (struct sockaddr *)&dst, sizeof(dst)) < 0) {
            nvsec_log("vsbypass", "irq message to 127.0.0.1:%u: %s",
                      v->irq_port, strerror(errno));
        }
        break;
    case VSB_IRQ_VPORT:
        vsb_irq_post(v, d, level);
        vsb_irq_flush(v);
        break;
    default:
        break;
    }
}

/* d leaves the waiters that L1's next turn to run sends (vsbypass_vmexit). */
static void vsb_irq_delist(VsbDevice *d)
{
    if (d->irq_listed) {
        g_ptr_array_remove_fast(d->vsb->irq_waiters, d);
        qatomic_dec(&d->vsb->irq_nwaiters);
        d->irq_listed = false;
    }
}

static void vsb_irq_act(VsbDevice *d, enum vsbypass_edge_action a)
{
    switch (a) {
    case VSB_EDGE_SEND_RISE:
        vsbypass_irq_send(d, 1);
        break;
    case VSB_EDGE_START_WAIT:
        /*
         * Sent by whichever comes first: L1's next turn to run
         * (vsbypass_vmexit), or the timer. A pending timer is left as it is
         * and re-armed when it fires early: a flood starts a wait per FIFO,
         * and every timer_mod of an earlier deadline wakes L0's main loop.
         */
        d->irq_wait_since = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
        if (!timer_pending(d->irq_defer)) {
            timer_mod(d->irq_defer, d->irq_wait_since +
                      (int64_t)d->vsb->irq_defer_us * SCALE_US);
        }
        if (!d->irq_listed) {
            d->irq_listed = true;
            g_ptr_array_add(d->vsb->irq_waiters, d);
            qatomic_inc(&d->vsb->irq_nwaiters);
        }
        break;
    case VSB_EDGE_STOP_WAIT:
        /*
         * Listed, a dropped wait would still make the next #VMEXIT take
         * QEMU's big lock for nothing (an echo drops one). Its timer stays:
         * disarming it would make the next wait's timer_mod wake the main loop.
         */
        vsb_irq_delist(d);
        break;
    case VSB_EDGE_NONE:
        break;
    }
}

/*
 * Tell L1 what it must hear of d's line (vsbypass_edge.h), where a rise
 * may wait (may_wait) irq-defer-us for the guest to lower the line itself.
 */
static void vsb_irq_forward(VsbDevice *d, bool may_wait)
{
    if (!d->tag[0]) {
        return;
    }
    vsb_irq_act(d, vsbypass_edge_line(&d->edge, d->irq_level,
                                      may_wait && d->vsb->irq_defer_us > 0));
}

static void vsb_irq_defer_expired(void *opaque)
{
    VsbDevice *d = opaque;
    int64_t end = d->irq_wait_since + (int64_t)d->vsb->irq_defer_us * SCALE_US;

    if (!d->edge.waiting) {
        return;                 /* sent or dropped since */
    }
    if (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) < end) {
        timer_mod(d->irq_defer, end);   /* armed for an earlier wait */
        return;
    }
    if (d->tag[0]) {
        vsb_irq_act(d, vsbypass_edge_expired(&d->edge, d->irq_level));
    }
}

void vsbypass_irq_send_waiting(VsbState *v)
{
    for (guint i = 0; i < v->irq_waiters->len; i++) {
        VsbDevice *d = g_ptr_array_index(v->irq_waiters, i);

        d->irq_listed = false;
        if (d->tag[0]) {
            vsb_irq_act(d, vsbypass_edge_expired(&d->edge, d->irq_level));
        }
    }
    g_ptr_array_set_size(v->irq_waiters, 0);
    qatomic_set(&v->irq_nwaiters, 0);
}

void vsbypass_irq_device_init(VsbDevice *d)
{
    vsbypass_edge_init(&d->edge);
    d->irq_defer = timer_new_ns(QEMU_CLOCK_REALTIME, vsb_irq_defer_expired, d);
}

void vsbypass_irq_device_fini(VsbDevice *d)
{
    if (!d->irq_defer) {
        return;
    }
    vsb_irq_delist(d);
    if (d->edge.deferred) {
        nvsec_log("vsbypass", "%s: %" PRIu64 " rises of the line deferred, %" PRIu64
                  " of them dropped after the guest lowered the line",
                  d->tag[0] ? d->tag : "user VM", d->edge.deferred, d->edge.dropped);
    }
    timer_free(d->irq_defer);
    d->irq_defer = NULL;
}

void vsbypass_irq_uart(void *opaque, int n, int level)
{
    VsbDevice *d = opaque;

    /*
     * serial.c re-asserts its line on every register access; forward
     * changes only. Inside a guest access the line may drop and rise again
     * (a read of the receive register empties the FIFO below its trigger
     * level, the input feed refills it): only the level the access leaves
     * counts (vsbypass_irq_settle), since a guest in its handler loops until
     * the UART reports nothing pending. Over --irq net each message is a
     * datagram that may be lost, and a lost rising edge stalls the console.
     */
    level = !!level;
    if (level == d->irq_level) {
        return;
    }
    d->irq_level = level;
    if (!d->irq_hold) {
        vsb_irq_forward(d, false);
    }
}

void vsbypass_irq_settle(VsbDevice *d, bool thr_written)
{
    vsb_irq_forward(d, thr_written);
}

int vsbypass_irq_init(VsbState *v, Error **errp)
{
    v->irq_waiters = g_ptr_array_new();
    switch (v->irq_transport) {
    case VSB_IRQ_NET:
        if (v->irq_port == 0 || v->irq_port > 65535) {
            error_setg(errp, "vsbypass: irq-port must be 1..65535");
            return -EINVAL;
        }
        v->irq_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (v->irq_fd < 0) {
            error_setg_errno(errp, errno, "vsbypass: irq socket");
            return -errno;
        }
        return 0;
    case VSB_IRQ_VPORT:
        if (!v->irq_chardev || !v->irq_chardev[0]) {
            error_setg(errp, "vsbypass: irq=vport needs irq-chardev=ID");
            return -EINVAL;
        }
        /* Ours, created now so that "-device virtserialport,chardev=ID" finds it. */
        v->irq_chr = qemu_chardev_new(v->irq_chardev, TYPE_CHARDEV_VSBYPASS_IRQ,
                                      NULL, NULL, errp);
        if (!v->irq_chr) {
            return -EINVAL;
        }
        VSB_IRQ_CHARDEV(v->irq_chr)->vsb = v;
        v->irq_queue = g_byte_array_new();
        v->irq_pending = g_array_new(FALSE, FALSE, sizeof(VsbIrqPending));
        v->irq_retry = timer_new_ns(QEMU_CLOCK_REALTIME, vsb_irq_retry, v);
        return 0;
    default:
        return 0;
    }
}

static void vsb_irq_chr_class_init(ObjectClass *oc, void *data)
{
    ChardevClass *cc = CHARDEV_CLASS(oc);

    cc->chr_write = vsb_irq_chr_write;
    cc->chr_accept_input = vsb_irq_chr_accept_input;
}

static const TypeInfo vsb_irq_chr_type = {
    .name = TYPE_CHARDEV_VSBYPASS_IRQ,
    .parent = TYPE_CHARDEV,
    .instance_size = sizeof(VsbIrqChardev),
    .class_init = vsb_irq_chr_class_init,
};

static void vsb_irq_register_types(void)
{
    type_register_static(&vsb_irq_chr_type);
}

type_init(vsb_irq_register_types)
