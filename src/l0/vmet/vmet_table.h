/*
 * V-Met's record of each user VM's page-table roots, as L0 observes them at
 * VMRUN, MOV CR3 and #VMEXIT (papers/001 sec. 3.2-3.3), never as L1 reports
 * them. Pure C (no QEMU): vmet.c holds the lock and the clock, calls in,
 * and gives the roots page (vmet_roots.h) every change is published to;
 * tests/unit/test_vmet_table.c drives it directly.
 *
 * One VM per key (its nested CR3; VMET_KEY_NONNESTED for L0's own guest),
 * one vCPU per VMCB (nested) or per L0 vCPU index (non-nested). Bounded:
 * VMET_MAX_VMS VMs (the least recently run one gives way) and
 * VMET_MAX_VCPUS vCPUs per VM (the least recently captured one gives way),
 * so no guest behaviour can grow L0's memory.
 */
#ifndef NVSEC_VMET_TABLE_H
#define NVSEC_VMET_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmet_proto.h"
#include "vmet_roots.h"

/* The records (struct vmet_tvm, vmet_tvcpu) are vmet_roots.h's, published as they are. */
struct vmet_table {
    struct vmet_tvm vms[VMET_MAX_VMS];
    uint64_t next_seq;
    struct vmet_roots_page *pub;     /* where changes are published, or NULL */
};

/* What vmet_table_vmrun() found, for L0's log. */
enum vmet_vmrun_event {
    VMET_EV_NONE = 0,    /* a VM already known */
    VMET_EV_NEW,         /* first VMRUN at this key */
    VMET_EV_RESET,       /* a new instance at a known key (reset-state VMRUN) */
    VMET_EV_MOVED,       /* a known vCPU (VMCB) now runs on another nested root */
    VMET_EV_EVICTED,     /* new, and the least recently run VM made room */
};

void vmet_table_init(struct vmet_table *t);

/*
 * From now on publish every change of t to page (slot i = t->vms[i]), which
 * is initialised and filled with t's current state first.
 */
void vmet_table_publish_to(struct vmet_table *t, struct vmet_roots_page *page);

/*
 * VMRUN into a user VM with nested paging: key = nested CR3, vmcb = the VMCB's
 * L1-physical address, regs = the guest state just loaded, npt_levels = 4 or
 * 5, reset = the VMCB holds the architectural reset state (a new VM instance,
 * see vmet.c). Records the vCPU as running. Returns the event.
 */
enum vmet_vmrun_event vmet_table_vmrun(struct vmet_table *t, uint64_t key,
                                       uint64_t vmcb, const struct vmet_regs *regs,
                                       uint32_t npt_levels, uint32_t l0_cpu,
                                       bool reset, int64_t now_ns);

/*
 * A capture in a known nested VM: MOV CR3 in guest mode (in_guest true) or
 * #VMEXIT (in_guest false). Returns 0, or -ENOENT if (key, vmcb) was never
 * seen at VMRUN (then nothing is recorded: only VMRUN creates entries).
 */
int vmet_table_capture(struct vmet_table *t, uint64_t key, uint64_t vmcb,
                       const struct vmet_regs *regs, uint32_t l0_cpu,
                       bool in_guest, int64_t now_ns);

/*
 * MOV CR3 by L0's own guest outside guest mode (the non-nested user VM, or
 * L1): recorded under VMET_KEY_NONNESTED, one vCPU per l0_cpu. Returns 0.
 */
int vmet_table_capture_nonnested(struct vmet_table *t, const struct vmet_regs *regs,
                                 uint32_t l0_cpu, int64_t now_ns);

/*
 * The VM at key registered tag (a VMTAG_SET ultracall that VSBypass accepted).
 * A stale VM holding the same tag loses it (the tag names one live VM).
 * Returns 0, -EINVAL for an invalid tag, -ENOENT for an unknown key.
 */
int vmet_table_set_tag(struct vmet_table *t, uint64_t key,
                       const char tag[VMET_TAG_SIZE]);

/* All VMs, in order of first appearance. Returns how many were written (<= cap). */
unsigned vmet_table_list(const struct vmet_table *t, int64_t now_ns,
                         struct vmet_vm *out, unsigned cap);

/*
 * One VM and its vCPUs (most recently captured first). Returns the number of
 * vCPUs written (<= cap), or -ENOENT for an unknown key.
 */
int vmet_table_get(const struct vmet_table *t, uint64_t key, int64_t now_ns,
                   struct vmet_vm *vm, struct vmet_vcpu *vcpus, unsigned cap);

#endif
