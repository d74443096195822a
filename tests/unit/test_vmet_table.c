/* sources: src/l0/vmet/vmet_table.c src/common/vmet_roots.c */
/*
 * L0's record of user VMs' roots: VMs appear at VMRUN, captures update
 * them, a reset-state VMRUN starts a new instance, a vCPU arriving on a new
 * nested root moves its VM, tags follow accepted VMTAG_SETs, and the table
 * stays bounded (the least recently run VM / vCPU gives way). Each case is
 * a script of events and checks on the resulting table.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"
#include "vmet/vmet_table.h"

static struct vmet_table t;
static struct vmet_roots_page page;
static struct vmet_vm vms[VMET_MAX_VMS];
static struct vmet_vcpu vc[VMET_MAX_VCPUS];

static struct vmet_regs regs(uint64_t cr3)
{
    return (struct vmet_regs){ .cr0 = 0x80050033, .cr3 = cr3, .cr4 = 0x1ef0, .efer = 0xd01 };
}

static enum vmet_vmrun_event run(uint64_t key, uint64_t vmcb, uint64_t cr3, bool reset,
                                 int64_t now)
{
    struct vmet_regs r = regs(cr3);

    return vmet_table_vmrun(&t, key, vmcb, &r, 4, 0, reset, now);
}

static void tag(char out[VMET_TAG_SIZE], const char *name)
{
    memset(out, 0, VMET_TAG_SIZE);
    strncpy(out, name, VMET_TAG_SIZE - 1);
}

/* Each case returns NULL on success or what went wrong. */
static const char *c_new_vm(void)
{
    if (run(0x1000, 0xa000, 0x5000, true, 1) != VMET_EV_NEW) {
        return "first VMRUN is not NEW";
    }
    if (vmet_table_list(&t, 10, vms, VMET_MAX_VMS) != 1 || vms[0].key != 0x1000 ||
        vms[0].seq != 1 || vms[0].nvcpus != 1 || vms[0].idle_ns != 9 || vms[0].flags) {
        return "list does not show the VM";
    }
    if (vmet_table_get(&t, 0x1000, 10, &vms[0], vc, VMET_MAX_VCPUS) != 1 ||
        vc[0].cr3 != 0x5000 || vc[0].vmcb != 0xa000 || vc[0].npt_levels != 4 ||
        !(vc[0].flags & VMET_VCPU_IN_GUEST)) {
        return "get does not show the vCPU";
    }
    return NULL;
}

static const char *c_capture_cr3_and_exit(void)
{
    struct vmet_regs r = regs(0x7000);

    run(0x1000, 0xa000, 0x5000, true, 1);
    if (vmet_table_capture(&t, 0x1000, 0xa000, &r, 0, true, 2) < 0) {
        return "capture refused";
    }
    r.cr3 = 0x8000;
    vmet_table_capture(&t, 0x1000, 0xa000, &r, 0, false, 3);
    vmet_table_get(&t, 0x1000, 3, &vms[0], vc, VMET_MAX_VCPUS);
    if (vc[0].cr3 != 0x8000 || vc[0].captures != 3 || (vc[0].flags & VMET_VCPU_IN_GUEST)) {
        return "capture not recorded";
    }
    return NULL;
}

static const char *c_capture_unknown(void)
{
    struct vmet_regs r = regs(0x7000);

    run(0x1000, 0xa000, 0x5000, true, 1);
    if (vmet_table_capture(&t, 0x2000, 0xa000, &r, 0, true, 2) != -ENOENT ||
        vmet_table_capture(&t, 0x1000, 0xb000, &r, 0, true, 2) != -ENOENT ||
        vmet_table_capture(&t, 0, 0xa000, &r, 0, true, 2) != -ENOENT) {
        return "unknown key/vmcb accepted";
    }
    return NULL;
}

static const char *c_reset_new_instance(void)
{
    char tg[VMET_TAG_SIZE];

    run(0x1000, 0xa000, 0x5000, true, 1);
    run(0x1000, 0xa000, 0x6000, false, 2);
    tag(tg, "web");
    vmet_table_set_tag(&t, 0x1000, tg);
    if (run(0x1000, 0xa000, 0x0, true, 3) != VMET_EV_RESET) {
        return "reset-state VMRUN not a new instance";
    }
    vmet_table_list(&t, 3, vms, VMET_MAX_VMS);
    if (vms[0].generation != 2 || vms[0].tag[0] || vms[0].seq != 1) {
        return "new instance keeps generation or tag";
    }
    return NULL;
}

