/* Ultracall register decode (ultracall_decode.h). */
#include <errno.h>
#include <string.h>

#include "ultracall_decode.h"

int ultracall_decode(const struct ultracall_regs *regs, struct ultracall_req *req)
{
    uint64_t args[3];

    memset(req, 0, sizeof(*req));
    req->op = (unsigned)(regs->rax & ULTRACALL_OP_MASK);
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
