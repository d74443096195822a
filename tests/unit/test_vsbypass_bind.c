/* sources: src/l0/shadow/vsbypass_bind.c */
/*
 * The binding table, driven by scripts of operations with the result each
 * must give: pool and on-demand binding, at least 4 VMs on distinct devices,
 * a nested CR3 reused after unbinding (a new VM instance) getting a fresh
 * binding, tags (valid, invalid, held by a live or a stale VM, changed), and
 * reaping of stale bindings. Devices are fake pointers D(0..7).
 */
#include <errno.h>
#include <string.h>

#include "unit.h"
#include "vsbypass_bind.h"

#define SEC 1000000000ll
#define STALE (10 * SEC)

static int devs[8];
#define D(i) ((void *)&devs[i])

enum kind {
    END, POOL, BIND, UNBIND, TAG, TOUCH, REAP, LOOKUP, FINDTAG, POOLSIZE, VMRUN,
};

struct step {
    enum kind k;
    uint64_t ncr3;
    int64_t t;              /* time, seconds */
    const char *tag;        /* TAG/FINDTAG */
    int dev;                /* POOL: device put; BIND/UNBIND/LOOKUP/REAP: device expected (-1 none) */
    int rc;                 /* expected return */
    int created;            /* BIND: expected *created (0/1) */
    uint64_t evicted;       /* TAG/REAP: ncr3 expected evicted (0 none) */
    uint64_t vmcb;          /* VMRUN: the vCPU's VMCB; rc = moved */
    bool reset;             /* VMRUN: reset-state entry; dev/dev2 = dropped[0]/[1] */
    int dev2;
};

