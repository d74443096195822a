/*
 * V-Met's root table (vmet_table.h). Linear scans over at most
 * VMET_MAX_VMS x VMET_MAX_VCPUS slots: cheaper than the TLB flush every
 * CR3 load already costs the emulated CPU, and free of allocation.
 */
#include <errno.h>
#include <string.h>

#include "ultracall_abi.h"
#include "vmet/vmet_table.h"

void vmet_table_init(struct vmet_table *t)
{
    memset(t, 0, sizeof(*t));
}

/* Publish vm (only its header and vcpu when vcpu is set) if a page is attached. */
static void publish(const struct vmet_table *t, const struct vmet_tvm *vm,
                    const struct vmet_tvcpu *vcpu)
{
    if (t->pub) {
        vmet_roots_publish(t->pub, (unsigned)(vm - t->vms), vm, vcpu);
    }
}

void vmet_table_publish_to(struct vmet_table *t, struct vmet_roots_page *page)
{
    vmet_roots_init(page);
    t->pub = page;
    for (unsigned i = 0; i < VMET_MAX_VMS; i++) {
        publish(t, &t->vms[i], NULL);
    }
}

static struct vmet_tvm *find_vm(struct vmet_table *t, uint64_t key)
{
    for (unsigned i = 0; i < VMET_MAX_VMS; i++) {
        if (t->vms[i].used && t->vms[i].key == key) {
            return &t->vms[i];
        }
    }
    return NULL;
}

static const struct vmet_tvm *find_vm_const(const struct vmet_table *t, uint64_t key)
{
    return find_vm((struct vmet_table *)t, key);
}

/* Nested vCPUs are named by their VMCB, non-nested ones by the L0 vCPU. */
static struct vmet_tvcpu *find_vcpu(struct vmet_tvm *vm, uint64_t vmcb,
                                    uint32_t l0_cpu)
{
    for (unsigned i = 0; i < VMET_MAX_VCPUS; i++) {
        struct vmet_tvcpu *c = &vm->vcpus[i];

        if (c->used && (vm->key == VMET_KEY_NONNESTED ? c->l0_cpu == l0_cpu
                                                      : c->vmcb == vmcb)) {
            return c;
        }
    }
    return NULL;
}

/* A free slot, else the one least recently captured (its record is reused). */
static struct vmet_tvcpu *alloc_vcpu(struct vmet_tvm *vm)
{
    struct vmet_tvcpu *oldest = &vm->vcpus[0];

    for (unsigned i = 0; i < VMET_MAX_VCPUS; i++) {
        struct vmet_tvcpu *c = &vm->vcpus[i];

        if (!c->used) {
            return c;
        }
        if (c->last_ns < oldest->last_ns) {
            oldest = c;
        }
    }
    return oldest;
}

static bool vm_has_vcpus(const struct vmet_tvm *vm)
{
    for (unsigned i = 0; i < VMET_MAX_VCPUS; i++) {
        if (vm->vcpus[i].used) {
            return true;
        }
    }
    return false;
}

static void clear_vcpus(struct vmet_tvm *vm)
{
    memset(vm->vcpus, 0, sizeof(vm->vcpus));
}

/* A new VM record at key: a free slot, else the least recently run VM's. */
static struct vmet_tvm *alloc_vm(struct vmet_table *t, uint64_t key,
                                 int64_t now_ns, bool *evicted)
{
    struct vmet_tvm *vm = NULL;

    *evicted = false;
    for (unsigned i = 0; i < VMET_MAX_VMS; i++) {
        if (!t->vms[i].used) {
            vm = &t->vms[i];
            break;
        }
        if (!vm || t->vms[i].last_ns < vm->last_ns) {
            vm = &t->vms[i];
        }
    }
    *evicted = vm->used;
    memset(vm, 0, sizeof(*vm));
    vm->used = true;
    vm->key = key;
    vm->generation = 1;
    vm->seq = ++t->next_seq;
    vm->last_ns = now_ns;
    return vm;
}

