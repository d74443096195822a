/*
 * VSBypass inside L0 (QEMU glue, shared by vsbypass.c, vsbypass_console.c and
 * vsbypass_irq.c; not for other modules, which use vsbypass_hooks.h).
 *
 * Locking: the BQL protects the shadow devices (QEMU's UART model, chardevs
 * and timers all expect it) and every change of the binding table; the
 * table's own mutex is taken inside the BQL, or alone by the per-VMRUN
 * liveness update, which must not contend on the BQL.
 */
#ifndef NVSEC_VSBYPASS_INT_H
#define NVSEC_VSBYPASS_INT_H

#include "chardev/char-fe.h"
#include "hw/char/serial.h"
#include "qemu/thread.h"
#include "qom/object.h"

#include "ultracall_abi.h"
#include "vsbypass_bind.h"
#include "vsbypass_edge.h"
#include "vsbypass_ring.h"

#define TYPE_VSBYPASS "vsbypass"
OBJECT_DECLARE_SIMPLE_TYPE(VsbState, VSBYPASS)

#define TYPE_CHARDEV_VSBYPASS_CONSOLE "chardev-vsbypass-console"
#define TYPE_CHARDEV_VSBYPASS_IRQ "chardev-vsbypass-irq"

typedef enum VsbIrqTransport {
    VSB_IRQ_NONE,
    VSB_IRQ_NET,
    VSB_IRQ_VPORT,
} VsbIrqTransport;

/*
 * vport: a VM's line level waiting for room on L1's port. Kept per tag, not
 * per message, so nothing is dropped when L1 reads slowly (see vsbypass_irq.c).
 */
typedef struct VsbIrqPending {
    char tag[ULTRACALL_VMTAG_SIZE];
    uint8_t level;
} VsbIrqPending;

#define VSB_WLOG_MAX 64

/*
 * Typed bytes held for the UART (vsbypass_console.c): enough for a pasted
 * line or a burst of keys, small enough to seal with the device.
 */
#define VSB_INPUT_SIZE 4096

/* One shadow 16550 and its console; bound to at most one user VM. */
typedef struct VsbDevice {
    VsbState *vsb;
    unsigned serial_no;          /* for chardev ids and logs */
    SerialState *uart;           /* QEMU's 16550 (hw/char/serial.c) */
    qemu_irq irq;                /* the UART's interrupt output, ours */
    Chardev *uart_chr;           /* the UART's backend: feeds the ring */
    Chardev *sock_chr;           /* console socket, while bound */
    int log_fd;                  /* LOG-DIR/NAME.log while bound, or -1 */
    CharBackend sock_be;
    bool sock_open;              /* a client is attached */
    QEMUTimer *drain_timer;      /* sends what a burst left in the ring */
    int64_t last_drain_ns;
    guint drain_watch;
    struct vsbypass_ring ring;
    struct vsbypass_ring input;  /* from the client, not yet taken by the UART */
    QEMUTimer *feed_timer;       /* retries a feed the UART had no room for */
    QEMUTimer *open_timer;       /* vsbypass_console_open_soon */
    int64_t full_since;          /* ring full with a client attached, since */
    uint64_t dropped_reported;
    /* Mirror of the binding (set under the BQL with the table's lock). */
    uint64_t ncr3;
    char tag[ULTRACALL_VMTAG_SIZE];
    int irq_level;               /* the UART's line now */
    struct vsbypass_edge edge;   /* what L1 was told of the line (vsbypass_edge.h) */
    QEMUTimer *irq_defer;        /* ends the wait of a deferred rise */
    bool irq_listed;             /* in VsbState.irq_waiters */
    int64_t irq_wait_since;      /* when the deferred rise began to wait (QEMU_CLOCK_REALTIME) */
    unsigned irq_hold;           /* inside a guest access: changes wait for its end */
    uint64_t seal_seq;           /* USShadow: sequence of the last seal or restore */
    bool frozen;                 /* USShadow: console closed by a save (see vsbypass_console_freeze) */
    int64_t frozen_ns;           /*   since (get_clock()) */
    QEMUTimer *thaw_timer;       /*   checks whether the VM still runs here */
    /*
     * USShadow: register writes (other than data bytes) made to this device
     * while it was untagged and restored state waited on this L0: replayed
     * on the restored device if this VM turns out to own it (vsbypass.c).
     */
    uint8_t wlog[VSB_WLOG_MAX][2];
    unsigned wlog_len;
    bool wlog_overflow;
} VsbDevice;

