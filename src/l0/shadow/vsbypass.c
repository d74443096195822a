/*
 * VSBypass in L0: forced passthrough of a user VM's (L2's) COM1 to a shadow
 * 16550 in L0, one per user VM, bound by the VM's nested CR3 (papers/000
 * sec. 4.1-4.2). This file holds the "-object vsbypass" configuration, the
 * device pool and binding, and the hooks the SVM emulation calls
 * (vsbypass_hooks.h); consoles are in vsbypass_console.c, interrupt
 * forwarding in vsbypass_irq.c, pure logic in vsbypass_bind.c,
 * vsbypass_ring.c and shadow_uart_port.c.
 *
 * Which VM instance: the nested CR3 names a user VM only while L1 keeps that
 * NPT root; a root freed by L1 can be reused for another VM (and KVM moves a
 * running VM to new roots, which vsbypass_bind.h follows by the VMCB). A new
 * VM (and a rebooted one) starts at the architectural reset state, which L0
 * sees in the VMCB at VMRUN: CR0.PE clear, CS selector 0xf000 with base
 * 0xffff0000, RIP 0xfff0 (AMD APM vol. 2, 14.1.3; KVM's and QEMU's vCPU
 * reset use it, and application processors leave it by SIPI before their
 * first VMRUN). Such a VMRUN ends the bindings of its nested CR3 and of the
 * root its vCPU ran before, so the next COM1 access binds fresh and no VM
 * ever inherits another's console. Alternatives weighed: the VMCB address
 * and ASID are as reusable as the root and differ per vCPU; watching L1 free
 * the root page (write-tracking its NPT) costs a trap per NPT update; the
 * reset state costs four compares per VMRUN. Its limit:
 * an L1 that deliberately starts a new VM in a non-reset state (KVM_SET_SREGS
 * before the first run) at a reused root would inherit the old VM's console;
 * closing that needs proof of VM identity from inside L2 (a secret set by
 * the VM at its first ultracall, kept in memory L1 cannot read), future work.
 */
#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qom/object_interfaces.h"
#include "hw/irq.h"
#include "hw/qdev-core.h"
#include "hw/qdev-properties-system.h"
#include "sysemu/reset.h"
#include "sysemu/sysemu.h"
#include "cpu.h"

#include "core/nvsec_bql.h"
#include "core/nvsec_log.h"
#include "shadow/shadow_uart_port.h"
#include "shadow/vsbypass_hooks.h"
#include "shadow/vsbypass_int.h"
#include "seal/usshadow.h"

#define VSB_DEFAULT_POOL        4
#define VSB_DEFAULT_MAX_VMS     64
#define VSB_DEFAULT_RING        (64 * 1024)
#define VSB_MIN_RING            256
#define VSB_MAX_RING            (16 * 1024 * 1024)
#define VSB_DEFAULT_STALE_S     10
#define VSB_DEFAULT_IRQ_PORT    24600
#define VSB_DEFAULT_IRQ_DEFER_US 200
#define VSB_DEFAULT_CONSOLE_DIR "/run/nvsec/vsb"
/* The reset vector as VM creation leaves it (see the comment at the top). */
#define VSB_RESET_CS_SELECTOR   0xf000
#define VSB_RESET_CS_BASE       0xffff0000
#define VSB_RESET_RIP           0xfff0

/* The one configured instance; NULL (hooks do nothing) without -object vsbypass. */
static VsbState *vsb_global;

/*
 * An access claimed by vsbypass_io_claim for the port helper that follows it
 * in the same instruction on this thread. Per thread, not per VsbState: a
 * vCPU thread runs one instruction at a time, and an exception between the
 * two calls (INS faulting on its store) leaves a record that the next check
 * overwrites and that a helper outside guest mode never honours.
 */
typedef struct VsbPending {
    CPUState *cs;
    uint32_t port;
    unsigned size;
} VsbPending;
static __thread VsbPending vsb_pending;

/* --- shadow devices (BQL held) --------------------------------------------- */

