/*
 * A shadow device's console: the UART's chardev backend puts every output
 * byte into a bounded ring (vsbypass_ring.h), so L0's vCPU thread never
 * blocks on a socket; the ring drains into a unix socket server
 * CONSOLE-DIR/NAME.sock (one client at a time), NAME being the VM's tag once
 * registered and "ncr3.<hex>" before ('.' is not a tag character, so the two
 * never collide).
 *
 * Output flow: with no client, the ring keeps the newest bytes (the oldest
 * are dropped and counted) and the VM never waits. With a client attached
 * and the ring full, the UART is held busy (its transmitter retries when our
 * watch says there is room, the way serial.c waits for a slow host chardev),
 * so a reader that keeps reading loses nothing, e.g. a "cat" of a large file
 * over remote management; a client that stops reading for
 * VSB_CONSOLE_STALL_NS gets the no-reader behaviour until it reads again.
 * Input flow: bytes from the client wait in a small input ring
 * (VSB_INPUT_SIZE; the socket is read no further than it has room, so no
 * input byte is lost) and go to the UART's receiver as fast as its FIFO takes
 * them: at once, and again inside every read of its receive register. QEMU's
 * 16550 takes only up to its trigger level at a time, and refilled from the
 * main loop alone, each refill would cost the user VM another interrupt
 * through L1; refilled during the read, the guest's driver takes a whole
 * typed line in one interrupt.
 * Everything here runs under the BQL.
 */
#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qapi/qapi-types-char.h"
#include "qapi/qapi-types-sockets.h"
#include "chardev/char.h"
#include "chardev/char-fe.h"

#include "core/nvsec_log.h"
#include "shadow/vsbypass_int.h"

typedef struct VsbConsoleChardev {
    Chardev parent;
    VsbDevice *dev;
} VsbConsoleChardev;

DECLARE_INSTANCE_CHECKER(VsbConsoleChardev, VSB_CONSOLE_CHARDEV,
                         TYPE_CHARDEV_VSBYPASS_CONSOLE)

/* Output batching (see vsb_console_chr_write). */
#define VSB_CONSOLE_BATCH       512
#define VSB_CONSOLE_COALESCE_NS (1 * SCALE_MS)

/* How long an attached client may hold the VM's output back without reading. */
#define VSB_CONSOLE_STALL_NS (200 * SCALE_MS)

/* Chardev ids must be unique for L0's lifetime; sockets are re-made on tagging. */
static unsigned vsb_console_generation;

/* A watch for the UART: ready once its next byte will be taken. */
typedef struct VsbRoomSource {
    GSource source;
    VsbDevice *dev;
} VsbRoomSource;

static void vsb_console_drain(VsbDevice *d);
static void vsb_console_log(VsbDevice *d, const uint8_t *buf, int len);

static gboolean vsb_console_writable(void *do_not_use, GIOCondition cond,
                                     void *opaque)
{
    VsbDevice *d = opaque;

    d->drain_watch = 0;
    vsb_console_drain(d);
    return G_SOURCE_REMOVE;
}

/* Move ring bytes to the client until it is empty or the socket is full. */
static void vsb_console_drain(VsbDevice *d)
{
    d->last_drain_ns = get_clock();
    while (d->sock_open && d->ring.len) {
        const uint8_t *p;
        size_t n = vsbypass_ring_peek(&d->ring, &p);
        int w = qemu_chr_fe_write(&d->sock_be, p, n);

        if (w <= 0) {
            /* Full (EAGAIN) or going away: resume when writable, or on reconnect. */
            if (d->sock_open && !d->drain_watch) {
                d->drain_watch = qemu_chr_fe_add_watch(&d->sock_be,
                                                       G_IO_OUT | G_IO_HUP,
                                                       vsb_console_writable, d);
            }
            return;
        }
        vsbypass_ring_consume(&d->ring, w);
    }
}