/* The nested VM (other than except) holding a vCPU with this VMCB. */
static struct vmet_tvm *vm_of_vmcb(struct vmet_table *t, uint64_t vmcb,
                                   const struct vmet_tvm *except,
                                   struct vmet_tvcpu **vcpu)
{
    for (unsigned i = 0; i < VMET_MAX_VMS; i++) {
        struct vmet_tvm *vm = &t->vms[i];

        if (!vm->used || vm == except || vm->key == VMET_KEY_NONNESTED) {
            continue;
        }
        *vcpu = find_vcpu(vm, vmcb, 0);
        if (*vcpu) {
            return vm;
        }
    }
    return NULL;
}

static void record(struct vmet_tvm *vm, struct vmet_tvcpu *c,
                   const struct vmet_regs *regs, uint32_t l0_cpu,
                   bool in_guest, int64_t now_ns)
{
    c->regs = *regs;
    c->l0_cpu = l0_cpu;
    c->in_guest = in_guest;
    c->captures++;
    c->last_ns = now_ns;
    vm->last_ns = now_ns;
}

/*
 * No VM at key yet. If a vCPU of a known VM (same VMCB) arrives on a new
 * root without a reset, that VM's nested root moved (KVM allocates a new one
 * when it drops all roots, e.g. on a memslot change): same VM, new key.
 */
static struct vmet_tvm *vm_for_new_key(struct vmet_table *t, uint64_t key,
                                       uint64_t vmcb, bool reset, int64_t now_ns,
                                       enum vmet_vmrun_event *ev)
{
    struct vmet_tvcpu *c;
    struct vmet_tvm *vm;
    bool evicted;

    vm = reset ? NULL : vm_of_vmcb(t, vmcb, NULL, &c);
    if (vm) {
        vm->key = key;
        vm->generation++;
        *ev = VMET_EV_MOVED;
        return vm;
    }
    vm = alloc_vm(t, key, now_ns, &evicted);
    *ev = evicted ? VMET_EV_EVICTED : VMET_EV_NEW;
    return vm;
}

enum vmet_vmrun_event vmet_table_vmrun(struct vmet_table *t, uint64_t key,
                                       uint64_t vmcb, const struct vmet_regs *regs,
                                       uint32_t npt_levels, uint32_t l0_cpu,
                                       bool reset, int64_t now_ns)
{
    enum vmet_vmrun_event ev = VMET_EV_NONE;
    struct vmet_tvcpu *c, *other_c;
    struct vmet_tvm *vm, *other;
    bool whole = false;

    if (key == VMET_KEY_NONNESTED) {
        /* Key 0 is L0's own guest; a nested root at physical 0 is not trusted. */
        return VMET_EV_NONE;
    }
    vm = find_vm(t, key);
    if (!vm) {
        vm = vm_for_new_key(t, key, vmcb, reset, now_ns, &ev);
    } else if (reset && vm_has_vcpus(vm)) {
        /*
         * A vCPU at the reset vector on a known root: a new VM instance
         * reusing the root (or this one rebooted). Application processors
         * never VMRUN in that state (KVM starts them at their SIPI vector).
         */
        clear_vcpus(vm);
        memset(vm->tag, 0, sizeof(vm->tag));
        vm->generation++;
        ev = VMET_EV_RESET;
    }
    /* A VMCB belongs to one VM: an older VM's record of it is stale. */
    other = vm_of_vmcb(t, vmcb, vm, &other_c);
    if (other) {
        memset(other_c, 0, sizeof(*other_c));
        publish(t, other, NULL);
    }
    c = find_vcpu(vm, vmcb, l0_cpu);
    if (!c) {
        c = alloc_vcpu(vm);
        memset(c, 0, sizeof(*c));
        c->used = true;
        c->vmcb = vmcb;
        whole = true;
    }
    c->npt_levels = npt_levels;
    record(vm, c, regs, l0_cpu, true, now_ns);
    publish(t, vm, whole || ev != VMET_EV_NONE ? NULL : c);
    return ev;
}

