/*
 * Ultracall ABI: calls from a user VM (L2) or from the guest management
 * side (L1) straight to the cloud hypervisor (L0), passing by the
 * untrusted guest hypervisor (project report, papers/004; USShadow, 002).
 *
 * Instruction: VMMCALL (AMD SVM). L0 decides before the guest hypervisor's
 * VMMCALL intercept is consulted, so L1 never sees an ultracall.
 *
 * Registers (the caller's view; the layout follows KVM's hypercall convention,
 * arguments in RBX, RCX, RDX, RSI):
 *   in   RAX  ULTRACALL_MAGIC | op      bits 63..16 the magic, bits 15..0 op
 *        RBX, RCX, RDX, RSI             arguments a0..a3 (per op below)
 *   out  RAX  0 on success, or a negative errno value (Linux numbering,
 *             spelled out below so the ABI does not depend on a host's
 *             <errno.h>); every other register is left unchanged.
 * A VMMCALL whose RAX does not carry the magic is not an ultracall and keeps
 * its architectural behaviour (exit to L1's hypervisor, or #UD).
 *
 * Ops:
 *   ULTRACALL_OP_VMTAG_SET (1), from L2 (guest mode) only:
 *     register the user VM's tag, the name under which L0 offers its shadow
 *     console and routes its interrupts (VSBypass). a0..a2 = RBX, RCX, RDX
 *     hold the name, ULTRACALL_VMTAG_SIZE bytes, NUL-padded: byte i of the
 *     name is bits 8*(i%8).. of register i/8 (little-endian, as if the 24
 *     bytes were loaded into RBX, RCX, RDX in that order). The name is 1 to
 *     ULTRACALL_VMTAG_MAX characters from [a-z0-9_-], followed by NULs only
 *     (so the last byte of RDX is always NUL: the tag stays a C string in
 *     every format that carries it, e.g. src/common/irqmsg.h).
 *     Errors: -EINVAL bad name; -EEXIST the name is held by another live
 *     user VM; -EBUSY this VM already holds a different name (a tag is set
 *     once per VM instance, so a process started later inside the VM cannot
 *     move the console away from its users); -EPERM not called from a user
 *     VM; -EOPNOTSUPP the user VM runs without nested paging (no identity);
 *     -ENODEV L0 runs without VSBypass; -ENOMEM no shadow device available.
 *     Setting the name already held is a no-op returning 0.
 *
 * Shadow-state ops (USShadow, papers/002 sec. 4): from L1 only (not guest
 * mode; -EPERM from a user VM), any CPL. a0 = RBX is the virtual address of
 * a buffer in the caller's address space, a1 = RCX its size in bytes
 * (1..ULTRACALL_BUF_MAX, else -EINVAL for 0 and -E2BIG above). L0 translates
 * the buffer through the caller's own page tables (CR3), page by page, and
 * only if every page of it is present, user-accessible (U/S set at every
 * level), writable where L0 writes, and ordinary RAM; else -EFAULT and
 * nothing is read or written. L0 never writes outside [a0, a0 + a1). The
 * caller mmap()s and mlock()s the buffer so every page is present.
 *   ULTRACALL_OP_SHADOW_QUERY (2): the buffer receives one
 *     struct ultracall_shadow_entry per user VM with a tagged shadow device
 *     on this L0; RAX = the number of entries (>= 0), or -ENOSPC (nothing
 *     written) if they do not fit.
 *   ULTRACALL_OP_SHADOW_SAVE (3): on entry the buffer starts with a tag field
 *     (ULTRACALL_VMTAG_SIZE bytes, a valid tag); on return it holds the VM's
 *     sealed shadow-device state (src/l0/seal/usshadow_seal.h) and RAX = its
 *     length. -ENOENT no device holds the tag, -ENOSPC the blob does not fit
 *     (nothing written), -ENODEV no sealing key configured.
 *   ULTRACALL_OP_SHADOW_RESTORE (4): the buffer holds a tag field (the VM the
 *     state is restored as) followed by a sealed blob. RAX = 0, or: -EINVAL
 *     truncated or malformed blob, -EBADMSG failed authentication, -EACCES
 *     the blob is bound to another VM, -ESTALE replayed (sequence number not
 *     newer than one this L0 has sealed or restored for the VM), -EBUSY a
 *     device holds the tag here already (checked last, so each refusal above
 *     can be shown against a running VM). On any error the shadow
 *     devices of this L0 are unchanged. On success the state waits under the
 *     tag, its console socket open, until the user VM registers the tag by
 *     VMTAG_SET; the device is then bound to the VM's nested CR3.
 *   ULTRACALL_OP_SHADOW_RELEASE (5): the buffer holds a tag field; the VM's
 *     device on this L0 is released (the source side after a migration).
 *     -ENOENT no device holds the tag.
 *   6..15: reserved; any op not defined here returns -ENOSYS.
 */
