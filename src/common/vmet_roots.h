/*
 * V-Met's roots page: L0's record of each user VM's roots (the VM and vCPU
 * records below, kept by src/l0/vmet/vmet_table.c) published in shared
 * memory, so the IDS reads the current roots without a round trip through
 * L0's main loop. It is the counterpart of the call with which the paper's
 * IDS asks Xen for the saved CR3 and EPT root (papers/001 sec. 3.3): a read
 * of hypervisor state, which here must not wait behind L0's emulation
 * threads for a turn of its main loop. L0 hands the page to a client of its
 * vmet socket as a sealed memfd that can only be mapped read-only
 * (VMET_OP_ROOTS, src/common/vmet_proto.h); nothing of it is on disk.
 *
 * One slot per table entry, each a seqlock (C11 form: H. Boehm, "Can
 * seqlocks get along with programming language memory models?", MSPC
 * 2012): the one writer (L0, under its table lock) makes the slot's version
 * odd, stores the record with relaxed atomic stores and makes the version
 * even; a reader copies with relaxed atomic loads and keeps the copy only if
 * the version was even and did not move. L0 never waits for a reader; a
 * reader retries a bounded number of times.
 *
 * Both sides are built from this tree for one host: the records are native
 * structs, their layout pinned by the static asserts in vmet_roots.c and
 * checked at run time through the page header.
 */
#ifndef NVSEC_VMET_ROOTS_H
#define NVSEC_VMET_ROOTS_H

#include <stddef.h>
#include <stdint.h>

#include "vmet_proto.h"

/* The registers a capture records. */
struct vmet_regs {
    uint64_t cr0, cr3, cr4, efer;
};

struct vmet_tvcpu {
    uint64_t vmcb;               /* L1-physical VMCB (0: non-nested) */
    struct vmet_regs regs;
    uint64_t captures;
    int64_t last_ns;             /* CLOCK_MONOTONIC of the last capture */
    uint32_t l0_cpu;
    uint32_t npt_levels;
    uint8_t used;
    uint8_t in_guest;
    uint8_t pad[6];
};

struct vmet_tvm {
    uint64_t key;
    uint64_t generation;
    uint64_t seq;
    int64_t last_ns;
    uint8_t used;
    uint8_t pad[7];
    char tag[VMET_TAG_SIZE];
    struct vmet_tvcpu vcpus[VMET_MAX_VCPUS];
};

#define VMET_ROOTS_MAGIC   0x31544f4f52544d56ull   /* "VMTROOT1" as bytes */
#define VMET_TVM_WORDS     (sizeof(struct vmet_tvm) / 8)

struct vmet_roots_slot {
    uint64_t version;            /* odd while L0 writes the slot */
    uint64_t words[VMET_TVM_WORDS];
};

struct vmet_roots_page {
    uint64_t magic;
    uint32_t nslots;             /* VMET_MAX_VMS */
    uint32_t slot_size;          /* sizeof(struct vmet_roots_slot) */
    uint64_t reserved[6];
    struct vmet_roots_slot slots[VMET_MAX_VMS];
};

/* How often a reader retries a slot that L0 keeps rewriting. */
#define VMET_ROOTS_TRIES 100000u

/* --- records (both sides) --------------------------------------------------- */

/* The wire record of vm (src/common/vmet_proto.h); idle_ns from now_ns. */
void vmet_tvm_to_wire(const struct vmet_tvm *vm, int64_t now_ns, struct vmet_vm *out);

/*
 * The wire records of vm and its vCPUs, most recently captured first, at
 * most cap of them. Returns the number of vCPUs written.
 */
unsigned vmet_tvm_get(const struct vmet_tvm *vm, int64_t now_ns, struct vmet_vm *out,
                      struct vmet_vcpu *vcpus, unsigned cap);

/* --- writer (L0) ------------------------------------------------------------------ */

/* An empty page: header set, every slot unused. */
void vmet_roots_init(struct vmet_roots_page *p);

/*
 * Publish vm in slot. With vcpu set (one of vm's vCPUs), only the VM's
 * header fields and that vCPU are rewritten: what a capture changes. One
 * writer at a time (the caller's lock).
 */
void vmet_roots_publish(struct vmet_roots_page *p, unsigned slot, const struct vmet_tvm *vm,
                        const struct vmet_tvcpu *vcpu);

/* --- reader (the IDS) ------------------------------------------------------------ */

/* 0 if the len bytes at p are a roots page of this build, else -EPROTO. */
int vmet_roots_check(const struct vmet_roots_page *p, size_t len);

/*
 * The VM at key, as vmet_tvm_get() gives it. *hint: the slot to try first,
 * updated to where key was found. Returns the number of vCPUs written,
 * -ENOENT if no slot holds key, -EAGAIN if a slot kept changing for
 * VMET_ROOTS_TRIES reads.
 */
int vmet_roots_get(const struct vmet_roots_page *p, uint64_t key, int64_t now_ns,
                   unsigned *hint, struct vmet_vm *out, struct vmet_vcpu *vcpus,
                   unsigned cap);

#endif
