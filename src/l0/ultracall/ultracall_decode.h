/*
 * Decoding of an ultracall's registers (src/common/ultracall_abi.h) into a
 * request, with every argument checked. Pure C: the one parser of this
 * untrusted input, unit-tested and fuzzable on the host.
 */
#ifndef NVSEC_ULTRACALL_DECODE_H
#define NVSEC_ULTRACALL_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "ultracall_abi.h"

/* The caller's registers as VMMCALL found them. */
struct ultracall_regs {
    uint64_t rax, rbx, rcx, rdx, rsi;
};

struct ultracall_req {
    unsigned op;                        /* ULTRACALL_OP_* */
    char tag[ULTRACALL_VMTAG_SIZE];     /* VMTAG_SET: valid, NUL-padded */
    uint64_t va;                        /* shadow-state ops: buffer address */
    uint64_t size;                      /*   and size, 1..ULTRACALL_BUF_MAX */
};

/* Where an ultracall comes from: L1 itself, or a user VM (guest mode). */
enum ultracall_caller {
    ULTRACALL_FROM_L1,
    ULTRACALL_FROM_USER_VM,
};

/* True if RAX carries the ultracall magic, i.e. this VMMCALL is for L0. */
static inline bool ultracall_is_ultracall(uint64_t rax)
{
    return (rax & ULTRACALL_MAGIC_MASK) == ULTRACALL_MAGIC;
}

/*
 * Decode an ultracall (ultracall_is_ultracall(regs->rax) must hold).
 * Returns 0 and fills *req, -ENOSYS for an op this L0 does not define,
 * -EINVAL for invalid arguments (a bad tag, a buffer size of 0 or, for the
 * ops that read a tag from the buffer, shorter than a tag field), -E2BIG for
 * a buffer size above ULTRACALL_BUF_MAX, -EFAULT for a buffer that wraps
 * around the address space (*req is then unspecified).
 */
int ultracall_decode(const struct ultracall_regs *regs, struct ultracall_req *req);

/*
 * May this caller make this (decoded) op? VMTAG_SET only from a user VM,
 * the shadow-state ops only from L1. Returns 0 or -EPERM.
 */
int ultracall_caller_check(unsigned op, enum ultracall_caller from);

/* True for the ops that take a buffer in the caller's address space. */
bool ultracall_op_has_buffer(unsigned op);

#endif
