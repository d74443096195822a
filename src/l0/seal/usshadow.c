/*
 * USShadow in L0 (usshadow.h): shadow-device state through QEMU's VMState,
 * sealed with usshadow_seal.h, and the restored devices that wait for their
 * user VM. Everything here runs under the BQL (the UART model, chardevs and
 * the binding table expect it).
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "crypto/random.h"
#include "crypto/secret_common.h"
#include "qom/object.h"
#include "io/channel-buffer.h"
#include "migration/qemu-file.h"
#include "migration/vmstate.h"
#include "hw/char/serial.h"

#include "core/nvsec_bql.h"
#include "core/nvsec_log.h"
#include "seal/usshadow.h"
#include "seal/usshadow_seal.h"

/* The serial model's IIR "no interrupt pending" value (hw/char/serial.c). */
#define USS_IIR_ID     0x0f
#define USS_IIR_NO_INT 0x01

typedef struct UsshadowState {
    struct usshadow_key key;
    enum usshadow_mode mode;
    struct usshadow_replay replay;
    GPtrArray *restored;        /* VsbDevice *, tagged, bound to no VM yet */
} UsshadowState;

/*
 * The key comes as a QEMU secret object (crypto/secret.c): QEMU's crypto API
 * reads the file the provider's key service left for this host (out of
 * scope), and no property of ours needs a QAPI schema change.
 */
void usshadow_init(VsbState *v)
{
    g_autofree uint8_t *data = NULL;
    enum usshadow_mode mode = USSHADOW_AES_GCM;
    Error *err = NULL;
    UsshadowState *u;
    size_t len = 0;

    if (!object_resolve_path_component(object_get_objects_root(), USSHADOW_KEY_SECRET)) {
        nvsec_log("usshadow", "no secret %s: shadow state stays in this L0",
                  USSHADOW_KEY_SECRET);
        return;
    }
    if (qcrypto_secret_lookup(USSHADOW_KEY_SECRET, &data, &len, &err) < 0) {
        nvsec_log("usshadow", "secret %s: %s", USSHADOW_KEY_SECRET,
                  error_get_pretty(err));
        error_free(err);
        return;
    }
    u = g_new0(UsshadowState, 1);
    if (len >= 14 && !memcmp(data, "plaintext-demo", 14)) {
        mode = USSHADOW_PLAINTEXT_DEMO;
    } else if (usshadow_key_parse((const char *)data, len, &u->key) < 0) {
        nvsec_log("usshadow", "secret %s: need 64 hex digits; USShadow off",
                  USSHADOW_KEY_SECRET);
        memset(data, 0, len);
        g_free(u);
        return;
    }
    memset(data, 0, len);
    u->mode = mode;
    u->restored = g_ptr_array_new();
    v->uss = u;
    if (mode == USSHADOW_PLAINTEXT_DEMO) {
        nvsec_log("usshadow", "WARNING: plaintext-demo: console state leaves "
                  "L0 in the clear (attack demo only)");
    } else {
        nvsec_log("usshadow", "sealing key loaded (AES-256-GCM)");
    }
}

VsbDevice *usshadow_find_restored(VsbState *v, const char *tag)
{
    for (guint i = 0; v->uss && i < v->uss->restored->len; i++) {
        VsbDevice *d = g_ptr_array_index(v->uss->restored, i);

        if (!strncmp(d->tag, tag, ULTRACALL_VMTAG_SIZE)) {
            return d;
        }
    }
    return NULL;
}

VsbDevice *usshadow_take_any_restored(VsbState *v)
{
    if (!v->uss || v->uss->restored->len == 0) {
        return NULL;
    }
    VsbDevice *d = g_ptr_array_index(v->uss->restored, v->uss->restored->len - 1);

    g_ptr_array_remove_index(v->uss->restored, v->uss->restored->len - 1);
    return d;
}

bool usshadow_waiting(VsbState *v)
{
    return v->uss && v->uss->restored->len > 0;
}

void usshadow_forget_restored(VsbState *v, VsbDevice *d)
{
    g_ptr_array_remove(v->uss->restored, d);
}