static VsbDevice *vsb_device_new(VsbState *v, Error **errp)
{
    VsbDevice *d = g_new0(VsbDevice, 1);
    DeviceState *dev;

    d->vsb = v;
    d->serial_no = v->next_serial_no++;
    if (vsbypass_console_init(d, errp) < 0) {
        g_free(d);
        return NULL;
    }
    vsbypass_irq_device_init(d);
    /* Wired as serial-isa wires it, with our IRQ handler in place of an ISA line. */
    dev = qdev_new(TYPE_SERIAL);
    d->uart = SERIAL(dev);
    d->irq = qemu_allocate_irq(vsbypass_irq_uart, d, 0);
    d->uart->irq = d->irq;
    qdev_prop_set_chr(dev, "chardev", d->uart_chr);
    if (!qdev_realize_and_unref(dev, NULL, errp)) {
        qemu_free_irq(d->irq);
        vsbypass_irq_device_fini(d);
        vsbypass_console_fini(d);
        g_free(d);
        return NULL;
    }
    v->ndevices++;
    return d;
}

static void vsb_device_free(VsbDevice *d)
{
    /*
     * A UART held busy by its console waits on our watch, which refers to d;
     * serial.c's unrealize does not remove it (only its reset does).
     */
    if (d->uart->watch_tag > 0) {
        g_source_remove(d->uart->watch_tag);
        d->uart->watch_tag = 0;
    }
    /* Unparenting unrealizes the UART, which lets go of its chardev. */
    object_unparent(OBJECT(d->uart));
    qemu_free_irq(d->irq);
    vsbypass_irq_device_fini(d);
    vsbypass_console_fini(d);
    d->vsb->ndevices--;
    g_free(d);
}

/* Create a device and put it in the pool (BQL held, table lock not). 0 or -errno. */
static int vsb_pool_add_new(VsbState *v)
{
    Error *err = NULL;
    VsbDevice *d = vsb_device_new(v, &err);
    int rc;

    if (!d) {
        nvsec_log("vsbypass", "cannot create a shadow device: %s",
                  error_get_pretty(err));
        error_free(err);
        return -ENOMEM;
    }
    qemu_mutex_lock(&v->lock);
    rc = vsbypass_table_pool_put(&v->table, d);
    qemu_mutex_unlock(&v->lock);
    if (rc < 0) {
        nvsec_log("vsbypass", "cannot pool a shadow device: %s", strerror(-rc));
        vsb_device_free(d);
    }
    return rc;
}

/* Top the pool up to its configured size (BQL held, table lock not). */
static void vsb_pool_refill(VsbState *v)
{
    bool short_of_devices;

    do {
        qemu_mutex_lock(&v->lock);
        short_of_devices = vsbypass_table_pool_size(&v->table) < v->pool_size &&
                           v->ndevices < v->max_vms;
        qemu_mutex_unlock(&v->lock);
    } while (short_of_devices && vsb_pool_add_new(v) == 0);
}

/*
 * A device whose binding ended: its VM's line goes low, its console is
 * flushed and closed, and a fresh device takes its place in the pool (a new
 * one rather than a reset one, so no state of the old VM can survive).
 */
static void vsb_device_retire(VsbState *v, VsbDevice *d)
{
    if (d->tag[0] && d->edge.sent == 1) {
        vsbypass_irq_send(d, 0);
    }
    vsb_device_free(d);
    vsb_pool_refill(v);
}

/*
 * The device bound to ncr3, binding one first if needed: from the pool, else
 * a new one while under max-vms, else the one of the longest-stale VM.
 * NULL if none can be had (logged). BQL held.
 */