static const struct {
    const char *name;
    struct step s[16];
} scripts[] = {
    { "bind_from_pool", {
        { POOL, .dev = 0 }, { POOL, .dev = 1 },
        { BIND, 0x1000, 0, .dev = 1, .created = 1 },
        { BIND, 0x1000, 1, .dev = 1, .created = 0 },
        { BIND, 0x2000, 1, .dev = 0, .created = 1 },
        { POOLSIZE, .rc = 0 } } },
    { "bind_empty_pool_enospc_then_on_demand", {
        { BIND, 0x1000, 0, .dev = -1, .rc = -ENOSPC },
        { POOL, .dev = 3 },
        { BIND, 0x1000, 0, .dev = 3, .created = 1 } } },
    { "four_vms_four_devices", {
        { POOL, .dev = 0 }, { POOL, .dev = 1 }, { POOL, .dev = 2 }, { POOL, .dev = 3 },
        { BIND, 0xa000, 0, .dev = 3, .created = 1 },
        { BIND, 0xb000, 0, .dev = 2, .created = 1 },
        { BIND, 0xc000, 0, .dev = 1, .created = 1 },
        { BIND, 0xd000, 0, .dev = 0, .created = 1 },
        { BIND, 0xe000, 0, .dev = -1, .rc = -ENOSPC },
        { LOOKUP, 0xa000, .dev = 3 }, { LOOKUP, 0xb000, .dev = 2 },
        { LOOKUP, 0xc000, .dev = 1 }, { LOOKUP, 0xd000, .dev = 0 } } },
    { "unbind_returns_device_and_rebind_is_fresh", {
        { POOL, .dev = 0 }, { POOL, .dev = 1 },
        { BIND, 0x1000, 0, .dev = 1, .created = 1 },
        { TAG, 0x1000, 0, "vm0", .rc = 0 },
        { UNBIND, 0x1000, .dev = 1 },
        { LOOKUP, 0x1000, .dev = -1 },
        { FINDTAG, .tag = "vm0", .dev = -1 },
        { BIND, 0x1000, 0, .dev = 0, .created = 1 },
        { FINDTAG, .tag = "vm0", .dev = -1 } } },
    { "unbind_unknown", {
        { UNBIND, 0x1000, .dev = -1, .rc = -ENOENT } } },
    { "tag_needs_binding", {
        { TAG, 0x1000, 0, "vm0", .rc = -ENOENT } } },
    { "tag_invalid", {
        { POOL, .dev = 0 }, { BIND, 0x1000, 0, .dev = 0, .created = 1 },
        { TAG, 0x1000, 0, "VM0", .rc = -EINVAL },
        { TAG, 0x1000, 0, "", .rc = -EINVAL },
        { TAG, 0x1000, 0, "../x", .rc = -EINVAL },
        { TAG, 0x1000, 0, "vm0", .rc = 0 } } },
    { "tag_idempotent_and_immutable", {
        { POOL, .dev = 0 }, { BIND, 0x1000, 0, .dev = 0, .created = 1 },
        { TAG, 0x1000, 0, "vm0", .rc = 0 },
        { TAG, 0x1000, 1, "vm0", .rc = 0 },
        { TAG, 0x1000, 1, "other", .rc = -EBUSY },
        { FINDTAG, .tag = "vm0", .dev = 0 },
        { FINDTAG, .tag = "other", .dev = -1 } } },
    { "tag_held_by_live_vm", {
        { POOL, .dev = 0 }, { POOL, .dev = 1 },
        { BIND, 0x1000, 0, .dev = 1, .created = 1 },
        { BIND, 0x2000, 0, .dev = 0, .created = 1 },
        { TAG, 0x1000, 0, "web", .rc = 0 },
        { TOUCH, 0x1000, 9, .rc = 1 },
        { TAG, 0x2000, 15, "web", .rc = -EEXIST },
        { FINDTAG, .tag = "web", .dev = 1 } } },
    { "tag_taken_from_stale_vm", {
        { POOL, .dev = 0 }, { POOL, .dev = 1 },
        { BIND, 0x1000, 0, .dev = 1, .created = 1 },
        { TAG, 0x1000, 0, "web", .rc = 0 },
        { BIND, 0x2000, 20, .dev = 0, .created = 1 },
        { TAG, 0x2000, 20, "web", .rc = 0, .evicted = 0x1000 },
        { LOOKUP, 0x1000, .dev = -1 },
        { FINDTAG, .tag = "web", .dev = 0 } } },
    { "stale_boundary_is_strict", {
        { POOL, .dev = 0 }, { POOL, .dev = 1 },
        { BIND, 0x1000, 0, .dev = 1, .created = 1 },
        { TAG, 0x1000, 0, "web", .rc = 0 },
        { BIND, 0x2000, 10, .dev = 0, .created = 1 },
        { TAG, 0x2000, 10, "web", .rc = -EEXIST } } },
    { "touch_unbound", {
        { TOUCH, 0x1000, 0, .rc = 0 } } },
    { "reap_picks_longest_idle", {
        { POOL, .dev = 0 }, { POOL, .dev = 1 }, { POOL, .dev = 2 },
        { BIND, 0x1000, 0, .dev = 2, .created = 1 },
        { BIND, 0x2000, 0, .dev = 1, .created = 1 },
        { BIND, 0x3000, 0, .dev = 0, .created = 1 },
        { TOUCH, 0x1000, 5, .rc = 1 },
        { TOUCH, 0x3000, 30, .rc = 1 },
        { REAP, .t = 30, .dev = 1, .evicted = 0x2000 },
        { REAP, .t = 30, .dev = 2, .evicted = 0x1000 },
        { REAP, .t = 30, .dev = -1, .rc = -ENOENT },
        { LOOKUP, 0x3000, .dev = 0 } } },
    { "pool_rejects_null", {
        { POOL, .dev = -1, .rc = -EINVAL } } },
    /* KVM gives a running VM a new root: its binding follows its vCPU. */
    { "vmrun_root_change_moves_binding", {
        { POOL, .dev = 0 }, { POOL, .dev = 1 },
        { VMRUN, 0x1000, 1, .vmcb = 0xa0000, .dev = -1, .dev2 = -1 },
        { BIND, 0x1000, 1, .dev = 1, .created = 1 },
        { TAG, 0x1000, 1, "vm0", .rc = 0 },
        { VMRUN, 0x2000, 2, .vmcb = 0xa0000, .rc = 1, .dev = -1, .dev2 = -1 },
        { LOOKUP, 0x1000, .dev = -1 },
        { LOOKUP, 0x2000, .dev = 1 },
        { FINDTAG, .tag = "vm0", .dev = 1 },
        { VMRUN, 0x3000, 3, .vmcb = 0xa0000, .rc = 1, .dev = -1, .dev2 = -1 },
        { VMRUN, 0x3000, 4, .vmcb = 0xa0000, .rc = 0, .dev = -1, .dev2 = -1 },
        { LOOKUP, 0x3000, .dev = 1 } } },
    /* The new root is bound already (another vCPU bound it): nothing moves. */
    { "vmrun_no_move_onto_bound_root", {
        { POOL, .dev = 0 }, { POOL, .dev = 1 },
        { VMRUN, 0x1000, 1, .vmcb = 0xa0000, .dev = -1, .dev2 = -1 },
        { BIND, 0x1000, 1, .dev = 1, .created = 1 },
        { BIND, 0x2000, 1, .dev = 0, .created = 1 },
        { VMRUN, 0x2000, 2, .vmcb = 0xa0000, .rc = 0, .dev = -1, .dev2 = -1 },
        { LOOKUP, 0x1000, .dev = 1 }, { LOOKUP, 0x2000, .dev = 0 } } },
    /* Two VMs, two vCPUs: each binding follows only its own vCPU. */
    { "vmrun_two_vms_no_cross_talk", {
        { POOL, .dev = 0 }, { POOL, .dev = 1 },
        { VMRUN, 0x1000, 1, .vmcb = 0xa0000, .dev = -1, .dev2 = -1 },
        { VMRUN, 0x5000, 1, .vmcb = 0xb0000, .dev = -1, .dev2 = -1 },
        { BIND, 0x1000, 1, .dev = 1, .created = 1 },
        { BIND, 0x5000, 1, .dev = 0, .created = 1 },
        { VMRUN, 0x1000, 2, .vmcb = 0xb0000, .rc = 0, .dev = -1, .dev2 = -1 },
        { LOOKUP, 0x1000, .dev = 1 }, { LOOKUP, 0x5000, .dev = 0 } } },
    /* A reset-state VMRUN at a reused root ends the old VM's binding there. */
    { "vmrun_reset_drops_binding_at_root", {
        { POOL, .dev = 0 }, { POOL, .dev = 1 },
        { VMRUN, 0x1000, 1, .vmcb = 0xa0000, .dev = -1, .dev2 = -1 },
        { BIND, 0x1000, 1, .dev = 1, .created = 1 },
        { TAG, 0x1000, 1, "vm0", .rc = 0 },
        { VMRUN, 0x1000, 2, .vmcb = 0xc0000, .reset = true, .dev = 1, .dev2 = -1 },
        { LOOKUP, 0x1000, .dev = -1 },
        { FINDTAG, .tag = "vm0", .dev = -1 },
        { BIND, 0x1000, 2, .dev = 0, .created = 1 } } },
    /* A VM rebooting onto a new root: the binding at its old root ends too. */
    { "vmrun_reset_drops_binding_of_vcpus_last_root", {
        { POOL, .dev = 0 }, { POOL, .dev = 1 },
        { VMRUN, 0x1000, 1, .vmcb = 0xa0000, .dev = -1, .dev2 = -1 },
        { BIND, 0x1000, 1, .dev = 1, .created = 1 },
        { VMRUN, 0x7000, 2, .vmcb = 0xa0000, .reset = true, .dev = -1, .dev2 = 1 },
        { LOOKUP, 0x1000, .dev = -1 }, { LOOKUP, 0x7000, .dev = -1 },
        /* and the chain is broken: the next root change moves nothing */
        { BIND, 0x7000, 2, .dev = 0, .created = 1 },
        { VMRUN, 0x8000, 3, .vmcb = 0xa0000, .rc = 1, .dev = -1, .dev2 = -1 },
        { LOOKUP, 0x8000, .dev = 0 } } },
    { "vmrun_keeps_binding_live", {
        { POOL, .dev = 0 }, { POOL, .dev = 1 },
        { BIND, 0x1000, 0, .dev = 1, .created = 1 },
        { TAG, 0x1000, 0, "web", .rc = 0 },
        { VMRUN, 0x1000, 30, .vmcb = 0xa0000, .dev = -1, .dev2 = -1 },
        { BIND, 0x2000, 35, .dev = 0, .created = 1 },
        { TAG, 0x2000, 35, "web", .rc = -EEXIST } } },
    { "ncr3_zero_is_a_key", {
        { POOL, .dev = 5 },
        { BIND, 0, 0, .dev = 5, .created = 1 },
        { LOOKUP, 0, .dev = 5 } } },
};