#ifndef NVSEC_ULTRACALL_ABI_H
#define NVSEC_ULTRACALL_ABI_H

#include <stdint.h>

/* "NVSECU" in bits 63..16: no KVM, Hyper-V or Xen hypercall number is this large. */
#define ULTRACALL_MAGIC      0x4e56534543550000ULL
#define ULTRACALL_MAGIC_MASK 0xffffffffffff0000ULL
#define ULTRACALL_OP_MASK    0x000000000000ffffULL

#define ULTRACALL_OP_VMTAG_SET      1u
#define ULTRACALL_OP_SHADOW_QUERY   2u
#define ULTRACALL_OP_SHADOW_SAVE    3u
#define ULTRACALL_OP_SHADOW_RESTORE 4u
#define ULTRACALL_OP_SHADOW_RELEASE 5u

/* The largest buffer a shadow-state op takes (a sealed state is ~70 KiB). */
#define ULTRACALL_BUF_MAX (1u << 20)

/* Result codes in RAX (negated): Linux errno numbers. */
#define ULTRACALL_EPERM       1
#define ULTRACALL_ENOENT      2
#define ULTRACALL_E2BIG       7
#define ULTRACALL_ENOMEM      12
#define ULTRACALL_EACCES      13
#define ULTRACALL_EFAULT      14
#define ULTRACALL_EBUSY       16
#define ULTRACALL_EEXIST      17
#define ULTRACALL_ENODEV      19
#define ULTRACALL_EINVAL      22
#define ULTRACALL_ENOSPC      28
#define ULTRACALL_ENOSYS      38
#define ULTRACALL_EBADMSG     74
#define ULTRACALL_EOPNOTSUPP  95
#define ULTRACALL_ESTALE      116

/* The tag field: 24 bytes in RBX, RCX, RDX; at most 23 characters + NUL. */
#define ULTRACALL_VMTAG_SIZE 24
#define ULTRACALL_VMTAG_MAX  (ULTRACALL_VMTAG_SIZE - 1)

/* SHADOW_QUERY's output record. */
#define ULTRACALL_SHADOW_BOUND    1u   /* bound to a running user VM */
#define ULTRACALL_SHADOW_RESTORED 2u   /* restored here, awaiting its VM */
struct ultracall_shadow_entry {
    char tag[ULTRACALL_VMTAG_SIZE];
    uint32_t flags;                 /* ULTRACALL_SHADOW_* */
    uint32_t reserved;              /* 0 */
};

static inline uint64_t ultracall_rax(unsigned op)
{
    return ULTRACALL_MAGIC | ((uint64_t)op & ULTRACALL_OP_MASK);
}

static inline int ultracall_vmtag_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/*
 * Check a tag field of ULTRACALL_VMTAG_SIZE bytes: 1..ULTRACALL_VMTAG_MAX
 * allowed characters, then only NULs. Returns 0 if valid, -1 if not. Used by
 * every reader of a tag (L0's ultracall decode, irqmsg decode, the L2 tool).
 */
static inline int ultracall_vmtag_check(const char field[ULTRACALL_VMTAG_SIZE])
{
    int i = 0;

    while (i < ULTRACALL_VMTAG_SIZE && field[i] != '\0') {
        if (!ultracall_vmtag_char_ok((unsigned char)field[i])) {
            return -1;
        }
        i++;
    }
    if (i == 0 || i > ULTRACALL_VMTAG_MAX) {
        return -1;
    }
    for (; i < ULTRACALL_VMTAG_SIZE; i++) {
        if (field[i] != '\0') {
            return -1;
        }
    }
    return 0;
}

/* Pack a tag field into the three argument registers (RBX, RCX, RDX). */
static inline void ultracall_vmtag_pack(const char field[ULTRACALL_VMTAG_SIZE],
                                        uint64_t regs[3])
{
    int i;

    regs[0] = regs[1] = regs[2] = 0;
    for (i = 0; i < ULTRACALL_VMTAG_SIZE; i++) {
        regs[i / 8] |= (uint64_t)(unsigned char)field[i] << (8 * (i % 8));
    }
}

/* The inverse of ultracall_vmtag_pack (no validation: see ultracall_vmtag_check). */
static inline void ultracall_vmtag_unpack(const uint64_t regs[3],
                                          char field[ULTRACALL_VMTAG_SIZE])
{
    int i;

    for (i = 0; i < ULTRACALL_VMTAG_SIZE; i++) {
        field[i] = (char)(regs[i / 8] >> (8 * (i % 8)));
    }
}

#endif