static VsbDevice *vsb_bind(VsbState *v, uint64_t ncr3)
{
    struct vsbypass_binding *b;
    VsbDevice *d = NULL;
    uint64_t old_ncr3;
    void *old;
    bool created;
    int rc;

    for (;;) {
        qemu_mutex_lock(&v->lock);
        rc = vsbypass_table_bind(&v->table, ncr3, get_clock(), &b, &created);
        if (rc == 0) {
            d = b->dev;
            if (created) {
                d->ncr3 = ncr3;
                memset(d->tag, 0, sizeof(d->tag));
            }
        }
        qemu_mutex_unlock(&v->lock);
        if (rc == 0) {
            if (created && vsbypass_console_open(d) < 0) {
                /* The VM still gets its UART; output waits in the ring. */
                nvsec_log("vsbypass", "user VM ncr3 %#" PRIx64 ": no console socket",
                          ncr3);
            }
            return d;
        }
        if (rc != -ENOSPC) {
            nvsec_log("vsbypass", "cannot bind user VM ncr3 %#" PRIx64 ": %s",
                      ncr3, strerror(-rc));
            return NULL;
        }
        if (v->ndevices >= v->max_vms) {
            qemu_mutex_lock(&v->lock);
            rc = vsbypass_table_reap_stale(&v->table, get_clock(), &old_ncr3, &old);
            qemu_mutex_unlock(&v->lock);
            if (rc < 0) {
                nvsec_log("vsbypass", "user VM ncr3 %#" PRIx64 ": all %u shadow "
                          "devices in use (max-vms), its COM1 reads as absent",
                          ncr3, v->max_vms);
                return NULL;
            }
            nvsec_log("vsbypass", "reaped the device of stale user VM ncr3 %#"
                      PRIx64, old_ncr3);
            vsb_device_retire(v, old);
            continue;
        }
        if (vsb_pool_add_new(v) < 0) {
            return NULL;
        }
    }
}

/* A write of reg is one of the transmit register: offset 0 with DLAB clear. */
static bool vsb_reg_is_thr(const VsbDevice *d, int reg)
{
    return reg == 0 && !(d->uart->lcr & 0x80);          /* THR, not DLL */
}

/*
 * USShadow: a VM that resumes on this L0 after a migration may touch COM1
 * before it re-registers its tag (nvsec-vmtag --keep, every 100-200 ms), so its
 * first accesses land on a provisional device. Its register writes there
 * (IER, LCR, ...; data bytes go to the ring, which is moved over) are noted
 * and replayed on the restored device when the VM claims it, so the UART is
 * programmed as the VM's driver believes. Only while restored state waits.
 */
static void vsb_wlog_note(VsbState *v, VsbDevice *d, int reg, uint8_t val)
{
    bool data = vsb_reg_is_thr(d, reg);

    if (d->tag[0] || data || !v->uss || !usshadow_waiting(v)) {
        return;
    }
    if (d->wlog_len == VSB_WLOG_MAX) {
        d->wlog_overflow = true;
        return;
    }
    d->wlog[d->wlog_len][0] = (uint8_t)reg;
    d->wlog[d->wlog_len][1] = val;
    d->wlog_len++;
}

static void vsb_wlog_replay(VsbDevice *from, VsbDevice *to)
{
    if (from->wlog_overflow) {
        nvsec_log("usshadow", "more than %d register writes before the tag: "
                  "only the first are replayed", VSB_WLOG_MAX);
    }
    for (unsigned i = 0; i < from->wlog_len; i++) {
        serial_io_ops.write(to->uart, from->wlog[i][0], from->wlog[i][1], 1);
    }
}

/* --- for USShadow (seal/usshadow.c) ---------------------------------------- */

VsbState *vsbypass_instance(void)
{
    return qatomic_read(&vsb_global);
}

VsbDevice *vsbypass_device_new(VsbState *v, Error **errp)
{
    return vsb_device_new(v, errp);
}

void vsbypass_device_retire(VsbState *v, VsbDevice *d)
{
    vsb_device_retire(v, d);
}

bool vsbypass_device_ran_since(VsbState *v, VsbDevice *d, int64_t since_ns)
{
    bool ran = false;

    /* By device, not by d->ncr3: a binding follows its VM to new NPT roots. */
    qemu_mutex_lock(&v->lock);
    for (size_t i = 0; i < v->table.nb; i++) {
        if (v->table.b[i]->dev == d) {
            ran = v->table.b[i]->last_run_ns > since_ns;
            break;
        }
    }
    qemu_mutex_unlock(&v->lock);
    return ran;
}

/*
 * VMTAG_SET for a tag whose state was restored here (USShadow): the VM that
 * registers the tag gets the restored device at its nested CR3. A device
 * its COM1 accesses bound before it registered is released, and the output
 * it took meanwhile goes after the restored undelivered bytes, in order.
 * Returns 0, 1 if no restored state waits under tag, or -errno. BQL held.
 */