static const char *c_root_moved(void)
{
    run(0x1000, 0xa000, 0x5000, true, 1);
    if (run(0x2000, 0xa000, 0x5000, false, 2) != VMET_EV_MOVED) {
        return "same VMCB on a new root is not MOVED";
    }
    if (vmet_table_list(&t, 2, vms, VMET_MAX_VMS) != 1 || vms[0].key != 0x2000 ||
        vms[0].generation != 2 || vms[0].seq != 1) {
        return "moved VM not re-keyed";
    }
    return NULL;
}

static const char *c_new_vm_reusing_vmcb(void)
{
    run(0x1000, 0xa000, 0x5000, true, 1);
    /* A new VM (reset state) whose VMCB page was the old VM's: two VMs, vCPU moves. */
    if (run(0x2000, 0xa000, 0x5000, true, 2) != VMET_EV_NEW) {
        return "reset-state VMRUN on a new root is not NEW";
    }
    if (vmet_table_list(&t, 2, vms, VMET_MAX_VMS) != 2 || vms[0].nvcpus != 0 ||
        vms[1].nvcpus != 1) {
        return "the old VM still claims the VMCB";
    }
    return NULL;
}

static const char *c_two_vcpus(void)
{
    run(0x1000, 0xa000, 0x5000, true, 1);
    run(0x1000, 0xb000, 0x6000, false, 5);
    if (vmet_table_get(&t, 0x1000, 5, &vms[0], vc, VMET_MAX_VCPUS) != 2 ||
        vc[0].vmcb != 0xb000 || vc[1].vmcb != 0xa000) {
        return "vCPUs not listed most recent first";
    }
    if (vmet_table_get(&t, 0x1000, 5, &vms[0], vc, 1) != 1 || vms[0].nvcpus != 1) {
        return "cap not honoured";
    }
    return NULL;
}

static const char *c_vcpu_overflow(void)
{
    for (unsigned i = 0; i <= VMET_MAX_VCPUS; i++) {
        run(0x1000, 0x10000 + i * 0x1000, 0x5000, i == 0, 1 + i);
    }
    vmet_table_get(&t, 0x1000, 100, &vms[0], vc, VMET_MAX_VCPUS);
    if (vms[0].nvcpus != VMET_MAX_VCPUS || vc[0].vmcb != 0x10000 + VMET_MAX_VCPUS * 0x1000 ||
        vc[VMET_MAX_VCPUS - 1].vmcb != 0x11000) {
        return "17th vCPU did not replace the oldest";
    }
    return NULL;
}

static const char *c_vm_eviction(void)
{
    for (unsigned i = 0; i < VMET_MAX_VMS; i++) {
        run(0x100000 + i * 0x1000, 0x900000 + i * 0x1000, 0x5000, true, 10 + i);
    }
    run(0x100000, 0x900000, 0x5000, false, 1000);   /* the first VM runs again */
    if (run(0x800000, 0xf00000, 0x5000, true, 1001) != VMET_EV_EVICTED) {
        return "65th VM did not evict";
    }
    if (vmet_table_get(&t, 0x101000, 1001, &vms[0], vc, 1) != -ENOENT ||
        vmet_table_get(&t, 0x100000, 1001, &vms[0], vc, 1) != 1) {
        return "evicted the wrong VM (want the least recently run)";
    }
    return NULL;
}

static const char *c_tags(void)
{
    char tg[VMET_TAG_SIZE], bad[VMET_TAG_SIZE];

    run(0x1000, 0xa000, 0x5000, true, 1);
    run(0x2000, 0xb000, 0x5000, true, 2);
    tag(tg, "vm0");
    tag(bad, "Bad Tag");
    if (vmet_table_set_tag(&t, 0x1000, tg) != 0 || vmet_table_set_tag(&t, 0x1000, bad) != -EINVAL ||
        vmet_table_set_tag(&t, 0x3000, tg) != -ENOENT ||
        vmet_table_set_tag(&t, 0, tg) != -ENOENT) {
        return "set_tag results";
    }
    vmet_table_set_tag(&t, 0x2000, tg);          /* the tag moves to the new holder */
    vmet_table_list(&t, 2, vms, VMET_MAX_VMS);
    if (vms[0].tag[0] || (vms[0].flags & VMET_VM_TAGGED) || strcmp(vms[1].tag, "vm0") ||
        !(vms[1].flags & VMET_VM_TAGGED)) {
        return "tag not unique";
    }
    return NULL;
}

