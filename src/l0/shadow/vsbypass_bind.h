/*
 * Binding of user VMs (L2) to shadow devices, keyed by the VM's nested CR3
 * (the root of the nested page table L1's hypervisor built for it; SVM's
 * counterpart of the EPT pointer the paper keys on, papers/000 sec. 4.1).
 *
 * A first-seen nested CR3 takes a device from a pool created at start; when
 * the pool is empty the caller creates one on demand and retries (the paper
 * left on-demand creation as future work). Bindings end when L0 sees a new VM
 * instance (vsbypass_table_vmrun), when a stale binding's tag is claimed by
 * another VM, or when the caller reaps stale bindings to bound L0's resources.
 *
 * One VM, several roots: unlike Xen's EPT pointer in the paper, KVM replaces
 * a VM's NPT root while it runs (all roots become obsolete on a memslot
 * change, e.g. while the BIOS remaps shadow RAM; SMM has its own root). What
 * stays is the vCPU's VMCB, so vsbypass_table_vmrun remembers the root each
 * VMCB last entered and moves a binding along when its vCPU enters a new,
 * unbound root. A VMRUN in the reset state breaks that chain.
 *
 * "Stale": no VMRUN of that nested CR3 for stale_ns. A VM that still runs
 * enters its guest at least on every timer tick; one whose VMRUNs stopped has
 * been destroyed or paused by L1, and its name may move on.
 *
 * Pure C: devices are opaque pointers owned by the caller. Not thread-safe:
 * the caller holds one lock around every call (in L0, the table's mutex).
 */
#ifndef NVSEC_VSBYPASS_BIND_H
#define NVSEC_VSBYPASS_BIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ultracall_abi.h"

struct vsbypass_binding {
    uint64_t ncr3;
    uint64_t id;                        /* unique per binding, never reused */
    void *dev;                          /* the shadow device bound */
    char tag[ULTRACALL_VMTAG_SIZE];     /* "" until the VM registers one */
    int64_t last_run_ns;                /* last VMRUN seen (or bind time) */
};

/*
 * The root each vCPU (named by its VMCB's address) last entered. A fixed
 * number of slots, the least recently used one recycled: entries of
 * destroyed vCPUs age out, and with more running vCPUs than slots the only
 * loss is a binding not following a root change.
 */
#define VSBYPASS_VCPU_SLOTS 64

struct vsbypass_vcpu {
    uint64_t vmcb;
    uint64_t ncr3;
    int64_t seen_ns;                    /* 0: slot free */
};

struct vsbypass_table {
    struct vsbypass_binding **b;        /* stable pointers while bound */
    size_t nb, capb;
    void **pool;                        /* unbound devices */
    size_t npool, cappool;
    uint64_t next_id;
    int64_t stale_ns;
    struct vsbypass_vcpu vcpu[VSBYPASS_VCPU_SLOTS];
};

/* Empty table; bindings idle for stale_ns (> 0) are stale. 0 or -EINVAL. */
int vsbypass_table_init(struct vsbypass_table *t, int64_t stale_ns);

/* Free the table's own memory (not the devices, which the caller owns). */
void vsbypass_table_destroy(struct vsbypass_table *t);

/* Add an unbound device to the pool. 0, -EINVAL (dev NULL), -ENOMEM. */
int vsbypass_table_pool_put(struct vsbypass_table *t, void *dev);

size_t vsbypass_table_pool_size(const struct vsbypass_table *t);

/* The binding of ncr3, or NULL. The pointer is valid until it is unbound. */
struct vsbypass_binding *vsbypass_table_lookup(const struct vsbypass_table *t,
                                               uint64_t ncr3);

/* The binding holding tag (a valid tag), or NULL. */
struct vsbypass_binding *vsbypass_table_find_tag(const struct vsbypass_table *t,
                                                 const char *tag);

/*
 * The binding of ncr3, created from the pool if there is none (*created
 * tells which). Returns 0, -ENOSPC if a new binding is needed and the pool
 * is empty (add a device and call again), -ENOMEM.
 */
int vsbypass_table_bind(struct vsbypass_table *t, uint64_t ncr3, int64_t now_ns,
                        struct vsbypass_binding **out, bool *created);

/*
 * End ncr3's binding; *dev receives its device, which the caller resets
 * before reuse. Returns 0 or -ENOENT (no binding; *dev = NULL).
 */
int vsbypass_table_unbind(struct vsbypass_table *t, uint64_t ncr3, void **dev);

/* Record a VMRUN of ncr3. Returns true if ncr3 is bound. */
bool vsbypass_table_touch(struct vsbypass_table *t, uint64_t ncr3, int64_t now_ns);

/*
 * Account a VMRUN by the vCPU whose VMCB is at vmcb, entering nested CR3
 * ncr3 (now_ns > 0); reset: the guest state loaded is the architectural
 * reset state, i.e. a new VM instance (or a reboot) starts on this vCPU.
 *  - reset: the bindings at ncr3 and at the root this vCPU last entered
 *    end, their devices go to dropped[0..1] (NULL where none), to be reset;
 *  - otherwise, if this vCPU last entered another root that is bound and
 *    ncr3 is not bound, that binding moves to ncr3 (the VM's root changed);
 *  - the binding at ncr3, if any, is marked live (see touch).
 * Returns 1 if a binding moved, else 0.
 */
int vsbypass_table_vmrun(struct vsbypass_table *t, uint64_t vmcb, uint64_t ncr3,
                         bool reset, int64_t now_ns, void *dropped[2]);

/*
 * Give ncr3's binding the tag field tag (ULTRACALL_VMTAG_SIZE bytes).
 * Returns 0 (also when it holds that tag already), -ENOENT ncr3 not bound,
 * -EINVAL invalid tag, -EBUSY the binding already holds another tag,
 * -EEXIST a live binding holds tag. A stale binding holding tag is unbound
 * to free the name: *evicted receives its binding's ncr3 and device, to be
 * reset by the caller (*evicted_dev = NULL when none was).
 */
int vsbypass_table_set_tag(struct vsbypass_table *t, uint64_t ncr3,
                           const char *tag, int64_t now_ns,
                           uint64_t *evicted_ncr3, void **evicted_dev);

/*
 * USShadow: bind a restored device dev (not in the table or pool) to ncr3
 * under tag, for a user VM that registers the tag of a state restored on
 * this L0. If ncr3 is bound without a tag (the VM touched COM1 before
 * registering), its device is replaced and goes to *replaced for the caller
 * to release; else *replaced = NULL. Returns 0, -EINVAL (bad tag, dev NULL),
 * -EEXIST another binding holds tag, -EBUSY ncr3 holds another tag,
 * -ENOMEM. On error the table is unchanged.
 */
int vsbypass_table_adopt(struct vsbypass_table *t, uint64_t ncr3, const char *tag,
                         void *dev, int64_t now_ns, void **replaced);

/*
 * Unbind the stale binding idle the longest, to reuse its device when the
 * pool is empty and L0's limit on devices is reached. Returns 0 with its
 * ncr3 and device, or -ENOENT if no binding is stale.
 */
int vsbypass_table_reap_stale(struct vsbypass_table *t, int64_t now_ns,
                              uint64_t *ncr3, void **dev);

#endif