static int vsb_vmtag_adopt(VsbState *v, uint64_t ncr3, const char *tag)
{
    VsbDevice *r = v->uss ? usshadow_find_restored(v, tag) : NULL;
    VsbDevice *old = NULL;
    void *replaced;
    int rc;

    if (!r) {
        return 1;
    }
    qemu_mutex_lock(&v->lock);
    rc = vsbypass_table_adopt(&v->table, ncr3, tag, r, get_clock(), &replaced);
    if (rc == 0) {
        r->ncr3 = ncr3;
        old = replaced;
    }
    qemu_mutex_unlock(&v->lock);
    if (rc < 0) {
        nvsec_log("usshadow", "tag %s from ncr3 %#" PRIx64 " cannot take its "
                  "restored device: %s", tag, ncr3, strerror(-rc));
        return rc;
    }
    usshadow_forget_restored(v, r);
    if (old) {
        vsbypass_ring_move(&r->ring, &old->ring);
        vsbypass_ring_move(&r->input, &old->input);
        vsb_wlog_replay(old, r);
        nvsec_log("usshadow", "tag %s: %u register writes made before the tag "
                  "replayed", tag, old->wlog_len);
        vsb_device_retire(v, old);
    }
    nvsec_log("usshadow", "tag %s: restored device bound to ncr3 %#" PRIx64, tag, ncr3);
    vsbypass_console_drain_now(r);
    vsbypass_console_feed(r);
    vsbypass_irq_send(r, r->irq_level);
    return 0;
}

/* --- hooks ----------------------------------------------------------------- */

bool vsbypass_io_claim(CPUX86State *env, uint32_t port, uint32_t param)
{
    VsbState *v = qatomic_read(&vsb_global);
    int size;

    if (!v || !(env->hflags & HF_GUEST_MASK)) {
        return false;
    }
    size = shadow_uart_ioio_size(param);
    if (size < 0 || !shadow_uart_port_claims(port, size)) {
        return false;
    }
    if (!(env->hflags2 & HF2_NPT_MASK)) {
        /*
         * No nested CR3, no identity: the access stays L1's (conventional
         * nesting). Said once per vCPU (VMCB), not per access.
         */
        static uint64_t logged_vmcb;

        if (qatomic_xchg(&logged_vmcb, env->vm_vmcb) != env->vm_vmcb) {
            nvsec_log("vsbypass", "COM1 of the user VM with VMCB %#" PRIx64
                      " (no nested paging) is not passed through",
                      (uint64_t)env->vm_vmcb);
        }
        return false;
    }
    vsb_pending = (VsbPending){ .cs = env_cpu(env), .port = port, .size = size };
    return true;
}

/* True if this port helper call is the access vsbypass_io_claim took. */
static bool vsb_take_pending(CPUX86State *env, uint32_t port, unsigned size)
{
    VsbPending p = vsb_pending;

    if (likely(!p.cs)) {
        return false;
    }
    vsb_pending.cs = NULL;
    return p.cs == env_cpu(env) && p.port == port && p.size == size &&
           (env->hflags & HF_GUEST_MASK) && (env->hflags2 & HF2_NPT_MASK);
}

/*
 * Run a claimed access on the user VM's UART, byte by byte as
 * shadow_uart_port.h defines. A VM without a device sees no UART (reads
 * 0xff, writes dropped): the access must not fall back to L1.
 */