static const char *c_nonnested(void)
{
    struct vmet_regs r = regs(0x5000);

    vmet_table_capture_nonnested(&t, &r, 0, 1);
    r.cr3 = 0x6000;
    vmet_table_capture_nonnested(&t, &r, 1, 2);
    r.cr3 = 0x7000;
    vmet_table_capture_nonnested(&t, &r, 0, 3);
    if (vmet_table_get(&t, VMET_KEY_NONNESTED, 3, &vms[0], vc, VMET_MAX_VCPUS) != 2 ||
        !(vms[0].flags & VMET_VM_NONNESTED) || vc[0].cr3 != 0x7000 || vc[0].l0_cpu != 0 ||
        vc[1].cr3 != 0x6000 || vc[0].vmcb != 0) {
        return "non-nested vCPUs by L0 CPU";
    }
    if (run(VMET_KEY_NONNESTED, 0xa000, 0x5000, true, 4) != VMET_EV_NONE ||
        vmet_table_get(&t, VMET_KEY_NONNESTED, 4, &vms[0], vc, VMET_MAX_VCPUS) != 2) {
        return "a nested root 0 was recorded";
    }
    return NULL;
}

static const char *c_list_order_and_cap(void)
{
    run(0x3000, 0xc000, 0x5000, true, 1);
    run(0x1000, 0xa000, 0x5000, true, 2);
    run(0x2000, 0xb000, 0x5000, true, 3);
    if (vmet_table_list(&t, 3, vms, 2) != 2 || vms[0].key != 0x3000 || vms[1].key != 0x1000) {
        return "list not in first-appearance order or cap ignored";
    }
    return NULL;
}

static const struct {
    const char *name;
    const char *(*run)(void);
} cases[] = {
    { "table_new_vm", c_new_vm },
    { "table_capture_cr3_and_exit", c_capture_cr3_and_exit },
    { "table_capture_unknown_refused", c_capture_unknown },
    { "table_reset_is_new_instance", c_reset_new_instance },
    { "table_root_moved_rekeys", c_root_moved },
    { "table_new_vm_reusing_vmcb", c_new_vm_reusing_vmcb },
    { "table_two_vcpus", c_two_vcpus },
    { "table_vcpu_overflow_bounded", c_vcpu_overflow },
    { "table_vm_eviction_lru", c_vm_eviction },
    { "table_tags", c_tags },
    { "table_nonnested", c_nonnested },
    { "table_list_order_and_cap", c_list_order_and_cap },
};

/*
 * The roots page mirrors the table after every change: each slot holds its
 * table entry byte for byte (a mutation that forgot to publish, or
 * published only part of what it changed, shows here), and answers as the
 * table does.
 */
static const char *page_mirrors_table(void)
{
    struct vmet_vm pv;
    struct vmet_vcpu pc[VMET_MAX_VCPUS];
    unsigned hint = 0;

    if (vmet_roots_check(&page, sizeof(page)) < 0) {
        return "page header";
    }
    for (unsigned i = 0; i < VMET_MAX_VMS; i++) {
        int n, m;

        if (page.slots[i].version & 1 ||
            memcmp(page.slots[i].words, &t.vms[i], sizeof(t.vms[i]))) {
            return "a slot differs from its table entry";
        }
        if (!t.vms[i].used) {
            continue;
        }
        n = vmet_table_get(&t, t.vms[i].key, 5000, &vms[0], vc, VMET_MAX_VCPUS);
        m = vmet_roots_get(&page, t.vms[i].key, 5000, &hint, &pv, pc, VMET_MAX_VCPUS);
        if (n != m || hint != i || memcmp(&pv, &vms[0], sizeof(pv)) ||
            memcmp(pc, vc, (size_t)n * sizeof(pc[0]))) {
            return "the page answers otherwise than the table";
        }
    }
    return NULL;
}

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[96];
        const char *why;

        vmet_table_init(&t);
        why = cases[i].run();
        unit_check(cases[i].name, why == NULL, "%s", why ? why : "");
        /* Again with a roots page attached from the start. */
        vmet_table_init(&t);
        memset(&page, 0xa5, sizeof(page));
        vmet_table_publish_to(&t, &page);
        why = cases[i].run();
        if (!why) {
            why = page_mirrors_table();
        }
        snprintf(name, sizeof(name), "%s_published", cases[i].name);
        unit_check(name, why == NULL, "%s", why ? why : "");
    }
    return unit_exit();
}
