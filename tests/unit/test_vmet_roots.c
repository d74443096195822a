/* sources: src/common/vmet_roots.c */
/* libs: -pthread */
/*
 * V-Met's roots page as the IDS reads it: the header check refuses what is
 * not this build's page, lookups by key (with and without a right hint),
 * a slot that stays odd ends in -EAGAIN instead of a spin, and a reader
 * racing a writer only ever sees whole records.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "vmet_roots.h"

static struct vmet_roots_page page;

static struct vmet_tvm vm_at(uint64_t key, uint64_t cr3)
{
    struct vmet_tvm vm;

    memset(&vm, 0, sizeof(vm));
    vm.used = 1;
    vm.key = key;
    vm.generation = 1;
    vm.seq = key >> 12;
    vm.last_ns = 100;
    vm.vcpus[0].used = 1;
    vm.vcpus[0].vmcb = 0xa000;
    vm.vcpus[0].regs.cr3 = cr3;
    vm.vcpus[0].npt_levels = 4;
    vm.vcpus[0].last_ns = 100;
    return vm;
}

static const char *c_check_header(void)
{
    vmet_roots_init(&page);
    if (vmet_roots_check(&page, sizeof(page)) != 0) {
        return "a fresh page is refused";
    }
    if (vmet_roots_check(&page, sizeof(page) - 1) != -EPROTO) {
        return "a short mapping is accepted";
    }
    page.slot_size++;
    if (vmet_roots_check(&page, sizeof(page)) != -EPROTO) {
        return "another slot size is accepted";
    }
    vmet_roots_init(&page);
    page.magic ^= 1;
    if (vmet_roots_check(&page, sizeof(page)) != -EPROTO) {
        return "a bad magic is accepted";
    }
    vmet_roots_init(&page);
    page.nslots = VMET_MAX_VMS + 1;
    return vmet_roots_check(&page, sizeof(page)) == -EPROTO ? NULL :
           "another slot count is accepted";
}

static const char *c_get_by_key(void)
{
    struct vmet_tvm a = vm_at(0x1000, 0x5000), b = vm_at(0x2000, 0x6000);
    struct vmet_vm out;
    struct vmet_vcpu vc[VMET_MAX_VCPUS];
    unsigned hint = 7;

    vmet_roots_init(&page);
    vmet_roots_publish(&page, 3, &a, NULL);
    vmet_roots_publish(&page, 40, &b, NULL);
    if (vmet_roots_get(&page, 0x2000, 150, &hint, &out, vc, VMET_MAX_VCPUS) != 1 ||
        hint != 40 || out.key != 0x2000 || out.idle_ns != 50 || vc[0].cr3 != 0x6000) {
        return "key not found from a wrong hint";
    }
    if (vmet_roots_get(&page, 0x1000, 150, &hint, &out, vc, VMET_MAX_VCPUS) != 1 ||
        hint != 3 || vc[0].cr3 != 0x5000) {
        return "second key";
    }
    hint = 1000;
    if (vmet_roots_get(&page, 0x3000, 150, &hint, &out, vc, VMET_MAX_VCPUS) != -ENOENT ||
        hint != 1000) {
        return "unknown key not -ENOENT, or the hint moved";
    }
    a.used = 0;
    vmet_roots_publish(&page, 3, &a, NULL);
    if (vmet_roots_get(&page, 0x1000, 150, &hint, &out, vc, VMET_MAX_VCPUS) != -ENOENT) {
        return "an unused slot answers";
    }
    vmet_roots_publish(&page, VMET_MAX_VMS, &a, NULL);   /* out of range: ignored */
    return NULL;
}