static void vsb_uart_access(CPUX86State *env, uint32_t port, unsigned size,
                            bool write, uint32_t *val)
{
    VsbState *v = qatomic_read(&vsb_global);
    int regs[SHADOW_UART_MAX_ACCESS];
    uint32_t result = 0;
    bool thr_written = false;
    VsbDevice *d;
    bool bql;

    if (shadow_uart_port_split(port, size, regs) < 0) {
        nvsec_log("vsbypass", "bad claimed access port %#x size %u", port, size);
        return;
    }
    bql = nvsec_bql_lock();
    d = vsb_bind(v, env->nested_cr3);
    if (d && unlikely(d->frozen)) {
        /* Saved for a migration, yet running here: the move failed. */
        vsbypass_console_thaw(d);
    }
    if (d) {
        d->irq_hold++;
    }
    for (unsigned i = 0; i < size; i++) {
        uint32_t byte = SHADOW_UART_FLOAT;

        if (d && regs[i] >= 0) {
            if (write) {
                thr_written |= vsb_reg_is_thr(d, regs[i]);
                vsb_wlog_note(v, d, regs[i], (*val >> (8 * i)) & 0xff);
                serial_io_ops.write(d->uart, regs[i], (*val >> (8 * i)) & 0xff, 1);
            } else {
                byte = serial_io_ops.read(d->uart, regs[i], 1) & 0xff;
            }
        }
        result |= byte << (8 * i);
    }
    if (d) {
        d->irq_hold--;
        vsbypass_irq_settle(d, thr_written);
    }
    nvsec_bql_unlock(bql);
    if (!write) {
        *val = result;
    }
}

bool vsbypass_io_read(CPUX86State *env, uint32_t port, unsigned size,
                      uint32_t *val)
{
    if (!vsb_take_pending(env, port, size)) {
        return false;
    }
    vsb_uart_access(env, port, size, false, val);
    return true;
}

bool vsbypass_io_write(CPUX86State *env, uint32_t port, unsigned size,
                       uint32_t val)
{
    if (!vsb_take_pending(env, port, size)) {
        return false;
    }
    vsb_uart_access(env, port, size, true, &val);
    return true;
}

static bool vsb_is_reset_state(CPUX86State *env)
{
    return !(env->cr[0] & CR0_PE_MASK) &&
           env->segs[R_CS].selector == VSB_RESET_CS_SELECTOR &&
           env->segs[R_CS].base == VSB_RESET_CS_BASE &&
           env->eip == VSB_RESET_RIP;
}

void vsbypass_vmexit(CPUX86State *env)
{
    VsbState *v = qatomic_read(&vsb_global);
    bool bql;

    (void)env;                  /* whichever L2 exits, L1 runs next: all are sent */
    if (!v || !qatomic_read(&v->irq_nwaiters)) {
        return;                 /* every #VMEXIT of every L2 passes here */
    }
    bql = nvsec_bql_lock();
    vsbypass_irq_send_waiting(v);
    nvsec_bql_unlock(bql);
}

void vsbypass_vmrun(CPUX86State *env)
{
    VsbState *v = qatomic_read(&vsb_global);
    uint64_t ncr3 = env->nested_cr3;
    void *dropped[2];
    bool bql, reset;

    if (!v || !(env->hflags2 & HF2_NPT_MASK)) {
        return;
    }
    reset = vsb_is_reset_state(env);
    if (likely(!reset)) {
        /*
         * The per-VMRUN path: the table's lock only, never the BQL. Root
         * changes are not logged: KVM makes several while a VM boots.
         */
        qemu_mutex_lock(&v->lock);
        vsbypass_table_vmrun(&v->table, env->vm_vmcb, ncr3, false, get_clock(),
                             dropped);
        qemu_mutex_unlock(&v->lock);
        return;
    }
    bql = nvsec_bql_lock();
    qemu_mutex_lock(&v->lock);
    vsbypass_table_vmrun(&v->table, env->vm_vmcb, ncr3, true, get_clock(), dropped);
    qemu_mutex_unlock(&v->lock);
    for (int i = 0; i < 2; i++) {
        if (dropped[i]) {
            /* Not an error: every VM reboot passes here. Logged for the provider. */
            nvsec_log("vsbypass", "new VM instance on VMCB %#" PRIx64 " at ncr3 %#"
                      PRIx64 " (reset-state VMRUN): the previous one's console "
                      "is closed", (uint64_t)env->vm_vmcb, ncr3);
            vsb_device_retire(v, dropped[i]);
        }
    }
    nvsec_bql_unlock(bql);
}