struct VsbState {
    Object parent_obj;

    /* properties */
    uint32_t pool_size;
    uint32_t max_vms;
    uint32_t ring_size;
    uint32_t stale_timeout_s;
    uint32_t irq_port;
    uint32_t irq_defer_us;       /* 0: every rise at once (vsbypass_edge.h) */
    char *console_dir;
    char *log_dir;               /* provider-side console logs; NULL: none */
    char *irq_mode;
    char *irq_chardev;

    /* state */
    VsbIrqTransport irq_transport;
    int irq_fd;                  /* net: UDP socket */
    Chardev *irq_chr;            /* vport: our chardev under the virtserialport */
    GByteArray *irq_queue;       /* vport: bytes of the message being taken (< 1 message) */
    GArray *irq_pending;         /* vport: VsbIrqPending, tags whose level L1 has not been sent */
    QEMUTimer *irq_retry;        /* vport: offers irq_queue again */
    uint64_t irq_seq;
    uint64_t irq_coalesced;      /* vport: level changes merged into a later one */
    GPtrArray *irq_waiters;      /* VsbDevice * that deferred a rise since the last flush */
    int irq_nwaiters;            /* its length, read without the BQL by vsbypass_vmexit */
    QemuMutex lock;              /* protects table */
    struct vsbypass_table table;
    unsigned ndevices;           /* bound + pooled */
    unsigned next_serial_no;
    Notifier machine_done;
    QEMUBH *reset_bh;
    struct UsshadowState *uss;   /* USShadow state (seal/usshadow.c); NULL: off */
};

/* vsbypass.c, for USShadow (seal/usshadow.c); BQL held */
VsbState *vsbypass_instance(void);
VsbDevice *vsbypass_device_new(VsbState *v, Error **errp);
/* True if d is bound and its VM entered the guest (VMRUN) after since_ns (get_clock()). */
bool vsbypass_device_ran_since(VsbState *v, VsbDevice *d, int64_t since_ns);
/* Release a device no binding holds any more (its line low, freed, pool refilled). */
void vsbypass_device_retire(VsbState *v, VsbDevice *d);

/* vsbypass_console.c */
int vsbypass_console_init(VsbDevice *d, Error **errp);
void vsbypass_console_fini(VsbDevice *d);
/* (Re)open the console socket of a bound device at its current name. */
int vsbypass_console_open(VsbDevice *d);
/*
 * The same from the main loop, once the caller (an ultracall) has returned:
 * the socket and log file are L0's management side, not device state, and
 * their syscalls need not lengthen the call. Failure is logged there.
 */
void vsbypass_console_open_soon(VsbDevice *d);
/*
 * USShadow save: close the console after a last drain to its client, so no
 * input is taken and no output sent while the state travels. A VM that runs
 * on here after all (the migration failed, or a save without a migration)
 * gets it back: at its next COM1 access, or when a periodic check finds it
 * entered the guest since the save (vsbypass_device_ran_since).
 */
void vsbypass_console_freeze(VsbDevice *d);
/* Send what the ring holds to an attached client now (bytes put there directly). */
void vsbypass_console_drain_now(VsbDevice *d);
/* Reopen a frozen console (BQL held); no-op if not frozen. */
void vsbypass_console_thaw(VsbDevice *d);
/*
 * Give the UART what input it has room for now (BQL held); after input was
 * put in d->input directly (a restore) and whenever its FIFO may have room.
 */
void vsbypass_console_feed(VsbDevice *d);

/* vsbypass_irq.c */
int vsbypass_irq_init(VsbState *v, Error **errp);
void vsbypass_irq_uart(void *opaque, int n, int level);
/* The per-device part (its deferral timer); fini also logs what it deferred. */
void vsbypass_irq_device_init(VsbDevice *d);
void vsbypass_irq_device_fini(VsbDevice *d);
/* Send d's current level under its tag (after tagging, before unbinding). */
void vsbypass_irq_send(VsbDevice *d, int level);
/*
 * After a guest access to d's UART (irq_hold back to 0): forward the level
 * the access left, one message at most however often the line moved inside
 * the access, and only for a rise (vsbypass_edge.h), which may wait if the
 * access wrote the transmit register (thr_written).
 */
void vsbypass_irq_settle(VsbDevice *d, bool thr_written);
/* Send every deferred rise whose line is still high (BQL held): L1 is about to run. */
void vsbypass_irq_send_waiting(VsbState *v);

#endif