/* The bound device holding tag, or NULL (BQL held). */
static VsbDevice *uss_bound_device(VsbState *v, const char *tag)
{
    struct vsbypass_binding *b;
    VsbDevice *d;

    qemu_mutex_lock(&v->lock);
    b = vsbypass_table_find_tag(&v->table, tag);
    d = b ? b->dev : NULL;
    qemu_mutex_unlock(&v->lock);
    return d;
}

/* --- the device's state as bytes --------------------------------------------- */

/*
 * QEMU's VMState of the UART, as migration would send it, into *out (g_free
 * it). Copied out before the QEMUFile is closed: closing the buffer channel
 * frees its data.
 */
static int uss_vmstate_save(VsbDevice *d, uint8_t **out, size_t *len)
{
    QIOChannelBuffer *buf = qio_channel_buffer_new(4096);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(buf));
    int rc = vmstate_save_state(f, &vmstate_serial, d->uart, NULL);

    qemu_fflush(f);
    if (rc == 0) {
        rc = qemu_file_get_error(f);
    }
    if (rc == 0 && buf->usage == 0) {
        rc = -EIO;
    }
    if (rc == 0) {
        *out = g_memdup2(buf->data, buf->usage);
        *len = buf->usage;
    }
    qemu_fclose(f);
    object_unref(OBJECT(buf));
    return rc;
}

static int uss_vmstate_load(VsbDevice *d, const uint8_t *data, size_t len)
{
    QIOChannelBuffer *buf = qio_channel_buffer_new(len);
    QEMUFile *f;
    int rc;

    memcpy(buf->data, data, len);
    buf->usage = len;
    f = qemu_file_new_input(QIO_CHANNEL(buf));
    rc = vmstate_load_state(f, &vmstate_serial, d->uart, vmstate_serial.version_id);
    qemu_fclose(f);
    object_unref(OBJECT(buf));
    return rc;
}

/* The ring's bytes, oldest first, as one block (g_free it). */
static uint8_t *uss_ring_copy(const struct vsbypass_ring *r, size_t *len)
{
    uint8_t *out = g_malloc(r->len ? r->len : 1);

    *len = vsbypass_ring_copy_out(r, out, r->len);
    return out;
}

/* --- ops ------------------------------------------------------------------- */

int usshadow_query(struct ultracall_shadow_entry *out, size_t max)
{
    VsbState *v = vsbypass_instance();
    bool bql;
    size_t n = 0, need;

    if (!v) {
        return -ENODEV;
    }
    bql = nvsec_bql_lock();
    qemu_mutex_lock(&v->lock);
    need = v->uss ? v->uss->restored->len : 0;
    for (size_t i = 0; i < v->table.nb; i++) {
        need += v->table.b[i]->tag[0] != '\0';
    }
    if (need <= max) {
        for (size_t i = 0; i < v->table.nb; i++) {
            if (v->table.b[i]->tag[0]) {
                memset(&out[n], 0, sizeof(out[n]));
                memcpy(out[n].tag, v->table.b[i]->tag, ULTRACALL_VMTAG_SIZE);
                out[n++].flags = ULTRACALL_SHADOW_BOUND;
            }
        }
        for (guint i = 0; v->uss && i < v->uss->restored->len; i++) {
            VsbDevice *d = g_ptr_array_index(v->uss->restored, i);

            memset(&out[n], 0, sizeof(out[n]));
            memcpy(out[n].tag, d->tag, ULTRACALL_VMTAG_SIZE);
            out[n++].flags = ULTRACALL_SHADOW_RESTORED;
        }
    }
    qemu_mutex_unlock(&v->lock);
    nvsec_bql_unlock(bql);
    return need <= max ? (int)n : -ENOSPC;
}

