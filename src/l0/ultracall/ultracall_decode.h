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
};

/* True if RAX carries the ultracall magic, i.e. this VMMCALL is for L0. */
static inline bool ultracall_is_ultracall(uint64_t rax)
{
    return (rax & ULTRACALL_MAGIC_MASK) == ULTRACALL_MAGIC;
}

/*
 * Decode an ultracall (ultracall_is_ultracall(regs->rax) must hold).
 * Returns 0 and fills *req, -ENOSYS for an op this L0 does not define,
 * -EINVAL for invalid arguments (*req is then unspecified).
 */
int ultracall_decode(const struct ultracall_regs *regs, struct ultracall_req *req);

#endif
