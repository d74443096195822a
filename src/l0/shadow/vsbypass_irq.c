/*
 * Interrupt forwarding (papers/000 sec. 4.3): each change of a shadow UART's
 * IRQ line becomes an irqmsg (src/common/irqmsg.h) to L1's interrupt server,
 * which injects it into the user VM named by the tag. Two transports:
 *  - net:   a UDP datagram to 127.0.0.1:irq-port from L0's process; L0's
 *           user-mode network forwards that port into L1 (hostfwd=udp:...),
 *           as the paper sends over the network;
 *  - vport: the same bytes pushed into a chardev of ours that backs a
 *           virtio-serial port of L1 (org.nvsec.irq), bypassing L1's network
 *           stack (the paper's future work, sec. 7).
 * A VM without a tag cannot be routed: its level is kept and sent as soon as
 * the tag is set (vsbypass_vmtag_set). Everything here runs under the BQL.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "chardev/char.h"
#include "chardev/char-fe.h"
#include "qemu/timer.h"

#include "core/nvsec_log.h"
#include "irqmsg.h"
#include "shadow/vsbypass_int.h"

/* vport: messages L1 has not taken yet; beyond this, new ones are dropped. */
#define VSB_IRQ_QUEUE_MAX (1024 * IRQMSG_SIZE)

typedef struct VsbIrqChardev {
    Chardev parent;
    VsbState *vsb;
} VsbIrqChardev;

DECLARE_INSTANCE_CHECKER(VsbIrqChardev, VSB_IRQ_CHARDEV, TYPE_CHARDEV_VSBYPASS_IRQ)

/* Hand queued bytes to the virtserialport as far as L1 has buffers for them. */
/* How soon a queue that L1's port could not take is offered again. */
#define VSB_IRQ_RETRY_NS (1 * SCALE_MS)

static void vsb_irq_flush(VsbState *v)
{
    while (v->irq_queue->len) {
        int room = qemu_chr_be_can_write(v->irq_chr);

        if (room <= 0) {
            /*
             * Normally chr_accept_input resumes us when L1 adds buffers, but
             * virtio-serial calls it only in some states (guest and host
             * connected, a kick on the input queue); a missed wake-up would
             * hold an interrupt edge forever and stall the UART, as seen with
             * 1 MiB transfers. So also retry on a timer while data waits.
             */
            timer_mod(v->irq_retry, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
                      VSB_IRQ_RETRY_NS);
            return;
        }
        room = MIN((guint)room, v->irq_queue->len);
        qemu_chr_be_write(v->irq_chr, v->irq_queue->data, room);
        g_byte_array_remove_range(v->irq_queue, 0, room);
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
    struct irqmsg m = { .irq = IRQMSG_IRQ_COM1, .level = level };
    struct sockaddr_in dst = {
        .sin_family = AF_INET,
        .sin_port = htons(v->irq_port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    uint8_t buf[IRQMSG_SIZE];
    int rc;

    d->irq_sent = level;
    if (v->irq_transport == VSB_IRQ_NONE) {
        return;
    }
    memcpy(m.tag, d->tag, sizeof(m.tag));
    m.seq = v->irq_seq++;
    rc = irqmsg_encode(&m, buf, sizeof(buf));
    if (rc < 0) {
        nvsec_log("vsbypass", "irq message for %s: %s", d->tag, strerror(-rc));
        return;
    }
    switch (v->irq_transport) {
    case VSB_IRQ_NET:
        if (sendto(v->irq_fd, buf, sizeof(buf), MSG_DONTWAIT,
                   (struct sockaddr *)&dst, sizeof(dst)) < 0) {
            nvsec_log("vsbypass", "irq message to 127.0.0.1:%u: %s",
                      v->irq_port, strerror(errno));
        }
        break;
    case VSB_IRQ_VPORT:
        if (v->irq_queue->len + sizeof(buf) > VSB_IRQ_QUEUE_MAX) {
            v->irq_dropped++;
            nvsec_log("vsbypass", "irq port %s not read by L1: %" PRIu64
                      " messages dropped", v->irq_chardev, v->irq_dropped);
            break;
        }
        g_byte_array_append(v->irq_queue, buf, sizeof(buf));
        vsb_irq_flush(v);
        break;
    default:
        break;
    }
}

void vsbypass_irq_uart(void *opaque, int n, int level)
{
    VsbDevice *d = opaque;

    /* serial.c re-asserts its line on every register access; send edges only. */
    level = !!level;
    if (level == d->irq_level) {
        return;
    }
    d->irq_level = level;
    if (d->tag[0]) {
        vsbypass_irq_send(d, level);
    }
}

int vsbypass_irq_init(VsbState *v, Error **errp)
{
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