/* Nanoseconds until the UART's next byte will be taken; 0: now. */
static int64_t vsb_console_wait_ns(VsbDevice *d, size_t len)
{
    int64_t held;

    if (!d->sock_open || d->ring.len + len <= d->ring.cap) {
        return 0;
    }
    held = get_clock() - d->full_since;
    return held >= VSB_CONSOLE_STALL_NS ? 0 : VSB_CONSOLE_STALL_NS - held;
}

static int vsb_console_chr_write(Chardev *chr, const uint8_t *buf, int len)
{
    VsbDevice *d = VSB_CONSOLE_CHARDEV(chr)->dev;

    if (!d || len <= 0) {
        return len;
    }
    if (d->sock_open && d->ring.len + len > d->ring.cap) {
        vsb_console_drain(d);
    }
    if (d->sock_open && d->ring.len + len > d->ring.cap) {
        if (!d->full_since) {
            d->full_since = get_clock();
        }
        if (vsb_console_wait_ns(d, len) > 0) {
            /* A reader is attached but behind: hold the UART (see the top). */
            errno = EAGAIN;
            return 0;
        }
    } else {
        d->full_since = 0;
    }
    vsb_console_log(d, buf, len);
    vsbypass_ring_push(&d->ring, buf, len);
    if (d->sock_open) {
        /*
         * The UART hands over one byte per call, and a send per byte would
         * cap a flood at the syscall rate. So: a byte after a quiet spell
         * goes at once (an echo keeps its latency), bytes following within
         * VSB_CONSOLE_COALESCE_NS are sent together by a timer, and a
         * backlog of VSB_CONSOLE_BATCH goes from here, the vCPU thread (a
         * VM polling its UART holds the BQL so often that the main loop,
         * where the timer runs, may wait).
         */
        int64_t now = get_clock();

        if (d->ring.len >= VSB_CONSOLE_BATCH ||
            now - d->last_drain_ns >= VSB_CONSOLE_COALESCE_NS) {
            vsb_console_drain(d);
        } else if (!timer_pending(d->drain_timer)) {
            timer_mod(d->drain_timer, d->last_drain_ns + VSB_CONSOLE_COALESCE_NS);
        }
    }
    return len;
}

static void vsb_console_drain_timer(void *opaque)
{
    vsb_console_drain(opaque);
}

static gboolean vsb_room_prepare(GSource *source, gint *timeout)
{
    VsbDevice *d = ((VsbRoomSource *)source)->dev;
    int64_t ns = vsb_console_wait_ns(d, 1);

    *timeout = ns ? (gint)((ns + SCALE_MS - 1) / SCALE_MS) : 0;
    return ns == 0;
}

static gboolean vsb_room_check(GSource *source)
{
    return vsb_console_wait_ns(((VsbRoomSource *)source)->dev, 1) == 0;
}

static gboolean vsb_room_dispatch(GSource *source, GSourceFunc callback,
                                  gpointer user_data)
{
    /* qemu_chr_fe_add_watch set a FEWatchFunc as the callback. */
    FEWatchFunc func = (FEWatchFunc)(void (*)(void))callback;

    return func ? func(NULL, G_IO_OUT, user_data) : G_SOURCE_REMOVE;
}

static GSourceFuncs vsb_room_funcs = {
    .prepare = vsb_room_prepare,
    .check = vsb_room_check,
    .dispatch = vsb_room_dispatch,
};

static GSource *vsb_console_chr_add_watch(Chardev *chr, GIOCondition cond)
{
    VsbDevice *d = VSB_CONSOLE_CHARDEV(chr)->dev;
    GSource *source;

    if (!d) {
        return NULL;
    }
    source = g_source_new(&vsb_room_funcs, sizeof(VsbRoomSource));
    ((VsbRoomSource *)source)->dev = d;
    return source;
}

/*
 * How soon input the UART had no room for is offered again: a FIFO reset or
 * loopback mode makes room without a read of the receive register.
 */
#define VSB_FEED_RETRY_NS (10 * SCALE_MS)