int vsbypass_vmtag_set(CPUX86State *env, const char *tag)
{
    VsbState *v = qatomic_read(&vsb_global);
    uint64_t ncr3 = env->nested_cr3, evicted_ncr3;
    void *evicted = NULL;
    bool bql, newly = false;
    VsbDevice *d;
    int rc;

    if (!v) {
        return -ENODEV;
    }
    if (!(env->hflags2 & HF2_NPT_MASK)) {
        nvsec_log("vsbypass", "VMTAG_SET from a user VM without nested paging");
        return -EOPNOTSUPP;
    }
    bql = nvsec_bql_lock();
    rc = vsb_vmtag_adopt(v, ncr3, tag);
    if (rc <= 0) {
        nvsec_bql_unlock(bql);
        return rc;
    }
    d = vsb_bind(v, ncr3);
    if (!d) {
        nvsec_bql_unlock(bql);
        return -ENOMEM;
    }
    qemu_mutex_lock(&v->lock);
    newly = d->tag[0] == '\0';
    rc = vsbypass_table_set_tag(&v->table, ncr3, tag, get_clock(),
                                &evicted_ncr3, &evicted);
    if (rc == 0) {
        memcpy(d->tag, tag, sizeof(d->tag));
    }
    qemu_mutex_unlock(&v->lock);
    if (evicted) {
        nvsec_log("vsbypass", "tag %.*s moves from stale user VM ncr3 %#" PRIx64
                  " to ncr3 %#" PRIx64, ULTRACALL_VMTAG_MAX, tag, evicted_ncr3, ncr3);
        vsb_device_retire(v, evicted);
    }
    if (rc == 0 && newly) {
        if (vsbypass_console_open(d) < 0) {
            nvsec_log("vsbypass", "tag %s: no console socket", d->tag);
        }
        /* Interrupts raised before the tag could not be routed: send the level now. */
        vsbypass_irq_send(d, d->irq_level);
    }
    nvsec_bql_unlock(bql);
    if (rc < 0) {
        nvsec_log("vsbypass", "VMTAG_SET %.*s from ncr3 %#" PRIx64 ": %s",
                  ULTRACALL_VMTAG_MAX, tag, ncr3, strerror(-rc));
    }
    return rc;
}

/* --- start, reset ---------------------------------------------------------- */

static void vsb_machine_done(Notifier *n, void *data)
{
    VsbState *v = container_of(n, VsbState, machine_done);

    /* Machine-init-done notifiers run in the main thread with the BQL. */
    vsb_pool_refill(v);
    /* Every -object exists now, the sealing key's secret included. */
    usshadow_init(v);
}

/*
 * L0 reset: L1 restarts, so every binding is void. Torn down in a bottom
 * half, not in the reset handler, because unrealizing the UARTs unregisters
 * their reset handlers while QEMU walks that list.
 */
static void vsb_reset_bh(void *opaque)
{
    VsbState *v = opaque;
    void *old;

    for (;;) {
        qemu_mutex_lock(&v->lock);
        old = NULL;
        if (v->table.nb) {
            vsbypass_table_unbind(&v->table, v->table.b[0]->ncr3, &old);
        }
        qemu_mutex_unlock(&v->lock);
        if (!old) {
            break;
        }
        vsb_device_retire(v, old);
    }
    /* Restored state waiting for a VM of the old L1 waits in vain now. */
    while ((old = usshadow_take_any_restored(v)) != NULL) {
        vsb_device_retire(v, old);
    }
}

static void vsb_system_reset(void *opaque)
{
    VsbState *v = opaque;

    qemu_bh_schedule(v->reset_bh);
}

/* --- the QOM object -------------------------------------------------------- */

static int vsb_parse_irq_mode(const char *s, VsbIrqTransport *t)
{
    if (!s || !strcmp(s, "none")) {
        *t = VSB_IRQ_NONE;
    } else if (!strcmp(s, "net")) {
        *t = VSB_IRQ_NET;
    } else if (!strcmp(s, "vport")) {
        *t = VSB_IRQ_VPORT;
    } else {
        return -EINVAL;
    }
    return 0;
}

