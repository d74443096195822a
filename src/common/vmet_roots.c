/* V-Met's roots page (vmet_roots.h). Pure C; the atomics are GCC's builtins. */
#include <errno.h>
#include <string.h>

#include "vmet_roots.h"

/* Words of a VM record before its tag: what every capture rewrites. */
#define TVM_HDR_WORDS (offsetof(struct vmet_tvm, tag) / 8)

_Static_assert(sizeof(struct vmet_tvcpu) % 8 == 0, "vCPU record is whole words");
_Static_assert(sizeof(struct vmet_tvm) % 8 == 0, "VM record is whole words");
_Static_assert(offsetof(struct vmet_tvm, vcpus) % 8 == 0, "vCPUs start on a word");
_Static_assert(offsetof(struct vmet_tvm, used) / 8 < TVM_HDR_WORDS, "used is in the header");
_Static_assert(offsetof(struct vmet_roots_page, slots) == 64, "64-byte page header");

/* --- records --------------------------------------------------------------------- */

static uint64_t idle(int64_t last_ns, int64_t now_ns)
{
    return now_ns > last_ns ? (uint64_t)(now_ns - last_ns) : 0;
}

void vmet_tvm_to_wire(const struct vmet_tvm *vm, int64_t now_ns, struct vmet_vm *out)
{
    unsigned n = 0;

    for (unsigned i = 0; i < VMET_MAX_VCPUS; i++) {
        n += vm->vcpus[i].used != 0;
    }
    memset(out, 0, sizeof(*out));
    out->key = vm->key;
    out->generation = vm->generation;
    out->seq = vm->seq;
    out->idle_ns = idle(vm->last_ns, now_ns);
    out->nvcpus = n;
    out->flags = (vm->key == VMET_KEY_NONNESTED ? VMET_VM_NONNESTED : 0) |
                 (vm->tag[0] ? VMET_VM_TAGGED : 0);
    memcpy(out->tag, vm->tag, VMET_TAG_SIZE);
}

unsigned vmet_tvm_get(const struct vmet_tvm *vm, int64_t now_ns, struct vmet_vm *out,
                      struct vmet_vcpu *vcpus, unsigned cap)
{
    const struct vmet_tvcpu *sorted[VMET_MAX_VCPUS];
    unsigned n = 0;

    for (unsigned i = 0; i < VMET_MAX_VCPUS; i++) {
        const struct vmet_tvcpu *c = &vm->vcpus[i];
        unsigned j;

        if (!c->used) {
            continue;
        }
        for (j = n++; j > 0 && sorted[j - 1]->last_ns < c->last_ns; j--) {
            sorted[j] = sorted[j - 1];
        }
        sorted[j] = c;
    }
    vmet_tvm_to_wire(vm, now_ns, out);
    if (n > cap) {
        n = cap;
    }
    out->nvcpus = n;
    for (unsigned i = 0; i < n; i++) {
        const struct vmet_tvcpu *c = sorted[i];

        memset(&vcpus[i], 0, sizeof(vcpus[i]));
        vcpus[i].vmcb = c->vmcb;
        vcpus[i].cr3 = c->regs.cr3;
        vcpus[i].cr0 = c->regs.cr0;
        vcpus[i].cr4 = c->regs.cr4;
        vcpus[i].efer = c->regs.efer;
        vcpus[i].captures = c->captures;
        vcpus[i].idle_ns = idle(c->last_ns, now_ns);
        vcpus[i].l0_cpu = c->l0_cpu;
        vcpus[i].npt_levels = c->npt_levels;
        vcpus[i].flags = c->in_guest ? VMET_VCPU_IN_GUEST : 0;
    }
    return n;
}

/* --- writer ------------------------------------------------------------------------ */

void vmet_roots_init(struct vmet_roots_page *p)
{
    memset(p, 0, sizeof(*p));
    p->nslots = VMET_MAX_VMS;
    p->slot_size = sizeof(struct vmet_roots_slot);
    __atomic_store_n(&p->magic, VMET_ROOTS_MAGIC, __ATOMIC_RELEASE);
}

