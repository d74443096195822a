/* Ultracall register decode (ultracall_decode.h). */
#include <errno.h>
#include <string.h>

#include "ultracall_decode.h"

bool ultracall_op_has_buffer(unsigned op)
{
    return op == ULTRACALL_OP_SHADOW_QUERY || op == ULTRACALL_OP_SHADOW_SAVE ||
           op == ULTRACALL_OP_SHADOW_RESTORE || op == ULTRACALL_OP_SHADOW_RELEASE;
}

/* The smallest buffer an op can use: a tag field where it reads one. */
static uint64_t ultracall_min_size(unsigned op)
{
    return op == ULTRACALL_OP_SHADOW_QUERY ? 1 : ULTRACALL_VMTAG_SIZE;
}

static int ultracall_decode_buffer(const struct ultracall_regs *regs,
                                   struct ultracall_req *req)
{
    req->va = regs->rbx;
    req->size = regs->rcx;
    if (req->size == 0) {
        return -EINVAL;
    }
    if (req->size > ULTRACALL_BUF_MAX) {
        return -E2BIG;
    }
    if (req->size < ultracall_min_size(req->op)) {
        return -EINVAL;
    }
    if (req->va + req->size < req->va) {
        return -EFAULT;
    }
    return 0;
}

int ultracall_decode(const struct ultracall_regs *regs, struct ultracall_req *req)
{
    uint64_t args[3];

    memset(req, 0, sizeof(*req));
    req->op = (unsigned)(regs->rax & ULTRACALL_OP_MASK);
    if (ultracall_op_has_buffer(req->op)) {
        return ultracall_decode_buffer(regs, req);
    }
    switch (req->op) {
    case ULTRACALL_OP_VMTAG_SET:
        args[0] = regs->rbx;
        args[1] = regs->rcx;
        args[2] = regs->rdx;
        ultracall_vmtag_unpack(args, req->tag);
        if (ultracall_vmtag_check(req->tag) != 0) {
            return -EINVAL;
        }
        return 0;
    default:
        return -ENOSYS;
    }
}

int ultracall_caller_check(unsigned op, enum ultracall_caller from)
{
    if (op == ULTRACALL_OP_VMTAG_SET) {
        return from == ULTRACALL_FROM_USER_VM ? 0 : -EPERM;
    }
    if (ultracall_op_has_buffer(op)) {
        /* State of other VMs' devices: the guest management side's business. */
        return from == ULTRACALL_FROM_L1 ? 0 : -EPERM;
    }
    return -EPERM;
}