static void vsb_complete(UserCreatable *uc, Error **errp)
{
    VsbState *v = VSBYPASS(uc);
    /*
     * CONSOLE-DIR "/" NAME ".sock" must fit sockaddr_un.sun_path (108 with
     * the NUL); NAME is a tag or "ncr3.<16 hex digits>" (sizes count the NUL).
     */
    size_t longest_name = MAX(ULTRACALL_VMTAG_MAX + sizeof(".sock"),
                              sizeof("ncr3.0123456789abcdef.sock"));

    if (vsb_global) {
        error_setg(errp, "vsbypass: only one vsbypass object may exist");
        return;
    }
    if (v->max_vms == 0 || v->pool_size > v->max_vms) {
        error_setg(errp, "vsbypass: need 1 <= max-vms and pool <= max-vms");
        return;
    }
    if (v->ring_size < VSB_MIN_RING || v->ring_size > VSB_MAX_RING) {
        error_setg(errp, "vsbypass: ring-size must be %d..%d bytes",
                   VSB_MIN_RING, VSB_MAX_RING);
        return;
    }
    if (v->stale_timeout_s == 0) {
        error_setg(errp, "vsbypass: stale-timeout must be at least 1 s");
        return;
    }
    if (!v->console_dir || v->console_dir[0] != '/' ||
        strlen(v->console_dir) + 1 + longest_name > 108) {
        error_setg(errp, "vsbypass: console-dir must be an absolute path of at "
                   "most %zu characters", 108 - 1 - longest_name);
        return;
    }
    if (vsb_parse_irq_mode(v->irq_mode, &v->irq_transport) < 0) {
        error_setg(errp, "vsbypass: irq must be none, net or vport");
        return;
    }
    if (g_mkdir_with_parents(v->console_dir, 0700) < 0) {
        error_setg_errno(errp, errno, "vsbypass: cannot create %s", v->console_dir);
        return;
    }
    if (v->log_dir && (v->log_dir[0] != '/' || g_mkdir_with_parents(v->log_dir, 0700) < 0)) {
        error_setg(errp, "vsbypass: log-dir must be an absolute path that can be created");
        return;
    }
    if (vsbypass_table_init(&v->table, (int64_t)v->stale_timeout_s *
                            NANOSECONDS_PER_SECOND) < 0) {
        error_setg(errp, "vsbypass: bad stale-timeout");
        return;
    }
    if (vsbypass_irq_init(v, errp) < 0) {
        vsbypass_table_destroy(&v->table);
        return;
    }

    qemu_mutex_init(&v->lock);
    v->reset_bh = qemu_bh_new(vsb_reset_bh, v);
    /* Devices are made once the machine exists (they hang off /machine). */
    v->machine_done.notify = vsb_machine_done;
    qemu_add_machine_init_done_notifier(&v->machine_done);
    qemu_register_reset(vsb_system_reset, v);
    qatomic_set(&vsb_global, v);
}

static bool vsb_can_be_deleted(UserCreatable *uc)
{
    /* Hooks hold no reference; the object lives as long as L0. */
    return false;
}

#define VSB_STR_PROP(field)                                                \
    static char *vsb_get_##field(Object *obj, Error **errp)                \
    {                                                                      \
        return g_strdup(VSBYPASS(obj)->field);                             \
    }                                                                      \
    static void vsb_set_##field(Object *obj, const char *value, Error **errp) \
    {                                                                      \
        VsbState *v = VSBYPASS(obj);                                       \
        if (qatomic_read(&vsb_global) == v) {                              \
            error_setg(errp, "vsbypass: properties are fixed once created"); \
            return;                                                        \
        }                                                                  \
        g_free(v->field);                                                  \
        v->field = g_strdup(value);                                        \
    }

/* A uint32 property stored at offset (passed as the opaque) in VsbState. */
static void vsb_get_u32(Object *obj, Visitor *v, const char *name,
                        void *opaque, Error **errp)
{
    uint32_t *field = (uint32_t *)((char *)obj + (uintptr_t)opaque);

    visit_type_uint32(v, name, field, errp);
}

static void vsb_set_u32(Object *obj, Visitor *v, const char *name,
                        void *opaque, Error **errp)
{
    uint32_t *field = (uint32_t *)((char *)obj + (uintptr_t)opaque);
    uint32_t value;

    if (qatomic_read(&vsb_global) == VSBYPASS(obj)) {
        error_setg(errp, "vsbypass: properties are fixed once created");
        return;
    }
    if (visit_type_uint32(v, name, &value, errp)) {
        *field = value;
    }
}