void vsbypass_console_feed(VsbDevice *d)
{
    while (d->input.len) {
        const uint8_t *p;
        size_t n = vsbypass_ring_peek(&d->input, &p);
        int room = qemu_chr_be_can_write(d->uart_chr);

        if (room <= 0) {
            break;
        }
        n = MIN(n, (size_t)room);
        qemu_chr_be_write(d->uart_chr, (uint8_t *)p, (int)n);
        vsbypass_ring_consume(&d->input, n);
    }
    if (d->input.len && !timer_pending(d->feed_timer)) {
        timer_mod(d->feed_timer, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + VSB_FEED_RETRY_NS);
    }
}

static void vsb_console_feed_timer(void *opaque)
{
    vsbypass_console_feed(opaque);
}

static void vsb_console_chr_accept_input(Chardev *chr)
{
    VsbDevice *d = VSB_CONSOLE_CHARDEV(chr)->dev;

    /* The guest read RBR: top its FIFO up now, then let the socket offer more. */
    if (d) {
        vsbypass_console_feed(d);
    }
    if (d && d->sock_chr) {
        qemu_chr_fe_accept_input(&d->sock_be);
    }
}

static int vsb_sock_can_read(void *opaque)
{
    VsbDevice *d = opaque;

    return (int)(d->input.cap - d->input.len);
}

static void vsb_sock_read(void *opaque, const uint8_t *buf, int size)
{
    VsbDevice *d = opaque;

    /* Never more than can_read offered, so nothing is dropped here. */
    vsbypass_ring_push(&d->input, buf, size);
    vsbypass_console_feed(d);
}

static void vsb_sock_event(void *opaque, QEMUChrEvent event)
{
    VsbDevice *d = opaque;

    switch (event) {
    case CHR_EVENT_OPENED:
        d->sock_open = true;
        if (d->ring.dropped != d->dropped_reported) {
            nvsec_log("vsbypass", "console %s: %" PRIu64 " output bytes were "
                      "dropped while no client read", d->sock_chr->label,
                      d->ring.dropped - d->dropped_reported);
            d->dropped_reported = d->ring.dropped;
        }
        /* What the VM wrote while nobody listened comes first. */
        vsb_console_drain(d);
        break;
    case CHR_EVENT_CLOSED:
        d->sock_open = false;
        if (d->drain_watch) {
            g_source_remove(d->drain_watch);
            d->drain_watch = 0;
        }
        break;
    default:
        break;
    }
}

/* Append to the provider-side log; a failing log never holds the VM back. */
static void vsb_console_log(VsbDevice *d, const uint8_t *buf, int len)
{
    if (d->log_fd >= 0 && write(d->log_fd, buf, len) != len) {
        nvsec_log("vsbypass", "console log of %s: %s; logging stops",
                  d->tag[0] ? d->tag : "an untagged VM", strerror(errno));
        close(d->log_fd);
        d->log_fd = -1;
    }
}