/* Seal d's state into out; BQL held. Returns the blob length or -errno. */
static long uss_seal_device(UsshadowState *u, VsbDevice *d, uint8_t *out, size_t cap)
{
    g_autofree uint8_t *vm = NULL, *ring = NULL, *input = NULL, *pt = NULL;
    size_t vm_len = 0;
    struct usshadow_state_view view;
    uint8_t nonce[USSHADOW_NONCE_SIZE];
    Error *err = NULL;
    size_t ring_len, input_len, pt_cap;
    uint64_t seq;
    long n;
    int rc;

    rc = uss_vmstate_save(d, &vm, &vm_len);
    if (rc < 0) {
        nvsec_log("usshadow", "tag %s: VMState save failed: %s", d->tag, strerror(-rc));
        return -EIO;
    }
    if (qcrypto_random_bytes(nonce, sizeof(nonce), &err) < 0) {
        nvsec_log("usshadow", "no nonce: %s", error_get_pretty(err));
        error_free(err);
        return -EIO;
    }
    ring = uss_ring_copy(&d->ring, &ring_len);
    input = uss_ring_copy(&d->input, &input_len);
    view = (struct usshadow_state_view){ vm, vm_len, ring, ring_len, d->ring.dropped,
                                         input, input_len };
    pt_cap = usshadow_state_size(vm_len, ring_len, input_len);
    pt = g_malloc(pt_cap);
    n = usshadow_state_encode(&view, pt, pt_cap);
    /* Typed input may be a password: no plaintext copy outlives the seal. */
    memset(input, 0, input_len);
    if (n < 0) {
        memset(pt, 0, pt_cap);
        return n;
    }
    /*
     * Above every number this L0 has used or seen for the VM (replay guard),
     * and not below the wall clock in ns: a later instance of a VM of the
     * same name outranks every blob of an earlier one, on any host.
     */
    seq = MAX(d->seal_seq, usshadow_replay_last(&u->replay, d->tag)) + 1;
    seq = MAX(seq, (uint64_t)g_get_real_time() * 1000);
    n = usshadow_seal(&u->key, u->mode, d->tag, seq, nonce, pt, (size_t)n, out, cap);
    memset(pt, 0, pt_cap);
    if (n < 0) {
        return n;
    }
    if (usshadow_replay_commit(&u->replay, d->tag, seq) < 0) {
        return -ENOMEM;
    }
    d->seal_seq = seq;
    return n;
}

long usshadow_save(const char *tag, uint8_t *out, size_t cap)
{
    VsbState *v = vsbypass_instance();
    VsbDevice *d;
    int64_t t0 = get_clock(), t_locked;
    bool bql;
    long n;

    if (!v || !v->uss) {
        return -ENODEV;
    }
    bql = nvsec_bql_lock();
    t_locked = get_clock();
    d = uss_bound_device(v, tag);
    if (!d) {
        nvsec_bql_unlock(bql);
        return -ENOENT;
    }
    /*
     * Freeze the console first: the client gets what it can take now, and
     * what stays in the ring goes into the blob, to be delivered once, by
     * the destination. The VM is stopped (the manager saves after L1's
     * migration completed), so no new output comes; no input is taken.
     */
    vsbypass_console_freeze(d);
    n = uss_seal_device(v->uss, d, out, cap);
    if (n < 0) {
        vsbypass_console_open(d);       /* not moved: the console stays here */
        nvsec_log("usshadow", "save %s refused: %s", tag, strerror((int)-n));
    } else {
        nvsec_log("usshadow", "saved %s: %ld bytes sealed, seq %" PRIu64 ", %"
                  PRId64 " us in L0, of which %" PRId64 " us waiting for the BQL",
                  tag, n, d->seal_seq, (get_clock() - t0) / 1000, (t_locked - t0) / 1000);
    }
    nvsec_bql_unlock(bql);
    return n;
}

/* When each phase of a restore ended (get_clock ns), for the log line. */
struct uss_restore_marks {
    int64_t unsealed, created, loaded;
};

/*
 * Open, check and load a blob into a new device (BQL held), pt being room
 * for its plaintext. On any error nothing of this L0 has changed: the new
 * device is freed unseen.
 */