static int dev_index(void *p)
{
    for (int i = 0; i < 8; i++) {
        if (p == D(i)) {
            return i;
        }
    }
    return -1;
}

/* Run one script; on the first wrong result, report the step. */
static void run(size_t n)
{
    struct vsbypass_table t;
    char why[160] = "";
    size_t i;

    vsbypass_table_init(&t, STALE);
    for (i = 0; scripts[n].s[i].k != END && !why[0]; i++) {
        const struct step *s = &scripts[n].s[i];
        struct vsbypass_binding *b = NULL;
        char field[ULTRACALL_VMTAG_SIZE] = { 0 };
        bool created = false;
        uint64_t ev_ncr3 = 0;
        void *dev = NULL;
        int rc = 0, got;

        switch (s->k) {
        case POOL:
            rc = vsbypass_table_pool_put(&t, s->dev >= 0 ? D(s->dev) : NULL);
            got = s->dev;
            break;
        case BIND:
            rc = vsbypass_table_bind(&t, s->ncr3, s->t * SEC, &b, &created);
            got = rc == 0 ? dev_index(b->dev) : -1;
            if (rc == 0 && (int)created != s->created) {
                snprintf(why, sizeof(why), "step %zu: created %d", i, created);
            }
            break;
        case UNBIND:
            rc = vsbypass_table_unbind(&t, s->ncr3, &dev);
            got = dev ? dev_index(dev) : -1;
            break;
        case TAG:
            strncpy(field, s->tag, sizeof(field) - 1);
            rc = vsbypass_table_set_tag(&t, s->ncr3, field, s->t * SEC, &ev_ncr3, &dev);
            got = s->dev;
            if (ev_ncr3 != s->evicted || (dev != NULL) != (s->evicted != 0)) {
                snprintf(why, sizeof(why), "step %zu: evicted %#llx", i,
                         (unsigned long long)ev_ncr3);
            }
            break;
        case TOUCH:
            rc = vsbypass_table_touch(&t, s->ncr3, s->t * SEC);
            got = s->dev;
            break;
        case REAP:
            rc = vsbypass_table_reap_stale(&t, s->t * SEC, &ev_ncr3, &dev);
            got = dev ? dev_index(dev) : -1;
            if (rc == 0 && ev_ncr3 != s->evicted) {
                snprintf(why, sizeof(why), "step %zu: reaped %#llx", i,
                         (unsigned long long)ev_ncr3);
            }
            break;
        case LOOKUP:
            b = vsbypass_table_lookup(&t, s->ncr3);
            got = b ? dev_index(b->dev) : -1;
            break;
        case FINDTAG:
            strncpy(field, s->tag, sizeof(field) - 1);
            b = vsbypass_table_find_tag(&t, field);
            got = b ? dev_index(b->dev) : -1;
            break;
        case POOLSIZE:
            got = s->dev;
            rc = (int)vsbypass_table_pool_size(&t);
            break;
        case VMRUN: {
            void *dropped[2];

            rc = vsbypass_table_vmrun(&t, s->vmcb, s->ncr3, s->reset,
                                      s->t * SEC + 1, dropped);
            got = dropped[0] ? dev_index(dropped[0]) : -1;
            if ((dropped[1] ? dev_index(dropped[1]) : -1) != s->dev2) {
                snprintf(why, sizeof(why), "step %zu: dropped[1] %d, want %d", i,
                         dropped[1] ? dev_index(dropped[1]) : -1, s->dev2);
            }
            break;
        }
        default:
            got = s->dev;
            break;
        }
        if (!why[0] && (rc != s->rc || got != s->dev)) {
            snprintf(why, sizeof(why), "step %zu: rc %d dev %d, want rc %d dev %d",
                     i, rc, got, s->rc, s->dev);
        }
    }
    unit_check(scripts[n].name, !why[0], "%s", why);
    vsbypass_table_destroy(&t);
}