static void vsb_add_u32(ObjectClass *oc, const char *name, size_t offset)
{
    object_class_property_add(oc, name, "uint32", vsb_get_u32, vsb_set_u32,
                              NULL, (void *)(uintptr_t)offset);
}

VSB_STR_PROP(console_dir)
VSB_STR_PROP(log_dir)
VSB_STR_PROP(irq_mode)
VSB_STR_PROP(irq_chardev)

static void vsb_instance_init(Object *obj)
{
    VsbState *v = VSBYPASS(obj);

    v->pool_size = VSB_DEFAULT_POOL;
    v->max_vms = VSB_DEFAULT_MAX_VMS;
    v->ring_size = VSB_DEFAULT_RING;
    v->stale_timeout_s = VSB_DEFAULT_STALE_S;
    v->irq_port = VSB_DEFAULT_IRQ_PORT;
    v->irq_defer_us = VSB_DEFAULT_IRQ_DEFER_US;
    v->console_dir = g_strdup(VSB_DEFAULT_CONSOLE_DIR);
    v->irq_mode = g_strdup("none");
    v->irq_fd = -1;
}

static void vsb_class_init(ObjectClass *oc, void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = vsb_complete;
    ucc->can_be_deleted = vsb_can_be_deleted;

    vsb_add_u32(oc, "pool", offsetof(VsbState, pool_size));
    object_class_property_set_description(oc, "pool",
        "shadow devices created at start (default 4)");
    vsb_add_u32(oc, "max-vms", offsetof(VsbState, max_vms));
    object_class_property_set_description(oc, "max-vms",
        "most shadow devices held at once; beyond, stale VMs' are reused (default 64)");
    vsb_add_u32(oc, "ring-size", offsetof(VsbState, ring_size));
    object_class_property_set_description(oc, "ring-size",
        "console output buffered per VM while no client reads, bytes (default 65536)");
    vsb_add_u32(oc, "stale-timeout", offsetof(VsbState, stale_timeout_s));
    object_class_property_set_description(oc, "stale-timeout",
        "seconds without a VMRUN after which a VM's tag may be taken over (default 10)");
    object_class_property_add_str(oc, "console-dir", vsb_get_console_dir,
                                  vsb_set_console_dir);
    object_class_property_add_str(oc, "log-dir", vsb_get_log_dir, vsb_set_log_dir);
    object_class_property_set_description(oc, "log-dir",
        "Directory for a provider-side copy of each console's output (NAME.log), "
        "as QEMU's chardev logfile= keeps for an emulated serial port; unset: none");
    object_class_property_set_description(oc, "console-dir",
        "directory of the console sockets NAME.sock (default /run/nvsec/vsb)");
    object_class_property_add_str(oc, "irq", vsb_get_irq_mode, vsb_set_irq_mode);
    object_class_property_set_description(oc, "irq",
        "interrupt forwarding to L1: none, net (UDP) or vport (virtio-serial)");
    vsb_add_u32(oc, "irq-port", offsetof(VsbState, irq_port));
    object_class_property_set_description(oc, "irq-port",
        "irq=net: UDP port on 127.0.0.1 forwarded into L1 (default 24600)");
    vsb_add_u32(oc, "irq-defer-us", offsetof(VsbState, irq_defer_us));
    object_class_property_set_description(oc, "irq-defer-us",
        "a rise of the line after a guest write of the transmit register waits at "
        "most this long (or until the next exit to L1) for the guest to lower it "
        "itself before L1 is told; 0: at once (default 200)");
    object_class_property_add_str(oc, "irq-chardev", vsb_get_irq_chardev,
                                  vsb_set_irq_chardev);
    object_class_property_set_description(oc, "irq-chardev",
        "irq=vport: id of the chardev vsbypass creates for the virtserialport");
}

static const TypeInfo vsb_type = {
    .name = TYPE_VSBYPASS,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(VsbState),
    .instance_init = vsb_instance_init,
    .class_init = vsb_class_init,
    .interfaces = (InterfaceInfo[]) {
        { TYPE_USER_CREATABLE },
        { }
    },
};

static void vsb_register_types(void)
{
    type_register_static(&vsb_type);
}

type_init(vsb_register_types)