/* Open LOG-DIR/NAME.log for the console's current name (after a rename too). */
static void vsb_console_log_open(VsbDevice *d, const char *name)
{
    g_autofree char *path = NULL;

    if (d->log_fd >= 0) {
        close(d->log_fd);
        d->log_fd = -1;
    }
    if (!d->vsb->log_dir) {
        return;
    }
    path = g_strdup_printf("%s/%s.log", d->vsb->log_dir, name);
    d->log_fd = qemu_open_old(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (d->log_fd < 0) {
        nvsec_log("vsbypass", "console log %s: %s", path, strerror(errno));
    }
}

static void vsb_console_close(VsbDevice *d)
{
    if (!d->sock_chr) {
        return;
    }
    vsb_console_drain(d);       /* best effort: a reader gets what it can take now */
    if (d->drain_watch) {
        g_source_remove(d->drain_watch);
        d->drain_watch = 0;
    }
    /* Deleting the chardev drops the client and unlinks the socket path. */
    qemu_chr_fe_deinit(&d->sock_be, true);
    d->sock_chr = NULL;
    d->sock_open = false;
}

static Chardev *vsb_socket_new(const char *id, const char *path, Error **errp)
{
    ChardevBackend *backend = g_new0(ChardevBackend, 1);
    ChardevSocket *sock = g_new0(ChardevSocket, 1);
    SocketAddressLegacy *addr = g_new0(SocketAddressLegacy, 1);
    Chardev *chr;

    addr->type = SOCKET_ADDRESS_TYPE_UNIX;
    addr->u.q_unix.data = g_new0(UnixSocketAddress, 1);
    addr->u.q_unix.data->path = g_strdup(path);
    sock->addr = addr;
    sock->has_server = true;
    sock->server = true;
    sock->has_wait = true;
    sock->wait = false;         /* never block L0's start or the VM on a client */
    backend->type = CHARDEV_BACKEND_KIND_SOCKET;
    backend->u.socket.data = sock;
    chr = qemu_chardev_new(id, TYPE_CHARDEV_SOCKET, backend, NULL, errp);
    qapi_free_ChardevBackend(backend);
    return chr;
}

/* How often a frozen console checks whether its VM still runs here. */
#define VSB_THAW_CHECK_NS (500 * SCALE_MS)

void vsbypass_console_drain_now(VsbDevice *d)
{
    vsb_console_drain(d);
}

void vsbypass_console_thaw(VsbDevice *d)
{
    if (!d->frozen) {
        return;
    }
    d->frozen = false;
    if (d->thaw_timer) {
        timer_del(d->thaw_timer);
    }
    vsbypass_console_open(d);
    nvsec_log("usshadow", "%s: the VM runs on here after its state was saved: "
              "console reopened", d->tag);
}

static void vsb_console_thaw_check(void *opaque)
{
    VsbDevice *d = opaque;

    if (!d->frozen) {
        return;
    }
    if (vsbypass_device_ran_since(d->vsb, d, d->frozen_ns)) {
        vsbypass_console_thaw(d);
        return;
    }
    timer_mod(d->thaw_timer, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + VSB_THAW_CHECK_NS);
}

void vsbypass_console_freeze(VsbDevice *d)
{
    vsb_console_close(d);
    d->frozen = true;
    /* A running VM enters its guest every tick: the check waits past one. */
    d->frozen_ns = get_clock() + VSB_THAW_CHECK_NS / 2;
    if (!d->thaw_timer) {
        d->thaw_timer = timer_new_ns(QEMU_CLOCK_REALTIME, vsb_console_thaw_check, d);
    }
    timer_mod(d->thaw_timer, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + VSB_THAW_CHECK_NS);
}

int vsbypass_console_open(VsbDevice *d)
{
    g_autofree char *path = NULL;
    g_autofree char *id = NULL;
    Error *err = NULL;
    Chardev *chr;

    vsb_console_close(d);
    if (d->tag[0]) {
        path = g_strdup_printf("%s/%s.sock", d->vsb->console_dir, d->tag);
        vsb_console_log_open(d, d->tag);
    } else {
        g_autofree char *name = g_strdup_printf("ncr3.%016" PRIx64, d->ncr3);
        path = g_strdup_printf("%s/%s.sock", d->vsb->console_dir, name);
        vsb_console_log_open(d, name);
    }
    id = g_strdup_printf("vsbypass-con%u.%u", d->serial_no, vsb_console_generation++);
    chr = vsb_socket_new(id, path, &err);
    if (!chr) {
        nvsec_log("vsbypass", "console socket %s: %s", path, error_get_pretty(err));
        error_free(err);
        return -EIO;
    }
    if (!qemu_chr_fe_init(&d->sock_be, chr, &err)) {
        nvsec_log("vsbypass", "console socket %s: %s", path, error_get_pretty(err));
        error_free(err);
        object_unparent(OBJECT(chr));
        return -EIO;
    }
    d->sock_chr = chr;
    qemu_chr_fe_set_handlers(&d->sock_be, vsb_sock_can_read, vsb_sock_read,
                             vsb_sock_event, NULL, d, NULL, true);
    return 0;
}

static void vsb_console_open_timer(void *opaque)
{
    VsbDevice *d = opaque;
    int64_t t0 = get_clock();

    if (d->frozen || d->sock_chr) {
        return;                 /* saved meanwhile, or open already */
    }
    if (vsbypass_console_open(d) < 0) {
        nvsec_log("vsbypass", "%s: no console socket", d->tag[0] ? d->tag : "user VM");
        return;
    }
    nvsec_log("vsbypass", "%s: console socket opened in %" PRId64 " us",
              d->tag[0] ? d->tag : "user VM", (get_clock() - t0) / 1000);
}

/*
 * Not a bottom half: on a host with as few cores as L0 threads, waking the
 * main loop at once hands it the core the vCPU thread needs to return from
 * the ultracall (seen: a 0.2 ms restore taking 1 ms, the socket opened
 * meanwhile). A millisecond on, the caller is back in L1.
 */
#define VSB_OPEN_DELAY_NS (1 * SCALE_MS)

void vsbypass_console_open_soon(VsbDevice *d)
{
    timer_mod(d->open_timer, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + VSB_OPEN_DELAY_NS);
}

int vsbypass_console_init(VsbDevice *d, Error **errp)
{
    g_autofree char *id = g_strdup_printf("vsbypass-uart%u", d->serial_no);
    Chardev *chr;
    int rc;

    d->log_fd = -1;
    rc = vsbypass_ring_init(&d->ring, d->vsb->ring_size);
    if (rc == 0) {
        rc = vsbypass_ring_init(&d->input, VSB_INPUT_SIZE);
    }
    if (rc < 0) {
        error_setg(errp, "vsbypass: console ring: %s", strerror(-rc));
        vsbypass_ring_destroy(&d->ring);
        return rc;
    }
    chr = qemu_chardev_new(id, TYPE_CHARDEV_VSBYPASS_CONSOLE, NULL, NULL, errp);
    if (!chr) {
        vsbypass_ring_destroy(&d->ring);
        vsbypass_ring_destroy(&d->input);
        return -EIO;
    }
    VSB_CONSOLE_CHARDEV(chr)->dev = d;
    d->uart_chr = chr;
    d->drain_timer = timer_new_ns(QEMU_CLOCK_REALTIME, vsb_console_drain_timer, d);
    d->feed_timer = timer_new_ns(QEMU_CLOCK_REALTIME, vsb_console_feed_timer, d);
    d->open_timer = timer_new_ns(QEMU_CLOCK_REALTIME, vsb_console_open_timer, d);
    return 0;
}

void vsbypass_console_fini(VsbDevice *d)
{
    vsb_console_close(d);
    if (d->log_fd >= 0) {
        close(d->log_fd);
        d->log_fd = -1;
    }
    if (d->drain_timer) {
        timer_free(d->drain_timer);
        d->drain_timer = NULL;
    }
    if (d->feed_timer) {
        timer_free(d->feed_timer);
        d->feed_timer = NULL;
    }
    if (d->open_timer) {
        timer_free(d->open_timer);      /* a pending open dies with d */
        d->open_timer = NULL;
    }
    if (d->thaw_timer) {
        timer_free(d->thaw_timer);
        d->thaw_timer = NULL;
    }
    if (d->uart_chr) {
        VSB_CONSOLE_CHARDEV(d->uart_chr)->dev = NULL;
        object_unparent(OBJECT(d->uart_chr));
        d->uart_chr = NULL;
    }
    vsbypass_ring_destroy(&d->input);
    vsbypass_ring_destroy(&d->ring);
}

static void vsb_console_chr_class_init(ObjectClass *oc, void *data)
{
    ChardevClass *cc = CHARDEV_CLASS(oc);

    cc->chr_write = vsb_console_chr_write;
    cc->chr_add_watch = vsb_console_chr_add_watch;
    cc->chr_accept_input = vsb_console_chr_accept_input;
}

static const TypeInfo vsb_console_chr_type = {
    .name = TYPE_CHARDEV_VSBYPASS_CONSOLE,
    .parent = TYPE_CHARDEV,
    .instance_size = sizeof(VsbConsoleChardev),
    .class_init = vsb_console_chr_class_init,
};

static void vsb_console_register_types(void)
{
    type_register_static(&vsb_console_chr_type);
}

type_init(vsb_console_register_types)