/* Binding ids never repeat, even for a nested CR3 bound again. */
static void ids_unique(void)
{
    struct vsbypass_table t;
    struct vsbypass_binding *b;
    uint64_t last = 0;
    bool created, ok = true;
    void *dev;

    vsbypass_table_init(&t, STALE);
    vsbypass_table_pool_put(&t, D(0));
    for (int i = 0; i < 1000 && ok; i++) {
        vsbypass_table_bind(&t, 0x5000, 0, &b, &created);
        ok = created && b->id > last;
        last = b->id;
        vsbypass_table_unbind(&t, 0x5000, &dev);
        vsbypass_table_pool_put(&t, dev);
    }
    unit_check("binding_ids_never_reused", ok, "id %llu repeated or not new",
               (unsigned long long)last);
    vsbypass_table_destroy(&t);
}

/* Many VMs: the table grows, every key keeps its own device. */
static void many_vms(void)
{
    enum { N = 300 };
    static int many[N];
    struct vsbypass_table t;
    struct vsbypass_binding *b;
    bool created;
    unsigned wrong = 0;

    vsbypass_table_init(&t, STALE);
    for (int i = 0; i < N; i++) {
        vsbypass_table_pool_put(&t, &many[i]);
    }
    for (int i = 0; i < N; i++) {
        vsbypass_table_bind(&t, 0x100000ull * (i + 1), 0, &b, &created);
    }
    for (int i = N - 1; i >= 0; i--) {
        b = vsbypass_table_lookup(&t, 0x100000ull * (i + 1));
        wrong += !b || b->dev != &many[N - 1 - i];
    }
    unit_check("many_vms_distinct_devices", wrong == 0, "%u lookups wrong", wrong);
    vsbypass_table_destroy(&t);
}