static void store_words(uint64_t *dst, const uint64_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        __atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
    }
}

void vmet_roots_publish(struct vmet_roots_page *p, unsigned slot, const struct vmet_tvm *vm,
                        const struct vmet_tvcpu *vcpu)
{
    uint64_t w[VMET_TVM_WORDS];
    struct vmet_roots_slot *s;
    size_t first = 0;
    uint64_t v;

    if (slot >= VMET_MAX_VMS) {
        return;
    }
    s = &p->slots[slot];
    if (vcpu && vcpu >= vm->vcpus && vcpu < vm->vcpus + VMET_MAX_VCPUS) {
        first = offsetof(struct vmet_tvm, vcpus) / 8 +
                (size_t)(vcpu - vm->vcpus) * (sizeof(*vcpu) / 8);
        memcpy(w, vm, TVM_HDR_WORDS * 8);
        memcpy(w + first, vcpu, sizeof(*vcpu));
    } else {
        memcpy(w, vm, sizeof(*vm));
    }
    v = __atomic_load_n(&s->version, __ATOMIC_RELAXED);
    __atomic_store_n(&s->version, v + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    if (first) {
        store_words(s->words, w, TVM_HDR_WORDS);
        store_words(s->words + first, w + first, sizeof(*vcpu) / 8);
    } else {
        store_words(s->words, w, VMET_TVM_WORDS);
    }
    __atomic_store_n(&s->version, v + 2, __ATOMIC_RELEASE);
}

/* --- reader ------------------------------------------------------------------------ */

int vmet_roots_check(const struct vmet_roots_page *p, size_t len)
{
    if (len < sizeof(*p) ||
        __atomic_load_n(&p->magic, __ATOMIC_ACQUIRE) != VMET_ROOTS_MAGIC ||
        p->nslots != VMET_MAX_VMS || p->slot_size != sizeof(struct vmet_roots_slot)) {
        return -EPROTO;
    }
    return 0;
}

/* Words [0, n) of slot s as of one moment. Returns 0, or -EAGAIN. */
static int slot_copy(const struct vmet_roots_slot *s, uint64_t *dst, size_t n)
{
    for (unsigned t = 0; t < VMET_ROOTS_TRIES; t++) {
        uint64_t v = __atomic_load_n(&s->version, __ATOMIC_ACQUIRE);

        if (v & 1) {
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            dst[i] = __atomic_load_n(&s->words[i], __ATOMIC_RELAXED);
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->version, __ATOMIC_RELAXED) == v) {
            return 0;
        }
    }
    return -EAGAIN;
}

int vmet_roots_get(const struct vmet_roots_page *p, uint64_t key, int64_t now_ns,
                   unsigned *hint, struct vmet_vm *out, struct vmet_vcpu *vcpus,
                   unsigned cap)
{
    uint64_t w[VMET_TVM_WORDS];
    struct vmet_tvm vm;
    unsigned start = *hint < VMET_MAX_VMS ? *hint : 0;

    for (unsigned k = 0; k < VMET_MAX_VMS; k++) {
        unsigned i = (start + k) % VMET_MAX_VMS;
        int rc = slot_copy(&p->slots[i], w, TVM_HDR_WORDS);

        if (rc < 0) {
            return rc;
        }
        memcpy(&vm, w, TVM_HDR_WORDS * 8);
        if (!vm.used || vm.key != key) {
            continue;
        }
        rc = slot_copy(&p->slots[i], w, VMET_TVM_WORDS);
        if (rc < 0) {
            return rc;
        }
        memcpy(&vm, w, sizeof(vm));
        if (!vm.used || vm.key != key) {
            continue;           /* re-keyed between the two reads */
        }
        *hint = i;
        return (int)vmet_tvm_get(&vm, now_ns, out, vcpus, cap);
    }
    return -ENOENT;
}