static int uss_restore_into(VsbState *v, const char *tag, const uint8_t *blob,
                            size_t len, uint8_t *pt, struct uss_restore_marks *m)
{
    UsshadowState *u = v->uss;
    struct usshadow_state_view view;
    Error *err = NULL;
    VsbDevice *d;
    uint64_t seq = 0;
    long n;
    int rc;

    n = usshadow_unseal(&u->key, u->mode, tag, blob, len, &seq, pt, len);
    if (n < 0) {
        return (int)n;
    }
    m->unsealed = get_clock();
    rc = usshadow_replay_check(&u->replay, tag, seq);
    if (rc < 0) {
        return rc;
    }
    if (uss_bound_device(v, tag) || usshadow_find_restored(v, tag)) {
        return -EBUSY;                  /* never over a live or waiting device */
    }
    /* Authentic from here on, yet checked: a bug must not corrupt L0. */
    if (usshadow_state_decode(pt, (size_t)n, &view) < 0 ||
        view.input_len > VSB_INPUT_SIZE) {
        return -EINVAL;
    }
    d = vsbypass_device_new(v, &err);
    if (!d) {
        nvsec_log("usshadow", "no device for %s: %s", tag, error_get_pretty(err));
        error_free(err);
        return -ENOMEM;
    }
    m->created = get_clock();
    if (uss_vmstate_load(d, view.vmstate, view.vmstate_len) < 0) {
        vsbypass_device_retire(v, d);
        return -EINVAL;
    }
    if (usshadow_replay_commit(&u->replay, tag, seq) < 0) {
        vsbypass_device_retire(v, d);
        return -ENOMEM;
    }
    m->loaded = get_clock();
    vsbypass_ring_push(&d->ring, view.ring, view.ring_len);
    d->ring.dropped += view.ring_dropped;
    vsbypass_ring_push(&d->input, view.input, view.input_len);
    memcpy(d->tag, tag, ULTRACALL_VMTAG_SIZE);
    d->seal_seq = seq;
    /* The line as the restored registers drive it, sent once the VM is bound. */
    d->irq_level = (d->uart->iir & USS_IIR_ID) != USS_IIR_NO_INT;
    g_ptr_array_add(u->restored, d);
    vsbypass_console_open_soon(d);
    nvsec_log("usshadow", "restored %s: seq %" PRIu64 ", %zu undelivered output "
              "and %zu input bytes, waiting for the VM to register its tag", tag, seq,
              view.ring_len, view.input_len);
    return 0;
}

/* The plaintext, typed input included, is wiped whatever the outcome. */
static int uss_restore_locked(VsbState *v, const char *tag, const uint8_t *blob,
                              size_t len, struct uss_restore_marks *m)
{
    uint8_t *pt = g_malloc(len ? len : 1);
    int rc = uss_restore_into(v, tag, blob, len, pt, m);

    memset(pt, 0, len);
    g_free(pt);
    return rc;
}

int usshadow_restore(const char *tag, const uint8_t *blob, size_t len)
{
    VsbState *v = vsbypass_instance();
    int64_t t0 = get_clock(), t_locked;
    struct uss_restore_marks m = { 0 };
    bool bql;
    int rc;

    if (!v || !v->uss) {
        return -ENODEV;
    }
    bql = nvsec_bql_lock();
    t_locked = get_clock();
    rc = uss_restore_locked(v, tag, blob, len, &m);
    nvsec_bql_unlock(bql);
    if (rc == 0) {
        nvsec_log("usshadow", "restore %.*s took %" PRId64 " us in L0, of which %"
                  PRId64 " us waiting for the BQL (phases, us: unseal %" PRId64
                  ", new device %" PRId64 ", VMState load %" PRId64 ")",
                  ULTRACALL_VMTAG_MAX, tag, (get_clock() - t0) / 1000,
                  (t_locked - t0) / 1000, (m.unsealed - t_locked) / 1000,
                  (m.created - m.unsealed) / 1000, (m.loaded - m.created) / 1000);
    }
    if (rc < 0) {
        nvsec_log("usshadow", "restore %.*s refused: %s", ULTRACALL_VMTAG_MAX, tag,
                  strerror(-rc));
    }
    return rc;
}

int usshadow_release(const char *tag)
{
    VsbState *v = vsbypass_instance();
    struct vsbypass_binding *b;
    VsbDevice *d = NULL;
    void *dev = NULL;
    bool bql;

    if (!v) {
        return -ENODEV;
    }
    bql = nvsec_bql_lock();
    qemu_mutex_lock(&v->lock);
    b = vsbypass_table_find_tag(&v->table, tag);
    if (b) {
        vsbypass_table_unbind(&v->table, b->ncr3, &dev);
        d = dev;
    }
    qemu_mutex_unlock(&v->lock);
    if (!d && (d = usshadow_find_restored(v, tag)) != NULL) {
        usshadow_forget_restored(v, d);
    }
    if (d) {
        vsbypass_device_retire(v, d);
        nvsec_log("usshadow", "released %.*s", ULTRACALL_VMTAG_MAX, tag);
    }
    nvsec_bql_unlock(bql);
    return d ? 0 : -ENOENT;
}