/* More vCPUs than slots: the least recently seen one is forgotten, no harm. */
static void vcpu_slots_recycle(void)
{
    struct vsbypass_table t;
    struct vsbypass_binding *b;
    void *dropped[2];
    bool created;
    int moved_old, moved_new;

    vsbypass_table_init(&t, STALE);
    vsbypass_table_pool_put(&t, D(0));
    vsbypass_table_pool_put(&t, D(1));
    vsbypass_table_vmrun(&t, 0x1, 0x1000, false, 1, dropped);
    vsbypass_table_bind(&t, 0x1000, 1, &b, &created);
    for (uint64_t i = 0; i < VSBYPASS_VCPU_SLOTS; i++) {
        vsbypass_table_vmrun(&t, 0x100 + i, 0x9000 + i, false, 2 + (int64_t)i, dropped);
    }
    /* vCPU 0x1 was recycled: its root change is not followed. */
    moved_old = vsbypass_table_vmrun(&t, 0x1, 0x2000, false, 1000, dropped);
    vsbypass_table_vmrun(&t, 0x200, 0x3000, false, 1001, dropped);
    vsbypass_table_bind(&t, 0x3000, 1001, &b, &created);
    moved_new = vsbypass_table_vmrun(&t, 0x200, 0x4000, false, 1002, dropped);
    unit_check("vcpu_slots_recycle_lru", moved_old == 0 && moved_new == 1 &&
               vsbypass_table_lookup(&t, 0x1000) && vsbypass_table_lookup(&t, 0x4000),
               "moved_old %d moved_new %d", moved_old, moved_new);
    vsbypass_table_destroy(&t);
}

/* USShadow adoption of a restored device by the VM that registers its tag. */
static void adopt_cases(void)
{
    static const char t1[ULTRACALL_VMTAG_SIZE] = "vm0", t2[ULTRACALL_VMTAG_SIZE] = "vm1";
    struct vsbypass_table t;
    struct vsbypass_binding *b;
    void *replaced = &t, *ed;
    bool created;
    uint64_t en;
    int rc;

    vsbypass_table_init(&t, 10);
    rc = vsbypass_table_adopt(&t, 0x1000, t1, &devs[5], 1, &replaced);
    b = vsbypass_table_lookup(&t, 0x1000);
    unit_check("adopt_unbound_ncr3", rc == 0 && !replaced && b && b->dev == &devs[5] &&
               strcmp(b->tag, "vm0") == 0, "rc %d", rc);
    vsbypass_table_pool_put(&t, &devs[0]);
    vsbypass_table_bind(&t, 0x2000, 2, &b, &created);
    rc = vsbypass_table_adopt(&t, 0x2000, t2, &devs[6], 3, &replaced);
    b = vsbypass_table_lookup(&t, 0x2000);
    unit_check("adopt_replaces_untagged_device", rc == 0 && replaced == &devs[0] &&
               b->dev == &devs[6] && strcmp(b->tag, "vm1") == 0, "rc %d", rc);
    rc = vsbypass_table_adopt(&t, 0x3000, t1, &devs[7], 4, &replaced);
    unit_check("adopt_tag_held_refused", rc == -EEXIST && !vsbypass_table_lookup(&t, 0x3000),
               "rc %d", rc);
    vsbypass_table_destroy(&t);

    vsbypass_table_init(&t, 10);
    vsbypass_table_pool_put(&t, &devs[0]);
    vsbypass_table_bind(&t, 0x2000, 2, &b, &created);
    vsbypass_table_set_tag(&t, 0x2000, t2, 2, &en, &ed);
    rc = vsbypass_table_adopt(&t, 0x2000, t1, &devs[6], 3, &replaced);
    b = vsbypass_table_lookup(&t, 0x2000);
    unit_check("adopt_vm_with_other_tag_refused", rc == -EBUSY && b->dev == &devs[0] &&
               strcmp(b->tag, "vm1") == 0, "rc %d", rc);
    rc = vsbypass_table_adopt(&t, 0x4000, t1, NULL, 3, &replaced);
    unit_check("adopt_null_device_refused", rc == -EINVAL, "rc %d", rc);
    vsbypass_table_destroy(&t);
}

int main(void)
{
    struct vsbypass_table t;

    adopt_cases();
    vcpu_slots_recycle();

    for (size_t n = 0; n < sizeof(scripts) / sizeof(scripts[0]); n++) {
        run(n);
    }
    ids_unique();
    many_vms();
    unit_check("init_rejects_nonpositive_stale",
               vsbypass_table_init(&t, 0) == -EINVAL &&
               vsbypass_table_init(&t, -5) == -EINVAL, "accepted");
    return unit_exit();
}