int vmet_table_capture(struct vmet_table *t, uint64_t key, uint64_t vmcb,
                       const struct vmet_regs *regs, uint32_t l0_cpu,
                       bool in_guest, int64_t now_ns)
{
    struct vmet_tvm *vm = key == VMET_KEY_NONNESTED ? NULL : find_vm(t, key);
    struct vmet_tvcpu *c = vm ? find_vcpu(vm, vmcb, l0_cpu) : NULL;

    if (!c) {
        return -ENOENT;
    }
    record(vm, c, regs, l0_cpu, in_guest, now_ns);
    publish(t, vm, c);
    return 0;
}

int vmet_table_capture_nonnested(struct vmet_table *t, const struct vmet_regs *regs,
                                 uint32_t l0_cpu, int64_t now_ns)
{
    struct vmet_tvm *vm = find_vm(t, VMET_KEY_NONNESTED);
    struct vmet_tvcpu *c;
    bool evicted;
    bool whole = false;

    if (!vm) {
        vm = alloc_vm(t, VMET_KEY_NONNESTED, now_ns, &evicted);
        whole = true;
    }
    c = find_vcpu(vm, 0, l0_cpu);
    if (!c) {
        c = alloc_vcpu(vm);
        memset(c, 0, sizeof(*c));
        c->used = true;
        whole = true;
    }
    record(vm, c, regs, l0_cpu, false, now_ns);
    publish(t, vm, whole ? NULL : c);
    return 0;
}

int vmet_table_set_tag(struct vmet_table *t, uint64_t key,
                       const char tag[VMET_TAG_SIZE])
{
    struct vmet_tvm *vm;

    if (ultracall_vmtag_check(tag) < 0) {
        return -EINVAL;
    }
    vm = key == VMET_KEY_NONNESTED ? NULL : find_vm(t, key);
    if (!vm) {
        return -ENOENT;
    }
    for (unsigned i = 0; i < VMET_MAX_VMS; i++) {
        struct vmet_tvm *o = &t->vms[i];

        if (o->used && o != vm && !memcmp(o->tag, tag, VMET_TAG_SIZE)) {
            memset(o->tag, 0, VMET_TAG_SIZE);
            publish(t, o, NULL);
        }
    }
    memcpy(vm->tag, tag, VMET_TAG_SIZE);
    publish(t, vm, NULL);
    return 0;
}

unsigned vmet_table_list(const struct vmet_table *t, int64_t now_ns,
                         struct vmet_vm *out, unsigned cap)
{
    const struct vmet_tvm *sorted[VMET_MAX_VMS];
    unsigned n = 0;

    /* Insertion sort by seq: at most VMET_MAX_VMS entries. */
    for (unsigned i = 0; i < VMET_MAX_VMS; i++) {
        const struct vmet_tvm *vm = &t->vms[i];
        unsigned j;

        if (!vm->used) {
            continue;
        }
        for (j = n++; j > 0 && sorted[j - 1]->seq > vm->seq; j--) {
            sorted[j] = sorted[j - 1];
        }
        sorted[j] = vm;
    }
    if (n > cap) {
        n = cap;
    }
    for (unsigned i = 0; i < n; i++) {
        vmet_tvm_to_wire(sorted[i], now_ns, &out[i]);
    }
    return n;
}

int vmet_table_get(const struct vmet_table *t, uint64_t key, int64_t now_ns,
                   struct vmet_vm *vm_out, struct vmet_vcpu *vcpus, unsigned cap)
{
    const struct vmet_tvm *vm = find_vm_const(t, key);

    return vm ? (int)vmet_tvm_get(vm, now_ns, vm_out, vcpus, cap) : -ENOENT;
}