static const char *c_partial_publish(void)
{
    struct vmet_tvm a = vm_at(0x1000, 0x5000), shown;
    struct vmet_vm out;
    struct vmet_vcpu vc[VMET_MAX_VCPUS];
    unsigned hint = 0;

    vmet_roots_init(&page);
    vmet_roots_publish(&page, 0, &a, NULL);
    a.vcpus[1] = a.vcpus[0];
    a.vcpus[1].regs.cr3 = 0x9000;
    a.vcpus[1].last_ns = 200;
    a.last_ns = 200;
    a.tag[0] = 'x';                       /* not part of a vCPU publish */
    vmet_roots_publish(&page, 0, &a, &a.vcpus[1]);
    if (vmet_roots_get(&page, 0x1000, 300, &hint, &out, vc, VMET_MAX_VCPUS) != 2 ||
        vc[0].cr3 != 0x9000 || out.idle_ns != 100 || out.tag[0]) {
        return "a vCPU publish did not show the vCPU and header only";
    }
    memcpy(&shown, page.slots[0].words, sizeof(shown));
    shown.tag[0] = 'x';
    return memcmp(&shown, &a, sizeof(a)) ? "a vCPU publish wrote elsewhere" : NULL;
}

static const char *c_stuck_slot(void)
{
    struct vmet_tvm a = vm_at(0x1000, 0x5000);
    struct vmet_vm out;
    struct vmet_vcpu vc[VMET_MAX_VCPUS];
    unsigned hint = 0;

    vmet_roots_init(&page);
    vmet_roots_publish(&page, 0, &a, NULL);
    page.slots[0].version |= 1;           /* a writer that never finished */
    return vmet_roots_get(&page, 0x1000, 0, &hint, &out, vc, VMET_MAX_VCPUS) == -EAGAIN ?
           NULL : "a slot left odd is not -EAGAIN";
}

/*
 * A writer thread keeps rewriting one VM, whole or one vCPU at a time, with
 * every field of a version derived from one counter; the reader checks that
 * each record it gets is one version, never a mix.
 */
#define RACE_WRITES 200000u

static volatile int race_done;

static void *race_writer(void *arg)
{
    struct vmet_tvm vm = vm_at(0x1000, 0);

    (void)arg;
    for (uint64_t i = 1; i <= RACE_WRITES; i++) {
        struct vmet_tvcpu *c = &vm.vcpus[0];

        c->regs.cr3 = c->regs.cr0 = c->regs.cr4 = c->regs.efer = i << 12;
        c->captures = i;
        c->last_ns = vm.last_ns = (int64_t)i;
        vm.generation = i;                /* header words: in both kinds of publish */
        vmet_roots_publish(&page, 5, &vm, i % 3 ? c : NULL);
    }
    __atomic_store_n(&race_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static const char *c_race(void)
{
    struct vmet_tvm a = vm_at(0x1000, 0);
    struct vmet_vm out;
    struct vmet_vcpu vc[VMET_MAX_VCPUS];
    unsigned hint = 0, reads = 0;
    const char *why = NULL;
    pthread_t th;

    vmet_roots_init(&page);
    vmet_roots_publish(&page, 5, &a, NULL);
    race_done = 0;
    if (pthread_create(&th, NULL, race_writer, NULL) != 0) {
        return "pthread_create";
    }
    while (!__atomic_load_n(&race_done, __ATOMIC_ACQUIRE) && !why) {
        int n = vmet_roots_get(&page, 0x1000, 0, &hint, &out, vc, VMET_MAX_VCPUS);

        reads++;
        if (n == -EAGAIN) {
            continue;
        }
        if (n != 1) {
            why = "VM lost during writes";
        } else if (vc[0].cr3 != vc[0].captures << 12 || vc[0].cr0 != vc[0].cr3 ||
                   vc[0].cr4 != vc[0].cr3 || vc[0].efer != vc[0].cr3 ||
                   out.generation != (vc[0].captures ? vc[0].captures : 1)) {
            why = "a record mixed two versions";
        }
    }
    pthread_join(th, NULL);
    if (!why && reads == 0) {
        why = "the reader never ran";
    }
    return why;
}

static const struct {
    const char *name;
    const char *(*run)(void);
} cases[] = {
    { "roots_check_header", c_check_header },
    { "roots_get_by_key", c_get_by_key },
    { "roots_partial_publish", c_partial_publish },
    { "roots_stuck_slot_eagain", c_stuck_slot },
    { "roots_reader_never_sees_a_torn_record", c_race },
};

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = cases[i].run();

        unit_check(cases[i].name, why == NULL, "%s", why ? why : "");
    }
    return unit_exit();
}
